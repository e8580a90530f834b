import { z } from 'zod';
import type { LogicalType } from '../../src/dialects/dialect.js';
import { redactor } from '../../src/log/redact.js';
import {
  BatchRejectedError,
  defineDestination,
  RateLimitedError,
  StopSyncError,
  TransientError,
  type Batch,
  type ConfigProblem,
  type DestinationSession,
  type FieldValue,
  type OutboundRecord,
  type RecordOutcome,
  type RemoteContext,
  type RemoteField,
  type SyncMode,
} from '../destination.js';
import { describeRequest, raiseForCommonStatus, send, type HttpRequest, type HttpResponse } from '../http.js';
import { BrevoEmulator, startBrevoEmulator } from './emulator.js';
import { API_KEY_HEADER, BREVO_API_VERSION, attributeName, CONTACTS_RATE_LIMIT, DEFAULT_BATCH_CONTACTS, LIST_EMAILS_PER_REQUEST, RATE_HEADERS, READ_ONLY_CATEGORIES, UNKNOWN_INDEXES } from './protocol.js';

export const brevoConfigSchema = z.strictObject({
  /** An API key (SMTP & API → API keys); it grants the whole account. */
  api_key: z.string().min(1),
  /** The API root; the sandbox points it at the emulator. */
  base_url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default('https://api.brevo.com/v3'),
  /** Contacts per `POST /contacts/batch` (Brevo documents no maximum). */
  batch_size: z.number().int().min(1).max(1000).default(DEFAULT_BATCH_CONTACTS),
  /**
   * Time budget of each request, in seconds. A batch of new contacts makes one request per contact: a create that
   * gets no answer in time is retried alone, while the batch's `timeout_seconds` bounds the whole batch.
   */
  request_timeout_seconds: z.number().positive().max(600).default(30),
});
export type BrevoConfig = z.infer<typeof brevoConfigSchema>;

/**
 * Objects: `contacts` (upsert, update) and `list:<listId>` (audience). The key is the contact's `email`, or its
 * `ext_id` (also accepted as `external_id`). Mapped fields become attributes, their names upper-cased
 * (`first_name` → FIRST_NAME); a field named `email` is the contact's e-mail. Brevo has no batch delete, so no mirror.
 *
 * Upsert: one `POST /contacts/batch` updates the contacts that exist (identified by e-mail, or by the contact id a
 * previous run kept). Brevo answers that request 404 naming the indexes it does not know, applying nothing; those
 * contacts are then created one by one with `POST /contacts` + `updateEnabled` (idempotent) and the batch is sent
 * again without them. So a contact costs one request the first time, and a hundredth of one afterwards.
 *
 * Failures of those single creates are the records' own, not the batch's: a create that failed transiently (5xx,
 * timeout, reset) is that record's retryable outcome, so the engine retries it alone while the others are accepted;
 * the batch throws only when nothing of it succeeded. A 429 on any request is the account's rate, not a record's: it
 * throws RateLimitedError, so that the engine pauses every request for `x-sib-ratelimit-reset` and retries the batch
 * without spending a retry attempt (a first sync of new contacts meets the 10 requests a second every ten creates);
 * the session remembers what that batch already wrote, so the retry does not write it again. Audience adds put in
 * the list every contact the batch wrote, retried ones when their retry writes them.
 */
const MODES: readonly SyncMode[] = ['upsert', 'update', 'audience'];
const LIST = /^list:(\d+)$/;
const TOP_LEVEL = new Set(['email', 'ext_id', 'external_id']);

export const brevo = defineDestination<BrevoConfig>({
  type: 'brevo',
  summary: 'Brevo contacts (batch update, create with updateEnabled) and list membership',
  configSchema: brevoConfigSchema,
  modes: MODES,
  secrets: (config) => [config.api_key],
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    maxBatchBytes: 5_000_000,
    requestsPerSecond: CONTACTS_RATE_LIMIT.perSecond,
    // One batch at a time: creating new contacts takes one request each, and 10 a second are all Brevo allows.
    concurrency: 1,
    timeoutMs: 120_000,
  }),
  checkSync: (_config, sync) => {
    const problems: ConfigProblem[] = [];
    if (sync.mode === 'audience' && !LIST.test(sync.object)) problems.push({ at: ['object'], message: 'an audience sync to Brevo names a list: `list:<listId>`' });
    if (sync.mode !== 'audience' && sync.object !== 'contacts') problems.push({ at: ['object'], message: `Brevo objects: \`contacts\`, or \`list:<listId>\` for audience syncs; got "${sync.object}"` });
    if (!['email', 'ext_id', 'external_id'].includes(sync.keyField)) problems.push({ at: ['key'], message: `a Brevo contact is identified by \`email\` or \`ext_id\`, not "${sync.keyField}"` });
    if (sync.mode === 'update' && sync.keyField !== 'email') problems.push({ at: ['key'], message: 'a Brevo update sync is keyed by `email`: Brevo updates contacts in batches by e-mail (or by contact id), not by ext_id' });
    if (sync.mode === 'audience' && sync.keyField !== 'email' && !sync.fields.includes('email')) problems.push({ at: ['fields'], message: 'Brevo lists take e-mail addresses: map a field `email` (or key the sync by email)' });
    for (const field of sync.fields) {
      if (!TOP_LEVEL.has(field) && !/^[A-Za-z][A-Za-z0-9_]*$/.test(field)) problems.push({ at: ['fields', field], message: `"${field}" cannot be a Brevo attribute name (letters, digits, underscores)` });
    }
    return problems;
  },
  apiVersion: () => BREVO_API_VERSION,
  lockScope: (config, object) => `brevo:${new URL(config.base_url).host}#${object}`,
  // Lists take e-mails: the snapshot keeps the e-mail of contacts keyed by ext_id, so that they can be removed.
  retainFields: () => ['email'],
  open: async (config, context) => new BrevoSession(new BrevoClient(config), context.nullPolicy),
  remoteFields: async (config, _object, context) => new BrevoClient(config).attributes(context),
  createField: async (config, _object, field, context) => new BrevoClient(config).createAttribute(field, context),
  emulator: {
    start: (context) => startBrevoEmulator({ saved: context.saved }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof BrevoEmulator)) throw new Error('the brevo sandbox needs a brevo emulator');
      return { ...config, base_url: `${emulator.endpoint}/v3`, api_key: emulator.apiKey };
    },
  },
});

class BrevoClient {
  constructor(private readonly config: BrevoConfig) {}

  /**
   * One request, within `request_timeout_seconds` and the batch's signal; 429 waits x-sib-ratelimit-reset; 400/404
   * are returned for the caller to read.
   */
  async call(method: HttpRequest['method'], path: string, body: unknown, signal: AbortSignal): Promise<HttpResponse> {
    const request: HttpRequest = {
      method,
      url: `${this.config.base_url.replace(/\/$/, '')}${path}`,
      headers: { [API_KEY_HEADER]: this.config.api_key, 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'tideline-brevo' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.config.request_timeout_seconds * 1000)]),
    };
    const response = await send(request);
    if (response.status === 429) {
      const reset = Number(response.headers.get(RATE_HEADERS.reset));
      throw new RateLimitedError(`${describeRequest(request)} answered 429`, Number.isFinite(reset) && reset >= 0 ? Math.max(1, reset) * 1000 : undefined);
    }
    raiseForCommonStatus(request, response);
    if (response.status >= 400 && response.status !== 400 && response.status !== 404) {
      throw new StopSyncError(`${describeRequest(request)} answered ${response.status}: ${redactor.scrub(errorOf(response).message)}`);
    }
    return response;
  }

  async attributes(context: RemoteContext): Promise<RemoteField[]> {
    const response = await this.call('GET', '/contacts/attributes', undefined, context.signal);
    if (response.status >= 400) throw new StopSyncError(`GET /contacts/attributes answered ${response.status}: ${errorOf(response).message}`);
    const body = JSON.parse(response.text) as { attributes?: { name: string; category?: string; type?: string }[] };
    const fields: RemoteField[] = [...TOP_LEVEL].map((name) => ({ name, type: 'identifier' }));
    for (const a of body.attributes ?? []) fields.push({ name: a.name, type: a.type, readOnly: READ_ONLY_CATEGORIES.has(a.category ?? 'normal') });
    return fields;
  }

  async createAttribute(field: { readonly name: string; readonly type: LogicalType | undefined }, context: RemoteContext): Promise<void> {
    const type = field.type === 'integer' || field.type === 'float' || field.type === 'decimal' ? 'float' : field.type === 'date' || field.type === 'timestamp' ? 'date' : field.type === 'boolean' ? 'boolean' : 'text';
    const response = await this.call('POST', `/contacts/attributes/normal/${encodeURIComponent(attributeName(field.name))}`, { type }, context.signal);
    if (response.status >= 400) throw new StopSyncError(`Brevo refused to create the attribute ${attributeName(field.name)}: ${errorOf(response).message}`);
  }
}

interface Pending {
  readonly index: number;
  readonly record: OutboundRecord;
}

/** What the session already wrote of one batch, by record key: kept while the engine retries the batch. */
type Progress = Map<string, RecordOutcome>;

class BrevoSession implements DestinationSession {
  /**
   * Outcomes already obtained for batches whose `apply` threw (a 429, a batch-wide failure), by idempotency key: the
   * engine's retry of the same batch answers them without sending them again. Dropped once the batch is answered.
   */
  readonly #progress = new Map<string, Progress>();

  constructor(
    private readonly client: BrevoClient,
    private readonly nullPolicy: 'skip' | 'overwrite',
  ) {}

  async check(): Promise<void> {
    await this.client.call('GET', '/account', undefined, AbortSignal.timeout(30_000));
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const progress = this.#progress.get(batch.idempotencyKey) ?? new Map<string, RecordOutcome>();
    this.#progress.set(batch.idempotencyKey, progress);
    const outcomes = await this.#apply(batch, progress);
    this.#progress.delete(batch.idempotencyKey);
    return outcomes;
  }

  #apply(batch: Batch, progress: Progress): Promise<readonly RecordOutcome[]> {
    switch (batch.operation) {
      case 'upsert':
        return this.write(batch, true, progress);
      case 'update':
        return this.write(batch, false, progress);
      case 'add':
        return this.add(batch, progress);
      case 'remove':
        return this.remove(batch);
      default:
        throw new StopSyncError(`Brevo syncs take modes upsert, update and audience, not the operation ${batch.operation}`);
    }
  }

  async close(): Promise<void> {
    this.#progress.clear();
  }

  /**
   * Updates through `/contacts/batch`; contacts Brevo does not know are created one by one (`create`) or rejected
   * `not_found` (update mode). Outcomes carry the contact id when Brevo gave one (or the one kept from before). Records
   * written by an earlier attempt at this batch (`progress`) are answered as they were, without a request.
   */
  private async write(batch: Batch, create: boolean, progress: Progress): Promise<RecordOutcome[]> {
    const outcomes: (RecordOutcome | undefined)[] = new Array(batch.records.length);
    const byEmail = batch.keyField === 'email';
    let pending: Pending[] = [];
    const seen = new Set<string>();
    batch.records.forEach((record, index) => {
      const identity = byEmail ? normaliseEmail(record.key) : record.key;
      const done = progress.get(record.key);
      if (seen.has(identity)) outcomes[index] = { ok: false, code: 'duplicate_key', message: `another record of the batch has the same ${batch.keyField}`, retryable: false };
      else if (done) outcomes[index] = done;
      else pending.push({ index, record });
      seen.add(identity);
    });
    const settle = (p: Pending, outcome: RecordOutcome) => {
      outcomes[p.index] = outcome;
      if (outcome.ok) progress.set(p.record.key, outcome);
    };
    // Keyed by ext_id, a contact can be named in a batch only by the id a previous run kept.
    const missing: Pending[] = byEmail ? [] : pending.filter((p) => p.record.destinationId === null);
    pending = pending.filter((p) => !missing.includes(p));
    for (let round = 0; pending.length && round < 3; round++) {
      const response = await this.client.call('POST', '/contacts/batch', { contacts: pending.map((p) => this.batchContact(p.record, byEmail)) }, batch.signal);
      if (response.status < 300) {
        for (const p of pending) settle(p, { ok: true, destinationId: p.record.destinationId ?? undefined });
        pending = [];
        break;
      }
      const error = errorOf(response);
      const indexes = response.status === 404 ? UNKNOWN_INDEXES.exec(error.message)?.[1] : undefined;
      if (!indexes) throw new BatchRejectedError(`POST /contacts/batch answered ${response.status}: ${redactor.scrub(error.message)}`, error.code);
      const unknown = new Set(indexes.split(',').map((i) => Number(i.trim())));
      missing.push(...pending.filter((_, i) => unknown.has(i)));
      pending = pending.filter((_, i) => !unknown.has(i));
    }
    for (const p of pending) settle(p, { ok: false, code: 'not_found', message: 'Brevo kept answering that the contact does not exist', retryable: true });
    let transient: TransientError | undefined;
    for (const p of missing) {
      if (!create) {
        settle(p, { ok: false, code: 'not_found', message: 'no Brevo contact has this identifier (mode update never creates)', retryable: false });
        continue;
      }
      try {
        settle(p, await this.create(p.record, batch));
      } catch (error) {
        // A 429, a credentials error or a spent batch budget concern every record: the engine handles the batch.
        if (!(error instanceof TransientError) || batch.signal.aborted) throw error;
        transient = error;
        settle(p, { ok: false, code: 'transient', message: error.message, retryable: true });
      }
    }
    // Nothing of the batch went through, every create failing as the destination does when it is down.
    if (transient && outcomes.every((o) => o !== undefined && !o.ok && o.retryable)) throw new TransientError(`every create of the batch failed, the last one: ${transient.message}`);
    return outcomes.map((o) => o ?? { ok: false, code: 'no_outcome', message: 'no answer for this record', retryable: true });
  }

  /** `POST /contacts` with updateEnabled: creates the contact, or updates it if it exists after all. */
  private async create(record: OutboundRecord, batch: Batch): Promise<RecordOutcome> {
    const { email, attributes } = this.split(record);
    const body = { ...(batch.keyField === 'email' ? { email: normaliseEmail(record.key) } : { ext_id: record.key, ...(email !== undefined ? { email } : {}) }), attributes, updateEnabled: true };
    const response = await this.client.call('POST', '/contacts', body, batch.signal);
    if (response.status < 300) {
      const id = response.status === 201 ? (JSON.parse(response.text) as { id?: number }).id : undefined;
      return { ok: true, destinationId: id !== undefined ? String(id) : (record.destinationId ?? undefined) };
    }
    const error = errorOf(response);
    return { ok: false, code: error.code, message: redactor.scrub(error.message), retryable: false };
  }

  /**
   * Audience add: the contacts are upserted, then the e-mails of those written added to the list (`failure[]` mapped
   * per record). A record whose write failed transiently joins the list when the engine's retry writes it.
   */
  private async add(batch: Batch, progress: Progress): Promise<RecordOutcome[]> {
    const listId = listOf(batch.object);
    const written = await this.write(batch, true, progress);
    const emails = batch.records.map((r) => emailOf(batch, r));
    const wanted = written.flatMap((o, i) => (o.ok && emails[i] ? [emails[i]] : []));
    const failed = await this.listCall(listId, 'add', wanted, batch.signal);
    return written.map((o, i): RecordOutcome => {
      if (!o.ok) return o;
      if (!emails[i]) return { ok: false, code: 'missing_email', message: 'Brevo lists take e-mail addresses: this record has none', retryable: false };
      return failed.has(emails[i]) ? { ok: false, code: 'list_add_failed', message: 'Brevo did not add the contact to the list', retryable: true } : o;
    });
  }

  /** Audience remove: by e-mail. A contact Brevo does not find in the list is where a removal wants it. */
  private async remove(batch: Batch): Promise<RecordOutcome[]> {
    const emails = batch.records.map((r) => emailOf(batch, r)).filter((e): e is string => e !== undefined);
    await this.listCall(listOf(batch.object), 'remove', emails, batch.signal);
    return batch.records.map(() => ({ ok: true }));
  }

  /** Adds or removes e-mails, 150 a request; answers the e-mails in `failure[]`. */
  private async listCall(listId: string, action: 'add' | 'remove', emails: readonly string[], signal: AbortSignal): Promise<Set<string>> {
    const failed = new Set<string>();
    const unique = [...new Set(emails)];
    for (let i = 0; i < unique.length; i += LIST_EMAILS_PER_REQUEST) {
      const response = await this.client.call('POST', `/contacts/lists/${listId}/contacts/${action}`, { emails: unique.slice(i, i + LIST_EMAILS_PER_REQUEST) }, signal);
      if (response.status === 404) throw new StopSyncError(`Brevo has no list ${listId}`);
      if (response.status >= 400) throw new BatchRejectedError(`list ${action} answered ${response.status}: ${redactor.scrub(errorOf(response).message)}`, errorOf(response).code);
      for (const email of (JSON.parse(response.text) as { contacts?: { failure?: string[] } }).contacts?.failure ?? []) failed.add(normaliseEmail(email));
    }
    return failed;
  }

  private batchContact(record: OutboundRecord, byEmail: boolean): Record<string, unknown> {
    const { email, attributes } = this.split(record);
    // A batch contact has one identifier: named by id, its e-mail changes through the EMAIL attribute.
    return byEmail ? { email: normaliseEmail(record.key), attributes } : { id: Number(record.destinationId), attributes: email !== undefined ? { ...attributes, EMAIL: email } : attributes };
  }

  /** The contact's e-mail (a field `email`) and its attributes (every other field, upper-cased). */
  private split(record: OutboundRecord): { email: string | undefined; attributes: Record<string, FieldValue> } {
    const attributes: Record<string, FieldValue> = {};
    let email: string | undefined;
    for (const [name, value] of Object.entries(record.fields)) {
      if (value === null && this.nullPolicy === 'skip') continue;
      if (name === 'email') email = value === null ? undefined : normaliseEmail(String(value));
      else attributes[attributeName(name)] = value === null ? '' : value;
    }
    return { email, attributes };
  }
}

function emailOf(batch: Batch, record: OutboundRecord): string | undefined {
  if (batch.keyField === 'email') return normaliseEmail(record.key);
  const email = record.fields['email'];
  return typeof email === 'string' && email ? normaliseEmail(email) : undefined;
}

function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

function listOf(object: string): string {
  const match = LIST.exec(object);
  if (!match) throw new StopSyncError(`"${object}" is not a Brevo list: audience syncs name \`list:<listId>\``);
  return match[1]!;
}

function errorOf(response: HttpResponse): { code: string; message: string } {
  try {
    const body = JSON.parse(response.text) as { code?: string; message?: string };
    return { code: body.code ?? `http_${response.status}`, message: body.message ?? `HTTP ${response.status}` };
  } catch {
    return { code: `http_${response.status}`, message: `HTTP ${response.status}` };
  }
}
