/**
 * HubSpot facts shared by the adapter, its emulator and its contract kit, each with its source; a fact that changes
 * changes here. Checked 2026-12-06.
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

/**
 * A batch naming a property HubSpot cannot write is refused as a whole (400 VALIDATION_ERROR) with one `errors[]`
 * entry per property, `code` PROPERTY_DOESNT_EXIST or READ_ONLY_VALUE and `in` the property's name — the error
 * envelope of https://developers.hubspot.com/docs/api-reference/error-handling ("For CRM object APIs, error responses
 * will include detailed message, code, and context fields").
 */
export const PROPERTY_DOESNT_EXIST = 'PROPERTY_DOESNT_EXIST';
export const READ_ONLY_VALUE = 'READ_ONLY_VALUE';

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

// ---- rate limits ----

/**
 * HubSpot's limits: a rolling ten-second window per app (100 requests on free and starter accounts, 190 on
 * professional and enterprise) and a daily one per account. Every answer carries X-HubSpot-RateLimit-Max,
 * -Remaining and -Interval-Milliseconds (the window's length), and the daily ones X-HubSpot-RateLimit-Daily and
 * -Daily-Remaining; a 429 says which limit was hit in `policyName` (`SECONDLY` for the window, `DAILY` for the day),
 * beside `errorType: RATE_LIMIT`. The daily limit resets at midnight in the account's time zone.
 * Sources: https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details (API usage guidelines and limits);
 * the headers' changelog, developers.hubspot.com/changelog/2018-11-06-rate-limit-information-headers-will-be-included-in-http-responses.
 */
export const RATE_HEADERS = {
  max: 'x-hubspot-ratelimit-max',
  remaining: 'x-hubspot-ratelimit-remaining',
  intervalMs: 'x-hubspot-ratelimit-interval-milliseconds',
  daily: 'x-hubspot-ratelimit-daily',
  dailyRemaining: 'x-hubspot-ratelimit-daily-remaining',
} as const;
export const RATE_POLICY = { secondly: 'SECONDLY', daily: 'DAILY' } as const;
/** The rolling window, when a 429 does not give its length. */
export const RATE_WINDOW_MS = 10_000;

// ---- batch answers ----

/**
 * How an answer of a batch write is matched to its inputs: each input carries an `objectWriteTraceId` (any unique
 * string: Tideline sends the record's index in the batch), each result carries it back, and each per-input error
 * names the inputs it concerns in `context.objectWriteTraceId` (a list). HubSpot promises no order of `results`, and
 * the contacts' `properties` in a result are what HubSpot holds, not an echo of the input: neither is used to match.
 *  - the field on inputs and results: the batch upsert/update/create references, request body `inputs[].objectWriteTraceId`
 *    and response `results[].objectWriteTraceId` (developers.hubspot.com/docs/api-reference/2026-03/crm/objects/contacts/batch/upsert-contacts,
 *    and the legacy v3 page of the same operation); the SDK's models SimplePublicObjectBatchInputUpsert,
 *    SimplePublicObjectBatchInput and SimplePublicUpsertObject / SimplePublicObject;
 *  - the errors: "Multi-status errors" of https://developers.hubspot.com/docs/api-reference/error-handling (include a
 *    unique objectWriteTraceId value for each input to see which ones failed); the key `context.objectWriteTraceId` of
 *    `StandardError.context` (a map of string lists in the SDK) as integrators read it in HubSpot's 207 answers
 *    (RudderStack's HubSpot destination, github.com/rudderlabs/rudder-transformer, src/v1/destinations/hs/networkHandler.ts).
 * A result or error without a trace id the adapter sent settles nothing: its record is retried (no_outcome).
 */
export const TRACE_ID = 'objectWriteTraceId';

/** A batch answer (200, or 207 with `errors`): the fields Tideline reads of the SDK's BatchResponse… models. */
export interface BatchResponse {
  readonly results?: readonly { readonly id: string; readonly objectWriteTraceId?: string; readonly properties?: Readonly<Record<string, string | null>> }[];
  readonly errors?: readonly { readonly category?: string; readonly message?: string; readonly context?: Readonly<Record<string, readonly string[] | undefined>> }[];
}

/** HubSpot's error envelope (the SDK's `Error` model, with the `status` and the 429's `policyName` its docs add). */
export interface ErrorBody {
  readonly message?: string;
  readonly category?: string;
  readonly policyName?: string;
  readonly errors?: readonly { readonly message?: string; readonly code?: string; readonly in?: string }[];
}

/**
 * Fields HubSpot's documented error answers carry beyond the OpenAPI `Error` model of the SDK, accepted by the
 * contract schema on error answers only:
 *  - `status: "error"` on every error ("error handling": the example error; "the fields … should all be treated as
 *    optional"), https://developers.hubspot.com/docs/api-reference/error-handling;
 *  - on a 429, `errorType: RATE_LIMIT` and `policyName` (API usage guidelines,
 *    https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details), with `category: RATE_LIMITS`
 *    (developers.hubspot.com/changelog/upcoming-changes-to-error-responses);
 *  - the token endpoint's refusals: RFC 6749's `error` and `error_description` beside `status` and `message`
 *    (developers.hubspot.com/changelog/new-oauth-v3-api-endpoints-and-standardized-error-responses), and no more.
 */
export const DOCUMENTED_ERROR_EXTRAS = {
  api: ['status'],
  rateLimit: ['status', 'errorType', 'policyName'],
  token: ['status', 'message', 'correlationId', 'error', 'error_description'],
} as const;

// ---- API versions and paths ----

/**
 * HubSpot's CRM API comes in two path families:
 *  - **date-versioned** (the default, `2026-03`): "Starting from March 30th 2026, HubSpot's REST APIs follow a
 *    date-based version standard", `/api-name/2026-03/resource`, e.g. `GET /crm/objects/2026-03/contacts`. A version is
 *    *Current* 6 months, then *Supported*, and "18 months after a version originally went into GA, the version will be
 *    considered unsupported" (APIs "may still work", without bug fixes). 2026-03 went GA on 2026-03-30, hence
 *    unsupported from **2027-09-30** — a date derived from those two documented facts; the versioning page's schedule
 *    table was not read. 2026-09 (GA 2026-09-08) exists too; it enforces the account's validation rules on CRM writes
 *    (changelog of 2026-08-11) and is not offered here yet.
 *    Sources: developers.hubspot.com/docs/api-reference/legacy/migration-guide;
 *    developers.hubspot.com/docs/developer-tooling/platform/versioning; developers.hubspot.com/docs/api-reference/2026-03/overview.
 *  - **v3** (legacy, `api_version: v3`): "in September 2027, all legacy APIs using semantic versions (e.g., v4, v3, v2,
 *    and v1) will no longer be supported", and the Fall Spotlight changelog of 2026-09-15 gives v1–v3 and legacy private
 *    apps "a September 2027 enforcement date". HubSpot names the month, not the day: the sunset is taken as its first
 *    day, so warnings come early.
 *    Sources: developers.hubspot.com/docs/api-reference/legacy/migration-guide;
 *    developers.hubspot.com/changelog/legacy-apis-and-legacy-apps-whats-going-unsupported-and-when.
 */
export const API_VERSIONS = {
  '2026-03': {
    version: '2026-03',
    sunset: '2027-09-30',
    source: 'https://developers.hubspot.com/docs/developer-tooling/platform/versioning (unsupported 18 months after GA; 2026-03 GA on 2026-03-30 per https://developers.hubspot.com/docs/api-reference/legacy/migration-guide)',
  },
  v3: {
    version: 'v3',
    sunset: '2027-09-01',
    source: 'https://developers.hubspot.com/docs/api-reference/legacy/migration-guide (and the changelog "Legacy APIs and Apps: What\'s Going Unsupported and When", 2026-09-15)',
  },
} as const;
export type CrmApiVersion = keyof typeof API_VERSIONS;
export const CRM_API_VERSIONS = Object.keys(API_VERSIONS) as [CrmApiVersion, ...CrmApiVersion[]];
export const DEFAULT_API_VERSION: CrmApiVersion = '2026-03';

/** The batch operations of the contacts API Tideline knows (it sends upsert, update, read and archive). */
export type BatchOperation = 'upsert' | 'create' | 'update' | 'read' | 'archive';

/**
 * The paths of each version, as HubSpot's references give them (2026-03 pages, and their "legacy" v3 twins):
 *  - contacts: `GET /crm/objects/2026-03/contacts` (list, the session check) and `POST …/contacts/batch/{upsert,create,
 *    update,read,archive}` — e.g. …/2026-03/crm/objects/contacts/batch/upsert-contacts and …/batch/delete-contacts
 *    (`POST /crm/objects/2026-03/contacts/batch/archive`); v3: `/crm/v3/objects/contacts…`;
 *  - properties: `GET` and `POST /crm/properties/2026-03/contacts` (…/2026-03/crm/properties/get-properties); v3:
 *    `/crm/v3/properties/contacts`;
 *  - list memberships: `PUT /crm/lists/2026-03/{listId}/memberships/add-and-remove`, MANUAL and SNAPSHOT lists only
 *    (…/2026-03/crm/lists/memberships/update-list-memberships); v3: `/crm/v3/lists/{listId}/memberships/add-and-remove`.
 * The request and answer shapes are those of v3 (the same fields on both references, as of 2026-12-06; the 2026-03
 * answers document a `url` on results that the SDK's v3 models lack, which Tideline does not read).
 */
export function crmPaths(version: CrmApiVersion) {
  const v3 = version === 'v3';
  const contacts = v3 ? '/crm/v3/objects/contacts' : `/crm/objects/${version}/contacts`;
  return {
    contacts,
    batch: (operation: BatchOperation) => `${contacts}/batch/${operation}`,
    properties: v3 ? '/crm/v3/properties/contacts' : `/crm/properties/${version}/contacts`,
    memberships: (listId: string) => (v3 ? `/crm/v3/lists/${listId}/memberships/add-and-remove` : `/crm/lists/${version}/${listId}/memberships/add-and-remove`),
    gdprDelete: `${contacts}/gdpr-delete`,
  };
}

/**
 * Erasure of a contact, HubSpot's GDPR delete (read 2026-12-07):
 *  - `POST /crm/objects/2026-03/contacts/gdpr-delete` (HubSpot's own 2026-03 SDKs, github.com/HubSpot/hubspot-sdk-typescript
 *    src/resources/crm/objects/contacts/contacts.ts `gdprDelete`) and `POST /crm/v3/objects/contacts/gdpr-delete`
 *    (developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/gdpr/gdpr-delete-contact; the SDK 13.5.0's
 *    contacts GDPRApi `purge`): "Permanently delete a contact and all associated content to follow GDPR".
 *  - body `PublicGdprDeleteInput`: `objectId` (required, "The ID of the contact to permanently delete") and
 *    `idProperty` ("The name of a property whose values are unique for this object. An alternative to identifying a
 *    contact by ID"): ONE contact per call, no batch form.
 *  - answer: 204 with no body ("This response has no body data"; the SDK knows 204, and an `Error` otherwise).
 *  - "If email address is not found, the email address will be added to a blocklist and prevent it from being used in
 *    the future" (same reference): an unknown e-mail is answered like a deletion (204). HubSpot does not document its
 *    answer for an unknown record id; the emulator answers the 404 OBJECT_NOT_FOUND of HubSpot's other single-object
 *    calls (developers.hubspot.com/docs/api-reference/error-handling), which the adapter takes as "already gone".
 *  - scope `crm.objects.contacts.write` (same reference). The reference names no rate limit of its own: each call
 *    counts against the app's rolling limit like any other (RATE_POLICY), one call per contact erased.
 *  - what it removes: the contact record, its associations, email tracking, form submissions, engagements and
 *    analytics that identify it, within 30 days (knowledge.hubspot.com/privacy-and-consent/how-do-i-perform-a-gdpr-delete-in-hubspot);
 *    a deleted contact leaves every list with it.
 */
export const GDPR_DELETE_DOC = 'developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/gdpr/gdpr-delete-contact';

/**
 * Events: the send API's calls only send occurrences (send, batch send: see `eventPaths`), and the definitions API
 * deletes a whole event type, every person's occurrences with it (`DELETE /events/custom/2026-03/event-definitions/
 * {eventName}`, developers.hubspot.com/docs/api-reference/latest/events/define-events/delete-event-definition): no call
 * erases one person's occurrences (read 2026-12-07). A contact's permanent deletion removes the analytics and
 * activity that identify it (knowledge.hubspot.com/privacy-and-consent/understand-restorable-and-permanent-contact-deletions).
 */
export const EVENTS_ERASURE =
  "HubSpot's API cannot delete custom event occurrences: permanently delete the person's contact instead (a contacts or list sync's `tideline forget` does it with the GDPR delete; otherwise in HubSpot, the contact's Actions > Delete > permanently delete), which removes the activity that identifies them (knowledge.hubspot.com/privacy-and-consent/understand-restorable-and-permanent-contact-deletions)";

/** An operation of the API, as the emulator routes it and the contract schema checks it. */
export type Operation =
  | { readonly name: 'contacts-list'; readonly version: CrmApiVersion }
  | { readonly name: `batch-${BatchOperation}`; readonly version: CrmApiVersion }
  | { readonly name: 'properties-read' | 'properties-create'; readonly version: CrmApiVersion }
  | { readonly name: 'list-memberships'; readonly version: CrmApiVersion; readonly listId: string }
  | { readonly name: 'gdpr-delete'; readonly version: CrmApiVersion }
  | { readonly name: 'event-send' | 'event-batch'; readonly version: CrmApiVersion }
  | { readonly name: 'token' };

/** The operation a method and path name, in either path family; undefined for a path HubSpot has not (here). */
export function operationOf(method: string, path: string): Operation | undefined {
  if (path === TOKEN_PATH) return method === 'POST' ? { name: 'token' } : undefined;
  for (const version of CRM_API_VERSIONS) {
    const events = eventPaths(version);
    if (path === events.send || path === events.batch) return method === 'POST' ? { name: path === events.send ? 'event-send' : 'event-batch', version } : undefined;
    const paths = crmPaths(version);
    if (path === paths.contacts) return method === 'GET' ? { name: 'contacts-list', version } : undefined;
    if (path === paths.gdprDelete) return method === 'POST' ? { name: 'gdpr-delete', version } : undefined;
    if (path === paths.properties) return method === 'GET' ? { name: 'properties-read', version } : method === 'POST' ? { name: 'properties-create', version } : undefined;
    const batch = path.startsWith(`${paths.contacts}/batch/`) ? path.slice(paths.contacts.length + 7) : undefined;
    if (batch && method === 'POST' && (['upsert', 'create', 'update', 'read', 'archive'] as const).some((o) => o === batch)) return { name: `batch-${batch as BatchOperation}`, version };
    const [before, after] = paths.memberships('{listId}').split('{listId}') as [string, string];
    if (method === 'PUT' && path.startsWith(before) && path.endsWith(after)) {
      const listId = path.slice(before.length, path.length - after.length);
      if (listId && !listId.includes('/')) return { name: 'list-memberships', version, listId };
    }
  }
  return undefined;
}

// ---- the published schema ----

/**
 * HubSpot's published models, read by the contract suite: `@hubspot/api-client` **13.5.0** (a dev dependency),
 * generated by openapi-generator from HubSpot's CRM **v3** OpenAPI documents (crm/contacts, crm/properties,
 * crm/lists) and the v3 events send API (events/send). The date-versioned 2026-03 operations Tideline uses take and
 * answer the same fields (see `crmPaths`, `eventPaths`); the only documented difference met is `results[].url` in
 * 2026-03 answers, absent from these models.
 */
export const HUBSPOT_SDK = { name: '@hubspot/api-client', version: '13.5.0', models: '@hubspot/api-client/lib/codegen/{crm/{contacts,properties,lists},events/send}/models/all.js' } as const;

// ---- custom events ----

/**
 * Custom event occurrences (read 2026-12-07):
 *  - paths: `POST /events/2026-03/send` and `POST /events/2026-03/send/batch` (the 2026-03 references
 *    developers.hubspot.com/docs/api-reference/2026-03/events/send-event-data/send-event-occurrence and
 *    …/batch-send-occurrences: date-based versions cover the events API), and their legacy twins `/events/v3/send` and
 *    `/events/v3/send/batch` (…/api-reference/legacy/events/send-event-data/batch-send-occurrences; the SDK's
 *    events/send BasicApi and BatchApi). One "latest" page of March 2026 showed `/events/custom/2026-03/send`; the
 *    2026-03 references read since (April 2026) give `/events/2026-03/send`, used here.
 *  - an occurrence: `eventName` (required, "The event's fully qualified name … formatted as pe{HubID}_{name}"),
 *    `properties` (a map of strings), `email` / `objectId` / `utk` (the contact: "For contacts, you can alternatively
 *    use the email or utk field …"; the guide marks "objectId (or other identifier)" required), `occurredAt`
 *    (date-time; "If this isn't set, the current time will be used"), `uuid`. The SDK's models:
 *    BehavioralEventHttpCompletionRequest and BatchedBehavioralEventHttpCompletionRequest (`inputs`).
 *  - both answer **204 with no body** ("This response has no body data"; the SDK's BatchApi knows 204 and an `Error`
 *    otherwise): HubSpot gives no outcome per occurrence. A batch with one bad occurrence is therefore refused whole
 *    here (400 VALIDATION_ERROR), and the adapter lets the engine split it down to that occurrence.
 *    Sources: the references above; the guide developers.hubspot.com/docs/api-reference/legacy/events/send-event-data/guide.
 */
export function eventPaths(version: CrmApiVersion) {
  const root = version === 'v3' ? '/events/v3/send' : `/events/${version}/send`;
  return { send: root, batch: `${root}/batch` };
}

/**
 * De-duplication by `uuid`: "A unique identifier for the event occurrence. Must be unique within the event type. If
 * not provided, HubSpot will generate a random UUID. When multiple events have the same ID within a year, the first
 * will be accepted and all others will be rejected." (developers.hubspot.com/docs/api-reference/latest/events/
 * send-event-data/send-event-occurrence, read 2026-12-07). HubSpot does not say how a rejected duplicate is answered;
 * since the send endpoints answer 204 and report nothing per occurrence, the emulator answers a duplicate like the
 * rest and keeps only the first.
 */
export const EVENT_DEDUPLICATION =
  'HubSpot keeps the first occurrence of a `uuid` within its event type and rejects the others for a year (developers.hubspot.com/docs/api-reference/latest/events/send-event-data/send-event-occurrence, read 2026-12-07)';
export const EVENT_UUID_WINDOW_DAYS = 365;

/**
 * Occurrences per batch request: 500. HubSpot's reference does not state it; RudderStack's HubSpot destination
 * documents `/events/v3/send/batch` with a batch size of 500 (github.com/rudderlabs/rudder-transformer, the HubSpot
 * destination's README). The adapter sends at most `batch_size` (≤ 100), well inside it.
 */
export const HUBSPOT_MAX_EVENT_BATCH = 500;

/**
 * Property limits of the Custom Behavioral Events API (changelog "New property limits for the Custom Behavioural
 * Events API", developers.hubspot.com/changelog/new-property-limits-for-the-custom-behavioural-events-api, in force
 * since 2021-09-20): "Each event completion can contain data for up to 50 properties"; internal names "must start with
 * a letter and contain only lowercase letters a-z, numbers 0-9, and underscores", at most 50 characters; "If these
 * limits are exceeded when making an HTTP API request, the request will fail". The value lengths of that post
 * (50 characters, 200 for URLs) are not enforced here: the current guide does not repeat them.
 */
export const EVENT_MAX_PROPERTIES = 50;
export const EVENT_PROPERTY_NAME = /^[a-z][a-z0-9_]{0,49}$/;

/** A fully qualified event name: `pe{HubID}_{name}` (the send references' `eventName`). */
export const QUALIFIED_EVENT_NAME = /^pe(\d+)_[a-z0-9_-]+$/;

/**
 * The fully qualified name of an event the sync names: as it is when already qualified (`pe12345_cart_abandoned`),
 * else `pe{portal}_{name}` with the name in HubSpot's internal form (lower case, other characters than a-z, 0-9, _
 * and - as `_`): `Cart abandoned` → `pe12345_cart_abandoned`. Tideline's convention for syncs that name events as
 * their model does; undefined when a name needs qualifying and no portal is known.
 */
export function qualifiedEventName(name: string, portalId: number | undefined): string | undefined {
  if (QUALIFIED_EVENT_NAME.test(name)) return name;
  if (portalId === undefined) return undefined;
  const internal = name.trim().toLowerCase().replace(/[^a-z0-9_-]+/g, '_');
  return internal ? `pe${portalId}_${internal}` : undefined;
}
