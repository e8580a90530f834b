import { randomBytes } from 'node:crypto';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, requestHeader, requestObject, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RateLimitSpec, type RecordStore } from '../emulator-kit/server.js';
import {
  BATCH_CREATE,
  ERRORS,
  HASH_FORMAT,
  HEADER,
  ID_TYPES,
  NONEXISTENT_VERSION,
  OAUTH_TOKEN_PATH,
  RESTLI_PROTOCOL_VERSION,
  SEGMENT_READY_MS,
  VERSION_STATUS,
  versionActive,
  versionNotActiveMessage,
  type DmpSegment,
  type ErrorBody,
  type IdType,
  type TokenResponse,
  type UserElement,
  type UserId,
} from './protocol.js';

export interface LinkedInEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  readonly accessToken?: string;
  /** A refresh grant the token endpoint accepts; each refresh issues a new access token (the old ones stay valid). */
  readonly refresh?: { readonly clientId: string; readonly clientSecret: string; readonly refreshToken: string };
  /** The ad account the token's member manages (others answer 403). */
  readonly adAccountId?: string;
  /** The member's permissions: without `rw_dmp_segments`, every DMP segment request answers 403 ACCESS_DENIED. */
  readonly scopes?: readonly string[];
  /** The member's role on the account: VIEWER may read segments but not change them (403). */
  readonly role?: 'ACCOUNT_MANAGER' | 'CAMPAIGN_MANAGER' | 'CREATIVE_MANAGER' | 'VIEWER';
  /** Today (`YYYY-MM-DD`), for the version window; default the real date. */
  readonly today?: () => string;
  /** Most elements in one users batch. LinkedIn's pages document no ceiling, so none by default; tests set one. */
  readonly maxElements?: number;
  /** How long a created segment refuses users (404); default LinkedIn's 5 seconds. */
  readonly readyAfterMs?: number;
  /** Any well-formed segment id exists on first use (the sandbox); false: only segments created through the API. */
  readonly openSegments?: boolean;
  /** An element refused with 400 (a per-user partial failure), by the message returned; undefined accepts it. */
  readonly reject?: (element: UserElement) => string | undefined;
  /** Keep every request (headers and body) for tests that check what was sent. */
  readonly recordBodies?: boolean;
  readonly rateLimit?: RateLimitSpec;
  readonly faults?: FaultPlan;
  readonly port?: number;
}

export interface LinkedInStats {
  /** Most elements seen in one users batch. */
  maxElementsSeen: number;
  /** Elements whose hashed id was not in its hash format: raw PII sent by mistake. */
  unhashedValues: number;
  throttled: number;
  /** Requests refused for their LinkedIn-Version (missing or not served). */
  versionRefusals: number;
  /** Requests refused 403. */
  permissionRefusals: number;
  segmentsCreated: number;
  refreshes: number;
}

/**
 * LinkedIn's Marketing API as far as DMP segments go, every rule from protocol.ts: `Authorization: Bearer` (401
 * otherwise), `LinkedIn-Version` inside LinkedIn's window (426 NONEXISTENT_VERSION otherwise), `X-Restli-Protocol-
 * Version: 2.0.0`, `rw_dmp_segments` and a role other than VIEWER (403 ACCESS_DENIED), the users batch as
 * `X-RestLi-Method: BATCH_CREATE` with one status per element, SHA256_EMAIL values 64 hex characters (400 for the
 * element otherwise), ADD and REMOVE idempotent (201 both ways), new segments refusing users for 5 seconds, throttling
 * answered 429 in LinkedIn's error shape, and the OAuth refresh grant. Membership lives in the store as object
 * `<segment id>` → SHA-256 of the e-mail → `{SHA256_EMAIL}`.
 */
export class LinkedInEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    readonly accessToken: string,
    readonly stats: Readonly<LinkedInStats>,
    /** Requests received (method, path, headers, body), when `recordBodies` is set. */
    readonly bodies: readonly string[],
    readonly segments: ReadonlyMap<string, DmpSegment>,
    /** The access tokens the API takes: the initial one and every refreshed one. */
    private readonly tokens: Set<string>,
  ) {
    super(server);
  }

  records(segment: string): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
    return this.server.store.object(segment);
  }

  /** The members and the segments themselves, so that a resumed sandbox still finds a segment by its name. */
  override async save(): Promise<unknown> {
    return { ...((await this.server.save()) as object), segments: [...this.segments.values()] };
  }

  /** The initial access token expires (a refreshed one still works). */
  expireInitialToken(): void {
    this.tokens.delete(this.accessToken);
  }
}

const today = () => new Date().toISOString().slice(0, 10);

export async function startLinkedInEmulator(options: LinkedInEmulatorOptions = {}): Promise<LinkedInEmulator> {
  const accessToken = options.accessToken ?? `AQV${randomBytes(24).toString('hex')}`;
  const tokens = new Set([accessToken]);
  const account = `urn:li:sponsoredAccount:${options.adAccountId ?? '500000001'}`;
  const scopes = new Set(options.scopes ?? ['rw_dmp_segments', 'r_ads']);
  const role = options.role ?? 'CAMPAIGN_MANAGER';
  const readyAfter = options.readyAfterMs ?? SEGMENT_READY_MS;
  const open = options.openSegments ?? true;
  const stats: LinkedInStats = { maxElementsSeen: 0, unhashedValues: 0, throttled: 0, versionRefusals: 0, permissionRefusals: 0, segmentsCreated: 0, refreshes: 0 };
  const segments = new Map<string, DmpSegment>();
  const createdAt = new Map<string, number>();
  const bodies: string[] = [];
  let nextId = 100_000 + Number.parseInt(randomBytes(2).toString('hex'), 16);

  const error = (status: number, message: string, extra: Partial<ErrorBody> = {}): EmulatorReply => ({ status, body: { status, message, ...extra } satisfies ErrorBody });

  const api: ApiContract = {
    authenticate: (request) => {
      if (options.recordBodies) bodies.push(`${request.method} ${request.path}\n${JSON.stringify(request.headers)}\n${request.body.toString('utf8')}`);
      if (request.path === OAUTH_TOKEN_PATH) return undefined;
      const bearer = /^Bearer (.+)$/.exec(requestHeader(request, 'authorization') ?? '')?.[1];
      if (!bearer || !tokens.has(bearer)) return { status: 401, body: bearer ? ERRORS.invalidToken : ERRORS.emptyToken };
      const version = requestHeader(request, HEADER.version);
      if (!version || !versionActive(version, (options.today ?? today)())) {
        stats.versionRefusals++;
        return error(VERSION_STATUS, versionNotActiveMessage(version ?? '000000'), { code: NONEXISTENT_VERSION });
      }
      return undefined;
    },
    tooManyRequests: () => {
      stats.throttled++;
      // LinkedIn documents no Retry-After on its 429s: none is sent, and clients back off.
      return { status: 429, body: ERRORS.throttled };
    },
    serverError: (status) => error(status, status === 503 ? 'Service Unavailable' : 'Internal Server Error'),
    handle: (request, store) => route(request, store),
  };

  function route(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    if (request.path === OAUTH_TOKEN_PATH && request.method === 'POST') return refresh(request);
    if (requestHeader(request, HEADER.protocol) !== RESTLI_PROTOCOL_VERSION) return error(400, `All requests require the header X-Restli-Protocol-Version: ${RESTLI_PROTOCOL_VERSION}`);
    if (!scopes.has('rw_dmp_segments')) return denied(`${request.method} ${request.path}`);
    let m: RegExpExecArray | null;
    if (request.path === '/rest/dmpSegments' && request.method === 'GET') return find(request);
    if (request.path === '/rest/dmpSegments' && request.method === 'POST') return role === 'VIEWER' ? denied('dmpSegments.CREATE') : create(request);
    if ((m = /^\/rest\/dmpSegments\/(\d+)$/.exec(request.path)) && request.method === 'GET') {
      const segment = segmentOf(m[1]!);
      return segment ? { status: 200, body: segment } : error(404, `Not found: dmpSegment ${m[1]}`);
    }
    if ((m = /^\/rest\/dmpSegments\/(\d+)\/users$/.exec(request.path)) && request.method === 'POST') return role === 'VIEWER' ? denied('dmpSegments.users.BATCH_CREATE') : users(m[1]!, request, store);
    return error(404, `No resource found for ${request.method} ${request.path}`);
  }

  function denied(what: string): EmulatorReply {
    stats.permissionRefusals++;
    return { status: 403, body: ERRORS.accessDenied(what) };
  }

  function segmentOf(id: string): DmpSegment | undefined {
    let segment = segments.get(id);
    if (!segment && open) {
      segment = { id: Number(id), name: `Segment ${id}`, account, type: 'USER', sourcePlatform: 'SANDBOX', accessPolicy: 'PRIVATE', destinations: [{ destination: 'LINKEDIN', status: 'READY' }] };
      segments.set(id, segment);
    }
    return segment;
  }

  function find(request: EmulatorRequest): EmulatorReply {
    if (request.query.get('q') !== 'account') return error(400, 'Unsupported finder: use q=account');
    const wanted = request.query.get('account');
    if (wanted !== account) return denied(`dmpSegments.FINDER-account ${wanted ?? ''}`);
    const start = Number(request.query.get('start') ?? 0);
    const count = Number(request.query.get('count') ?? 10);
    const all = [...segments.values()].filter((s) => s.account === wanted);
    return { status: 200, body: { elements: all.slice(start, start + count), paging: { start, count, total: all.length } } };
  }

  function create(request: EmulatorRequest): EmulatorReply {
    const body = requestObject(request);
    const destinations = body?.['destinations'];
    if (!body || typeof body['name'] !== 'string' || !body['name'] || body['account'] !== account || (body['type'] !== 'USER' && body['type'] !== 'COMPANY') || typeof body['sourcePlatform'] !== 'string' || !Array.isArray(destinations) || !destinations.every((d) => (d as { destination?: unknown }).destination === 'LINKEDIN')) {
      return error(400, 'Invalid DMP segment: name, account (the sponsored account URN), type, sourcePlatform and destinations [{destination: LINKEDIN}] are required');
    }
    const id = String(nextId++);
    segments.set(id, { id: Number(id), name: body['name'], account, type: body['type'], sourcePlatform: body['sourcePlatform'], accessPolicy: 'PRIVATE', destinations: [{ destination: 'LINKEDIN', status: 'BUILDING' }] });
    createdAt.set(id, performance.now());
    stats.segmentsCreated++;
    return { status: 201, headers: { [HEADER.createdId]: id, location: `/dmpSegments/${id}` } };
  }

  function users(id: string, request: EmulatorRequest, store: RecordStore): EmulatorReply {
    const segment = segmentOf(id);
    const created = createdAt.get(id);
    if (!segment || (created !== undefined && performance.now() - created < readyAfter)) return error(404, `Not found: dmpSegment ${id}`);
    if ((requestHeader(request, HEADER.method) ?? '').toUpperCase() !== BATCH_CREATE) return error(400, 'Adding several users needs X-RestLi-Method: BATCH_CREATE with a body {"elements": […]}');
    const elements = requestObject(request)?.['elements'];
    if (!Array.isArray(elements) || elements.length === 0) return error(400, 'elements must be a non-empty array');
    stats.maxElementsSeen = Math.max(stats.maxElementsSeen, elements.length);
    if (options.maxElements !== undefined && elements.length > options.maxElements) return error(400, `Too many elements in the batch: ${elements.length} (at most ${options.maxElements})`);
    const members = store.object(id);
    const answers = elements.map((raw: unknown) => {
      const problem = elementProblem(raw);
      if (problem) return { status: 400, error: { status: 400, message: problem } };
      const el = raw as UserElement;
      const refused = options.reject?.(el);
      if (refused) return { status: 400, error: { status: 400, message: refused } };
      for (const userId of el.userIds) {
        if (userId.idType !== 'SHA256_EMAIL') continue;
        const hash = userId.idValue.toLowerCase();
        if (el.action === 'ADD') {
          if (!members.has(hash)) store.created(id, hash);
          members.set(hash, { SHA256_EMAIL: hash });
        } else members.delete(hash);
      }
      return { status: 201 };
    });
    return { status: 200, body: { elements: answers } };
  }

  function elementProblem(raw: unknown): string | undefined {
    const el = raw as Partial<UserElement> | null;
    if (!el || typeof el !== 'object') return 'each element must be an object';
    if (el.action !== 'ADD' && el.action !== 'REMOVE') return 'action must be ADD or REMOVE';
    if (!Array.isArray(el.userIds) || el.userIds.length === 0) return 'userIds must name at least one id';
    for (const userId of el.userIds as readonly Partial<UserId>[]) {
      if (!ID_TYPES.includes(userId?.idType as IdType)) return `idType must be one of ${ID_TYPES.join(', ')}`;
      const format = HASH_FORMAT[userId.idType as IdType];
      if (typeof userId.idValue !== 'string' || (format && !format.test(userId.idValue))) {
        stats.unhashedValues++;
        return `idValue is not a valid ${userId.idType}`;
      }
    }
    return undefined;
  }

  function refresh(request: EmulatorRequest): EmulatorReply {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const grant = options.refresh;
    if (form.get('grant_type') !== 'refresh_token' || !grant || form.get('refresh_token') !== grant.refreshToken || form.get('client_id') !== grant.clientId || form.get('client_secret') !== grant.clientSecret) {
      return { status: 400, body: { error: 'invalid_request', error_description: 'The provided authorization grant or refresh token is invalid, expired or revoked' } };
    }
    const token = `AQV${randomBytes(24).toString('hex')}`;
    tokens.add(token);
    stats.refreshes++;
    return { status: 200, body: { access_token: token, expires_in: 5_184_000, refresh_token: grant.refreshToken, refresh_token_expires_in: 31_536_000 } satisfies TokenResponse };
  }

  const server = await EmulatorServer.start(api, { rateLimit: options.rateLimit, faults: options.faults, port: options.port });
  server.restore(options.saved);
  for (const segment of (options.saved as { segments?: DmpSegment[] } | undefined)?.segments ?? []) segments.set(String(segment.id), segment);
  return new LinkedInEmulator(server, accessToken, stats, bodies, segments, tokens);
}
