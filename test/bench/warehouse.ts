import { adminPgUrl, scratchDatabase } from '../setup/postgres.js';

/** The warehouses a bench can run on (`--warehouse`, DuckDB by default). */
export const BENCH_WAREHOUSES = ['duckdb', 'postgres'] as const;
export type BenchWarehouse = (typeof BENCH_WAREHOUSES)[number];

/**
 * A throwaway PostgreSQL database for a bench: on TIDELINE_TEST_PG_URL's server or the local cluster, found (and
 * started) as the test suite finds it (test/setup/postgres.ts); `drop` removes it.
 */
export async function benchPostgres(): Promise<{ url: string; drop(): Promise<void> }> {
  const { url, failure } = await adminPgUrl();
  if (!url) throw new Error(`--warehouse postgres needs a PostgreSQL server${failure ? `: ${failure}` : ''}; install postgresql or set TIDELINE_TEST_PG_URL`);
  return scratchDatabase(url, 'tideline_bench');
}
