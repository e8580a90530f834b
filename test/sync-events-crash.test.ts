import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractEvents, EVENT_COLUMNS, type ContractEvent } from '../destinations/emulator-kit/contract.js';
import { runModels } from '../src/pipeline/runner.js';
import { sql } from '../src/dialects/sql.js';
import { createLogger } from '../src/log/logger.js';
import { analyseProject } from '../src/project/analyse.js';
import { loadProject } from '../src/project/loader.js';
import { SyncEngine } from '../src/sync/engine.js';
import { openTarget } from '../src/warehouses/registry.js';
import { runCli } from './support/cli.js';
import { CRASH_HOOK, runAndKill, type KillPoint } from './support/crash.js';
import { PlainReceiver } from './support/plain-receiver.js';
import { SyncHarness } from './support/sync-harness.js';
import { engines, type Engine } from './support/engines.js';

/**
 * Events syncs killed with SIGKILL, judged by an independent receiver (test/support/plain-receiver.ts), as the
 * crash suite judges the other modes (test/sync-crash.test.ts), on DuckDB (six trials) and PostgreSQL (two). Each
 * trial runs the real CLI three times over one project: a run killed while sending, then — after new events and late rows inside the look-back landed — a run
 * killed at a random moment, then a run left to finish. The receiver fails a fifth of its requests (429, 5xx, hangs
 * and resets, some after the request took effect). Half the receivers de-duplicate by the records' idempotency keys
 * (as a vendor de-duplicating by event id does), half apply whatever comes.
 *
 * After the final run: every event arrived (0 lost); none arrived that the model does not hold; a de-duplicating
 * receiver applied each event once; a plain one applied some twice — at most the records a dead run had in flight,
 * reported as the bound; and a further plan sends nothing.
 */
const SEEDS = [1, 2, 3, 4, 5, 6];
const NOW = new Date();
const FIRST = contractEvents(600, { now: NOW, endMinutesAgo: 60, minutesApart: 2 });
// Between the crashes: 100 newer events, and 20 rows landing late, their events 90 minutes before the first run.
const MORE: readonly ContractEvent[] = [...FIRST, ...contractEvents(100, { start: 1001, now: NOW, endMinutesAgo: 1, minutesApart: 0.1 }), ...contractEvents(20, { start: 2001, now: NOW, endMinutesAgo: 90, minutesApart: 0.5 })];

const report: string[] = [];
const twice: number[] = [];

/** A built project syncing the first events, on `engine` (DuckDB in a file of the project by default). */
async function builtProject(engine?: Engine): Promise<SyncHarness> {
  const harness = await SyncHarness.start({
    ...(engine ? { engine } : {}),
    rows: FIRST,
    columns: EVENT_COLUMNS,
    destinations: [CRASH_HOOK],
    syncs: [
      {
        name: 'events',
        model: 'people',
        destination: 'hook',
        object: 'purchases',
        mode: 'events',
        key: 'event_id',
        event: { time: 'event_time', name: { from: 'event_name' }, lookback: '3 hours', backfill: '2 days' },
        fields: { value: 'value', customer_id: 'customer_id' },
      },
    ],
    env: { HOOK_URL: 'http://127.0.0.1:1/hook' },
  });
  await harness.connection.close();
  return harness;
}

let template: string;
beforeAll(async () => {
  template = (await builtProject()).root;
}, 120_000);

afterAll(() => {
  console.info(`[events: crash and faults]\n${report.join('\n')}\nevents applied twice by receivers that do not de-duplicate: max ${Math.max(0, ...twice)} per trial (two crashes), mean ${Math.round(twice.reduce((a, b) => a + b, 0) / Math.max(1, twice.length))}`);
});

async function addEvents(root: string): Promise<void> {
  const project = await loadProject({ projectDir: root, env: { HOOK_URL: 'http://127.0.0.1:1/hook' } });
  const connection = await openTarget(project.target.config, { root });
  try {
    const table = project.sources.get('raw_people')!.table!;
    const d = connection.dialect;
    await connection.execute(sql`DELETE FROM ${d.table(table)} WHERE 1 = 1`);
    await connection.insertRows(table, EVENT_COLUMNS, [MORE.map((e) => EVENT_COLUMNS.map((c) => e[c.name]))]);
    const results = await runModels(project, connection, await analyseProject(project, connection), project.order, { logger: createLogger({ level: 'silent' }) });
    expect(results.every((r) => r.status === 'success')).toBe(true);
  } finally {
    await connection.close();
  }
}

async function planAfter(root: string, env: Record<string, string>) {
  const project = await loadProject({ projectDir: root, env });
  const connection = await openTarget(project.target.config, { root });
  try {
    const engine = new SyncEngine({ project, connection, logger: createLogger({ level: 'silent' }) });
    return await engine.plan(project.syncs.get('events')!, 0);
  } finally {
    await connection.close();
  }
}

function killPoints(seed: number): [KillPoint, KillPoint] {
  let x = seed * 2654435761;
  const next = () => ((x = (x * 1103515245 + 12345) >>> 0) / 4294967296);
  return [{ afterPlanMs: 100 + Math.floor(next() * 700) }, { afterPlanMs: 50 + Math.floor(next() * 400) }];
}

/**
 * One trial in the project at `root`: a kill while sending, new and late events, a kill, a run to the end; then what
 * the receiver holds, and what the state says.
 */
async function trial(label: string, root: string, seed: number, dedupe: boolean): Promise<void> {
  const receiver = await PlainReceiver.start({ faultRate: 0.2, seed: seed * 17, hangMs: 800, dedupe });
  try {
    const env = { HOOK_URL: receiver.url };
    const args = ['sync', '--select', 'events'];
    const [first, second] = killPoints(seed);
    const crash1 = await runAndKill(args, root, env, first);
    await addEvents(root);
    const crash2 = await runAndKill(args, root, env, second);
    const final = await runCli([...args, '--log-format', 'json'], { cwd: root, env });
    expect(final.code, final.stderr.slice(-2000)).toBe(0);

    const applied = new Map<string, number>();
    for (const a of receiver.arrivals) if (a.outcome === 'applied') applied.set(a.key, (applied.get(a.key) ?? 0) + 1);
    // 0 lost, nothing extra.
    expect([...applied.keys()].sort()).toEqual(MORE.map((e) => e.event_id).sort());
    const repeated = [...applied.values()].filter((n) => n > 1).length;
    if (dedupe) expect(repeated).toBe(0);
    else {
      twice.push(repeated);
      // The bound: a crash re-sends at most what was in flight and not journaled (README, "The guarantee").
      expect(repeated).toBeLessThanOrEqual(2 * (20 * 4 * 4 + 20_000));
    }
    const after = await planAfter(root, env);
    expect(after.counts.added).toBe(0);
    expect(after.pendingJournal).toBe(0);
    report.push(`${label} (${dedupe ? 'dedupe' : 'plain'}): [${crash1.phase}] [${crash2.phase}]; ${receiver.requests} requests; ${applied.size} events held, ${repeated} applied twice`);
  } finally {
    await receiver.close();
  }
}

describe.concurrent('events: crash and faults against an independent receiver (DuckDB)', () => {
  for (const seed of SEEDS) {
    const dedupe = seed % 2 === 0;
    it(`seed ${seed}, ${dedupe ? 'de-duplicating' : 'plain'} receiver: every event arrives, ${dedupe ? 'once' : 'at most the in-flight ones twice'}`, async () => {
      const root = mkdtempSync(join(tmpdir(), `tideline-events-crash-${seed}-`));
      cpSync(template, root, { recursive: true });
      await trial(`duckdb seed ${seed}`, root, seed, dedupe);
    }, 90_000);
  }
});

// PostgreSQL: each trial builds its own project in its own schemas (the warehouse is not a file to copy).
for (const engine of engines().filter((e) => e.name === 'postgres')) {
  describe.concurrent('events: crash and faults against an independent receiver (PostgreSQL)', () => {
    for (const seed of [7, 8]) {
      const dedupe = seed % 2 === 0;
      it(`seed ${seed}, ${dedupe ? 'de-duplicating' : 'plain'} receiver: every event arrives, ${dedupe ? 'once' : 'at most the in-flight ones twice'}`, async () => {
        const harness = await builtProject(engine);
        try {
          await trial(`postgres seed ${seed}`, harness.root, seed, dedupe);
        } finally {
          await harness.reopen();
          await harness.close();
        }
      }, 120_000);
    }
  });
}
