import { randomBytes } from 'node:crypto';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, requestHeader, requestObject, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RateLimitSpec, type RecordStore } from '../emulator-kit/server.js';
import { AUDIENCE_LIST_PAGE_SIZE, ACCESS_TOKEN_HEADER, API_ROOT, API_VERSION, CODE, ID_SCHEMA, PATH, RETIRED_VERSION_STATUS, SHA256_HEX, type AudienceInfo, type Envelope, type IdSchema, type MappingEntry } from './protocol.js';

export interface TikTokEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  readonly accessToken?: string;
  /** The advertiser the token was authorised for; any other answers 40001. */
  readonly advertiserId?: string;
  /** Permissions the advertiser granted the app: without `audience_management`, audience requests answer 40001. */
  readonly scopes?: readonly string[];
  /** Most users in one mapping request. TikTok's pages state none, so none by default; tests set one. */
  readonly maxUsers?: number;
  /** Any audience id (digits) exists on first use (the sandbox); false: only audiences created through the API. */
  readonly openAudiences?: boolean;
  /** A user whose request is refused whole with 40002 (TikTok answers a mapping request as a whole), by the message. */
  readonly reject?: (user: readonly MappingEntry[]) => string | undefined;
  /** Keep every request (headers and body) for tests that check what was sent. */
  readonly recordBodies?: boolean;
  readonly rateLimit?: RateLimitSpec;
  readonly faults?: FaultPlan;
  readonly port?: number;
}

export interface TikTokStats {
  maxUsersSeen: number;
  /** Ids that were not SHA-256 hex: raw PII sent by mistake. */
  unhashedValues: number;
  throttled: number;
  versionRefusals: number;
  permissionRefusals: number;
  audiencesCreated: number;
}

/**
 * TikTok's API for Business as far as audience segments go, every rule from protocol.ts: the `Access-Token` header
 * (40104 / 40105), only `/open_api/v1.3/` served (a retired version's paths answer 404), the advertiser and the Audience
 * Management permission (40001), `/segment/audience/` creating audiences, `/dmp/custom_audience/get|list/` describing
 * them, `/segment/mapping/` with one row per user and one entry per `id_schema` element, every id SHA-256 hex and every
 * `audience_ids` known (the request refused whole with 40002 otherwise), throttling answered with code 40100, every
 * answer in the `{code, message, request_id, data}` envelope with HTTP 200. Membership lives in the store as object
 * `<audience_id>` → member (its e-mail hash, else its phone hash) → id type → hash.
 */
export class TikTokEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    readonly accessToken: string,
    readonly advertiserId: string,
    readonly stats: Readonly<TikTokStats>,
    /** Requests received (method, path, headers, body), when `recordBodies` is set. */
    readonly bodies: readonly string[],
    readonly audiences: ReadonlyMap<string, AudienceInfo>,
  ) {
    super(server);
  }

  records(audience: string): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
    return this.server.store.object(audience);
  }

  /** The members and the audiences themselves, so that a resumed sandbox still finds an audience by its name. */
  override async save(): Promise<unknown> {
    return { ...((await this.server.save()) as object), audiences: [...this.audiences.values()] };
  }
}

export async function startTikTokEmulator(options: TikTokEmulatorOptions = {}): Promise<TikTokEmulator> {
  const accessToken = options.accessToken ?? randomBytes(20).toString('hex');
  const advertiserId = options.advertiserId ?? '7000000000000000001';
  const scopes = new Set(options.scopes ?? ['audience_management']);
  const open = options.openAudiences ?? true;
  const stats: TikTokStats = { maxUsersSeen: 0, unhashedValues: 0, throttled: 0, versionRefusals: 0, permissionRefusals: 0, audiencesCreated: 0 };
  const audiences = new Map<string, AudienceInfo>();
  const bodies: string[] = [];
  let nextId = 1_000_000 + Number.parseInt(randomBytes(2).toString('hex'), 16);

  const envelope = <T>(code: number, message: string, data: T): EmulatorReply => ({ status: 200, body: { code, message, request_id: randomBytes(12).toString('hex'), data } satisfies Envelope<T> });
  const failure = (code: number, message: string): EmulatorReply => envelope(code, message, {});
  const prefix = `${API_ROOT}/${API_VERSION}`;

  const api: ApiContract = {
    authenticate: (request) => {
      if (options.recordBodies) bodies.push(`${request.method} ${request.path}?${request.query.toString()}\n${JSON.stringify(request.headers)}\n${request.body.toString('utf8')}`);
      if (!request.path.startsWith(`${prefix}/`)) {
        stats.versionRefusals++;
        return { status: RETIRED_VERSION_STATUS, body: '404 page not found' };
      }
      const token = requestHeader(request, ACCESS_TOKEN_HEADER);
      if (!token) return failure(CODE.tokenMissing, 'Access token is null, you should pass it in the header: Access-Token');
      if (token !== accessToken) return failure(CODE.tokenInvalid, 'Access token is incorrect or has been revoked.');
      return undefined;
    },
    tooManyRequests: () => {
      stats.throttled++;
      return failure(CODE.tooManyRequests, 'Too many requests. Please retry in some time.');
    },
    serverError: () => failure(CODE.systemError, 'System error, please try again later.'),
    handle: (request, store) => route(request, store),
  };

  function route(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    const path = request.path.slice(prefix.length);
    const advertiser = request.method === 'GET' ? request.query.get('advertiser_id') : String(requestObject(request)?.['advertiser_id'] ?? (requestObject(request)?.['advertiser_ids'] as unknown[] | undefined)?.[0] ?? '');
    if (!scopes.has('audience_management')) return denied('The app is not authorised for Audience Management.');
    if (advertiser !== advertiserId) return denied(`No permission to operate advertiser ${advertiser ?? ''}.`);
    if (path === PATH.audienceGet && request.method === 'GET') return get(request);
    if (path === PATH.audienceList && request.method === 'GET') return list(request);
    if (path === PATH.segmentAudience && request.method === 'POST') return createSegment(request);
    if (path === PATH.segmentMapping && request.method === 'POST') return mapping(request, store);
    return { status: 404, body: '404 page not found' };
  }

  function denied(message: string): EmulatorReply {
    stats.permissionRefusals++;
    return failure(CODE.noPermission, message);
  }

  function audienceOf(id: string): AudienceInfo | undefined {
    let audience = audiences.get(id);
    if (!audience && open && /^\d+$/.test(id)) {
      audience = { audience_id: id, name: `Audience ${id}`, audience_type: 'Partner Audience', is_creator: true };
      audiences.set(id, audience);
    }
    return audience;
  }

  /**
   * Lists in a query: a JSON array (`custom_audience_ids=["1"]`, as partner integrations send them) or the parameter
   * repeated (as TikTok's own SDK sends them, collection format `multi`).
   */
  function idsParam(request: EmulatorRequest, name: string): string[] | undefined {
    const values = request.query.getAll(name);
    if (values.length !== 1) return values.length ? values : undefined;
    try {
      const parsed = JSON.parse(values[0]!) as unknown;
      return Array.isArray(parsed) ? parsed.map(String) : [values[0]!];
    } catch {
      return [values[0]!];
    }
  }

  function get(request: EmulatorRequest): EmulatorReply {
    const ids = idsParam(request, 'custom_audience_ids');
    if (!ids || ids.length < 1 || ids.length > 100) return failure(CODE.invalidParameters, 'custom_audience_ids: a list of 1 to 100 audience ids is required.');
    return envelope(CODE.ok, 'OK', { list: ids.map(audienceOf).filter((a): a is AudienceInfo => a !== undefined) });
  }

  function list(request: EmulatorRequest): EmulatorReply {
    const page = Math.max(1, Number(request.query.get('page') ?? 1));
    const size = Math.min(AUDIENCE_LIST_PAGE_SIZE.max, Math.max(1, Number(request.query.get('page_size') ?? AUDIENCE_LIST_PAGE_SIZE.default)));
    const all = [...audiences.values()];
    return envelope(CODE.ok, 'OK', { list: all.slice((page - 1) * size, page * size), page_info: { page, page_size: size, total_number: all.length, total_page: Math.max(1, Math.ceil(all.length / size)) } });
  }

  function createSegment(request: EmulatorRequest): EmulatorReply {
    const body = requestObject(request);
    if (body?.['action'] !== 'create' || typeof body['custom_audience_name'] !== 'string' || !body['custom_audience_name'] || body['custom_audience_name'].length > 128) {
      return failure(CODE.invalidParameters, 'action must be create, with custom_audience_name (at most 128 characters).');
    }
    const id = String(nextId++);
    audiences.set(id, { audience_id: id, name: body['custom_audience_name'], audience_type: 'Partner Audience', is_creator: true });
    stats.audiencesCreated++;
    return envelope(CODE.ok, 'OK', { audience_id: id });
  }

  function mapping(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    const body = requestObject(request);
    const schema = body?.['id_schema'];
    const users = body?.['batch_data'];
    if (!body || !Array.isArray(body['advertiser_ids']) || (body['action'] !== 'add' && body['action'] !== 'delete')) return failure(CODE.invalidParameters, 'advertiser_ids (a list) and action (add or delete) are required.');
    if (!Array.isArray(schema) || !schema.length || new Set(schema).size !== schema.length || !schema.every((s) => ID_SCHEMA.includes(s as IdSchema))) return failure(CODE.invalidParameters, `id_schema must list distinct id types among ${ID_SCHEMA.join(', ')}.`);
    if (!Array.isArray(users) || !users.length) return failure(CODE.invalidParameters, 'batch_data must hold at least one user.');
    stats.maxUsersSeen = Math.max(stats.maxUsersSeen, users.length);
    if (options.maxUsers !== undefined && users.length > options.maxUsers) return failure(CODE.invalidParameters, `batch_data holds ${users.length} users, more than ${options.maxUsers}.`);
    for (const [i, user] of users.entries()) {
      const problem = userProblem(schema as IdSchema[], user);
      if (problem) return failure(CODE.invalidParameters, `batch_data[${i}]: ${problem}`);
      const refused = options.reject?.(user as MappingEntry[]);
      if (refused) return failure(CODE.invalidParameters, `batch_data[${i}]: ${refused}`);
    }
    for (const user of users as MappingEntry[][]) {
      const ids = new Map<IdSchema, { id: string; audiences: string[] }>();
      user.forEach((entry, i) => {
        if ('id' in entry) ids.set((schema as IdSchema[])[i]!, { id: entry.id, audiences: [...entry.audience_ids] });
      });
      for (const audience of new Set([...ids.values()].flatMap((v) => v.audiences))) {
        const mine = new Map([...ids].filter(([, v]) => v.audiences.includes(audience)).map(([k, v]) => [k, v.id]));
        if (body['action'] === 'add') add(store, audience, mine);
        else remove(store, audience, mine);
      }
    }
    return envelope(CODE.ok, 'OK', {});
  }

  function userProblem(schema: readonly IdSchema[], user: unknown): string | undefined {
    if (!Array.isArray(user) || user.length !== schema.length) return 'each user must hold one entry per id_schema element';
    let ids = 0;
    for (const entry of user as unknown[]) {
      if (!entry || typeof entry !== 'object') return 'each entry must be an object';
      const e = entry as { id?: unknown; audience_ids?: unknown };
      if (Object.keys(e).length === 0) continue;
      ids++;
      if (typeof e.id !== 'string' || !SHA256_HEX.test(e.id)) {
        stats.unhashedValues++;
        return 'an id is not a SHA-256 hex digest';
      }
      if (!Array.isArray(e.audience_ids) || !e.audience_ids.length || !e.audience_ids.every((a) => audienceOf(String(a)) !== undefined)) return 'audience_ids must name audiences of this advertiser';
    }
    return ids ? undefined : 'the user has no id';
  }

  /** Members sharing an id with `ids` in the audience. */
  function matching(members: Map<string, Record<string, unknown>>, ids: ReadonlyMap<IdSchema, string>): string[] {
    return [...members].filter(([, m]) => [...ids].some(([k, v]) => m[k] === v)).map(([key]) => key);
  }

  function rekey(members: Map<string, Record<string, unknown>>, key: string, member: Record<string, unknown>): void {
    members.delete(key);
    const next = (member['EMAIL_SHA256'] ?? member['PHONE_SHA256'] ?? Object.values(member)[0]) as string | undefined;
    if (next !== undefined) members.set(next, member);
  }

  function add(store: RecordStore, audience: string, ids: ReadonlyMap<IdSchema, string>): void {
    const members = store.object(audience);
    const [first, ...others] = matching(members, ids);
    const member: Record<string, unknown> = { ...(first ? members.get(first) : {}) };
    for (const key of others) members.delete(key);
    for (const [k, v] of ids) member[k] = v;
    if (!first) store.created(audience, (member['EMAIL_SHA256'] ?? member['PHONE_SHA256']) as string);
    rekey(members, first ?? '', member);
  }

  function remove(store: RecordStore, audience: string, ids: ReadonlyMap<IdSchema, string>): void {
    const members = store.object(audience);
    for (const key of matching(members, ids)) {
      const member = { ...members.get(key) };
      for (const [k, v] of ids) if (member[k] === v) delete member[k];
      if (Object.keys(member).length) rekey(members, key, member);
      else members.delete(key);
    }
  }

  const server = await EmulatorServer.start(api, { rateLimit: options.rateLimit, faults: options.faults, port: options.port });
  server.restore(options.saved);
  for (const audience of (options.saved as { audiences?: AudienceInfo[] } | undefined)?.audiences ?? []) audiences.set(audience.audience_id, audience);
  return new TikTokEmulator(server, accessToken, advertiserId, stats, bodies, audiences);
}
