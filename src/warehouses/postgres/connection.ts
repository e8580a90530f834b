import type pg from 'pg';
import type CursorClass from 'pg-cursor';
import type { TableRef } from '../../dialects/dialect.js';
import { DIALECTS } from '../../dialects/registry.js';
import { Sql, joinSql, sql } from '../../dialects/sql.js';
import { normaliseBigInt, WarehouseError, type ColumnInfo, type Connection, type Row, type StreamOptions, insertWithStatements, type ColumnSpec, type RowBatches } from '../connection.js';
import type { PostgresTarget } from './config.js';
import { hidePostgresRowValues } from './row-values.js';

/** Type OIDs whose default parsing does not match the Connection contract. */
const OID = { int8: 20, numeric: 1700, date: 1082, timestamp: 1114 } as const;

/** The driver, loaded with the first PostgreSQL target (a command on another warehouse never loads it). */
interface Driver {
  readonly pg: typeof pg;
  readonly Cursor: typeof CursorClass;
  readonly types: pg.CustomTypesConfig;
}
let driver: Promise<Driver> | undefined;
function loadDriver(): Promise<Driver> {
  // The dynamic import types pg as an ES module; its default export is the same object as `import pg from 'pg'`.
  driver ??= Promise.all([import('pg'), import('pg-cursor')]).then(([{ default: module }, { default: Cursor }]) => {
    const pg = module as unknown as typeof import('pg').default;
    return { pg, Cursor, types: parsers(pg) };
  });
  return driver;
}

/** Parsers local to Tideline's pools: the pg module's global parsers stay untouched. */
function parsers(driver: typeof pg): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: string) => {
      if (format === 'binary') return driver.types.getTypeParser(oid, 'binary');
      switch (oid) {
        case OID.int8:
          return (text: string) => normaliseBigInt(BigInt(text));
        case OID.numeric:
          return (text: string) => Number(text);
        case OID.date:
          return (text: string) => text;
        case OID.timestamp:
          return (text: string) => new Date(text.replace(' ', 'T') + 'Z');
        default:
          return driver.types.getTypeParser(oid, 'text');
      }
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}

export async function openPostgres(target: PostgresTarget): Promise<Connection> {
  const { pg, Cursor, types } = await loadDriver();
  const ssl = target.ssl === undefined || target.ssl === false || target.ssl === 'disable' ? undefined : { rejectUnauthorized: target.ssl !== 'no-verify' };
  const pool = new pg.Pool({
    ...(target.url ? { connectionString: target.url } : {}),
    ...(target.host ? { host: target.host } : {}),
    ...(target.port ? { port: target.port } : {}),
    ...(target.user ? { user: target.user } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.database ? { database: target.database } : {}),
    ...(ssl ? { ssl } : {}),
    ...(target.statement_timeout_ms !== undefined ? { statement_timeout: target.statement_timeout_ms } : {}),
    application_name: 'tideline',
    max: 4,
    types,
  });
  // An idle client losing its server must not crash the process; the next query reports the failure.
  pool.on('error', () => undefined);
  const connection = new PostgresConnection(poolClients(pool), Cursor, types, pool);
  await connection.query(sql`SELECT 1`);
  return connection;
}

/** Where a connection's statements run: the pool (each on whichever client is free), or the one client of a transaction. */
interface Clients {
  query(text: string): Promise<pg.QueryResult>;
  /** A client for several statements in a row (a cursor, a transaction), given back with `done`. */
  acquire(): Promise<{ readonly client: pg.PoolClient; done(): void }>;
}

function poolClients(pool: pg.Pool): Clients {
  return {
    query: (text) => pool.query(text),
    acquire: async () => {
      const client = await pool.connect();
      return { client, done: () => client.release() };
    },
  };
}

/** The client of a transaction; `end` makes any later use a loud bug rather than a statement outside it. */
function sessionClients(client: pg.PoolClient): Clients & { end(): void } {
  let ended = false;
  const live = () => {
    if (ended) throw new Error('this session ended with its transaction');
    return client;
  };
  return {
    query: async (text) => live().query(text),
    acquire: async () => ({ client: live(), done: () => undefined }),
    end: () => {
      ended = true;
    },
  };
}

class PostgresConnection implements Connection {
  readonly dialect = DIALECTS.postgres;

  /** `pool` is undefined for the session of a transaction, which neither nests transactions nor closes the pool. */
  constructor(
    private readonly clients: Clients,
    private readonly Cursor: typeof CursorClass,
    private readonly types: pg.CustomTypesConfig,
    private readonly pool: pg.Pool | undefined,
    /** A sibling's: it shares the pool, which the connection it came from closes. */
    private readonly sharesPool = false,
  ) {}

  async sibling(): Promise<Connection> {
    if (!this.pool) throw new Error('a PostgreSQL transaction\'s session has no sibling: its statements run in the transaction');
    return new PostgresConnection(this.clients, this.Cursor, this.types, this.pool, true);
  }

  async execute(statement: Sql): Promise<void> {
    await this.guard(statement, () => this.clients.query(statement.text));
  }

  async query(statement: Sql): Promise<Row[]> {
    const result = await this.guard(statement, () => this.clients.query(statement.text));
    return result.rows as Row[];
  }

  async *stream(statement: Sql, options: StreamOptions = {}): AsyncGenerator<Row[]> {
    const batchSize = options.batchSize ?? 10_000;
    const { client, done } = await this.guard(statement, () => this.clients.acquire());
    const cursor = client.query(new this.Cursor<Row>(statement.text, undefined, { types: this.types }));
    try {
      for (;;) {
        const rows = await this.guard(statement, () => cursor.read(batchSize));
        if (rows.length === 0) break;
        yield rows;
      }
    } finally {
      await cursor.close().catch(() => undefined);
      done();
    }
  }

  async columns(table: TableRef): Promise<ColumnInfo[] | undefined> {
    const d = this.dialect;
    const schema = table.schema ? d.string(table.schema) : sql`current_schema()`;
    const catalog = table.catalog ? sql` AND table_catalog = ${d.string(table.catalog)}` : Sql.empty;
    const rows = await this.query(sql`SELECT column_name, data_type FROM information_schema.columns
WHERE table_schema = ${schema} AND table_name = ${d.string(table.name)}${catalog}
ORDER BY ordinal_position`);
    if (rows.length === 0) return undefined;
    return rows.map((r) => column(String(r['column_name']), String(r['data_type'])));
  }

  async columnsOfQuery(select: Sql): Promise<ColumnInfo[]> {
    const statement = sql`SELECT * FROM (\n${select}\n) AS q LIMIT 0`;
    const result = await this.guard(statement, () => this.clients.query(statement.text));
    const oids = [...new Set(result.fields.map((f) => f.dataTypeID))];
    const names = new Map<number, string>();
    if (oids.length) {
      const typeRows = await this.query(
        sql`SELECT oid::bigint AS oid, format_type(oid, NULL) AS name FROM pg_type WHERE oid IN (${joinSql(oids.map((oid) => this.dialect.literal(oid)))})`,
      );
      for (const r of typeRows) names.set(Number(r['oid']), String(r['name']));
    }
    return result.fields.map((f) => column(f.name, names.get(f.dataTypeID) ?? `oid ${f.dataTypeID}`));
  }

  async runAtomically(statements: readonly Sql[]): Promise<void> {
    // Inside a transaction, a savepoint: a failure undoes the unit and leaves the transaction usable.
    const [begin, commit, rollback] = this.pool ? ['BEGIN', 'COMMIT', 'ROLLBACK'] : ['SAVEPOINT tideline_unit', 'RELEASE SAVEPOINT tideline_unit', 'ROLLBACK TO SAVEPOINT tideline_unit'];
    const { client, done } = await this.clients.acquire();
    try {
      await client.query(begin);
      for (const statement of statements) await this.guard(statement, () => client.query(statement.text));
      await client.query(commit);
    } catch (error) {
      await client.query(rollback).catch(() => undefined);
      throw error;
    } finally {
      done();
    }
  }

  async transaction<T>(work: (session: Connection) => Promise<T>): Promise<T> {
    if (!this.pool) throw new Error('PostgreSQL transactions do not nest: inside one, use runAtomically (a savepoint)');
    const client = await this.guard(sql`BEGIN`, () => this.pool!.connect());
    const clients = sessionClients(client);
    let broken = false;
    try {
      await this.guard(sql`BEGIN`, () => client.query('BEGIN'));
      const result = await work(new PostgresConnection(clients, this.Cursor, this.types, undefined));
      const commit = await this.guard(sql`COMMIT`, () => client.query('COMMIT'));
      // A statement that failed inside the transaction aborted it, even if `work` caught the error and went on: the
      // server then answers COMMIT by rolling back, without an error.
      if (commit.command === 'ROLLBACK') throw new WarehouseError('a statement failed inside the transaction, which was rolled back: nothing of it was committed', { statement: sql`COMMIT` });
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      clients.end();
      // A client whose rollback failed may still hold the transaction: destroyed rather than reused.
      client.release(broken);
    }
  }

  insertRows(table: TableRef, columns: readonly ColumnSpec[], batches: RowBatches): Promise<number> {
    return insertWithStatements(this, table, columns, batches);
  }

  async close(): Promise<void> {
    if (!this.sharesPool) await this.pool?.end();
  }

  private async guard<T>(statement: Sql, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw wrap(error, statement);
    }
  }
}

function column(name: string, nativeType: string): ColumnInfo {
  return { name, nativeType, type: DIALECTS.postgres.logicalType(nativeType) };
}

/** Hints for the failures a data engineer meets first. */
const HINTS: Record<string, string> = {
  ECONNREFUSED: 'is the PostgreSQL server running, and are host and port right?',
  ENOTFOUND: 'the host name does not resolve; check the target\'s host or url',
  '28P01': 'password authentication failed: check the user and password of the target',
  '28000': 'the server refused this user: check pg_hba.conf and the user name',
  '3D000': 'the database does not exist: create it or fix the target\'s database',
  '42P01': 'a table does not exist: check the source\'s table name and schema',
  '42501': 'permission denied: the user needs CREATE on the schema and SELECT on the sources',
};

function wrap(error: unknown, statement: Sql): WarehouseError {
  const e = error as { message?: string; code?: string; detail?: string; hint?: string };
  const said = hidePostgresRowValues(e.message ?? String(error), e.detail);
  const message = [said.message, said.detail].filter(Boolean).join(' — ');
  return new WarehouseError(message, { statement, cause: error, hint: e.hint ?? (e.code ? HINTS[e.code] : undefined) });
}
