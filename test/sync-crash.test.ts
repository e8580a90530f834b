import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../destinations/emulator-kit/faults.js';
import { startWebhookEmulator, type WebhookEmulator } from '../destinations/webhook/emulator.js';
import { createLogger } from '../src/log/logger.js';
import { loadProject } from '../src/project/loader.js';
import { SyncEngine } from '../src/sync/engine.js';
import { openTarget } from '../src/warehouses/registry.js';
import { BIN, runCli } from './support/cli.js';
import { contractSync, expected, people, SyncHarness } from './support/sync-harness.js';

/**
 * Crash safety: `tideline sync` runs in a child process and is killed with SIGKILL at a random moment — while
 * starting, planning, sending, journaling or applying outcomes. The emulator runs here, in the test process, so it
 * outlives the child. A re-run must complete, the emulator must then hold exactly the model, and the state must
 * know it (a further plan has nothing to send).
 */
const ROWS = people(3000);
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

describe('crash safety: SIGKILL at random points', () => {
  let template: string;
  let emulatorSecret: string;
  const env = (emulator: WebhookEmulator) => ({ HOOK_URL: `${emulator.endpoint}/hook`, HOOK_SECRET: emulatorSecret, NO_COLOR: '1' });

  beforeAll(async () => {
    emulatorSecret = 'crash-test-secret-0123456789';
    // The model is built once, in-process; each seed copies the project (and its DuckDB file).
    const harness = await SyncHarness.start({
      rows: ROWS,
      destinations: [
        {
          name: 'hook',
          type: 'webhook',
          url: '${env:HOOK_URL}',
          secret: '${env:HOOK_SECRET}',
          batch_size: 50,
          concurrency: 2,
          requests_per_second: 40,
          retries: { attempts: 5, base_ms: 20, max_ms: 200 },
        },
      ],
      syncs: [contractSync('crash', 'hook', 'contacts', 'upsert')],
      env: { HOOK_URL: 'http://127.0.0.1:1/hook', HOOK_SECRET: emulatorSecret },
    });
    template = harness.root;
    await harness.connection.close();
  }, 120_000);

  const phases: string[] = [];
  afterAll(() => {
    console.info(`[crash]\n${phases.join('\n')}`);
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}: the re-run completes and the destination equals the model`, async () => {
      const root = mkdtempSync(join(tmpdir(), `tideline-crash-${seed}-`));
      cpSync(template, root, { recursive: true });
      const emulator = await startWebhookEmulator({ secret: emulatorSecret });
      try {
        const random = seededRandom(seed);
        // Seed 1 dies while starting; the others at a random moment after the plan is made (sending 3,000 records
        // at 40 requests of 50 a second takes about 1.5 s, then outcomes are applied).
        const kill: KillPoint = seed === 1 ? { afterStartMs: 400 } : { afterPlanMs: Math.floor(random() * 2200) };
        const crashed = await runAndKill(['sync', '--log-format', 'json'], root, env(emulator), kill);
        const held = emulator.records('contacts').size;
        phases.push(`seed ${seed}: ${crashed.phase} (${held} held)`);

        const project = await loadProject({ projectDir: root, env: env(emulator) });
        if (seed <= 2) {
          // The re-run through the CLI, as a user would do it.
          const rerun = await runCli(['sync', '--log-format', 'json'], { cwd: root, env: env(emulator) });
          expect(rerun.code, rerun.stderr).toBe(0);
        } else {
          const connection = await openTarget(project.target.config, { root });
          try {
            const result = await new SyncEngine({ project, connection, logger: createLogger({ level: 'silent' }) }).run(project.syncs.get('crash')!);
            expect(result.status, result.error ?? '').toBe('success');
          } finally {
            await connection.close();
          }
        }
        expect(emulator.records('contacts')).toEqual(expected(ROWS));
        expect(emulator.server.store.duplicates()).toEqual({});

        // The state knows everything the destination holds: nothing left to send.
        const connection = await openTarget(project.target.config, { root });
        try {
          const preview = await new SyncEngine({ project, connection, logger: createLogger({ level: 'silent' }) }).plan(project.syncs.get('crash')!, 0);
          expect(preview.counts).toMatchObject({ added: 0, changed: 0, removed: 0 });
          expect(preview.pendingJournal).toBe(0);
        } finally {
          await connection.close();
        }
      } finally {
        await emulator.close();
      }
    }, 60_000);
  }
});

type KillPoint = { readonly afterStartMs: number } | { readonly afterPlanMs: number };

/** Runs the CLI and kills it with SIGKILL at the kill point; reports the last thing it logged. */
function runAndKill(args: readonly string[], cwd: string, env: Record<string, string>, kill: KillPoint): Promise<{ phase: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let last = 'starting';
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      timer ??= setTimeout(() => child.kill('SIGKILL'), ms);
    };
    if ('afterStartMs' in kill) arm(kill.afterStartMs);
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        try {
          const entry = JSON.parse(line) as { msg?: string; event?: string; phase?: string; settled?: number };
          last = entry.event === 'sync_progress' ? `${entry.phase}, ${entry.settled} settled` : (entry.msg ?? last);
          if ('afterPlanMs' in kill && entry.event === 'sync_progress' && entry.phase === 'planned') arm(kill.afterPlanMs);
        } catch {
          last = line.slice(0, 60);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ phase: signal === 'SIGKILL' ? `killed ${'afterPlanMs' in kill ? `${kill.afterPlanMs} ms after planning` : 'while starting'}, last log: ${last}` : `finished before the kill (exit ${code})` });
    });
  });
}
