import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bgnbdCustomerLogLikelihood, conditionalExpectedPurchases, probabilityAlive } from '../../models/ltv/bgnbd.js';
import { expectedAverageValue } from '../../models/ltv/gamma-gamma.js';
import { runModels } from '../../src/pipeline/runner.js';
import { sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { analyseProject } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import type { Connection, Row } from '../../src/warehouses/connection.js';
import { tempProject } from '../support/cli.js';
import { datasetPath, warnDatasetsMissing } from '../support/datasets.js';
import { engines, uniqueSchema, type Engine } from '../support/engines.js';

const CDNOW = datasetPath('cdnow', 'CDNOW_sample.txt');
const RETAIL = datasetPath('retail', 'online_retail_30k.csv');
if (!CDNOW) warnDatasetsMissing('LTV fit on CDNOW in the warehouse');
if (!RETAIL) warnDatasetsMissing('customer metrics and RFM on online_retail_30k.csv');

const silent = createLogger({ level: 'silent' });

/** A project in a temporary folder targeting `engine`, its raw data in `raw`, its models built into `out`. */
async function projectFor(engine: Engine, raw: string, out: string, sources: string, models: string) {
  const root = tempProject({
    'tideline.yml': `name: metrics_datasets\nschema: ${out}\ntargets:\n  t: ${JSON.stringify(engine.target)}\n`,
    'models/sources.yml': sources.replaceAll('RAW.', `${raw}.`),
    'models/models.yml': models,
  });
  return loadProject({ projectDir: root, env: {} });
}

for (const engine of engines()) {
  describe.skipIf(!CDNOW)(`LTV on CDNOW_sample in ${engine.name}: the published fit, computed from grouped rows`, () => {
    let connection: Connection;
    const d = engine.dialect;
    const [raw, out] = [uniqueSchema('cdnow_raw'), uniqueSchema('cdnow')];
    let rows: Row[];
    let params: Record<string, number>;

    beforeAll(async () => {
      connection = await engine.open();
      await connection.execute(d.createSchema(raw));
      const table = { schema: raw, name: 'transactions' };
      await connection.execute(sql`CREATE TABLE ${d.table(table)} (${d.id('customer_id')} ${d.type('string')}, ${d.id('order_id')} ${d.type('string')}, ${d.id('order_date')} ${d.type('date')}, ${d.id('amount')} ${d.type('decimal')})`);
      const lines = readFileSync(CDNOW!, 'utf8').split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 5);
      const values = lines.map(([id, , date, , value], i) => [id!, `t${i}`, `${date!.slice(0, 4)}-${date!.slice(4, 6)}-${date!.slice(6, 8)}`, Number(value)]);
      await connection.insertRows(table, [{ name: 'customer_id', type: 'string' }, { name: 'order_id', type: 'string' }, { name: 'order_date', type: 'date' }, { name: 'amount', type: 'decimal' }], [values]);
      const project = await projectFor(
        engine,
        raw,
        out,
        'sources:\n  - name: cdnow\n    table: RAW.transactions\n',
        `models:
  - name: cdnow_ltv
    kind: ltv
    orders: { from: cdnow, customer_id: customer_id, order_id: order_id, ordered_at: order_date, amount: amount }
    as_of: '1998-06-30'
    predictive:
      time_unit: week
      calibration_end: '1997-09-30'
      horizon_months: 12
      discount_rate_monthly: 0.01
`,
      );
      const results = await runModels(project, connection, await analyseProject(project, connection), project.order, { logger: silent });
      expect(results[0]!.error).toBeNull();
      expect(results[0]!.summary?.lines.join('\n')).toMatch(/BG\/NBD r=0\.24\d+, alpha=4\.41\d+, a=0\.79\d+, b=2\.42\d+; log-likelihood -9582; converged/);
      rows = await connection.query(sql`SELECT * FROM ${d.table({ schema: out, name: 'cdnow_ltv' })} ORDER BY ${d.id('customer_id')}`);
      const stored = await connection.query(sql`SELECT * FROM ${d.table({ schema: out, name: 'cdnow_ltv_params' })}`);
      params = Object.fromEntries(stored.map((r) => [String(r['parameter']), r['value'] as number]));
      expect(stored.every((r) => r['converged'] === true)).toBe(true);
      expect(stored.find((r) => r['submodel'] === 'bgnbd')!['log_likelihood']).toBeCloseTo(-9582.4, 1);
      expect(stored.find((r) => r['submodel'] === 'bgnbd')!['customers']).toBe(2357);
      expect(stored.find((r) => r['submodel'] === 'gamma_gamma')!['customers']).toBe(946);
    });
    afterAll(async () => {
      for (const schema of [raw, out]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(schema)} CASCADE`);
      await connection.close();
    });

    it('stores the published parameters (BG/NBD to 3 decimals of r and a, 2 of α and b; Gamma-Gamma to 2, v to 1)', () => {
      expect(params['r']).toBeCloseTo(0.243, 3);
      expect(params['alpha']).toBeCloseTo(4.414, 2);
      expect(params['a']).toBeCloseTo(0.793, 3);
      expect(params['b']).toBeCloseTo(2.426, 2);
      expect(params['p']).toBeCloseTo(6.25, 2);
      expect(params['q']).toBeCloseTo(3.74, 2);
      expect(params['v']).toBeCloseTo(15.44, 1);
    });

    it('scores every customer through the lookup of distinct triples, as the closed forms give them', () => {
      expect(rows.length).toBe(2357);
      const bg = { r: params['r']!, alpha: params['alpha']!, a: params['a']!, b: params['b']! };
      const gg = { p: params['p']!, q: params['q']!, v: params['v']! };
      let ll = 0;
      for (const row of rows) {
        const [x, tx, T] = [row['frequency'] as number, row['recency'] as number, row['age'] as number];
        ll += bgnbdCustomerLogLikelihood(bg, x, tx, T);
        expect(row['p_alive']).toBeCloseTo(probabilityAlive(bg, x, tx, T), 12);
        expect(row['expected_purchases']).toBeCloseTo(conditionalExpectedPurchases(bg, 12 * (365.25 / 12 / 7), x, tx, T), 10);
        expect(row['expected_value']).toBeCloseTo(expectedAverageValue(gg, x, x > 0 ? (row['mean_value'] as number) : 0), 8);
        expect(row['clv'] as number).toBeGreaterThan(0);
        expect(row['clv'] as number).toBeLessThan((row['expected_purchases'] as number) * (row['expected_value'] as number) + 1e-9);
      }
      expect(ll).toBeCloseTo(-9582.4, 1);
    });
  });

  describe.skipIf(!RETAIL)(`customers and RFM on online_retail_30k.csv in ${engine.name}`, () => {
    let connection: Connection;
    const d = engine.dialect;
    const [raw, out] = [uniqueSchema('retail_raw'), uniqueSchema('retail')];
    interface Line { invoice: string; quantity: number; date: string; price: number; customer: string | null }
    let lines: Line[];
    let customers: Row[];
    let rfm: Row[];

    beforeAll(async () => {
      connection = await engine.open();
      await connection.execute(d.createSchema(raw));
      const records = parse(readFileSync(RETAIL!, 'utf8'), { columns: true }) as Record<string, string>[];
      lines = records.map((r) => ({
        invoice: r['InvoiceNo']!,
        quantity: Number(r['Quantity']),
        date: r['InvoiceDate']!,
        price: Number(r['UnitPrice']),
        customer: r['CustomerID'] ? String(Math.round(Number(r['CustomerID']))) : null,
      }));
      const table = { schema: raw, name: 'invoice_lines' };
      const columns = [
        { name: 'InvoiceNo', type: 'string' as const },
        { name: 'Quantity', type: 'integer' as const },
        { name: 'InvoiceDate', type: 'timestamp' as const },
        { name: 'UnitPrice', type: 'float' as const },
        { name: 'CustomerID', type: 'string' as const },
      ];
      await connection.execute(sql`CREATE TABLE ${d.table(table)} (${sql`${d.id('InvoiceNo')} ${d.type('string')}, ${d.id('Quantity')} ${d.type('integer')}, ${d.id('InvoiceDate')} ${d.type('timestamp')}, ${d.id('UnitPrice')} ${d.type('float')}, ${d.id('CustomerID')} ${d.type('string')}`})`);
      await connection.insertRows(table, columns, [lines.map((l) => [l.invoice, l.quantity, new Date(`${l.date.replace(' ', 'T')}Z`), l.price, l.customer])]);
      const project = await projectFor(
        engine,
        raw,
        out,
        'sources:\n  - name: retail\n    table: RAW.invoice_lines\n',
        `models:
  - name: retail_lines
    kind: staging
    from: retail
    columns:
      invoice: InvoiceNo
      customer_id: CustomerID
      invoiced_at: InvoiceDate
      quantity: Quantity
      line_value: { sql: '"Quantity" * "UnitPrice"', type: float }
  - name: retail_customers
    kind: customers
    orders:
      from: retail_lines
      customer_id: customer_id
      order_id: invoice
      ordered_at: invoiced_at
      amount: line_value
      grain: line
      exclude:
        - { column: invoice, starts_with: C }
        - { column: quantity, lte: 0 }
    as_of: '2011-12-10'
    lifecycle:
      new: { first_order_within_days: 30 }
      active: { last_order_within_days: 90 }
      at_risk: { last_order_within_days: 180 }
      inactive: { last_order_after_days: 180 }
  - name: retail_rfm
    kind: rfm
    orders:
      from: retail_lines
      customer_id: customer_id
      order_id: invoice
      ordered_at: invoiced_at
      amount: line_value
      grain: line
      exclude:
        - { column: invoice, starts_with: C }
        - { column: quantity, lte: 0 }
    as_of: '2011-12-10'
    period: { months: 12 }
`,
      );
      const results = await runModels(project, connection, await analyseProject(project, connection), project.order, { logger: silent });
      expect(results.map((r) => [r.model, r.status, r.error])).toEqual([
        ['retail_lines', 'success', null],
        ['retail_customers', 'success', null],
        ['retail_rfm', 'success', null],
      ]);
      const read = (name: string) => connection.query(sql`SELECT * FROM ${d.table({ schema: out, name })} ORDER BY ${d.id('customer_id')}`);
      customers = await read('retail_customers');
      rfm = await read('retail_rfm');
    });
    afterAll(async () => {
      for (const schema of [raw, out]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(schema)} CASCADE`);
      await connection.close();
    });

    /** The same metrics computed here from the CSV, line by line: the expectation the warehouse must meet. */
    function expected() {
      const kept = lines.filter((l) => l.customer !== null && !l.invoice.startsWith('C') && l.quantity > 0 && l.date.slice(0, 10) <= '2011-12-10');
      const by = new Map<string, { orders: Set<string>; cents: number; first: string; last: string; periodOrders: Set<string>; periodCents: number; periodLast: string }>();
      for (const l of kept) {
        const day = l.date.slice(0, 10);
        const c = by.get(l.customer!) ?? { orders: new Set(), cents: 0, first: day, last: day, periodOrders: new Set(), periodCents: 0, periodLast: '' };
        const cents = Math.round(l.quantity * l.price * 100);
        c.orders.add(l.invoice);
        c.cents += cents;
        if (day < c.first) c.first = day;
        if (day > c.last) c.last = day;
        if (day > '2010-12-10') {
          c.periodOrders.add(l.invoice);
          c.periodCents += cents;
          if (day > c.periodLast) c.periodLast = day;
        }
        by.set(l.customer!, c);
      }
      return by;
    }
    const days = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000);

    it('customer metrics: one row per customer with a kept line, counts, revenue and dates as computed from the CSV', () => {
      const want = expected();
      expect(customers.length).toBe(want.size);
      for (const row of customers) {
        const c = want.get(row['customer_id'] as string)!;
        expect(row['order_count']).toBe(c.orders.size);
        expect(Math.round((row['revenue'] as number) * 100)).toBe(c.cents);
        expect(row['first_order_date']).toBe(c.first);
        expect(row['last_order_date']).toBe(c.last);
        expect(row['days_since_last_order']).toBe(days(c.last, '2011-12-10'));
        const since = row['days_since_last_order'] as number;
        const stage = days(c.first, '2011-12-10') <= 30 ? 'new' : since <= 90 ? 'active' : since <= 180 ? 'at_risk' : 'inactive';
        expect(row['lifecycle_stage']).toBe(stage);
      }
    });

    it('RFM: quintiles equal to NTILE(5) over (value, md5 tie-break, id) computed here, and a segment for everyone', () => {
      const want = expected();
      const tie = (id: string) => parseInt(createHash('md5').update(id).digest('hex').slice(0, 8), 16);
      const rated = [...want.entries()].filter(([, c]) => c.periodOrders.size > 0).map(([id, c]) => ({ id, recency: days(c.periodLast, '2011-12-10'), frequency: c.periodOrders.size, cents: c.periodCents, tie: tie(id) }));
      expect(rfm.length).toBe(rated.length);
      const ntile = (key: (x: (typeof rated)[number]) => number) => {
        const sorted = [...rated].sort((p, q) => key(p) - key(q) || p.tie - q.tie || (p.id < q.id ? -1 : 1));
        const scores = new Map<string, number>();
        const base = Math.floor(sorted.length / 5);
        const extra = sorted.length % 5;
        let i = 0;
        for (let bucket = 1; bucket <= 5; bucket++) for (let k = 0; k < base + (bucket <= extra ? 1 : 0); k++) scores.set(sorted[i++]!.id, bucket);
        return scores;
      };
      const r = ntile((x) => -x.recency);
      const f = ntile((x) => x.frequency);
      const m = ntile((x) => x.cents);
      for (const row of rfm) {
        const id = row['customer_id'] as string;
        expect([row['r_score'], row['f_score'], row['m_score']], id).toEqual([r.get(id), f.get(id), m.get(id)]);
        expect(row['segment']).toEqual(expect.any(String));
      }
    });
  });
}
