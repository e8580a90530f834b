import type { z } from 'zod';
import type { Channel } from '../src/project/channels.js';
import type { LogicalType } from '../src/dialects/dialect.js';
import type { Logger } from '../src/log/logger.js';
import type { Connection } from '../src/warehouses/connection.js';

/**
 * The Destination contract: everything that differs between the APIs Tideline writes to lives behind it.
 *
 * A destination author writes a few small verbs; the sync engine owns the order of work. The engine diffs the model
 * against the sync's snapshot, decides which operation each record needs, batches records to the destination's
 * limits, runs batches concurrently under its rate limit, retries what can be retried, splits batches the API refuses
 * whole, and records every per-record outcome in the warehouse. A destination:
 *  - declares its YAML configuration (`configSchema`), its secrets, the modes it supports, and its limits;
 *  - `open`s a session whose `apply(batch)` sends one batch and answers **one outcome per record, in order** —
 *    accepted (with the destination's id when the API returns one) or rejected (code, message, retryable). One bad
 *    record never fails a batch;
 *  - throws the typed errors below only for batch-wide failures (credentials, rate limit, outage, a batch the API
 *    refused as a whole). It never retries, sleeps or loops on its own: the engine does, with one policy for all.
 *  - ships an emulator of its API (destinations/emulator-kit) for tests and `tideline sandbox`.
 * Adding one: see the checklist in destinations/index.ts.
 */

/** How a sync keeps its destination in step with its model. */
export const SYNC_MODES = ['upsert', 'update', 'insert', 'mirror', 'audience', 'events'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

/**
 * What the engine asks the destination to do with the records of one batch. Per mode:
 * upsert → `upsert`; update → `update` (never creates); insert → `insert` (new keys only); mirror → `upsert` and
 * `delete` for records that left the model; audience → `add` and `remove` of members; events → `track`: each record
 * is one event (`OutboundRecord.event`), sent once, its key the event's id.
 * `forget` is no mode's: `tideline forget` sends it to erase a person's records with the vendor's own erasure (a GDPR
 * delete, a permanent deletion), where DestinationType.erasure says so. Its records carry what a `delete` carries (the
 * key, the destination's id, the retained fields); a record the vendor no longer holds is accepted (erasure is
 * idempotent: a re-run after a crash asks again).
 */
export const OPERATIONS = ['upsert', 'update', 'insert', 'delete', 'add', 'remove', 'track', 'forget'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** A mapped value as the destination receives it. Dates arrive as `YYYY-MM-DD`, timestamps as ISO-8601 UTC text. */
export type FieldValue = string | number | boolean | null;

export interface OutboundRecord {
  /** The record's identifier in the destination: the sync key's value, after its transforms. */
  readonly key: string;
  /**
   * Mapped fields by destination field name. Under `null_policy: skip` (the default) fields whose value is null are
   * left out, so the destination keeps what it has. For `delete` and `remove`, the fields the destination asked the
   * snapshot to retain (`retainFields`), else none.
   */
  readonly fields: Readonly<Record<string, FieldValue>>;
  /** The id the destination returned for this key on an earlier run, when it returns ids. */
  readonly destinationId: string | null;
  /**
   * Names this change of this record: the same on every attempt and in every run that sends it again (after a crash,
   * a lost answer or a retryable refusal), different for any later change of the record (even back to an earlier
   * value). Derived from the sync, the mode, the operation, the key, the content hash and the run that last
   * delivered the record. A receiver that remembers the keys of the records it took can drop re-sends: Tideline's
   * delivery is at-least-once, and exactly-once for such a receiver. Pass it to APIs that de-duplicate (an event id).
   */
  readonly idempotencyKey: string;
  /**
   * For a `track` record (events mode): the event's name (the sync's `event.name`, a constant or a model column)
   * and when it happened (ISO-8601 UTC text with milliseconds, `2026-12-01T09:30:00.000Z`). The record's `key` is
   * the event's id: pass it to the API's de-duplication key where it has one (Meta `event_id`, Klaviyo
   * `unique_id`). Absent for the other operations.
   */
  readonly event?: OutboundEvent;
}

/** What makes a record an event: see OutboundRecord.event. */
export interface OutboundEvent {
  readonly name: string;
  readonly time: string;
}

/** What a destination sees of an events sync to judge how old an event it accepts (DestinationType.events). */
export interface EventSyncShape {
  readonly object: string;
  /** Fields the sync maps to a constant (`{ constant: physical_store }`), by destination field name. */
  readonly constants: Readonly<Record<string, FieldValue>>;
}

export interface Batch {
  readonly object: string;
  readonly operation: Operation;
  /** The destination field the key is written to (the sync key's `field`). */
  readonly keyField: string;
  readonly records: readonly OutboundRecord[];
  /** Aborted when the request's time budget (the destination's timeout) is spent: pass it to every request. */
  readonly signal: AbortSignal;
  /**
   * Derived from the records' own idempotency keys: the same for every attempt at this batch and for the same
   * records sent again as one batch by a later run; different for any other batch. Lets a receiver ignore a replay.
   */
  readonly idempotencyKey: string;
}

export type RecordOutcome =
  | { readonly ok: true; readonly destinationId?: string | undefined }
  | {
      readonly ok: false;
      readonly code: string;
      readonly message: string;
      readonly retryable: boolean;
      /**
       * An `insert` refused because the destination already holds the key. When Tideline may have delivered this
       * very record before — an attempt whose answer was lost, or a run that died after sending it — the engine
       * counts it as delivered; otherwise it is the rejection it says (someone else created the key).
       */
      readonly alreadyExists?: boolean;
      readonly destinationId?: string | undefined;
    };

export interface DestinationLimits {
  /** Most records in one request. */
  readonly maxBatchRecords: number;
  /**
   * Most events in one request, for an events sync, when the API's ceiling for events is lower than for the other
   * records (Meta: 1,000 events, 10,000 audience rows). A session sends one request per batch: a batch split into
   * several requests inside `apply` could not be retried without sending its accepted part again.
   */
  readonly maxEventsPerBatch?: number;
  /** Most bytes of payload in one request (as estimated by `recordBytes`). */
  readonly maxBatchBytes: number;
  /** Request ceiling of the API, or null when it has none. */
  readonly requestsPerSecond: number | null;
  /** Requests that may be in flight at once. */
  readonly concurrency: number;
  /** Time budget of one `apply` call. */
  readonly timeoutMs: number;
}

/** What a destination session may use from the engine. */
export interface DestinationContext {
  readonly sync: string;
  /** The destination's name in the project (`name:` of its entry), for messages that name one of its credentials. */
  readonly destination?: string;
  readonly runId: string;
  readonly object: string;
  readonly mode: SyncMode;
  readonly keyField: string;
  /** `skip`: a field absent from a record must keep the destination's value; `overwrite`: nulls are sent as null. */
  readonly nullPolicy: 'skip' | 'overwrite';
  /** Destination field names in mapping order, with the logical type of their values when known. */
  readonly fields: readonly { readonly name: string; readonly type: LogicalType | undefined }[];
  /**
   * How many records this run will send, by change: lets a destination choose its way of sending (Salesforce's
   * Bulk API above a threshold, an import job rather than single calls).
   */
  readonly planned: { readonly added: number; readonly changed: number; readonly removed: number };
  /**
   * True on a `--full-resync` run: the snapshot was cleared, so every record of the model comes as added and nothing
   * as removed. Destinations that hold a set (ads audiences) replace it rather than add to it (Google `removeAll`
   * then creates, Meta `usersreplace`). Absent means false.
   */
  readonly fullResync?: boolean;
  /**
   * Earlier runs of this sync that died or stopped before finishing, with how many records each delivered according
   * to the journal (applied before this run planned). A destination that keeps one unit of work per run (a file)
   * cuts what such a run left to exactly those records: the others are sent again by this run. Absent means none.
   */
  readonly interruptedRuns?: readonly { readonly runId: string; readonly delivered: number }[];
  /**
   * True when the session serves `tideline forget` (its batches are `forget`, `delete` or `remove` of the people being
   * erased): a destination may then skip checks only a sync needs (the audience still exists) and word its messages
   * for an erasure. Absent means false.
   */
  readonly erasure?: boolean;
  /** Project root: relative paths in a destination's config are resolved from it. */
  readonly root: string;
  readonly logger: Logger;
  /**
   * A connection to a warehouse target of the project, by name (undefined: the project's own target). The project's
   * own connection is shared with the engine and serialised; others are opened for the session and closed by the
   * engine after it.
   */
  warehouse(target: string | undefined): Promise<Connection>;
}

/** The records a sync holds after a run (see DestinationType.currentList), read from the warehouse in pages. */
export interface CurrentList {
  /** The operation an added record gets in the sync's mode (`add`, `upsert`…): what a full list's rows carry. */
  readonly operation: Operation;
  readonly pages: AsyncIterable<readonly { readonly key: string; readonly fields: Readonly<Record<string, FieldValue>> }[]>;
}

/** One run's conversation with the destination. */
export interface DestinationSession {
  /** Verifies credentials and reachability before anything is sent; throws AuthError (or another typed error). */
  check(): Promise<void>;
  /** Sends one batch; returns one outcome per record, in the order of `batch.records`. */
  apply(batch: Batch): Promise<readonly RecordOutcome[]>;
  /**
   * Called once when every batch was answered or the run stopped (`complete` false). For destinations that finish
   * a unit of work per run (a file and its manifest, an import job). Returns facts for the run record.
   */
  finish?(outcome: { readonly complete: boolean; readonly accepted: number; readonly rejected: number }): Promise<Readonly<Record<string, unknown>> | void>;
  close(): Promise<void>;
}

/** A problem in a sync or destination entry found by the destination itself, at a path relative to the entry. */
export interface ConfigProblem {
  readonly at: readonly (string | number)[];
  readonly message: string;
}

/** What `checkSync` sees of a sync. */
export interface SyncShape {
  readonly object: string;
  readonly mode: SyncMode;
  readonly keyField: string;
  readonly fields: readonly string[];
}

export interface ProjectFacts {
  /** Warehouse target names of tideline.yml. */
  readonly targets: readonly string[];
}

/** A field of a destination object, as the API describes it. */
export interface RemoteField {
  readonly name: string;
  /** Computed or system fields a sync cannot write. */
  readonly readOnly?: boolean;
  /** The API's own type name, for messages. */
  readonly type?: string;
}

/** What a remote check may use: the logger and the request budget (no warehouse). */
export interface RemoteContext {
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** The destination's name in the project, for messages. */
  readonly destination?: string;
  /** Project root: relative paths in a destination's config (a key file) are resolved from it. */
  readonly root?: string;
}

/** A local stand-in for the destination's API (or storage), for tests and `tideline sandbox`. */
export interface Emulator {
  /** Where the emulator listens (http://127.0.0.1:port) or what it writes to (a folder, a database file). */
  readonly endpoint: string;
  /** Everything the destination holds, by object, by key: what tests and `tideline sandbox` compare with the model. */
  state(): Promise<EmulatorState>;
  /**
   * Optional: what the emulator keeps for the next sandbox session (JSON), so that `npm run example` or a CI job run
   * twice finds the destination as it left it and the second sync sends nothing. Given back as
   * `SandboxContext.saved`. Emulators whose state lives in their folder return `{}`; emulators without `save`
   * start empty every session, and the sandbox state of their syncs starts over with them.
   */
  save?(): Promise<unknown>;
  close(): Promise<void>;
}

export interface EmulatorState {
  readonly objects: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;
  /** Requests answered, by HTTP status (or one entry `writes` for storage emulators). */
  readonly requests: Readonly<Record<string, number>>;
}

export interface SandboxContext {
  readonly root: string;
  /** A folder the destination's emulator may use (under target/sandbox/). */
  readonly dir: string;
  /** What this emulator's `save()` returned at the end of the previous session, when resuming it; else undefined. */
  readonly saved?: unknown;
}

/**
 * A destination type: one folder under destinations/, registered by one line in destinations/index.ts.
 * `Config` is what `configSchema` parses (the entry's own fields; `name`, `type` and the engine's common fields
 * — requests_per_second, concurrency, timeout_seconds, retries — are handled by the engine).
 */
export interface DestinationType<Config> {
  /** The value of `type:` in YAML. */
  readonly type: string;
  /** One line for the docs. */
  readonly summary: string;
  /** The entry's own fields, producing Config (see ConfigSchema). */
  readonly configSchema: ConfigSchema<Config>;
  readonly modes: readonly SyncMode[];
  /**
   * The channel its syncs reach customers on, unless a sync names its own (`channel:`) or sends an audience (the
   * audience's channel): e-mail tools `email`, CRMs `crm`, ads platforms `ads`. Absent for general-purpose
   * destinations (files, webhooks, tables, multi-channel tools), whose syncs say it themselves.
   */
  readonly channel?: Channel;
  /**
   * For destination types whose modes include `events`: what the vendor accepts of an event's age and how it
   * de-duplicates. Events older than `maxAgeDays` when the run plans are never sent: counted `too_old`.
   */
  readonly events?: {
    /** The oldest event the API accepts, in days before now, for this sync (Meta: 7 for website events, 62 for physical_store); undefined: no limit. */
    maxAgeDays(config: Config, sync: EventSyncShape): number | undefined;
    /**
     * How the vendor drops an event it receives twice, cited (`event_id` within 48 hours, Meta), or undefined when
     * it keeps every copy: then a run that dies may leave duplicates (at most the records in flight, see the README).
     */
    readonly deduplication: string | undefined;
  };
  /**
   * How a person's records sent by a sync are erased at the vendor (`tideline forget`, README "Privacy"), by the
   * sync's object and mode: sent again with `operation` — `forget` for the vendor's own erasure (HubSpot's GDPR delete,
   * Mailchimp's permanent delete), or the `delete` / `remove` the mode already sends where that is the vendor's way
   * (an ads audience's member removal) — with `method` citing the vendor's call; or `manual` where the API offers no
   * way (events ingested by an ads platform), saying what the data-protection officer must do instead. The erasure
   * report and the audit trail quote both.
   */
  erasure(config: Config, sync: { readonly object: string; readonly mode: SyncMode }): ErasurePlan;
  /** Values of the config that must never be printed (tokens, secrets). */
  secrets(config: Config): string[];
  limits(config: Config): DestinationLimits;
  /** Checks a sync against what the destination accepts (objects, fields, references to targets), located. */
  checkSync?(config: Config, sync: SyncShape, project: ProjectFacts): ConfigProblem[];
  /**
   * What names the destination object for the sync lock: two runners never write to the same one at once
   * (e.g. the URL, the account and object). Must not contain secrets.
   */
  lockScope(config: Config, object: string): string;
  /** Fields the snapshot keeps for each accepted record, so that `delete` and `remove` can name it (ads audiences). */
  retainFields?(config: Config): readonly string[];
  /**
   * What the snapshot keeps of a retained field's value (default: the value as sent). Ads destinations return the
   * normalised SHA-256 here, so the state never holds a raw e-mail or phone; `delete` and `remove` then receive these
   * values, which the destination must accept as they are (a 64-hex digest is passed through).
   */
  retainValue?(config: Config, field: string, value: FieldValue): FieldValue;
  /** Bytes a record adds to a request, for `maxBatchBytes` (default: its JSON length). */
  recordBytes?(record: OutboundRecord): number;
  /** The vendor API version this config speaks (HTTP destinations of versioned APIs); absent for unversioned ones. */
  apiVersion?(config: Config): ApiVersion;
  open(config: Config, context: DestinationContext): Promise<DestinationSession>;
  /**
   * Finishes what runs that died left unfinished at the destination (`context.interruptedRuns`), for destinations
   * that keep a unit of work per run (a file and its manifest). Called after their journals were applied and before
   * this run opens a session, whether or not it has anything to send.
   */
  recoverInterrupted?(config: Config, context: DestinationContext): Promise<void>;
  /**
   * Destinations that deliver, besides each run's changes, the whole list the sync holds (the file destination's
   * `full_list`). `wanted` says whether this config asks for it; `write` is called once a run ended without failure
   * (even with nothing to send), after its outcomes were folded into the snapshot and under the sync's lock, with
   * every record the destination then holds, in key order, as the operation an added record gets in the sync's mode.
   * Returns facts for the run record.
   */
  readonly currentList?: {
    wanted(config: Config): boolean;
    write(config: Config, context: DestinationContext, list: CurrentList): Promise<Readonly<Record<string, unknown>> | void>;
  };
  /**
   * `tideline validate --remote`: the fields the destination object has, asked of the API (or its emulator), so that
   * unknown or read-only target fields are reported before a sync. Absent: the destination takes any field.
   */
  remoteFields?(config: Config, object: string, context: RemoteContext): Promise<readonly RemoteField[]>;
  /** Creates a missing custom field, when the sync says `create_missing_fields: true`. */
  createField?(config: Config, object: string, field: { readonly name: string; readonly type: LogicalType | undefined }, context: RemoteContext): Promise<void>;
  /** The emulator: started by tests and by `tideline sandbox`, with `sandboxConfig` pointing a config at it. */
  readonly emulator: {
    start(context: SandboxContext): Promise<Emulator>;
    sandboxConfig(config: Config, emulator: Emulator): Config;
  };
}

/** How a sync's records of a person are erased at the vendor: see DestinationType.erasure. */
export type ErasurePlan =
  | { readonly operation: 'forget' | 'delete' | 'remove'; readonly method: string }
  | { readonly manual: string };

/**
 * The version of a vendor API a destination speaks, with the vendor's published end of support. Declared in the
 * destination's `protocol.ts` with the source of each date; `tideline validate` warns within 90 days of `sunset` and
 * fails past it, and the emulator refuses versions outside the vendor's window with the vendor's own error.
 */
export interface ApiVersion {
  /** As the API spells it in paths or headers: `v24.0`, `202511`, `2026-03`. */
  readonly version: string;
  /** The day the vendor stops serving it (`YYYY-MM-DD`), or undefined when none is announced. */
  readonly sunset: string | undefined;
  /** Where the dates come from (the vendor's page), for the README and reviewers. */
  readonly source: string;
}

/** Whether the vendor has switched `version` off by `day` (`YYYY-MM-DD`): it serves a version until its sunset. */
export function sunsetPassed(version: Pick<ApiVersion, 'sunset'>, day: string): boolean {
  return version.sunset !== undefined && day >= version.sunset;
}

/**
 * A destination type's config schema: an object schema (the engine merges its shape with the common fields) whose
 * output is the type's Config, so that `defineDestination` does not type-check when the schema and the code reading
 * its configs disagree.
 */
export type ConfigSchema<Config> = z.ZodObject & z.ZodType<Config>;

/**
 * A registered destination type, its config type erased; configs reaching it were produced by its schema.
 *
 * Unlike a model kind's spec (RegisteredKind), that is not checked: configs also reach the engine as plain JSON from
 * target/sandbox.json, written by another process (`tideline sandbox`), and through the sync options' `configFor`, so
 * the type cannot recognise its own by identity. Checking it would mean binding each config to its type where it is
 * read (src/sync/load.ts, src/sync/sandbox.ts) and handing the engine the bound pair.
 */
export type RegisteredDestination = DestinationType<unknown>;

export function defineDestination<Config>(type: DestinationType<Config>): RegisteredDestination {
  return type as unknown as RegisteredDestination;
}

// ---- batch-wide failures: the only errors a session throws ----

/** Base of the typed failures. Messages are user-facing and must not contain secrets or record values. */
export abstract class DestinationError extends Error {
  abstract readonly kind: 'auth' | 'rate-limited' | 'transient' | 'batch-rejected' | 'stop';
}

/** Credentials missing, wrong or without the needed scope: the sync stops; retrying cannot help. */
export class AuthError extends DestinationError {
  readonly kind = 'auth' as const;
  override readonly name = 'AuthError';
}

/** The API asked to slow down. The engine pauses every request to this destination for `retryAfterMs` (or backs off). */
export class RateLimitedError extends DestinationError {
  readonly kind = 'rate-limited' as const;
  override readonly name = 'RateLimitedError';
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

/** A failure that may pass: 5xx, timeout, connection reset. Retried with exponential backoff and jitter, up to a limit. */
export class TransientError extends DestinationError {
  readonly kind = 'transient' as const;
  override readonly name = 'TransientError';
}

/**
 * The API refused the whole batch because of its content, without saying which record (a 400 for the batch). The
 * engine splits the batch to isolate the bad record; a batch of one becomes that record's rejection with `code`.
 */
export class BatchRejectedError extends DestinationError {
  readonly kind = 'batch-rejected' as const;
  override readonly name = 'BatchRejectedError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The sync must stop now: daily quota spent, audience flagged, terms not accepted. Not retried this run. */
export class StopSyncError extends DestinationError {
  readonly kind = 'stop' as const;
  override readonly name = 'StopSyncError';
}
