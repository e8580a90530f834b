import { defineWarehouse } from '../warehouse.js';
import { postgresSecrets, postgresTargetSchema } from './config.js';
import { PostgresDialect } from './dialect.js';

export const postgres = defineWarehouse({
  type: 'postgres',
  dialect: new PostgresDialect(),
  schema: postgresTargetSchema,
  secrets: postgresSecrets,
  modelSchema: (t) => t.schema,
  open: async (t) => (await import('./connection.js')).openPostgres(t),
});
