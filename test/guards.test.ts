import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogicalType, TableRef } from '../src/dialects/dialect.js';
import { sql } from '../src/dialects/sql.js';
import { openTarget } from '../src/warehouses/registry.js';
import { runCli, tempProject } from './support/cli.js';
import { projectSetups, uniqueSchema } from './support/engines.js';
import { PlainReceiver } from './support/plain-receiver.js';

/**
 * The guards of `tideline run` and `tideline sync`, through the real executable on DuckDB and PostgreSQL: the removal
 * guard of an audience sync (`max_removals`, `--force`), source freshness, and model row-count bounds. What reached
 * the destination is judged by a plain HTTP receiver sharing no code with the engine, never by the engine's counts.
 *
 * 30 customers c01…c30, the i-th with orders = i % 10 (c01: 1, c09: 9, c10: 0). The audience `loyal` takes orders ≥ 3:
 * every customer whose number ends in 3–9, seven per ten, 21 members.
 */
const HOUR = 3_600_000;
const COLUMNS: { name: string; type: LogicalType }[] = [
  { name: 'id', type: 'string' },
  { name: 'orders', type: 'integer' },
  { name: 'loaded_at', type: 'timestamp' },
];
const customers = (count: number, loadedAt: Date) => Array.from({ length: count }, (_, i) => [`c${String(i + 1).padStart(2, '0')}`, (i + 1) % 10, loadedAt]);
const LOYAL = customers(30, new Date())
  .filter((c) => (c[1] as number) >= 3)
  .map((c) => String(c[0]));

const setups = projectSetups('guards');

const models = (source: string, options: { where?: string; customerChecks?: string } = {}) => `sources:
  - name: raw_customers
    table: ${source}.customers
    freshness: { loaded_at: loaded_at, warn_after: 1 day, error_after: 2 days }
  - name: raw_regions
    table: ${source}.regions
models:
  - name: regions
    kind: staging
    from: raw_regions
    columns:
      region: { from: region, type: string }
  - name: customers
    kind: staging
    from: raw_customers
    checks: ${options.customerChecks ?? '{ min_rows: 10, max_change: 50% }'}
    columns:
      customer_id: { from: id, type: string }
      orders: { from: orders, type: integer }
  - name: segments
    kind: audiences
    customers: customers
    audiences:
      - name: loyal
        channel: email
        require_consent: false
        where: ${options.where ?? '{ field: orders, gte: 3 }'}
`;

const SYNCS = `destinations:
  - name: hook
    type: webhook
    url: \${env:HOOK_URL}
syncs:
  - name: loyal_list
    model: segments
    audience: loyal
    destination: hook
    object: loyal
    mode: audience
    key: customer_id
    fields: { orders: orders }
  - name: region_list
    model: regions
    destination: hook
    object: regions
    mode: upsert
    key: region
`;

describe.each(setups)('guards of run and sync ($name)', (setup) => {
  let receiver: PlainReceiver;
  let root: string;
  let env: Record<string, string>;
  const source = uniqueSchema('raw');
  const table: TableRef = { schema: source, name: 'customers' };
  const cli = (...args: string[]) => runCli([...args, '--log-format', 'pretty'], { cwd: root, env });

  /** Replaces the source table's rows (the DuckDB file is closed again before the CLI opens it). */
  async function setRows(rows: unknown[][]): Promise<void> {
    const connection = await openTarget(setup.target, { root });
    try {
      const d = connection.dialect;
      await connection.execute(d.createSchema(source));
      await connection.execute(d.dropTable(table));
      await connection.execute(d.createTable(table, COLUMNS));
      if (rows.length) {
        await connection.insertRows(table, COLUMNS, (async function* () {
          yield rows as never;
        })());
      }
    } finally {
      await connection.close();
    }
  }

  async function modelRows(model: string): Promise<number> {
    const connection = await openTarget(setup.target, { root });
    try {
      const schema = /^schema: (\S+)/m.exec(readFileSync(join(root, 'tideline.yml'), 'utf8'))![1]!;
      const rows = await connection.query(sql`SELECT COUNT(*) AS n FROM ${connection.dialect.table({ schema, name: model })}`);
      return Number(rows[0]!['n']);
    } finally {
      await connection.close();
    }
  }

  const writeModels = (options: Parameters<typeof models>[1] = {}) => writeFileSync(join(root, 'models/m.yml'), models(source, options));
  const held = () => [...receiver.records('loyal').keys()].sort();

  beforeAll(async () => {
    receiver = await PlainReceiver.start();
    env = { HOOK_URL: receiver.url };
    root = tempProject({ 'tideline.yml': `name: guards\n${setup.tideline}`, 'models/m.yml': models(source), 'syncs/s.yml': SYNCS });
    await setRows(customers(30, new Date(Date.now() - HOUR)));
    const connection = await openTarget(setup.target, { root });
    try {
      const regions: TableRef = { schema: source, name: 'regions' };
      await connection.execute(connection.dialect.createTable(regions, [{ name: 'region', type: 'string' }]));
      await connection.execute(sql`INSERT INTO ${connection.dialect.table(regions)} VALUES ('north'), ('south')`);
    } finally {
      await connection.close();
    }
    const run = await cli('run');
    expect(run.code, run.stderr).toBe(0);
    const sync = await cli('sync');
    expect(sync.code, sync.stderr).toBe(0);
    expect(LOYAL).toHaveLength(21);
    expect(held()).toEqual(LOYAL);
  }, 120_000);
  afterAll(() => receiver?.close());

  it('a condition removing all 21 members stops the sync with exit 1 and nothing sent; --force lets it through', async () => {
    writeModels({ where: '{ field: orders, gte: 100 }' });
    expect((await cli('run')).code).toBe(0);
    const requests = receiver.requests;
    const dry = await cli('sync', '--dry-run');
    expect(dry.code, dry.stderr).toBe(1);
    expect(dry.stderr).toContain('loyal_list failed: would remove 21 of the 21 records hook/loyal holds, every record, leaving it empty, which max_removals (10%) refuses; the run would send nothing');
    const refused = await cli('sync');
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain('loyal_list failed: would remove 21 of the 21 records hook/loyal holds, every record, leaving it empty, which max_removals (10%) refuses; nothing was sent');
    expect(refused.stderr).toContain('tideline sync --select loyal_list --force');
    expect(receiver.requests).toBe(requests);
    expect(held()).toEqual(LOYAL);
    const results = JSON.parse(readFileSync(join(root, 'target/sync_results.json'), 'utf8')) as { status: string; results: { status: string; sent: number }[] };
    expect(results).toMatchObject({ status: 'partial', results: [{ status: 'failed', sent: 0 }, { status: 'success' }] });

    const forced = await cli('sync', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('--force: removing 21 of 21 records past max_removals');
    expect(held()).toEqual([]);

    // Back: the members are added again, which no guard stops.
    writeModels();
    expect((await cli('run')).code).toBe(0);
    const back = await cli('sync');
    expect(back.code, back.stderr).toBe(0);
    expect(held()).toEqual(LOYAL);
  }, 120_000);

  it('a build under min_rows or beyond max_change fails and leaves the previous table; a sync sends nothing while a model is out of bounds', async () => {
    await setRows(customers(3, new Date(Date.now() - HOUR)));
    const few = await cli('run');
    expect(few.code, few.stderr).toBe(1);
    expect(few.stderr).toContain('model customers has 3 rows, fewer than checks.min_rows (10); the previous table stays in place');
    expect(few.stderr).toMatch(/skipped segments: its input failed/);
    expect(await modelRows('customers')).toBe(30);
    expect(await modelRows('segments')).toBeGreaterThanOrEqual(21);

    await setRows(customers(12, new Date(Date.now() - HOUR)));
    const drop = await cli('run');
    expect(drop.code, drop.stderr).toBe(1);
    expect(drop.stderr).toContain('model customers went from 30 to 12 rows (-60%), more than checks.max_change (50%)');
    expect(await modelRows('customers')).toBe(30);

    // The table as it stands breaks bounds declared since it was built: the sync stops before planning.
    writeModels({ customerChecks: '{ min_rows: 40 }' });
    const requests = receiver.requests;
    const sync = await cli('sync');
    expect(sync.code, sync.stderr).toBe(1);
    expect(sync.stderr).toContain('loyal_list failed: model customers has 30 rows, fewer than checks.min_rows (40); nothing was sent');
    expect(receiver.requests).toBe(requests);
    expect(held()).toEqual(LOYAL);
    writeModels();
    await setRows(customers(30, new Date(Date.now() - HOUR)));
  }, 120_000);

  it('a source older than error_after stops run and sync before any request; past warn_after both warn and go on', async () => {
    const loadedAt = new Date(Date.now() - 6 * 24 * HOUR - HOUR);
    await setRows(customers(30, loadedAt).map((c, i) => (i === 0 ? [c[0], c[1], new Date(loadedAt.getTime() - HOUR)] : c)));
    const stamp = `${loadedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    const stale = `source raw_customers (${source}.customers) is stale: loaded_at max ${stamp}, 6 days ago, error_after 2 days`;
    const run = await cli('run');
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(`not building customers: ${stale}; its previous table stays in place`);
    expect(await modelRows('customers')).toBe(30);

    const requests = receiver.requests;
    const sync = await cli('sync');
    expect(sync.code, sync.stderr).toBe(1);
    expect(sync.stderr).toContain(`loyal_list failed: ${stale}; nothing was sent`);
    expect(receiver.requests).toBe(requests);
    // A sync whose inputs are sound still runs: regions reads nothing stale.
    const results = JSON.parse(readFileSync(join(root, 'target/sync_results.json'), 'utf8')) as { status: string; results: { sync: string; status: string }[] };
    expect(results.status).toBe('partial');
    expect(results.results.map((r) => [r.sync, r.status])).toEqual([
      ['loyal_list', 'failed'],
      ['region_list', 'success'],
    ]);
    expect([...receiver.records('regions').keys()].sort()).toEqual(['north', 'south']);

    await setRows(customers(30, new Date(Date.now() - 30 * HOUR)));
    const warned = await cli('run');
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr).toMatch(/source raw_customers \(\S+\) is getting stale: loaded_at max .*, 30 hours ago, warn_after 1 day/);
    const synced = await cli('sync');
    expect(synced.code, synced.stderr).toBe(0);
    expect(synced.stderr).toMatch(/is getting stale/);
    expect(held()).toEqual(LOYAL);
  }, 120_000);
});
