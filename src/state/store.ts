import type { Dialect, TableRef } from '../dialects/dialect.js';
import { joinSql, Sql, sql } from '../dialects/sql.js';
import type { Connection, Row, Value } from '../warehouses/connection.js';
import { recordMessagesStatement, type MessageSource } from './messages.js';
import {
  AUDIT_COLUMNS,
  changesTable,
  IN_DOUBT_STATUS,
  JOURNAL_COLUMNS,
  journalTable,
  LOCK_COLUMNS,
  MESSAGES_COLUMNS,
  META_COLUMNS,
  REJECTED_COLUMNS,
  RUNS_COLUMNS,
  SHARED_TABLES,
  SNAPSHOT_COLUMNS,
  snapshotColumns,
  snapshotTable,
  stateTable,
  unnumberedTable,
  type ColumnDef,
} from './tables.js';

/**
 * One per-record outcome, as appended to the journal: the record is the change set's row `seq`. A row with
 * `accepted` NULL is not an outcome but a dispatch mark (see `markDispatched`).
 */
export interface JournalEntry {
  readonly seq: number;
  /** NULL for a record the run sent without learning its outcome (code `in_doubt`). */
  readonly accepted: boolean | null;
  readonly destinationId: string | null;
  readonly retained: string | null;
  readonly code: string | null;
  readonly message: string | null;
  readonly retryable: boolean | null;
}

/** The `error_code` of a dispatch mark in the journal. */
const DISPATCHED = 'dispatched';
/**
 * The `error_code` of the journal row a fold of part of a running run's journal leaves (`FoldOptions.through`): its
 * `seq` is the last record folded, every record up to it settled; a dead run's records up to it are not in doubt.
 */
const FOLDED = 'folded';
/** The `error_code` of a record a live run sent without learning its outcome (JournalEntry with `accepted` NULL). */
export const IN_DOUBT_CODE = 'in_doubt';

export interface RunCounts {
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  readonly heldBack: number;
  /** Events older than the destination accepts, skipped (events syncs). */
  readonly tooOld: number;
  readonly invalid: number;
  readonly sent: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly requests: number;
}

export type RunStatus = 'running' | 'success' | 'partial' | 'failed' | 'interrupted';

export interface RunRecord extends RunCounts {
  readonly runId: string;
  readonly sync: string;
  readonly mode: string;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly status: RunStatus;
  readonly error: string | null;
}

export interface FoldOptions {
  /** The journal is a dead run's: what it dispatched without an outcome is in doubt. */
  readonly deadRun?: boolean;
  /** Record the accepted entries as messages (see applyJournalStatements). */
  readonly messages?: MessageSource | undefined;
  /** An events sync: its snapshot keeps each event's time (see snapshotColumns). */
  readonly events?: boolean;
  /**
   * An events sync's new high-water mark, written in the same unit as the outcomes it accounts for (see
   * src/sync/events.ts): a run that dies before the fold leaves the previous one, so its window is read again.
   */
  readonly watermark?: Date | undefined;
  /** The audit trail's facts of the run (privacy_audit): a row is written when the journal accepted records. */
  readonly audit?: AuditFacts | undefined;
  /**
   * Fold only the outcomes of the records up to this change-set row, while the run goes on sending: every record up to
   * it is settled and its outcome written (see Sending). Their journal rows give way to one `folded` row, so that a
   * later fold of the same run — its end, or a dead run's recovery — takes only the records after it. Not with
   * `deadRun` or `watermark` (those concern the whole run).
   */
  readonly through?: FoldRange | undefined;
}

/**
 * The change-set rows a partial fold takes: after the previous one's last (`after`), up to `upTo`; and the lowest and
 * highest key among them, if known (foldKeys), so that the fold reads only that range of the snapshot: the change set
 * is ordered by op, then key, so a part's keys span a narrow range (all of a first run's are added).
 */
export interface FoldRange {
  readonly after: number;
  readonly upTo: number;
  readonly keys?: { readonly low: string; readonly high: string } | undefined;
}

/** What the audit trail names of a run: where it sent, and which fields (names only). */
export interface AuditFacts {
  readonly destination: string;
  readonly type: string;
  readonly object: string;
  readonly mode: string;
  /** Destination field names, the key's first. */
  readonly fields: readonly string[];
}

/** The name of an events sync's high-water mark in `sync_meta`. */
export function watermarkName(sync: string): string {
  return `events_watermark:${sync}`;
}

/**
 * Reads and writes the state schema through the Dialect, so it works on every warehouse. All statements are
 * generated here (and golden-tested); the sync engine only calls methods.
 */
export class StateStore {
  readonly dialect: Dialect;

  constructor(
    readonly connection: Connection,
    readonly schema: string,
  ) {
    this.dialect = connection.dialect;
  }

  table(name: keyof typeof SHARED_TABLES): TableRef {
    return stateTable(this.schema, SHARED_TABLES[name]);
  }

  snapshot(sync: string): TableRef {
    return snapshotTable(this.schema, sync);
  }

  journal(sync: string): TableRef {
    return journalTable(this.schema, sync);
  }

  changes(sync: string): TableRef {
    return changesTable(this.schema, sync);
  }

  /** The statements creating the schema and the shared tables (idempotent). */
  setupStatements(): Sql[] {
    const d = this.dialect;
    return [
      d.createSchema(this.schema),
      d.createTable(this.table('runs'), RUNS_COLUMNS),
      d.createTable(this.table('rejected'), REJECTED_COLUMNS),
      // The key makes two runners racing for a lock fail on DuckDB and PostgreSQL; elsewhere lock.ts reads back.
      d.createTable(this.table('locks'), LOCK_COLUMNS, { primaryKey: ['lock_key'] }),
      d.createTable(this.table('meta'), META_COLUMNS),
      d.createTable(this.table('messages'), MESSAGES_COLUMNS),
      d.createTable(this.table('audit'), AUDIT_COLUMNS),
    ];
  }

  /** The statements creating a sync's own tables (idempotent); an events sync's snapshot keeps event times. */
  syncSetupStatements(sync: string, events = false): Sql[] {
    const d = this.dialect;
    // Keys are unique by construction (every write is a MERGE on the key), so no constraint is declared.
    return [d.createTable(this.snapshot(sync), snapshotColumns(events)), d.createTable(this.journal(sync), JOURNAL_COLUMNS)];
  }

  async setup(): Promise<void> {
    for (const statement of this.setupStatements()) await this.createIfMissing(statement);
    await this.addMissingColumns(this.table('runs'), RUNS_COLUMNS);
  }

  /**
   * Columns added to a shared table after a state schema was created (`too_old` of sync_runs): `CREATE TABLE IF NOT
   * EXISTS` leaves an existing table as it is, so each missing column is added, empty for the rows already there.
   * `ALTER TABLE … ADD COLUMN` is written alike on every warehouse Tideline supports.
   */
  private async addMissingColumns(table: TableRef, columns: readonly ColumnDef[]): Promise<void> {
    const d = this.dialect;
    const held = new Set((await this.connection.columns(table))?.map((c) => d.identifierKey(c.name)) ?? []);
    if (held.size === 0) return;
    for (const column of columns.filter((c) => !held.has(d.identifierKey(c.name)))) {
      try {
        await this.connection.execute(sql`ALTER TABLE ${d.table(table)} ADD COLUMN ${d.id(column.name)} ${d.type(column.type)}`);
      } catch (error) {
        // Another runner added it at the same moment: the column is there, which is all this asked.
        if (!/already exists|duplicate column/i.test(error instanceof Error ? error.message : String(error))) throw error;
      }
    }
  }

  async setupSync(sync: string, events = false): Promise<void> {
    for (const statement of this.syncSetupStatements(sync, events)) await this.createIfMissing(statement);
  }

  /**
   * A `CREATE … IF NOT EXISTS`, tolerating a runner creating the same object at the same moment: PostgreSQL checks
   * existence before it inserts into its catalog, so two of them can both pass the check and one fails with a
   * duplicate key. The object then exists, which is all the statement asked; trying again confirms it.
   */
  private async createIfMissing(statement: Sql): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.connection.execute(statement);
        return;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (attempt >= 3 || !/already exists|duplicate key value|tuple concurrently updated/i.test(message)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }

  async exists(table: TableRef): Promise<boolean> {
    return (await this.connection.columns(table)) !== undefined;
  }

  // ---- runs ----

  async insertRun(run: RunRecord): Promise<void> {
    await this.connection.execute(sql`INSERT INTO ${this.dialect.table(this.table('runs'))} (${this.names(RUNS_COLUMNS)}) VALUES (${joinSql(this.runValues(run))})`);
  }

  async updateRun(run: RunRecord): Promise<void> {
    const d = this.dialect;
    const values = this.runValues(run);
    const set = joinSql(RUNS_COLUMNS.slice(1).map((c, i) => sql`${d.id(c.name)} = ${values[i + 1]!}`));
    await this.connection.execute(sql`UPDATE ${d.table(this.table('runs'))} SET ${set} WHERE ${d.id('run_id')} = ${d.string(run.runId)}`);
  }

  /** Runs of a sync still marked running that no process finishes any more (their lock was taken over). */
  async markInterrupted(sync: string, exceptRunId: string): Promise<void> {
    const d = this.dialect;
    await this.connection.execute(
      sql`UPDATE ${d.table(this.table('runs'))} SET ${d.id('status')} = ${d.string('interrupted')} WHERE ${d.id('sync_name')} = ${d.string(sync)} AND ${d.id('status')} = ${d.string('running')} AND ${d.id('run_id')} <> ${d.string(exceptRunId)}`,
    );
  }

  /** The latest run of each sync (for `tideline status`). */
  async latestRuns(): Promise<Row[]> {
    const d = this.dialect;
    const runs = d.table(this.table('runs'));
    return this.connection.query(sql`SELECT * FROM (
  SELECT r.*, ROW_NUMBER() OVER (PARTITION BY ${d.id('sync_name')} ORDER BY ${d.id('started_at')} DESC, ${d.id('run_id')} DESC) AS ${d.id('rn')} FROM ${runs} AS r
) AS x WHERE ${d.id('rn')} = 1`);
  }

  // ---- rejected ----

  /** Rejected records per sync, with how many a later run will retry. */
  async rejectedCounts(): Promise<Row[]> {
    const d = this.dialect;
    const retryable = sql`SUM(CASE WHEN ${d.id('retryable')} THEN 1 ELSE 0 END)`;
    return this.connection.query(
      sql`SELECT ${d.id('sync_name')}, COUNT(*) AS ${d.id('rejected')}, ${retryable} AS ${d.id('retryable')} FROM ${d.table(this.table('rejected'))} GROUP BY ${d.id('sync_name')}`,
    );
  }

  async rejectedRows(sync: string, limit: number): Promise<Row[]> {
    const d = this.dialect;
    return this.connection.query(
      sql`SELECT ${this.names(REJECTED_COLUMNS)} FROM ${d.table(this.table('rejected'))} WHERE ${d.id('sync_name')} = ${d.string(sync)} ORDER BY ${d.id('last_rejected_at')} DESC, ${d.id('record_key')} LIMIT ${d.literal(limit)}`,
    );
  }

  /**
   * Rows whose key is shared by several model rows are recorded as rejected (`duplicate_key`, not retryable) so
   * that `tideline rejected` shows them; and rejections of keys the change set no longer mentions (they left the
   * model, or were accepted since) are forgotten.
   */
  invalidKeyStatements(sync: string, runId: string, now: Date): Sql[] {
    const d = this.dialect;
    const changes = d.table(this.changes(sync));
    const rejected = d.table(this.table('rejected'));
    const c = (name: string) => sql`c.${d.id(name)}`;
    const p = (name: string) => sql`p.${d.id(name)}`;
    const source = sql`SELECT ${d.string(sync)} AS ${d.id('sync_name')}, ${c('record_key')} AS ${d.id('record_key')}, ${d.cast(d.literal(null), 'string')} AS ${d.id('record_hash')}, ${d.cast(d.literal(null), 'string')} AS ${d.id('operation')}, ${d.string(runId)} AS ${d.id('run_id')}, ${d.string('duplicate_key')} AS ${d.id('error_code')}, ${d.string('several model rows share this key: none is sent until it is unique')} AS ${d.id('error_message')}, FALSE AS ${d.id('retryable')}, COALESCE(${p('attempts')}, 0) + 1 AS ${d.id('attempts')}, COALESCE(${p('first_rejected_at')}, ${d.timestampLiteral(now)}) AS ${d.id('first_rejected_at')}, ${d.timestampLiteral(now)} AS ${d.id('last_rejected_at')}
FROM (SELECT DISTINCT ${d.id('record_key')} FROM ${changes} WHERE ${d.id('op')} = ${d.string('duplicate_key')}) AS c
LEFT JOIN ${rejected} AS p ON ${p('sync_name')} = ${d.string(sync)} AND ${p('record_key')} = ${c('record_key')}`;
    return [
      sql`DELETE FROM ${rejected} WHERE ${d.id('sync_name')} = ${d.string(sync)} AND ${d.id('record_key')} NOT IN (SELECT ${d.id('record_key')} FROM ${changes} WHERE ${d.id('record_key')} IS NOT NULL)`,
      d.upsert(this.table('rejected'), source, ['sync_name', 'record_key'], REJECTED_COLUMNS.map((col) => col.name)),
    ];
  }

  // ---- journal ----

  async appendJournal(sync: string, entries: readonly JournalEntry[]): Promise<void> {
    if (!entries.length) return;
    const rows: Value[][] = entries.map((e) => [e.seq, e.accepted, e.destinationId, e.retained, e.code, e.message, e.retryable]);
    await this.connection.insertRows(this.journal(sync), JOURNAL_COLUMNS, [rows]);
  }

  /** Records the destination holds as far as the snapshot knows. */
  async snapshotSize(sync: string): Promise<number> {
    const rows = await this.connection.query(sql`SELECT COUNT(*) AS ${this.dialect.id('n')} FROM ${this.dialect.table(this.snapshot(sync))}`);
    return Number(rows[0]?.['n'] ?? 0);
  }

  /** Outcomes in the journal (dispatch marks not counted). */
  async journalSize(sync: string): Promise<number> {
    return (await this.journalCounts(sync)).outcomes;
  }

  /** Rows in the journal: outcomes, and all rows (outcomes and dispatch marks). */
  async journalCounts(sync: string): Promise<{ outcomes: number; rows: number }> {
    const d = this.dialect;
    const outcomes = sql`SUM(CASE WHEN ${d.id('accepted')} IS NULL THEN 0 ELSE 1 END)`;
    const rows = await this.connection.query(sql`SELECT COUNT(*) AS ${d.id('n')}, ${outcomes} AS ${d.id('outcomes')} FROM ${d.table(this.journal(sync))}`);
    return { outcomes: Number(rows[0]?.['outcomes'] ?? 0), rows: Number(rows[0]?.['n'] ?? 0) };
  }

  /**
   * Records, durably and before they are sent, that change-set rows may be sent from now on: each row given (with
   * what the snapshot must keep of it, for destinations that retain fields), or every row up to `seq` at once. If the
   * run dies, the next one knows which records without an outcome may have reached the destination: they are kept
   * in doubt (see applyJournalStatements) rather than forgotten.
   */
  async markDispatched(sync: string, rows: readonly { readonly seq: number; readonly retained: string | null }[]): Promise<void> {
    if (!rows.length) return;
    await this.connection.insertRows(this.journal(sync), JOURNAL_COLUMNS, [rows.map((r) => [r.seq, null, null, r.retained, DISPATCHED, null, null])]);
  }

  /**
   * Folds the journal into the snapshot and the rejected table, then empties it — one atomic unit, so a crash
   * leaves either the journal (applied again next time) or its effect, never half of it. Each outcome is joined to
   * its change-set row for the key, hash and op. Accepted writes advance the snapshot (keeping an earlier
   * destination id when the API returned none), accepted removals drop the snapshot row, rejections are counted in
   * the rejected table (and flag the snapshot row), and an accepted key leaves the rejected table. The run's record
   * counts the outcomes, so a run that died still says what it delivered. `runId` is the run the outcomes belong to.
   *
   * Records that may or may not have reached the destination are kept `in_doubt`: their snapshot row loses its hash
   * (one is created for a key the snapshot did not hold, with the fields to retain), so the next run sends them again
   * whatever the model says — the record if it is still in the model, its removal if it left — and an insert answered
   * "already exists" then counts as delivered. Which records: for a run that finished (`deadRun` false), those it
   * journaled as in doubt (sent in an attempt whose answer was lost, and never accepted nor refused for good since);
   * for a run that died, every record it had dispatched (up to its latest dispatch mark) that it did not journal as
   * accepted or refused for good — a retryable refusal after a lost answer may hide a delivery — and did not fold
   * while it was sending.
   *
   * A run folds its journal in parts while it sends (`through`: the records up to one, each part its own atomic unit),
   * so that the fold of a large run neither holds every outcome in one transaction nor waits for the last record: its
   * end folds what came after the last part. A part adds to the run's tally and audit row as the end does.
   *
   * With `messages` (a sync whose records are messages to contacts, its change set holding their contact key), the
   * accepted entries are also recorded in `sync_messages`, in the same unit (see recordMessagesStatement).
   */
  applyJournalStatements(sync: string, runId: string, now: Date, options: FoldOptions = {}): Sql[] {
    const d = this.dialect;
    const journal = d.table(this.journal(sync));
    const snapshot = d.table(this.snapshot(sync));
    const rejected = d.table(this.table('rejected'));
    const changes = d.table(this.changes(sync));
    const id = (name: string) => d.id(name);
    const x = (name: string) => sql`x.${id(name)}`;
    const p = (name: string) => sql`p.${id(name)}`;
    const at = d.timestampLiteral(now);
    // An events sync's snapshot rows keep their event's time, taken from the change set.
    const eventTime = options.events ? (alias: string) => sql`, ${sql`${id(alias)}.${id('event_time')}`} AS ${id('event_time')}` : () => Sql.empty;
    const columns = snapshotColumns(options.events ?? false).map((c) => c.name);
    const through = options.through;
    if (through && (options.deadRun || options.watermark)) throw new Error('a partial fold takes a running run\'s outcomes, without its watermark');
    // A partial fold's journal rows: those of the records up to its last; the change set's are bounded on both sides,
    // so that the warehouse reads only their blocks (the change set is stored in seq order).
    const journalRange = (alias: string) => (through ? sql` AND ${id(alias)}.${id('seq')} <= ${d.literal(through.upTo)}` : Sql.empty);
    const changesRange = (alias: string) => (through ? sql` AND ${id(alias)}.${id('seq')} > ${d.literal(through.after)} AND ${id(alias)}.${id('seq')} <= ${d.literal(through.upTo)}` : Sql.empty);
    // A part's keys lie in a range: its statements read only the snapshot rows in it.
    const keys = through?.keys;
    const keyRange = (column: Sql) => (keys ? sql`${column} >= ${d.string(keys.low)} AND ${column} <= ${d.string(keys.high)}` : Sql.empty);
    const held = keys ? sql`(SELECT * FROM ${snapshot} WHERE ${keyRange(id('record_key'))})` : snapshot;
    const inRange = keys ? sql`${keyRange(id('record_key'))} AND ` : Sql.empty;
    const within = keys ? keyRange(sql`${id('t')}.${id('record_key')}`) : undefined;
    const outcomes = sql`(SELECT c.${id('record_key')}, c.${id('record_hash')}, c.${id('op')}${eventTime('c')}, j.* FROM ${journal} AS j JOIN ${changes} AS c ON c.${id('seq')} = j.${id('seq')} WHERE j.${id('accepted')} IS NOT NULL${journalRange('j')}${changesRange('c')})`;
    const keysWhere = (condition: Sql) => sql`SELECT ${x('record_key')} FROM ${outcomes} AS x WHERE ${condition}`;
    const removed = sql`${x('op')} = ${d.string('removed')}`;

    // Accepted writes of keys the snapshot holds are merged into their rows; those of new keys are inserted, which costs
    // the warehouse far less than a MERGE's insert path (a first run's keys are all new).
    const snapshotSource = (known: boolean) => sql`SELECT ${x('record_key')} AS ${id('record_key')}, ${x('record_hash')} AS ${id('record_hash')}, COALESCE(${x('destination_id')}, ${p('destination_id')}) AS ${id('destination_id')}, COALESCE(${x('retained')}, ${p('retained')}) AS ${id('retained')}, ${d.string('synced')} AS ${id('last_status')}, ${at} AS ${id('last_attempt_at')}, ${d.string(runId)} AS ${id('last_run_id')}, ${at} AS ${id('synced_at')}${eventTime('x')}
FROM ${outcomes} AS x ${known ? sql`JOIN` : sql`LEFT JOIN`} ${held} AS p ON ${p('record_key')} = ${x('record_key')}
WHERE ${x('accepted')} AND ${x('op')} <> ${d.string('removed')}${known ? Sql.empty : sql` AND ${p('record_key')} IS NULL`}`;

    const rejectedSource = sql`SELECT ${d.string(sync)} AS ${id('sync_name')}, ${x('record_key')} AS ${id('record_key')}, ${x('record_hash')} AS ${id('record_hash')}, ${x('op')} AS ${id('operation')}, ${d.string(runId)} AS ${id('run_id')}, ${x('error_code')} AS ${id('error_code')}, ${x('error_message')} AS ${id('error_message')}, ${x('retryable')} AS ${id('retryable')}, COALESCE(${p('attempts')}, 0) + 1 AS ${id('attempts')}, COALESCE(${p('first_rejected_at')}, ${at}) AS ${id('first_rejected_at')}, ${at} AS ${id('last_rejected_at')}
FROM ${outcomes} AS x LEFT JOIN ${rejected} AS p ON ${p('sync_name')} = ${d.string(sync)} AND ${p('record_key')} = ${x('record_key')}
WHERE NOT ${x('accepted')}`;

    const marks = sql`(SELECT ${id('seq')}, MAX(${id('retained')}) AS ${id('retained')} FROM ${journal} WHERE ${id('accepted')} IS NULL GROUP BY ${id('seq')})`;
    // The candidates come first, joined to the change set before anything else: a finished run's are the few it
    // journaled in doubt, so the change set and the snapshot are not joined whole to find none.
    // A dead run's: its records dispatched up to its latest mark, after the last it folded while sending, if it did.
    const folded = sql`${id('error_code')} = ${d.string(FOLDED)}`;
    const candidates = options.deadRun
      ? sql`(SELECT MAX(CASE WHEN ${folded} THEN NULL ELSE ${id('seq')} END) AS ${id('upto')}, COALESCE(MAX(CASE WHEN ${folded} THEN ${id('seq')} END), 0) AS ${id('after')} FROM ${journal} WHERE ${id('accepted')} IS NULL) AS q
JOIN ${changes} AS c ON c.${id('seq')} <= q.${id('upto')} AND c.${id('seq')} > q.${id('after')}`
      : sql`(SELECT DISTINCT ${id('seq')} FROM ${journal} AS j WHERE ${id('error_code')} = ${d.string(IN_DOUBT_CODE)}${journalRange('j')}) AS q
JOIN ${changes} AS c ON c.${id('seq')} = q.${id('seq')}${changesRange('c')}`;
    const inDoubtSource = sql`SELECT c.${id('record_key')} AS ${id('record_key')}, ${d.cast(d.literal(null), 'string')} AS ${id('record_hash')}, ${p('destination_id')} AS ${id('destination_id')}, COALESCE(m.${id('retained')}, ${p('retained')}) AS ${id('retained')}, ${d.string(IN_DOUBT_STATUS)} AS ${id('last_status')}, ${at} AS ${id('last_attempt_at')}, ${p('last_run_id')} AS ${id('last_run_id')}, ${p('synced_at')} AS ${id('synced_at')}${eventTime('c')}
FROM ${candidates}
LEFT JOIN ${held} AS p ON ${p('record_key')} = c.${id('record_key')}
LEFT JOIN ${marks} AS m ON m.${id('seq')} = c.${id('seq')}
WHERE c.${id('op')} IN (${joinSql(['removed', 'changed', 'added'].map((op) => d.string(op)))})
  AND NOT EXISTS (SELECT 1 FROM ${journal} AS j WHERE j.${id('seq')} = c.${id('seq')} AND (j.${id('accepted')} OR j.${id('retryable')} = FALSE))`;
    const count = (condition: Sql) => sql`(SELECT COUNT(*) FROM ${journal} AS j WHERE ${condition}${journalRange('j')})`;
    const runs = d.table(this.table('runs'));
    const tally = (column: string, condition: Sql) => sql`${id(column)} = COALESCE(${id(column)}, 0) + ${count(condition)}`;

    const messages = options.messages
      ? [recordMessagesStatement(d, { messages: this.table('messages'), journal: this.journal(sync), changes: this.changes(sync), runs: this.table('runs') }, sync, options.messages, runId, now, sql`${journalRange('j')}${changesRange('c')}`)]
      : [];
    // The run's audit row counts what it delivered: a fold of part of its journal adds to the row an earlier one wrote.
    const audit = options.audit ? this.auditStatements(sync, runId, at, options.audit, sql`${journalRange('j')}${changesRange('c')}`) : [];
    return [
      ...messages,
      ...audit,
      ...(options.watermark ? [this.setMetaStatement(watermarkName(sync), options.watermark.toISOString())] : []),
      d.upsert(this.snapshot(sync), snapshotSource(true), ['record_key'], columns, { within }),
      sql`INSERT INTO ${snapshot} (${joinSql(columns.map((c) => id(c)))})
SELECT ${joinSql(columns.map((c) => id(c)))} FROM (${snapshotSource(false)}) AS ${id('n')}`,
      sql`DELETE FROM ${snapshot} WHERE ${inRange}${id('record_key')} IN (${keysWhere(sql`${x('accepted')} AND ${removed}`)})`,
      sql`UPDATE ${snapshot} SET ${id('last_status')} = ${d.string('rejected')}, ${id('last_attempt_at')} = ${at} WHERE ${inRange}${id('record_key')} IN (${keysWhere(sql`NOT ${x('accepted')}`)})`,
      d.upsert(this.snapshot(sync), inDoubtSource, ['record_key'], columns, { within }),
      sql`DELETE FROM ${rejected} WHERE ${id('sync_name')} = ${d.string(sync)} AND ${id('record_key')} IN (${keysWhere(x('accepted'))})`,
      d.upsert(this.table('rejected'), rejectedSource, ['sync_name', 'record_key'], REJECTED_COLUMNS.map((c) => c.name)),
      sql`UPDATE ${runs} SET ${joinSql([
        tally('sent', sql`${id('accepted')} IS NOT NULL`),
        tally('accepted', sql`${id('accepted')}`),
        tally('rejected', sql`NOT ${id('accepted')}`),
      ])} WHERE ${id('run_id')} = ${d.string(runId)}`,
      ...(through
        ? [
            sql`DELETE FROM ${journal} WHERE ${id('seq')} <= ${d.literal(through.upTo)}`,
            sql`INSERT INTO ${journal} (${this.names(JOURNAL_COLUMNS)}) VALUES (${d.literal(through.upTo)}, NULL, NULL, NULL, ${d.string(FOLDED)}, NULL, NULL)`,
          ]
        : [sql`DELETE FROM ${journal} WHERE 1 = 1`]),
    ];
  }

  /** The audit row of a run's delivered records (`range`: a partial fold's), added to the row the run has, if any. */
  private auditStatements(sync: string, runId: string, at: Sql, facts: AuditFacts, range: Sql): Sql[] {
    const d = this.dialect;
    const id = (name: string) => d.id(name);
    const audit = d.table(this.table('audit'));
    const delivered = sql`FROM ${d.table(this.journal(sync))} AS j JOIN ${d.table(this.changes(sync))} AS c ON c.${id('seq')} = j.${id('seq')}
WHERE j.${id('accepted')}${range}`;
    const removals = sql`SUM(CASE WHEN c.${id('op')} = ${d.string('removed')} THEN 1 ELSE 0 END)`;
    const theRun = sql`${id('run_id')} = ${d.string(runId)} AND ${id('sync_name')} = ${d.string(sync)}`;
    return [
      sql`UPDATE ${audit} SET ${id('records')} = ${id('records')} + (SELECT COUNT(*) ${delivered}), ${id('removed')} = ${id('removed')} + (SELECT COALESCE(${removals}, 0) ${delivered}) WHERE ${theRun}`,
      sql`INSERT INTO ${audit} (${this.names(AUDIT_COLUMNS)})
SELECT ${d.string(runId)}, ${d.string(sync)}, ${d.string(facts.destination)}, ${d.string(facts.type)}, ${d.string(facts.object)}, ${d.string(facts.mode)}, ${d.string(facts.fields.join(','))}, COUNT(*), ${removals}, ${at}
${delivered}
  AND NOT EXISTS (SELECT 1 FROM ${audit} WHERE ${theRun})
HAVING COUNT(*) > 0`,
    ];
  }

  /**
   * A part's range with the lowest and highest key of its change-set rows (see FoldRange), in the order the snapshot's
   * keys compare in (a model's key column may carry its own collation into the change set); the range alone where the
   * dialect cannot say that order.
   */
  async foldKeys(sync: string, range: FoldRange): Promise<FoldRange> {
    const d = this.dialect;
    const key = d.defaultCollation(d.id('record_key'));
    if (!key) return range;
    const rows = await this.connection.query(
      sql`SELECT MIN(${key}) AS ${d.id('low')}, MAX(${key}) AS ${d.id('high')} FROM ${d.table(this.changes(sync))} WHERE ${d.id('seq')} > ${d.literal(range.after)} AND ${d.id('seq')} <= ${d.literal(range.upTo)}`,
    );
    const [low, high] = [rows[0]?.['low'], rows[0]?.['high']];
    return typeof low === 'string' && typeof high === 'string' ? { ...range, keys: { low, high } } : range;
  }

  async applyJournal(sync: string, runId: string, options: FoldOptions & { now?: Date } = {}): Promise<void> {
    await this.connection.runAtomically(this.applyJournalStatements(sync, runId, options.now ?? new Date(), options));
  }

  /**
   * Runs of a sync that died or stopped without finishing (status running or interrupted, other than `exceptRunId`),
   * with the records their journal says were delivered: destinations that keep one unit of work per run (a file) cut
   * what such a run left to exactly that.
   */
  async interruptedRuns(sync: string, exceptRunId: string): Promise<{ runId: string; delivered: number }[]> {
    const d = this.dialect;
    const rows = await this.connection.query(
      sql`SELECT ${d.id('run_id')}, ${d.id('accepted')} FROM ${d.table(this.table('runs'))} WHERE ${d.id('sync_name')} = ${d.string(sync)} AND ${d.id('status')} IN (${d.string('running')}, ${d.string('interrupted')}) AND ${d.id('run_id')} <> ${d.string(exceptRunId)}`,
    );
    return rows.map((row) => ({ runId: String(row['run_id']), delivered: Number(row['accepted'] ?? 0) }));
  }

  /** The run whose journal was left behind by a process that died: the latest one that never finished. */
  async unfinishedRun(sync: string): Promise<string | undefined> {
    const d = this.dialect;
    const rows = await this.connection.query(
      sql`SELECT ${d.id('run_id')} FROM ${d.table(this.table('runs'))} WHERE ${d.id('sync_name')} = ${d.string(sync)} AND ${d.id('status')} IN (${d.string('running')}, ${d.string('interrupted')}) ORDER BY ${d.id('started_at')} DESC LIMIT 1`,
    );
    const value = rows[0]?.['run_id'];
    return typeof value === 'string' ? value : undefined;
  }

  /** Empties the journal without applying it (its change set is gone): those records are simply sent again. */
  async discardJournal(sync: string): Promise<void> {
    await this.connection.execute(sql`DELETE FROM ${this.dialect.table(this.journal(sync))} WHERE 1 = 1`);
  }

  // ---- reset ----

  /** Forgets everything about a sync (`--full-resync`): the next run sends every record again. */
  resetStatements(sync: string): Sql[] {
    const d = this.dialect;
    return [
      d.dropTable(this.snapshot(sync)),
      d.dropTable(this.journal(sync)),
      d.dropTable(this.changes(sync)),
      d.dropTable(unnumberedTable(this.changes(sync))),
      sql`DELETE FROM ${d.table(this.table('rejected'))} WHERE ${d.id('sync_name')} = ${d.string(sync)}`,
      sql`DELETE FROM ${d.table(this.table('meta'))} WHERE ${d.id('name')} = ${d.string(watermarkName(sync))}`,
    ];
  }

  async reset(sync: string): Promise<void> {
    for (const statement of this.resetStatements(sync)) await this.connection.execute(statement);
  }

  // ---- meta ----

  async getMeta(name: string): Promise<string | undefined> {
    const d = this.dialect;
    const rows = await this.connection.query(sql`SELECT ${d.id('value')} FROM ${d.table(this.table('meta'))} WHERE ${d.id('name')} = ${d.string(name)}`);
    const value = rows[0]?.['value'];
    return typeof value === 'string' ? value : undefined;
  }

  async setMeta(name: string, value: string): Promise<void> {
    await this.connection.execute(this.setMetaStatement(name, value));
  }

  setMetaStatement(name: string, value: string): Sql {
    const d = this.dialect;
    const source = sql`SELECT ${d.string(name)} AS ${d.id('name')}, ${d.string(value)} AS ${d.id('value')}`;
    return d.upsert(this.table('meta'), source, ['name'], ['name', 'value']);
  }

  private names(columns: readonly ColumnDef[]): Sql {
    return joinSql(columns.map((c) => this.dialect.id(c.name)));
  }

  private runValues(run: RunRecord): Sql[] {
    const d = this.dialect;
    const ts = (value: Date | null) => (value ? d.timestampLiteral(value) : d.cast(d.literal(null), 'timestamp'));
    const int = (n: number) => d.literal(n);
    return [
      d.string(run.runId),
      d.string(run.sync),
      d.string(run.mode),
      ts(run.startedAt),
      ts(run.finishedAt),
      d.string(run.status),
      int(run.added),
      int(run.changed),
      int(run.removed),
      int(run.heldBack),
      int(run.invalid),
      int(run.sent),
      int(run.accepted),
      int(run.rejected),
      int(run.requests),
      run.error === null ? d.cast(d.literal(null), 'string') : d.string(run.error),
      int(run.tooOld),
    ];
  }
}

