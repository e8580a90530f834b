import type { Dialect, TableRef } from '../dialects/dialect.js';
import { Sql, sql } from '../dialects/sql.js';
import { MESSAGES_COLUMNS } from './tables.js';

/**
 * What one sync's accepted records are as messages to contacts: the facts the fold writes into `sync_messages`
 * beside each accepted entry (see src/sync/messages.ts for which syncs have them).
 */
export interface MessageSource {
  readonly model: string;
  /** The audience its records enter, for an audience sync. */
  readonly audience: string | undefined;
  readonly channel: string;
  /** The communication type, weighed by the project's `pressure.weights`. */
  readonly type: string;
}

/** The change-set column holding a record's contact key as text (present when the sync has a MessageSource). */
export const CONTACT_KEY_COLUMN = 'contact_key';

/**
 * The fold's statement recording the run's messages: one row per accepted `added` record of the change set that has a
 * contact key, dated by the run's start. It runs in the fold's atomic unit, before the journal is emptied, so a crash
 * leaves either the journal (folded again later, recording them then) or the rows, never both; and it is an upsert on
 * (sync, record key, run), so folding the same outcomes twice where a warehouse could not make the fold atomic still
 * records each message once. A record sent without a known answer is recorded only by the run that learns it arrived
 * (the next run re-sends it, and an "already exists" counts as accepted), so it is never counted twice either.
 */
export function recordMessagesStatement(
  d: Dialect,
  tables: { readonly messages: TableRef; readonly journal: TableRef; readonly changes: TableRef; readonly runs: TableRef },
  sync: string,
  source: MessageSource,
  runId: string,
  now: Date,
  /** Conditions on the journal `j` and change set `c` of a fold of part of the journal (StateStore.applyJournalStatements). */
  range: Sql = Sql.empty,
): Sql {
  const id = (name: string) => d.id(name);
  const text = (value: string | undefined) => (value === undefined ? d.cast(d.literal(null), 'string') : d.string(value));
  const started = sql`(SELECT MAX(${id('started_at')}) FROM ${d.table(tables.runs)} WHERE ${id('run_id')} = ${d.string(runId)})`;
  const select = sql`SELECT DISTINCT ${d.string(sync)} AS ${id('sync_name')}, ${d.string(source.model)} AS ${id('model')}, ${text(source.audience)} AS ${id('audience')}, c.${id('record_key')} AS ${id('record_key')}, c.${id(CONTACT_KEY_COLUMN)} AS ${id('contact_key')}, ${d.string(source.channel)} AS ${id('channel')}, ${d.string(source.type)} AS ${id('message_type')}, ${d.string(runId)} AS ${id('run_id')}, COALESCE(${started}, ${d.timestampLiteral(now)}) AS ${id('sent_at')}
FROM ${d.table(tables.journal)} AS j JOIN ${d.table(tables.changes)} AS c ON c.${id('seq')} = j.${id('seq')}
WHERE j.${id('accepted')} AND c.${id('op')} = ${d.string('added')} AND c.${id(CONTACT_KEY_COLUMN)} IS NOT NULL${range}`;
  return d.upsert(tables.messages, select, ['sync_name', 'record_key', 'run_id'], MESSAGES_COLUMNS.map((c) => c.name));
}
