import { randomBytes } from 'node:crypto';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { DELETE_IDS_PER_REQUEST, RATE_HEADERS, TRACK_OBJECTS_PER_REQUEST, TRACK_RATE_LIMIT } from './protocol.js';
import { EmulatorServer, requestObject, ServerEmulator, type ApiContract, type EmulatorReply, type RateLimitSpec, type RecordStore } from '../emulator-kit/server.js';

/** The object under which the emulator keeps users, by external_id (what `state()` shows). */
export const BRAZE_USERS = 'users';

/** A non-fatal error for one attributes object (Braze answers `{"type", "input_array", "index"}` and processes the rest). */
export type BrazeRecordRule = (externalId: string, attributes: Readonly<Record<string, unknown>>) => string | undefined;

export interface BrazeEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  /** The REST API key requests must carry as `Authorization: Bearer <key>` (default: a random one). */
  readonly apiKey?: string;
  /** Most attributes + events + purchases objects per /users/track request (Braze: 75). */
  readonly maxObjects?: number;
  /** Most external_ids per /users/delete request (Braze: 50). */
  readonly maxDeleteIds?: number;
  /** Braze: 3,000 /users/track requests per 3 seconds. */
  readonly rateLimit?: RateLimitSpec;
  readonly faults?: FaultPlan;
  /** Attribute objects answered with a non-fatal error (not applied). */
  readonly reject?: BrazeRecordRule;
  readonly port?: number;
}

export interface BrazeStats {
  /** Most objects seen in one /users/track request. */
  maxObjectsSeen: number;
}

/**
 * Braze's REST API as Tideline uses it: `POST /users/track` (attributes; events and purchases counted towards the
 * object limit but not kept), `POST /users/delete`. Users are kept by external_id with their attributes; array
 * attributes take `{"add": […]}` / `{"remove": […]}`; `null` removes an attribute; `_update_existing_only` never
 * creates a user. Braze does not refuse an external_id repeated in one request: objects are applied in order.
 */
export class BrazeEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    readonly apiKey: string,
    readonly stats: Readonly<BrazeStats>,
  ) {
    super(server);
  }

  /** Users by external_id. */
  users(): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
    return this.server.store.object(BRAZE_USERS);
  }
}

export async function startBrazeEmulator(options: BrazeEmulatorOptions = {}): Promise<BrazeEmulator> {
  const apiKey = options.apiKey ?? randomBytes(18).toString('hex');
  const maxObjects = options.maxObjects ?? TRACK_OBJECTS_PER_REQUEST;
  const maxDeleteIds = options.maxDeleteIds ?? DELETE_IDS_PER_REQUEST;
  const stats: BrazeStats = { maxObjectsSeen: 0 };
  const rateHeaders = (limit: number, remaining: number, resetMs: number) => ({
    [RATE_HEADERS.limit]: String(limit),
    [RATE_HEADERS.remaining]: String(remaining),
    [RATE_HEADERS.reset]: String(Math.ceil((Date.now() + resetMs) / 1000)),
  });

  const api: ApiContract = {
    authenticate: (request) => (request.headers['authorization'] === `Bearer ${apiKey}` ? undefined : { status: 401, body: { message: 'Invalid API key' } }),
    tooManyRequests: (state) => ({
      status: 429,
      // Braze says when the window resets (epoch seconds), not how long to wait.
      headers: rateHeaders(state.limit, 0, Math.max(state.retryAfterMs, 1)),
      body: { message: 'Rate limit exceeded', errors: [] },
    }),
    serverError: (status) => ({ status, body: { message: 'Internal server error', errors: [] } }),
    rateHeaders: (state) => rateHeaders(state.limit, state.remaining, state.resetMs),
    handle: (request, store) => {
      if (request.method !== 'POST') return { status: 405, body: { message: 'Method not allowed', errors: [] } };
      const body = requestObject(request);
      if (body === undefined) return fatal('Invalid JSON in request body');
      if (request.path === '/users/track') return track(body, store, stats, maxObjects, options.reject);
      if (request.path === '/users/delete') return remove(body, store, maxDeleteIds);
      return { status: 404, body: { message: 'Not found', errors: [] } };
    },
  };
  const server = await EmulatorServer.start(api, { rateLimit: options.rateLimit ?? TRACK_RATE_LIMIT, faults: options.faults, port: options.port });
  server.restore(options.saved);
  return new BrazeEmulator(server, apiKey, stats);
}

function track(body: Record<string, unknown>, store: RecordStore, stats: BrazeStats, maxObjects: number, reject: BrazeRecordRule | undefined): EmulatorReply {
  const arrays = ['attributes', 'events', 'purchases'] as const;
  for (const name of arrays) if (body[name] !== undefined && !Array.isArray(body[name])) return fatal(`'${name}' must be an array`);
  const attributes = (body['attributes'] ?? []) as unknown[];
  const total = arrays.reduce((n, name) => n + ((body[name] as unknown[] | undefined)?.length ?? 0), 0);
  if (total > maxObjects) return fatal(`Too many objects in request: ${total}; at most ${maxObjects} attributes, events and purchases combined`);
  stats.maxObjectsSeen = Math.max(stats.maxObjectsSeen, total);

  const users = store.object(BRAZE_USERS);
  const errors: { type: string; input_array: string; index: number }[] = [];
  let processed = 0;
  attributes.forEach((item, index) => {
    const problem = attributeProblem(item);
    const object = item as Record<string, unknown>;
    const externalId = problem ? undefined : (object['external_id'] as string);
    const refused = problem ?? reject?.(externalId!, object);
    if (refused) return void errors.push({ type: refused, input_array: 'attributes', index });
    const { external_id: _id, _update_existing_only: existingOnly, ...changes } = object;
    const existing = users.get(externalId!);
    if (!existing && existingOnly === true) return void processed++;
    const next: Record<string, unknown> = { ...existing };
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) delete next[name];
      else if (isArrayOperation(value)) {
        const current = Array.isArray(next[name]) ? (next[name] as unknown[]) : [];
        const added = [...current, ...(value.add ?? []).filter((v) => !current.includes(v))];
        next[name] = added.filter((v) => !(value.remove ?? []).includes(v));
      } else next[name] = value;
    }
    if (!existing) store.created(BRAZE_USERS, externalId!);
    users.set(externalId!, next);
    processed++;
  });
  const reply: Record<string, unknown> = { message: 'success', attributes_processed: processed };
  if (errors.length) reply['errors'] = errors;
  return { status: 201, body: reply };
}

function remove(body: Record<string, unknown>, store: RecordStore, maxIds: number): EmulatorReply {
  const ids = body['external_ids'];
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) return fatal("'external_ids' must be an array of strings");
  if (body['braze_ids'] !== undefined || body['user_aliases'] !== undefined) return fatal('Only one type of identifier may be given per request');
  if (ids.length > maxIds) return fatal(`Too many external_ids: at most ${maxIds} per request`);
  const users = store.object(BRAZE_USERS);
  let deleted = 0;
  for (const id of ids as string[]) if (users.delete(id)) deleted++;
  return { status: 201, body: { deleted, message: 'success' } };
}

/** Why Braze refuses one attributes object (a non-fatal error), or undefined. */
function attributeProblem(item: unknown): string | undefined {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return 'Attributes object must be an object';
  const object = item as Record<string, unknown>;
  if (typeof object['external_id'] !== 'string' || object['external_id'] === '') return "'external_id' or 'braze_id' or 'user_alias' is required";
  for (const [name, value] of Object.entries(object)) {
    if (name.startsWith('$')) return `Invalid attribute name '${name}': names may not start with $`;
    if (name.length > 255) return 'Attribute names are limited to 255 characters';
    if (name === 'email' && value !== null && (typeof value !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value))) return "Invalid 'email' attribute";
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !isArrayOperation(value)) return `Invalid value for attribute '${name}'`;
  }
  return undefined;
}

function isArrayOperation(value: unknown): value is { add?: unknown[]; remove?: unknown[] } {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => (k === 'add' || k === 'remove') && Array.isArray((value as Record<string, unknown>)[k]));
}

function fatal(message: string): EmulatorReply {
  return { status: 400, body: { message, errors: [message] } };
}
