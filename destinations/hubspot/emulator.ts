import { randomBytes, randomUUID } from 'node:crypto';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, requestHeader, requestJson, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RateLimitSpec, type RecordStore } from '../emulator-kit/server.js';
import {
  ACCESS_TOKEN_LIFETIME_SECONDS,
  BAD_REFRESH_TOKEN,
  EVENT_MAX_PROPERTIES,
  EVENT_PROPERTY_NAME,
  EVENT_UUID_WINDOW_DAYS,
  EXPIRED_AUTHENTICATION,
  HUBSPOT_MAX_EVENT_BATCH,
  HUBSPOT_MAX_BATCH,
  INVALID_EMAIL,
  isValidHubSpotEmail,
  operationOf,
  PROPERTY_DOESNT_EXIST,
  RATE_HEADERS,
  RATE_POLICY,
  READ_ONLY_VALUE,
  QUALIFIED_EVENT_NAME,
  REFRESH_TOKEN_GRANT,
  TOKEN_PATH,
  TRACE_ID,
} from './protocol.js';

/**
 * A local HubSpot CRM (contacts, contact properties, list memberships) on both path families — date-versioned
 * `2026-03` and legacy `v3` (protocol.ts: `operationOf`) — strict where HubSpot is (protocol.ts has the rules and
 * their sources):
 *  - the OAuth token endpoint `POST /oauth/2026-03/token` when `oauth` is given: the refresh token grant (form body,
 *    the app's client id and secret, a refresh token not revoked), answering HubSpot's token model with `expires_in`;
 *    refusals 400 with `error`/`error_description` and HubSpot's `status`/`message`. An access token works for
 *    `accessTokenSeconds`, then the API answers 401 EXPIRED_AUTHENTICATION;
 *  - `Authorization: Bearer <token>` (a static key, or an access token it issued) or 401 INVALID_AUTHENTICATION;
 *  - at most 100 inputs per batch (400 VALIDATION_ERROR), the same id twice in one batch refused (400), an unknown
 *    or read-only property refused for the whole batch (400 VALIDATION_ERROR, PROPERTY_DOESNT_EXIST / READ_ONLY_VALUE);
 *  - per-record failures answered 207 Multi-Status `{status, results, errors[{category, context: {ids,
 *    objectWriteTraceId}}], numErrors}`; each result and error carries back the `objectWriteTraceId` of its input.
 *    Results come back in reverse order: HubSpot does not promise any order, so an adapter must match by trace id;
 *  - the ten-second rolling limit answered 429 `errorType: RATE_LIMIT, policyName: SECONDLY` with the
 *    X-HubSpot-RateLimit-* headers (also on every answer), and a daily limit answered with `policyName: DAILY`;
 *  - an e-mail address (the `email` property, or the id of an upsert by email) must pass HubSpot's documented
 *    validation (protocol.ts: RFC 2822, unquoted local part, a TLD), else the batch is a 400 VALIDATION_ERROR naming
 *    the value with INVALID_EMAIL;
 *  - property values held as strings, as HubSpot returns them; an empty string clears a property;
 *  - the GDPR delete of one contact (`…/contacts/gdpr-delete`, protocol.ts: GDPR_DELETE_DOC), answered 204: the contact
 *    leaves the account and its lists, its e-mail the blocklist; an unknown e-mail is blocklisted (204), an unknown
 *    record id a 404;
 *  - custom event occurrences (`/events/{2026-03,v3}/send` and `…/send/batch`, protocol.ts: eventPaths), answered 204
 *    with no body. Any bad occurrence refuses the whole request, 400 VALIDATION_ERROR, and nothing of it is kept:
 *    at most 500 per batch (HUBSPOT_MAX_EVENT_BATCH), a fully qualified `eventName` of a defined event
 *    (QUALIFIED_EVENT_NAME; `eventDefinitions`), an `email`, `objectId` or `utk`, an `occurredAt` that is a date-time
 *    or epoch milliseconds, at most 50 string properties with internal names the event defines (EVENT_MAX_PROPERTIES,
 *    EVENT_PROPERTY_NAME). An occurrence whose `uuid` its event already has from the last year is answered like the
 *    others and not kept (EVENT_DEDUPLICATION).
 * Contacts are kept in the object `contacts` by record id (`hs_object_id`); list members in `list:<listId>`; event
 * occurrences in `events`, in arrival order.
 */
export interface HubSpotPropertyDef {
  readonly name: string;
  /** HubSpot's types: string, number, date, datetime, enumeration, bool. */
  readonly type: string;
  readonly readOnly?: boolean;
  /** A unique property can be an `idProperty` for upserts. */
  readonly unique?: boolean;
}

/** The OAuth app the emulated account has installed, for the token endpoint. */
export interface HubSpotOAuthOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Refresh tokens issued to the app, valid until revoked. */
  readonly refreshTokens: readonly string[];
  /** Life of an access token in whole seconds (HubSpot: 1800). */
  readonly accessTokenSeconds?: number;
}

export interface HubSpotEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  /** A static key (service key or private app token) that never expires; random when absent. */
  readonly token?: string;
  /** The OAuth app, to serve the token endpoint. */
  readonly oauth?: HubSpotOAuthOptions;
  /** `tideline sandbox`: an OAuth app of its own, for `sandboxCredentials`. */
  readonly sandbox?: boolean;
  /** Contact properties beyond HubSpot's defaults (custom properties the account has). */
  readonly properties?: readonly HubSpotPropertyDef[];
  /** Default: 100 per 10 s (free and starter accounts). */
  readonly rateLimit?: RateLimitSpec;
  /** Requests allowed per day before 429 `policyName: DAILY` (default: unlimited). */
  readonly dailyLimit?: number;
  /** Inputs refused one by one (a 207), by their id. */
  readonly reject?: (id: string) => { readonly message: string } | undefined;
  readonly faults?: FaultPlan;
  /** Inputs per batch request (HubSpot: 100); more is a 400. */
  readonly maxBatchRecords?: number;
  /**
   * The custom events the account defines, by fully qualified name, with their properties' internal names. Absent
   * (the sandbox): any fully qualified name and property name is taken as defined.
   */
  readonly eventDefinitions?: readonly HubSpotEventDefinition[];
  /** Occurrences refused by their `uuid` (the whole request is then a 400, as HubSpot refuses it). */
  readonly rejectEvent?: (uuid: string) => { readonly message: string } | undefined;
}

/** A custom event definition: its fully qualified name (`pe12345_cart_abandoned`) and property names. */
export interface HubSpotEventDefinition {
  readonly fullyQualifiedName: string;
  readonly properties: readonly string[];
}

/** An event occurrence as the emulated account holds it. */
export interface HubSpotOccurrence {
  readonly eventName: string;
  readonly uuid: string | undefined;
  readonly email: string | undefined;
  readonly objectId: string | undefined;
  readonly utk: string | undefined;
  /** ISO-8601 UTC, milliseconds. */
  readonly occurredAt: string;
  readonly properties: Readonly<Record<string, string>>;
}


/** The contact properties every HubSpot account has (a representative subset), with the read-only system ones. */
const DEFAULT_PROPERTIES: readonly HubSpotPropertyDef[] = [
  { name: 'email', type: 'string', unique: true },
  { name: 'firstname', type: 'string' },
  { name: 'lastname', type: 'string' },
  { name: 'phone', type: 'string' },
  { name: 'mobilephone', type: 'string' },
  { name: 'company', type: 'string' },
  { name: 'website', type: 'string' },
  { name: 'jobtitle', type: 'string' },
  { name: 'city', type: 'string' },
  { name: 'state', type: 'string' },
  { name: 'country', type: 'string' },
  { name: 'zip', type: 'string' },
  { name: 'lifecyclestage', type: 'enumeration' },
  { name: 'hs_object_id', type: 'number', readOnly: true },
  { name: 'createdate', type: 'datetime', readOnly: true },
  { name: 'lastmodifieddate', type: 'datetime', readOnly: true },
  { name: 'hs_email_domain', type: 'string', readOnly: true },
];

/** What the emulated account saw, beyond its records. */
export interface HubSpotStats {
  /** Largest batch of inputs received. */
  maxBatchSeen: number;
  /** Requests to the token endpoint, and how many it refused. */
  tokenRequests: number;
  tokenRefusals: number;
  /** API requests refused 401 because their access token had expired. */
  expiredTokens: number;
  /** The forms the token endpoint received (tests compare them with HubSpot's SDK). */
  readonly tokenForms: URLSearchParams[];
}

export class HubSpotEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    readonly token: string,
    /** Contact properties by name (defaults, custom ones given at start, and those created through the API). */
    readonly properties: Map<string, HubSpotPropertyDef>,
    readonly stats: Readonly<HubSpotStats>,
    private readonly accessTokens: Map<string, number>,
    private readonly refreshTokens: Set<string>,
    private readonly sandbox: HubSpotOAuthOptions | undefined,
    /** E-mail addresses on the account's blocklist after a GDPR delete. */
    readonly blocklist: ReadonlySet<string>,
  ) {
    super(server);
  }

  /** Every access token the token endpoint issued, in order. */
  get issuedTokens(): string[] {
    return [...this.accessTokens.keys()];
  }

  /** Revokes a refresh token (the app uninstalled, say). */
  revoke(refreshToken: string): void {
    this.refreshTokens.delete(refreshToken);
  }

  /**
   * Credentials of the kind a config uses that this emulator accepts, for `tideline sandbox`: OAuth configs get the
   * sandbox's own app and refresh token, so a sandbox run renews tokens as the real one does.
   */
  sandboxCredentials(oauth: boolean): { token: string | undefined; client_id: string | undefined; client_secret: string | undefined; refresh_token: string | undefined } {
    if (!oauth || !this.sandbox) return { token: this.token, client_id: undefined, client_secret: undefined, refresh_token: undefined };
    return { token: undefined, client_id: this.sandbox.clientId, client_secret: this.sandbox.clientSecret, refresh_token: this.sandbox.refreshTokens[0] };
  }

  /** Contacts by record id, properties as strings. */
  contacts(): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
    return this.server.store.object('contacts');
  }

  /** Record ids in a list. */
  listMembers(listId: string): string[] {
    return [...this.server.store.object(`list:${listId}`).keys()];
  }

  /** Every event occurrence kept, in arrival order. */
  occurrences(): HubSpotOccurrence[] {
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    return [...this.server.store.object('events').values()].map((o) => ({
      eventName: String(o['eventName']),
      uuid: text(o['uuid']),
      email: text(o['email']),
      objectId: text(o['objectId']),
      utk: text(o['utk']),
      occurredAt: String(o['occurredAt']),
      properties: Object.fromEntries(Object.entries((o['properties'] ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)])),
    }));
  }
}

export async function startHubSpotEmulator(options: HubSpotEmulatorOptions = {}): Promise<HubSpotEmulator> {
  const token = options.token ?? `pat-na1-${randomBytes(16).toString('hex')}`;
  const properties = new Map([...DEFAULT_PROPERTIES, ...(options.properties ?? [])].map((p) => [p.name, p]));
  const rateLimit = options.rateLimit ?? { requests: 100, perMs: 10_000 };
  const maxBatch = options.maxBatchRecords ?? HUBSPOT_MAX_BATCH;
  const stats: HubSpotStats = { maxBatchSeen: 0, tokenRequests: 0, tokenRefusals: 0, expiredTokens: 0, tokenForms: [] };
  const sandbox: HubSpotOAuthOptions | undefined = options.sandbox
    ? { clientId: randomUUID(), clientSecret: randomUUID(), refreshTokens: [`na1-${randomBytes(4).toString('hex')}-${randomUUID()}`] }
    : undefined;
  const oauth = options.oauth ?? sandbox;
  const refreshTokens = new Set(oauth?.refreshTokens ?? []);
  /** Issued access tokens and when each expires (ms since the epoch). */
  const accessTokens = new Map<string, number>();
  const listIds = new Set<string>();
  /** E-mail addresses GDPR-deleted (HubSpot's blocklist). */
  const blocklist = new Set<string>();
  let nextId = 1001;
  let today = 0;
  const dailyHeaders = (): Record<string, string> =>
    options.dailyLimit === undefined ? {} : { [RATE_HEADERS.daily]: String(options.dailyLimit), [RATE_HEADERS.dailyRemaining]: String(Math.max(0, options.dailyLimit - today)) };

  const api: ApiContract = {
    authenticate: (request) => {
      if (request.path === TOKEN_PATH) return undefined;
      const presented = /^Bearer (.+)$/.exec(requestHeader(request, 'authorization') ?? '')?.[1];
      if (presented === token) return undefined;
      const expires = presented === undefined ? undefined : accessTokens.get(presented);
      if (expires !== undefined && Date.now() < expires) return undefined;
      if (expires !== undefined) {
        stats.expiredTokens++;
        const minutes = Math.floor((Date.now() - expires) / 60_000);
        return { status: 401, body: { status: 'error', message: `The OAuth token used to make this call expired ${minutes} minute(s) ago.`, correlationId: randomUUID(), category: EXPIRED_AUTHENTICATION } };
      }
      return error(401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview');
    },
    tooManyRequests: (state) => ({
      status: 429,
      headers: { [RATE_HEADERS.max]: String(state.limit), [RATE_HEADERS.remaining]: '0', [RATE_HEADERS.intervalMs]: String(rateLimit.perMs) },
      body: { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', correlationId: randomUUID(), category: 'RATE_LIMITS', policyName: RATE_POLICY.secondly },
    }),
    serverError: (status) => error(status, 'INTERNAL_ERROR', 'internal error'),
    rateHeaders: (state) => ({
      [RATE_HEADERS.max]: String(state.limit),
      [RATE_HEADERS.remaining]: String(state.remaining),
      [RATE_HEADERS.intervalMs]: String(rateLimit.perMs),
      ...dailyHeaders(),
    }),
    handle: (request, store) => {
      if (request.path === TOKEN_PATH) return tokenEndpoint(request);
      if (options.dailyLimit !== undefined && ++today > options.dailyLimit) {
        return {
          status: 429,
          headers: dailyHeaders(),
          body: { status: 'error', message: 'You have reached your daily limit.', errorType: 'RATE_LIMIT', correlationId: randomUUID(), category: 'RATE_LIMITS', policyName: RATE_POLICY.daily },
        };
      }
      return route(request, store);
    },
  };

  /**
   * `POST /oauth/2026-03/token`: the refresh token grant, as protocol.ts describes it. HubSpot documents the legacy
   * `status` of a bad refresh token (BAD_REFRESH_TOKEN); those of the other refusals are the emulator's stand-ins.
   */
  function tokenEndpoint(request: EmulatorRequest): EmulatorReply {
    stats.tokenRequests++;
    const refuse = (error: string, description: string, status: string): EmulatorReply => {
      stats.tokenRefusals++;
      return { status: 400, body: { status, message: description, correlationId: randomUUID(), error, error_description: description } };
    };
    if (request.method !== 'POST') return { status: 405, body: { status: 'error', message: 'Method not allowed', correlationId: randomUUID() } };
    if (request.query.size > 0) return refuse('invalid_request', 'parameters go in the request body, not the query', 'BAD_REQUEST');
    const form = new URLSearchParams(request.body.toString('utf8'));
    stats.tokenForms.push(form);
    if (form.get('grant_type') !== REFRESH_TOKEN_GRANT) return refuse('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token', 'BAD_GRANT_TYPE');
    if (!oauth || form.get('client_id') !== oauth.clientId) return refuse('invalid_client', 'missing or unknown client id', 'BAD_CLIENT_ID');
    if (form.get('client_secret') !== oauth.clientSecret) return refuse('invalid_client', 'missing or invalid client secret', 'BAD_CLIENT_SECRET');
    const refreshToken = form.get('refresh_token') ?? '';
    if (!refreshTokens.has(refreshToken)) return refuse(BAD_REFRESH_TOKEN.error, BAD_REFRESH_TOKEN.message, BAD_REFRESH_TOKEN.status);
    const lifetime = oauth.accessTokenSeconds ?? ACCESS_TOKEN_LIFETIME_SECONDS;
    const accessToken = `C${randomBytes(48).toString('base64url')}`;
    accessTokens.set(accessToken, Date.now() + lifetime * 1000);
    return { status: 200, body: { token_type: 'bearer', refresh_token: refreshToken, access_token: accessToken, expires_in: lifetime } };
  }

  function route(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    const operation = operationOf(request.method, request.path);
    switch (operation?.name) {
      case 'contacts-list':
        return { status: 200, body: { results: [...store.object('contacts').entries()].slice(0, 1).map(([id, p]) => view(id, p)) } };
      case 'properties-read':
        return { status: 200, body: { results: [...properties.values()].map(describeProperty) } };
      case 'properties-create':
        return createProperty(requestJson(request));
      case 'list-memberships':
        return memberships(store, operation.listId, requestJson(request));
      case 'gdpr-delete':
        return gdprDelete(store, requestJson(request));
      case 'batch-upsert':
      case 'batch-update':
      case 'batch-read':
      case 'batch-archive':
        return batch(store, operation.name, requestJson(request));
      case 'event-send':
        return sendEvents(store, [requestJson(request)]);
      case 'event-batch': {
        const inputs = requestJson<{ inputs?: unknown }>(request)?.inputs;
        if (!Array.isArray(inputs)) return error(400, 'VALIDATION_ERROR', 'Invalid input JSON: `inputs` must be a list');
        const limit = options.maxBatchRecords ?? HUBSPOT_MAX_EVENT_BATCH;
        if (inputs.length > limit) return error(400, 'VALIDATION_ERROR', `Batch input of ${inputs.length} inputs exceeds the limit of ${limit}`);
        stats.maxBatchSeen = Math.max(stats.maxBatchSeen, inputs.length);
        return sendEvents(store, inputs);
      }
      default:
        return error(404, 'OBJECT_NOT_FOUND', `no route for ${request.method} ${request.path}`);
    }
  }

  function batch(store: RecordStore, operation: 'batch-upsert' | 'batch-update' | 'batch-read' | 'batch-archive', json: unknown): EmulatorReply {
    const body = json as { inputs?: unknown; idProperty?: unknown } | undefined;
    if (!body || !Array.isArray(body.inputs)) return error(400, 'VALIDATION_ERROR', 'Invalid input JSON: `inputs` must be a list');
    if (body.inputs.length > maxBatch) return error(400, 'VALIDATION_ERROR', `Batch input of ${body.inputs.length} inputs exceeds the limit of ${maxBatch}`);
    stats.maxBatchSeen = Math.max(stats.maxBatchSeen, body.inputs.length);
    const inputs = body.inputs as Input[];
    switch (operation) {
      case 'batch-upsert':
        return upsert(store, inputs);
      case 'batch-update':
        return update(store, inputs);
      case 'batch-read':
        return read(store, inputs, body.idProperty);
      case 'batch-archive':
        for (const input of inputs) archive(store, String(input.id));
        return { status: 204 };
    }
  }

  /** The 400 HubSpot gives for a batch naming a property it cannot write, or undefined. */
  function propertyProblem(inputs: readonly { properties?: unknown }[]): EmulatorReply | undefined {
    const bad: { message: string; code: string; in: string }[] = [];
    for (const input of inputs) {
      for (const name of Object.keys((input.properties as Record<string, unknown> | undefined) ?? {})) {
        const def = properties.get(name);
        if (!def) bad.push({ message: `Property "${name}" does not exist`, code: PROPERTY_DOESNT_EXIST, in: name });
        else if (def.readOnly) bad.push({ message: `"${name}" is a read only property; its value cannot be set.`, code: READ_ONLY_VALUE, in: name });
      }
    }
    if (!bad.length) return undefined;
    const unique = [...new Map(bad.map((b) => [b.in, b])).values()];
    return error(400, 'VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify(unique)}`, unique);
  }

  /** The 400 HubSpot gives for a batch holding an e-mail address it refuses, or undefined. */
  function emailProblem(inputs: readonly { id?: unknown; idProperty?: unknown; properties?: unknown }[]): EmulatorReply | undefined {
    const values = inputs.flatMap((input) => [(input.properties as Record<string, unknown> | undefined)?.['email'], input.idProperty === 'email' ? input.id : undefined]);
    const bad = values.filter((v): v is string => typeof v === 'string' && v !== '' && !isValidHubSpotEmail(v.trim()));
    if (!bad.length) return undefined;
    const invalid = [...new Set(bad)].map((value) => ({ isValid: false, message: `Email address ${value} is invalid`, error: INVALID_EMAIL, name: 'email' }));
    return error(400, 'VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify(invalid)}`, invalid.map((i) => ({ message: i.message, code: INVALID_EMAIL, in: 'email' })));
  }

  function duplicateProblem(inputs: readonly { id?: unknown; idProperty?: unknown }[]): EmulatorReply | undefined {
    const seen = new Set<string>();
    const dupes = new Set<string>();
    for (const input of inputs) {
      const id = normaliseId(String(input.idProperty ?? 'hs_object_id'), String(input.id ?? ''));
      if (seen.has(id)) dupes.add(id);
      seen.add(id);
    }
    return dupes.size ? error(400, 'VALIDATION_ERROR', `Duplicate IDs found in batch input: [${[...dupes].join(', ')}]. IDs must be unique`) : undefined;
  }

  function findBy(store: RecordStore, idProperty: string, id: string): string | undefined {
    const contacts = store.object('contacts');
    if (idProperty === 'hs_object_id') return contacts.has(id) ? id : undefined;
    const wanted = normaliseId(idProperty, id);
    for (const [recordId, props] of contacts) if (props[idProperty] !== undefined && normaliseId(idProperty, String(props[idProperty])) === wanted) return recordId;
    return undefined;
  }

  function write(store: RecordStore, recordId: string | undefined, values: Record<string, unknown>): { id: string; created: boolean } {
    const contacts = store.object('contacts');
    const now = new Date().toISOString();
    const id = recordId ?? String(nextId++);
    const next: Record<string, unknown> = { ...(contacts.get(id) ?? { hs_object_id: id, createdate: now }) };
    for (const [name, value] of Object.entries(values)) {
      const text = value === null || value === undefined ? '' : String(value);
      if (text === '') delete next[name];
      else next[name] = name === 'email' ? text.toLowerCase() : text;
    }
    next['lastmodifieddate'] = now;
    contacts.set(id, next);
    if (!recordId) store.created('contacts', id);
    return { id, created: !recordId };
  }

  function upsert(store: RecordStore, inputs: readonly Input[]): EmulatorReply {
    for (const input of inputs) {
      const idProperty = String(input.idProperty ?? '');
      if (!properties.get(idProperty)?.unique) return error(400, 'VALIDATION_ERROR', `Unable to perform update/upsert by non-unique property "${idProperty}"`);
      if (typeof input.id !== 'string' || input.id === '') return error(400, 'VALIDATION_ERROR', 'every input needs an `id`');
    }
    const refused = duplicateProblem(inputs) ?? propertyProblem(inputs) ?? emailProblem(inputs);
    if (refused) return refused;
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const input of inputs) {
      const id = input.id as string;
      const idProperty = input.idProperty as string;
      const rejected = options.reject?.(id);
      if (rejected) {
        errors.push(recordError('VALIDATION_ERROR', rejected.message, input, [id]));
        continue;
      }
      const written = write(store, findBy(store, idProperty, id), { ...(input.properties as Record<string, unknown>), [idProperty]: id });
      results.push({ ...view(written.id, store.object('contacts').get(written.id)!, input), new: written.created });
    }
    return batchReply(results, errors);
  }

  function update(store: RecordStore, inputs: readonly Input[]): EmulatorReply {
    const refused = duplicateProblem(inputs) ?? propertyProblem(inputs) ?? emailProblem(inputs.map((input) => ({ properties: input.properties })));
    if (refused) return refused;
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const input of inputs) {
      const id = String(input.id);
      const recordId = findBy(store, String(input.idProperty ?? 'hs_object_id'), id);
      const rejected = options.reject?.(id);
      if (rejected) errors.push(recordError('VALIDATION_ERROR', rejected.message, input, [id]));
      else if (!recordId) errors.push(recordError('OBJECT_NOT_FOUND', 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.', input, [id]));
      else results.push(view(recordId, store.object('contacts').get(write(store, recordId, input.properties as Record<string, unknown>).id)!, input));
    }
    return batchReply(results, errors);
  }

  function read(store: RecordStore, inputs: readonly { id?: unknown }[], idProperty: unknown): EmulatorReply {
    const by = typeof idProperty === 'string' ? idProperty : 'hs_object_id';
    const results: unknown[] = [];
    const missing: string[] = [];
    for (const input of inputs) {
      const recordId = findBy(store, by, String(input.id));
      if (recordId) results.push(view(recordId, store.object('contacts').get(recordId)!));
      else missing.push(String(input.id));
    }
    return batchReply(results, missing.length ? [recordError('OBJECT_NOT_FOUND', 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.', {}, missing)] : []);
  }

  function archive(store: RecordStore, recordId: string): void {
    store.object('contacts').delete(recordId);
    for (const list of listIds) store.object(`list:${list}`).delete(recordId);
  }

  /**
   * The GDPR delete (protocol.ts: GDPR_DELETE_DOC): one contact by `objectId`, its record id or, with `idProperty`,
   * the value of a unique property. The contact leaves the account and every list, and its e-mail address goes on the
   * blocklist; an e-mail address the account does not hold is blocklisted and answered 204 as HubSpot documents. A
   * record id (or other unique value) it does not hold is a 404 OBJECT_NOT_FOUND (a second erasure).
   */
  function gdprDelete(store: RecordStore, json: unknown): EmulatorReply {
    const { objectId, idProperty } = (json ?? {}) as { objectId?: unknown; idProperty?: unknown };
    if (typeof objectId !== 'string' || objectId === '') return error(400, 'VALIDATION_ERROR', 'objectId: This property is required');
    if (idProperty !== undefined && (typeof idProperty !== 'string' || !properties.get(idProperty)?.unique)) return error(400, 'VALIDATION_ERROR', `idProperty ${String(idProperty)} is not a unique property of contacts`);
    const by = idProperty ?? 'hs_object_id';
    const recordId = findBy(store, by, objectId);
    if (recordId === undefined) {
      if (by !== 'email') return error(404, 'OBJECT_NOT_FOUND', `Could not find a CONTACT with ${by} ${by === 'hs_object_id' ? objectId : '(value not shown)'}`);
      blocklist.add(normaliseId('email', objectId));
      return { status: 204 };
    }
    const email = store.object('contacts').get(recordId)?.['email'];
    if (typeof email === 'string') blocklist.add(email);
    archive(store, recordId);
    return { status: 204 };
  }

  function memberships(store: RecordStore, listId: string, body: unknown): EmulatorReply {
    const { recordIdsToAdd = [], recordIdsToRemove = [] } = (body ?? {}) as { recordIdsToAdd?: unknown[]; recordIdsToRemove?: unknown[] };
    if (!Array.isArray(recordIdsToAdd) || !Array.isArray(recordIdsToRemove)) return error(400, 'VALIDATION_ERROR', 'recordIdsToAdd and recordIdsToRemove must be lists');
    if (recordIdsToAdd.length + recordIdsToRemove.length > 100_000) return error(400, 'VALIDATION_ERROR', 'too many record ids in one request');
    listIds.add(listId);
    const members = store.object(`list:${listId}`);
    const contacts = store.object('contacts');
    const added: string[] = [];
    const removed: string[] = [];
    const missing: string[] = [];
    for (const raw of recordIdsToAdd) {
      const id = String(raw);
      if (!contacts.has(id)) missing.push(id);
      else if (!members.has(id)) {
        members.set(id, { email: contacts.get(id)!['email'] ?? null });
        added.push(id);
      }
    }
    for (const raw of recordIdsToRemove) {
      const id = String(raw);
      if (members.delete(id)) removed.push(id);
      else if (!contacts.has(id)) missing.push(id);
    }
    return { status: 200, body: { recordsIdsAdded: added, recordIdsRemoved: removed, recordIdsMissing: missing } };
  }

  /** Event occurrences: every one valid, or a 400 and nothing kept; a `uuid` seen within a year is not kept again. */
  function sendEvents(store: RecordStore, inputs: readonly unknown[]): EmulatorReply {
    const valid: HubSpotOccurrence[] = [];
    for (const [index, input] of inputs.entries()) {
      const occurrence = readOccurrence(input);
      if (typeof occurrence === 'string') return error(400, 'VALIDATION_ERROR', `inputs[${index}]: ${occurrence}`);
      const refused = occurrence.uuid === undefined ? undefined : options.rejectEvent?.(occurrence.uuid);
      if (refused) return error(400, 'VALIDATION_ERROR', `inputs[${index}]: ${refused.message}`);
      valid.push(occurrence);
    }
    const events = store.object('events');
    const since = Date.now() - EVENT_UUID_WINDOW_DAYS * 86_400_000;
    const held = new Set([...events.values()].filter((e) => e['uuid'] !== undefined && Date.parse(String(e['received'])) >= since).map((e) => `${String(e['eventName'])} ${String(e['uuid'])}`));
    for (const occurrence of valid) {
      const identity = occurrence.uuid === undefined ? undefined : `${occurrence.eventName} ${occurrence.uuid}`;
      if (identity !== undefined && held.has(identity)) continue;
      if (identity !== undefined) held.add(identity);
      events.set(String(events.size + 1), { ...occurrence, received: new Date().toISOString() });
    }
    return { status: 204 };
  }

  /** An occurrence as HubSpot validates it (see the class comment), or what is wrong with it. */
  function readOccurrence(input: unknown): HubSpotOccurrence | string {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) return 'an occurrence must be an object';
    const o = input as Record<string, unknown>;
    const text = (key: string): string | undefined => (typeof o[key] === 'string' && o[key] !== '' ? (o[key] as string) : undefined);
    const eventName = text('eventName');
    if (!eventName) return 'eventName: This property is required';
    const definition = options.eventDefinitions?.find((d) => d.fullyQualifiedName === eventName);
    if (!QUALIFIED_EVENT_NAME.test(eventName) || (options.eventDefinitions && !definition)) return `Event ${eventName} does not exist (eventName is the fully qualified name, pe{HubID}_{name})`;
    if (!text('email') && !text('objectId') && !text('utk')) return 'an occurrence needs an identifier of its record: email, objectId or utk';
    const at = o['occurredAt'];
    const time = at === undefined ? Date.now() : typeof at === 'number' ? at : typeof at === 'string' ? (/^\d+$/.test(at) ? Number(at) : Date.parse(at)) : Number.NaN;
    if (!Number.isFinite(time)) return `occurredAt: ${JSON.stringify(at)} is neither an ISO 8601 date-time nor epoch milliseconds`;
    const properties = o['properties'] ?? {};
    if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return 'properties must be a map of property names to values';
    const entries = Object.entries(properties as Record<string, unknown>);
    if (entries.length > EVENT_MAX_PROPERTIES) return `an occurrence can contain data for up to ${EVENT_MAX_PROPERTIES} properties, got ${entries.length}`;
    for (const [name, value] of entries) {
      if (!EVENT_PROPERTY_NAME.test(name)) return `property ${name}: internal names are lower-case letters, digits and underscores, starting with a letter, at most 50`;
      if (definition && !definition.properties.includes(name)) return `property ${name} does not exist on event ${eventName}`;
      if (typeof value !== 'string') return `property ${name}: values are strings`;
    }
    return { eventName, uuid: text('uuid'), email: text('email')?.toLowerCase(), objectId: text('objectId'), utk: text('utk'), occurredAt: new Date(time).toISOString(), properties: Object.fromEntries(entries) as Record<string, string> };
  }

  function createProperty(body: unknown): EmulatorReply {
    const { name, type, fieldType, label, groupName } = (body ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(name)) return error(400, 'VALIDATION_ERROR', 'name must be lower-case letters, digits and underscores, starting with a letter');
    if (typeof type !== 'string' || typeof fieldType !== 'string' || typeof label !== 'string' || typeof groupName !== 'string') return error(400, 'VALIDATION_ERROR', 'name, label, type, fieldType and groupName are required');
    if (properties.has(name)) return error(409, 'OBJECT_ALREADY_EXISTS', `A property named '${name}' already exists.`);
    const def: HubSpotPropertyDef = { name, type, unique: (body as { hasUniqueValue?: boolean }).hasUniqueValue === true };
    properties.set(name, def);
    return { status: 201, body: describeProperty(def) };
  }

  const server = await EmulatorServer.start(api, { rateLimit, faults: options.faults });
  server.restore(options.saved);
  // Record ids go on from the restored ones.
  for (const key of server.store.object('contacts').keys()) if (/^\d+$/.test(key)) nextId = Math.max(nextId, Number(key) + 1);
  return new HubSpotEmulator(server, token, properties, stats, accessTokens, refreshTokens, sandbox, blocklist);
}

/** A property as HubSpot describes it (the SDK's `Property`: `description` and `options` are always there). */
function describeProperty(def: HubSpotPropertyDef) {
  return {
    name: def.name,
    label: def.name,
    description: '',
    options: [],
    type: def.type,
    fieldType: def.type === 'number' ? 'number' : def.type === 'enumeration' ? 'select' : 'text',
    groupName: 'contactinformation',
    hasUniqueValue: def.unique === true,
    calculated: false,
    modificationMetadata: { archivable: !def.readOnly, readOnlyDefinition: true, readOnlyValue: def.readOnly === true },
  };
}

/** An input of a batch, as the emulator reads it. */
interface Input {
  readonly id?: unknown;
  readonly idProperty?: unknown;
  readonly properties?: unknown;
  readonly objectWriteTraceId?: unknown;
}

/** A contact as a result, with the trace id of the input it answers (when it had one). */
function view(id: string, props: Readonly<Record<string, unknown>>, input: Input = {}) {
  const at = String(props['lastmodifieddate'] ?? new Date().toISOString());
  return { id, properties: { ...props }, createdAt: String(props['createdate'] ?? at), updatedAt: at, archived: false, ...traceOf(input) };
}

function traceOf(input: Input): { objectWriteTraceId?: string } {
  return typeof input.objectWriteTraceId === 'string' ? { [TRACE_ID]: input.objectWriteTraceId } : {};
}

function batchReply(results: unknown[], errors: unknown[]): EmulatorReply {
  const now = new Date().toISOString();
  const body = { status: 'COMPLETE', results: results.reverse(), startedAt: now, completedAt: now };
  return errors.length ? { status: 207, body: { ...body, errors, numErrors: errors.length } } : { status: 200, body };
}

/** A per-input error (the SDK's `StandardError`), naming its input by id and by trace id (protocol.ts: TRACE_ID). */
function recordError(category: string, message: string, input: Input, ids: string[]) {
  const trace = traceOf(input)[TRACE_ID];
  return { status: 'error', category, message, context: { ids, ...(trace === undefined ? {} : { [TRACE_ID]: [trace] }) }, links: {}, errors: [{ message, code: category }] };
}

function error(status: number, category: string, message: string, errors: { message: string; code?: string; in?: string }[] = []): EmulatorReply {
  return { status, body: { status: 'error', message, correlationId: randomUUID(), category, errors } };
}

/** How HubSpot compares ids: e-mail addresses case-insensitively. */
function normaliseId(idProperty: string, id: string): string {
  return idProperty === 'email' ? id.trim().toLowerCase() : id;
}
