import { randomBytes } from 'node:crypto';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, requestHeader, requestJson, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RateLimitSpec, type RecordStore } from '../emulator-kit/server.js';
import {
  API_KEY_HEADER,
  BATCH_IDENTIFIERS,
  CONTACTS_RATE_LIMIT,
  DEFAULT_BATCH_CONTACTS,
  DELETE_IDENTIFIER_TYPES,
  EVENT_IDENTIFIERS,
  EVENT_NAME,
  EVENT_PROPERTIES_MAX_BYTES,
  EVENT_PROPERTY_KEY,
  EVENTS_BATCH_PATH,
  IMPORT_MAX_BYTES,
  IMPORT_PATH,
  isPlausibleEmail,
  LIST_EMAILS_PER_REQUEST,
  NORMAL_ATTRIBUTE_TYPES,
  phoneDigits,
  PHONE_ATTRIBUTES,
  RATE_HEADERS,
  READ_ONLY_CATEGORIES,
  type BatchEventsAnswer,
  type ImportReport,
  type ProcessAnswer,
} from './protocol.js';

/**
 * A local Brevo API v3 (contacts, contact attributes, list membership), strict where Brevo is. Each rule is a fact of
 * protocol.ts, with its source there:
 *  - `api-key` header or 401 `unauthorized` (API_KEY_HEADER);
 *  - `POST /contacts` creates (201 `{id}`), or updates an existing contact with `updateEnabled` (204), else 400
 *    `duplicate_parameter` (CreateContactBody); `POST /contacts/batch` only updates, each contact named by exactly
 *    one of email, id, sms; one unknown contact makes the whole request 404 `document_not_found` "No contact found
 *    for indexes i,j" and nothing is applied (UNKNOWN_INDEXES, observed); a batch above its size is a 400
 *    (DEFAULT_BATCH_CONTACTS, not documented), the same identifier twice a 400 `duplicate_parameter` (not documented);
 *  - attribute names are upper-case and unknown attributes are ignored (attributeName); values of calculated and
 *    global attributes cannot be set (READ_ONLY_CATEGORIES; Brevo's answer not documented, 400 here); normal
 *    attributes are created as text, date, float or boolean (NORMAL_ATTRIBUTE_TYPES);
 *  - an e-mail must look like one (isPlausibleEmail: Brevo's rule is not documented), else 400 invalid_parameter;
 *  - lists: add / remove at most 150 e-mails per request, answered 201 `{contacts:{success[],failure[]}}`
 *    (LIST_EMAILS_PER_REQUEST);
 *  - 10 requests per second, 429 `too_many_requests` with x-sib-ratelimit-limit / -remaining / -reset in seconds
 *    (CONTACTS_RATE_LIMIT, RATE_HEADERS);
 *  - `POST /contacts/import` with `jsonBody` (fileBody and fileUrl are not emulated: 400), `listIds` or `newList`
 *    required, at most 10 MB, answered 202 `{processId}`; `GET /processes/{id}` answers the process `queued`, then
 *    `in_process` at its first poll, and `completed` from the next one, when the import is applied: invalid e-mails
 *    and numbers another contact holds are left out and reported in `info.import` (IMPORT_PATH, IMPORT_MAX_BYTES,
 *    PROCESS_STATUSES, IMPORT_REPORTS);
 *  - SMS and WHATSAPP hold a number with its country code (+33…, 0033… or 33…; phoneDigits), else 400
 *    invalid_parameter; a number another contact holds is refused 400 duplicate_parameter (PHONE_ATTRIBUTES);
 *  - events (`POST /events`, 204; `POST /events/batch`, EVENTS_BATCH_PATH): an event_name of at most 255 letters,
 *    digits, `-` and `_`, at least one identifier (an e-mail that looks like one, phone identifiers as phone
 *    attributes), an ISO 8601 event_date, event_properties keys as Brevo limits them and at most 50 KB. A batch of
 *    valid events is answered 202 `{message, count}`; one with invalid events 207 naming them by `eventIndex` (the
 *    others kept), or 400 when none is valid; at most `maxBatchRecords` events (Brevo documents no maximum). Every
 *    event is kept, repeats too (Brevo documents no de-duplication). An event's contact_properties are kept with it
 *    and not applied to the contact.
 *  - `DELETE /contacts/{identifier}` (CONTACT_PATH): `identifierType` one of DELETE_IDENTIFIER_TYPES (else 400
 *    invalid_parameter); without it the identifier is a contact id when it is a number, else an e-mail. The contact
 *    is deleted with its list memberships (204); an unknown contact is 404 `document_not_found` "Contact does not
 *    exist". Events are not touched: Brevo documents no link the emulator could follow from a contact to its events.
 * Contacts are kept in the object `contacts` by contact id (`{email, ext_id, <ATTRIBUTE>…}`), list members in
 * `list:<listId>` by contact id, events in `events` in arrival order.
 */
export interface BrevoAttributeDef {
  readonly name: string;
  /** text, float, date, boolean, category… */
  readonly type: string;
  /** normal (writable), category, transactional, calculated or global (read-only). */
  readonly category?: string;
}

export interface BrevoEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  readonly apiKey?: string;
  /** Attributes beyond Brevo's defaults. */
  readonly attributes?: readonly BrevoAttributeDef[];
  /** Default: 10 requests per second. */
  readonly rateLimit?: RateLimitSpec;
  /** Contacts per `/contacts/batch` request (not documented by Brevo; default DEFAULT_BATCH_CONTACTS). */
  readonly maxBatchRecords?: number;
  /** Contacts refused on creation or update (400 invalid_parameter), by identifier (e-mail or ext_id). */
  readonly reject?: (identifier: string) => { readonly message: string } | undefined;
  /** E-mails a list add answers in `failure[]` (a blocklisted contact, say). */
  readonly refuseList?: (email: string) => boolean;
  /** Events refused one by one (a 207 naming them, or a 400 for a single event), by the event as sent. */
  readonly rejectEvent?: (event: Readonly<Record<string, unknown>>) => { readonly message: string } | undefined;
  readonly faults?: FaultPlan;
}

/** The body of `POST /contacts/import` as the emulator reads it. */
interface ImportBody {
  readonly jsonBody?: readonly { readonly email?: unknown; readonly attributes?: Record<string, unknown> }[];
  readonly fileBody?: unknown;
  readonly fileUrl?: unknown;
  readonly listIds?: readonly number[];
  readonly newList?: unknown;
  readonly updateExistingContacts?: boolean;
  readonly emptyContactsAttributes?: boolean;
}

/** `GET /account`: every property GetAccountResponse requires. */
const ACCOUNT = {
  organization_id: 'emulated-organization',
  user_id: 1,
  enterprise: false,
  companyName: 'Emulated',
  email: 'owner@example.com',
  firstName: 'Emulated',
  lastName: 'Owner',
  plan: [{ type: 'free', credits: 300, creditsType: 'sendLimit' }],
  relay: { enabled: false, data: { port: 587, relay: 'smtp-relay.brevo.com', userName: 'owner@example.com' } },
};

const DEFAULT_ATTRIBUTES: readonly BrevoAttributeDef[] = [
  { name: 'FIRSTNAME', type: 'text', category: 'normal' },
  { name: 'LASTNAME', type: 'text', category: 'normal' },
  { name: 'SMS', type: 'text', category: 'normal' },
  { name: 'WHATSAPP', type: 'text', category: 'normal' },
  { name: 'CONTACT_SCORE', type: 'float', category: 'calculated' },
];

export class BrevoEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    readonly apiKey: string,
    readonly attributes: Map<string, BrevoAttributeDef>,
    readonly stats: { readonly maxBatchSeen: number },
  ) {
    super(server);
  }

  /** Contacts by id. */
  contacts(): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
    return this.server.store.object('contacts');
  }

  listMembers(listId: string): string[] {
    return [...this.server.store.object(`list:${listId}`).keys()];
  }

  /** Every event kept, as it was sent, in arrival order. */
  events(): Readonly<Record<string, unknown>>[] {
    return [...this.server.store.object('events').values()];
  }
}

export async function startBrevoEmulator(options: BrevoEmulatorOptions = {}): Promise<BrevoEmulator> {
  const apiKey = options.apiKey ?? `xkeysib-${randomBytes(32).toString('hex')}-${randomBytes(8).toString('hex')}`;
  const attributes = new Map([...DEFAULT_ATTRIBUTES, ...(options.attributes ?? [])].map((a) => [a.name, a]));
  const maxBatch = options.maxBatchRecords ?? DEFAULT_BATCH_CONTACTS;
  const stats = { maxBatchSeen: 0 };
  let nextId = 1;

  const api: ApiContract = {
    authenticate: (request) => (requestHeader(request, API_KEY_HEADER) === apiKey ? undefined : { status: 401, body: { code: 'unauthorized', message: 'Key not found' } }),
    tooManyRequests: (state) => ({
      status: 429,
      headers: { [RATE_HEADERS.limit]: String(state.limit), [RATE_HEADERS.remaining]: '0', [RATE_HEADERS.reset]: String(Math.max(1, Math.ceil(state.retryAfterMs / 1000))) },
      body: { code: 'too_many_requests', message: 'Too many requests' },
    }),
    serverError: (status) => ({ status, body: { code: 'internal_error', message: 'Internal error' } }),
    rateHeaders: (state) => ({ [RATE_HEADERS.limit]: String(state.limit), [RATE_HEADERS.remaining]: String(state.remaining), [RATE_HEADERS.reset]: String(Math.ceil(state.resetMs / 1000)) }),
    handle: (request, store) => route(request, store),
  };

  function route(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    const { method, path } = request;
    tick(store);
    if (method === 'GET' && path === '/v3/account') return { status: 200, body: ACCOUNT };
    if (method === 'GET' && path === '/v3/contacts/attributes') return { status: 200, body: { attributes: [...attributes.values()].map((a) => ({ name: a.name, category: a.category ?? 'normal', type: a.type })) } };
    const createAttribute = /^\/v3\/contacts\/attributes\/(\w+)\/([A-Za-z0-9_-]+)$/.exec(path);
    if (method === 'POST' && createAttribute) return addAttribute(createAttribute[1]!, createAttribute[2]!, requestJson(request));
    if (method === 'POST' && path === '/v3/contacts') return createContact(store, requestJson(request));
    if (method === 'POST' && path === '/v3/contacts/batch') return updateBatch(store, requestJson(request));
    const contact = /^\/v3\/contacts\/([^/]+)$/.exec(path);
    if (method === 'DELETE' && contact) return deleteContact(store, decodeURIComponent(contact[1]!), request.query.get('identifierType'));
    if (method === 'POST' && path === `/v3${IMPORT_PATH}`) return startImport(request);
    const process = /^\/v3\/processes\/(\d+)$/.exec(path);
    if (method === 'GET' && process) return pollProcess(store, Number(process[1]));
    const list = /^\/v3\/contacts\/lists\/(\d+)\/contacts\/(add|remove)$/.exec(path);
    if (method === 'POST' && list) return membership(store, list[1]!, list[2] as 'add' | 'remove', requestJson(request));
    if (method === 'POST' && path === '/v3/events') return createEvent(store, requestJson(request));
    if (method === 'POST' && path === `/v3${EVENTS_BATCH_PATH}`) return createEvents(store, requestJson(request));
    return { status: 404, body: { code: 'document_not_found', message: `no route for ${method} ${path}` } };
  }

  function find(store: RecordStore, by: { email?: unknown; ext_id?: unknown; id?: unknown }): string | undefined {
    const contacts = store.object('contacts');
    if (by.id !== undefined) return contacts.has(String(by.id)) ? String(by.id) : undefined;
    for (const [id, c] of contacts) {
      if (by.ext_id !== undefined && c['ext_id'] === String(by.ext_id)) return id;
      if (by.ext_id === undefined && by.email !== undefined && c['email'] === String(by.email).trim().toLowerCase()) return id;
    }
    return undefined;
  }

  /** The contact an identifier of `DELETE /contacts/{identifier}` names, by its identifierType (protocol.ts: CONTACT_PATH). */
  function deleteContact(store: RecordStore, identifier: string, type: string | null): EmulatorReply {
    if (type !== null && !(DELETE_IDENTIFIER_TYPES as readonly string[]).includes(type)) return { status: 400, body: { code: 'invalid_parameter', message: `identifierType must be one of ${DELETE_IDENTIFIER_TYPES.join(', ')}` } };
    const by = type ?? (/^\d+$/.test(identifier) ? 'contact_id' : 'email_id');
    const contacts = store.object('contacts');
    const phone = by === 'phone_id' ? 'SMS' : by === 'whatsapp_id' ? 'WHATSAPP' : by === 'landline_number_id' ? 'LANDLINE_NUMBER' : undefined;
    const id =
      by === 'contact_id'
        ? find(store, { id: identifier })
        : by === 'email_id'
          ? find(store, { email: identifier })
          : by === 'ext_id'
            ? find(store, { ext_id: identifier })
            : [...contacts].find(([, c]) => phone !== undefined && phoneDigits(c[phone]) !== undefined && phoneDigits(c[phone]) === phoneDigits(identifier))?.[0];
    if (id === undefined) return { status: 404, body: { code: 'document_not_found', message: 'Contact does not exist' } };
    contacts.delete(id);
    for (const name of Object.keys(store.snapshot())) if (name.startsWith('list:')) store.object(name).delete(id);
    return { status: 204 };
  }

  /** The 400 for a value of a read-only attribute, or undefined. Unknown attributes are dropped silently. */
  function readOnlyProblem(attrs: Record<string, unknown>): EmulatorReply | undefined {
    const name = Object.keys(attrs).find((n) => READ_ONLY_CATEGORIES.has(attributes.get(n)?.category ?? 'normal'));
    return name ? { status: 400, body: { code: 'invalid_parameter', message: `attributes should be an object: ${name} cannot be set (${attributes.get(name)!.category} attribute)` } } : undefined;
  }

  function apply(store: RecordStore, id: string | undefined, contact: { email?: unknown; ext_id?: unknown; attributes?: unknown; listIds?: unknown; unlinkListIds?: unknown }): string {
    const contacts = store.object('contacts');
    const key = id ?? String(nextId++);
    const next: Record<string, unknown> = { ...(contacts.get(key) ?? {}) };
    if (typeof contact.email === 'string') next['email'] = contact.email.trim().toLowerCase();
    if (contact.ext_id !== undefined) next['ext_id'] = String(contact.ext_id);
    for (const [name, value] of Object.entries((contact.attributes as Record<string, unknown> | undefined) ?? {})) {
      if (name === 'EMAIL' && typeof value === 'string') next['email'] = value.trim().toLowerCase();
      if (!attributes.has(name)) continue;
      if (value === null || value === '') delete next[name];
      else next[name] = value;
    }
    contacts.set(key, next);
    if (!id) store.created('contacts', key);
    for (const list of Array.isArray(contact.listIds) ? contact.listIds : []) store.object(`list:${list}`).set(key, { email: next['email'] ?? null });
    for (const list of Array.isArray(contact.unlinkListIds) ? contact.unlinkListIds : []) store.object(`list:${list}`).delete(key);
    return key;
  }

  /** The 400 for a phone attribute that is not a number with its country code, or that another contact holds. */
  function phoneProblem(store: RecordStore, id: string | undefined, attrs: Record<string, unknown>): EmulatorReply | undefined {
    for (const name of PHONE_ATTRIBUTES) {
      const value = attrs[name];
      if (value === undefined || value === null || value === '') continue;
      const digits = phoneDigits(value);
      if (!digits) return { status: 400, body: { code: 'invalid_parameter', message: `Invalid ${name} number: use the country code (+33…)` } };
      const holder = [...store.object('contacts')].find(([other, c]) => other !== id && phoneDigits(c[name]) === digits);
      if (holder) return { status: 400, body: { code: 'duplicate_parameter', message: `Unable to update contact, ${name} is already associated with another Contact` } };
    }
    return undefined;
  }

  function invalid(contact: { email?: unknown; ext_id?: unknown }): EmulatorReply | undefined {
    if (contact.email !== undefined && (typeof contact.email !== 'string' || !isPlausibleEmail(contact.email))) return { status: 400, body: { code: 'invalid_parameter', message: 'Invalid email address' } };
    const rejected = options.reject?.(String(contact.ext_id ?? contact.email ?? ''));
    return rejected ? { status: 400, body: { code: 'invalid_parameter', message: rejected.message } } : undefined;
  }

  function createContact(store: RecordStore, body: unknown): EmulatorReply {
    const contact = (body ?? {}) as { email?: unknown; ext_id?: unknown; attributes?: unknown; updateEnabled?: unknown; listIds?: unknown };
    if (contact.email === undefined && contact.ext_id === undefined) return { status: 400, body: { code: 'missing_parameter', message: 'email, ext_id or SMS is required' } };
    const existing = find(store, contact.ext_id !== undefined ? { ext_id: contact.ext_id } : { email: contact.email });
    const attrs = (contact.attributes as Record<string, unknown> | undefined) ?? {};
    const refused = invalid(contact) ?? readOnlyProblem(attrs) ?? phoneProblem(store, existing, attrs);
    if (refused) return refused;
    if (existing && contact.updateEnabled !== true) return { status: 400, body: { code: 'duplicate_parameter', message: 'Unable to create contact, email is already associated with another Contact' } };
    const id = apply(store, existing, contact);
    return existing ? { status: 204 } : { status: 201, body: { id: Number(id) } };
  }

  function updateBatch(store: RecordStore, body: unknown): EmulatorReply {
    const contacts = (body as { contacts?: unknown } | undefined)?.contacts;
    if (!Array.isArray(contacts) || !contacts.length) return { status: 400, body: { code: 'invalid_parameter', message: 'contacts: a non-empty list is required' } };
    if (contacts.length > maxBatch) return { status: 400, body: { code: 'invalid_parameter', message: `contacts: at most ${maxBatch} contacts per request` } };
    stats.maxBatchSeen = Math.max(stats.maxBatchSeen, contacts.length);
    const seen = new Set<string>();
    for (const c of contacts as { email?: unknown; id?: unknown; sms?: unknown }[]) {
      const identifiers = BATCH_IDENTIFIERS.filter((name) => (c as Record<string, unknown>)[name] !== undefined);
      if (identifiers.length !== 1) return { status: 400, body: { code: 'invalid_parameter', message: 'each contact needs exactly one identifier: email, id or sms' } };
      const identifier = c.email !== undefined ? `email:${String(c.email).trim().toLowerCase()}` : `id:${String(c.id)}`;
      if (seen.has(identifier)) return { status: 400, body: { code: 'duplicate_parameter', message: `duplicate contact identifier in the request: ${identifier.split(':')[0]}` } };
      seen.add(identifier);
    }
    const ids = (contacts as { email?: unknown; id?: unknown }[]).map((c) => find(store, c.id !== undefined ? { id: c.id } : { email: c.email }));
    const missing = ids.flatMap((id, i) => (id === undefined ? [i] : []));
    if (missing.length) return { status: 404, body: { code: 'document_not_found', message: `No contact found for indexes ${missing.join(',')}` } };
    for (const [i, c] of (contacts as Record<string, unknown>[]).entries()) {
      const attrs = (c['attributes'] as Record<string, unknown> | undefined) ?? {};
      const refused = invalid({ email: c['email'], ext_id: c['ext_id'] ?? store.object('contacts').get(ids[i]!)?.['ext_id'] ?? store.object('contacts').get(ids[i]!)?.['email'] }) ?? readOnlyProblem(attrs) ?? phoneProblem(store, ids[i], attrs);
      if (refused) return refused;
    }
    (contacts as Record<string, unknown>[]).forEach((c, i) => apply(store, ids[i], c));
    return { status: 204 };
  }

  function membership(store: RecordStore, listId: string, action: 'add' | 'remove', body: unknown): EmulatorReply {
    const emails = (body as { emails?: unknown } | undefined)?.emails;
    if (!Array.isArray(emails) || !emails.length) return { status: 400, body: { code: 'missing_parameter', message: 'emails: a non-empty list is required' } };
    if (emails.length > LIST_EMAILS_PER_REQUEST) return { status: 400, body: { code: 'invalid_parameter', message: `emails: at most ${LIST_EMAILS_PER_REQUEST} per request` } };
    const members = store.object(`list:${listId}`);
    const success: string[] = [];
    const failure: string[] = [];
    for (const raw of emails) {
      const email = String(raw);
      const id = find(store, { email });
      if (action === 'add' && id && !options.refuseList?.(email)) {
        members.set(id, { email: store.object('contacts').get(id)!['email'] ?? null });
        success.push(email);
      } else if (action === 'remove' && id && members.delete(id)) success.push(email);
      else failure.push(email);
    }
    return { status: 201, body: { contacts: { success, failure } } };
  }

  /** What Brevo refuses in an event (see the comment at the top), or undefined. */
  function eventProblem(event: unknown): string | undefined {
    if (event === null || typeof event !== 'object' || Array.isArray(event)) return 'an event must be an object';
    const e = event as Record<string, unknown>;
    if (typeof e['event_name'] !== 'string' || !EVENT_NAME.test(e['event_name'])) return 'event_name: at most 255 characters, alphanumerical characters and - _ only';
    const ids = e['identifiers'];
    if (ids === null || typeof ids !== 'object' || Array.isArray(ids)) return 'identifiers: at least one identifier is required';
    const given = EVENT_IDENTIFIERS.filter((name) => (ids as Record<string, unknown>)[name] !== undefined);
    if (!given.length) return 'identifiers: at least one identifier is required';
    const id = ids as Record<string, unknown>;
    if (id['email_id'] !== undefined && (typeof id['email_id'] !== 'string' || !isPlausibleEmail(id['email_id']))) return 'identifiers.email_id: invalid email address';
    for (const name of ['phone_id', 'whatsapp_id', 'landline_number_id'] as const) if (id[name] !== undefined && !phoneDigits(id[name])) return `identifiers.${name}: use the country code (+33…)`;
    if (e['event_date'] !== undefined && (typeof e['event_date'] !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(e['event_date']) || Number.isNaN(Date.parse(e['event_date'])))) return 'event_date: an ISO 8601 timestamp';
    const props = e['event_properties'];
    if (props !== undefined) {
      if (props === null || typeof props !== 'object' || Array.isArray(props)) return 'event_properties must be an object';
      const bad = Object.keys(props).find((k) => !EVENT_PROPERTY_KEY.test(k));
      if (bad !== undefined) return `event_properties: key ${JSON.stringify(bad)} is not allowed (alphanumerical characters and - _ only, at most 255)`;
      if (Buffer.byteLength(JSON.stringify(props)) > EVENT_PROPERTIES_MAX_BYTES) return 'event_properties: size is limited to 50KB';
    }
    const contact = e['contact_properties'];
    if (contact !== undefined && (contact === null || typeof contact !== 'object' || Array.isArray(contact))) return 'contact_properties must be an object';
    return options.rejectEvent?.(e)?.message;
  }

  function createEvent(store: RecordStore, body: unknown): EmulatorReply {
    const problem = eventProblem(body);
    if (problem) return { status: 400, body: { code: 'invalid_parameter', message: problem } };
    keepEvent(store, body as Record<string, unknown>);
    return { status: 204 };
  }

  function createEvents(store: RecordStore, body: unknown): EmulatorReply {
    const events = (body as { events?: unknown } | undefined)?.events;
    if (!Array.isArray(events) || !events.length) return { status: 400, body: { code: 'missing_parameter', message: 'events: a non-empty list is required' } };
    if (events.length > maxBatch) return { status: 400, body: { code: 'invalid_parameter', message: `events: at most ${maxBatch} events per request` } };
    stats.maxBatchSeen = Math.max(stats.maxBatchSeen, events.length);
    const errors: BatchEventsAnswer['errors'][number][] = [];
    for (const [index, event] of events.entries()) {
      const problem = eventProblem(event);
      if (problem) errors.push({ eventIndex: [index], message: problem });
      else keepEvent(store, event as Record<string, unknown>);
    }
    if (!errors.length) return { status: 202, body: { message: 'Batch accepted. Valid events have been added to the processing queue.', count: events.length } };
    const answer: BatchEventsAnswer = { status: errors.length === events.length ? 'failed' : 'partial_success', total_events: events.length, successful_events: events.length - errors.length, failed_events: errors.length, errors };
    return { status: errors.length === events.length ? 400 : 207, body: answer };
  }

  function keepEvent(store: RecordStore, event: Record<string, unknown>): void {
    const events = store.object('events');
    events.set(String(events.size + 1), { ...event });
  }

  /** Imports waiting for their process to complete, by process id (not saved: an import lasts one session). */
  const processes = new Map<number, { status: 'queued' | 'in_process' | 'completed'; readonly body: ImportBody; readonly created: number; report?: ImportReport }>();
  let nextProcess = 1;

  function startImport(request: EmulatorRequest): EmulatorReply {
    if (request.body.length > IMPORT_MAX_BYTES) return { status: 400, body: { code: 'invalid_parameter', message: 'jsonBody: the maximum allowed size is 10MB' } };
    const body = (requestJson(request) ?? {}) as ImportBody;
    if (body.fileBody !== undefined || body.fileUrl !== undefined) return { status: 400, body: { code: 'invalid_parameter', message: 'the emulator imports jsonBody only' } };
    if (!Array.isArray(body.jsonBody) || !body.jsonBody.length) return { status: 400, body: { code: 'missing_parameter', message: 'fileUrl, fileBody or jsonBody is required' } };
    if (!(Array.isArray(body.listIds) && body.listIds.length) && body.newList === undefined) return { status: 400, body: { code: 'missing_parameter', message: 'listIds or newList is required' } };
    if (!body.listIds?.every((id) => Number.isInteger(id))) return { status: 400, body: { code: 'invalid_parameter', message: 'listIds: a list of list ids' } };
    const id = nextProcess++;
    processes.set(id, { status: 'queued', body, created: Date.now() });
    return { status: 202, body: { processId: id } };
  }

  /** The first poll sees the process in_process; the next one completes it (the import is applied then). */
  function pollProcess(store: RecordStore, id: number): EmulatorReply {
    const process = processes.get(id);
    if (!process) return { status: 404, body: { code: 'document_not_found', message: 'Process does not exist' } };
    if (process.status === 'queued') process.status = 'in_process';
    else if (process.status === 'in_process') complete(store, id);
    const answer: ProcessAnswer = { id, name: 'IMPORTUSER', status: process.status, ...(process.report ? { info: { import: process.report } } : {}) };
    return { status: 200, body: answer };
  }

  /** Imports nobody polled complete on their own, as Brevo's do, a while after they started. */
  function tick(store: RecordStore): void {
    for (const [id, p] of processes) if (p.status !== 'completed' && Date.now() - p.created > 5_000) complete(store, id);
  }

  function complete(store: RecordStore, id: number): void {
    const process = processes.get(id)!;
    const { body } = process;
    const invalidEmails: string[] = [];
    const duplicatePhones: string[] = [];
    for (const item of body.jsonBody ?? []) {
      const email = typeof item?.email === 'string' ? item.email.trim().toLowerCase() : undefined;
      if (!email || !isPlausibleEmail(email) || options.reject?.(email)) {
        invalidEmails.push(String(item?.email ?? ''));
        continue;
      }
      const existing = find(store, { email });
      if (existing && body.updateExistingContacts === false) continue;
      const attrs: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(item.attributes ?? {})) {
        // Empty values erase only with emptyContactsAttributes; read-only attributes are not imported.
        if ((value === '' || value === null) && body.emptyContactsAttributes !== true) continue;
        if (READ_ONLY_CATEGORIES.has(attributes.get(name)?.category ?? 'normal')) continue;
        attrs[name] = value;
      }
      const phone = phoneProblem(store, existing, attrs);
      if (phone) {
        duplicatePhones.push(email);
        continue;
      }
      apply(store, existing, { email, attributes: attrs, listIds: body.listIds });
    }
    const report = (name: string, rows: string[]) => (rows.length ? `${server.endpoint}/reports/${id}/${name}.csv` : null);
    process.status = 'completed';
    process.report = { invalid_emails: report('invalid_emails', invalidEmails), duplicate_phone_id: report('duplicate_phone_id', duplicatePhones) };
  }

  function addAttribute(category: string, name: string, body: unknown): EmulatorReply {
    const upper = name.toUpperCase();
    if (attributes.has(upper)) return { status: 400, body: { code: 'duplicate_parameter', message: 'Attribute name already exist' } };
    const type = (body as { type?: unknown } | undefined)?.type;
    if (category === 'normal' && !NORMAL_ATTRIBUTE_TYPES.includes(String(type))) return { status: 400, body: { code: 'invalid_parameter', message: `type: ${NORMAL_ATTRIBUTE_TYPES.join(', ')}` } };
    attributes.set(upper, { name: upper, type: String(type ?? 'text'), category });
    return { status: 201 };
  }

  const server = await EmulatorServer.start(api, { rateLimit: options.rateLimit ?? { requests: CONTACTS_RATE_LIMIT.perSecond, perMs: 1000 }, faults: options.faults });
  server.restore(options.saved);
  // Contact ids go on from the restored ones.
  for (const key of server.store.object('contacts').keys()) if (/^\d+$/.test(key)) nextId = Math.max(nextId, Number(key) + 1);
  return new BrevoEmulator(server, apiKey, attributes, stats);
}
