import { randomBytes } from 'node:crypto';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { BRAZE_EVENT_OBJECTS, DELETE_IDENTIFIERS, DELETE_IDS_PER_REQUEST, type DeleteIdentifier, MAX_PROPERTY_CHARS, MAX_PURCHASE_QUANTITY, RATE_HEADERS, TRACK_OBJECTS_PER_REQUEST, TRACK_RATE_LIMIT, type BrazeEventObject } from './protocol.js';
import { EmulatorServer, requestObject, ServerEmulator, type ApiContract, type EmulatorReply, type RateLimitSpec, type RecordStore } from '../emulator-kit/server.js';

/** The object under which the emulator keeps users, by external_id (what `state()` shows). */
export const BRAZE_USERS = 'users';
/** Custom events and purchases, every copy received, by arrival number (`events`, `purchases`). */
export type { BrazeEventObject } from './protocol.js';

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
  /** Event or purchase objects answered with a non-fatal error (not kept). */
  readonly rejectEvent?: (object: Readonly<Record<string, unknown>>, array: BrazeEventObject) => string | undefined;
  readonly port?: number;
}

export interface BrazeStats {
  /** Most objects seen in one /users/track request. */
  maxObjectsSeen: number;
}

/**
 * Braze's REST API as Tideline uses it: `POST /users/track` (attributes, custom events, purchases), `POST
 * /users/delete`. Events and purchases are kept as received, each copy (Braze does not de-duplicate), and an
 * event for an external_id Braze does not know creates that user (protocol.ts); an invalid one is a non-fatal error. Users are kept by external_id with their attributes; array
 * attributes take `{"add": […]}` / `{"remove": […]}`; `null` removes an attribute; `_update_existing_only` never
 * creates a user. Braze does not refuse an external_id repeated in one request: objects are applied in order.
 * `/users/delete` by `external_ids` deletes the user with their events and purchases; by `braze_ids`, the events and
 * purchases that named their user by that id (the emulator keeps users by external_id only); `deleted` counts the ids
 * parsed, held or not (protocol.ts, DELETE_IDS_PER_REQUEST).
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

  /** Every custom event (or purchase) received, in arrival order, as sent: Braze keeps each copy. */
  events(array: BrazeEventObject = 'events'): readonly Readonly<Record<string, unknown>>[] {
    return [...this.server.store.object(array).values()];
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

  const arrivals = new Arrivals();
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
      if (request.path === '/users/track') return track(body, store, stats, maxObjects, options, arrivals);
      if (request.path === '/users/delete') return remove(body, store, maxDeleteIds);
      return { status: 404, body: { message: 'Not found', errors: [] } };
    },
  };
  const server = await EmulatorServer.start(api, { rateLimit: options.rateLimit ?? TRACK_RATE_LIMIT, faults: options.faults, port: options.port });
  server.restore(options.saved);
  return new BrazeEmulator(server, apiKey, stats);
}

/**
 * Numbers events and purchases in arrival order. Not the count held: a deletion takes events out, and a later event
 * must not take the number of one still held.
 */
class Arrivals {
  readonly #last = new Map<string, number>();
  next(store: RecordStore, array: BrazeEventObject): string {
    const last = this.#last.get(array) ?? [...store.object(array).keys()].reduce((max, key) => Math.max(max, Number(key) || 0), 0);
    this.#last.set(array, last + 1);
    return String(last + 1);
  }
}

function track(body: Record<string, unknown>, store: RecordStore, stats: BrazeStats, maxObjects: number, options: BrazeEmulatorOptions, arrivals: Arrivals): EmulatorReply {
  const reject = options.reject;
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
  const reply: Record<string, unknown> = { message: 'success' };
  if (body['attributes'] !== undefined) reply['attributes_processed'] = processed;
  for (const array of BRAZE_EVENT_OBJECTS) {
    if (body[array] === undefined) continue;
    let kept = 0;
    (body[array] as unknown[]).forEach((item, index) => {
      const refused = eventProblem(item, array) ?? options.rejectEvent?.(item as Record<string, unknown>, array);
      if (refused) return void errors.push({ type: refused, input_array: array, index });
      const object = item as Record<string, unknown>;
      const externalId = object['external_id'];
      if (typeof externalId === 'string' && !users.has(externalId)) {
        store.created(BRAZE_USERS, externalId);
        users.set(externalId, {});
      }
      const key = arrivals.next(store, array);
      store.created(array, key);
      store.object(array).set(key, { ...object });
      kept++;
    });
    reply[`${array}_processed`] = kept;
  }
  if (errors.length) reply['errors'] = errors;
  return { status: 201, body: reply };
}

function remove(body: Record<string, unknown>, store: RecordStore, maxIds: number): EmulatorReply {
  const lists = Object.keys(body);
  if (lists.length !== 1) return fatal('Exactly one of external_ids, user_aliases, braze_ids, email_addresses or phone_numbers must be given per request');
  const list = lists[0]!;
  // An emulator's limit, not Braze's: it holds users by external_id, and Tideline deletes by external_id or braze_id.
  if (!(DELETE_IDENTIFIERS as readonly string[]).includes(list)) return fatal(`The emulator deletes by ${DELETE_IDENTIFIERS.join(' or ')}, not ${list}`);
  const ids = body[list];
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) return fatal(`'${list}' must be an array of strings`);
  if (ids.length > maxIds) return fatal(`Too many ${list}: at most ${maxIds} per request`);
  const field = (list as DeleteIdentifier) === 'external_ids' ? 'external_id' : 'braze_id';
  const gone = new Set(ids as string[]);
  if (field === 'external_id') for (const id of gone) store.object(BRAZE_USERS).delete(id);
  // The user's custom events and purchases go with the profile (protocol.ts, BRAZE_DELETE_DOCS).
  for (const array of BRAZE_EVENT_OBJECTS) {
    const held = store.object(array);
    for (const [key, event] of held) if (gone.has(event[field] as string)) held.delete(key);
  }
  return { status: 201, body: { deleted: ids.length, message: 'success' } };
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

/** Why Braze refuses one event or purchase object (a non-fatal error), or undefined (protocol.ts, BRAZE_EVENT_OBJECTS). */
function eventProblem(item: unknown, array: BrazeEventObject): string | undefined {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return `${array === 'events' ? 'Event' : 'Purchase'} object must be an object`;
  const object = item as Record<string, unknown>;
  if (!['external_id', 'braze_id', 'email', 'phone'].some((k) => typeof object[k] === 'string' && object[k] !== '') && !object['user_alias']) return "'external_id' or 'braze_id' or 'user_alias' or 'email' or 'phone' is required";
  if (typeof object['time'] !== 'string' || Number.isNaN(Date.parse(object['time']))) return `'time' is required: a datetime in ISO 8601`;
  if (array === 'events' && (typeof object['name'] !== 'string' || object['name'] === '')) return "'name' is required";
  if (array === 'purchases') {
    if (typeof object['product_id'] !== 'string' || object['product_id'] === '' || object['product_id'].length > MAX_PROPERTY_CHARS) return `'product_id' is required (at most ${MAX_PROPERTY_CHARS} characters)`;
    if (typeof object['currency'] !== 'string' || !/^[A-Z]{3}$/.test(object['currency'])) return "'currency' must be an ISO 4217 alphabetic currency code";
    if (typeof object['price'] !== 'number') return "'price' is required: a number";
    const quantity = object['quantity'];
    if (quantity !== undefined && !(Number.isInteger(quantity) && (quantity as number) >= 1 && (quantity as number) <= MAX_PURCHASE_QUANTITY)) return `'quantity' must be an integer up to ${MAX_PURCHASE_QUANTITY}`;
  }
  const properties = object['properties'];
  if (properties === undefined) return undefined;
  if (!properties || typeof properties !== 'object' || Array.isArray(properties)) return "'properties' must be an object";
  for (const [name, value] of Object.entries(properties)) {
    if (name === '' || name.length > MAX_PROPERTY_CHARS || name.startsWith('$')) return `Invalid property name '${name.slice(0, 40)}': non-empty, at most ${MAX_PROPERTY_CHARS} characters, no leading $`;
    if (typeof value === 'string' && value.length > MAX_PROPERTY_CHARS) return `Property '${name}' is longer than ${MAX_PROPERTY_CHARS} characters`;
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
