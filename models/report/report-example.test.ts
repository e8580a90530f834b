import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SHOP, generateShop, PAST_CAMPAIGN } from '../../examples/shop/generate.js';
import { runModels } from '../../src/pipeline/runner.js';
import { sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { analyseProject } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { tempProject } from '../../test/support/cli.js';
import { engines } from '../../test/support/engines.js';
import { chartJsSource, renderHtml } from './html.js';
import { readReport, reportTables, type ReportData } from './read.js';
import { renderTerminal } from './terminal.js';

/**
 * The report on the example shop: the generator plants a campaign with a random holdout and extra orders for the
 * treated (examples/shop/generate.ts, PAST_CAMPAIGN) and records the effect it caused; the report must find it
 * within its 95 % interval. Then the HTML report is opened in headless Chromium.
 */
const ANCHOR = '2026-06-30';
const ROOT = join(import.meta.dirname, '../..');

const EXAMPLE_REPORT_YAML = `sources:
  - { name: orders, table: raw.orders }
  - { name: eshop_accounts, table: raw.eshop_accounts }
  - { name: email_events, table: raw.email_events }
  - { name: sms_events, table: raw.sms_events }
  - { name: push_events, table: raw.push_events }
  - { name: mail_events, table: raw.mail_events }
  - { name: phone_calls, table: raw.phone_calls }
  - { name: campaign_assignments, table: raw.campaign_assignments }
models:
  - name: order_facts
    kind: sql
    description: Web orders keyed by the account's e-mail, the key the campaign was assigned by
    sql: |
      SELECT lower(trim(a.email)) AS customer_key, o.order_id, o.ordered_at, o.total_amount, o.status
      FROM {{ ref('orders') }} AS o
      JOIN {{ ref('eshop_accounts') }} AS a ON a.account_id = o.account_id
      WHERE o.channel = 'web'
    columns: { customer_key: string, order_id: string, ordered_at: timestamp, total_amount: decimal, status: string }
  - name: segments_by_date
    kind: sql
    description: A simple recency/frequency segment at two month ends
    sql: |
      WITH dates AS (SELECT DATE '2026-05-31' AS snapshot_date UNION ALL SELECT DATE '2026-06-30'),
      stats AS (
        SELECT d.snapshot_date, f.customer_key, COUNT(*) AS orders, MAX(CAST(f.ordered_at AS DATE)) AS last_day
        FROM dates AS d JOIN {{ ref('order_facts') }} AS f ON CAST(f.ordered_at AS DATE) <= d.snapshot_date AND f.status = 'completed'
        GROUP BY d.snapshot_date, f.customer_key
      )
      SELECT snapshot_date, customer_key,
        CASE WHEN last_day > snapshot_date - 90 THEN CASE WHEN orders >= 5 THEN 'Champions' WHEN orders >= 2 THEN 'Loyal' ELSE 'New' END
             WHEN last_day > snapshot_date - 365 THEN 'At risk' ELSE 'Lost' END AS segment
      FROM stats
    columns: { snapshot_date: date, customer_key: string, segment: string }
  - name: marketing_report
    kind: report
    as_of: '${ANCHOR}'
    periods: { every: month, count: 6 }
    orders: { from: order_facts, customer: customer_key, time: ordered_at, revenue: total_amount, where: [{ column: status, equals: completed }] }
    messages:
      email: { from: email_events, customer: email, time: occurred_at, campaign: campaign_id, machine_open: machine_open }
      sms: { from: sms_events, customer: phone, time: occurred_at, campaign: campaign_id }
      push: { from: push_events, customer: account_id, time: occurred_at, campaign: campaign_id }
      mail: { from: mail_events, customer: card_number, time: occurred_at, campaign: campaign_id }
      phone: { from: phone_calls, time: called_at, campaign: campaign_id, answered: [{ column: outcome, equals: answered }], duration: duration_seconds }
    memberships: { from: campaign_assignments, customer: email, audience: campaign, group: group_name, entered_at: entered_at }
    uplift: { window: ${PAST_CAMPAIGN.windowDays} days }
    programs:
      - name: retention
        kpi: { repeat_within: 45 days, good: "25%", bad: "10%" }
      - name: ${PAST_CAMPAIGN.name}
        audiences: [${PAST_CAMPAIGN.name}]
        syncs: [brevo_${PAST_CAMPAIGN.name}]
        kpi: { converted_within: ${PAST_CAMPAIGN.windowDays} days }
    cohorts: { months: 24 }
    segments: { from: segments_by_date, customer: customer_key, at: snapshot_date }
`;

/**
 * Runs in the page: how many charts the script drew, and per canvas its size and how many saturated pixels it holds —
 * drawn data (lines, bars, cells), since axes, grid lines and labels are grey. Plain JavaScript: it runs in Chromium.
 */
const CANVAS_PROBE = `(() => {
  const canvases = [...document.querySelectorAll('canvas')].map((canvas) => {
    const { width, height } = canvas;
    const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    let coloured = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const r = pixels[i], g = pixels[i + 1], b = pixels[i + 2], a = pixels[i + 3];
      if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
    }
    return { id: canvas.id, width, height, coloured };
  });
  return { drawn: window.__tidelineCharts, canvases };
})()`;

interface Truth {
  readonly treated: number;
  readonly holdout: number;
  readonly causedConversions: number;
  readonly causedRevenue: number;
}

describe('report on the example shop', () => {
  const [duckdb] = engines();
  let connection: Connection;
  let data: ReportData;
  let truth: Truth;

  beforeAll(async () => {
    const root = tempProject({ 'tideline.yml': `name: shop\nschema: analytics\ntargets:\n  test: ${JSON.stringify(duckdb!.target)}\n`, 'models/shop.yml': EXAMPLE_REPORT_YAML });
    connection = await duckdb!.open(root);
    await generateShop(connection, { ...DEFAULT_SHOP, customers: 4000, anchor: ANCHOR, campaignWeeks: 8 });
    const project = await loadProject({ projectDir: root });
    const analysis = await analyseProject(project, connection);
    const results = await runModels(project, connection, analysis, project.order, { logger: createLogger({ level: 'silent' }) });
    expect(results.map((r) => [r.model, r.status, r.error])).toEqual(project.order.map((name) => [name, 'success', null]));
    data = await readReport(connection, connection.dialect, 'marketing_report', reportTables({ schema: 'analytics', name: 'marketing_report' }));
    const [row] = await connection.query(sql`SELECT treated, holdout, caused_conversions, caused_revenue FROM raw.campaign_truth`);
    truth = { treated: Number(row!['treated']), holdout: Number(row!['holdout']), causedConversions: Number(row!['caused_conversions']), causedRevenue: Number(row!['caused_revenue']) };
  });
  afterAll(async () => connection?.close());

  it('recovers the planted campaign effect within its 95 % confidence intervals', () => {
    const u = data.uplift.find((x) => x.audience === PAST_CAMPAIGN.name && x.treatedGroup === 'treatment');
    expect(u).toBeDefined();
    // The report measures exactly the generator's groups.
    expect([u!.treated, u!.holdout, u!.pending]).toEqual([truth.treated, truth.holdout, 0]);
    // The effect the campaign caused on the treated: conversions that would not have happened, and extra revenue.
    const conversion = truth.causedConversions / truth.treated;
    const revenue = truth.causedRevenue / truth.treated;
    expect(conversion).toBeGreaterThan(0.05);
    expect(u!.conversionUpliftLow!).toBeLessThanOrEqual(conversion);
    expect(u!.conversionUpliftHigh!).toBeGreaterThanOrEqual(conversion);
    expect(u!.revenueUpliftLow!).toBeLessThanOrEqual(revenue);
    expect(u!.revenueUpliftHigh!).toBeGreaterThanOrEqual(revenue);
    // Large enough groups, and an effect the interval tells apart from zero.
    expect([u!.tooSmall, u!.conversionSignificant]).toEqual([false, true]);
  });

  it('prints every section in the terminal', () => {
    const text = renderTerminal(data);
    for (const heading of ['Channel KPIs', 'Programs', 'Holdout uplift', 'Cohorts by month of first purchase', 'Segments', 'Segment migration']) expect(text).toContain(heading);
    expect(text).toContain(`${PAST_CAMPAIGN.name} / treatment`);
    for (const channel of ['email', 'sms', 'push', 'mail', 'phone']) expect(text).toMatch(new RegExp(`^  ${channel} `, 'm'));
  });

  it('keeps personal data out of the HTML report', async () => {
    const html = renderHtml(data, { chartJs: '/* chart.js */' });
    const keys = await connection.query(sql`SELECT email FROM raw.campaign_assignments ORDER BY email LIMIT 50`);
    for (const { email } of keys) expect(html).not.toContain(String(email));
    expect(html).not.toMatch(/[\w.+-]+@[\w-]+\.[\w.]+/);
    expect(html).not.toMatch(/\+33\d{9}|\bA\d{8}\b|\bL\d{10}\b/);
  });

  describe('the HTML report in headless Chromium', () => {
    const executablePath = '/usr/bin/chromium';
    const available = existsSync(executablePath);
    const required = process.env['TIDELINE_REQUIRE_CHROMIUM'] === '1';
    if (!available && !required) console.warn(`[tideline tests] WARNING: ${executablePath} not found — the HTML report browser test is SKIPPED (TIDELINE_REQUIRE_CHROMIUM=1 makes this a failure)`);

    it.runIf(available || required)('renders every chart without a console error or a network request, and is screenshotted', async () => {
      if (!available) throw new Error(`TIDELINE_REQUIRE_CHROMIUM=1 but ${executablePath} is missing: install Debian's chromium`);
      const dir = mkdtempSync(join(tmpdir(), 'tideline-report-'));
      // Kept in target/ (not committed) with the screenshot, to look at by hand.
      mkdirSync(join(ROOT, 'target/report'), { recursive: true });
      const file = join(ROOT, 'target/report/report.html');
      writeFileSync(file, renderHtml(data, { chartJs: chartJsSource(), generatedAt: new Date(`${ANCHOR}T06:00:00Z`) }));
      const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
        executablePath,
        headless: true,
        viewport: { width: 1280, height: 900 },
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
        });
        page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
        page.on('request', (request) => {
          if (!request.url().startsWith('file:')) problems.push(`request: ${request.url()}`);
        });
        await page.goto(`file://${file}`);
        await page.waitForFunction('typeof window.__tidelineCharts === "number"', undefined, { timeout: 20_000 });
        const charts = (await page.evaluate(CANVAS_PROBE)) as { drawn: number; canvases: { id: string; width: number; height: number; coloured: number }[] };
        expect(problems).toEqual([]);
        // Five channel trends, two uplift charts, two cohort heatmaps, the segments.
        expect(charts.canvases.map((c) => c.id).sort()).toEqual(['cohort-repeat', 'cohort-revenue', 'segments', 'trend-0', 'trend-1', 'trend-2', 'trend-3', 'trend-4', 'uplift-conversion', 'uplift-revenue']);
        expect(charts.drawn).toBe(charts.canvases.length);
        for (const c of charts.canvases) {
          expect(c.width, c.id).toBeGreaterThan(100);
          expect(c.coloured, `${c.id}: no drawn data`).toBeGreaterThan(300);
        }
        const png = join(ROOT, 'target/report/report.png');
        await page.screenshot({ path: png, fullPage: true });
        expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
        if (process.env['TIDELINE_WRITE_DOCS'] === '1') {
          mkdirSync(join(ROOT, 'docs'), { recursive: true });
          await page.screenshot({ path: join(ROOT, 'docs/report.png'), fullPage: true });
        }
      } finally {
        await context.close();
      }
    });
  });
});
