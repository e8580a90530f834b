import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { ApiVersion } from '../destination.js';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, requestHeader, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RateLimit, type RecordStore } from '../emulator-kit/server.js';
import { BAD_REQUEST, CURRENCY_CODE, DATA_MANAGER_VERSIONS, DOMAIN, DUPLICATE_TRANSACTION_ID, ERROR_INFO, EVENT_TOO_OLD, GOOGLE_TOKEN_URL, HEX_SHA256, LIMITS, LOGIN_ACCOUNT_HEADER, MAX_CONVERSION_AGE_DAYS, PATHS, REGION_CODE, SCOPE, versionServed, type AudienceMember, type ConversionEvent, type Destination, type ErrorBody, type FieldViolation, type UserIdentifier } from './protocol.js';
import { dataManagerSchema, METHODS, type SchemaViolation } from './schema.js';

export interface GoogleAdsEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  /** The Google Ads account (operating account) the credentials may write to. */
  readonly customerId?: string;
  /** A manager account through which the credentials may also reach it (`loginAccount`). */
  readonly managerId?: string;
  /** Lifetime of the access tokens the token endpoint issues (Google: 3,599 s). */
  readonly tokenLifetimeSeconds?: number;
  /** The versions Google publishes, with their sunsets (default protocol.ts): tests announce a sunset here. */
  readonly versions?: readonly ApiVersion[];
  /** The emulator's today (YYYY-MM-DD), against which sunsets are judged (default: the real date). */
  readonly today?: string;
  /** False: the account is not allowlisted for the features it uses; ingestion answers 403 NOT_ALLOWLISTED. */
  readonly allowlisted?: boolean;
  /** False: the account has not accepted the enhanced conversions terms; events with user data are refused. */
  readonly enhancedConversionsTerms?: boolean;
  /** User lists that exist (default: any id); ingestion to another is INVALID_USER_LIST_ID. */
  readonly userLists?: readonly string[];
  /** Conversion actions that exist (default: any id). */
  readonly conversionActions?: readonly string[];
  /** Per-record refusal: the ErrorReason for a member or event, or undefined to accept it (fast-fail: the request). */
  readonly reject?: (record: AudienceMember | ConversionEvent) => string | undefined;
  /** Milliseconds before a request is processed (reported PROCESSING and not applied until then). Default 0. */
  readonly processingMs?: number;
  /** Most members per request (Google: 10,000), events per request (2,000). */
  readonly maxMembersPerRequest?: number;
  readonly maxEventsPerRequest?: number;
  /** Conversions older than this many days when received are dropped in processing, EVENT_TOO_OLD (default protocol.ts, 90). */
  readonly maxEventAgeDays?: number;
  /** Keep every request body (tests check that no raw PII was sent). */
  readonly recordBodies?: boolean;
  /**
   * Refuse to start without Google's message definitions (default true). The sandbox passes false: a user's install
   * without dev dependencies runs the emulator without the schema check.
   */
  readonly requireSchema?: boolean;
  /** Default: Google's quota of 300 requests a minute per project (protocol.ts LIMITS). */
  readonly rateLimit?: RateLimit;
  readonly faults?: FaultPlan;
  readonly port?: number;
}

export interface GoogleAdsStats {
  /** API requests answered (the token endpoint excluded). */
  apiRequests: number;
  /** Access tokens issued by the token endpoint, and grants it refused. */
  tokensIssued: number;
  tokenRefusals: number;
  /** Requests answered 401 for their access token (expired, revoked, missing). */
  unauthenticated: number;
  maxMembersSeen: number;
  maxEventsSeen: number;
  /** Requests refused because a field does not match Google's schema. */
  schemaRefusals: number;
  /** Requests refused for the per-request limits. */
  tooLarge: number;
  /** Events whose transaction id was already ingested (Google de-duplicates them). */
  duplicateEvents: number;
  /** Events older than the oldest conversion Google takes, dropped in processing. */
  tooOldEvents: number;
}

/** A service account of the emulated project, as Google's JSON key file describes it. */
export interface ServiceAccountKey {
  readonly type: 'service_account';
  readonly project_id: string;
  readonly private_key_id: string;
  readonly private_key: string;
  readonly client_email: string;
  readonly client_id: string;
  readonly token_uri: string;
}

interface Credentials {
  readonly clientId: string;
  readonly clientSecret: string;
  refreshToken: string;
  readonly customerId: string;
}

/** An ingestion, removal or remove-all request, processed asynchronously as Google does. */
interface Processing {
  readonly id: string;
  readonly destinations: readonly Destination[];
  readonly kind: 'members' | 'remove' | 'removeAll' | 'events';
  readonly processAt: number;
  readonly records: number;
  readonly identifiers: number;
  /** Records Google dropped while processing, by ProcessingErrorReason (conversions too old, duplicates). */
  readonly errors: Map<string, number>;
  apply?: () => void;
}

const HTML_404 = (path: string) =>
  `<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not Found)!!1</title>\n  <p><b>404.</b> <ins>That’s an error.</ins>\n  <p>The requested URL <code>${path.replace(/[<>&]/g, '')}</code> was not found on this server.  <ins>That’s all we know.</ins>\n`;

/**
 * The Data Manager API as Customer Match and offline conversions see it, and Google's OAuth token endpoint:
 *  - `POST /token` issues access tokens that live `tokenLifetimeSeconds`, for a refresh token (with the OAuth client's
 *    id and secret) or a service account's signed JWT (RS256, `aud` Google's token URL); revoked or wrong grants get
 *    Google's `invalid_grant` / `invalid_client`;
 *  - every API request needs a live token with the datamanager scope (401 UNAUTHENTICATED, ACCESS_TOKEN_EXPIRED);
 *  - only versions Google serves on `today` are routed; others get Google's front end's HTML 404, as retired Google
 *    API versions do;
 *  - every request body and every answer is checked against Google's message definitions (schema.ts); a field the
 *    schema lacks is refused as Google's front end refuses it ("Invalid JSON payload received. Unknown name …");
 *  - Google's documented rules (protocol.ts): ≤ 10,000 members and ≤ 2,000 events per request, ≤ 10 identifiers per
 *    member or event, HEX encoding declared for user data, identifiers SHA-256 hex, region codes ISO alpha-2, the
 *    Customer Match terms accepted for member ingestion, currency ISO 4217, an event identified by a gclid or user
 *    data and with its event source; fast-fail: one bad record refuses the whole request with BadRequest field
 *    violations locating it;
 *  - conversions Google accepts but drops while processing them: older than 90 days when received (EVENT_TOO_OLD),
 *    or with a transaction id the conversion action already holds (DUPLICATE_TRANSACTION_ID: one copy is kept);
 *    requestStatus:retrieve then answers PARTIAL_SUCCESS (FAILED when none was kept) with their counts by reason;
 *  - 300 requests a minute per project, answered 429 RESOURCE_EXHAUSTED beyond (token endpoint counted apart);
 *  - the account: requests for another operating account answer 403 PERMISSION_DENIED; `allowlisted: false` 403
 *    NOT_ALLOWLISTED; unknown lists and conversion actions INVALID_USER_LIST_ID / INVALID_CONVERSION_ACTION_ID;
 *  - processing is asynchronous: requests answer a request id, `requestStatus:retrieve` reports PROCESSING then
 *    SUCCESS, and the change is applied when processed; `removeAll` removes members last added before `removeAsOfTime`.
 * Members live in the store as `user_lists/<id>` → member (its hashed e-mail, else phone, else address) →
 * `{emailAddress: [...], phoneNumber: [...], address: ['given|family|region|postal']}`; conversions as
 * `conversion_actions/<id>` → transaction id → the event as received, in the order received.
 */
export class GoogleAdsEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    private readonly credentials: Credentials,
    readonly stats: Readonly<GoogleAdsStats>,
    /** Request bodies received, when `recordBodies` is set. */
    readonly bodies: readonly string[],
    /** Answers of the emulator that did not match Google's schema: an emulator bug, which tests check is empty. */
    readonly schemaErrors: readonly string[],
    private readonly control: {
      readonly serviceAccount: () => ServiceAccountKey;
      readonly revokeAccessTokens: () => void;
      readonly revokeRefreshToken: () => void;
      readonly lastAdded: (list: string, member: string, at: number) => void;
      /** Applies the requests whose processing time has come. */
      readonly advance: () => void;
      readonly issued: () => readonly string[];
    },
  ) {
    super(server);
  }

  /** The OAuth client and refresh token the token endpoint accepts, and the account they may write to. */
  get oauth(): { readonly clientId: string; readonly clientSecret: string; readonly refreshToken: string; readonly customerId: string } {
    return { ...this.credentials };
  }

  /** Where the emulator's OAuth token endpoint listens. */
  get tokenUrl(): string {
    return `${this.endpoint}/token`;
  }

  /** A service account key (JSON key file content) the token endpoint accepts; made on first use. */
  serviceAccountKey(): ServiceAccountKey {
    return this.control.serviceAccount();
  }

  /** Every access token issued so far (tests look for them where no secret may be). */
  issuedAccessTokens(): readonly string[] {
    return this.control.issued();
  }

  /** Every access token issued so far stops working (as when Google revokes them): the next request gets 401. */
  revokeAccessTokens(): void {
    this.control.revokeAccessTokens();
  }

  /** The refresh token is revoked: renewing fails with `invalid_grant`. */
  revokeRefreshToken(): void {
    this.control.revokeRefreshToken();
  }

  /** Sets when a member was last added (tests of remove-all by time). */
  setLastAdded(list: string, member: string, at: number): void {
    this.control.lastAdded(list, member, at);
  }

  /** Members (or conversions) of a store object, by key, once Google processed what it was sent until now. */
  records(object: string): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
    this.control.advance();
    return this.server.store.object(object);
  }

  override state(): ReturnType<ServerEmulator['state']> {
    this.control.advance();
    return super.state();
  }

  override save(): Promise<unknown> {
    this.control.advance();
    return super.save();
  }
}

export async function startGoogleAdsEmulator(options: GoogleAdsEmulatorOptions = {}): Promise<GoogleAdsEmulator> {
  const schema = await dataManagerSchema();
  if (!schema && options.requireSchema !== false) throw new Error('the Google Ads emulator needs @google-ads/datamanager and protobufjs (dev dependencies) to check requests against Google\'s schema');

  const credentials: Credentials = {
    clientId: `${randomBytes(6).toString('hex')}.apps.googleusercontent.com`,
    clientSecret: `GOCSPX-${randomBytes(14).toString('base64url')}`,
    refreshToken: `1//${randomBytes(24).toString('base64url')}`,
    customerId: options.customerId ?? '1234567890',
  };
  const stats: GoogleAdsStats = { apiRequests: 0, tokensIssued: 0, tokenRefusals: 0, unauthenticated: 0, maxMembersSeen: 0, maxEventsSeen: 0, schemaRefusals: 0, tooLarge: 0, duplicateEvents: 0, tooOldEvents: 0 };
  const bodies: string[] = [];
  const schemaErrors: string[] = [];
  const tokens = new Map<string, { expiresAt: number; scopes: readonly string[] }>();
  const issued: string[] = [];
  const processing = new Map<string, Processing>();
  /** When each member of each list was last added (ms), for removeAll's `removeAsOfTime`. */
  const addedAt = new Map<string, Map<string, number>>();
  let serviceAccount: { key: ServiceAccountKey; publicKey: KeyObject } | undefined;
  const lifetime = options.tokenLifetimeSeconds ?? 3599;
  const versions = options.versions ?? DATA_MANAGER_VERSIONS;
  let store: RecordStore | undefined;

  const makeServiceAccount = () => {
    if (!serviceAccount) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
      const key: ServiceAccountKey = {
        type: 'service_account',
        project_id: 'tideline-sandbox',
        private_key_id: randomBytes(20).toString('hex'),
        private_key: privateKey,
        client_email: 'tideline@tideline-sandbox.iam.gserviceaccount.com',
        client_id: String(100_000_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e9))),
        token_uri: GOOGLE_TOKEN_URL,
      };
      serviceAccount = { key, publicKey: createPublicKey(publicKey) };
    }
    return serviceAccount;
  };

  // ---- answers, checked against Google's schema before they leave ----

  function checked(reply: EmulatorReply, message?: string): EmulatorReply {
    if (!schema || typeof reply.body !== 'object' || reply.body === null) return reply;
    const problems = reply.status >= 400 ? schema.checkError(reply.body) : message ? schema.check(message, reply.body, 'response') : [];
    if (problems.length) {
      const text = `answer ${reply.status}${message ? ` (${message})` : ''} does not match Google's schema: ${problems.map((p) => `${p.field}: ${p.description}`).join('; ')}`;
      schemaErrors.push(text);
      throw new Error(text);
    }
    return reply;
  }

  function error(httpCode: number, status: string, message: string, reason?: string, violations: readonly FieldViolation[] = [], domain = DOMAIN, metadata?: Record<string, string>): EmulatorReply {
    const details = [
      ...(reason ? [{ '@type': ERROR_INFO, reason, domain, ...(metadata ? { metadata } : {}) }] : []),
      ...(violations.length ? [{ '@type': BAD_REQUEST, fieldViolations: violations }] : []),
    ];
    const body: ErrorBody = { error: { code: httpCode, message, status, ...(details.length ? { details } : {}) } };
    return checked({ status: httpCode, body });
  }

  const invalid = (reason: string, message: string, violations: readonly FieldViolation[] = []) => error(400, 'INVALID_ARGUMENT', message, reason, violations);

  /** Google's front end refusing a payload that does not parse into the method's message. */
  function schemaRefusal(violations: readonly SchemaViolation[]): EmulatorReply {
    stats.schemaRefusals++;
    const required = violations.filter((v) => v.reason);
    if (required.length === violations.length) {
      return invalid('REQUIRED_FIELD_MISSING', `Required field is missing: ${required[0]!.field}`, required.map((v) => ({ field: v.field, description: v.description, reason: v.reason })));
    }
    const payload = violations.filter((v) => !v.reason);
    return error(400, 'INVALID_ARGUMENT', payload[0]!.description, undefined, payload.map((v) => ({ field: v.protoField, description: v.description })));
  }

  // ---- the token endpoint ----

  async function token(request: EmulatorRequest): Promise<EmulatorReply> {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const refuse = (status: number, error: string, description: string) => {
      stats.tokenRefusals++;
      return { status, body: { error, error_description: description } };
    };
    const issue = (scopes: readonly string[]) => {
      const accessToken = `ya29.${randomBytes(24).toString('base64url')}`;
      tokens.set(accessToken, { expiresAt: Date.now() + lifetime * 1000, scopes });
      issued.push(accessToken);
      stats.tokensIssued++;
      return { status: 200, body: { access_token: accessToken, expires_in: lifetime, scope: scopes.join(' '), token_type: 'Bearer' } };
    };
    const grant = form.get('grant_type');
    if (grant === 'refresh_token') {
      // The client may authenticate in the body (google-auth-library's default) or with HTTP Basic.
      const basic = /^Basic (.+)$/.exec(requestHeader(request, 'authorization') ?? '');
      const [id, secret] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':') : [form.get('client_id'), form.get('client_secret')];
      if (id !== credentials.clientId || secret !== credentials.clientSecret) return refuse(401, 'invalid_client', 'Unauthorized');
      if (form.get('refresh_token') !== credentials.refreshToken) return refuse(400, 'invalid_grant', 'Token has been expired or revoked.');
      return issue([SCOPE]);
    }
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      if (!serviceAccount) return refuse(400, 'invalid_grant', 'Invalid JWT Signature.');
      try {
        // jose is loaded here, on the first assertion: the emulator is part of the CLI (`tideline sandbox`).
        const { jwtVerify } = await import('jose');
        const { payload } = await jwtVerify(form.get('assertion') ?? '', serviceAccount.publicKey, { algorithms: ['RS256'], audience: GOOGLE_TOKEN_URL, issuer: serviceAccount.key.client_email, maxTokenAge: '1h' });
        const scopes = typeof payload['scope'] === 'string' ? payload['scope'].split(' ') : [];
        return issue(scopes);
      } catch {
        return refuse(400, 'invalid_grant', 'Invalid JWT Signature.');
      }
    }
    return refuse(400, 'unsupported_grant_type', `Invalid grant_type: ${grant ?? ''}`);
  }

  // ---- the API ----

  const api: ApiContract = {
    authenticate: (request) => {
      if (request.path === '/token') return undefined;
      stats.apiRequests++;
      if (options.recordBodies && request.body.length) bodies.push(request.body.toString('utf8'));
      const header = requestHeader(request, 'authorization');
      const unauthenticated = (reason: string) => {
        stats.unauthenticated++;
        return error(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.', reason, [], 'googleapis.com', { service: DOMAIN });
      };
      if (!header?.startsWith('Bearer ')) return unauthenticated('CREDENTIALS_MISSING');
      const live = tokens.get(header.slice(7));
      if (!live) return unauthenticated('ACCESS_TOKEN_TYPE_UNSUPPORTED');
      if (live.expiresAt <= Date.now()) return unauthenticated('ACCESS_TOKEN_EXPIRED');
      if (!live.scopes.includes(SCOPE)) return error(403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', 'ACCESS_TOKEN_SCOPE_INSUFFICIENT', [], 'googleapis.com', { service: DOMAIN });
      return undefined;
    },
    tooManyRequests: () => error(429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Ingestion requests' and limit 'Ingestion requests per minute' of service 'datamanager.googleapis.com'.", 'RATE_LIMIT_EXCEEDED', [], 'googleapis.com', { service: DOMAIN }),
    serverError: (status) => (status === 500 ? error(500, 'INTERNAL', 'Internal error encountered.', 'INTERNAL_ERROR') : error(status, 'UNAVAILABLE', 'The service is currently unavailable.')),
    rateScope: (request) => (request.path === '/token' ? 'oauth' : 'api'),
    handle: async (request, records) => {
      store = records;
      if (request.path === '/token' && request.method === 'POST') return token(request);
      advance();
      return route(request);
    },
  };

  function route(request: EmulatorRequest): EmulatorReply {
    const m = /^\/(v\d+(?:[a-z]+\d*)?)(\/.*)$/.exec(request.path);
    const today = options.today ?? new Date().toISOString().slice(0, 10);
    if (!m || !versionServed(versions, m[1]!, today)) return { status: 404, headers: { 'content-type': 'text/html; charset=UTF-8' }, body: HTML_404(request.path) };
    const path = m[2]!;
    if (request.method === 'GET') {
      if (path === PATHS.requestStatus) return requestStatus(request.query.get('requestId') ?? request.query.get('request_id'));
      const list = /^\/accountTypes\/GOOGLE_ADS\/accounts\/(\d+)\/userLists\/(\d+)$/.exec(path);
      if (list) return userList(list[1]!, list[2]!, requestHeader(request, LOGIN_ACCOUNT_HEADER));
    }
    if (request.method === 'POST') {
      const method = METHODS[path];
      if (method) {
        let body: unknown;
        try {
          body = JSON.parse(request.body.toString('utf8') || '{}');
        } catch {
          return error(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unexpected token.');
        }
        const problems = schema?.check(`${method}Request`, body, 'request') ?? [];
        if (problems.length) return schemaRefusal(problems);
        return write(method, body as Record<string, unknown>);
      }
    }
    return { status: 404, headers: { 'content-type': 'text/html; charset=UTF-8' }, body: HTML_404(request.path) };
  }

  /** The account checks of every write: who may write where, and what exists there. */
  function destinationProblem(destinations: readonly Destination[], kind: 'list' | 'conversion'): EmulatorReply | undefined {
    if (destinations.length > LIMITS.destinationsPerRequest) return invalid('TOO_MANY_DESTINATIONS', `At most ${LIMITS.destinationsPerRequest} destinations per request.`);
    for (const [i, d] of destinations.entries()) {
      if (d.operatingAccount.accountType !== 'GOOGLE_ADS') return invalid('INVALID_DESTINATION', 'The emulator serves Google Ads accounts only.', [{ field: `destinations[${i}].operatingAccount.accountType`, reason: 'INVALID_DESTINATION' }]);
      const login = d.loginAccount?.accountId;
      const reachable = d.operatingAccount.accountId === credentials.customerId && (login === undefined || login === credentials.customerId || login === options.managerId);
      if (!reachable) return error(403, 'PERMISSION_DENIED', 'The caller does not have permission to access the operating account.', 'PERMISSION_DENIED');
      const known = kind === 'list' ? options.userLists : options.conversionActions;
      if (known && !known.includes(d.productDestinationId)) {
        const reason = kind === 'list' ? 'INVALID_USER_LIST_ID' : 'INVALID_CONVERSION_ACTION_ID';
        return invalid(reason, kind === 'list' ? 'User list is not valid.' : 'Conversion action ID is not valid.', [{ field: `destinations[${i}].productDestinationId`, reason }]);
      }
    }
    return undefined;
  }

  function write(method: string, body: Record<string, unknown>): EmulatorReply {
    const destinations = (body['destinations'] ?? []) as Destination[];
    const denied = destinationProblem(destinations, method === 'IngestEvents' ? 'conversion' : 'list');
    if (denied) return denied;
    if (options.allowlisted === false) return error(403, 'PERMISSION_DENIED', 'The account is not allowlisted for the given feature.', 'NOT_ALLOWLISTED');
    if (method === 'RemoveAllAudienceMembers') {
      const asOf = body['removeAsOfTime'] === undefined ? Date.now() : Date.parse(String(body['removeAsOfTime']));
      if (asOf > Date.now()) return invalid('INVALID_ARGUMENT', 'removeAsOfTime cannot be in the future.', [{ field: 'removeAsOfTime', reason: 'INVALID_ARGUMENT' }]);
      return accept('removeAll', destinations, 0, 0, () => {
        for (const d of destinations) {
          const list = `user_lists/${d.productDestinationId}`;
          const times = addedAt.get(list) ?? new Map<string, number>();
          for (const key of [...store!.object(list).keys()]) if ((times.get(key) ?? 0) < asOf) store!.object(list).delete(key);
        }
      }, 'RemoveAllAudienceMembersResponse');
    }
    if (method === 'IngestEvents') return events(body, destinations);
    return members(method === 'IngestAudienceMembers' ? 'members' : 'remove', body, destinations);
  }

  function members(kind: 'members' | 'remove', body: Record<string, unknown>, destinations: readonly Destination[]): EmulatorReply {
    const list = (body['audienceMembers'] ?? []) as AudienceMember[];
    stats.maxMembersSeen = Math.max(stats.maxMembersSeen, list.length);
    const max = options.maxMembersPerRequest ?? LIMITS.membersPerRequest;
    if (list.length > max) {
      stats.tooLarge++;
      return invalid('TOO_MANY_AUDIENCE_MEMBERS', `Maximum number of audience members allowed per request is ${max}.`);
    }
    if (body['encoding'] !== 'HEX' && body['encoding'] !== 'BASE64') return invalid('REQUIRED_FIELD_MISSING', 'The encoding is required for UserData uploads.', [{ field: 'encoding', reason: 'REQUIRED_FIELD_MISSING' }]);
    if (kind === 'members' && (body['termsOfService'] as { customerMatchTermsOfServiceStatus?: string } | undefined)?.customerMatchTermsOfServiceStatus !== 'ACCEPTED') {
      return invalid('TERMS_AND_CONDITIONS_NOT_SIGNED', 'Required terms and conditions are not accepted.', [{ field: 'termsOfService.customerMatchTermsOfServiceStatus', reason: 'TERMS_AND_CONDITIONS_NOT_SIGNED' }]);
    }
    const violations: FieldViolation[] = [];
    list.forEach((member, i) => {
      const at = `audienceMembers[${i}]`;
      if (!member.userData) return void violations.push({ field: at, description: 'The emulator takes user data (hashed contact information) only.', reason: 'INVALID_AUDIENCE_MEMBER' });
      violations.push(...identifierViolations(member.userData.userIdentifiers, `${at}.userData`, String(body['encoding'])));
      const reason = kind === 'members' ? options.reject?.(member) : undefined;
      if (reason) violations.push({ field: at, description: `The audience member is refused (${reason}).`, reason });
    });
    if (violations.length) return invalid(violations[0]!.reason!, `Request contains ${violations.length} invalid record${violations.length > 1 ? 's' : ''}.`, violations);
    const identifiers = list.reduce((n, m) => n + m.userData.userIdentifiers.length, 0);
    return accept(kind, destinations, list.length, identifiers, () => {
      for (const d of destinations) {
        const name = `user_lists/${d.productDestinationId}`;
        const held = store!.object(name);
        const times = addedAt.get(name) ?? addedAt.set(name, new Map()).get(name)!;
        for (const member of list) {
          const ids = member.userData.userIdentifiers;
          if (kind === 'remove') {
            // Someone the list does not hold leaves nothing to remove and no error (protocol.ts, MEMBER_ERASURE).
            for (let key = findMember(held, ids); key !== undefined; key = findMember(held, ids)) held.delete(key);
            continue;
          }
          const existing = findMember(held, ids);
          const key = existing ?? memberKey(ids);
          if (!existing) store!.created(name, key);
          held.set(key, merged(ids));
          times.set(key, Date.now());
        }
      }
    }, kind === 'members' ? 'IngestAudienceMembersResponse' : 'RemoveAudienceMembersResponse');
  }

  function events(body: Record<string, unknown>, destinations: readonly Destination[]): EmulatorReply {
    const list = (body['events'] ?? []) as ConversionEvent[];
    stats.maxEventsSeen = Math.max(stats.maxEventsSeen, list.length);
    const max = options.maxEventsPerRequest ?? LIMITS.eventsPerRequest;
    if (list.length > max) {
      stats.tooLarge++;
      return invalid('TOO_MANY_EVENTS', `Maximum number of events allowed per request is ${max}.`);
    }
    const withUserData = list.some((e) => e.userData);
    if (withUserData && body['encoding'] !== 'HEX' && body['encoding'] !== 'BASE64') return invalid('REQUIRED_FIELD_MISSING', 'The encoding is required for UserData uploads.', [{ field: 'encoding', reason: 'REQUIRED_FIELD_MISSING' }]);
    if (withUserData && options.enhancedConversionsTerms === false) return error(403, 'PERMISSION_DENIED', "The destination account hasn't agreed to the terms for enhanced conversions.", 'DESTINATION_ACCOUNT_ENHANCED_CONVERSIONS_TERMS_NOT_SIGNED');
    const violations: FieldViolation[] = [];
    list.forEach((event, i) => {
      const at = `events[${i}]`;
      if (!event.adIdentifiers?.gclid && !event.userData) violations.push({ field: at, description: 'Events data contains no user identifiers or ad identifiers.', reason: 'NO_IDENTIFIERS_PROVIDED' });
      // Offline conversions need their source (release notes v1.2): a field required for the record, fast-fail.
      if (event.eventSource === undefined || String(event.eventSource) === 'EVENT_SOURCE_UNSPECIFIED' || String(event.eventSource) === '0') {
        violations.push({ field: `${at}.eventSource`, description: 'The event source is required for offline conversions.', reason: 'REQUIRED_FIELD_MISSING' });
      }
      if (event.userData) violations.push(...identifierViolations(event.userData.userIdentifiers, `${at}.userData`, String(body['encoding'])));
      if (event.currency !== undefined && !CURRENCY_CODE.test(event.currency)) violations.push({ field: `${at}.currency`, description: 'The currency code is not supported.', reason: 'INVALID_CURRENCY_CODE' });
      const reason = options.reject?.(event);
      if (reason) violations.push({ field: at, description: `The event is refused (${reason}).`, reason });
    });
    if (violations.length) return invalid(violations[0]!.reason!, `Request contains ${violations.length} invalid record${violations.length > 1 ? 's' : ''}.`, violations);
    const receivedAt = Date.now();
    const oldest = receivedAt - (options.maxEventAgeDays ?? MAX_CONVERSION_AGE_DAYS) * 86_400_000;
    return accept('events', destinations, list.length, 0, (errors) => {
      const dropped = (reason: string) => errors.set(reason, (errors.get(reason) ?? 0) + 1);
      for (const d of destinations) {
        const name = `conversion_actions/${d.productDestinationId}`;
        const held = store!.object(name);
        for (const event of list) {
          // Accepted requests are processed later: a conversion past the age Google takes is dropped then, reported
          // only by requestStatus:retrieve.
          if (Date.parse(event.eventTimestamp) < oldest) {
            stats.tooOldEvents++;
            dropped(EVENT_TOO_OLD);
            continue;
          }
          // Google keeps one conversion per transaction id and conversion action: a re-sent one is dropped, reported.
          if (event.transactionId && held.has(event.transactionId)) {
            stats.duplicateEvents++;
            dropped(DUPLICATE_TRANSACTION_ID);
            continue;
          }
          // Without a transaction id nothing de-duplicates the conversion: every copy is kept.
          const key = event.transactionId || `~${randomBytes(8).toString('hex')}`;
          held.set(key, JSON.parse(JSON.stringify(event)) as Record<string, unknown>);
          store!.created(name, key);
        }
      }
    }, 'IngestEventsResponse');
  }

  /** Identifiers of one user: at most 10, SHA-256 in the declared encoding, addresses complete with an ISO region. */
  function identifierViolations(ids: readonly UserIdentifier[], at: string, encoding: string): FieldViolation[] {
    const out: FieldViolation[] = [];
    if (ids.length > LIMITS.identifiersPerUser) out.push({ field: `${at}.userIdentifiers`, description: `Maximum number of user identifiers allowed per audience member is ${LIMITS.identifiersPerUser}.`, reason: 'TOO_MANY_USER_IDENTIFIERS' });
    const hashed = (value: string) => (encoding === 'HEX' ? HEX_SHA256.test(value) : /^[A-Za-z0-9+/]{43}=$/.test(value));
    const badHash = { description: 'The SHA256 encoded value is malformed.', reason: 'INVALID_SHA256_FORMAT' };
    ids.forEach((id, j) => {
      const here = `${at}.userIdentifiers[${j}]`;
      if ('emailAddress' in id && !hashed(id.emailAddress)) out.push({ field: `${here}.emailAddress`, ...badHash });
      if ('phoneNumber' in id && !hashed(id.phoneNumber)) out.push({ field: `${here}.phoneNumber`, ...badHash });
      if ('address' in id) {
        if (!hashed(id.address.givenName)) out.push({ field: `${here}.address.givenName`, ...badHash });
        if (!hashed(id.address.familyName)) out.push({ field: `${here}.address.familyName`, ...badHash });
        if (!REGION_CODE.test(id.address.regionCode)) out.push({ field: `${here}.address.regionCode`, description: 'The region code is not valid.', reason: 'INVALID_REGION_CODE' });
      }
    });
    return out;
  }

  function accept(kind: Processing['kind'], destinations: readonly Destination[], records: number, identifiers: number, apply: (errors: Map<string, number>) => void, response: string): EmulatorReply {
    const id = randomBytes(12).toString('hex');
    const errors = new Map<string, number>();
    processing.set(id, { id, kind, destinations, records, identifiers, errors, processAt: Date.now() + (options.processingMs ?? 0), apply: () => apply(errors) });
    advance();
    return checked({ status: 200, body: { requestId: id } }, response);
  }

  /** Applies every request whose processing time has come, in the order received. */
  function advance(): void {
    const now = Date.now();
    for (const request of processing.values()) {
      if (request.apply && request.processAt <= now) {
        request.apply();
        request.apply = undefined;
      }
    }
  }

  function requestStatus(id: string | null): EmulatorReply {
    const found = id ? processing.get(id) : undefined;
    if (!found || found.kind === 'removeAll') return invalid('INVALID_REQUEST_ID', 'The request ID used to retrieve the status of a request is not valid.', [{ field: 'requestId', reason: 'INVALID_REQUEST_ID' }]);
    const done = found.apply === undefined;
    // Records dropped in processing make the request PARTIAL_SUCCESS (FAILED when none was kept), with their counts by
    // reason (RequestStatusPerDestination.error_info).
    const dropped = [...found.errors.values()].reduce((n, c) => n + c, 0);
    const outcome = !done ? 'PROCESSING' : dropped === 0 ? 'SUCCESS' : dropped >= found.records * found.destinations.length ? 'FAILED' : 'PARTIAL_SUCCESS';
    const errorInfo = done && dropped ? { errorInfo: { errorCounts: [...found.errors].map(([reason, count]) => ({ recordCount: String(count), reason })) } } : {};
    const status = (destination: Destination) => {
      const base = { destination, requestStatus: outcome, ...errorInfo };
      if (found.kind === 'events') return { ...base, eventsIngestionStatus: { recordCount: String(found.records) } };
      const counts = { recordCount: String(found.records), userIdentifierCount: String(found.identifiers) };
      return found.kind === 'members'
        ? { ...base, audienceMembersIngestionStatus: { userDataIngestionStatus: { ...counts, uploadMatchRateRange: done ? 'MATCH_RATE_RANGE_51_TO_60' : 'MATCH_RATE_RANGE_UNKNOWN' } } }
        : { ...base, audienceMembersRemovalStatus: { userDataRemovalStatus: counts } };
    };
    return checked({ status: 200, body: { requestStatusPerDestination: found.destinations.map(status) } }, 'RetrieveRequestStatusResponse');
  }

  function userList(account: string, id: string, loginHeader: string | undefined): EmulatorReply {
    const login = /accounts\/(\d+)$/.exec(loginHeader ?? '')?.[1];
    if (account !== credentials.customerId || (login !== undefined && login !== account && login !== options.managerId)) return error(403, 'PERMISSION_DENIED', 'The caller does not have permission to access the account.', 'PERMISSION_DENIED');
    if (options.allowlisted === false) return error(403, 'PERMISSION_DENIED', 'The account is not allowlisted for the given feature.', 'NOT_ALLOWLISTED');
    if (options.userLists && !options.userLists.includes(id)) return error(404, 'NOT_FOUND', 'Resource not found.', 'NOT_FOUND');
    const body = {
      name: `accountTypes/GOOGLE_ADS/accounts/${account}/userLists/${id}`,
      id,
      readOnly: false,
      displayName: `Customer list ${id}`,
      membershipStatus: 'OPEN',
      membershipDuration: '47088000s',
      accessReason: 'OWNED',
      ingestedUserListInfo: { uploadKeyTypes: ['CONTACT_ID'], contactIdInfo: { dataSourceType: 'DATA_SOURCE_TYPE_FIRST_PARTY' } },
    };
    return checked({ status: 200, body }, 'UserList');
  }

  const quota: RateLimit = { requests: LIMITS.requestsPerMinute, perMs: 60_000, algorithm: 'fixed-window' };
  const server = await EmulatorServer.start(api, { rateLimit: options.rateLimit ?? quota, faults: options.faults, port: options.port });
  server.restore(options.saved);
  store = server.store;
  return new GoogleAdsEmulator(server, credentials, stats, bodies, schemaErrors, {
    serviceAccount: () => makeServiceAccount().key,
    revokeAccessTokens: () => tokens.clear(),
    revokeRefreshToken: () => {
      credentials.refreshToken = `revoked-${randomBytes(8).toString('hex')}`;
    },
    lastAdded: (list, member, at) => void (addedAt.get(list) ?? addedAt.set(list, new Map()).get(list)!).set(member, at),
    advance,
    issued: () => [...issued],
  });
}

function identifierStrings(ids: readonly UserIdentifier[]): string[] {
  return ids.map((id) => ('emailAddress' in id ? id.emailAddress : 'phoneNumber' in id ? id.phoneNumber : `${id.address.givenName}|${id.address.familyName}|${id.address.regionCode}|${id.address.postalCode}`));
}

/** A member's key: its hashed e-mail, else its hashed phone, else its address. */
function memberKey(ids: readonly UserIdentifier[]): string {
  const email = ids.find((i): i is { emailAddress: string } => 'emailAddress' in i);
  const phone = ids.find((i): i is { phoneNumber: string } => 'phoneNumber' in i);
  return email?.emailAddress ?? phone?.phoneNumber ?? identifierStrings(ids)[0]!;
}

/** The member sharing an identifier with these, if any: Google matches a user by any of their identifiers. */
function findMember(members: ReadonlyMap<string, Record<string, unknown>>, ids: readonly UserIdentifier[]): string | undefined {
  const wanted = new Set(identifierStrings(ids));
  for (const [key, member] of members) {
    if (wanted.has(key)) return key;
    for (const value of Object.values(member).flat()) if (typeof value === 'string' && wanted.has(value)) return key;
  }
  return undefined;
}

/** A member as the store shows it: its hashed e-mails, hashed phones and addresses (a re-add replaces them). */
function merged(ids: readonly UserIdentifier[]): Record<string, unknown> {
  const out: Record<string, string[]> = {};
  const texts = identifierStrings(ids);
  for (const [n, id] of ids.entries()) {
    const text = texts[n]!;
    const kind = 'emailAddress' in id ? 'emailAddress' : 'phoneNumber' in id ? 'phoneNumber' : 'address';
    (out[kind] ??= []).push(text);
  }
  return out;
}
