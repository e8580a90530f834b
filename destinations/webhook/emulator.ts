import { randomBytes } from 'node:crypto';
import type { EmulatorState, Operation } from '../destination.js';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, requestHeader, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RateLimitSpec, type RecordStore } from '../emulator-kit/server.js';
import { ALREADY_EXISTS, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verifySignature, type WebhookBody, type WebhookRecord, type WebhookResults } from './protocol.js';

/** Why the emulated receiver refuses one record (a partial failure), or undefined to accept it. */
export type RecordRule = (record: WebhookRecord, object: string) => { code: string; message: string; retryable?: boolean } | undefined;

export interface WebhookEmulatorOptions {
  /** The HMAC secret requests must be signed with (default: a random one, see `secret`). */
  readonly secret?: string;
  /** Most records per request; larger batches get 413. */
  readonly maxBatchRecords?: number;
  readonly rateLimit?: RateLimitSpec;
  readonly faults?: FaultPlan;
  /** Records to reject one by one, answered with per-record results (200). */
  readonly reject?: RecordRule;
  /** Records that make the receiver refuse the whole batch with a 400 (as some APIs do), without saying which. */
  readonly poison?: RecordRule;
  readonly port?: number;
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
}

const OPERATIONS: ReadonlySet<string> = new Set<Operation | 'check'>(['upsert', 'update', 'insert', 'delete', 'add', 'remove', 'track', 'forget', 'check']);

/** What the emulated receiver saw, beyond its records. */
export interface WebhookStats {
  /** Largest batch received. */
  maxBatchSeen: number;
  /** Records received in requests that took effect (replays not counted). */
  recordsReceived: number;
  /** Records answered from the idempotency memory (sent again after a lost answer, or by a later run). */
  replays: number;
}

/**
 * A receiver that speaks the webhook protocol strictly: signature checked, batch size capped, body shape checked,
 * records kept per object by key with each operation's meaning (insert refuses an existing key, update a missing
 * one, forget drops the key whether or not it is held), and a record whose idempotency key it took before answered
 * with success without applying it twice, in whatever batch it comes back (the per-record de-duplication the
 * protocol recommends).
 */
export class WebhookEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    /** The HMAC secret requests must be signed with. */
    readonly secret: string,
    readonly stats: Readonly<WebhookStats>,
  ) {
    super(server);
  }

  /** Records of one object, by key. */
  records(object: string): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
    return this.server.store.object(object);
  }
}

/** How many idempotency keys the emulator remembers, the most recent: a receiver's de-duplication has a horizon. */
const TAKEN_KEYS = 1_000_000;

/**
 * The idempotency keys taken, the most recent `max` of them. A Set alone, its oldest key dropped by reading its first
 * (`values().next()`), made each record cost as many steps as keys were dropped before it since the Set was last
 * compacted (V8 skips deleted entries when iterating): past a million records the emulator spent all its time there
 * (a 10M-row sync fell to ~1,000 records/s). A ring of the keys in the order taken finds the oldest in one step.
 */
export class TakenKeys {
  readonly #keys = new Set<string>();
  readonly #ring: string[] = [];
  #oldest = 0;

  constructor(readonly max: number) {}

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  add(key: string): void {
    if (this.#keys.has(key)) return;
    this.#keys.add(key);
    if (this.#ring.length < this.max) {
      this.#ring.push(key);
      return;
    }
    this.#keys.delete(this.#ring[this.#oldest]!);
    this.#ring[this.#oldest] = key;
    this.#oldest = (this.#oldest + 1) % this.max;
  }

  get size(): number {
    return this.#keys.size;
  }
}

export async function startWebhookEmulator(options: WebhookEmulatorOptions = {}): Promise<WebhookEmulator> {
  const secret = options.secret ?? randomBytes(24).toString('hex');
  const maxBatch = options.maxBatchRecords ?? 10_000;
  const taken = new TakenKeys(TAKEN_KEYS);
  const stats: WebhookStats = { maxBatchSeen: 0, recordsReceived: 0, replays: 0 };

  const api: ApiContract = {
    authenticate: (request) => {
      const problem = verifySignature(secret, request.body.toString('utf8'), requestHeader(request, SIGNATURE_HEADER));
      return problem ? { status: 401, body: { error: 'unauthorized', message: problem } } : undefined;
    },
    tooManyRequests: (state) => ({
      status: 429,
      headers: {
        'retry-after': String(Math.max(1, Math.ceil(state.retryAfterMs / 1000))),
        'x-ratelimit-limit': String(state.limit),
        'x-ratelimit-remaining': '0',
      },
      body: { error: 'rate_limited', message: 'too many requests' },
    }),
    serverError: (status) => ({ status, body: { error: 'server_error', message: 'the receiver failed' } }),
    rateHeaders: (state) => ({ 'x-ratelimit-limit': String(state.limit), 'x-ratelimit-remaining': String(state.remaining) }),
    handle: (request, store) => handle(request, store, stats, maxBatch, options, taken),
  };
  const server = await EmulatorServer.start(api, { rateLimit: options.rateLimit, faults: options.faults, port: options.port });
  const saved = options.saved as { objects?: EmulatorState['objects'] } | undefined;
  if (saved?.objects) server.store.load(saved.objects);
  return new WebhookEmulator(server, secret, stats);
}

function handle(request: EmulatorRequest, store: RecordStore, stats: WebhookStats, maxBatch: number, options: WebhookEmulatorOptions, taken: TakenKeys): EmulatorReply {
  if (request.method !== 'POST') return { status: 405, body: { error: 'method_not_allowed' } };
  let body: WebhookBody;
  try {
    body = JSON.parse(request.body.toString('utf8')) as WebhookBody;
  } catch {
    return { status: 400, body: { error: 'bad_request', message: 'the body is not JSON' } };
  }
  const shape = shapeProblem(body);
  if (shape) return { status: 400, body: { error: 'bad_request', message: shape } };
  if (body.operation === 'check') return { status: 204 };
  if (body.records.length > maxBatch) return { status: 413, body: { error: 'too_large', message: `at most ${maxBatch} records per request` } };
  if (options.poison && body.records.some((r) => options.poison!(r, body.object))) return { status: 400, body: { error: 'bad_request', message: 'a record is invalid' } };
  stats.maxBatchSeen = Math.max(stats.maxBatchSeen, body.records.length);

  const records = store.object(body.object);
  const results: WebhookResults['results'][number][] = [];
  for (const record of body.records) {
    if (taken.has(record.idempotency_key)) {
      stats.replays++;
      results.push({ key: record.key, ok: true });
      continue;
    }
    stats.recordsReceived++;
    const refused = options.reject?.(record, body.object);
    if (refused) {
      results.push({ key: record.key, ok: false, code: refused.code, message: refused.message, retryable: refused.retryable ?? false });
      continue;
    }
    const existing = records.get(record.key);
    switch (body.operation) {
      case 'insert':
        if (existing) {
          results.push({ key: record.key, ok: false, code: ALREADY_EXISTS, message: 'a record with this key exists', retryable: false });
          continue;
        }
        records.set(record.key, { ...record.fields });
        store.created(body.object, record.key);
        break;
      case 'update':
        if (!existing) {
          results.push({ key: record.key, ok: false, code: 'not_found', message: 'no record with this key', retryable: false });
          continue;
        }
        records.set(record.key, { ...existing, ...record.fields });
        break;
      case 'upsert':
      case 'add':
        if (!existing) store.created(body.object, record.key);
        records.set(record.key, { ...existing, ...record.fields });
        break;
      case 'delete':
      case 'remove':
      // FORGET (protocol.ts): the key's record is dropped whole; a key the receiver does not hold is answered ok.
      case 'forget':
        records.delete(record.key);
        break;
      case 'track':
        // An event is kept by its id with its name and time: one sent again under a new idempotency key (which
        // Tideline never does for the same event) would replace it, not add a second.
        if (!record.event || typeof record.event.name !== 'string' || Number.isNaN(Date.parse(record.event.time))) {
          results.push({ key: record.key, ok: false, code: 'bad_event', message: 'a track record needs event.name and an ISO-8601 event.time', retryable: false });
          continue;
        }
        if (!existing) store.created(body.object, record.key);
        records.set(record.key, { ...record.fields, event_name: record.event.name, event_time: record.event.time });
        break;
    }
    taken.add(record.idempotency_key);
    results.push({ key: record.key, ok: true });
  }
  return { status: 200, body: { results } satisfies WebhookResults };
}

function shapeProblem(body: WebhookBody): string | undefined {
  if (!body || typeof body !== 'object') return 'the body must be an object';
  if (!OPERATIONS.has(body.operation)) return `unknown operation ${JSON.stringify(body.operation)}`;
  if (typeof body.object !== 'string' || typeof body.key_field !== 'string') return 'object and key_field must be strings';
  if (!Array.isArray(body.records)) return 'records must be a list';
  const keys = new Set<string>();
  for (const record of body.records) {
    if (typeof record?.key !== 'string' || record.key === '') return 'every record needs a non-empty string key';
    if (!record.fields || typeof record.fields !== 'object' || Array.isArray(record.fields)) return 'every record needs fields (an object)';
    if (typeof record.idempotency_key !== 'string' || record.idempotency_key === '') return 'every record needs an idempotency_key';
    if (keys.has(record.key)) return `key ${JSON.stringify(record.key)} appears twice in one batch`;
    keys.add(record.key);
  }
  return undefined;
}
