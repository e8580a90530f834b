import { sunsetPassed, type ApiVersion } from '../destination.js';

/**
 * The slice of LinkedIn's Marketing API (Matched Audiences, "DMP Segment" APIs) that Tideline uses, shared by the
 * adapter and its emulator. Every fact below carries its source; "(observed)" marks a fact seen in LinkedIn's answers
 * as reported publicly rather than written in LinkedIn's reference pages.
 *
 * Sources (read 2026-12-06 from stored copies of learn.microsoft.com/linkedin, which LinkedIn publishes its API
 * documentation on):
 *  - VERSIONING  https://learn.microsoft.com/linkedin/marketing/versioning — monthly versions `YYYYMM` selected by the
 *    `LinkedIn-Version` header on `https://api.linkedin.com/rest/` paths, "supported and stable for a minimum of one
 *    year before sunset".
 *  - MIGRATIONS  https://learn.microsoft.com/linkedin/marketing/integrations/migrations — the sunset date of each
 *    version (202510: 2026-10-15, 202511: 2026-11-16, 202601: 2027-01-15, 202602: 2027-02-15, 202603: 2027-03-16; no
 *    Marketing version 202512 is listed).
 *  - RECENT      https://learn.microsoft.com/linkedin/marketing/integrations/recent-changes — versions 202604 to
 *    202607 released monthly (latest in the copy read: 202607, July 2026).
 *  - SEGMENTS    https://learn.microsoft.com/linkedin/marketing/matched-audiences/create-and-manage-segments — create
 *    (`POST /rest/dmpSegments`: account, name, type, sourcePlatform, destinations, accessPolicy), the account finder
 *    (`GET /rest/dmpSegments?q=account&account=urn:li:sponsoredAccount:{id}`, paged by start and count), "all API
 *    requests … require the header X-Restli-Protocol-Version: 2.0.0", permission `rw_dmp_segments`.
 *  - USERS       https://learn.microsoft.com/linkedin/marketing/matched-audiences/create-and-manage-segment-users —
 *    `POST /rest/dmpSegments/{id}/users` with `X-RestLi-Method: BATCH_CREATE` and `{"elements":[{action, userIds}]}`;
 *    `action` ADD or REMOVE; idTypes SHA256_EMAIL ("a HEX encoded string with length = 64"), SHA512_EMAIL (128),
 *    GOOGLE_AID; the answer `{"elements":[{"status":201}, …]}` one per element, in order; "a 201 Created HTTP status
 *    code is returned if you add the same ID again or remove an already deleted ID. This is by design"; "after
 *    creating a DMP segment, wait 5 seconds for it to become available before adding users"; a limit of 600 requests
 *    a minute per member on `/users`, answered 429; managing audiences needs a role other than VIEWER on the account.
 *    firstName, lastName, title, company and country are plain-text fields of an element.
 *  - ERRORS      https://learn.microsoft.com/linkedin/shared/api-guide/concepts/error-handling — error bodies
 *    `{"status","serviceErrorCode","message"}`; 401 for a missing, expired or revoked token; 403 when the token lacks
 *    the permission; 429 when throttled.
 *  - OAUTH       https://learn.microsoft.com/linkedin/shared/authentication/programmatic-refresh-tokens — access
 *    tokens live 60 days, refresh tokens (granted to approved Marketing partners) 365 days; a refresh is
 *    `POST https://www.linkedin.com/oauth/v2/accessToken` with grant_type=refresh_token, refresh_token, client_id and
 *    client_secret (form-encoded), answering `{access_token, expires_in, refresh_token, refresh_token_expires_in}`.
 *  - RESTLI      LinkedIn's official client (npm `linkedin-api-client` 0.3.0): a created entity's id comes back in the
 *    `x-restli-id` header; it sends `X-RestLi-Method` in lower case (`batch_create`), so the method is matched
 *    without regard to case.
 */

export const REST_PATH = '/rest';
export const HEADER = {
  version: 'linkedin-version',
  protocol: 'x-restli-protocol-version',
  method: 'x-restli-method',
  createdId: 'x-restli-id',
} as const;
/** SEGMENTS: every request carries it. */
export const RESTLI_PROTOCOL_VERSION = '2.0.0';
/** USERS: the Rest.li method of the users batch (sent as a header; matched case-insensitively, RESTLI). */
export const BATCH_CREATE = 'BATCH_CREATE';

/** A Marketing API version and when LinkedIn stops serving it. */
export interface MarketingVersion {
  readonly version: string;
  readonly sunset: string;
  /** `published`: the date on MIGRATIONS. `policy`: the earliest date VERSIONING allows (one year after release). */
  readonly basis: 'published' | 'policy';
}

/**
 * The versions Tideline knows, oldest first. Published dates from MIGRATIONS; for 202604–202607 the copy of MIGRATIONS
 * read did not list a date yet, so the earliest date the one-year policy allows is used — `tideline validate` then
 * warns no later than it should.
 */
export const MARKETING_VERSIONS: readonly MarketingVersion[] = [
  { version: '202510', sunset: '2026-10-15', basis: 'published' },
  { version: '202511', sunset: '2026-11-16', basis: 'published' },
  { version: '202601', sunset: '2027-01-15', basis: 'published' },
  { version: '202602', sunset: '2027-02-15', basis: 'published' },
  { version: '202603', sunset: '2027-03-16', basis: 'published' },
  { version: '202604', sunset: '2027-04-01', basis: 'policy' },
  { version: '202605', sunset: '2027-05-01', basis: 'policy' },
  { version: '202606', sunset: '2027-06-01', basis: 'policy' },
  { version: '202607', sunset: '2027-07-01', basis: 'policy' },
];

/** The latest version in RECENT when this was written: the default. */
export const CURRENT_VERSION = '202607';

/** `YYYYMM`, optionally with a patch suffix `.NN` (LinkedIn has published such versions, e.g. 202508.02). */
export const VERSION_PATTERN = /^\d{6}(\.\d{2})?$/;

/** The sunset of a version: its published date, else the earliest the one-year policy allows. */
export function versionSunset(version: string): MarketingVersion {
  const known = MARKETING_VERSIONS.find((v) => v.version === version.slice(0, 6));
  if (known) return known;
  const year = Number(version.slice(0, 4));
  const month = version.slice(4, 6);
  return { version, sunset: `${year + 1}-${month}-01`, basis: 'policy' };
}

/** The version a config speaks, with its sunset and the page that says so (the `apiVersion` hook). */
export function apiVersionOf(version: string): ApiVersion {
  const v = versionSunset(version);
  return {
    version,
    sunset: v.sunset,
    source:
      v.basis === 'published'
        ? 'https://learn.microsoft.com/linkedin/marketing/integrations/migrations (sunset dates per version)'
        : 'https://learn.microsoft.com/linkedin/marketing/versioning (each version is supported at least one year after its release; the exact date is announced on the migrations page)',
  };
}

/**
 * Whether LinkedIn serves `version` on `day` (`YYYY-MM-DD`): a known version before its sunset. Versions released
 * after the newest one here are unknown to this table and refused, as LinkedIn refuses a version that does not exist.
 */
export function versionActive(version: string, day: string): boolean {
  const known = MARKETING_VERSIONS.find((v) => v.version === version);
  return known !== undefined && !sunsetPassed(known, day);
}

/**
 * The answer to a version LinkedIn does not serve (observed: `{"status":426,"code":"NONEXISTENT_VERSION","message":
 * "Requested version 20240401 is not active"}` for `LinkedIn-Version: 202404` — reported in n8n-io/n8n#14737 (2025)
 * and PipedreamHQ/pipedream#18398 (2025)). The version is echoed with the day `01`.
 */
export const VERSION_STATUS = 426;
export const NONEXISTENT_VERSION = 'NONEXISTENT_VERSION';
export function versionNotActiveMessage(version: string): string {
  return `Requested version ${version.slice(0, 6)}01 is not active`;
}

/** Identifier types of a user (USERS). Tideline sends SHA256_EMAIL only: the others are not hashed by LinkedIn's spec. */
export const ID_TYPES = ['SHA256_EMAIL', 'SHA512_EMAIL', 'GOOGLE_AID'] as const;
export type IdType = (typeof ID_TYPES)[number];
/** USERS: the format each hashed id type must have. */
export const HASH_FORMAT: Readonly<Partial<Record<IdType, RegExp>>> = {
  SHA256_EMAIL: /^[0-9a-fA-F]{64}$/,
  SHA512_EMAIL: /^[0-9a-fA-F]{128}$/,
};

export interface UserId {
  readonly idType: IdType;
  readonly idValue: string;
}

export type UserAction = 'ADD' | 'REMOVE';

/** One element of the users batch (USERS). The plain-text fields exist but Tideline never sends them. */
export interface UserElement {
  readonly action: UserAction;
  readonly userIds: readonly UserId[];
  readonly firstName?: string;
  readonly lastName?: string;
  readonly title?: string;
  readonly company?: string;
  readonly country?: string;
}

export interface UsersBatchRequest {
  readonly elements: readonly UserElement[];
}

/**
 * One status per element, in the order sent (USERS); a refused element carries Rest.li's `error` (RESTLI: the official
 * client's LIBatchCreateResponse, `{status, id?, error?}`).
 */
export interface UsersBatchResponse {
  readonly elements: readonly { readonly status: number; readonly error?: { readonly status?: number; readonly message?: string } }[];
}

/** A DMP segment as the API describes it (SEGMENTS). */
export interface DmpSegment {
  readonly id: number;
  readonly name: string;
  readonly account: string;
  readonly type: 'USER' | 'COMPANY';
  readonly sourcePlatform: string;
  readonly accessPolicy?: 'PRIVATE';
  readonly destinations: readonly { readonly destination: 'LINKEDIN'; readonly status?: string }[];
}

export interface CreateSegmentRequest {
  readonly name: string;
  readonly account: string;
  readonly type: 'USER';
  readonly sourcePlatform: string;
  readonly accessPolicy: 'PRIVATE';
  readonly destinations: readonly { readonly destination: 'LINKEDIN' }[];
}

export interface FinderResponse<T> {
  readonly elements: readonly T[];
  readonly paging: { readonly start: number; readonly count: number; readonly total?: number };
}

/** ERRORS: the body of every error answer (`code` is present on some, e.g. NONEXISTENT_VERSION, ACCESS_DENIED). */
export interface ErrorBody {
  readonly status: number;
  readonly serviceErrorCode?: number;
  readonly code?: string;
  readonly message: string;
}

/** USERS: requests to `/users` per member per minute. */
export const USERS_REQUESTS_PER_MINUTE = 600;
/** USERS: how long a new segment takes to accept users. */
export const SEGMENT_READY_MS = 5_000;
/** SEGMENTS: the finder's page size ceiling Tideline asks for. */
export const FINDER_PAGE = 100;

export const sponsoredAccountUrn = (id: string): string => `urn:li:sponsoredAccount:${id}`;
export const OAUTH_TOKEN_PATH = '/oauth/v2/accessToken';

/** OAUTH: the answer to a refresh. */
export interface TokenResponse {
  readonly access_token: string;
  readonly expires_in: number;
  readonly refresh_token?: string;
  readonly refresh_token_expires_in?: number;
}

/**
 * Error answers as LinkedIn gives them. ERRORS shows `{"message":"Empty oauth2_access_token","serviceErrorCode":401,
 * "status":401}`; the others are observed in LinkedIn's answers as publicly reported: an unknown token
 * `{"serviceErrorCode":65600,"message":"Invalid access token","status":401}`, a missing permission
 * `{"status":403,"serviceErrorCode":100,"code":"ACCESS_DENIED","message":"Not enough permissions to access: <resource>"}`
 * and throttling `{"status":429,"message":"Resource level throttle … limit for calls to this resource is reached."}`.
 */
export const ERRORS = {
  emptyToken: { status: 401, serviceErrorCode: 401, message: 'Empty oauth2_access_token' },
  invalidToken: { status: 401, serviceErrorCode: 65600, message: 'Invalid access token' },
  accessDenied: (resource: string): ErrorBody => ({ status: 403, serviceErrorCode: 100, code: 'ACCESS_DENIED', message: `Not enough permissions to access: ${resource}` }),
  throttled: { status: 429, message: 'Resource level throttle 1 MINUTE limit for calls to this resource is reached.' },
} as const satisfies Record<string, ErrorBody | ((resource: string) => ErrorBody)>;
