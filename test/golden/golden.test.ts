import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelScript } from '../../src/pipeline/script.js';
import { runModels } from '../../src/pipeline/runner.js';
import { sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { analyseProject, analyseWithSources } from '../../src/project/analyse.js';
import { loadProject, type Project } from '../../src/project/loader.js';
import type { Connection, Row } from '../../src/warehouses/connection.js';
import { seedSourceColumns, seedStatements } from '../fixtures/shop-mini/seed.js';
import { engines, pgUrl } from '../support/engines.js';
import { changedLines, expectGolden, GOLDEN_DIALECTS } from '../support/golden.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/shop-mini');
const GOLDEN = import.meta.dirname;
const golden = (model: string, dialect: string) => join(GOLDEN, model, `${dialect}.sql`);

/** Golden SQL for every model of the fixture, for the dialects no test executes (see GOLDEN_DIALECTS). */
for (const dialect of GOLDEN_DIALECTS) {
  describe(`golden SQL: ${dialect}`, async () => {
    const project = await loadProject({ projectDir: FIXTURE, target: dialect, env: {} });
    const analysis = analyseWithSources(project, seedSourceColumns(), true);
    for (const model of project.order) {
      it(model, () => {
        expectGolden(golden(model, dialect), modelScript(project, analysis, project.models.get(model)!).script);
      });
    }
  });
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const at = (iso: string) => new Date(iso);

/** What the models must contain, worked out by hand from the seed rows. */
const EXPECTED: Record<string, { orderBy: string; rows: Row[] }> = {
  customers_clean: {
    orderBy: 'customer_id',
    rows: [
      // Row 1 is an older duplicate of row 2's e-mail; 6 (test), 7 (deleted) and 8 (before 2023) are filtered out.
      { customer_id: '2', email: 'alice@example.com', phone_digits: '33612345678', first_name: 'alice marie', country: 'FR', email_sha256: sha256('alice@example.com'), created_at: at('2024-03-01T09:30:00Z') },
      { customer_id: '3', email: 'bob@example.org', phone_digits: '02079460958', first_name: 'bob', country: 'GB', email_sha256: sha256('bob@example.org'), created_at: at('2023-06-11T14:12:00Z') },
      // Rows without an e-mail are nobody's duplicate: both kept.
      { customer_id: '4', email: null, phone_digits: '0611223344', first_name: 'chloé', country: 'FR', email_sha256: sha256(''), created_at: at('2024-02-20T08:00:00Z') },
      { customer_id: '5', email: null, phone_digits: null, first_name: 'dan', country: 'US', email_sha256: null, created_at: at('2024-04-02T18:45:00Z') },
    ],
  },
  orders_clean: {
    orderBy: 'order_id',
    rows: [
      // o1 ('WEB': conditions test raw values), o3 (STAFF coupon), o4 (cancelled), o5 (amount 0), o6 (quantity 150),
      // o7 (phone), o8 (2025), o9 (2023) and the order without id are filtered out.
      { order_id: 'o11', customer_id: '4', ordered_at: at('2024-09-09T09:09:00Z'), order_date: '2024-09-09', amount: 7.5, quantity: 2, channel: 'app', line_value: 15 },
      { order_id: 'o12', customer_id: '3', ordered_at: at('2024-10-10T10:10:00Z'), order_date: '2024-10-10', amount: 25, quantity: 2, channel: 'web', line_value: 50 },
      { order_id: 'o2', customer_id: '2', ordered_at: at('2024-02-11T11:00:00Z'), order_date: '2024-02-11', amount: 12, quantity: 1, channel: 'store', line_value: 12 },
    ],
  },
  home_customer_orders: {
    orderBy: 'customer_id',
    // FR customers of customers_clean are 2 and 4; bob (3) is in GB.
    rows: [
      { customer_id: '2', email: 'alice@example.com', orders: 1, revenue: 12 },
      { customer_id: '4', email: null, orders: 1, revenue: 7.5 },
    ],
  },
  web_orders: {
    orderBy: 'order_id',
    rows: [{ order_id: 'o12', customer_id: '3', ordered_at: at('2024-10-10T10:10:00Z'), order_date: '2024-10-10', amount: 25, quantity: 2, channel: 'web', line_value: 50 }],
  },
};

/** The same models compiled for the engines, executed for real. */
for (const engine of engines()) {
  describe(`golden SQL executed on ${engine.name}`, () => {
    let connection: Connection;
    let project: Project;
    const d = engine.dialect;

    beforeAll(async () => {
      connection = await engine.open(FIXTURE);
      for (const statement of seedStatements(d)) await connection.execute(statement);
      project = await loadProject({ projectDir: FIXTURE, target: engine.name, env: { TIDELINE_TEST_PG_URL: pgUrl() ?? undefined } });
    });
    afterAll(async () => {
      for (const schema of ['raw', 'analytics']) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(schema)} CASCADE`);
      await connection.close();
    });

    it('compiles, from the introspected sources, exactly the statements the declared columns give', async () => {
      const introspected = await analyseProject(project, connection);
      const declared = analyseWithSources(project, seedSourceColumns(), true);
      for (const model of project.order) {
        const script = (analysis: typeof declared) => modelScript(project, analysis, project.models.get(model)!).script;
        expect(script(introspected), model).toBe(script(declared));
      }
    });

    it('says how the build is swapped in: inside one transaction', () => {
      const header = modelScript(project, analyseWithSources(project, seedSourceColumns(), true), project.models.get('web_orders')!).script.split('\n')[1];
      expect(header).toBe(
        {
          duckdb: '-- Built inside one transaction, into "analytics"."web_orders__tl_build", then swapped in before it commits.',
          postgres: '-- Built inside one transaction, into "analytics__tl_work"."web_orders__tl_build", then swapped in before it commits.',
        }[engine.name],
      );
    });

    it('builds every model with the rows worked out by hand', async () => {
      const analysis = await analyseProject(project, connection);
      const results = await runModels(project, connection, analysis, project.order, { logger: createLogger({ level: 'silent' }) });
      expect(results.map((r) => [r.model, r.status, r.rows])).toEqual([
        ['customers_clean', 'success', 4],
        ['orders_clean', 'success', 3],
        ['web_orders', 'success', 1],
        ['home_customer_orders', 'success', 2],
      ]);
      for (const [model, expected] of Object.entries(EXPECTED)) {
        const rows = await connection.query(sql`SELECT * FROM ${d.table({ schema: 'analytics', name: model })} ORDER BY ${d.id(expected.orderBy)}`);
        expect(rows, model).toEqual(expected.rows);
      }
    });
  });
}

describe('changedLines: a variant as hunks against its base', () => {
  const base = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].join('\n');
  it('keeps the common head and tail out, with two lines of context', () => {
    expect(changedLines(base, base.replace('d', 'x\ny'))).toBe(['--- base', '+++ variant', '@@ -2,5 +2,6 @@', ' b', ' c', '-d', '+x', '+y', ' e', ' f', ''].join('\n'));
  });
  it('gives nothing for equal texts, and handles a change at the very start', () => {
    expect(changedLines(base, base)).toBe('');
    expect(changedLines(base, `z\n${base}`)).toBe(['--- base', '+++ variant', '@@ -1,2 +1,3 @@', '+z', ' a', ' b', ''].join('\n'));
  });
  it('keeps changes far apart in hunks of their own, and close ones in one', () => {
    const long = Array.from({ length: 12 }, (_, i) => `l${i + 1}`).join('\n');
    const far = long.replace('l2\n', 'l2\nnew\n').replace('l10', 'L10');
    expect(changedLines(long, far)).toBe(
      ['--- base', '+++ variant', '@@ -1,4 +1,5 @@', ' l1', ' l2', '+new', ' l3', ' l4', '@@ -8,5 +9,5 @@', ' l8', ' l9', '-l10', '+L10', ' l11', ' l12', ''].join('\n'),
    );
    const near = long.replace('l3\n', '').replace('l7', 'L7');
    expect(changedLines(long, near)).toBe(['--- base', '+++ variant', '@@ -1,9 +1,8 @@', ' l1', ' l2', '-l3', ' l4', ' l5', ' l6', '-l7', '+L7', ' l8', ' l9', ''].join('\n'));
  });
});
