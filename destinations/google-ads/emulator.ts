import { randomBytes } from 'node:crypto';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, requestHeader, requestJson, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RateLimitSpec, type RecordStore } from '../emulator-kit/server.js';
import {
  errorBody,
  LIMITS,
  RETRY_INFO_TYPE,
  type AddOperationsRequest,
  type ClickConversion,
  type CreateJobRequest,
  type GoogleAdsError,
  type JobOperation,
  type JobStatus,
  type UploadClickConversionsRequest,
  type UserData,
  type UserIdentifier,
} from './protocol.js';

export interface GoogleAdsEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  readonly accessToken?: string;
  readonly developerToken?: string;
  /** The one customer (account) the credentials reach. */
  readonly customerId?: string;
  /** Most identifiers in one addOperations request (Google: 100,000). */
  readonly maxIdentifiersPerRequest?: number;
  /** Most conversions in one uploadClickConversions request (Google: 2,000). */
  readonly maxConversionsPerRequest?: number;
  /** False: the account has not accepted the customer data terms; creating a job fails. */
  readonly termsAccepted?: boolean;
  /** Status queries a job answers RUNNING before it finishes (default 1). */
  readonly pollsUntilDone?: number;
  /** Jobs end FAILED instead of SUCCESS (nothing applied). */
  readonly failJobs?: boolean;
  /** Per-operation refusal (a partial failure), by the user's identifiers: the code, or undefined to accept. */
  readonly reject?: (user: UserData) => string | undefined;
  /** Keep every request body (tests check that no raw PII was sent). */
  readonly recordBodies?: boolean;
  readonly rateLimit?: RateLimitSpec;
  readonly faults?: FaultPlan;
  readonly port?: number;
}

interface Job {
  readonly id: string;
  readonly customer: string;
  /** The store object: `user_lists/<id>`. */
  readonly list: string;
  readonly operations: JobOperation[];
  kind: 'create' | 'remove' | undefined;
  status: JobStatus;
  /** Run was called: nothing more can be added. */
  ran: boolean;
  /** Status queries left to answer RUNNING. */
  pollsLeft: number;
  failureReason?: string;
}

export interface GoogleAdsStats {
  /** Largest number of identifiers in one addOperations request. */
  maxIdentifiersSeen: number;
  /** Largest number of operations (users added or removed) in one addOperations request. */
  maxOperationsSeen: number;
  /** Jobs created, run, and finished (SUCCESS or FAILED). */
  jobsCreated: number;
  jobsRun: number;
  jobsDone: number;
  /** Requests refused for the API's size limits. */
  tooLarge: number;
}

/**
 * Google Ads as Customer Match and conversion uploads see it: OAuth token and developer token checked, offline user
 * data jobs with their real life cycle (create → addOperations → run → PENDING/RUNNING → SUCCESS | FAILED, membership
 * applied only on SUCCESS), identifiers that must be SHA-256 lower-case hex, ≤ 20 identifiers per operation, the
 * request ceiling, creates and removes never in one job (CONFLICTING_OPERATION), removeAll only first, nothing added
 * after run (JOB_ALREADY_STARTED), consent DENIED or terms not accepted → CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS,
 * partial failures by operation index, RESOURCE_EXHAUSTED with a retry delay. Membership lives in the store as
 * object `user_lists/<id>` → member (its hashed e-mail, else hashed phone, else address) → identifiers; uploaded
 * conversions as `conversion_actions/<id>` → order id (else gclid) → conversion.
 */
export class GoogleAdsEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    /** Request bodies received, when `recordBodies` is set. */
    readonly bodies: readonly string[],
    readonly credentials: { readonly accessToken: string; readonly developerToken: string; readonly customerId: string },
    readonly stats: Readonly<GoogleAdsStats>,
    private readonly jobs: ReadonlyMap<string, Job>,
  ) {
    super(server);
  }

  /** Members (or conversions) of a store object, by key. */
  records(object: string): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
    return this.server.store.object(object);
  }

  /** Jobs by status, for tests. */
  jobStatuses(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const job of this.jobs.values()) out[job.status] = (out[job.status] ?? 0) + 1;
    return out;
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

export async function startGoogleAdsEmulator(options: GoogleAdsEmulatorOptions = {}): Promise<GoogleAdsEmulator> {
  const credentials = {
    accessToken: options.accessToken ?? `ya29.${randomBytes(18).toString('hex')}`,
    developerToken: options.developerToken ?? randomBytes(11).toString('hex'),
    customerId: options.customerId ?? '1234567890',
  };
  const jobs = new Map<string, Job>();
  const stats: GoogleAdsStats = { maxIdentifiersSeen: 0, maxOperationsSeen: 0, jobsCreated: 0, jobsRun: 0, jobsDone: 0, tooLarge: 0 };
  const bodies: string[] = [];
  let nextJob = 1000;

  const api: ApiContract = {
    authenticate: (request) => {
      if (options.recordBodies && request.body.length) bodies.push(request.body.toString('utf8'));
      if (requestHeader(request, 'authorization') !== `Bearer ${credentials.accessToken}`) {
        return { status: 401, body: errorBody(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.', [{ errorCode: { authenticationError: 'OAUTH_TOKEN_INVALID' }, message: 'Oauth token is invalid.' }]) };
      }
      if (requestHeader(request, 'developer-token') !== credentials.developerToken) {
        return { status: 401, body: errorBody(401, 'UNAUTHENTICATED', 'The developer token is not valid.', [{ errorCode: { authenticationError: 'DEVELOPER_TOKEN_INVALID' }, message: 'The developer token is not valid.' }]) };
      }
      return undefined;
    },
    tooManyRequests: (state) => {
      const delay = `${Math.max(0.001, state.retryAfterMs / 1000).toFixed(3)}s`;
      return {
        status: 429,
        body: errorBody(
          429,
          'RESOURCE_EXHAUSTED',
          'Resource has been exhausted (e.g. check quota).',
          [{ errorCode: { quotaError: 'RESOURCE_EXHAUSTED' }, message: `Too many requests. Retry in ${delay}.`, details: { quotaErrorDetails: { rateScope: 'ACCOUNT', rateName: 'Requests per account', retryDelay: delay } } }],
          [{ '@type': RETRY_INFO_TYPE, retryDelay: delay }],
        ),
      };
    },
    serverError: (status) =>
      status === 500
        ? { status, body: errorBody(500, 'INTERNAL', 'Internal error encountered.', [{ errorCode: { internalError: 'INTERNAL_ERROR' }, message: 'An internal error has occurred.' }]) }
        : { status, body: errorBody(status, 'UNAVAILABLE', 'The service is currently unavailable.', [{ errorCode: { internalError: 'TRANSIENT_ERROR' }, message: 'The request failed due to a transient error; retry it.' }]) },
    handle: (request, store) => route(request, store),
  };

  function route(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    const path = request.path;
    let m: RegExpExecArray | null;
    if (request.method !== 'POST') return notFound();
    if ((m = /^\/v\d+\/customers\/(\d+)\/offlineUserDataJobs:create$/.exec(path))) return customer(m[1]!) ?? createJob(m[1]!, requestJson<CreateJobRequest>(request));
    if ((m = /^\/v\d+\/customers\/(\d+)\/offlineUserDataJobs\/(\d+):addOperations$/.exec(path))) return customer(m[1]!) ?? addOperations(m[2]!, requestJson<AddOperationsRequest>(request));
    if ((m = /^\/v\d+\/customers\/(\d+)\/offlineUserDataJobs\/(\d+):run$/.exec(path))) return customer(m[1]!) ?? runJob(m[2]!);
    if ((m = /^\/v\d+\/customers\/(\d+)\/googleAds:search$/.exec(path))) return customer(m[1]!) ?? search(m[1]!, requestJson<{ query?: string }>(request), store);
    if ((m = /^\/v\d+\/customers\/(\d+):uploadClickConversions$/.exec(path))) return customer(m[1]!) ?? uploadConversions(requestJson<UploadClickConversionsRequest>(request), store);
    return notFound();
  }

  function customer(id: string): EmulatorReply | undefined {
    if (id === credentials.customerId) return undefined;
    return { status: 403, body: errorBody(403, 'PERMISSION_DENIED', "The caller does not have permission", [{ errorCode: { authorizationError: 'USER_PERMISSION_DENIED' }, message: "User doesn't have permission to access customer." }]) };
  }

  function createJob(customerId: string, body: CreateJobRequest | undefined): EmulatorReply {
    const metadata = body?.job?.customerMatchUserListMetadata;
    const list = /^customers\/(\d+)\/userLists\/(\d+)$/.exec(metadata?.userList ?? '');
    if (body?.job?.type !== 'CUSTOMER_MATCH_USER_LIST' || !list || list[1] !== customerId) return invalid('offlineUserDataJobError', 'INVALID_USER_LIST_ID', 'The job needs type CUSTOMER_MATCH_USER_LIST and a user list of this customer.');
    if (options.termsAccepted === false || metadata?.consent?.adUserData === 'DENIED') {
      return invalid('offlineUserDataJobError', 'CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS', 'The customer has not accepted the customer data terms, or consent for ad user data is denied.');
    }
    const id = String(nextJob++);
    jobs.set(id, { id, customer: customerId, list: `user_lists/${list[2]}`, operations: [], kind: undefined, status: 'PENDING', ran: false, pollsLeft: options.pollsUntilDone ?? 1 });
    stats.jobsCreated++;
    return { status: 200, body: { resourceName: `customers/${customerId}/offlineUserDataJobs/${id}` } };
  }

  function addOperations(jobId: string, body: AddOperationsRequest | undefined): EmulatorReply {
    const job = jobs.get(jobId);
    if (!job) return notFound();
    if (job.ran) return invalid('offlineUserDataJobError', 'JOB_ALREADY_STARTED', 'Operations cannot be added to a job that has been run.');
    if (!body || !Array.isArray(body.operations) || body.operations.length === 0) return invalid('requestError', 'EMPTY_OPERATIONS', 'The request needs operations.');
    const identifiers = body.operations.reduce((n, op) => n + ('create' in op ? (op.create.userIdentifiers?.length ?? 0) : 'remove' in op ? (op.remove.userIdentifiers?.length ?? 0) : 0), 0);
    stats.maxIdentifiersSeen = Math.max(stats.maxIdentifiersSeen, identifiers);
    stats.maxOperationsSeen = Math.max(stats.maxOperationsSeen, body.operations.length);
    if (identifiers > (options.maxIdentifiersPerRequest ?? LIMITS.identifiersPerRequest)) {
      stats.tooLarge++;
      return invalid('offlineUserDataJobError', 'TOO_MANY_USER_IDENTIFIERS_IN_REQUEST', `At most ${options.maxIdentifiersPerRequest ?? LIMITS.identifiersPerRequest} user identifiers per request.`);
    }
    const errors: GoogleAdsError[] = [];
    const accepted: JobOperation[] = [];
    let kind = job.kind;
    body.operations.forEach((op, index) => {
      const code = operationProblem(kind, op, accepted.length === 0 && job.operations.length === 0);
      if (code) errors.push({ errorCode: { offlineUserDataJobError: code }, message: MESSAGES[code] ?? code, location: { fieldPathElements: [{ fieldName: 'operations', index }] } });
      else {
        accepted.push(op);
        if (!('removeAll' in op)) kind ??= 'create' in op ? 'create' : 'remove';
      }
    });
    // Without partial failure the request is all or nothing.
    if (errors.length && !body.enablePartialFailure) return { status: 400, body: errorBody(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', errors) };
    job.kind = kind;
    job.operations.push(...accepted);
    return { status: 200, body: errors.length ? { partialFailureError: { code: 3, message: `Multiple errors in 'details'. First error: ${errors[0]!.message}`, details: errorBody(400, 'INVALID_ARGUMENT', '', errors).error.details } } : {} };
  }

  function operationProblem(jobKind: Job['kind'], op: JobOperation, first: boolean): string | undefined {
    if ('removeAll' in op) return first ? undefined : 'REMOVE_ALL_NOT_FIRST_OPERATION';
    const kind = 'create' in op ? 'create' : 'remove' in op ? 'remove' : undefined;
    if (!kind) return 'INVALID_OPERATION';
    if (jobKind && jobKind !== kind) return 'CONFLICTING_OPERATION';
    const user = 'create' in op ? op.create : op.remove;
    const ids = user?.userIdentifiers;
    if (!Array.isArray(ids) || ids.length === 0) return 'NO_USER_IDENTIFIERS';
    if (ids.length > LIMITS.identifiersPerOperation) return 'TOO_MANY_USER_IDENTIFIERS';
    for (const id of ids) {
      const problem = identifierProblem(id);
      if (problem) return problem;
    }
    return options.reject?.(user);
  }

  function runJob(jobId: string): EmulatorReply {
    const job = jobs.get(jobId);
    if (!job) return notFound();
    if (job.ran) return invalid('offlineUserDataJobError', 'JOB_ALREADY_STARTED', 'The job has already been run.');
    job.ran = true;
    stats.jobsRun++;
    return { status: 200, body: { name: `customers/${job.customer}/operations/${jobId}` } };
  }

  function search(customerId: string, body: { query?: string } | undefined, store: RecordStore): EmulatorReply {
    const query = body?.query ?? '';
    if (/\bFROM\s+customer\b/i.test(query)) return { status: 200, body: { results: [{ customer: { resourceName: `customers/${customerId}`, id: customerId } }] } };
    const wanted = /offline_user_data_job\.resource_name\s*=\s*'customers\/\d+\/offlineUserDataJobs\/(\d+)'/.exec(query);
    if (!/\bFROM\s+offline_user_data_job\b/i.test(query)) return invalid('queryError', 'UNRECOGNIZED_FIELD', 'The emulator answers queries on customer and offline_user_data_job only.');
    const selected = wanted ? [jobs.get(wanted[1]!)].filter((j): j is Job => j !== undefined) : [...jobs.values()];
    for (const job of selected) advance(job, store);
    return {
      status: 200,
      body: {
        results: selected.map((job) => ({
          offlineUserDataJob: { resourceName: `customers/${job.customer}/offlineUserDataJobs/${job.id}`, id: job.id, status: job.status, ...(job.failureReason ? { failureReason: job.failureReason } : {}) },
        })),
      },
    };
  }

  /** A job that was run goes PENDING → RUNNING (for `pollsUntilDone` queries) → SUCCESS (applied) or FAILED. */
  function advance(job: Job, store: RecordStore): void {
    if (!job.ran || job.status === 'SUCCESS' || job.status === 'FAILED') return;
    job.status = 'RUNNING';
    if (job.pollsLeft-- > 0) return;
    stats.jobsDone++;
    if (options.failJobs) {
      job.status = 'FAILED';
      job.failureReason = 'PROCESSING_ERROR';
      return;
    }
    job.status = 'SUCCESS';
    apply(job, store);
  }

  function apply(job: Job, store: RecordStore): void {
    const members = store.object(job.list);
    for (const op of job.operations) {
      if ('removeAll' in op) members.clear();
      else if ('create' in op) {
        const existing = findMember(members, op.create.userIdentifiers);
        const key = existing ?? memberKey(op.create.userIdentifiers);
        if (!existing) store.created(job.list, key);
        members.set(key, { ...members.get(key), ...merged(op.create.userIdentifiers) });
      } else {
        for (;;) {
          const existing = findMember(members, op.remove.userIdentifiers);
          if (!existing) break;
          members.delete(existing);
        }
      }
    }
  }

  function uploadConversions(body: UploadClickConversionsRequest | undefined, store: RecordStore): EmulatorReply {
    if (!body || !Array.isArray(body.conversions) || body.conversions.length === 0) return invalid('requestError', 'EMPTY_CONVERSIONS', 'The request needs conversions.');
    if (!body.partialFailure) return invalid('requestError', 'PARTIAL_FAILURE_REQUIRED', 'uploadClickConversions requires partial_failure = true.');
    if (body.conversions.length > (options.maxConversionsPerRequest ?? LIMITS.conversionsPerRequest)) {
      stats.tooLarge++;
      return invalid('requestError', 'TOO_MANY_OPERATIONS', `At most ${options.maxConversionsPerRequest ?? LIMITS.conversionsPerRequest} conversions per request.`);
    }
    const errors: GoogleAdsError[] = [];
    const results = body.conversions.map((conversion, index) => {
      const code = conversionProblem(conversion);
      const action = /^customers\/\d+\/conversionActions\/(\d+)$/.exec(conversion.conversionAction ?? '');
      const object = `conversion_actions/${action?.[1] ?? 'unknown'}`;
      const key = conversion.orderId ?? conversion.gclid;
      const duplicate = code === undefined && [...store.object(object).values()].some((c) => c['gclid'] === conversion.gclid && c['conversionDateTime'] === conversion.conversionDateTime);
      if (code || duplicate) {
        const failure = code ?? 'CLICK_CONVERSION_ALREADY_EXISTS';
        errors.push({ errorCode: { conversionUploadError: failure }, message: MESSAGES[failure] ?? failure, location: { fieldPathElements: [{ fieldName: 'conversions', index }] } });
        return {};
      }
      store.object(object).set(key, { ...conversion });
      store.created(object, key);
      return { gclid: conversion.gclid, conversionAction: conversion.conversionAction, conversionDateTime: conversion.conversionDateTime };
    });
    return { status: 200, body: { results, ...(errors.length ? { partialFailureError: { code: 3, message: `Multiple errors in 'details'. First error: ${errors[0]!.message}`, details: errorBody(400, '', '', errors).error.details } } : {}) } };
  }

  const server = await EmulatorServer.start(api, { rateLimit: options.rateLimit, faults: options.faults, port: options.port });
  server.restore(options.saved);
  return new GoogleAdsEmulator(server, bodies, credentials, stats, jobs);
}

const MESSAGES: Record<string, string> = {
  INVALID_SHA256_FORMAT: 'The SHA256 encoded value is malformed: 64 lower-case hexadecimal characters expected.',
  CONFLICTING_OPERATION: 'Create and remove operations cannot be mixed in one job.',
  REMOVE_ALL_NOT_FIRST_OPERATION: 'removeAll can only be the first operation of a job.',
  TOO_MANY_USER_IDENTIFIERS: 'At most 20 user identifiers per user.',
  NO_USER_IDENTIFIERS: 'The user has no identifier.',
  INCOMPLETE_ADDRESS_INFO: 'Address info needs hashed first name, hashed last name, country code and postal code.',
  INVALID_COUNTRY_CODE: 'The country code is not an ISO 3166-1 alpha-2 code.',
  UNPARSEABLE_GCLID: 'The click identifier could not be parsed.',
  INVALID_CONVERSION_ACTION: 'The conversion action does not exist.',
  INVALID_CONVERSION_DATE_TIME: 'The conversion date time must be yyyy-mm-dd hh:mm:ss+|-hh:mm.',
  INVALID_CURRENCY_CODE: 'The currency code is not an ISO 4217 code.',
  CLICK_CONVERSION_ALREADY_EXISTS: 'A conversion with this click, action and time was already uploaded.',
};

/** Why an identifier is refused: hashes must be SHA-256 lower-case hex; an address needs its four parts. */
function identifierProblem(id: UserIdentifier): string | undefined {
  const keys = Object.keys(id ?? {});
  if (keys.length !== 1) return 'INVALID_OPERATION';
  if (id.hashedEmail !== undefined) return HEX64.test(id.hashedEmail) ? undefined : 'INVALID_SHA256_FORMAT';
  if (id.hashedPhoneNumber !== undefined) return HEX64.test(id.hashedPhoneNumber) ? undefined : 'INVALID_SHA256_FORMAT';
  const address = id.addressInfo;
  if (!address) return 'INVALID_OPERATION';
  if (!address.hashedFirstName || !address.hashedLastName || !address.countryCode || !address.postalCode) return 'INCOMPLETE_ADDRESS_INFO';
  if (!HEX64.test(address.hashedFirstName) || !HEX64.test(address.hashedLastName)) return 'INVALID_SHA256_FORMAT';
  return /^[A-Z]{2}$/.test(address.countryCode) ? undefined : 'INVALID_COUNTRY_CODE';
}

function conversionProblem(c: ClickConversion): string | undefined {
  if (typeof c.gclid !== 'string' || !/^[A-Za-z0-9_-]{10,}$/.test(c.gclid)) return 'UNPARSEABLE_GCLID';
  if (!/^customers\/\d+\/conversionActions\/\d+$/.test(c.conversionAction ?? '')) return 'INVALID_CONVERSION_ACTION';
  if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/.test(c.conversionDateTime ?? '')) return 'INVALID_CONVERSION_DATE_TIME';
  if (c.currencyCode !== undefined && !/^[A-Z]{3}$/.test(c.currencyCode)) return 'INVALID_CURRENCY_CODE';
  return undefined;
}

function identifierStrings(ids: readonly UserIdentifier[]): string[] {
  return ids.map((id) => id.hashedEmail ?? id.hashedPhoneNumber ?? (id.addressInfo ? `address:${id.addressInfo.hashedFirstName}|${id.addressInfo.hashedLastName}|${id.addressInfo.countryCode}|${id.addressInfo.postalCode}` : ''));
}

function memberKey(ids: readonly UserIdentifier[]): string {
  const strings = identifierStrings(ids);
  return ids.find((i) => i.hashedEmail)?.hashedEmail ?? ids.find((i) => i.hashedPhoneNumber)?.hashedPhoneNumber ?? strings[0]!;
}

/** The member sharing an identifier with these, if any. */
function findMember(members: ReadonlyMap<string, Record<string, unknown>>, ids: readonly UserIdentifier[]): string | undefined {
  const wanted = new Set(identifierStrings(ids));
  for (const [key, member] of members) {
    if (wanted.has(key)) return key;
    for (const value of Object.values(member).flat()) if (typeof value === 'string' && wanted.has(value)) return key;
  }
  return undefined;
}

/** A member as the store shows it: its hashed e-mails, hashed phones and addresses. */
function merged(ids: readonly UserIdentifier[]): Record<string, unknown> {
  const out: Record<string, string[]> = {};
  for (const id of ids) {
    if (id.hashedEmail) (out['hashedEmail'] ??= []).push(id.hashedEmail);
    if (id.hashedPhoneNumber) (out['hashedPhoneNumber'] ??= []).push(id.hashedPhoneNumber);
    if (id.addressInfo) (out['address'] ??= []).push(identifierStrings([id])[0]!);
  }
  return out;
}

function invalid(category: string, code: string, message: string): EmulatorReply {
  return { status: 400, body: errorBody(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', [{ errorCode: { [category]: code }, message }]) };
}

function notFound(): EmulatorReply {
  return { status: 404, body: { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' } } };
}
