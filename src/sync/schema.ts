import { z } from 'zod';
import { SYNC_MODES } from '../../destinations/destination.js';
import { columnConditionSchema } from '../expressions/conditions.js';
import { TRANSFORM_NAMES } from '../expressions/transforms.js';
import { CHANNELS } from '../project/channels.js';
import { columnName, objectName } from '../project/names.js';

/**
 * The YAML of sync files (under `paths.syncs`, default `syncs/`). A file holds `destinations:` (where to send, with
 * credentials from environment variables) and `syncs:` (what to send), each a list; names are project-wide.
 */
export const syncFileSchema = z.strictObject({
  destinations: z.array(z.unknown()).optional().describe('Destinations: see below, by `type`.'),
  syncs: z.array(z.unknown()).optional().describe('Syncs: see below.'),
});

/** Clean-ups a mapped value can go through: the model clean-ups, plus `hash` (SHA-256 hex, as ad platforms expect). */
export const SYNC_TRANSFORMS = [...TRANSFORM_NAMES, 'hash'] as const;
export type SyncTransform = (typeof SYNC_TRANSFORMS)[number];

const retriesSchema = z.strictObject({
  attempts: z.number().int().min(1).max(20).default(5).describe('Attempts per batch before giving up on it (the first try included).'),
  base_ms: z.number().int().min(1).default(500).describe('Backoff: full jitter, a random wait in [0, min(max_ms, base_ms · 2^attempt)].'),
  max_ms: z.number().int().min(1).default(30_000).describe('Backoff: the longest wait between two attempts.'),
});

/**
 * Fields every destination entry has, whatever its type. The limits override the destination's defaults (an account
 * tier with a higher rate, a receiver that takes fewer requests at once).
 */
export const destinationCommonShape = {
  name: objectName,
  type: z.string().min(1),
  description: z.string().optional(),
  requests_per_second: z.number().positive().optional().describe("Request ceiling, replacing the API's default."),
  concurrency: z.number().int().min(1).max(64).optional().describe("Requests in flight at once, replacing the destination's default."),
  timeout_seconds: z.number().positive().max(3600).optional().describe('Time budget of one request, in seconds.'),
  retries: retriesSchema.prefault({}).describe('Retries of a batch that failed transiently (5xx, timeout, connection reset).'),
};

/** A mapped value: a model column, with optional clean-ups and date format, or a constant. */
export const fieldSpecSchema = z.union([
  z.string().min(1),
  z.strictObject({
    from: z.string().min(1).optional().describe('The model column.'),
    constant: z.union([z.string(), z.number(), z.boolean()]).optional().describe('A fixed value instead of a column.'),
    date_format: z.string().min(1).optional().describe('Format a date or timestamp column as text first: YYYY, MM, DD, HH, mm, ss, ss.SSS and separators.'),
    transform: z.array(z.enum(SYNC_TRANSFORMS)).default([]).describe('Clean-ups, in order, on the value as text.'),
  }),
]);
export type FieldSpec = z.infer<typeof fieldSpecSchema>;

const keySchema = z.union([
  z.string().min(1),
  z.strictObject({
    from: z.string().min(1).describe('The model column identifying a record.'),
    field: z.string().min(1).optional().describe("The destination's identifier field (default: the column's name)."),
    transform: z.array(z.enum(SYNC_TRANSFORMS)).default([]),
  }),
]);

/** A count (`100`) or a share of the records concerned (`'5%'`). */
const thresholdSchema = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+(\.\d+)?%$/, 'a count (100) or a percentage ("5%")'),
]);
export type Threshold = z.infer<typeof thresholdSchema>;

/** A span of wall-clock time: `30 minutes`, `6 hours`, `2 days`, `1 week`. */
const SPAN_UNITS: Readonly<Record<string, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 };

/** Milliseconds of a span written as `<n> minutes|hours|days|weeks` (singular or plural), or undefined. */
export function parseSpan(text: string): number | undefined {
  const match = /^\s*(\d+)\s*(minute|hour|day|week)s?\s*$/i.exec(text);
  // A span of 0 would read no event twice: a row landing a moment late, or an event held back, would be skipped.
  return match && Number(match[1]) > 0 ? Number(match[1]) * SPAN_UNITS[match[2]!.toLowerCase()]! : undefined;
}

const spanSchema = z.string().refine((text) => parseSpan(text) !== undefined, { message: 'a span of at least 1 minute, such as "30 minutes", "6 hours", "2 days" or "1 week"' });

/** `event:` of an events sync: which columns make a row an event, and how far back each run reads. */
export const eventSchema = z.strictObject({
  time: columnName.describe('The model column holding when the event happened (a timestamp, or a date). Rows without one are never sent.'),
  name: z
    .union([z.string().min(1), z.strictObject({ from: columnName.describe('The model column holding each event\'s name.') })])
    .describe("The event's name as the destination shows it (`Purchase`, `Cart abandoned`), or `{ from: column }` for a name per row."),
  lookback: spanSchema
    .default('1 day')
    .describe(
      'How late a row may land in the model after its event happened: each run reads the events after the previous run\'s high-water mark minus this span, and sends those it never sent (by id). A row landing later than this is never read.',
    ),
  backfill: z
    .union([z.literal('all'), spanSchema])
    .default('7 days')
    .describe("The first run's window: events of the last span (`7 days`), or `all`. Events older than the destination accepts are never sent, only counted (`too_old`)."),
});
export type EventEntry = z.infer<typeof eventSchema>;

export const syncOptionsSchema = z.strictObject({
  null_policy: z.enum(['skip', 'overwrite']).default('skip').describe('`skip` (default): a NULL is not sent, so the destination keeps its value; `overwrite`: NULLs are sent.'),
  batch_size: z.number().int().min(1).optional().describe("Records per request, at most the destination's limit."),
  concurrency: z.number().int().min(1).max(64).optional().describe("Requests in flight at once for this sync, at most the destination's."),
  schedule: z.string().min(1).optional().describe('When this sync should run (cron text), for the scheduler that runs Tideline; Tideline only reports it.'),
  max_removals: thresholdSchema
    .default('10%')
    .describe(
      "mirror and audience: most records one run may remove from the destination (deletions, members leaving): a count (`100`) or a share of the records the destination held after the previous run (`'10%'`, rounded up). A share never refuses 10 removals or fewer, so a small audience's everyday churn goes through, except a run that would leave the destination empty (removing every record of two or more and adding none: an emptied model, a condition nobody meets any more), which a share below 100% always refuses. A refused run sends nothing and exits 1; `tideline sync --force` lets it through once.",
    ),
  max_deletes: thresholdSchema.optional().describe('Deprecated: the former name of `max_removals`, read for mirror syncs (with a warning).'),
  max_rejected: thresholdSchema.optional().describe('Rejected records above which the sync counts as failed (exit 1); unset, rejections are reported only.'),
  create_missing_fields: z.boolean().default(false).describe('`tideline validate --remote` creates mapped fields the destination lacks (where its API allows: HubSpot properties, Brevo attributes) instead of reporting them.'),
});
export type SyncOptions = z.infer<typeof syncOptionsSchema>;

export const syncSchema = z.strictObject({
  name: objectName,
  description: z.string().optional(),
  tags: z.array(z.string().min(1)).default([]),
  enabled: z.boolean().default(true).describe('`false` pauses the sync: it is loaded and checked, never run.'),
  model: z.string().min(1).describe('The model whose rows are sent.'),
  audience: z
    .string()
    .min(1)
    .optional()
    .describe('For an audiences model: the audience whose members are sent — never its holdout, never customers left out for consent or pressure.'),
  where: z
    .array(columnConditionSchema)
    .optional()
    .describe('Only model rows meeting every condition are sent; a row that stops meeting them counts as having left the model.'),
  channel: z
    .enum(CHANNELS)
    .optional()
    .describe(
      "The channel this sync reaches customers on, for suppressions, consent purposes and marketing pressure. Default: the audience's channel for an audience sync, else the destination type's (e-mail tools `email`, CRMs `crm`, ads platforms `ads`); files and webhooks have none unless given here.",
    ),
  contact: columnName
    .optional()
    .describe("The model column holding the customer key that suppressions, consent and marketing pressure count by. Default: the audiences model's key for an audience sync, else `customer_id` when the model has that column."),
  topic: objectName
    .optional()
    .describe("A topic of the preference centre (tideline.yml `preferences.topics`): only contacts consenting to it on the sync's channel are sent, and a contact who withdraws is treated as having left the model."),
  purposes: z
    .array(objectName)
    .optional()
    .describe(
      "The consent purposes (tideline.yml `consent.purposes`) a contact must have granted, every one, for this sync to send them; replaces those `consent.channels` gives its channel. `[]` needs none: a deliberate decision that another legal basis covers these records. A contact who withdraws is treated as having left the model.",
    ),
  suppress: z
    .boolean()
    .default(true)
    .describe("`false` exempts this sync from the project's suppressions and preferences (a service message that must reach everyone). Syncs of exclusion audiences are always exempt. Neither exempts it from consent by purpose: `purposes: []` does."),
  message_type: objectName
    .optional()
    .describe(
      "The communication type of the messages this sync's records trigger (`transactional`, `promotional`…), weighed by `pressure.weights` in tideline.yml. Default: the audience's `type` for an audience sync, else `default` (weight 1). Only insert and audience syncs with a channel and a contact record messages.",
    ),
  destination: z.string().min(1).describe('A destination named under `destinations:` in a sync file.'),
  object: z.string().min(1).describe('The destination object: contacts, a list, a table, a custom audience…'),
  mode: z.enum(SYNC_MODES).describe('How rows become operations: `upsert`, `update` (existing records only), `insert` (new only), `mirror` (also deletes what left the model), `audience` (adds and removes members), `events` (each row is an event, sent once: see `event`).'),
  key: keySchema.describe('The model column identifying a record, or `{from, field, transform}`. For an events sync: the event\'s id, sent once.'),
  event: eventSchema.optional().describe('For mode `events` (required there): the time and name of each row\'s event, and how far back each run reads.'),
  fields: z.record(z.string().min(1), fieldSpecSchema).default({}).describe('Destination field → model column, or `{from, transform, date_format}`, or `{constant}`.'),
  options: syncOptionsSchema.prefault({}).describe('How the sync runs.'),
});
export type SyncEntry = z.infer<typeof syncSchema>;
