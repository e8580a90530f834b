import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'models/**/*.test.ts', 'destinations/**/*.test.ts', 'examples/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/setup/postgres.ts', 'test/setup/cli-bundle.ts'],
    // DuckDB and pg are native/socket-heavy: separate processes isolate them best.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
