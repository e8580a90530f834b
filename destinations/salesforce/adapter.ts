import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { z } from 'zod';
import { redactor } from '../../src/log/redact.js';
import type { Logger } from '../../src/log/logger.js';
import { ApiClient, BatchRejectedError, defineDestination, noOutcome, Outcomes, parseJson, rejected, scrubEmails, StopSyncError, stopSync, TransientError, type Batch, type CallOptions, type ConfigProblem, type DestinationContext, type DestinationSession, type FieldValue, type HttpRequest, type HttpResponse, type OutboundRecord, type RecordOutcome, type RemoteField, type SyncMode } from '../kit/index.js';
import { credentialKind, credentialProblems, salesforceAuth, type SalesforceAuth } from './auth.js';
import { SalesforceEmulator, startSalesforceEmulator } from './emulator.js';
import { apiUsage, bulkErrorCode, CSV_CONTENT_TYPE, dataPath, DEFAULT_API_VERSION, GONE_CODES, DEFAULT_LOGIN_URL, HARD_DELETE_DOC, HARD_DELETE_OPERATION, HARD_DELETE_PERMISSION, RECYCLE_BIN_DAYS, RECYCLE_BIN_DOC, LIMIT_INFO_HEADER, LINE_ENDINGS, PATHS, REQUEST_LIMIT_EXCEEDED, RETRYABLE_CODES, SALESFORCE_COLLECTION_LIMIT, salesforceApiVersion, TERMINAL_JOB_STATES, type ApiError, type BulkResultKind, type JobInfo, type QueryResult, type SaveResult } from './protocol.js';

const url = (what: string) => z.url({ protocol: /^https?$/, error: `an http(s) URL (${what})` });

export const salesforceConfigSchema = z
  .strictObject({
    instance_url: url('the org, https://<domain>.my.salesforce.com')
      .optional()
      .describe(
        'The org: `https://<domain>.my.salesforce.com`. Required with `access_token`; with the OAuth flows it may be left out, the token answer names it (set it to pin the lock scope to the org).',
      ),
    access_token: z
      .string()
      .min(1)
      .optional()
      .describe('A static OAuth access token (e.g. `${env:SALESFORCE_ACCESS_TOKEN}`, scope `api`): it cannot renew, so a run that outlives the session stops at its 401. Prefer the JWT bearer or refresh token flow.'),
    client_id: z
      .string()
      .min(1)
      .optional()
      .describe("The connected app's consumer key (its OAuth client_id): the JWT's `iss` in the JWT bearer flow, the client in the refresh token flow."),
    username: z.string().min(1).optional().describe('JWT bearer flow: the Salesforce username the sync acts as (the JWT\'s `sub`); the user, or its profile, must have approved the connected app.'),
    private_key_file: z
      .string()
      .min(1)
      .optional()
      .describe('JWT bearer flow: a PEM file holding the RSA private key whose certificate is uploaded to the connected app ("Use digital signatures"), relative to the project root.'),
    private_key: z
      .string()
      .min(1)
      .optional()
      .describe('JWT bearer flow: the PEM private key itself, e.g. `${env:SALESFORCE_PRIVATE_KEY}` (line breaks may be written `\\n`); instead of `private_key_file`.'),
    refresh_token: z.string().min(1).optional().describe('Refresh token flow: a refresh token of the connected app (e.g. `${env:SALESFORCE_REFRESH_TOKEN}`), obtained once by a user through a web flow with the `refresh_token` scope.'),
    client_secret: z
      .string()
      .min(1)
      .optional()
      .describe("Refresh token flow: the connected app's consumer secret; required unless the app clears \"Require Secret for Refresh Token Flow\"."),
    login_url: url('the login server')
      .default(DEFAULT_LOGIN_URL)
      .describe('Where tokens come from (`<login_url>/services/oauth2/token`): `https://login.salesforce.com`, `https://test.salesforce.com` for a sandbox, or the org\'s My Domain login URL.'),
    api_version: z
      .string()
      .regex(/^\d+\.\d$/, 'like 62.0')
      .default(DEFAULT_API_VERSION)
      .describe('The REST API version, as in `/services/data/v62.0`. 62.0 (Winter \'25) has no retirement announced; Salesforce retires 31.0–40.0 in Summer \'28 (`tideline validate` warns ahead of a sunset).'),
    batch_size: z.number().int().min(1).max(SALESFORCE_COLLECTION_LIMIT).default(SALESFORCE_COLLECTION_LIMIT).describe('Records per sObject Collections request (Salesforce takes at most 200).'),
    bulk_threshold: z.number().int().min(0).default(10_000).describe('Upserts planned by a run (added + changed) above which it sends Bulk API 2.0 ingest jobs instead.'),
    bulk_batch_size: z.number().int().min(1).max(150_000).default(10_000).describe('Rows per Bulk API 2.0 job; also the most records handed to the adapter at once (split into `batch_size` requests).'),
    bulk_poll_seconds: z.number().positive().max(300).default(5).describe("Between two polls of a Bulk job's state."),
    bulk_timeout_seconds: z.number().int().min(10).max(86_400).default(1800).describe('Most time one Bulk job may take before the run gives up on it (its records are sent again next run).'),
    erasure: z
      .enum(['hard_delete', 'recycle_bin'])
      .default('hard_delete')
      .describe(
        `How \`tideline forget\` erases a person's records: \`hard_delete\` (Bulk API 2.0 hardDelete: gone at once, never in the Recycle Bin; the user needs the "${HARD_DELETE_PERMISSION}" system permission, off by default) or \`recycle_bin\` (an ordinary delete: restorable from the Recycle Bin until Salesforce purges it after ${RECYCLE_BIN_DAYS} days).`,
      ),
    campaign_member_status: z
      .string()
      .min(1)
      .optional()
      .describe("Audience syncs: the Status of the CampaignMembers they create (one of the campaign's member statuses, e.g. `Sent`); absent, the campaign's default. A mapped field `Status` sets it per member instead."),
  })
  .superRefine((config, ctx) => {
    for (const problem of credentialProblems(config)) ctx.addIssue({ code: 'custom', path: [...problem.at], message: problem.message });
  });
export type SalesforceConfig = z.infer<typeof salesforceConfigSchema>;

/** Time budget of one REST call (a collection request), within the longer budget of a whole `apply`. */
const REQUEST_TIMEOUT_MS = 120_000;

/**
 * Objects: an sObject API name (`Contact`, `Lead`, `Account`, `My_Object__c`), the sync key's field being an External
 * ID field of it, for upsert and mirror (a delete removes the record to the org's Recycle Bin); and
 * `campaign:<Campaign Id>` for audience syncs (campaign membership). There the key's field is a field of Contact
 * that finds one Contact (an External ID field, or `Email`); `add` creates a CampaignMember for it (mapped fields are
 * CampaignMember fields: `Status`, custom ones), `remove` deletes that CampaignMember (the Contact stays). The
 * CampaignMember Id is the record's destination id, so a removal or an update needs no lookup.
 */
const MODES: readonly SyncMode[] = ['upsert', 'mirror', 'audience'];
const CAMPAIGN = /^campaign:(701[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?)$/;

export const salesforce = defineDestination<SalesforceConfig>({
  type: 'salesforce',
  summary: 'Salesforce sObjects: Collections upsert by external id, Bulk API 2.0 above a threshold, deletes for mirror; campaign membership',
  configSchema: salesforceConfigSchema,
  modes: MODES,
  channel: 'crm',
  secrets: (config) => [config.access_token, config.client_secret, config.refresh_token, config.private_key].filter((s): s is string => s !== undefined),
  apiVersion: (config) => salesforceApiVersion(config.api_version),
  limits: (config) => ({
    maxBatchRecords: config.bulk_batch_size,
    maxBatchBytes: 90_000_000,
    // Salesforce limits API requests per org and day, not per second (REQUEST_LIMIT_EXCEEDED stops the sync).
    requestsPerSecond: null,
    concurrency: 4,
    timeoutMs: config.bulk_timeout_seconds * 1000,
  }),
  // Erasure deletes what Tideline wrote: the sObject's record, or for a campaign the CampaignMember (the Contact it
  // names is the Contact sync's, or the org's own, to erase). Permanently by default (protocol.ts: HARD_DELETE_*).
  erasure: (config, sync) => {
    const member = CAMPAIGN.test(sync.object);
    const what = member ? 'the CampaignMember' : `the ${sync.object} record`;
    if (config.erasure === 'recycle_bin') {
      return { operation: member ? 'remove' : 'delete', method: `Salesforce sObject Collections DELETE of ${what} by Id, to the Recycle Bin (restorable until purged after ${RECYCLE_BIN_DAYS} days) (${RECYCLE_BIN_DOC})` };
    }
    return { operation: 'forget', method: `Salesforce Bulk API 2.0 hardDelete job of ${what} by Id, bypassing the Recycle Bin; needs the "${HARD_DELETE_PERMISSION}" permission (${HARD_DELETE_DOC})` };
  },
  checkSync: (_config, sync) => {
    const problems: ConfigProblem[] = [];
    if (sync.mode === 'audience') {
      if (!CAMPAIGN.test(sync.object)) problems.push({ at: ['object'], message: `an audience sync to Salesforce names a campaign: \`campaign:<Campaign Id>\` (701…, 15 or 18 characters); got "${sync.object}"` });
    } else if (sync.object.startsWith('campaign:')) {
      problems.push({ at: ['object'], message: `"${sync.object}" is a campaign: it takes mode audience (campaign membership)` });
    } else if (!/^[A-Za-z]\w*$/.test(sync.object)) problems.push({ at: ['object'], message: `"${sync.object}" is not an sObject API name (Contact, Lead, My_Object__c)` });
    for (const field of [sync.keyField, ...sync.fields]) {
      if (!/^[A-Za-z]\w*$/.test(field)) problems.push({ at: field === sync.keyField ? ['key'] : ['fields', field], message: `"${field}" is not a Salesforce field API name` });
    }
    return problems;
  },
  // The org when the config names it; else the user (a username is unique across every org) or the connected app.
  lockScope: (config, object) => `salesforce:${config.instance_url ? new URL(config.instance_url).host : `${new URL(config.login_url).host}/${config.username ?? config.client_id}`}#${object.toLowerCase()}`,
  open: async (config, context) => new SalesforceSession(new SalesforceClient(config, salesforceAuth(config, context)), config, context),
  remoteFields: async (config, object, context) => {
    const client = new SalesforceClient(config, salesforceAuth(config, { root: context.root, destination: context.destination }));
    if (!CAMPAIGN.test(object)) return client.describe(object, context.signal);
    // Mapped fields are CampaignMember's; the key is a Contact field that finds one Contact (read-only here).
    const [member, contact] = await Promise.all([client.describe('CampaignMember', context.signal), client.describe('Contact', context.signal, true)]);
    const own = new Set(member.map((f) => f.name.toLowerCase()));
    return [...member, ...contact.filter((f) => !own.has(f.name.toLowerCase())).map((f) => ({ ...f, readOnly: true }))];
  },
  emulator: {
    start: (context) => startSalesforceEmulator({ saved: context.saved, sandbox: true }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof SalesforceEmulator)) throw new Error('the salesforce sandbox needs a salesforce emulator');
      return { ...config, ...emulator.sandboxCredentials(credentialKind(config) ?? 'access_token'), bulk_poll_seconds: 0.05 };
    },
  },
});


class SalesforceClient {
  /** The org's API usage from the last `Sforce-Limit-Info` header (`N/M`). */
  usage: string | undefined;
  #client: Promise<ApiClient> | undefined;

  constructor(
    private readonly config: SalesforceConfig,
    private readonly auth: SalesforceAuth,
  ) {}

  /**
   * The org's API client. The instance is known once the first token answer names it (OAuth flows without
   * `instance_url`), so it is made on the first call.
   */
  #api(signal: AbortSignal): Promise<ApiClient> {
    this.#client ??= this.auth.instanceUrl(signal).then(
      (instance) =>
        new ApiClient({
          vendor: 'salesforce',
          baseUrl: `${instance.replace(/\/$/, '')}${dataPath(this.config.api_version)}`,
          // Tokens renew through the credentials' source on INVALID_SESSION_ID (401), once per refusal.
          tokens: this.auth.source,
          timeoutMs: REQUEST_TIMEOUT_MS,
          detail: (response) => errorsOf(response.text).map((e) => `${e.errorCode}: ${e.message}`).join('; ') || response.text.slice(0, 200),
          classify: (_request, response, what) => {
            this.#track(response);
            if (response.status !== REQUEST_LIMIT_EXCEEDED.status || !errorsOf(response.text).some((e) => e.errorCode === REQUEST_LIMIT_EXCEEDED.errorCode)) return undefined;
            return stopSync(`${what.replace(/: .*$/, '')} ${REQUEST_LIMIT_EXCEEDED.errorCode}: the org's daily API request allowance is spent (${this.usage ?? 'usage unknown'}); the sync stops, the rest is sent once the rolling 24-hour window frees requests`);
          },
          refused: (response, what) => {
            const errors = errorsOf(response.text);
            if (errors.some((e) => e.errorCode === 'INVALID_FIELD' || e.errorCode === 'NOT_FOUND' || e.errorCode === 'INVALID_TYPE')) {
              return stopSync(`${what}; fix the object or mapping, or check it with \`tideline validate --remote\``);
            }
            return new BatchRejectedError(what, (errors[0]?.errorCode ?? `http_${response.status}`).toLowerCase());
          },
        }),
    );
    return this.#client;
  }

  #track(response: HttpResponse): void {
    this.usage = apiUsage(response.headers.get(LIMIT_INFO_HEADER)) ?? this.usage;
  }

  /** One REST call with a token of the session's credentials (renewed once on a 401), failures typed. */
  async call(method: HttpRequest['method'], path: string, call: CallOptions): Promise<HttpResponse> {
    const response = await (await this.#api(call.signal)).request(method, path, call);
    this.#track(response);
    return response;
  }

  /** `call`, then its JSON answer; an answer that is not the JSON asked for is a transient failure. */
  async json<T>(method: HttpRequest['method'], path: string, call: CallOptions): Promise<T> {
    const body = parseJson<T>((await this.call(method, path, call)).text);
    if (body === undefined) throw new TransientError(`Salesforce answered ${method} ${path.split('?')[0]} with no JSON`);
    return body;
  }

  /** The object's fields; `lookupOnly`: only those that can find a record (External ID fields, Id, Email). */
  async describe(object: string, signal: AbortSignal, lookupOnly = false): Promise<RemoteField[]> {
    const body = await this.json<{ fields: { name: string; type: string; createable: boolean; updateable: boolean; idLookup?: boolean }[] }>('GET', PATHS.describe(object), { signal });
    return body.fields.filter((f) => !lookupOnly || f.idLookup === true || f.type === 'email').map((f) => ({ name: f.name, type: f.type, readOnly: !f.createable || !f.updateable }));
  }

  /** `POST` (create) or `PATCH` (update by Id) `/composite/sobjects` with `allOrNone: false`: one result per record, in order. */
  async collection(method: 'POST' | 'PATCH', records: readonly Record<string, unknown>[], signal: AbortSignal): Promise<SaveResult[]> {
    return this.json<SaveResult[]>(method, PATHS.collections, { body: { allOrNone: false, records }, signal });
  }

  /**
   * `SELECT Id, <field> FROM <object> WHERE [<eq field> = '<value>' AND] <field> IN (…)`: the records whose field holds
   * one of `values`, as [Id, value]. Names come from checked config (API names, Ids), values are quoted.
   */
  async find(object: string, field: string, values: readonly string[], signal: AbortSignal, eq?: readonly [string, string]): Promise<[string, string][]> {
    const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    const soql = `SELECT Id, ${field} FROM ${object} WHERE ${eq ? `${eq[0]} = ${quote(eq[1])} AND ` : ''}${field} IN (${values.map(quote).join(',')})`;
    const { records } = await this.json<QueryResult>('GET', PATHS.query, { query: { q: soql }, signal });
    const value = (r: Record<string, unknown>) => String(Object.entries(r).find(([k]) => k.toLowerCase() === field.toLowerCase())?.[1] ?? '');
    return records.map((r) => [String(r['Id']), value(r)]);
  }
}

class SalesforceSession implements DestinationSession {
  readonly #bulk: boolean;
  readonly #logger: Logger;
  #jobs = 0;

  constructor(
    private readonly client: SalesforceClient,
    private readonly config: SalesforceConfig,
    private readonly context: DestinationContext,
  ) {
    const upserts = context.planned.added + context.planned.changed;
    this.#bulk = context.mode !== 'audience' && upserts > config.bulk_threshold;
    this.#logger = context.logger;
    if (this.#bulk) this.#logger.info({ upserts, threshold: config.bulk_threshold }, `salesforce: ${upserts} upserts are above bulk_threshold (${config.bulk_threshold}): sending Bulk API 2.0 jobs`);
  }

  /** Credentials; for an audience sync, also that the campaign exists (it stops the sync before anything is sent). */
  async check(): Promise<void> {
    const signal = AbortSignal.timeout(30_000);
    if (this.context.mode !== 'audience') {
      await this.client.call('GET', PATHS.limits, { signal });
      return;
    }
    const campaignId = campaignOf(this.context.object);
    try {
      await this.client.call('GET', PATHS.record('Campaign', campaignId), { query: { fields: 'Id' }, signal });
    } catch (error) {
      if (error instanceof StopSyncError && /NOT_FOUND/.test(error.message)) throw new StopSyncError(`Salesforce has no Campaign ${campaignId} (object \`${this.context.object}\`), or this user cannot read it`);
      throw error;
    }
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    switch (batch.operation) {
      case 'upsert':
        return this.#bulk ? this.bulkUpsert(batch) : this.inChunks(batch, (records) => this.collectionUpsert(batch, records), externalId);
      case 'delete':
        return this.inChunks(batch, (records) => this.collectionDelete(batch, records));
      case 'add':
        return this.inChunks(batch, (records) => this.addMembers(batch, records));
      case 'remove':
        return this.inChunks(batch, (records) => this.removeMembers(batch, records));
      case 'forget':
        return this.forget(batch);
      default:
        throw new StopSyncError(`Salesforce syncs take modes upsert, mirror and audience, not the operation ${batch.operation}`);
    }
  }

  async finish(): Promise<Readonly<Record<string, unknown>>> {
    return { method: this.#bulk ? 'bulk' : 'collections', bulk_jobs: this.#jobs, api_usage: this.client.usage ?? null };
  }

  async close(): Promise<void> {}

  /**
   * Sends a batch `batch_size` records per request, one request after another. When a later request fails transiently,
   * the records already answered keep their outcomes and the rest come back as retryable. With `identity`, a record
   * naming the same Salesforce record as an earlier one of the batch is rejected `duplicate_key` rather than sent.
   */
  private async inChunks(batch: Batch, send: (records: readonly OutboundRecord[]) => Promise<RecordOutcome[]>, identity?: (record: OutboundRecord) => string): Promise<RecordOutcome[]> {
    const outcomes = new Outcomes(batch, 'salesforce');
    const items = identity ? outcomes.distinct(identity) : outcomes.pending();
    for (let i = 0; i < items.length; i += this.config.batch_size) {
      const chunk = items.slice(i, i + this.config.batch_size);
      try {
        const answered = await send(chunk.map((item) => item.record));
        chunk.forEach((item, n) => outcomes.settle(item.index, answered[n] ?? noOutcome('salesforce')));
      } catch (error) {
        if (!(error instanceof TransientError) || i === 0) throw error;
        outcomes.settleAll(items.slice(i), () => ({ ok: false, code: 'transient', message: error.message, retryable: true }));
        break;
      }
    }
    return outcomes.done();
  }

  private async collectionUpsert(batch: Batch, records: readonly OutboundRecord[]): Promise<RecordOutcome[]> {
    const body = {
      allOrNone: false,
      records: records.map((r) => ({ attributes: { type: batch.object }, ...this.values(r.fields), [batch.keyField]: r.key })),
    };
    const results = await this.client.json<SaveResult[]>('PATCH', PATHS.collectionUpsert(batch.object, batch.keyField), { body, signal: batch.signal });
    return records.map((_, i) => outcomeOf(results[i]));
  }

  /** Deletes by Salesforce Id (recordIds). A record already gone is fine. */
  private async collectionDelete(batch: Batch, records: readonly OutboundRecord[]): Promise<RecordOutcome[]> {
    return this.deleteIds(await this.recordIds(batch, records), batch.signal);
  }

  /** Salesforce Ids of records: kept in the snapshot, else looked up by external id (none found: undefined). */
  private async recordIds(batch: Batch, records: readonly OutboundRecord[]): Promise<(string | undefined)[]> {
    const ids = records.map((r) => r.destinationId ?? undefined);
    const unknown = records.filter((_, i) => ids[i] === undefined).map((r) => r.key);
    if (unknown.length) {
      const found = new Map((await this.client.find(batch.object, batch.keyField, unknown, batch.signal)).map(([id, value]) => [value.toLowerCase(), id]));
      records.forEach((r, i) => (ids[i] ??= found.get(r.key.toLowerCase())));
    }
    return ids;
  }

  /**
   * Erasure: one Bulk API 2.0 hardDelete job of the batch's records by Id (protocol.ts: HARD_DELETE_*) — the sObject's
   * records, or a campaign's CampaignMembers — so nothing is left in the Recycle Bin. A record with no Id, or one
   * Salesforce reports deleted already (a second erasure), is done. Without the "Bulk API Hard Delete" permission
   * Salesforce refuses the job: the erasure stops, saying what to grant (or to choose `erasure: recycle_bin`).
   */
  private async forget(batch: Batch): Promise<RecordOutcome[]> {
    const member = CAMPAIGN.test(batch.object);
    // Ids are looked up `batch_size` keys at a time, as a query's IN list must stay short.
    const ids: (string | undefined)[] = [];
    for (let i = 0; i < batch.records.length; i += this.config.batch_size) {
      const chunk = batch.records.slice(i, i + this.config.batch_size);
      ids.push(...(member ? await this.memberIdsOf(batch, chunk) : await this.recordIds(batch, chunk)));
    }
    const known = [...new Set(ids.filter((id): id is string => id !== undefined))];
    if (!known.length) return ids.map(() => ({ ok: true }));
    const object = member ? 'CampaignMember' : batch.object;
    const created = await this.client.call('POST', PATHS.ingestJobs, { body: { object, operation: HARD_DELETE_OPERATION, contentType: 'CSV', lineEnding: 'LF' }, accept: [400], signal: batch.signal });
    if (created.status === 400) {
      const reason = errorsOf(created.text).map((e) => e.errorCode).filter(Boolean).join(', ') || 'HTTP 400';
      throw new StopSyncError(
        `Salesforce refused a hardDelete job on ${object} (${reason}), as it does when the integration user lacks the "${HARD_DELETE_PERMISSION}" system permission (off by default; a system administrator grants it in a permission set): grant it, or set \`erasure: recycle_bin\` on the destination to delete to the Recycle Bin instead (purged after ${RECYCLE_BIN_DAYS} days)`,
      );
    }
    const job = parseJson<JobInfo>(created.text);
    if (!job?.id) throw new TransientError('Salesforce answered the creation of a Bulk job with no job id');
    const info = await this.runJob(job.id, stringifyCsv([['Id'], ...known.map((id) => [id])], { record_delimiter: LINE_ENDINGS.LF }), batch.signal);
    const outcome = new Map<string, RecordOutcome>();
    for (const row of await this.results(job.id, 'successfulResults', batch.signal)) outcome.set((row['Id'] ?? row['sf__Id'] ?? '').slice(0, 15), { ok: true });
    for (const row of await this.results(job.id, 'failedResults', batch.signal)) {
      const failed = bulkFailure(row['sf__Error'] ?? '');
      const gone = !failed.ok && GONE_CODES.has(failed.code.toUpperCase());
      outcome.set((row['Id'] ?? '').slice(0, 15), gone ? { ok: true } : failed);
    }
    const unanswered: RecordOutcome = { ok: false, code: `job_${info.state.toLowerCase()}`, message: `not processed by Bulk job ${job.id} (${info.state})`, retryable: true };
    return ids.map((id) => (id === undefined ? { ok: true } : (outcome.get(id.slice(0, 15)) ?? unanswered)));
  }

  /** `DELETE /composite/sobjects?ids=…`: one outcome per id; no id, or a record already gone, is done. */
  private async deleteIds(ids: readonly (string | undefined)[], signal: AbortSignal): Promise<RecordOutcome[]> {
    const known = [...new Set(ids.filter((id): id is string => id !== undefined))];
    if (!known.length) return ids.map(() => ({ ok: true }));
    const results = await this.client.json<SaveResult[]>('DELETE', PATHS.collections, { query: { ids: known.join(','), allOrNone: 'false' }, signal });
    const byId = new Map(results.map((r) => [r.id, r]));
    return ids.map((id): RecordOutcome => {
      const result = id === undefined ? undefined : byId.get(id);
      if (!result || result.success || GONE_CODES.has(result.errors?.[0]?.statusCode ?? '')) return { ok: true };
      return outcomeOf(result);
    });
  }

  /**
   * Audience add. A known member (its destination id: the CampaignMember Id) whose fields changed is updated by Id;
   * one deleted since, and every new member, is created: its key finds its Contact (none, or several: rejected), then
   * a CampaignMember is created. "Already a campaign member" (DUPLICATE_VALUE) is done: the member is looked up for
   * its Id, and updated when the sync maps fields.
   */
  private async addMembers(batch: Batch, records: readonly OutboundRecord[]): Promise<RecordOutcome[]> {
    const campaignId = campaignOf(batch.object);
    const outcomes: (RecordOutcome | undefined)[] = new Array(records.length);
    const fields = records.map((r) => this.values(r.fields));
    const known = records.flatMap((r, i) => (r.destinationId ? [i] : []));
    const updated = await this.updateMembers(known.map((i) => [records[i]!.destinationId!, fields[i]!]), batch.signal);
    known.forEach((i, n) => (outcomes[i] = updated[n]));

    const fresh = records.flatMap((_, i) => (outcomes[i] ? [] : [i]));
    if (!fresh.length) return outcomes as RecordOutcome[];
    const contacts = await this.contacts(batch, fresh.map((i) => records[i]!.key));
    const sendable: [number, string][] = [];
    for (const i of fresh) {
      const found = contacts.get(records[i]!.key.toLowerCase()) ?? [];
      if (found.length === 1) sendable.push([i, found[0]!]);
      else if (!found.length) outcomes[i] = { ok: false, code: 'contact_not_found', message: `no Salesforce Contact has this ${batch.keyField} yet: sync the Contacts first (an upsert sync to Contact); the member is added by the run after`, retryable: true };
      else outcomes[i] = { ok: false, code: 'ambiguous_contact', message: `${found.length} Salesforce Contacts have this ${batch.keyField}: key the sync by a unique External ID field`, retryable: false };
    }
    if (!sendable.length) return outcomes as RecordOutcome[];
    const status = this.config.campaign_member_status === undefined ? {} : { Status: this.config.campaign_member_status };
    const results = await this.client.collection(
      'POST',
      sendable.map(([i, contactId]) => ({ attributes: { type: 'CampaignMember' }, ...status, ...fields[i], CampaignId: campaignId, ContactId: contactId })),
      batch.signal,
    );
    const members: [number, string][] = [];
    sendable.forEach(([i, contactId], n) => {
      if (results[n]?.errors?.[0]?.statusCode === 'DUPLICATE_VALUE') members.push([i, contactId]);
      else outcomes[i] = outcomeOf(results[n]);
    });
    if (members.length) {
      const ids = await this.memberIds(campaignId, members.map(([, c]) => c), batch.signal);
      const existing = members.flatMap(([i, c]) => {
        const id = ids.get(c.slice(0, 15));
        if (id === undefined) outcomes[i] = { ok: false, code: 'member_not_found', message: 'Salesforce answered "already a campaign member" but the member is gone', retryable: true };
        return id === undefined ? [] : [[i, id] as const];
      });
      const again = await this.updateMembers(existing.map(([i, id]) => [id, fields[i]!]), batch.signal);
      existing.forEach(([i], n) => (outcomes[i] = again[n]));
    }
    return outcomes.map((o) => o ?? noOutcome('salesforce'));
  }

  /**
   * Updates members by CampaignMember Id with their fields (no fields: nothing to send, done). Answers each one's
   * outcome, or undefined for a member deleted meanwhile (to be created again).
   */
  private async updateMembers(members: readonly (readonly [string, Record<string, FieldValue>])[], signal: AbortSignal): Promise<(RecordOutcome | undefined)[]> {
    const outcomes: (RecordOutcome | undefined)[] = members.map(([id, fields]) => (Object.keys(fields).length ? undefined : { ok: true, destinationId: id }));
    const sent = members.flatMap(([id, fields], n) => (outcomes[n] ? [] : [{ n, record: { attributes: { type: 'CampaignMember' }, ...fields, Id: id } }]));
    if (!sent.length) return outcomes;
    const results = await this.client.collection('PATCH', sent.map((s) => s.record), signal);
    sent.forEach(({ n }, k) => {
      const result = results[k];
      outcomes[n] = result && !result.success && GONE_CODES.has(result.errors?.[0]?.statusCode ?? '') ? undefined : outcomeOf(result && result.success ? { ...result, id: result.id ?? members[n]![0] } : result);
    });
    return outcomes;
  }

  /** Audience remove: deletes the CampaignMember (memberIdsOf). Gone is done. */
  private async removeMembers(batch: Batch, records: readonly OutboundRecord[]): Promise<RecordOutcome[]> {
    return this.deleteIds(await this.memberIdsOf(batch, records), batch.signal);
  }

  /** CampaignMember Ids of records: kept as the destination id, else found by Contact (none: undefined). */
  private async memberIdsOf(batch: Batch, records: readonly OutboundRecord[]): Promise<(string | undefined)[]> {
    const ids = records.map((r) => r.destinationId ?? undefined);
    const unknown = records.filter((_, i) => ids[i] === undefined).map((r) => r.key);
    if (unknown.length) {
      const contacts = await this.contacts(batch, unknown);
      const contactIds = [...new Set([...contacts.values()].flat())];
      const members = contactIds.length ? await this.memberIds(campaignOf(batch.object), contactIds, batch.signal) : new Map<string, string>();
      records.forEach((r, i) => (ids[i] ??= (contacts.get(r.key.toLowerCase()) ?? []).map((c) => members.get(c.slice(0, 15))).find((m) => m !== undefined)));
    }
    return ids;
  }

  /** Contact Ids by key (lower-cased: External IDs and e-mails match ignoring case), through the key's Contact field. */
  private async contacts(batch: Batch, keys: readonly string[]): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>();
    for (const [id, value] of await this.client.find('Contact', batch.keyField, [...new Set(keys)], batch.signal)) {
      const key = value.toLowerCase();
      found.set(key, [...(found.get(key) ?? []), id]);
    }
    return found;
  }

  /** CampaignMember Ids of a campaign by Contact Id (its first 15 characters). */
  private async memberIds(campaignId: string, contactIds: readonly string[], signal: AbortSignal): Promise<Map<string, string>> {
    const rows = await this.client.find('CampaignMember', 'ContactId', contactIds, signal, ['CampaignId', campaignId]);
    return new Map(rows.map(([id, contactId]) => [contactId.slice(0, 15), id]));
  }

  /**
   * One Bulk API 2.0 upsert job for the batch: create, upload the CSV, close, poll until it ends, then read the
   * per-row result CSVs (successfulResults, failedResults; protocol.ts) and match them to records by external id
   * (Salesforce does not keep the upload's order). A record repeated in the batch is rejected before the upload
   * (Salesforce would fail both rows DUPLICATE_EXTERNAL_ID); one no result names is retried (`no_outcome`).
   */
  private async bulkUpsert(batch: Batch): Promise<RecordOutcome[]> {
    const outcomes = new Outcomes(batch, 'salesforce');
    const sent = outcomes.distinct(externalId);
    const columns = [batch.keyField, ...this.context.fields.map((f) => f.name)];
    // Bulk CSV: an empty cell leaves the field as it is, #N/A clears it.
    const rows = sent.map(({ record: r }) => [r.key, ...columns.slice(1).map((c) => (c in r.fields ? csvValue(r.fields[c]!) : ''))]);
    const lineEnding = 'LF';
    const job = await this.client.json<JobInfo>('POST', PATHS.ingestJobs, {
      body: { object: batch.object, operation: 'upsert', externalIdFieldName: batch.keyField, contentType: 'CSV', lineEnding },
      signal: batch.signal,
    });
    const info = await this.runJob(job.id, stringifyCsv([columns, ...rows], { record_delimiter: LINE_ENDINGS[lineEnding] }), batch.signal);
    const byKey = new Map(sent.map(({ index, record }) => [record.key.toLowerCase(), index]));
    const index = (row: Record<string, string>) => byKey.get((Object.entries(row).find(([k]) => k.toLowerCase() === batch.keyField.toLowerCase())?.[1] ?? '').toLowerCase());
    for (const row of await this.results(job.id, 'successfulResults', batch.signal)) {
      const i = index(row);
      if (i !== undefined) outcomes.settle(i, { ok: true, destinationId: row['sf__Id'] || undefined });
    }
    for (const row of await this.results(job.id, 'failedResults', batch.signal)) {
      const i = index(row);
      if (i !== undefined) outcomes.settle(i, bulkFailure(row['sf__Error'] ?? ''));
    }
    if (info.state !== 'JobComplete') outcomes.settleAll(outcomes.pending(), () => ({ ok: false, code: `job_${info.state.toLowerCase()}`, message: `not processed by Bulk job ${job.id} (${info.state})`, retryable: true }));
    return outcomes.done();
  }

  /**
   * A created job to its end: upload the CSV, close the job, poll until it ends (a job that fails on its columns
   * stops the sync). Answers the job's last info.
   */
  private async runJob(jobId: string, csv: string, signal: AbortSignal): Promise<JobInfo> {
    this.#jobs++;
    await this.client.call('PUT', PATHS.ingestBatches(jobId), { raw: csv, headers: { 'content-type': CSV_CONTENT_TYPE }, signal });
    let info = await this.client.json<JobInfo>('PATCH', PATHS.ingestJob(jobId), { body: { state: 'UploadComplete' }, signal });
    while (!TERMINAL_JOB_STATES.has(info.state)) {
      await pause(this.config.bulk_poll_seconds * 1000, signal);
      if (signal.aborted) throw new TransientError(`Bulk job ${jobId} did not finish within bulk_timeout_seconds (${this.config.bulk_timeout_seconds} s)`);
      info = await this.client.json<JobInfo>('GET', PATHS.ingestJob(jobId), { signal });
    }
    this.#logger.debug({ job: jobId, state: info.state }, `salesforce bulk job ${jobId}: ${info.state}`);
    if (info.state === 'Failed' && /field name not found|InvalidBatch/i.test(info.errorMessage ?? '')) {
      throw new StopSyncError(`Salesforce Bulk job ${jobId} failed: ${redactor.scrub(scrubEmails(info.errorMessage ?? ''))}; fix the mapping, or check it with \`tideline validate --remote\``);
    }
    return info;
  }

  /** A result CSV of a job, asked as CSV (`Accept: text/csv`), one object per row by its header. */
  private async results(jobId: string, kind: BulkResultKind, signal: AbortSignal): Promise<Record<string, string>[]> {
    const response = await this.client.call('GET', PATHS.ingestResults(jobId, kind), { headers: { accept: CSV_CONTENT_TYPE }, signal });
    return parseBulkCsv(response.text);
  }

  /** Field values for a Collections request: under `null_policy: overwrite` a null clears the field. */
  private values(fields: Readonly<Record<string, FieldValue>>): Record<string, FieldValue> {
    return this.context.nullPolicy === 'overwrite' ? { ...fields } : Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null));
  }
}

function outcomeOf(result: SaveResult | undefined): RecordOutcome {
  if (!result) return noOutcome('salesforce');
  if (result.success) return { ok: true, destinationId: result.id };
  const error = result.errors?.[0];
  const code = error?.statusCode ?? 'error';
  const fields = error?.fields?.length ? ` (${error.fields.join(', ')})` : '';
  return { ok: false, code: code.toLowerCase(), message: redactor.scrub(scrubEmails(`${error?.message ?? 'refused by Salesforce'}${fields}`)), retryable: RETRYABLE_CODES.has(code) };
}

/**
 * A failed row's outcome: `sf__Error` is "error code and message" — the code before the first ':', the message the
 * whole text (it holds colons itself: "Required fields are missing: [LastName]:LastName --"), e-mails scrubbed.
 */
export function bulkFailure(sfError: string): RecordOutcome {
  const code = bulkErrorCode(sfError);
  const message = redactor.scrub(scrubEmails(sfError)) || 'refused by Salesforce';
  return code ? { ok: false, code: code.toLowerCase(), message, retryable: RETRYABLE_CODES.has(code) } : rejected('bulk_error', message);
}

/**
 * A Bulk result CSV (RFC 4180 as Salesforce writes it: quoted values, commas and line breaks inside quotes, LF or
 * CRLF): one object per row, by the header row's names. An empty answer has no rows.
 */
export function parseBulkCsv(text: string): Record<string, string>[] {
  if (!text.trim()) return [];
  return parseCsv(text, { columns: true, skip_empty_lines: true, relax_column_count: false, bom: true }) as Record<string, string>[];
}

/** The Salesforce record an upsert names: its External ID value, which Salesforce matches ignoring case. */
const externalId = (record: OutboundRecord): string => record.key.toLowerCase();

function campaignOf(object: string): string {
  const match = CAMPAIGN.exec(object);
  if (!match) throw new StopSyncError(`"${object}" is not a Salesforce campaign: audience syncs name \`campaign:<Campaign Id>\``);
  return match[1]!;
}

function csvValue(value: FieldValue): string {
  return value === null ? '#N/A' : String(value);
}

function errorsOf(text: string): ApiError[] {
  const body = parseJson<unknown>(text);
  return Array.isArray(body) ? (body as ApiError[]) : [];
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
