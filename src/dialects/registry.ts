import { BigQueryDialect } from './bigquery/dialect.js';
import type { Dialect, DialectName } from './dialect.js';
import { DuckDbDialect } from './duckdb/dialect.js';
import { PostgresDialect } from './postgres/dialect.js';
import { SnowflakeDialect } from './snowflake/dialect.js';

/**
 * Every dialect, one line each. Adding a warehouse's dialect:
 *  1. src/dialects/<name>/dialect.ts extending Dialect (capabilities, types, the full FunctionMap, quoting);
 *  2. one line below, and the name in DialectName;
 *  3. run `npm test`: the hostile-identifier suite and golden SQL loop over this registry, and the registry test
 *     expects one more entry; create the golden files with `UPDATE_GOLDEN=1 npx vitest run test/golden`.
 */
export const DIALECTS: Readonly<Record<DialectName, Dialect>> = Object.freeze({
  duckdb: new DuckDbDialect(),
  postgres: new PostgresDialect(),
  bigquery: new BigQueryDialect(),
  snowflake: new SnowflakeDialect(),
});

export function dialectFor(name: DialectName): Dialect {
  return DIALECTS[name];
}
