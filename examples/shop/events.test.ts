import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../src/dialects/sql.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { openTarget } from '../../src/warehouses/registry.js';
import { runCli } from '../../test/support/cli.js';
import { engines, uniqueSchema, type Engine } from '../../test/support/engines.js';
import { DEFAULT_SHOP, generateShop } from './generate.js';

/**
 * The event models of models/events.yml, built by `tideline run` on a generated shop, against the same events worked
 * out here in TypeScript from the raw tables (orders, carts) and the customers they belong to (people_map,
 * customer_profile): the same ids, not only as many. On DuckDB, and on PostgreSQL when the test run has one (the
 * models are plain SQL both run as written).
 */
const ANCHOR = '2026-06-30';
const AS_OF = Date.parse(`${ANCHOR}T00:00:00Z`);
const HOUR = 3_600_000;

type Row = Record<string, unknown>;
const time = (v: unknown): number => (v instanceof Date ? v.getTime() : Date.parse(`${String(v).replace(' ', 'T')}Z`));
const ids = (rows: readonly Row[], column: string) => rows.map((r) => String(r[column])).sort();

interface Setup {
  readonly root: string;
  readonly schema: string;
  readonly raw: string;
}

/** A copy of the example (its models and tideline.yml) building into `schema`, reading the raw tables from `raw`. */
function project(engine: Engine): Setup {
  const root = mkdtempSync(join(tmpdir(), 'tideline-shop-events-'));
  cpSync(join(import.meta.dirname, 'models'), join(root, 'models'), { recursive: true });
  // DuckDB: a database file of its own. PostgreSQL: the run's database, shared, so schemas of their own.
  const [schema, raw] = engine.name === 'duckdb' ? ['analytics', 'raw'] : [uniqueSchema('shop'), uniqueSchema('raw')];
  const sources = readFileSync(join(root, 'models', 'sources.yml'), 'utf8').replaceAll('table: raw.', `table: ${raw}.`);
  writeFileSync(join(root, 'models', 'sources.yml'), sources);
  const target = engine.name === 'duckdb' ? { type: 'duckdb', path: '.tideline/warehouse.duckdb' } : engine.target;
  writeFileSync(
    join(root, 'tideline.yml'),
    readFileSync(join(import.meta.dirname, 'tideline.yml'), 'utf8')
      .replace(/targets:[\s\S]*?\ntarget: dev\n/, `targets:\n  dev: ${JSON.stringify(target)}\ntarget: dev\n`)
      .replace('schema: analytics', `schema: ${schema}`),
  );
  return { root, schema, raw };
}

describe.each(engines())('the event models of the example shop ($name)', (engine) => {
  let setup: Setup;
  const env = { SHOP_AS_OF: ANCHOR };

  async function withWarehouse<T>(body: (connection: Connection) => Promise<T>): Promise<T> {
    const connection = await openTarget(engine.name === 'duckdb' ? { type: 'duckdb', path: '.tideline/warehouse.duckdb' } : engine.target, { root: setup.root });
    try {
      return await body(connection);
    } finally {
      await connection.close();
    }
  }
  const table = (connection: Connection, schema: string, name: string) => connection.query(sql`SELECT * FROM ${connection.dialect.table({ schema, name })}`);

  beforeAll(async () => {
    setup = project(engine);
    await withWarehouse((connection) => generateShop(connection, { ...DEFAULT_SHOP, customers: 800, campaignWeeks: 0, anchor: ANCHOR, schema: setup.raw }));
    const run = await runCli(['run', '--select', '+store_purchases', '+first_purchases', '+abandoned_carts', '--log-format', 'json'], { cwd: setup.root, env });
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
  }, 240_000);

  /** Who each source record is, and what the example knows of each customer. */
  async function customers(connection: Connection) {
    const map = new Map((await table(connection, setup.schema, 'people_map')).map((r) => [`${String(r['source'])}:${String(r['source_id'])}`, String(r['customer_id'])]));
    const profiles = new Map((await table(connection, setup.schema, 'customer_profile')).map((r) => [String(r['customer_id']), r]));
    const reachable = (customer: string) => profiles.get(customer)?.['email'] != null || profiles.get(customer)?.['phone'] != null;
    const orders = (await table(connection, setup.raw, 'orders')).map((o) => ({
      order_id: String(o['order_id']),
      channel: String(o['channel']),
      status: String(o['status']),
      amount: Number(o['total_amount']),
      customer: o['channel'] === 'web' ? map.get(`eshop:${String(o['account_id'])}`) : map.get(`tills:${String(o['card_number'])}`),
      at: time(o['ordered_at']),
    }));
    return { map, profiles, reachable, orders };
  }

  it('store_purchases: the completed in-store orders worth something, of customers with an e-mail or a phone', async () => {
    await withWarehouse(async (connection) => {
      const { reachable, orders } = await customers(connection);
      const expected = orders.filter((o) => o.channel === 'store' && o.status === 'completed' && o.amount > 0 && o.customer !== undefined && reachable(o.customer));
      const built = await table(connection, setup.schema, 'store_purchases');
      expect(expected.length).toBeGreaterThan(100);
      expect(ids(built, 'order_id')).toEqual(expected.map((o) => o.order_id).sort());
      // Each with its customer, its amount and a currency.
      const byId = new Map(expected.map((o) => [o.order_id, o]));
      for (const r of built) {
        const o = byId.get(String(r['order_id']))!;
        expect({ customer: r['customer_id'], amount: Number(r['amount']), currency: r['currency'] }).toEqual({ customer: o.customer, amount: o.amount, currency: 'EUR' });
      }
    });
  });

  it("first_purchases: each customer's first completed order, valued at the customer's predicted value", async () => {
    await withWarehouse(async (connection) => {
      const { profiles, reachable, orders } = await customers(connection);
      const first = new Map<string, (typeof orders)[number]>();
      for (const o of orders) {
        if (o.status !== 'completed' || o.customer === undefined) continue;
        const seen = first.get(o.customer);
        if (!seen || o.at < seen.at || (o.at === seen.at && o.order_id < seen.order_id)) first.set(o.customer, o);
      }
      const expected = [...first].filter(([customer]) => Number(profiles.get(customer)?.['predicted_clv'] ?? 0) > 0 && reachable(customer));
      const built = await table(connection, setup.schema, 'first_purchases');
      expect(expected.length).toBeGreaterThan(100);
      expect(ids(built, 'order_id')).toEqual(expected.map(([, o]) => o.order_id).sort());
      for (const r of built) expect(Number(r['predicted_value'])).toBeCloseTo(Number(profiles.get(String(r['customer_id']))!['predicted_clv']), 6);
      // One event per customer.
      expect(new Set(ids(built, 'customer_id')).size).toBe(built.length);
    });
  });

  it('abandoned_carts: carts whose customer ordered nothing within 24 hours, once those 24 hours are over by the as-of date', async () => {
    await withWarehouse(async (connection) => {
      const { map, orders } = await customers(connection);
      const carts = await table(connection, setup.raw, 'carts');
      const completed = orders.filter((o) => o.status === 'completed');
      const abandoned = carts.filter((c) => {
        const customer = map.get(`eshop:${String(c['account_id'])}`);
        const at = time(c['created_at']);
        if (customer === undefined || at + 24 * HOUR > AS_OF) return false;
        return !completed.some((o) => o.customer === customer && o.at >= at && o.at <= at + 24 * HOUR);
      });
      const built = await table(connection, setup.schema, 'abandoned_carts');
      // Both kinds are there: carts the customer bought within a day, and carts left.
      expect(abandoned.length).toBeGreaterThan(10);
      expect(abandoned.length).toBeLessThan(carts.length);
      expect(ids(built, 'cart_id')).toEqual(ids(abandoned, 'cart_id'));
      for (const r of built) expect(time(r['abandoned_at']) - time(r['created_at'])).toBe(24 * HOUR);
    });
  });
});
