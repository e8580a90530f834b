import { z } from 'zod';

/**
 * `type: bigquery`. Credentials: a service-account `key_file`, or Application Default Credentials when it is left
 * out (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth, or the metadata server on GCP).
 */
export const bigqueryTargetSchema = z.strictObject({
  type: z.literal('bigquery'),
  project: z.string().min(1).describe('Google Cloud project id that runs the queries and holds the datasets.'),
  dataset: z.string().min(1).optional().describe("Dataset where models are built (BigQuery's word for schema), overriding the project's `schema`."),
  location: z.string().min(1).optional().describe('Location of the datasets and jobs, e.g. `EU` or `us-central1`.'),
  key_file: z.string().min(1).optional().describe('Service-account key file (JSON); Application Default Credentials when left out.'),
  maximum_bytes_billed: z.coerce.number().int().positive().optional().describe('Cap on bytes billed per query job, sent with every job (dry runs included); a query that would bill more fails instead of costing more.'),
  job_timeout_seconds: z.coerce.number().int().positive().optional().describe('Seconds to wait for one query job before giving up.'),
  api_endpoint: z.url().optional().describe("Base URL of the BigQuery API, when it is not https://bigquery.googleapis.com: a regional or private endpoint, an emulator, a local test server. The SDK's BIGQUERY_EMULATOR_HOST variable, when set, still takes precedence."),
});
export type BigQueryTarget = z.infer<typeof bigqueryTargetSchema>;

export function bigquerySecrets(_target: BigQueryTarget): string[] {
  return [];
}
