import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'models/**/*.test.ts', 'destinations/**/*.test.ts', 'examples/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/setup/postgres.ts', 'test/setup/cli-bundle.ts'],
    // DuckDB and pg are native/socket-heavy: separate processes isolate them best.
    pool: 'forks',
    // Two at once even on two cores: many suites mostly wait (on child processes, emulators' rate limits, the
    // warehouse), so a second worker cuts the wall time without starving the first.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
