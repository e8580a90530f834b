import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { redactor } from '../src/log/redact.js';
import { renewingToken, requestToken, sendWithToken, staticToken, type AccessTokenSource, type TokenGrant } from './credentials.js';
import { AuthError, TransientError } from './destination.js';

/**
 * The shared renewal mechanism against a real HTTP server on 127.0.0.1: an API that accepts one token at a time
 * (the last one issued, unless told otherwise) and a token endpoint that counts what it issues.
 */
class Api {
  valid = new Set<string>();
  seen: string[] = [];
  /** Requests wait until `release` is called (to have several in flight with the same token). */
  hold: Promise<void> | undefined;
  issued = 0;
  #server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      void (async () => {
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        this.seen.push(token);
        await this.hold;
        const ok = this.valid.has(token);
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? { ok: true, token } : { message: 'expired' }));
      })();
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}/thing`;
    return this;
  }

  /** A token endpoint for `renewingToken`: each call issues a new token, which replaces the old ones. */
  obtain = async (): Promise<TokenGrant> => {
    await new Promise((r) => setTimeout(r, 20));
    const token = `tok-${++this.issued}-${Math.random().toString(36).slice(2)}`;
    this.valid = new Set([token]);
    return { token };
  };

  close(): Promise<void> {
    this.#server?.closeAllConnections();
    return new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

const get = (url: string) => ({ method: 'GET' as const, url, signal: AbortSignal.timeout(5000) });

describe('sendWithToken and renewingToken', () => {
  let api: Api;
  afterEach(() => api.close());

  it('a 401 renews the token once and sends the request once more', async () => {
    api = await new Api().start();
    const source = renewingToken({ credential: '`refresh_token` of destination `sf`', obtain: api.obtain });
    const first = await sendWithToken(source, get(api.url));
    expect(first.status).toBe(200);
    expect(api.issued).toBe(1);
    api.valid.clear(); // the session ends
    const second = await sendWithToken(source, get(api.url));
    expect(second.status).toBe(200);
    expect(JSON.parse(second.text)).toMatchObject({ token: expect.stringMatching(/^tok-2-/) });
    expect(api.issued).toBe(2);
    expect(api.seen.map((t) => t.slice(0, 6))).toEqual(['tok-1-', 'tok-1-', 'tok-2-']);
  });

  it('a second 401 stops with an AuthError naming the credential, never a token; no third request', async () => {
    api = await new Api().start();
    const source = renewingToken({ credential: '`refresh_token` of destination `sf`', obtain: async () => ({ token: `never-valid-${++api.issued}` }) });
    const error = await sendWithToken(source, get(api.url)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toMatch(/`refresh_token` of destination `sf` \(401 twice\)/);
    expect((error as Error).message).not.toMatch(/never-valid/);
    expect(api.seen).toEqual(['never-valid-1', 'never-valid-2']);
  });

  it('a refused renewal is final: it stops with the credential named and the server is not asked again', async () => {
    api = await new Api().start();
    let asked = 0;
    const source = renewingToken({
      credential: '`refresh_token` of destination `sf`',
      obtain: async () => {
        asked++;
        throw new AuthError('getting an access token with `refresh_token` of destination `sf` failed: 400 invalid_grant');
      },
    });
    await expect(sendWithToken(source, get(api.url))).rejects.toThrow(/`refresh_token` of destination `sf` failed/);
    await expect(sendWithToken(source, get(api.url))).rejects.toBeInstanceOf(AuthError);
    await expect(source.renew(AbortSignal.timeout(1000))).rejects.toBeInstanceOf(AuthError);
    expect(asked).toBe(1);
    expect(api.seen).toEqual([]);
  });

  it('requests refused together share one renewal; one refused after it uses the new token without renewing', async () => {
    api = await new Api().start();
    const source = renewingToken({ credential: 'c', obtain: api.obtain });
    await sendWithToken(source, get(api.url));
    let release!: () => void;
    api.hold = new Promise((r) => (release = r));
    const inFlight = Array.from({ length: 8 }, () => sendWithToken(source, get(api.url)));
    const late = sendWithToken(source, get(api.url));
    while (api.seen.length < 10) await new Promise((r) => setTimeout(r, 5));
    api.valid.clear();
    release();
    api.hold = undefined;
    const answers = await Promise.all([...inFlight, late]);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // One token at the start, one renewal for the nine refused requests.
    expect(api.issued).toBe(2);
    expect(api.seen.filter((t) => t.startsWith('tok-2-'))).toHaveLength(9);
  });

  it('a token whose expiry is known is renewed a little ahead of it, so no request meets the 401', async () => {
    api = await new Api().start();
    let now = 1_000_000;
    const source = renewingToken({
      credential: 'c',
      now: () => now,
      obtain: async () => {
        const grant = await api.obtain();
        return { ...grant, expiresAt: now + 10_000 };
      },
    });
    await sendWithToken(source, get(api.url));
    now += 8_900; // a tenth of the life (1 s) before the end: still the same token
    await sendWithToken(source, get(api.url));
    expect(api.issued).toBe(1);
    now += 200; // within the margin: renewed before sending
    await sendWithToken(source, get(api.url));
    expect(api.issued).toBe(2);
    expect(api.seen.filter((t) => t.startsWith('tok-1-'))).toHaveLength(2);
    expect(api.seen).toHaveLength(3); // no 401, no retry
  });

  it('registers every token it obtains with the redactor', async () => {
    api = await new Api().start();
    const source = renewingToken({ credential: 'c', obtain: api.obtain });
    const token = await source.token(AbortSignal.timeout(1000));
    expect(redactor.scrub(`sent ${token}`)).toBe('sent ***');
  });

  it('a static token cannot renew: one 401 stops the sync naming the field', async () => {
    api = await new Api().start();
    const source: AccessTokenSource = staticToken('static-token-value', '`access_token` of destination `sf`');
    const error = await sendWithToken(source, get(api.url)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toMatch(/refused `access_token` of destination `sf` \(401\), which cannot be renewed/);
    expect((error as Error).message).not.toContain('static-token-value');
    expect(api.seen).toEqual(['static-token-value']);
  });
});

describe('requestToken', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const answering = async (status: number, body: unknown): Promise<{ url: string; forms: URLSearchParams[] }> => {
    const forms: URLSearchParams[] = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        forms.push(new URLSearchParams(Buffer.concat(chunks).toString()));
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, forms };
  };

  it('posts a form and answers the JSON of a 200', async () => {
    const { url, forms } = await answering(200, { access_token: 'a', expires_in: 1800 });
    expect(await requestToken(url, { grant_type: 'refresh_token', refresh_token: 'r' }, 'c', AbortSignal.timeout(2000))).toEqual({ access_token: 'a', expires_in: 1800 });
    expect(Object.fromEntries(forms[0]!)).toEqual({ grant_type: 'refresh_token', refresh_token: 'r' });
  });

  it('a refusal is an AuthError with the OAuth error, naming the credential and never the values sent', async () => {
    const { url } = await answering(400, { error: 'invalid_grant', error_description: 'expired access/refresh token' });
    const error = await requestToken(url, { refresh_token: 'secret-refresh-value' }, '`refresh_token` of destination `sf`', AbortSignal.timeout(2000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toMatch(/`refresh_token` of destination `sf` failed: POST 127\.0\.0\.1:\d+\/token answered 400 invalid_grant \(expired access\/refresh token\)/);
    expect((error as Error).message).not.toContain('secret-refresh-value');
  });

  it("HubSpot's own fields name the refusal when the OAuth ones are absent; a 5xx is transient", async () => {
    const { url } = await answering(400, { status: 'BAD_REFRESH_TOKEN', message: 'missing or invalid refresh token' });
    await expect(requestToken(url, {}, 'c', AbortSignal.timeout(2000))).rejects.toThrow(/400 BAD_REFRESH_TOKEN \(missing or invalid refresh token\)/);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const down = await answering(503, {});
    await expect(requestToken(down.url, {}, 'c', AbortSignal.timeout(2000))).rejects.toBeInstanceOf(TransientError);
  });
});
