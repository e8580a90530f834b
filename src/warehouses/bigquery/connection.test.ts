/**
 * Client-boundary tests: the real @google-cloud/bigquery SDK talks to an in-process HTTP server on 127.0.0.1 that
 * implements the few REST calls the connection makes (jobs.insert, jobs.getQueryResults, tables.get), records every
 * request and answers in the API's wire format. Nothing reaches Google:
 *  - the target's `api_endpoint` points the SDK at the local server;
 *  - authentication uses a real service-account key file written by the test. Its `universe_domain` is not
 *    googleapis.com, which makes google-auth-library sign a self-signed JWT locally instead of exchanging the key at
 *    Google's token endpoint. The server verifies that JWT with the key's public half, which proves which key file the
 *    connection loaded.
 */
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from '../../dialects/sql.js';
import { redactor } from '../../log/redact.js';
import { HOSTILE } from '../../../test/support/hostile.js';
import { WarehouseError, type Connection, type Row } from '../connection.js';
import type { BigQueryTarget } from './config.js';
import { openBigQuery } from './connection.js';

interface Field {
  readonly name: string;
  readonly type: string;
  readonly mode?: string;
  readonly fields?: readonly Field[];
}
interface Cell {
  readonly v: unknown;
}
interface WireRow {
  readonly f: readonly Cell[];
}
interface ApiFailure {
  readonly status: number;
  readonly reason: string;
  readonly message: string;
}
/** Bytes a job reports in its statistics once done (int64 as strings, as the API sends them). */
interface Statistics {
  readonly totalBytesProcessed: string;
  readonly totalBytesBilled: string;
}
/** What the fake answers for one query text: a result, or a failure of the job. */
type Scripted =
  | { readonly fields: readonly Field[]; readonly rows: readonly WireRow[]; readonly statistics?: Statistics }
  | { readonly failure: ApiFailure };

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown> | undefined;
  readonly authorization: string | undefined;
}

interface JobConfiguration {
  readonly dryRun?: boolean;
  readonly labels?: Record<string, string>;
  readonly jobTimeoutMs?: string;
  readonly query: { readonly query: string; readonly useLegacySql?: boolean; readonly maximumBytesBilled?: string };
}
interface JobInsert {
  readonly configuration: JobConfiguration;
  readonly jobReference: { readonly projectId: string; readonly jobId: string; readonly location?: string };
}

const EMPTY: Scripted = { fields: [], rows: [] };

/**
 * The slice of the BigQuery REST API v2 that the connection uses: jobs.insert, jobs.getQueryResults, jobs.get (the
 * job resource, whose statistics carry the bytes) and tables.get.
 */
class FakeBigQuery {
  readonly requests: Recorded[] = [];
  readonly scripted = new Map<string, Scripted>();
  readonly tables = new Map<string, readonly Field[]>();
  /** When set, jobs.get fails so (a role without bigquery.jobs.get on others' jobs, say). */
  jobsGetFailure: ApiFailure | undefined;
  private readonly jobs = new Map<string, { query: string; polls: number }>();
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((done) => this.server?.close(done));
  }

  reset(): void {
    this.requests.length = 0;
    this.scripted.clear();
    this.tables.clear();
    this.jobsGetFailure = undefined;
  }

  jobInserts(): JobInsert[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/jobs')).map((r) => r.body as unknown as JobInsert);
  }

  resultCalls(): Recorded[] {
    return this.requests.filter((r) => r.path.includes('/queries/'));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    this.requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, body, authorization: req.headers.authorization });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const fail = (failure: ApiFailure) =>
      send(failure.status, { error: { code: failure.status, message: failure.message, errors: [{ reason: failure.reason, message: failure.message }] } });

    let match = /^\/bigquery\/v2\/projects\/([^/]+)\/jobs$/.exec(url.pathname);
    if (req.method === 'POST' && match) {
      const insert = body as unknown as JobInsert;
      const query = insert.configuration.query.query;
      const scripted = this.scripted.get(query) ?? EMPTY;
      const reference = { ...insert.jobReference, location: insert.jobReference.location ?? 'US' };
      if (insert.configuration.dryRun) {
        if ('failure' in scripted) return fail(scripted.failure);
        return send(200, { jobReference: reference, status: { state: 'DONE' }, statistics: { query: { schema: { fields: scripted.fields } } } });
      }
      this.jobs.set(reference.jobId, { query, polls: 0 });
      return send(200, { jobReference: reference, configuration: insert.configuration, status: { state: 'RUNNING' } });
    }

    match = /^\/bigquery\/v2\/projects\/([^/]+)\/jobs\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && match) {
      const jobId = decodeURIComponent(match[2]!);
      const job = this.jobs.get(jobId);
      if (!job) return fail({ status: 404, reason: 'notFound', message: `Not found: Job ${jobId}` });
      if (this.jobsGetFailure) return fail(this.jobsGetFailure);
      const scripted = this.scripted.get(job.query) ?? EMPTY;
      const statistics = ('statistics' in scripted && scripted.statistics) || { totalBytesProcessed: '0', totalBytesBilled: '0' };
      return send(200, {
        jobReference: { projectId: match[1], jobId, location: url.searchParams.get('location') ?? 'US' },
        status: { state: 'DONE' },
        statistics: { totalBytesProcessed: statistics.totalBytesProcessed, query: { ...statistics, cacheHit: false } },
      });
    }

    match = /^\/bigquery\/v2\/projects\/([^/]+)\/queries\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && match) {
      const job = this.jobs.get(decodeURIComponent(match[2]!));
      if (!job) return fail({ status: 404, reason: 'notFound', message: 'Not found: Job' });
      const scripted = this.scripted.get(job.query) ?? EMPTY;
      // The first poll of every job finds it still running, as a real job often is.
      if (job.polls++ === 0) return send(200, { jobComplete: false });
      if ('failure' in scripted) return fail(scripted.failure);
      const start = Number(url.searchParams.get('pageToken') ?? '0');
      const size = Number(url.searchParams.get('maxResults') ?? scripted.rows.length);
      const end = Math.min(start + size, scripted.rows.length);
      return send(200, {
        jobComplete: true,
        schema: { fields: scripted.fields },
        totalRows: String(scripted.rows.length),
        ...(size > 0 ? { rows: scripted.rows.slice(start, end) } : {}),
        ...(size > 0 && end < scripted.rows.length ? { pageToken: String(end) } : {}),
      });
    }

    match = /^\/bigquery\/v2\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && match) {
      const key = match.slice(1, 4).map(decodeURIComponent).join('.');
      const fields = this.tables.get(key);
      if (!fields) return fail({ status: 404, reason: 'notFound', message: `Not found: Table ${key}` });
      return send(200, { id: key, schema: { fields } });
    }
    fail({ status: 400, reason: 'invalid', message: `the fake has no route for ${req.method} ${url.pathname}` });
  }
}

function row(...values: unknown[]): WireRow {
  return { f: values.map((v) => ({ v })) };
}

/** Checks a self-signed RS256 JWT against a public key and returns its claims. */
function verifiedClaims(authorization: string | undefined, publicKey: KeyObject): Record<string, unknown> {
  const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
  if (!token) throw new Error(`no bearer token in ${String(authorization)}`);
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const valid = verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'));
  if (!valid) throw new Error('the JWT is not signed by the expected key');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

const SERVICE_ACCOUNT = 'tideline-test@test-project.iam.gserviceaccount.com';
const fake = new FakeBigQuery();
let endpoint = '';
let root = '';
let publicKey: KeyObject;
let savedEmulatorHost: string | undefined;

function target(overrides: Partial<BigQueryTarget> = {}): BigQueryTarget {
  return {
    type: 'bigquery',
    project: 'test-project',
    dataset: 'analytics',
    location: 'EU',
    key_file: 'secrets/service-account.json',
    maximum_bytes_billed: 1_000_000,
    job_timeout_seconds: 30,
    api_endpoint: endpoint,
    ...overrides,
  };
}

beforeAll(async () => {
  // The SDK's own emulator variable would override api_endpoint.
  savedEmulatorHost = process.env['BIGQUERY_EMULATOR_HOST'];
  delete process.env['BIGQUERY_EMULATOR_HOST'];
  endpoint = await fake.start();
  root = await mkdtemp(join(tmpdir(), 'tideline-bigquery-'));
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  publicKey = keys.publicKey;
  await mkdir(join(root, 'secrets'));
  await writeFile(
    join(root, 'secrets', 'service-account.json'),
    JSON.stringify({
      type: 'service_account',
      project_id: 'test-project',
      private_key_id: 'test-key',
      private_key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      client_email: SERVICE_ACCOUNT,
      client_id: '1',
      universe_domain: 'tideline.test',
    }),
  );
});

afterAll(async () => {
  await fake.stop();
  await rm(root, { recursive: true, force: true });
  if (savedEmulatorHost !== undefined) process.env['BIGQUERY_EMULATOR_HOST'] = savedEmulatorHost;
});

describe('BigQuery connection at the client boundary', () => {
  let connection: Connection | undefined;

  beforeEach(() => fake.reset());
  afterEach(async () => {
    await connection?.close();
    connection = undefined;
    redactor.clear();
  });

  async function open(overrides: Partial<BigQueryTarget> = {}): Promise<Connection> {
    connection = await openBigQuery(target(overrides), { root });
    return connection;
  }

  it('opens with the key file resolved from the project root and checks access with a dry run', async () => {
    await open();
    const [insert] = fake.jobInserts();
    expect(insert?.configuration.dryRun).toBe(true);
    expect(insert?.configuration.query.query).toBe('SELECT 1');
    // The guard and the timeout hold for dry runs too (a dry run bills nothing, but its job says what a run would).
    expect(insert?.configuration.query.maximumBytesBilled).toBe('1000000');
    expect(insert?.configuration.jobTimeoutMs).toBe('30000');
    expect(insert?.configuration.labels).toEqual({ tool: 'tideline' });
    expect(insert?.jobReference).toMatchObject({ projectId: 'test-project', location: 'EU' });
    const claims = verifiedClaims(fake.requests[0]?.authorization, publicKey);
    expect(claims['iss']).toBe(SERVICE_ACCOUNT);
  });

  it('reports an unreadable key file with its resolved path before any request', async () => {
    const error = await openBigQuery(target({ key_file: 'secrets/missing.json' }), { root }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarehouseError);
    expect((error as WarehouseError).message).toContain(join(root, 'secrets', 'missing.json'));
    expect((error as WarehouseError).hint).toMatch(/project root/);
    expect(fake.requests).toHaveLength(0);
  });

  it('normalises every logical type and sends the job limits with each query', async () => {
    const c = await open();
    const statement = sql`SELECT * FROM typed`;
    fake.scripted.set(statement.text, {
      fields: [
        { name: 's', type: 'STRING' },
        { name: 'i', type: 'INTEGER' },
        { name: 'big', type: 'INT64' },
        { name: 'f', type: 'FLOAT' },
        { name: 'n', type: 'NUMERIC' },
        { name: 'b', type: 'BOOLEAN' },
        { name: 'd', type: 'DATE' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'dt', type: 'DATETIME' },
        { name: 'tags', type: 'STRING', mode: 'REPEATED' },
        { name: 'address', type: 'RECORD', fields: [{ name: 'zip', type: 'INTEGER' }] },
      ],
      rows: [
        row('Zoë', '42', '9007199254740993', '1.5', '123.45', 'true', '2024-01-02', '1704164645123456', '2024-01-02T03:04:05.678901', [{ v: 'a' }, { v: 'b' }], { f: [{ v: '1011' }] }),
        row(null, null, '-12', '-0.25', '0', 'false', null, null, null, [], null),
      ],
    });

    const rows = await c.query(statement);

    expect(rows).toEqual<Row[]>([
      {
        s: 'Zoë',
        i: 42,
        big: '9007199254740993',
        f: 1.5,
        n: 123.45,
        b: true,
        d: '2024-01-02',
        ts: new Date('2024-01-02T03:04:05.123Z'),
        dt: new Date('2024-01-02T03:04:05.678Z'),
        tags: ['a', 'b'],
        address: { zip: 1011 },
      },
      { s: null, i: null, big: -12, f: -0.25, n: 0, b: false, d: null, ts: null, dt: null, tags: [], address: null },
    ]);
    expect(rows[0]!['ts']).toBeInstanceOf(Date);
    const insert = fake.jobInserts().find((j) => j.configuration.query.query === statement.text);
    expect(insert?.configuration).toEqual({
      query: { query: statement.text, useLegacySql: false, maximumBytesBilled: '1000000' },
      jobTimeoutMs: '30000',
      labels: { tool: 'tideline' },
    });
    expect(insert?.jobReference.location).toBe('EU');
    const [firstPoll] = fake.resultCalls();
    expect(firstPoll?.query.get('formatOptions.useInt64Timestamp')).toBe('true');
    expect(firstPoll?.query.get('location')).toBe('EU');
  });

  it('streams in batches of the requested size, reading one page per batch', async () => {
    const c = await open();
    const statement = sql`SELECT n FROM seven_rows`;
    fake.scripted.set(statement.text, { fields: [{ name: 'n', type: 'INTEGER' }], rows: [1, 2, 3, 4, 5, 6, 7].map((n) => row(String(n))) });

    const batches: Row[][] = [];
    for await (const batch of c.stream(statement, { batchSize: 3 })) batches.push(batch);

    expect(batches.map((b) => b.map((r) => r['n']))).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    const pages = fake.resultCalls().filter((r) => r.query.has('maxResults'));
    expect(pages.map((r) => r.query.get('maxResults'))).toEqual(['3', '3', '3', '3']);
    expect(pages.map((r) => r.query.get('pageToken'))).toEqual([null, null, '3', '6']);
  });

  it('reads columns from table metadata, with the catalog as project and the schema as dataset', async () => {
    const c = await open();
    fake.tables.set('other-project.sales.orders', [
      { name: 'id', type: 'INTEGER' },
      { name: 'amount', type: 'NUMERIC' },
      { name: 'placed_at', type: 'TIMESTAMP' },
      { name: 'paid', type: 'BOOLEAN' },
      { name: 'items', type: 'STRING', mode: 'REPEATED' },
    ]);

    expect(await c.columns({ catalog: 'other-project', schema: 'sales', name: 'orders' })).toEqual([
      { name: 'id', nativeType: 'INT64', type: 'integer' },
      { name: 'amount', nativeType: 'NUMERIC', type: 'decimal' },
      { name: 'placed_at', nativeType: 'TIMESTAMP', type: 'timestamp' },
      { name: 'paid', nativeType: 'BOOL', type: 'boolean' },
      { name: 'items', nativeType: 'ARRAY<STRING>', type: undefined },
    ]);
    expect(fake.requests.at(-1)?.path).toBe('/bigquery/v2/projects/other-project/datasets/sales/tables/orders');
  });

  it('answers undefined for a table that does not exist, defaulting to the target project and dataset', async () => {
    const c = await open();
    expect(await c.columns({ name: 'missing' })).toBeUndefined();
    expect(fake.requests.at(-1)?.path).toBe('/bigquery/v2/projects/test-project/datasets/analytics/tables/missing');
  });

  it('describes a query with a dry run, which runs nothing', async () => {
    const c = await open();
    const select = sql`SELECT id, email FROM customers`;
    fake.scripted.set(select.text, { fields: [{ name: 'id', type: 'INTEGER' }, { name: 'email', type: 'STRING' }], rows: [] });

    expect(await c.columnsOfQuery(select)).toEqual([
      { name: 'id', nativeType: 'INT64', type: 'integer' },
      { name: 'email', nativeType: 'STRING', type: 'string' },
    ]);
    const insert = fake.jobInserts().at(-1);
    expect(insert?.configuration.dryRun).toBe(true);
    expect(insert?.configuration.query.query).toBe(select.text);
    expect(fake.resultCalls()).toHaveLength(0);
  });

  it('labels every job of a view with its context, sanitised to the label rules, with the bytes guard on each', async () => {
    const c = await open();
    const hostile = 'Évènements "quoted"; DROP TABLE x -- ' + 'ÿ'.repeat(80);
    const model = c.withContext!({ command: 'identity train', run: '20261207T102456123Z-A1b2C3', model: hostile });
    const sync = c.withContext!({ command: 'sync', run: 'r1', sync: 'Orders→HubSpot' });
    const before = fake.jobInserts().length;

    await model.execute(sql`CREATE TABLE a AS SELECT 1 AS x`);
    await model.query(sql`SELECT x FROM a`);
    for await (const _ of model.stream(sql`SELECT x FROM a`)) void _;
    await model.runAtomically([sql`DELETE FROM a WHERE TRUE`]);
    await model.columnsOfQuery(sql`SELECT x FROM a`);
    await sync.execute(sql`SELECT 2`);
    await c.execute(sql`SELECT 3`);

    const inserts = fake.jobInserts().slice(before);
    expect(inserts).toHaveLength(7);
    const modelLabels = inserts[0]!.configuration.labels!;
    expect(Object.keys(modelLabels).sort()).toEqual(['tideline_command', 'tideline_model', 'tideline_run', 'tool']);
    expect(modelLabels['tool']).toBe('tideline');
    expect(modelLabels['tideline_command']).toBe('identity_train');
    expect(modelLabels['tideline_run']).toBe('20261207t102456123z-a1b2c3');
    expect(modelLabels['tideline_model']).toMatch(/^évènements__quoted___drop_table_x_--_ÿ+-[0-9a-f]{8}$/);
    for (const value of Object.values(modelLabels)) {
      expect([...value].length).toBeLessThanOrEqual(63);
      expect(value).toMatch(/^[\p{Ll}\p{Lo}\p{N}_-]*$/u);
    }
    for (const key of Object.keys(modelLabels)) expect(key).toMatch(/^\p{Ll}[\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u);
    for (const insert of inserts.slice(0, 5)) expect(insert.configuration.labels).toEqual(modelLabels);
    expect(inserts[5]!.configuration.labels).toEqual({ tool: 'tideline', tideline_command: 'sync', tideline_run: 'r1', tideline_sync: 'orders_hubspot' });
    expect(inserts[6]!.configuration.labels).toEqual({ tool: 'tideline' });
    for (const insert of inserts) expect(insert.configuration.query.maximumBytesBilled).toBe('1000000');
    // Two long names differing only past the cut stay two labels.
    const other = c.withContext!({ command: 'run', run: 'r', model: `${hostile}z` });
    await other.execute(sql`SELECT 4`);
    expect(fake.jobInserts().at(-1)!.configuration.labels!['tideline_model']).not.toBe(modelLabels['tideline_model']);
  });

  it('turns every hostile model name into labels BigQuery accepts', async () => {
    const c = await open();
    for (const name of [...HOSTILE, 'x'.repeat(200), 'Ǆ Titlecase ǅ', 'İstanbul']) {
      await c.withContext!({ command: 'run', run: '20261207T102456123Z-a1b2c3', model: name }).execute(sql`SELECT 1`);
      const labels = fake.jobInserts().at(-1)!.configuration.labels!;
      expect(Object.keys(labels).length).toBeLessThanOrEqual(64);
      for (const [key, value] of Object.entries(labels)) {
        expect(key).toMatch(/^\p{Ll}[\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u);
        expect(value, JSON.stringify(name)).toMatch(/^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u);
      }
    }
  });

  it('counts the bytes each finished job processed and billed, per view, not dry runs', async () => {
    const c = await open();
    const first = c.withContext!({ command: 'run', run: 'r1', model: 'customers' });
    const second = c.withContext!({ command: 'run', run: 'r1', model: 'orders' });
    fake.scripted.set('CREATE TABLE c AS SELECT 1', { fields: [], rows: [], statistics: { totalBytesProcessed: '1200000000', totalBytesBilled: '1200029696' } });
    fake.scripted.set('SELECT n FROM c', { fields: [{ name: 'n', type: 'INTEGER' }], rows: [row('1')], statistics: { totalBytesProcessed: '9007199254', totalBytesBilled: '9007267840' } });
    fake.scripted.set('SELECT n FROM o', { fields: [{ name: 'n', type: 'INTEGER' }], rows: [row('1'), row('2')], statistics: { totalBytesProcessed: '0', totalBytesBilled: '0' } });

    expect(await first.usage!()).toEqual({ bytesProcessed: 0, bytesBilled: 0 });
    await first.execute(sql`CREATE TABLE c AS SELECT 1`);
    expect(await first.query(sql`SELECT n FROM c`)).toEqual([{ n: 1 }]);
    await first.columnsOfQuery(sql`SELECT n FROM c`);
    for await (const _ of second.stream(sql`SELECT n FROM o`, { batchSize: 1 })) void _;

    expect(await first.usage!()).toEqual({ bytesProcessed: 10_207_199_254, bytesBilled: 10_207_297_536 });
    expect(await second.usage!()).toEqual({ bytesProcessed: 0, bytesBilled: 0 });
    // The connection itself keeps no list: only views report usage.
    expect(await c.usage!()).toEqual({ bytesProcessed: 0, bytesBilled: 0 });
    // jobs.get only when usage is asked for, once per job run then, none for the dry runs.
    expect(fake.requests.filter((r) => r.method === 'GET' && /\/jobs\/[^/]+$/.test(r.path))).toHaveLength(3);
  });

  it('never fails a statement for its bytes: a job resource it cannot read is left out of the usage', async () => {
    const c = await open();
    const view = c.withContext!({ command: 'run', run: 'r1', model: 'customers' });
    fake.scripted.set('INSERT INTO t VALUES (1)', { fields: [], rows: [], statistics: { totalBytesProcessed: '10', totalBytesBilled: '20' } });
    fake.jobsGetFailure = { status: 403, reason: 'accessDenied', message: 'Access Denied: jobs.get' };
    await view.execute(sql`INSERT INTO t VALUES (1)`);
    expect(fake.jobInserts().filter((j) => j.configuration.query.query === 'INSERT INTO t VALUES (1)')).toHaveLength(1);
    expect(await view.usage!()).toEqual({ bytesProcessed: 0, bytesBilled: 0 });
    fake.jobsGetFailure = undefined;
    expect(await view.usage!()).toEqual({ bytesProcessed: 10, bytesBilled: 20 });
  });

  it('runs statements atomically as one transaction script in a single job', async () => {
    const c = await open();
    const before = fake.jobInserts().length;

    await c.runAtomically([sql`DELETE FROM t WHERE id = 1`, sql`INSERT INTO t VALUES (1);`]);

    const inserts = fake.jobInserts().slice(before);
    expect(inserts).toHaveLength(1);
    expect(inserts[0]?.configuration.query.query).toBe('BEGIN TRANSACTION;\nDELETE FROM t WHERE id = 1;\nINSERT INTO t VALUES (1);\nCOMMIT TRANSACTION;');
    expect(inserts[0]?.configuration.dryRun).toBeUndefined();
  });

  it('fails a transaction script as a whole, naming the script', async () => {
    const c = await open();
    const script = 'BEGIN TRANSACTION;\nUPDATE t SET x = 1;\nCOMMIT TRANSACTION;';
    fake.scripted.set(script, { failure: { status: 400, reason: 'invalidQuery', message: 'Query error: Division by zero at [2:1]' } });

    const error = await c.runAtomically([sql`UPDATE t SET x = 1`]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WarehouseError);
    expect((error as WarehouseError).statement).toBe(script);
    expect((error as WarehouseError).message).toContain('Division by zero');
  });

  it('wraps failures in WarehouseError with the statement, a hint and secrets scrubbed', async () => {
    const c = await open();
    const secret = 'hunter2-very-secret';
    redactor.add(secret);
    const statement = sql`SELECT * FROM huge WHERE note = ${c.dialect.string(secret)}`;
    fake.scripted.set(statement.text, {
      failure: { status: 400, reason: 'bytesBilledLimitExceeded', message: `Query exceeded limit for bytes billed: 1000000. Query: ${secret}` },
    });

    const error = await c.query(statement).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WarehouseError);
    const e = error as WarehouseError;
    expect(e.message).toContain('Query exceeded limit for bytes billed');
    expect(e.message).not.toContain(secret);
    expect(e.message).toContain('***');
    expect(e.statement).not.toContain(secret);
    expect(e.statement).toBe("SELECT * FROM huge WHERE note = '***'");
    expect(e.hint).toMatch(/maximum_bytes_billed/);
  });

  it.each([
    [403, 'accessDenied', /permission denied/],
    [404, 'notFound', /does not exist/],
  ])('gives a hint for HTTP %i %s', async (status, reason, hint) => {
    const c = await open();
    const statement = sql`SELECT 2`;
    fake.scripted.set(statement.text, { failure: { status, reason, message: `${reason}: nope` } });
    const error = (await c.execute(statement).catch((e: unknown) => e)) as WarehouseError;
    expect(error).toBeInstanceOf(WarehouseError);
    expect(error.statement).toBe('SELECT 2');
    expect(error.hint).toMatch(hint);
  });
});
