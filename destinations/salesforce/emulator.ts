import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, requestHeader, requestJson, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RecordStore } from '../emulator-kit/server.js';
import type { SalesforceCredentialKind } from './auth.js';
import {
  DEFAULT_LOGIN_URL,
  BULK_UPLOAD_MAX_BYTES,
  CSV_CONTENT_TYPE,
  HARD_DELETE_OPERATION,
  HARD_DELETE_REFUSAL,
  INVALID_SESSION,
  isRetired,
  JWT_ALGORITHM,
  JWT_BEARER_GRANT,
  JWT_MAX_LIFETIME_SECONDS,
  LIMIT_INFO_HEADER,
  LINE_ENDINGS,
  REFRESH_TOKEN_GRANT,
  REQUEST_LIMIT_EXCEEDED,
  RESULT_COLUMNS,
  RETIRED_VERSION_STATUS,
  SALESFORCE_COLLECTION_LIMIT,
  TOKEN_PATH,
  type JobState,
  type LineEnding,
  type TokenError,
} from './protocol.js';

/**
 * A local Salesforce org (REST API `/services/data/vXX.X`), strict where Salesforce is (protocol.ts has the rules and
 * their sources):
 *  - its login server's token endpoint (`/services/oauth2/token`, served on the same port) when `oauth` is given:
 *    the JWT bearer grant — the assertion's RS256 signature verified against the app's public key, `iss` the consumer
 *    key, `aud` the login server, `exp` in the future and at most 3 minutes ahead, `sub` a user who approved the app —
 *    and the refresh token grant (consumer key, secret when the app has one, a refresh token not revoked); refusals
 *    are 400 `{error, error_description}`. Sessions last `sessionSeconds`, after which the API answers 401;
 *  - a retired API version (protocol.ts: 21.0–30.0 since Summer '25) answered 410;
 *  - `Authorization: Bearer <token>` or 401 `INVALID_SESSION_ID`; `Sforce-Limit-Info: api-usage=N/M` on every answer
 *    and 403 `REQUEST_LIMIT_EXCEEDED` once the org's daily request allowance is spent;
 *  - sObject Collections: upsert by an External ID field (≤ 200 records, else 400), answered 200 with one result per
 *    record in request order (`success:false` with `errors[{statusCode,message,fields}]` for a refused one: a
 *    required field missing, a read-only field, the same external id twice in the request); an unknown field is a
 *    400 `INVALID_FIELD` for the whole request; delete by ids;
 *  - an ordinary delete (Collections DELETE) moves the record to a Recycle Bin (`recycleBin()`), out of the object;
 *    a Bulk API 2.0 `hardDelete` job (CSV of Ids only) deletes for good, and is refused 400 when the user lacks the
 *    "Bulk API Hard Delete" permission (`hardDelete: false`); an Id already deleted fails its row ENTITY_IS_DELETED
 *    (protocol.ts: HARD_DELETE_*);
 *  - Bulk API 2.0 ingest jobs (create, upload CSV, UploadComplete, then InProgress and JobComplete on later polls),
 *    with successfulResults / failedResults / unprocessedrecords CSVs as Salesforce writes them (the `sf__` columns,
 *    then the uploaded ones; the `sf__` names and every value quoted; lines ending as the job's lineEnding;
 *    `sf__Error` = `CODE:message:fields --`); an unknown column fails the job;
 *  - sObject Collections create (`POST /composite/sobjects`) and update by Id (`PATCH /composite/sobjects`), ≤ 200
 *    records, answered the same way; used for campaign membership: a CampaignMember needs a Campaign and a Contact
 *    (or Lead) that exist (else `INVALID_CROSS_REFERENCE_KEY` for that record) and is refused `DUPLICATE_VALUE`
 *    ("Already a campaign member.") when the Contact is already a member of the Campaign;
 *  - `GET /sobjects/{object}/{id}` (404 `NOT_FOUND` for an unknown id);
 *  - `describe`, `limits`, and the SOQL forms Tideline uses (`SELECT Id, F FROM O WHERE F IN (…)`, optionally
 *    narrowed by one `G = '…' AND` before the IN); any other query is a 400 `MALFORMED_QUERY`.
 * Field names are case-insensitive, as in Salesforce. Records are kept by object (`Contact`, `Campaign`,
 * `CampaignMember`), by Id; an Id matches in its 15- or 18-character form.
 */
export interface SalesforceFieldDef {
  readonly name: string;
  /** Salesforce field types: id, string, email, phone, textarea, double, int, boolean, date, datetime, reference. */
  readonly type: string;
  /** Neither createable nor updateable (system and formula fields). */
  readonly readOnly?: boolean;
  readonly externalId?: boolean;
  /** Needed to create a record (LastName on Contact). */
  readonly required?: boolean;
}

/** The connected app the emulated org knows, for its token endpoint. */
export interface SalesforceOAuthOptions {
  /** The consumer key (OAuth client_id). */
  readonly clientId: string;
  /** The consumer secret: when set, the refresh token flow requires it ("Require Secret for Refresh Token Flow"). */
  readonly clientSecret?: string;
  /** The public key of the certificate uploaded to the app (PEM: SPKI, or an X.509 certificate): JWT bearer flow. */
  readonly publicKey?: string | KeyObject;
  /** Usernames that approved the app: the only subjects a JWT may name. */
  readonly users?: readonly string[];
  /** Refresh tokens the org issued to the app, valid until revoked. */
  readonly refreshTokens?: readonly string[];
  /** The audience the login server accepts (default https://login.salesforce.com). */
  readonly audience?: string;
  /** How long a session lasts, in seconds (Salesforce: the org's session timeout, two hours by default). */
  readonly sessionSeconds?: number;
}

export interface SalesforceEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  /** A session that never expires (a static access_token); random when absent. */
  readonly token?: string;
  /** The connected app, to serve the token endpoint; absent, only `token` works. */
  readonly oauth?: SalesforceOAuthOptions;
  /** Today (`YYYY-MM-DD`), for which API versions are retired (default: the clock's). */
  readonly today?: string;
  /** Objects and their fields (default: Contact with its usual fields and an External ID field External_Id__c). */
  readonly objects?: Readonly<Record<string, readonly SalesforceFieldDef[]>>;
  /** API requests the org allows per day (default 100,000). */
  readonly dailyLimit?: number;
  /** Records refused one by one (`FIELD_CUSTOM_VALIDATION_EXCEPTION`), by external id value. */
  readonly reject?: (externalId: string) => { readonly message: string } | undefined;
  /** Records per collection request (Salesforce: 200). */
  readonly maxBatchRecords?: number;
  /**
   * Campaigns that exist (Ids `701…`, or names: each gets an Id). Absent (the sandbox): any well-formed Campaign Id is
   * created on first use, since the sandbox does not know the project's campaigns in advance.
   */
  readonly campaigns?: readonly string[];
  readonly faults?: FaultPlan;
  /** `tideline sandbox`: a connected app of its own (key pair, user, secret, refresh token) for `sandboxCredentials`. */
  readonly sandbox?: boolean;
  /** Whether the API user has the "Bulk API Hard Delete" permission (default true); without it hardDelete jobs are refused. */
  readonly hardDelete?: boolean;
}


const DEFAULT_OBJECTS: Readonly<Record<string, readonly SalesforceFieldDef[]>> = {
  Contact: [
    { name: 'Id', type: 'id', readOnly: true },
    { name: 'Name', type: 'string', readOnly: true },
    { name: 'FirstName', type: 'string' },
    { name: 'LastName', type: 'string', required: true },
    { name: 'Email', type: 'email' },
    { name: 'Phone', type: 'phone' },
    { name: 'MobilePhone', type: 'phone' },
    { name: 'Title', type: 'string' },
    { name: 'MailingCity', type: 'string' },
    { name: 'MailingCountry', type: 'string' },
    { name: 'Description', type: 'textarea' },
    { name: 'CreatedDate', type: 'datetime', readOnly: true },
    { name: 'LastModifiedDate', type: 'datetime', readOnly: true },
    { name: 'External_Id__c', type: 'string', externalId: true },
  ],
};

/** Objects every org has, whatever `objects` says (fields given for them in `objects` are added, as custom fields). */
const STANDARD_OBJECTS: Readonly<Record<string, readonly SalesforceFieldDef[]>> = {
  Campaign: [
    { name: 'Id', type: 'id', readOnly: true },
    { name: 'Name', type: 'string', required: true },
    { name: 'IsActive', type: 'boolean' },
  ],
  CampaignMember: [
    { name: 'Id', type: 'id', readOnly: true },
    { name: 'CampaignId', type: 'reference', required: true },
    { name: 'ContactId', type: 'reference' },
    { name: 'LeadId', type: 'reference' },
    { name: 'Status', type: 'picklist' },
    { name: 'CreatedDate', type: 'datetime', readOnly: true },
  ],
};

/** Key prefixes of the Ids the emulator makes (Salesforce's own for these objects). */
const ID_PREFIX: Readonly<Record<string, string>> = { Contact: '003', Lead: '00Q', Campaign: '701', CampaignMember: '00v' };
/** Leeway the emulated login server gives a client clock ahead of its own when reading `exp`. */
const CLOCK_SKEW_SECONDS = 5;
const CAMPAIGN_ID = /^701[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?$/;

interface IngestJob {
  readonly id: string;
  readonly object: string;
  readonly operation: 'upsert' | 'hardDelete';
  /** The upsert's External ID field (a hardDelete job names records by Id). */
  readonly externalIdFieldName: string | undefined;
  readonly lineEnding: LineEnding;
  readonly apiVersion: number;
  readonly createdDate: string;
  state: JobState;
  csv: string;
  polls: number;
  errorMessage?: string;
  successful: string;
  failed: string;
  unprocessed: string;
  processed: number;
  failures: number;
}

/** What the emulated org saw, beyond its records. */
export interface SalesforceStats {
  maxBatchSeen: number;
  collectionRequests: number;
  bulkJobs: number;
  /** Requests to the token endpoint, and how many it refused. */
  tokenRequests: number;
  tokenRefusals: number;
  /** API requests refused 401 because their session had expired. */
  expiredSessions: number;
}

/** Credentials the sandbox hands to a config, of the kind the config uses. */
export interface SandboxCredentials {
  readonly login_url: string;
  readonly instance_url: string | undefined;
  readonly access_token: string | undefined;
  readonly client_id: string | undefined;
  readonly username: string | undefined;
  readonly private_key: string | undefined;
  readonly private_key_file: string | undefined;
  readonly client_secret: string | undefined;
  readonly refresh_token: string | undefined;
}

export class SalesforceEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    readonly token: string,
    readonly stats: Readonly<SalesforceStats>,
    readonly objects: ReadonlyMap<string, readonly SalesforceFieldDef[]>,
    private readonly create: (object: string, values: Readonly<Record<string, unknown>>) => string,
    private readonly sessions: Map<string, number>,
    private readonly refreshTokens: Set<string>,
    private readonly sandbox: { readonly clientId: string; readonly clientSecret: string; readonly username: string; readonly privateKey: string; readonly refreshToken: string } | undefined,
    private readonly bin: ReadonlyMap<string, { readonly object: string; readonly record: Readonly<Record<string, unknown>> }>,
  ) {
    super(server);
  }

  /** Every access token the token endpoint issued, in order (tests look for them in logs and artifacts). */
  get issuedTokens(): string[] {
    return [...this.sessions.keys()];
  }

  /** Revokes a refresh token, as an admin revoking the app's access would. */
  revoke(refreshToken: string): void {
    this.refreshTokens.delete(refreshToken);
  }

  /** Ends every session now (an admin's "revoke", or all of them timing out). */
  expireSessions(): void {
    for (const token of this.sessions.keys()) this.sessions.set(token, 0);
  }

  /**
   * Credentials of the kind `kind` that this emulator accepts, for `tideline sandbox`: a sandbox run goes through the
   * same flow as the real one, with the sandbox's own app, user, key and refresh token.
   */
  sandboxCredentials(kind: SalesforceCredentialKind): SandboxCredentials {
    const none: SandboxCredentials = { login_url: this.endpoint, instance_url: undefined, access_token: undefined, client_id: undefined, username: undefined, private_key: undefined, private_key_file: undefined, client_secret: undefined, refresh_token: undefined };
    if (kind === 'access_token' || !this.sandbox) return { ...none, instance_url: this.endpoint, access_token: this.token };
    if (kind === 'jwt_bearer') return { ...none, client_id: this.sandbox.clientId, username: this.sandbox.username, private_key: this.sandbox.privateKey };
    return { ...none, client_id: this.sandbox.clientId, client_secret: this.sandbox.clientSecret, refresh_token: this.sandbox.refreshToken };
  }

  /** Records of an object, by Id. */
  records(object: string): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
    return this.server.store.object(object);
  }

  /** Records deleted to the Recycle Bin (restorable there), by Id: a hard delete leaves none. */
  recycleBin(): ReadonlyMap<string, { readonly object: string; readonly record: Readonly<Record<string, unknown>> }> {
    return this.bin;
  }

  /** CampaignMember records of a campaign (by its 15- or 18-character Id), by member Id. */
  members(campaignId: string): Map<string, Readonly<Record<string, unknown>>> {
    return new Map([...this.records('CampaignMember')].filter(([, m]) => sameId(String(m['CampaignId']), campaignId)));
  }

  /** Creates a record as an org user would (seeding Contacts for a campaign, say); answers its Id. */
  insert(object: string, values: Readonly<Record<string, unknown>>): string {
    return this.create(object, values);
  }
}

export async function startSalesforceEmulator(options: SalesforceEmulatorOptions = {}): Promise<SalesforceEmulator> {
  const token = options.token ?? `00D${randomBytes(6).toString('hex')}!${randomBytes(24).toString('base64url')}`;
  const objects = new Map(Object.entries(options.objects ?? DEFAULT_OBJECTS));
  for (const [name, standard] of Object.entries(STANDARD_OBJECTS)) {
    const custom = (options.objects?.[name] ?? []).filter((f) => !standard.some((s) => s.name.toLowerCase() === f.name.toLowerCase()));
    objects.set(name, [...standard, ...custom]);
  }
  const lenientCampaigns = options.campaigns === undefined;
  const dailyLimit = options.dailyLimit ?? 100_000;
  const maxBatch = options.maxBatchRecords ?? SALESFORCE_COLLECTION_LIMIT;
  const stats: SalesforceStats = { maxBatchSeen: 0, collectionRequests: 0, bulkJobs: 0, tokenRequests: 0, tokenRefusals: 0, expiredSessions: 0 };
  const sandbox = options.sandbox ? sandboxApp() : undefined;
  const oauth: SalesforceOAuthOptions | undefined = options.oauth ?? sandbox?.oauth;
  const publicKey = oauth?.publicKey === undefined ? undefined : typeof oauth.publicKey === 'string' ? createPublicKey(oauth.publicKey) : oauth.publicKey;
  const refreshTokens = new Set(oauth?.refreshTokens ?? []);
  /** Issued access tokens and when each expires (ms since the epoch). */
  const sessions = new Map<string, number>();
  const orgId = `00D${randomBytes(6).toString('hex').slice(0, 12)}`;
  const jobs = new Map<string, IngestJob>();
  /** Records an ordinary delete moved to the Recycle Bin (protocol.ts: RECYCLE_BIN_DOC), by Id. */
  const recycleBin = new Map<string, { object: string; record: Readonly<Record<string, unknown>> }>();
  let used = 0;
  let nextId = 1;
  const limitInfo = () => ({ [LIMIT_INFO_HEADER]: `api-usage=${Math.min(used, dailyLimit)}/${dailyLimit}` });
  const limitExceeded = { status: REQUEST_LIMIT_EXCEEDED.status, body: [{ message: 'TotalRequests Limit exceeded.', errorCode: REQUEST_LIMIT_EXCEEDED.errorCode }] };

  const api: ApiContract = {
    authenticate: (request) => {
      if (request.path === TOKEN_PATH) return undefined;
      const presented = /^Bearer (.+)$/.exec(requestHeader(request, 'authorization') ?? '')?.[1];
      if (presented === token) return undefined;
      const expires = presented === undefined ? undefined : sessions.get(presented);
      if (expires !== undefined && Date.now() < expires) return undefined;
      if (expires !== undefined) stats.expiredSessions++;
      return { status: INVALID_SESSION.status, body: [{ message: INVALID_SESSION.message, errorCode: INVALID_SESSION.errorCode }] };
    },
    tooManyRequests: () => limitExceeded,
    serverError: (status) => ({ status, body: [{ message: 'An unexpected error occurred. Please include this ErrorId if you contact support', errorCode: 'UNKNOWN_EXCEPTION' }] }),
    handle: (request, store) => {
      if (request.path === TOKEN_PATH) return tokenEndpoint(request);
      if (++used > dailyLimit) return { ...limitExceeded, headers: limitInfo() };
      const reply = route(request, store);
      return { ...reply, headers: { ...limitInfo(), ...reply.headers } };
    },
  };

  /** `POST /services/oauth2/token`: the JWT bearer and refresh token grants, as protocol.ts describes them. */
  async function tokenEndpoint(request: EmulatorRequest): Promise<EmulatorReply> {
    stats.tokenRequests++;
    const refuse = (error: string, error_description: string, status = 400): EmulatorReply => {
      stats.tokenRefusals++;
      return { status, body: { error, error_description } satisfies TokenError };
    };
    if (request.method !== 'POST') return refuse('invalid_request', 'must use HTTP POST', 405);
    if (!oauth) return refuse('invalid_client_id', 'client identifier invalid');
    const form = new URLSearchParams(request.body.toString('utf8'));
    const grant = form.get('grant_type');
    if (grant === JWT_BEARER_GRANT) {
      // jose is loaded on the first assertion: the emulator is part of the CLI (`tideline sandbox`).
      const { compactVerify, decodeJwt, decodeProtectedHeader } = await import('jose');
      const assertion = form.get('assertion') ?? '';
      let claims: Record<string, unknown>;
      try {
        if (decodeProtectedHeader(assertion).alg !== JWT_ALGORITHM) return refuse('invalid_grant', 'invalid assertion');
        claims = decodeJwt(assertion) as Record<string, unknown>;
      } catch {
        return refuse('invalid_grant', 'invalid assertion');
      }
      if (claims['iss'] !== oauth.clientId) return refuse('invalid_client_id', 'client identifier invalid');
      if (!publicKey) return refuse('invalid_grant', 'invalid assertion');
      try {
        // Only the signature here: the claims are checked below, to answer as Salesforce does for each.
        await compactVerify(assertion, publicKey, { algorithms: [JWT_ALGORITHM] });
      } catch {
        return refuse('invalid_grant', 'invalid assertion');
      }
      const audiences = Array.isArray(claims['aud']) ? claims['aud'] : [claims['aud']];
      if (!audiences.includes(oauth.audience ?? DEFAULT_LOGIN_URL)) return refuse('invalid_grant', 'audience is invalid');
      const now = Date.now() / 1000;
      const exp = claims['exp'];
      if (typeof exp !== 'number' || exp <= now) return refuse('invalid_grant', 'expired authorization code');
      if (exp > now + JWT_MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) return refuse('invalid_grant', 'invalid assertion');
      if (typeof claims['sub'] !== 'string' || !(oauth.users ?? []).includes(claims['sub'])) return refuse('invalid_grant', "user hasn't approved this consumer");
      return { status: 200, body: issue() };
    }
    if (grant === REFRESH_TOKEN_GRANT) {
      if (form.get('client_id') !== oauth.clientId) return refuse('invalid_client_id', 'client identifier invalid');
      if (oauth.clientSecret !== undefined && form.get('client_secret') !== oauth.clientSecret) return refuse('invalid_client', 'invalid client credentials');
      if (!refreshTokens.has(form.get('refresh_token') ?? '')) return refuse('invalid_grant', 'expired access/refresh token');
      const session = issue();
      return { status: 200, body: { ...session, signature: randomBytes(32).toString('base64') } };
    }
    return refuse('unsupported_grant_type', 'grant type not supported');
  }

  function issue() {
    const accessToken = `${orgId}!${randomBytes(36).toString('base64url')}`;
    sessions.set(accessToken, Date.now() + (oauth?.sessionSeconds ?? 7200) * 1000);
    return { access_token: accessToken, scope: 'api', instance_url: server.endpoint, id: `${DEFAULT_LOGIN_URL}/id/${orgId}/005000000000001AAA`, token_type: 'Bearer', issued_at: String(Date.now()) };
  }

  function route(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    const match = /^\/services\/data\/v(\d+\.\d+)(\/.*)$/.exec(request.path);
    if (!match) return notFound();
    if (isRetired(match[1]!, options.today ?? new Date().toISOString().slice(0, 10))) {
      return { status: RETIRED_VERSION_STATUS, body: [{ message: `API version ${match[1]} has been retired`, errorCode: 'GONE' }] };
    }
    const path = match[2]!;
    const { method } = request;
    if (method === 'GET' && path === '/limits') return { status: 200, body: { DailyApiRequests: { Max: dailyLimit, Remaining: Math.max(0, dailyLimit - used) } } };
    const describe = /^\/sobjects\/(\w+)\/describe$/.exec(path);
    if (method === 'GET' && describe) return describeObject(describe[1]!);
    const one = /^\/sobjects\/(\w+)\/(\w+)$/.exec(path);
    if (method === 'GET' && one) return readOne(store, one[1]!, one[2]!);
    if (method === 'GET' && path === '/query') return query(store, request.query.get('q') ?? '');
    if (method === 'POST' && path === '/composite/sobjects') return collectionWrite(store, 'create', requestJson(request));
    if (method === 'PATCH' && path === '/composite/sobjects') return collectionWrite(store, 'update', requestJson(request));
    const upsert = /^\/composite\/sobjects\/(\w+)\/(\w+)$/.exec(path);
    if (method === 'PATCH' && upsert) return collectionUpsert(store, upsert[1]!, upsert[2]!, requestJson(request));
    if (method === 'DELETE' && path === '/composite/sobjects') return collectionDelete(store, request.query);
    if (method === 'POST' && path === '/jobs/ingest') return createJob(requestJson(request), Number(match[1]));
    const job = /^\/jobs\/ingest\/(\w+)(\/batches|\/successfulResults\/?|\/failedResults\/?|\/unprocessedrecords\/?)?$/.exec(path);
    if (job) return jobRoute(store, method, job[1]!, job[2] ?? '', request);
    return notFound();
  }

  function fieldsOf(object: string): readonly SalesforceFieldDef[] | undefined {
    const key = [...objects.keys()].find((k) => k.toLowerCase() === object.toLowerCase());
    return key ? objects.get(key) : undefined;
  }

  function field(object: string, name: string): SalesforceFieldDef | undefined {
    return fieldsOf(object)?.find((f) => f.name.toLowerCase() === name.toLowerCase());
  }

  function describeObject(object: string): EmulatorReply {
    const fields = fieldsOf(object);
    if (!fields) return notFound();
    return {
      status: 200,
      body: {
        name: object,
        fields: fields.map((f) => ({
          name: f.name,
          type: f.type,
          createable: !f.readOnly,
          updateable: !f.readOnly,
          externalId: f.externalId === true,
          idLookup: f.externalId === true || f.name === 'Id',
          nillable: !f.required,
        })),
      },
    };
  }

  /** Upserts one record by external id; answers its result (Salesforce's SaveResult shape). */
  function upsertOne(store: RecordStore, object: string, extField: SalesforceFieldDef, values: Record<string, unknown>): SaveResultBody {
    const extValue = values[extField.name];
    if (extValue === undefined || extValue === null || extValue === '') return failure('REQUIRED_FIELD_MISSING', `Required fields are missing: [${extField.name}]`, [extField.name]);
    const rejected = options.reject?.(String(extValue));
    if (rejected) return failure('FIELD_CUSTOM_VALIDATION_EXCEPTION', rejected.message, []);
    const readOnly = Object.keys(values).filter((name) => field(object, name)?.readOnly);
    if (readOnly.length) return failure('INVALID_FIELD_FOR_INSERT_UPDATE', `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`, readOnly);
    const records = store.object(canonicalObject(object));
    const existing = [...records.entries()].find(([, r]) => String(r[extField.name] ?? '').toLowerCase() === String(extValue).toLowerCase());
    const now = new Date().toISOString();
    const next: Record<string, unknown> = { ...(existing?.[1] ?? {}) };
    for (const [name, value] of Object.entries(values)) {
      const canonical = field(object, name)!.name;
      if (value === null) delete next[canonical];
      else next[canonical] = value;
    }
    const missing = (fieldsOf(object) ?? []).filter((f) => f.required && (next[f.name] === undefined || next[f.name] === '')).map((f) => f.name);
    if (missing.length) return failure('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing);
    const id = existing?.[0] ?? `003${String(nextId++).padStart(12, '0')}`;
    next['Id'] = id;
    if (field(object, 'CreatedDate')) next['CreatedDate'] ??= now;
    if (field(object, 'LastModifiedDate')) next['LastModifiedDate'] = now;
    records.set(id, next);
    if (!existing) store.created(canonicalObject(object), id);
    return { id, success: true, created: !existing, errors: [] };
  }

  function canonicalObject(object: string): string {
    return [...objects.keys()].find((k) => k.toLowerCase() === object.toLowerCase()) ?? object;
  }

  function unknownField(object: string, names: Iterable<string>): EmulatorReply | undefined {
    for (const name of names) {
      if (name !== 'attributes' && !field(object, name)) return { status: 400, body: [{ message: `No such column '${name}' on sobject of type ${object}`, errorCode: 'INVALID_FIELD' }] };
    }
    return undefined;
  }

  function externalIdField(object: string, name: string): SalesforceFieldDef | EmulatorReply {
    if (!fieldsOf(object)) return { status: 404, body: [{ message: `The requested resource does not exist: sObject type '${object}' is not supported.`, errorCode: 'NOT_FOUND' }] };
    const ext = field(object, name);
    if (!ext?.externalId) return { status: 400, body: [{ message: `Field name provided, ${name} is not an External ID or indexed field for ${object}`, errorCode: 'INVALID_FIELD' }] };
    return ext;
  }

  function collectionUpsert(store: RecordStore, object: string, extName: string, body: unknown): EmulatorReply {
    const ext = externalIdField(object, extName);
    if ('status' in ext) return ext;
    const records = (body as { records?: unknown } | undefined)?.records;
    if (!Array.isArray(records)) return { status: 400, body: [{ message: 'records: a list is required', errorCode: 'JSON_PARSER_ERROR' }] };
    if (records.length > maxBatch) return { status: 400, body: [{ message: `The number of records exceeds the limit of ${maxBatch}`, errorCode: 'EXCEEDED_ID_LIMIT' }] };
    stats.maxBatchSeen = Math.max(stats.maxBatchSeen, records.length);
    stats.collectionRequests++;
    const names = new Set(records.flatMap((r: Record<string, unknown>) => Object.keys(r)));
    const refused = unknownField(object, names);
    if (refused) return refused;
    const counts = new Map<string, number>();
    for (const r of records as Record<string, unknown>[]) {
      const value = String(valueOf(r, ext.name) ?? '').toLowerCase();
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    const results = (records as Record<string, unknown>[]).map((r) => {
      const { attributes: _attributes, ...values } = r;
      const canonical = Object.fromEntries(Object.entries(values).map(([k, v]) => [field(object, k)!.name, v]));
      const extValue = String(canonical[ext.name] ?? '');
      if ((counts.get(extValue.toLowerCase()) ?? 0) > 1) return failure('DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${extValue}`, [ext.name]);
      return upsertOne(store, object, ext, canonical);
    });
    return { status: 200, body: results };
  }

  function collectionDelete(store: RecordStore, query: URLSearchParams): EmulatorReply {
    const ids = (query.get('ids') ?? '').split(',').filter(Boolean);
    if (!ids.length) return { status: 400, body: [{ message: 'ids: at least one id is required', errorCode: 'MALFORMED_QUERY' }] };
    if (ids.length > maxBatch) return { status: 400, body: [{ message: `The number of ids exceeds the limit of ${maxBatch}`, errorCode: 'EXCEEDED_ID_LIMIT' }] };
    stats.collectionRequests++;
    const results = ids.map((id) => (removeRecord(store, id, true) ? { id, success: true, errors: [] } : { id, success: false, errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }] }));
    return { status: 200, body: results };
  }

  /**
   * Deletes a record by Id, whatever its object: to the Recycle Bin (an ordinary delete) or for good (hardDelete).
   * A deleted Contact or Lead leaves its campaigns, as in Salesforce. False when no record has that Id (deleted
   * already, or in the Recycle Bin).
   */
  function removeRecord(store: RecordStore, id: string, toRecycleBin: boolean): boolean {
    for (const object of objects.keys()) {
      const found = findId(store, object, id);
      const record = found === undefined ? undefined : store.object(object).get(found);
      if (found === undefined || record === undefined) continue;
      store.object(object).delete(found);
      if (toRecycleBin) recycleBin.set(found, { object, record });
      for (const [memberId, m] of store.object('CampaignMember')) if (m['ContactId'] === found || m['LeadId'] === found) removeRecord(store, memberId, toRecycleBin);
      return true;
    }
    return false;
  }

  function query(store: RecordStore, soql: string): EmulatorReply {
    const match = /^SELECT\s+Id\s*,\s*(\w+)\s+FROM\s+(\w+)\s+WHERE\s+(?:(\w+)\s*=\s*'((?:[^'\\]|\\.)*)'\s+AND\s+)?(\w+)\s+IN\s*\((.*)\)\s*$/i.exec(soql.trim());
    if (!match || match[1]!.toLowerCase() !== match[5]!.toLowerCase()) return { status: 400, body: [{ message: "the emulator answers only SELECT Id, F FROM O WHERE [G = '…' AND] F IN (…)", errorCode: 'MALFORMED_QUERY' }] };
    const [, fieldName, object, eqName, eqRaw] = match as unknown as [string, string, string, string | undefined, string | undefined];
    if (!fieldsOf(object)) return { status: 400, body: [{ message: `sObject type '${object}' is not supported.`, errorCode: 'INVALID_TYPE' }] };
    const ext = field(object, fieldName);
    const eq = eqName === undefined ? undefined : field(object, eqName);
    if (!ext || (eqName !== undefined && !eq)) return { status: 400, body: [{ message: `No such column '${ext ? eqName : fieldName}' on entity '${object}'`, errorCode: 'INVALID_FIELD' }] };
    // Ids compare in their 15-character form, case-sensitively; other values ignoring case, as SOQL does.
    const comparable = (def: SalesforceFieldDef, value: unknown) => (def.type === 'id' || def.type === 'reference' ? String(value ?? '').slice(0, 15) : String(value ?? '').toLowerCase());
    const values = new Set([...match[6]!.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => comparable(ext, m[1]!.replace(/\\(.)/g, '$1'))));
    const equal = eq && eqRaw !== undefined ? comparable(eq, eqRaw.replace(/\\(.)/g, '$1')) : undefined;
    const records = [...store.object(canonicalObject(object)).values()]
      .filter((r) => values.has(comparable(ext, r[ext.name])) && (eq === undefined || comparable(eq, r[eq.name]) === equal))
      .map((r) => ({ attributes: attributesOf(canonicalObject(object), String(r['Id'])), Id: r['Id'], [ext.name]: r[ext.name] }));
    return { status: 200, body: { totalSize: records.length, done: true, records } };
  }

  /** `GET /sobjects/{object}/{id}`; in the sandbox, an unknown Campaign Id is a campaign created on first use. */
  function readOne(store: RecordStore, object: string, id: string): EmulatorReply {
    if (!fieldsOf(object)) return { status: 404, body: [{ message: `The requested resource does not exist: sObject type '${object}' is not supported.`, errorCode: 'NOT_FOUND' }] };
    const found = canonicalObject(object) === 'Campaign' ? campaign(store, id) : findId(store, canonicalObject(object), id);
    if (found === undefined) return notFound();
    return { status: 200, body: { attributes: attributesOf(canonicalObject(object), found), ...store.object(canonicalObject(object)).get(found) } };
  }

  /** The stored Id of a campaign; in the sandbox a well-formed unknown Id is created as a campaign. */
  function campaign(store: RecordStore, id: string): string | undefined {
    const found = findId(store, 'Campaign', id);
    if (found !== undefined || !lenientCampaigns || !CAMPAIGN_ID.test(id)) return found;
    store.object('Campaign').set(id, { Id: id, Name: `Sandbox campaign ${id}`, IsActive: true });
    store.created('Campaign', id);
    return id;
  }

  function findId(store: RecordStore, object: string, id: string): string | undefined {
    const records = store.object(object);
    if (records.has(id)) return id;
    return [...records.keys()].find((k) => sameId(k, id));
  }

  /** Creates a record (no checks but the required fields): the org's own records, seeded by tests. */
  function createRecord(store: RecordStore, object: string, values: Readonly<Record<string, unknown>>): string {
    const name = canonicalObject(object);
    const id = `${ID_PREFIX[name] ?? 'a00'}${String(nextId++).padStart(12, '0')}`;
    const record: Record<string, unknown> = { Id: id };
    for (const [k, v] of Object.entries(values)) record[field(name, k)?.name ?? k] = v;
    if (field(name, 'CreatedDate')) record['CreatedDate'] ??= new Date().toISOString();
    store.object(name).set(id, record);
    store.created(name, id);
    return id;
  }

  /** Creates one record of a collection request; answers its SaveResult. */
  function createOne(store: RecordStore, object: string, values: Record<string, unknown>): SaveResultBody {
    const readOnly = Object.keys(values).filter((name) => field(object, name)?.readOnly);
    if (readOnly.length) return failure('INVALID_FIELD_FOR_INSERT_UPDATE', `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`, readOnly);
    const next = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null && v !== undefined));
    const missing = (fieldsOf(object) ?? []).filter((f) => f.required && (next[f.name] === undefined || next[f.name] === '')).map((f) => f.name);
    if (missing.length) return failure('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing);
    if (object === 'CampaignMember') {
      const campaignId = campaign(store, String(next['CampaignId']));
      if (campaignId === undefined) return failure('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', ['CampaignId']);
      next['CampaignId'] = campaignId;
      const who = next['ContactId'] !== undefined ? 'Contact' : next['LeadId'] !== undefined ? 'Lead' : undefined;
      if (!who) return failure('REQUIRED_FIELD_MISSING', 'Required fields are missing: [ContactId, LeadId]', ['ContactId', 'LeadId']);
      const whoId = fieldsOf(who) ? findId(store, who, String(next[`${who}Id`])) : undefined;
      if (whoId === undefined) return failure('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [`${who}Id`]);
      next[`${who}Id`] = whoId;
      const member = [...store.object('CampaignMember').values()].some((m) => m['CampaignId'] === campaignId && m[`${who}Id`] === whoId);
      if (member) return failure('DUPLICATE_VALUE', 'Already a campaign member.', []);
      next['Status'] ??= 'Sent';
    }
    return { id: createRecord(store, object, next), success: true, errors: [] };
  }

  /** Updates one record by its Id; an Id the org does not hold is `ENTITY_IS_DELETED`. */
  function updateOne(store: RecordStore, object: string, values: Record<string, unknown>): SaveResultBody {
    const { Id: rawId, ...rest } = values;
    const id = typeof rawId === 'string' ? findId(store, object, rawId) : undefined;
    if (id === undefined) return failure('ENTITY_IS_DELETED', 'entity is deleted', []);
    const readOnly = Object.keys(rest).filter((name) => field(object, name)?.readOnly);
    if (readOnly.length) return failure('INVALID_FIELD_FOR_INSERT_UPDATE', `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`, readOnly);
    const record = { ...store.object(object).get(id)! };
    for (const [name, value] of Object.entries(rest)) {
      if (value === null) delete record[name];
      else record[name] = value;
    }
    if (field(object, 'LastModifiedDate')) record['LastModifiedDate'] = new Date().toISOString();
    store.object(object).set(id, record);
    return { id, success: true, errors: [] };
  }

  /** `POST /composite/sobjects` (create) and `PATCH /composite/sobjects` (update by Id): types from `attributes`. */
  function collectionWrite(store: RecordStore, action: 'create' | 'update', body: unknown): EmulatorReply {
    const records = (body as { records?: unknown } | undefined)?.records;
    if (!Array.isArray(records)) return { status: 400, body: [{ message: 'records: a list is required', errorCode: 'JSON_PARSER_ERROR' }] };
    if (records.length > maxBatch) return { status: 400, body: [{ message: `The number of records exceeds the limit of ${maxBatch}`, errorCode: 'EXCEEDED_ID_LIMIT' }] };
    for (const r of records as Record<string, unknown>[]) {
      const type = (r['attributes'] as { type?: unknown } | undefined)?.type;
      if (typeof type !== 'string') return { status: 400, body: [{ message: 'Each record must name its type in attributes', errorCode: 'JSON_PARSER_ERROR' }] };
      if (!fieldsOf(type)) return { status: 400, body: [{ message: `sObject type '${type}' is not supported.`, errorCode: 'INVALID_TYPE' }] };
      const refused = unknownField(type, Object.keys(r));
      if (refused) return refused;
      if (action === 'create' && Object.keys(r).some((k) => k.toLowerCase() === 'id')) return { status: 400, body: [{ message: 'Records with an Id cannot be created: update them', errorCode: 'INVALID_FIELD' }] };
    }
    stats.maxBatchSeen = Math.max(stats.maxBatchSeen, records.length);
    stats.collectionRequests++;
    const results = (records as Record<string, unknown>[]).map((r) => {
      const { attributes, ...values } = r;
      const object = canonicalObject((attributes as { type: string }).type);
      const canonical = Object.fromEntries(Object.entries(values).map(([k, v]) => [field(object, k)!.name, v]));
      return action === 'create' ? createOne(store, object, canonical) : updateOne(store, object, canonical);
    });
    return { status: 200, body: results };
  }

  function createJob(body: unknown, apiVersion: number): EmulatorReply {
    const b = (body ?? {}) as Record<string, unknown>;
    const operation = b['operation'];
    const upsert = operation === 'upsert' && typeof b['externalIdFieldName'] === 'string';
    if ((!upsert && operation !== HARD_DELETE_OPERATION) || typeof b['object'] !== 'string' || (b['contentType'] ?? 'CSV') !== 'CSV') {
      return { status: 400, body: [{ message: 'the emulator takes upsert jobs (with externalIdFieldName) and hardDelete jobs, with object and contentType CSV', errorCode: 'INVALIDJOB' }] };
    }
    const lineEnding = b['lineEnding'] ?? 'LF';
    if (lineEnding !== 'LF' && lineEnding !== 'CRLF') return { status: 400, body: [{ message: `Invalid lineEnding: ${String(lineEnding)} (LF or CRLF)`, errorCode: 'INVALIDJOB' }] };
    let externalIdFieldName: string | undefined;
    if (upsert) {
      const ext = externalIdField(b['object'], String(b['externalIdFieldName']));
      if ('status' in ext) return ext;
      externalIdFieldName = ext.name;
    } else {
      if (!fieldsOf(b['object'])) return { status: 400, body: [{ message: `sObject type '${b['object']}' is not supported.`, errorCode: 'INVALIDJOB' }] };
      if (options.hardDelete === false) return { status: HARD_DELETE_REFUSAL.status, body: [{ message: HARD_DELETE_REFUSAL.message, errorCode: HARD_DELETE_REFUSAL.errorCode }] };
    }
    const id = `750${String(jobs.size + 1).padStart(12, '0')}`;
    const job: IngestJob = { id, object: canonicalObject(b['object']), operation: upsert ? 'upsert' : HARD_DELETE_OPERATION, externalIdFieldName, lineEnding, apiVersion, createdDate: new Date().toISOString(), state: 'Open', csv: '', polls: 0, successful: '', failed: '', unprocessed: '', processed: 0, failures: 0 };
    jobs.set(id, job);
    stats.bulkJobs++;
    return { status: 200, body: jobInfo(job) };
  }

  function jobRoute(store: RecordStore, method: string, id: string, sub: string, request: EmulatorRequest): EmulatorReply {
    const job = jobs.get(id);
    if (!job) return notFound();
    if (sub === '/batches' && method === 'PUT') {
      if (job.state !== 'Open') return { status: 409, body: [{ message: `the job is ${job.state}: data can be uploaded only while it is Open`, errorCode: 'INVALIDJOBSTATE' }] };
      if (request.body.length > BULK_UPLOAD_MAX_BYTES) return { status: 400, body: [{ message: 'the upload exceeds 100 MB', errorCode: 'INVALIDBATCH' }] };
      const eol = LINE_ENDINGS[job.lineEnding];
      job.csv += job.csv ? request.body.toString('utf8').split(eol).slice(1).join(eol) : request.body.toString('utf8');
      return { status: 201 };
    }
    if (sub === '' && method === 'PATCH') {
      const state = (requestJson(request) as { state?: string } | undefined)?.state;
      if (state === 'Aborted') job.state = 'Aborted';
      else if (state === 'UploadComplete' && job.state === 'Open') {
        job.state = 'UploadComplete';
        runJob(store, job);
      } else return { status: 409, body: [{ message: `cannot move a ${job.state} job to ${state}`, errorCode: 'INVALIDJOBSTATE' }] };
      return { status: 200, body: jobInfo(job) };
    }
    if (sub === '' && method === 'GET') {
      // The job finishes over two polls, as a real one takes a while.
      if (job.state === 'UploadComplete' || job.state === 'InProgress') job.state = ++job.polls >= 2 ? (job.errorMessage ? 'Failed' : 'JobComplete') : 'InProgress';
      return { status: 200, body: jobInfo(job) };
    }
    if (method === 'GET' && sub.startsWith('/successfulResults')) return csvReply(job.successful);
    if (method === 'GET' && sub.startsWith('/failedResults')) return csvReply(job.failed);
    if (method === 'GET' && sub.startsWith('/unprocessedrecords')) return csvReply(job.unprocessed);
    return notFound();
  }

  /** Applies the job's CSV at once (its state still moves over later polls). */
  function runJob(store: RecordStore, job: IngestJob): void {
    const rows = parseCsv(job.csv, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    const columns = (parseCsv(job.csv, { to_line: 1 }) as string[][])[0] ?? [];
    const unknown = columns.find((c) => !field(job.object, c));
    if (unknown) {
      job.errorMessage = `InvalidBatch : Field name not found : ${unknown}`;
      job.unprocessed = resultCsv(job, 'unprocessedrecords', columns, rows);
      return;
    }
    if (job.operation === HARD_DELETE_OPERATION) return runHardDelete(store, job, columns, rows);
    const ext = field(job.object, job.externalIdFieldName ?? '')!;
    const successful: Record<string, string>[] = [];
    const failed: Record<string, string>[] = [];
    const seen = new Map<string, number>();
    for (const row of rows) seen.set(String(valueOf(row, ext.name) ?? '').toLowerCase(), (seen.get(String(valueOf(row, ext.name) ?? '').toLowerCase()) ?? 0) + 1);
    for (const row of rows) {
      const values: Record<string, unknown> = {};
      for (const [name, raw] of Object.entries(row)) {
        if (raw === '') continue; // an empty cell leaves the field as it is; #N/A clears it
        const def = field(job.object, name)!;
        values[def.name] = raw === '#N/A' ? null : fromCsv(def.type, raw);
      }
      const extValue = String(values[ext.name] ?? '');
      const result = (seen.get(extValue.toLowerCase()) ?? 0) > 1 ? failure('DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${extValue}`, [ext.name]) : upsertOne(store, job.object, ext, values);
      if (result.success) successful.push({ sf__Id: result.id!, sf__Created: String(result.created), ...row });
      else failed.push({ sf__Id: '', sf__Error: result.errors.map((e) => `${e.statusCode}:${e.message}:${e.fields.join(',')} --`).join(' '), ...row });
    }
    job.processed = rows.length;
    job.failures = failed.length;
    job.successful = resultCsv(job, 'successfulResults', columns, successful);
    job.failed = resultCsv(job, 'failedResults', columns, failed);
    job.unprocessed = resultCsv(job, 'unprocessedrecords', columns, []);
  }

  /**
   * A hardDelete job (protocol.ts: HARD_DELETE_*): its CSV names records by `Id` alone (any other column fails the
   * job); each record of the job's object is deleted for good, never to the Recycle Bin. An Id no record of the
   * object has (deleted already, or in the Recycle Bin) fails that row ENTITY_IS_DELETED.
   */
  function runHardDelete(store: RecordStore, job: IngestJob, columns: readonly string[], rows: readonly Record<string, string>[]): void {
    if (columns.length !== 1 || columns[0]!.toLowerCase() !== 'id') {
      job.errorMessage = `InvalidBatch : a ${HARD_DELETE_OPERATION} job takes only an Id column, got ${columns.join(',')}`;
      job.unprocessed = resultCsv(job, 'unprocessedrecords', columns, rows);
      return;
    }
    const successful: Record<string, string>[] = [];
    const failed: Record<string, string>[] = [];
    for (const row of rows) {
      const id = String(valueOf(row, 'Id') ?? '');
      const found = findId(store, job.object, id);
      if (found !== undefined && removeRecord(store, found, false)) successful.push({ sf__Id: found, sf__Created: 'false', ...row });
      else failed.push({ sf__Id: id, sf__Error: 'ENTITY_IS_DELETED:entity is deleted:--', ...row });
    }
    job.processed = rows.length;
    job.failures = failed.length;
    job.successful = resultCsv(job, 'successfulResults', columns, successful);
    job.failed = resultCsv(job, 'failedResults', columns, failed);
    job.unprocessed = resultCsv(job, 'unprocessedrecords', columns, []);
  }

  const server = await EmulatorServer.start(api, { faults: options.faults });
  server.restore(options.saved);
  // Record ids go on from the restored ones.
  for (const records of Object.values(server.store.snapshot())) for (const key of Object.keys(records)) {
    const m = /^\w{3}(\d{12})$/.exec(key);
    if (m) nextId = Math.max(nextId, Number(m[1]) + 1);
  }
  for (const c of options.campaigns ?? []) {
    if (CAMPAIGN_ID.test(c)) {
      if (findId(server.store, 'Campaign', c) === undefined) server.store.object('Campaign').set(c, { Id: c, Name: c, IsActive: true });
    } else if (![...server.store.object('Campaign').values()].some((r) => r['Name'] === c)) createRecord(server.store, 'Campaign', { Name: c, IsActive: true });
  }
  return new SalesforceEmulator(server, token, stats, objects, (object, values) => createRecord(server.store, object, values), sessions, refreshTokens, sandbox?.credentials, recycleBin);
}

/** The sandbox's own connected app: a key pair, a user who approved it, a secret and a refresh token. */
function sandboxApp() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const credentials = {
    clientId: `3MVG9${randomBytes(20).toString('base64url')}`,
    clientSecret: randomBytes(24).toString('hex'),
    username: 'tideline@sandbox.example.com',
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    refreshToken: `5Aep${randomBytes(30).toString('base64url')}`,
  };
  const oauth: SalesforceOAuthOptions = { clientId: credentials.clientId, clientSecret: credentials.clientSecret, publicKey, users: [credentials.username], refreshTokens: [credentials.refreshToken] };
  return { credentials, oauth };
}

/**
 * A result CSV as Salesforce writes it (protocol.ts, RESULT_COLUMNS): the `sf__` columns (names quoted), then the
 * uploaded columns as they were named; every value quoted; lines ending as the job's lineEnding.
 */
function resultCsv(job: IngestJob, kind: keyof typeof RESULT_COLUMNS, columns: readonly string[], rows: readonly Record<string, string>[]): string {
  const eol = LINE_ENDINGS[job.lineEnding];
  const own = RESULT_COLUMNS[kind];
  const header = [...own.map((c) => `"${c}"`), stringifyCsv([columns as string[]], { record_delimiter: '' })].filter(Boolean).join(',');
  const body = stringifyCsv(rows as Record<string, string>[], { columns: [...own, ...columns], quoted: true, quoted_empty: true, record_delimiter: eol });
  return `${header}${eol}${body}`;
}

/** A job's info as Create a Job, Upload Complete and Get Job Info answer it (the fields Salesforce documents). */
function jobInfo(job: IngestJob) {
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: '005000000000001AAA',
    createdDate: job.createdDate,
    systemModstamp: job.createdDate,
    state: job.state,
    ...(job.externalIdFieldName === undefined ? {} : { externalIdFieldName: job.externalIdFieldName }),
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
    jobType: 'V2Ingest',
    ...(job.state === 'Open' ? { contentUrl: `services/data/v${job.apiVersion.toFixed(1)}/jobs/ingest/${job.id}/batches` } : {}),
    lineEnding: job.lineEnding,
    columnDelimiter: 'COMMA',
    numberRecordsProcessed: job.state === 'JobComplete' ? job.processed : 0,
    numberRecordsFailed: job.state === 'JobComplete' ? job.failures : 0,
    retries: 0,
    totalProcessingTime: 0,
    apiActiveProcessingTime: 0,
    apexProcessingTime: 0,
    ...(job.state === 'Failed' ? { errorMessage: job.errorMessage } : {}),
  };
}

/** A record's `attributes`: its type and URL, as query and retrieve answers carry them. */
function attributesOf(type: string, id: string, version = '62.0') {
  return { type, url: `/services/data/v${version}/sobjects/${type}/${id}` };
}

function fromCsv(type: string, raw: string): unknown {
  if (type === 'double' || type === 'int' || type === 'currency' || type === 'percent') return Number(raw);
  if (type === 'boolean') return raw.toLowerCase() === 'true';
  return raw;
}

function valueOf(record: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : record[key];
}

/** Salesforce's SaveResult, as a collection request answers it per record. */
interface SaveResultBody {
  id?: string;
  success: boolean;
  created?: boolean;
  errors: { statusCode: string; message: string; fields: string[] }[];
}

function failure(statusCode: string, message: string, fields: string[]) {
  return { success: false as const, errors: [{ statusCode, message, fields }] };
}

/** Salesforce Ids are the same record in their 15- and 18-character forms (the first 15 are case-sensitive). */
function sameId(a: string, b: string): boolean {
  return a === b || (a.length >= 15 && b.length >= 15 && a.slice(0, 15) === b.slice(0, 15));
}

function csvReply(text: string): EmulatorReply {
  return { status: 200, headers: { 'content-type': CSV_CONTENT_TYPE }, body: text };
}

function notFound(): EmulatorReply {
  return { status: 404, body: [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }] };
}
