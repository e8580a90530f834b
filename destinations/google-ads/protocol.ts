import { sunsetPassed, type ApiVersion } from '../destination.js';

/**
 * Google Ads through the Data Manager API (REST, `https://datamanager.googleapis.com/v1`), the slice Customer Match
 * and offline conversions use: facts shared by the adapter and its emulator, each with its source (read 2026-12-06).
 *
 * Why the Data Manager API and not the Google Ads API:
 *  - Google Ads API v21 was switched off on 2026-08-05 and v22 on 2026-10-07: "all v21 API requests will begin to
 *    fail" (https://developers.google.com/ads/blog/posts/2026/06/google-ads-api-v21-sunset-reminder,
 *    https://developers.google.com/ads/blog/posts/2026/09/google-ads-api-v22-sunset-reminder).
 *  - Since 2026-04-01 the Google Ads API takes no new adopters of Customer Match, and since 2026-06-15 none of
 *    offline (click) conversion imports; developer tokens not on the allowlist get CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE,
 *    and Google names the Data Manager API as the path for both
 *    (https://developers.google.com/ads/blog/posts/2026/03/changes-to-customer-match-support-in,
 *    https://developers.google.com/ads/blog/posts/2026/05/changes-to-offline-click-conversion).
 *  - The Data Manager API has an equivalent for everything Tideline did there — member ingestion and removal, removal
 *    of all members, user lists (UserListService), offline conversion events — and needs no developer token
 *    (https://developers.google.com/data-manager/api/devguides/audiences/google-ads/customer-match/upgrade). Tideline
 *    therefore calls no Google Ads API version at all.
 *
 * The message definitions are Google's: the emulator validates every request and answer against the protos of
 * `@google-ads/datamanager` (a dev dependency). The types below are the proto3 JSON form of the messages Tideline
 * sends and reads, lowerCamel field names, enums by name.
 */

/** Data Manager API versions. v1 is the only one published; Google has announced no sunset for it. */
export const DATA_MANAGER_VERSIONS: readonly ApiVersion[] = [
  {
    version: 'v1',
    sunset: undefined,
    source:
      'https://developers.google.com/data-manager/api/reference/rest (v1 is the only version; no deprecation or sunset announced as of 2026-12-06; protos google.ads.datamanager.v1 in @google-ads/datamanager 0.3.0)',
  },
];
export const DEFAULT_VERSION = 'v1';

/** Whether Google serves a version on `day` (YYYY-MM-DD): declared, and before its sunset when one is announced. */
export function versionServed(versions: readonly ApiVersion[], version: string, day: string): boolean {
  const declared = versions.find((v) => v.version === version);
  return declared !== undefined && !sunsetPassed(declared, day);
}

export const ENDPOINT = 'https://datamanager.googleapis.com';
/** OAuth scope of every Data Manager API method (ingestion_service.proto, user_list_service.proto: oauth_scopes). */
export const SCOPE = 'https://www.googleapis.com/auth/datamanager';
/**
 * Google's OAuth 2.0 token endpoint. google-auth-library 10 sends refresh-token grants to `endpoints.oauth2TokenUrl`
 * (configurable) but service-account JWT grants to this fixed URL (build/src/gtoken/getToken.js), which is also the
 * JWT's `aud` claim (gtoken/jwsSign.js).
 */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/**
 * The header naming the manager account (`accountTypes/GOOGLE_ADS/accounts/<id>`) a UserListService request goes
 * through, when the credentials reach the operating account through one; the emulator checks it against the list's
 * owner. Ingestion requests name it in the body instead (Destination.loginAccount).
 */
export const LOGIN_ACCOUNT_HEADER = 'login-account';
export const loginAccountName = (customerId: string): string => `accountTypes/GOOGLE_ADS/accounts/${customerId}`;

/** REST paths (google.api.http options of the services in the protos; removeAll: the REST reference, see below). */
export const PATHS = {
  ingestMembers: '/audienceMembers:ingest',
  removeMembers: '/audienceMembers:remove',
  /**
   * `audienceMembers:removeAll` (RemoveAllAudienceMembersRequest: `destinations`, `removeAsOfTime`, `validateOnly`),
   * released 2026-07-30 (https://developers.google.com/ads/blog/posts/2026/07/data-manager-api-updates;
   * https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/removeAll). Not yet in the
   * protos of @google-ads/datamanager 0.3.0 (2026-06-01), the newest on npm: the emulator composes its message from
   * the documented fields and the published Destination and Timestamp types until the package carries it.
   */
  removeAllMembers: '/audienceMembers:removeAll',
  ingestEvents: '/events:ingest',
  requestStatus: '/requestStatus:retrieve',
  /** GET, UserListService.GetUserList. */
  userList: (account: string, list: string) => `/accountTypes/GOOGLE_ADS/accounts/${account}/userLists/${list}`,
} as const;

/**
 * Per-request limits and project quotas (https://developers.google.com/data-manager/api/devguides/limits): at most
 * 10,000 AudienceMember per ingest or remove request, 2,000 Event per events request, 10 user identifiers in the
 * UserData of a member or an event, 10 destinations; 300 requests a minute and 100,000 a day per Google Cloud project
 * for IngestionService writes (reads counted apart), answered RESOURCE_EXHAUSTED / 429 beyond.
 */
export const LIMITS = {
  membersPerRequest: 10_000,
  eventsPerRequest: 2_000,
  identifiersPerUser: 10,
  destinationsPerRequest: 10,
  requestsPerMinute: 300,
} as const;

/**
 * User data formatting (https://developers.google.com/data-manager/api/devguides/concepts/formatting): every
 * identifier but region and postal code is SHA-256, here hex-encoded (request `encoding: HEX`, "required for
 * UserData uploads", ingestion_service.proto). The normalisation rules live with the other platforms' in
 * destinations/ads-identifiers.ts (GOOGLE).
 */
export const ENCODING = 'HEX';
export const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
/** AddressInfo.region_code: "The 2-letter region code in ISO-3166-1 alpha-2" (user_data.proto). */
export const REGION_CODE = /^[A-Z]{2}$/;
/** Event.currency: an ISO 4217 code (INVALID_CURRENCY_CODE, error.proto). */
export const CURRENCY_CODE = /^[A-Z]{3}$/;

// ---- messages (proto3 JSON) ----

export type ConsentStatus = 'CONSENT_STATUS_UNSPECIFIED' | 'CONSENT_GRANTED' | 'CONSENT_DENIED';

/** DMA consent (consent.proto); a member's or an event's own consent overrides the request's. */
export interface Consent {
  readonly adUserData?: ConsentStatus;
  readonly adPersonalization?: ConsentStatus;
}

export interface ProductAccount {
  readonly accountId: string;
  readonly accountType: 'GOOGLE_ADS';
}

/**
 * Where data goes (destination.proto): the operating account (for conversions, the Google Ads account that owns the
 * conversion action — https://developers.google.com/data-manager/api/devguides/events/google-ads/offline/upgrade),
 * the login account when the credentials reach it through a manager, and the user list or conversion action id.
 */
export interface Destination {
  readonly operatingAccount: ProductAccount;
  readonly loginAccount?: ProductAccount;
  readonly productDestinationId: string;
}

export interface AddressInfo {
  readonly givenName: string;
  readonly familyName: string;
  readonly regionCode: string;
  readonly postalCode: string;
}

/** Exactly one identifier (user_data.proto, oneof identifier). */
export type UserIdentifier = { readonly emailAddress: string } | { readonly phoneNumber: string } | { readonly address: AddressInfo };

export interface UserData {
  readonly userIdentifiers: readonly UserIdentifier[];
}

export interface AudienceMember {
  readonly userData: UserData;
  readonly consent?: Consent;
}

export interface TermsOfService {
  /** "This must be accepted when ingesting UserData" (terms_of_service.proto). */
  readonly customerMatchTermsOfServiceStatus: 'ACCEPTED' | 'REJECTED';
}

export interface IngestAudienceMembersRequest {
  readonly destinations: readonly Destination[];
  readonly audienceMembers: readonly AudienceMember[];
  readonly consent?: Consent;
  readonly encoding: typeof ENCODING;
  readonly termsOfService?: TermsOfService;
}

export interface RemoveAudienceMembersRequest {
  readonly destinations: readonly Destination[];
  readonly audienceMembers: readonly AudienceMember[];
  readonly encoding: typeof ENCODING;
}

export interface RemoveAllAudienceMembersRequest {
  readonly destinations: readonly Destination[];
  /** Only members last added before this time are removed; default now. RFC 3339. */
  readonly removeAsOfTime?: string;
}

/**
 * Where an event happened (event.proto, enum EventSource; @google-ads/datamanager 0.3.0 adds MESSAGE = 6 to the values
 * of the REST reference). "An event_source is required for offline conversions and enhanced conversions for leads"
 * (release notes, v1.2 of 2025-08-06, https://developers.google.com/data-manager/api/reference — read 2026-12-07):
 * the emulator refuses an offline conversion without one (fast-fail REQUIRED_FIELD_MISSING, the rule for a required
 * field in https://developers.google.com/data-manager/api/devguides/concepts/understand-errors#fast-fail).
 */
export const EVENT_SOURCES = ['WEB', 'APP', 'IN_STORE', 'PHONE', 'MESSAGE', 'OTHER'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/**
 * How old an offline conversion Google still takes, in days before the upload. The Data Manager API states no
 * number: conversions past it are dropped while Google processes the request, reported by requestStatus:retrieve as
 * PROCESSING_ERROR_REASON_EVENT_TOO_OLD ("The conversion is older than max supported age", processing_errors.proto of
 * @google-ads/datamanager 0.3.0). The number is the Google Ads one for conversions from clicks: a click "too old to
 * be imported or [that] occurred before the conversion window … (default is 90 days)" (OfflineConversionError
 * EXPIRED_CLICK, https://developers.google.com/adwords/api/docs/reference/v201809/OfflineConversionFeedService.OfflineConversionError.Reason),
 * and the click-through window is at most 90 days; Google Ads API ConversionUploadError EXPIRED_EVENT refuses a
 * conversion whose click "occurred before this conversion's click-through window". A conversion older than 90 days
 * therefore has no click Google still credits. Read 2026-12-07.
 */
export const MAX_CONVERSION_AGE_DAYS = 90;

/**
 * How Google de-duplicates conversions, as the destination declares it (DestinationType.events.deduplication).
 */
export const CONVERSION_DEDUPLICATION =
  'Google keeps one conversion per transactionId and conversion action: a later upload with the same transactionId (Tideline sends the event id) is dropped while Google processes it, reported as PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID "A conversion with the same order id and conversion action combination was already uploaded" (google.ads.datamanager.v1 processing_errors.proto, @google-ads/datamanager 0.3.0; the Google Ads API order_id it replaces: "An order id can only be used for one conversion per conversion action"; read 2026-12-07). No time limit is documented for it.';

/** Processing errors (processing_errors.proto) the emulator reports for conversions Google drops after accepting them. */
export const EVENT_TOO_OLD = 'PROCESSING_ERROR_REASON_EVENT_TOO_OLD';
export const DUPLICATE_TRANSACTION_ID = 'PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID';

/** An offline conversion (event.proto): matched by its click id and/or the user's hashed data. */
export interface ConversionEvent {
  /** De-duplicates the conversion (see CONVERSION_DEDUPLICATION): Tideline sends the sync key, in events mode the event id. */
  readonly transactionId: string;
  /** google.protobuf.Timestamp, RFC 3339 UTC. */
  readonly eventTimestamp: string;
  readonly adIdentifiers?: { readonly gclid: string };
  readonly userData?: UserData;
  readonly consent?: Consent;
  readonly currency?: string;
  readonly conversionValue?: number;
  readonly eventSource?: EventSource;
}

export interface IngestEventsRequest {
  readonly destinations: readonly Destination[];
  readonly events: readonly ConversionEvent[];
  readonly consent?: Consent;
  readonly encoding: typeof ENCODING;
}

/** The answer to every ingestion and removal: processing is asynchronous, diagnostics come by request id. */
export interface IngestResponse {
  readonly requestId: string;
}

export type RequestStatus = 'REQUEST_STATUS_UNKNOWN' | 'SUCCESS' | 'PROCESSING' | 'FAILED' | 'PARTIAL_SUCCESS';

export interface RequestStatusPerDestination {
  readonly destination?: Destination;
  readonly requestStatus?: RequestStatus;
  readonly errorInfo?: { readonly errorCounts?: readonly { readonly recordCount?: string; readonly reason?: string }[] };
}

export interface RetrieveRequestStatusResponse {
  readonly requestStatusPerDestination?: readonly RequestStatusPerDestination[];
}

export interface UserList {
  readonly name: string;
  readonly id?: string;
  readonly displayName?: string;
  readonly membershipStatus?: 'OPEN' | 'CLOSED';
  readonly ingestedUserListInfo?: { readonly uploadKeyTypes?: readonly string[] };
}

// ---- errors ----

/**
 * Errors follow the Google API error model: `{"error":{code, message, status, details:[Any]}}` with
 * google.rpc.ErrorInfo (`reason`, one of ErrorReason in error.proto, domain `datamanager.googleapis.com`) and
 * google.rpc.BadRequest field violations locating the record (`audienceMembers[3]…`, `events[0]…`). Requests are
 * fast-fail: one invalid record fails the whole request and nothing of it is processed
 * (https://developers.google.com/data-manager/api/devguides/concepts/understand-errors).
 */
export interface GoogleStatus {
  readonly code: number;
  readonly message: string;
  readonly status?: string;
  readonly details?: readonly ErrorDetail[];
}

export type ErrorDetail =
  | { readonly '@type': typeof ERROR_INFO; readonly reason?: string; readonly domain?: string; readonly metadata?: Readonly<Record<string, string>> }
  | { readonly '@type': typeof BAD_REQUEST; readonly fieldViolations?: readonly FieldViolation[] }
  | { readonly '@type': typeof RETRY_INFO; readonly retryDelay?: string }
  | { readonly '@type': string };

export interface FieldViolation {
  readonly field?: string;
  readonly description?: string;
  readonly reason?: string;
}

export interface ErrorBody {
  readonly error: GoogleStatus;
}

export const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';
export const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';
export const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';
export const DOMAIN = 'datamanager.googleapis.com';

/**
 * What to do about an ErrorReason, and what to tell the user. `stop`: the account, its terms or its setup refuse the
 * data; no request of this run can pass, so the sync stops after the first with the cause and the fix. `record`: the
 * record the violation points at is refused (when it points at none, the request is refused whole).
 */
export const STOP_REASONS: Readonly<Record<string, string>> = {
  PERMISSION_DENIED: 'the credentials may not write to this account: give the Google account behind them access to the Google Ads account (or set login_customer_id to the manager account it reaches it through)',
  NOT_ALLOWLISTED: 'the account is not allowlisted for this Data Manager feature: ask Google (Data Manager API support) to allowlist it',
  CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE:
    'the account is not allowlisted for this feature (Google closed Customer Match and offline conversion imports to new Google Ads API adopters in 2026): this destination uses the Data Manager API; ask Google to allowlist the account if the refusal persists',
  TERMS_AND_CONDITIONS_NOT_SIGNED: 'the Customer Match terms are not accepted for this account: accept them in Google Ads (https://support.google.com/adspolicy/answer/6299717) and set customer_match_terms: accepted',
  DESTINATION_ACCOUNT_ENHANCED_CONVERSIONS_TERMS_NOT_SIGNED: 'the account has not accepted the enhanced conversions terms: accept them in Google Ads (Goals › Settings › Enhanced conversions)',
  DESTINATION_ACCOUNT_NOT_ENABLED_ENHANCED_CONVERSIONS_FOR_LEADS: 'enhanced conversions for leads are off in this account: turn them on in Google Ads, or send a gclid instead of user data',
  DESTINATION_ACCOUNT_DATA_POLICY_PROHIBITS_ENHANCED_CONVERSIONS: 'Google\'s customer data policies forbid enhanced conversions for this account: contact your Google representative',
  EU_POLITICAL_ADVERTISING_DECLARATION_REQUIRED: 'the account must declare whether it runs EU political ads: answer the declaration in Google Ads',
  OPERATING_ACCOUNT_LOGIN_ACCOUNT_MISMATCH: 'the login account must be the operating account here: check customer_id and login_customer_id',
  INVALID_DESTINATION: 'Google refuses the destination: check customer_id, login_customer_id and the sync\'s object',
  INVALID_USER_LIST_ID: 'the user list does not exist in this account: check the sync\'s object (user_lists/<id>) and customer_id',
  INVALID_USER_LIST_TYPE: 'the user list is not a Customer Match (contact id) list: create one in Google Ads (Audience manager) and sync to it',
  USER_LIST_MUTATION_NOT_SUPPORTED: 'this user list cannot be written to (read-only type): sync to a Customer Match list',
  INVALID_CONVERSION_ACTION_ID: 'the conversion action does not exist in this account: check the sync\'s object (conversion_actions/<id>) and customer_id',
  INVALID_CONVERSION_ACTION_TYPE: 'the conversion action does not take imported conversions: use an "Import from clicks" (offline) conversion action',
  NOT_FOUND: 'Google does not know the sync\'s object in this account: check customer_id and the sync\'s object',
};

/** Reasons Google answers for a passing failure: the request may pass later, unchanged. */
export const TRANSIENT_REASONS: ReadonlySet<string> = new Set(['INTERNAL_ERROR', 'DEADLINE_EXCEEDED']);

/** The ErrorInfo reason of an error, if any. */
export function reasonOf(status: GoogleStatus | undefined): string | undefined {
  for (const detail of status?.details ?? []) if (detail['@type'] === ERROR_INFO && 'reason' in detail && detail.reason) return detail.reason;
  return undefined;
}

/** The field violations of an error, flattened. */
export function violationsOf(status: GoogleStatus | undefined): FieldViolation[] {
  const out: FieldViolation[] = [];
  for (const detail of status?.details ?? []) if (detail['@type'] === BAD_REQUEST && 'fieldViolations' in detail) out.push(...(detail.fieldViolations ?? []));
  return out;
}

/** The index of the record a violation's field path points at (`audienceMembers[3].userData…` → 3), if any. */
export function recordIndex(field: string | undefined, list: 'audienceMembers' | 'events'): number | undefined {
  const snake = list === 'audienceMembers' ? 'audience_members' : 'events';
  const m = new RegExp(`^(?:${list}|${snake})\\[(\\d+)\\]`).exec(field ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Google durations are seconds with an `s` suffix: `"5s"`, `"0.250s"`. */
export function durationMs(text: string | undefined): number | undefined {
  const match = text === undefined ? null : /^(\d+(?:\.\d+)?)s$/.exec(text.trim());
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}

// ---- erasure (`tideline forget`), read 2026-12-07 ----

/**
 * A Customer Match member is erased by removing them from the list: `audienceMembers:remove` with the hashed
 * identifiers they were added with (RemoveAudienceMembersRequest: destinations, audienceMembers, encoding;
 * https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/remove). Google keeps nothing else
 * of the upload: "We don't retain data files advertisers upload for any longer than necessary to create Customer
 * Match audiences … Once those processes are complete, we'll promptly delete the data files uploaded in Google Ads or
 * API" (Data deletion and retention controls, https://support.google.com/google-ads/answer/10769131). Google
 * documents no error for removing someone the list does not hold: the request is accepted and processed like any
 * removal (`requestStatus:retrieve` SUCCESS, `audienceMembersRemovalStatus` counting the records sent), which is how a
 * second erasure is answered.
 */
export const MEMBER_ERASURE = 'Data Manager API audienceMembers:remove with the hashed identifiers Tideline kept: POST /v1/audienceMembers:remove (developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/remove)';

/**
 * Conversions cannot be erased through the API. The IngestionService has four methods — IngestAudienceMembers,
 * RemoveAudienceMembers, IngestEvents, RetrieveRequestStatus (ingestion_service.proto, @google-ads/datamanager
 * 0.3.0) — none of which deletes an event; an IngestEvents with the transaction id of an earlier conversion is an
 * adjustment, which "can restate a conversion value or supplement user data"
 * (https://developers.google.com/data-manager/api/devguides/events/google-ads/conversion-adjustments), not remove it
 * or the identifiers it carried. Google uses the hashed identifiers of a conversion to match it and report it
 * (How Google uses enhanced conversion data, https://support.google.com/adspolicy/answer/9755941) and says it may be
 * unable to tie a deletion request to pseudonymous ad data (support.google.com/google-ads/answer/10769131).
 */
export const CONVERSION_ERASURE =
  "Google's Data Manager API cannot delete or retract an uploaded conversion (an upload with the same transaction id only restates its value or adds user data: developers.google.com/data-manager/api/devguides/events/google-ads/conversion-adjustments). For the conversions already uploaded, Google uses the hashed identifiers only to match and report them (support.google.com/adspolicy/answer/9755941); to ask Google to delete them, contact Google Ads support under the Google Ads Data Processing Terms (business.safety.google/adsprocessorterms), and see what Google can act on in \"Data deletion and retention controls\" (support.google.com/google-ads/answer/10769131).";
