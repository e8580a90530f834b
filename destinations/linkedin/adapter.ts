import { z } from 'zod';
import { redactor } from '../../src/log/redact.js';
import { didYouMean } from '../../src/project/suggest.js';
import { identified, identifier, removesMembers, type IdentifierRule } from '../ads-identifiers.js';
import { ApiClient, AuthError, BatchRejectedError, credentialName, defineDestination, describeRequest, Outcomes, parseJson, RateLimitedError, rejected, renewingToken, requestToken, retryAfterMs, scrubEmails, staticToken, StopSyncError, TransientError, type AccessTokenSource, type Batch, type ConfigProblem, type DestinationContext, type DestinationSession, type FieldValue, type HttpRequest, type HttpResponse, type OutboundRecord, type RecordOutcome } from '../kit/index.js';
import { LinkedInEmulator, startLinkedInEmulator } from './emulator.js';
import { apiVersionOf, BATCH_CREATE, CURRENT_VERSION, FINDER_PAGE, HEADER, NONEXISTENT_VERSION, OAUTH_TOKEN_PATH, REST_PATH, RESTLI_PROTOCOL_VERSION, SEGMENT_READY_MS, sponsoredAccountUrn, USERS_REQUESTS_PER_MINUTE, VERSION_PATTERN, VERSION_STATUS, versionSunset, type CreateSegmentRequest, type DmpSegment, type ErrorBody, type FinderResponse, type TokenResponse, type UserElement, type UsersBatchResponse } from './protocol.js';

export const linkedinConfigSchema = z
  .strictObject({
    /** OAuth 2 access token of a member with `rw_dmp_segments` (from an environment variable); lives 60 days. */
    access_token: z.string().min(1).optional(),
    /** A refresh token (approved Marketing partners; lives 365 days): with client_id and client_secret, the token renews itself. */
    refresh_token: z.string().min(1).optional(),
    client_id: z.string().min(1).optional(),
    client_secret: z.string().min(1).optional(),
    /** The sponsored (ad) account the segments belong to: needed to find or create a segment by name. */
    ad_account_id: z.string().regex(/^\d+$/, 'the ad account id: digits, as in Campaign Manager').optional(),
    /** The `sourcePlatform` LinkedIn assigned your integration, used only when Tideline creates a segment by name. */
    source_platform: z.string().min(1).optional(),
    /** `LinkedIn-Version` header: a monthly version `YYYYMM`. */
    api_version: z.string().regex(VERSION_PATTERN, 'a LinkedIn Marketing API version such as 202607').default(CURRENT_VERSION),
    endpoint: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default('https://api.linkedin.com'),
    /** Where refresh tokens are exchanged (LinkedIn's OAuth host). */
    oauth_endpoint: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default('https://www.linkedin.com'),
    /** Users per request (elements of one BATCH_CREATE). */
    batch_size: z.number().int().min(1).max(5_000).default(1_000),
    /** How long a segment Tideline creates is given before users are sent to it (LinkedIn: 5 seconds). */
    segment_ready_seconds: z.number().min(0).max(300).default(SEGMENT_READY_MS / 1000),
  })
  .superRefine((config, ctx) => {
    const refresh = [config.refresh_token, config.client_id, config.client_secret];
    if (refresh.some(Boolean) && !refresh.every(Boolean)) {
      for (const [field, value] of [['refresh_token', config.refresh_token], ['client_id', config.client_id], ['client_secret', config.client_secret]] as const) {
        if (!value) ctx.addIssue({ code: 'custom', path: [field], message: 'a refresh needs refresh_token, client_id and client_secret together' });
      }
    }
    if (!config.access_token && !config.refresh_token) ctx.addIssue({ code: 'custom', path: ['access_token'], message: 'give access_token, or refresh_token with client_id and client_secret' });
  });
export type LinkedInConfig = z.infer<typeof linkedinConfigSchema>;

/**
 * LinkedIn hashes: the SHA-256 hex of the address, trimmed and lower-cased. The pages read document the digest format
 * only (protocol.ts, USERS); this is the normal form Google and Meta document, so one address hashes alike everywhere.
 */
export const LINKEDIN_EMAIL: IdentifierRule = {
  hashed: true,
  normalise: (s) => {
    const address = s.replace(/\s+/gu, '').toLowerCase();
    return /^[^@\s]+@[^@\s]+\.[^@\s]+$/u.test(address) ? address : null;
  },
};

/** The only field a LinkedIn users sync maps: the others LinkedIn takes are plain text (names, company, title). */
const FIELDS = ['email'] as const;
const PLAIN_TEXT_FIELDS = ['first_name', 'last_name', 'title', 'company', 'country', 'country_code'];

/** The sync's object: a DMP segment id, or the name of a segment of `ad_account_id` (found, else created). */
type SegmentRef = { readonly id: string } | { readonly name: string };
function segmentRef(object: string): SegmentRef {
  const urn = /^urn:li:dmpSegment:(\d+)$/.exec(object);
  if (urn) return { id: urn[1]! };
  return /^\d+$/.test(object) ? { id: object } : { name: object };
}

/** LinkedIn Matched Audiences: members of a DMP segment added and removed by their hashed e-mail. */
export const linkedin = defineDestination<LinkedInConfig>({
  type: 'linkedin',
  summary: 'LinkedIn Matched Audiences (DMP segment users, e-mail SHA-256 hashed in Tideline)',
  configSchema: linkedinConfigSchema,
  modes: ['audience'],
  channel: 'ads',
  secrets: (config) => [config.access_token, config.refresh_token, config.client_secret].filter((s): s is string => Boolean(s)),
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    maxBatchBytes: 10_000_000,
    // USERS: 600 requests a minute per member on /users.
    requestsPerSecond: USERS_REQUESTS_PER_MINUTE / 60,
    concurrency: 2,
    timeoutMs: 60_000,
  }),
  checkSync: (config, sync) => {
    const problems: ConfigProblem[] = [];
    const ref = segmentRef(sync.object);
    if ('name' in ref) {
      if (!config.ad_account_id) problems.push({ at: ['object'], message: 'a segment named here is found in (or created in) an ad account: set the destination\'s ad_account_id, or give the DMP segment id (digits)' });
    }
    for (const field of sync.fields) {
      if (PLAIN_TEXT_FIELDS.includes(field)) problems.push({ at: ['fields', field], message: `LinkedIn takes "${field}" only as plain text, and Tideline sends no unhashed personal data to ads platforms: map email` });
      else if (!(FIELDS as readonly string[]).includes(field)) problems.push({ at: ['fields', field], message: `"${field}" is not a LinkedIn user identifier: email${didYouMean(field, FIELDS)}` });
    }
    if (sync.keyField === 'email') problems.push({ at: ['key'], message: "key the audience by a customer id and map email under `fields`: the key is kept in Tideline's state, which must hold no raw e-mail" });
    else if (!sync.fields.includes('email')) problems.push({ at: ['fields'], message: 'map email: LinkedIn matches members by their hashed e-mail' });
    return problems;
  },
  lockScope: (config, object) => `linkedin:${config.ad_account_id ?? 'segment'}#${object}`,
  // USERS (protocol.ts): removing the member from the segment is LinkedIn's documented way to take a person out of a
  // Matched Audience; it is what the mode's `remove` sends (a REMOVE element of the SHA-256 the snapshot kept), and
  // LinkedIn answers 201 for an ID already removed, so a second erasure is accepted.
  erasure: () => ({ operation: 'remove', method: 'LinkedIn DMP Segment Users: POST /rest/dmpSegments/{id}/users (BATCH_CREATE) with a REMOVE element of the SHA256_EMAIL (learn.microsoft.com/linkedin/marketing/matched-audiences/create-and-manage-segment-users)' }),
  retainFields: () => FIELDS,
  retainValue: (_config, field, value) => (field === 'email' ? identifier(LINKEDIN_EMAIL, value) : value),
  apiVersion: (config) => apiVersionOf(config.api_version),
  open: async (config, context) => new LinkedInSession(config, context, tokenSource(config, context.destination)),
  emulator: {
    start: (context) => startLinkedInEmulator({ saved: context.saved }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof LinkedInEmulator)) throw new Error('the linkedin sandbox needs a LinkedIn emulator');
      return { ...config, endpoint: emulator.endpoint, oauth_endpoint: emulator.endpoint, access_token: emulator.accessToken, refresh_token: undefined, client_id: undefined, client_secret: undefined };
    },
  },
});

/** The credential: a static access token, or one that renews from a refresh token (OAUTH in protocol.ts). */
export function tokenSource(config: LinkedInConfig, destination?: string): AccessTokenSource {
  if (!config.refresh_token || !config.client_id || !config.client_secret) return staticToken(config.access_token ?? '', 'access_token');
  const { refresh_token: refreshToken, client_id: clientId, client_secret: clientSecret } = config;
  const credential = credentialName('refresh_token', destination, 'linkedin');
  const renewing = renewingToken({
    credential,
    obtain: async (signal) => {
      const answer = await requestToken(`${config.oauth_endpoint.replace(/\/$/, '')}${OAUTH_TOKEN_PATH}`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, client_secret: clientSecret }, credential, signal);
      const token = typeof answer['access_token'] === 'string' ? answer['access_token'] : undefined;
      if (!token) throw new AuthError(`LinkedIn answered the refresh of ${credential} without an access token; authorise the app again and give the new refresh_token (it lives 365 days)`);
      const expiresIn = Number((answer as Partial<TokenResponse>).expires_in);
      return { token, expiresAt: Number.isFinite(expiresIn) && expiresIn > 0 ? Date.now() + expiresIn * 1000 : undefined };
    },
  });
  // The configured access token serves until LinkedIn refuses it; then the refresh token takes over.
  let initial = config.access_token;
  return {
    credential,
    token: (signal) => (initial !== undefined ? Promise.resolve(initial) : renewing.token(signal)),
    renew: (signal) => {
      initial = undefined;
      return renewing.renew(signal);
    },
  };
}

interface RunFacts {
  requests: number;
  segment?: { id: string; created: boolean };
  stale_removed: number;
}

class LinkedInSession implements DestinationSession {
  /** Undefined when an erasure finds no segment: nothing there holds the people being erased. */
  #segment: Promise<string | undefined> | undefined;
  /** When the segment was created by this run: users wait until it is ready (USERS). */
  #readyAt = 0;
  readonly #facts: RunFacts = { requests: 0, stale_removed: 0 };
  readonly #client: ApiClient;

  constructor(
    private readonly config: LinkedInConfig,
    private readonly context: DestinationContext,
    /** With a refresh token, a 401 renews the token once and sends the request again; a static token cannot. */
    tokens: AccessTokenSource,
  ) {
    this.#client = new ApiClient({
      vendor: 'linkedin',
      baseUrl: `${config.endpoint.replace(/\/$/, '')}${REST_PATH}`,
      tokens,
      headers: { [HEADER.version]: config.api_version, [HEADER.protocol]: RESTLI_PROTOCOL_VERSION },
      // LinkedIn's statuses mean more than the common ones: 403 is a permission, 426 a retired version (linkedinError).
      // An erasure reads a segment that is gone as "nothing to erase" (resolveSegment accepts that 404 itself).
      classify: (request, response) =>
        context.erasure && request.method === 'GET' && response.status === 404
          ? undefined
          : linkedinError(request, response, { version: config.api_version, segmentJustCreated: Date.now() < this.#readyAt + 60_000 && this.#facts.segment?.created === true }),
    });
  }

  async check(): Promise<void> {
    await this.segment(AbortSignal.timeout(60_000));
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const remove = removesMembers(batch);
    const outcomes = new Outcomes(batch, 'LinkedIn');
    const sent = identified(outcomes, (record) => emailHash(record) ?? undefined, 'e-mail address');
    if (!sent.length) return outcomes.done();
    // A member whose e-mail changed is known to LinkedIn by the old hash (kept as the record's destination id): remove it.
    const stale = remove ? [] : sent.flatMap(({ index, record, ids }) => (record.destinationId && record.destinationId !== ids && /^[0-9a-f]{64}$/.test(record.destinationId) ? [{ index, hash: record.destinationId }] : []));
    const segment = await this.segment(batch.signal);
    if (segment === undefined) {
      for (const { index } of sent) outcomes.settle(index, { ok: true });
      return outcomes.done();
    }
    if (stale.length) {
      const answer = await this.users(segment, stale.map((s) => element('REMOVE', s.hash)), batch.signal);
      stale.forEach((s, i) => {
        const status = answer.elements[i]?.status ?? 0;
        if (status >= 200 && status < 300) this.#facts.stale_removed++;
        else outcomes.settle(s.index, elementFailure(status, answer.elements[i]?.error?.message, 'the member\'s former e-mail could not be removed'));
      });
    }
    const pending = sent.filter((s) => outcomes.get(s.index) === undefined);
    if (!pending.length) return outcomes.done();
    const answer = await this.users(segment, pending.map((s) => element(remove ? 'REMOVE' : 'ADD', s.ids)), batch.signal);
    if (answer.elements.length !== pending.length) throw new TransientError(`LinkedIn answered ${answer.elements.length} statuses for ${pending.length} users`);
    pending.forEach((s, i) => {
      const { status, error } = answer.elements[i]!;
      outcomes.settle(s.index, status >= 200 && status < 300 ? { ok: true, ...(remove ? {} : { destinationId: s.ids }) } : elementFailure(status, error?.message, 'LinkedIn refused the user'));
    });
    return outcomes.done();
  }

  async finish(): Promise<Readonly<Record<string, unknown>>> {
    return { ...this.#facts };
  }

  async close(): Promise<void> {}

  /**
   * The DMP segment id, resolved once per run: given, found by name in the ad account, or created there. An erasure
   * never creates one: a segment that is not there (deleted since, never created) holds nobody, so it answers
   * undefined and the erasure has nothing to send.
   */
  private segment(signal: AbortSignal): Promise<string | undefined> {
    this.#segment ??= this.resolveSegment(signal);
    return this.#segment;
  }

  private async resolveSegment(signal: AbortSignal): Promise<string | undefined> {
    const ref = segmentRef(this.context.object);
    const erasure = this.context.erasure === true;
    if ('id' in ref) {
      const found = await this.call({ method: 'GET', path: `/dmpSegments/${ref.id}`, ...(erasure ? { accept: [404] } : {}) }, signal);
      if (found.status === 404) return undefined;
      this.#facts.segment = { id: ref.id, created: false };
      return ref.id;
    }
    const account = sponsoredAccountUrn(this.config.ad_account_id ?? '');
    for (let start = 0; ; start += FINDER_PAGE) {
      const page = JSON.parse((await this.call({ method: 'GET', path: '/dmpSegments', query: { q: 'account', account, start: String(start), count: String(FINDER_PAGE) } }, signal)).text) as FinderResponse<DmpSegment>;
      const found = page.elements.find((s) => s.name === ref.name && s.type === 'USER');
      if (found) {
        this.#facts.segment = { id: String(found.id), created: false };
        return String(found.id);
      }
      if (page.elements.length < FINDER_PAGE) break;
    }
    if (erasure) return undefined;
    if (!this.config.source_platform) {
      throw new StopSyncError(`no USER segment named "${ref.name}" in ad account ${this.config.ad_account_id}: create it in Campaign Manager and give its id as the sync's object, or set the destination's source_platform (the value LinkedIn assigned your integration) so that Tideline creates it`);
    }
    const body: CreateSegmentRequest = { name: ref.name, account, type: 'USER', sourcePlatform: this.config.source_platform, accessPolicy: 'PRIVATE', destinations: [{ destination: 'LINKEDIN' }] };
    const created = await this.call({ method: 'POST', path: '/dmpSegments', body }, signal);
    const id = created.headers.get(HEADER.createdId)?.replace(/^urn:li:dmpSegment:/, '');
    if (!id || !/^\d+$/.test(id)) throw new StopSyncError(`LinkedIn created the segment "${ref.name}" without saying its id (${HEADER.createdId}): find it in Campaign Manager and give its id as the sync's object`);
    this.#facts.segment = { id, created: true };
    this.context.logger.info({ segment: id }, `created LinkedIn DMP segment ${id} "${ref.name}"`);
    this.#readyAt = Date.now() + this.config.segment_ready_seconds * 1000;
    return id;
  }

  private async users(segment: string, elements: UserElement[], signal: AbortSignal): Promise<UsersBatchResponse> {
    const wait = this.#readyAt - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const response = await this.call({ method: 'POST', path: `/dmpSegments/${segment}/users`, body: { elements }, restliMethod: BATCH_CREATE }, signal);
    this.#facts.requests++;
    return JSON.parse(response.text) as UsersBatchResponse;
  }

  /** One request with LinkedIn's headers; after a 401 the token is renewed once (when it can be) and the request sent again. */
  private call(spec: { method: 'GET' | 'POST'; path: string; query?: Record<string, string>; body?: unknown; restliMethod?: string; accept?: readonly number[] }, signal: AbortSignal): Promise<HttpResponse> {
    const { method, path, restliMethod, ...call } = spec;
    return this.#client.request(method, path, { ...call, ...(restliMethod ? { headers: { [HEADER.method]: restliMethod } } : {}), signal });
  }
}

function emailHash(record: OutboundRecord): string | null {
  return identifier(LINKEDIN_EMAIL, record.fields['email'] as FieldValue | undefined);
}

function element(action: 'ADD' | 'REMOVE', hash: string): UserElement {
  return { action, userIds: [{ idType: 'SHA256_EMAIL', idValue: hash }] };
}

/** A refused element: throttling and server errors are retried; anything else is that record's refusal. */
function elementFailure(status: number, message: string | undefined, what: string): RecordOutcome {
  const retryable = status === 429 || status >= 500 || status === 0;
  return { ok: false, code: `linkedin_${status || 'no_status'}`, message: `${what} (${status || 'no status'}${message ? `: ${scrubEmails(redactor.scrub(message)).slice(0, 200)}` : ''})`, retryable };
}

/**
 * The typed error for a LinkedIn error answer: credentials (401) → AuthError; permission (403), a version LinkedIn no
 * longer serves (426) and an unknown segment → StopSyncError, each naming its cause and fix; 429 → RateLimitedError
 * (Retry-After when given); 5xx → TransientError; a request refused whole (400/422) → BatchRejectedError.
 */
export function linkedinError(request: Pick<HttpRequest, 'method' | 'url'>, response: HttpResponse, context: { version: string; segmentJustCreated?: boolean }): Error {
  const body = parseJson<Partial<ErrorBody>>(response.text) ?? {};
  const code = body.code ?? (body.serviceErrorCode !== undefined ? String(body.serviceErrorCode) : '');
  const what = redactor.scrub(`${describeRequest(request)} answered ${response.status}${code ? ` ${code}` : ''}`);
  if (response.status === VERSION_STATUS || body.code === NONEXISTENT_VERSION) {
    const sunset = versionSunset(context.version);
    return new StopSyncError(
      `${what}: cause: LinkedIn no longer serves Marketing API version ${context.version} (sunset ${sunset.sunset}${sunset.basis === 'policy' ? ' at the earliest' : ''}). Fix: set the destination's api_version to a supported version (${CURRENT_VERSION} or later) or upgrade Tideline; nothing more is sent this run`,
    );
  }
  if (response.status === 401) return new AuthError(`${what}: LinkedIn refused the access token (authentication; it lives 60 days, or was revoked): give a new access_token, or a refresh_token with client_id and client_secret`);
  if (response.status === 403) {
    return new StopSyncError(
      `${what}: cause: permission — the token's member may not manage this ad account's audiences. Fix: authorise the app with the rw_dmp_segments permission (LinkedIn's Audiences program) and give the member a role other than VIEWER on the ad account; nothing more is sent this run`,
    );
  }
  if (response.status === 429) return new RateLimitedError(`${what}: throttled (600 requests a minute per member on /users)`, retryAfterMs(response.headers));
  if (response.status === 408 || response.status >= 500) return new TransientError(what);
  if (response.status === 404) {
    // USERS: a segment created moments ago is not yet available; otherwise the object names no segment.
    if (context.segmentJustCreated) return new TransientError(`${what}: the new segment is not available yet`);
    return new StopSyncError(`${what}: cause: no DMP segment with this id is visible to the token. Fix: check the sync's object (the DMP segment id) and the ad account; nothing more is sent this run`);
  }
  if (response.status === 400 || response.status === 422) return new BatchRejectedError(`${what}: ${scrubEmails(redactor.scrub(body.message ?? 'invalid request')).slice(0, 300)}`, `linkedin_${response.status}`);
  return new StopSyncError(what);
}
