import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { didYouMean } from '../../src/project/suggest.js';
import { redactor } from '../../src/log/redact.js';
import { GOOGLE, identifier, removesMembers } from '../ads-identifiers.js';
import { ApiClient, AuthError, BatchRejectedError, defineDestination, describeRequest, Outcomes, parseJson, RateLimitedError, rejected, StopSyncError, TransientError, type AccessTokenSource, type ApiVersion, type Batch, type ConfigProblem, type DestinationContext, type DestinationSession, type FieldValue, type HttpRequest, type HttpResponse, type OutboundRecord, type RecordOutcome, type SyncShape } from '../kit/index.js';
import { GoogleAdsEmulator, startGoogleAdsEmulator } from './emulator.js';
import { CONVERSION_DEDUPLICATION, CONVERSION_ERASURE, DATA_MANAGER_VERSIONS, DEFAULT_VERSION, DUPLICATE_TRANSACTION_ID, durationMs, ENCODING, ENDPOINT, EVENT_SOURCES, LIMITS, MAX_CONVERSION_AGE_DAYS, LOGIN_ACCOUNT_HEADER, loginAccountName, MEMBER_ERASURE, PATHS, reasonOf, recordIndex, RETRY_INFO, SCOPE, STOP_REASONS, TRANSIENT_REASONS, violationsOf, type AudienceMember, type Consent, type ConsentStatus, type ConversionEvent, type Destination, type ErrorBody, type EventSource, type FieldViolation, type GoogleStatus, type IngestResponse, type RequestStatus, type RetrieveRequestStatusResponse, type UserIdentifier, type UserList } from './protocol.js';
import { googleTokenSource, type GoogleCredential } from './token-source.js';

const customerId = z
  .string()
  .regex(/^\d{3}-?\d{3}-?\d{4}$/, 'a Google Ads customer id: 10 digits, dashes allowed')
  .transform((s) => s.replaceAll('-', ''));
const consentStatus = z.enum(['GRANTED', 'DENIED', 'UNSPECIFIED']);
/** A key this destination no longer takes, with what replaced it. */
const obsolete = (why: string) =>
  z
    .unknown()
    .refine(() => false, { error: why })
    .optional()
    .describe(`No longer taken: ${why}.`);
const blank = (s: string | undefined) => s === undefined || s.trim() === '';

/**
 * How Tideline gets Google access tokens. One way, or none for Application Default Credentials (as the BigQuery
 * target: an empty value from `${env:X:-}` counts as none).
 */
const credentialsSchema = z
  .strictObject({
    /** A user's OAuth refresh token, with the OAuth client it was issued to (client_id, client_secret). */
    refresh_token: z.string().optional().describe('A user\'s OAuth refresh token (scope https://www.googleapis.com/auth/datamanager), e.g. `${env:GOOGLE_ADS_REFRESH_TOKEN}`; with client_id and client_secret.'),
    client_id: z.string().optional().describe('The OAuth client the refresh token was issued to.'),
    client_secret: z.string().optional().describe('That OAuth client\'s secret, e.g. `${env:GOOGLE_OAUTH_CLIENT_SECRET}`.'),
    key_file: z.string().optional().describe('A service account\'s JSON key file, relative to the project; the service account needs access to the Google Ads account.'),
    access_token: z.string().optional().describe('An access token as it is: it cannot renew, so a sync that outlives it (about an hour) fails.'),
  })
  .superRefine((c, ctx) => {
    const oauth = ['refresh_token', 'client_id', 'client_secret'] as const;
    const given = oauth.filter((k) => !blank(c[k]));
    if (given.length && given.length < oauth.length) {
      for (const k of oauth.filter((k) => blank(c[k]))) ctx.addIssue({ code: 'custom', path: [k], message: `a refresh token needs ${oauth.join(', ')} together; ${k} is missing` });
    }
    const ways = [given.length > 0, !blank(c.key_file), !blank(c.access_token)].filter(Boolean).length;
    if (ways > 1) ctx.addIssue({ code: 'custom', message: 'give one way in: refresh_token (with client_id and client_secret), key_file, or access_token — or none of them for Application Default Credentials' });
  });

export const googleAdsConfigSchema = z.strictObject({
  /** The Google Ads account (10 digits) that owns the lists and conversion actions: the operating account. */
  customer_id: customerId.describe('The Google Ads account (10 digits, dashes allowed) that owns the lists and conversion actions: the operating account.'),
  /** The manager account the credentials reach it through, when there is one: the login account. */
  login_customer_id: customerId.optional().describe('The manager account the credentials reach the account through, when there is one: the login account.'),
  /** How to get access tokens (scope https://www.googleapis.com/auth/datamanager); absent: Application Default Credentials. */
  credentials: credentialsSchema.default({}).describe('How Tideline gets access tokens, which renew: refresh_token with client_id and client_secret, or key_file, or access_token; none of them: Application Default Credentials.'),
  /**
   * `accepted` declares that the account has accepted Google's Customer Match terms
   * (https://support.google.com/adspolicy/answer/6299717): Google requires it for every member upload, and Tideline
   * sends it only when you say so. Required by audience syncs.
   */
  customer_match_terms: z.enum(['accepted']).optional().describe('`accepted` once the account has accepted Google\'s Customer Match terms (https://support.google.com/adspolicy/answer/6299717): Google requires them for member uploads. Required by audience syncs.'),
  /** Consent declared for the whole upload (each member's own ad_user_data / ad_personalization fields take precedence). */
  consent: z.strictObject({ ad_user_data: consentStatus.optional(), ad_personalization: consentStatus.optional() }).default({}).describe('Consent declared for the whole upload; members\' own ad_user_data / ad_personalization fields take precedence.'),
  /** Country of phone numbers written without their country code (ISO alpha-2). */
  default_phone_country: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code in capitals, such as FR').optional().describe('Country of phone numbers written without their country code.'),
  /** Records per request: at most 10,000 members (Google's limit); conversions go 2,000 events per request. */
  batch_size: z.number().int().min(1).max(LIMITS.membersPerRequest).default(LIMITS.membersPerRequest).describe('Records per batch: one request of up to 10,000 members (Google\'s limit), or requests of up to 2,000 conversions.'),
  /** The Data Manager API version. */
  api_version: z
    .string()
    .default(DEFAULT_VERSION)
    .refine((v) => DATA_MANAGER_VERSIONS.some((d) => d.version === v), {
      error: (issue) =>
        `a Data Manager API version: ${DATA_MANAGER_VERSIONS.map((d) => d.version).join(', ')}${/^v\d{2}$/.test(String(issue.input)) ? ` (${String(issue.input)} was a Google Ads API version; this destination speaks the Data Manager API since Google closed Customer Match and conversion imports there in 2026)` : ''}`,
    })
    .describe('The Data Manager API version (v1, no sunset announced).'),
  endpoint: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default(ENDPOINT).describe('The Data Manager API\'s address.'),
  /** Another OAuth token endpoint (emulators and tests); Google's by default. */
  token_url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional().describe('Another OAuth token endpoint (emulators and tests); Google\'s by default.'),
  /** How long a run waits for Google to process its uploads, to report their outcome (0: not at all). */
  status_wait_seconds: z.number().min(0).max(3600).default(60).describe('How long a run waits for Google to process its uploads, to report their outcome and, on a full resync, to remove the members left out (0: not at all).'),
  /** First wait between status queries; doubles up to a minute. */
  status_poll_seconds: z.number().min(0.01).max(600).default(5).describe('First wait between status queries; doubles up to a minute.'),
  developer_token: obsolete('the Data Manager API needs no developer token (Google Ads API v21, which did, was switched off on 2026-08-05): remove developer_token'),
  access_token: obsolete('credentials now go under `credentials:` — a refresh_token with client_id and client_secret, a key_file, or access_token (which cannot renew); none for Application Default Credentials'),
  job_wait_seconds: obsolete('the Data Manager API has no offline user data jobs: use status_wait_seconds'),
  job_poll_seconds: obsolete('the Data Manager API has no offline user data jobs: use status_poll_seconds'),
  identifiers_per_request: obsolete('the Data Manager API takes up to 10,000 members per request: use batch_size'),
  conversions_per_request: obsolete('the Data Manager API takes up to 2,000 events per request, which Tideline keeps to: remove conversions_per_request'),
});
export type GoogleAdsConfig = z.infer<typeof googleAdsConfigSchema>;

const IDENTIFIERS = ['email', 'phone', 'first_name', 'last_name', 'country_code', 'postal_code'] as const;
const ADDRESS_FIELDS = ['first_name', 'last_name', 'country_code', 'postal_code'] as const;
const CONSENT_FIELDS = ['ad_user_data', 'ad_personalization'] as const;
const AUDIENCE_FIELDS: readonly string[] = [...IDENTIFIERS, ...CONSENT_FIELDS];
/**
 * A conversion: when, its value, where it happened, and who — the click id and/or the user's hashed data. The sync
 * key is its transaction id. In events mode the time is the event's (`event.time` of the sync), not a field.
 */
const CONVERSION_FIELDS: readonly string[] = ['gclid', 'conversion_date_time', 'conversion_value', 'currency_code', 'event_source', ...IDENTIFIERS, ...CONSENT_FIELDS];
const EVENT_FIELDS: readonly string[] = CONVERSION_FIELDS.filter((f) => f !== 'conversion_date_time');
/**
 * Google requires an event source for offline conversions; a sync that maps none sends OTHER ("generated from other
 * sources"), which is true of any of them. In-store sales should map `event_source: { constant: IN_STORE }`.
 */
const DEFAULT_EVENT_SOURCE: EventSource = 'OTHER';

type Target = { readonly kind: 'user_list' | 'conversion_action'; readonly id: string };

function targetOf(object: string): Target | undefined {
  const m = /^(user_lists|conversion_actions)\/(\d+)$/.exec(object);
  if (!m) return undefined;
  return { kind: m[1] === 'user_lists' ? 'user_list' : 'conversion_action', id: m[2]! };
}

function versionOf(config: GoogleAdsConfig): ApiVersion {
  return DATA_MANAGER_VERSIONS.find((v) => v.version === config.api_version)!;
}

/**
 * Google Ads through the Data Manager API: Customer Match lists (`object: user_lists/<id>`, mode audience) — members
 * ingested and removed by their hashed identifiers — and offline conversions (`object: conversion_actions/<id>`)
 * with a value and currency, matched by gclid and/or hashed user data: mode events (each new event of the model
 * once, its id the transaction id, its time the conversion time) or mode insert (each row of the model once).
 * Credentials renew through google-auth-library. See destinations/README.md for the behaviour, protocol.ts for
 * Google's facts.
 */
export const googleAds = defineDestination<GoogleAdsConfig>({
  type: 'google_ads',
  summary: 'Google Ads through the Data Manager API: Customer Match lists (hashed identifiers) and offline conversions with a value, from an event table (events) or rows (insert)',
  configSchema: googleAdsConfigSchema,
  modes: ['audience', 'insert', 'events'],
  channel: 'ads',
  events: {
    // Only conversion actions take events (checkSync refuses the others).
    maxAgeDays: (_config, sync) => (targetOf(sync.object)?.kind === 'conversion_action' ? MAX_CONVERSION_AGE_DAYS : undefined),
    deduplication: CONVERSION_DEDUPLICATION,
  },
  secrets: (config) => [config.credentials.refresh_token, config.credentials.client_secret, config.credentials.access_token].filter((s): s is string => !blank(s)),
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    maxBatchBytes: 50_000_000,
    // 300 requests a minute per Google Cloud project; a batch of conversions is up to 5 requests of 2,000 events, so
    // 0.9 batches a second stays under 5 requests a second whatever the object.
    requestsPerSecond: 0.9,
    // Google processes uploads asynchronously; one request at a time keeps a run's removals ahead of its additions.
    concurrency: 1,
    timeoutMs: 120_000,
  }),
  checkSync: (config, sync) => checkSync(config, sync),
  // A list member is erased by the removal the audience mode sends, with the hashed identifiers the snapshot kept;
  // Google offers no way to take back a conversion (protocol.ts).
  erasure: (_config, sync) => (targetOf(sync.object)?.kind === 'user_list' ? { operation: 'remove', method: MEMBER_ERASURE } : { manual: CONVERSION_ERASURE }),
  lockScope: (config, object) => `google_ads:${config.customer_id}#${object}`,
  retainFields: () => IDENTIFIERS,
  retainValue: (config, field, value) => {
    const rule = GOOGLE[field as keyof typeof GOOGLE];
    return rule ? identifier(rule, value, normaliseOptions(config)) : value;
  },
  apiVersion: versionOf,
  open: async (config, context) => new GoogleAdsSession(config, context, targetOf(context.object)!, tokenSource(config, context)),
  emulator: {
    start: (context) => startGoogleAdsEmulator({ saved: context.saved, requireSchema: false }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof GoogleAdsEmulator)) throw new Error('the google_ads sandbox needs a Google Ads emulator');
      const { clientId, clientSecret, refreshToken, customerId: id } = emulator.oauth;
      return {
        ...config,
        endpoint: emulator.endpoint,
        token_url: emulator.tokenUrl,
        credentials: { refresh_token: refreshToken, client_id: clientId, client_secret: clientSecret },
        customer_id: id,
        login_customer_id: undefined,
        status_poll_seconds: 0.05,
      };
    },
  },
});

function checkSync(config: GoogleAdsConfig, sync: SyncShape): ConfigProblem[] {
  const target = targetOf(sync.object);
  if (!target) return [{ at: ['object'], message: 'a Customer Match list `user_lists/<id>` or a conversion action `conversion_actions/<id>`' }];
  const problems: ConfigProblem[] = [];
  const list = target.kind === 'user_list';
  const events = !list && sync.mode === 'events';
  const allowed = list ? AUDIENCE_FIELDS : events ? EVENT_FIELDS : CONVERSION_FIELDS;
  if (list && sync.mode !== 'audience') problems.push({ at: ['mode'], message: 'a Customer Match list takes mode audience (members added and removed)' });
  if (!list && sync.mode !== 'events' && sync.mode !== 'insert') {
    problems.push({ at: ['mode'], message: 'conversions take mode events (only the events after the last run are read, each sent once by its id) or insert (every row of the model is read each run; each new key sent once)' });
  }
  for (const field of sync.fields) {
    if (events && field === 'conversion_date_time') problems.push({ at: ['fields', field], message: 'in mode events the conversion time is the event\'s time (`event.time` of the sync): remove conversion_date_time' });
    else if (!allowed.includes(field)) problems.push({ at: ['fields', field], message: `"${field}" is not a field of ${list ? 'Customer Match' : 'a conversion'}: ${allowed.join(', ')}${didYouMean(field, allowed)}` });
  }
  if ((IDENTIFIERS as readonly string[]).includes(sync.keyField)) {
    problems.push({ at: ['key'], message: `key the ${list ? 'audience by a customer id' : 'conversions by an order or customer id'}: the key is kept in Tideline's state, which must hold no raw e-mail or phone; map identifiers under \`fields\`` });
  }
  const address = ADDRESS_FIELDS.filter((f) => sync.fields.includes(f));
  if (address.length > 0 && address.length < ADDRESS_FIELDS.length) {
    problems.push({ at: ['fields'], message: `an address matches only with all of ${ADDRESS_FIELDS.join(', ')}; missing: ${ADDRESS_FIELDS.filter((f) => !address.includes(f)).join(', ')}` });
  }
  const identifies = sync.fields.includes('email') || sync.fields.includes('phone') || address.length > 0;
  if (list) {
    if (!identifies) problems.push({ at: ['fields'], message: 'map at least one identifier: email, phone, or an address (first_name, last_name, country_code, postal_code)' });
    if (config.customer_match_terms !== 'accepted') {
      problems.push({ at: ['destination'], message: 'Google takes Customer Match members only once the account has accepted its Customer Match terms (https://support.google.com/adspolicy/answer/6299717): accept them in Google Ads, then set `customer_match_terms: accepted` on the destination' });
    }
  } else {
    if (sync.mode === 'insert' && !sync.fields.includes('conversion_date_time')) problems.push({ at: ['fields'], message: 'a conversion needs `conversion_date_time` (when it happened), or mode events, whose event time it is' });
    if (!sync.fields.includes('gclid') && !identifies) problems.push({ at: ['fields'], message: 'a conversion is matched by `gclid` and/or the user\'s identifiers (email, phone, or an address): map at least one' });
  }
  return problems;
}

function normaliseOptions(config: GoogleAdsConfig) {
  return { defaultCountry: config.default_phone_country as CountryCode | undefined };
}

/** The credential the config gives, read (a key file) and registered as secret; or ADC. */
function tokenSource(config: GoogleAdsConfig, context: DestinationContext): AccessTokenSource {
  const c = config.credentials;
  const options = { scopes: [SCOPE], tokenUrl: config.token_url };
  if (!blank(c.access_token)) return googleTokenSource({ kind: 'access_token', token: c.access_token! }, { ...options, field: 'credentials.access_token' });
  if (!blank(c.refresh_token)) {
    return googleTokenSource({ kind: 'refresh_token', refreshToken: c.refresh_token!, clientId: c.client_id!, clientSecret: c.client_secret! }, { ...options, field: 'credentials.refresh_token' });
  }
  if (!blank(c.key_file)) return googleTokenSource(serviceAccount(c.key_file!, context.root), { ...options, field: `credentials.key_file (${c.key_file!})` });
  const credential: GoogleCredential = { kind: 'application_default' };
  return googleTokenSource(credential, { ...options, field: 'Application Default Credentials' });
}

/** A service account key file's content; its private key registered as secret before anything can print it. */
function serviceAccount(file: string, root: string): GoogleCredential {
  let key: { type?: unknown; client_email?: unknown; private_key?: unknown };
  try {
    key = JSON.parse(readFileSync(isAbsolute(file) ? file : join(root, file), 'utf8')) as typeof key;
  } catch (error) {
    throw new AuthError(`credentials.key_file (${file}) cannot be read as a JSON key: ${(error as NodeJS.ErrnoException).code ?? 'not JSON'}`);
  }
  if (typeof key.private_key === 'string') redactor.add(key.private_key);
  if (key.type !== 'service_account' || typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw new AuthError(`credentials.key_file (${file}) is not a service account key (type service_account, client_email, private_key): download one from Google Cloud (IAM › Service accounts › Keys)`);
  }
  return { kind: 'service_account', key: key as Record<string, string> };
}

/** Where a request stands after Google's answer; what `finish` reports. */
interface Upload {
  readonly requestId: string;
  readonly operation: 'add' | 'remove' | 'events';
  status: RequestStatus;
  errors?: Record<string, number>;
}

class GoogleAdsSession implements DestinationSession {
  readonly #uploads: Upload[] = [];
  /** Google's clock when the run began (the Date of its first answer): what a full resync removes members up to. */
  #startedAt: string | undefined;
  #removedAll: Record<string, unknown> | undefined;
  /**
   * Data Manager requests with a token from the token source (a 401 renews the token once and sends the request
   * again once; a second 401, or a renewal that fails, stops the sync naming the credential); Google's reasons say
   * what went wrong (googleError).
   */
  readonly #client: ApiClient;

  constructor(
    private readonly config: GoogleAdsConfig,
    private readonly context: DestinationContext,
    private readonly target: Target,
    private readonly tokens: AccessTokenSource,
  ) {
    this.#client = new ApiClient({
      vendor: 'google-ads',
      baseUrl: `${config.endpoint.replace(/\/$/, '')}/${config.api_version}`,
      tokens,
      headers: config.login_customer_id ? { [LOGIN_ACCOUNT_HEADER]: loginAccountName(config.login_customer_id) } : {},
      classify: (request, response) => googleError(request, response, config),
    });
  }

  private get destination(): Destination {
    const account = (id: string) => ({ accountId: id, accountType: 'GOOGLE_ADS' as const });
    return {
      operatingAccount: account(this.config.customer_id),
      ...(this.config.login_customer_id ? { loginAccount: account(this.config.login_customer_id) } : {}),
      productDestinationId: this.target.id,
    };
  }

  /** A list is read (credentials, access, that it exists and takes contact data); for conversions, a token is got. */
  async check(): Promise<void> {
    const signal = AbortSignal.timeout(30_000);
    if (this.target.kind === 'conversion_action') {
      if (this.context.mode === 'insert') this.context.logger.info({ sync: this.context.sync }, 'mode insert reads every row of the model on each run to find new conversions; mode events reads only the events after the last run (event.time)');
      await this.tokens.token(signal);
      return;
    }
    const { body, date } = await this.call<UserList>('GET', PATHS.userList(this.config.customer_id, this.target.id), undefined, signal);
    this.#startedAt = date;
    const keys = body.ingestedUserListInfo?.uploadKeyTypes;
    if (keys && !keys.includes('CONTACT_ID')) throw new StopSyncError(`user list ${this.target.id} does not take contact data (upload keys ${keys.join(', ')}): ${STOP_REASONS['INVALID_USER_LIST_TYPE']}`);
    if (body.membershipStatus === 'CLOSED') this.context.logger.warn({ list: this.target.id }, `user list ${this.target.id} is closed: Google keeps it but adds no new members until it is opened in Google Ads`);
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const erases = removesMembers(batch) || batch.operation === 'forget';
    if (this.target.kind === 'conversion_action') {
      // Sent as conversions, an erasure would upload the person again: Google has no deletion of conversions.
      if (erases) throw new StopSyncError(`conversion action ${this.target.id}: ${CONVERSION_ERASURE}`);
      return this.applyEvents(batch);
    }
    // `forget` is no operation of this destination (erasure names the removal), but if sent, it means the removal.
    return this.applyMembers(batch, erases ? 'remove' : 'add');
  }

  async finish(outcome: { readonly complete: boolean }): Promise<Readonly<Record<string, unknown>>> {
    const log = this.context.logger;
    const resync = this.context.fullResync === true && this.target.kind === 'user_list';
    await this.waitForProcessing();
    if (resync) {
      if (!outcome.complete) log.warn('the full resync stopped early: members missing from the model were not removed (Google keeps them); run --full-resync again');
      else if (this.#uploads.some((u) => u.status === 'PROCESSING' || u.status === 'REQUEST_STATUS_UNKNOWN')) {
        log.warn(`the full resync's uploads were still processing after status_wait_seconds (${this.config.status_wait_seconds} s): members missing from the model were not removed; run --full-resync again later`);
      } else await this.removeAllBefore();
    }
    const statuses: Record<string, number> = {};
    const errors: Record<string, number> = {};
    let duplicates = 0;
    let failed = 0;
    for (const upload of this.#uploads) {
      statuses[upload.status] = (statuses[upload.status] ?? 0) + 1;
      let own = 0;
      for (const [reason, n] of Object.entries(upload.errors ?? {})) {
        // A conversion Google already had (same transaction id): its de-duplication at work, not a failure — an
        // event re-read inside the look-back, or sent again after a run that died, arrives once.
        if (reason === DUPLICATE_TRANSACTION_ID) duplicates += n;
        else {
          errors[reason] = (errors[reason] ?? 0) + n;
          own += n;
        }
      }
      if ((upload.status === 'FAILED' || upload.status === 'PARTIAL_SUCCESS') && (own > 0 || !upload.errors)) failed++;
    }
    if (duplicates) log.info({ duplicates }, `Google dropped ${duplicates} conversions it already had (same transaction id): each is counted once`);
    if (failed) {
      const then = this.target.kind === 'user_list' ? 'fix the cause and run the sync with --full-resync' : 'Google keeps none of those conversions and Tideline does not send them again: fix the cause for the next ones';
      log.error({ errors }, `Google could not process ${failed} of ${this.#uploads.length} uploads (${Object.keys(errors).join(', ') || 'no reason given'}): their records were recorded as sent; ${then}`);
    }
    return {
      api: `Data Manager API ${this.config.api_version}`,
      uploads: this.#uploads.length,
      statuses,
      ...(Object.keys(errors).length ? { errors } : {}),
      ...(duplicates ? { duplicates } : {}),
      ...(this.#removedAll ? { remove_all: this.#removedAll } : {}),
    };
  }

  async close(): Promise<void> {}

  // ---- Customer Match ----

  private async applyMembers(batch: Batch, operation: 'add' | 'remove'): Promise<readonly RecordOutcome[]> {
    const outcomes = new Outcomes(batch, 'Google');
    const items: Item<AudienceMember>[] = [];
    batch.records.forEach((record, index) => {
      const member = this.member(record, operation);
      if ('refused' in member) outcomes.settle(index, member.refused);
      else items.push({ index, payload: member });
    });
    for (const chunk of chunks(items, LIMITS.membersPerRequest)) {
      await this.sendRecords(chunk, outcomes, 'audienceMembers', batch.signal, (members) => {
        const body =
          operation === 'add'
            ? { destinations: [this.destination], audienceMembers: members, ...this.requestConsent(), encoding: ENCODING, termsOfService: { customerMatchTermsOfServiceStatus: 'ACCEPTED' } }
            : { destinations: [this.destination], audienceMembers: members, encoding: ENCODING };
        return this.upload(operation, operation === 'add' ? PATHS.ingestMembers : PATHS.removeMembers, body, batch.signal);
      });
    }
    return outcomes.done();
  }

  /** A member as Google takes it: hashed identifiers and consent; or why it is not sent at all. */
  private member(record: OutboundRecord, operation: 'add' | 'remove'): AudienceMember | { refused: RecordOutcome } {
    const userIdentifiers = this.identifiers(record);
    if (!userIdentifiers.length) return refuse('no_identifiers', 'no usable identifier after normalisation (an e-mail, a phone, or a complete address)');
    if (operation === 'remove') return { userData: { userIdentifiers } };
    const consent = memberConsent(record);
    // Without consent to use their data for ads, a person's identifiers are not uploaded at all.
    if (consent?.adUserData === 'CONSENT_DENIED') return refuse('consent_denied', 'ad_user_data consent is denied: not uploaded');
    return { userData: { userIdentifiers }, ...(consent ? { consent } : {}) };
  }

  private identifiers(record: OutboundRecord): UserIdentifier[] {
    const f = record.fields;
    const options = normaliseOptions(this.config);
    const ids: UserIdentifier[] = [];
    const email = identifier(GOOGLE.email!, f['email'], options);
    if (email) ids.push({ emailAddress: email });
    const phone = identifier(GOOGLE.phone!, f['phone'], options);
    if (phone) ids.push({ phoneNumber: phone });
    const [givenName, familyName, regionCode, postalCode] = ADDRESS_FIELDS.map((name) => identifier(GOOGLE[name]!, f[name], options));
    if (givenName && familyName && regionCode && postalCode) ids.push({ address: { givenName, familyName, regionCode, postalCode } });
    return ids;
  }

  private requestConsent(): { consent?: Consent } {
    const { ad_user_data, ad_personalization } = this.config.consent;
    const consent: Consent = {
      ...(ad_user_data ? { adUserData: CONSENT[ad_user_data] } : {}),
      ...(ad_personalization ? { adPersonalization: CONSENT[ad_personalization] } : {}),
    };
    return Object.keys(consent).length ? { consent } : {};
  }

  /**
   * A full resync replaces the list's members as Google documents: members were ingested again since `#startedAt`
   * (Google's clock before the first of them), every upload is processed, and `removeAll` with `removeAsOfTime`
   * removes the members last added before — those the model no longer holds, and any added outside Tideline.
   */
  private async removeAllBefore(): Promise<void> {
    if (!this.#startedAt) {
      this.context.logger.warn('the full resync could not read Google\'s clock (no Date header): members missing from the model were not removed');
      return;
    }
    const { body } = await this.call<IngestResponse>('POST', PATHS.removeAllMembers, { destinations: [this.destination], removeAsOfTime: this.#startedAt }, AbortSignal.timeout(60_000));
    this.#removedAll = { as_of: this.#startedAt, request_id: body.requestId };
    this.context.logger.info({ list: this.target.id, as_of: this.#startedAt }, `full resync: members of list ${this.target.id} last added before ${this.#startedAt} removed (removeAll), so the list holds the model`);
  }

  // ---- conversions ----

  private async applyEvents(batch: Batch): Promise<readonly RecordOutcome[]> {
    const outcomes = new Outcomes(batch, 'Google');
    const items: Item<ConversionEvent>[] = [];
    batch.records.forEach((record, index) => {
      const event = this.event(record, batch.operation === 'track');
      if ('refused' in event) outcomes.settle(index, event.refused);
      else items.push({ index, payload: event });
    });
    for (const chunk of chunks(items, LIMITS.eventsPerRequest)) {
      await this.sendRecords(chunk, outcomes, 'events', batch.signal, (events) => {
        const body = { destinations: [this.destination], events, ...this.requestConsent(), ...(events.some((e) => e.userData) ? { encoding: ENCODING } : {}) };
        return this.upload('events', PATHS.ingestEvents, body, batch.signal);
      });
    }
    return outcomes.done();
  }

  /**
   * A conversion as Google takes it, or why it is not sent. `tracked` (events mode): its time is the event's and its
   * transaction id the event id (the record key), which Google de-duplicates by; otherwise `conversion_date_time`.
   */
  private event(record: OutboundRecord, tracked: boolean): ConversionEvent | { refused: RecordOutcome } {
    const f = record.fields;
    const eventTimestamp = rfc3339(tracked ? record.event?.time : f['conversion_date_time']);
    if (!eventTimestamp) return tracked ? refuse('invalid_event_time', 'the event has no time') : refuse('invalid_conversion_date_time', 'conversion_date_time must be a date or a timestamp');
    const eventSource = eventSourceOf(f['event_source']);
    if (!eventSource) return refuse('invalid_event_source', `event_source must be one of ${EVENT_SOURCES.join(', ')}`);
    const gclid = typeof f['gclid'] === 'string' && f['gclid'].trim() ? f['gclid'].trim() : undefined;
    const userIdentifiers = this.identifiers(record);
    if (!gclid && !userIdentifiers.length) return refuse('no_identifiers', 'a conversion needs a gclid or a usable identifier (an e-mail, a phone, or a complete address)');
    const consent = memberConsent(record);
    if (consent?.adUserData === 'CONSENT_DENIED' && userIdentifiers.length) return refuse('consent_denied', 'ad_user_data consent is denied: not uploaded');
    const raw = f['conversion_value'];
    const value = raw === undefined || raw === null ? undefined : Number(raw);
    if (value !== undefined && !Number.isFinite(value)) return refuse('invalid_conversion_value', 'conversion_value must be a number');
    const currency = typeof f['currency_code'] === 'string' ? f['currency_code'].trim().toUpperCase() : undefined;
    return {
      transactionId: record.key,
      eventTimestamp,
      ...(gclid ? { adIdentifiers: { gclid } } : {}),
      ...(userIdentifiers.length ? { userData: { userIdentifiers } } : {}),
      ...(consent ? { consent } : {}),
      ...(currency ? { currency } : {}),
      // Money: to the cent.
      ...(value !== undefined ? { conversionValue: Math.round(value * 100) / 100 } : {}),
      eventSource,
    };
  }

  // ---- requests ----

  /**
   * Sends records Google judges together: its requests are fast-fail, so a record refused (a field violation
   * pointing at it) refuses the request; those records are rejected and the others sent again, at most three times.
   */
  private async sendRecords<T>(items: readonly Item<T>[], outcomes: Outcomes, list: 'audienceMembers' | 'events', signal: AbortSignal, request: (payloads: T[]) => Promise<void>): Promise<void> {
    let pending = items;
    for (let round = 0; pending.length && round < 3; round++) {
      try {
        await request(pending.map((p) => p.payload));
        for (const p of pending) outcomes.settle(p.index, { ok: true });
        return;
      } catch (error) {
        if (!(error instanceof RecordsRefused)) throw error;
        const refused = new Map<number, FieldViolation>();
        for (const v of error.violations) {
          const i = recordIndex(v.field, list);
          if (i !== undefined && i < pending.length && !refused.has(i)) refused.set(i, v);
        }
        if (!refused.size) throw new BatchRejectedError(error.message, error.reason.toLowerCase());
        for (const [i, v] of refused) {
          const reason = v.reason ?? error.reason;
          outcomes.settle(pending[i]!.index, rejected(reason.toLowerCase(), redactor.scrub(`${reason}: ${v.description ?? ''}`.trim()).slice(0, 500)));
        }
        pending = pending.filter((_, i) => !refused.has(i));
        signal.throwIfAborted();
      }
    }
    // Still refused with others after three rounds: sent again by the engine's retries.
    for (const p of pending) outcomes.settle(p.index, { ok: false, code: 'refused_with_others', message: 'Google refused the request for other records three times', retryable: true });
  }

  private async upload(operation: Upload['operation'], path: string, body: unknown, signal: AbortSignal): Promise<void> {
    const { body: answer } = await this.call<IngestResponse>('POST', path, body, signal);
    this.#uploads.push({ requestId: answer.requestId, operation, status: 'PROCESSING' });
  }

  /** Polls the run's uploads until Google has processed them all, for at most `status_wait_seconds`. */
  private async waitForProcessing(): Promise<void> {
    const deadline = Date.now() + this.config.status_wait_seconds * 1000;
    let wait = this.config.status_poll_seconds * 1000;
    for (;;) {
      for (const upload of this.#uploads.filter((u) => u.status === 'PROCESSING' || u.status === 'REQUEST_STATUS_UNKNOWN')) {
        let status: Awaited<ReturnType<GoogleAdsSession['status']>>;
        try {
          status = await this.status(upload.requestId);
        } catch (error) {
          this.context.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'request status not read');
          // Credentials or access gone: no later query would pass either.
          if (!(error instanceof TransientError || error instanceof RateLimitedError)) return;
        }
        if (status) Object.assign(upload, status);
      }
      if (!this.#uploads.some((u) => u.status === 'PROCESSING' || u.status === 'REQUEST_STATUS_UNKNOWN') || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, Math.max(0, deadline - Date.now()))));
      wait = Math.min(wait * 2, 60_000);
    }
  }

  private async status(requestId: string): Promise<Pick<Upload, 'status' | 'errors'> | undefined> {
    const { body } = await this.call<RetrieveRequestStatusResponse>('GET', `${PATHS.requestStatus}?requestId=${encodeURIComponent(requestId)}`, undefined, AbortSignal.timeout(30_000));
    const per = body.requestStatusPerDestination ?? [];
    if (!per.length) return undefined;
    const errors: Record<string, number> = {};
    for (const d of per) for (const c of d.errorInfo?.errorCounts ?? []) if (c.reason) errors[c.reason] = (errors[c.reason] ?? 0) + Number(c.recordCount ?? 0);
    const order: RequestStatus[] = ['PROCESSING', 'REQUEST_STATUS_UNKNOWN', 'FAILED', 'PARTIAL_SUCCESS', 'SUCCESS'];
    const status = order.find((s) => per.some((d) => (d.requestStatus ?? 'REQUEST_STATUS_UNKNOWN') === s)) ?? 'REQUEST_STATUS_UNKNOWN';
    return { status, ...(Object.keys(errors).length ? { errors } : {}) };
  }

  /** One API request: the JSON of its answer (`{}` when empty) and Google's clock (its Date header, RFC 3339). */
  private async call<T>(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal): Promise<{ body: T; date: string | undefined }> {
    const response = await this.#client.request(method, path, { ...(body !== undefined ? { body } : {}), signal });
    const date = response.headers.get('date');
    return { body: parseJson<T>(response.text) ?? ({} as T), date: date ? new Date(date).toISOString().replace('.000Z', 'Z') : undefined };
  }
}

/** A request refused for records its field violations point at (fast-fail): sorted out by `sendRecords`. */
class RecordsRefused extends Error {
  constructor(
    message: string,
    readonly reason: string,
    readonly violations: readonly FieldViolation[],
  ) {
    super(message);
  }
}

/**
 * The typed error for a Data Manager error answer. Messages carry Google's reason and the fix, never values.
 * Refusals that no request of the run can get past — a version Google no longer serves, permissions, allowlists,
 * terms, a destination that does not exist, a payload Google's schema refuses — stop the sync after that one request.
 */
export function googleError(request: Pick<HttpRequest, 'method' | 'url'>, response: HttpResponse, config: Pick<GoogleAdsConfig, 'api_version'>, renewed = false): Error {
  const status: GoogleStatus | undefined = parseJson<ErrorBody>(response.text)?.error;
  const reason = reasonOf(status);
  const what = redactor.scrub(`${describeRequest(request)} answered ${response.status}${reason ? ` ${reason}` : status?.status ? ` ${status.status}` : ''}`);
  const version = DATA_MANAGER_VERSIONS.find((v) => v.version === config.api_version);
  if (response.status === 404 && !status) {
    return new StopSyncError(
      `${what} (not an API answer): Google does not serve Data Manager API ${config.api_version} at this address — the version is switched off${version?.sunset ? ` (its announced sunset: ${version.sunset})` : ''}, or the endpoint is wrong. Upgrade Tideline for a version Google serves (${version?.source ?? 'see protocol.ts'}), or check the destination's endpoint; nothing more is sent this run`,
    );
  }
  if (response.status === 401) {
    return new AuthError(`${what}${renewed ? ': Google refused a freshly renewed access token' : ''} (check the destination's credentials: they need the https://www.googleapis.com/auth/datamanager scope)`);
  }
  if (reason === 'ACCESS_TOKEN_SCOPE_INSUFFICIENT') return new AuthError(`${what}: the credentials lack the https://www.googleapis.com/auth/datamanager scope; issue them again with it`);
  if (response.status === 429 || reason === 'RESOURCE_EXHAUSTED' || reason === 'RATE_LIMIT_EXCEEDED') return new RateLimitedError(what, retryDelayMs(status));
  if (response.status === 408 || response.status >= 500 || (reason && TRANSIENT_REASONS.has(reason))) return new TransientError(what);
  const violations = violationsOf(status);
  const located = violations.filter((v) => recordIndex(v.field, 'audienceMembers') !== undefined || recordIndex(v.field, 'events') !== undefined);
  if (response.status === 400 && located.length && reason && !STOP_REASONS[reason]) return new RecordsRefused(what, reason, located);
  if (reason && STOP_REASONS[reason]) return new StopSyncError(`${what}: ${STOP_REASONS[reason]}; nothing more is sent this run`);
  if (response.status === 403) return new StopSyncError(`${what}: ${STOP_REASONS['PERMISSION_DENIED']}; nothing more is sent this run`);
  if (response.status === 404) return new StopSyncError(`${what}: ${STOP_REASONS['NOT_FOUND']}; nothing more is sent this run`);
  if (response.status === 400 && !reason) {
    // Google's front end refusing the payload itself (a field its schema lacks, a wrong type): the request Tideline
    // built is wrong, whatever the records; halving the batch would only repeat it.
    return new StopSyncError(`${what}: Google refused the request's shape (${redactor.scrub(status?.message ?? 'no message').slice(0, 300)}) — a Tideline bug, please report it; nothing more is sent this run`);
  }
  if (response.status === 400) return new BatchRejectedError(`${what}${status?.message ? `: ${redactor.scrub(status.message).slice(0, 300)}` : ''}`, (reason ?? 'invalid_argument').toLowerCase());
  return new StopSyncError(`${what}: unexpected answer; nothing more is sent this run`);
}

function retryDelayMs(status: GoogleStatus | undefined): number | undefined {
  for (const detail of status?.details ?? []) if (detail['@type'] === RETRY_INFO && 'retryDelay' in detail) return durationMs(detail.retryDelay);
  return undefined;
}

interface Item<T> {
  readonly index: number;
  readonly payload: T;
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function refuse(code: string, message: string): { refused: RecordOutcome } {
  return { refused: rejected(code, message) };
}

const CONSENT: Readonly<Record<'GRANTED' | 'DENIED' | 'UNSPECIFIED', ConsentStatus>> = { GRANTED: 'CONSENT_GRANTED', DENIED: 'CONSENT_DENIED', UNSPECIFIED: 'CONSENT_STATUS_UNSPECIFIED' };

/** A person's own consent, from the mapped ad_user_data / ad_personalization fields (true/false). */
function memberConsent(record: OutboundRecord): Consent | undefined {
  const adUserData = consentOf(record.fields['ad_user_data']);
  const adPersonalization = consentOf(record.fields['ad_personalization']);
  if (!adUserData && !adPersonalization) return undefined;
  return { ...(adUserData ? { adUserData } : {}), ...(adPersonalization ? { adPersonalization } : {}) };
}

function consentOf(value: FieldValue | undefined): ConsentStatus | undefined {
  if (value === null || value === undefined) return undefined;
  const text = String(value).trim().toLowerCase();
  if (['true', '1', 'yes', 'granted', 'y'].includes(text)) return 'CONSENT_GRANTED';
  if (['false', '0', 'no', 'denied', 'n'].includes(text)) return 'CONSENT_DENIED';
  return undefined;
}

/** The mapped event source (case and spaces aside: `in store`, `IN_STORE`), OTHER when none is mapped; undefined when it is none of Google's. */
function eventSourceOf(value: FieldValue | undefined): EventSource | undefined {
  if (value === null || value === undefined || String(value).trim() === '') return DEFAULT_EVENT_SOURCE;
  const text = String(value).trim().toUpperCase().replace(/[\s-]+/g, '_');
  return EVENT_SOURCES.find((s) => s === text);
}

/** RFC 3339 UTC (google.protobuf.Timestamp) from a date or an ISO-8601 timestamp (how timestamps reach destinations). */
function rfc3339(value: FieldValue | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) return undefined;
  return date.toISOString().replace('.000Z', 'Z');
}
