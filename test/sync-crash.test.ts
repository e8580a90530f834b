import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModels } from '../src/pipeline/runner.js';
import { sql } from '../src/dialects/sql.js';
import { createLogger } from '../src/log/logger.js';
import { analyseProject } from '../src/project/analyse.js';
import { loadProject } from '../src/project/loader.js';
import { SyncEngine } from '../src/sync/engine.js';
import { openTarget } from '../src/warehouses/registry.js';
import { runCli } from './support/cli.js';
import { CRASH_HOOK, runAndKill, type KillPoint } from './support/crash.js';
import { PlainReceiver, type Arrival } from './support/plain-receiver.js';
import { contractSync, people, SyncHarness, type Person } from './support/sync-harness.js';

/**
 * Crashes and faults, judged by an independent receiver (test/support/plain-receiver.ts: it logs every record it is
 * sent and shares no code with the webhook adapter or its emulator) and, for files, by reading the files back.
 *
 * Each trial copies a built project and runs the real CLI three times: a run killed with SIGKILL at a random moment
 * after it planned, a run killed at a random moment after it started (while recovering, planning or sending), and a
 * run left to finish. Between the first two the model changes (a seventh of the people leave, a fifth change, a
 * hundred arrive), so records in flight at a crash later leave the model or change. The receiver fails a fifth of
 * its requests — 429, 500, 503, hangs past the timeout and connection resets, before or after the request took
 * effect. Half the trials' receivers de-duplicate by the records' idempotency keys, half apply whatever comes.
 *
 * After the final run: the receiver holds exactly what the mode promises (0 lost, nothing extra); a de-duplicating
 * receiver applied no record twice; nothing was rejected (an insert re-sent after a crash is not a rejection); the
 * final run sent what it planned; the state knows everything (a further plan sends nothing). Files: every manifested
 * row appears once across all files, and replaying them gives the model.
 */
/**
 * Seeds per mode: 6 by default (18 webhook trials, 6 to files), as `npm test` runs them; TIDELINE_CRASH_TRIALS=N runs
 * N per mode (3N webhook trials, N to files), each seed a different pair of kill points and fault sequence. The
 * README's figures come from N = 10.
 */
const SEEDS = Array.from({ length: seedsPerMode(process.env['TIDELINE_CRASH_TRIALS']) }, (_, i) => i + 1);

function seedsPerMode(value: string | undefined): number {
  if (value === undefined) return 6;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`TIDELINE_CRASH_TRIALS must be a whole number of seeds per mode, at least 1 (got "${value}")`);
  return n;
}
const ROWS = people(800);
const CHANGED: readonly Person[] = [
  ...ROWS.filter((p) => p.id % 7 !== 0).map((p) => (p.id % 5 === 0 ? { ...p, orders: p.orders + 100 } : p)),
  ...people(100, ROWS.length + 1),
];
const MODES = ['insert', 'upsert', 'audience'] as const;
type Mode = (typeof MODES)[number];

const fields = (p: Person) => ({ email: p.email, first_name: p.first_name, orders: p.orders });

/**
 * Whether the receiver holds what the mode promises after the model changed from ROWS to CHANGED; the problems, if
 * not. Audience: exactly the new model. Upsert: every record of the new model with its latest values, and nothing
 * else but people who left it with the values they had. Insert: every key of the new model, each with one of the
 * values it had (an insert never updates), and nothing else but people who left, as they were.
 */
function heldProblems(mode: Mode, held: ReadonlyMap<string, Record<string, unknown>>): string[] {
  const before = new Map(ROWS.map((p) => [String(p.id), fields(p)]));
  const after = new Map(CHANGED.map((p) => [String(p.id), fields(p)]));
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const problems: string[] = [];
  for (const [key, value] of after) {
    const got = held.get(key);
    if (!got) problems.push(`${key} lost`);
    else if (mode === 'insert' ? !same(got, value) && !same(got, before.get(key)) : !same(got, value)) problems.push(`${key} holds ${JSON.stringify(got)}`);
  }
  for (const [key, got] of held) {
    if (after.has(key)) continue;
    if (mode === 'audience') problems.push(`${key} left the audience but is still held`);
    else if (!same(got, before.get(key))) problems.push(`${key} is extra: ${JSON.stringify(got)}`);
  }
  return problems.slice(0, 10);
}

const report: string[] = [];
let template: string;

beforeAll(async () => {
  const harness = await SyncHarness.start({
    rows: ROWS,
    destinations: [
      CRASH_HOOK,
      { name: 'files', type: 'file', path: 'out', format: 'csv', batch_size: 10, requests_per_second: 100 },
      { name: 'full_files', type: 'file', path: 'out_full', format: 'csv', batch_size: 10, requests_per_second: 100, full_list: true },
    ],
    syncs: [
      // A seventh of the audience leaves (114 of 800, 14%): beyond the default max_removals of 10%, which this
      // suite, about crashes and faults, allows on purpose.
      ...MODES.map((mode) => contractSync(mode, 'hook', `contacts_${mode}`, mode, mode === 'audience' ? { max_removals: '20%' } : {})),
      contractSync('file_insert', 'files', 'contacts', 'insert'),
      contractSync('file_full', 'full_files', 'contacts', 'mirror', { max_deletes: '50%' }),
    ],
    env: { HOOK_URL: 'http://127.0.0.1:1/hook' },
  });
  template = harness.root;
  await harness.connection.close();
}, 120_000);

afterAll(() => {
  // Each trial folding in parts was killed at least once after a part committed: its recovery met a `folded` row.
  expect(killedAfterAPart).toBeGreaterThanOrEqual(trialsInParts);
  const max = Math.max(0, ...resends);
  console.info(`[crash and faults]\n${report.join('\n')}\nkills after a part was folded: ${killedAfterAPart}\nre-sends per crash to receivers that do not de-duplicate: max ${max}, mean ${Math.round(resends.reduce((a, b) => a + b, 0) / Math.max(1, resends.length))} over ${resends.length} crashes`);
});

/** A copy of the built project for one trial. */
function copyProject(name: string): string {
  const root = mkdtempSync(join(tmpdir(), `tideline-crash-${name}-`));
  cpSync(template, root, { recursive: true });
  return root;
}

/** Replaces the source rows with CHANGED and rebuilds the model, as the nightly load and `tideline run` would. */
async function changeModel(root: string): Promise<void> {
  const project = await loadProject({ projectDir: root, env: { HOOK_URL: 'http://127.0.0.1:1/hook' } });
  const connection = await openTarget(project.target.config, { root });
  try {
    const source = project.sources.get('raw_people')!;
    const table = source.table!;
    const d = connection.dialect;
    await connection.execute(sql`DELETE FROM ${d.table(table)} WHERE 1 = 1`);
    const columns = ['id', 'email', 'first_name', 'orders'].map((name) => ({ name, type: name === 'id' || name === 'orders' ? ('integer' as const) : ('string' as const) }));
    await connection.insertRows(table, columns, [CHANGED.map((p) => [p.id, p.email, p.first_name, p.orders])]);
    const results = await runModels(project, connection, await analyseProject(project, connection), project.order, { logger: createLogger({ level: 'silent' }) });
    expect(results.every((r) => r.status === 'success')).toBe(true);
  } finally {
    await connection.close();
  }
}

/** After the final run: what the state says — rejections, and what a further plan would send. */
async function stateAfter(root: string, sync: string, env: Record<string, string>) {
  const project = await loadProject({ projectDir: root, env });
  const connection = await openTarget(project.target.config, { root });
  try {
    const engine = new SyncEngine({ project, connection, logger: createLogger({ level: 'silent' }) });
    const preview = await engine.plan(project.syncs.get(sync)!, 0);
    return { rejected: await engine.store.rejectedRows(sync, 10), counts: preview.counts, pendingJournal: preview.pendingJournal };
  } finally {
    await connection.close();
  }
}

function lastResult(root: string): { status: string; counts: Record<string, number>; sent: number; accepted: number; rejected: number; already_delivered: number } {
  return (JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { results: ReturnType<typeof lastResult>[] }).results[0]!;
}

/**
 * Seeds after the second fold their journal in parts while they send (`TIDELINE_FOLD_ROWS`, every 20 settled records
 * here), as runs of 250,000 records or more do by default: a crash then leaves a journal that a part already folded.
 */
function foldEnv(seed: number): Record<string, string> {
  return seed > 2 ? { TIDELINE_FOLD_ROWS: '20' } : {};
}

/** Kills of runs folding in parts that left a part folded (a `folded` row in the journal), over the trials that fold in parts. */
let killedAfterAPart = 0;
let trialsInParts = 0;

/** Whether the run killed in `root` had folded a part of its journal: its `folded` row waits for the next run. */
async function partFolded(root: string, sync: string): Promise<boolean> {
  const project = await loadProject({ projectDir: root, env: { HOOK_URL: 'http://127.0.0.1:1/hook' } });
  const connection = await openTarget(project.target.config, { root });
  try {
    const store = new SyncEngine({ project, connection, logger: createLogger({ level: 'silent' }) }).store;
    if (!(await connection.columns(store.journal(sync)))) return false;
    const d = connection.dialect;
    const rows = await connection.query(sql`SELECT COUNT(*) AS ${d.id('n')} FROM ${d.table(store.journal(sync))} WHERE ${d.id('error_code')} = ${d.string('folded')}`);
    return Number(rows[0]?.['n'] ?? 0) > 0;
  } finally {
    await connection.close();
  }
}

/** Deterministic kill points per seed, after the plan: while sending, journaling or folding outcomes. */
function killPoints(seed: number): [KillPoint, KillPoint] {
  let x = seed * 2654435761;
  const next = () => ((x = (x * 1103515245 + 12345) >>> 0) / 4294967296);
  return [{ afterPlanMs: Math.floor(next() * 1000) }, { afterPlanMs: Math.floor(next() * 600) }];
}

/** Arrivals that took effect, or met a record the receiver held (an insert of a held key), by content. */
const delivered = (a: Arrival) => a.outcome === 'applied' || a.outcome === 'exists';
const identity = (a: Arrival) => `${a.operation}\u0000${a.key}\u0000${JSON.stringify(a.fields)}`;

/** Changes a de-duplicating receiver applied more than once: a re-send it could not recognise. */
function appliedTwice(arrivals: readonly Arrival[]): number {
  const seen = new Set<string>();
  let count = 0;
  for (const a of arrivals.filter((x) => x.outcome === 'applied')) {
    if (seen.has(identity(a))) count++;
    seen.add(identity(a));
  }
  return count;
}

/** Records of `later` that `earlier` had already delivered with the same content: what a crash made Tideline re-send. */
function resent(earlier: readonly Arrival[], later: readonly Arrival[]): number {
  const seen = new Set(earlier.filter(delivered).map(identity));
  return new Set(later.filter((a) => delivered(a) && seen.has(identity(a))).map(identity)).size;
}

/** Re-sends per crash measured with receivers that do not de-duplicate. */
const resends: number[] = [];

describe.concurrent('crash and faults against an independent receiver (webhook)', () => {
  for (const mode of MODES) {
    for (const seed of SEEDS) {
      const dedupe = seed % 2 === 0;
      it(`${mode}, seed ${seed}, ${dedupe ? 'de-duplicating' : 'plain'} receiver: 0 lost, 0 duplicated, 0 false rejections`, async () => {
        const receiver = await PlainReceiver.start({ faultRate: 0.2, seed: seed * 31 + MODES.indexOf(mode), hangMs: 800, dedupe });
        try {
          const root = copyProject(`${mode}-${seed}`);
          const env = { HOOK_URL: receiver.url, ...foldEnv(seed) };
          const args = ['sync', '--select', mode];
          const [random, second] = killPoints(seed * 7 + MODES.indexOf(mode));
          // A run folding in parts dies first just after a part committed (its debug line), then at a random moment.
          const first: KillPoint = seed > 2 ? { onLog: (entry) => entry['event'] === 'journal_folded' } : random;
          const crash1 = await runAndKill(seed > 2 ? [...args, '--log-level', 'debug'] : args, root, env, first);
          const afterFirst = receiver.arrivals.length;
          const parts = [crash1.killed && (await partFolded(root, mode))];
          await changeModel(root);
          const crash2 = await runAndKill(args, root, env, second);
          const afterSecond = receiver.arrivals.length;
          parts.push(crash2.killed && (await partFolded(root, mode)));
          killedAfterAPart += parts.filter(Boolean).length;
          if (seed > 2) trialsInParts++;
          const final = await runCli([...args, '--log-format', 'json'], { cwd: root, env });
          expect(final.code, final.stderr.slice(-2000)).toBe(0);

          // 0 lost and nothing extra: the receiver holds what the mode promises.
          expect(heldProblems(mode, receiver.records(`contacts_${mode}`))).toEqual([]);
          // 0 false rejections, and the state knows everything the receiver holds.
          const state = await stateAfter(root, mode, env);
          expect(state.rejected).toEqual([]);
          expect(state.counts).toMatchObject({ added: 0, changed: 0, removed: 0, held_back: 0 });
          expect(state.pendingJournal).toBe(0);
          // The final run sent exactly what it planned.
          const result = lastResult(root);
          expect(result.status).toBe('success');
          expect(result.sent).toBe(result.counts['added']! + result.counts['changed']! + result.counts['removed']!);
          // A de-duplicating receiver never applied the same change twice.
          const twice = appliedTwice(receiver.arrivals);
          if (dedupe) expect(twice).toBe(0);
          const runs = [receiver.arrivals.slice(0, afterFirst), receiver.arrivals.slice(afterFirst, afterSecond), receiver.arrivals.slice(afterSecond)];
          const perCrash = [resent(runs[0]!, [...runs[1]!, ...runs[2]!]), resent(runs[1]!, runs[2]!)];
          if (!dedupe) resends.push(...perCrash);
          const faults = [...receiver.faults.values()].reduce((a, b) => a + b, 0);
          report.push(
            `${mode} seed ${seed} (${dedupe ? 'dedupe' : 'plain'}${seed > 2 ? `, folded in parts; a part folded at the kills: ${parts.join(' and ')}` : ''}): [${crash1.phase}] [${crash2.phase}]; ${receiver.requests} requests, ${faults} faults; ` +
              `re-sent after each crash ${perCrash.join(' and ')}; applied twice ${twice}; replays absorbed ${receiver.arrivals.filter((a) => a.outcome === 'replay').length}; ` +
              `final run: ${result.sent} sent, ${result.already_delivered} already delivered`,
          );
          expect(faults / receiver.requests).toBeGreaterThan(0.08);
        } finally {
          await receiver.close();
        }
      }, 90_000);
    }
  }
});

describe.concurrent('crash against the file destination', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: every manifested row once, none lost, no partial file left`, async () => {
      const root = copyProject(`file-${seed}`);
      const env = { HOOK_URL: 'http://127.0.0.1:1/hook', ...foldEnv(seed) };
      const args = ['sync', '--select', 'file_insert'];
      const [first, second] = killPoints(seed * 13 + 5);
      const crash1 = await runAndKill(args, root, env, first);
      const crash2 = await runAndKill(args, root, env, second);
      const final = await runCli([...args, '--log-format', 'json'], { cwd: root, env });
      expect(final.code, final.stderr.slice(-2000)).toBe(0);

      const dir = join(root, 'out', 'file_insert');
      const names = readdirSync(dir);
      expect(names.filter((n) => n.endsWith('.partial'))).toEqual([]);
      const manifests = names.filter((n) => n.endsWith('.manifest.json')).sort();
      const rows = new Map<string, number>();
      let incomplete = 0;
      for (const name of manifests) {
        const manifest = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { file: string; records: number; complete: boolean };
        expect(existsSync(join(dir, manifest.file))).toBe(true);
        const records = parse(readFileSync(join(dir, manifest.file)), { columns: true }) as Record<string, string>[];
        // The manifest lists precisely the rows its file holds.
        expect(records.length).toBe(manifest.records);
        if (!manifest.complete) incomplete++;
        for (const record of records) rows.set(record['external_id']!, (rows.get(record['external_id']!) ?? 0) + 1);
      }
      // Every data file has its manifest.
      expect(names.filter((n) => n.endsWith('.csv')).length).toBe(manifests.length);
      const repeated = [...rows.values()].filter((n) => n > 1).length;
      expect(repeated).toBe(0);
      expect([...rows.keys()].sort()).toEqual(ROWS.map((p) => String(p.id)).sort());
      const state = await stateAfter(root, 'file_insert', env);
      expect(state.counts).toMatchObject({ added: 0, changed: 0, removed: 0 });
      report.push(`file seed ${seed}${seed > 2 ? ' (folded in parts)' : ''}: [${crash1.phase}] [${crash2.phase}]; ${manifests.length} files (${incomplete} recovered from a dead run), ${rows.size} rows, 0 twice`);
    }, 90_000);
  }
});

describe.concurrent("crash against the file destination's full list", () => {
  /** Killed as soon as the run says it writes the full list: its changes are delivered and folded, the list half-written. */
  const whileListing: KillPoint = { onLog: (entry) => String(entry['msg'] ?? '').includes('writing the full list') };
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: after the final run, one whole full list holding the model, and the change files agree`, async () => {
      const root = copyProject(`full-${seed}`);
      const env = { HOOK_URL: 'http://127.0.0.1:1/hook' };
      const args = ['sync', '--select', 'file_full'];
      const [sending] = killPoints(seed * 17 + 3);
      // Odd seeds die writing the first list, then while sending the changes; even seeds the other way round.
      const crash1 = await runAndKill(args, root, env, seed % 2 ? whileListing : sending);
      await changeModel(root);
      const crash2 = await runAndKill(args, root, env, seed % 2 ? sending : whileListing);
      const final = await runCli([...args, '--log-format', 'json'], { cwd: root, env });
      expect(final.code, final.stderr.slice(-2000)).toBe(0);

      const dir = join(root, 'out_full', 'file_full');
      const names = readdirSync(dir);
      const full = names.filter((n) => n.includes('.full.')).sort();
      expect(full).toHaveLength(2);
      const manifest = JSON.parse(readFileSync(join(dir, full[1]!), 'utf8')) as { list: string; file: string; records: number; complete: boolean };
      expect(manifest).toMatchObject({ list: 'full', file: full[0], complete: true });
      const listed = parse(readFileSync(join(dir, manifest.file)), { columns: true }) as Record<string, string>[];
      expect(listed.length).toBe(manifest.records);
      const wanted = CHANGED.map((p) => ({ _op: 'upsert', external_id: String(p.id), email: p.email ?? '', first_name: p.first_name ?? '', orders: String(p.orders) }));
      const byKey = (a: Record<string, string>, b: Record<string, string>) => a['external_id']!.localeCompare(b['external_id']!);
      expect([...listed].sort(byKey)).toEqual(wanted.sort(byKey));

      // The change files, replayed in order, hold the same people.
      const held = new Map<string, Record<string, string>>();
      const changeManifests = names.filter((n) => n.endsWith('.manifest.json') && !n.includes('.full.')).sort();
      for (const name of changeManifests) {
        const change = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { file: string };
        for (const row of parse(readFileSync(join(dir, change.file)), { columns: true }) as Record<string, string>[]) {
          if (row['_op'] === 'delete') held.delete(row['external_id']!);
          else held.set(row['external_id']!, row);
        }
      }
      expect([...held.values()].sort(byKey)).toEqual(wanted);
      expect(names.filter((n) => n.endsWith('.partial') || n.endsWith('.tmp'))).toEqual([]);
      report.push(`full list seed ${seed}: [${crash1.phase}] [${crash2.phase}]; ${changeManifests.length} change files, ${listed.length} listed`);
    }, 90_000);
  }
});

