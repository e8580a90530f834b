import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { redactor } from '../../src/log/redact.js';
import { didYouMean } from '../../src/project/suggest.js';
import { e164, identified, identifier, removesMembers, type IdentifierRule } from '../ads-identifiers.js';
import { ApiClient, AuthError, BatchRejectedError, defineDestination, describeRequest, Outcomes, parseJson, RateLimitedError, rejected, scrubEmails, StopSyncError, TransientError, type Batch, type ConfigProblem, type DestinationContext, type DestinationSession, type FieldValue, type HttpRequest, type HttpResponse, type OutboundRecord, type RecordOutcome } from '../kit/index.js';
import { startTikTokEmulator, TikTokEmulator } from './emulator.js';
import { ACCESS_TOKEN_HEADER, AUDIENCE_LIST_PAGE_SIZE, API_ROOT, API_VERSION, apiVersionOf, AUTH_CODES, CODE, isSystemError, MAX_USERS_PER_REQUEST, PATH, RETIRED_VERSIONS, SHA256_HEX, VERSION_PATTERN, type AudienceInfo, type CreateSegmentRequest, type Envelope, type IdSchema, type MappingEntry, type MappingRequest } from './protocol.js';

export const tiktokConfigSchema = z.strictObject({
  /** Long-term access token from the advertiser's authorisation, with Audience Management (from an environment variable). */
  access_token: z.string().min(1),
  /** The advertiser (ad account) the audiences belong to. */
  advertiser_id: z.string().regex(/^\d+$/, 'the advertiser id: digits, as in TikTok Ads Manager'),
  api_version: z.string().regex(VERSION_PATTERN, 'an API for Business version such as v1.3').default(API_VERSION),
  endpoint: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default('https://business-api.tiktok.com'),
  /** Country of phone numbers written without their country code (ISO alpha-2). */
  default_phone_country: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code in capitals, such as FR').optional(),
  /** Users per mapping request. */
  batch_size: z.number().int().min(1).max(MAX_USERS_PER_REQUEST).default(MAX_USERS_PER_REQUEST),
});
export type TikTokConfig = z.infer<typeof tiktokConfigSchema>;

/** HASHING in protocol.ts: e-mails lower-cased, phones E.164 with `+`, both SHA-256 hex. */
export const TIKTOK: Readonly<Record<'email' | 'phone', IdentifierRule>> = {
  email: {
    hashed: true,
    normalise: (s) => {
      const address = s.replace(/\s+/gu, '').toLowerCase();
      return /^[^@\s]+@[^@\s]+\.[^@\s]+$/u.test(address) ? address : null;
    },
  },
  phone: { hashed: true, normalise: (s, o) => e164(s, o.defaultCountry) },
};

/** Sync fields and the id type each fills, in the order of `id_schema`. */
const SCHEMA_OF = { email: 'EMAIL_SHA256', phone: 'PHONE_SHA256' } as const satisfies Record<keyof typeof TIKTOK, IdSchema>;
const FIELDS = Object.keys(SCHEMA_OF) as (keyof typeof SCHEMA_OF)[];

/** TikTok Audiences: members of an audience segment mapped in and out by hashed e-mail and phone (Streaming API). */
export const tiktok = defineDestination<TikTokConfig>({
  type: 'tiktok',
  summary: 'TikTok audiences (segment mapping API; e-mail and phone SHA-256 hashed in Tideline)',
  configSchema: tiktokConfigSchema,
  modes: ['audience'],
  channel: 'ads',
  secrets: (config) => [config.access_token],
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    maxBatchBytes: 1_000_000,
    // TikTok sets per-app and per-endpoint QPS/QPM/QPD quotas (shown in the developer portal, not published); 40100
    // answers are waited out. 10 a second keeps one runner well inside the usual quotas; `requests_per_second` changes it.
    requestsPerSecond: 10,
    concurrency: 2,
    timeoutMs: 60_000,
  }),
  checkSync: (_config, sync) => {
    const problems: ConfigProblem[] = [];
    for (const field of sync.fields) {
      if (!(FIELDS as string[]).includes(field)) problems.push({ at: ['fields', field], message: `"${field}" is not a TikTok audience identifier: ${FIELDS.join(', ')}${didYouMean(field, FIELDS)}` });
    }
    if ((FIELDS as string[]).includes(sync.keyField)) problems.push({ at: ['key'], message: "key the audience by a customer id and map email or phone under `fields`: the key is kept in Tideline's state, which must hold no raw e-mail or phone" });
    else if (!sync.fields.some((f) => (FIELDS as string[]).includes(f))) problems.push({ at: ['fields'], message: 'map email or phone: TikTok matches people by their hashed e-mail or phone' });
    return problems;
  },
  lockScope: (config, object) => `tiktok:${config.advertiser_id}#${object}`,
  // GUIDE and ERASURE (protocol.ts): taking a person out of an audience is the segment API's `delete` mapping, what
  // the mode's `remove` sends with the hashes the snapshot kept; TikTok answers it as a whole, and a second one for ids
  // the audience no longer holds is answered code 0 as well, so it is accepted.
  erasure: () => ({ operation: 'remove', method: 'TikTok segment mapping: POST /open_api/v1.3/segment/mapping/ with action "delete" and the EMAIL_SHA256 / PHONE_SHA256 ids (business-api.tiktok.com/portal/docs?id=1747012327159809)' }),
  retainFields: () => FIELDS,
  retainValue: (config, field, value) => {
    const rule = TIKTOK[field as keyof typeof TIKTOK];
    return rule ? identifier(rule, value, { defaultCountry: config.default_phone_country as CountryCode | undefined }) : value;
  },
  apiVersion: (config) => apiVersionOf(config.api_version),
  open: async (config, context) => new TikTokSession(config, context),
  emulator: {
    start: (context) => startTikTokEmulator({ saved: context.saved }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof TikTokEmulator)) throw new Error('the tiktok sandbox needs a TikTok emulator');
      return { ...config, endpoint: emulator.endpoint, access_token: emulator.accessToken, advertiser_id: emulator.advertiserId };
    },
  },
});

interface RunFacts {
  requests: number;
  audience?: { id: string; created: boolean };
  stale_ids_deleted: number;
}

/** A member's ids as sent, by id type: kept as the record's destination id (`EMAIL_SHA256:<hex>,PHONE_SHA256:<hex>`). */
type Ids = Partial<Record<IdSchema, string>>;
const formatIds = (ids: Ids): string => Object.entries(ids).map(([k, v]) => `${k}:${v}`).join(',');
function parseIds(text: string | null): Ids {
  const ids: Ids = {};
  for (const part of (text ?? '').split(',')) {
    const [k, v] = part.split(':');
    if (k && v && SHA256_HEX.test(v)) ids[k as IdSchema] = v;
  }
  return ids;
}

/** The ids of a member's destination id (as it was sent) that it no longer has. */
function formerIds(destinationId: string, ids: Ids): Ids {
  return Object.fromEntries(Object.entries(parseIds(destinationId)).filter(([k, v]) => ids[k as IdSchema] !== v));
}

class TikTokSession implements DestinationSession {
  readonly #schema: IdSchema[];
  /** Undefined when an erasure finds no audience: nothing there holds the people being erased. */
  #audience: Promise<string | undefined> | undefined;
  readonly #facts: RunFacts = { requests: 0, stale_ids_deleted: 0 };
  readonly #client: ApiClient;

  constructor(
    private readonly config: TikTokConfig,
    private readonly context: DestinationContext,
  ) {
    const mapped = new Set(context.fields.map((f) => f.name));
    // An erasure removes every id the snapshot kept, of whatever type, even one the sync no longer maps: its request
    // names the types its members hold (apply).
    this.#schema = context.erasure ? [] : FIELDS.filter((f) => mapped.has(f)).map((f) => SCHEMA_OF[f]);
    this.#client = new ApiClient({
      vendor: 'tiktok',
      baseUrl: `${config.endpoint.replace(/\/$/, '')}${API_ROOT}/${config.api_version}`,
      // A long-term token, as it is (TOKENS): it does not renew, and a refusal is read from TikTok's code.
      headers: { [ACCESS_TOKEN_HEADER]: config.access_token },
      // TikTok's codes say what went wrong, whatever the status (CODES).
      classify: (request, response) => tiktokError(request, response, parseJson<Envelope>(response.text), this.errorContext),
    });
  }

  private get errorContext(): { version: string; advertiser: string } {
    return { version: this.config.api_version, advertiser: this.config.advertiser_id };
  }

  async check(): Promise<void> {
    await this.audience(AbortSignal.timeout(60_000));
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const remove = removesMembers(batch);
    const outcomes = new Outcomes(batch, 'TikTok');
    const rows = identified(outcomes, (record) => this.ids(record), 'e-mail or phone');
    if (!rows.length) return outcomes.done();
    // An erasure's request names the id types its members hold (the hashes the snapshot kept), in SCHEMA_OF's order.
    const schema = this.#schema.length ? this.#schema : FIELDS.map((f) => SCHEMA_OF[f]).filter((type) => rows.some((r) => r.ids[type] !== undefined));
    // Ids a changed member no longer has (kept as its destination id): mapped out, so the audience holds only current ones.
    const stale = remove ? [] : rows.flatMap(({ record, ids }) => (record.destinationId ? [formerIds(record.destinationId, ids)] : [])).filter((gone) => Object.keys(gone).length > 0);
    const audience = await this.audience(batch.signal);
    if (audience === undefined) {
      for (const row of rows) outcomes.settle(row.index, { ok: true });
      return outcomes.done();
    }
    if (stale.length) {
      await this.mapping('delete', audience, schema, stale, batch.signal);
      this.#facts.stale_ids_deleted += stale.reduce((n, ids) => n + Object.keys(ids).length, 0);
    }
    await this.mapping(remove ? 'delete' : 'add', audience, schema, rows.map((r) => r.ids), batch.signal);
    // TikTok answers a mapping request as a whole: a refusal throws above and the engine isolates the record.
    for (const row of rows) outcomes.settle(row.index, { ok: true, ...(remove ? {} : { destinationId: formatIds(row.ids) }) });
    return outcomes.done();
  }

  async finish(): Promise<Readonly<Record<string, unknown>>> {
    return { ...this.#facts };
  }

  async close(): Promise<void> {}

  /** The member's ids of the mapped types (of any type in an erasure); undefined when it has none. */
  private ids(record: OutboundRecord): Ids | undefined {
    const options = { defaultCountry: this.config.default_phone_country as CountryCode | undefined };
    const ids: Ids = {};
    for (const field of FIELDS) {
      const value = identifier(TIKTOK[field], record.fields[field] as FieldValue | undefined, options);
      if (value && (this.#schema.length === 0 || this.#schema.includes(SCHEMA_OF[field]))) ids[SCHEMA_OF[field]] = value;
    }
    return Object.keys(ids).length ? ids : undefined;
  }

  private mapping(action: 'add' | 'delete', audience: string, schema: readonly IdSchema[], users: readonly Ids[], signal: AbortSignal): Promise<Envelope> {
    const body: MappingRequest = {
      advertiser_ids: [this.config.advertiser_id],
      action,
      id_schema: schema,
      batch_data: users.map((ids) => schema.map((s): MappingEntry => (ids[s] ? { id: ids[s], audience_ids: [audience] } : {}))),
    };
    this.#facts.requests++;
    return this.call('POST', PATH.segmentMapping, { body }, signal);
  }

  /**
   * The audience id, resolved once per run: given and checked, found by name, or created as an audience segment. An
   * erasure never creates one: an audience that is not there (deleted since, never created) holds nobody, so it
   * answers undefined and the erasure has nothing to send.
   */
  private audience(signal: AbortSignal): Promise<string | undefined> {
    this.#audience ??= this.resolveAudience(signal);
    return this.#audience;
  }

  private async resolveAudience(signal: AbortSignal): Promise<string | undefined> {
    const object = this.context.object;
    const erasure = this.context.erasure === true;
    if (/^\d+$/.test(object)) {
      const answer = await this.call<{ list?: AudienceInfo[] }>('GET', PATH.audienceGet, { query: { advertiser_id: this.config.advertiser_id, custom_audience_ids: JSON.stringify([object]) } }, signal);
      if (!answer.data?.list?.some((a) => String(a.audience_id) === object)) {
        if (erasure) return undefined;
        throw new StopSyncError(`cause: advertiser ${this.config.advertiser_id} has no audience ${object}. Fix: check the sync's object (the audience id) and the destination's advertiser_id; nothing more is sent this run`);
      }
      this.#facts.audience = { id: object, created: false };
      return object;
    }
    for (let page = 1; ; page++) {
      const answer = await this.call<{ list?: AudienceInfo[]; page_info?: { total_page?: number } }>('GET', PATH.audienceList, { query: { advertiser_id: this.config.advertiser_id, page: String(page), page_size: String(AUDIENCE_LIST_PAGE_SIZE.max) } }, signal);
      const found = answer.data?.list?.find((a) => a.name === object);
      if (found) {
        this.#facts.audience = { id: String(found.audience_id), created: false };
        return String(found.audience_id);
      }
      if (page >= (answer.data?.page_info?.total_page ?? 1)) break;
    }
    if (erasure) return undefined;
    const body: CreateSegmentRequest = { advertiser_id: this.config.advertiser_id, action: 'create', custom_audience_name: object };
    const created = await this.call<{ audience_id?: string | number }>('POST', PATH.segmentAudience, { body }, signal);
    const id = created.data?.audience_id;
    if (id === undefined || !/^\d+$/.test(String(id))) throw new StopSyncError(`TikTok created the audience "${object}" without saying its id: find it in Ads Manager and give its id as the sync's object`);
    this.#facts.audience = { id: String(id), created: true };
    this.context.logger.info({ audience: String(id) }, `created TikTok audience segment ${String(id)} "${object}"`);
    return String(id);
  }

  /** One request; an answer is TikTok's only with HTTP 200 and code 0 in its envelope (errors come with HTTP 200: CODES). */
  private async call<T = unknown>(method: 'GET' | 'POST', path: string, spec: { query?: Record<string, string>; body?: unknown }, signal: AbortSignal): Promise<Envelope<T>> {
    const response = await this.#client.request(method, path, { ...spec, signal });
    const envelope = parseJson<Envelope<T>>(response.text);
    if (response.status === 200 && envelope?.code === CODE.ok) return envelope;
    throw tiktokError({ method, url: this.#client.url(path, spec.query) }, response, envelope, this.errorContext);
  }
}

/**
 * The typed error of a TikTok answer (CODES in protocol.ts): access-token codes → AuthError; no permission (40001) and
 * a version TikTok does not serve → StopSyncError naming the cause and the fix; 40100 → RateLimitedError (TikTok
 * gives no wait: the engine backs off); system errors and 5xx → TransientError; invalid parameters (40002, the
 * request refused whole) → BatchRejectedError, so the engine isolates the record.
 */
export function tiktokError(request: Pick<HttpRequest, 'method' | 'url'>, response: HttpResponse, envelope: Partial<Envelope> | undefined, context: { version: string; advertiser: string }): Error {
  const code = typeof envelope?.code === 'number' ? envelope.code : undefined;
  const what = redactor.scrub(`${describeRequest(request)} answered ${response.status}${code !== undefined ? ` code ${code}` : ''}`);
  const detail = scrubEmails(redactor.scrub(envelope?.message ?? '')).slice(0, 200);
  if (response.status === 404 && code === undefined && new URL(request.url).pathname.startsWith(`${API_ROOT}/`)) {
    const retired = RETIRED_VERSIONS[context.version];
    return new StopSyncError(
      `${what}: cause: TikTok does not serve API ${context.version}${retired ? ` (retired on ${retired})` : ''}. Fix: set the destination's api_version to ${API_VERSION} (or upgrade Tideline); nothing more is sent this run`,
    );
  }
  if (code !== undefined && AUTH_CODES.has(code)) return new AuthError(`${what}: TikTok refused the access token (authentication: revoked, or not this app's): authorise the app for the advertiser again and give the new access_token`);
  if (code === CODE.noPermission) {
    return new StopSyncError(
      `${what}: cause: permission — the token may not manage audiences of advertiser ${context.advertiser}${detail ? ` (${detail})` : ''}. Fix: have the advertiser authorise the app with the Audience Management permission, and check advertiser_id; nothing more is sent this run`,
    );
  }
  if (code === CODE.tooManyRequests || response.status === 429) return new RateLimitedError(`${what}: throttled (the app's request quota)`, undefined);
  if ((code !== undefined && isSystemError(code)) || response.status >= 500 || response.status === 408) return new TransientError(what);
  if (code === CODE.invalidParameters) return new BatchRejectedError(`${what}${detail ? `: ${detail}` : ''}`, `tiktok_${code}`);
  return new StopSyncError(`${what}${detail ? `: ${detail}` : ''}`);
}
