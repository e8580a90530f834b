import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Emulator, EmulatorState } from '../destination.js';
import { FaultInjector, type Fault, type FaultPlan } from './faults.js';

/**
 * The emulator kit: an in-process HTTP server on 127.0.0.1 that a destination's emulator configures with the API's
 * contract. The kit owns what every API emulator needs — listening, reading bodies, the order of checks (fault
 * injection, then authentication, then the rate limit, then the handler), answering 429s with the API's own status
 * and headers, records kept in memory, counts per status — and a control endpoint (`/_emulator/…`) so that a test
 * in another process, or a person using `tideline sandbox`, can read the state and inject faults.
 */

export interface EmulatorRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** The request's body read as JSON, or undefined when it is not JSON (the emulator then answers as the API does). */
export function requestJson<T = unknown>(request: EmulatorRequest): T | undefined {
  try {
    return JSON.parse(request.body.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The request's JSON body when it is an object, else undefined. */
export function requestObject(request: EmulatorRequest): Record<string, unknown> | undefined {
  const value = requestJson(request);
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A request header's value (the first, when it was sent several times). */
export function requestHeader(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export interface EmulatorReply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON, unless a string or Buffer (sent as is). Omitted for 204. */
  readonly body?: unknown;
}

/**
 * One window of an API's rate limit. `token-bucket` (the default, as most APIs enforce): a burst of `requests`,
 * refilled at `requests` per `perMs`. `fixed-window`: at most `requests` in a window of `perMs`, which opens with the
 * first request after the previous one closed (Klaviyo's algorithm; a refused request waits for the window's end).
 */
export interface RateLimitSpec {
  readonly requests: number;
  readonly perMs: number;
  readonly algorithm?: 'token-bucket' | 'fixed-window';
}

/** An API's rate limit: one window, or several enforced together (Klaviyo: 10 a second and 150 a minute). */
export type RateLimit = RateLimitSpec | readonly RateLimitSpec[];

export interface RateLimitState {
  readonly limit: number;
  readonly remaining: number;
  /** Milliseconds until one more request is allowed (0 when allowed now). */
  readonly retryAfterMs: number;
  /** Milliseconds until the window is whole again (a bucket full, a fixed window closed). */
  readonly resetMs: number;
  /** The window's length (`perMs`). */
  readonly windowMs: number;
}

/** What a destination's emulator tells the kit about its API. */
export interface ApiContract {
  /** The API's answer to missing or wrong credentials, or undefined when the request may pass. */
  authenticate(request: EmulatorRequest): EmulatorReply | undefined;
  /**
   * The API's 429, with its headers. `state` is the window that refused the request (when several did, the one
   * that frees up last); `windows` every window of the limit, in the order they were given.
   */
  tooManyRequests(state: RateLimitState, windows: readonly RateLimitState[]): EmulatorReply;
  /** The API's answer to an internal failure. */
  serverError(status: number): EmulatorReply;
  /**
   * Rate headers the API puts on every answer (e.g. X-RateLimit-Remaining), if any. `state` is the tightest window
   * after this request (fewest requests left; on a tie, the one that resets last); `windows` all of them.
   */
  rateHeaders?(state: RateLimitState, windows: readonly RateLimitState[]): Readonly<Record<string, string>>;
  /**
   * Which rate quota a request counts against, when the API keeps one per endpoint (Klaviyo). Requests of the same
   * scope share the windows of the limit; absent, every request shares one quota.
   */
  rateScope?(request: EmulatorRequest): string;
  /** Answers a request that passed the checks. May change `store`. */
  handle(request: EmulatorRequest, store: RecordStore): EmulatorReply | Promise<EmulatorReply>;
}

/** What the kit did with an API request: answered with a status, or cut the connection (`hang`, `reset`). */
export type Answer = number | 'hang' | 'reset';

/** Sees every API request with its answer, once answered (control requests excepted). */
export type AnswerObserver = (request: EmulatorRequest, answer: Answer) => void;

/**
 * One request and the emulator's answer, as the wire carried them (bodies parsed when JSON): what the contract suite
 * checks against the vendor's published schema.
 */
export interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** The request body: parsed JSON, else the text (a CSV upload), undefined when empty. */
  readonly request: unknown;
  readonly status: number;
  /** The answer's body: the value the emulator answered (JSON-shaped), a string, or undefined. */
  readonly response: unknown;
}

export interface EmulatorServerOptions {
  readonly rateLimit?: RateLimit | undefined;
  readonly faults?: FaultPlan | undefined;
  /** Port to listen on (0: any free port). */
  readonly port?: number;
  /** Milliseconds of a monotonic clock, for the rate limit (default performance.now): tests move time themselves. */
  readonly clock?: () => number;
  /**
   * Largest request line and headers accepted, in bytes (Node's default: 16 KiB), for APIs whose clients send data
   * in the URL (Meta's removals).
   */
  readonly maxHeaderSize?: number;
}

/** Records per object, by key, as the emulated API holds them; and how many times each key was created. */
export class RecordStore {
  readonly #objects = new Map<string, Map<string, Record<string, unknown>>>();
  readonly #creations = new Map<string, number>();

  object(name: string): Map<string, Record<string, unknown>> {
    let found = this.#objects.get(name);
    if (!found) this.#objects.set(name, (found = new Map()));
    return found;
  }

  /** Counts a creation of `key` in `object`: a key created twice is a duplicate the API now holds. */
  created(object: string, key: string): void {
    const id = `${object}\u0000${key}`;
    this.#creations.set(id, (this.#creations.get(id) ?? 0) + 1);
  }

  /** Keys created more than once, by object. */
  duplicates(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [id, count] of this.#creations) {
      if (count < 2) continue;
      const [object, key] = id.split('\u0000') as [string, string];
      (out[object] ??= []).push(key);
    }
    return out;
  }

  snapshot(): EmulatorState['objects'] {
    const out: Record<string, Record<string, Record<string, unknown>>> = {};
    for (const [name, records] of this.#objects) out[name] = Object.fromEntries(records);
    return out;
  }

  clear(): void {
    this.#objects.clear();
    this.#creations.clear();
  }

  /** Loads what `snapshot()` returned (a saved sandbox session). */
  load(objects: EmulatorState['objects']): void {
    for (const [name, records] of Object.entries(objects)) {
      const target = this.object(name);
      for (const [key, record] of Object.entries(records)) target.set(key, { ...record });
    }
  }
}

/** One window's count: whether a request may pass now, and taking it. */
interface RateWindow {
  peek(now: number): RateLimitState;
  take(now: number): RateLimitState;
}

class TokenBucketWindow implements RateWindow {
  #tokens: number;
  #last: number;
  constructor(
    private readonly spec: RateLimitSpec,
    now: number,
  ) {
    this.#tokens = spec.requests;
    this.#last = now;
  }

  peek(now: number): RateLimitState {
    const perMs = this.spec.requests / this.spec.perMs;
    this.#tokens = Math.min(this.spec.requests, this.#tokens + (now - this.#last) * perMs);
    this.#last = now;
    return {
      limit: this.spec.requests,
      remaining: Math.floor(this.#tokens),
      retryAfterMs: this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / perMs),
      resetMs: Math.ceil((this.spec.requests - this.#tokens) / perMs),
      windowMs: this.spec.perMs,
    };
  }

  take(now: number): RateLimitState {
    this.peek(now);
    this.#tokens -= 1;
    return { ...this.peek(now), retryAfterMs: 0 };
  }
}

class FixedWindow implements RateWindow {
  #opened: number | undefined;
  #count = 0;
  constructor(private readonly spec: RateLimitSpec) {}

  peek(now: number): RateLimitState {
    if (this.#opened === undefined || now >= this.#opened + this.spec.perMs) {
      this.#opened = undefined;
      this.#count = 0;
    }
    const resetMs = this.#opened === undefined ? 0 : Math.ceil(this.#opened + this.spec.perMs - now);
    const remaining = this.spec.requests - this.#count;
    return { limit: this.spec.requests, remaining, retryAfterMs: remaining >= 1 ? 0 : resetMs, resetMs, windowMs: this.spec.perMs };
  }

  take(now: number): RateLimitState {
    this.peek(now);
    this.#opened ??= now;
    this.#count++;
    return this.peek(now);
  }
}

/**
 * The windows of one rate limit, enforced together: a request passes only when every window has room, and then
 * counts in each; a refused request counts in none.
 */
export class RateLimiter {
  readonly #windows: readonly RateWindow[];
  constructor(
    limit: RateLimit,
    private readonly clock: () => number = () => performance.now(),
  ) {
    const specs: readonly RateLimitSpec[] = Array.isArray(limit) ? limit : [limit as RateLimitSpec];
    if (!specs.length) throw new Error('a rate limit needs at least one window');
    const now = clock();
    this.#windows = specs.map((spec) => (spec.algorithm === 'fixed-window' ? new FixedWindow(spec) : new TokenBucketWindow(spec, now)));
  }

  /**
   * Takes one request if every window allows it. `state` is, when refused, the refusing window that frees up last
   * (its `retryAfterMs` is the wait); when allowed, the tightest window after the request.
   */
  take(): { readonly ok: boolean; readonly state: RateLimitState; readonly windows: readonly RateLimitState[] } {
    const now = this.clock();
    const seen = this.#windows.map((w) => w.peek(now));
    const refusing = seen.filter((s) => s.retryAfterMs > 0);
    if (refusing.length) return { ok: false, state: refusing.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a)), windows: seen };
    const windows = this.#windows.map((w) => w.take(now));
    const state = windows.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetMs > a.resetMs) ? b : a));
    return { ok: true, state, windows };
  }
}

export class EmulatorServer implements Emulator {
  readonly store = new RecordStore();
  readonly faults = new FaultInjector();
  /** Answers given, by status; `hang` and `reset` for cut connections. */
  readonly answered = new Map<string, number>();
  #limit: RateLimit | undefined;
  /** One limiter per rate scope (`ApiContract.rateScope`), created on the scope's first request. */
  readonly #limiters = new Map<string, RateLimiter>();
  readonly #clock: () => number;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #observers = new Set<AnswerObserver>();
  #exchanges: Exchange[] | undefined;
  #firstOk: number | undefined;
  #lastOk: number | undefined;

  private constructor(
    private readonly server: Server,
    private readonly api: ApiContract,
    readonly endpoint: string,
    options: EmulatorServerOptions,
  ) {
    this.#clock = options.clock ?? (() => performance.now());
    this.setRateLimit(options.rateLimit);
    this.faults.plan(options.faults);
  }

  /** Starts listening on 127.0.0.1 (never another interface: emulators are for this machine only). */
  static async start(api: ApiContract, options: EmulatorServerOptions = {}): Promise<EmulatorServer> {
    let emulator: EmulatorServer | undefined;
    const server = createServer({ maxHeaderSize: options.maxHeaderSize }, (req, res) => {
      void emulator!.#serve(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(error) }));
      });
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    emulator = new EmulatorServer(server, api, `http://127.0.0.1:${port}`, options);
    return emulator;
  }

  /** The records, for the next sandbox session (`Emulator.save`). */
  async save(): Promise<unknown> {
    return { objects: this.store.snapshot() };
  }

  /** Loads what `save()` returned in an earlier sandbox session; nothing when undefined. */
  restore(saved: unknown): void {
    const objects = (saved as { objects?: EmulatorState['objects'] } | undefined)?.objects;
    if (objects) this.store.load(objects);
  }

  /** Replaces the rate limit; every scope starts with its windows whole. */
  setRateLimit(limit: RateLimit | undefined): void {
    this.#limit = limit;
    this.#limiters.clear();
  }

  /** Requests answered with `status` (a number, or `hang` / `reset`). */
  count(status: number | 'hang' | 'reset'): number {
    return this.answered.get(String(status)) ?? 0;
  }

  /** When the first and the last successful (2xx) answers were given (performance.now()), for throughput. */
  okWindow(): { first: number; last: number } | undefined {
    return this.#firstOk === undefined || this.#lastOk === undefined ? undefined : { first: this.#firstOk, last: this.#lastOk };
  }

  /**
   * Calls `observer` with every API request and its answer from now on (a test counting which records were sent
   * how often, say); returns the function that stops it.
   */
  observe(observer: AnswerObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /**
   * Keeps every API request answered from now on with its answer (faults and cut connections are not answers);
   * returns the function that reads them. For the contract suite's schema checks.
   */
  recordExchanges(): () => readonly Exchange[] {
    this.#exchanges ??= [];
    const exchanges = this.#exchanges;
    return () => exchanges;
  }

  /** Every API request answered so far, whatever the status. */
  get requests(): number {
    let total = 0;
    for (const n of this.answered.values()) total += n;
    return total;
  }

  async state(): Promise<EmulatorState> {
    return { objects: this.store.snapshot(), requests: Object.fromEntries(this.answered) };
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/_emulator/')) return this.#control(url.pathname, body, res);
    const request: EmulatorRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body };

    const fault = this.faults.draw(request);
    if (fault && fault.kind !== 'status') return this.#cut(fault, request, res);
    if (fault) return this.#reply(request, res, fault.status === 429 ? this.api.tooManyRequests(forcedLimit(fault.retryAfterMs ?? 1000), [forcedLimit(fault.retryAfterMs ?? 1000)]) : this.api.serverError(fault.status));

    const denied = this.api.authenticate(request);
    if (denied) return this.#reply(request, res, denied);
    const taken = this.#limiter(request)?.take();
    if (taken && !taken.ok) return this.#reply(request, res, this.api.tooManyRequests(taken.state, taken.windows));
    const reply = await this.api.handle(request, this.store);
    const extra = taken && this.api.rateHeaders ? this.api.rateHeaders(taken.state, taken.windows) : {};
    return this.#reply(request, res, { ...reply, headers: { ...extra, ...reply.headers } });
  }

  #limiter(request: EmulatorRequest): RateLimiter | undefined {
    if (!this.#limit) return undefined;
    const scope = this.api.rateScope?.(request) ?? '';
    let limiter = this.#limiters.get(scope);
    if (!limiter) this.#limiters.set(scope, (limiter = new RateLimiter(this.#limit, this.#clock)));
    return limiter;
  }

  async #cut(fault: Exclude<Fault, { kind: 'status' }>, request: EmulatorRequest, res: ServerResponse): Promise<void> {
    if (fault.kind === 'reset') {
      this.#tally(request, 'reset');
      res.socket?.destroy();
      return;
    }
    if (fault.processed) await this.api.handle(request, this.store);
    this.#tally(request, 'hang');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, fault.ms);
      this.#timers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        resolve();
      });
    });
    res.socket?.destroy();
  }

  #reply(request: EmulatorRequest, res: ServerResponse, reply: EmulatorReply): void {
    this.#tally(request, reply.status);
    this.#exchanges?.push({ method: request.method, path: request.path, query: request.query, headers: request.headers, request: bodyValue(request.body), status: reply.status, response: reply.status === 204 ? undefined : reply.body });
    if (reply.status >= 200 && reply.status < 300) {
      this.#lastOk = performance.now();
      this.#firstOk ??= this.#lastOk;
    }
    const raw = reply.body === undefined || reply.status === 204 ? undefined : typeof reply.body === 'string' || Buffer.isBuffer(reply.body) ? reply.body : JSON.stringify(reply.body);
    const type = raw !== undefined && !(typeof reply.body === 'string' || Buffer.isBuffer(reply.body)) ? { 'content-type': 'application/json' } : {};
    res.writeHead(reply.status, { ...type, ...reply.headers });
    res.end(raw);
  }

  #tally(request: EmulatorRequest, answer: Answer): void {
    const key = String(answer);
    this.answered.set(key, (this.answered.get(key) ?? 0) + 1);
    for (const observer of this.#observers) observer(request, answer);
  }

  /** `GET /_emulator/state`, `POST /_emulator/faults` (a FaultPlan, or `null` to stop), `POST /_emulator/reset`. */
  async #control(path: string, body: Buffer, res: ServerResponse): Promise<void> {
    const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (path === '/_emulator/state') return void json(200, { ...(await this.state()), duplicates: this.store.duplicates() });
    if (path === '/_emulator/faults') {
      this.faults.plan((JSON.parse(body.toString() || 'null') as FaultPlan | null) ?? undefined);
      return void json(200, { ok: true });
    }
    if (path === '/_emulator/reset') {
      this.store.clear();
      this.answered.clear();
      return void json(200, { ok: true });
    }
    json(404, { error: `unknown control path ${path}` });
  }
}

function forcedLimit(retryAfterMs: number): RateLimitState {
  return { limit: 0, remaining: 0, retryAfterMs, resetMs: retryAfterMs, windowMs: retryAfterMs };
}

function bodyValue(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Reads an emulator's state over its control endpoint (for tests whose emulator runs in another process). */
/**
 * Base of the HTTP emulators: where they listen, what they hold, what they keep for the next sandbox session and
 * how they stop are their EmulatorServer's. Subclasses add what their tests read (credentials, records, stats).
 */
export abstract class ServerEmulator implements Emulator {
  constructor(readonly server: EmulatorServer) {}

  get endpoint(): string {
    return this.server.endpoint;
  }

  state(): Promise<EmulatorState> {
    return this.server.state();
  }

  save(): Promise<unknown> {
    return this.server.save();
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

export async function fetchEmulatorState(endpoint: string): Promise<EmulatorState & { duplicates: Record<string, string[]> }> {
  const response = await fetch(`${endpoint}/_emulator/state`);
  return (await response.json()) as EmulatorState & { duplicates: Record<string, string[]> };
}
