import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { didYouMean } from '../../src/project/suggest.js';
import { redactor } from '../../src/log/redact.js';
import { GOOGLE, identifier } from '../ads-identifiers.js';
import {
  AuthError,
  BatchRejectedError,
  defineDestination,
  RateLimitedError,
  StopSyncError,
  TransientError,
  type Batch,
  type ConfigProblem,
  type DestinationContext,
  type DestinationSession,
  type FieldValue,
  type OutboundRecord,
  type RecordOutcome,
  type SyncShape,
} from '../destination.js';
import { describeRequest, send, type HttpRequest, type HttpResponse } from '../http.js';
import { GoogleAdsEmulator, startGoogleAdsEmulator } from './emulator.js';
import {
  codesOf,
  durationMs,
  failuresOf,
  LIMITS,
  RETRY_INFO_TYPE,
  RETRYABLE_CODES,
  TERMS_CODES,
  type ClickConversion,
  type Consent,
  type ConsentStatus,
  type ErrorBody,
  type GoogleStatus,
  type JobOperation,
  type JobStatus,
  type UserData,
  type UserIdentifier,
} from './protocol.js';

const customerId = z
  .string()
  .regex(/^\d{3}-?\d{3}-?\d{4}$/, 'a Google Ads customer id: 10 digits, dashes allowed')
  .transform((s) => s.replaceAll('-', ''));
const consentStatus = z.enum(['GRANTED', 'DENIED', 'UNSPECIFIED']);

export const googleAdsConfigSchema = z.strictObject({
  /** The advertiser account the lists and conversion actions belong to. */
  customer_id: customerId,
  /** The manager account the credentials reach it through, when there is one. */
  login_customer_id: customerId.optional(),
  /** `developer-token` header (from an environment variable). */
  developer_token: z.string().min(1),
  /** OAuth 2 access token with the `https://www.googleapis.com/auth/adwords` scope (from an environment variable). */
  access_token: z.string().min(1),
  api_version: z.string().regex(/^v\d+$/, 'an API version such as v21').default('v21'),
  endpoint: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default('https://googleads.googleapis.com'),
  /** Country of phone numbers written without their country code (ISO alpha-2). */
  default_phone_country: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code in capitals, such as FR').optional(),
  /** Consent declared for the whole upload (each member's own consent fields, when mapped, take precedence). */
  consent: z.strictObject({ ad_user_data: consentStatus.optional(), ad_personalization: consentStatus.optional() }).default({}),
  /** Records per batch handed to the adapter. */
  batch_size: z.number().int().min(1).max(10_000).default(10_000),
  /** Identifiers per addOperations request (Google: ≤ 100,000, about 10,000 recommended). */
  identifiers_per_request: z.number().int().min(LIMITS.identifiersPerOperation).max(LIMITS.identifiersPerRequest).default(LIMITS.recommendedIdentifiersPerRequest),
  /** Conversions per uploadClickConversions request (Google: ≤ 2,000). */
  conversions_per_request: z.number().int().min(1).max(LIMITS.conversionsPerRequest).default(LIMITS.conversionsPerRequest),
  /** How long a run waits for its jobs to finish after running them (0: run them and return). */
  job_wait_seconds: z.number().min(0).max(3600).default(60),
  /** First wait between job status queries; doubles up to a minute. */
  job_poll_seconds: z.number().min(0.01).max(600).default(5),
});
export type GoogleAdsConfig = z.infer<typeof googleAdsConfigSchema>;

/** Fields of a Customer Match sync; identifiers are normalised and hashed here, consent is per member. */
const AUDIENCE_FIELDS = ['email', 'phone', 'first_name', 'last_name', 'country_code', 'postal_code', 'ad_user_data', 'ad_personalization'] as const;
const ADDRESS_FIELDS = ['first_name', 'last_name', 'country_code', 'postal_code'] as const;
/** What the snapshot keeps to remove a member later: hashed (or, for country and postal code, normalised) values. */
const RETAINED = ['email', 'phone', 'first_name', 'last_name', 'country_code', 'postal_code'] as const;
/** Fields of a click-conversion sync; the sync key is sent as the order id. */
const CONVERSION_FIELDS = ['gclid', 'conversion_date_time', 'conversion_value', 'currency_code'] as const;

/** The sync's object: a Customer Match list or a conversion action. */
type Target = { readonly kind: 'user_list' | 'conversion_action'; readonly id: string };

function targetOf(object: string): Target | undefined {
  const m = /^(user_lists|conversion_actions)\/(\d+)$/.exec(object);
  if (!m) return undefined;
  return { kind: m[1] === 'user_lists' ? 'user_list' : 'conversion_action', id: m[2]! };
}

/**
 * Google Ads: Customer Match audiences (`object: user_lists/<id>`, mode audience) through one offline user data job
 * per run and operation, and offline click conversions (`object: conversion_actions/<id>`, mode insert) — the
 * conversion value may be the customer's predicted LTV.
 */
export const googleAds = defineDestination<GoogleAdsConfig>({
  type: 'google_ads',
  summary: 'Google Ads Customer Match lists (hashed identifiers, offline user data jobs) and offline click conversions',
  configSchema: googleAdsConfigSchema,
  modes: ['audience', 'insert'],
  secrets: (config) => [config.developer_token, config.access_token],
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    maxBatchBytes: 50_000_000,
    // Google publishes no fixed ceiling: it answers RESOURCE_EXHAUSTED with a retry delay, which the engine honours.
    requestsPerSecond: null,
    // addOperations on one job one at a time: concurrent writes to a job end in CONCURRENT_MODIFICATION.
    concurrency: 1,
    timeoutMs: 120_000,
  }),
  checkSync: (_config, sync) => checkSync(sync),
  lockScope: (config, object) => `google_ads:${config.customer_id}#${object}`,
  retainFields: () => RETAINED,
  retainValue: (config, field, value) => {
    const rule = GOOGLE[field as keyof typeof GOOGLE];
    return rule ? identifier(rule, value, normaliseOptions(config)) : value;
  },
  open: async (config, context) => new GoogleAdsSession(config, context, targetOf(context.object)!),
  emulator: {
    start: (context) => startGoogleAdsEmulator({ saved: context.saved }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof GoogleAdsEmulator)) throw new Error('the google_ads sandbox needs a Google Ads emulator');
      const { accessToken, developerToken, customerId: id } = emulator.credentials;
      return { ...config, endpoint: emulator.endpoint, access_token: accessToken, developer_token: developerToken, customer_id: id, login_customer_id: undefined, job_poll_seconds: 0.05 };
    },
  },
});

function checkSync(sync: SyncShape): ConfigProblem[] {
  const target = targetOf(sync.object);
  if (!target) return [{ at: ['object'], message: 'a Customer Match list `user_lists/<id>` or a conversion action `conversion_actions/<id>`' }];
  const problems: ConfigProblem[] = [];
  const allowed: readonly string[] = target.kind === 'user_list' ? AUDIENCE_FIELDS : CONVERSION_FIELDS;
  const mode = target.kind === 'user_list' ? 'audience' : 'insert';
  // Modes Google Ads never takes are reported by the loader; here, the one that does not fit this object.
  if (sync.mode !== mode && (sync.mode === 'audience' || sync.mode === 'insert')) problems.push({ at: ['mode'], message: target.kind === 'user_list' ? 'a Customer Match list takes mode audience (members added and removed)' : 'click conversions take mode insert: a conversion is uploaded once' });
  for (const field of sync.fields) {
    if (!allowed.includes(field)) problems.push({ at: ['fields', field], message: `"${field}" is not a field of ${target.kind === 'user_list' ? 'Customer Match' : 'a click conversion'}: ${allowed.join(', ')}${didYouMean(field, allowed)}` });
  }
  if (target.kind === 'user_list') {
    if (RETAINED.includes(sync.keyField as (typeof RETAINED)[number])) {
      problems.push({ at: ['key'], message: 'key the audience by a customer id: the key is kept in Tideline\'s state, which must hold no raw e-mail or phone; map identifiers under `fields`' });
    }
    const address = ADDRESS_FIELDS.filter((f) => sync.fields.includes(f));
    if (address.length > 0 && address.length < ADDRESS_FIELDS.length) {
      problems.push({ at: ['fields'], message: `an address matches only with all of ${ADDRESS_FIELDS.join(', ')}; missing: ${ADDRESS_FIELDS.filter((f) => !address.includes(f)).join(', ')}` });
    }
    if (!sync.fields.includes('email') && !sync.fields.includes('phone') && address.length === 0) problems.push({ at: ['fields'], message: 'map at least one identifier: email, phone, or an address (first_name, last_name, country_code, postal_code)' });
  } else {
    for (const required of ['gclid', 'conversion_date_time']) if (!sync.fields.includes(required)) problems.push({ at: ['fields'], message: `a click conversion needs \`${required}\`` });
  }
  return problems;
}

function normaliseOptions(config: GoogleAdsConfig) {
  return { defaultCountry: config.default_phone_country as CountryCode | undefined };
}

type JobKind = 'add' | 'remove';

interface JobFacts {
  operation: JobKind;
  job: string;
  operations: number;
  remove_all: boolean;
  status: JobStatus | 'NOT_RUN';
  failure_reason?: string;
}

class GoogleAdsSession implements DestinationSession {
  readonly #jobs: Partial<Record<JobKind, Promise<string>>> = {};
  readonly #operations: Record<JobKind, number> = { add: 0, remove: 0 };
  #conversions = 0;

  constructor(
    private readonly config: GoogleAdsConfig,
    private readonly context: DestinationContext,
    private readonly target: Target,
  ) {}

  async check(): Promise<void> {
    await this.call(`customers/${this.config.customer_id}/googleAds:search`, { query: 'SELECT customer.id FROM customer LIMIT 1' }, AbortSignal.timeout(30_000));
  }

  apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    return this.target.kind === 'user_list' ? this.applyMembers(batch) : this.applyConversions(batch);
  }

  async finish(outcome: { readonly complete: boolean }): Promise<Readonly<Record<string, unknown>>> {
    if (this.target.kind === 'conversion_action') return { conversions_uploaded: this.#conversions };
    const log = this.context.logger;
    const facts: JobFacts[] = [];
    // Removals first, then additions: both jobs run even when the run stopped early, because the snapshot already
    // counts every accepted operation as done (and on a full resync, removeAll + what was sent is what it holds).
    for (const kind of ['remove', 'add'] as const) {
      const job = await this.#jobs[kind]?.catch(() => undefined);
      if (!job) continue;
      facts.push({ operation: kind, job, operations: this.#operations[kind], remove_all: kind === 'add' && this.context.fullResync === true, status: 'NOT_RUN' });
    }
    if (!facts.length) return { offline_user_data_jobs: [] };
    const deadline = Date.now() + this.config.job_wait_seconds * 1000;
    for (const fact of facts) {
      if (await this.run(fact.job, deadline)) fact.status = 'PENDING';
      else log.error({ job: fact.job }, `Google Ads job ${fact.job} could not be run: its ${fact.operations} ${fact.operation} operations are not applied; run the sync with --full-resync`);
    }
    let wait = this.config.job_poll_seconds * 1000;
    while (facts.some((f) => f.status === 'PENDING' || f.status === 'RUNNING') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, Math.max(0, deadline - Date.now()))));
      wait = Math.min(wait * 2, 60_000);
      for (const fact of facts.filter((f) => f.status === 'PENDING' || f.status === 'RUNNING')) {
        const status = await this.status(fact.job).catch(() => undefined);
        if (status) Object.assign(fact, status);
      }
    }
    for (const fact of facts) {
      if (fact.status === 'SUCCESS') log.info({ job: fact.job }, `Google Ads job ${fact.job} (${fact.operation}, ${fact.operations} operations) succeeded`);
      else if (fact.status === 'FAILED') log.error({ job: fact.job, reason: fact.failure_reason }, `Google Ads job ${fact.job} FAILED (${fact.failure_reason ?? 'no reason given'}): the list did not change; fix the cause and run the sync with --full-resync`);
      else if (fact.status !== 'NOT_RUN') log.info({ job: fact.job }, `Google Ads job ${fact.job} is ${fact.status}: Google applies it on its side (it can take hours); the run does not wait longer than job_wait_seconds`);
    }
    if (!outcome.complete && this.context.fullResync) log.warn('the full resync stopped early: the list holds only what was sent; run --full-resync again');
    return { offline_user_data_jobs: facts };
  }

  async close(): Promise<void> {}

  // ---- Customer Match ----

  private async applyMembers(batch: Batch): Promise<readonly RecordOutcome[]> {
    const kind: JobKind = batch.operation === 'remove' || batch.operation === 'delete' ? 'remove' : 'add';
    const outcomes: RecordOutcome[] = new Array<RecordOutcome>(batch.records.length);
    const pending: { index: number; operation: JobOperation; identifiers: number }[] = [];
    batch.records.forEach((record, index) => {
      const user = this.userData(record, kind);
      if ('refused' in user) outcomes[index] = user.refused;
      else pending.push({ index, operation: kind === 'add' ? { create: user } : { remove: user }, identifiers: user.userIdentifiers.length });
    });
    for (const chunk of chunks(pending, this.config.identifiers_per_request, (p) => p.identifiers)) {
      const job = await this.job(kind, batch.signal);
      const answer = await this.call<{ partialFailureError?: GoogleStatus }>(`${job}:addOperations`, { operations: chunk.map((p) => p.operation), enablePartialFailure: true }, batch.signal);
      const failures = failuresByIndex(answer.partialFailureError, 'operations');
      chunk.forEach((p, i) => {
        const failure = failures.get(i) ?? (failures.has(-1) ? failures.get(-1) : undefined);
        outcomes[p.index] = failure ?? { ok: true };
        if (!failure) this.#operations[kind]++;
      });
    }
    return outcomes;
  }

  /** The member as Google takes it: hashed identifiers and consent; or why it is not sent at all. */
  private userData(record: OutboundRecord, kind: JobKind): UserData | { refused: RecordOutcome } {
    const f = record.fields;
    const options = normaliseOptions(this.config);
    const ids: UserIdentifier[] = [];
    const email = identifier(GOOGLE.email!, f['email'], options);
    if (email) ids.push({ hashedEmail: email });
    const phone = identifier(GOOGLE.phone!, f['phone'], options);
    if (phone) ids.push({ hashedPhoneNumber: phone });
    const [first, last, country, postal] = ADDRESS_FIELDS.map((name) => identifier(GOOGLE[name]!, f[name], options));
    if (first && last && country && postal) ids.push({ addressInfo: { hashedFirstName: first, hashedLastName: last, countryCode: country, postalCode: postal } });
    if (!ids.length) return { refused: { ok: false, code: 'no_identifiers', message: 'no usable identifier after normalisation (an e-mail, a phone, or a complete address)', retryable: false } };
    if (kind === 'remove') return { userIdentifiers: ids };
    const consent: Consent = {
      ...(consentOf(f['ad_user_data']) ? { adUserData: consentOf(f['ad_user_data']) } : {}),
      ...(consentOf(f['ad_personalization']) ? { adPersonalization: consentOf(f['ad_personalization']) } : {}),
    };
    // Without consent to use their data for ads, a person's identifiers are not uploaded at all.
    if (consent.adUserData === 'DENIED') return { refused: { ok: false, code: 'consent_denied', message: 'ad_user_data consent is denied: not uploaded', retryable: false } };
    return Object.keys(consent).length ? { userIdentifiers: ids, consent } : { userIdentifiers: ids };
  }

  /** The run's job for adds or removes, created on first use (on a full resync the add job starts with removeAll). */
  private job(kind: JobKind, signal: AbortSignal): Promise<string> {
    let job = this.#jobs[kind];
    if (!job) {
      job = this.createJob(kind, signal);
      this.#jobs[kind] = job;
      // A failed creation is retried by the next batch.
      job.catch(() => {
        if (this.#jobs[kind] === job) delete this.#jobs[kind];
      });
    }
    return job;
  }

  private async createJob(kind: JobKind, signal: AbortSignal): Promise<string> {
    const { consent, customer_id } = this.config;
    const jobConsent: Consent = {
      ...(consent.ad_user_data ? { adUserData: consent.ad_user_data } : {}),
      ...(consent.ad_personalization ? { adPersonalization: consent.ad_personalization } : {}),
    };
    const metadata = { userList: `customers/${customer_id}/userLists/${this.target.id}`, ...(Object.keys(jobConsent).length ? { consent: jobConsent } : {}) };
    const { resourceName } = await this.call<{ resourceName: string }>(`customers/${customer_id}/offlineUserDataJobs:create`, { job: { type: 'CUSTOMER_MATCH_USER_LIST', customerMatchUserListMetadata: metadata } }, signal);
    if (kind === 'add' && this.context.fullResync) {
      await this.call(`${resourceName}:addOperations`, { operations: [{ removeAll: true }], enablePartialFailure: false }, signal);
      this.context.logger.info({ job: resourceName }, 'full resync: the list is emptied (removeAll) and every member sent again, in one job');
    }
    return resourceName;
  }

  /** Runs a job, retrying what may pass until the deadline; false when it could not be run. */
  private async run(job: string, deadline: number): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.call(`${job}:run`, {}, AbortSignal.timeout(30_000));
        return true;
      } catch (error) {
        const retryable = error instanceof TransientError || error instanceof RateLimitedError;
        const wait = error instanceof RateLimitedError && error.retryAfterMs !== undefined ? error.retryAfterMs : Math.min(30_000, 500 * 2 ** attempt);
        if (!retryable || attempt >= 5 || Date.now() + wait > Math.max(deadline, Date.now() + 2_000)) {
          this.context.logger.warn({ job, err: error instanceof Error ? error.message : String(error) }, 'running the Google Ads job failed');
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  private async status(job: string): Promise<Pick<JobFacts, 'status' | 'failure_reason'> | undefined> {
    const query = `SELECT offline_user_data_job.resource_name, offline_user_data_job.status, offline_user_data_job.failure_reason FROM offline_user_data_job WHERE offline_user_data_job.resource_name = '${job}'`;
    const answer = await this.call<{ results?: { offlineUserDataJob?: { status?: JobStatus; failureReason?: string } }[] }>(`customers/${this.config.customer_id}/googleAds:search`, { query }, AbortSignal.timeout(30_000));
    const found = answer.results?.[0]?.offlineUserDataJob;
    if (!found?.status) return undefined;
    return { status: found.status, ...(found.failureReason ? { failure_reason: found.failureReason } : {}) };
  }

  // ---- click conversions ----

  private async applyConversions(batch: Batch): Promise<readonly RecordOutcome[]> {
    const outcomes: RecordOutcome[] = new Array<RecordOutcome>(batch.records.length);
    const pending: { index: number; conversion: ClickConversion }[] = [];
    const action = `customers/${this.config.customer_id}/conversionActions/${this.target.id}`;
    batch.records.forEach((record, index) => {
      const conversion = clickConversion(record, action);
      if ('refused' in conversion) outcomes[index] = conversion.refused;
      else pending.push({ index, conversion });
    });
    for (const chunk of chunks(pending, this.config.conversions_per_request, () => 1)) {
      const answer = await this.call<{ partialFailureError?: GoogleStatus }>(`customers/${this.config.customer_id}:uploadClickConversions`, { conversions: chunk.map((p) => p.conversion), partialFailure: true }, batch.signal);
      const failures = failuresByIndex(answer.partialFailureError, 'conversions', new Set(['CLICK_CONVERSION_ALREADY_EXISTS']));
      chunk.forEach((p, i) => {
        const failure = failures.get(i) ?? failures.get(-1);
        outcomes[p.index] = failure ?? { ok: true };
        if (!failure) this.#conversions++;
      });
    }
    return outcomes;
  }

  // ---- transport ----

  private async call<T>(path: string, body: unknown, signal: AbortSignal): Promise<T> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.config.access_token}`,
      'developer-token': this.config.developer_token,
      'content-type': 'application/json',
      'user-agent': 'tideline-google-ads',
    };
    if (this.config.login_customer_id) headers['login-customer-id'] = this.config.login_customer_id;
    const request: HttpRequest = { method: 'POST', url: `${this.config.endpoint.replace(/\/$/, '')}/${this.config.api_version}/${path}`, headers, body: JSON.stringify(body), signal };
    const response = await send(request);
    if (response.status >= 200 && response.status < 300) return (response.text.trim() ? JSON.parse(response.text) : {}) as T;
    throw googleError(request, response);
  }
}

/** The typed error for a Google Ads error answer. Messages carry codes, never values. */
export function googleError(request: Pick<HttpRequest, 'method' | 'url'>, response: HttpResponse): Error {
  let status: GoogleStatus | undefined;
  try {
    status = (JSON.parse(response.text) as ErrorBody).error;
  } catch {
    status = undefined;
  }
  const failures = failuresOf(status);
  const codes = [...new Set(failures.flatMap(codesOf))];
  const what = redactor.scrub(`${describeRequest(request)} answered ${response.status}${codes.length ? ` ${codes.join(', ')}` : status?.status ? ` ${status.status}` : ''}`);
  if (codes.some((c) => TERMS_CODES.has(c))) {
    return new StopSyncError(
      `${what}: Google Ads refuses customer data for this account — its customer data terms are not accepted, or the consent sent is DENIED. Accept the Customer Match terms in Google Ads (Tools › Audience manager) and check the destination's \`consent\`; nothing more is sent this run`,
    );
  }
  if (response.status === 429 || codes.some((c) => c.startsWith('RESOURCE_') && c.endsWith('EXHAUSTED'))) return new RateLimitedError(what, retryDelayMs(status, failures));
  if (response.status === 401 || response.status === 403) return new AuthError(`${what} (check the destination's access_token, developer_token, customer_id and login_customer_id)`);
  if (response.status === 408 || response.status >= 500 || codes.some((c) => RETRYABLE_CODES.has(c))) return new TransientError(what);
  if (codes.includes('JOB_ALREADY_STARTED')) return new StopSyncError(`${what}: the run's job was already started (another runner?); run the sync again`);
  if (response.status === 400) return new BatchRejectedError(`${what}${failures[0]?.message ? `: ${failures[0].message}` : ''}`, (codes[0] ?? 'invalid_argument').toLowerCase());
  return new StopSyncError(`${what}: check the destination's customer_id and the sync's object`);
}

function retryDelayMs(status: GoogleStatus | undefined, failures: readonly { details?: { quotaErrorDetails?: { retryDelay?: string } } }[]): number | undefined {
  for (const detail of status?.details ?? []) if (detail['@type'] === RETRY_INFO_TYPE && 'retryDelay' in detail) return durationMs(detail.retryDelay);
  for (const failure of failures) {
    const delay = durationMs(failure.details?.quotaErrorDetails?.retryDelay);
    if (delay !== undefined) return delay;
  }
  return undefined;
}

/**
 * Per-operation failures of a partial-failure status, by the operation's index in the request (-1: an error that
 * names no operation, which then answers for every one). `okCodes` are failures that mean the work is already done.
 */
function failuresByIndex(status: GoogleStatus | undefined, fieldName: string, okCodes: ReadonlySet<string> = new Set()): Map<number, RecordOutcome> {
  const out = new Map<number, RecordOutcome>();
  for (const failure of failuresOf(status)) {
    const codes = codesOf(failure);
    if (codes.every((c) => okCodes.has(c))) continue;
    const index = failure.location?.fieldPathElements.find((e) => e.fieldName === fieldName)?.index ?? -1;
    if (out.has(index)) continue;
    const code = codes[0] ?? 'unknown';
    out.set(index, { ok: false, code: code.toLowerCase(), message: redactor.scrub(failure.message || code).slice(0, 500), retryable: codes.some((c) => RETRYABLE_CODES.has(c)) });
  }
  return out;
}

/** Consecutive items grouped so that each group's weight stays within `max`. */
function* chunks<T>(items: readonly T[], max: number, weight: (item: T) => number): Generator<T[]> {
  let chunk: T[] = [];
  let total = 0;
  for (const item of items) {
    const w = weight(item);
    if (chunk.length && total + w > max) {
      yield chunk;
      chunk = [];
      total = 0;
    }
    chunk.push(item);
    total += w;
  }
  if (chunk.length) yield chunk;
}

function consentOf(value: FieldValue | undefined): ConsentStatus | undefined {
  if (value === null || value === undefined) return undefined;
  const text = String(value).trim().toLowerCase();
  if (['true', '1', 'yes', 'granted', 'y'].includes(text)) return 'GRANTED';
  if (['false', '0', 'no', 'denied', 'n'].includes(text)) return 'DENIED';
  return undefined;
}

function clickConversion(record: OutboundRecord, action: string): ClickConversion | { refused: RecordOutcome } {
  const f = record.fields;
  const refuse = (code: string, message: string) => ({ refused: { ok: false as const, code, message, retryable: false } });
  const gclid = typeof f['gclid'] === 'string' ? f['gclid'].trim() : '';
  if (!gclid) return refuse('missing_gclid', 'a click conversion needs its gclid');
  const when = googleDateTime(f['conversion_date_time']);
  if (!when) return refuse('invalid_conversion_date_time', 'conversion_date_time must be a timestamp');
  const value = f['conversion_value'] === undefined || f['conversion_value'] === null ? undefined : Number(f['conversion_value']);
  if (value !== undefined && !Number.isFinite(value)) return refuse('invalid_conversion_value', 'conversion_value must be a number');
  const currency = typeof f['currency_code'] === 'string' ? f['currency_code'].trim().toUpperCase() : undefined;
  return {
    gclid,
    conversionAction: action,
    conversionDateTime: when,
    ...(value !== undefined ? { conversionValue: Math.round(value * 100) / 100 } : {}),
    ...(currency ? { currencyCode: currency } : {}),
    orderId: record.key,
  };
}

/** `yyyy-mm-dd hh:mm:ss+hh:mm` from ISO-8601 text (timestamps reach destinations as UTC ISO text). */
function googleDateTime(value: FieldValue | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/.test(value)) return value;
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) return undefined;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}+00:00`;
}
