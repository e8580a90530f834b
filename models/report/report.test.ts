import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelScript } from '../../src/pipeline/script.js';
import { runModels } from '../../src/pipeline/runner.js';
import { joinSql, sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { analyseProject, analyseWithSources } from '../../src/project/analyse.js';
import { loadProject, type Project } from '../../src/project/loader.js';
import { ConfigError } from '../../src/project/problems.js';
import type { LogicalType } from '../../src/dialects/dialect.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { tempProject } from '../../test/support/cli.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';
import { expectGolden, GOLDEN_DIALECTS, GOLDEN_TARGETS } from '../../test/support/golden.js';
import { trackedMeasures } from './analyse.js';
import { availableKpis, CHANNELS } from './kpis.js';
import { describeScorecard, readReport, reportTables, type ReportData } from './read.js';
import { FIXTURE, reportYaml } from '../../test/fixtures/report.js';
import { newcombe, t975, welch, Z95 } from './stats.js';
import { reportSchema } from './schema.js';

/** Expected values are worked out by hand from test/fixtures/report.ts; each comment gives the counts behind them. */

const close = (actual: number | null | undefined, expected: number, digits = 9) => {
  expect(actual).not.toBeNull();
  expect(actual!).toBeCloseTo(expected, digits);
};

async function createTables(connection: Connection, schema: string): Promise<void> {
  const d = connection.dialect;
  await connection.execute(d.createSchema(schema));
  for (const [name, table] of Object.entries(FIXTURE)) {
    const ref = { schema, name };
    await connection.execute(sql`CREATE TABLE ${d.table(ref)} (${joinSql(table.columns.map(([c, type]) => sql`${d.id(c)} ${d.type(type)}`))})`);
    await connection.insertRows(ref, table.columns.map(([name, type]) => ({ name, type })), [table.rows]);
  }
}

async function build(project: Project, connection: Connection, names: readonly string[] = project.order): Promise<void> {
  const analysis = await analyseProject(project, connection);
  const results = await runModels(project, connection, analysis, names, { logger: createLogger({ level: 'silent' }) });
  expect(results.map((r) => [r.model, r.status, r.error])).toEqual(names.map((n) => [n, 'success', null]));
}

describe('uplift statistics (TypeScript reference)', () => {
  it('gives the t table within 0.001 from 4 degrees of freedom', () => {
    const table: [number, number][] = [
      [4, 2.776445],
      [5, 2.570582],
      [10, 2.228139],
      [30, 2.042272],
      [120, 1.97993],
    ];
    for (const [nu, t] of table) expect(Math.abs(t975(nu) - t)).toBeLessThan(0.001);
    expect(t975(1e9)).toBeCloseTo(Z95, 6);
  });

  it("reproduces Newcombe's (1998) method 10 and R's Welch t.test on the sleep data", () => {
    const n = newcombe(56, 70, 48, 80);
    expect(n.low).toBeCloseTo(0.0524, 4);
    expect(n.high).toBeCloseTo(0.3339, 4);
    const mean = (a: readonly number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    const variance = (a: readonly number[]) => a.reduce((s, x) => s + (x - mean(a)) ** 2, 0) / (a.length - 1);
    const g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
    const g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
    // R: t.test(extra ~ group, data = sleep) → df 17.776, 95 % CI −3.3654832 to 0.2054832 (group 1 − group 2).
    const w = welch(10, mean(g1), variance(g1), 10, mean(g2), variance(g2));
    expect(w.df).toBeCloseTo(17.776, 3);
    expect(w.low).toBeCloseTo(-3.3654832, 4);
    expect(w.high).toBeCloseTo(0.2054832, 4);
  });
});

for (const engine of engines()) {
  describe(`report on ${engine.name}`, () => {
    let connection: Connection;
    let data: ReportData;
    const raw = uniqueSchema('rep_raw');
    const models = uniqueSchema('rep');

    beforeAll(async () => {
      connection = await engine.open();
      await createTables(connection, raw);
      const root = tempProject({
        'tideline.yml': `name: shop\nschema: ${models}\ntargets:\n  test: ${JSON.stringify(engine.target)}\n`,
        'models/report.yml': reportYaml(raw),
      });
      const project = await loadProject({ projectDir: root });
      await build(project, connection);
      data = await readReport(connection, connection.dialect, 'shop_report', reportTables({ schema: models, name: 'shop_report' }));
    });
    afterAll(async () => {
      for (const schema of [raw, models]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${connection.dialect.id(schema)} CASCADE`);
      await connection.close();
    });

    const kpi = (channel: string, name: string, campaign: string | null = null, period: string | null = null) => {
      const row = data.kpis.find((k) => k.channel === channel && k.kpi === name && k.campaign === campaign && k.periodStart === period);
      if (!row) throw new Error(`no KPI ${channel}.${name} for ${campaign ?? 'all campaigns'} / ${period ?? 'the window'}`);
      return row;
    };

    it('counts e-mail messages once per recipient and campaign, in the window, up to the as-of date', () => {
      // Window: April–June 2026. A: 10 messages (c7 delivered without a "sent" event), 8 delivered, 2 bounced,
      // 6 openers of whom 4 human (c2's and c8's only opens are machine opens), 3 clickers (c4's click is after the
      // as-of date), 1 unsubscriber. B: 4 messages, 4 delivered, 3 openers, all human, 1 clicker, 1 unsubscriber.
      // Campaign Z (March) is outside the window.
      const all = { messages: 14, delivered: 12, bounced: 2, openers: 9, human: 7, clickers: 4, unsubscribers: 2, allClickers: 6 };
      expect(kpi('email', 'messages').value).toBe(all.messages);
      close(kpi('email', 'delivery_rate').value, all.delivered / all.messages);
      close(kpi('email', 'bounce_rate').value, all.bounced / all.messages);
      close(kpi('email', 'open_rate').value, all.openers / all.delivered);
      close(kpi('email', 'open_rate_human').value, all.human / all.delivered);
      close(kpi('email', 'click_rate').value, all.clickers / all.delivered);
      close(kpi('email', 'click_to_open').value, all.clickers / all.openers);
      close(kpi('email', 'click_to_open_human').value, all.clickers / all.human);
      close(kpi('email', 'unsubscribe_rate').value, all.unsubscribers / all.delivered);
      // Unsubscribe clicks (by default the unsubscribes) among clickers and unsubscribers: 2 of 6.
      close(kpi('email', 'fatigue').value, 2 / 6);
      expect(data.kpis.some((k) => k.kpi === 'complaint_rate')).toBe(false);

      const a = kpi('email', 'open_rate_human', 'A');
      expect([a.numerator, a.denominator]).toEqual([4, 8]);
      expect(kpi('email', 'delivery_rate', 'A').numerator).toBe(8);
      expect(kpi('email', 'delivery_rate', 'A').denominator).toBe(10);
      expect(kpi('email', 'click_rate', 'B').numerator).toBe(1);
      // Per period: A is May's, B is June's; nothing in April.
      expect(kpi('email', 'messages', null, '2026-05-01').value).toBe(10);
      expect(kpi('email', 'messages', null, '2026-06-01').value).toBe(4);
      expect(kpi('email', 'messages', 'B', '2026-06-01').value).toBe(4);
      expect(data.kpis.filter((k) => k.channel === 'email' && k.periodStart === '2026-04-01')).toEqual([]);
      expect(data.kpis.filter((k) => k.campaign === 'Z')).toEqual([]);
    });

    it('flags KPIs by their thresholds: defaults from the issue, overrides from YAML', () => {
      // Delivery 12/14 = 85.7 % (healthy above 99 %), unsubscribes 2/12 = 16.7 % (dangerous above 0.2 %),
      // fatigue 33 % (keep below 20 %): bad. Open rate 75 % ≥ 50 %: good. Click rate 33.3 % between 30 and 40 %: fair.
      expect(kpi('email', 'delivery_rate').status).toBe('bad');
      expect(kpi('email', 'unsubscribe_rate').status).toBe('bad');
      expect(kpi('email', 'fatigue').status).toBe('bad');
      expect(kpi('email', 'open_rate').status).toBe('good');
      expect(kpi('email', 'click_rate').status).toBe('fair');
      expect(kpi('email', 'unsubscribe_rate').good).toBeCloseTo(0.001, 9);
      expect(kpi('email', 'unsubscribe_rate').bad).toBeCloseTo(0.002, 9);
      expect(kpi('email', 'bounce_rate').status).toBeNull();
      // Campaign B alone: 1 unsubscriber of 4 delivered.
      expect(kpi('email', 'unsubscribe_rate', 'B').status).toBe('bad');
      const flagged = data.scorecard.filter((r) => r.flagged && r.section === 'channel').map((r) => `${r.subject}.${r.kpi}`);
      expect(flagged.sort()).toEqual(['email.delivery_rate', 'email.fatigue', 'email.unsubscribe_rate']);
      // What `tideline run` prints: 7 KPIs have thresholds (5 e-mail, 1 phone, the cart_recovery program).
      const summary = describeScorecard(data.scorecard);
      expect(summary.lines[0]).toBe('3 of 7 KPIs with thresholds out of range: email delivery rate 85.7 %; email fatigue (unsubscribe clicks / all clicks) 33.3 %; email unsubscribe rate 16.7 %');
      expect(summary.lines[1]).toBe('uplift newcombe / treated: conversion +20.0 pts (95 % CI +5.2 pts to +33.4 pts), significant');
      expect(summary.lines[2]).toMatch(/^uplift welch \/ treated: conversion \+0\.0 pts \(95 % CI −27\.\d pts to \+27\.\d pts\), groups too small to conclude$/);
    });

    it('counts unsubscribe-link clicks by condition, and leaves out KPIs of untracked events', async () => {
      // fatigue_check flags machine opens as "unsubscribe clicks" (any condition will do): A has three (c2, c3, c8),
      // B none. Clickers exclude those events: c1, c3, c8 in A and c1 in B; all clickers add c2: 6 − 1 = 5 in total.
      // One quarter (April–June): the same messages as the monthly report.
      const other = await readReport(connection, connection.dialect, 'fatigue_check', reportTables({ schema: models, name: 'fatigue_check' }));
      const fatigue = other.kpis.find((k) => k.kpi === 'fatigue' && k.campaign === null && k.periodStart === null)!;
      expect([fatigue.numerator, fatigue.denominator]).toEqual([3, 5]);
      expect(other.kpis.find((k) => k.kpi === 'click_rate' && k.campaign === null && k.periodStart === null)!.numerator).toBe(4);
      expect(other.kpis.some((k) => k.kpi === 'bounce_rate')).toBe(false);
      expect(new Set(other.kpis.map((k) => k.periodStart))).toEqual(new Set([null, '2026-04-01']));
      // Without bounces mapped, "sent" is any sent or delivered event: c5 and c10 (sent, then bounced) still count.
      expect(other.kpis.find((k) => k.kpi === 'messages' && k.campaign === 'A' && k.periodStart === null)!.value).toBe(10);
    });

    it('computes SMS, push, postal and phone KPIs with mapped event names', () => {
      // SMS S1: 4 sent, 3 delivered, 1 click, 1 STOP.
      close(kpi('sms', 'delivery_rate').value, 3 / 4);
      close(kpi('sms', 'click_rate').value, 1 / 3);
      close(kpi('sms', 'stop_rate').value, 1 / 3);
      // Push P1: 3 sent, 2 displayed, 1 opened.
      close(kpi('push', 'display_rate').value, 2 / 3);
      close(kpi('push', 'reaction_rate').value, 1 / 2);
      // Letters M1: 5 sent, 1 returned (NPAI).
      close(kpi('mail', 'return_rate').value, 1 / 5);
      // Calls in the window: 4 (January's is outside), 2 answered, 120 s and 60 s.
      expect(kpi('phone', 'calls').value).toBe(4);
      close(kpi('phone', 'answer_rate').value, 0.5);
      close(kpi('phone', 'average_call_seconds').value, 90);
      expect(kpi('phone', 'average_call_seconds').status).toBe('good');
      expect(kpi('phone', 'calls', 'winback_calls').value).toBe(4);
    });

    it('computes exactly the KPIs whose events are tracked', () => {
      const spec = reportSchema.parse({ messages: reportSchemaMessages() });
      for (const channel of CHANNELS) {
        const expected = availableKpis(channel, trackedMeasures(spec, channel)).map((k) => k.name).sort();
        const computed = [...new Set(data.kpis.filter((k) => k.channel === channel).map((k) => k.kpi))].sort();
        expect([channel, computed]).toEqual([channel, expected]);
      }
    });

    it("measures holdout uplift with Newcombe's and Welch's intervals", () => {
      expect(data.uplift.map((u) => `${u.audience}/${u.treatedGroup}`)).toEqual(['newcombe/treated', 'welch/treated']);
      const n = data.uplift[0]!;
      // n151's window is still open; n002's second stay does not count; n001's order on the window's last instant
      // does; n119's orders at its entry and after its window do not.
      expect([n.treated, n.holdout, n.pending, n.treatedConverters, n.holdoutConverters]).toEqual([70, 80, 1, 56, 48]);
      close(n.treatedConversion, 0.8);
      close(n.holdoutConversion, 0.6);
      close(n.conversionUplift, 0.2);
      const reference = newcombe(56, 70, 48, 80);
      close(n.conversionUpliftLow, reference.low);
      close(n.conversionUpliftHigh, reference.high);
      expect(n.conversionUpliftLow).toBeCloseTo(0.0524, 4);
      expect(n.conversionUpliftHigh).toBeCloseTo(0.3339, 4);
      // Katz: log(0.8 / 0.6) ± 1.96 × sqrt(1/56 − 1/70 + 1/48 − 1/80).
      const se = Math.sqrt(1 / 56 - 1 / 70 + 1 / 48 - 1 / 80);
      close(n.conversionRelative, 0.8 / 0.6 - 1);
      close(n.conversionRelativeLow, Math.exp(Math.log(0.8 / 0.6) - Z95 * se) - 1);
      close(n.conversionRelativeHigh, Math.exp(Math.log(0.8 / 0.6) + Z95 * se) - 1);
      // Revenue per customer: 56 × 10 / 70 and 48 × 10 / 80.
      close(n.treatedRevenuePerCustomer, 8);
      close(n.holdoutRevenuePerCustomer, 6);
      expect([n.tooSmall, n.conversionSignificant]).toEqual([false, true]);

      const w = data.uplift[1]!;
      expect([w.treated, w.holdout, w.pending]).toEqual([10, 10, 0]);
      close(w.conversionUplift, 0);
      close(w.revenueUplift, 1.58);
      // R's t.test(extra ~ group, data = sleep), turned around (treated = group 2).
      expect(w.revenueDf).toBeCloseTo(17.776, 3);
      expect(w.revenueUpliftLow).toBeCloseTo(-0.2054832, 3);
      expect(w.revenueUpliftHigh).toBeCloseTo(3.3654832, 3);
      // Delta method on log(m1 / m0), with the means 2.33 + 2 and 0.75 + 2 and the sample variances.
      const v = (a: number[]) => a.reduce((s, x) => s + (x - a.reduce((p, q) => p + q, 0) / a.length) ** 2, 0) / (a.length - 1);
      const sleep1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
      const sleep2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
      const [m1, m0] = [4.33, 2.75];
      const seLog = Math.sqrt(v(sleep2) / (10 * m1 * m1) + v(sleep1) / (10 * m0 * m0));
      close(w.revenueRelative, m1 / m0 - 1, 6);
      close(w.revenueRelativeLow, Math.exp(Math.log(m1 / m0) - Z95 * seLog) - 1, 6);
      close(w.revenueRelativeHigh, Math.exp(Math.log(m1 / m0) + Z95 * seLog) - 1, 6);
      // 10 per group is below min_group (20): too small to conclude, and flagged.
      expect([w.tooSmall, w.revenueSignificant]).toEqual([true, false]);
      expect(data.scorecard.filter((r) => r.section === 'uplift' && r.flagged).map((r) => `${r.subject}:${r.kpi}:${r.status}`)).toEqual([
        'welch / treated:conversion_uplift:too_small',
        'welch / treated:revenue_uplift:too_small',
      ]);
    });

    it('measures each program by its one KPI, per period and over the window', () => {
      const program = (name: string, period: string | null = null) => data.programs.find((p) => p.program === name && p.periodStart === period)!;
      // First orders from April 1 to May 16 (45 days before the as-of date): 103 converters of "newcombe" on April 3,
      // n001 on May 1, n119, 20 "welch" customers, r1 and r2 = 127; n119 (30 days) and r1 (40 days) bought again.
      const activation = program('activation');
      expect([activation.base, activation.converted]).toEqual([127, 2]);
      close(activation.value, 2 / 127);
      expect([program('activation', '2026-04-01').base, program('activation', '2026-04-01').converted]).toEqual([126, 2]);
      expect([program('activation', '2026-05-01').base, program('activation', '2026-05-01').converted]).toEqual([1, 0]);
      expect([activation.audiences, activation.syncs, activation.within]).toEqual(['newcombe', 'crm_activation', '45 days']);
      // Entrants outside the holdout: the 70 treated (April 1) and n151 (June 20, its 7 days are over); 55 ordered
      // within 7 days (n001 ordered after 30 days). 55 / 71 = 77.5 %: between 50 % and 80 %, fair.
      const carts = program('cart_recovery');
      expect([carts.kpi, carts.base, carts.converted, carts.status]).toEqual(['carts recovered within 7 days', 71, 55, 'fair']);
      close(carts.value, 55 / 71);
    });

    it('follows cohorts by month of first purchase, with repeat rate and revenue index', () => {
      const cohort = (month: string, h: number) => data.cohorts.find((c) => c.cohortMonth === month && c.monthsAfter === h)!;
      // July 2025: k1 (100 on the 10th, 50 on the 25th, 30 on Oct 1), k2 (40 on the 31st, 20 on Aug 31), k3 (60 + 10
      // on the 5th, 100 on Jan 4). First-day revenue 210 for 3 customers.
      const july = [1, 2, 3, 6].map((h) => cohort('2025-07-01', h));
      expect(july.map((c) => [c.customers, c.repeatCustomers, c.complete])).toEqual([
        [3, 2, true],
        [3, 2, true],
        [3, 2, true],
        [3, 3, true],
      ]);
      close(july[0]!.firstDayRevenuePerCustomer, 70);
      const revenue = [280, 280, 310, 410];
      july.forEach((c, i) => {
        close(c.revenuePerCustomer, revenue[i]! / 3);
        close(c.revenueIndex, (100 * revenue[i]!) / 210);
        close(c.repeatRate, c.repeatCustomers! / 3);
      });
      // Twelve months after July 2025 have not all passed by 2026-06-30.
      expect(cohort('2025-07-01', 12)).toMatchObject({ complete: false, repeatRate: null, revenueIndex: null });
      // August 2025: k4 alone; its cancelled order does not count.
      expect(cohort('2025-08-01', 6)).toMatchObject({ customers: 1, repeatCustomers: 0, complete: true });
      close(cohort('2025-08-01', 6).revenueIndex, 100);
    });

    it('keeps its own monthly segment snapshots when the segments relation has none', async () => {
      const d = connection.dialect;
      const current = { schema: raw, name: 'rfm_now' };
      await connection.execute(sql`CREATE TABLE ${d.table(current)} (${d.id('customer_id')} ${d.type('string')}, ${d.id('segment')} ${d.type('string')})`);
      const root = tempProject({ 'models/report.yml': `sources:\n  - { name: rfm_now, table: ${raw}.rfm_now }\nmodels:\n  - name: segment_report\n    kind: report\n    segments: { from: rfm_now }\n` });
      const columns = [{ name: 'customer_id', type: 'string' as const }, { name: 'segment', type: 'string' as const }];
      const buildAt = async (asOf: string, rows: [string, string][]) => {
        await connection.execute(sql`DELETE FROM ${d.table(current)}`);
        await connection.insertRows(current, columns, [rows]);
        writeFileSync(join(root, 'tideline.yml'), `name: shop\nschema: ${models}\nvars: { as_of: '${asOf}' }\ntargets:\n  test: ${JSON.stringify(engine.target)}\n`);
        await build(await loadProject({ projectDir: root }), connection);
        const tables = reportTables({ schema: models, name: 'segment_report' });
        const dates = await connection.query(sql`SELECT DISTINCT snapshot_date FROM ${d.table({ schema: models, name: 'segment_report_snapshots' })} ORDER BY 1`);
        return { dates: dates.map((r) => r['snapshot_date']), report: await readReport(connection, d, 'segment_report', tables) };
      };
      const may = await buildAt('2026-05-31', [['s1', 'Champions'], ['s2', 'Loyal'], ['s3', 'At Risk'], ['s4', 'At Risk']]);
      expect(may.dates).toEqual(['2026-05-31']);
      expect(may.report.migration).toEqual([]);
      expect(may.report.segments.map((x) => [x.segment, x.customers, x.revenue])).toEqual([['At Risk', 2, null], ['Champions', 1, null], ['Loyal', 1, null]]);
      // Mid-June, then end of June: the June snapshot is replaced, May's kept.
      const june = [['s1', 'Champions'], ['s2', 'Champions'], ['s3', 'Lost'], ['s5', 'New']] as [string, string][];
      expect((await buildAt('2026-06-15', [['s1', 'Loyal']])).dates).toEqual(['2026-05-31', '2026-06-15']);
      const end = await buildAt('2026-06-30', june);
      expect(end.dates).toEqual(['2026-05-31', '2026-06-30']);
      expect(end.report.migration.map((m) => [m.fromDate, m.toDate, m.fromSegment, m.toSegment, m.customers])).toEqual([
        ['2026-05-31', '2026-06-30', null, 'New', 1],
        ['2026-05-31', '2026-06-30', 'At Risk', null, 1],
        ['2026-05-31', '2026-06-30', 'At Risk', 'Lost', 1],
        ['2026-05-31', '2026-06-30', 'Champions', 'Champions', 1],
        ['2026-05-31', '2026-06-30', 'Loyal', 'Champions', 1],
      ]);
    });

    it('gives revenue per segment and migrations between snapshots', () => {
      // Latest snapshot 2026-06-30: Champions s1, s2; Lost s3; New s5. Revenue since 2025-06-30: s1 100, s2 30 (its
      // 2025-05 order is older), s5 20.
      expect(data.segments.map((s) => [s.segment, s.customers, s.orders])).toEqual([
        ['Champions', 2, 2],
        ['Lost', 1, 0],
        ['New', 1, 1],
      ]);
      const champions = data.segments[0]!;
      close(champions.revenue, 130);
      close(champions.revenueShare, 130 / 150);
      close(champions.customerShare, 0.5);
      close(champions.revenuePerCustomer, 65);
      // From the latest snapshot of an earlier month (2026-05-31; 2026-06-15 is in June) to 2026-06-30.
      expect(data.migration.map((m) => [m.fromDate, m.toDate, m.fromSegment, m.toSegment, m.customers])).toEqual([
        ['2026-05-31', '2026-06-30', null, 'New', 1],
        ['2026-05-31', '2026-06-30', 'At Risk', null, 1],
        ['2026-05-31', '2026-06-30', 'At Risk', 'Lost', 1],
        ['2026-05-31', '2026-06-30', 'Champions', 'Champions', 1],
        ['2026-05-31', '2026-06-30', 'Loyal', 'Champions', 1],
      ]);
      close(data.migration.find((m) => m.fromSegment === 'At Risk' && m.toSegment === 'Lost')!.share, 0.5);
    });
  });
}

/** The messages section of the fixture's report, as parsed, to check which KPIs it should produce. */
function reportSchemaMessages(): unknown {
  return {
    email: { from: 'e', customer: 'c', time: 't', campaign: 'k', machine_open: 'm' },
    sms: { from: 's', customer: 'c', time: 't', campaign: 'k', events: { sent: 'SENT', delivered: 'DELIVERED', clicked: 'CLICK', stop: ['STOP'] } },
    push: { from: 'p', customer: 'c', time: 't', campaign: 'k' },
    mail: { from: 'l', customer: 'c', time: 't', campaign: 'k' },
    phone: { from: 'c', time: 't', answered: [{ column: 'o', equals: 'answered' }], duration: 's' },
  };
}

describe('report: golden SQL', () => {
  const root = tempProject({ 'tideline.yml': `name: shop\n${GOLDEN_TARGETS}`, 'models/report.yml': reportYaml('raw') });
  const columns = new Map(Object.entries(FIXTURE).map(([name, table]) => [name, table.columns.map(([c, type]) => ({ name: c, type }))]));
  // The dialects no test executes; DuckDB and PostgreSQL build the same model above, against results worked out by hand.
  for (const dialect of GOLDEN_DIALECTS) {
    it(dialect, async () => {
      const project = await loadProject({ projectDir: root, target: dialect });
      const analysis = analyseWithSources(project, columns, true);
      expectGolden(join(import.meta.dirname, '../../test/golden/report', `${dialect}.sql`), modelScript(project, analysis, project.models.get('shop_report')!).script);
    });
  }
});

describe('report: configuration problems are located', () => {
  const COLUMNS: Record<string, [string, LogicalType][]> = {
    orders: [['customer_id', 'string'], ['ordered_at', 'string'], ['amount', 'decimal']],
    email_events: FIXTURE['email_events']!.columns.map(([c, t]) => [c, t]),
    calls: FIXTURE['calls']!.columns.map(([c, t]) => [c, t]),
    assignments: FIXTURE['assignments']!.columns.map(([c, t]) => [c, t]),
  };
  async function problems(report: string): Promise<string[]> {
    const sources = Object.keys(COLUMNS).map((name) => `  - { name: ${name}, table: raw.${name} }`).join('\n');
    const root = tempProject({ 'tideline.yml': 'name: shop\n', 'models/r.yml': `sources:\n${sources}\nmodels:\n  - name: r\n    kind: report\n${report}` });
    const columns = new Map(Object.entries(COLUMNS).map(([name, cols]) => [name, cols.map(([c, type]) => ({ name: c, type }))]));
    try {
      analyseWithSources(await loadProject({ projectDir: root }), columns, true);
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems.map((p) => `${p.field}: ${p.message}`);
    }
  }
  const email = '    messages:\n      email: { from: email_events, customer: customer_id, time: occurred_at, campaign: campaign_id }\n';

  it('needs something to measure', async () => {
    expect(await problems('    cohorts: { months: 6 }\n')).toEqual(['models[0]: a report needs something to measure: `orders`, `messages`, `segments` or `quality`']);
  });

  it('checks column types and thresholds against the KPIs', async () => {
    expect(
      await problems(`    orders: { from: orders, customer: customer_id, time: ordered_at, revenue: amount }
${email}      phone: { from: calls, time: called_at, answered: [{ column: outcome, equals: answered }], duration: outcome }
    thresholds:
      email: { open_rate_human: { good: "30%" }, bounce_rate: { bad: "120%" } }
      sms: { stop_rate: { bad: "1%" } }
      fax: { sent: { good: 1 } }
      phone: { average_call_seconds: { good: "60%" } }
`),
    ).toEqual([
      'models[0].orders.time: order time "ordered_at" must be date or timestamp, not string',
      'models[0].messages.phone.duration: call length "outcome" must be integer or float or decimal, not string',
      'models[0].thresholds.email.open_rate_human: email open_rate_human is not computed: its events (human_openers) are not tracked by messages.email',
      'models[0].thresholds.email.bounce_rate.bad: a rate cannot exceed 100 %, got "120%"',
      'models[0].thresholds.sms: thresholds for sms, but no sms events are configured under messages.sms',
      'models[0].thresholds.fax: unknown channel "fax"; channels: email, sms, push, mail, phone',
      'models[0].thresholds.phone.average_call_seconds.good: expected a number (seconds), got "60%"',
    ]);
  });

  it('checks memberships, uplift and programs', async () => {
    const orders = '    orders: { from: orders, customer: customer_id, time: amount, revenue: amount }\n';
    expect(
      await problems(`${orders}    memberships: { audiences: segs, from: assignments, group: grp }
    programs:
      - { name: p, kpi: { converted_within: 7 days } }
      - { name: p, kpi: { repeat_within: 30 days, good: "10%", bad: "20%" } }
`),
    ).toEqual([
      'models[0].memberships.audiences: unknown source or model "segs"',
    ]);
    expect(
      await problems(`${orders}    memberships: { from: assignments, audience: campaign, group: grp, entered_at: assigned_at, customer: customer_id }
    uplift: { min_group: 50 }
    programs:
      - { name: p, kpi: { converted_within: 7 days } }
      - { name: p, kpi: { repeat_within: 30 days, good: "10%", bad: "20%" } }
`),
    ).toEqual([
      'models[0].orders.time: order time "amount" must be date or timestamp, not decimal',
      'models[0].programs[0].audiences: converted_within measures the entrants of the program\'s audiences: list them under `audiences`',
      'models[0].programs[1].name: program "p" is defined twice',
      'models[0].programs[1].kpi.good: thresholds out of order: program p\'s KPI is better higher, so good (10 %) must be at or above bad (20 %)',
    ]);
    expect(await problems(`${email}    uplift: { audiences: [a], since: '2026-01-01' }\n    programs:\n      - { name: q, audiences: [a], kpi: { converted_within: 7 days } }\n`)).toEqual([
      'models[0].uplift.audiences: uplift needs `memberships` (who entered which audience, in which group)',
      'models[0].uplift.since: uplift needs `memberships` (who entered which audience, in which group)',
      'models[0].programs[0].kpi: program KPIs count orders: add `orders`',
      'models[0].programs[0].kpi.converted_within: converted_within follows audience entries: add `memberships`',
    ]);
  });
});
