import { z } from 'zod';
import { SYNC_MODES } from '../../destinations/destination.js';
import { TRANSFORM_NAMES } from '../compile/transforms.js';
import { objectName } from '../project/names.js';

/**
 * The YAML of sync files (under `paths.syncs`, default `syncs/`). A file holds `destinations:` (where to send, with
 * credentials from environment variables) and `syncs:` (what to send), each a list; names are project-wide.
 */
export const syncFileSchema = z.strictObject({
  destinations: z.array(z.unknown()).optional(),
  syncs: z.array(z.unknown()).optional(),
});

/** Clean-ups a mapped value can go through: the model clean-ups, plus `hash` (SHA-256 hex, as ad platforms expect). */
export const SYNC_TRANSFORMS = [...TRANSFORM_NAMES, 'hash'] as const;
export type SyncTransform = (typeof SYNC_TRANSFORMS)[number];

const retriesSchema = z.strictObject({
  /** Attempts per batch before giving up on it (the first try included). */
  attempts: z.number().int().min(1).max(20).default(5),
  /** Backoff: full jitter, a random wait in [0, min(max_ms, base_ms · 2^attempt)]. */
  base_ms: z.number().int().min(1).default(500),
  max_ms: z.number().int().min(1).default(30_000),
});

/**
 * Fields every destination entry has, whatever its type. The limits override the destination's defaults (an account
 * tier with a higher rate, a receiver that takes fewer requests at once).
 */
export const destinationCommonShape = {
  name: objectName,
  type: z.string().min(1),
  description: z.string().optional(),
  /** Request ceiling, replacing the API's default. */
  requests_per_second: z.number().positive().optional(),
  /** Requests in flight at once, replacing the destination's default. */
  concurrency: z.number().int().min(1).max(64).optional(),
  /** Time budget of one request, in seconds. */
  timeout_seconds: z.number().positive().max(3600).optional(),
  retries: retriesSchema.prefault({}),
};

/** A mapped value: a model column, with optional clean-ups and date format, or a constant. */
export const fieldSpecSchema = z.union([
  z.string().min(1),
  z.strictObject({
    /** The model column. */
    from: z.string().min(1).optional(),
    /** A fixed value instead of a column. */
    constant: z.union([z.string(), z.number(), z.boolean()]).optional(),
    /** Format a date or timestamp column as text first: YYYY, MM, DD, HH, mm, ss, ss.SSS and separators. */
    date_format: z.string().min(1).optional(),
    /** Clean-ups, in order, on the value as text. */
    transform: z.array(z.enum(SYNC_TRANSFORMS)).default([]),
  }),
]);
export type FieldSpec = z.infer<typeof fieldSpecSchema>;

const keySchema = z.union([
  z.string().min(1),
  z.strictObject({
    /** The model column identifying a record. */
    from: z.string().min(1),
    /** The destination's identifier field (default: the column's name). */
    field: z.string().min(1).optional(),
    transform: z.array(z.enum(SYNC_TRANSFORMS)).default([]),
  }),
]);

/** A count (`100`) or a share of the records concerned (`'5%'`). */
const thresholdSchema = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+(\.\d+)?%$/, 'a count (100) or a percentage ("5%")'),
]);
export type Threshold = z.infer<typeof thresholdSchema>;

export const syncOptionsSchema = z.strictObject({
  /** `skip` (default): a NULL is not sent, so the destination keeps its value; `overwrite`: NULLs are sent. */
  null_policy: z.enum(['skip', 'overwrite']).default('skip'),
  /** Records per request, at most the destination's limit. */
  batch_size: z.number().int().min(1).optional(),
  /** Requests in flight at once for this sync, at most the destination's. */
  concurrency: z.number().int().min(1).max(64).optional(),
  /** When this sync should run (cron text), for the scheduler that runs Tideline; Tideline only reports it. */
  schedule: z.string().min(1).optional(),
  /** mirror: most deletions one run may send (a count or a share of the records synced before); more aborts the run. */
  max_deletes: thresholdSchema.default('10%'),
  /** Rejected records above which the sync counts as failed (exit 1); unset, rejections are reported only. */
  max_rejected: thresholdSchema.optional(),
});
export type SyncOptions = z.infer<typeof syncOptionsSchema>;

export const syncSchema = z.strictObject({
  name: objectName,
  description: z.string().optional(),
  tags: z.array(z.string().min(1)).default([]),
  /** `false` pauses the sync: it is loaded and checked, never run. */
  enabled: z.boolean().default(true),
  /** The model whose rows are sent. */
  model: z.string().min(1),
  /** A destination named under `destinations:` in a sync file. */
  destination: z.string().min(1),
  /** The destination object: contacts, a list, a table, a custom audience… */
  object: z.string().min(1),
  mode: z.enum(SYNC_MODES),
  key: keySchema,
  /** Destination field → model column, or `{from, transform, date_format}`, or `{constant}`. */
  fields: z.record(z.string().min(1), fieldSpecSchema).default({}),
  options: syncOptionsSchema.prefault({}),
});
export type SyncEntry = z.infer<typeof syncSchema>;
