import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Column, Connection as SdkConnection, ConnectionOptions, RowStatement, SnowflakeLogger, StatementOption } from 'snowflake-sdk';
import type { TableRef } from '../../dialects/dialect.js';
import { DIALECTS } from '../../dialects/registry.js';
import { joinSql, sql, type Sql } from '../../dialects/sql.js';
import { isoDate, normaliseBigInt, rebatch, WarehouseError, type ColumnInfo, type Connection, type QueryContext, type Row, type StreamOptions, type Value, type WarehouseUsage, insertWithStatements, type ColumnSpec, type RowBatches } from '../connection.js';
import type { OpenContext } from '../warehouse.js';
import type { SnowflakeTarget } from './config.js';

/**
 * Session settings the Snowflake dialect relies on: ISO weeks for DATE_TRUNC('WEEK'), UTC for CURRENT_TIMESTAMP and
 * TIMESTAMP_LTZ, and quoted identifiers compared exactly (the dialect quotes every name).
 */
const SESSION_SETUP = sql`ALTER SESSION SET WEEK_START = 1, TIMEZONE = 'UTC', QUOTED_IDENTIFIERS_IGNORE_CASE = FALSE`;

/**
 * Every statement asks for NUMBER as text, so integers beyond 2^53 stay exact (with `representNullAsStringNull:
 * false` on the connection, or a NULL number would come back as the text 'NULL'); rows come as arrays by position.
 */
const STATEMENT_DEFAULTS = { fetchAsString: ['Number'], rowMode: 'array' } as const satisfies Partial<StatementOption>;

/**
 * The driver's own log is discarded. By default it writes snowflake.log into the working directory and echoes to
 * the console, and its lines can quote connection settings; every failure Tideline needs reaches it as an error.
 */
const SILENT: SnowflakeLogger = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };

/**
 * Loads and configures the driver once. On load the driver probes cloud metadata endpoints (AWS, Azure, GCE, AWS STS
 * with whatever AWS credentials the environment holds) to report the platform in its login telemetry; that probing
 * is switched off unless the user set SNOWFLAKE_DISABLE_PLATFORM_DETECTION themselves. The variable is read when the
 * module loads, hence the dynamic import.
 */
async function importDriver() {
  process.env['SNOWFLAKE_DISABLE_PLATFORM_DETECTION'] ??= 'true';
  const { default: snowflake } = await import('snowflake-sdk').catch((error: unknown) => {
    throw missingDriver(error) ?? error;
  });
  snowflake.configure({ logLevel: 'ERROR', customLogger: SILENT });
  return snowflake;
}
let driver: ReturnType<typeof importDriver> | undefined;

/**
 * snowflake-sdk is an optional peer dependency (it brings about 160 packages, a third of an install): a project on
 * Snowflake installs it beside tideline. Its absence, and only that, is a WarehouseError saying so.
 */
function missingDriver(error: unknown): WarehouseError | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' || typeof message !== 'string' || !message.includes("'snowflake-sdk'")) return undefined;
  return new WarehouseError('the snowflake target needs the snowflake-sdk package, which is not installed', {
    cause: error,
    hint: 'install it beside tideline, in the project: npm install --save-dev snowflake-sdk',
  });
}

/**
 * Logs in with key-pair authentication (`private_key_path`, read from disk relative to the project root) when
 * configured, otherwise with the password, then applies SESSION_SETUP.
 */
export async function openSnowflake(target: SnowflakeTarget, context: OpenContext): Promise<Connection> {
  const snowflake = await (driver ??= importDriver());
  const options: ConnectionOptions = {
    account: target.account,
    username: target.user,
    warehouse: target.warehouse,
    database: target.database,
    ...(target.schema ? { schema: target.schema } : {}),
    ...(target.role ? { role: target.role } : {}),
    ...(target.access_url ? { accessUrl: target.access_url } : {}),
    ...(await credentials(target, context)),
    representNullAsStringNull: false,
  };
  let sdk: SdkConnection;
  try {
    sdk = snowflake.createConnection(options);
  } catch (error) {
    throw wrap(error, undefined);
  }
  // connect(), not connectAsync(): the latter resolves even when the login is refused, handing the error only to
  // its callback.
  await new Promise<void>((done, fail) => sdk.connect((error) => (error ? fail(wrap(error, undefined)) : done())));
  const connection = new SnowflakeConnection(sdk, target, queryTag(undefined));
  try {
    await connection.execute(SESSION_SETUP);
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
  return connection;
}

async function credentials(target: SnowflakeTarget, context: OpenContext): Promise<Partial<ConnectionOptions>> {
  if (target.private_key_path !== undefined) {
    const path = isAbsolute(target.private_key_path) ? target.private_key_path : resolve(context.root, target.private_key_path);
    let privateKey: string;
    try {
      privateKey = await readFile(path, 'utf8');
    } catch (error) {
      throw new WarehouseError(`cannot read the Snowflake private_key_path ${path}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
        hint: 'private_key_path is resolved from the project root and must hold a PEM private key (PKCS#8)',
      });
    }
    return {
      authenticator: 'SNOWFLAKE_JWT',
      privateKey,
      ...(target.private_key_passphrase !== undefined ? { privateKeyPass: target.private_key_passphrase } : {}),
    };
  }
  if (target.password !== undefined) return { password: target.password };
  throw new WarehouseError(`the Snowflake target for ${target.account} has no credentials`, {
    hint: 'set private_key_path (key-pair authentication) or password on the target',
  });
}

/** Characters of one value in a query tag, as JSON writes it (escapes included): four stay well inside 2,000. */
const TAG_VALUE_LENGTH = 255;

/**
 * The QUERY_TAG of every statement (https://docs.snowflake.com/en/sql-reference/parameters#query-tag: any text up to
 * 2,000 characters, shown in QUERY_HISTORY): JSON naming Tideline and the context, each value cut to what JSON
 * writes in 255 characters.
 */
function queryTag(context: QueryContext | undefined): string {
  if (!context) return JSON.stringify({ tool: 'tideline' });
  return JSON.stringify({ tool: 'tideline', command: tagValue(context.command), run: tagValue(context.run), model: tagValue(context.model), sync: tagValue(context.sync) });
}

/** The longest start of `text` that JSON writes in TAG_VALUE_LENGTH characters, whole code points only. */
function tagValue(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let kept = '';
  let length = 0;
  for (const character of text) {
    length += JSON.stringify(character).length - 2;
    if (length > TAG_VALUE_LENGTH) break;
    kept += character;
  }
  return kept;
}

/**
 * Rows QUERY_HISTORY_BY_SESSION returns at most (its RESULT_LIMIT's maximum; the latest first): a view's usage sees
 * its last 10,000 statements.
 */
const HISTORY_LIMIT = 10_000;

class SnowflakeConnection implements Connection {
  readonly dialect = DIALECTS.snowflake;
  /** Ids of the queries run through this connection or view, whose bytes `usage` reads back. */
  readonly #queryIds: string[] = [];

  constructor(
    private readonly sdk: SdkConnection,
    private readonly target: SnowflakeTarget,
    private readonly tag: string,
    /** False for a view, whose `close` leaves the session to the connection it came from. */
    private readonly ownsSession = true,
  ) {}

  /** A view whose statements carry the context in their QUERY_TAG, sent with each statement (no session change). */
  withContext(context: QueryContext): Connection {
    return new SnowflakeConnection(this.sdk, this.target, queryTag(context), false);
  }

  /**
   * Bytes scanned by this connection's queries, from this session's query history: BYTES_SCANNED of
   * INFORMATION_SCHEMA.QUERY_HISTORY_BY_SESSION (https://docs.snowflake.com/en/sql-reference/functions/query_history),
   * which holds a query once it ends, unlike ACCOUNT_USAGE.QUERY_HISTORY (up to 45 minutes behind). Credits are not there: a warehouse is billed by the second it runs, and the
   * per-query attribution (ACCOUNT_USAGE.QUERY_ATTRIBUTION_HISTORY) arrives hours later.
   */
  async usage(): Promise<WarehouseUsage> {
    if (this.#queryIds.length === 0) return { bytesScanned: 0 };
    const d = this.dialect;
    const ids = [...new Set(this.#queryIds)].map((id) => d.string(id));
    const { result, rows } = await this.run(
      sql`SELECT COALESCE(SUM(bytes_scanned), 0) AS bytes_scanned
FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY_BY_SESSION(RESULT_LIMIT => ${d.literal(HISTORY_LIMIT)}))
WHERE query_id IN (${joinSql(ids)})`,
      {},
      false,
    );
    const [row] = (rows ?? []).map(rowConverter(result.getColumns() ?? []));
    return { bytesScanned: Number(Object.values(row ?? {})[0] ?? 0) };
  }

  async execute(statement: Sql): Promise<void> {
    await this.run(statement);
  }

  async query(statement: Sql): Promise<Row[]> {
    const { result, rows } = await this.run(statement);
    const convert = rowConverter(result.getColumns() ?? []);
    return (rows ?? []).map(convert);
  }

  async *stream(statement: Sql, options: StreamOptions = {}): AsyncGenerator<Row[]> {
    const { result } = await this.run(statement, { streamResult: true });
    const convert = rowConverter(result.getColumns() ?? []);
    const source = result.streamRows();
    async function* rows(): AsyncGenerator<Row[]> {
      try {
        for await (const row of source as AsyncIterable<SdkRow>) yield [convert(row)];
      } catch (error) {
        throw wrap(error, statement);
      }
    }
    try {
      yield* rebatch(rows(), options.batchSize ?? 10_000);
    } finally {
      source.destroy();
    }
  }

  async columns(table: TableRef): Promise<ColumnInfo[] | undefined> {
    const d = this.dialect;
    // An exact ref's parts are stored names already; the target's own are YAML names.
    const key = (name: string, exact: boolean | undefined) => (exact ? name : d.identifierKey(name));
    const database = table.catalog !== undefined ? d.id(table.catalog, table.exact) : d.id(this.target.database);
    const schema = table.schema !== undefined ? d.string(key(table.schema, table.exact)) : this.target.schema === undefined ? sql`CURRENT_SCHEMA()` : d.string(key(this.target.schema, false));
    const rows = await this.query(sql`SELECT column_name, data_type, numeric_precision, numeric_scale
FROM ${database}.INFORMATION_SCHEMA.COLUMNS
WHERE table_schema = ${schema} AND table_name = ${d.string(key(table.name, table.exact))}
ORDER BY ordinal_position`);
    if (rows.length === 0) return undefined;
    return rows.map((r) => {
      const dataType = String(r['data_type']);
      const nativeType = dataType === 'NUMBER' ? `NUMBER(${String(r['numeric_precision'])},${String(r['numeric_scale'])})` : dataType;
      return column(String(r['column_name']), nativeType);
    });
  }

  /** Compiles the query without running it (`describeOnly`): Snowflake answers with the result's column metadata. */
  async columnsOfQuery(select: Sql): Promise<ColumnInfo[]> {
    const { result } = await this.run(select, { describeOnly: true });
    return (result.getColumns() ?? []).map((c) => column(c.getName(), nativeTypeOf(c)));
  }

  /**
   * BEGIN … COMMIT, with ROLLBACK when a statement fails. Only DML is atomic here: any DDL statement commits the open
   * transaction implicitly in Snowflake (which is why the dialect reports `transactionalDdl: false`).
   */
  async runAtomically(statements: readonly Sql[]): Promise<void> {
    await this.execute(sql`BEGIN TRANSACTION`);
    try {
      for (const statement of statements) await this.execute(statement);
      await this.execute(sql`COMMIT`);
    } catch (error) {
      await this.execute(sql`ROLLBACK`).catch(() => undefined);
      throw error;
    }
  }

  insertRows(table: TableRef, columns: readonly ColumnSpec[], batches: RowBatches): Promise<number> {
    return insertWithStatements(this, table, columns, batches);
  }

  async close(): Promise<void> {
    if (!this.ownsSession) return;
    await new Promise<void>((done, fail) => this.sdk.destroy((error) => (error ? fail(wrap(error, undefined)) : done())));
  }

  /** Runs one statement with its QUERY_TAG, noting its query id for `usage` unless `counted` is false. */
  private run(statement: Sql, options: Partial<StatementOption> = {}, counted = true): Promise<{ result: RowStatement; rows: SdkRow[] | undefined }> {
    return new Promise((done, fail) => {
      try {
        this.sdk.execute({
          ...STATEMENT_DEFAULTS,
          ...options,
          sqlText: statement.text,
          // A statement's own parameters, sent with it in the query request: the tag holds for it alone.
          parameters: { QUERY_TAG: this.tag },
          complete: (error, result, rows) => {
            const id = counted ? queryIdOf(result) : undefined;
            if (id) this.#queryIds.push(id);
            if (error) fail(wrap(error, statement));
            else done({ result, rows: rows as SdkRow[] | undefined });
          },
        });
      } catch (error) {
        fail(wrap(error, statement));
      }
    });
  }
}

/** The query id Snowflake gave a statement, when it got that far. */
function queryIdOf(result: RowStatement | undefined): string | undefined {
  try {
    return result?.getQueryId() ?? undefined;
  } catch {
    return undefined;
  }
}

/** A row in `rowMode: 'array'`: values by column position, as the driver converted them. */
type SdkRow = readonly unknown[];

function column(name: string, nativeType: string): ColumnInfo {
  return { name, nativeType, type: DIALECTS.snowflake.logicalType(nativeType) };
}

/** Result-set column types (the wire's lower-case names) spelled as Snowflake SQL spells them. */
function nativeTypeOf(c: Column): string {
  switch (c.getType()) {
    case 'fixed':
      return `NUMBER(${c.getPrecision()},${c.getScale()})`;
    case 'real':
      return 'FLOAT';
    case 'text':
      return 'VARCHAR';
    default:
      return c.getType().toUpperCase();
  }
}

type Converter = (value: unknown) => Value;

function rowConverter(columns: readonly Column[]): (row: SdkRow) => Row {
  // Keyed as Tideline names the columns (Dialect.rowKey): Snowflake returns `"OP"` for id('op'), code reads row['op'].
  const names = columns.map((c) => DIALECTS.snowflake.rowKey(c.getName()));
  const converters = columns.map(converterFor);
  return (row) => {
    const out: Row = {};
    names.forEach((name, i) => {
      const value = row[i];
      out[name] = value === null || value === undefined ? null : converters[i]!(value);
    });
    return out;
  };
}

/**
 * The driver's value of one column → the Connection contract. NUMBER arrives as text (STATEMENT_DEFAULTS): scale 0
 * is an integer, kept exact; any other scale is a decimal, as a number. The driver builds DATE and TIMESTAMP_NTZ as
 * Dates at UTC from the raw epoch values, whatever the session's output formats say.
 */
function converterFor(c: Column): Converter {
  switch (c.getType()) {
    case 'fixed':
      return c.getScale() === 0 ? (v) => normaliseBigInt(BigInt(String(v))) : (v) => Number(v);
    case 'real':
      return (v) => Number(v);
    case 'date':
      return (v) => isoDate(v as Date);
    case 'timestamp_ntz':
    case 'timestamp_ltz':
    case 'timestamp_tz':
      return (v) => new Date((v as Date).getTime());
    case 'binary':
      return (v) => (Buffer.isBuffer(v) ? v.toString('hex').toUpperCase() : String(v));
    default:
      return plain;
  }
}

/** VARIANT, OBJECT, ARRAY and MAP values as plain JSON-like values. */
function plain(value: unknown): Value {
  if (value === null || value === undefined) return null;
  if (value instanceof Date || typeof value !== 'object') return value as Value;
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

interface SnowflakeErrorShape {
  readonly code?: number | string;
  readonly message?: string;
  readonly cause?: { readonly code?: string };
}

/** Hints for the failures a data engineer meets first, by Snowflake error code. */
const HINTS: Readonly<Record<string, string>> = {
  '390100': 'incorrect user name or password: check the target\'s user and password',
  '390144': 'the key-pair JWT was rejected: check that the user\'s RSA_PUBLIC_KEY matches the key in private_key_path',
  '390201': 'the database, warehouse or role of the target does not exist or this user may not use it',
  '002003': 'an object does not exist or the role cannot see it: check the name, the database and schema, and the target\'s role',
  '003001': 'insufficient privileges: grant the target\'s role access to this object',
  '000606': 'no active warehouse: check the target\'s warehouse and that its role may use it',
  ENOTFOUND: 'the account host does not resolve: check the account identifier (orgname-accountname or locator.region)',
  ECONNREFUSED: 'the connection was refused: check the account identifier or access_url',
};

function wrap(error: unknown, statement: Sql | undefined): WarehouseError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SnowflakeErrorShape;
  const codes = [e.code === undefined ? undefined : String(e.code).padStart(6, '0'), e.cause?.code];
  const hint = codes.map((code) => (code === undefined ? undefined : HINTS[code])).find((h) => h !== undefined);
  return new WarehouseError(e.message ?? String(error), { statement, cause: error, hint });
}
