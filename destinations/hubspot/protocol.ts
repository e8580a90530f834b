/**
 * HubSpot facts shared by the adapter and its emulator, each with its source.
 */

/**
 * HubSpot's validation of an e-mail address, applied "for any process that would create or update a contact record",
 * the Contacts API included. "In addition to being valid according to RFC 2822, we place the following restrictions on
 * email addresses: we don't allow the local parts to be quoted (e.g. "Test Email" is not valid); the domain part must
 * end in a valid TLD, as listed at https://data.iana.org/TLD/tlds-alpha-by-domain.txt (note that this is after handling
 * unicode TLDs, so "user@email.삼성" is a valid email address)."
 * Source: https://legacydocs.hubspot.com/docs/faq/how-does-hubspot-validate-email-addresses (linked from
 * https://developers.hubspot.com/docs/faq/how-does-hubspot-validate-email-addresses).
 *
 * So: an RFC 2822 addr-spec whose local part is a dot-atom (never quoted) and whose domain is a dot-atom (a domain
 * literal such as `[192.0.2.1]` has no TLD). Characters beyond ASCII are taken as atext (internationalised addresses,
 * unicode TLDs). The emulator does not hold IANA's list: it requires the last label to be a plausible TLD — letters
 * only, at least two, or a punycode `xn--` label — so a well-formed but unassigned TLD (`user@example.comx`) passes
 * here while HubSpot refuses it.
 */
export function isValidHubSpotEmail(value: string): boolean {
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (!DOT_ATOM.test(local) || !DOT_ATOM.test(domain)) return false;
  const tld = domain.slice(domain.lastIndexOf('.') + 1);
  return domain.includes('.') && (/^\p{L}{2,}$/u.test(tld) || /^xn--[a-z0-9-]+$/i.test(tld));
}

/** RFC 2822 §3.2.4 dot-atom: atext runs separated by single dots, none at either end (atext, plus any non-ASCII). */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+)*$/u;

/**
 * HubSpot's answer to an invalid address: 400 VALIDATION_ERROR for the request, its message listing the refused values
 * as `Property values were not valid: [{"isValid":false,"message":"Email address … is invalid","error":"INVALID_EMAIL",
 * "name":"email"}]` (as HubSpot answers it: community.hubspot.com/t5/APIs-Integrations/contacts-integration-invalid-e-mails/td-p/833439).
 */
export const INVALID_EMAIL = 'INVALID_EMAIL';

/**
 * Inputs per batch request of the CRM objects API: at most 100 (HubSpot's batch endpoint reference, as gathered in the
 * team's notes of November 2026, shared/destinations.md; not re-read for this issue).
 */
export const HUBSPOT_MAX_BATCH = 100;

// ---- credentials ----

/**
 * Static keys, sent as `Authorization: Bearer <key>` and never expiring on their own (read 2026-12-06):
 *  - **service keys**, "a new authentication option for account-level, system-to-system integrations … intended to
 *    replace legacy private apps" (public beta; Settings > Integrations > Service Keys; scopes chosen per key).
 *    Source: developers.hubspot.com/changelog/service-keys;
 *  - **legacy private app access tokens** (`pat-…`): still accepted, but legacy private apps go unsupported with the
 *    v1–v3 APIs in September 2027. Source: developers.hubspot.com/changelog/legacy-apis-and-legacy-apps-whats-going-unsupported-and-when (2026-09-15).
 * Tideline takes either as `token`.
 *
 * OAuth (a public or project-based app installed in the account): an access token lives **30 minutes** — "This token
 * is provided as a Bearer token in the request, and expires after 30 minutes"; `expires_in` (seconds) says it with
 * each token, and clients are told to follow it rather than hard-code it. Source: "Manage OAuth access tokens using
 * the v3 APIs", developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide; the change from six hours to 30
 * minutes: developers.hubspot.com/changelog/upcoming-expiration-of-oauth-access-tokens-is-changing.
 *
 * The token endpoint: `POST /oauth/2026-03/token`, a form (`application/x-www-form-urlencoded`, parameters in the body,
 * never the query) with `grant_type=refresh_token`, `client_id`, `client_secret`, `refresh_token`. The legacy
 * `/oauth/v1/token` is deprecated on **2027-02-16** (72 days from 2026-12-06: inside `tideline validate`'s 90-day
 * warning), and the migration guide names `/oauth/2026-03/token` as its replacement, with "an identical response".
 * Sources: developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/migration-guide and
 * developers.hubspot.com/docs/api-reference/2026-03/authentication/oauth-tokens/refresh-oauth-token.
 */
export const TOKEN_PATH = '/oauth/2026-03/token';
export const REFRESH_TOKEN_GRANT = 'refresh_token';
export const ACCESS_TOKEN_LIFETIME_SECONDS = 1800;

/**
 * The token answer: `access_token`, `refresh_token`, `token_type` (`bearer`), `expires_in` (seconds, an int32), and an
 * optional `id_token` — HubSpot's published model `TokenResponseIF` in `@hubspot/api-client` (generated from its
 * OpenAPI spec), which the emulator's answers are tested against.
 */
export interface TokenResponse {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly id_token?: string;
}

/**
 * A refused token request: 400 with RFC 6749's `error` and `error_description`, beside HubSpot's own `status` and
 * `message` kept "for backward compatibility" — e.g. `{"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid
 * refresh token", "error": "invalid_grant", …}` for a revoked refresh token.
 * Sources: developers.hubspot.com/changelog/new-oauth-v3-api-endpoints-and-standardized-error-responses ("Responses now
 * include the standard error and error_description fields … Existing fields (status, message) remain"); the
 * BAD_REFRESH_TOKEN answer as HubSpot gives it: community thread integrate.hubspot.com/t/…/5490 and
 * nango.dev/blog/hubspot-oauth-bad-refresh-token.
 */
export const BAD_REFRESH_TOKEN = { status: 'BAD_REFRESH_TOKEN', message: 'missing or invalid refresh token', error: 'invalid_grant' } as const;

/**
 * An API call with an expired access token: 401 `{"status": "error", "message": "The OAuth token used to make this call
 * expired N minute(s) ago.", "correlationId", "category": "EXPIRED_AUTHENTICATION"}` — HubSpot's error envelope
 * (`Error` of its CRM models: `category`, `correlationId`, `message`). A token HubSpot does not know is
 * `INVALID_AUTHENTICATION`. Source: the answer as integrators report it
 * (useparagon.com/integration-error-solutions/hubspot-the-oauth-token-used-to-make-this-call-expired); the envelope is
 * the `Error` model of HubSpot's SDK. Tideline reads only the status: a 401 renews the token.
 */
export const EXPIRED_AUTHENTICATION = 'EXPIRED_AUTHENTICATION';

// ---- API version ----

/**
 * The CRM API the adapter speaks today: the numeric `v3` paths (`/crm/v3/objects/contacts/batch/upsert`,
 * `/crm/v3/properties/contacts`, `/crm/v3/lists/{id}/memberships/add-and-remove`). Since 2026-03-30 HubSpot versions its
 * APIs by date (`/crm/objects/2026-03/…`, a new version each March and September, each supported 18 months); "in
 * September 2027, all legacy APIs using semantic versions (e.g., v4, v3, v2, and v1) will no longer be supported", and
 * the Fall Spotlight changelog of 2026-09-15 gives v1–v3 and legacy private apps "a September 2027 enforcement date".
 * HubSpot names the month, not the day: the sunset is taken as its first day, so warnings come early. Moving to the
 * date-versioned paths is another issue.
 * Sources: developers.hubspot.com/docs/api-reference/legacy/migration-guide;
 * developers.hubspot.com/changelog/legacy-apis-and-legacy-apps-whats-going-unsupported-and-when;
 * developers.hubspot.com/docs/developer-tooling/platform/versioning.
 */
export const CRM_API_VERSION = { version: 'v3', sunset: '2027-09-01', source: 'https://developers.hubspot.com/docs/api-reference/legacy/migration-guide (and the changelog "Legacy APIs and Apps: What\'s Going Unsupported and When", 2026-09-15)' } as const;
