import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The suites that run longest (a minute or two each), longest first. Without a timing cache — a fresh clone, as CI
 * runs — vitest starts the largest files first, and these are small files: started last, they kept one worker busy
 * for minutes after the other had finished. Started first, the two workers end together.
 */
const LONG_SUITES = [/sync-crash\.test/, /sync-cli\.test/, /destination-contract\.test/, /identity\/datasets\.test/, /destination-contract-\d\.test/, /guards\.test/, /example\.test/, /cli-e2e\.test/];

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
    // Three at once on two cores: many suites mostly wait (on child processes, emulators' rate limits, the warehouse,
    // the SQL analyzers), so a third worker cuts the wall time. Measured on the 2-core machine, the whole suite alone:
    // 536 s with two workers, 483 s with three (2026-12-07).
    maxWorkers: 3,
    sequence: { sequencer: LongSuitesFirst },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
