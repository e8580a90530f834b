import { z } from 'zod';

/**
 * `type: bigquery`. Credentials: a service-account `key_file`, or Application Default Credentials when it is left
 * out (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth, or the metadata server on GCP).
 */
export const bigqueryTargetSchema = z.strictObject({
  type: z.literal('bigquery'),
  project: z.string().min(1),
  /** Dataset where models are built (BigQuery's word for schema), overriding the project's `schema`. */
  dataset: z.string().min(1).optional(),
  location: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
  /** Cap on bytes billed per query; a query above it fails instead of costing more. */
  maximum_bytes_billed: z.coerce.number().int().positive().optional(),
  /** Seconds to wait for one query job before giving up. */
  job_timeout_seconds: z.coerce.number().int().positive().optional(),
  /**
   * Base URL of the BigQuery API, when it is not https://bigquery.googleapis.com: a regional or private endpoint,
   * an emulator, a local test server. The SDK's BIGQUERY_EMULATOR_HOST variable, when set, still takes precedence.
   */
  api_endpoint: z.url().optional(),
});
export type BigQueryTarget = z.infer<typeof bigqueryTargetSchema>;

export function bigquerySecrets(_target: BigQueryTarget): string[] {
  return [];
}
