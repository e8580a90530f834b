import { redactor } from '../../src/log/redact.js';
import { bearer, sendWithToken, type AccessTokenSource } from '../credentials.js';
import { BatchRejectedError, RateLimitedError, StopSyncError } from '../destination.js';
import { describeRequest, raiseForCommonStatus, retryAfterMs, scrubEmails, send, type HttpRequest, type HttpResponse } from '../http.js';

/**
 * The HTTP client of the API destinations: an adapter describes its vendor once (base URL, how it authenticates,
 * how it says "slow down" and "this is what went wrong") and then only calls `request`. Every answer goes through
 * the same steps, in this order:
 *
 * 1. no answer at all (network, timeout) → TransientError (in `send`); an answer the vendor means otherwise than its
 *    status (`classify`: Meta's codes, Salesforce's 403 for a spent daily allowance) → the error it names;
 * 2. a 429 → `rateLimit(response)`: the vendor's own wait (its rate headers, a daily quota that stops the sync),
 *    else Retry-After → RateLimitedError (the engine pauses every request, without spending a retry);
 * 3. 401/403 → AuthError, 408/5xx → TransientError, each with the vendor's error detail;
 * 4. 2xx, and the statuses the call `accept`s (a 404 that means "not there", Brevo's 400/404 naming indexes), are
 *    returned for the adapter to read;
 * 5. any other answer goes to `refused(response, what)` (the vendor's own meaning: StopSyncError for a wrong list,
 *    a whole-batch rejection with its code), by default a BatchRejectedError (`<vendor>_<status>`) that the engine
 *    splits down to the record.
 *
 * Messages name the method, host and path, never the query; the vendor's detail has e-mail addresses scrubbed and
 * every registered secret redacted.
 */
export interface ApiClientOptions {
  /** The vendor, in lower case: the user agent (`tideline-<vendor>`) and default error codes (`<vendor>_400`). */
  readonly vendor: string;
  /** The API root the paths are appended to. */
  readonly baseUrl: string;
  /** Headers of every request: an API key header, a version header. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Tokens that renew on a 401 (OAuth), sent as `authorize(token)` (default a Bearer header). */
  readonly tokens?: AccessTokenSource;
  readonly authorize?: (token: string) => Record<string, string>;
  /** The body's content type (default `application/json`); `accept` defaults to the same. */
  readonly contentType?: string;
  /** Time budget of one request in milliseconds, on top of the batch's signal. */
  readonly timeoutMs?: number;
  /** The vendor's wait for a 429, in milliseconds (undefined: Retry-After); may throw StopSyncError (a daily quota). */
  readonly rateLimit?: (response: HttpResponse) => number | undefined;
  /** The vendor's error message in an answer, for messages (scrubbed here). */
  readonly detail?: (response: HttpResponse) => string;
  /**
   * The error for an answer that is neither success, accepted, nor a common status (`what` names the request and
   * its status, with the detail); undefined leaves the default, a batch rejection `<vendor>_<status>`.
   */
  readonly refused?: (response: HttpResponse, what: string) => Error | undefined;
  /**
   * The vendor's own reading of an answer that is not 2xx, before every step after 1 (undefined: the usual steps):
   * for APIs whose error codes mean more than their statuses — Meta's codes and subcodes at any status, TikTok's
   * envelope codes, a 403 that asks for a permission rather than other credentials, a retired version's 404,
   * Salesforce's 403 REQUEST_LIMIT_EXCEEDED that stops the sync. `what` names the request, status and detail; an
   * Error returned is thrown as it is.
   */
  readonly classify?: (request: Pick<HttpRequest, 'method' | 'url'>, response: HttpResponse, what: string) => Error | undefined;
}

export interface CallOptions {
  /** Aborted when the batch's time budget is spent. */
  readonly signal: AbortSignal;
  /** A JSON body (serialised here) or a raw one (a CSV upload). */
  readonly body?: unknown;
  readonly raw?: string | Buffer;
  /** Statuses, other than 2xx, the caller reads itself. */
  readonly accept?: readonly number[];
  /** Query parameters, appended to the path. */
  readonly query?: Readonly<Record<string, string | number | readonly string[]>>;
  /** Headers of this request only (a CSV content type). */
  readonly headers?: Readonly<Record<string, string>>;
}

export class ApiClient {
  readonly #base: string;

  constructor(readonly options: ApiClientOptions) {
    this.#base = options.baseUrl.replace(/\/$/, '');
  }

  /** The full URL of a path (an absolute URL, such as a `next` link, is taken as it is). */
  url(path: string, query?: CallOptions['query']): string {
    const url = new URL(/^https?:\/\//.test(path) ? path : `${this.#base}${path}`);
    for (const [name, value] of Object.entries(query ?? {})) {
      for (const one of typeof value === 'object' ? value : [value]) url.searchParams.append(name, String(one));
    }
    return url.toString();
  }

  async request(method: HttpRequest['method'], path: string, call: CallOptions): Promise<HttpResponse> {
    const type = this.options.contentType ?? 'application/json';
    const body = call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
    const request: HttpRequest = {
      method,
      url: this.url(path, call.query),
      headers: { accept: type, 'user-agent': `tideline-${this.options.vendor}`, ...(body === undefined ? {} : { 'content-type': type }), ...this.options.headers, ...call.headers },
      ...(body === undefined ? {} : { body }),
      signal: this.options.timeoutMs ? AbortSignal.any([call.signal, AbortSignal.timeout(this.options.timeoutMs)]) : call.signal,
    };
    const response = this.options.tokens ? await sendWithToken(this.options.tokens, request, this.options.authorize ?? bearer) : await send(request);
    if (response.status >= 200 && response.status < 300) return response;
    const detail = scrubbed(this.options.detail?.(response) ?? '').slice(0, 500);
    const what = `${describeRequest(request)} answered ${response.status}${detail ? `: ${detail}` : ''}`;
    const classified = this.options.classify?.(request, response, what);
    if (classified) throw classified;
    if (response.status === 429) throw new RateLimitedError(what, this.options.rateLimit?.(response) ?? retryAfterMs(response.headers));
    raiseForCommonStatus(request, response, detail);
    if (call.accept?.includes(response.status)) return response;
    throw this.options.refused?.(response, what) ?? new BatchRejectedError(what, `${this.options.vendor}_${response.status}`);
  }

  /** `request`, then the JSON body of the answer (undefined when empty or not JSON). */
  async json<T>(method: HttpRequest['method'], path: string, call: CallOptions): Promise<T | undefined> {
    return parseJson<T>((await this.request(method, path, call)).text);
  }
}

/** The JSON of an answer, or undefined when it is empty or not JSON (an HTML error page, a cut body). */
export function parseJson<T>(text: string): T | undefined {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** An answer that stops the sync (a wrong object id, an endpoint that is not the API's), its message scrubbed. */
export function stopSync(message: string): StopSyncError {
  return new StopSyncError(scrubbed(message));
}

/** A vendor's text (a per-record error message) as it may be kept: e-mail addresses and registered secrets removed. */
export function scrubbed(text: string): string {
  return redactor.scrub(scrubEmails(text));
}
