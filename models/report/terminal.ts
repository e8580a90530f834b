import { DELIVERY_HEADER, DELIVERY_NUMERIC, deliveryCells } from './deliveries.js';
import type { Unit } from './kpis.js';
import { formatPoints, formatSigned, formatValue, type KpiRow, type ReportData } from './read.js';

/**
 * The report as text for a terminal: plain columns that stay readable when piped to a file or pasted in a ticket.
 * Figures out of range are marked `!`; uplifts too small to conclude say so.
 */
export function renderTerminal(data: ReportData): string {
  const out: string[] = [];
  out.push(`Report ${data.name}${data.asOf ? ` — as of ${data.asOf}` : ''}`, '');
  out.push(...kpiSection(data), ...campaignAlerts(data), ...programSection(data), ...upliftSection(data), ...cohortSection(data), ...segmentSection(data), ...deliverySection(data));
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly number[] = []): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    '  ' +
    cells
      .map((cell, i) => (rightAligned.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)];
}

export function rangeText(row: Pick<KpiRow, 'good' | 'bad' | 'better'>, unit: Unit): string {
  const { good, bad } = row;
  if (good === null && bad === null) return '';
  const [gt, lt] = row.better === 'higher' ? ['>', '<'] : ['<', '>'];
  const parts: string[] = [];
  if (good !== null) parts.push(`good ${gt} ${formatValue(good, unit)}`);
  if (bad !== null && bad !== good) parts.push(`bad ${lt} ${formatValue(bad, unit)}`);
  return parts.join(', ');
}

function statusText(status: string | null): string {
  if (status === 'bad') return '! bad';
  return status ?? '';
}

function kpiSection(data: ReportData): string[] {
  const rows = data.kpis.filter((k) => k.campaign === null && k.periodStart === null);
  if (rows.length === 0) return ['Channel KPIs: no message events configured or none in the window', ''];
  const periods = [...new Set(data.kpis.map((k) => k.periodStart).filter((p): p is string => p !== null))].sort();
  const span = periods.length ? ` (periods from ${periods[0]} to ${data.asOf ?? periods[periods.length - 1]}, all campaigns)` : '';
  return [
    `Channel KPIs${span}`,
    ...table(
      ['channel', 'KPI', 'value', 'range', 'status'],
      rows.map((k) => [k.channel, k.label, formatValue(k.value, k.unit), rangeText(k, k.unit), statusText(k.status)]),
      [2],
    ),
    '',
  ];
}

function campaignAlerts(data: ReportData): string[] {
  const rows = data.kpis.filter((k) => k.campaign !== null && k.periodStart === null && k.status === 'bad');
  if (rows.length === 0) return [];
  const shown = rows.slice(0, 15);
  return [
    `Campaigns out of range (${rows.length})`,
    ...table(
      ['channel', 'campaign', 'KPI', 'value', 'range'],
      shown.map((k) => [k.channel, k.campaign!, k.label, formatValue(k.value, k.unit), rangeText(k, k.unit)]),
      [3],
    ),
    ...(rows.length > shown.length ? [`  … and ${rows.length - shown.length} more in the _kpis table`] : []),
    '',
  ];
}

function programSection(data: ReportData): string[] {
  const rows = data.programs.filter((p) => p.periodStart === null);
  if (rows.length === 0) return [];
  return [
    'Programs',
    ...table(
      ['program', 'KPI', 'measured', 'converted', 'value', 'range', 'status', 'audiences / syncs'],
      rows.map((p) => [
        p.program,
        p.kpi,
        p.base.toLocaleString('en'),
        p.converted.toLocaleString('en'),
        formatValue(p.value, 'rate'),
        rangeText({ good: p.good, bad: p.bad, better: 'higher' }, 'rate'),
        statusText(p.status),
        [p.audiences, p.syncs].filter(Boolean).join(' / '),
      ]),
      [2, 3, 4],
    ),
    '',
  ];
}

function upliftSection(data: ReportData): string[] {
  if (data.uplift.length === 0) return [];
  const verdict = (tooSmall: boolean, significant: boolean) => (tooSmall ? '! too small to conclude' : significant ? 'significant' : 'not significant');
  return [
    `Holdout uplift (95 % confidence intervals: Newcombe for conversion, Welch for revenue per customer)`,
    ...table(
      ['audience / group', 'window', 'treated', 'holdout', 'pending', 'conversion T vs H', 'uplift', '95 % CI', 'verdict'],
      data.uplift.map((u) => [
        `${u.audience} / ${u.treatedGroup}`,
        u.window,
        u.treated.toLocaleString('en'),
        u.holdout.toLocaleString('en'),
        u.pending.toLocaleString('en'),
        `${formatValue(u.treatedConversion, 'rate')} vs ${formatValue(u.holdoutConversion, 'rate')}`,
        formatPoints(u.conversionUplift),
        `${formatPoints(u.conversionUpliftLow)} to ${formatPoints(u.conversionUpliftHigh)}`,
        verdict(u.tooSmall, u.conversionSignificant),
      ]),
      [2, 3, 4],
    ),
    '',
    ...table(
      ['audience / group', 'revenue per customer T vs H', 'uplift', '95 % CI', 'relative', 'verdict'],
      data.uplift.map((u) => [
        `${u.audience} / ${u.treatedGroup}`,
        `${formatSigned(u.treatedRevenuePerCustomer).replace('+', '')} vs ${formatSigned(u.holdoutRevenuePerCustomer).replace('+', '')}`,
        formatSigned(u.revenueUplift),
        `${formatSigned(u.revenueUpliftLow)} to ${formatSigned(u.revenueUpliftHigh)}`,
        u.revenueRelative === null ? '—' : `${formatSigned(u.revenueRelative * 100, 1)} %`,
        verdict(u.tooSmall, u.revenueSignificant),
      ]),
      [2],
    ),
    '',
  ];
}

function cohortSection(data: ReportData): string[] {
  if (data.cohorts.length === 0) return [];
  const horizons = [...new Set(data.cohorts.map((c) => c.monthsAfter))].sort((a, b) => a - b);
  const months = [...new Set(data.cohorts.map((c) => c.cohortMonth))].sort();
  const cell = (month: string, h: number) => {
    const c = data.cohorts.find((x) => x.cohortMonth === month && x.monthsAfter === h);
    if (!c || !c.complete || c.repeatRate === null) return '';
    return `${(c.repeatRate * 100).toFixed(0)} % (${c.revenueIndex === null ? '—' : c.revenueIndex.toFixed(0)})`;
  };
  return [
    'Cohorts by month of first purchase: repeat-purchase rate (cumulative revenue per customer, first day = 100)',
    ...table(
      ['cohort', 'customers', ...horizons.map((h) => `${h} m`)],
      months.map((m) => [m.slice(0, 7), String(data.cohorts.find((c) => c.cohortMonth === m)?.customers ?? 0), ...horizons.map((h) => cell(m, h))]),
      [1, ...horizons.map((_, i) => i + 2)],
    ),
    '',
  ];
}

function segmentSection(data: ReportData): string[] {
  if (data.segments.length === 0) return [];
  const money = (v: number | null) => (v === null ? '—' : v.toLocaleString('en', { maximumFractionDigits: 0 }));
  const out = [
    `Segments (snapshot ${data.segments[0]?.snapshotDate ?? '—'})`,
    ...table(
      ['segment', 'customers', 'share', 'revenue', 'share', 'per customer'],
      data.segments.map((s) => [s.segment ?? '(none)', s.customers.toLocaleString('en'), formatValue(s.customerShare, 'rate'), money(s.revenue), formatValue(s.revenueShare, 'rate'), s.revenuePerCustomer === null ? '—' : s.revenuePerCustomer.toFixed(2)]),
      [1, 2, 3, 4, 5],
    ),
    '',
  ];
  if (data.migration.length) {
    const moves = data.migration.filter((m) => m.fromSegment !== m.toSegment).sort((a, b) => b.customers - a.customers).slice(0, 12);
    out.push(
      `Segment migration ${data.migration[0]!.fromDate} → ${data.migration[0]!.toDate} (largest moves)`,
      ...table(
        ['from', 'to', 'customers', 'share of from'],
        moves.map((m) => [m.fromSegment ?? '(not scored)', m.toSegment ?? '(not scored)', m.customers.toLocaleString('en'), formatValue(m.share, 'rate')]),
        [2, 3],
      ),
      '',
    );
  }
  return out;
}

/** What each sync delivered (`deliveries:`), from the state's finished runs. */
function deliverySection(data: ReportData): string[] {
  const deliveries = data.deliveries;
  if (!deliveries) return [];
  if (deliveries.rows.length === 0) return ['Deliveries: no sync of the project matches `deliveries`', ''];
  return [
    `Deliveries per sync (all finished runs, state ${deliveries.stateSchema})`,
    ...table(
      DELIVERY_HEADER,
      deliveries.rows.map((r) => deliveryCells(r).map((cell, i) => (i === DELIVERY_HEADER.length - 1 && cell === 'failed' ? '! failed' : cell))),
      DELIVERY_NUMERIC,
    ),
    '',
  ];
}
