import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Sql } from '../src/dialects/sql.js';
import type { Connection, QueryContext } from '../src/warehouses/connection.js';
import { warehouseOf } from '../src/warehouses/registry.js';
import { tempProject } from './support/cli.js';
import { tidelineInProcess } from './support/in-process.js';

/**
 * What `tideline run` does with a warehouse that labels its queries and reports what they cost (BigQuery, Snowflake:
 * their connections are tested at the client boundary in src/warehouses/*): each model's build runs through its own
 * view (Connection.withContext) naming the command, the run and the model, and what the view reports lands in
 * run_results.json and the run's summary. The warehouse here is embedded DuckDB, opened as usual and wrapped in such
 * a connection: 1 MB processed and 10 MB billed per statement.
 */

interface Results {
  run_id: string;
  results: { model: string; status: string; adapter_response?: Record<string, number> }[];
}

const PROJECT = {
  'tideline.yml': 'name: shop\n',
  'data/people.csv': 'id,score\n1,10\n2,20\n',
  'models/all.yml': `sources:
  - name: people_raw
    file: data/people.csv
models:
  - name: people
    kind: staging
    from: people_raw
    columns:
      id: id
      score: { sql: "CAST('not a number' AS INTEGER)", type: integer }
  - name: top_people
    kind: staging
    from: people
  - name: independent
    kind: staging
    from: people_raw
`,
};

const MB = 1_000_000;

/** `base` with views that count their statements and report them as bytes, recording the contexts asked for. */
function metered(base: Connection, contexts: QueryContext[], statements: Map<string, number>): Connection {
  const bound: Connection = {
    dialect: base.dialect,
    exclusive: base.exclusive,
    execute: (s) => base.execute(s),
    query: (s) => base.query(s),
    stream: (s, o) => base.stream(s, o),
    columns: (t) => base.columns(t),
    columnsOfQuery: (s) => base.columnsOfQuery(s),
    runAtomically: (s) => base.runAtomically(s),
    insertRows: (t, c, b) => base.insertRows(t, c, b),
    close: () => base.close(),
  };
  return {
    ...bound,
    withContext(context) {
      contexts.push(context);
      const key = context.model ?? '';
      const count = <T>(run: () => Promise<T>) => {
        statements.set(key, (statements.get(key) ?? 0) + 1);
        return run();
      };
      return {
        ...bound,
        execute: (s: Sql) => count(() => base.execute(s)),
        query: (s: Sql) => count(() => base.query(s)),
        runAtomically: (s: readonly Sql[]) => count(() => base.runAtomically(s)),
        close: async () => {},
        // A build's transaction (DuckDB and PostgreSQL build in one): its session's statements are counted too.
        transaction: <T>(work: (session: Connection) => Promise<T>) =>
          base.transaction!((session) =>
            work({
              ...bound,
              execute: (s: Sql) => count(() => session.execute(s)),
              query: (s: Sql) => count(() => session.query(s)),
              stream: (s, o) => session.stream(s, o),
              columns: (t) => session.columns(t),
              columnsOfQuery: (s) => session.columnsOfQuery(s),
              runAtomically: (s: readonly Sql[]) => count(() => session.runAtomically(s)),
              insertRows: (t, c, b) => session.insertRows(t, c, b),
              close: async () => {},
            }),
          ),
        usage: async () => ({ bytesProcessed: (statements.get(key) ?? 0) * MB, bytesBilled: (statements.get(key) ?? 0) * 10 * MB }),
      };
    },
  };
}

describe('usage per model in run_results.json', () => {
  afterEach(() => vi.restoreAllMocks());

  it('labels each build with the command, the run and the model, and records what each reported', async () => {
    const root = tempProject(PROJECT);
    const duckdb = warehouseOf({ type: 'duckdb' });
    const open = duckdb.open.bind(duckdb);
    const contexts: QueryContext[] = [];
    const statements = new Map<string, number>();
    vi.spyOn(duckdb, 'open').mockImplementation(async (target, context) => metered(await open(target, context), contexts, statements));

    const run = await tidelineInProcess(['run', '--log-format', 'json', '--project', root]);

    expect(run.code, run.stderr).toBe(1);
    const results = JSON.parse(readFileSync(join(root, 'target', 'tideline_run_results.json'), 'utf8')) as Results;
    expect(results.run_id).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]{6}$/);
    expect(contexts).toEqual([
      { command: 'run', run: results.run_id, model: 'people' },
      { command: 'run', run: results.run_id, model: 'independent' },
    ]);
    const people = statements.get('people')!;
    const independent = statements.get('independent')!;
    expect(people).toBeGreaterThan(0);
    expect(independent).toBeGreaterThan(people);
    expect(results.results.map((r) => [r.model, r.status, r.adapter_response])).toEqual([
      // A failed build cost what it ran before failing.
      ['people', 'error', { bytes_processed: people * MB, bytes_billed: people * 10 * MB }],
      // A skipped model ran nothing: no figure, rather than 0.
      ['top_people', 'skipped', undefined],
      ['independent', 'success', { bytes_processed: independent * MB, bytes_billed: independent * 10 * MB }],
    ]);
    // dbt's run_results.json has them in the same place, beside the rows a model wrote.
    const dbt = JSON.parse(readFileSync(join(root, 'target', 'run_results.json'), 'utf8')) as { results: { unique_id: string; adapter_response: Record<string, number> }[] };
    expect(dbt.results.map((r) => [r.unique_id, r.adapter_response])).toEqual([
      ['model.shop.people', { bytes_processed: people * MB, bytes_billed: people * 10 * MB }],
      ['model.shop.top_people', {}],
      ['model.shop.independent', { rows_affected: expect.any(Number), bytes_processed: independent * MB, bytes_billed: independent * 10 * MB }],
    ]);
    const total = people + independent;
    const summary = run.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).at(-1)!;
    expect(summary).toMatchObject({ bytes_processed: total * MB, bytes_billed: total * 10 * MB });
    expect(summary['msg']).toBe(`1 built, 1 failed, 1 skipped; ${((total * MB) / 2 ** 20).toFixed(1)} MiB processed, ${((total * 10 * MB) / 2 ** 20).toFixed(1)} MiB billed`);
  });

  it('records no usage where the warehouse reports none', async () => {
    const root = tempProject(PROJECT);
    const run = await tidelineInProcess(['run', '--log-format', 'json', '--project', root]);
    expect(run.code, run.stderr).toBe(1);
    const results = JSON.parse(readFileSync(join(root, 'target', 'tideline_run_results.json'), 'utf8')) as Results;
    for (const result of results.results) expect(result).not.toHaveProperty('adapter_response');
    expect(run.stderr).not.toMatch(/processed|billed|scanned/);
  });
});
