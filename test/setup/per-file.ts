import { afterAll, vi } from 'vitest';
import { removeTempDirs } from '../support/temp-dir.js';

/**
 * Test files share their worker's modules (`isolate: false` in vitest.config.ts: each file importing the CLI's modules
 * afresh cost about 2 seconds of CPU per file, a third of CI's run). What a file changes of the process is undone when
 * it ends, so the next file in that worker starts as if alone: this runs before each file, in the worker.
 * - the environment: files set variables at module level (test/cli-e2e.test.ts runs the CLI through tsx) or in
 *   hooks, and vi.stubEnv's;
 * - spies left in place (vi.spyOn without a restore), fake timers, stubbed globals;
 * - the temporary folders the test helpers made (test/support/temp-dir.ts).
 * Listeners a file adds to `process` and properties it sets on globalThis are not undone: none does today.
 */
const saved = { ...process.env };
const cwd = process.cwd();

afterAll(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  vi.useRealTimers();
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  for (const [name, value] of Object.entries(saved)) if (process.env[name] !== value) process.env[name] = value;
  if (process.cwd() !== cwd) process.chdir(cwd);
  process.exitCode = undefined;
  // Hooks run in reverse order: the file's own afterAll hooks have closed what used these folders.
  removeTempDirs();
});
