import type { Dialect, LogicalType, TableRef } from '../dialects/dialect.js';
import { joinSql, sql, type Sql } from '../dialects/sql.js';

/**
 * The state schema (`state_schema`, default `tideline_state`): what Tideline remembers between runs, in the
 * warehouse itself, so that any stateless runner can sync.
 *
 * Shared tables, one row per sync and key or run:
 *  - `sync_runs`: one row per run (start, end, counts per operation, status);
 *  - `sync_rejected`: the records a destination refused, with its message, whether a later run may retry them, and
 *    how often they were tried;
 *  - `sync_locks`: one row per destination object being written, with a lease (see lock.ts);
 *  - `sync_meta`: small facts (the sandbox session the sandbox state belongs to);
 *  - `sync_messages`: one row per message Tideline sent to a contact — an accepted entry into an audience or an
 *    accepted insert of a sync with a channel and a contact column — which marketing pressure counts (see
 *    src/sync/messages.ts).
 * Per sync `<name>`:
 *  - `snapshot__<name>`: what the destination holds, as far as Tideline knows — key, hash of the mapped fields when
 *    it was accepted, the destination's id, retained identifiers, last status and attempt;
 *  - `changes__<name>`: the current run's change set, materialised by the planner, numbered (`seq`) and read in
 *    pages; it is kept until the run's journal is folded in (`unnumbered__<name>`: a large one before it is numbered);
 *  - `journal__<name>`: per-record outcomes of the current run by change-set `seq` (a row a record, mostly a number
 *    and a flag, so that journaling a million outcomes costs little), appended in chunks as they arrive and folded
 *    into the snapshot and rejected tables in one atomic step at the end of the run — or at the start of the next
 *    one if the process died.
 */
export interface ColumnDef {
  readonly name: string;
  readonly type: LogicalType;
}

export const RUNS_COLUMNS: readonly ColumnDef[] = [
  { name: 'run_id', type: 'string' },
  { name: 'sync_name', type: 'string' },
  { name: 'mode', type: 'string' },
  { name: 'started_at', type: 'timestamp' },
  { name: 'finished_at', type: 'timestamp' },
  { name: 'status', type: 'string' },
  { name: 'added', type: 'integer' },
  { name: 'changed', type: 'integer' },
  { name: 'removed', type: 'integer' },
  { name: 'held_back', type: 'integer' },
  { name: 'invalid', type: 'integer' },
  { name: 'sent', type: 'integer' },
  { name: 'accepted', type: 'integer' },
  { name: 'rejected', type: 'integer' },
  { name: 'requests', type: 'integer' },
  { name: 'error', type: 'string' },
  /** Events older than the destination accepts, skipped (events syncs; 0 otherwise). Added after the others: see StateStore.setup. */
  { name: 'too_old', type: 'integer' },
];

export const REJECTED_COLUMNS: readonly ColumnDef[] = [
  { name: 'sync_name', type: 'string' },
  { name: 'record_key', type: 'string' },
  { name: 'record_hash', type: 'string' },
  { name: 'operation', type: 'string' },
  { name: 'run_id', type: 'string' },
  { name: 'error_code', type: 'string' },
  { name: 'error_message', type: 'string' },
  { name: 'retryable', type: 'boolean' },
  { name: 'attempts', type: 'integer' },
  { name: 'first_rejected_at', type: 'timestamp' },
  { name: 'last_rejected_at', type: 'timestamp' },
];

export const LOCK_COLUMNS: readonly ColumnDef[] = [
  { name: 'lock_key', type: 'string' },
  { name: 'sync_name', type: 'string' },
  { name: 'run_id', type: 'string' },
  { name: 'host', type: 'string' },
  { name: 'pid', type: 'integer' },
  { name: 'acquired_at', type: 'timestamp' },
  { name: 'expires_at', type: 'timestamp' },
];

export const META_COLUMNS: readonly ColumnDef[] = [
  { name: 'name', type: 'string' },
  { name: 'value', type: 'string' },
];

export const MESSAGES_COLUMNS: readonly ColumnDef[] = [
  { name: 'sync_name', type: 'string' },
  { name: 'model', type: 'string' },
  /** The audience entered, for an audience sync; NULL for an insert sync. */
  { name: 'audience', type: 'string' },
  /** The record's key in the destination: with `sync_name` and `run_id`, what makes a message recorded once. */
  { name: 'record_key', type: 'string' },
  /** The customer key (the sync's `contact` column), as text. */
  { name: 'contact_key', type: 'string' },
  { name: 'channel', type: 'string' },
  /** The communication type (an audience's `type`, a sync's `message_type`), weighed by `pressure.weights`. */
  { name: 'message_type', type: 'string' },
  { name: 'run_id', type: 'string' },
  /** When the run that sent it started. */
  { name: 'sent_at', type: 'timestamp' },
];

/**
 * The audit trail of what left for where (README "Privacy"): one row per run that delivered records, written in the
 * fold's atomic unit — which destination object received which fields, for how many records. Names and counts only,
 * never a value.
 */
export const AUDIT_COLUMNS: readonly ColumnDef[] = [
  { name: 'run_id', type: 'string' },
  { name: 'sync_name', type: 'string' },
  { name: 'destination', type: 'string' },
  { name: 'destination_type', type: 'string' },
  { name: 'object', type: 'string' },
  { name: 'mode', type: 'string' },
  /** The destination fields the run sent, the key's first, comma-separated. */
  { name: 'fields', type: 'string' },
  /** Records the destination accepted (removals included). */
  { name: 'records', type: 'integer' },
  /** Of them, removals (deletes, audience exits). */
  { name: 'removed', type: 'integer' },
  { name: 'sent_at', type: 'timestamp' },
];

export const SNAPSHOT_COLUMNS: readonly ColumnDef[] = [
  { name: 'record_key', type: 'string' },
  { name: 'record_hash', type: 'string' },
  { name: 'destination_id', type: 'string' },
  /** JSON of the fields the destination asked to keep for deletes and removals (ads: hashed identifiers). */
  { name: 'retained', type: 'string' },
  /**
   * `synced`; `rejected` when a newer version was refused (the row still describes what the destination holds); or
   * `in_doubt` for an insert sent without a known answer (no hash: it is sent again, see the planner).
   */
  { name: 'last_status', type: 'string' },
  { name: 'last_attempt_at', type: 'timestamp' },
  { name: 'last_run_id', type: 'string' },
  { name: 'synced_at', type: 'timestamp' },
];

/**
 * An events sync's snapshot also keeps each event's time, so that a run joins only the part of it that its window of
 * event times can meet (src/sync/events.ts): the snapshot of a table of events grows with it.
 */
export const EVENT_TIME_SNAPSHOT_COLUMN: ColumnDef = { name: 'event_time', type: 'timestamp' };

/** The snapshot's columns of a sync (with the event's time for an events sync). */
export function snapshotColumns(events: boolean): readonly ColumnDef[] {
  return events ? [...SNAPSHOT_COLUMNS, EVENT_TIME_SNAPSHOT_COLUMN] : SNAPSHOT_COLUMNS;
}

/** The snapshot status of an insert whose delivery is unknown. */
export const IN_DOUBT_STATUS = 'in_doubt';

export const JOURNAL_COLUMNS: readonly ColumnDef[] = [
  /** The record's row in the run's change set (`changes__<name>.seq`), which holds its key, hash and op. */
  { name: 'seq', type: 'integer' },
  { name: 'accepted', type: 'boolean' },
  { name: 'destination_id', type: 'string' },
  { name: 'retained', type: 'string' },
  { name: 'error_code', type: 'string' },
  { name: 'error_message', type: 'string' },
  { name: 'retryable', type: 'boolean' },
];

export function stateTable(schema: string, name: string): TableRef {
  return { schema, name };
}

export const SHARED_TABLES = {
  runs: 'sync_runs',
  rejected: 'sync_rejected',
  locks: 'sync_locks',
  meta: 'sync_meta',
  messages: 'sync_messages',
  audit: 'privacy_audit',
} as const;

/** Columns of the shared state tables models may read (PlanContext.stateRelation), by table name. */
export const READABLE_STATE_TABLES: Readonly<Record<string, readonly ColumnDef[]>> = { [SHARED_TABLES.messages]: MESSAGES_COLUMNS, [SHARED_TABLES.runs]: RUNS_COLUMNS };

export function snapshotTable(schema: string, sync: string): TableRef {
  return { schema, name: `snapshot__${sync}` };
}

export function journalTable(schema: string, sync: string): TableRef {
  return { schema, name: `journal__${sync}` };
}

export function changesTable(schema: string, sync: string): TableRef {
  return { schema, name: `changes__${sync}` };
}

/**
 * Where a change set too large to number in one statement is first written unnumbered (src/sync/planner.ts,
 * materialiseChanges): `unnumbered__<name>` beside `changes__<name>`, a prefix no other state table's name has. It
 * holds the change set's values while the plan runs; a run killed meanwhile leaves it until the sync's next plan, a
 * `tideline forget` or a full resync drops it.
 */
export function unnumberedTable(changes: TableRef): TableRef {
  const prefix = 'changes__';
  return { ...changes, name: changes.name.startsWith(prefix) ? `unnumbered__${changes.name.slice(prefix.length)}` : `${changes.name}__unnumbered` };
}

/** A relation with these columns and no rows: stands for a state table the warehouse does not hold yet. */
export function noRows(d: Dialect, columns: readonly ColumnDef[]): Sql {
  const nulls = columns.map((c) => sql`CAST(NULL AS ${d.type(c.type)}) AS ${d.id(c.name)}`);
  return sql`(SELECT ${joinSql(nulls)} FROM (SELECT 1 AS ${d.id('one')}) AS e WHERE 1 = 0)`;
}
