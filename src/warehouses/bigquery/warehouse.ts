import { defineWarehouse } from '../warehouse.js';
import { bigquerySecrets, bigqueryTargetSchema } from './config.js';
import { BigQueryDialect } from './dialect.js';

export const bigquery = defineWarehouse({
  type: 'bigquery',
  dialect: new BigQueryDialect(),
  schema: bigqueryTargetSchema,
  secrets: bigquerySecrets,
  // BigQuery's word for a schema is dataset.
  modelSchema: (t) => t.dataset,
  open: async (t, context) => (await import('./connection.js')).openBigQuery(t, context),
});
