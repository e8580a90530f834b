import { defineWarehouse } from '../warehouse.js';
import { duckdbSecrets, duckdbTargetSchema } from './config.js';
import { DuckDbDialect } from './dialect.js';

/** DuckDB, embedded: the default when a project names no target. */
export const duckdb = defineWarehouse({
  type: 'duckdb',
  dialect: new DuckDbDialect(),
  schema: duckdbTargetSchema,
  secrets: duckdbSecrets,
  modelSchema: (t) => t.schema,
  open: async (t, context) => (await import('./connection.js')).openDuckDb(t, context),
});
