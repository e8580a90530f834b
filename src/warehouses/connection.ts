import type { Dialect, LogicalType, TableRef } from '../dialects/dialect.js';
import { joinSql, sql, type Sql } from '../dialects/sql.js';
import { redactor, scrubPersonalData } from '../log/redact.js';

/**
 * The Connection contract: how Tideline talks to a warehouse. One implementation per folder under
 * src/warehouses/; the SDK of a warehouse is imported only inside its own folder, and lazily (see warehouse.ts), so
 * a DuckDB user never loads the BigQuery client.
 *
 * Values come back normalised the same way from every warehouse, so that a diff or a hash computed over them does
 * not depend on the driver: integers as numbers (as strings beyond 2^53), decimals as numbers, DATE as
 * `YYYY-MM-DD`, TIMESTAMP (UTC) as Date, NULL as null. A row holds each column under the name Tideline wrote for
 * it (Dialect.rowKey: on Snowflake, `"OP"`, which id('op') stores, comes back as `op`).
 */
export type Value = string | number | boolean | Date | null | readonly Value[] | { readonly [key: string]: Value };
export type Row = Record<string, Value>;

export interface ColumnInfo {
  readonly name: string;
  /** The warehouse's own type name. */
  readonly nativeType: string;
  /** The logical type, when the native type maps to one. */
  readonly type: LogicalType | undefined;
}

/** A column of rows being inserted: its name and the logical type of its values. */
export interface ColumnSpec {
  readonly name: string;
  readonly type: LogicalType;
}

/** Rows to insert, as batches of value arrays in the order of the columns. */
export type RowBatches = AsyncIterable<readonly (readonly Value[])[]> | Iterable<readonly (readonly Value[])[]>;

export interface StreamOptions {
  /** Rows per yielded batch (default 10,000). */
  readonly batchSize?: number;
}

/**
 * What Tideline is running statements for, as a warehouse that keeps labels on its queries records it: BigQuery job
 * labels, Snowflake's QUERY_TAG. Users find Tideline's work (and its cost) in the warehouse's own history by it.
 */
export interface QueryContext {
  /** The command: `run`, `sync`, `identity train`. */
  readonly command: string;
  /** The run's id: tideline_run_results.json's `run_id`, or the sync run's id in the state. */
  readonly run: string;
  /** The model being built. */
  readonly model?: string | undefined;
  /** The sync being run. */
  readonly sync?: string | undefined;
}

/**
 * What statements cost, as the warehouse reports it while Tideline runs: a figure the warehouse does not report is
 * absent, never 0. Credits (Snowflake) are not among them: Snowflake bills a warehouse by the second it runs, not
 * per query, and its per-query attribution (ACCOUNT_USAGE.QUERY_ATTRIBUTION_HISTORY) arrives hours later.
 */
export interface WarehouseUsage {
  /** BigQuery: bytes the jobs processed (`statistics.query.totalBytesProcessed`). */
  readonly bytesProcessed?: number;
  /** BigQuery: bytes the jobs billed (`statistics.query.totalBytesBilled`: at least 10 MB per table read, 0 from cache). */
  readonly bytesBilled?: number;
  /** Snowflake: bytes the queries scanned (QUERY_HISTORY's BYTES_SCANNED). */
  readonly bytesScanned?: number;
}

export interface Connection {
  readonly dialect: Dialect;
  /**
   * This connection for work done in `context`: a view on the same client and session whose statements carry the
   * context where the warehouse keeps labels, and whose `usage` counts its own statements only. Closing the view
   * does nothing. Optional: callers go through `inContext`, which hands back the connection itself where the
   * warehouse keeps no labels (DuckDB; PostgreSQL names the application `tideline` for every session instead).
   */
  withContext?(context: QueryContext): Connection;
  /**
   * Another connection to the same warehouse, whose statements run beside this one's: the sync folds its journal
   * through one while it reads pages and journals outcomes through this one. DuckDB: a second connection to the same
   * database (its transactions see what this one committed); PostgreSQL: the same pool of sessions. Closing it leaves
   * this one open. Optional: without it, that work queues on this connection.
   */
  sibling?(): Promise<Connection>;
  /**
   * What the statements run through this connection or view cost so far (a view's statements count in the view
   * only), where the warehouse reports it; absent where it reports nothing. May ask the warehouse (Snowflake reads
   * its query history), so callers read it once per unit of work (a model's build), not per statement.
   */
  usage?(): Promise<WarehouseUsage>;
  /** Runs one statement. */
  execute(statement: Sql): Promise<void>;
  /** Runs a query and returns every row: for small results (counts, reports, samples). */
  query(statement: Sql): Promise<Row[]>;
  /** Streams a query's rows in batches; memory stays bounded by the batch size whatever the result's size. */
  stream(statement: Sql, options?: StreamOptions): AsyncIterable<Row[]>;
  /** Columns of a table or view, or undefined when it does not exist. */
  columns(table: TableRef): Promise<ColumnInfo[] | undefined>;
  /** Columns a query would return, without running it in full. */
  columnsOfQuery(select: Sql): Promise<ColumnInfo[]>;
  /**
   * Runs statements as one unit: inside a transaction where the warehouse supports it for these statements
   * (DuckDB, Postgres; DML on BigQuery and Snowflake). On failure nothing of the unit remains and the error is thrown.
   */
  runAtomically(statements: readonly Sql[]): Promise<void>;
  /**
   * Runs `work` inside one transaction on one session of the warehouse, handing it a connection bound to that
   * session: what `work` creates is seen by its own statements and by no other session until `work` returns and the
   * transaction commits. If `work` throws, or the process dies (a server then ends the session; embedded DuckDB
   * never wrote the transaction), the transaction is rolled back and nothing of it remains. Inside it,
   * `runAtomically` is a savepoint where the warehouse has them (PostgreSQL); where it has none (DuckDB) its
   * statements run as they come, and one failing leaves the transaction fit only to be rolled back: `work` lets the
   * failure through. A stream must be read to its end before the next statement, and `close` does nothing. Required
   * where the dialect's `capabilities.buildsInTransaction` is true (a model build runs in it); optional elsewhere.
   */
  transaction?<T>(work: (session: Connection) => Promise<T>): Promise<T>;
  /**
   * Appends rows to an existing table (columns in the order given). Batches stream in, so memory stays bounded.
   * Values follow the normalisation above: DATE as `YYYY-MM-DD`, TIMESTAMP as Date. Returns the number of rows.
   */
  insertRows(table: TableRef, columns: readonly ColumnSpec[], batches: RowBatches): Promise<number>;
  /**
   * True when this connection keeps the warehouse to its process until closed (embedded DuckDB on a file, opened to
   * write): another process cannot open it meanwhile (WarehouseBusyError), so it cannot read this process's locks
   * either.
   */
  readonly exclusive?: boolean;
  close(): Promise<void>;
}

/** `connection` for work done in `context` (Connection.withContext), or the connection itself where it keeps no labels. */
export function inContext(connection: Connection, context: QueryContext): Connection {
  return connection.withContext?.(context) ?? connection;
}

/** The sum of two usages, figure by figure; a figure neither reports stays absent. */
export function addUsage(a: WarehouseUsage, b: WarehouseUsage): WarehouseUsage {
  const sum = (x: number | undefined, y: number | undefined) => (x === undefined ? y : y === undefined ? x : x + y);
  const out: { -readonly [K in keyof WarehouseUsage]: number | undefined } = {
    bytesProcessed: sum(a.bytesProcessed, b.bytesProcessed),
    bytesBilled: sum(a.bytesBilled, b.bytesBilled),
    bytesScanned: sum(a.bytesScanned, b.bytesScanned),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as WarehouseUsage;
}

/**
 * insertRows through multi-row INSERT statements with the dialect's literals: correct on every warehouse, and what
 * BigQuery, Snowflake and Postgres use; DuckDB overrides it with its appender.
 */
export async function insertWithStatements(connection: Connection, table: TableRef, columns: readonly ColumnSpec[], batches: RowBatches, rowsPerStatement = 500): Promise<number> {
  const d = connection.dialect;
  const names = joinSql(columns.map((c) => d.id(c.name)));
  const literal = (value: Value, type: LogicalType): Sql => {
    if (value === null) return d.cast(d.literal(null), type);
    if (type === 'date') return d.dateLiteral(value instanceof Date ? isoDate(value) : String(value));
    if (type === 'timestamp') return d.timestampLiteral(value instanceof Date ? value : new Date(String(value)));
    if (typeof value === 'object') return d.literal(JSON.stringify(value));
    return type === 'string' || type === 'boolean' ? d.literal(value) : d.cast(d.literal(value), type);
  };
  let count = 0;
  let pending: Sql[] = [];
  const flush = async () => {
    if (!pending.length) return;
    await connection.execute(sql`INSERT INTO ${d.table(table)} (${names}) VALUES\n${joinSql(pending, sql`,\n`)}`);
    pending = [];
  };
  for await (const batch of batches) {
    for (const row of batch) {
      pending.push(sql`(${joinSql(columns.map((c, i) => literal(row[i] ?? null, c.type)))})`);
      count++;
      if (pending.length >= rowsPerStatement) await flush();
    }
  }
  await flush();
  return count;
}

/**
 * A failure reported by the warehouse, carrying the statement that failed (shortened) and, where one is known, a
 * hint. Its message is already scrubbed of secrets.
 */
export class WarehouseError extends Error {
  readonly statement: string | undefined;
  readonly hint: string | undefined;

  constructor(message: string, options: { statement?: Sql | string | undefined; hint?: string | undefined; cause?: unknown } = {}) {
    super(scrubPersonalData(redactor.scrub(message)), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WarehouseError';
    const text = options.statement === undefined ? undefined : String(options.statement);
    this.statement = text === undefined ? undefined : redactor.scrub(shorten(text, 2000));
    this.hint = options.hint;
  }
}

/** An error as a run result or a log line reports it: its message, with the warehouse's hint, scrubbed of secrets. */
export function describeFailure(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return scrubPersonalData(redactor.scrub(error instanceof WarehouseError && error.hint ? `${text} (hint: ${error.hint})` : text));
}

/**
 * The warehouse cannot be opened because another process holds it exclusively: embedded DuckDB allows one process
 * per database file. `holderPid` is that process, when the warehouse says.
 */
export class WarehouseBusyError extends WarehouseError {
  constructor(
    message: string,
    readonly holderPid: number | undefined,
    options: { hint?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'WarehouseBusyError';
  }
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n… (${text.length - max} more characters)`;
}

/** Groups an async stream of rows into batches of `size`. */
export async function* rebatch(source: AsyncIterable<readonly Row[]>, size: number): AsyncGenerator<Row[]> {
  let batch: Row[] = [];
  for await (const rows of source) {
    for (const row of rows) {
      batch.push(row);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}

/** Integers beyond JavaScript's safe range stay exact as decimal strings. */
export function normaliseBigInt(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

/** `YYYY-MM-DD` of a Date that represents a calendar date at UTC midnight. */
export function isoDate(value: Date): string {
  return value.toISOString().slice(0, 10);
}
