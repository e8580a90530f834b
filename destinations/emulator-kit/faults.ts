/**
 * Fault injection for emulators: a share of requests fails the way real APIs fail, chosen by a seeded generator so a
 * failing test replays exactly. Tests may also queue faults for the next requests, one by one.
 */
export type Fault =
  /** Answer with this status in the API's own format (429 carries the API's retry headers). */
  | { readonly kind: 'status'; readonly status: 429 | 500 | 502 | 503; readonly retryAfterMs?: number }
  /**
   * Hold the connection for `ms`, then cut it without an answer. `processed`: the request took effect before the
   * hang (the client cannot tell, which is what makes retries dangerous for non-idempotent writes).
   */
  | { readonly kind: 'hang'; readonly ms: number; readonly processed: boolean }
  /** Cut the connection at once, unprocessed. */
  | { readonly kind: 'reset' };

export interface FaultPlan {
  /** Share of API requests that fail, in [0, 1]. */
  readonly rate: number;
  /** Faults to draw from, uniformly. */
  readonly faults: readonly Fault[];
  readonly seed: number;
  /**
   * Only requests with this method and path may fail (the others never draw), e.g. the single-record creates of an
   * API that also has batch endpoints. Default: every API request.
   */
  readonly only?: { readonly method?: string; readonly path?: string };
}

/** What a fault plan looks at in a request. */
export interface FaultTarget {
  readonly method: string;
  readonly path: string;
}

/** mulberry32: small, fast, good enough to pick faults reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  #plan: FaultPlan | undefined;
  #random: () => number = Math.random;
  readonly #queue: Fault[] = [];
  /** Faults injected so far, by kind (`status-429`, `hang`, `reset`…). */
  readonly injected = new Map<string, number>();

  /** Fails a share of requests from now on; `undefined` stops. */
  plan(plan: FaultPlan | undefined): void {
    if (plan && (plan.rate < 0 || plan.rate > 1 || plan.faults.length === 0)) throw new RangeError('a fault plan needs a rate in [0, 1] and at least one fault');
    this.#plan = plan;
    this.#random = plan ? seededRandom(plan.seed) : Math.random;
  }

  /** Fails the next requests with these faults, in order, before any plan applies. */
  queue(...faults: Fault[]): void {
    this.#queue.push(...faults);
  }

  /** The fault for the request being answered, if any. Queued faults apply to whatever request comes next. */
  draw(request?: FaultTarget): Fault | undefined {
    const fault = this.#queue.shift() ?? this.#fromPlan(request);
    if (fault) {
      const name = fault.kind === 'status' ? `status-${fault.status}` : fault.kind === 'hang' ? `hang-${fault.processed ? 'after' : 'before'}` : fault.kind;
      this.injected.set(name, (this.injected.get(name) ?? 0) + 1);
    }
    return fault;
  }

  #fromPlan(request: FaultTarget | undefined): Fault | undefined {
    const plan = this.#plan;
    if (!plan) return undefined;
    if (plan.only && (!request || (plan.only.method !== undefined && plan.only.method !== request.method) || (plan.only.path !== undefined && plan.only.path !== request.path))) return undefined;
    if (this.#random() >= plan.rate) return undefined;
    return plan.faults[Math.floor(this.#random() * plan.faults.length)];
  }
}
