import { z } from 'zod';
import type { LogicalType } from '../../src/dialects/dialect.js';
import { ApiClient, AuthError, BatchRejectedError, credentialName, defineDestination, parseJson, rejected, renewingToken, requestToken, requireListId, scrubbed, staticToken, stopSync, Outcomes, type AccessTokenSource, type Batch, type ConfigProblem, type DestinationSession, type FieldValue, type HttpResponse, type OutboundRecord, type RecordOutcome, type RemoteContext, type RemoteField, type SyncMode, type SyncShape } from '../kit/index.js';
import { HubSpotEmulator, startHubSpotEmulator } from './emulator.js';
import { API_VERSIONS, CRM_API_VERSIONS, crmPaths, DEFAULT_API_VERSION, EVENT_DEDUPLICATION, EVENTS_ERASURE, GDPR_DELETE_DOC, EVENT_MAX_PROPERTIES, EVENT_PROPERTY_NAME, eventPaths, HUBSPOT_MAX_BATCH, qualifiedEventName, INVALID_EMAIL, PROPERTY_DOESNT_EXIST, RATE_HEADERS, RATE_POLICY, RATE_WINDOW_MS, READ_ONLY_VALUE, REFRESH_TOKEN_GRANT, TOKEN_PATH, TRACE_ID, type BatchResponse, type ErrorBody } from './protocol.js';

const OAUTH_FIELDS = ['client_id', 'client_secret', 'refresh_token'] as const;

export const hubspotConfigSchema = z
  .strictObject({
    token: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A static key: a service key (Settings > Integrations > Service Keys, the replacement of private apps, which new accounts can no longer create since September 28, 2026 and older ones since October 26, 2026) or an existing legacy private app access token (`pat-…`, unsupported from September 2027), e.g. `${env:HUBSPOT_TOKEN}`. Scopes: crm.objects.contacts.read/write; crm.schemas.contacts.read/write for `validate --remote` and create_missing_fields; crm.lists.read/write for audience syncs. Or give the OAuth fields instead.',
      ),
    client_id: z.string().min(1).optional().describe("OAuth: the app's client ID (with `client_secret` and `refresh_token`; instead of `token`)."),
    client_secret: z.string().min(1).optional().describe("OAuth: the app's client secret, e.g. `${env:HUBSPOT_CLIENT_SECRET}`."),
    refresh_token: z
      .string()
      .min(1)
      .optional()
      .describe('OAuth: the refresh token the app got when installed in the account, e.g. `${env:HUBSPOT_REFRESH_TOKEN}`. Access tokens (30 minutes) are obtained from it at `/oauth/2026-03/token` and renewed a minute ahead of their expiry.'),
    api_version: z
      .enum(CRM_API_VERSIONS)
      .default(DEFAULT_API_VERSION)
      .describe("HubSpot's CRM API version: `2026-03` (date-versioned paths such as `/crm/objects/2026-03/contacts`, unsupported from 2027-09-30) or `v3` (the legacy `/crm/v3/` paths, unsupported from September 2027)."),
    base_url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default('https://api.hubapi.com').describe('The API root (also where tokens come from); the sandbox points it at the emulator.'),
    batch_size: z.number().int().min(1).max(HUBSPOT_MAX_BATCH).default(HUBSPOT_MAX_BATCH).describe('Inputs per batch request (HubSpot takes at most 100).'),
    requests_per_10_seconds: z.number().int().min(1).max(1000).default(100).describe("The app's rolling limit: 100 per 10 s on free and starter accounts, 190 on professional and enterprise."),
    portal_id: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        "Events syncs: the HubSpot account's ID (Hub ID), which qualifies event names that are not already fully qualified: an event named `Cart abandoned` is sent as `pe<portal_id>_cart_abandoned`. Without it, every event name must be the event's fully qualified name (`pe12345_cart_abandoned`, from Data Management > Custom Events or the event definitions API).",
      ),
  })
  .superRefine((config, ctx) => {
    const oauth = OAUTH_FIELDS.filter((f) => config[f] !== undefined);
    if (config.token !== undefined && oauth.length) {
      ctx.addIssue({ code: 'custom', path: [oauth[0]!], message: `\`${oauth[0]}\` is OAuth, but \`token\` (a static key) is given too: give exactly one kind of HubSpot credentials` });
    } else if (config.token === undefined && !oauth.length) {
      ctx.addIssue({ code: 'custom', path: [], message: 'no HubSpot credentials: give `token` (a service key or private app token), or OAuth: `client_id`, `client_secret` and `refresh_token`' });
    } else if (oauth.length && oauth.length < OAUTH_FIELDS.length) {
      const missing = OAUTH_FIELDS.filter((f) => config[f] === undefined);
      ctx.addIssue({ code: 'custom', path: [oauth[0]!], message: `OAuth needs ${missing.map((f) => `\`${f}\``).join(' and ')} too (client_id, client_secret and refresh_token)` });
    }
  });
export type HubSpotConfig = z.infer<typeof hubspotConfigSchema>;

/**
 * Objects: `contacts` (upsert, update and mirror, by the sync key's field as `idProperty`: `email` or a unique custom
 * property), `list:<listId>` (audience: contacts are upserted, then added to or removed from the MANUAL or
 * SNAPSHOT list by record id) and `events` (events: custom event occurrences, the event id as `uuid`). A mirror delete
 * archives the contact (HubSpot keeps it 90 days in the recycle bin). Paths are those of `api_version` (protocol.ts:
 * `crmPaths`, `eventPaths`).
 */
const MODES: readonly SyncMode[] = ['upsert', 'update', 'mirror', 'audience', 'events'];
const VENDOR = 'HubSpot';
/** The fields of an events sync that name the occurrence's contact (protocol.ts: eventPaths), by HubSpot's name. */
const EVENT_IDENTIFIERS = { email: 'email', object_id: 'objectId', utk: 'utk' } as const;
type EventIdentifier = keyof typeof EVENT_IDENTIFIERS;
const isEventIdentifier = (field: string): field is EventIdentifier => Object.hasOwn(EVENT_IDENTIFIERS, field);

export const hubspot = defineDestination<HubSpotConfig>({
  type: 'hubspot',
  summary: 'HubSpot CRM contacts (batch upsert by idProperty, archive), list memberships and custom event occurrences',
  configSchema: hubspotConfigSchema,
  modes: MODES,
  channel: 'crm',
  secrets: (config) => [config.token, config.client_secret, config.refresh_token].filter((s): s is string => s !== undefined),
  apiVersion: (config) => API_VERSIONS[config.api_version],
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    maxBatchBytes: 3_000_000,
    requestsPerSecond: config.requests_per_10_seconds / 10,
    concurrency: 4,
    timeoutMs: 60_000,
  }),
  // Erasing a person is HubSpot's GDPR delete of their contact (protocol.ts: GDPR_DELETE_DOC). A list member is a
  // contact Tideline upserted with its fields, so leaving the list would keep the person in HubSpot: it is deleted
  // too (and so leaves every list). Event occurrences cannot be deleted through the API (EVENTS_ERASURE).
  erasure: (config, sync) =>
    sync.mode === 'events' ? { manual: EVENTS_ERASURE } : { operation: 'forget', method: `HubSpot GDPR delete, one contact per call: POST ${crmPaths(config.api_version).gdprDelete} (${GDPR_DELETE_DOC})` },
  // HubSpot documents no oldest `occurredAt` it takes: no event is too old for it.
  events: { maxAgeDays: () => undefined, deduplication: EVENT_DEDUPLICATION },
  checkSync: (_config, sync) => {
    if (sync.mode === 'events') return checkEventsSync(sync);
    const problems: ConfigProblem[] = [];
    const list = /^list:\d+$/.test(sync.object);
    if (sync.mode === 'audience' && !list) problems.push({ at: ['object'], message: 'an audience sync to HubSpot names a list: `list:<listId>` (a MANUAL or SNAPSHOT list)' });
    if (sync.mode !== 'audience' && sync.object !== 'contacts') problems.push({ at: ['object'], message: `HubSpot objects: \`contacts\`, \`list:<listId>\` for audience syncs, or \`events\` for events syncs; got "${sync.object}"` });
    for (const field of [sync.keyField, ...sync.fields]) {
      if (!/^[a-z][a-z0-9_]*$/.test(field)) problems.push({ at: field === sync.keyField ? ['key'] : ['fields', field], message: `"${field}" is not a HubSpot property internal name (lower-case letters, digits and underscores)` });
    }
    return problems;
  },
  lockScope: (config, object) => `hubspot:${new URL(config.base_url).host}#${object}`,
  open: async (config, context) => new HubSpotSession(hubspotClient(config, context.destination), crmPaths(config.api_version), context.nullPolicy, { paths: eventPaths(config.api_version), portalId: config.portal_id }),
  remoteFields: async (config, _object, context) => properties(hubspotClient(config, context.destination), crmPaths(config.api_version), context),
  createField: async (config, _object, field, context) => createProperty(hubspotClient(config, context.destination), crmPaths(config.api_version), field, context),
  emulator: {
    start: (context) => startHubSpotEmulator({ saved: context.saved, sandbox: true }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof HubSpotEmulator)) throw new Error('the hubspot sandbox needs a hubspot emulator');
      return { ...config, base_url: emulator.endpoint, ...emulator.sandboxCredentials(config.token === undefined) };
    },
  },
});

type Paths = ReturnType<typeof crmPaths>;

/** What an events session needs: the send paths of its version, and the portal that qualifies event names. */
interface EventSetup {
  readonly paths: ReturnType<typeof eventPaths>;
  readonly portalId: number | undefined;
}

/**
 * An events sync: object `events`, the event id as `uuid` (HubSpot's de-duplication key), a field naming the contact
 * (`email`, `object_id` or `utk`), and at most 50 other fields, each an event property's internal name (protocol.ts:
 * EVENT_MAX_PROPERTIES, EVENT_PROPERTY_NAME).
 */
function checkEventsSync(sync: SyncShape): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (sync.object !== 'events') problems.push({ at: ['object'], message: `a HubSpot events sync sends custom event occurrences: object \`events\`; got "${sync.object}"` });
  if (sync.keyField !== 'uuid') problems.push({ at: ['key'], message: `the event id of a HubSpot events sync fills \`uuid\` (HubSpot keeps the first occurrence of a uuid), not "${sync.keyField}"` });
  if (!sync.fields.some(isEventIdentifier)) problems.push({ at: ['fields'], message: 'a HubSpot event names its contact: map `email`, `object_id` (the contact record id) or `utk`' });
  const properties = sync.fields.filter((f) => !isEventIdentifier(f));
  for (const field of properties) {
    if (!EVENT_PROPERTY_NAME.test(field)) problems.push({ at: ['fields', field], message: `"${field}" is not a HubSpot event property internal name (lower-case letters, digits and underscores, at most 50)` });
  }
  if (properties.length > EVENT_MAX_PROPERTIES) problems.push({ at: ['fields'], message: `HubSpot takes at most ${EVENT_MAX_PROPERTIES} properties per event occurrence; this sync maps ${properties.length}` });
  return problems;
}

/**
 * The session's tokens: the static key as it is, or OAuth access tokens from the refresh token, each renewed ahead
 * of the expiry HubSpot gives with it (`expires_in`), or on a 401.
 */
function hubspotTokens(config: HubSpotConfig, destination: string | undefined): AccessTokenSource {
  if (config.token !== undefined) return staticToken(config.token, credentialName('token', destination, 'hubspot'));
  const credential = credentialName('refresh_token', destination, 'hubspot');
  const url = `${config.base_url.replace(/\/$/, '')}${TOKEN_PATH}`;
  return renewingToken({
    credential,
    obtain: async (signal) => {
      const obtainedAt = Date.now();
      const body = await requestToken(url, { grant_type: REFRESH_TOKEN_GRANT, client_id: config.client_id!, client_secret: config.client_secret!, refresh_token: config.refresh_token! }, credential, signal);
      const token = body['access_token'];
      const expiresIn = body['expires_in'];
      if (typeof token !== 'string' || token === '') throw new AuthError(`getting an access token with ${credential}: HubSpot's answer has no access_token`);
      return { token, expiresAt: typeof expiresIn === 'number' && expiresIn > 0 ? obtainedAt + expiresIn * 1000 : undefined };
    },
  });
}

/** HubSpot as the kit's client: its tokens, its 429s (the window's length, or a spent day), its refusals. */
function hubspotClient(config: HubSpotConfig, destination: string | undefined): ApiClient {
  return new ApiClient({
    vendor: 'hubspot',
    baseUrl: config.base_url,
    tokens: hubspotTokens(config, destination),
    rateLimit: (response) => {
      if (parseJson<ErrorBody>(response.text)?.policyName === RATE_POLICY.daily) {
        throw stopSync(`HubSpot answered 429: the HubSpot account's daily API limit is spent (${response.headers.get(RATE_HEADERS.daily) ?? 'unknown'} requests); the sync stops and the rest is sent by a run after midnight (the account's time zone)`);
      }
      const interval = Number(response.headers.get(RATE_HEADERS.intervalMs));
      return Number.isFinite(interval) && interval > 0 ? interval : RATE_WINDOW_MS;
    },
    detail: detailOf,
    refused: (response, what) => {
      const error = parseJson<ErrorBody>(response.text);
      if (unwritable(error).length) return stopSync(`${what}; fix the mapping, or check it with \`tideline validate --remote\``);
      // An invalid e-mail address refuses the whole batch: the engine splits it down to the record.
      if (invalidEmail(error)) return new BatchRejectedError(what, 'invalid_email');
      if (response.status === 404) return stopSync(`${what}: not a HubSpot API path (check base_url and api_version)`);
      return error?.category ? new BatchRejectedError(what, error.category.toLowerCase()) : undefined;
    },
  });
}

/** Properties HubSpot cannot write that a refused batch names. */
function unwritable(error: ErrorBody | undefined) {
  return error?.errors?.filter((e) => e.code === PROPERTY_DOESNT_EXIST || e.code === READ_ONLY_VALUE) ?? [];
}

function invalidEmail(error: ErrorBody | undefined): boolean {
  return error?.errors?.some((e) => e.code === INVALID_EMAIL) === true || (error?.message ?? '').includes(INVALID_EMAIL);
}

/** HubSpot's error, for messages: the unwritable properties by name; an invalid address never quoted. */
function detailOf(response: HttpResponse): string {
  const error = parseJson<ErrorBody>(response.text);
  const bad = unwritable(error);
  if (bad.length) return `${bad.map((e) => `${e.in} ${e.code === READ_ONLY_VALUE ? 'is read-only' : 'does not exist'}`).join(', ')} on HubSpot contacts`;
  if (invalidEmail(error)) return `HubSpot refuses an e-mail address as invalid (${INVALID_EMAIL})`;
  return error?.message ?? '';
}

async function properties(client: ApiClient, paths: Paths, context: RemoteContext): Promise<RemoteField[]> {
  const body = await client.json<{ results?: { name: string; type?: string; calculated?: boolean; modificationMetadata?: { readOnlyValue?: boolean } }[] }>('GET', paths.properties, { signal: context.signal });
  return (body?.results ?? []).map((p) => ({ name: p.name, type: p.type, readOnly: p.modificationMetadata?.readOnlyValue === true || p.calculated === true }));
}

async function createProperty(client: ApiClient, paths: Paths, field: { readonly name: string; readonly type: LogicalType | undefined }, context: RemoteContext): Promise<void> {
  const [type, fieldType] = propertyType(field.type);
  await client.request('POST', paths.properties, { body: { name: field.name, label: field.name, type, fieldType, groupName: 'contactinformation' }, signal: context.signal });
}

/** HubSpot's type and field type for a model column's logical type. */
function propertyType(type: LogicalType | undefined): [string, string] {
  switch (type) {
    case 'integer':
    case 'float':
    case 'decimal':
      return ['number', 'number'];
    case 'date':
      return ['date', 'date'];
    case 'timestamp':
      return ['datetime', 'date'];
    case 'boolean':
      return ['enumeration', 'booleancheckbox'];
    default:
      return ['string', 'text'];
  }
}

class HubSpotSession implements DestinationSession {
  constructor(
    private readonly client: ApiClient,
    private readonly paths: Paths,
    private readonly nullPolicy: 'skip' | 'overwrite',
    private readonly events: EventSetup,
  ) {}

  async check(): Promise<void> {
    await this.client.request('GET', this.paths.contacts, { query: { limit: 1 }, signal: AbortSignal.timeout(30_000) });
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    switch (batch.operation) {
      case 'upsert':
      case 'update':
        return this.write(batch, batch.operation);
      case 'add':
        return this.add(batch);
      case 'delete':
        return this.archive(batch);
      case 'remove':
        return this.removeFromList(batch);
      case 'insert':
        throw stopSync('HubSpot syncs do not take mode insert: use upsert (batch/create cannot be retried safely)');
      case 'track':
        return this.track(batch);
      case 'forget':
        return this.forget(batch);
    }
  }

  /** Keys this session has erased: a batch sent again after a 429 or a timeout skips them. */
  private readonly erased = new Set<string>();

  /**
   * Erasure: HubSpot's GDPR delete, one contact per call (protocol.ts: GDPR_DELETE_DOC). The contact is named by the
   * record id Tideline was given when it wrote it, so that an e-mail changed in HubSpot since still finds it; when the
   * id is unknown or no longer there (a merge, or erased already), by the sync key as `idProperty` — an e-mail HubSpot
   * does not hold is then put on its blocklist, and a 404 means nothing of the person is left. A 429 or a failure
   * part-way throws for the whole batch, as for any request; what was erased is not asked again by this session.
   */
  private async forget(batch: Batch): Promise<RecordOutcome[]> {
    for (const record of batch.records) {
      if (this.erased.has(record.key)) continue;
      const byId = record.destinationId ? await this.gdprDelete({ objectId: record.destinationId }, batch.signal) : false;
      if (!byId) await this.gdprDelete({ objectId: normaliseId(batch.keyField, record.key), idProperty: batch.keyField }, batch.signal);
      this.erased.add(record.key);
    }
    return batch.records.map(() => ({ ok: true }));
  }

  /** One GDPR delete: true when HubSpot deleted (or blocklisted) it, false when it holds no such contact (404). */
  private async gdprDelete(body: { objectId: string; idProperty?: string }, signal: AbortSignal): Promise<boolean> {
    const response = await this.client.request('POST', this.paths.gdprDelete, { body, accept: [404], signal });
    return response.status !== 404;
  }

  /**
   * Events: one batch send of the occurrences (protocol.ts: eventPaths). HubSpot answers 204 for the whole batch and
   * refuses it whole when one occurrence is bad (no outcome per occurrence): the client's refusal is then a
   * BatchRejectedError, which the engine splits down to the occurrence. The event id is the occurrence's `uuid`, so
   * a resend after a crash is dropped by HubSpot (EVENT_DEDUPLICATION).
   */
  private async track(batch: Batch): Promise<RecordOutcome[]> {
    const outcomes = new Outcomes(batch, VENDOR);
    const sent: number[] = [];
    const inputs: Record<string, unknown>[] = [];
    for (const { index, record } of outcomes.distinct()) {
      const occurrence = this.occurrence(record);
      if (occurrence.ok) {
        sent.push(index);
        inputs.push(occurrence.input);
      } else outcomes.settle(index, rejected(occurrence.code, occurrence.message));
    }
    if (inputs.length) await this.client.request('POST', this.events.paths.batch, { body: { inputs }, signal: batch.signal });
    for (const index of sent) outcomes.settle(index, { ok: true });
    return outcomes.done();
  }

  /** An occurrence as HubSpot takes it, or why the record cannot be one. */
  private occurrence(record: OutboundRecord): { readonly ok: true; readonly input: Record<string, unknown> } | { readonly ok: false; readonly code: string; readonly message: string } {
    if (!record.event) return { ok: false, code: 'not_an_event', message: 'a track record without its event (name and time)' };
    const eventName = qualifiedEventName(record.event.name, this.events.portalId);
    if (!eventName) return { ok: false, code: 'invalid_event_name', message: 'the event name is not a fully qualified HubSpot name (pe<HubID>_<name>): set `portal_id` on the destination to qualify it' };
    const contact: Record<string, string> = {};
    const properties: Record<string, string> = {};
    for (const [name, value] of Object.entries(record.fields)) {
      // An event property without a value is left out: occurrences are never updated, so there is nothing to clear.
      if (value === null || value === '') continue;
      if (isEventIdentifier(name)) contact[EVENT_IDENTIFIERS[name]] = name === 'email' ? normaliseId('email', String(value)) : String(value);
      else properties[name] = text(value);
    }
    if (!Object.keys(contact).length) return { ok: false, code: 'missing_identifier', message: 'the event has no email, object_id or utk: HubSpot cannot tell whose it is' };
    return { ok: true, input: { eventName, occurredAt: record.event.time, uuid: record.key, ...contact, properties } };
  }

  async close(): Promise<void> {}

  /**
   * Batch upsert or update by idProperty. Each input carries its record's index as `objectWriteTraceId`; results and
   * 207 errors are matched by it (protocol.ts: TRACE_ID), whatever their order. A record nothing names is retried.
   */
  private async write(batch: Batch, operation: 'upsert' | 'update'): Promise<RecordOutcome[]> {
    const idProperty = batch.keyField;
    const outcomes = new Outcomes(batch, VENDOR);
    const sent = outcomes.distinct((record) => normaliseId(idProperty, record.key));
    if (!sent.length) return outcomes.done();
    const inputs = sent.map(({ index, record }) => ({ id: normaliseId(idProperty, record.key), idProperty, [TRACE_ID]: String(index), properties: this.properties(record) }));
    const body = await this.client.json<BatchResponse>('POST', this.paths.batch(operation), { body: { inputs }, signal: batch.signal });
    const traced = new Map(sent.map(({ index }) => [String(index), index]));
    for (const result of body?.results ?? []) {
      const index = result.objectWriteTraceId === undefined ? undefined : traced.get(result.objectWriteTraceId);
      if (index !== undefined) outcomes.settle(index, { ok: true, destinationId: result.id });
    }
    for (const error of body?.errors ?? []) {
      const category = (error.category ?? 'error').toLowerCase();
      const outcome: RecordOutcome =
        category === 'rate_limits'
          ? { ok: false, code: category, message: scrubbed(error.message ?? 'rate limited by HubSpot'), retryable: true }
          : rejected(category === 'object_not_found' ? 'not_found' : category, scrubbed(error.message ?? 'refused by HubSpot'));
      for (const trace of error.context?.[TRACE_ID] ?? []) {
        const index = traced.get(trace);
        if (index !== undefined) outcomes.settle(index, outcome);
      }
    }
    return outcomes.done();
  }

  /** Audience add: the contacts are upserted (so that they exist, with their fields), then their record ids added. */
  private async add(batch: Batch): Promise<RecordOutcome[]> {
    const listId = requireListId(batch.object, VENDOR);
    const upserted = await this.write({ ...batch, operation: 'upsert' }, 'upsert');
    const ids = upserted.flatMap((o) => (o.ok && o.destinationId ? [o.destinationId] : []));
    if (!ids.length) return upserted;
    const missing = new Set((await this.memberships(listId, { recordIdsToAdd: ids, recordIdsToRemove: [] }, batch.signal)).recordIdsMissing?.map(String));
    return upserted.map((o) => (o.ok && o.destinationId && missing.has(o.destinationId) ? { ok: false, code: 'not_found', message: 'HubSpot could not find the contact to add to the list', retryable: true } : o));
  }

  private async memberships(listId: string, body: { recordIdsToAdd: string[]; recordIdsToRemove: string[] }, signal: AbortSignal): Promise<{ recordIdsMissing?: string[] }> {
    const response = await this.client.request('PUT', this.paths.memberships(listId), { body, accept: [404], signal });
    if (response.status === 404) throw stopSync(`HubSpot has no list ${listId} (or it is not a MANUAL or SNAPSHOT list)`);
    return parseJson<{ recordIdsMissing?: string[] }>(response.text) ?? {};
  }

  /** Record ids of the batch: kept in the snapshot (destinationId), else looked up by idProperty (absent: undefined). */
  private async recordIds(batch: Batch): Promise<(string | undefined)[]> {
    const ids: (string | undefined)[] = batch.records.map((r) => r.destinationId ?? undefined);
    const unknown = batch.records.flatMap((r, i) => (ids[i] === undefined ? [normaliseId(batch.keyField, r.key)] : []));
    if (!unknown.length) return ids;
    // A read matches by the key's value HubSpot holds: reads take no trace id (SimplePublicObjectId is `id` only).
    const body = await this.client.json<BatchResponse>('POST', this.paths.batch('read'), {
      body: { idProperty: batch.keyField, properties: [batch.keyField], propertiesWithHistory: [], inputs: [...new Set(unknown)].map((id) => ({ id })) },
      signal: batch.signal,
    });
    const found = new Map<string, string>();
    for (const result of body?.results ?? []) {
      const value = result.properties?.[batch.keyField];
      if (value) found.set(normaliseId(batch.keyField, value), result.id);
    }
    return batch.records.map((r, i) => ids[i] ?? found.get(normaliseId(batch.keyField, r.key)));
  }

  /** Mirror delete: archive by record id (HubSpot answers 204 whatever the prior state). A contact not found is gone already. */
  private async archive(batch: Batch): Promise<RecordOutcome[]> {
    const ids = await this.recordIds(batch);
    const known = [...new Set(ids.filter((id): id is string => id !== undefined))];
    if (known.length) await this.client.request('POST', this.paths.batch('archive'), { body: { inputs: known.map((id) => ({ id })) }, signal: batch.signal });
    return batch.records.map(() => ({ ok: true }));
  }

  private async removeFromList(batch: Batch): Promise<RecordOutcome[]> {
    const listId = requireListId(batch.object, VENDOR);
    const ids = await this.recordIds(batch);
    const known = [...new Set(ids.filter((id): id is string => id !== undefined))];
    if (known.length) await this.memberships(listId, { recordIdsToAdd: [], recordIdsToRemove: known }, batch.signal);
    // A contact that is not in the list (or no longer exists) is where a removal wants it.
    return batch.records.map(() => ({ ok: true }));
  }

  /** Property values as HubSpot takes them: text; under `null_policy: overwrite` a null clears the property (""). */
  private properties(record: OutboundRecord): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(record.fields)) {
      if (value === null && this.nullPolicy === 'skip') continue;
      out[name] = text(value);
    }
    return out;
  }
}

function text(value: FieldValue): string {
  return value === null ? '' : String(value);
}

/** HubSpot matches e-mail addresses case-insensitively and stores them lower-cased. */
function normaliseId(idProperty: string, id: string): string {
  return idProperty === 'email' ? id.trim().toLowerCase() : id;
}
