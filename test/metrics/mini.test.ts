import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModels } from '../../src/pipeline/runner.js';
import { sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { analyseProject } from '../../src/project/analyse.js';
import { loadProject, type Project } from '../../src/project/loader.js';
import type { Connection, Row } from '../../src/warehouses/connection.js';
import { seedStatements } from '../fixtures/metrics-mini/seed.js';
import { engines, pgUrl } from '../support/engines.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/metrics-mini');

/** md5 prefix as an unsigned number: the quintile tie-breaker, computed here independently of any warehouse. */
const tie = (id: string) => parseInt(createHash('md5').update(id).digest('hex').slice(0, 8), 16);

/**
 * Worked out by hand from seed.ts, as of 2024-12-31. c1: o4 is cancelled, o10 is after the as-of date, and o3's
 * garden line is a return; its SMS opt-in and opt-out share an instant, so the opt-out wins.
 */
const CUSTOMERS: Row[] = [
  {
    customer_id: 'c1', first_order_date: '2024-06-15', last_order_date: '2024-12-20', order_count: 3, revenue: 230, margin: 90, average_basket: 230 / 3,
    days_since_last_order: 11, average_days_between_orders: 94, favourite_channel: 'web', favourite_store: 'S1', favourite_category: 'toys', item_count: 7,
    consent_email: true, consent_sms: false, consent_ads: null, lifecycle_stage: 'active', largest_order: 100, distinct_categories: 2,
    rfm_recency_days: 11, rfm_frequency: 3, rfm_monetary: 230, r_score: 5, f_score: 3, m_score: 4, rfm_cell: 534, rfm_segment: 'Très récents',
  },
  {
    customer_id: 'c2', first_order_date: '2024-12-15', last_order_date: '2024-12-15', order_count: 1, revenue: 30, margin: 20, average_basket: 30,
    days_since_last_order: 16, average_days_between_orders: null, favourite_channel: 'store', favourite_store: 'S2', favourite_category: 'garden', item_count: 1,
    // A 'bounced' e-mail event is neither opt-in nor opt-out: ignored.
    consent_email: null, consent_sms: null, consent_ads: true, lifecycle_stage: 'new', largest_order: 30, distinct_categories: 1,
    rfm_recency_days: 16, rfm_frequency: 1, rfm_monetary: 30, r_score: 5, f_score: 1, m_score: 1, rfm_cell: 511, rfm_segment: 'Très récents',
  },
  {
    // Favourite channel: web and app tie on orders and amount → text order; category: toys and books tie → books.
    customer_id: 'c3', first_order_date: '2024-07-01', last_order_date: '2024-08-01', order_count: 2, revenue: 40, margin: 30, average_basket: 20,
    days_since_last_order: 152, average_days_between_orders: 31, favourite_channel: 'app', favourite_store: 'S1', favourite_category: 'books', item_count: 2,
    consent_email: null, consent_sms: null, consent_ads: null, lifecycle_stage: 'at_risk', largest_order: 20, distinct_categories: 2,
    rfm_recency_days: 152, rfm_frequency: 2, rfm_monetary: 40, r_score: 3, f_score: 2, m_score: 1, rfm_cell: 321, rfm_segment: 'Récents',
  },
  {
    // No order in the 12-month RFM period: not scored.
    customer_id: 'c4', first_order_date: '2023-06-01', last_order_date: '2023-06-01', order_count: 1, revenue: 200, margin: 100, average_basket: 200,
    days_since_last_order: 579, average_days_between_orders: null, favourite_channel: 'web', favourite_store: 'S3', favourite_category: 'books', item_count: 4,
    consent_email: null, consent_sms: null, consent_ads: null, lifecycle_stage: 'inactive', largest_order: 200, distinct_categories: 1,
    rfm_recency_days: null, rfm_frequency: null, rfm_monetary: null, r_score: null, f_score: null, m_score: null, rfm_cell: null, rfm_segment: null,
  },
  ...['c5', 'c6'].map((id) => ({
    customer_id: id, first_order_date: null, last_order_date: null, order_count: 0, revenue: 0, margin: 0, average_basket: null,
    days_since_last_order: null, average_days_between_orders: null, favourite_channel: null, favourite_store: null, favourite_category: null, item_count: 0,
    consent_email: id === 'c6' ? true : null, consent_sms: null, consent_ads: null, lifecycle_stage: 'prospect', largest_order: null, distinct_categories: null,
    rfm_recency_days: null, rfm_frequency: null, rfm_monetary: null, r_score: null, f_score: null, m_score: null, rfm_cell: null, rfm_segment: null,
  })),
];

/** Quintiles over 4 customers (NTILE(5) gives 1..4); c2 and c4 tie on frequency, broken by the hash of their ids. */
function expectedRfm(): Row[] {
  const [low, high] = tie('c2') < tie('c4') ? ['c2', 'c4'] : ['c4', 'c2'];
  const f: Record<string, number> = { [low]: 1, [high]: 2, c3: 3, c1: 4 };
  const segments: Record<string, string> = { '44': 'Loyal Customers', '31': 'About to Sleep', '32': 'About to Sleep', '23': 'At Risk', '11': 'Lost', '12': 'Lost' };
  const segment = (r: number, fs: number) => segments[`${r}${fs}`];
  const rows: [string, number, number, number, number, number][] = [
    ['c1', 11, 3, 230, 4, 4],
    ['c2', 16, 1, 30, 3, 1],
    ['c3', 152, 2, 40, 2, 2],
    ['c4', 579, 1, 200, 1, 3],
  ];
  return rows.map(([id, recency, frequency, monetary, r, m]) => ({
    customer_id: id, recency_days: recency, frequency, monetary, r_score: r, f_score: f[id]!, m_score: m, rfm_cell: r * 100 + f[id]! * 10 + m, segment: segment(r, f[id]!)!,
  }));
}

const LTV: Row[] = [
  { customer_id: 'c1', first_order_date: '2024-06-15', last_order_date: '2024-12-20', order_count: 3, value_to_date: 90, periods: 7, value_per_period: 90 / 7, average_order_value: 30 },
  { customer_id: 'c2', first_order_date: '2024-12-15', last_order_date: '2024-12-15', order_count: 1, value_to_date: 20, periods: 1, value_per_period: 20, average_order_value: 20 },
  { customer_id: 'c3', first_order_date: '2024-07-01', last_order_date: '2024-08-01', order_count: 2, value_to_date: 30, periods: 6, value_per_period: 5, average_order_value: 15 },
  { customer_id: 'c4', first_order_date: '2023-06-01', last_order_date: '2023-06-01', order_count: 1, value_to_date: 100, periods: 19, value_per_period: 100 / 19, average_order_value: 100 },
];

for (const engine of engines()) {
  describe(`customer metrics, RFM and historical LTV on ${engine.name}`, () => {
    let connection: Connection;
    let project: Project;
    const d = engine.dialect;
    const read = (model: string) => connection.query(sql`SELECT * FROM ${d.table({ schema: 'metrics', name: model })} ORDER BY ${d.id('customer_id')}`);

    beforeAll(async () => {
      connection = await engine.open(FIXTURE);
      for (const statement of seedStatements(d)) await connection.execute(statement);
      project = await loadProject({ projectDir: FIXTURE, target: engine.name, env: { TIDELINE_TEST_PG_URL: pgUrl() ?? undefined } });
    });
    afterAll(async () => {
      for (const schema of ['metrics_raw', 'metrics']) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(schema)} CASCADE`);
      await connection.close();
    });

    it('builds every model and summarises lifecycle stages and segments', async () => {
      const analysis = await analyseProject(project, connection);
      const results = await runModels(project, connection, analysis, project.order, { logger: createLogger({ level: 'silent' }) });
      expect(results.map((r) => [r.model, r.status, r.rows, r.error])).toEqual([
        ['metrics_customers', 'success', 6, null],
        ['metrics_rfm', 'success', 4, null],
        ['metrics_ltv', 'success', 4, null],
        ['metrics_ltv_predictive', 'success', 4, null],
      ]);
      expect(results[0]!.summary?.data).toEqual({ lifecycle: { prospect: 2, active: 1, at_risk: 1, inactive: 1, new: 1 } });
      expect(Object.values(results[1]!.summary?.data['segments'] as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(4);
    });

    it('customers: every column as worked out by hand', async () => {
      const rows = await read('metrics_customers');
      expect(rows.map((r) => Object.keys(r))[0]).toEqual(Object.keys(CUSTOMERS[0]!));
      for (const [i, expected] of CUSTOMERS.entries()) {
        for (const [column, value] of Object.entries(expected)) {
          if (typeof value === 'number') expect(rows[i]![column], `${expected['customer_id']}.${column}`).toBeCloseTo(value, 9);
          else expect(rows[i]![column], `${expected['customer_id']}.${column}`).toEqual(value);
        }
      }
    });

    it('rfm: quintiles with ties broken by the portable hash, default segment map', async () => {
      expect(await read('metrics_rfm')).toEqual(expectedRfm());
    });

    it('predictive ltv: parameters kept beside the model, printed, and P(alive) = 1 without repeat purchase', async () => {
      const params = await connection.query(sql`SELECT * FROM ${d.table({ schema: 'metrics', name: 'metrics_ltv_predictive_params' })} ORDER BY ${d.id('submodel')}, ${d.id('parameter')}`);
      expect(params.map((p) => `${p['submodel']}.${p['parameter']}`)).toEqual(['bgnbd.a', 'bgnbd.alpha', 'bgnbd.b', 'bgnbd.r', 'gamma_gamma.p', 'gamma_gamma.q', 'gamma_gamma.v']);
      expect(params.every((p) => p['calibration_end'] === '2024-12-31' && p['time_unit'] === 'week')).toBe(true);
      const rows = await read('metrics_ltv_predictive');
      expect(rows.map((r) => [r['customer_id'], r['frequency']])).toEqual([['c1', 2], ['c2', 0], ['c3', 1], ['c4', 0]]);
      for (const row of rows) {
        if (row['frequency'] === 0) expect(row['p_alive']).toBe(1);
        expect(row['p_alive'] as number).toBeGreaterThan(0);
        expect(row['p_alive'] as number).toBeLessThanOrEqual(1);
        expect(row['clv'] as number).toBeGreaterThanOrEqual(0);
      }
      // c1's repeat days are 2024-11-01 (50) and 2024-12-20 (100); recency 188 days, age 199 days, in weeks.
      expect(rows[0]!['mean_value']).toBe(75);
      expect(rows[0]!['recency']).toBeCloseTo(188 / 7, 12);
      expect(rows[0]!['age']).toBeCloseTo(199 / 7, 12);
    });

    it('ltv: margin to date and per month', async () => {
      const rows = await read('metrics_ltv');
      expect(rows.map((r) => ({ ...r, value_per_period: Number((r['value_per_period'] as number).toFixed(10)) }))).toEqual(
        LTV.map((r) => ({ ...r, value_per_period: Number((r['value_per_period'] as number).toFixed(10)) })),
      );
    });
  });
}
