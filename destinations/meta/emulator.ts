import { randomBytes } from 'node:crypto';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, requestJson, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RateLimitSpec, type RecordStore } from '../emulator-kit/server.js';
import { BUSINESS_USAGE_HEADER, FLAGGED_SUBCODE, MAX_ROWS, SCHEMA_KEYS, type ErrorBody, type SchemaKey, type UsersRequest, type UsersResponse } from './protocol.js';

export interface MetaEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  readonly accessToken?: string;
  /** The ad account the usage header reports on. */
  readonly adAccountId?: string;
  /** Most rows per request (Meta: 10,000); more is refused with code 100. */
  readonly maxRows?: number;
  /** Audiences flagged for integrity restrictions: every write answers code 100 / subcode 1713230. */
  readonly flagged?: readonly string[];
  /** Keep every request body (tests check that no raw PII was sent). */
  readonly recordBodies?: boolean;
  readonly rateLimit?: RateLimitSpec;
  readonly faults?: FaultPlan;
  readonly port?: number;
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
}

interface Session {
  readonly audience: string;
  readonly members: Map<string, Record<string, unknown>>;
  readonly batches: Set<number>;
  closed: boolean;
}

/**
 * Meta Custom Audiences as the Graph API answers: `access_token` checked (code 190), multi-key payloads checked
 * against their schema, ≤ 10,000 rows per request, every hashed column SHA-256 lower-case hex (other rows are counted
 * in `num_invalid_entries` and never added), flagged audiences refused (100 / 1713230), throttling answered with code
 * 80004 and `X-Business-Use-Case-Usage`, `usersreplace` sessions that swap the membership on their last batch.
 * Membership lives in the store as object `<audience_id>` → member (EXTERN_ID, else the e-mail hash, else the phone
 * hash) → schema key → value.
 */
export class MetaEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    readonly accessToken: string,
    readonly stats: Readonly<MetaStats>,
    /** Request bodies (and query strings) received, when `recordBodies` is set. */
    readonly bodies: readonly string[],
  ) {
    super(server);
  }

  records(audience: string): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
    return this.server.store.object(audience);
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

export async function startMetaEmulator(options: MetaEmulatorOptions = {}): Promise<MetaEmulator> {
  const accessToken = options.accessToken ?? `EAAB${randomBytes(24).toString('hex')}`;
  const account = options.adAccountId ?? 'act_1000000000';
  const flagged = new Set(options.flagged ?? []);
  const stats: MetaStats = { maxRowsSeen: 0, rowsReceived: 0, invalidEntries: 0, unhashedValues: 0, throttled: 0, replacements: 0 };
  const sessions = new Map<string, Session>();
  const bodies: string[] = [];
  const usage = (minutes: number, callCount: number) => JSON.stringify({ [account]: [{ type: 'custom_audience', call_count: callCount, total_cputime: 1, total_time: 1, estimated_time_to_regain_access: minutes }] });

  const api: ApiContract = {
    authenticate: (request) => {
      if (options.recordBodies) bodies.push(`${request.query.toString()}\n${request.body.toString('utf8')}`);
      const token = request.query.get('access_token') ?? requestJson<UsersRequest>(request)?.access_token;
      if (token === accessToken) return undefined;
      return { status: 400, headers: { 'www-authenticate': 'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token."' }, body: error(190, 'Invalid OAuth access token - Cannot parse access token', 'OAuthException') };
    },
    tooManyRequests: (state) => {
      stats.throttled++;
      return { status: 400, headers: { [BUSINESS_USAGE_HEADER]: usage(Math.floor(state.retryAfterMs / 60_000), 100) }, body: error(80004, 'There have been too many calls to this ad-account. Wait a bit and try again.', 'OAuthException') };
    },
    serverError: (status) => ({ status, body: status === 500 ? error(1, 'An unknown error occurred', 'OAuthException') : error(2, 'Service temporarily unavailable', 'OAuthException') }),
    rateHeaders: (state) => ({ [BUSINESS_USAGE_HEADER]: usage(0, Math.round(100 * (1 - state.remaining / Math.max(1, state.limit)))) }),
    handle: (request, store) => route(request, store),
  };

  function route(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    let m: RegExpExecArray | null;
    if ((m = /^\/v\d+\.\d+\/(\d+)$/.exec(request.path)) && request.method === 'GET') return { status: 200, body: { id: m[1], name: `Audience ${m[1]}`, operation_status: { code: flagged.has(m[1]!) ? 471 : 200, description: flagged.has(m[1]!) ? 'Audience upload blocked' : 'Normal' } } };
    if ((m = /^\/v\d+\.\d+\/(\d+)\/(users|usersreplace)$/.exec(request.path))) {
      const audience = m[1]!;
      if (m[2] === 'users' && (request.method === 'POST' || request.method === 'DELETE')) return write(audience, request.method === 'POST' ? 'add' : 'remove', requestJson<UsersRequest>(request), store);
      if (m[2] === 'usersreplace' && request.method === 'POST') return write(audience, 'replace', requestJson<UsersRequest>(request), store);
    }
    return { status: 400, body: error(100, 'Unsupported request - method type or path not supported', 'GraphMethodException', 33) };
  }

  function write(audience: string, kind: 'add' | 'remove' | 'replace', body: UsersRequest | undefined, store: RecordStore): EmulatorReply {
    if (flagged.has(audience)) {
      return {
        status: 400,
        body: {
          error: {
            ...error(100, 'Invalid parameter', 'OAuthException', FLAGGED_SUBCODE).error,
            error_user_title: 'Audience Upload Blocked',
            error_user_msg: 'Before updating user memberships, you must resolve integrity restrictions on this Data File Custom Audience.',
          },
        },
      };
    }
    const payload = body?.payload;
    if (!payload || !Array.isArray(payload.schema) || !Array.isArray(payload.data)) return { status: 400, body: error(100, '(#100) The parameter payload is required: {schema, data}', 'OAuthException') };
    const unknown = payload.schema.find((k) => !SCHEMA_KEYS.includes(k));
    if (unknown !== undefined || payload.schema.length === 0 || new Set(payload.schema).size !== payload.schema.length) return { status: 400, body: error(100, '(#100) Invalid schema: use distinct keys among EMAIL, PHONE, FN, LN, ZIP, CT, COUNTRY, DOBY, GEN, EXTERN_ID', 'OAuthException') };
    const max = options.maxRows ?? MAX_ROWS;
    stats.maxRowsSeen = Math.max(stats.maxRowsSeen, payload.data.length);
    if (payload.data.length === 0 || payload.data.length > max) return { status: 400, body: error(100, `(#100) payload.data must hold 1 to ${max} rows`, 'OAuthException') };

    let session: Session | undefined;
    if (kind === 'replace') {
      const s = body.session;
      if (!s || !Number.isSafeInteger(s.session_id) || !Number.isInteger(s.batch_seq) || s.batch_seq < 1 || typeof s.last_batch_flag !== 'boolean') {
        return { status: 400, body: error(100, '(#100) session {session_id, batch_seq, last_batch_flag, estimated_num_total} is required', 'OAuthException') };
      }
      const id = `${audience}:${s.session_id}`;
      session = sessions.get(id) ?? { audience, members: new Map(), batches: new Set(), closed: false };
      sessions.set(id, session);
      if (session.closed) return { status: 400, body: error(100, '(#100) The replace session has already ended', 'OAuthException') };
      session.batches.add(s.batch_seq);
    }

    const members = session ? session.members : store.object(audience);
    const samples: Record<string, string> = {};
    let invalid = 0;
    payload.data.forEach((row, index) => {
      const problem = rowProblem(payload.schema, row);
      if (problem) {
        invalid++;
        if (Object.keys(samples).length < 5) samples[`row ${index}`] = problem;
        return;
      }
      const member: Record<string, string> = {};
      payload.schema.forEach((key, i) => {
        if (row[i] !== '') member[key] = row[i]!;
      });
      const existing = find(members, member);
      if (kind === 'remove') {
        for (let key = existing; key !== undefined; key = find(members, member)) members.delete(key);
        return;
      }
      const key = existing ?? memberKey(member);
      if (!existing && !session) store.created(audience, key);
      members.set(key, { ...members.get(key), ...member });
    });
    stats.rowsReceived += payload.data.length;
    stats.invalidEntries += invalid;

    if (session && body.session!.last_batch_flag) {
      const live = store.object(audience);
      live.clear();
      for (const [key, member] of session.members) live.set(key, member);
      session.closed = true;
      stats.replacements++;
    }
    const answer: UsersResponse = { audience_id: audience, session_id: body.session?.session_id ?? Number.parseInt(randomBytes(6).toString('hex'), 16), num_received: payload.data.length, num_invalid_entries: invalid, invalid_entry_samples: samples };
    return { status: 200, body: answer };
  }

  function rowProblem(schema: readonly SchemaKey[], row: unknown): string | undefined {
    if (!Array.isArray(row) || row.length !== schema.length) return 'the row does not have one value per schema key';
    let values = 0;
    for (let i = 0; i < schema.length; i++) {
      const value: unknown = row[i];
      if (typeof value !== 'string') return `${schema[i]} must be a string`;
      if (value === '') continue;
      values++;
      if (schema[i] !== 'EXTERN_ID' && !HEX64.test(value)) {
        stats.unhashedValues++;
        return `${schema[i]} is not a SHA-256 lower-case hex digest`;
      }
    }
    return values ? undefined : 'the row has no value';
  }

  const server = await EmulatorServer.start(api, { rateLimit: options.rateLimit, faults: options.faults, port: options.port });
  server.restore(options.saved);
  return new MetaEmulator(server, accessToken, stats, bodies);
}

function memberKey(member: Record<string, string>): string {
  return member['EXTERN_ID'] ?? member['EMAIL'] ?? member['PHONE'] ?? Object.values(member)[0]!;
}

/** The member sharing its EXTERN_ID, e-mail or phone with `member`. */
function find(members: ReadonlyMap<string, Record<string, unknown>>, member: Record<string, string>): string | undefined {
  for (const key of ['EXTERN_ID', 'EMAIL', 'PHONE'] as const) {
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
