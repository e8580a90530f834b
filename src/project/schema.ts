import { z } from 'zod';
import { targetSchema, type TargetConfig } from '../warehouses/registry.js';
import { ageBefore, ageSchema } from '../expressions/age.js';
import { durationSchema, percentSchema } from '../expressions/durations.js';
import { notifySchema } from '../notify/schema.js';
import { dataTestsSchema } from './data-tests.js';
import { dbtProjectsSchema, dbtRefSchema } from './dbt.js';
import { objectName } from './names.js';
import { consentSchema, preferencesSchema, suppressionSchema } from './policies.js';
import { pressurePolicySchema } from './pressure.js';

const pathList = z.union([z.string().min(1).transform((p) => [p]), z.array(z.string().min(1))]);

/** tideline.yml, its `targets:` read by `targets` (the registered warehouses' schema: see LoadOptions.registries). */
export function projectFileSchemaWith(targets: z.ZodType<TargetConfig>) {
  return z.strictObject({
    name: objectName.describe('Project name, used in logs and run results.'),
    target: z.string().min(1).optional().describe('The target used when `--target` is not given. Optional when there is one target, or none (embedded DuckDB).'),
    targets: z.record(z.string().min(1), targets).optional().describe('Named warehouse connections. Without any, Tideline uses DuckDB in .tideline/warehouse.duckdb.'),
    schema: z
      .string()
      .min(1)
      .default('tideline')
      .describe('Schema (BigQuery: dataset) where models are built; a target may override it. Builds work in a schema of their own named after it, `<schema>__tl_work`.'),
    state_schema: z.string().min(1).default('tideline_state').describe('Schema where Tideline keeps its own state: sync snapshots, runs, rejected rows, locks.'),
    paths: z
      .strictObject({
        models: pathList.default(['models']).describe('Folder or folders of model files (default `models`).'),
        syncs: pathList.default(['syncs']).describe('Folder or folders of sync files (default `syncs`).'),
      })
      .prefault({})
      .describe('Folders holding model files and sync files, relative to the project root.'),
    vars: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()])).default({}).describe('Values available to models (`vars`), e.g. an as-of date for reproducible runs.'),
    suppressions: z
      .array(suppressionSchema)
      .default([])
      .describe('Contacts no sync or audience may reach on some channels (complaints, hard bounces, unsubscribes, legal opt-outs): see README "Suppressions".'),
    preferences: preferencesSchema.optional().describe('The preference centre: consent per channel and per topic, respected by audiences and syncs (README "Preferences").'),
    consent: consentSchema
      .optional()
      .describe('Consent by purpose (marketing e-mail, SMS, ads personalisation, measurement…), mapped to channels and syncs: a sync sends only the contacts who consented to every purpose it needs (README "Consent by purpose").'),
    pressure: pressurePolicySchema
      .optional()
      .describe(
        'Marketing pressure for the whole project: caps on the messages a contact receives over rolling windows, per channel or across channels, weights per communication type. Audiences models apply it to new entries, counting what the syncs really sent and the delivered events declared here. See "Marketing pressure" in README.md.',
      ),
    privacy: privacySchema.describe('How long the state keeps what names people (README "Privacy"). Erasure itself is `tideline forget`.'),
    notify: notifySchema,
    dbt: dbtProjectsSchema.optional(),
  });
}

/** `privacy:` of tideline.yml: retention of the state's rows that name people (src/privacy/retention.ts). */
export const privacySchema = z
  .strictObject({
    identifiers: z
      .array(z.string().min(1))
      .min(1)
      .default(['email', 'phone'])
      .describe(
        "Model columns holding a person's e-mail or phone (by name, in any model a sync reads): `tideline forget` finds a person's rows by them, and every sync leaves out a row whose such column holds a forgotten value. Other text columns are never matched (a referrer's e-mail is not its row's person). Default [email, phone].",
      ),
    retention: z
      .strictObject({
        rejected: durationSchema
          .prefault('90 days')
          .describe("Rejected records (their keys and the destinations' messages, which may quote values) are deleted this long after their last refusal; a record refused for good is then tried once more. Default 90 days."),
        messages: durationSchema
          .prefault('400 days')
          .describe('Messages recorded for marketing pressure (`sync_messages`: contact keys) are deleted this long after they were sent; never less than the longest pressure cap, which needs them. Default 400 days.'),
        event_snapshots: durationSchema
          .prefault('400 days')
          .describe("An events sync's record of each event sent (its id and time) is deleted this long after the event happened; never less than the sync's look-back and backfill, which re-read them. Default 400 days."),
        audit: durationSchema.optional().describe('Rows of the audit trail (`privacy_audit`: names and counts, no personal data) older than this are deleted. Default: kept.'),
      })
      .prefault({})
      .describe('Retention of the state tables, applied at the start of every `tideline sync` (not `--dry-run`).'),
  })
  .prefault({});
export type PrivacyConfig = z.infer<typeof privacySchema>;

/** tideline.yml */
export const projectFileSchema = projectFileSchemaWith(targetSchema);
export type ProjectFile = z.infer<typeof projectFileSchema>;

const tableRefSchema = z.union([
  z.string().regex(/^[^.]+(\.[^.]+){0,2}$/, 'a table name: table, schema.table or catalog.schema.table'),
  z.strictObject({ catalog: z.string().min(1).optional(), schema: z.string().min(1).optional(), name: z.string().min(1) }),
]);

export const fileTypeSchema = z.enum(['string', 'integer', 'float', 'decimal', 'boolean', 'date', 'timestamp']);

/** How recent a source's rows must be, by the latest value of a load-time column. */
export const freshnessSchema = z
  .strictObject({
    loaded_at: z.string().min(1).describe('The column holding when each row was loaded or last changed (a timestamp, a date, or ISO-8601 text); its latest value is the age of the source.'),
    warn_after: ageSchema.optional().describe('Older than this (`6 hours`, `1 day`), `tideline run` and `tideline sync` log a warning and go on.'),
    error_after: ageSchema
      .optional()
      .describe('Older than this, or without any row, the models reading the source are not built (`tideline run`) and the syncs downstream of it send nothing (`tideline sync`): exit 1, naming the source.'),
  })
  .superRefine((value, ctx) => {
    if (value.warn_after === undefined && value.error_after === undefined) ctx.addIssue({ code: 'custom', message: 'give `warn_after`, `error_after` or both' });
    const now = new Date(Date.UTC(2000, 0, 31));
    if (value.warn_after && value.error_after && ageBefore(now, value.warn_after) <= ageBefore(now, value.error_after)) {
      ctx.addIssue({ code: 'custom', path: ['warn_after'], message: `warn_after (${value.warn_after.text}) must be shorter than error_after (${value.error_after.text})` });
    }
  });
export type Freshness = z.infer<typeof freshnessSchema>;

/** A source: a table that already exists in the warehouse, a dbt project's model, or (DuckDB) a local CSV/Parquet file read in place. */
export const sourceSchema = z.strictObject({
  name: objectName,
  description: z.string().optional(),
  tags: z.array(z.string().min(1)).default([]),
  table: tableRefSchema.optional().describe('`schema.table` in the warehouse (or `{schema, name}` for names containing dots).'),
  file: z.string().min(1).optional().describe('A CSV or Parquet file, relative to the project root (DuckDB targets only).'),
  dbt: dbtRefSchema.optional(),
  format: z.enum(['csv', 'parquet']).optional().describe('File format; inferred from the extension when left out.'),
  types: z.record(z.string().min(1), fileTypeSchema).optional().describe('Column types for a CSV file where automatic detection would be wrong (e.g. phone numbers with a leading 0).'),
  // Lenient by default so that one bad line of an export does not stop every model reading the file; the lines
  // skipped are still listed by `tideline run`, by file:line and reason, never by their values (personal data).
  strict: z
    .boolean()
    .default(false)
    .describe(
      'CSV only. When false, a broken line (too many or too few columns, a value not of its column\'s type) is skipped, and `tideline run` reports it as `file:line` and reason, counts it in its summary and in tideline_run_results.json; when true, a file with a broken line is a configuration error naming the first one, and nothing runs.',
    ),
  freshness: freshnessSchema
    .optional()
    .describe('How recent the rows must be: checked before building the models that read the source and before syncing anything downstream of it.'),
  tests: dataTestsSchema,
});
export type SourceFileEntry = z.infer<typeof sourceSchema>;

/** Bounds a model's table must keep to, checked before a build replaces the previous one and before a sync plans. */
export const modelChecksSchema = z
  .strictObject({
    min_rows: z.number().int().min(0).optional().describe('Fewest rows the table may have (`1`: never empty).'),
    max_rows: z.number().int().min(0).optional().describe('Most rows the table may have.'),
    max_change: percentSchema
      .optional()
      .describe("Largest change of row count from the previous build, up or down, as a share of it (`'50%'`); not checked on a first build or after an empty one."),
  })
  .refine((c) => c.min_rows === undefined || c.max_rows === undefined || c.min_rows <= c.max_rows, { message: 'min_rows must not exceed max_rows', path: ['min_rows'] });
export type ModelChecks = z.infer<typeof modelChecksSchema>;

/** The fields every model has, whatever its kind. */
export const modelCommonShape = {
  name: objectName.describe('Model name, unique in the project: the name of its table.'),
  kind: z.string().min(1).describe('The model kind: one of the sections below.'),
  description: z.string().optional().describe('Free text for readers.'),
  tags: z.array(z.string().min(1)).default([]).describe('Labels for selection (`--select tag:NAME`).'),
  enabled: z.boolean().default(true).describe('`false` keeps the model in the project but skips building it.'),
  checks: modelChecksSchema
    .optional()
    .describe('Row-count bounds: a build outside them fails and leaves the previous table in place (`tideline run`, exit 1); a sync of this model, or of any model built from it, sends nothing while its table is outside `min_rows`/`max_rows`.'),
  tests: dataTestsSchema,
};

/** A file under paths.models: sources and models, each a list. */
export const modelFileSchema = z.strictObject({
  sources: z.array(z.unknown()).optional().describe('Sources: see below.'),
  models: z.array(z.unknown()).optional().describe('Models: see below, by `kind`.'),
});
