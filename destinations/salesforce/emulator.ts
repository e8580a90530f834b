import { randomBytes } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RecordStore } from '../emulator-kit/server.js';

/**
 * A local Salesforce org (REST API `/services/data/vXX.X`), strict where Salesforce is:
 *  - `Authorization: Bearer <token>` or 401 `INVALID_SESSION_ID`; `Sforce-Limit-Info: api-usage=N/M` on every answer
 *    and 403 `REQUEST_LIMIT_EXCEEDED` once the org's daily request allowance is spent;
 *  - sObject Collections: upsert by an External ID field (≤ 200 records, else 400), answered 200 with one result per
 *    record in request order (`success:false` with `errors[{statusCode,message,fields}]` for a refused one: a
 *    required field missing, a read-only field, the same external id twice in the request); an unknown field is a
 *    400 `INVALID_FIELD` for the whole request; delete by ids;
 *  - Bulk API 2.0 ingest jobs (create, upload CSV, UploadComplete, then InProgress and JobComplete on later polls),
 *    with successfulResults / failedResults / unprocessedrecords CSVs; an unknown column fails the job;
 *  - `describe`, `limits`, and the one SOQL form Tideline uses (`SELECT Id, F FROM O WHERE F IN (…)`).
 * Field names are case-insensitive, as in Salesforce. Records are kept by object (`Contact`), by Id.
 */
export interface SalesforceFieldDef {
  readonly name: string;
  /** Salesforce field types: id, string, email, phone, textarea, double, int, boolean, date, datetime, reference. */
  readonly type: string;
  /** Neither createable nor updateable (system and formula fields). */
  readonly readOnly?: boolean;
  readonly externalId?: boolean;
  /** Needed to create a record (LastName on Contact). */
  readonly required?: boolean;
}

export interface SalesforceEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  readonly token?: string;
  /** Objects and their fields (default: Contact with its usual fields and an External ID field External_Id__c). */
  readonly objects?: Readonly<Record<string, readonly SalesforceFieldDef[]>>;
  /** API requests the org allows per day (default 100,000). */
  readonly dailyLimit?: number;
  /** Records refused one by one (`FIELD_CUSTOM_VALIDATION_EXCEPTION`), by external id value. */
  readonly reject?: (externalId: string) => { readonly message: string } | undefined;
  /** Records per collection request (Salesforce: 200). */
  readonly maxBatchRecords?: number;
  readonly faults?: FaultPlan;
}

export const SALESFORCE_COLLECTION_LIMIT = 200;

const DEFAULT_OBJECTS: Readonly<Record<string, readonly SalesforceFieldDef[]>> = {
  Contact: [
    { name: 'Id', type: 'id', readOnly: true },
    { name: 'Name', type: 'string', readOnly: true },
    { name: 'FirstName', type: 'string' },
    { name: 'LastName', type: 'string', required: true },
    { name: 'Email', type: 'email' },
    { name: 'Phone', type: 'phone' },
    { name: 'MobilePhone', type: 'phone' },
    { name: 'Title', type: 'string' },
    { name: 'MailingCity', type: 'string' },
    { name: 'MailingCountry', type: 'string' },
    { name: 'Description', type: 'textarea' },
    { name: 'CreatedDate', type: 'datetime', readOnly: true },
    { name: 'LastModifiedDate', type: 'datetime', readOnly: true },
    { name: 'External_Id__c', type: 'string', externalId: true },
  ],
};

interface IngestJob {
  readonly id: string;
  readonly object: string;
  readonly operation: string;
  readonly externalIdFieldName: string;
  state: 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  csv: string;
  polls: number;
  errorMessage?: string;
  successful: string;
  failed: string;
  unprocessed: string;
  processed: number;
  failures: number;
}

/** What the emulated org saw, beyond its records. */
export interface SalesforceStats {
  maxBatchSeen: number;
  collectionRequests: number;
  bulkJobs: number;
}

export class SalesforceEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    readonly token: string,
    readonly stats: Readonly<SalesforceStats>,
    readonly objects: ReadonlyMap<string, readonly SalesforceFieldDef[]>,
  ) {
    super(server);
  }

  /** Records of an object, by Id. */
  records(object: string): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
    return this.server.store.object(object);
  }
}

export async function startSalesforceEmulator(options: SalesforceEmulatorOptions = {}): Promise<SalesforceEmulator> {
  const token = options.token ?? `00D${randomBytes(6).toString('hex')}!${randomBytes(24).toString('base64url')}`;
  const objects = new Map(Object.entries(options.objects ?? DEFAULT_OBJECTS));
  const dailyLimit = options.dailyLimit ?? 100_000;
  const maxBatch = options.maxBatchRecords ?? SALESFORCE_COLLECTION_LIMIT;
  const stats: SalesforceStats = { maxBatchSeen: 0, collectionRequests: 0, bulkJobs: 0 };
  const jobs = new Map<string, IngestJob>();
  let used = 0;
  let nextId = 1;
  const limitInfo = () => ({ 'sforce-limit-info': `api-usage=${Math.min(used, dailyLimit)}/${dailyLimit}` });

  const api: ApiContract = {
    authenticate: (request) =>
      header(request, 'authorization') === `Bearer ${token}` ? undefined : { status: 401, body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }] },
    tooManyRequests: () => ({ status: 403, body: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }] }),
    serverError: (status) => ({ status, body: [{ message: 'An unexpected error occurred. Please include this ErrorId if you contact support', errorCode: 'UNKNOWN_EXCEPTION' }] }),
    handle: (request, store) => {
      if (++used > dailyLimit) return { status: 403, headers: limitInfo(), body: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }] };
      const reply = route(request, store);
      return { ...reply, headers: { ...limitInfo(), ...reply.headers } };
    },
  };

  function route(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    const match = /^\/services\/data\/v\d+\.\d+(\/.*)$/.exec(request.path);
    if (!match) return notFound();
    const path = match[1]!;
    const { method } = request;
    if (method === 'GET' && path === '/limits') return { status: 200, body: { DailyApiRequests: { Max: dailyLimit, Remaining: Math.max(0, dailyLimit - used) } } };
    const describe = /^\/sobjects\/(\w+)\/describe$/.exec(path);
    if (method === 'GET' && describe) return describeObject(describe[1]!);
    if (method === 'GET' && path === '/query') return query(store, request.query.get('q') ?? '');
    const upsert = /^\/composite\/sobjects\/(\w+)\/(\w+)$/.exec(path);
    if (method === 'PATCH' && upsert) return collectionUpsert(store, upsert[1]!, upsert[2]!, json(request));
    if (method === 'DELETE' && path === '/composite/sobjects') return collectionDelete(store, request.query);
    if (method === 'POST' && path === '/jobs/ingest') return createJob(json(request));
    const job = /^\/jobs\/ingest\/(\w+)(\/batches|\/successfulResults\/?|\/failedResults\/?|\/unprocessedrecords\/?)?$/.exec(path);
    if (job) return jobRoute(store, method, job[1]!, job[2] ?? '', request);
    return notFound();
  }

  function fieldsOf(object: string): readonly SalesforceFieldDef[] | undefined {
    const key = [...objects.keys()].find((k) => k.toLowerCase() === object.toLowerCase());
    return key ? objects.get(key) : undefined;
  }

  function field(object: string, name: string): SalesforceFieldDef | undefined {
    return fieldsOf(object)?.find((f) => f.name.toLowerCase() === name.toLowerCase());
  }

  function describeObject(object: string): EmulatorReply {
    const fields = fieldsOf(object);
    if (!fields) return notFound();
    return {
      status: 200,
      body: {
        name: object,
        fields: fields.map((f) => ({
          name: f.name,
          type: f.type,
          createable: !f.readOnly,
          updateable: !f.readOnly,
          externalId: f.externalId === true,
          idLookup: f.externalId === true || f.name === 'Id',
          nillable: !f.required,
        })),
      },
    };
  }

  /** Upserts one record by external id; answers its result (Salesforce's SaveResult shape). */
  function upsertOne(store: RecordStore, object: string, extField: SalesforceFieldDef, values: Record<string, unknown>): { id?: string; success: boolean; created?: boolean; errors: { statusCode: string; message: string; fields: string[] }[] } {
    const extValue = values[extField.name];
    if (extValue === undefined || extValue === null || extValue === '') return failure('REQUIRED_FIELD_MISSING', `Required fields are missing: [${extField.name}]`, [extField.name]);
    const rejected = options.reject?.(String(extValue));
    if (rejected) return failure('FIELD_CUSTOM_VALIDATION_EXCEPTION', rejected.message, []);
    const readOnly = Object.keys(values).filter((name) => field(object, name)?.readOnly);
    if (readOnly.length) return failure('INVALID_FIELD_FOR_INSERT_UPDATE', `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`, readOnly);
    const records = store.object(canonicalObject(object));
    const existing = [...records.entries()].find(([, r]) => String(r[extField.name] ?? '').toLowerCase() === String(extValue).toLowerCase());
    const now = new Date().toISOString();
    const next: Record<string, unknown> = { ...(existing?.[1] ?? {}) };
    for (const [name, value] of Object.entries(values)) {
      const canonical = field(object, name)!.name;
      if (value === null) delete next[canonical];
      else next[canonical] = value;
    }
    const missing = (fieldsOf(object) ?? []).filter((f) => f.required && (next[f.name] === undefined || next[f.name] === '')).map((f) => f.name);
    if (missing.length) return failure('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing);
    const id = existing?.[0] ?? `003${String(nextId++).padStart(12, '0')}`;
    next['Id'] = id;
    if (field(object, 'CreatedDate')) next['CreatedDate'] ??= now;
    if (field(object, 'LastModifiedDate')) next['LastModifiedDate'] = now;
    records.set(id, next);
    if (!existing) store.created(canonicalObject(object), id);
    return { id, success: true, created: !existing, errors: [] };
  }

  function canonicalObject(object: string): string {
    return [...objects.keys()].find((k) => k.toLowerCase() === object.toLowerCase()) ?? object;
  }

  function unknownField(object: string, names: Iterable<string>): EmulatorReply | undefined {
    for (const name of names) {
      if (name !== 'attributes' && !field(object, name)) return { status: 400, body: [{ message: `No such column '${name}' on sobject of type ${object}`, errorCode: 'INVALID_FIELD' }] };
    }
    return undefined;
  }

  function externalIdField(object: string, name: string): SalesforceFieldDef | EmulatorReply {
    if (!fieldsOf(object)) return { status: 404, body: [{ message: `The requested resource does not exist: sObject type '${object}' is not supported.`, errorCode: 'NOT_FOUND' }] };
    const ext = field(object, name);
    if (!ext?.externalId) return { status: 400, body: [{ message: `Field name provided, ${name} is not an External ID or indexed field for ${object}`, errorCode: 'INVALID_FIELD' }] };
    return ext;
  }

  function collectionUpsert(store: RecordStore, object: string, extName: string, body: unknown): EmulatorReply {
    const ext = externalIdField(object, extName);
    if ('status' in ext) return ext;
    const records = (body as { records?: unknown } | undefined)?.records;
    if (!Array.isArray(records)) return { status: 400, body: [{ message: 'records: a list is required', errorCode: 'JSON_PARSER_ERROR' }] };
    if (records.length > maxBatch) return { status: 400, body: [{ message: `The number of records exceeds the limit of ${maxBatch}`, errorCode: 'EXCEEDED_ID_LIMIT' }] };
    stats.maxBatchSeen = Math.max(stats.maxBatchSeen, records.length);
    stats.collectionRequests++;
    const names = new Set(records.flatMap((r: Record<string, unknown>) => Object.keys(r)));
    const refused = unknownField(object, names);
    if (refused) return refused;
    const counts = new Map<string, number>();
    for (const r of records as Record<string, unknown>[]) {
      const value = String(valueOf(r, ext.name) ?? '').toLowerCase();
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    const results = (records as Record<string, unknown>[]).map((r) => {
      const { attributes: _attributes, ...values } = r;
      const canonical = Object.fromEntries(Object.entries(values).map(([k, v]) => [field(object, k)!.name, v]));
      const extValue = String(canonical[ext.name] ?? '');
      if ((counts.get(extValue.toLowerCase()) ?? 0) > 1) return failure('DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${extValue}`, [ext.name]);
      return upsertOne(store, object, ext, canonical);
    });
    return { status: 200, body: results };
  }

  function collectionDelete(store: RecordStore, query: URLSearchParams): EmulatorReply {
    const ids = (query.get('ids') ?? '').split(',').filter(Boolean);
    if (!ids.length) return { status: 400, body: [{ message: 'ids: at least one id is required', errorCode: 'MALFORMED_QUERY' }] };
    if (ids.length > maxBatch) return { status: 400, body: [{ message: `The number of ids exceeds the limit of ${maxBatch}`, errorCode: 'EXCEEDED_ID_LIMIT' }] };
    stats.collectionRequests++;
    const results = ids.map((id) => {
      for (const object of objects.keys()) if (store.object(object).delete(id)) return { id, success: true, errors: [] };
      return { id, success: false, errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }] };
    });
    return { status: 200, body: results };
  }

  function query(store: RecordStore, soql: string): EmulatorReply {
    const match = /^SELECT\s+Id\s*,\s*(\w+)\s+FROM\s+(\w+)\s+WHERE\s+(\w+)\s+IN\s*\((.*)\)\s*$/i.exec(soql.trim());
    if (!match || match[1]!.toLowerCase() !== match[3]!.toLowerCase()) return { status: 400, body: [{ message: 'the emulator answers only SELECT Id, F FROM O WHERE F IN (…)', errorCode: 'MALFORMED_QUERY' }] };
    const [, fieldName, object] = match as unknown as [string, string, string];
    const ext = field(object, fieldName);
    if (!ext) return { status: 400, body: [{ message: `No such column '${fieldName}' on entity '${object}'`, errorCode: 'INVALID_FIELD' }] };
    const values = new Set([...match[4]!.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1').toLowerCase()));
    const records = [...store.object(canonicalObject(object)).values()]
      .filter((r) => values.has(String(r[ext.name] ?? '').toLowerCase()))
      .map((r) => ({ attributes: { type: canonicalObject(object) }, Id: r['Id'], [ext.name]: r[ext.name] }));
    return { status: 200, body: { totalSize: records.length, done: true, records } };
  }

  function createJob(body: unknown): EmulatorReply {
    const b = (body ?? {}) as Record<string, unknown>;
    if (b['operation'] !== 'upsert' || typeof b['object'] !== 'string' || typeof b['externalIdFieldName'] !== 'string' || (b['contentType'] ?? 'CSV') !== 'CSV') {
      return { status: 400, body: [{ message: 'the emulator takes upsert jobs with object, externalIdFieldName and contentType CSV', errorCode: 'INVALIDJOB' }] };
    }
    const ext = externalIdField(b['object'], b['externalIdFieldName']);
    if ('status' in ext) return ext;
    const id = `750${String(jobs.size + 1).padStart(12, '0')}`;
    const job: IngestJob = { id, object: b['object'], operation: 'upsert', externalIdFieldName: ext.name, state: 'Open', csv: '', polls: 0, successful: '', failed: '', unprocessed: '', processed: 0, failures: 0 };
    jobs.set(id, job);
    stats.bulkJobs++;
    return { status: 200, body: jobInfo(job) };
  }

  function jobRoute(store: RecordStore, method: string, id: string, sub: string, request: EmulatorRequest): EmulatorReply {
    const job = jobs.get(id);
    if (!job) return notFound();
    if (sub === '/batches' && method === 'PUT') {
      if (job.state !== 'Open') return { status: 409, body: [{ message: `the job is ${job.state}: data can be uploaded only while it is Open`, errorCode: 'INVALIDJOBSTATE' }] };
      if (request.body.length > 100 * 1024 * 1024) return { status: 400, body: [{ message: 'the upload exceeds 100 MB', errorCode: 'INVALIDBATCH' }] };
      job.csv += job.csv ? request.body.toString('utf8').split('\n').slice(1).join('\n') : request.body.toString('utf8');
      return { status: 201 };
    }
    if (sub === '' && method === 'PATCH') {
      const state = (json(request) as { state?: string } | undefined)?.state;
      if (state === 'Aborted') job.state = 'Aborted';
      else if (state === 'UploadComplete' && job.state === 'Open') {
        job.state = 'UploadComplete';
        runJob(store, job);
      } else return { status: 409, body: [{ message: `cannot move a ${job.state} job to ${state}`, errorCode: 'INVALIDJOBSTATE' }] };
      return { status: 200, body: jobInfo(job) };
    }
    if (sub === '' && method === 'GET') {
      // The job finishes over two polls, as a real one takes a while.
      if (job.state === 'UploadComplete' || job.state === 'InProgress') job.state = ++job.polls >= 2 ? (job.errorMessage ? 'Failed' : 'JobComplete') : 'InProgress';
      return { status: 200, body: jobInfo(job) };
    }
    if (method === 'GET' && sub.startsWith('/successfulResults')) return csvReply(job.successful);
    if (method === 'GET' && sub.startsWith('/failedResults')) return csvReply(job.failed);
    if (method === 'GET' && sub.startsWith('/unprocessedrecords')) return csvReply(job.unprocessed);
    return notFound();
  }

  /** Applies the job's CSV at once (its state still moves over later polls). */
  function runJob(store: RecordStore, job: IngestJob): void {
    const rows = parseCsv(job.csv, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    const columns = (parseCsv(job.csv, { to_line: 1 }) as string[][])[0] ?? [];
    const unknown = columns.find((c) => !field(job.object, c));
    if (unknown) {
      job.errorMessage = `InvalidBatch : Field name not found : ${unknown}`;
      job.unprocessed = stringifyCsv(rows, { header: true, columns });
      return;
    }
    const ext = field(job.object, job.externalIdFieldName)!;
    const successful: Record<string, string>[] = [];
    const failed: Record<string, string>[] = [];
    const seen = new Map<string, number>();
    for (const row of rows) seen.set(String(valueOf(row, ext.name) ?? '').toLowerCase(), (seen.get(String(valueOf(row, ext.name) ?? '').toLowerCase()) ?? 0) + 1);
    for (const row of rows) {
      const values: Record<string, unknown> = {};
      for (const [name, raw] of Object.entries(row)) {
        if (raw === '') continue; // an empty cell leaves the field as it is; #N/A clears it
        const def = field(job.object, name)!;
        values[def.name] = raw === '#N/A' ? null : fromCsv(def.type, raw);
      }
      const extValue = String(values[ext.name] ?? '');
      const result = (seen.get(extValue.toLowerCase()) ?? 0) > 1 ? failure('DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${extValue}`, [ext.name]) : upsertOne(store, job.object, ext, values);
      if (result.success) successful.push({ sf__Id: result.id!, sf__Created: String(result.created), ...row });
      else failed.push({ sf__Id: '', sf__Error: result.errors.map((e) => `${e.statusCode}:${e.message}:${e.fields.join(';')}`).join('|'), ...row });
    }
    job.processed = rows.length;
    job.failures = failed.length;
    job.successful = stringifyCsv(successful, { header: true, columns: ['sf__Id', 'sf__Created', ...columns] });
    job.failed = stringifyCsv(failed, { header: true, columns: ['sf__Id', 'sf__Error', ...columns] });
    job.unprocessed = stringifyCsv([], { header: true, columns });
  }

  const server = await EmulatorServer.start(api, { faults: options.faults });
  server.restore(options.saved);
  // Record ids go on from the restored ones.
  for (const records of Object.values(server.store.snapshot())) for (const key of Object.keys(records)) {
    const m = /^003(\d{12})$/.exec(key);
    if (m) nextId = Math.max(nextId, Number(m[1]) + 1);
  }
  return new SalesforceEmulator(server, token, stats, objects);
}

function jobInfo(job: IngestJob) {
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    externalIdFieldName: job.externalIdFieldName,
    state: job.state,
    contentType: 'CSV',
    lineEnding: 'LF',
    apiVersion: 62.0,
    numberRecordsProcessed: job.state === 'JobComplete' ? job.processed : 0,
    numberRecordsFailed: job.state === 'JobComplete' ? job.failures : 0,
    ...(job.state === 'Failed' ? { errorMessage: job.errorMessage } : {}),
  };
}

function fromCsv(type: string, raw: string): unknown {
  if (type === 'double' || type === 'int' || type === 'currency' || type === 'percent') return Number(raw);
  if (type === 'boolean') return raw.toLowerCase() === 'true';
  return raw;
}

function valueOf(record: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : record[key];
}

function failure(statusCode: string, message: string, fields: string[]) {
  return { success: false as const, errors: [{ statusCode, message, fields }] };
}

function csvReply(text: string): EmulatorReply {
  return { status: 200, headers: { 'content-type': 'text/csv' }, body: text };
}

function notFound(): EmulatorReply {
  return { status: 404, body: [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }] };
}

function json(request: EmulatorRequest): unknown {
  try {
    return JSON.parse(request.body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function header(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
