import { afterAll, describe, expect, it } from 'vitest';
import { runModels } from '../../src/pipeline/runner.js';
import { sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { analyseProject } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { tempProject } from '../../test/support/cli.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';

/**
 * Holdouts and splits come from a hash of (customer, audience, salt): the same customers land in the same group on
 * every run and on every warehouse, and the shares match the targets.
 */
const CUSTOMERS = 100_000;
const YAML = (raw: string) => `sources:
  - { name: people, table: ${raw}.people }
models:
  - name: groups
    kind: audiences
    customers: people
    consent: { email: null }
    audiences:
      - name: newsletter
        channel: email
        holdout: 10%
        splits: { subject_a: 30%, subject_b: 70% }
        where: { field: customer_id, is_null: false }
`;

async function build(connection: Connection, engine: ReturnType<typeof engines>[number]): Promise<Map<string, string>> {
  const d = connection.dialect;
  const raw = uniqueSchema('hold_raw');
  const models = uniqueSchema('hold');
  await connection.execute(d.createSchema(raw));
  const series = engine.name === 'duckdb' ? sql`range(1, ${d.literal(CUSTOMERS + 1)}) AS g(i)` : sql`generate_series(1, ${d.literal(CUSTOMERS)}) AS g(i)`;
  await connection.execute(sql`CREATE TABLE ${d.table({ schema: raw, name: 'people' })} AS SELECT 'cust-' || CAST(i AS ${d.type('string')}) AS customer_id FROM ${series}`);
  const root = tempProject({ 'tideline.yml': `name: shop\nschema: ${models}\ntargets:\n  test: ${JSON.stringify(engine.target)}\n`, 'models/a.yml': YAML(raw) });
  const project = await loadProject({ projectDir: root });
  const runs: Map<string, string>[] = [];
  for (let run = 0; run < 2; run++) {
    const results = await runModels(project, connection, await analyseProject(project, connection), project.order, { logger: createLogger({ level: 'silent' }) });
    expect(results[0]!.status).toBe('success');
    const rows = await connection.query(sql`SELECT customer_id, audience_group FROM ${d.table({ schema: models, name: 'groups' })}`);
    runs.push(new Map(rows.map((r) => [String(r['customer_id']), String(r['audience_group'])])));
  }
  expect(runs[1]).toEqual(runs[0]);
  for (const schema of [raw, models]) await connection.execute(sql`DROP SCHEMA ${d.id(schema)} CASCADE`);
  return runs[0]!;
}

describe('holdouts and splits', () => {
  const assignments = new Map<string, Map<string, string>>();
  const open: Connection[] = [];
  afterAll(async () => {
    for (const c of open) await c.close();
  });

  for (const engine of engines()) {
    it(`on ${engine.name}: the same groups on two runs, with shares within one point of the targets`, async () => {
      const connection = await engine.open();
      open.push(connection);
      const groups = await build(connection, engine);
      assignments.set(engine.name, groups);
      expect(groups.size).toBe(CUSTOMERS);
      const share = (g: string) => (100 * [...groups.values()].filter((x) => x === g).length) / CUSTOMERS;
      expect(Math.abs(share('holdout') - 10)).toBeLessThanOrEqual(1);
      expect(Math.abs(share('subject_a') - 27)).toBeLessThanOrEqual(1);
      expect(Math.abs(share('subject_b') - 63)).toBeLessThanOrEqual(1);
      expect(share('holdout') + share('subject_a') + share('subject_b')).toBeCloseTo(100, 6);
    });
  }

  it.skipIf(engines().length < 2)('puts every customer in the same group on DuckDB and PostgreSQL', () => {
    const [a, b] = [...assignments.values()];
    expect(a).toBeDefined();
    expect(b).toEqual(a);
  });
});
