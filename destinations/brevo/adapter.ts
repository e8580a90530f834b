import { z } from 'zod';
import { ApiClient, BatchRejectedError, defineDestination, parseJson, rejected, requireListId, scrubbed, stopSync, TransientError, Outcomes, type Batch, type ConfigProblem, type DestinationSession, type FieldValue, type HttpResponse, type Indexed, type DestinationContext, type OutboundRecord, type RecordOutcome, type RemoteContext, type RemoteField, type SyncMode, type SyncShape, pollJob } from '../kit/index.js';
import { BrevoEmulator, startBrevoEmulator } from './emulator.js';
import { API_KEY_HEADER, attributeName, BREVO_API_VERSION, brevoEventName, CONTACT_DELETION_METHOD, CONTACT_PATH, CONTACTS_RATE_LIMIT, DEFAULT_BATCH_CONTACTS, EVENT_PROPERTY_KEY, EVENTS_BATCH_PATH, EVENTS_ERASURE, IMPORT_PATH, IMPORT_REPORTS, IMPORT_SAFE_BYTES, LIST_EMAILS_PER_REQUEST, MAX_POLL_WAIT_MS, PHONE_ATTRIBUTES, PROCESS_RUNNING, RATE_HEADERS, READ_ONLY_CATEGORIES, toE164, UNKNOWN_INDEXES, type BatchEventsAnswer, type BrevoError, type DeleteIdentifierType, type EventIdentifier, type ProcessAnswer } from './protocol.js';

export const brevoConfigSchema = z.strictObject({
  /** An API key (SMTP & API → API keys); it grants the whole account. */
  api_key: z.string().min(1),
  /** The API root; the sandbox points it at the emulator. */
  base_url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default('https://api.brevo.com/v3'),
  /** Contacts per batch: one `POST /contacts/batch`, and at most one import (Brevo documents no maximum). */
  batch_size: z.number().int().min(1).max(1000).default(DEFAULT_BATCH_CONTACTS),
  /**
   * Time budget of each request, in seconds. Contacts keyed by ext_id are created one request each: a create that
   * gets no answer in time is retried alone, while the batch's `timeout_seconds` bounds the whole batch.
   */
  request_timeout_seconds: z.number().positive().max(600).default(30),
  /** First wait before polling an import process; later polls back off ×1.5 up to 30 s (polls cost Brevo's 100 an hour). */
  poll_interval_ms: z.number().int().min(10).max(60_000).default(2_000),
  /**
   * The list that upsert syncs import new contacts into. Brevo's import always lands contacts in a list: without
   * one, new contacts of an upsert sync are created one request each. Audience syncs import into their own list.
   */
  import_list_id: z.number().int().positive().optional(),
  /** The country of national phone numbers (ISO code such as FR) for the `sms` and `whatsapp` fields. */
  default_country: z.string().regex(/^[A-Z]{2}$/, 'an ISO country code such as FR or US').optional(),
});
export type BrevoConfig = z.infer<typeof brevoConfigSchema>;

/**
 * Objects: `contacts` (upsert, update) and `list:<listId>` (audience). The key is the contact's `email`, or its
 * `ext_id` (also accepted as `external_id`). Mapped fields become attributes, their names upper-cased
 * (`first_name` → FIRST_NAME); a field named `email` is the contact's e-mail; `sms` and `whatsapp` are the SMS and
 * WHATSAPP attributes, normalised to E.164 (an invalid number rejects its record `invalid_phone`). Brevo has no
 * batch delete, so no mirror.
 *
 * Upsert: one `POST /contacts/batch` updates the contacts that exist (by e-mail, or by the contact id a previous run
 * kept). Brevo answers 404 naming the indexes it does not know, applying nothing; those are left out and the batch
 * sent again. The unknown ones, keyed by e-mail, go into ONE import (`POST /contacts/import` with
 * updateExistingContacts: an upsert, safe to send again) into the audience's list (or `import_list_id`), polled
 * (`GET /processes/{id}`) until completed; an import still running when the batch's budget is spent fails the batch,
 * which the engine retries whole. Contacts keyed by ext_id (the import's JSON takes e-mails only), and those of an
 * upsert sync without `import_list_id`, are created one by one (`POST /contacts` + updateEnabled).
 *
 * A 429 on any request is the account's rate: RateLimitedError with `x-sib-ratelimit-reset`; the session remembers
 * what that batch already wrote, so the engine's retry does not write it again.
 *
 * Events (object `events`): one `POST /events/batch` per batch (protocol.ts: EVENTS_BATCH_PATH). Fields naming the
 * contact become its identifiers (EVENT_FIELDS), fields named in capitals contact attributes (`contact_properties`),
 * the others `event_properties`, with the event id under the sync key's field. Brevo keeps every event it is sent
 * (no de-duplication key): a run that dies mid-batch may leave that batch's events twice.
 */
const MODES: readonly SyncMode[] = ['upsert', 'update', 'audience', 'events'];
const TOP_LEVEL = new Set(['email', 'ext_id', 'external_id']);
/** Fields of an events sync that identify the contact, and the identifier each fills (protocol.ts: EVENT_IDENTIFIERS). */
const EVENT_FIELDS: Readonly<Record<string, EventIdentifier>> = {
  email: 'email_id',
  ext_id: 'ext_id',
  external_id: 'ext_id',
  contact_id: 'contact_id',
  sms: 'phone_id',
  whatsapp: 'whatsapp_id',
  landline_number: 'landline_number_id',
};
/** Identifiers that hold a phone number, sent in E.164 as the contacts' SMS and WHATSAPP attributes are. */
const PHONE_IDENTIFIERS: ReadonlySet<EventIdentifier> = new Set(['phone_id', 'whatsapp_id', 'landline_number_id']);
/** A contact attribute among an event's fields: named in capitals, as Brevo names attributes. */
const CONTACT_ATTRIBUTE = /^[A-Z][A-Z0-9_]*$/;

export const brevo = defineDestination<BrevoConfig>({
  type: 'brevo',
  summary: 'Brevo contacts (batch update, asynchronous import of new contacts, SMS numbers) and list membership',
  configSchema: brevoConfigSchema,
  modes: MODES,
  channel: 'email',
  // Brevo documents neither an oldest event_date nor a de-duplication key (protocol.ts: EVENTS_BATCH_PATH).
  events: { maxAgeDays: () => undefined, deduplication: undefined },
  secrets: (config) => [config.api_key],
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    maxBatchBytes: Math.min(5_000_000, IMPORT_SAFE_BYTES),
    requestsPerSecond: CONTACTS_RATE_LIMIT.perSecond,
    // One batch at a time: the contacts endpoints allow 10 requests a second, and polls 100 an hour.
    concurrency: 1,
    timeoutMs: 120_000,
  }),
  checkSync: (_config, sync) => {
    if (sync.mode === 'events') return checkEventsSync(sync);
    const problems: ConfigProblem[] = [];
    if (sync.mode === 'audience' && !/^list:\d+$/.test(sync.object)) problems.push({ at: ['object'], message: 'an audience sync to Brevo names a list: `list:<listId>`' });
    if (sync.mode !== 'audience' && sync.object !== 'contacts') problems.push({ at: ['object'], message: `Brevo objects: \`contacts\`, or \`list:<listId>\` for audience syncs; got "${sync.object}"` });
    if (!['email', 'ext_id', 'external_id'].includes(sync.keyField)) problems.push({ at: ['key'], message: `a Brevo contact is identified by \`email\` or \`ext_id\`, not "${sync.keyField}"` });
    if (sync.mode === 'update' && sync.keyField !== 'email') problems.push({ at: ['key'], message: 'a Brevo update sync is keyed by `email`: Brevo updates contacts in batches by e-mail (or by contact id), not by ext_id' });
    if (sync.mode === 'audience' && sync.keyField !== 'email' && !sync.fields.includes('email')) problems.push({ at: ['fields'], message: 'Brevo lists take e-mail addresses: map a field `email` (or key the sync by email)' });
    for (const field of sync.fields) {
      if (!TOP_LEVEL.has(field) && !/^[A-Za-z][A-Za-z0-9_]*$/.test(field)) problems.push({ at: ['fields', field], message: `"${field}" cannot be a Brevo attribute name (letters, digits, underscores)` });
    }
    return problems;
  },
  // Erasure deletes the contact, in a contacts sync and in a list's alike: a list member is a contact, and taking it out
  // of the list would leave the person's attributes in Brevo. Events cannot be deleted through the API (protocol.ts).
  erasure: (_config, sync) => (sync.mode === 'events' ? { manual: EVENTS_ERASURE } : { operation: 'forget', method: CONTACT_DELETION_METHOD }),
  apiVersion: () => BREVO_API_VERSION,
  lockScope: (config, object) => `brevo:${new URL(config.base_url).host}#${object}`,
  // Lists take e-mails: the snapshot keeps the e-mail of contacts keyed by ext_id, so that they can be removed.
  retainFields: () => ['email'],
  open: async (config, context) => new BrevoSession(config, context.nullPolicy),
  remoteFields: async (config, _object, context) => attributes(clientOf(config), context),
  createField: async (config, _object, field, context) => createAttribute(clientOf(config), field, context),
  emulator: {
    start: (context) => startBrevoEmulator({ saved: context.saved }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof BrevoEmulator)) throw new Error('the brevo sandbox needs a brevo emulator');
      return { ...config, base_url: `${emulator.endpoint}/v3`, api_key: emulator.apiKey, poll_interval_ms: 50 };
    },
  },
});

/**
 * An events sync: object `events`, a field naming the contact (EVENT_FIELDS), the event id under a key Brevo takes as
 * an event property, and fields Brevo can name (capitals: contact attributes; else event properties, letters,
 * digits, `-` and `_`).
 */
function checkEventsSync(sync: SyncShape): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (sync.object !== 'events') problems.push({ at: ['object'], message: `a Brevo events sync sends events: object \`events\`; got "${sync.object}"` });
  if (!EVENT_PROPERTY_KEY.test(sync.keyField) || Object.hasOwn(EVENT_FIELDS, sync.keyField) || CONTACT_ATTRIBUTE.test(sync.keyField)) {
    problems.push({ at: ['key'], message: `the event id of a Brevo events sync is an event property (such as \`event_id\`): "${sync.keyField}" cannot be one` });
  }
  if (!sync.fields.some((f) => Object.hasOwn(EVENT_FIELDS, f))) problems.push({ at: ['fields'], message: `a Brevo event names its contact: map one of ${Object.keys(EVENT_FIELDS).map((f) => `\`${f}\``).join(', ')}` });
  for (const field of sync.fields) {
    if (!EVENT_PROPERTY_KEY.test(field)) problems.push({ at: ['fields', field], message: `"${field}" cannot be a Brevo event property (letters, digits, - and _, at most 255)` });
  }
  return problems;
}

/** The error body of a Brevo answer (`{code, message}`), or undefined. */
function errorOf(response: HttpResponse): Partial<BrevoError> | undefined {
  return parseJson<Partial<BrevoError>>(response.text);
}

function clientOf(config: BrevoConfig): ApiClient {
  return new ApiClient({
    vendor: 'brevo',
    baseUrl: config.base_url,
    headers: { [API_KEY_HEADER]: config.api_key },
    timeoutMs: config.request_timeout_seconds * 1000,
    // x-sib-ratelimit-reset: seconds until the window resets; there is no Retry-After (docs/limit-headers).
    rateLimit: (response) => {
      const reset = Number(response.headers.get(RATE_HEADERS.reset));
      return response.headers.get(RATE_HEADERS.reset) && Number.isFinite(reset) && reset >= 0 ? Math.max(1, reset) * 1000 : undefined;
    },
    detail: (response) => errorOf(response)?.message ?? '',
    // A 400 refuses the request as a whole (a value Brevo refused): the engine splits it down to the record, with
    // Brevo's code. Any other refusal (402 credits, 405, 404 of a path) concerns the account or the endpoint.
    refused: (response, what) => (response.status === 400 ? new BatchRejectedError(what, errorOf(response)?.code ?? 'brevo_400') : stopSync(what)),
  });
}

async function attributes(client: ApiClient, context: RemoteContext): Promise<RemoteField[]> {
  const body = await client.json<{ attributes?: { name: string; category?: string; type?: string }[] }>('GET', '/contacts/attributes', { signal: context.signal });
  const fields: RemoteField[] = [...TOP_LEVEL].map((name) => ({ name, type: 'identifier' }));
  for (const a of body?.attributes ?? []) fields.push({ name: a.name, type: a.type, readOnly: READ_ONLY_CATEGORIES.has(a.category ?? 'normal') });
  return fields;
}

async function createAttribute(client: ApiClient, field: DestinationContext['fields'][number], context: RemoteContext): Promise<void> {
  const type = field.type === 'integer' || field.type === 'float' || field.type === 'decimal' ? 'float' : field.type === 'date' || field.type === 'timestamp' ? 'date' : field.type === 'boolean' ? 'boolean' : 'text';
  const response = await client.request('POST', `/contacts/attributes/normal/${encodeURIComponent(attributeName(field.name))}`, { body: { type }, signal: context.signal, accept: [400] });
  if (response.status >= 400) throw stopSync(`Brevo refused to create the attribute ${attributeName(field.name)}: ${errorOf(response)?.message ?? response.status}`);
}

/** A record ready to send: its e-mail (a field `email`, or the key) and its attributes, phone numbers in E.164. */
interface Prepared extends Indexed {
  readonly email: string | undefined;
  readonly attributes: Record<string, FieldValue>;
}

/** What the session already wrote of one batch, by record key: kept while the engine retries the batch. */
type Progress = Map<string, RecordOutcome>;

/** The outcomes of a write, and the records an import already put in the list. */
interface Written {
  readonly outcomes: Outcomes;
  readonly inList: ReadonlySet<number>;
}

class BrevoSession implements DestinationSession {
  readonly #client: ApiClient;
  /**
   * Outcomes already obtained for batches whose `apply` threw (a 429, a batch-wide failure), by idempotency key: the
   * engine's retry of the same batch answers them without sending them again. Dropped once the batch is answered.
   */
  readonly #progress = new Map<string, Progress>();

  constructor(
    private readonly config: BrevoConfig,
    private readonly nullPolicy: 'skip' | 'overwrite',
  ) {
    this.#client = clientOf(config);
  }

  async check(): Promise<void> {
    await this.#client.request('GET', '/account', { signal: AbortSignal.timeout(30_000) });
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const progress = this.#progress.get(batch.idempotencyKey) ?? new Map<string, RecordOutcome>();
    this.#progress.set(batch.idempotencyKey, progress);
    const outcomes = await this.#apply(batch, progress);
    this.#progress.delete(batch.idempotencyKey);
    return outcomes;
  }

  async #apply(batch: Batch, progress: Progress): Promise<readonly RecordOutcome[]> {
    switch (batch.operation) {
      case 'upsert':
        return (await this.write(batch, true, progress, this.config.import_list_id)).outcomes.done();
      case 'update':
        return (await this.write(batch, false, progress, undefined)).outcomes.done();
      case 'add':
        return this.add(batch, progress);
      case 'remove':
        return this.remove(batch);
      case 'track':
        return this.track(batch);
      case 'forget':
        return this.forget(batch);
      default:
        throw stopSync(`Brevo syncs take modes upsert, update, audience and events, not the operation ${batch.operation}`);
    }
  }

  async close(): Promise<void> {
    this.#progress.clear();
  }

  /**
   * One `POST /events/batch`: 202 accepts every event; a 207 (or a 400 when all failed) names the failed ones by
   * index, each rejected with Brevo's message, the others accepted; a 400 without that breakdown refuses the request
   * itself (the client's BatchRejectedError: the engine splits it).
   */
  private async track(batch: Batch): Promise<RecordOutcome[]> {
    const outcomes = new Outcomes(batch, 'brevo');
    const sent: number[] = [];
    const events: Record<string, unknown>[] = [];
    for (const { index, record } of outcomes.distinct()) {
      const event = this.event(record, batch.keyField);
      if (event.ok) {
        sent.push(index);
        events.push(event.body);
      } else outcomes.settle(index, rejected(event.code, event.message));
    }
    if (!events.length) return outcomes.done();
    const response = await this.#client.request('POST', EVENTS_BATCH_PATH, { body: { events }, signal: batch.signal, accept: [400] });
    const answer = response.status === 202 ? undefined : parseJson<Partial<BatchEventsAnswer>>(response.text);
    if (response.status === 400 && !Array.isArray(answer?.errors)) throw new BatchRejectedError(scrubbed(`POST ${EVENTS_BATCH_PATH} answered 400: ${errorOf(response)?.message ?? ''}`).slice(0, 300), errorOf(response)?.code ?? 'brevo_400');
    for (const error of answer?.errors ?? []) {
      for (const i of error.eventIndex ?? []) if (sent[i] !== undefined) outcomes.settle(sent[i], rejected('brevo_event_refused', scrubbed(error.message ?? 'Brevo refused the event')));
    }
    // Events no error names were accepted; on a 400 every event failed, so one not named has no outcome (retried).
    if (response.status !== 400) for (const index of sent) if (outcomes.get(index) === undefined) outcomes.settle(index, { ok: true });
    return outcomes.done();
  }

  /** An event as Brevo takes it (protocol.ts: EVENTS_BATCH_PATH), or why the record cannot be one. */
  private event(record: OutboundRecord, keyField: string): { readonly ok: true; readonly body: Record<string, unknown> } | { readonly ok: false; readonly code: string; readonly message: string } {
    if (!record.event) return { ok: false, code: 'not_an_event', message: 'a track record without its event (name and time)' };
    const event_name = brevoEventName(record.event.name);
    if (!event_name) return { ok: false, code: 'invalid_event_name', message: 'the event name has no letter or digit Brevo can take' };
    const identifiers: Record<string, string | number> = {};
    const contact: Record<string, string | number> = {};
    // The batch's SDK type takes no booleans among properties (CreateBatchEventsRequest): they are sent as text.
    const properties: Record<string, string | number> = { [keyField]: record.key };
    for (const [name, value] of Object.entries(record.fields)) {
      if (value === null || value === '') continue;
      const identifier = EVENT_FIELDS[name];
      const plain = typeof value === 'number' ? value : String(value);
      if (identifier === 'email_id') identifiers[identifier] = normaliseEmail(String(value));
      else if (identifier === 'contact_id') identifiers[identifier] = Number(value);
      else if (identifier && PHONE_IDENTIFIERS.has(identifier)) {
        const phone = toE164(String(value), this.config.default_country);
        if (!phone) return { ok: false, code: 'invalid_phone', message: `${name} is not a valid phone number${this.config.default_country ? '' : ' (set default_country for national numbers)'}` };
        identifiers[identifier] = phone;
      } else if (identifier) identifiers[identifier] = String(value);
      else if (CONTACT_ATTRIBUTE.test(name)) contact[name] = plain;
      else properties[name] = plain;
    }
    if (!Object.keys(identifiers).length) return { ok: false, code: 'missing_identifier', message: 'the event names no contact (email, ext_id, sms, whatsapp…): Brevo requires at least one identifier' };
    return { ok: true, body: { event_name, event_date: record.event.time, identifiers, ...(Object.keys(contact).length ? { contact_properties: contact } : {}), event_properties: properties } };
  }

  /**
   * Updates through `/contacts/batch`; the contacts Brevo does not know are imported into `list` (keyed by e-mail,
   * with a list), created one by one, or rejected `not_found` (update mode). Records written by an earlier attempt at
   * this batch (`progress`) are answered as they were, without a request.
   */
  private async write(batch: Batch, create: boolean, progress: Progress, list: number | undefined): Promise<Written> {
    const outcomes = new Outcomes(batch, 'brevo');
    const byEmail = batch.keyField === 'email';
    const inList = new Set<number>();
    batch.records.forEach((record, index) => {
      const done = progress.get(record.key);
      if (done) outcomes.settle(index, done);
    });
    const prepared = this.prepare(batch, outcomes);
    const settle = (p: Indexed, outcome: RecordOutcome) => {
      outcomes.settle(p.index, outcome);
      if (outcome.ok) progress.set(p.record.key, outcome);
    };
    // Keyed by ext_id, a contact can be named in a batch only by the id a previous run kept.
    const missing: Prepared[] = byEmail ? [] : prepared.filter((p) => p.record.destinationId === null);
    let pending = prepared.filter((p) => !missing.includes(p));
    // A 404 names the unknown contacts and applies nothing: the others are sent again without them.
    for (let round = 0; pending.length && round < 3; round++) {
      const unknown = await this.updateBatch(pending.map((p) => this.batchContact(p, byEmail)), batch.signal);
      if (!unknown.size) {
        for (const p of pending) settle(p, { ok: true, destinationId: p.record.destinationId ?? undefined });
        pending = [];
      }
      missing.push(...pending.filter((_, i) => unknown.has(i)));
      pending = pending.filter((_, i) => !unknown.has(i));
    }
    for (const p of pending) settle(p, { ok: false, code: 'not_found', message: 'Brevo kept answering that the contact does not exist', retryable: true });
    if (!create) {
      for (const p of missing) settle(p, rejected('not_found', 'no Brevo contact has this identifier (mode update never creates)'));
      return { outcomes, inList };
    }
    const importable = byEmail && list !== undefined ? missing : [];
    if (importable.length) {
      for (const [p, outcome] of await this.importContacts(importable, list!, batch.signal)) {
        settle(p, outcome);
        if (outcome.ok) inList.add(p.index);
      }
    }
    await this.createEach(
      missing.filter((p) => !importable.includes(p)),
      batch,
      outcomes,
      settle,
    );
    return { outcomes, inList };
  }

  /**
   * The records to send, first of their identity in the batch: phone numbers normalised (an invalid one rejects its
   * record), two contacts with the same SMS number rejected as Brevo would refuse the second.
   */
  private prepare(batch: Batch, outcomes: Outcomes): Prepared[] {
    const out: Prepared[] = [];
    const phones = new Map<string, number>();
    for (const item of outcomes.distinct((r) => (batch.keyField === 'email' ? normaliseEmail(r.key) : r.key))) {
      const { email, attributes, invalid } = this.split(item.record);
      if (invalid) {
        outcomes.settle(item.index, rejected('invalid_phone', `${invalid.toLowerCase()} is not a valid phone number${this.config.default_country ? '' : ' (set default_country for national numbers)'}`));
        continue;
      }
      const numbers = [...PHONE_ATTRIBUTES].map((a) => attributes[a]).filter((v): v is string => typeof v === 'string' && v !== '');
      const clash = numbers.find((n) => phones.has(n));
      if (clash) {
        outcomes.settle(item.index, rejected('duplicate_phone', 'another record of the batch has the same phone number: Brevo takes a number for one contact only'));
        continue;
      }
      for (const n of numbers) phones.set(n, item.index);
      out.push({ ...item, email: batch.keyField === 'email' ? normaliseEmail(item.record.key) : email, attributes });
    }
    return out;
  }

  /** One `POST /contacts/batch`: the indexes Brevo does not know (404 naming them), nothing applied then. */
  private async updateBatch(contacts: readonly Record<string, unknown>[], signal: AbortSignal): Promise<Set<number>> {
    const response = await this.#client.request('POST', '/contacts/batch', { body: { contacts }, signal, accept: [404] });
    if (response.status < 300) return new Set();
    const indexes = UNKNOWN_INDEXES.exec(errorOf(response)?.message ?? '')?.[1];
    if (!indexes) throw new BatchRejectedError(scrubbed(`POST /contacts/batch answered 404: ${errorOf(response)?.message ?? ''}`).slice(0, 300), errorOf(response)?.code ?? 'brevo_404');
    return new Set(indexes.split(',').map((i) => Number(i.trim())));
  }

  /**
   * One import of `contacts` into `list`, polled until completed. When Brevo reports problematic records, the
   * contacts it does not know afterwards are rejected `import_rejected` (see IMPORT_REPORTS in protocol.ts).
   */
  private async importContacts(contacts: readonly Prepared[], list: number, signal: AbortSignal): Promise<[Prepared, RecordOutcome][]> {
    const body = {
      jsonBody: contacts.map((p) => ({ email: p.email, attributes: p.attributes })),
      listIds: [list],
      updateExistingContacts: true,
      emptyContactsAttributes: this.nullPolicy === 'overwrite',
      disableNotification: true,
    };
    const started = await this.#client.json<{ processId?: number }>('POST', IMPORT_PATH, { body, signal });
    if (typeof started?.processId !== 'number') throw new TransientError('Brevo accepted the import without a processId');
    const process = await this.poll(started.processId, signal);
    if (process.status !== 'completed') throw new TransientError(`Brevo's import process ${process.id} ended ${process.status}`);
    const reports = IMPORT_REPORTS.filter((name) => process.info?.import?.[name]);
    if (!reports.length) return contacts.map((p) => [p, { ok: true }]);
    // Which contacts exist now: an update naming each by e-mail only, answered 404 for those Brevo does not know.
    const unknown = await this.updateBatch(
      contacts.map((p) => ({ email: p.email })),
      signal,
    );
    return contacts.map((p, i) => [p, unknown.has(i) ? rejected('import_rejected', `Brevo's import did not take this contact (its reports: ${reports.join(', ')})`) : { ok: true }]);
  }

  /** Polls a process until it is no longer queued or running, within the batch's time budget. */
  private poll(id: number, signal: AbortSignal): Promise<ProcessAnswer> {
    return pollJob({
      name: `Brevo's import process ${id}`,
      intervalMs: this.config.poll_interval_ms,
      maxIntervalMs: MAX_POLL_WAIT_MS,
      signal,
      read: (s) => this.#client.json<ProcessAnswer>('GET', `/processes/${id}`, { signal: s }),
      status: (process) => process.status ?? 'queued',
      finished: (status) => !PROCESS_RUNNING.has(status),
    });
  }

  /**
   * `POST /contacts` with updateEnabled, one per contact. Failures are the records' own: a create that failed
   * transiently is that record's retryable outcome; the batch throws only when nothing of it succeeded.
   */
  private async createEach(contacts: readonly Prepared[], batch: Batch, outcomes: Outcomes, settle: (p: Indexed, o: RecordOutcome) => void): Promise<void> {
    let transient: TransientError | undefined;
    for (const p of contacts) {
      try {
        settle(p, await this.create(p, batch));
      } catch (error) {
        // A 429, a credentials error or a spent batch budget concern every record: the engine handles the batch.
        if (!(error instanceof TransientError) || batch.signal.aborted) throw error;
        transient = error;
        settle(p, { ok: false, code: 'transient', message: error.message, retryable: true });
      }
    }
    const all = outcomes.done();
    if (transient && all.every((o) => !o.ok && o.retryable)) throw new TransientError(`every create of the batch failed, the last one: ${transient.message}`);
  }

  private async create(p: Prepared, batch: Batch): Promise<RecordOutcome> {
    const body = { ...(batch.keyField === 'email' ? { email: p.email } : { ext_id: p.record.key, ...(p.email !== undefined ? { email: p.email } : {}) }), attributes: p.attributes, updateEnabled: true };
    const response = await this.#client.request('POST', '/contacts', { body, signal: batch.signal, accept: [400] });
    if (response.status < 300) {
      const id = response.status === 201 ? parseJson<{ id?: number }>(response.text)?.id : undefined;
      return { ok: true, destinationId: id !== undefined ? String(id) : (p.record.destinationId ?? undefined) };
    }
    const error = errorOf(response);
    return rejected(error?.code ?? 'brevo_400', scrubbed(error?.message ?? 'HTTP 400'));
  }

  /**
   * Audience add: the contacts are upserted (new ones imported straight into the list), then the e-mails of the
   * others added to the list (`failure[]` mapped per record).
   */
  private async add(batch: Batch, progress: Progress): Promise<RecordOutcome[]> {
    const list = requireListId(batch.object, 'Brevo');
    const { outcomes, inList } = await this.write(batch, true, progress, Number(list));
    const written = outcomes.done();
    const emails = batch.records.map((r) => emailOf(batch, r));
    const wanted = written.flatMap((o, i) => (o.ok && emails[i] && !inList.has(i) ? [emails[i]] : []));
    const failed = await this.listCall(list, 'add', wanted, batch.signal);
    return written.map((o, i): RecordOutcome => {
      if (!o.ok || inList.has(i)) return o;
      if (!emails[i]) return rejected('missing_email', 'Brevo lists take e-mail addresses: this record has none');
      return failed.has(emails[i]) ? { ok: false, code: 'list_add_failed', message: 'Brevo did not add the contact to the list', retryable: true } : o;
    });
  }

  /** Audience remove: by e-mail. A contact Brevo does not find in the list is where a removal wants it. */
  private async remove(batch: Batch): Promise<RecordOutcome[]> {
    const emails = batch.records.map((r) => emailOf(batch, r)).filter((e): e is string => e !== undefined);
    await this.listCall(requireListId(batch.object, 'Brevo'), 'remove', emails, batch.signal);
    return batch.records.map(() => ({ ok: true }));
  }

  /**
   * Erasure: one `DELETE /contacts/{identifier}` per contact, named by the sync's key (its e-mail or ext_id, with that
   * identifierType) rather than by the contact id a run kept: the key is who the person is to the sync, and an id
   * could name a contact since deleted while another holds the e-mail. 204 deleted; 404 no such contact, which is
   * what erasure wants (a re-run after a crash); a 400 or 405 refuses that contact alone (protocol.ts: CONTACT_PATH).
   */
  private async forget(batch: Batch): Promise<RecordOutcome[]> {
    const outcomes = new Outcomes(batch, 'brevo');
    const type: DeleteIdentifierType = batch.keyField === 'email' ? 'email_id' : 'ext_id';
    for (const { index, record } of outcomes.distinct((r) => (type === 'email_id' ? normaliseEmail(r.key) : r.key))) {
      const identifier = type === 'email_id' ? normaliseEmail(record.key) : record.key;
      const response = await this.#client.request('DELETE', CONTACT_PATH(identifier), { query: { identifierType: type }, signal: batch.signal, accept: [400, 404, 405] }).catch((error: unknown) => {
        // The client's messages name the path, which here holds the person's identifier: it never reaches a log.
        if (error instanceof Error) error.message = error.message.replaceAll(CONTACT_PATH(identifier), '/contacts/<contact>');
        throw error;
      });
      const error = response.status >= 400 ? errorOf(response) : undefined;
      outcomes.settle(index, response.status < 300 || response.status === 404 ? { ok: true } : rejected(error?.code ?? `brevo_${response.status}`, scrubbed(error?.message ?? `HTTP ${response.status}`)));
    }
    return outcomes.done();
  }

  /** Adds or removes e-mails, 150 a request; answers the e-mails in `failure[]`. */
  private async listCall(list: string, action: 'add' | 'remove', emails: readonly string[], signal: AbortSignal): Promise<Set<string>> {
    const failed = new Set<string>();
    const unique = [...new Set(emails)];
    for (let i = 0; i < unique.length; i += LIST_EMAILS_PER_REQUEST) {
      const response = await this.#client.request('POST', `/contacts/lists/${list}/contacts/${action}`, { body: { emails: unique.slice(i, i + LIST_EMAILS_PER_REQUEST) }, signal, accept: [404] });
      if (response.status === 404) throw stopSync(`Brevo has no list ${list}`);
      for (const email of parseJson<{ contacts?: { failure?: string[] } }>(response.text)?.contacts?.failure ?? []) failed.add(normaliseEmail(email));
    }
    return failed;
  }

  private batchContact(p: Prepared, byEmail: boolean): Record<string, unknown> {
    // A batch contact has one identifier: named by id, its e-mail changes through the EMAIL attribute.
    return byEmail ? { email: p.email, attributes: p.attributes } : { id: Number(p.record.destinationId), attributes: p.email !== undefined ? { ...p.attributes, EMAIL: p.email } : p.attributes };
  }

  /**
   * The contact's e-mail (a field `email`) and its attributes (every other field, upper-cased); SMS and WHATSAPP in
   * E.164, `invalid` naming the first that is not a phone number.
   */
  private split(record: OutboundRecord): { email: string | undefined; attributes: Record<string, FieldValue>; invalid?: string } {
    const attributes: Record<string, FieldValue> = {};
    let email: string | undefined;
    for (const [name, value] of Object.entries(record.fields)) {
      if (value === null && this.nullPolicy === 'skip') continue;
      const attribute = attributeName(name);
      if (name === 'email') email = value === null ? undefined : normaliseEmail(String(value));
      else if (PHONE_ATTRIBUTES.has(attribute) && value !== null && String(value).trim() !== '') {
        const phone = toE164(String(value), this.config.default_country);
        if (!phone) return { email, attributes, invalid: attribute };
        attributes[attribute] = phone;
      } else attributes[attribute] = value === null ? '' : value;
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

