import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookEmulator, type WebhookEmulator } from '../destinations/webhook/emulator.js';
import { openTarget } from '../src/warehouses/registry.js';
import { destinationType } from '../destinations/index.js';
import { acquireLock } from '../src/state/lock.js';
import { lockNotePath } from '../src/state/lock-note.js';
import { StateStore } from '../src/state/store.js';
import { BIN, runCli, tempProject, type CliResult } from './support/cli.js';
import { pgUrl, uniqueSchema } from './support/engines.js';

/**
 * Two `tideline sync` processes on one project, for real: child processes of bin/tideline against a webhook
 * emulator slowed by a rate limit (one record per request, about three requests a second), so the first holds its
 * lock for a couple of seconds. On DuckDB the second process cannot even open the database file while the first
 * runs; on PostgreSQL it meets the lock row. Either way: exit 1 naming the holder's run, or with --wait, a wait and
 * then a sync with nothing left to send.
 */
const RECORDS = 8;
const ROWS = Array.from({ length: RECORDS }, (_, i) => ({ id: i + 1, email: `person${i + 1}@example.com` }));
const HOLDER = /locked by run (\d{8}T\d{9}Z-[0-9a-f]{6}) since (\d{4}-\d\d-\d\dT[\d:.]+Z)/;

interface Setup {
  readonly name: string;
  /** tideline.yml lines after `name:`, and the model's source. */
  project(): Promise<{ tideline: string; sources: string; files: Record<string, string> }>;
  /** Holds the project as a running sync would, until the returned function is called. */
  hold(root: string, hookUrl: string): Promise<() => Promise<void>>;
}

const setups: Setup[] = [
  {
    name: 'duckdb',
    project: async () => ({
      tideline: '',
      sources: '  - name: raw_people\n    file: data/people.csv\n',
      files: { 'data/people.csv': `id,email\n${ROWS.map((r) => `${r.id},${r.email}`).join('\n')}\n` },
    }),
    hold: async (root) => {
      const connection = await openTarget({ type: 'duckdb', path: '.tideline/warehouse.duckdb' }, { root });
      const note = { runId: 'test-holder', syncs: ['crm_contacts'], host: hostname(), pid: process.pid, since: new Date().toISOString() };
      writeFileSync(lockNotePath(join(root, 'target')), JSON.stringify(note));
      return () => connection.close();
    },
  },
];
const url = pgUrl();
if (url) {
  setups.push({
    name: 'postgres',
    project: async () => {
      const source = uniqueSchema('src');
      const connection = await openTarget({ type: 'postgres', url }, { root: '.' });
      try {
        const d = connection.dialect;
        await connection.execute(d.createSchema(source));
        const table = { schema: source, name: 'people' };
        await connection.execute(d.createTable(table, [{ name: 'id', type: 'integer' }, { name: 'email', type: 'string' }]));
        await connection.insertRows(table, [{ name: 'id', type: 'integer' }, { name: 'email', type: 'string' }], (async function* () {
          yield ROWS.map((r) => [r.id, r.email]);
        })());
      } finally {
        await connection.close();
      }
      return {
        tideline: `targets:\n  pg: { type: postgres, url: "${url}" }\nschema: ${uniqueSchema('mdl')}\nstate_schema: ${uniqueSchema('state')}\n`,
        sources: `  - name: raw_people\n    table: ${source}.people\n`,
        files: {},
      };
    },
    hold: async (root, hookUrl) => {
      const state = /state_schema: (\S+)/.exec(readFileSync(join(root, 'tideline.yml'), 'utf8'))![1]!;
      const connection = await openTarget({ type: 'postgres', url }, { root });
      const store = new StateStore(connection, state);
      await store.setup();
      const scope = destinationType('webhook')!.lockScope({ url: hookUrl }, 'contacts');
      const lease = await acquireLock(store, scope, 'crm_contacts', 'test-holder', { leaseMs: 60_000, host: 'another-machine' });
      return async () => {
        await lease.release();
        await connection.close();
      };
    },
  });
} else {
  console.warn('[tideline tests] WARNING: PostgreSQL unavailable — the postgres half of the sync concurrency suite is SKIPPED');
}

describe.each(setups)('two tideline sync processes at once ($name)', (setup) => {
  let emulator: WebhookEmulator;
  let root: string;
  let env: Record<string, string> = {};
  const sync = (...args: string[]) => runCli(['sync', '--log-format', 'pretty', ...args], { cwd: root, env });

  beforeAll(async () => {
    emulator = await startWebhookEmulator({ rateLimit: { requests: 3, perMs: 1000 } });
    const { tideline, sources, files } = await setup.project();
    root = tempProject({
      'tideline.yml': `name: shop\n${tideline}`,
      'models/people.yml': `sources:\n${sources}models:\n  - name: people\n    kind: staging\n    from: raw_people\n    columns:\n      customer_id: { from: id, type: string }\n      email: email\n`,
      'syncs/crm.yml': `destinations:
  - name: crm_hook
    type: webhook
    url: \${env:HOOK_URL}
    secret: \${env:HOOK_SECRET}
syncs:
  - name: crm_contacts
    model: people
    destination: crm_hook
    object: contacts
    mode: upsert
    key: customer_id
    fields: { email: email }
    options: { batch_size: 1 }
`,
      ...files,
    });
    env = { HOOK_URL: `${emulator.endpoint}/hook`, HOOK_SECRET: emulator.secret };
    const run = await runCli(['run'], { cwd: root, env });
    expect(run.code, run.stderr).toBe(0);
  }, 60_000);
  afterAll(() => emulator?.close());

  it('started together: one sends every record, the other exits 1 naming the run holding the lock', async () => {
    const [a, b] = await Promise.all([sync(), sync()]);
    const [winner, loser] = a.code === 0 ? [a, b] : [b, a];
    expect(winner.code, winner.stderr).toBe(0);
    expect(loser.code, loser.stderr).toBe(1);
    const holder = HOLDER.exec(loser.stderr);
    expect(holder, loser.stderr).not.toBeNull();
    expect(loser.stderr).toContain('nothing was sent (--wait waits for it)');
    // The run named is the winner's, and the time is when it started, not in the future.
    const results = JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { results: { run_id: string; sent: number }[] };
    expect(holder![1]).toBe(results.results[0]!.run_id);
    expect(Date.parse(holder![2]!)).toBeLessThanOrEqual(Date.now());
    expect(results.results[0]!.sent).toBe(RECORDS);
    expect(emulator.records('contacts').size).toBe(RECORDS);
    expect(emulator.stats.recordsReceived).toBe(RECORDS);
    for (const secret of [emulator.secret, url ?? '\u0000']) expect(loser.stderr).not.toContain(secret);
  });

  it('--wait: a second sync waits for the holder, then has nothing to send; a short --wait gives up with exit 1', async () => {
    const before = emulator.stats.recordsReceived;
    // The test holds what a running sync holds: the DuckDB file (with its note), or the lock row on PostgreSQL.
    const release = await setup.hold(root, `${emulator.endpoint}/hook`);
    const patient = spawnCli(['sync', '--log-format', 'pretty', '--wait', '60'], { cwd: root, env });
    const impatient = await sync('--wait', '0.5');
    expect(impatient.code, impatient.stderr).toBe(1);
    expect(impatient.stderr).toMatch(/locked by run test-holder since \d{4}-/);
    expect(impatient.stderr).toContain('nothing was sent (gave up waiting)');
    await patient.seen(/waiting: .*locked by run test-holder/);
    await release();
    const waited = await patient.done;
    expect(waited.code, waited.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { results: { status: string; sent: number; counts: { added: number; changed: number } }[] };
    expect(results.results[0]).toMatchObject({ status: 'success', sent: 0, counts: { added: 0, changed: 0 } });
    expect(emulator.stats.recordsReceived).toBe(before);
  });
});

/** `runCli`, also telling when stderr first matches a pattern (to act while the command runs). */
function spawnCli(args: readonly string[], options: { cwd: string; env: Record<string, string> }) {
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const w of waiters.filter((w) => w.pattern.test(stderr))) w.resolve();
  });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout: '', stderr })));
  return {
    done,
    seen: (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(stderr)) return resolve();
        waiters.push({ pattern, resolve });
        void done.then((r) => reject(new Error(`the command ended without printing ${pattern}: ${r.stderr}`)));
      }),
  };
}
