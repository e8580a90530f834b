import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Column, Connection as SdkConnection, ConnectionOptions, RowStatement, SnowflakeLogger, StatementOption } from 'snowflake-sdk';
import type { TableRef } from '../../dialects/dialect.js';
import { DIALECTS } from '../../dialects/registry.js';
import { sql, type Sql } from '../../dialects/sql.js';
import { isoDate, normaliseBigInt, rebatch, WarehouseError, type ColumnInfo, type Connection, type Row, type StreamOptions, type Value, insertWithStatements, type ColumnSpec, type RowBatches } from '../connection.js';
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
  const { default: snowflake } = await import('snowflake-sdk');
  snowflake.configure({ logLevel: 'ERROR', customLogger: SILENT });
  return snowflake;
}
let driver: ReturnType<typeof importDriver> | undefined;

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
  const connection = new SnowflakeConnection(sdk, target);
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

class SnowflakeConnection implements Connection {
  readonly dialect = DIALECTS.snowflake;

  constructor(
    private readonly sdk: SdkConnection,
    private readonly target: SnowflakeTarget,
  ) {}

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
    const database = d.id(table.catalog ?? this.target.database);
    const schemaName = table.schema ?? this.target.schema;
    const schema = schemaName === undefined ? sql`CURRENT_SCHEMA()` : d.string(d.identifierKey(schemaName));
    const rows = await this.query(sql`SELECT column_name, data_type, numeric_precision, numeric_scale
FROM ${database}.INFORMATION_SCHEMA.COLUMNS
WHERE table_schema = ${schema} AND table_name = ${d.string(d.identifierKey(table.name))}
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
    await new Promise<void>((done, fail) => this.sdk.destroy((error) => (error ? fail(wrap(error, undefined)) : done())));
  }

  private run(statement: Sql, options: Partial<StatementOption> = {}): Promise<{ result: RowStatement; rows: SdkRow[] | undefined }> {
    return new Promise((done, fail) => {
      try {
        this.sdk.execute({
          ...STATEMENT_DEFAULTS,
          ...options,
          sqlText: statement.text,
          complete: (error, result, rows) => (error ? fail(wrap(error, statement)) : done({ result, rows: rows as SdkRow[] | undefined })),
        });
      } catch (error) {
        fail(wrap(error, statement));
      }
    });
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
