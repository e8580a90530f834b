import { createHash } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { BigQuery, Job, Query, QueryResultsOptions, TableField } from '@google-cloud/bigquery';
import type { TableRef } from '../../dialects/dialect.js';
import { DIALECTS } from '../../dialects/registry.js';
import { Sql, joinSql, sql } from '../../dialects/sql.js';
import { addUsage, normaliseBigInt, rebatch, WarehouseError, type ColumnInfo, type Connection, type QueryContext, type Row, type StreamOptions, type Value, type WarehouseUsage, insertWithStatements, type ColumnSpec, type RowBatches } from '../connection.js';
import type { OpenContext } from '../warehouse.js';
import type { BigQueryTarget } from './config.js';

/** Job resources usage() reads at once. */
const USAGE_READS_AT_ONCE = 8;

/** Rows per results page for `query()`, which keeps every row anyway. */
const QUERY_PAGE_SIZE = 10_000;

/**
 * INT64 arrives as a decimal string; this keeps it exact (the SDK's default turns it into a Number and throws
 * beyond 2^53).
 */
const INTEGERS = { integerTypeCastFunction: (value: string) => normaliseBigInt(BigInt(value)) };

/**
 * Opens a BigQuery client for a target. Credentials come from `key_file` (resolved from the project root) or
 * Application Default Credentials. A dry run of `SELECT 1` checks credentials and project at once, at no cost.
 */
export async function openBigQuery(target: BigQueryTarget, context: OpenContext): Promise<Connection> {
  const keyFilename = target.key_file === undefined ? undefined : await readableKeyFile(resolvePath(context.root, target.key_file));
  // Loaded here, not at the top: a command on another warehouse never loads the SDK (and its ~15 MB).
  const { BigQuery } = await import('@google-cloud/bigquery');
  const client = new BigQuery({
    projectId: target.project,
    ...(target.location ? { location: target.location } : {}),
    ...(keyFilename ? { keyFilename } : {}),
    ...(target.api_endpoint ? { apiEndpoint: target.api_endpoint } : {}),
    userAgent: 'tideline',
  });
  const connection = new BigQueryConnection(client, target, jobLabels(undefined));
  await connection.columnsOfQuery(sql`SELECT 1`);
  return connection;
}

/**
 * Job labels (https://cloud.google.com/bigquery/docs/labels-intro#requirements): at most 64 per job; keys and values
 * at most 63 characters of lowercase letters, international characters, digits, `_` and `-`, keys starting with a
 * letter. The keys are Tideline's own; the values are the context's, sanitised by labelValue.
 */
function jobLabels(context: QueryContext | undefined): Record<string, string> {
  const labels: Record<string, string> = { tool: 'tideline' };
  if (!context) return labels;
  labels['tideline_command'] = labelValue(context.command);
  labels['tideline_run'] = labelValue(context.run);
  if (context.model !== undefined) labels['tideline_model'] = labelValue(context.model);
  if (context.sync !== undefined) labels['tideline_sync'] = labelValue(context.sync);
  return labels;
}

const LABEL_LENGTH = 63;

/**
 * Any text as a label value: lowercased, each character a label may not hold replaced by `_`. Text longer than a
 * label keeps its first 54 characters and a hash of the whole, so that two long names stay two values.
 */
function labelValue(text: string): string {
  const characters = [...text.toLowerCase()].map((c) => (/^[\p{Ll}\p{Lo}\p{N}_-]$/u.test(c) ? c : '_'));
  if (characters.length <= LABEL_LENGTH) return characters.join('');
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 8);
  return `${characters.slice(0, LABEL_LENGTH - hash.length - 1).join('')}-${hash}`;
}

class BigQueryConnection implements Connection {
  readonly dialect = DIALECTS.bigquery;
  /** The jobs run through this connection or view, whose bytes usage() reads once they are done. */
  #jobs: Job[] = [];

  constructor(
    private readonly client: BigQuery,
    private readonly target: BigQueryTarget,
    private readonly labels: Readonly<Record<string, string>>,
    private readonly counts = false,
  ) {}

  withContext(context: QueryContext): Connection {
    return new BigQueryConnection(this.client, this.target, jobLabels(context), true);
  }

  /**
   * The bytes of the jobs run so far, read from each job resource (jobs.get) after the fact, so that a statement's
   * outcome never depends on it: jobs.getQueryResults reports bytes processed but not billed; the job resource has
   * both, as JobStatistics2 `totalBytesProcessed` and `totalBytesBilled` (int64 as strings,
   * https://cloud.google.com/bigquery/docs/reference/rest/v2/Job#JobStatistics2); a script's job sums its children's.
   * A job whose resource cannot be read is left out of the sum.
   */
  async usage(): Promise<WarehouseUsage> {
    let total: WarehouseUsage = { bytesProcessed: 0, bytesBilled: 0 };
    const jobs = this.#jobs;
    for (let i = 0; i < jobs.length; i += USAGE_READS_AT_ONCE) {
      const read = await Promise.allSettled(jobs.slice(i, i + USAGE_READS_AT_ONCE).map((job) => job.getMetadata()));
      for (const result of read) {
        if (result.status !== 'fulfilled') continue;
        const statistics = (result.value[0] as { statistics?: { query?: { totalBytesProcessed?: string; totalBytesBilled?: string } } }).statistics?.query;
        total = addUsage(total, { bytesProcessed: Number(statistics?.totalBytesProcessed ?? 0), bytesBilled: Number(statistics?.totalBytesBilled ?? 0) });
      }
    }
    return total;
  }

  async execute(statement: Sql): Promise<void> {
    const job = await this.startJob(statement);
    await this.page(job, statement, { maxResults: 0 });
  }

  async query(statement: Sql): Promise<Row[]> {
    const rows: Row[] = [];
    for await (const page of this.pages(statement, QUERY_PAGE_SIZE)) rows.push(...page);
    return rows;
  }

  async *stream(statement: Sql, options: StreamOptions = {}): AsyncGenerator<Row[]> {
    const batchSize = options.batchSize ?? 10_000;
    yield* rebatch(this.pages(statement, batchSize), batchSize);
  }

  async columns(table: TableRef): Promise<ColumnInfo[] | undefined> {
    const project = table.catalog ?? this.target.project;
    const dataset = table.schema ?? this.target.dataset;
    if (dataset === undefined)
      throw new WarehouseError(`cannot look up table ${table.name}: BigQuery needs a dataset`, {
        hint: 'qualify the table with its dataset, or set `dataset` on the target',
      });
    const request = `tables.get ${project}.${dataset}.${table.name}`;
    try {
      const [metadata] = await this.client.dataset(dataset, { projectId: project }).table(table.name).getMetadata();
      const fields: TableField[] = metadata.schema?.fields ?? [];
      return fields.map(column);
    } catch (error) {
      if (apiError(error).code === 404) return undefined;
      throw wrap(error, request);
    }
  }

  async columnsOfQuery(select: Sql): Promise<ColumnInfo[]> {
    const [, metadata] = await this.guard(select, () => this.client.createQueryJob(this.jobOptions(select, { dryRun: true })));
    const fields: TableField[] = metadata.statistics?.query?.schema?.fields ?? [];
    return fields.map(column);
  }

  /**
   * One multi-statement script: BigQuery runs it as a single job and, when a statement fails before COMMIT
   * TRANSACTION, rolls the whole transaction back itself. Only DML (and temporary tables) may run inside it.
   */
  async runAtomically(statements: readonly Sql[]): Promise<void> {
    const body = joinSql(
      statements.map((s) => sql`${s.withoutTerminator()};`),
      sql`\n`,
    );
    await this.execute(sql`BEGIN TRANSACTION;\n${body}\nCOMMIT TRANSACTION;`);
  }

  insertRows(table: TableRef, columns: readonly ColumnSpec[], batches: RowBatches): Promise<number> {
    return insertWithStatements(this, table, columns, batches);
  }

  async close(): Promise<void> {}

  /** Pages of the results, each at most `pageSize` rows; only one page is held at a time. */
  private async *pages(statement: Sql, pageSize: number): AsyncGenerator<Row[]> {
    const job = await this.startJob(statement);
    let pageToken: string | undefined;
    do {
      const page = await this.page(job, statement, { maxResults: pageSize, ...(pageToken ? { pageToken } : {}) });
      if (page.rows.length) yield page.rows.map((row) => convertRow(row, page.fields));
      pageToken = page.pageToken;
    } while (pageToken);
  }

  /** One call of jobs.getQueryResults, repeated while the job is still running (the API waits a while per call). */
  private async page(job: Job, statement: Sql, options: QueryResultsOptions): Promise<ResultsPage> {
    for (;;) {
      const [rows, , response] = await this.guard(statement, () => job.getQueryResults({ ...options, autoPaginate: false, wrapIntegers: INTEGERS }));
      if (response?.jobComplete === false) continue;
      return { rows: rows as SdkRow[], fields: response?.schema?.fields ?? [], pageToken: response?.pageToken ?? undefined };
    }
  }

  private async startJob(statement: Sql): Promise<Job> {
    const [job] = await this.guard(statement, () => this.client.createQueryJob(this.jobOptions(statement)));
    // Only a view (withContext: a model's build, a sync run) reports its usage; the base connection keeps no list.
    if (this.counts) this.#jobs.push(job);
    return job;
  }

  private jobOptions(statement: Sql, extra: Partial<Query> = {}): Query {
    return {
      query: statement.text,
      useLegacySql: false,
      labels: { ...this.labels },
      ...(this.target.maximum_bytes_billed !== undefined ? { maximumBytesBilled: String(this.target.maximum_bytes_billed) } : {}),
      ...(this.target.job_timeout_seconds !== undefined ? { jobTimeoutMs: this.target.job_timeout_seconds * 1000 } : {}),
      ...extra,
    };
  }

  private async guard<T>(statement: Sql, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw wrap(error, statement);
    }
  }
}

interface ResultsPage {
  readonly rows: SdkRow[];
  readonly fields: TableField[];
  readonly pageToken: string | undefined;
}

/** A row as the SDK parses it against the schema: one property per field. */
type SdkRow = Record<string, unknown>;

function resolvePath(root: string, path: string): string {
  return isAbsolute(path) ? path : resolve(root, path);
}

async function readableKeyFile(path: string): Promise<string> {
  try {
    await access(path, constants.R_OK);
    return path;
  } catch (error) {
    throw new WarehouseError(`cannot read the BigQuery key_file ${path}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      hint: 'key_file is resolved from the project root; leave it out to use Application Default Credentials',
    });
  }
}

/** Legacy type names in table metadata, spelled as Standard SQL (and the dialect) spell them. */
const STANDARD_TYPE: Readonly<Record<string, string>> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL', RECORD: 'STRUCT' };

function column(field: TableField): ColumnInfo {
  const type = field.type ?? 'UNKNOWN';
  const base = STANDARD_TYPE[type] ?? type;
  const nativeType = field.mode === 'REPEATED' ? `ARRAY<${base}>` : base;
  return { name: field.name ?? '', nativeType, type: DIALECTS.bigquery.logicalType(nativeType) };
}

function convertRow(row: SdkRow, fields: readonly TableField[]): Row {
  const out: Row = {};
  for (const field of fields) {
    const name = field.name ?? '';
    out[name] = convertField(field, row[name]);
  }
  return out;
}

function convertField(field: TableField, value: unknown): Value {
  if (value === null || value === undefined) return null;
  if (field.mode === 'REPEATED') return (value as unknown[]).map((item) => convertScalar(field, item));
  return convertScalar(field, value);
}

/**
 * The SDK's parsed value of one field → the Connection contract. The SDK wraps DATE, DATETIME, TIME, TIMESTAMP and
 * GEOGRAPHY in objects holding the text in `value`, NUMERIC in Big, BYTES in a Buffer; INT64 is already normalised
 * by INTEGERS.
 */
function convertScalar(field: TableField, value: unknown): Value {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case 'INTEGER':
    case 'INT64':
      return typeof value === 'number' || typeof value === 'string' ? value : normaliseBigInt(BigInt(String(value)));
    case 'FLOAT':
    case 'FLOAT64':
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return Number(String(value));
    case 'DATE':
      return wrapped(value);
    case 'DATETIME':
      return utcDate(`${wrapped(value).replace(' ', 'T')}Z`);
    case 'TIMESTAMP':
      return utcDate(wrapped(value));
    case 'TIME':
    case 'GEOGRAPHY':
      return wrapped(value);
    case 'BYTES':
      return Buffer.isBuffer(value) ? value.toString('base64') : String(value);
    case 'RECORD':
    case 'STRUCT':
      return convertRow(value as SdkRow, field.fields ?? []);
    default:
      return typeof value === 'object' ? JSON.stringify(value) : (value as Value);
  }
}

function wrapped(value: unknown): string {
  return typeof value === 'object' && value !== null && 'value' in value ? String(value.value) : String(value);
}

/** An ISO timestamp with up to nine fractional digits → Date (millisecond precision, as Date holds). */
function utcDate(iso: string): Date {
  return new Date(iso.replace(/(\.\d{3})\d+/, '$1'));
}

interface ApiErrorShape {
  readonly code?: number | string;
  readonly message?: string;
  readonly errors?: readonly { readonly reason?: string; readonly message?: string }[];
}

function apiError(error: unknown): ApiErrorShape {
  return typeof error === 'object' && error !== null ? (error as ApiErrorShape) : {};
}

/** Hints for the failures a data engineer meets first, by BigQuery's error reason. */
const HINTS_BY_REASON: Readonly<Record<string, string>> = {
  notFound: 'a project, dataset or table does not exist, or lives in another location: check the names and the target\'s location',
  accessDenied: 'permission denied: the account needs BigQuery Job User on the project and Data Viewer/Editor on the datasets',
  bytesBilledLimitExceeded: 'the query would bill more bytes than maximum_bytes_billed allows: raise the limit or read less data',
  quotaExceeded: 'a BigQuery quota was exceeded: retry later or run fewer jobs at once',
  rateLimitExceeded: 'a BigQuery rate limit was exceeded: retry later or run fewer jobs at once',
};

const NO_CREDENTIALS_HINT =
  'no Google credentials: set key_file on the target, point GOOGLE_APPLICATION_CREDENTIALS at a key, or run `gcloud auth application-default login`';

function hintFor(error: ApiErrorShape, message: string): string | undefined {
  if (/could not load the default credentials|could not refresh access token|invalid_grant/i.test(message)) return NO_CREDENTIALS_HINT;
  const reason = error.errors?.find((e) => e.reason && HINTS_BY_REASON[e.reason])?.reason;
  if (reason) return HINTS_BY_REASON[reason];
  if (error.code === 401) return NO_CREDENTIALS_HINT;
  if (error.code === 403) return HINTS_BY_REASON['accessDenied'];
  if (error.code === 404) return HINTS_BY_REASON['notFound'];
  if (/timed? ?out/i.test(message)) return 'the job ran longer than job_timeout_seconds allows';
  return undefined;
}

function wrap(error: unknown, statement: Sql | string): WarehouseError {
  const e = apiError(error);
  const message = e.message ?? String(error);
  return new WarehouseError(message, { statement, cause: error, hint: hintFor(e, message) });
}
