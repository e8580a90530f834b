import type { Dialect, LogicalType, TableRef } from '../dialects/dialect.js';
import { compileComparison } from '../expressions/conditions.js';
import type { Gates } from '../expressions/policies.js';
import type { EventPressure } from '../../models/audiences/pressure.js';
import { joinSql, Sql, sql, unionAll } from '../dialects/sql.js';
import { IN_DOUBT_STATUS, REJECTED_COLUMNS, SNAPSHOT_COLUMNS, unnumberedTable } from '../state/tables.js';
import type { Connection, Row } from '../warehouses/connection.js';
import { CONTACT_KEY_COLUMN } from '../state/messages.js';
import type { SyncDef } from './load.js';
import { contactKeyColumns } from './messages.js';
import { compileMapping, hashExpression, type ColumnTypes, type CompiledMapping } from './mapping.js';
import { personCondition, type MatchScope } from '../privacy/match.js';

/**
 * The planner: the diff between a sync's model and its snapshot, as SQL run in the warehouse.
 *
 * Every model row is mapped (key and fields, with their clean-ups) and hashed; rows are then classified against the
 * snapshot and the rejected table:
 *  - `added` (key not in the snapshot), `changed` (hash differs), `removed` (in the snapshot, gone from the model —
 *    only for modes that act on it: mirror and audience);
 *  - `held_back`: refused before by the destination for good (not retryable) and unchanged since: not sent again
 *    until the row changes or `--full-resync`;
 *  - `null_key`, `duplicate_key`: invalid, never sent. A key held by several rows is not `removed` either;
 *  - `suppressed`: a model row left out by the project's suppressions or preferences (`PlanInput.gates`), before
 *    anything else: never sent, and for mirror and audience syncs a suppressed contact the destination holds is
 *    `removed`, exactly as if it had left the model;
 *  - `no_consent`: the same for a row whose contact has not granted every consent purpose the sync needs (`gates.
 *    consent`); a row both suppressed and without consent is `suppressed` (and a forgotten one `forgotten`).
 * Retryable rejections need no special case: they never advanced the snapshot, so they come back as added/changed.
 * The change set is ordered removed → changed → added, then by key, and numbered (`seq`) so it can be read in pages;
 * the rows that are not sent (held back, invalid) come last and are never read by a page (`pageStatement`).
 *
 * Two more columns serve delivery guarantees:
 *  - `prior_run`: the run that last advanced the snapshot row (NULL for a key the snapshot does not hold). With the
 *    record's hash it names one change of one record: a record re-sent after a crash carries the same idempotency
 *    key as before, while a later change of the same record (even back to an earlier value) carries a new one.
 *  - `in_doubt`: a record sent by a run whose answer was lost (it died, or gave up): the snapshot row is `in_doubt`
 *    with no hash (see StateStore.applyJournalStatements), so it is sent again — the record if it is in the model,
 *    its removal if it left (mirror, audience). For an insert, an "already exists" answer then means the earlier
 *    attempt arrived, not that someone else created the key. A row never confirmed (`synced_at` NULL) is `added`.
 */
export const OPS = ['removed', 'changed', 'added', 'held_back', 'too_old', 'forgotten', 'suppressed', 'no_consent', 'duplicate_key', 'null_key'] as const;
export type DiffOp = (typeof OPS)[number];
/** Ops that are sent to the destination: they come first in the change set (seq 1…their count). */
export const SENDABLE: readonly DiffOp[] = ['removed', 'changed', 'added'];

export interface PlanInput {
  readonly dialect: Dialect;
  readonly sync: SyncDef;
  readonly model: TableRef;
  readonly types: ColumnTypes;
  /** The snapshot table, or undefined before the first run (read as empty). */
  readonly snapshot: TableRef | undefined;
  /** The shared rejected table, or undefined before the first run. */
  readonly rejected: TableRef | undefined;
  /**
   * Contacts the project's policies leave out (src/sync/suppressions.ts): the model column holding the customer key,
   * the gates of suppressions and preferences, those of consent by purpose, and for an events sync whose events
   * start messages, the room its contacts have under the caps.
   */
  readonly gates?: { readonly contact: string; readonly gates: Gates; readonly consent?: Gates | undefined; readonly pressure?: EventPressure | undefined } | undefined;
  /** For an events sync: the span of event times this run reads (src/sync/events.ts). */
  readonly window?: EventWindow | undefined;
  /**
   * The people erased by `tideline forget` (src/privacy/filter.ts): a row that is theirs — its key, contact or
   * identifier columns hash into the list, each matched by the kind of value (src/privacy/match.ts) — is left out, as
   * op `forgotten`, before anything else; its snapshot row is not `removed` either (the erasure owes it).
   */
  readonly forgotten?: ForgottenFilter | undefined;
  /**
   * The model's rows share no key (the caller checked, `sharedKeysStatement`): the diff leaves the per-row test out.
   * DuckDB decorrelates that test by gathering every row's key in memory (10M keys ran out of a 64MB memory_limit).
   */
  readonly noSharedKeys?: boolean | undefined;
  /**
   * Only the keys of one part (Dialect.keyPart: rows without a key are in part 0): the diff of a model and a snapshot
   * too large to join within the warehouse's memory is made a part at a time (materialiseChanges). Every row of a key,
   * in the model and in the snapshot, is in the same part, so the parts' rows together are the whole diff's.
   */
  readonly part?: KeyPart | undefined;
}

/** One of `of` parts of a diff's keys (PlanInput.part). */
export interface KeyPart {
  readonly index: number;
  readonly of: number;
}

/** The condition that a key (`key`, NULL or not) is in the input's part, or undefined when the diff is whole. */
function inPart(input: PlanInput, key: Sql): Sql | undefined {
  const part = input.part;
  if (!part || part.of <= 1) return undefined;
  const d = input.dialect;
  const bucket = sql`${d.keyPart(key, part.of)} = ${d.literal(part.index)}`;
  // A NULL key is in part 0 only (a warehouse may hash NULL to a part: DuckDB's hash does).
  return part.index === 0 ? sql`(${key} IS NULL OR ${bucket})` : sql`(${key} IS NOT NULL AND ${bucket})`;
}

/**
 * What the planner needs of the forgotten list (src/privacy/filter.ts): how to hash and list its values, and the
 * model's contact and identifier columns the test reads (src/privacy/match.ts).
 */
export interface ForgottenFilter {
  readonly scope: MatchScope;
  readonly contact: string | undefined;
  /** The model's identifier columns (`privacy.identifiers`). */
  readonly identifiers: readonly string[];
}

/**
 * The events an events sync's run reads: those whose time is after `from` (every one when undefined: a first run
 * with `backfill: all`) and not after `to` (when the run planned: an event stamped later waits for a later run).
 * Events not after `oldest` are older than the destination accepts: counted `too_old`, never sent.
 */
export interface EventWindow {
  readonly from: Date | undefined;
  readonly to: Date;
  readonly oldest: Date | undefined;
}

/** The change set's columns of an events sync's event, after the mapped fields: its name and its time. */
export const EVENT_NAME_COLUMN = 'event_name';
export const EVENT_TIME_COLUMN = 'event_time';

/** Whether a mode acts on rows that left the model. */
export function modeRemoves(mode: SyncDef['mode']): boolean {
  return mode === 'mirror' || mode === 'audience';
}

/**
 * The model's rows mapped (key and fields, with their clean-ups) and hashed, as the CTEs `mapped`, `shared` (keys held
 * by several rows) and `keyed`, which the diff and the current list both read.
 */
function keyedRows(input: PlanInput): { ctes: Sql; mapping: CompiledMapping; leftOut: readonly LeftOut[]; forgotten: boolean } {
  const { dialect: d, sync } = input;
  const mapping = compileMapping(d, sync, input.types);
  const id = (name: string) => d.id(name);
  const m = id('m');
  const part = inPart(input, mapping.key);
  const filters = [...(sync.audience ? [sync.audience.filter] : []), ...sync.where.map((c) => compileComparison(d, d.id(c.column), c, input.types.get(c.column))), ...windowConditions(input), ...(part ? [part] : [])];
  const whereOf = (conditions: readonly Sql[]) => (conditions.length ? sql`\n  WHERE ${joinSql(conditions, sql` AND `)}` : Sql.empty);
  const policy = input.gates?.gates.ctes.length ? input.gates.gates : undefined;
  const consent = input.gates?.consent?.ctes.length ? input.gates.consent : undefined;
  const gated = policy || consent ? input.gates : undefined;
  // With gates or the forgotten list the model is aliased, so that their subqueries name its columns unambiguously.
  const aliased = gated !== undefined || input.forgotten !== undefined;
  const from = aliased ? sql`${d.table(input.model)} AS ${id('src')}` : d.table(input.model);
  const contactOfRow = gated ? sql`${id('src')}.${id(gated.contact)}` : undefined;
  const suppressedTest = policy && contactOfRow ? policy.blocked(contactOfRow) : undefined;
  const consentTest = consent && contactOfRow ? consent.blocked(contactOfRow) : undefined;
  const blocked = suppressedTest && consentTest ? sql`(${suppressedTest} OR ${consentTest})` : (suppressedTest ?? consentTest);
  const forgot = forgottenCondition(input, mapping.key);
  // The rows a sync may send or gate: its filters, and not a forgotten person's (forgotten comes before every gate).
  const kept = forgot ? [...filters, sql`NOT ${forgot}`] : filters;
  // Syncs whose records are messages carry each record's contact key, for the fold to record (src/sync/messages.ts).
  const contact = contactKeyColumns(d, sync, input.types);
  const mapped = sql`SELECT ${mapping.key} AS ${id('record_key')}${contact ? sql`, ${contact.mapped}` : Sql.empty}${prefixed(mapping.fields.map((f, i) => sql`${f.expr} AS ${id(mapping.columns[i]!)}`))}${eventColumns(input)}
  FROM ${from}${whereOf(blocked ? [...kept, sql`NOT ${blocked}`] : kept)}`;
  // The rows left out, each by the first gate that stops it: suppressions and preferences, then consent.
  const leftOutRows = (conditions: readonly Sql[]) => sql`SELECT ${mapping.key} AS ${id('record_key')}\n  FROM ${from}${whereOf([...kept, ...conditions])}`;
  const leftOut: LeftOut[] = [
    ...(suppressedTest ? [{ op: 'suppressed' as const, cte: sql`suppressed_rows`, rows: leftOutRows([suppressedTest]) }] : []),
    ...(consentTest ? [{ op: 'no_consent' as const, cte: sql`no_consent_rows`, rows: leftOutRows(suppressedTest ? [sql`NOT ${suppressedTest}`, consentTest] : [consentTest]) }] : []),
  ];
  // The forgotten rows, counted and never sent.
  const forgottenRows = forgot ? sql`SELECT ${mapping.key} AS ${id('record_key')}\n  FROM ${from}${whereOf([...filters, forgot])}` : undefined;
  // Keys held by several rows: a grouped count is far cheaper than a window over every row.
  const shared = sql`SELECT ${id('record_key')} FROM mapped WHERE ${id('record_key')} IS NOT NULL GROUP BY ${id('record_key')} HAVING COUNT(*) > 1`;
  const keyed = sql`SELECT ${m}.*, ${hashExpression(d, sync, mapping, m)} AS ${id('record_hash')}
  FROM mapped AS ${m}`;
  const gateCtes = [...(policy?.ctes ?? []), ...(consent?.ctes ?? [])].map((c) => sql`${id(c.name)} AS (\n  ${c.body}\n),\n`);
  // An events sync's messages already counted under each cap, per contact (see eventPressure).
  const pressure = input.gates?.pressure;
  if (pressure) gateCtes.push(sql`${id(PRESSURE_ROOM)} AS (\n  ${pressure.used}\n),\n`);
  // The model's rows are read where each part of the diff needs them, not stored, where that is cheaper
  // (Dialect.inlineCte). An events sync's window is stored once: read twice, its plan over 10M events of which 100k
  // were new took 1.24 s instead of 0.58 s. So are mapped rows tested against the forgotten list or the gates (their
  // subqueries): read where needed, the diff of 1M rows with 1,000 people forgotten ran out of a 64MB memory_limit
  // on DuckDB, stored it took 4.4 s.
  const stored = (name: Sql, body: Sql) => sql`${name} AS (\n  ${body}\n)`;
  const cte = (name: Sql, body: Sql) => (sync.event ? stored(name, body) : d.inlineCte(name, body));
  const ctes = sql`WITH ${joinSql(gateCtes, sql``)}${aliased ? stored(sql`mapped`, mapped) : cte(sql`mapped`, mapped)},${joinSql(leftOut.map((l) => sql`\n${l.cte} AS (\n  ${l.rows}\n),`), sql``)}${forgottenRows ? sql`\nforgotten_rows AS (\n  ${forgottenRows}\n),` : Sql.empty}
shared AS (
  ${shared}
),
${cte(sql`keyed`, keyed)}`;
  return { ctes, mapping, leftOut, forgotten: forgottenRows !== undefined };
}

/** A CTE of model rows the policies leave out, and the op they are counted under. */
interface LeftOut {
  readonly op: 'suppressed' | 'no_consent';
  readonly cte: Sql;
  readonly rows: Sql;
}

/** The test of a model row against the forgotten list (src/privacy/match.ts), over the model aliased `src`. */
function forgottenCondition(input: PlanInput, key: Sql): Sql | undefined {
  const f = input.forgotten;
  if (!f) return undefined;
  const d = input.dialect;
  const column = (name: string) => sql`${d.id('src')}.${d.id(name)}`;
  return personCondition(f.scope, { sync: input.sync.name, events: input.sync.event !== undefined, key, contact: f.contact ? column(f.contact) : undefined, identifiers: f.identifiers.map(column) });
}

/** An events sync's event time as a timestamp (a date column is read as its midnight). */
function eventTime(input: PlanInput): Sql {
  const { dialect: d, sync } = input;
  const column = d.id(sync.event!.time);
  return input.types.get(d.identifierKey(sync.event!.time)) === 'date' ? d.cast(column, 'timestamp') : column;
}

/**
 * The window of an events sync as conditions on the model's rows: compared on the column itself (not an
 * expression of it), so that the warehouse can skip what lies outside — DuckDB's zone maps, an index, a partition.
 */
function windowConditions(input: PlanInput): Sql[] {
  const { dialect: d, window, sync } = input;
  if (!sync.event || !window) return [];
  // A date column's events are read all day long (from the day of `from` to the day of `to`): compared with a date,
  // not as midnight, a day loaded after midnight is still inside a look-back of a day.
  if (input.types.get(d.identifierKey(sync.event.time)) === 'date') {
    const day = (at: Date) => d.dateLiteral(at.toISOString().slice(0, 10));
    const column = d.id(sync.event.time);
    return [...(window.from ? [sql`${column} >= ${day(window.from)}`] : []), sql`${column} <= ${day(window.to)}`];
  }
  const time = eventTime(input);
  return [...(window.from ? [sql`${time} > ${d.timestampLiteral(window.from)}`] : []), sql`${time} <= ${d.timestampLiteral(window.to)}`];
}

/** The event's name and time in an events sync's mapped rows. */
function eventColumns(input: PlanInput): Sql {
  const { dialect: d, sync } = input;
  if (!sync.event) return Sql.empty;
  const name = 'constant' in sync.event.name ? d.string(sync.event.name.constant) : d.cast(d.id(sync.event.name.column), 'string');
  return sql`, ${name} AS ${d.id(EVENT_NAME_COLUMN)}, ${eventTime(input)} AS ${d.id(EVENT_TIME_COLUMN)}`;
}

/** The CTE of an events sync's messages already counted per contact and cap. */
const PRESSURE_ROOM = 'tl_room';

/**
 * For an events sync whose events start messages: the condition of a sendable event that would take its contact past
 * a cap — its contact's sendable events of this run are admitted in time order while the weight already used plus
 * theirs fits every cap (`rank` numbers them). A contact's events held back or too old take no room.
 */
function pressureCapped(d: Dialect, pressure: EventPressure, used: Sql, rank: Sql): Sql {
  return sql`(${joinSql(
    pressure.caps.map((cap) => sql`COALESCE(${used}.${d.id(cap.column)}, 0) + ${d.literal(pressure.weight)} * ${rank} > ${d.literal(cap.max)}`),
    sql` OR `,
  )})`;
}

function isSharedKey(d: Dialect): Sql {
  return sql`EXISTS (SELECT 1 FROM shared AS ${d.id('k')} WHERE ${d.id('k')}.${d.id('record_key')} = ${d.id('m')}.${d.id('record_key')})`;
}

/** The diff as a SELECT with columns op, record_key, record_hash, destination_id, retained, prior_run, in_doubt, f_0…f_n. */
export function diffSelect(input: PlanInput): { select: Sql; mapping: CompiledMapping } {
  const { dialect: d, sync } = input;
  const { ctes, mapping, leftOut, forgotten } = keyedRows(input);
  const id = (name: string) => d.id(name);
  // Table aliases: the model's mapped rows, the snapshot, the rejected rows.
  const [m, s, r] = [id('m'), id('s'), id('r')];
  const col = (alias: Sql, name: string) => sql`${alias}.${id(name)}`;
  const text = d.type('string');
  const nullText = sql`CAST(NULL AS ${text})`;
  const snapshotPart = inPart(input, id('record_key'));
  const snapshot = input.snapshot
    ? snapshotPart
      ? sql`(SELECT * FROM ${d.table(input.snapshot)} WHERE ${snapshotPart})`
      : d.table(input.snapshot)
    : emptyRelation(d, SNAPSHOT_COLUMNS.map((c) => c.name));
  const rejected = input.rejected
    ? sql`(SELECT ${id('record_key')}, ${id('record_hash')} FROM ${d.table(input.rejected)} WHERE ${id('sync_name')} = ${d.string(sync.name)} AND ${id('retryable')} = FALSE)`
    : emptyRelation(d, ['record_key', 'record_hash']);
  // An events sync's rows carry their event's name and time after the fields (NULL in the rows that are no event).
  const events = sync.event !== undefined;
  const fieldsOf = (alias: Sql) => [...mapping.columns.map((c) => col(alias, c)), ...(events ? [col(alias, EVENT_NAME_COLUMN), col(alias, EVENT_TIME_COLUMN)] : [])];
  const noFields = [...mapping.columns.map(() => sql`NULL`), ...(events ? [nullText, sql`CAST(NULL AS ${d.type('timestamp')})`] : [])];
  // The contact key a messaging sync's mapped rows carry (see keyedRows), kept in its change set for the fold.
  const contact = contactKeyColumns(d, sync, input.types);
  const contactOf = (alias: Sql) => (contact ? sql`, ${col(alias, CONTACT_KEY_COLUMN)}` : Sql.empty);
  const isShared = isSharedKey(d);
  const inDoubt = sql`${col(s, 'last_status')} = ${d.string(IN_DOUBT_STATUS)}`;
  const sendable =
    sync.mode === 'insert' || events
      ? sql`(${col(s, 'record_key')} IS NULL OR ${inDoubt})`
      : sql`(${col(s, 'record_key')} IS NULL OR ${col(s, 'record_hash')} IS NULL OR ${col(s, 'record_hash')} <> ${col(m, 'record_hash')})`;
  const neverConfirmed = sql`(${col(s, 'record_key')} IS NULL OR ${col(s, 'synced_at')} IS NULL)`;
  // An events sync joins only the snapshot rows of the events its window read (by id, not by the time the snapshot
  // holds: an event whose time was corrected since it was sent is still known), so the join costs in proportion to
  // the window, not to every event ever sent.
  const heldEvents = events && input.snapshot ? sql`(SELECT * FROM ${snapshot} WHERE ${id('record_key')} IN (SELECT ${id('record_key')} FROM mapped))` : snapshot;
  // An event older than the destination accepts is counted, never sent; the others are all new (sent once).
  const tooOld = events && input.window?.oldest ? sql` WHEN ${col(m, EVENT_TIME_COLUMN)} <= ${d.timestampLiteral(input.window.oldest)} THEN ${d.string('too_old')}` : Sql.empty;
  // An event is new or in doubt: never `changed` (an event's content is not compared), so always `added`.
  const sendOp = events ? sql` ELSE ${d.string('added')}` : sql` WHEN ${neverConfirmed} THEN ${d.string('added')} ELSE ${d.string('changed')}`;
  // An events sync starting messages: events past the room its contact has under the caps are left out, as suppressed.
  const pressure = events && contact ? input.gates?.pressure : undefined;
  const room = id('pr');
  const capped = (() => {
    if (!pressure) return Sql.empty;
    const counted = sql`CASE WHEN ${col(r, 'record_key')} IS NULL${input.window?.oldest ? sql` AND ${col(m, EVENT_TIME_COLUMN)} > ${d.timestampLiteral(input.window.oldest)}` : Sql.empty} THEN 1 ELSE 0 END`;
    const rank = sql`ROW_NUMBER() OVER (PARTITION BY ${col(m, CONTACT_KEY_COLUMN)}, ${counted} ORDER BY ${col(m, EVENT_TIME_COLUMN)}, ${col(m, 'record_key')})`;
    return sql` WHEN ${col(m, CONTACT_KEY_COLUMN)} IS NOT NULL AND ${pressureCapped(d, pressure, room, rank)} THEN ${d.string('suppressed')}`;
  })();
  // The rows to send are found against the snapshot's keys, hashes and statuses only; the snapshot's other columns
  // are joined to those rows alone (1 % of 10M rows changed: the whole snapshot's columns cost DuckDB 4 s more).
  const sendableRows = sql`SELECT ${m}.*
  FROM keyed AS ${m}
  LEFT JOIN (SELECT ${id('record_key')}, ${id('record_hash')}, ${id('last_status')} FROM ${heldEvents} AS ${id('h')}) AS ${s} ON ${col(s, 'record_key')} = ${col(m, 'record_key')}
  WHERE ${col(m, 'record_key')} IS NOT NULL${input.noSharedKeys ? Sql.empty : sql` AND NOT ${isShared}`} AND ${sendable}`;
  const present = sql`SELECT CASE WHEN ${col(r, 'record_key')} IS NOT NULL THEN ${d.string('held_back')}${tooOld}${capped}${sendOp} END AS ${id('op')},
    ${col(m, 'record_key')}, ${col(m, 'record_hash')}, ${col(s, 'destination_id')}, ${col(s, 'retained')}, ${col(s, 'last_run_id')} AS ${id('prior_run')}, COALESCE(${inDoubt}, FALSE) AS ${id('in_doubt')}${contactOf(m)}${prefixed(fieldsOf(m))}
  FROM sendable_rows AS ${m}
  LEFT JOIN ${heldEvents} AS ${s} ON ${col(s, 'record_key')} = ${col(m, 'record_key')}
  LEFT JOIN ${rejected} AS ${r} ON ${col(r, 'record_key')} = ${col(m, 'record_key')} AND ${col(r, 'record_hash')} = ${col(m, 'record_hash')}${pressure ? sql`
  LEFT JOIN ${id(PRESSURE_ROOM)} AS ${room} ON ${col(room, 'k')} = ${col(m, CONTACT_KEY_COLUMN)}` : Sql.empty}`;
  const invalid = sql`SELECT CASE WHEN ${col(m, 'record_key')} IS NULL THEN ${d.string('null_key')} ELSE ${d.string('duplicate_key')} END,
    ${col(m, 'record_key')}, ${nullText}, ${nullText}, ${nullText}, ${nullText}, FALSE${contactOf(m)}${prefixed(fieldsOf(m))}
  FROM keyed AS ${m}
  WHERE ${col(m, 'record_key')} IS NULL${input.noSharedKeys ? Sql.empty : sql` OR ${isShared}`}`;
  const removed = sql`SELECT ${d.string('removed')}, ${col(s, 'record_key')}, ${nullText}, ${col(s, 'destination_id')}, ${col(s, 'retained')}, ${col(s, 'last_run_id')}, FALSE${contact ? sql`, ${contact.none}` : Sql.empty}${prefixed(noFields)}
  FROM ${snapshot} AS ${s}
  WHERE NOT EXISTS (SELECT 1 FROM mapped AS ${m} WHERE ${col(m, 'record_key')} = ${col(s, 'record_key')})${
    forgotten ? sql`
    AND NOT EXISTS (SELECT 1 FROM forgotten_rows AS ${id('fr')} WHERE ${col(id('fr'), 'record_key')} = ${col(s, 'record_key')})` : Sql.empty
  }`;

  // An events sync counts only the events left out that it never sent: one sent before it was left out is not news.
  const left = leftOut.map(
    (l) => sql`SELECT ${d.string(l.op)}, ${id('record_key')}, ${nullText}, ${nullText}, ${nullText}, ${nullText}, FALSE${contact ? sql`, ${contact.none}` : Sql.empty}${prefixed(noFields)}
  FROM ${l.cte}${events ? sql` AS ${id('q')} WHERE NOT EXISTS (SELECT 1 FROM ${snapshot} AS ${id('h')} WHERE ${col(id('h'), 'record_key')} = ${col(id('q'), 'record_key')})` : Sql.empty}`,
  );
  const forgottenBranch = sql`SELECT ${d.string('forgotten')}, ${id('record_key')}, ${nullText}, ${nullText}, ${nullText}, ${nullText}, FALSE${contact ? sql`, ${contact.none}` : Sql.empty}${prefixed(noFields)}
  FROM forgotten_rows`;
  const branches = [present, invalid, ...(modeRemoves(sync.mode) ? [removed] : []), ...left, ...(forgotten ? [forgottenBranch] : [])];
  const select = sql`${ctes},
sendable_rows AS (
  ${sendableRows}
)
${unionAll(branches)}`;
  return { select, mapping };
}


/** Whether the model's rows (as the diff maps and filters them) share a key: one row, `shared` 1 or 0. */
export function sharedKeysStatement(input: PlanInput): Sql {
  const { ctes } = keyedRows(input);
  return sql`${ctes}
SELECT CASE WHEN EXISTS (SELECT 1 FROM shared) THEN 1 ELSE 0 END AS ${input.dialect.id('shared')}`;
}

/**
 * The records the destination holds after a run, with their values: the model's rows whose key and hash the snapshot
 * holds (delivered as they are now), with the diff's columns and op `added`, so that the change set's paging reads
 * them. Rows the destination refused, rows never delivered and rows that left the model are not in it.
 */
export function currentSelect(input: PlanInput & { readonly snapshot: TableRef }): { select: Sql; mapping: CompiledMapping } {
  const d = input.dialect;
  const { ctes, mapping } = keyedRows(input);
  const id = (name: string) => d.id(name);
  const [m, s] = [id('m'), id('s')];
  const col = (alias: Sql, name: string) => sql`${alias}.${id(name)}`;
  const select = sql`${ctes}
SELECT ${d.string('added')} AS ${id('op')}, ${col(m, 'record_key')}, ${col(m, 'record_hash')}, ${col(s, 'destination_id')}, ${col(s, 'retained')}, ${col(s, 'last_run_id')} AS ${id('prior_run')}, FALSE AS ${id('in_doubt')}${prefixed(mapping.columns.map((c) => col(m, c)))}
FROM keyed AS ${m}
JOIN ${d.table(input.snapshot)} AS ${s} ON ${col(s, 'record_key')} = ${col(m, 'record_key')} AND ${col(s, 'record_hash')} = ${col(m, 'record_hash')}
WHERE ${col(m, 'record_key')} IS NOT NULL AND NOT ${isSharedKey(d)}`;
  return { select, mapping };
}

/** The rank of a change set row's op in send order (1 for the first of OPS). */
function opRank(d: Dialect): Sql {
  return sql`CASE ${d.id('op')} ${joinSql(
    OPS.map((op, i) => sql`WHEN ${d.string(op)} THEN ${d.literal(i + 1)}`),
    sql` `,
  )} END`;
}

/** The statement that materialises the change set, numbered in send order. */
export function materialiseStatement(d: Dialect, changes: TableRef, diff: Sql): Sql {
  // No ORDER BY around the numbering: sorting the numbered rows again held the whole change set in memory at once
  // (DuckDB failed under a memory_limit of 80MB for 1M rows; without it, 64MB is enough). DuckDB stores the rows in
  // the order it numbered them (see its numberedRows), so a page of seq values still touches only its own blocks;
  // elsewhere pages are read by seq all the same, only less cheaply.
  return d.createTableAs(changes, sql`SELECT * FROM (
${d.numberedRows(diff, sql`${opRank(d)}, ${d.id('record_key')}`, d.id('seq'))}
) AS numbered`);
}

/** A diff that can also be made one part of its keys at a time (PlanInput.part), and the snapshot it joins. */
export interface PartedDiff {
  readonly select: (part: KeyPart | undefined) => Sql;
  readonly snapshot: TableRef;
}

/**
 * Bytes of the warehouse's memory a diff's join takes per snapshot row (DuckDB 1.5, a 10M-row snapshot with short keys
 * and 1 % changed under a memory_limit of 64MB: parts of 3.3M rows fitted, 5M did not; about twice that margin).
 */
const DIFF_ROW_BYTES = 32;

/** Parts past which a diff is not split further when a part still runs out of memory (see stageDiff). */
const MAX_DIFF_PARTS = 256;

/**
 * Materialises the change set numbered in send order, as materialiseStatement, within the warehouse's memory: where
 * the dialect numbers at most `sortChunkRows` rows in one statement and the tables the diff reads (`sources`) hold
 * more rows than that together (a bound of the change set's), the diff is materialised unnumbered first, then
 * appended op by op in send order, an op of more rows than a chunk in ranges of its keys (bounds from a sample of
 * them), each range sorted by key and numbered after the rows before it. The same rows, numbers and storage order.
 * A PartedDiff whose snapshot is too large to join within the warehouse's memory limit (Dialect.memoryLimit) is
 * materialised a part of its keys at a time (`partRows` snapshot rows a part; by default what the limit holds).
 */
export async function materialiseChanges(
  connection: Connection,
  changes: TableRef,
  diff: Sql | PartedDiff,
  sources: readonly TableRef[],
  chunkRows = connection.dialect.sortChunkRows,
  partRows?: number,
): Promise<void> {
  // The change set and its unnumbered rows are written once, read once and dropped: their text is not compressed.
  await withoutTextCompression(connection, () => writeChanges(connection, changes, diff, sources, chunkRows, partRows));
}

/**
 * The databases whose text compression plans switched off, by dialect (one per warehouse type): the setting is the
 * database's, and plans of the syncs a command runs at once overlap, so they share one switch, which the last of them
 * to end turns back. This holds while every plan of a database goes through one connection that runs its calls in
 * order (the engine's, src/sync/serial.ts). Two databases of one type planned at once share the switch too: the
 * second plan then writes compressed, and the first database stays uncompressed until the second plan ends.
 */
const textCompressionOff = new WeakMap<Dialect, CompressionSwitch>();

/** One switch: the plans using it, the switching off (never rejects), and how to turn it back, once off. */
interface CompressionSwitch {
  users: number;
  ready: Promise<void>;
  undo?: () => Promise<void>;
}

/**
 * Runs `work` with the warehouse writing text uncompressed (Dialect.textCompression), then restores the setting that
 * was in force, however `work` ends, once no other plan needs it off.
 */
export async function withoutTextCompression<T>(connection: Connection, work: () => Promise<T>): Promise<T> {
  const d = connection.dialect;
  const setting = d.textCompression;
  if (!setting) return work();
  let off = textCompressionOff.get(d);
  if (!off) {
    const state: CompressionSwitch = { users: 0, ready: Promise.resolve() };
    // A warehouse that refuses the setting (an older DuckDB) has its change set written compressed, as before.
    state.ready = (async () => {
      const current = String((await connection.query(setting.statement))[0]?.['value'] ?? '');
      await connection.execute(setting.set(setting.without(current)));
      state.undo = () => connection.execute(setting.set(current));
    })().catch(() => undefined);
    textCompressionOff.set(d, (off = state));
  }
  off.users++;
  try {
    await off.ready;
    return await work();
  } finally {
    // Turned back in the same turn as the last user leaves, so that a plan starting next reads the setting restored
    // (the connection runs its calls in order); a restore that fails leaves writes uncompressed, never a wrong result.
    if (--off.users === 0) {
      textCompressionOff.delete(d);
      await off.undo?.().catch(() => undefined);
    }
  }
}

async function writeChanges(connection: Connection, changes: TableRef, diff: Sql | PartedDiff, sources: readonly TableRef[], chunkRows: number | undefined, partRows: number | undefined): Promise<void> {
  const d = connection.dialect;
  const count = async (from: Sql) => Number((await connection.query(sql`SELECT COUNT(*) AS ${d.id('n')} FROM ${from}`))[0]?.['n'] ?? 0);
  const whole = diff instanceof Sql ? diff : diff.select(undefined);
  if (chunkRows === undefined) return connection.execute(materialiseStatement(d, changes, whole));
  // The unnumbered rows a run that died while numbering left.
  const staged = unnumberedTable(changes);
  await connection.execute(d.dropTable(staged));
  let bound = 0;
  for (const source of sources) bound += await count(d.table(source));
  let parts = diff instanceof Sql ? 1 : await diffParts(connection, diff.snapshot, partRows);
  if (bound <= chunkRows && parts === 1) {
    try {
      return await connection.execute(materialiseStatement(d, changes, whole));
    } catch (error) {
      // Wider rows than the estimate allows for: the diff is made in two parts, then numbered in chunks.
      if (diff instanceof Sql || !d.memoryLimit?.exhausted(error)) throw error;
      await connection.execute(d.dropTable(changes)).catch(() => {
        throw error;
      });
      parts = 2;
    }
  }
  const [rank, key, seq] = [d.id('tl_rank'), d.id('record_key'), d.id('seq')];
  try {
    await stageDiff(connection, staged, diff, parts);
    // The diff's columns after seq, as materialiseStatement lays them out.
    const columns = (await connection.columns(staged))!.filter((c) => d.identifierKey(c.name) !== d.identifierKey('tl_rank')).map((c) => d.id(c.name, true));
    await connection.execute(d.createTableAs(changes, sql`SELECT CAST(NULL AS ${d.type('integer')}) AS ${seq}, ${joinSql(columns)} FROM ${d.table(staged)} WHERE 1 = 0`));
    const ranks = await connection.query(sql`SELECT ${rank} AS ${d.id('r')}, COUNT(*) AS ${d.id('n')} FROM ${d.table(staged)} GROUP BY ${rank} ORDER BY ${rank}`);
    for (const row of ranks) {
      const ofRank = sql`${rank} = ${d.literal(Number(row['r']))}`;
      for (const range of await keyRanges(connection, staged, ofRank, Number(row['n']), chunkRows)) {
        await connection.execute(sql`INSERT INTO ${d.table(changes)}
SELECT (SELECT COALESCE(MAX(${seq}), 0) FROM ${d.table(changes)}) + n.${seq}, ${joinSql(columns.map((c) => sql`n.${c}`))} FROM (
${d.numberedRows(sql`SELECT ${joinSql(columns)} FROM ${d.table(staged)} WHERE ${ofRank} AND ${range}`, key, seq)}
) AS n`);
      }
    }
  } finally {
    await connection.execute(d.dropTable(staged));
  }
}

/** How many parts of its keys a diff joining `snapshot` is made in: one where the warehouse has no memory limit. */
async function diffParts(connection: Connection, snapshot: TableRef, partRows: number | undefined): Promise<number> {
  const d = connection.dialect;
  let perPart = partRows;
  if (perPart === undefined && d.memoryLimit) {
    const bytes = d.memoryLimit.bytes(String((await connection.query(d.memoryLimit.statement))[0]?.['limit'] ?? ''));
    if (bytes !== undefined) perPart = Math.max(1, Math.floor(bytes / DIFF_ROW_BYTES));
  }
  if (perPart === undefined || !(await connection.columns(snapshot))) return 1;
  const rows = Number((await connection.query(sql`SELECT COUNT(*) AS ${d.id('n')} FROM ${d.table(snapshot)}`))[0]?.['n'] ?? 0);
  return Math.min(MAX_DIFF_PARTS, Math.max(1, Math.ceil(rows / perPart)));
}

/**
 * The diff's rows, unnumbered, with their op's rank, into `staged`: a part at a time when `parts` > 1. A PartedDiff's
 * staging that runs out of the warehouse's memory (rows wider than DIFF_ROW_BYTES allows for) starts over in twice as
 * many parts, until a doubling would pass MAX_DIFF_PARTS; then the error is the run's.
 */
async function stageDiff(connection: Connection, staged: TableRef, diff: Sql | PartedDiff, parts: number): Promise<void> {
  const d = connection.dialect;
  const ranked = (select: Sql) => sql`SELECT ${opRank(d)} AS ${d.id('tl_rank')}, o.* FROM (\n${select}\n) AS o`;
  if (diff instanceof Sql) {
    await connection.execute(d.createTableAs(staged, ranked(diff)));
    return;
  }
  for (let of = parts; ; of *= 2) {
    try {
      for (let index = 0; index < of; index++) {
        const rows = ranked(diff.select(of > 1 ? { index, of } : undefined));
        await connection.execute(index === 0 ? d.createTableAs(staged, rows) : sql`INSERT INTO ${d.table(staged)}\n${rows}`);
      }
      return;
    } catch (error) {
      if (of * 2 > MAX_DIFF_PARTS || !d.memoryLimit?.exhausted(error)) throw error;
      await connection.execute(d.dropTable(staged)).catch(() => {
        throw error;
      });
    }
  }
}

/**
 * Conditions splitting the `rows` rows of `staged` that `where` selects into ranges of their keys of about
 * `chunkRows` rows each, in key order (NULL keys, sorted last, in the last range); bounds are quantiles of a sample.
 */
async function keyRanges(connection: Connection, staged: TableRef, where: Sql, rows: number, chunkRows: number): Promise<Sql[]> {
  const d = connection.dialect;
  const key = d.id('record_key');
  const parts = Math.ceil(rows / chunkRows);
  if (parts <= 1) return [sql`TRUE`];
  const fractions = Array.from({ length: parts - 1 }, (_, i) => (i + 1) / parts);
  const from = sql`(SELECT ${key} FROM ${d.table(staged)} WHERE ${where} AND ${key} IS NOT NULL) AS k`;
  const row = (await connection.query(d.quantiles(from, key, fractions, 10_000 * parts)))[0] ?? {};
  const sample = fractions.map((_, i) => ({ b: row[`q${i + 1}`] }));
  // Quantiles come in key order; a key repeated (many rows share it) bounds one range only.
  const bounds = sample.map((r) => String(r['b'])).filter((b, i, all) => i === 0 || b !== all[i - 1]);
  return [...bounds, undefined].map((upper, i) => {
    const lower = i === 0 ? undefined : bounds[i - 1]!;
    const from = lower === undefined ? sql`TRUE` : sql`${key} >= ${d.string(lower)}`;
    if (upper === undefined) return lower === undefined ? sql`TRUE` : sql`(${from} OR ${key} IS NULL)`;
    return sql`${from} AND ${key} < ${d.string(upper)}`;
  });
}

export type OpCounts = Readonly<Record<DiffOp, number>>;

export function emptyCounts(): Record<DiffOp, number> {
  return { removed: 0, changed: 0, added: 0, held_back: 0, too_old: 0, forgotten: 0, suppressed: 0, no_consent: 0, duplicate_key: 0, null_key: 0 };
}

export function countsStatement(d: Dialect, changes: TableRef): Sql {
  return sql`SELECT ${d.id('op')}, COUNT(*) AS ${d.id('n')} FROM ${d.table(changes)} GROUP BY ${d.id('op')}`;
}

export function readCounts(rows: readonly Row[]): Record<DiffOp, number> {
  const counts = emptyCounts();
  for (const row of rows) counts[row['op'] as DiffOp] = Number(row['n'] ?? row['op_rows'] ?? 0);
  return counts;
}

/**
 * One page of the materialised change set — `seq` in (after, after + size], sendable rows only — as a single JSON
 * text: an array of rows `[seq, op, record_key, destination_id, retained, record_hash, prior_run, in_doubt, value…]`.
 * Drivers convert typed cells slowly (a million rows would cost the executor most of its time); one string parsed by
 * the runtime costs a fraction. Values are written so that they decode to what the Connection would return: dates as
 * `YYYY-MM-DD`, timestamps as ISO-8601 UTC text, integers as text (exact beyond 2^53, turned back into numbers where
 * safe).
 */
export function pageStatement(d: Dialect, changes: TableRef, after: number, size: number, mapping: CompiledMapping, events = false): Sql {
  const seq = d.id('seq');
  // An events sync's page rows end with the event's name and time (see decodePage).
  const event = events ? [d.id(EVENT_NAME_COLUMN), pageValue(d, d.id(EVENT_TIME_COLUMN), 'timestamp')] : [];
  const values = [...mapping.fields.map((f, i) => pageValue(d, d.id(mapping.columns[i]!), f.type)), ...event];
  const line = d.jsonArray([seq, d.id('op'), d.id('record_key'), d.id('destination_id'), d.id('retained'), d.id('record_hash'), d.id('prior_run'), d.id('in_doubt'), ...values]);
  const sendable = joinSql(SENDABLE.map((op) => d.string(op)));
  return sql`SELECT ${d.stringAgg(line, ',', { orderBy: seq })} AS ${d.id('page')} FROM ${d.table(changes)} WHERE ${seq} > ${d.literal(after)} AND ${seq} <= ${d.literal(after + size)} AND ${d.id('op')} IN (${sendable})`;
}

function pageValue(d: Dialect, expr: Sql, type: LogicalType | undefined): Sql {
  switch (type) {
    case 'date':
      return d.formatTimestamp(expr, 'YYYY-MM-DD');
    case 'timestamp':
      return d.formatTimestamp(expr, 'YYYY-MM-DDTHH:mm:ss.SSSZ');
    case 'string':
    case 'decimal':
    case 'float':
    case 'boolean':
      return expr;
    default:
      return d.cast(expr, 'string');
  }
}

/** A row of a page, decoded. */
export interface PageRow {
  readonly seq: number;
  readonly op: DiffOp;
  readonly key: string;
  readonly destinationId: string | null;
  readonly retained: string | null;
  /** The record's hash (NULL for removals) and the run that last advanced its snapshot row: see diffSelect. */
  readonly hash: string | null;
  readonly priorRun: string | null;
  /** An insert whose earlier delivery is unknown (see diffSelect). */
  readonly inDoubt: boolean;
  /** Field values in mapping order. */
  readonly values: readonly (string | number | boolean | null)[];
  /** An events sync's event: its name and time (ISO-8601 UTC with milliseconds). */
  readonly event?: { readonly name: string; readonly time: string };
}

export function decodePage(rows: readonly Row[], mapping: CompiledMapping, events = false): PageRow[] {
  const text = rows[0]?.['page'];
  if (typeof text !== 'string') return [];
  const integers = mapping.fields.map((f) => f.type === 'integer');
  return (JSON.parse(`[${text}]`) as (string | number | boolean | null)[][]).map((line) => {
    const values = line.slice(8, 8 + mapping.fields.length);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (integers[i] && typeof value === 'string') {
        const n = Number(value);
        if (Number.isSafeInteger(n)) values[i] = n;
      }
    }
    return {
      seq: line[0] as number,
      op: line[1] as DiffOp,
      key: String(line[2]),
      destinationId: line[3] as string | null,
      retained: line[4] as string | null,
      hash: line[5] as string | null,
      priorRun: line[6] as string | null,
      inDoubt: line[7] === true,
      values,
      ...(events ? { event: { name: String(line[8 + mapping.fields.length]), time: String(line[9 + mapping.fields.length]) } } : {}),
    };
  });
}

/**
 * For `tideline plan`, without writing anything: the count of each op and its first rows by key, in one pass over
 * the diff.
 */
export function previewStatement(d: Dialect, diff: Sql, samples: number): Sql {
  return sql`SELECT * FROM (
  SELECT p.*, ROW_NUMBER() OVER (PARTITION BY ${d.id('op')} ORDER BY ${d.id('record_key')}) AS ${d.id('sample_rank')}, COUNT(*) OVER (PARTITION BY ${d.id('op')}) AS ${d.id('op_rows')}
  FROM (
${diff}
  ) AS p
) AS x WHERE ${d.id('sample_rank')} <= ${d.literal(Math.max(1, samples))}`;
}

/** A relation with these text columns and no rows: stands for state tables that do not exist yet. */
function emptyRelation(d: Dialect, columns: readonly string[]): Sql {
  const types = new Map([...SNAPSHOT_COLUMNS, ...REJECTED_COLUMNS].map((c) => [c.name, c.type]));
  return sql`(SELECT ${joinSql(columns.map((c) => sql`CAST(NULL AS ${d.type(types.get(c) ?? 'string')}) AS ${d.id(c)}`))} FROM (SELECT 1 AS ${d.id('one')}) AS e WHERE 1 = 0)`;
}

function prefixed(parts: readonly Sql[]): Sql {
  return parts.length ? sql`, ${joinSql(parts)}` : sql``;
}
