import type { AuthClient, GoogleAuthOptions, JWTInput } from 'google-auth-library';
import { redactor } from '../../src/log/redact.js';
import { staticToken, type AccessTokenSource } from '../credentials.js';
import { AuthError, TransientError } from '../destination.js';
import { GOOGLE_TOKEN_URL } from './protocol.js';

/**
 * Google credentials, through google-auth-library (Google's own OAuth client: it caches a token and renews it five
 * minutes before it expires, signs service-account JWTs, and finds Application Default Credentials as every Google
 * client does). One of:
 *  - `refresh_token`: an installed or web OAuth client's id and secret with a user's refresh token;
 *  - `service_account`: a service account's JSON key (its parsed content; the file is read by the adapter);
 *  - `application_default`: ADC — GOOGLE_APPLICATION_CREDENTIALS, gcloud's user credentials, or the metadata server;
 *  - `access_token`: a token as it is, which cannot renew.
 * `field` names the credential in messages (a config field, or "Application Default Credentials"); values never
 * appear there. Every token obtained is registered with the redactor, so logs and artifacts mask it.
 */
export type GoogleCredential =
  | { readonly kind: 'refresh_token'; readonly clientId: string; readonly clientSecret: string; readonly refreshToken: string }
  | { readonly kind: 'service_account'; readonly key: JWTInput }
  | { readonly kind: 'application_default' }
  | { readonly kind: 'access_token'; readonly token: string };

export interface TokenSourceOptions {
  readonly scopes: readonly string[];
  /** How the credential is named in messages: the config field it comes from. */
  readonly field: string;
  /**
   * Another OAuth token endpoint (an emulator's). google-auth-library takes it for OAuth clients
   * (`endpoints.oauth2TokenUrl`); its service-account flow posts to Google's fixed URL (gtoken/getToken.js), so that
   * request is pointed here by an interceptor on the client's own transporter, the one seam the library offers.
   */
  readonly tokenUrl?: string;
}

export function googleTokenSource(credential: GoogleCredential, options: TokenSourceOptions): AccessTokenSource {
  if (credential.kind === 'access_token') return staticToken(credential.token, options.field);
  return new GoogleTokenSource(credential, options);
}

/**
 * Tokens from a google-auth-library client. `token()` is the client's cached token (renewed ahead of expiry by the
 * library); `renew()` marks it expired so that the library fetches a new one — the client keeps no other cache that
 * would hand the refused token back (the JWT flow forces gtoken's refresh on an expiring token).
 */
class GoogleTokenSource implements AccessTokenSource {
  #client: Promise<AuthClient> | undefined;

  constructor(
    private readonly grant: Exclude<GoogleCredential, { kind: 'access_token' }>,
    private readonly options: TokenSourceOptions,
  ) {}

  /** Named in messages: the config field. */
  get credential(): string {
    return this.options.field;
  }

  token(signal: AbortSignal): Promise<string> {
    return this.fetch(false, signal);
  }

  renew(signal: AbortSignal): Promise<string> {
    return this.fetch(true, signal);
  }

  private async fetch(renew: boolean, signal: AbortSignal): Promise<string> {
    const client = await this.client();
    if (renew) client.credentials = { ...client.credentials, expiry_date: 1 };
    let token: string | null | undefined;
    try {
      token = (await abortable(client.getAccessToken(), signal)).token;
    } catch (error) {
      throw this.failure(error, signal);
    }
    if (!token) throw new AuthError(`Google gave no access token for ${this.options.field}`);
    redactor.add(token);
    return token;
  }

  private client(): Promise<AuthClient> {
    this.#client ??= this.makeClient().catch((error: unknown) => {
      this.#client = undefined;
      throw this.failure(error, undefined);
    });
    return this.#client;
  }

  private async makeClient(): Promise<AuthClient> {
    const { tokenUrl } = this.options;
    const auth: GoogleAuthOptions = {
      scopes: [...this.options.scopes],
      ...(tokenUrl ? { clientOptions: { endpoints: { oauth2TokenUrl: tokenUrl } } } : {}),
    };
    const c = this.grant;
    if (c.kind === 'refresh_token') auth.credentials = { type: 'authorized_user', client_id: c.clientId, client_secret: c.clientSecret, refresh_token: c.refreshToken };
    if (c.kind === 'service_account') auth.credentials = c.key;
    // Loaded when a Google destination first needs a token: every other command starts without it.
    const { GoogleAuth } = await import('google-auth-library');
    const client = await new GoogleAuth(auth).getClient();
    if (tokenUrl) {
      const target = new URL(tokenUrl);
      client.transporter.interceptors.request.add({
        resolved: async (config) => (config.url.href === GOOGLE_TOKEN_URL ? { ...config, url: target } : config),
      });
    }
    return client;
  }

  /** The typed error for a failure to get a token: the credential named, its value never. */
  private failure(error: unknown, signal: AbortSignal | undefined): Error {
    if (error instanceof AuthError || error instanceof TransientError) return error;
    const response = (error as { response?: { status?: number; data?: { error?: unknown; error_description?: unknown } } }).response;
    const code = typeof response?.data?.error === 'string' ? response.data.error : undefined;
    const said = code ? `${code}${typeof response?.data?.error_description === 'string' ? `: ${response.data.error_description}` : ''}` : undefined;
    if (response?.status !== undefined && response.status < 500 && response.status !== 429) {
      return new AuthError(redactor.scrub(`Google refused to issue an access token for ${this.options.field} (${response.status}${said ? ` ${said}` : ''}): ${this.fix()}`));
    }
    if (response?.status !== undefined) return new TransientError(redactor.scrub(`Google's token endpoint answered ${response.status} for ${this.options.field}`));
    if (signal?.aborted) return new TransientError(`getting an access token for ${this.options.field} timed out`);
    const message = error instanceof Error ? error.message : String(error);
    // No answer at all (a network failure) may pass; anything else is the credential itself (ADC not found, a bad key).
    const network = (error as { code?: unknown }).code !== undefined && /^E[A-Z]+$/.test(String((error as { code?: unknown }).code));
    if (network) return new TransientError(redactor.scrub(`Google's token endpoint could not be reached for ${this.options.field}: ${String((error as { code?: unknown }).code)}`));
    return new AuthError(redactor.scrub(`no access token from ${this.options.field}: ${firstLine(message)}. ${this.fix()}`));
  }

  private fix(): string {
    switch (this.grant.kind) {
      case 'refresh_token':
        return 'the refresh token was revoked or expired, or does not belong to this OAuth client — create a new one with the https://www.googleapis.com/auth/datamanager scope';
      case 'service_account':
        return 'check that the service account key is current (not deleted or disabled) and has access to the Google Ads account';
      case 'application_default':
        return 'set GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login --scopes=https://www.googleapis.com/auth/datamanager`';
    }
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 300);
}

/** A promise that rejects when `signal` aborts (google-auth-library takes no signal). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
