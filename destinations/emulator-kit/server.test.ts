import { afterEach, describe, expect, it } from 'vitest';
import { EmulatorServer, RateLimiter, type ApiContract, type RateLimitState } from './server.js';

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

function takeMany(limiter: RateLimiter, n: number): number {
  let passed = 0;
  for (let i = 0; i < n; i++) if (limiter.take().ok) passed++;
  return passed;
}

describe('the emulator kit rate limiter', () => {
  it('one token bucket: a burst of `requests`, refilled at `requests` per `perMs`', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ requests: 4, perMs: 400 }, clock.now);
    expect(takeMany(limiter, 4)).toBe(4);
    const refused = limiter.take();
    expect(refused).toMatchObject({ ok: false, state: { limit: 4, remaining: 0, retryAfterMs: 100, resetMs: 400, windowMs: 400 } });
    clock.advance(100);
    expect(limiter.take()).toMatchObject({ ok: true, state: { remaining: 0, retryAfterMs: 0 } });
    clock.advance(1_000);
    expect(limiter.take().state).toMatchObject({ remaining: 3, resetMs: 100 });
  });

  it('several fixed windows at once: refused by whichever is spent, for as long as it stays spent', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(
      [
        { requests: 10, perMs: 1_000, algorithm: 'fixed-window' },
        { requests: 150, perMs: 60_000, algorithm: 'fixed-window' },
      ],
      clock.now,
    );
    // The burst window: 10 pass, the 11th within the second waits for the second's end.
    expect(takeMany(limiter, 10)).toBe(10);
    clock.advance(300);
    const burst = limiter.take();
    expect(burst.ok).toBe(false);
    expect(burst.state).toMatchObject({ limit: 10, remaining: 0, retryAfterMs: 700, windowMs: 1_000 });
    // Refused requests count in no window.
    expect(burst.windows.map((w) => w.remaining)).toEqual([0, 140]);
    // 14 more seconds of full bursts: 150 in all, then the steady window refuses until the minute is over.
    for (let second = 1; second < 15; second++) {
      clock.advance(1_000);
      expect(takeMany(limiter, 10)).toBe(10);
    }
    clock.advance(1_000);
    const steady = limiter.take();
    expect(steady.ok).toBe(false);
    expect(steady.state).toMatchObject({ limit: 150, remaining: 0, windowMs: 60_000, retryAfterMs: 60_000 - 15_300 });
    clock.advance(steady.state.retryAfterMs - 1);
    expect(limiter.take().ok).toBe(false);
    clock.advance(1);
    expect(limiter.take()).toMatchObject({ ok: true, windows: [{ remaining: 9 }, { remaining: 149, resetMs: 60_000 }] });
  });

  it('a request allowed by every window is described by the tightest one (fewest left, then the later reset)', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(
      [
        { requests: 3, perMs: 100, algorithm: 'fixed-window' },
        { requests: 5, perMs: 1_000, algorithm: 'fixed-window' },
      ],
      clock.now,
    );
    expect(limiter.take().state).toMatchObject({ limit: 3, remaining: 2 });
    expect(limiter.take().state).toMatchObject({ limit: 3, remaining: 1 });
    clock.advance(100);
    // Both have 2 left: the one that resets last is the tighter.
    expect(limiter.take().state).toMatchObject({ limit: 5, remaining: 2, windowMs: 1_000 });
    clock.advance(100);
    expect(limiter.take().state).toMatchObject({ limit: 5, remaining: 1 });
    expect(limiter.take().state).toMatchObject({ limit: 5, remaining: 0 });
    // Refused by the window that is spent, for the rest of it.
    expect(limiter.take()).toMatchObject({ ok: false, state: { limit: 5, retryAfterMs: 800 } });
  });
});

describe('the emulator server with a rate limit', () => {
  let server: EmulatorServer | undefined;
  afterEach(() => server?.close());

  const api = (seen: RateLimitState[][]): ApiContract => ({
    authenticate: () => undefined,
    tooManyRequests: (state) => ({ status: 429, headers: { 'retry-after': String(Math.ceil(state.retryAfterMs / 1000)) } }),
    serverError: (status) => ({ status }),
    rateHeaders: (state, windows) => {
      seen.push([...windows]);
      return { 'x-limit': String(state.limit), 'x-remaining': String(state.remaining) };
    },
    rateScope: (request) => request.path.split('/')[1] ?? '',
    handle: () => ({ status: 200, body: { ok: true } }),
  });

  it('keeps one quota per rate scope, and answers 429 with the refusing window', async () => {
    const clock = manualClock();
    const seen: RateLimitState[][] = [];
    server = await EmulatorServer.start(api(seen), {
      rateLimit: [
        { requests: 2, perMs: 1_000, algorithm: 'fixed-window' },
        { requests: 3, perMs: 60_000, algorithm: 'fixed-window' },
      ],
      clock: clock.now,
    });
    const get = async (path: string) => {
      const response = await fetch(`${server!.endpoint}${path}`);
      return { status: response.status, retryAfter: response.headers.get('retry-after'), remaining: response.headers.get('x-remaining'), limit: response.headers.get('x-limit') };
    };
    expect(await get('/a')).toMatchObject({ status: 200, limit: '2', remaining: '1' });
    expect(await get('/a')).toMatchObject({ status: 200, limit: '2', remaining: '0' });
    expect(await get('/a')).toMatchObject({ status: 429, retryAfter: '1' });
    // Another scope has its own windows.
    expect(await get('/b')).toMatchObject({ status: 200, remaining: '1' });
    clock.advance(1_000);
    expect(await get('/a')).toMatchObject({ status: 200, limit: '3', remaining: '0' });
    clock.advance(1_000);
    expect(await get('/a')).toMatchObject({ status: 429, retryAfter: '58' });
    expect(seen.at(-1)!.map((w) => w.windowMs)).toEqual([1_000, 60_000]);
    expect(server.count(429)).toBe(2);
  });
});

describe('the emulator server with faults', () => {
  let server: EmulatorServer | undefined;
  afterEach(() => server?.close());

  const api: ApiContract = {
    authenticate: () => undefined,
    tooManyRequests: () => ({ status: 429 }),
    serverError: (status) => ({ status }),
    handle: () => ({ status: 200, body: { ok: true } }),
  };

  it('a plan limited to one method and path fails only those requests; an observer sees every answer', async () => {
    server = await EmulatorServer.start(api, { faults: { rate: 1, faults: [{ kind: 'status', status: 503 }], seed: 1, only: { method: 'POST', path: '/contacts' } } });
    const seen: string[] = [];
    const stop = server.observe((request, answer) => seen.push(`${request.method} ${request.path} ${answer}`));
    const call = async (method: string, path: string) => (await fetch(`${server!.endpoint}${path}`, { method, ...(method === 'POST' ? { body: '{}' } : {}) })).status;
    expect(await call('POST', '/contacts')).toBe(503);
    expect(await call('POST', '/contacts/batch')).toBe(200);
    expect(await call('GET', '/contacts')).toBe(200);
    expect(await call('POST', '/contacts')).toBe(503);
    stop();
    expect(await call('POST', '/contacts')).toBe(503);
    expect(seen).toEqual(['POST /contacts 503', 'POST /contacts/batch 200', 'GET /contacts 200', 'POST /contacts 503']);
    expect(server.faults.injected.get('status-503')).toBe(3);
  });
});
