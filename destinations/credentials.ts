import { AuthError } from './destination.js';

/**
 * Credentials that renew. OAuth access tokens live about an hour, so a nightly run that outlives one must get another
 * on its own: an HTTP destination asks its token source for a token before each request, and after a 401 asks it to
 * renew once and sends that request again once. A renewal that fails stops the sync with an AuthError naming the
 * credential (its config field), never its value. Tokens are registered as secrets, so logs and artifacts mask them,
 * and they are never written to the sync state.
 */
export interface AccessTokenSource {
  /** A token valid now (a cached one, renewed ahead of its expiry when the source knows it). */
  token(signal: AbortSignal): Promise<string>;
  /** Forgets the cached token and gets a new one (after a 401). Throws AuthError when it cannot. */
  renew(signal: AbortSignal): Promise<string>;
}

/** A token given as it is (`access_token:` in the config): it cannot renew, so a 401 stops the sync. */
export function staticToken(token: string, field: string): AccessTokenSource {
  return {
    token: async () => token,
    renew: async () => {
      throw new AuthError(`the destination refused ${field}, which cannot be renewed: give a refresh token or a key that renews instead, or a new ${field}`);
    },
  };
}
