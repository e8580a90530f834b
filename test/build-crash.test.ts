import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sql } from '../src/dialects/sql.js';
import type { Connection } from '../src/warehouses/connection.js';
import { openTarget, type TargetConfig } from '../src/warehouses/registry.js';
import { runCli, tempProject } from './support/cli.js';
import { runAndKill } from './support/crash.js';
import { pgUrl, uniqueSchema } from './support/engines.js';

/**
 * A `tideline run` killed with SIGKILL in the middle of a build leaves no work table in the model schema: an
 * identity build copies raw e-mails into its first work tables (`<model>__tl_rows`, `__tl_values`), and those must
 * never stay where the models' readers look. The CLI runs in a child process and is killed once it logs the step
 * after the e-mails were copied; the warehouse's tables are then listed by a connection of the test's own
 * (information_schema on PostgreSQL, duckdb_tables() on DuckDB). Both build inside a transaction, so nothing of the
 * killed build is left anywhere — on DuckDB its new tables were built in the model schema itself — and the previous
 * build stays readable. A later run of another model leaves no work table anywhere, and on DuckDB empties the work
 * schema of what a run killed before DuckDB built in transactions left there.
 */
const RECORDS = 20_000;
/**
 * The identity step the run is killed at: late, when the raw values have long been copied into work tables and the
 * companions' new tables (`people__tl_map`, `people__tl_links`: matched e-mails) exist — on DuckDB beside the model.
 */
const KILL_AT_STEP = 'golden record';

const MODELS = `sources:
  - name: contacts
    table: RAW.contacts
  - name: stores
    table: RAW.stores
models:
  - name: people
    kind: identity
    identifiers: { email: email }
    sources:
      - from: contacts
        id: id
        identifiers: { email: email }
    rules:
      - match: [email]
  - name: store_list
    kind: staging
    from: stores
`;

interface Warehouse {
  readonly name: 'duckdb' | 'postgres';
  /** tideline.yml's targets section (empty: the embedded DuckDB default). */
  readonly targets: string;
  readonly env: Record<string, string>;
  readonly config: TargetConfig;
  /** Every (schema, table) of the warehouse whose schema starts with `prefix`, listed without Tideline's help. */
  tables(connection: Connection, prefix: string): Promise<string[]>;
  /** Waits until the killed CLI's sessions are gone, so that nothing it started can still commit. */
  settle(connection: Connection): Promise<void>;
}

function duckdb(): Warehouse {
  return {
    name: 'duckdb',
    targets: '',
    env: {},
    config: { type: 'duckdb', path: '.tideline/warehouse.duckdb' },
    tables: async (connection, prefix) =>
      (await connection.query(sql`SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name LIKE ${connection.dialect.string(`${prefix}%`)} ORDER BY 1, 2`)).map((r) => `${r['schema_name']}.${r['table_name']}`),
    settle: async () => undefined,
  };
}

function postgres(url: string): Warehouse {
  // The child's sessions carry a name of their own, so the test can wait for the server to end them.
  const application = `tl_crash_${randomBytes(4).toString('hex')}`;
  const withName = new URL(url);
  withName.searchParams.set('application_name', application);
  return {
    name: 'postgres',
    targets: 'targets:\n  pg:\n    type: postgres\n    url: ${env:CRASH_PG_URL}\n',
    env: { CRASH_PG_URL: withName.toString() },
    config: { type: 'postgres', url },
    tables: async (connection, prefix) =>
      (
        await connection.query(
          sql`SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE ${connection.dialect.string(`${prefix}%`)} ORDER BY 1, 2`,
        )
      ).map((r) => `${r['table_schema']}.${r['table_name']}`),
    settle: async (connection) => {
      for (let waited = 0; waited < 30_000; waited += 100) {
        const sessions = await connection.query(sql`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = ${connection.dialect.string(application)}`);
        if (Number(sessions[0]!['n']) === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('the killed run still has sessions open after 30 s');
    },
  };
}

const url = pgUrl();
const warehouses = [duckdb(), ...(url ? [postgres(url)] : [])];
if (!url) console.warn('[tideline tests] WARNING: PostgreSQL unavailable — the postgres half of build-crash is SKIPPED');

describe('a killed build leaves no work table with personal data in the model schema', () => {
  for (const warehouse of warehouses) {
    it(`${warehouse.name}: SIGKILL in the middle of an identity build, then a run of another model`, async () => {
      const schema = uniqueSchema('crash');
      const raw = uniqueSchema('crashraw');
      const root = tempProject({
        'tideline.yml': `name: crash\nschema: ${schema}\n${warehouse.targets}`,
        'models/models.yml': MODELS.replaceAll('RAW', raw),
      });
      const connect = () => openTarget(warehouse.config, { root });
      let connection = await connect();
      const d = connection.dialect;
      try {
        await connection.execute(d.createSchema(raw));
        const series = warehouse.name === 'duckdb' ? sql`range(${d.literal(RECORDS)}) AS s(i)` : sql`generate_series(0, ${d.literal(RECORDS - 1)}) AS s(i)`;
        await connection.execute(sql`CREATE TABLE ${d.table({ schema: raw, name: 'contacts' })} AS
SELECT i AS id, 'person' || (i % ${d.literal(RECORDS - 2_000)}) || '@example.com' AS email FROM ${series}`);
        await connection.execute(sql`CREATE TABLE ${d.table({ schema: raw, name: 'stores' })} AS SELECT 1 AS store_id, 'Lyon' AS city`);
        // Embedded DuckDB admits one process at a time: the CLI opens the file only once the test has let it go.
        if (warehouse.name === 'duckdb') await connection.close();

        const first = await runCli(['run'], { cwd: root, env: warehouse.env });
        expect(first.code, first.stderr).toBe(0);

        const killed = await runAndKill(['run', '--select', 'people', '--log-level', 'debug'], root, warehouse.env, { onLog: (entry) => entry['step'] === KILL_AT_STEP });
        expect(killed.killed, `the run must still be building when it is killed: ${killed.phase}`).toBe(true);

        if (warehouse.name === 'duckdb') connection = await connect();
        await warehouse.settle(connection);
        const inModelSchema = (await warehouse.tables(connection, schema)).filter((t) => t.startsWith(`${schema}.`));
        expect(inModelSchema.filter((t) => t.includes('__tl_'))).toEqual([]);
        // The previous build is still the visible one.
        expect(inModelSchema).toEqual([`${schema}.people`, `${schema}.people_links`, `${schema}.people_map`, `${schema}.people_report`, `${schema}.store_list`]);
        const people = await connection.query(sql`SELECT COUNT(*) AS n FROM ${d.table({ schema, name: 'people' })}`);
        expect(Number(people[0]!['n'])).toBe(RECORDS - 2_000);
        const map = await connection.query(sql`SELECT COUNT(*) AS n FROM ${d.table({ schema, name: 'people_map' })}`);
        expect(Number(map[0]!['n'])).toBe(RECORDS);
        // Nothing the killed build had made is left in the work schema either: its transaction never committed.
        expect((await warehouse.tables(connection, schema)).filter((t) => t.startsWith(`${schema}__tl_work.`))).toEqual([]);
        if (warehouse.name === 'duckdb') {
          // What a DuckDB run killed before it built in transactions left in the work schema, for the next run to empty.
          await connection.execute(d.createSchema(`${schema}__tl_work`));
          await connection.execute(sql`CREATE TABLE ${d.table({ schema: `${schema}__tl_work`, name: 'people__tl_values' })} AS SELECT 'person1@example.com' AS email`);
          await connection.close();
        }

        // Any run leaves no work table, whichever models it builds.
        const next = await runCli(['run', '--select', 'store_list'], { cwd: root, env: warehouse.env });
        expect(next.code, next.stderr).toBe(0);
        if (warehouse.name === 'duckdb') connection = await connect();
        expect((await warehouse.tables(connection, schema)).filter((t) => t.includes('__tl_'))).toEqual([]);
      } finally {
        if (warehouse.name === 'postgres') for (const s of [schema, `${schema}__tl_work`, raw]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(s)} CASCADE`);
        await connection.close().catch(() => undefined);
      }
    }, 120_000);
  }
});
