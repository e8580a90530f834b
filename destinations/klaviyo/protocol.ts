import type { CountryCode } from 'libphonenumber-js';
import { parsePhoneNumberFromString } from '../phone-numbers.js';
import type { ApiVersion } from '../kit/index.js';

/**
 * What Tideline relies on in Klaviyo's JSON:API (https://a.klaviyo.com/api, `revision` header), with where each fact
 * comes from. The adapter and the emulator import these; a fact that changes changes here. Checked 2026-12-06 against
 * the reference pages of revision 2026-10-15 (https://developers.klaviyo.com/en/reference/<operation>.md, each
 * naming its revision, rate tier and OpenAPI document).
 */

/**
 * The revision sent by default: 2026-10-15, the current stable one ("Revision 2026-10-15 (GA)" in
 * https://developers.klaviyo.com/en/docs/changelog_; every reference page used below is published for it). Moving from
 * 2025-10-15: the reference pages of 2026-10-15 give the operations Tideline calls (Bulk Import Profiles, Get Bulk
 * Import Profiles Job, Get Errors for Bulk Import Profiles Job, Get Profiles, Get List, Remove Profiles from List,
 * Bulk Subscribe Profiles) the same paths, bodies and rate tiers, and the changelog entries of 2026-01-15 to
 * 2026-10-15 read here name no breaking change to them (2026-07-15: Custom Objects GA, conversations on profiles;
 * 2026-10-15: Brands and Text Messaging APIs GA). One documented behaviour matters to a sync: Bulk Import Profiles
 * does not clear a field sent as null ("Clearing fields with null values",
 * https://developers.klaviyo.com/en/docs/use_klaviyos_bulk_profile_import_api) — nulls are not sent (see profileOf).
 */
export const KLAVIYO_REVISION = '2026-10-15';

export const REVISION_POLICY_SOURCE =
  'https://developers.klaviyo.com/en/docs/api_versioning_and_deprecation_policy (read 2026-12-06: a revision is stable for a year, deprecated the second year, retired two years after its date: answered 410 or moved forward)';

/** A revision's life: stable a year from its date, deprecated the second year, retired two years after its date. */
export function revisionDates(revision: string): { readonly deprecated: string; readonly retired: string } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(revision);
  if (!m) return undefined;
  const plus = (years: number) => `${Number(m[1]) + years}-${m[2]}-${m[3]}`;
  return { deprecated: plus(1), retired: plus(2) };
}

/**
 * The revision a config sends, with its end of support (`sunset`: the day it is retired). The default 2026-10-15 is
 * stable until 2027-10-15, deprecated from then, retired on 2028-10-15; 2025-10-15 (the earlier default) has been
 * deprecated since 2026-10-15 and is retired on 2027-10-15. A `.pre` (beta) revision carries no support promise: no
 * sunset is declared for it. ApiVersion has no field for the deprecation day: it is in `source`.
 */
export function klaviyoRevision(revision: string): ApiVersion {
  const dates = revisionDates(revision);
  return {
    version: revision,
    sunset: dates?.retired,
    source: dates ? `${REVISION_POLICY_SOURCE}; ${revision} is deprecated from ${dates.deprecated}` : REVISION_POLICY_SOURCE,
  };
}

/**
 * The vendor schema the contract suite checks exchanges against: the models of Klaviyo's official SDK, klaviyo-api
 * 23.0.0, generated from Klaviyo's OpenAPI document of revision 2026-07-15 — one revision behind the default. Close
 * enough for what it checks: the changelog of 2026-10-15 names no change to the bodies of the operations in
 * SCHEMA_OPERATIONS, and their reference pages of 2026-10-15 show the same fields. A newer SDK replaces it without
 * other change (its operation → model names come from the SDK's own api/*.js).
 */
export const SCHEMA_PACKAGE = 'klaviyo-api/dist/model/models.js';
export const SCHEMA_SOURCE = 'klaviyo-api 23.0.0 (models of revision 2026-07-15)';

export const KLAVIYO_BASE_URL = 'https://a.klaviyo.com';

/** Every request: `Authorization: Klaviyo-API-Key <private key>` and `revision`; JSON:API bodies. */
export const AUTH_SCHEME = 'Klaviyo-API-Key';
export const CONTENT_TYPE = 'application/vnd.api+json';

/** The operations Tideline calls (method and path; `{id}` an id). */
export const PATHS = {
  /** Bulk Import Profiles: ≤ 10,000 profiles, ≤ 5 MB; answers 202 and the job. */
  importJobs: '/api/profile-bulk-import-jobs',
  importJob: (id: string) => `/api/profile-bulk-import-jobs/${id}`,
  importErrors: (id: string) => `/api/profile-bulk-import-jobs/${id}/import-errors`,
  /** Get Profiles (`filter=any(email,[…])`, `page[size]` ≤ 100). */
  profiles: '/api/profiles',
  list: (id: string) => `/api/lists/${id}`,
  /** Remove Profiles from List (DELETE, ≤ 1,000 profile ids). */
  listProfiles: (id: string) => `/api/lists/${id}/relationships/profiles`,
  /** Bulk Subscribe Profiles: ≤ 1,000 profiles; answers 202 without a body. */
  subscribeJobs: '/api/profile-subscription-bulk-create-jobs',
  /** Bulk Create Events: ≤ 1,000 events, ≤ 5 MB; answers 202 without a body (EVENT_JOB). */
  eventJobs: '/api/event-bulk-create-jobs',
  /** Request Profile Deletion: one profile (by email, phone_number or id) a request; 202 without a body (DELETION). */
  deletionJobs: '/api/data-privacy-deletion-jobs',
} as const;

/**
 * Erasure (`tideline forget`): Request Profile Deletion, `POST /api/data-privacy-deletion-jobs`, scope
 * data-privacy:write, revision 2026-10-15 (https://developers.klaviyo.com/en/reference/request_profile_deletion, read
 * 2026-12-07; the same in Klaviyo's OpenAPI document openapi/stable/apis/request_profile_deletion.json,
 * github.com/klaviyo/openapi at 04ab68f, and in klaviyo-api 23.0.0's DataPrivacyApi.requestProfileDeletion):
 * - the body is `{data: {type: 'data-privacy-deletion-job', attributes: {profile: {data: {type: 'profile', id?,
 *   attributes: {email?, phone_number?}}}}}}` (DataPrivacyCreateDeletionJobQuery: `attributes` is required, an
 *   id-only request sends it empty). "Request a deletion for the profiles corresponding to one of the following
 *   identifiers: email, phone_number, or id. If multiple identifiers are provided, we will return an error. All
 *   profiles that match the provided identifier will be deleted." There is no external_id: a profile known by its
 *   external_id is first looked up (Get Profiles, `any(external_id,[…])`) and deleted by its id. The emulator refuses
 *   two identifiers, none, or an attribute the schema does not declare (400, as for any resource: ACCEPTED_ATTRIBUTES).
 * - "The deletion occurs asynchronously"; the answer is 202 without a body, or a 4XX ClientError document. Klaviyo does
 *   not document its answer for an identifier no profile has. The emulator answers 202 (the request is accepted and
 *   finds nothing to delete: the document names no refusal of it); the adapter also takes a 404 as "nothing to
 *   delete", so that a re-run after a crash completes whichever Klaviyo answers.
 * - rate limits: burst 3/s, steady 60/m (the page's rateLimits): stricter than the import tier, so the emulator limits
 *   this endpoint on its own and the adapter waits out its 429s (Retry-After) rather than re-sending a batch.
 * - what it deletes: "Once you delete a profile, the action cannot be undone, and the profile will be permanently
 *   erased from your Klaviyo instance. When a profile is deleted via API, a GDPR deletion is performed"
 *   (https://developers.klaviyo.com/en/reference/data_privacy_api_overview); "For a profile's event history, any
 *   customer-specific information is replaced with the word 'redacted', and then the customer's information is
 *   permanently deleted from Klaviyo" (https://help.klaviyo.com/hc/en-us/articles/360004217631, read 2026-12-07): the
 *   profile goes, with its list memberships and consent; its events stay as anonymous counts of their metric. The
 *   emulator deletes the profile, its memberships and subscriptions, and keeps each of its events as such a redacted
 *   record (metric and time, no profile, unique_id or properties), which no longer belongs to anybody.
 */
export const DELETION = { type: 'data-privacy-deletion-job', burst: 3, steadyPerMinute: 60 } as const;
export const DELETION_METHOD = 'Klaviyo Request Profile Deletion: POST /api/data-privacy-deletion-jobs (developers.klaviyo.com/en/reference/request_profile_deletion)';
/** The identifiers Request Profile Deletion takes, besides the profile id. */
export const DELETION_IDENTIFIERS = ['email', 'phone_number'] as const;

/**
 * Bulk Import Profiles: "up to 10,000 profiles" per job and a payload of at most 5 MB, each profile at most 100 KB
 * (https://developers.klaviyo.com/en/reference/bulk_import_profiles, Bulk Import Profiles API guide).
 */
export const MAX_JOB_PROFILES = 10_000;
export const MAX_PROFILE_BYTES = 100 * 1024;
export const MAX_JOB_BYTES = 5 * 1024 * 1024;

/** Remove Profiles from List: "a maximum of 1000 profiles per call" (https://developers.klaviyo.com/en/reference/remove_profiles_from_list). */
export const LIST_IDS_PER_REQUEST = 1_000;

/**
 * Get Profiles filters `email`, `phone_number`, `external_id` with `any`; `page[size]` is 1 to 100
 * (https://developers.klaviyo.com/en/reference/get_profiles). Looking up at most a page's worth of values at a time
 * means one page holds every match: no pagination.
 */
export const LOOKUP_VALUES_PER_REQUEST = 100;

/**
 * Bulk Subscribe Profiles: "Maximum number of profiles can be submitted for subscription: 1000"; consent is
 * `SUBSCRIBED` (the SDK's SubscriptionParameters.ConsentEnum); SMS needs `phone_number` in E.164 and a sending number
 * for the number's country, else the request is refused (400); a list with double opt-in sends a confirmation first
 * (https://developers.klaviyo.com/en/reference/bulk_subscribe_profiles; "Collect email and SMS consent via API",
 * https://developers.klaviyo.com/en/docs/collect_email_and_sms_consent_via_api; Klaviyo community answer on the
 * 2024-05-15 validation, https://community.klaviyo.com/topic/show?fid=64&tid=12192).
 */
export const SUBSCRIBE_PROFILES_PER_REQUEST = 1_000;
export const SUBSCRIBED = 'SUBSCRIBED';

/**
 * Klaviyo's rate limits: per account and per endpoint, fixed windows of a second (burst) and a minute (steady).
 * Bulk Import Profiles, Get Bulk Import Profiles Job, its errors and Remove Profiles from List are in the tier of
 * 10/s and 150/m; Get Profiles, Get List and Bulk Subscribe Profiles in 75/s and 750/m (the `rateLimits` of each
 * reference page; "Rate limits, status codes, and errors",
 * https://developers.klaviyo.com/en/docs/rate_limits_and_error_handling). A 429 carries Retry-After (seconds).
 */
export const IMPORT_RATE_LIMIT = { burst: 10, steadyPerMinute: 150 } as const;
export const SUBSCRIBE_RATE_LIMIT = { burst: 75, steadyPerMinute: 750 } as const;

/**
 * Bulk Create Events (`POST /api/event-bulk-create-jobs`, scope events:write), revision 2026-10-15
 * (https://developers.klaviyo.com/en/reference/bulk_create_events, read 2026-12-07; the same text in klaviyo-api
 * 23.0.0's EventsApi.bulkCreateEvents and in Klaviyo's OpenAPI document openapi/stable/apis/bulk_create_events.json,
 * github.com/klaviyo/openapi at f0a30ba, 2026-07-23):
 * - "Accepts up to 1,000 events per request. The maximum allowed payload size is 5MB. A single string cannot exceed
 *   100KB." Rate limits: burst 10/s, steady 150/m — the tier of Bulk Import Profiles (IMPORT_RATE_LIMIT).
 * - The body is one entry (`event-bulk-create`) per profile — the profile (`OnsiteProfileCreateQueryResourceObject`:
 *   identifiers and profile attributes; "at least one profile identifier (e.g., id, email, or phone_number)") and its
 *   events (`event`: `properties` (required), `time`, `value`, `value_currency`, `unique_id`, `metric` with its
 *   `name`). The endpoint "allows you to create new profiles or update existing profile properties".
 * - `properties` "must not exceed 400 properties"; `time` "is truncated to the second. The time must be after the
 *   year 1990 and can only be up to 1 year in the future"; the metric name "must be less than 128 characters".
 * - `unique_id`: "If a unique_id is repeated for the same profile and metric, the request will fail and no events
 *   will be processed. If this field is not present, this field will use the time to the second." The request is
 *   all or nothing: its answer is 202 without a body, or a 4XX error document (ClientError: `errors[]` with `id`,
 *   `code`, `title`, `detail`, `source.pointer`) and nothing processed. There is no job to read afterwards (no
 *   Get operation for event-bulk-create-jobs in the document): a refused event refuses its request, which the
 *   engine halves down to the event.
 * - De-duplication across requests: Create Event documents it — "If the unique_id is repeated for the same profile
 *   and metric, only the first processed event will be recorded"
 *   (https://developers.klaviyo.com/en/reference/create_event, EventCreateQueryV2ResourceObjectAttributes.unique_id
 *   in klaviyo-api 23.0.0), and the Events API overview recommends a unique_id per event "to avoid event loss"
 *   (https://developers.klaviyo.com/en/reference/events_api_overview#data-model). Both endpoints write the same
 *   events; a live probe published with walkerOS (github.com/elbwalker/walkerOS pull 709, 2026-08-18) recorded one
 *   event of two sends with the same unique_id.
 * - No maximum age is documented: any time after 1990 is taken.
 */
export const EVENT_JOB = {
  maxEvents: 1_000,
  maxBytes: 5 * 1024 * 1024,
  maxStringBytes: 100 * 1024,
  maxProperties: 400,
  maxMetricName: 127,
  earliest: '1990-01-01T00:00:00Z',
  maxFutureDays: 365,
} as const;

/** What DestinationType.events.deduplication says of Klaviyo (EVENT_JOB). */
export const EVENT_DEDUPLICATION =
  'Klaviyo records an event whose unique_id repeats one it holds for the same profile and metric only once ("only the first processed event will be recorded", https://developers.klaviyo.com/en/reference/create_event, read 2026-12-07)';

/** Identifiers a profile can be matched by: the key of a Klaviyo sync is one of them. */
export const IDENTIFIERS = ['email', 'phone_number', 'external_id'] as const;
export type Identifier = (typeof IDENTIFIERS)[number];

/** Top-level profile attributes besides the identifiers (ProfileUpsertQueryResourceObjectAttributes). */
export const PROFILE_ATTRIBUTES = ['first_name', 'last_name', 'organization', 'locale', 'title', 'image'] as const;

/** Keys of `location`; a sync writes them as `location.city` etc. */
export const LOCATION_ATTRIBUTES = ['address1', 'address2', 'city', 'country', 'region', 'zip', 'timezone', 'ip', 'latitude', 'longitude'] as const;

/** Every attribute name the profile resource accepts (what the emulator validates against). */
export const ACCEPTED_ATTRIBUTES: ReadonlySet<string> = new Set([...IDENTIFIERS, ...PROFILE_ATTRIBUTES, 'location', 'properties', 'anonymous_id', '_kx']);

export const isIdentifier = (name: string): name is Identifier => (IDENTIFIERS as readonly string[]).includes(name);

/** A phone number in E.164 (`+14155552671`), or undefined when it is not a valid number. */
export function toE164(value: string, defaultCountry: string | undefined): string | undefined {
  const parsed = parsePhoneNumberFromString(value, defaultCountry as CountryCode | undefined);
  return parsed?.isValid() ? parsed.number : undefined;
}

/** The country of an E.164 number (`FR`), for the emulator's sending numbers. */
export function phoneCountry(e164: string): string | undefined {
  return parsePhoneNumberFromString(e164)?.country;
}

export const E164 = /^\+[1-9]\d{6,14}$/;

/** A JSON:API error object, as every Klaviyo error response lists them (the SDK's GetAccounts4XXResponse). */
export interface KlaviyoError {
  readonly id?: string;
  readonly status?: number;
  readonly code?: string;
  readonly title?: string;
  readonly detail?: string;
  readonly source?: { readonly pointer?: string; readonly parameter?: string };
}

export interface ImportJob {
  readonly type: 'profile-bulk-import-job';
  readonly id: string;
  readonly attributes: {
    readonly status: 'queued' | 'processing' | 'complete' | 'cancelled';
    readonly total_count: number;
    readonly completed_count: number;
    readonly failed_count: number;
    readonly created_at: string;
    readonly completed_at: string | null;
  };
}

export interface ImportError {
  readonly type: 'import-error';
  readonly id: string;
  readonly attributes: {
    readonly code: string;
    readonly title: string;
    readonly detail: string;
    readonly source: { readonly pointer: string };
    readonly original_payload: Readonly<Record<string, unknown>>;
  };
}
