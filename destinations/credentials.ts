import { redactor } from '../src/log/redact.js';
import { AuthError, TransientError } from './destination.js';
import { describeRequest, send, type HttpRequest, type HttpResponse } from './http.js';

/**
 * Credentials that renew. OAuth access tokens live about an hour (HubSpot's 30 minutes), so a nightly run that
 * outlives one must get another on its own: an HTTP destination sends each request through `sendWithToken`, which
 * asks its token source for a token, and after a 401 has the source renew once and sends that request again once. A
 * renewal that is refused, or a second 401, stops the sync with an AuthError naming the credential (its config
 * field and destination), never its value. Tokens are registered as secrets, so logs and artifacts mask them, and
 * they live in memory only: nothing here is written to the sync state.
 */
export interface AccessTokenSource {
  /** A token valid now (a cached one, renewed ahead of its expiry when the source knows it). */
  token(signal: AbortSignal): Promise<string>;
  /**
   * Forgets the cached token and gets a new one (after a 401). Throws AuthError when it cannot. Calls made while a
   * renewal is under way share it: a source renews once however many requests were refused together.
   */
  renew(signal: AbortSignal): Promise<string>;
  /** What to name in messages: the config field and the destination (`refresh_token` of destination `sf`). */
  readonly credential?: string;
}

/** How a destination names one of its credentials in messages: the field, and the destination when known. */
export function credentialName(field: string, destination: string | undefined, type: string): string {
  return destination === undefined ? `\`${field}\` of the ${type} destination` : `\`${field}\` of destination \`${destination}\``;
}

/** A token given as it is (`access_token:` in the config): it cannot renew, so a 401 stops the sync. */
export function staticToken(token: string, field: string): AccessTokenSource {
  return {
    credential: field,
    token: async () => token,
    renew: async () => {
      throw new AuthError(`the destination refused ${field} (401), which cannot be renewed: give credentials that renew (a refresh token or a key), or a new ${field}`);
    },
  };
}

/** A token obtained from an authorization server, with its expiry when the server tells it. */
export interface TokenGrant {
  readonly token: string;
  /** When it stops being valid (milliseconds since the epoch); undefined when the server does not say. */
  readonly expiresAt?: number | undefined;
}

export interface RenewingTokenOptions {
  /** Named in messages (see `credentialName`). */
  readonly credential: string;
  /**
   * Asks the authorization server for a token. Throws AuthError when the server refuses (a revoked refresh token, a
   * key it does not know), TransientError when it cannot be reached or fails (5xx): a refusal is remembered and
   * never asked again this run; a transient failure is, by the engine's retries.
   */
  obtain(signal: AbortSignal): Promise<TokenGrant>;
  /**
   * How long before its expiry a token is renewed ahead: a request must not leave with a token that dies on its way.
   * Default: a tenth of the token's life, at most a minute (HubSpot's 30 minutes: renewed a minute early).
   */
  readonly marginMs?: (lifetimeMs: number) => number;
  /** Time budget of one request to the authorization server (default 30 s). */
  readonly timeoutMs?: number;
  /** The clock (tests move time themselves). */
  readonly now?: () => number;
}

/**
 * An AccessTokenSource on top of a token endpoint: one token at a time, cached; every token it obtains is
 * registered with the redactor before anyone can see it. Requests that need a token while one is being obtained
 * wait for that one (no renewal storm), and a refusal by the server is final for the run: later calls rethrow it
 * without asking again, so a sync whose credential was revoked stops after one attempt.
 */
export function renewingToken(options: RenewingTokenOptions): AccessTokenSource {
  const now = options.now ?? Date.now;
  const margin = options.marginMs ?? ((lifetime) => Math.min(60_000, lifetime / 10));
  let current: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let refused: AuthError | undefined;

  // One request to the server serves every caller waiting for it, so it runs on its own time budget rather than on
  // the signal of whichever caller started it.
  const obtain = (): Promise<string> => {
    if (refused) return Promise.reject(refused);
    pending ??= (async () => {
      const obtainedAt = now();
      try {
        const grant = await options.obtain(AbortSignal.timeout(options.timeoutMs ?? 30_000));
        redactor.add(grant.token);
        const renewAt = grant.expiresAt === undefined ? Number.POSITIVE_INFINITY : grant.expiresAt - margin(Math.max(0, grant.expiresAt - obtainedAt));
        current = { token: grant.token, renewAt };
        return grant.token;
      } catch (error) {
        if (error instanceof AuthError) refused = error;
        throw error;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  return {
    credential: options.credential,
    token: () => {
      if (refused) return Promise.reject(refused);
      if (current && now() < current.renewAt) return Promise.resolve(current.token);
      return obtain();
    },
    renew: () => {
      if (!pending) current = undefined;
      return obtain();
    },
  };
}

/** `Authorization: Bearer <token>`, the header of every OAuth API here. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/**
 * Sends `request` with a token from `source` (in the headers `authorize` makes of it). A 401 makes the source renew
 * once — unless another request renewed it meanwhile, whose token is then used — and the request is sent again
 * once; a second 401 is an AuthError naming the credential. Any other answer is returned as it came, for the
 * destination to read (403 included: a token that works but lacks a scope is not renewed).
 */
export async function sendWithToken(source: AccessTokenSource, request: HttpRequest, authorize: (token: string) => Record<string, string> = bearer): Promise<HttpResponse> {
  const withToken = (token: string): HttpRequest => ({ ...request, headers: { ...request.headers, ...authorize(token) } });
  const token = await source.token(request.signal);
  const first = await send(withToken(token));
  if (first.status !== 401) return first;
  const cached = await source.token(request.signal);
  const renewed = cached !== token ? cached : await source.renew(request.signal);
  const second = await send(withToken(renewed));
  if (second.status === 401) {
    throw new AuthError(`the destination refused a token just obtained with ${source.credential ?? 'its credentials'} (401 twice): check that the user or app still has access and the scopes the sync needs`);
  }
  return second;
}

/**
 * POSTs an OAuth token request (a form, RFC 6749 §4) and answers the JSON body of a 200. A refusal (4xx) is an
 * AuthError naming the credential, with the server's `error` and `error_description` (RFC 6749 §5.2) or HubSpot's
 * `status` and `message`; a server that cannot answer (network, 408, 429, 5xx) is a TransientError. Nothing the
 * request carried is quoted.
 */
export async function requestToken(url: string, form: Readonly<Record<string, string>>, credential: string, signal: AbortSignal): Promise<Record<string, unknown>> {
  const request: HttpRequest = {
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'tideline' },
    body: new URLSearchParams(form).toString(),
    signal,
  };
  const what = `${describeRequest(request)} answered`;
  const response = await send(request);
  const body = parseObject(response.text);
  if (response.status === 200 && body) return body;
  if (response.status === 200 || response.status === 408 || response.status === 429 || response.status >= 500) {
    throw new TransientError(redactor.scrub(`getting an access token with ${credential}: ${what} ${response.status}${response.status === 200 ? ' without a JSON body' : ''}`));
  }
  const code = stringOf(body?.['error']) ?? stringOf(body?.['status']);
  const description = stringOf(body?.['error_description']) ?? stringOf(body?.['message']);
  const reason = [code, description && `(${description})`].filter(Boolean).join(' ') || 'no reason given';
  throw new AuthError(redactor.scrub(`getting an access token with ${credential} failed: ${what} ${response.status} ${reason}; the sync stops (check the credential, or issue a new one)`));
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
