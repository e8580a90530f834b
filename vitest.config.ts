import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The suites that run longest (a minute or two each), longest first. Without a timing cache — a fresh clone, as CI
 * runs — vitest starts the largest files first, and these are small files: started last, they kept one worker busy
 * for minutes after the other had finished. Started first, the two workers end together.
 */
// Measured on the 2-core machine (2026-12-07, each file alone, the machine loaded by benchmarks): identity/datasets 176 s (mostly PostgreSQL's own work),
// sync-crash 179 s (6 seeds: about 110), analyzers 84 s, destination-contract 78 s, example 60 s, guards 48 s.
const LONG_SUITES = [/identity\/datasets\.test/, /sync-crash\.test/, /analyzers\.test/, /destination-contract\.test/, /example\.test/, /guards\.test/, /destination-contract-\d\.test/, /cli-e2e\.test/, /sync-cli\.test/];

class LongSuitesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => LONG_SUITES.findIndex((pattern) => pattern.test(file.moduleId));
    const long = sorted.filter((f) => rank(f) >= 0).sort((a, b) => rank(a) - rank(b));
    return [...long, ...sorted.filter((f) => rank(f) < 0)];
  }
}

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'models/**/*.test.ts', 'destinations/**/*.test.ts', 'examples/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/setup/postgres.ts', 'test/setup/cli-bundle.ts'],
    // DuckDB and pg are native/socket-heavy: separate processes isolate them best.
    pool: 'forks',
    // A worker keeps its modules from one file to the next: importing them afresh for each of the ~150 files cost about
    // 2 CPU seconds a file (87 small files: 214 s alone, 110 s shared, on the loaded 2-core machine, 2026-12-07).
    // test/setup/per-file.ts undoes what a file changed of the process (environment, spies, directory).
    isolate: false,
    setupFiles: ['test/setup/per-file.ts'],
    // Three at once on two cores: many suites mostly wait (on child processes, emulators' rate limits, the warehouse,
    // the SQL analyzers), so a third worker cuts the wall time. Measured on the 2-core machine, the whole suite alone:
    // 536 s with two workers, 483 s with three (2026-12-07).
    maxWorkers: 3,
    sequence: { sequencer: LongSuitesFirst },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
