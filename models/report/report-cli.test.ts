import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { joinSql, sql } from '../../src/dialects/sql.js';
import { RUNS_COLUMNS } from '../../src/state/tables.js';
import { openTarget } from '../../src/warehouses/registry.js';
import { runCli, tempProject } from '../../test/support/cli.js';

/** `tideline report` end to end on embedded DuckDB, with CSV sources; and located errors for broken report YAML. */

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

function csvProject(models: string): string {
  const customers = ['customer_id,email_hash,consent_email,order_count', ...Array.from({ length: 20 }, (_, i) => `cust-${i + 1},hash-${i + 1},true,${i % 3}`)].join('\n');
  const orders = ['order_id,customer_id,ordered_at,amount', ...Array.from({ length: 30 }, (_, i) => `o${i + 1},cust-${(i % 20) + 1},${day(-(i * 5) - 1)} 10:00:00,${(20 + i).toFixed(2)}`)].join('\n');
  const email = [
    'campaign,customer_id,event_type,occurred_at',
    ...Array.from({ length: 20 }, (_, i) => [`news,cust-${i + 1},sent,${day(-3)} 09:00:00`, `news,cust-${i + 1},${i < 19 ? 'delivered' : 'bounced'},${day(-3)} 09:01:00`, ...(i < 6 ? [`news,cust-${i + 1},opened,${day(-2)} 09:00:00`] : [])]).flat(),
  ].join('\n');
  return tempProject({
    'tideline.yml': 'name: shop\n',
    'data/customers.csv': customers + '\n',
    'data/orders.csv': orders + '\n',
    'data/email.csv': email + '\n',
    'models/all.yml': models,
  });
}

const SOURCES = `sources:
  - { name: customers_raw, file: data/customers.csv }
  - { name: orders_raw, file: data/orders.csv }
  - { name: email_raw, file: data/email.csv }
`;

describe('tideline report', () => {
  it('prints a built report, writes the HTML page, and reads an audiences model\'s history for uplift', async () => {
    const root = csvProject(`${SOURCES}models:
  - name: segs
    kind: audiences
    customers: customers_raw
    audiences:
      - name: regulars
        channel: email
        holdout: 50%
        where: { field: order_count, gte: 1 }
  - name: weekly
    kind: report
    periods: { every: week, count: 4 }
    orders: { from: orders_raw, customer: customer_id, time: ordered_at, revenue: amount }
    messages:
      email: { from: email_raw, customer: customer_id, time: occurred_at, campaign: campaign }
    memberships: { audiences: segs }
`);
    const before = await runCli(['report', '--log-format', 'pretty'], { cwd: root });
    expect(before.code).toBe(1);
    expect(before.stderr).toContain('report weekly has not been built');

    const run = await runCli(['run'], { cwd: root });
    expect(run.code, run.stderr).toBe(0);
    const report = await runCli(['report', '--html', 'out/weekly.html'], { cwd: root });
    expect(report.code, report.stderr).toBe(0);
    // 20 e-mails, 19 delivered, 6 opened; the delivery rate (95 %) is below the default 99 %.
    expect(report.stdout).toMatch(/^ {2}email +delivery rate +95\.0 % +good > 99\.0 % +! bad$/m);
    expect(report.stdout).toMatch(/^ {2}email +open rate +31\.6 %/m);
    // The members entered during this run: their 30-day window is still open.
    expect(report.stdout).toMatch(/^ {2}regulars \/ treatment +30 days +0 +0 +\d+ /m);
    expect(report.stdout).toContain('Cohorts by month of first purchase');
    const html = readFileSync(join(root, 'out/weekly.html'), 'utf8');
    expect(html).toContain('<canvas id="trend-0"');
    expect(html).toContain('Content-Security-Policy');
    expect(html).not.toMatch(/cust-|hash-/);
  });

  it("counts each sync's deliveries from the state's finished runs when it prints: production, or the sandbox's", async () => {
    const root = csvProject(`${SOURCES}models:
  - name: customer_list
    kind: sql
    sql: SELECT customer_id, email_hash FROM {{ ref('customers_raw') }}
  - name: weekly
    kind: report
    orders: { from: orders_raw, customer: customer_id, time: ordered_at, revenue: amount }
    deliveries: { modes: [insert] }
`);
    mkdirSync(join(root, 'syncs'));
    writeFileSync(
      join(root, 'syncs', 'files.yml'),
      `destinations:
  - { name: files, type: file, path: out/files, format: csv }
syncs:
  - { name: customer_file, model: customer_list, destination: files, object: customers, mode: insert, key: customer_id, fields: { email_hash: email_hash } }
  - { name: later_file, model: customer_list, destination: files, object: later, mode: insert, key: customer_id, enabled: false }
  - { name: mirror_file, model: customer_list, destination: files, object: mirror, mode: mirror, key: customer_id }
`,
    );
    expect((await runCli(['run'], { cwd: root })).code).toBe(0);
    const deliveries = (stdout: string) => stdout.slice(stdout.indexOf('Deliveries per sync')).split('\n').filter((l) => /_file/.test(l)).map((l) => l.trim().split(/ {2,}/));
    const never = ['later_file', 'insert', '0', '0', '0', '0', '—', 'never'];

    // Before any sync: both insert syncs, never run (the mirror sync is not in the modes counted).
    const before = await runCli(['report'], { cwd: root });
    expect(before.code, before.stderr).toBe(0);
    expect(deliveries(before.stdout)).toEqual([['customer_file', 'insert', '0', '0', '0', '0', '—', 'never'], never]);

    // A run recorded before sync_runs had too_old (a state schema of an earlier version): the next sync adds the
    // column, and the old run still counts.
    const connection = await openTarget({ type: 'duckdb', path: '.tideline/warehouse.duckdb' }, { root });
    await connection.execute(sql`CREATE SCHEMA tideline_state`);
    const old = RUNS_COLUMNS.filter((c) => c.name !== 'too_old');
    await connection.execute(sql`CREATE TABLE tideline_state.sync_runs (${joinSql(old.map((c) => sql`${connection.dialect.id(c.name)} ${connection.dialect.type(c.type)}`))})`);
    await connection.execute(sql`INSERT INTO tideline_state.sync_runs VALUES ('r0', 'customer_file', 'insert', TIMESTAMP '2026-01-01 10:00:00', TIMESTAMP '2026-01-01 10:01:00', 'failed', 0, 0, 0, 0, 0, 5, 0, 5, 1, 'refused')`);
    await connection.close();

    // Two runs: the first sends the 20 customers, the second nothing; the sandbox's state is another.
    for (let i = 0; i < 2; i++) expect((await runCli(['sync', '--select', 'customer_file'], { cwd: root })).code).toBe(0);
    const after = await runCli(['report'], { cwd: root });
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toContain('state tideline_state)');
    const [file, later] = deliveries(after.stdout);
    expect([file!.slice(0, 7), file![8], later]).toEqual([['customer_file', 'insert', '3 (1 failed)', '25', '20', '5', '—'], 'success', never]);
    expect(file![7]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    const sandbox = await runCli(['report', '--sandbox'], { cwd: root });
    expect(sandbox.stdout).toContain('state tideline_state_sandbox)');
    expect(deliveries(sandbox.stdout)).toEqual([['customer_file', 'insert', '0', '0', '0', '0', '—', 'never'], never]);
  });

  it('exits 2 with every located problem of a broken report file', async () => {
    const root = csvProject(`${SOURCES}models:
  - name: broken
    kind: report
    orders: { from: orders_raw, customer: customer_id, time: ordered_at, revenue: amout }
    messages:
      email: { from: email_raw, customer: customer_id, time: occurred_at, campaign: campaign }
    thresholds:
      email:
        unsubscribe_rate: { good: "0.3%", bad: "0.2%" }
        open_rte: { good: "20%" }
        click_rate: { good: 0.02 }
    programs:
      - name: activation
        kpi: { repeat_within: 45 days, converted_within: 7 days }
    segments: { from: orders_raw, customer: customer_id, segment: order_id, compare: ['2026-06-30', '2026-05-31'] }
`);
    const result = await runCli(['report', '--log-format', 'pretty'], { cwd: root });
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([
      'error: models/all.yml:8:83  models[0].orders.revenue  unknown column "amout" in source "orders_raw" (did you mean "amount"?)',
      'error: models/all.yml:13:35  models[0].thresholds.email.unsubscribe_rate.good  thresholds out of order: email unsubscribe rate is better lower, so good (0.3 %) must be at or below bad (0.2 %)',
      'error: models/all.yml:14:19  models[0].thresholds.email.open_rte  unknown email KPI "open_rte" (did you mean "open_rate"?); email KPIs: messages, delivery_rate, bounce_rate, open_rate, open_rate_human, click_rate, click_to_open, click_to_open_human, unsubscribe_rate, complaint_rate, fatigue',
      'error: models/all.yml:15:29  models[0].thresholds.email.click_rate.good  write a rate as a percentage such as "0.2%", not 0.02',
      'error: models/all.yml:18:14  models[0].programs[0].kpi  a program has one KPI: give exactly one of converted_within, repeat_within (found converted_within, repeat_within)',
      'error: models/all.yml:19:86  models[0].segments.compare  compare an earlier snapshot with a later one: 2026-06-30 is not before 2026-05-31',
    ]);
  });

  it('exits 2 on an unknown relation or key, before touching the warehouse', async () => {
    const root = csvProject(`${SOURCES}models:
  - name: broken
    kind: report
    orders: { from: order_raw, customer: customer_id, time: ordered_at, revenue: amount }
  - name: misspelt
    kind: report
    orders: { from: orders_raw, customer: customer_id, time: ordered_at, revenue: amount }
    uplift: { windw: 30 days }
`);
    const result = await runCli(['report', '--log-format', 'pretty'], { cwd: root });
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([
      'error: models/all.yml:8:21  models[0].orders.from  unknown source or model "order_raw" (did you mean "orders_raw"?)',
      'error: models/all.yml:12:15  models[1].uplift.windw  unknown key "windw" (did you mean "window"?)',
    ]);
    expect(existsSync(join(root, '.tideline'))).toBe(false);
  });
});
