import { z } from 'zod';
import type { LogicalType } from '../../src/dialects/dialect.js';
import { redactor } from '../../src/log/redact.js';
import {
  AuthError,
  BatchRejectedError,
  defineDestination,
  RateLimitedError,
  StopSyncError,
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
import { credentialName, renewingToken, requestToken, sendWithToken, staticToken, type AccessTokenSource } from '../credentials.js';
import { describeRequest, raiseForCommonStatus, scrubEmails, type HttpRequest, type HttpResponse } from '../http.js';
import { HubSpotEmulator, startHubSpotEmulator } from './emulator.js';
import { CRM_API_VERSION, HUBSPOT_MAX_BATCH, INVALID_EMAIL, REFRESH_TOKEN_GRANT, TOKEN_PATH } from './protocol.js';

const OAUTH_FIELDS = ['client_id', 'client_secret', 'refresh_token'] as const;

export const hubspotConfigSchema = z
  .strictObject({
    token: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A static key: a service key (Settings > Integrations > Service Keys, the replacement of private apps) or a legacy private app access token (`pat-…`, unsupported from September 2027), e.g. `${env:HUBSPOT_TOKEN}`. Scopes: crm.objects.contacts.read/write; crm.schemas.contacts.read/write for `validate --remote` and create_missing_fields; crm.lists.read/write for audience syncs. Or give the OAuth fields instead.',
      ),
    client_id: z.string().min(1).optional().describe("OAuth: the app's client ID (with `client_secret` and `refresh_token`; instead of `token`)."),
    client_secret: z.string().min(1).optional().describe("OAuth: the app's client secret, e.g. `${env:HUBSPOT_CLIENT_SECRET}`."),
    refresh_token: z
      .string()
      .min(1)
      .optional()
      .describe('OAuth: the refresh token the app got when installed in the account, e.g. `${env:HUBSPOT_REFRESH_TOKEN}`. Access tokens (30 minutes) are obtained from it at `/oauth/2026-03/token` and renewed a minute ahead of their expiry.'),
    base_url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default('https://api.hubapi.com').describe('The API root (also where tokens come from); the sandbox points it at the emulator.'),
    batch_size: z.number().int().min(1).max(HUBSPOT_MAX_BATCH).default(HUBSPOT_MAX_BATCH).describe('Inputs per batch request (HubSpot takes at most 100).'),
    requests_per_10_seconds: z.number().int().min(1).max(1000).default(100).describe("The app's rolling limit: 100 per 10 s on free and starter accounts, 190 on professional and enterprise."),
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
 * property) and `list:<listId>` (audience: contacts are upserted, then added to or removed from the MANUAL or
 * SNAPSHOT list by record id). A mirror delete archives the contact (HubSpot keeps it 90 days in the recycle bin).
 */
const MODES: readonly SyncMode[] = ['upsert', 'update', 'mirror', 'audience'];
const LIST = /^list:(\d+)$/;

export const hubspot = defineDestination<HubSpotConfig>({
  type: 'hubspot',
  summary: 'HubSpot CRM contacts (batch upsert by idProperty, archive) and list memberships',
  configSchema: hubspotConfigSchema,
  modes: MODES,
  secrets: (config) => [config.token, config.client_secret, config.refresh_token].filter((s): s is string => s !== undefined),
  apiVersion: () => CRM_API_VERSION,
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    maxBatchBytes: 3_000_000,
    requestsPerSecond: config.requests_per_10_seconds / 10,
    concurrency: 4,
    timeoutMs: 60_000,
  }),
  checkSync: (_config, sync) => {
    const problems: ConfigProblem[] = [];
    const list = LIST.test(sync.object);
    if (sync.mode === 'audience' && !list) problems.push({ at: ['object'], message: 'an audience sync to HubSpot names a list: `list:<listId>` (a MANUAL or SNAPSHOT list)' });
    if (sync.mode !== 'audience' && sync.object !== 'contacts') problems.push({ at: ['object'], message: `HubSpot objects: \`contacts\`, or \`list:<listId>\` for audience syncs; got "${sync.object}"` });
    for (const field of [sync.keyField, ...sync.fields]) {
      if (!/^[a-z][a-z0-9_]*$/.test(field)) problems.push({ at: field === sync.keyField ? ['key'] : ['fields', field], message: `"${field}" is not a HubSpot property internal name (lower-case letters, digits and underscores)` });
    }
    return problems;
  },
  lockScope: (config, object) => `hubspot:${new URL(config.base_url).host}#${object}`,
  open: async (config, context) => new HubSpotSession(new HubSpotClient(config, hubspotTokens(config, context.destination)), context.nullPolicy),
  remoteFields: async (config, _object, context) => new HubSpotClient(config, hubspotTokens(config, context.destination)).properties(context),
  createField: async (config, _object, field, context) => new HubSpotClient(config, hubspotTokens(config, context.destination)).createProperty(field, context),
  emulator: {
    start: (context) => startHubSpotEmulator({ saved: context.saved, sandbox: true }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof HubSpotEmulator)) throw new Error('the hubspot sandbox needs a hubspot emulator');
      return { ...config, base_url: emulator.endpoint, ...emulator.sandboxCredentials(config.token === undefined) };
    },
  },
});

/** HubSpot's batch answer (200 or 207). */
interface BatchResponse {
  readonly results?: readonly { readonly id: string; readonly properties?: Readonly<Record<string, string | null>> }[];
  readonly errors?: readonly { readonly category?: string; readonly message?: string; readonly context?: { readonly ids?: readonly string[] } }[];
}

/** HubSpot's error envelope. */
interface ErrorBody {
  readonly message?: string;
  readonly category?: string;
  readonly policyName?: string;
  readonly errors?: readonly { readonly message?: string; readonly code?: string; readonly in?: string }[];
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

/** The requests Tideline makes to HubSpot, with HubSpot's failures turned into the typed errors. */
class HubSpotClient {
  constructor(
    private readonly config: HubSpotConfig,
    private readonly tokens: AccessTokenSource,
  ) {}

  async call(method: HttpRequest['method'], path: string, body: unknown, signal: AbortSignal): Promise<HttpResponse> {
    const request: HttpRequest = {
      method,
      url: `${this.config.base_url.replace(/\/$/, '')}${path}`,
      headers: { 'content-type': 'application/json', 'user-agent': 'tideline-hubspot' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    };
    const response = await sendWithToken(this.tokens, request);
    if (response.status === 429) {
      const error = parse<ErrorBody>(response.text);
      if (error?.policyName === 'DAILY') {
        throw new StopSyncError(`${describeRequest(request)} answered 429: the HubSpot account's daily API limit is spent (${response.headers.get('x-hubspot-ratelimit-daily') ?? 'unknown'} requests); the sync stops and the rest is sent by a run after midnight (the account's time zone)`);
      }
      const interval = Number(response.headers.get('x-hubspot-ratelimit-interval-milliseconds'));
      throw new RateLimitedError(`${describeRequest(request)} answered 429 (${error?.policyName ?? 'rate limit'})`, Number.isFinite(interval) && interval > 0 ? interval : 10_000);
    }
    raiseForCommonStatus(request, response);
    if (response.status >= 400 && response.status !== 404) {
      const error = parse<ErrorBody>(response.text);
      const unwritable = error?.errors?.filter((e) => e.code === 'PROPERTY_DOESNT_EXIST' || e.code === 'READ_ONLY_VALUE') ?? [];
      if (unwritable.length) {
        throw new StopSyncError(`${describeRequest(request)} answered ${response.status}: ${unwritable.map((e) => `${e.in} ${e.code === 'READ_ONLY_VALUE' ? 'is read-only' : 'does not exist'}`).join(', ')} on HubSpot contacts; fix the mapping, or check it with \`tideline validate --remote\``);
      }
      // An invalid e-mail address refuses the whole batch: the engine splits it down to the record.
      const invalidEmail = error?.errors?.some((e) => e.code === INVALID_EMAIL) === true || (error?.message ?? '').includes(INVALID_EMAIL);
      if (invalidEmail) throw new BatchRejectedError(`${describeRequest(request)} answered ${response.status}: HubSpot refuses an e-mail address as invalid (${INVALID_EMAIL})`, 'invalid_email');
      throw new BatchRejectedError(redactor.scrub(scrubEmails(`${describeRequest(request)} answered ${response.status}: ${error?.message ?? 'refused'}`)), (error?.category ?? `http_${response.status}`).toLowerCase());
    }
    return response;
  }

  async properties(context: RemoteContext): Promise<RemoteField[]> {
    const response = await this.call('GET', '/crm/v3/properties/contacts', undefined, context.signal);
    const body = parse<{ results?: { name: string; type?: string; calculated?: boolean; modificationMetadata?: { readOnlyValue?: boolean } }[] }>(response.text);
    return (body?.results ?? []).map((p) => ({ name: p.name, type: p.type, readOnly: p.modificationMetadata?.readOnlyValue === true || p.calculated === true }));
  }

  async createProperty(field: { readonly name: string; readonly type: LogicalType | undefined }, context: RemoteContext): Promise<void> {
    const [type, fieldType] = propertyType(field.type);
    await this.call('POST', '/crm/v3/properties/contacts', { name: field.name, label: field.name, type, fieldType, groupName: 'contactinformation' }, context.signal);
  }
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
    private readonly client: HubSpotClient,
    private readonly nullPolicy: 'skip' | 'overwrite',
  ) {}

  async check(): Promise<void> {
    await this.client.call('GET', '/crm/v3/objects/contacts?limit=1', undefined, AbortSignal.timeout(30_000));
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
        throw new StopSyncError('HubSpot syncs do not take mode insert: use upsert (batch/create cannot be retried safely)');
    }
  }

  async close(): Promise<void> {}

  /** Batch upsert or update by idProperty; one outcome per record from the results and the 207 errors, matched by id. */
  private async write(batch: Batch, operation: 'upsert' | 'update'): Promise<RecordOutcome[]> {
    const idProperty = batch.keyField;
    const outcomes: (RecordOutcome | undefined)[] = new Array(batch.records.length);
    const byId = new Map<string, number>();
    const inputs: unknown[] = [];
    batch.records.forEach((record, i) => {
      const id = normaliseId(idProperty, record.key);
      if (byId.has(id)) {
        outcomes[i] = { ok: false, code: 'duplicate_key', message: `another record of the batch has the same ${idProperty} once normalised`, retryable: false };
        return;
      }
      byId.set(id, i);
      inputs.push({ id, idProperty, properties: this.properties(record) });
    });
    if (inputs.length) {
      const response = await this.client.call('POST', `/crm/v3/objects/contacts/batch/${operation}`, { inputs }, batch.signal);
      const body = parse<BatchResponse>(response.text) ?? {};
      for (const result of body.results ?? []) {
        const value = result.properties?.[idProperty];
        const i = value === undefined || value === null ? undefined : byId.get(normaliseId(idProperty, value));
        if (i !== undefined) outcomes[i] = { ok: true, destinationId: result.id };
      }
      for (const error of body.errors ?? []) {
        for (const id of error.context?.ids ?? []) {
          const i = byId.get(normaliseId(idProperty, id));
          if (i === undefined) continue;
          const category = (error.category ?? 'error').toLowerCase();
          outcomes[i] = { ok: false, code: category === 'object_not_found' ? 'not_found' : category, message: redactor.scrub(scrubEmails(error.message ?? 'refused by HubSpot')), retryable: category === 'rate_limits' };
        }
      }
    }
    return outcomes.map((o) => o ?? { ok: false, code: 'no_outcome', message: 'HubSpot answered neither a result nor an error for this record', retryable: true });
  }

  /** Audience add: the contacts are upserted (so that they exist, with their fields), then their record ids added. */
  private async add(batch: Batch): Promise<RecordOutcome[]> {
    const listId = listOf(batch.object);
    const upserted = await this.write({ ...batch, operation: 'upsert' }, 'upsert');
    const ids = upserted.flatMap((o) => (o.ok && o.destinationId ? [o.destinationId] : []));
    if (!ids.length) return upserted;
    const response = await this.client.call('PUT', `/crm/v3/lists/${listId}/memberships/add-and-remove`, { recordIdsToAdd: ids, recordIdsToRemove: [] }, batch.signal);
    if (response.status === 404) throw new StopSyncError(`HubSpot has no list ${listId} (or it is not a MANUAL or SNAPSHOT list)`);
    const missing = new Set((parse<{ recordIdsMissing?: string[] }>(response.text)?.recordIdsMissing ?? []).map(String));
    return upserted.map((o) => (o.ok && o.destinationId && missing.has(o.destinationId) ? { ok: false, code: 'not_found', message: 'HubSpot could not find the contact to add to the list', retryable: true } : o));
  }

  /** Record ids of the batch: kept in the snapshot (destinationId), else looked up by idProperty (absent: undefined). */
  private async recordIds(batch: Batch): Promise<(string | undefined)[]> {
    const ids: (string | undefined)[] = batch.records.map((r) => r.destinationId ?? undefined);
    const unknown = batch.records.flatMap((r, i) => (ids[i] === undefined ? [normaliseId(batch.keyField, r.key)] : []));
    if (!unknown.length) return ids;
    const response = await this.client.call('POST', '/crm/v3/objects/contacts/batch/read', { idProperty: batch.keyField, properties: [batch.keyField], inputs: [...new Set(unknown)].map((id) => ({ id })) }, batch.signal);
    const found = new Map<string, string>();
    for (const result of parse<BatchResponse>(response.text)?.results ?? []) {
      const value = result.properties?.[batch.keyField];
      if (value) found.set(normaliseId(batch.keyField, value), result.id);
    }
    return batch.records.map((r, i) => ids[i] ?? found.get(normaliseId(batch.keyField, r.key)));
  }

  /** Mirror delete: archive by record id (HubSpot answers 204 whatever the prior state). A contact not found is gone already. */
  private async archive(batch: Batch): Promise<RecordOutcome[]> {
    const ids = await this.recordIds(batch);
    const known = [...new Set(ids.filter((id): id is string => id !== undefined))];
    if (known.length) await this.client.call('POST', '/crm/v3/objects/contacts/batch/archive', { inputs: known.map((id) => ({ id })) }, batch.signal);
    return batch.records.map(() => ({ ok: true }));
  }

  private async removeFromList(batch: Batch): Promise<RecordOutcome[]> {
    const listId = listOf(batch.object);
    const ids = await this.recordIds(batch);
    const known = [...new Set(ids.filter((id): id is string => id !== undefined))];
    if (known.length) {
      const response = await this.client.call('PUT', `/crm/v3/lists/${listId}/memberships/add-and-remove`, { recordIdsToAdd: [], recordIdsToRemove: known }, batch.signal);
      if (response.status === 404) throw new StopSyncError(`HubSpot has no list ${listId} (or it is not a MANUAL or SNAPSHOT list)`);
    }
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

function listOf(object: string): string {
  const match = LIST.exec(object);
  if (!match) throw new StopSyncError(`"${object}" is not a HubSpot list: audience syncs name \`list:<listId>\``);
  return match[1]!;
}

/** HubSpot matches e-mail addresses case-insensitively and stores them lower-cased. */
function normaliseId(idProperty: string, id: string): string {
  return idProperty === 'email' ? id.trim().toLowerCase() : id;
}

function parse<T>(text: string): T | undefined {
  try {
    return text.trim() ? (JSON.parse(text) as T) : undefined;
  } catch {
    return undefined;
  }
}
