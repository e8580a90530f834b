import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startWebhookEmulator } from '../../destinations/webhook/emulator.js';
import { runModels } from '../../src/pipeline/runner.js';
import { joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import type { Dialect, TableRef } from '../../src/dialects/dialect.js';
import { createLogger } from '../../src/log/logger.js';
import { analyseProject } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import { SyncEngine, type ProgressEvent } from '../../src/sync/engine.js';
import type { Project } from '../../src/project/loader.js';
import type { Logger } from '../../src/log/logger.js';
import { timedConnection } from './statement-timer.js';
import { modelColumns } from '../../src/sync/run/plan.js';
import { countsStatement, materialiseChanges, readCounts } from '../../src/sync/planner.js';
import { openTarget } from '../../src/warehouses/registry.js';
import { buildCli, builtCliIsFresh } from '../../bin/build-cli.mjs';
import { BIN } from '../support/cli.js';
import { choice, option, report, round, timed, type CurveSpec } from './harness.js';
import { BENCH_WAREHOUSES, benchPostgres, type BenchWarehouse } from './warehouse.js';
import { eventWindow } from '../../src/sync/events.js';
import { checkedDiff, planChanges } from '../../src/sync/run/plan.js';
import { watermarkName } from '../../src/state/store.js';
import { FORGOTTEN_COLUMNS, privacySalt, privacyTable, setupPrivacy, tokenHash } from '../../src/privacy/state.js';

/**
 * `npm run bench -- sync [--rows N] [--rate R] [--batch B] [--warehouse duckdb|postgres] [--memory-limit 64MB] [--no-events] [--diff-only] [--cpu-prof DIR] [--trace-gc]`
 *
 * 1. A model of N people (default 1,000,000) on DuckDB is synced by `tideline sync`, in a child process, into the
 *    webhook emulator (run here) limited to R requests a second of B records (default 50 × 1,000). Results: the
 *    achieved throughput while sending, beside the API's ceiling R × B (goal ≥ 95 %); the whole command's throughput;
 *    and the child's peak RSS (goal ≤ 300 MB), for the CLI as `npm install` builds it, DuckDB's memory_limit at 64MB
 *    (`--memory-limit` sets another).
 * 2. 1 % of the rows change; the diff alone (change set materialised and counted in the warehouse) is timed
 *    (goal ≤ 3 s for 1M rows), then again once 1,000 people were forgotten (`tideline forget`), as a ratio to it.
 *    `--diff-only` skips 1., making the state of a first sync that delivered everything in SQL (seedState).
 * 3. Events (`--events E --new K`, default 10,000,000 and 100,000; `--events-only` runs this case alone): a table of
 *    E events in time order, its events sync's state as a run that sent all but the last K left it (snapshot and
 *    high-water mark), and the plan of the next run timed — the window read, the new events found and counted —
 *    beside the same selection written by hand in SQL (goal ≤ 10 s to plan). On DuckDB only; `--no-events` skips it.
 * `--warehouse postgres` runs 1. and 2. on a throwaway database of the local PostgreSQL (as the tests find it), the
 * model and Tideline's state in it. `--sizes 1e6,1e7` runs 1. and 2. once per number of rows and prints the curve of
 * the whole command's seconds and the CLI's peak RSS. `--phases` runs 1. in this process with every warehouse
 * statement timed instead (see phases). `--cpu-prof DIR` writes the `tideline sync` child's CPU profile
 * (node --cpu-prof) into DIR, for Chrome DevTools or `node --cpu-prof` readers.
 *
 * What bounds the whole command, printed with it on DuckDB: the CPU seconds the CLI (all its threads, DuckDB's among
 * them, from /proc) and the receiver (this process: the emulator, and the bench's sampling) used before the first
 * answer, while answers came and after the last, and the floor they set on this machine (their sum over its cores: no
 * schedule of that work finishes sooner). Samples every 100 ms: the last one before the CLI exits may miss its
 * close. The peak-RSS line says what the child's largest sampled resident set was made of (anonymous pages: V8's heap,
 * DuckDB's, malloc's; file pages: the code of Node, the CLI and DuckDB), and with `--trace-gc` the largest heap V8
 * committed.
 */
export const curve: CurveSpec = {
  option: 'rows',
  childArgs: ['--no-events'],
  seconds: (results) => Number(results.find((r) => r.metric === 'throughput_whole_command')?.['seconds']),
  peakRssMb: (results) => results.find((r) => r.metric === 'peak_rss')?.value,
};

export async function main(args: readonly string[]): Promise<void> {
  const warehouse = choice(args, 'warehouse', BENCH_WAREHOUSES);
  if (warehouse === 'duckdb' && !args.includes('--no-events')) await eventsCase(option(args, 'events', 10_000_000), option(args, 'new', 100_000));
  if (args.includes('--events-only')) return;
  const pg = warehouse === 'postgres' ? await benchPostgres() : undefined;
  try {
    await syncCase(args, warehouse, pg?.url);
  } finally {
    await pg?.drop();
  }
}

async function syncCase(args: readonly string[], warehouse: BenchWarehouse, pgUrl: string | undefined): Promise<void> {
  const rows = option(args, 'rows', 1_000_000);
  const rate = option(args, 'rate', 50);
  const batch = option(args, 'batch', 1000);
  const ceiling = rate * batch;
  const memoryLimit = args.includes('--memory-limit') ? args[args.indexOf('--memory-limit') + 1]! : MEMORY_LIMIT;
  // What `npm install` leaves: the built CLI (bin/tideline would otherwise run the sources through tsx, ~40 MB more).
  if (!process.env['TIDELINE_CLI_BUNDLE'] && !builtCliIsFresh()) await buildCli();
  const cli = process.env['TIDELINE_CLI_BUNDLE'] ? 'TIDELINE_CLI_BUNDLE' : process.env['TIDELINE_CLI'] !== 'tsx' && builtCliIsFresh() ? 'built' : 'tsx';
  const root = await mkdtemp(join(tmpdir(), 'tideline-bench-sync-'));
  // Its DuckDB file holds ~1 GB at 10M rows: removed however the bench ends (a step out of memory throws).
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  const logger = createLogger({ level: 'silent' });

  const emulator = await startWebhookEmulator({ maxBatchRecords: batch, rateLimit: { requests: rate, perMs: 1000 } });
  const env = { BENCH_HOOK_URL: `${emulator.endpoint}/hook`, BENCH_HOOK_SECRET: emulator.secret, ...(pgUrl ? { BENCH_PG_URL: pgUrl } : {}) };
  await writeProject(root, rate, batch, warehouse, memoryLimit);

  // The model, built in-process once.
  const project = await loadProject({ projectDir: root, env });
  let connection = await openTarget(project.target.config, { root });
  await connection.execute(sql`CREATE SCHEMA raw`);
  const series = warehouse === 'postgres' ? sql`generate_series(1, ${connection.dialect.literal(rows)})` : sql`range(1, ${connection.dialect.literal(rows + 1)})`;
  await connection.execute(
    sql`CREATE TABLE raw.people AS SELECT i AS id, 'person' || i || '@example.com' AS email, 'Name ' || i AS first_name, CAST(i % 7 AS BIGINT) AS orders, DATE '2024-01-01' + CAST(i % 365 AS INTEGER) AS signed_up FROM ${series} AS t(i)`,
  );
  const build = async () => {
    const analysis = await analyseProject(project, connection);
    await runModels(project, connection, analysis, project.order, { logger });
  };
  await build();
  await connection.close();

  if (args.includes('--phases')) {
    await phases(project, root, rows, logger);
    await emulator.close();
    await rm(root, { recursive: true, force: true });
    return;
  }

  // 1. The sync, in a child process whose memory is measured (`--diff-only`: its state made in SQL instead, see seedState).
  if (args.includes('--diff-only')) {
    await emulator.close();
    await seedState(project, root);
  } else {
    const started = performance.now();
    const startedAt = Date.now();
    const profileDir = args.includes('--cpu-prof') ? args[args.indexOf('--cpu-prof') + 1] : undefined;
    const traceGc = args.includes('--trace-gc');
    const nodeArgs = [...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), ...(traceGc ? ['--trace-gc'] : [])];
    const { code, peakRssBytes, stderr, cpu, rssParts, v8HeapPeakMb } = await runMeasured(['sync', '--log-format', 'json'], root, env, nodeArgs);
    const wall = (performance.now() - started) / 1000;
    const endedAt = Date.now();
    if (code !== 0) throw new Error(`tideline sync exited ${code}:\n${stderr.slice(-4000)}`);
    if (profileDir) await writeFile(join(profileDir, 'sync.log'), stderr);
    const results = JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { results: { accepted: number; seconds: number; requests: number }[] };
    const result = results.results[0]!;
    const held = emulator.records('contacts').size;
    if (result.accepted !== rows || held !== rows) throw new Error(`expected ${rows} records accepted and held, got ${result.accepted} and ${held}`);
    // From the first answer to the last, plus the one request interval the first answer stands for.
    const window = emulator.server.okWindow();
    const sending = window ? (window.last - window.first) / 1000 + 1 / rate : wall;
    const throughput = rows / sending;
    report({
      bench: 'sync',
      warehouse,
      metric: 'throughput_while_sending',
      value: round(throughput, 0),
      unit: 'records/s',
      baseline: ceiling,
      goal: '≥ 95 % of the API ceiling',
      ok: throughput >= 0.95 * ceiling,
      rows,
      requests: result.requests,
      rate_limited: emulator.server.count(429),
    });
    report({
      bench: 'sync',
      warehouse,
      metric: 'throughput_whole_command',
      value: round(rows / wall, 0),
      unit: 'records/s',
      baseline: ceiling,
      goal: '≥ 90 % of the API ceiling (plan + send + record)',
      ok: rows / wall >= 0.9 * ceiling,
      rows,
      seconds: round(wall, 1),
      sync_seconds: result.seconds,
      ...commandSpans(stderr, startedAt, endedAt, result.seconds),
      // PostgreSQL diffs and folds in its own server processes, which are not sampled: no floor there.
      ...(warehouse === 'duckdb' ? cpuSpans(cpu, window, started, started + wall * 1000) : {}),
    });
    report({ bench: 'sync', warehouse, metric: 'peak_rss', value: round(peakRssBytes / 1024 / 1024, 1), unit: 'MB', goal: '≤ 300 MB', ok: peakRssBytes <= 300 * 1024 * 1024, rows, ...rssParts, ...(v8HeapPeakMb !== undefined ? { v8_heap_committed_peak_mb: v8HeapPeakMb } : {}), ...(warehouse === 'duckdb' ? { duckdb_memory_limit: memoryLimit } : {}), cli });
    await emulator.close();
  }

  // 2. The diff alone, after 1 % of the rows changed, beside the same diff written by hand: a snapshot of each key's
  // hash of the synced fields, and the rows whose hash changed, new or gone, with their fields.
  connection = await openTarget(project.target.config, { root });
  const engine = new SyncEngine({ project, connection, logger });
  const sync = project.syncs.get('bench')!;
  const model = await modelColumns(connection, project, sync);
  const store = engine.store;
  const d = connection.dialect;
  const hand = handDiff(d, model.table);
  await connection.execute(hand.snapshot);
  await connection.execute(sql`UPDATE raw.people SET orders = orders + 100 WHERE id % 100 = 0`);
  await build();
  const handDiffTimed = () =>
    timed(async () => {
      await connection.execute(hand.diff);
      return connection.query(hand.count);
    });
  // Written by hand, the diff is one statement: 10M rows do not fit DuckDB's 64MB, so it is then timed under 1GB (said in
  // the result line), beside Tideline's diff under the project's limit.
  let baselineMemoryLimit = warehouse === 'duckdb' ? memoryLimit : undefined;
  const handTimed = await handDiffTimed().catch(async (error: unknown) => {
    if (!d.memoryLimit?.exhausted(error)) throw error;
    baselineMemoryLimit = '1GB';
    await connection.execute(sql`DROP TABLE IF EXISTS bench_hand_changes`);
    await connection.execute(sql`SET memory_limit = '1GB'`);
    try {
      return await handDiffTimed();
    } finally {
      await connection.execute(sql`SET memory_limit = ${d.string(memoryLimit)}`);
    }
  });
  const handChanged = Number(handTimed.value[0]?.['n'] ?? 0);
  const diffStarted = performance.now();
  const { diff } = await checkedDiff(connection, { dialect: d, sync, model: model.table, types: model.types, snapshot: store.snapshot(sync.name), rejected: store.table('rejected') });
  await connection.execute(d.dropTable(store.changes(sync.name)));
  await materialiseChanges(connection, store.changes(sync.name), diff, [model.table, store.snapshot(sync.name)]);
  const counts = readCounts(await connection.query(countsStatement(d, store.changes(sync.name))));
  const diffSeconds = (performance.now() - diffStarted) / 1000;
  await connection.execute(d.dropTable(store.changes(sync.name)));

  const expectedChanged = Math.floor(rows / 100);
  if (counts.changed !== expectedChanged || handChanged !== expectedChanged) throw new Error(`the diff found ${counts.changed} changed rows (by hand: ${handChanged}), expected ${expectedChanged}`);
  report({
    bench: 'sync',
    warehouse,
    metric: 'diff_seconds',
    value: round(diffSeconds, 2),
    unit: 's',
    baseline: round(handTimed.seconds, 2),
    goal: '≤ 3 s at 1M rows, ≤ 15 s at 10M, 1 % changed',
    ok: diffSeconds <= Math.max(3, (1.5 * rows) / 1_000_000),
    rows,
    changed: counts.changed,
    ...(baselineMemoryLimit ? { memory_limit: memoryLimit, baseline_memory_limit: baselineMemoryLimit } : {}),
  });

  // 2b. The same diff once 1,000 people were forgotten (`tideline forget`): every row's key, contact and identifier
  // columns are hashed and looked up in the forgotten list, beside the diff without it measured above.
  await setupPrivacy(store);
  const salt = (await privacySalt(store, true))!;
  // 1,000 people spread over the rows (fewer, as far apart, when there are fewer than 997,000 rows).
  const people = Math.min(1000, rows);
  const spacing = Math.min(997, Math.floor(rows / people));
  const forgotten = Array.from({ length: people }, (_, i) => tokenHash(salt, `person${(i + 1) * spacing}@example.com`));
  await connection.insertRows(privacyTable(store, 'forgotten'), FORGOTTEN_COLUMNS, [forgotten.map((h) => [h, 'email', 'bench', new Date()])]);
  const filtered = await modelColumns(connection, project, sync);
  const forgetStarted = performance.now();
  // Should it run out of the warehouse's memory, that is reported, not thrown: the figures above stand.
  const withList = await checkedDiff(connection, { dialect: d, sync, model: filtered.table, types: filtered.types, snapshot: store.snapshot(sync.name), rejected: store.table('rejected'), forgotten: filtered.forgotten });
  const made = await materialiseChanges(connection, store.changes(sync.name), withList.diff, [filtered.table, store.snapshot(sync.name)]).then(
    () => undefined,
    (error: unknown) => {
      if (!d.memoryLimit?.exhausted(error)) throw error;
      return error instanceof Error ? error.message.split('\n')[0]! : String(error);
    },
  );
  if (made !== undefined) {
    await connection.close();
    report({ bench: 'sync', warehouse, metric: 'diff_seconds_with_forgotten', value: Number.NaN, unit: 's', baseline: round(diffSeconds, 2), ratio: Number.NaN, ok: false, rows, forgotten: forgotten.length, error: made, ...(warehouse === 'duckdb' ? { memory_limit: memoryLimit } : {}) });
    await rm(root, { recursive: true, force: true });
    return;
  }
  const forgetCounts = readCounts(await connection.query(countsStatement(d, store.changes(sync.name))));
  const forgetSeconds = (performance.now() - forgetStarted) / 1000;
  await connection.execute(d.dropTable(store.changes(sync.name)));
  await connection.close();
  if (forgetCounts.forgotten !== forgotten.length) throw new Error(`the diff left out ${forgetCounts.forgotten} forgotten rows, expected ${forgotten.length}`);
  report({ bench: 'sync', warehouse, metric: 'diff_seconds_with_forgotten', value: round(forgetSeconds, 2), unit: 's', baseline: round(diffSeconds, 2), ratio: round(forgetSeconds / diffSeconds, 2), rows, forgotten: forgetCounts.forgotten });
  // The project holds a DuckDB file of ~90 MB: leave nothing behind in the temporary folder.
  await rm(root, { recursive: true, force: true });
}

/**
 * `--diff-only`: the state a first sync that delivered every record leaves, made without sending: the plan's change
 * set (planChanges, as a run makes it) folded into the snapshot by one INSERT, every record accepted. Step 2 then
 * times the diff of 10M rows in minutes instead of the 200 s that sending them takes at the ceiling.
 */
async function seedState(project: Project, root: string): Promise<void> {
  const connection = await openTarget(project.target.config, { root });
  try {
    const engine = new SyncEngine({ project, connection, logger: createLogger({ level: 'silent' }) });
    const sync = project.syncs.get('bench')!;
    const store = engine.store;
    await store.setup();
    await store.setupSync(sync.name);
    const plan = await planChanges(store, sync, await modelColumns(connection, project, sync));
    const d = connection.dialect;
    const id = (name: string) => d.id(name);
    const at = d.timestampLiteral(new Date());
    await connection.execute(sql`INSERT INTO ${d.table(store.snapshot(sync.name))} (${id('record_key')}, ${id('record_hash')}, ${id('last_status')}, ${id('last_attempt_at')}, ${id('last_run_id')}, ${id('synced_at')})
SELECT ${id('record_key')}, ${id('record_hash')}, ${d.string('synced')}, ${at}, ${d.string('bench')}, ${at} FROM ${d.table(plan.changes)} WHERE ${id('op')} = ${d.string('added')}`);
    await connection.execute(d.dropTable(plan.changes));
  } finally {
    await connection.close();
  }
}

/**
 * The diff of the bench's sync as one would write it by hand in SQL (portable to DuckDB and PostgreSQL): `snapshot`
 * keeps each key's md5 of its synced fields; `diff` makes the change set (added or changed rows with their fields,
 * removed keys); `count` counts its changed rows.
 */
function handDiff(d: Dialect, model: TableRef): { snapshot: Sql; diff: Sql; count: Sql } {
  const [snapshot, changes] = [sql`bench_hand_snapshot`, sql`bench_hand_changes`];
  const text = (column: string) => sql`CAST(m.${d.id(column)} AS VARCHAR)`;
  const hash = sql`md5(concat_ws('|', ${joinSql(['email', 'first_name', 'orders', 'signed_up'].map(text))}))`;
  return {
    snapshot: sql`CREATE TABLE ${snapshot} AS SELECT ${text('id')} AS k, ${hash} AS h FROM ${d.table(model)} AS m`,
    diff: sql`CREATE TABLE ${changes} AS
SELECT CASE WHEN s.k IS NULL THEN 'added' ELSE 'changed' END AS op, ${text('id')} AS k, ${hash} AS h, m.email, m.first_name, m.orders, m.signed_up
FROM ${d.table(model)} AS m LEFT JOIN ${snapshot} AS s ON s.k = ${text('id')}
WHERE s.k IS NULL OR s.h <> ${hash}
UNION ALL
SELECT 'removed', s.k, NULL, NULL, NULL, NULL, NULL FROM ${snapshot} AS s WHERE NOT EXISTS (SELECT 1 FROM ${d.table(model)} AS m WHERE ${text('id')} = s.k)`,
    count: sql`SELECT COUNT(*) AS n FROM ${changes} WHERE op = 'changed'`,
  };
}

const MEMORY_LIMIT = '64MB';

/**
 * Where the whole command's time went besides the sync's own run (sync_results' seconds), from its JSON log's times:
 * up to the first line (the start — Node, the CLI's modules, the project, the warehouse — and the plan, after which the
 * run writes its first line), after the last line (closing the warehouse, the artifacts), and all outside the run.
 */
function commandSpans(stderr: string, startedAt: number, endedAt: number, syncSeconds: number): Record<string, number> {
  const times = stderr
    .split('\n')
    .map((line) => {
      try {
        return Date.parse(String((JSON.parse(line) as { time?: unknown }).time));
      } catch {
        return NaN;
      }
    })
    .filter((t) => Number.isFinite(t));
  if (times.length === 0) return {};
  const last = Math.max(...times);
  return {
    to_first_log_line_seconds: round((Math.min(...times) - startedAt) / 1000, 2),
    after_last_log_line_seconds: round((endedAt - last) / 1000, 2),
    outside_sync_seconds: round((endedAt - startedAt) / 1000 - syncSeconds, 2),
  };
}

/**
 * `--phases`: the sync of step 1 run in this process instead, every warehouse statement timed (statement-timer.ts),
 * one JSON line per kind of statement (the 15 costliest) and one for the rest of the run (JavaScript: paging,
 * sending, the journal's appends are timed as insertRows).
 */
async function phases(project: Project, root: string, rows: number, logger: Logger): Promise<void> {
  const opened = await openTarget(project.target.config, { root });
  const { connection, times } = timedConnection(opened, { splitAtomic: opened.dialect.name === 'duckdb' });
  // The critical path from the progress events: planned (the diff and its counts), every record settled, finished.
  const started = performance.now();
  const at: { planned?: number; settled?: number } = {};
  const onProgress = (event: ProgressEvent) => {
    if (event.phase === 'planned') at.planned ??= performance.now();
    if (event.phase === 'sending' && event.settled >= event.total) at.settled ??= performance.now();
  };
  const engine = new SyncEngine({ project, connection, logger, onProgress });
  const run = await timed(() => engine.run(project.syncs.get('bench')!));
  const ended = performance.now();
  await opened.close();
  if (run.value.error) throw new Error(`the sync failed: ${run.value.error}`);
  const sorted = [...times.values()].sort((a, b) => b.seconds - a.seconds);
  // Statements through the connection beside the run's (the journal folded in parts while sending) are not on its path.
  const beside = sorted.filter((t) => t.statement.startsWith('beside: ')).reduce((sum, t) => sum + t.seconds, 0);
  const inWarehouse = sorted.reduce((sum, t) => sum + t.seconds, 0) - beside;
  for (const t of sorted.slice(0, 15)) report({ bench: 'sync', metric: 'statement_seconds', value: round(t.seconds, 3), unit: 's', statement: t.statement, calls: t.calls, rows });
  const span = (from: number | undefined, to: number | undefined) => (from !== undefined && to !== undefined ? round((to - from) / 1000, 2) : null);
  report({ bench: 'sync', metric: 'critical_path_seconds', value: round(run.seconds, 2), unit: 's', to_planned: span(started, at.planned), sending: span(at.planned, at.settled), after_last_outcome: span(at.settled, ended), rows });
  report({ bench: 'sync', metric: 'run_seconds', value: round(run.seconds, 2), unit: 's', in_warehouse: round(inWarehouse, 2), beside: round(beside, 2), rest: round(run.seconds - inWarehouse, 2), rows, statements: sorted.reduce((n, t) => n + t.calls, 0) });
}

/** 3. The plan of an events sync's incremental run over a large table of events (see main). */
async function eventsCase(total: number, fresh: number): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'tideline-bench-events-'));
  const logger = createLogger({ level: 'silent' });
  const files: Record<string, unknown> = {
    'tideline.yml': { name: 'bench_events', targets: { dev: { type: 'duckdb', path: 'warehouse.duckdb', threads: 2 } }, target: 'dev' },
    'models/events.yml': { sources: [{ name: 'raw_events', table: 'raw.events' }], models: [{ name: 'events', kind: 'staging', from: 'raw_events' }] },
    'syncs/events.yml': {
      destinations: [{ name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/hook' }],
      syncs: [
        {
          name: 'purchases',
          model: 'events',
          destination: 'hook',
          object: 'purchases',
          mode: 'events',
          key: 'event_id',
          event: { time: 'event_time', name: 'Purchase', lookback: '1 day' },
          fields: { customer_id: 'customer_id', value: 'value' },
        },
      ],
    },
  };
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), stringify(content));
  }
  const project = await loadProject({ projectDir: root, env: {} });
  const connection = await openTarget(project.target.config, { root });
  const d = connection.dialect;
  // One event a second up to now, in time order (as an events table is loaded): the last `fresh` are new.
  const now = new Date();
  const start = new Date(now.getTime() - total * 1000);
  const at = (i: number) => new Date(start.getTime() + i * 1000);
  await connection.execute(sql`CREATE SCHEMA raw`);
  await connection.execute(
    sql`CREATE TABLE raw.events AS SELECT 'e' || i AS event_id, CAST(i % 100000 AS BIGINT) AS customer_id, ${d.timestampLiteral(start)} + i * INTERVAL 1 SECOND AS event_time, CAST(i % 20000 AS DOUBLE) / 100 AS value FROM range(1, ${d.literal(total)}) AS t(i)`,
  );
  await runModels(project, connection, await analyseProject(project, connection), project.order, { logger });
  const engine = new SyncEngine({ project, connection, logger });
  const store = engine.store;
  const sync = project.syncs.get('purchases')!;
  await store.setup();
  await store.setupSync(sync.name, true);
  // The state a run that sent every event up to `mark` leaves: the snapshot of those events and its high-water mark.
  const sent = total - fresh;
  const mark = at(sent);
  await connection.execute(
    sql`INSERT INTO ${d.table(store.snapshot(sync.name))} SELECT event_id, 'h', NULL, NULL, 'synced', ${d.timestampLiteral(mark)}, 'r0', ${d.timestampLiteral(mark)}, event_time FROM raw.events WHERE event_time <= ${d.timestampLiteral(mark)} ORDER BY event_time`,
  );
  await store.setMeta(watermarkName(sync.name), mark.toISOString());
  const model = await modelColumns(connection, project, sync);

  const planned = await timed(async () => planChanges(store, sync, model, await eventWindow(store, sync, sync.destination.config, new Date())));
  const counts = planned.value.counts;
  if (counts.added !== fresh - 1) throw new Error(`the plan found ${counts.added} new events, expected ${fresh - 1}`);
  // The same selection by hand: the events of the window that the snapshot's part of it does not hold.
  const from = d.timestampLiteral(new Date(mark.getTime() - 86_400_000));
  const baseline = await timed(async () => {
    await connection.execute(sql`DROP TABLE IF EXISTS bench_new_events`);
    await connection.execute(
      sql`CREATE TABLE bench_new_events AS SELECT e.* FROM ${d.table(model.table)} AS e WHERE e.event_time > ${from} AND e.event_time <= ${d.timestampLiteral(new Date())} AND NOT EXISTS (SELECT 1 FROM ${d.table(store.snapshot(sync.name))} AS s WHERE s.event_time > ${from} AND s.record_key = e.event_id)`,
    );
    return connection.query(sql`SELECT COUNT(*) AS n FROM bench_new_events`);
  });
  await connection.close();
  await rm(root, { recursive: true, force: true });
  report({
    bench: 'sync',
    metric: 'events_incremental_plan_seconds',
    value: round(planned.seconds, 2),
    unit: 's',
    baseline: round(baseline.seconds, 2),
    goal: '≤ 10 s to plan 100k new events in a 10M-event table',
    ok: planned.seconds <= 10,
    events: total,
    new_events: counts.added,
    baseline_new_events: Number(baseline.value[0]?.['n'] ?? 0),
  });
}

async function writeProject(root: string, rate: number, batch: number, warehouse: BenchWarehouse, memoryLimit: string): Promise<void> {
  // DuckDB's buffer pool fills up to its memory_limit and keeps what it read: the process's peak is about 220 MB
  // (Node, the CLI, the heap of records in flight) plus that limit. 64MB is enough for the diff and the fold of 1M rows.
  // PostgreSQL's memory is the server's, not the CLI's; its URL (with a password) stays in the environment.
  const target = warehouse === 'postgres' ? { type: 'postgres', url: '${env:BENCH_PG_URL}' } : { type: 'duckdb', path: 'warehouse.duckdb', threads: 2, memory_limit: memoryLimit };
  const files: Record<string, unknown> = {
    'tideline.yml': { name: 'bench', targets: { dev: target }, target: 'dev' },
    'models/people.yml': { sources: [{ name: 'raw_people', table: 'raw.people' }], models: [{ name: 'people', kind: 'staging', from: 'raw_people' }] },
    'syncs/bench.yml': {
      destinations: [
        { name: 'hook', type: 'webhook', url: '${env:BENCH_HOOK_URL}', secret: '${env:BENCH_HOOK_SECRET}', batch_size: batch, requests_per_second: rate, concurrency: 8, timeout_seconds: 30 },
      ],
      syncs: [{ name: 'bench', model: 'people', destination: 'hook', object: 'contacts', mode: 'upsert', key: { from: 'id', field: 'external_id' }, fields: { email: 'email', first_name: 'first_name', orders: 'orders', signed_up: 'signed_up' } }],
    },
  };
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), stringify(content));
  }
}

/** CPU seconds used up to `at` (performance.now()): by the `tideline sync` child (all its threads) and by this process, the emulator. */
interface CpuSample {
  readonly at: number;
  readonly cli: number;
  readonly receiver: number;
}

/** What the child's resident memory was made of when it was largest (of the 100 ms samples), in MB: its anonymous pages (heaps: V8's, DuckDB's, malloc's) and its files' (the code of Node, the CLI and DuckDB's library). */
interface RssParts {
  rss_sampled_mb: number;
  rss_anon_mb: number;
  rss_file_mb: number;
}

/** Runs the CLI in a child process, sampling its resident memory (VmHWM is the kernel's own peak) and its CPU. */
function runMeasured(
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<{ code: number | null; peakRssBytes: number; stderr: string; cpu: CpuSample[]; rssParts: RssParts | undefined; v8HeapPeakMb: number | undefined }> {
  return new Promise((resolve, reject) => {
    // `--trace-gc` (node's) writes a line per collection to stdout, "… 120.3 (150.2) -> 80.1 (155.2) MB …": the heap's
    // size used (committed) before and after. Otherwise stdout is not read, so it is not piped (a full pipe would stop the CLI).
    const traceGc = nodeArgs.includes('--trace-gc');
    const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', traceGc ? 'pipe' : 'ignore', 'pipe'] });
    let v8HeapPeakMb: number | undefined;
    let pending = '';
    if (traceGc) child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        for (const m of line.matchAll(/\(([\d.]+)\) (?:->|MB)/g)) v8HeapPeakMb = Math.max(v8HeapPeakMb ?? 0, Number(m[1]));
      }
    });
    let stderr = '';
    let peak = 0;
    const cpu: CpuSample[] = [];
    let rssParts: RssParts | undefined;
    const ownStart = process.cpuUsage();
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
    });
    const sample = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const mb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
        peak = Math.max(peak, mb('VmHWM') * 1024 * 1024);
        const rss = mb('VmRSS');
        if (!rssParts || rss > rssParts.rss_sampled_mb) rssParts = { rss_sampled_mb: round(rss, 1), rss_anon_mb: round(mb('RssAnon'), 1), rss_file_mb: round(mb('RssFile'), 1) };
        // utime and stime, the 14th and 15th fields, in clock ticks (USER_HZ, 100 on Linux), after the command's name.
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const own = process.cpuUsage(ownStart);
        cpu.push({ at: performance.now(), cli: (Number(fields[11]) + Number(fields[12])) / 100, receiver: (own.user + own.system) / 1e6 });
      } catch {
        // The process has exited between two samples.
      }
    };
    const timer = setInterval(sample, 100);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ code, peakRssBytes: peak, stderr, cpu, rssParts, v8HeapPeakMb });
    });
  });
}

/**
 * The CPU the whole command took, the CLI's and the receiver's (the emulator, in this process), before the first
 * answer, while answers came, and after the last; and the floor it sets on this machine: the seconds all of it takes
 * on its cores, were every second of the command to keep every core busy.
 */
function cpuSpans(cpu: readonly CpuSample[], window: { first: number; last: number } | undefined, started: number, ended: number): Record<string, number> {
  const last = cpu[cpu.length - 1];
  if (!last || !window) return {};
  const at = (time: number) => cpu.findLast((s) => s.at <= time) ?? { at: time, cli: 0, receiver: 0 };
  const [first, end] = [at(window.first), at(window.last)];
  const cores = availableParallelism();
  const total = last.cli + last.receiver;
  return {
    first_answer_seconds: round((window.first - started) / 1000, 1),
    after_last_answer_seconds: round((ended - window.last) / 1000, 1),
    cli_cpu_seconds: round(last.cli, 1),
    receiver_cpu_seconds: round(last.receiver, 1),
    cpu_before_first_answer: round(first.cli + first.receiver, 1),
    cpu_while_answering: round(end.cli + end.receiver - first.cli - first.receiver, 1),
    cpu_after_last_answer: round(total - end.cli - end.receiver, 1),
    cores,
    cpu_floor_seconds: round(total / cores, 1),
  };
}
