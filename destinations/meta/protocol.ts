import { sunsetPassed, type ApiVersion } from '../destination.js';
import type { IdentifierField } from '../ads-identifiers.js';

/**
 * The slice of the Meta Marketing API (Graph API, `https://graph.facebook.com/vXX.X`) that Custom Audiences use,
 * shared by the adapter and its emulator (the emulator imports these facts; the adapter never imports the emulator).
 * Facts checked on 2026-12-06 against Meta's pages cited below, and against the official Business SDK for Node
 * (facebook-nodejs-business-sdk 24.0.1, a dev dependency: tests derive its CustomAudience fields, edges and transport
 * from it, see sdk-definitions.ts).
 *
 * Members are added with `POST /{audience_id}/users`, removed with `DELETE /{audience_id}/users`, and replaced as a
 * whole with `POST /{audience_id}/usersreplace` in a session of numbered batches, the last one flagged. Each request
 * holds `payload: {schema, data}` — one row per person, one column per schema key. Meta answers how many rows it
 * received and how many were invalid (with a few samples), never which ones.
 * Source: Custom Audience Users reference (updated 2025-10-08),
 * https://developers.facebook.com/documentation/ads-commerce/marketing-api/reference/custom-audience/users
 */

// ---- API versions ----

export interface MarketingApiVersion {
  readonly version: string;
  readonly released: string;
  /** The day Meta stops serving it; undefined while Meta says "TBD". */
  readonly expires: string | undefined;
}

export const VERSIONS_SOURCE =
  'https://developers.facebook.com/documentation/ads-commerce/marketing-api/marketing-api-changelog/versions (Marketing API version history, read 2026-12-06)';

/**
 * The Marketing API's versions, newest first, as Meta's version history lists them (the Marketing API's own table:
 * its expiry dates differ from the Graph API's). A version is served up to the day before its expiration date.
 * After that "calls made to that version number may fail or be upgraded to the next available version" (Versioning,
 * https://developers.facebook.com/docs/marketing-api/overview/versioning): an app that disabled the auto-upgrade, or
 * an endpoint that changed, is answered error #2635 (see VERSION_EXPIRED_CODE).
 */
export const MARKETING_API_VERSIONS: readonly MarketingApiVersion[] = [
  { version: 'v27.0', released: '2026-11-04', expires: undefined },
  { version: 'v26.0', released: '2026-07-29', expires: undefined },
  { version: 'v25.0', released: '2026-02-18', expires: '2027-02-23' },
  { version: 'v24.0', released: '2025-10-08', expires: '2026-11-10' },
  { version: 'v23.0', released: '2025-05-29', expires: '2026-06-09' },
  { version: 'v22.0', released: '2025-01-21', expires: '2026-02-19' },
  { version: 'v21.0', released: '2024-10-02', expires: '2025-09-09' },
  { version: 'v20.0', released: '2024-05-21', expires: '2025-05-06' },
];

/**
 * The version the adapter speaks unless the destination says `api_version`: the newest, whose expiry is not even
 * announced (the longest runway on 2026-12-06; v25.0 expires within 90 days of that day).
 */
export const DEFAULT_API_VERSION = 'v27.0';

export const API_VERSION_PATTERN = /^v(\d+)\.(\d+)$/;

function versionNumber(version: string): number | undefined {
  const m = API_VERSION_PATTERN.exec(version);
  return m ? Number(m[1]) * 1000 + Number(m[2]) : undefined;
}

/**
 * What Meta publishes about a version: its expiry from the table; a version older than the table's oldest expired
 * no later than that one did; a version newer than the table has no announced expiry.
 */
export function marketingApiVersion(version: string): ApiVersion {
  return listedVersion(MARKETING_API_VERSIONS, VERSIONS_SOURCE, version);
}

function listedVersion(table: readonly MarketingApiVersion[], source: string, version: string): ApiVersion {
  const listed = table.find((v) => v.version === version);
  if (listed) return { version, sunset: listed.expires, source };
  const oldest = table[table.length - 1]!;
  const n = versionNumber(version);
  if (n !== undefined && n < versionNumber(oldest.version)!) return { version, sunset: oldest.expires, source: `${source}: older than ${oldest.version}, which expired on ${oldest.expires}` };
  return { version, sunset: undefined, source: `${source}: not listed there` };
}

export const GRAPH_VERSIONS_SOURCE = 'https://developers.facebook.com/docs/graph-api/changelog/versions (Graph API versions, "Available Until", read 2026-12-07)';

/**
 * The Graph API's versions, whose schedule the Conversions API follows ("every version is supported for at least two
 * years. This exception is only valid for the Conversions API", Using the API): the events edge is served longer
 * than the Marketing API's own edges. v27.0 is not yet in the Graph API table read; its Marketing API release is.
 */
export const GRAPH_API_VERSIONS: readonly MarketingApiVersion[] = [
  { version: 'v27.0', released: '2026-11-04', expires: undefined },
  { version: 'v26.0', released: '2026-07-29', expires: undefined },
  { version: 'v25.0', released: '2026-02-18', expires: '2028-07-29' },
  { version: 'v24.0', released: '2025-10-08', expires: '2028-02-18' },
  { version: 'v23.0', released: '2025-05-29', expires: '2027-10-08' },
  { version: 'v22.0', released: '2025-01-21', expires: '2027-05-20' },
  { version: 'v21.0', released: '2024-10-02', expires: '2027-01-21' },
  { version: 'v20.0', released: '2024-05-21', expires: '2026-09-24' },
  { version: 'v19.0', released: '2024-01-23', expires: '2026-05-21' },
];

/** True when Meta no longer serves the Conversions API's events edge in `version` on `day` (Graph API schedule). */
export function eventsVersionExpired(version: string, day: string): boolean {
  return sunsetPassed(listedVersion(GRAPH_API_VERSIONS, GRAPH_VERSIONS_SOURCE, version), day);
}

/** True when Meta no longer serves `version` on `day` (`YYYY-MM-DD`, UTC). */
export function versionExpired(version: string, day: string): boolean {
  return sunsetPassed(marketingApiVersion(version), day);
}

/** The newest version the table lists: what an expired-version answer tells the caller to move to. */
export const LATEST_API_VERSION = MARKETING_API_VERSIONS[0]!.version;

// ---- customer list payloads ----

/**
 * Multi-key schema columns, in the order the adapter writes them, with the sync field filling each. The keys are
 * those of the Custom Audiences hashing table (Customer File Custom Audiences, "Hashing and normalizing data",
 * https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences, updated 2026-04-28) and of
 * the Business SDKs' MultiKeySchema (EXTERN_ID, EMAIL, PHONE, GEN, DOBY, DOBM, DOBD, LN, FN, FI, CT, ST, ZIP, MADID,
 * COUNTRY; APPUID and PAGEUID need app or page ids, which a customer list from a warehouse does not have).
 */
export const FIELD_OF = {
  EMAIL: 'email',
  PHONE: 'phone',
  FN: 'first_name',
  FI: 'first_initial',
  LN: 'last_name',
  ZIP: 'postal_code',
  CT: 'city',
  ST: 'state',
  COUNTRY: 'country_code',
  DOBY: 'birth_year',
  DOBM: 'birth_month',
  DOBD: 'birth_day',
  GEN: 'gender',
  MADID: 'mobile_advertiser_id',
  EXTERN_ID: 'external_id',
} as const satisfies Record<string, IdentifierField>;
export type SchemaKey = keyof typeof FIELD_OF;
export const SCHEMA_KEYS = Object.keys(FIELD_OF) as readonly SchemaKey[];

/**
 * Columns sent as they are (normalised, never hashed): EXTERN_ID ("hashing not required", the advertiser's own id)
 * and MADID ("use all lowercase, keep hyphens", not hashed: Meta matches the device id itself). Every other column
 * is SHA-256 lower-case hex of its normalised value. Source: the hashing table above. (The Python SDK's helper hashes
 * MADID in multi-key payloads; the documentation is followed here.)
 */
export const UNHASHED_KEYS: ReadonlySet<SchemaKey> = new Set(['EXTERN_ID', 'MADID']);

export interface Payload {
  readonly schema: readonly SchemaKey[];
  /** Rows in schema order; an empty string where a person has no value. */
  readonly data: readonly (readonly string[])[];
}

/** Keys a `payload` object may hold (Custom Audience Users reference: schema, data; app_ids, page_ids for APPUID / PAGEUID; is_raw, data_source as the SDK helpers send). */
export const PAYLOAD_KEYS: ReadonlySet<string> = new Set(['schema', 'data', 'is_raw', 'app_ids', 'page_ids', 'data_source']);

/** `session` of a `usersreplace` (or a multi-request `users`) upload. Source: Custom Audience Users reference. */
export interface ReplaceSession {
  /** A number the client picks, the same for every batch of one replacement (int64). */
  readonly session_id: number;
  /** 1, 2, 3… */
  readonly batch_seq: number;
  readonly last_batch_flag: boolean;
  readonly estimated_num_total: number;
}
export const SESSION_KEYS: ReadonlySet<string> = new Set(['session_id', 'batch_seq', 'last_batch_flag', 'estimated_num_total']);
export const SESSION_REQUIRED = ['session_id', 'batch_seq', 'last_batch_flag'] as const;

/**
 * Parameters of `POST|DELETE /{id}/users` and `POST /{id}/usersreplace`: the documented `namespace`, `payload`,
 * `session` (Custom Audience Users reference), the Graph-wide `access_token` and `appsecret_proof`, and `id`, which
 * the Node SDK adds to every edge call (`exportData()`).
 */
export const USERS_PARAMS: ReadonlySet<string> = new Set(['namespace', 'payload', 'session', 'access_token', 'appsecret_proof', 'id']);

/** Where a parameter travels, as the official SDK's transport (FacebookAdsApi.call) sends it: POST and PUT in a JSON body, GET and DELETE in the query string (objects JSON-encoded); the access token always in the query. */
export function paramsInQuery(method: string): boolean {
  return method !== 'POST' && method !== 'PUT';
}

export interface UsersResponse {
  readonly audience_id: string;
  readonly session_id: string | number;
  readonly num_received: number;
  readonly num_invalid_entries: number;
  readonly invalid_entry_samples: Readonly<Record<string, string>>;
}
/** The documented return type of the users edges (Custom Audience Users reference, "Return type"). */
export const USERS_RESPONSE_KEYS: ReadonlySet<string> = new Set(['audience_id', 'session_id', 'num_received', 'num_invalid_entries', 'invalid_entry_samples']);

/** Fields `check()` reads from the audience node; each is a CustomAudience field of the SDK (tests check it). */
export const CHECK_FIELDS = ['id', 'operation_status'] as const;
/** `operation_status.code` of an audience flagged for integrity restrictions (Custom Audience reference, from 2025-09-02). */
export const FLAGGED_OPERATION_STATUS = 471;

export interface ErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly code: number;
    readonly error_subcode?: number;
    readonly error_user_title?: string;
    readonly error_user_msg?: string;
    readonly fbtrace_id: string;
  };
}

/** Most rows in one request ("only a maximum of 10000 at a time", Custom Audience Users reference). */
export const MAX_ROWS = 10_000;

/**
 * Longest URL of a removal. The official SDKs send DELETE parameters in the query string (the Node SDK's
 * FacebookAdsApi.call), so a removal's rows travel in its URL. Meta documents no URL limit; removals of 1,000 to
 * 2,000 single-key rows (70 to 140 kB of URL) are reported to fail (facebook-java-business-sdk#179 and #345,
 * facebook-python-business-sdk#367). The adapter splits a removal into requests whose URL stays under this bound.
 */
export const MAX_DELETE_URL_CHARS = 48_000;

// ---- errors ----

/**
 * Calls an hour on the custom audience endpoints per ad account, by the app's Marketing API access tier (as
 * destinations/README.md states them: 190,000 at the standard tier, 5,000 in development).
 */
export const CALLS_PER_HOUR = { standard: 190_000, development: 5_000 } as const;

/** Throttling codes: application (4), user (17), custom-level (613), ads management business use case (80000–80014). */
export const THROTTLE_CODES: ReadonlySet<number> = new Set([4, 17, 32, 613, 80000, 80003, 80004, 80014]);
/** Transient failures: retry later (Error Codes reference: 1 unknown error, 2 service unavailable). */
export const TRANSIENT_CODES: ReadonlySet<number> = new Set([1, 2]);
export const BUSINESS_USAGE_HEADER = 'x-business-use-case-usage';

/** `(#2635) You are calling a deprecated version of the Ads API. Please update to the latest version: vXX.0.` (HTTP 400, OAuthException). Source: "Upcoming change in Marketing API version deprecation", Meta developer blog, 2024-04-16. */
export const VERSION_EXPIRED_CODE = 2635;
/** With code 100: the audience is flagged for integrity restrictions ("Audience Upload Blocked"); no write passes until resolved (Custom Audience Users reference). */
export const FLAGGED_SUBCODE = 1713230;
/** With code 100: "Unsupported post request": the object does not exist or the token's system user is not on the ad account owning it (Error Codes reference). */
export const UNSUPPORTED_REQUEST_SUBCODE = 33;
/** "(#2663) Terms of service has not been accepted. To accept, go to …customaudiences/app/tos/?act=…" (2655 in older answers). Sources: facebook-nodejs-business-sdk#26, facebook-php-business-sdk#43; Custom Audience reference: "business users must first sign our Terms Of Service". */
export const TERMS_CODES: ReadonlySet<number> = new Set([2663, 2655]);

/**
 * Answers that no retry, wait or smaller batch can change: the sync stops after the first one, naming the cause and
 * the fix. `auth` ones are credentials problems (AuthError), the others StopSyncError. Codes from the Marketing API
 * Error Codes reference (https://developers.facebook.com/documentation/ads-commerce/marketing-api/error-reference,
 * updated 2025-12-11) and the Custom Audience Users reference; the rest as cited on each constant.
 */
export interface StopAnswer {
  readonly kind: 'auth' | 'stop';
  readonly cause: string;
  readonly fix: string;
}

export function stopAnswer(code: number, subcode: number | undefined, status: number): StopAnswer | undefined {
  if (code === VERSION_EXPIRED_CODE) {
    return { kind: 'stop', cause: 'the Marketing API version is expired (Meta no longer serves it)', fix: `set the destination's api_version to a supported version (${LATEST_API_VERSION} is the newest Tideline knows), or leave it out for the default ${DEFAULT_API_VERSION}` };
  }
  if (code === 190 || code === 102) return { kind: 'auth', cause: 'the access token is invalid or expired (credentials refused)', fix: "renew the destination's access_token (a system-user token with ads_management)" };
  if (code === 10 || (code >= 200 && code <= 299)) {
    return { kind: 'auth', cause: 'the token lacks a permission for this call', fix: 'give the token ads_management and make its system user an admin of the ad account that owns the audience' };
  }
  if (code === 3) return { kind: 'stop', cause: 'the app is not allowed to call this method (Marketing API access not granted)', fix: 'add the Marketing API product to the app and request ads_management access for it' };
  if (code === 100 && subcode === FLAGGED_SUBCODE) {
    return { kind: 'stop', cause: 'the audience is flagged for integrity restrictions (Audience Upload Blocked)', fix: 'resolve or appeal the restrictions in Audience Manager, or sync to a new audience' };
  }
  if ((code === 100 && subcode === UNSUPPORTED_REQUEST_SUBCODE) || code === 803 || status === 404) {
    return { kind: 'stop', cause: 'the audience or dataset does not exist or this token cannot reach it', fix: "check the sync's object (the custom audience id, or dataset:<id>) and that the token's system user is an admin of the ad account or business owning it" };
  }
  if (TERMS_CODES.has(code)) return { kind: 'stop', cause: 'the Custom Audience terms of service are not accepted for this ad account', fix: 'accept them in Ads Manager (business.facebook.com/ads/manage/customaudiences/tos/?act=<ad account id>), then run the sync again' };
  if (code === 368) return { kind: 'stop', cause: 'Meta deemed the action abusive or otherwise disallowed (policy)', fix: "review the ad account's status and Meta's advertising policies in Account Quality" };
  if (code === 2650) return { kind: 'stop', cause: 'Meta failed to update the custom audience (its data source or type does not take customer list rows)', fix: 'sync to a customer list custom audience (subtype CUSTOM, customer_file_source set)' };
  return undefined;
}

/**
 * Minutes until access is regained, from `X-Business-Use-Case-Usage`
 * (`{"<account>":[{"type","call_count","total_cputime","total_time","estimated_time_to_regain_access"}]}`), as
 * milliseconds: the largest over every entry; undefined when the header is absent, unreadable or says 0.
 */
export function regainAccessMs(header: string | null): number | undefined {
  if (!header) return undefined;
  try {
    const usage = JSON.parse(header) as Record<string, { estimated_time_to_regain_access?: number }[]>;
    const minutes = Math.max(0, ...Object.values(usage).flatMap((entries) => entries.map((e) => Number(e.estimated_time_to_regain_access ?? 0) || 0)));
    return minutes > 0 ? minutes * 60_000 : undefined;
  } catch {
    return undefined;
  }
}

// ---- Conversions API (events) ----

/**
 * The Conversions API, the `events` mode: `POST /{api_version}/{dataset_id}/events` with `data` (an array of server
 * events) and an optional `test_event_code`, the access token in the query string. Facts read on 2026-12-07 from:
 *  - "Using the API" (updated 2026-02-06), https://developers.facebook.com/documentation/ads-commerce/conversions-api/using-the-api:
 *    "You can send up to 1,000 events in `data`"; "If any event you send in a batch is invalid, we reject the entire
 *    batch"; "The event_time can be up to 7 days before you send an event to Meta. If any event_time in data is
 *    greater than 7 days in the past, we return an error for the entire request and process no events. For offline
 *    and physical store events with `physical_store` as `action_source`, you should upload transactions within 62
 *    days of the conversion"; the Test Events tool's `test_event_code` ("events sent with test_event_code are not
 *    dropped"); "every version is supported for at least two years" (the Conversions API follows the Graph API's
 *    schedule; the emulator applies the shorter Marketing API table, see below).
 *  - "Server Event Parameters" (updated 2026-02-12), https://developers.facebook.com/documentation/ads-commerce/conversions-api/parameters/server-event:
 *    event_name, event_time (Unix seconds, GMT), user_data and action_source required; event_id, event_source_url,
 *    custom_data optional; action_source one of ACTION_SOURCES; website events also need client_user_agent and
 *    event_source_url ("Parameters" page, v25.0).
 *  - "Customer Information Parameters" and Meta Pixel Advanced Matching's reference: em, ph, fn, ln, ge, db, ct, st,
 *    zp, country are SHA-256 of their normalised value; external_id is "any unique ID from the advertiser" (hashing
 *    optional: sent as it is, as the official SDK and Custom Audiences' EXTERN_ID do); client_ip_address,
 *    client_user_agent, fbc and fbp are never hashed.
 *  - "Handling Duplicate Pixel and Conversions API Events" (DEDUPLICATION below).
 *  - The official Node SDK (facebook-nodejs-business-sdk 24.0.1): the keys its ServerEvent, UserData, CustomData and
 *    EventRequest send (tests read them from the SDK, sdk-definitions.ts) and its EventResponse
 *    (`events_received`, `messages`, `fbtrace_id`).
 * Versions: the events edge follows the Graph API's schedule (GRAPH_API_VERSIONS), longer than the Marketing API's.
 */
export const EVENTS_SOURCE = 'https://developers.facebook.com/documentation/ads-commerce/conversions-api/using-the-api (updated 2026-02-06, read 2026-12-07)';

/** The object of an events sync: `dataset:<dataset id>` (the dataset, formerly pixel, id of Events Manager). */
export const DATASET_OBJECT = /^dataset:(\d+)$/;

/** Most events in one request ("You can send up to 1,000 events in data"). */
export const MAX_EVENTS = 1_000;

/** `action_source` values (Server Event Parameters). */
export const ACTION_SOURCES = ['email', 'website', 'app', 'phone_call', 'chat', 'physical_store', 'system_generated', 'business_messaging', 'other'] as const;
export type ActionSource = (typeof ACTION_SOURCES)[number];

/** Oldest event_time Meta accepts, in days before the request: 7; 62 for `physical_store` events (EVENTS_SOURCE). */
export const MAX_AGE_DAYS = 7;
export const PHYSICAL_STORE_MAX_AGE_DAYS = 62;
export function maxEventAgeDays(actionSource: string | undefined): number {
  return actionSource === 'physical_store' ? PHYSICAL_STORE_MAX_AGE_DAYS : MAX_AGE_DAYS;
}

/**
 * With code 100: "Event Timestamp Too Old" — an event_time past the window refuses the whole request. Meta's pages
 * give the rule, not the subcode; the subcode is as integrators report Meta's answer (error_user_title
 * "Event Timestamp Too Old").
 */
export const TIMESTAMP_TOO_OLD_SUBCODE = 2_804_003;

/*
 * How Meta drops an event it receives twice. Meta de-duplicates by `event_id` + `event_name` between a browser (or
 * app) event and a server event received within 48 hours, keeping the first; it documents no de-duplication of two
 * server events: "If you send us two consecutive server events with the same information, we do not discard either"
 * (Handling Duplicate Pixel and Conversions API Events, https://developers.facebook.com/documentation/ads-commerce/conversions-api/deduplicate-pixel-and-server-events, updated 2023-01-25, read 2026-12-07).
 * Tideline therefore counts on its own sent-event state for server events (the destination declares no
 * de-duplication), and the emulator keeps every copy.
 */

/** user_data keys sent as SHA-256 lower-case hex of their normalised value, with the sync field filling each. */
export const HASHED_USER_DATA = {
  em: 'email',
  ph: 'phone',
  fn: 'first_name',
  ln: 'last_name',
  ct: 'city',
  st: 'state',
  zp: 'postal_code',
  country: 'country_code',
  ge: 'gender',
} as const satisfies Record<string, IdentifierField>;
/** user_data keys sent as they are (never hashed), each filled by the sync field of the same name. */
export const PLAIN_USER_DATA = ['external_id', 'client_ip_address', 'client_user_agent', 'fbc', 'fbp'] as const;
/** Every user_data key Meta hashes (the SDK's hashed keys, beyond those Tideline fills): a value must be 64 hex. */
export const HASHED_USER_DATA_KEYS: ReadonlySet<string> = new Set(['em', 'ph', 'fn', 'ln', 'ge', 'db', 'ct', 'st', 'zp', 'country', 'f5first', 'f5last', 'fi', 'dobd', 'dobm', 'doby']);

/** custom_data keys a sync fills, by the sync field of the same name; numbers where Meta takes numbers. */
export const CUSTOM_DATA_FIELDS = ['value', 'currency', 'order_id', 'predicted_ltv', 'num_items', 'content_name', 'content_category', 'content_type', 'content_ids'] as const;
export const NUMERIC_CUSTOM_DATA: ReadonlySet<string> = new Set(['value', 'predicted_ltv', 'num_items']);

/** Server event keys a sync fills besides name, time and id: `action_source` (required) and `event_source_url`. */
export const EVENT_LEVEL_FIELDS = ['action_source', 'event_source_url'] as const;

/** Every field an events sync may map. */
export const EVENT_SYNC_FIELDS: readonly string[] = [...Object.values(HASHED_USER_DATA), ...PLAIN_USER_DATA, ...CUSTOM_DATA_FIELDS, ...EVENT_LEVEL_FIELDS];

/** Keys the documented pages name, used by the emulator when no SDK definitions are given. */
export const DOCUMENTED_EVENT_KEYS: ReadonlySet<string> = new Set(['event_name', 'event_time', 'user_data', 'custom_data', 'action_source', 'event_id', 'event_source_url', 'opt_out', 'data_processing_options', 'data_processing_options_country', 'data_processing_options_state', 'app_data', 'original_event_data', 'attribution_data', 'messaging_channel']);
export const DOCUMENTED_EVENTS_PARAMS: ReadonlySet<string> = new Set(['data', 'test_event_code', 'partner_agent', 'namespace_id', 'upload_id', 'upload_tag', 'upload_source', 'access_token', 'appsecret_proof']);

/** The answer of the events edge (the SDK's EventResponse). */
export interface EventsResponse {
  readonly events_received: number;
  readonly messages: readonly string[];
  readonly fbtrace_id: string;
}

// ---- erasure (`tideline forget`), read 2026-12-07 ----

/**
 * A custom audience member is erased by removing them: `DELETE /{audience_id}/users` with the rows they were added
 * with (Custom Audience Users reference, above). Meta keeps nothing else of the upload: "After your Custom Audience
 * is created, the matched and unmatched hashed information is deleted" (About hashing customer information,
 * https://www.facebook.com/business/help/112061095610075). Meta documents no error for removing someone the audience
 * does not hold: the answer is the same `{audience_id, session_id, num_received, num_invalid_entries,
 * invalid_entry_samples}`, which is how a second erasure is answered.
 */
export const MEMBER_ERASURE = 'Marketing API custom audience member removal with the hashed keys Tideline kept: DELETE /{audience_id}/users (developers.facebook.com/documentation/ads-commerce/marketing-api/reference/custom-audience/users)';

/**
 * Server events cannot be erased through the API. The dataset (AdsPixel) of the official Business SDK
 * (facebook-nodejs-business-sdk 24.0.1, src/objects/ads-pixel.js) has `createEvent` on its events edge and no
 * deletion of events; the Conversions API pages describe sending events only
 * (https://developers.facebook.com/documentation/ads-commerce/conversions-api/using-the-api). The "data deletion
 * request callback" of Meta's platform is Meta telling an app that one of its users asked for deletion, not a way to
 * delete events sent to a dataset. What Meta may do with Event Data is set by the Meta Business Tools Terms
 * (https://www.facebook.com/legal/technology_terms), under which Contact Information is hashed and used for matching.
 */
export const EVENTS_ERASURE =
  "Meta's Conversions API cannot delete events already sent to a dataset (the dataset's events edge only takes new events: developers.facebook.com/documentation/ads-commerce/conversions-api/using-the-api). For the events already sent, Meta used the hashed contact information for matching under the Meta Business Tools Terms (facebook.com/legal/technology_terms); to ask Meta to delete them, contact Meta through Meta Business Help Centre support (facebook.com/business/help) naming the dataset and the ids of the person's events.";
