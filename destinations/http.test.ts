import { describe, expect, it } from 'vitest';
import { AuthError, RateLimitedError, TransientError } from './destination.js';
import { describeRequest, raiseForCommonStatus, retryAfterMs, scrubEmails, send } from './http.js';

const request = { method: 'POST', url: 'http://127.0.0.1:1/hook?token=abcdef123' } as const;
const response = (status: number, headers: Record<string, string> = {}) => ({ status, headers: new Headers(headers), text: '' });

describe('http helpers shared by destinations', () => {
  it('scrubEmails takes out every address an API message quotes, malformed ones included', () => {
    expect(scrubEmails('Email address x@@y.com is invalid; [{"message":"Email address Ann.O\'Neil+news@example.co.uk is invalid"}], a@b, 50% off')).toBe(
      'Email address <email> is invalid; [{"message":"Email address <email> is invalid"}], <email>, 50% off',
    );
  });

  it('never names the query string, which may hold a token', () => {
    expect(describeRequest(request)).toBe('POST 127.0.0.1:1/hook');
  });

  it('maps the statuses every API shares to typed errors', () => {
    expect(() => raiseForCommonStatus(request, response(401))).toThrow(AuthError);
    expect(() => raiseForCommonStatus(request, response(403))).toThrow(AuthError);
    expect(() => raiseForCommonStatus(request, response(500))).toThrow(TransientError);
    expect(() => raiseForCommonStatus(request, response(408))).toThrow(TransientError);
    const limited = (() => {
      try {
        raiseForCommonStatus(request, response(429, { 'retry-after': '3' }));
      } catch (error) {
        return error;
      }
    })();
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterMs).toBe(3000);
    expect(raiseForCommonStatus(request, response(400)).status).toBe(400);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '1.5' }))).toBe(1500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }), now)).toBe(10_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });

  it('turns a refused connection into a TransientError', async () => {
    await expect(send({ ...request, signal: AbortSignal.timeout(2000) })).rejects.toBeInstanceOf(TransientError);
  });
});
