import { redactor } from '../src/log/redact.js';
import { AuthError, RateLimitedError, TransientError } from './destination.js';

/**
 * The HTTP plumbing every API destination shares: one request with the batch's abort signal, network failures and
 * timeouts turned into TransientError, and the statuses every API means the same way turned into the typed errors
 * (401/403 → AuthError, 429 → RateLimitedError with Retry-After, 408/5xx → TransientError). What a 400 or a 200
 * with errors inside means is the destination's own business.
 */
export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  readonly signal: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** What a request is, for messages: method, host and path, never the query (it may hold a token). */
export function describeRequest(request: Pick<HttpRequest, 'method' | 'url'>): string {
  try {
    const url = new URL(request.url);
    return `${request.method} ${url.host}${url.pathname}`;
  } catch {
    return request.method;
  }
}

/** Sends a request; a failure to get any response is a TransientError (the engine retries it). */
export async function send(request: HttpRequest): Promise<HttpResponse> {
  const what = describeRequest(request);
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: request.signal,
    });
  } catch (error) {
    throw new TransientError(redactor.scrub(`${what}: ${request.signal.aborted ? 'timed out' : networkReason(error)}`));
  }
  try {
    return { status: response.status, headers: response.headers, text: await response.text() };
  } catch (error) {
    throw new TransientError(redactor.scrub(`${what}: ${request.signal.aborted ? 'timed out reading the response' : `response cut off (${networkReason(error)})`}`));
  }
}

/** Throws the typed error for the statuses that mean the same on every API; returns the response otherwise. */
export function raiseForCommonStatus(request: Pick<HttpRequest, 'method' | 'url'>, response: HttpResponse, detail = ''): HttpResponse {
  const what = `${describeRequest(request)} answered ${response.status}${detail ? `: ${detail}` : ''}`;
  if (response.status === 401 || response.status === 403) throw new AuthError(redactor.scrub(`${what} (check the destination's credentials and their scopes)`));
  if (response.status === 429) throw new RateLimitedError(redactor.scrub(what), retryAfterMs(response.headers));
  if (response.status === 408 || response.status >= 500) throw new TransientError(redactor.scrub(what));
  return response;
}

/**
 * `text` with every e-mail address replaced by `<email>`. APIs quote the values they refuse ("Email address … is
 * invalid"); an address is personal data, and such messages end up in logs and in the state's rejected records.
 * Anything holding an `@` between non-separators is taken for one, malformed ones (`x@@y.com`) included.
 */
export function scrubEmails(text: string): string {
  return text.replace(/[^\s"<>,;:()[\]{}\\]*@[^\s"<>,;:()[\]{}\\]*/g, '<email>');
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
