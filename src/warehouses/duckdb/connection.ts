import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { DuckDBAppender, DuckDBConnection, DuckDBInstance, DuckDBType } from '@duckdb/node-api';
import type { LogicalType, TableRef } from '../../dialects/dialect.js';
import { DIALECTS } from '../../dialects/registry.js';
import { Sql, sql } from '../../dialects/sql.js';
import {
  isoDate,
  normaliseBigInt,
  rebatch,
  WarehouseBusyError,
  WarehouseError,
  type ColumnInfo,
  type ColumnSpec,
  type Connection,
  type Row,
  type RowBatches,
  type StreamOptions,
  type Value,
} from '../connection.js';
import type { OpenContext } from '../warehouse.js';
import type { DuckDbTarget } from './config.js';
import { hideDuckDbRowValues } from './row-values.js';

/**
 * DuckDB's API, imported when the first connection opens: the CLI is one bundle whose static imports of packages all
 * load at start-up, and DuckDB's is the heaviest (a native module); commands that never open it (validate, compile,
 * init, a bad project's error) start without it.
 */
let duckdb: typeof import('@duckdb/node-api') | undefined;

function api(): typeof import('@duckdb/node-api') {
  if (!duckdb) throw new Error('DuckDB is used before a connection was opened');
  return duckdb;
}

/**
 * Opens the DuckDB database file of a target: creating it if needed, or with `context.readOnly` in DuckDB's
 * READ_ONLY access mode, which other readers can share (a file not created yet is then read as an empty database
 * held in memory, and stays uncreated). Another process writing the file, or reading it while this one would
 * write, makes this fail with WarehouseBusyError naming it.
 */
export async function openDuckDb(target: DuckDbTarget, context: OpenContext): Promise<Connection> {
  duckdb ??= await import('@duckdb/node-api');
  const file = target.path === ':memory:' ? undefined : isAbsolute(target.path) ? target.path : resolve(context.root, target.path);
  const readOnly = file !== undefined && context.readOnly === true;
  let path = file ?? ':memory:';
  if (readOnly && !existsSync(path)) {
    context.notice?.(`${target.path} does not exist yet (nothing was built in this target): reading an empty warehouse; \`tideline run\` creates it`);
    path = ':memory:';
  } else if (file !== undefined && !readOnly) await mkdir(dirname(file), { recursive: true });
  const options: Record<string, string> = {};
  if (target.threads) options['threads'] = String(target.threads);
  if (target.memory_limit) options['memory_limit'] = target.memory_limit;
  if (readOnly && path !== ':memory:') options['access_mode'] = 'READ_ONLY';
  let instance: DuckDBInstance;
  try {
    instance = await duckdb.DuckDBInstance.create(path, options);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = 'a tideline command or a DuckDB shell has the file open; DuckDB lets one process write a database file, or several read it';
    // DuckDB: `Could not set lock on file "…": Conflicting lock is held in /usr/bin/node (PID 1234)`.
    if (/conflicting lock/i.test(message)) {
      const pid = /\(PID (\d+)\)/i.exec(message)?.[1];
      throw new WarehouseBusyError(`cannot open the DuckDB database ${path}: ${message}`, pid === undefined ? undefined : Number(pid), { cause: error, hint });
    }
    throw new WarehouseError(`cannot open the DuckDB database ${path}: ${message}`, { cause: error, hint: /lock/i.test(message) ? hint : undefined });
  }
  // A read-only connection lets other readers in: only a writer keeps the file to its process.
  const connection = new DuckDbConnection(instance, await instance.connect(), path !== ':memory:' && !readOnly);
  // Files named by sources are relative to the project root, wherever the command was started from.
  await connection.execute(sql`SET file_search_path = ${DIALECTS.duckdb.string(context.root)}`);
  return connection;
}

/** A transaction open on a DuckDB connection, shared by the connection and the session it hands out. */
interface OpenTransaction {
  /** The transaction committed or rolled back: its session refuses statements. */
  ended: boolean;
  /** A statement (or an append) failed in it: the transaction can only roll back (see guard). */
  failed: unknown;
}

class DuckDbConnection implements Connection {
  readonly dialect = DIALECTS.duckdb;
  /** The transaction open on this connection: meanwhile only its session may run statements. */
  #open: OpenTransaction | undefined;
  /** A transaction's ROLLBACK failed: it may still be open, so nothing more runs here. */
  #broken: unknown;

  /** `session` is set on the session of a transaction, which runs on the same DuckDB connection. */
  constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    readonly exclusive: boolean,
    private readonly session?: OpenTransaction,
    /** A sibling's: closing it closes its connection, not the database, which the connection it came from holds. */
    private readonly sharesInstance = false,
  ) {}

  async sibling(): Promise<Connection> {
    if (this.session) throw new Error('a DuckDB transaction\'s session has no sibling: its statements run in the transaction');
    this.usable();
    return new DuckDbConnection(this.instance, await this.instance.connect(), this.exclusive, undefined, true);
  }

  async execute(statement: Sql): Promise<void> {
    await this.guard(statement, () => this.connection.run(statement.text));
  }

  async query(statement: Sql): Promise<Row[]> {
    const reader = await this.guard(statement, () => this.connection.runAndReadAll(statement.text));
    const convert = converters(reader.columnTypes());
    return reader.getRowObjectsJS().map((row) => convertRow(row, reader.columnNames(), convert));
  }

  async *stream(statement: Sql, options: StreamOptions = {}): AsyncGenerator<Row[]> {
    const result = await this.guard(statement, () => this.connection.stream(statement.text));
    const names = result.columnNames();
    const convert = converters(result.columnTypes());
    async function* chunks(): AsyncGenerator<Row[]> {
      for await (const rows of result.yieldRowObjectJs()) yield rows.map((row) => convertRow(row, names, convert));
    }
    yield* rebatch(chunks(), options.batchSize ?? 10_000);
  }

  async columns(table: TableRef): Promise<ColumnInfo[] | undefined> {
    const d = this.dialect;
    const catalog = table.catalog ? sql` AND table_catalog = ${d.string(table.catalog)}` : Sql.empty;
    const rows = await this.query(sql`SELECT column_name, data_type FROM information_schema.columns
WHERE table_schema = ${d.string(table.schema ?? 'main')} AND table_name = ${d.string(table.name)}${catalog}
ORDER BY ordinal_position`);
    if (rows.length === 0) return undefined;
    return rows.map((r) => column(String(r['column_name']), String(r['data_type'])));
  }

  async columnsOfQuery(select: Sql): Promise<ColumnInfo[]> {
    const rows = await this.query(sql`DESCRIBE ${select}`);
    return rows.map((r) => column(String(r['column_name']), String(r['column_type'])));
  }

  async runAtomically(statements: readonly Sql[]): Promise<void> {
    // DuckDB has no savepoints: inside a transaction the statements run as they come, and one failing marks the
    // transaction fit only to be rolled back (guard), which the transaction then sees to.
    if (this.session) {
      for (const statement of statements) await this.execute(statement);
      return;
    }
    this.usable();
    await this.connection.run('BEGIN TRANSACTION');
    try {
      for (const statement of statements) await this.execute(statement);
      await this.connection.run('COMMIT');
    } catch (error) {
      await this.rollback();
      throw error;
    }
  }

  /**
   * One DuckDB transaction on this connection: the tables `work` creates are seen by no other connection until it
   * commits, and a process killed before that never wrote them (DuckDB writes a transaction to its log when it
   * commits). DuckDB keeps a transaction's new rows in transaction-local storage, writing full row groups to the
   * database file as they come: an identity build of 1M records with memory_limit 4GB took as much CPU and peak
   * memory inside one transaction as with each statement committed (2026-12-07, npm run bench -- identity); the
   * customers build of 10M orders without memory_limit peaked 160–430 MB higher (npm run bench -- metrics). While it
   * is open, this connection refuses statements: they would run inside it.
   */
  async transaction<T>(work: (session: Connection) => Promise<T>): Promise<T> {
    if (this.session) throw new Error('DuckDB transactions do not nest, and DuckDB has no savepoints: inside one, run the statements as they come');
    this.usable();
    await this.guard(sql`BEGIN TRANSACTION`, () => this.connection.run('BEGIN TRANSACTION'));
    const open: OpenTransaction = { ended: false, failed: undefined };
    this.#open = open;
    try {
      const result = await work(new DuckDbConnection(this.instance, this.connection, this.exclusive, open));
      // A statement that failed, even if `work` went on, must not be committed half done. A failure no statement
      // reported (a stream or an appender's) aborted the transaction: DuckDB then refuses any statement, where its
      // COMMIT would answer OK and roll back.
      if (open.failed !== undefined) throw open.failed;
      await this.guard(sql`SELECT 1`, () => this.connection.run('SELECT 1'), false);
      await this.guard(sql`COMMIT`, () => this.connection.run('COMMIT'), false);
      return result;
    } catch (error) {
      await this.rollback();
      throw error;
    } finally {
      open.ended = true;
      this.#open = undefined;
    }
  }

  /** DuckDB's appender: typed values written straight into the table, about 200k rows a second here. */
  async insertRows(table: TableRef, columns: readonly ColumnSpec[], batches: RowBatches): Promise<number> {
    const target = sql`INSERT INTO ${this.dialect.table(table)}`;
    const appender = await this.guard(target, () => this.connection.createAppender(table.name, table.schema ?? 'main', table.catalog ?? null));
    const append = columns.map((c) => appenderFor(c.type));
    let count = 0;
    try {
      for await (const batch of batches) {
        for (const row of batch) {
          columns.forEach((_, i) => {
            const value = row[i] ?? null;
            if (value === null) appender.appendNull();
            else append[i]!(appender, value);
          });
          appender.endRow();
          count++;
        }
      }
      appender.flushSync();
    } catch (error) {
      const failure = new WarehouseError(`cannot append to ${this.dialect.table(table).text}: ${duckDbMessage(error)}`, { statement: target, cause: error });
      if (this.session) this.session.failed ??= failure;
      throw failure;
    } finally {
      appender.closeSync();
    }
    return count;
  }

  async close(): Promise<void> {
    // A session's connection is its transaction's: closed by whoever opened it.
    if (this.session) return;
    this.connection.closeSync();
    if (!this.sharesInstance) this.instance.closeSync();
  }

  /** Rolls the open transaction back; a ROLLBACK that fails leaves it open, so no statement may run here after. */
  private async rollback(): Promise<void> {
    await this.connection.run('ROLLBACK').catch((rollback: unknown) => (this.#broken = rollback));
  }

  /** Throws where this connection must not run statements: a transaction is open on it, or this session's ended. */
  private usable(): void {
    if (this.#broken !== undefined) throw new Error(`this DuckDB connection could not roll a transaction back (${duckDbMessage(this.#broken)}): reopen it`);
    if (this.#open) throw new Error('this DuckDB connection has a transaction open: its statements go through the transaction\'s session');
    if (this.session?.ended) throw new Error('this session ended with its transaction');
    if (this.session && this.session.failed !== undefined) throw new Error('a statement failed in this transaction, which can only be rolled back');
  }

  /** Runs a statement, its failure as a WarehouseError; `check`: refused where this connection must not run any. */
  private async guard<T>(statement: Sql, run: () => Promise<T>, check = true): Promise<T> {
    if (check) this.usable();
    try {
      return await run();
    } catch (error) {
      const failure = new WarehouseError(duckDbMessage(error), { statement, cause: error });
      // As on PostgreSQL, a statement failing inside a transaction leaves it fit only to be rolled back, even if the
      // caller goes on: DuckDB aborts it on a runtime error (and then answers COMMIT with a silent rollback), and
      // carries on after a binder error, which would commit the work without that statement.
      if (this.session) this.session.failed ??= failure;
      throw failure;
    }
  }
}

/** A DuckDB error's message, with the row values DuckDB quotes in it hidden. */
function duckDbMessage(error: unknown): string {
  return hideDuckDbRowValues(error instanceof Error ? error.message : String(error));
}

type Append = (appender: DuckDBAppender, value: Value) => void;

function appenderFor(type: LogicalType): Append {
  switch (type) {
    case 'string':
      return (a, v) => a.appendVarchar(typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : String(v));
    case 'integer':
      return (a, v) => a.appendBigInt(BigInt(v as number | string));
    case 'float':
    case 'decimal':
      return (a, v) => a.appendDouble(Number(v));
    case 'boolean':
      return (a, v) => a.appendBoolean(Boolean(v));
    case 'date':
      return (a, v) => {
        const [year, month, day] = (v instanceof Date ? isoDate(v) : String(v)).split('-').map(Number) as [number, number, number];
        a.appendDate(api().DuckDBDateValue.fromParts({ year, month, day }));
      };
    case 'timestamp':
      return (a, v) => a.appendTimestamp(new (api().DuckDBTimestampValue)(BigInt((v instanceof Date ? v : new Date(String(v))).getTime()) * 1000n));
  }
}

function column(name: string, nativeType: string): ColumnInfo {
  return { name, nativeType, type: DIALECTS.duckdb.logicalType(nativeType) };
}

type Converter = (value: unknown) => Value;

function converters(types: readonly DuckDBType[]): Converter[] {
  return types.map((type) => (type.typeId === api().DuckDBTypeId.DATE ? convertDate : convertValue));
}

function convertDate(value: unknown): Value {
  return value instanceof Date ? isoDate(value) : convertValue(value);
}

function convertValue(value: unknown): Value {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return normaliseBigInt(value);
  if (Array.isArray(value)) return value.map(convertValue);
  if (value instanceof Date || typeof value !== 'object') return value as Value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convertValue(v)]));
}

function convertRow(row: Record<string, unknown>, names: readonly string[], convert: readonly Converter[]): Row {
  const out: Row = {};
  names.forEach((name, i) => {
    out[name] = convert[i]!(row[name]);
  });
  return out;
}
