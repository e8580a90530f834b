/**
 * Client-boundary tests: the real snowflake-sdk talks to an in-process HTTP server on 127.0.0.1 (the target's
 * `access_url`) that implements the few endpoints of Snowflake's JSON protocol the connection needs: login-request,
 * query-request, result chunks (whose URLs point back at the same server), telemetry and session deletion. The
 * server records every login and statement and answers in the wire format (rowtype + rowset of strings), so the tests
 * see exactly which statements a connection issues and how the driver's values come out normalised. Key-pair logins
 * are checked for real: the server verifies the JWT signature with the public half of the key the test wrote.
 */
import { createHash, createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from '../../dialects/sql.js';
import { redactor } from '../../log/redact.js';
import { HOSTILE } from '../../../test/support/hostile.js';
import { WarehouseError, type Connection, type Row } from '../connection.js';
import type { SnowflakeTarget } from './config.js';
import { openSnowflake } from './connection.js';

interface WireColumn {
  readonly name: string;
  readonly type: string;
  readonly scale?: number;
  readonly precision?: number;
}
type WireValue = string | null;
interface Result {
  readonly rowtype: readonly WireColumn[];
  readonly rows: readonly (readonly WireValue[])[];
  /** Rows served as separate chunks downloaded from /chunks/<n>, after the inline rows. */
  readonly chunks?: readonly (readonly (readonly WireValue[])[])[];
}
interface Failure {
  readonly code: string;
  readonly message: string;
}
type Scripted = Result | { readonly failure: Failure };

interface Login {
  readonly query: URLSearchParams;
  readonly data: Record<string, unknown>;
}
interface Statement {
  readonly sqlText: string;
  readonly describeOnly?: boolean;
  /** The statement's own session parameters, sent with it (QUERY_TAG). */
  readonly parameters?: Record<string, unknown>;
  readonly authorization: string | undefined;
  /** The id the fake gave it. */
  readonly queryId: string;
}

const SESSION_TOKEN = 'fake-session-token';
const STATUS: Result = { rowtype: [{ name: 'status', type: 'text' }], rows: [['Statement executed successfully.']] };

/** The slice of Snowflake's client protocol the connection uses. */
class FakeSnowflake {
  readonly logins: Login[] = [];
  readonly statements: Statement[] = [];
  readonly chunkDownloads: string[] = [];
  sessionsDeleted = 0;
  /** Answers by statement text; a function sees every statement the map does not know. */
  readonly scripted = new Map<string, Scripted>();
  fallback: (sqlText: string) => Scripted = () => STATUS;
  /** Bytes each statement scans, by text, as QUERY_HISTORY_BY_SESSION reports them by query id (0 otherwise). */
  readonly bytesScanned = new Map<string, number>();
  password = '';
  publicKey: KeyObject | undefined;
  private chunks = new Map<string, string>();
  private server: Server | undefined;
  private base = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    await new Promise((done) => this.server?.close(done));
  }

  reset(): void {
    this.logins.length = 0;
    this.statements.length = 0;
    this.chunkDownloads.length = 0;
    this.sessionsDeleted = 0;
    this.scripted.clear();
    this.fallback = () => STATUS;
    this.bytesScanned.clear();
    this.chunks.clear();
  }

  /** Statements sent after the session setup, in order. */
  sent(): string[] {
    return this.statements.map((s) => s.sqlText).filter((text) => !text.startsWith('ALTER SESSION'));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const raw = Buffer.concat(parts);
    const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
    const url = new URL(req.url ?? '/', this.base);
    const json = (payload: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };

    if (url.pathname === '/session/v1/login-request') {
      const data = (JSON.parse(text) as { data: Record<string, unknown> }).data;
      this.logins.push({ query: url.searchParams, data });
      const rejection = this.checkCredentials(data);
      if (rejection) return json({ success: false, code: '390100', message: rejection, data: null });
      return json({ success: true, data: { token: SESSION_TOKEN, masterToken: 'fake-master-token', sessionId: 1, parameters: [], sessionInfo: {} } });
    }
    if (url.pathname === '/queries/v1/query-request') {
      const body = JSON.parse(text) as { sqlText: string; describeOnly?: boolean; parameters?: Record<string, unknown> };
      const queryId = `query-${this.statements.length + 1}`;
      this.statements.push({ sqlText: body.sqlText, describeOnly: body.describeOnly, parameters: body.parameters, authorization: req.headers.authorization, queryId });
      const scripted = this.scripted.get(body.sqlText) ?? this.history(body.sqlText) ?? this.fallback(body.sqlText);
      if ('failure' in scripted) {
        const { code, message } = scripted.failure;
        return json({ success: false, code, message, data: { errorCode: code, sqlState: '42000', queryId } });
      }
      return json({ success: true, data: this.resultData(scripted) });
    }
    if (url.pathname.startsWith('/chunks/')) {
      this.chunkDownloads.push(url.pathname);
      res.writeHead(200, { 'content-type': 'binary/octet-stream' });
      res.end(this.chunks.get(url.pathname) ?? '');
      return;
    }
    if (url.pathname === '/telemetry/send') return json({ success: true, data: null });
    if (url.pathname === '/session' && url.searchParams.get('delete') === 'true') {
      this.sessionsDeleted++;
      return json({ success: true, data: null });
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ success: false, code: '000404', message: `the fake has no route for ${url.pathname}` }));
  }

  /** This session's query history, for the statements naming query ids: their bytes scanned, summed. */
  private history(sqlText: string): Result | undefined {
    if (!sqlText.includes('INFORMATION_SCHEMA.QUERY_HISTORY_BY_SESSION(')) return undefined;
    const ids = new Set([...sqlText.matchAll(/'(query-\d+)'/g)].map((m) => m[1]));
    const bytes = this.statements.filter((s) => ids.has(s.queryId)).reduce((sum, s) => sum + (this.bytesScanned.get(s.sqlText) ?? 0), 0);
    return { rowtype: [{ name: 'BYTES_SCANNED', type: 'fixed', precision: 38, scale: 0 }], rows: [[String(bytes)]] };
  }

  private checkCredentials(data: Record<string, unknown>): string | undefined {
    if (data['AUTHENTICATOR'] !== 'SNOWFLAKE_JWT') return data['PASSWORD'] === this.password ? undefined : 'Incorrect username or password was specified.';
    const token = String(data['TOKEN']);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    if (!this.publicKey || !verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), this.publicKey, Buffer.from(signature, 'base64url')))
      return 'JWT token is invalid.';
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss: string };
    const fingerprint = createHash('sha256').update(this.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    return claims.iss === `${String(data['ACCOUNT_NAME']).toUpperCase()}.${String(data['LOGIN_NAME']).toUpperCase()}.SHA256:${fingerprint}`
      ? undefined
      : `JWT issuer ${claims.iss} does not match the key`;
  }

  private resultData(result: Result): Record<string, unknown> {
    const chunks = (result.chunks ?? []).map((rows, i) => {
      const path = `/chunks/${this.chunks.size + i + 1}`;
      return { path, rows };
    });
    for (const chunk of chunks) this.chunks.set(chunk.path, chunk.rows.map((r) => JSON.stringify(r)).join(','));
    const total = result.rows.length + chunks.reduce((n, c) => n + c.rows.length, 0);
    return {
      parameters: [],
      rowtype: result.rowtype.map((c) => ({ nullable: true, scale: null, precision: null, ...c })),
      rowset: result.rows,
      total,
      returned: total,
      queryId: this.statements.at(-1)?.queryId,
      queryResultFormat: 'json',
      ...(chunks.length
        ? { chunks: chunks.map((c) => ({ url: `${this.base}${c.path}`, rowCount: c.rows.length, uncompressedSize: 100, compressedSize: 100 })) }
        : {}),
    };
  }
}

const fake = new FakeSnowflake();
const PASSWORD = 'correct-horse-battery-staple';
const PASSPHRASE = 'key-passphrase-1234';
let accessUrl = '';
let root = '';

function passwordTarget(overrides: Partial<SnowflakeTarget> = {}): SnowflakeTarget {
  return {
    type: 'snowflake',
    account: 'acme-test',
    user: 'tideline',
    password: PASSWORD,
    warehouse: 'TRANSFORMING',
    database: 'ANALYTICS',
    schema: 'marts',
    role: 'REVERSE_ETL',
    access_url: accessUrl,
    ...overrides,
  };
}

function keyPairTarget(overrides: Partial<SnowflakeTarget> = {}): SnowflakeTarget {
  const { password: _password, ...rest } = passwordTarget();
  return { ...rest, private_key_path: 'keys/rsa_key.p8', private_key_passphrase: PASSPHRASE, ...overrides };
}

beforeAll(async () => {
  accessUrl = await fake.start();
  fake.password = PASSWORD;
  root = await mkdtemp(join(tmpdir(), 'tideline-snowflake-'));
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  fake.publicKey = createPublicKey(keys.privateKey);
  await mkdir(join(root, 'keys'));
  await writeFile(
    join(root, 'keys', 'rsa_key.p8'),
    keys.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }),
  );
});

afterAll(async () => {
  await fake.stop();
  await rm(root, { recursive: true, force: true });
});

describe('Snowflake connection at the client boundary', () => {
  let connection: Connection | undefined;

  beforeEach(() => fake.reset());
  afterEach(async () => {
    await connection?.close();
    connection = undefined;
    redactor.clear();
  });

  async function open(target: SnowflakeTarget = passwordTarget()): Promise<Connection> {
    connection = await openSnowflake(target, { root });
    return connection;
  }

  it('logs in with the key pair read from private_key_path relative to the project root', async () => {
    await open(keyPairTarget());

    expect(fake.logins).toHaveLength(1);
    const [login] = fake.logins;
    expect(login?.data).toMatchObject({ AUTHENTICATOR: 'SNOWFLAKE_JWT', ACCOUNT_NAME: 'acme-test', LOGIN_NAME: 'tideline' });
    expect(login?.data['PASSWORD']).toBeUndefined();
    expect(Object.fromEntries(['warehouse', 'databaseName', 'schemaName', 'roleName'].map((k) => [k, login?.query.get(k)]))).toEqual({
      warehouse: 'TRANSFORMING',
      databaseName: 'ANALYTICS',
      schemaName: 'marts',
      roleName: 'REVERSE_ETL',
    });
  });

  it('keeps the driver from probing cloud metadata endpoints for its telemetry', async () => {
    await open();
    expect((fake.logins[0]?.data['CLIENT_ENVIRONMENT'] as Record<string, unknown>)['PLATFORM']).toEqual(['disabled']);
  });

  it('reports an unreadable private key with its resolved path before contacting Snowflake', async () => {
    const error = await openSnowflake(keyPairTarget({ private_key_path: 'keys/missing.p8' }), { root }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarehouseError);
    expect((error as WarehouseError).message).toContain(join(root, 'keys', 'missing.p8'));
    expect(fake.logins).toHaveLength(0);
  });

  it('sets the session parameters the dialect relies on, first thing after login', async () => {
    await open();
    expect(fake.statements.map((s) => s.sqlText)).toEqual([
      "ALTER SESSION SET WEEK_START = 1, TIMEZONE = 'UTC', QUOTED_IDENTIFIERS_IGNORE_CASE = FALSE",
    ]);
    expect(fake.statements[0]?.authorization).toBe(`Snowflake Token="${SESSION_TOKEN}"`);
  });

  it('turns a refused login into a WarehouseError with a hint', async () => {
    const error = await openSnowflake(passwordTarget({ password: 'wrong-password-42' }), { root }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarehouseError);
    expect((error as WarehouseError).message).toMatch(/Incorrect username or password/);
    expect((error as WarehouseError).hint).toMatch(/user and password/);
    expect(fake.logins[0]?.data['PASSWORD']).toBe('wrong-password-42');
  });

  it('normalises every logical type', async () => {
    const c = await open();
    const statement = sql`SELECT * FROM typed`;
    fake.scripted.set(statement.text, {
      rowtype: [
        { name: 'S', type: 'text' },
        { name: 'I', type: 'fixed', precision: 38, scale: 0 },
        { name: 'BIG', type: 'fixed', precision: 38, scale: 0 },
        { name: 'F', type: 'real' },
        { name: 'N', type: 'fixed', precision: 18, scale: 2 },
        { name: 'B', type: 'boolean' },
        { name: 'D', type: 'date' },
        { name: 'TS', type: 'timestamp_ntz', scale: 9 },
      ],
      rows: [
        ['Zoë', '42', '12345678901234567890', '1.5', '123.45', '1', '19724', '1704164645.123456789'],
        [null, null, '-9007199254740993', '-0.25', '0.00', '0', null, null],
      ],
    });

    const rows = await c.query(statement);

    expect(rows).toEqual<Row[]>([
      // Keyed as Tideline names the columns: `"S"`, which id('s') stores and Snowflake returns, is `s` (Dialect.rowKey).
      { s: 'Zoë', i: 42, big: '12345678901234567890', f: 1.5, n: 123.45, b: true, d: '2024-01-02', ts: new Date('2024-01-02T03:04:05.123Z') },
      { s: null, i: null, big: '-9007199254740993', f: -0.25, n: 0, b: false, d: null, ts: null },
    ]);
    expect(rows[0]!['ts']).toBeInstanceOf(Date);
    expect(Object.getPrototypeOf(rows[0]!['ts'])).toBe(Date.prototype);
    expect(JSON.stringify(rows[0]!['ts'])).toBe('"2024-01-02T03:04:05.123Z"');
  });

  it('streams bounded batches across result chunks downloaded as it goes', async () => {
    const c = await open();
    const statement = sql`SELECT n FROM seven_rows`;
    const n = (...values: number[]) => values.map((v) => [String(v)]);
    fake.scripted.set(statement.text, { rowtype: [{ name: 'N', type: 'fixed', precision: 38, scale: 0 }], rows: n(1, 2), chunks: [n(3, 4, 5), n(6, 7)] });

    const batches: Row[][] = [];
    for await (const batch of c.stream(statement, { batchSize: 3 })) batches.push(batch);

    expect(batches.map((b) => b.map((r) => r['n']))).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(fake.chunkDownloads).toEqual(['/chunks/1', '/chunks/2']);
  });

  it('reads columns from INFORMATION_SCHEMA with names keyed as Snowflake stores them', async () => {
    const c = await open();
    fake.fallback = (text) =>
      text.includes('INFORMATION_SCHEMA.COLUMNS')
        ? {
            rowtype: [
              { name: 'COLUMN_NAME', type: 'text' },
              { name: 'DATA_TYPE', type: 'text' },
              { name: 'NUMERIC_PRECISION', type: 'fixed', precision: 38, scale: 0 },
              { name: 'NUMERIC_SCALE', type: 'fixed', precision: 38, scale: 0 },
            ],
            rows: text.includes("table_name = 'ORDERS'")
              ? [
                  ['ID', 'NUMBER', '38', '0'],
                  ['AMOUNT', 'NUMBER', '18', '2'],
                  ['EMAIL', 'TEXT', null, null],
                  ['PLACED_AT', 'TIMESTAMP_NTZ', null, null],
                  ['Mixed Case', 'BOOLEAN', null, null],
                ]
              : [],
          }
        : STATUS;

    expect(await c.columns({ catalog: 'raw', schema: 'shop', name: 'orders' })).toEqual([
      { name: 'ID', nativeType: 'NUMBER(38,0)', type: 'integer' },
      { name: 'AMOUNT', nativeType: 'NUMBER(18,2)', type: 'decimal' },
      { name: 'EMAIL', nativeType: 'TEXT', type: 'string' },
      { name: 'PLACED_AT', nativeType: 'TIMESTAMP_NTZ', type: 'timestamp' },
      { name: 'Mixed Case', nativeType: 'BOOLEAN', type: 'boolean' },
    ]);
    const lookup = fake.sent().at(-1) ?? '';
    expect(lookup).toContain('FROM "RAW".INFORMATION_SCHEMA.COLUMNS');
    expect(lookup).toContain("WHERE table_schema = 'SHOP' AND table_name = 'ORDERS'");

    expect(await c.columns({ name: 'Missing Table' })).toBeUndefined();
    const missing = fake.sent().at(-1) ?? '';
    expect(missing).toContain('FROM "ANALYTICS".INFORMATION_SCHEMA.COLUMNS');
    expect(missing).toContain("WHERE table_schema = 'MARTS' AND table_name = 'Missing Table'");
  });

  it('describes a query without running it', async () => {
    const c = await open();
    const select = sql`SELECT id, email, score FROM customers`;
    fake.scripted.set(select.text, {
      rowtype: [
        { name: 'ID', type: 'fixed', precision: 38, scale: 0 },
        { name: 'EMAIL', type: 'text' },
        { name: 'SCORE', type: 'real' },
      ],
      rows: [],
    });

    expect(await c.columnsOfQuery(select)).toEqual([
      { name: 'ID', nativeType: 'NUMBER(38,0)', type: 'integer' },
      { name: 'EMAIL', nativeType: 'VARCHAR', type: 'string' },
      { name: 'SCORE', nativeType: 'FLOAT', type: 'float' },
    ]);
    expect(fake.statements.at(-1)).toMatchObject({ sqlText: select.text, describeOnly: true });
  });

  it('runs statements atomically between BEGIN and COMMIT', async () => {
    const c = await open();
    await c.runAtomically([sql`DELETE FROM t WHERE id = 1`, sql`INSERT INTO t VALUES (1)`]);
    expect(fake.sent()).toEqual(['BEGIN TRANSACTION', 'DELETE FROM t WHERE id = 1', 'INSERT INTO t VALUES (1)', 'COMMIT']);
  });

  it('rolls back when a statement fails, and reports that statement', async () => {
    const c = await open();
    const failing = sql`INSERT INTO t VALUES ('x')`;
    fake.scripted.set(failing.text, { failure: { code: '100038', message: "Numeric value 'x' is not recognized" } });

    const error = await c.runAtomically([sql`DELETE FROM t`, failing, sql`UPDATE t SET y = 1`]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WarehouseError);
    expect((error as WarehouseError).statement).toBe(failing.text);
    expect(fake.sent()).toEqual(['BEGIN TRANSACTION', 'DELETE FROM t', failing.text, 'ROLLBACK']);
  });

  it('wraps failures in WarehouseError with the statement, a hint and secrets scrubbed', async () => {
    const c = await open();
    redactor.add(PASSWORD);
    const statement = sql`SELECT * FROM missing_table WHERE note = ${c.dialect.string(PASSWORD)}`;
    fake.scripted.set(statement.text, {
      failure: { code: '002003', message: `SQL compilation error:\nObject 'MISSING_TABLE' does not exist or not authorized. (${PASSWORD})` },
    });

    const error = await c.query(statement).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WarehouseError);
    const e = error as WarehouseError;
    expect(e.message).toContain("Object 'MISSING_TABLE' does not exist");
    expect(e.message).not.toContain(PASSWORD);
    expect(e.message).toContain('***');
    expect(e.statement).toBe("SELECT * FROM missing_table WHERE note = '***'");
    expect(e.hint).toMatch(/does not exist or the role cannot see it/);
  });

  it('tags every statement with Tideline, and those of a view with its context, in the parameters sent with each', async () => {
    const c = await open();
    expect(fake.statements[0]?.parameters).toEqual({ QUERY_TAG: '{"tool":"tideline"}' });
    const hostile = `Zoë's "model"\n\\ ${'x'.repeat(400)}`;
    const model = c.withContext!({ command: 'run', run: '20261207T102456123Z-a1b2c3', model: hostile });
    const sync = c.withContext!({ command: 'sync', run: 'r2', sync: 'orders' });

    await model.execute(sql`CREATE TABLE a AS SELECT 1 AS x`);
    await model.query(sql`SELECT x FROM a`);
    await model.columnsOfQuery(sql`SELECT x FROM a`);
    await model.runAtomically([sql`DELETE FROM a`]);
    await sync.execute(sql`SELECT 2`);
    await c.execute(sql`SELECT 3`);

    const tags = fake.statements.slice(1).map((s) => String(s.parameters?.['QUERY_TAG']));
    expect(tags).toHaveLength(8);
    for (const tag of tags) expect(tag.length).toBeLessThanOrEqual(2000);
    const modelTag = JSON.parse(tags[0]!) as Record<string, string>;
    // Cut where JSON has written 255 characters: the two quotes, the newline and the backslash take two each.
    expect(modelTag).toEqual({ tool: 'tideline', command: 'run', run: '20261207T102456123Z-a1b2c3', model: hostile.slice(0, 251) });
    expect(new Set(tags.slice(0, 6))).toEqual(new Set([tags[0]]));
    expect(JSON.parse(tags[6]!)).toEqual({ tool: 'tideline', command: 'sync', run: 'r2', sync: 'orders' });
    expect(JSON.parse(tags[7]!)).toEqual({ tool: 'tideline' });
    // The tag travels with each statement: the session itself is never altered for it.
    expect(fake.sent().filter((text) => /QUERY_TAG/i.test(text))).toEqual([]);
  });

  it('carries every hostile model name in its query tag as JSON that reads back to the name', async () => {
    const c = await open();
    const long = ['x'.repeat(3000), '😀'.repeat(300), '\u0007"'.repeat(300)];
    for (const name of [...HOSTILE, ...long]) {
      await c.withContext!({ command: name, run: name, model: name, sync: name }).execute(sql`SELECT 1`);
      const tag = String(fake.statements.at(-1)?.parameters?.['QUERY_TAG']);
      expect(tag.length).toBeLessThanOrEqual(2000);
      const { model } = JSON.parse(tag) as { model: string };
      if (long.includes(name)) expect(name.startsWith(model) && model.length > 30).toBe(true);
      else expect(model).toBe(name);
    }
  });

  it("reads a view's bytes scanned back from the session's query history, by the ids of its own queries", async () => {
    const c = await open();
    const customers = c.withContext!({ command: 'run', run: 'r1', model: 'customers' });
    const orders = c.withContext!({ command: 'run', run: 'r1', model: 'orders' });
    fake.bytesScanned.set('CREATE TABLE c AS SELECT * FROM raw_c', 1_500_000_000);
    fake.bytesScanned.set('SELECT COUNT(*) FROM c', 2_048);
    fake.bytesScanned.set('CREATE TABLE o AS SELECT * FROM raw_o', 7_000);
    const failing = sql`CREATE TABLE c2 AS SELECT * FROM raw_c WHERE 1/0 = 1`;
    fake.bytesScanned.set(failing.text, 300);
    fake.scripted.set(failing.text, { failure: { code: '100051', message: 'Division by zero' } });

    expect(await customers.usage!()).toEqual({ bytesScanned: 0 });
    expect(fake.statements).toHaveLength(1);
    await customers.execute(sql`CREATE TABLE c AS SELECT * FROM raw_c`);
    await customers.query(sql`SELECT COUNT(*) FROM c`);
    await customers.execute(failing).catch(() => undefined);
    await orders.execute(sql`CREATE TABLE o AS SELECT * FROM raw_o`);

    // A failed query scanned bytes too, and counts.
    expect(await customers.usage!()).toEqual({ bytesScanned: 1_500_002_348 });
    expect(await orders.usage!()).toEqual({ bytesScanned: 7_000 });
    const lookup = fake.statements.find((s) => s.sqlText.includes('QUERY_HISTORY_BY_SESSION'));
    expect(lookup?.sqlText).toContain('RESULT_LIMIT => 10000');
    expect(lookup?.sqlText).toContain("WHERE query_id IN ('query-2', 'query-3', 'query-4')");
    // Reading the usage is not usage.
    expect(await customers.usage!()).toEqual({ bytesScanned: 1_500_002_348 });
  });

  it('keeps the session open when a view is closed', async () => {
    const c = await open();
    await c.withContext!({ command: 'run', run: 'r', model: 'm' }).close();
    expect(fake.sessionsDeleted).toBe(0);
    await c.execute(sql`SELECT 1`);
    expect(fake.sent()).toEqual(['SELECT 1']);
  });

  it('ends the server session on close', async () => {
    const c = await open();
    await c.close();
    connection = undefined;
    expect(fake.sessionsDeleted).toBe(1);
  });
});
