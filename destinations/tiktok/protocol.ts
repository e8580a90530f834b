import type { ApiVersion } from '../destination.js';

/**
 * The slice of TikTok's API for Business (Marketing API) that audiences use, shared by the adapter and its emulator.
 * Every fact carries its source; "(observed)" marks what is seen in TikTok's answers or partner code rather than
 * written in TikTok's reference pages, which were not in the stored copies we could read (they render client-side).
 *
 * Sources (read 2026-12-06):
 *  - GUIDE     TikTok, "Create a Customer File Audience" (business-api.tiktok.com/portal/docs?id=1747012327159809, via a
 *    copy of the doc): two ways to fill an audience — the Customer File API (upload files, then create or update the
 *    audience with APPEND / REMOVE / REPLACE) and the Streaming API: `/segment/audience/` creates an audience segment
 *    and returns its `audience_id`; `/segment/mapping/` maps users in and out of it in batches.
 *  - SDK       TikTok's official SDK (npm `tiktok-business-api-sdk-official` 1.1.3, generated from TikTok's spec): base
 *    `https://business-api.tiktok.com/open_api/v1.3/`, the `Access-Token` header, every answer the envelope
 *    `{code, message, request_id, data}` (InlineResponse200), `GET /dmp/custom_audience/get/` (advertiser_id,
 *    custom_audience_ids, 1 to 100 ids) and `/dmp/custom_audience/list/`; and for file audiences: "The APPEND,
 *    REMOVE and REPLACE operations will fail if the audience size is less than 1,000 after the operation"
 *    (CustomAudienceUpdateBody). The SDK does not model `/segment/*`.
 *  - MAPPING   the request of `/segment/mapping/` as TikTok-listed partner integrations send it (observed: Segment's
 *    TikTok Audiences destination, segmentio/action-destinations tiktok-audiences, v1.3): `{advertiser_ids, action:
 *    "add" | "delete", id_schema: ["EMAIL_SHA256", "PHONE_SHA256", …], batch_data: [[{id, audience_ids}, …], …]}` —
 *    one inner array per user, one entry per id_schema element in its order, `{}` where the user has no such id.
 *    `/segment/audience/` takes `{advertiser_id, action: "create", custom_audience_name}`.
 *  - ERASURE   (read 2026-12-07) taking a person out of an audience is a `delete` mapping of their hashed ids (GUIDE:
 *    the Streaming API maps users "in and out"; MAPPING: `action: "delete"`, as Segment's and Tealium's TikTok
 *    connectors remove users, Tealium's "Remove Visitor from Audience" on `/open_api/v1.3`). TikTok answers a mapping
 *    request as a whole (the envelope, `data: {}`), with no per-user status, and the pages read document no error for
 *    ids the audience does not hold: a second `delete` of a removed member is answered code 0 (an assumption, marked
 *    as such: the partners above send removals without first reading membership, and the answer carries nothing
 *    per user that could say otherwise).
 *  - HASHING   TikTok's own Adobe Experience Platform destination page (maintained by TikTok,
 *    AdobeDocs/experience-platform.en help/destinations/catalog/social/tiktok.md): e-mails and phone numbers hashed
 *    with SHA-256; e-mails lower-cased (`Email_LC_SHA256`); phone numbers "must be in E.164 format" (with `+`, as
 *    Segment's TikTok page also says: "+1231234567").
 *  - VERSIONS  v1.3 live since 2022 (TikTok's `X-Api-Deprecation-Info` header of 2022-09: "API for Business Version
 *    1.3 is now live", quoted in stape-io/tiktok-tag#5); v1.2 deprecated on 2023-08-12 (TikTok's developer update of
 *    2023-03-24, quoted in promopult/tiktok-marketing-api#3). No sunset of v1.3 is announced.
 *  - CODES     TikTok's "Appendix – Return Codes" (business-api.tiktok.com/portal/docs?id=1737172488964097, linked from
 *    the SDK): 0 OK; 40001 no permission; 40002 invalid parameters; 40100 too many requests (QPS/QPM/QPD of the app or
 *    endpoint — also in public client code); 40102/40104/40105 access token expired / missing / invalid; 50000 and
 *    above, system errors. Errors come with HTTP 200 and the code in the envelope.
 *  - TOKENS    a Marketing API access token obtained from the advertiser's authorisation is long-term: it does not
 *    expire unless revoked (`/oauth2/revoke_token/`) — Redpoint's TikTok integration guide (docs.redpointglobal.com/
 *    bpd/tiktok-api), matching TikTok's authentication page. No refresh flow is needed.
 */

export const API_VERSION = 'v1.3';
export const API_ROOT = '/open_api';
/** VERSIONS: the versions TikTok retired, with the date. */
export const RETIRED_VERSIONS: Readonly<Record<string, string>> = { 'v1.2': '2023-08-12' };
/**
 * TikTok documents no error body for a retired version: the paths of a version it no longer serves do not exist, and
 * the emulator answers them as TikTok's gateway answers an unknown path, HTTP 404 without the envelope (an
 * assumption, marked as such; the adapter reads any 404 on an `/open_api/<version>/` path as "version not served").
 */
export const RETIRED_VERSION_STATUS = 404;
export const VERSION_PATTERN = /^v\d+\.\d+$/;

export function apiVersionOf(version: string): ApiVersion {
  return {
    version,
    sunset: RETIRED_VERSIONS[version],
    source:
      version === API_VERSION
        ? 'https://business-api.tiktok.com/portal/docs?id=1740579480076290 (TikTok API for Business versions: v1.3 live since 2022, no sunset announced)'
        : 'https://business-api.tiktok.com/portal/docs?id=1740579480076290 (TikTok API for Business: v1.2 deprecated on 2023-08-12, developer update of 2023-03-24)',
  };
}

export const ACCESS_TOKEN_HEADER = 'access-token';

export const PATH = {
  segmentAudience: '/segment/audience/',
  segmentMapping: '/segment/mapping/',
  audienceGet: '/dmp/custom_audience/get/',
  audienceList: '/dmp/custom_audience/list/',
} as const;

/** MAPPING: id types of a user. Tideline sends the hashed e-mail and phone. */
export const ID_SCHEMA = ['EMAIL_SHA256', 'PHONE_SHA256', 'IDFA_SHA256', 'GAID_SHA256'] as const;
export type IdSchema = (typeof ID_SCHEMA)[number];
/** HASHING: SHA-256 as hex. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

export type MappingEntry = { readonly id: string; readonly audience_ids: readonly string[] } | Readonly<Record<string, never>>;

export interface MappingRequest {
  readonly advertiser_ids: readonly string[];
  readonly action: 'add' | 'delete';
  readonly id_schema: readonly IdSchema[];
  readonly batch_data: readonly (readonly MappingEntry[])[];
}

export interface CreateSegmentRequest {
  readonly advertiser_id: string;
  readonly action: 'create';
  readonly custom_audience_name: string;
}

/** SDK: every answer. */
export interface Envelope<T = unknown> {
  readonly code: number;
  readonly message: string;
  readonly request_id: string;
  readonly data: T;
}

/** SDK: an audience as `/dmp/custom_audience/get/` and `/list/` describe it (the fields Tideline reads). */
export interface AudienceInfo {
  readonly audience_id: string;
  readonly name: string;
  readonly audience_type?: string;
  readonly is_creator?: boolean;
}

export const CODE = {
  ok: 0,
  noPermission: 40001,
  invalidParameters: 40002,
  tooManyRequests: 40100,
  tokenExpired: 40102,
  tokenMissing: 40104,
  tokenInvalid: 40105,
  systemError: 50000,
} as const;

/** CODES: access-token problems (credentials). */
export const AUTH_CODES: ReadonlySet<number> = new Set([CODE.tokenExpired, CODE.tokenMissing, CODE.tokenInvalid]);
/** CODES: 5xxxx system errors are transient. */
export const isSystemError = (code: number): boolean => code >= 50000;

/**
 * Users per mapping request. TikTok's pages we could read state no ceiling; TikTok-listed partners batch up to 1,000
 * (observed: Tealium's TikTok Audiences connector, "Max number of requests: 1000", "Max size of requests: 1 MB").
 * Tideline keeps to that.
 */
export const MAX_USERS_PER_REQUEST = 1_000;
/** SDK: `page_size` of `/dmp/custom_audience/list/` — "Defaults is 10. Value range: 1-100" (AudienceApi.dmpCustomAudienceList). */
export const AUDIENCE_LIST_PAGE_SIZE = { default: 10, max: 100 } as const;
/** SDK: ids per `/dmp/custom_audience/get/` request. */
export const MAX_AUDIENCE_IDS_PER_GET = 100;
