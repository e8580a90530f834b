import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinSql, sql } from '../src/dialects/sql.js';
import { createLogger } from '../src/log/logger.js';
import { loadProject } from '../src/project/loader.js';
import { SyncEngine } from '../src/sync/engine.js';
import { openTarget } from '../src/warehouses/registry.js';
import { BIN, runCli } from './support/cli.js';
import { CRASH_HOOK } from './support/crash.js';
import { PlainReceiver } from './support/plain-receiver.js';
import { contractSync, people, SyncHarness } from './support/sync-harness.js';
import { engines, type Engine } from './support/engines.js';

/**
 * `tideline forget` killed with SIGKILL in the middle of erasing, judged by an independent receiver
 * (test/support/plain-receiver.ts, which drops a key on `forget`) and by the state itself: the CLI is killed while the
 * receiver handles its k-th erasure request — the request takes effect, the process never hears it — then the request
 * is run again (the same command, or `--resume` without the values). Afterwards no object of the receiver holds any
 * of the people, no snapshot names them, the request is `done`, and the next `tideline sync` sends nothing about them
 * although the source still holds them.
 */
const ROWS = people(300);
const FORGOTTEN = ROWS.filter((p) => p.id % 5 === 0);
const SYNCS = ['upsert', 'audience'] as const;
const SEEDS = [1, 2, 3, 4];
let template: string;
const report: string[] = [];

/** A built project syncing ROWS to the hook, on `engine` (DuckDB in a file of the project by default). */
function builtProject(engine?: Engine): Promise<SyncHarness> {
  return SyncHarness.start({
    rows: ROWS,
    destinations: [CRASH_HOOK],
    syncs: SYNCS.map((mode) => contractSync(mode, 'hook', `contacts_${mode}`, mode)),
    env: { HOOK_URL: 'http://127.0.0.1:1/hook' },
    ...(engine ? { engine } : {}),
  });
}

beforeAll(async () => {
  const harness = await builtProject();
  template = harness.root;
  await harness.connection.close();
}, 120_000);

afterAll(() => console.info(`[forget, killed midway]\n${report.join('\n')}`));

/** Runs the CLI and kills it with SIGKILL when `armed` resolves; resolves with whether it was killed. */
function runUntil(args: readonly string[], cwd: string, env: Record<string, string>, armed: Promise<void>): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--log-format', 'json'], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    void armed.then(() => child.kill('SIGKILL'));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ killed: signal === 'SIGKILL', code, stderr }));
  });
}

async function stateOf(root: string, env: Record<string, string>) {
  const project = await loadProject({ projectDir: root, env });
  const connection = await openTarget(project.target.config, { root });
  try {
    const engine = new SyncEngine({ project, connection, logger: createLogger({ level: 'silent' }) });
    const d = connection.dialect;
    const keys = FORGOTTEN.map((p) => d.string(String(p.id)));
    const named: Record<string, number> = {};
    for (const mode of SYNCS) {
      const rows = await connection.query(sql`SELECT COUNT(*) AS n FROM ${d.table(engine.store.snapshot(mode))} WHERE record_key IN (${joinSql(keys)})`);
      named[mode] = Number(rows[0]!['n']);
    }
    const requests = await connection.query(sql`SELECT status FROM ${d.table({ schema: project.target.stateSchema, name: 'privacy_requests' })}`);
    return { named, requests: requests.map((r) => String(r['status'])) };
  } finally {
    await connection.close();
  }
}

/** One trial in a built project: sync, forget killed at its `seed`-th erasure request, forget again, sync. */
async function trial(label: string, root: string, seed: number, resume: boolean): Promise<void> {
  let kill: () => void = () => {};
  const armed = new Promise<void>((resolve) => (kill = resolve));
  let erasures = 0;
  // The k-th erasure request takes effect at the receiver, then the process dies before it hears the answer.
  const receiver = await PlainReceiver.start({
    seed,
    script: () => {
      const last = receiver.arrivals.at(-1);
      if (last?.operation === 'forget' && ++erasures >= seed) kill();
      return undefined;
    },
  });
  try {
    const env = { HOOK_URL: receiver.url };
    const sync = await runCli(['sync', '--log-format', 'json'], { cwd: root, env });
    expect(sync.code, sync.stderr.slice(-2000)).toBe(0);
    for (const mode of SYNCS) expect(receiver.records(`contacts_${mode}`).size).toBe(ROWS.length);
    writeFileSync(join(root, 'requests.csv'), `email\n${FORGOTTEN.map((p) => p.email).join('\n')}\n`);

    // The receiver's script sees each request as it arrives (before applying it): at the seed-th erasure request the
    // CLI is killed, while that request (and whatever else is in flight) takes effect unanswered.
    const crashed = await runUntil(['forget', '--from', 'requests.csv'], root, env, armed);
    const before = receiver.arrivals.length;
    const erasedAtCrash = receiver.arrivals.filter((a) => a.operation === 'forget' && a.outcome === 'applied').length;
    expect(crashed.killed, crashed.stderr).toBe(true);
    const midway = await stateOf(root, env);
    // Killed midway: some of them are still named by the state, the request is unfinished.
    expect(midway.requests).toEqual(['running']);
    expect(midway.named['upsert']! + midway.named['audience']!).toBeGreaterThan(0);

    const again = await runCli(resume ? ['forget', '--resume', '--log-format', 'json'] : ['forget', '--from', 'requests.csv', '--log-format', 'json'], { cwd: root, env });
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    for (const mode of SYNCS) {
      const held = receiver.records(`contacts_${mode}`);
      expect(FORGOTTEN.filter((p) => held.has(String(p.id))).map((p) => p.id), mode).toEqual([]);
      expect(held.size, mode).toBe(ROWS.length - FORGOTTEN.length);
    }
    const after = await stateOf(root, env);
    expect(after.named).toEqual({ upsert: 0, audience: 0 });
    expect(after.requests).toEqual(['done']);

    // The source still holds them: the next sync leaves them out and sends nothing.
    const arrivalsBefore = receiver.arrivals.length;
    const next = await runCli(['sync', '--log-format', 'json'], { cwd: root, env });
    expect(next.code, next.stderr.slice(-2000)).toBe(0);
    const results = JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { results: { sync: string; counts: Record<string, number>; sent: number }[] };
    for (const r of results.results) {
      expect(r.counts['forgotten'], r.sync).toBe(FORGOTTEN.length);
      expect(r.sent, r.sync).toBe(0);
    }
    expect(receiver.arrivals.length).toBe(arrivalsBefore);
    report.push(`${label}: killed after ${erasedAtCrash} erasures applied (${before} arrivals), ${resume ? '--resume' : 'same command'} completed: 0 left at the receiver, 0 in the state`);
  } finally {
    await receiver.close();
  }
}

describe.concurrent('tideline forget killed midway (kill -9), then run again', () => {
  for (const seed of SEEDS) {
    const resume = seed % 2 === 0;
    it(`seed ${seed}: killed at erasure request ${seed}, completed by ${resume ? '--resume' : 'the same command'}`, async () => {
      const root = mkdtempSync(join(tmpdir(), `tideline-forget-crash-${seed}-`));
      cpSync(template, root, { recursive: true });
      await trial(`seed ${seed}`, root, seed, resume);
    }, 120_000);
  }
});

// PostgreSQL: each trial builds its own project in its own schemas (the warehouse is not a file to copy).
for (const engine of engines().filter((e) => e.name === 'postgres')) {
  describe.concurrent('tideline forget killed midway (kill -9), then run again (PostgreSQL)', () => {
    for (const seed of [2, 3]) {
      it(`seed ${seed}: killed at erasure request ${seed}, completed by ${seed % 2 === 0 ? '--resume' : 'the same command'}`, async () => {
        const harness = await builtProject(engine);
        await harness.connection.close();
        try {
          await trial(`postgres seed ${seed}`, harness.root, seed, seed % 2 === 0);
        } finally {
          await harness.reopen();
          await harness.close();
        }
      }, 120_000);
    }
  });
}
