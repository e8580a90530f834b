import { TokenBucket } from 'limiter';
import { TransientError } from '../../destinations/destination.js';

/**
 * The gate every request to one destination passes: a token bucket at the destination's request ceiling, and a
 * shared pause when the API answered 429 (Retry-After), so that every concurrent request waits — not only the one
 * that was refused. One gate per destination entry, shared by the syncs of a run that use it.
 */
export class RateGate {
  readonly #bucket: TokenBucket | undefined;
  #pauseUntil = 0;

  constructor(readonly requestsPerSecond: number | null) {
    this.#bucket = requestsPerSecond ? new TokenBucket({ bucketSize: gateBurst(requestsPerSecond), tokensPerInterval: requestsPerSecond, interval: 1000 }) : undefined;
  }

  /** Waits until a request may go out. */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.#pauseUntil - Date.now();
      if (wait > 0) {
        await sleep(wait, signal);
        continue;
      }
      if (this.#bucket) await this.#bucket.removeTokens(1);
      // A 429 may have paused the destination while this request waited for its token.
      if (this.#pauseUntil <= Date.now() || signal?.aborted) return;
    }
  }

  /** Holds every request for `ms` from now (at least). */
  pause(ms: number): void {
    this.#pauseUntil = Math.max(this.#pauseUntil, Date.now() + ms);
  }
}

/**
 * The requests a gate lets out at once after a pause: a fifth of a second's worth (at least one), which absorbs timer
 * jitter. Over any window of T seconds a gate lets out at most `gateBurst(r) + r·T` requests: a destination's pace
 * must leave that room under each of the API's windows (tested per destination where windows are documented).
 */
export function gateBurst(requestsPerSecond: number): number {
  return Math.max(1, Math.ceil(requestsPerSecond / 5));
}

/** Full-jitter exponential backoff: a random wait in [0, min(maxMs, baseMs · 2^attempt)]. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `work`, or a TransientError when it has not settled within `ms` (the timer never outlives the race). */
export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TransientError(`no answer within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
