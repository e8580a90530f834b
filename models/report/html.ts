import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { escapeHtml, pageHead, scriptJson } from '../../src/docs/html.js';
import { DELIVERY_HEADER, DELIVERY_NUMERIC, deliveryCells } from './deliveries.js';
import { formatPoints, formatSigned, formatValue, type ReportData } from './read.js';
import { rangeText } from './terminal.js';

/**
 * The report as one self-contained HTML file: tables rendered here, charts drawn in the browser by Chart.js, whose
 * UMD bundle is inlined. A Content-Security-Policy forbids every network request, so the file opens the same
 * offline, from a mail attachment or a shared drive. Only the report's aggregates go in: campaign, audience,
 * program and segment names and figures — never a customer key.
 */

/** Chart.js's browser bundle, from the installed package. */
export function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('chart.js');
  return readFileSync(join(dirname(main), 'chart.umd.min.js'), 'utf8');
}

/** What the browser script draws, computed here so that the page only plots. */
interface ChartModel {
  readonly trends: readonly { readonly channel: string; readonly periods: readonly string[]; readonly series: readonly { label: string; values: (number | null)[]; axis: 'y' | 'y2' }[] }[];
  readonly uplift: {
    readonly labels: readonly string[];
    readonly tooSmall: readonly boolean[];
    readonly conversion: readonly { value: number | null; low: number | null; high: number | null }[];
    readonly revenue: readonly { value: number | null; low: number | null; high: number | null }[];
  };
  readonly cohorts: { readonly months: readonly string[]; readonly horizons: readonly number[]; readonly repeat: readonly (number | null)[][]; readonly index: readonly (number | null)[][] };
  readonly segments: { readonly labels: readonly string[]; readonly customers: readonly number[]; readonly revenueShare: readonly (number | null)[] };
}

const percent = (v: number | null) => (v === null ? null : Math.round(v * 100_000) / 1000);

function chartModel(data: ReportData): ChartModel {
  const channels = [...new Set(data.kpis.map((k) => k.channel))];
  // Every chart spans the same periods, so that channels line up; a channel silent in a period has a gap there.
  const periods = [...new Set(data.kpis.map((k) => k.periodStart).filter((p): p is string => p !== null))].sort();
  const trends = channels
    .map((channel) => {
      const rows = data.kpis.filter((k) => k.channel === channel && k.campaign === null && k.periodStart !== null && k.unit === 'rate');
      const kpis = [...new Set(rows.map((r) => r.kpi))];
      // Rates where lower is better (bounces, unsubscribes…) are small: they get their own axis, unless alone.
      const mixed = rows.some((r) => r.better === 'higher') && rows.some((r) => r.better === 'lower');
      const series = kpis.map((kpi) => {
        const first = rows.find((r) => r.kpi === kpi)!;
        return {
          label: first.label,
          axis: mixed && first.better === 'lower' ? ('y2' as const) : ('y' as const),
          values: periods.map((p) => percent(rows.find((r) => r.kpi === kpi && r.periodStart === p)?.value ?? null)),
        };
      });
      return { channel, periods: periods.map((p) => p.slice(0, 7)), series };
    })
    .filter((t) => t.series.length > 0);
  const measured = data.uplift.filter((u) => u.treated > 0 && u.holdout > 0);
  const points = (v: number | null) => (v === null ? null : Math.round(v * 100_000) / 1000);
  const money = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
  const months = [...new Set(data.cohorts.map((c) => c.cohortMonth))].sort();
  const horizons = [...new Set(data.cohorts.map((c) => c.monthsAfter))].sort((a, b) => a - b);
  const cohort = (m: string, h: number) => data.cohorts.find((c) => c.cohortMonth === m && c.monthsAfter === h);
  return {
    trends,
    uplift: {
      labels: measured.map((u) => `${u.audience} / ${u.treatedGroup}`),
      tooSmall: measured.map((u) => u.tooSmall),
      conversion: measured.map((u) => ({ value: points(u.conversionUplift), low: points(u.conversionUpliftLow), high: points(u.conversionUpliftHigh) })),
      revenue: measured.map((u) => ({ value: money(u.revenueUplift), low: money(u.revenueUpliftLow), high: money(u.revenueUpliftHigh) })),
    },
    cohorts: {
      months: months.map((m) => m.slice(0, 7)),
      horizons,
      repeat: months.map((m) => horizons.map((h) => percent(cohort(m, h)?.complete ? (cohort(m, h)?.repeatRate ?? null) : null))),
      index: months.map((m) => horizons.map((h) => {
        const c = cohort(m, h);
        return c?.complete && c.revenueIndex !== null ? Math.round(c.revenueIndex * 10) / 10 : null;
      })),
    },
    segments: {
      labels: data.segments.map((s) => s.segment ?? '(none)'),
      customers: data.segments.map((s) => s.customers),
      revenueShare: data.segments.map((s) => percent(s.revenueShare)),
    },
  };
}

function htmlTable(header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly number[] = []): string {
  const th = header.map((h, i) => `<th${numeric.includes(i) ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((cell, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${cell}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

function badge(status: string | null): string {
  if (!status) return '';
  const label = status.replace(/_/g, ' ');
  return `<span class="badge ${escapeHtml(status)}">${escapeHtml(label)}</span>`;
}

const canvas = (id: string, height: number, label: string) => `<div class="chart" style="height:${height}px"><canvas id="${id}" role="img" aria-label="${escapeHtml(label)}"></canvas></div>`;

function body(data: ReportData, model: ChartModel): string {
  const e = escapeHtml;
  const parts: string[] = [];
  const flagged = data.scorecard.filter((r) => r.flagged);
  parts.push(
    '<section><h2>Needs attention</h2>',
    flagged.length
      ? `<ul class="alerts">${flagged
          .map((r) => {
            const unit = data.kpis.find((k) => k.channel === r.subject && k.kpi === r.kpi)?.unit ?? 'rate';
            const label = data.kpis.find((k) => k.channel === r.subject && k.kpi === r.kpi)?.label ?? r.kpi.replace(/_/g, ' ');
            const value = r.section === 'uplift' ? (r.kpi === 'conversion_uplift' ? formatPoints(r.value) : formatSigned(r.value)) : formatValue(r.value, unit);
            return `<li>${badge(r.status)} <strong>${e(r.subject)}</strong> ${e(label)}: ${e(value)}</li>`;
          })
          .join('')}</ul>`
      : '<p>Every KPI with thresholds is in range.</p>',
    '</section>',
  );

  const channelRows = data.kpis.filter((k) => k.campaign === null && k.periodStart === null);
  parts.push('<section><h2>Channel KPIs</h2>');
  if (channelRows.length === 0) parts.push('<p class="empty">No message events in the reporting window.</p>');
  else
    parts.push(
      htmlTable(
        ['channel', 'KPI', 'value', 'range', 'status'],
        channelRows.map((k) => [e(k.channel), e(k.label), e(formatValue(k.value, k.unit)), e(rangeText(k, k.unit)), badge(k.status)]),
        [2],
      ),
      '<h3>Trends per period (all campaigns)</h3>',
      ...model.trends.map((t, i) => `<h4>${e(t.channel)}</h4>${canvas(`trend-${i}`, 280, `${t.channel} KPIs per period`)}`),
    );
  parts.push('</section>');

  const programs = data.programs.filter((p) => p.periodStart === null);
  if (programs.length) {
    parts.push(
      '<section><h2>Programs</h2>',
      htmlTable(
        ['program', 'KPI', 'measured', 'converted', 'value', 'range', 'status', 'audiences', 'syncs'],
        programs.map((p) => [
          e(p.program),
          e(p.kpi),
          e(p.base.toLocaleString('en')),
          e(p.converted.toLocaleString('en')),
          e(formatValue(p.value, 'rate')),
          e(rangeText({ good: p.good, bad: p.bad, better: 'higher' }, 'rate')),
          badge(p.status),
          e(p.audiences),
          e(p.syncs),
        ]),
        [2, 3, 4],
      ),
      '</section>',
    );
  }

  if (data.deliveries) {
    parts.push(
      `<section><h2>Deliveries per sync</h2><p class="note">All finished runs, from the state schema ${e(data.deliveries.stateSchema)}.</p>`,
      data.deliveries.rows.length === 0
        ? '<p class="empty">No sync of the project matches <code>deliveries</code>.</p>'
        : htmlTable(
            DELIVERY_HEADER,
            data.deliveries.rows.map((r) => deliveryCells(r).map((cell, i) => (i === DELIVERY_HEADER.length - 1 ? badge(cell || null) : e(cell)))),
            DELIVERY_NUMERIC,
          ),
      '</section>',
    );
  }

  parts.push('<section><h2>Holdout uplift</h2>');
  if (data.uplift.length === 0) parts.push('<p class="empty">No audience with a holdout in the memberships.</p>');
  else {
    if (model.uplift.labels.length) {
      parts.push(
        '<p class="note">Treated minus holdout, with 95 % confidence intervals: Newcombe\'s hybrid score interval for conversion, Welch\'s for revenue per customer. Grey: groups too small to conclude.</p>',
        '<div class="pair">',
        `<div><h3>Conversion uplift (points)</h3>${canvas('uplift-conversion', 260, 'conversion uplift with 95 % intervals')}</div>`,
        `<div><h3>Revenue per customer uplift</h3>${canvas('uplift-revenue', 260, 'revenue per customer uplift with 95 % intervals')}</div>`,
        '</div>',
      );
    }
    parts.push(
      htmlTable(
        ['audience / group', 'window', 'treated', 'holdout', 'pending', 'conversion T / H', 'uplift [95 % CI]', 'revenue per customer T / H', 'uplift [95 % CI]', 'verdict'],
        data.uplift.map((u) => [
          e(`${u.audience} / ${u.treatedGroup}`),
          e(u.window),
          e(u.treated.toLocaleString('en')),
          e(u.holdout.toLocaleString('en')),
          e(u.pending.toLocaleString('en')),
          e(`${formatValue(u.treatedConversion, 'rate')} / ${formatValue(u.holdoutConversion, 'rate')}`),
          e(`${formatPoints(u.conversionUplift)} [${formatPoints(u.conversionUpliftLow)}, ${formatPoints(u.conversionUpliftHigh)}]`),
          e(`${u.treatedRevenuePerCustomer?.toFixed(2) ?? '—'} / ${u.holdoutRevenuePerCustomer?.toFixed(2) ?? '—'}`),
          e(`${formatSigned(u.revenueUplift)} [${formatSigned(u.revenueUpliftLow)}, ${formatSigned(u.revenueUpliftHigh)}]`),
          badge(u.tooSmall ? 'too_small' : u.conversionSignificant || u.revenueSignificant ? 'significant' : 'not_significant'),
        ]),
        [2, 3, 4],
      ),
    );
  }
  parts.push('</section>');

  parts.push('<section><h2>Cohorts by month of first purchase</h2>');
  if (model.cohorts.months.length === 0) parts.push('<p class="empty">No orders.</p>');
  else {
    const height = 90 + 26 * model.cohorts.months.length;
    parts.push(
      '<p class="note">Share of each cohort that bought again within N months, and cumulative revenue per customer indexed on the first day (= 100). Empty cells: not observable yet.</p>',
      '<div class="pair">',
      `<div><h3>Repeat-purchase rate (%)</h3>${canvas('cohort-repeat', height, 'cohort heatmap of repeat-purchase rate')}</div>`,
      `<div><h3>Cumulative revenue per customer (first day = 100)</h3>${canvas('cohort-revenue', height, 'cohort heatmap of revenue index')}</div>`,
      '</div>',
    );
  }
  parts.push('</section>');

  if (data.segments.length) {
    parts.push(
      `<section><h2>Segments (snapshot ${e(data.segments[0]?.snapshotDate ?? '')})</h2>`,
      canvas('segments', 300, 'customers and revenue share per segment'),
      htmlTable(
        ['segment', 'customers', 'share', 'revenue', 'share', 'per customer'],
        data.segments.map((s) => [
          e(s.segment ?? '(none)'),
          e(s.customers.toLocaleString('en')),
          e(formatValue(s.customerShare, 'rate')),
          e(s.revenue === null ? '—' : s.revenue.toLocaleString('en', { maximumFractionDigits: 0 })),
          e(formatValue(s.revenueShare, 'rate')),
          e(s.revenuePerCustomer?.toFixed(2) ?? '—'),
        ]),
        [1, 2, 3, 4, 5],
      ),
    );
    if (data.migration.length) {
      parts.push(
        `<h3>Migration ${e(data.migration[0]!.fromDate)} → ${e(data.migration[0]!.toDate)}</h3>`,
        htmlTable(
          ['from', 'to', 'customers', 'share of from'],
          data.migration.map((m) => [e(m.fromSegment ?? '(not scored)'), e(m.toSegment ?? '(not scored)'), e(m.customers.toLocaleString('en')), e(formatValue(m.share, 'rate'))]),
          [2, 3],
        ),
      );
    }
    parts.push('</section>');
  }
  return parts.join('\n');
}

/** Draws every chart of the model; sets `window.__tidelineCharts` to the number drawn once done. */
const SCRIPT = String.raw`
(function () {
  'use strict';
  var model = JSON.parse(document.getElementById('report-data').textContent);
  var palette = ['#2563eb', '#16a34a', '#ea580c', '#9333ea', '#0891b2', '#db2777', '#65a30d', '#ca8a04', '#dc2626', '#4f46e5'];
  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  var drawn = 0;
  function make(id, config) {
    var element = document.getElementById(id);
    if (!element) return;
    new Chart(element, config);
    drawn++;
  }
  var zeroLine = { color: function (c) { return c.tick && c.tick.value === 0 ? '#334155' : 'rgba(15,23,42,0.08)'; } };

  model.trends.forEach(function (t, i) {
    var lower = t.series.some(function (s) { return s.axis === 'y2'; });
    make('trend-' + i, {
      type: 'line',
      data: {
        labels: t.periods,
        datasets: t.series.map(function (s, j) {
          var colour = palette[j % palette.length];
          return { label: s.label, data: s.values, yAxisID: s.axis, borderColor: colour, backgroundColor: colour, borderDash: s.axis === 'y2' ? [6, 4] : [], spanGaps: true, tension: 0.2, pointRadius: 3 };
        })
      },
      options: {
        interaction: { mode: 'index', intersect: false },
        scales: {
          y: { beginAtZero: true, title: { display: true, text: lower ? '% (higher is better)' : '%' } },
          y2: { display: lower, position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: '% (lower is better, dashed)' } }
        },
        plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + (c.parsed.y === null ? '—' : c.parsed.y + ' %'); } } } }
      }
    });
  });

  function errorBars(id, rows, unit) {
    make(id, {
      type: 'bar',
      data: {
        labels: model.uplift.labels,
        datasets: [
          {
            type: 'bar', label: '95 % confidence interval', order: 2, barPercentage: 0.25, maxBarThickness: 36,
            data: rows.map(function (r) { return r.low === null || r.high === null ? null : [r.low, r.high]; }),
            backgroundColor: model.uplift.tooSmall.map(function (s) { return s ? 'rgba(148,163,184,0.55)' : 'rgba(37,99,235,0.35)'; }),
            borderColor: model.uplift.tooSmall.map(function (s) { return s ? '#64748b' : '#1d4ed8'; }),
            borderWidth: 1
          },
          {
            type: 'line', label: 'measured uplift', order: 1, showLine: false, pointRadius: 7, pointStyle: 'rectRot',
            data: rows.map(function (r) { return r.value; }), backgroundColor: '#1e3a8a', borderColor: '#1e3a8a'
          }
        ]
      },
      options: { scales: { y: { grid: zeroLine, title: { display: true, text: unit } } } }
    });
  }
  if (model.uplift.labels.length) {
    errorBars('uplift-conversion', model.uplift.conversion, 'percentage points');
    errorBars('uplift-revenue', model.uplift.revenue, 'revenue per customer');
  }

  function shade(t) {
    var a = [239, 246, 255], b = [30, 58, 138];
    var k = Math.max(0, Math.min(1, t));
    return 'rgb(' + a.map(function (x, i) { return Math.round(x + (b[i] - x) * k); }).join(',') + ')';
  }
  function heatmap(id, values, format, position) {
    var c = model.cohorts;
    var known = [].concat.apply([], values).filter(function (v) { return v !== null; });
    var lo = Math.min.apply(null, known.concat([Infinity])), hi = Math.max.apply(null, known.concat([-Infinity]));
    var t = function (v) { return hi > lo ? position(v, lo, hi) : 0.5; };
    make(id, {
      type: 'bar',
      data: {
        labels: c.months,
        datasets: c.horizons.map(function (h, j) {
          return {
            label: h + ' m', data: c.months.map(function () { return 1; }), barPercentage: 1, categoryPercentage: 1,
            backgroundColor: c.months.map(function (_, i) { var v = values[i][j]; return v === null ? '#f1f5f9' : shade(t(v)); }),
            borderColor: '#ffffff', borderWidth: 1
          };
        })
      },
      options: {
        indexAxis: 'y',
        scales: {
          x: {
            stacked: true, min: 0, max: c.horizons.length, grid: { display: false },
            afterBuildTicks: function (axis) { axis.ticks = c.horizons.map(function (_, j) { return { value: j + 0.5 }; }); },
            ticks: { callback: function (v) { return c.horizons[Math.floor(v)] + ' m'; } },
            title: { display: true, text: 'months after the first purchase' }
          },
          y: { stacked: true, grid: { display: false } }
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { title: function (items) { return 'cohort ' + items[0].label; }, label: function (x) { var v = values[x.dataIndex][x.datasetIndex]; return c.horizons[x.datasetIndex] + ' m: ' + (v === null ? 'not observable yet' : format(v)); } } }
        }
      },
      plugins: [{
        id: 'cellLabels',
        afterDatasetsDraw: function (chart) {
          var ctx = chart.ctx;
          ctx.save();
          ctx.font = '11px system-ui, sans-serif';
          ctx.textAlign = 'center';
          ctx.textBaseline = 'middle';
          chart.data.datasets.forEach(function (_, j) {
            chart.getDatasetMeta(j).data.forEach(function (bar, i) {
              var v = values[i][j];
              if (v === null) return;
              ctx.fillStyle = t(v) > 0.55 ? '#ffffff' : '#0f172a';
              ctx.fillText(format(v), (bar.x + bar.base) / 2, bar.y);
            });
          });
          ctx.restore();
        }
      }]
    });
  }
  if (model.cohorts.months.length) {
    heatmap('cohort-repeat', model.cohorts.repeat, function (v) { return v.toFixed(0) + ' %'; }, function (v, lo, hi) { return (v - lo) / (hi - lo); });
    heatmap('cohort-revenue', model.cohorts.index, function (v) { return v.toFixed(0); }, function (v, lo, hi) { return (v - lo) / (hi - lo); });
  }

  if (model.segments.labels.length) {
    make('segments', {
      type: 'bar',
      data: {
        labels: model.segments.labels,
        datasets: [
          { type: 'bar', label: 'customers', data: model.segments.customers, backgroundColor: '#60a5fa', yAxisID: 'y', order: 2, maxBarThickness: 80 },
          { type: 'line', label: 'share of revenue (%)', data: model.segments.revenueShare, borderColor: '#ea580c', backgroundColor: '#ea580c', showLine: false, pointRadius: 6, yAxisID: 'y2', order: 1 }
        ]
      },
      options: {
        scales: {
          y: { beginAtZero: true, title: { display: true, text: 'customers' } },
          y2: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: '% of revenue' } }
        }
      }
    });
  }
  window.__tidelineCharts = drawn;
})();
`;

const STYLE = `
:root { color-scheme: light; --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f8fafc; }
header { background: #0f172a; color: #f8fafc; padding: 20px 32px; }
header h1 { margin: 0; font-size: 22px; }
header p { margin: 4px 0 0; color: #cbd5e1; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 32px 40px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 18px 0; }
h2 { margin: 0 0 10px; font-size: 18px; }
h3 { margin: 14px 0 6px; font-size: 15px; }
h4 { margin: 12px 0 4px; font-size: 13px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.chart { position: relative; width: 100%; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
.note, .empty, footer { color: var(--muted); }
.alerts { margin: 0; padding-left: 18px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; background: #e2e8f0; }
.badge.good, .badge.significant { background: #dcfce7; color: #166534; }
.badge.fair { background: #fef9c3; color: #854d0e; }
.badge.bad, .badge.too_small { background: #fee2e2; color: #991b1b; }
footer { max-width: 1180px; margin: 0 auto; padding: 0 32px 24px; font-size: 12px; }
`;

/** The whole page. `chartJs` is the Chart.js UMD bundle (see `chartJsSource`). */
export function renderHtml(data: ReportData, options: { readonly chartJs: string; readonly generatedAt?: Date }): string {
  const model = chartModel(data);
  const title = `Tideline report — ${data.name}`;
  const generated = (options.generatedAt ?? new Date()).toISOString().replace('T', ' ').slice(0, 16);
  return `${pageHead({ title, style: STYLE, scriptSrc: "'unsafe-inline'" })}
<body>
<header><h1>${escapeHtml(title)}</h1><p>As of ${escapeHtml(data.asOf ?? 'today')} · generated ${escapeHtml(generated)} UTC</p></header>
<main>
${body(data, model)}
</main>
<footer>Aggregates only: this file holds no customer-level data. Charts drawn by Chart.js, included in the file.</footer>
<script type="application/json" id="report-data">${scriptJson(model)}</script>
<script>${options.chartJs.replace(/<\/script/gi, '<\\/script')}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
