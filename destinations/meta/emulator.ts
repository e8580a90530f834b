import { randomBytes } from 'node:crypto';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, requestHeader, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RateLimitSpec, type RecordStore } from '../emulator-kit/server.js';
import {
  ACTION_SOURCES,
  API_VERSION_PATTERN,
  DOCUMENTED_EVENT_KEYS,
  DOCUMENTED_EVENTS_PARAMS,
  eventsVersionExpired,
  HASHED_USER_DATA_KEYS,
  MAX_EVENTS,
  maxEventAgeDays,
  NUMERIC_CUSTOM_DATA,
  TIMESTAMP_TOO_OLD_SUBCODE,
  BUSINESS_USAGE_HEADER,
  FLAGGED_OPERATION_STATUS,
  FLAGGED_SUBCODE,
  LATEST_API_VERSION,
  MAX_ROWS,
  PAYLOAD_KEYS,
  paramsInQuery,
  SCHEMA_KEYS,
  SESSION_KEYS,
  SESSION_REQUIRED,
  UNHASHED_KEYS,
  UNSUPPORTED_REQUEST_SUBCODE,
  USERS_PARAMS,
  VERSION_EXPIRED_CODE,
  versionExpired,
  type ErrorBody,
  type EventsResponse,
  type SchemaKey,
  type UsersResponse,
} from './protocol.js';

/**
 * What the vendor's machine-readable definitions say about a CustomAudience node, for the emulator to enforce on top
 * of the documented facts of protocol.ts. Tests build it from the official Business SDK (sdk-definitions.ts, a dev
 * dependency); without it (`tideline sandbox`) the emulator takes the documented edges and any field.
 */
export interface MetaDefinitions {
  /** Where the definitions come from, for messages (`facebook-nodejs-business-sdk 24.0.1`). */
  readonly source: string;
  /** Readable fields of the node (the SDK's CustomAudience.Fields). */
  readonly fields: ReadonlySet<string>;
  /** Edges of the node with the method the SDK sends them with: `POST users`, `DELETE users`, `GET sessions`… */
  readonly edges: ReadonlySet<string>;
  /** The Conversions API's keys as the SDK sends them (EventRequest, ServerEvent, UserData, CustomData). */
  readonly events?: EventDefinitions;
}

/** Keys the official SDK sends to the events edge: its request parameters, and the keys of a server event and of its user_data and custom_data. */
export interface EventDefinitions {
  readonly params: ReadonlySet<string>;
  readonly event: ReadonlySet<string>;
  readonly userData: ReadonlySet<string>;
  readonly customData: ReadonlySet<string>;
}

/** Writes refused as Meta refuses them when the token, the app or the account is not allowed to (see protocol.ts). */
export type WriteRefusal = 'permissions' | 'terms' | 'policy';

export interface MetaEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  readonly accessToken?: string;
  /** The ad account the usage header reports on. */
  readonly adAccountId?: string;
  /** Most rows per request (Meta: 10,000); more is refused with code 100. */
  readonly maxRows?: number;
  /** Audiences flagged for integrity restrictions: operation_status 471, and every write answers code 100 / subcode 1713230. */
  readonly flagged?: readonly string[];
  /** Every write to an audience is refused so (reads pass: a token with ads_read but not ads_management). */
  readonly refuseWrites?: WriteRefusal;
  /** Today, `YYYY-MM-DD` (UTC): versions expired on that day are answered #2635. Default: the real date. */
  readonly today?: () => string;
  /** The vendor's definitions to validate requests and answers against (tests: the official SDK's). */
  readonly definitions?: MetaDefinitions;
  /** Keep every request (tests compare them with the SDK's and check that no raw PII was sent). */
  readonly recordBodies?: boolean;
  readonly rateLimit?: RateLimitSpec;
  readonly faults?: FaultPlan;
  readonly port?: number;
  /** Event ids refused as Meta refuses an invalid event: the whole request (code 100), naming the event's index. */
  readonly rejectKeys?: readonly string[];
  /** Most events per request (Meta: 1,000); more is refused with code 100. */
  readonly maxEvents?: number;
  /** Now, in milliseconds since the epoch (the age window of event_time). Default: the real clock. */
  readonly now?: () => number;
}

export interface MetaStats {
  maxRowsSeen: number;
  rowsReceived: number;
  invalidEntries: number;
  /** Rows carrying a value in a hashed column that is not SHA-256 lower-case hex: raw PII sent by mistake. */
  unhashedValues: number;
  /** Answers with a throttling code. */
  throttled: number;
  /** Replace sessions completed (last batch received). */
  replacements: number;
  /** Requests refused for an expired version (#2635). */
  expiredVersion: number;
  /** Requests that broke the vendor's definitions (unknown edge, field or parameter). */
  contractViolations: number;
  /** Events accepted by the events edge, and the most in one request. */
  eventsReceived: number;
  maxEventsSeen: number;
  /** Events requests refused whole (an invalid or too old event, a refused id). */
  eventBatchesRefused: number;
}

/** A request as the emulator received it: method, path, query parameters and the body's parameters. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The body's top-level parameters (JSON object or form), `{}` when there is none. */
  readonly body: Readonly<Record<string, unknown>>;
  /** The raw query string and body, for checks that no raw PII was sent. */
  readonly raw: string;
}

interface Session {
  readonly audience: string;
  readonly members: Map<string, Record<string, unknown>>;
  readonly batches: Set<number>;
  closed: boolean;
}

/**
 * Meta Custom Audiences as the Graph API answers (facts in protocol.ts): versions past their expiry refused with
 * #2635; `access_token` checked (code 190); parameters read where the SDK sends them (POST: body and query; GET and
 * DELETE: the query string only, so a DELETE whose payload is in a body finds none); unknown parameters, payload keys
 * and session keys refused; multi-key payloads checked against their schema, ≤ 10,000 rows per request, every hashed
 * column SHA-256 lower-case hex and MADID a lower-case advertising id (other rows are counted in
 * `num_invalid_entries` and never added); flagged audiences refused (100 / 1713230); throttling answered with code
 * 80004 and `X-Business-Use-Case-Usage`; `usersreplace` sessions that swap the membership on their last batch. With
 * `definitions`, edges and fields outside the vendor's definitions are refused too.
 * Membership lives in the store as object `<audience_id>` → member (EXTERN_ID, else the e-mail hash, else the phone
 * hash, else the MADID) → schema key → value.
 */
export class MetaEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    readonly accessToken: string,
    readonly stats: Readonly<MetaStats>,
    /** Request query strings and bodies received, when `recordBodies` is set. */
    readonly bodies: readonly string[],
    /** Requests received, parsed, when `recordBodies` is set. */
    readonly requests: readonly ReceivedRequest[],
  ) {
    super(server);
  }

  records(audience: string): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
    return this.server.store.object(audience);
  }

  /** The server events a dataset holds, every copy in arrival order, as received (test_event_code aside). */
  events(datasetId: string): readonly Readonly<Record<string, unknown>>[] {
    return [...this.server.store.object(datasetObject(datasetId)).values()];
  }
}

/** The store's object of a dataset's events: the events sync's own object name. */
export const datasetObject = (datasetId: string) => `dataset:${datasetId}`;

const HEX64 = /^[0-9a-f]{64}$/;
const ADVERTISING_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const today = () => new Date().toISOString().slice(0, 10);

export async function startMetaEmulator(options: MetaEmulatorOptions = {}): Promise<MetaEmulator> {
  const accessToken = options.accessToken ?? `EAAB${randomBytes(24).toString('hex')}`;
  const account = options.adAccountId ?? 'act_1000000000';
  const flagged = new Set(options.flagged ?? []);
  const stats: MetaStats = { maxRowsSeen: 0, rowsReceived: 0, invalidEntries: 0, unhashedValues: 0, throttled: 0, replacements: 0, expiredVersion: 0, contractViolations: 0, eventsReceived: 0, maxEventsSeen: 0, eventBatchesRefused: 0 };
  const refusedIds = new Set(options.rejectKeys ?? []);
  const sessions = new Map<string, Session>();
  const bodies: string[] = [];
  const received: ReceivedRequest[] = [];
  const usage = (minutes: number, callCount: number) => JSON.stringify({ [account]: [{ type: 'custom_audience', call_count: callCount, total_cputime: 1, total_time: 1, estimated_time_to_regain_access: minutes }] });
  const parsed = new WeakMap<EmulatorRequest, Params>();
  const paramsOf = (request: EmulatorRequest): Params => {
    let params = parsed.get(request);
    if (!params) parsed.set(request, (params = readParams(request)));
    return params;
  };

  const api: ApiContract = {
    authenticate: (request) => {
      const params = paramsOf(request);
      if (options.recordBodies) {
        bodies.push(`${request.query.toString()}\n${request.body.toString('utf8')}`);
        received.push({ method: request.method, path: request.path, query: Object.fromEntries(request.query), body: params.body, raw: `${request.query.toString()}\n${request.body.toString('utf8')}` });
      }
      const version = /^\/(v\d+\.\d+)\//.exec(request.path)?.[1];
      // The events edge follows the Graph API's longer schedule (protocol.ts, GRAPH_API_VERSIONS).
      const expired = request.path.endsWith('/events') ? eventsVersionExpired : versionExpired;
      if (version && API_VERSION_PATTERN.test(version) && expired(version, (options.today ?? today)())) {
        stats.expiredVersion++;
        return { status: 400, body: error(VERSION_EXPIRED_CODE, `(#${VERSION_EXPIRED_CODE}) You are calling a deprecated version of the Ads API. Please update to the latest version: ${LATEST_API_VERSION}.`, 'OAuthException') };
      }
      if (params.all['access_token'] === accessToken) return undefined;
      return { status: 400, headers: { 'www-authenticate': 'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token."' }, body: error(190, 'Invalid OAuth access token - Cannot parse access token', 'OAuthException') };
    },
    tooManyRequests: (state) => {
      stats.throttled++;
      return { status: 400, headers: { [BUSINESS_USAGE_HEADER]: usage(Math.floor(state.retryAfterMs / 60_000), 100) }, body: error(80004, 'There have been too many calls to this ad-account. Wait a bit and try again.', 'OAuthException') };
    },
    serverError: (status) => ({ status, body: status === 500 ? error(1, 'An unknown error occurred', 'OAuthException') : error(2, 'Service temporarily unavailable', 'OAuthException') }),
    rateHeaders: (state) => ({ [BUSINESS_USAGE_HEADER]: usage(0, Math.round(100 * (1 - state.remaining / Math.max(1, state.limit)))) }),
    handle: (request, store) => route(request, paramsOf(request), store),
  };

  /** Meta's answer to a request outside the definitions: code 100, as the Graph API answers an unknown edge or field. */
  function violation(message: string, subcode?: number): EmulatorReply {
    stats.contractViolations++;
    return { status: 400, body: error(100, message, 'GraphMethodException', subcode) };
  }

  function route(request: EmulatorRequest, params: Params, store: RecordStore): EmulatorReply {
    if (params.problem) return violation(params.problem);
    const m = /^\/v\d+\.\d+\/(\d+)(?:\/([a-z_]+))?$/.exec(request.path);
    const audience = m?.[1];
    const edge = m?.[2];
    const unsupported = () => violation(`Unsupported ${request.method.toLowerCase()} request. Object with ID '${audience ?? request.path}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, UNSUPPORTED_REQUEST_SUBCODE);
    if (!audience) return unsupported();
    // The events edge belongs to a dataset (AdsPixel), not to a CustomAudience: its own definitions.
    if (edge === 'events') return request.method === 'POST' ? events(audience, params, store) : unsupported();
    if (edge === undefined) return request.method === 'GET' ? read(audience, params) : unsupported();
    const known = options.definitions ? options.definitions.edges.has(`${request.method} ${edge}`) : DOCUMENTED_EDGES.has(`${request.method} ${edge}`);
    if (!known) return unsupported();
    if (edge === 'users' && (request.method === 'POST' || request.method === 'DELETE')) return write(audience, request.method === 'POST' ? 'add' : 'remove', params, store);
    if (edge === 'usersreplace' && request.method === 'POST') return write(audience, 'replace', params, store);
    // An edge of the definitions this emulator does not serve.
    return unsupported();
  }

  /** `GET /{id}?fields=…`: the requested fields that the node has; an unknown field is refused as Meta does. */
  function read(audience: string, params: Params): EmulatorReply {
    const requested = String(params.all['fields'] ?? 'id').split(',').map((f) => f.trim()).filter(Boolean);
    const unknown = options.definitions ? requested.find((f) => !options.definitions!.fields.has(f)) : undefined;
    if (unknown !== undefined) return violation(`(#100) Tried accessing nonexisting field (${unknown}) on node type (CustomAudience)`);
    const node: Record<string, unknown> = {
      id: audience,
      name: `Audience ${audience}`,
      subtype: 'CUSTOM',
      operation_status: flagged.has(audience) ? { code: FLAGGED_OPERATION_STATUS, description: 'This audience is flagged for integrity restrictions' } : { code: 200, description: 'Normal' },
    };
    return { status: 200, body: Object.fromEntries(requested.filter((f) => f in node).map((f) => [f, node[f]])) };
  }

  function write(audience: string, kind: 'add' | 'remove' | 'replace', params: Params, store: RecordStore): EmulatorReply {
    const unknownParam = Object.keys(params.all).find((p) => !USERS_PARAMS.has(p));
    if (unknownParam !== undefined) return violation(`(#100) ${unknownParam} is not a parameter of this edge: ${[...USERS_PARAMS].join(', ')}`);
    if (flagged.has(audience)) {
      return {
        status: 400,
        body: {
          error: {
            ...error(100, 'Invalid parameter', 'OAuthException', FLAGGED_SUBCODE).error,
            error_user_title: 'Audience Upload Blocked',
            error_user_msg: 'Before updating user memberships, you must resolve integrity restrictions on this Data File Custom Audience. Go to Audience Manager to appeal the restrictions or create a new audience with updated data',
          },
        },
      };
    }
    if (options.refuseWrites) return refusal(options.refuseWrites);
    const payload = asObject(params.all['payload']);
    if (!payload || !Array.isArray(payload['schema']) || !Array.isArray(payload['data'])) return { status: 400, body: error(100, '(#100) The parameter payload is required: {schema, data}', 'OAuthException') };
    const unknownKey = Object.keys(payload).find((k) => !PAYLOAD_KEYS.has(k));
    if (unknownKey !== undefined) return violation(`(#100) payload.${unknownKey} is not a payload key: ${[...PAYLOAD_KEYS].join(', ')}`);
    const schema = payload['schema'] as unknown[];
    const data = payload['data'] as unknown[];
    const unknown = schema.find((k) => !SCHEMA_KEYS.includes(k as SchemaKey));
    if (unknown !== undefined || schema.length === 0 || new Set(schema).size !== schema.length) return { status: 400, body: error(100, `(#100) Invalid schema: use distinct keys among ${SCHEMA_KEYS.join(', ')}`, 'OAuthException') };
    const keys = schema as SchemaKey[];
    const max = options.maxRows ?? MAX_ROWS;
    stats.maxRowsSeen = Math.max(stats.maxRowsSeen, data.length);
    if (data.length === 0 || data.length > max) return { status: 400, body: error(100, `(#100) payload.data must hold 1 to ${max} rows`, 'OAuthException') };

    let session: Session | undefined;
    const s = asObject(params.all['session']);
    if (kind === 'replace') {
      const unknownSessionKey = s ? Object.keys(s).find((k) => !SESSION_KEYS.has(k)) : undefined;
      if (unknownSessionKey !== undefined) return violation(`(#100) session.${unknownSessionKey} is not a session key: ${[...SESSION_KEYS].join(', ')}`);
      if (!s || SESSION_REQUIRED.some((k) => s[k] === undefined) || !Number.isSafeInteger(s['session_id']) || !Number.isInteger(s['batch_seq']) || (s['batch_seq'] as number) < 1 || typeof s['last_batch_flag'] !== 'boolean') {
        return { status: 400, body: error(100, '(#100) session {session_id, batch_seq, last_batch_flag, estimated_num_total} is required', 'OAuthException') };
      }
      const id = `${audience}:${String(s['session_id'])}`;
      session = sessions.get(id) ?? { audience, members: new Map(), batches: new Set(), closed: false };
      sessions.set(id, session);
      if (session.closed) return { status: 400, body: error(100, '(#100) The replace session has already ended', 'OAuthException') };
      session.batches.add(s['batch_seq'] as number);
    }

    const members = session ? session.members : store.object(audience);
    const samples: Record<string, string> = {};
    let invalid = 0;
    data.forEach((row, index) => {
      const problem = rowProblem(keys, row);
      if (problem) {
        invalid++;
        if (Object.keys(samples).length < 5) samples[`row ${index}`] = problem;
        return;
      }
      const member: Record<string, string> = {};
      keys.forEach((key, i) => {
        const value = (row as string[])[i]!;
        if (value !== '') member[key] = value;
      });
      const existing = find(members, member);
      if (kind === 'remove') {
        // Someone the audience does not hold leaves nothing to remove; the answer is the usual one (protocol.ts, MEMBER_ERASURE).
        for (let key = existing; key !== undefined; key = find(members, member)) members.delete(key);
        return;
      }
      const key = existing ?? memberKey(member);
      if (!existing && !session) store.created(audience, key);
      members.set(key, { ...members.get(key), ...member });
    });
    stats.rowsReceived += data.length;
    stats.invalidEntries += invalid;

    if (session && s?.['last_batch_flag'] === true) {
      const live = store.object(audience);
      live.clear();
      for (const [key, member] of session.members) live.set(key, member);
      session.closed = true;
      stats.replacements++;
    }
    const answer: UsersResponse = {
      audience_id: audience,
      session_id: typeof s?.['session_id'] === 'number' ? s['session_id'] : Number.parseInt(randomBytes(6).toString('hex'), 16),
      num_received: data.length,
      num_invalid_entries: invalid,
      invalid_entry_samples: samples,
    };
    return { status: 200, body: answer };
  }

  /**
   * `POST /{dataset_id}/events`, the Conversions API (protocol.ts): parameters and keys outside the SDK's definitions
   * (or the documented ones) refused; 1 to 1,000 events; each with event_name, an integer event_time, an
   * action_source Meta lists and user_data; website events with client_user_agent and event_source_url; hashed keys
   * SHA-256 lower-case hex; event_time within 7 days (62 for physical_store). One invalid event refuses the whole
   * request (code 100, naming the event's index) and nothing of it is kept. Every accepted event is kept, a resent one
   * too: Meta documents no de-duplication between two server events (protocol.ts, DEDUPLICATION_NOTE).
   */
  function events(dataset: string, params: Params, store: RecordStore): EmulatorReply {
    const defs = options.definitions?.events;
    const allowed = defs ? new Set([...defs.params, 'appsecret_proof']) : DOCUMENTED_EVENTS_PARAMS;
    const unknownParam = Object.keys(params.all).find((p) => !allowed.has(p));
    if (unknownParam !== undefined) return violation(`(#100) ${unknownParam} is not a parameter of the events edge`);
    const data = asArray(params.all['data']);
    const max = options.maxEvents ?? MAX_EVENTS;
    if (data) stats.maxEventsSeen = Math.max(stats.maxEventsSeen, data.length);
    if (!data || data.length === 0 || data.length > max) return refusedEvents(`The parameter data must be an array of 1 to ${max} server events`);
    const testCode = params.all['test_event_code'];
    if (testCode !== undefined && (typeof testCode !== 'string' || testCode === '')) return refusedEvents('test_event_code must be the code the Test Events tool shows');
    const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
    const kept: Record<string, unknown>[] = [];
    for (const [index, raw] of data.entries()) {
      const event = asObject(raw);
      if (!event) return refusedEvents(`Event ${index} is not an object`);
      const unknownKey = Object.keys(event).find((k) => !(defs?.event ?? DOCUMENTED_EVENT_KEYS).has(k));
      if (unknownKey !== undefined) return violation(`(#100) data[${index}].${unknownKey} is not a server event parameter`);
      const userData = asObject(event['user_data']);
      const unknownUserKey = userData ? Object.keys(userData).find((k) => defs && !defs.userData.has(k)) : undefined;
      if (unknownUserKey !== undefined) return violation(`(#100) data[${index}].user_data.${unknownUserKey} is not a customer information parameter`);
      const problem = eventProblem(event, userData, nowSeconds);
      if (problem) return refusedEvents(`${problem.message} (event ${index})`, problem.subcode, problem.title);
      if (typeof event['event_id'] === 'string' && refusedIds.has(event['event_id'])) return refusedEvents(`Event ${index} is invalid`);
      kept.push({ ...event, ...(typeof testCode === 'string' ? { test_event_code: testCode } : {}) });
    }
    const held = store.object(datasetObject(dataset));
    for (const event of kept) {
      held.set(String(held.size + 1), event);
      store.created(datasetObject(dataset), `${String(event['event_id'])}\u0001${String(event['event_name'])}`);
    }
    stats.eventsReceived += kept.length;
    const answer: EventsResponse = { events_received: kept.length, messages: [], fbtrace_id: randomBytes(8).toString('base64url') };
    return { status: 200, body: answer };
  }

  /** Why Meta refuses a server event, or undefined when it takes it. */
  function eventProblem(event: Record<string, unknown>, userData: Record<string, unknown> | undefined, nowSeconds: number): { message: string; subcode?: number; title?: string } | undefined {
    if (typeof event['event_name'] !== 'string' || event['event_name'] === '') return { message: 'event_name is required' };
    const time = event['event_time'];
    if (typeof time !== 'number' || !Number.isInteger(time)) return { message: 'event_time must be a Unix timestamp in seconds' };
    const source = event['action_source'];
    if (typeof source !== 'string' || !(ACTION_SOURCES as readonly string[]).includes(source)) return { message: `action_source must be one of ${ACTION_SOURCES.join(', ')}` };
    if (!userData) return { message: 'user_data is required' };
    if (source === 'website' && (typeof userData['client_user_agent'] !== 'string' || typeof event['event_source_url'] !== 'string')) return { message: 'website events require client_user_agent and event_source_url' };
    for (const key of Object.keys(userData)) {
      if (!HASHED_USER_DATA_KEYS.has(key)) continue;
      const values = Array.isArray(userData[key]) ? (userData[key] as unknown[]) : [userData[key]];
      if (values.some((v) => typeof v !== 'string' || !HEX64.test(v))) {
        stats.unhashedValues++;
        return { message: `user_data.${key} must be SHA-256 lower-case hex of the normalised value` };
      }
    }
    const customData = event['custom_data'];
    if (customData !== undefined) {
      const custom = asObject(customData);
      if (!custom) return { message: 'custom_data must be an object' };
      const notNumber = [...NUMERIC_CUSTOM_DATA].find((k) => custom[k] !== undefined && typeof custom[k] !== 'number');
      if (notNumber !== undefined) return { message: `custom_data.${notNumber} must be a number` };
      if (custom['currency'] !== undefined && (typeof custom['currency'] !== 'string' || !/^[A-Za-z]{3}$/.test(custom['currency']))) return { message: 'custom_data.currency must be an ISO 4217 code' };
    }
    const days = maxEventAgeDays(source);
    if (nowSeconds - time > days * 86_400) {
      return { message: `The timestamp for this event is too far in the past: events must be sent within ${days} days of when they occurred`, subcode: TIMESTAMP_TOO_OLD_SUBCODE, title: 'Event Timestamp Too Old' };
    }
    return undefined;
  }

  /** The whole request refused, as Meta refuses a batch holding one invalid event: 400, code 100, nothing kept. */
  function refusedEvents(message: string, subcode?: number, title?: string): EmulatorReply {
    stats.eventBatchesRefused++;
    const body = error(100, 'Invalid parameter', 'OAuthException', subcode);
    return { status: 400, body: { error: { ...body.error, error_user_title: title ?? 'Invalid parameter', error_user_msg: message } } };
  }

  function rowProblem(schema: readonly SchemaKey[], row: unknown): string | undefined {
    if (!Array.isArray(row) || row.length !== schema.length) return 'the row does not have one value per schema key';
    let values = 0;
    for (let i = 0; i < schema.length; i++) {
      const value: unknown = row[i];
      const key = schema[i]!;
      if (typeof value !== 'string') return `${key} must be a string`;
      if (value === '') continue;
      values++;
      if (key === 'MADID' && !ADVERTISING_ID.test(value)) return 'MADID is not a lower-case advertising id';
      if (!UNHASHED_KEYS.has(key) && !HEX64.test(value)) {
        stats.unhashedValues++;
        return `${key} is not a SHA-256 lower-case hex digest`;
      }
    }
    return values ? undefined : 'the row has no value';
  }

  const server = await EmulatorServer.start(api, { rateLimit: options.rateLimit, faults: options.faults, port: options.port, maxHeaderSize: 64 * 1024 });
  server.restore(options.saved);
  return new MetaEmulator(server, accessToken, stats, bodies, received);
}

/** The edges protocol.ts documents, used when no vendor definitions are given. */
const DOCUMENTED_EDGES: ReadonlySet<string> = new Set(['POST users', 'DELETE users', 'POST usersreplace']);

interface Params {
  /** Every parameter, from where the SDK's transport puts it for this method. */
  readonly all: Readonly<Record<string, unknown>>;
  /** The body's own parameters. */
  readonly body: Readonly<Record<string, unknown>>;
  /** Why the parameters cannot be read (a body that is neither JSON nor a form). */
  readonly problem?: string;
}

/**
 * Parameters as the Graph API reads them: the query string always; for POST also the body, a JSON object (the Node
 * SDK) or a form (`payload=%7B…%7D`, Meta's examples). GET and DELETE take the query string only, as the SDKs send
 * them: a body on those is not read.
 */
function readParams(request: EmulatorRequest): Params {
  const query: Record<string, unknown> = Object.fromEntries(request.query);
  const text = request.body.toString('utf8').trim();
  let body: Record<string, unknown> = {};
  let problem: string | undefined;
  if (text) {
    const type = requestHeader(request, 'content-type') ?? '';
    if (type.includes('application/x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(text));
    else {
      try {
        const value = JSON.parse(text) as unknown;
        if (value && typeof value === 'object' && !Array.isArray(value)) body = value as Record<string, unknown>;
        else problem = '(#100) the request body must be a JSON object or a form';
      } catch {
        problem = '(#100) the request body must be a JSON object or a form';
      }
    }
  }
  return { all: paramsInQuery(request.method) ? query : { ...query, ...body }, body, ...(problem ? { problem } : {}) };
}

/** A parameter as a value: the value itself (a JSON body) or what its JSON text holds (query string, form). */
function parameterValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

/** A parameter holding an object, or undefined. */
function asObject(value: unknown): Record<string, unknown> | undefined {
  const v = parameterValue(value);
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** A parameter holding an array, or undefined. */
function asArray(value: unknown): unknown[] | undefined {
  const v = parameterValue(value);
  return Array.isArray(v) ? v : undefined;
}

function refusal(kind: WriteRefusal): EmulatorReply {
  switch (kind) {
    case 'permissions':
      return { status: 403, body: error(200, '(#200) Requires ads_management permission to manage the object', 'OAuthException') };
    case 'terms':
      return { status: 400, body: error(2663, '(#2663) Terms of service has not been accepted. To accept, go to https://business.facebook.com/ads/manage/customaudiences/tos/?act=1000000000', 'OAuthException') };
    case 'policy':
      return { status: 400, body: error(368, 'The action attempted has been deemed abusive or is otherwise disallowed', 'OAuthException') };
  }
}

function memberKey(member: Record<string, string>): string {
  return member['EXTERN_ID'] ?? member['EMAIL'] ?? member['PHONE'] ?? member['MADID'] ?? Object.values(member)[0]!;
}

/** The member sharing its EXTERN_ID, e-mail, phone or advertising id with `member`. */
function find(members: ReadonlyMap<string, Record<string, unknown>>, member: Record<string, string>): string | undefined {
  for (const key of ['EXTERN_ID', 'EMAIL', 'PHONE', 'MADID'] as const) {
    const value = member[key];
    if (value === undefined) continue;
    if (members.get(value)?.[key] === value) return value;
    for (const [k, m] of members) if (m[key] === value) return k;
  }
  return undefined;
}

function error(code: number, message: string, type: string, subcode?: number): ErrorBody {
  return { error: { message, type, code, ...(subcode !== undefined ? { error_subcode: subcode } : {}), fbtrace_id: randomBytes(8).toString('base64url') } };
}
