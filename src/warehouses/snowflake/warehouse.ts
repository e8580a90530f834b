import { defineWarehouse } from '../warehouse.js';
import { snowflakeSecrets, snowflakeTargetSchema } from './config.js';
import { SnowflakeDialect } from './dialect.js';

export const snowflake = defineWarehouse({
  type: 'snowflake',
  dialect: new SnowflakeDialect(),
  schema: snowflakeTargetSchema,
  secrets: snowflakeSecrets,
  modelSchema: (t) => t.schema,
  open: async (t, context) => (await import('./connection.js')).openSnowflake(t, context),
});
