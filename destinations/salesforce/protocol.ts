import { sunsetPassed, type ApiVersion } from '../destination.js';

/**
 * Salesforce facts shared by the adapter and its emulator, each with its source and the day it was read
 * (2026-12-06 unless said otherwise).
 */

// ---- OAuth 2.0: where tokens come from ----

/**
 * The token endpoint, on the login server: `https://login.salesforce.com` (production and Developer Edition orgs),
 * `https://test.salesforce.com` (sandboxes), or the org's My Domain login URL. Both flows below POST a form
 * (`application/x-www-form-urlencoded`) to it.
 * Source: "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration" and "OAuth 2.0 Refresh Token Flow for Renewed
 * Sessions", Salesforce Help (help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm and
 * …id=sf.remoteaccess_oauth_refresh_token_flow.htm).
 */
export const TOKEN_PATH = '/services/oauth2/token';
export const DEFAULT_LOGIN_URL = 'https://login.salesforce.com';
export const SANDBOX_LOGIN_URL = 'https://test.salesforce.com';

/**
 * The JWT bearer flow (RFC 7523, as Salesforce profiles it). The client POSTs `grant_type` = this URN and
 * `assertion` = a JWT signed with RS256 ("Sign the resulting string using SHA256 with RSA") by the private key whose
 * X.509 certificate is uploaded to the connected app ("Use digital signatures"). Claims, as the Help page lists them:
 *  - `iss`: the OAuth client_id (the consumer key) of the connected app the certificate is registered with;
 *  - `aud`: the authorization server — `https://login.salesforce.com`, `https://test.salesforce.com`, or an Experience
 *    Cloud site URL; a My Domain login URL is not an audience: a My Domain org takes login's (production) or test's
 *    (a sandbox, whose My Domain host ends `.sandbox.my.salesforce.com`);
 *  - `sub`: the username of the Salesforce user (who, or whose profile, has approved the app);
 *  - `exp`: the expiration of the assertion "within 3 minutes", in seconds since 1970-01-01T00:00:00Z UTC.
 * The answer carries `access_token`, `scope`, `instance_url`, `id`, `token_type` and **no refresh token** (a new
 * assertion is signed for each new token) and no lifetime: the session lasts the org's session timeout (two hours
 * by default), so a client learns of the end from the API's 401.
 * Source: help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm (read 2026-12-06).
 */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const JWT_ALGORITHM = 'RS256';
/** Salesforce's ceiling on an assertion's life. */
export const JWT_MAX_LIFETIME_SECONDS = 180;
/** What Tideline signs: well inside the ceiling, so that a clock a little ahead of Salesforce's still passes. */
export const JWT_LIFETIME_SECONDS = 120;
export const JWT_AUDIENCES = [DEFAULT_LOGIN_URL, SANDBOX_LOGIN_URL] as const;

/** The `aud` of an assertion sent to `loginUrl`: its own for login and test, else by the kind of My Domain. */
export function audienceFor(loginUrl: string): string {
  const url = new URL(loginUrl);
  const origin = url.origin;
  if ((JWT_AUDIENCES as readonly string[]).includes(origin)) return origin;
  return url.hostname.endsWith('.sandbox.my.salesforce.com') ? SANDBOX_LOGIN_URL : DEFAULT_LOGIN_URL;
}

/**
 * The refresh token flow: `grant_type=refresh_token`, `refresh_token`, `client_id` (the consumer key) and
 * `client_secret` — required unless the connected app clears "Require Secret for Refresh Token Flow". The answer
 * carries `access_token`, `signature`, `scope`, `instance_url`, `id`, `token_type`, `issued_at`, and no lifetime
 * either. A refresh token stays valid by the app's refresh token policy (until revoked, by default).
 * Source: help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm (read 2026-12-06).
 */
export const REFRESH_TOKEN_GRANT = 'refresh_token';

/**
 * The token endpoint's refusals follow RFC 6749 §5.2: HTTP 400 with `{"error", "error_description"}`. The codes and
 * descriptions the emulator gives are those Salesforce answers: `invalid_grant` "expired access/refresh token"
 * (a revoked or expired refresh token), `invalid_grant` "user hasn't approved this consumer", `invalid_grant`
 * "audience is invalid", `invalid_grant` "invalid assertion" (a signature the certificate does not verify, or a
 * malformed JWT), `invalid_client_id` "client identifier invalid", `invalid_client` "invalid client credentials",
 * `unsupported_grant_type` "grant type not supported". The descriptions are quoted from Salesforce's answers as its
 * users report them (salesforce.stackexchange.com, questions 201636 and 282513); Tideline reads only the status and
 * `error`, and prints the description as the server gave it.
 */
export interface TokenError {
  readonly error: string;
  readonly error_description: string;
}

/** The token answer of both flows: what Tideline reads of it. */
export interface TokenResponse {
  readonly access_token: string;
  readonly instance_url: string;
  readonly token_type?: string;
  readonly scope?: string;
  readonly id?: string;
  readonly issued_at?: string;
  readonly signature?: string;
}

/**
 * A REST call made with a session that expired or was revoked is answered 401 with
 * `[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]`: the signal to get a new token.
 * Source: REST API Developer Guide, "Status Codes and Error Responses" (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
 */
export const INVALID_SESSION = { status: 401, errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' } as const;

// ---- REST limits ----

/**
 * sObject Collections take at most 200 records per request.
 * Source: REST API Developer Guide, "sObject Collections" (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections.htm).
 */
export const SALESFORCE_COLLECTION_LIMIT = 200;

// ---- API versions ----

/**
 * The REST API version Tideline speaks unless the config says otherwise (`api_version`), in paths as `v62.0`.
 * 62.0 is Winter '25 (October 2024). Salesforce's policy: each version is supported at least three years from its
 * first release, and a retirement is announced at least a year ahead; retired versions answer REST 410 GONE, Bulk
 * 400 InvalidVersion. Published schedule (Salesforce Help, read 2026-12-06):
 *  - 7.0–20.0 retired in Summer '22; 21.0–30.0 retired in Summer '25
 *    ("Salesforce Platform API Versions 21.0 through 30.0 Retirement", help.salesforce.com/s/articleView?id=000354473, updated 2026-03-17);
 *  - 31.0–40.0 deprecated in Summer '27 and retired in Summer '28
 *    ("Salesforce Platform API Versions 31.0 through 40.0 Retirement", help.salesforce.com/s/articleView?id=005321531, published 2026-04-30);
 *  - 41.0 and later: no retirement announced. So 62.0 has no sunset yet, and none can come before Winter '28 (three
 *    years, announced a year ahead): Tideline stays on it.
 * Salesforce names the release, not the day. Its release calendar upgrades the first instances of a Summer release
 * in May, so the sunset given for a version retired in "Summer 'YY" is May 1 of that year: `tideline validate` warns
 * early rather than late.
 */
export const DEFAULT_API_VERSION = '62.0';
export const API_END_OF_LIFE_SOURCE =
  'https://help.salesforce.com/s/articleView?id=005321531 ("Salesforce Platform API Versions 31.0 through 40.0 Retirement", 2026-04-30; and id=000354473 for 21.0 through 30.0, 2026-03-17; the API End-of-Life policy in the REST API Developer Guide)';

/** Retirements Salesforce has published, as ranges of major versions and the day taken for each. */
export const API_RETIREMENTS: readonly { readonly from: number; readonly to: number; readonly release: string; readonly sunset: string }[] = [
  { from: 7, to: 20, release: "Summer '22", sunset: '2022-05-01' },
  { from: 21, to: 30, release: "Summer '25", sunset: '2025-05-01' },
  { from: 31, to: 40, release: "Summer '28", sunset: '2028-05-01' },
];

/** The version a config speaks (`62.0`), with its published retirement. */
export function salesforceApiVersion(version: string): ApiVersion {
  const major = Number(version.split('.')[0]);
  const retirement = API_RETIREMENTS.find((r) => major >= r.from && major <= r.to);
  return { version: `v${version}`, sunset: retirement?.sunset, source: API_END_OF_LIFE_SOURCE };
}

/** Whether Salesforce has retired `version` (`30.0`) by `today` (`YYYY-MM-DD`). */
export function isRetired(version: string, today: string): boolean {
  return sunsetPassed(salesforceApiVersion(version), today);
}

/**
 * The answer of a retired version: REST 410 GONE. Salesforce documents the status, not a body; the emulator answers
 * the usual error array.
 */
export const RETIRED_VERSION_STATUS = 410;

// ---- REST resources Tideline calls ----

/**
 * Every REST and Bulk API 2.0 resource lives under `/services/data/vXX.X` on the org's instance.
 * Source: REST API Developer Guide, "Resources by Version" / "Versions"
 * (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_versions.htm).
 */
export const dataPath = (version: string): string => `/services/data/v${version}`;

/** The resources, relative to `dataPath`; each operation's documented shape is in documented-shapes.ts. */
export const PATHS = {
  /** `GET /limits`: the org's limits, `{<LimitName>: {Max, Remaining}}` (resources_limits.htm). */
  limits: '/limits',
  /** `GET /sobjects/{sObject}/describe` (resources_sobject_describe.htm). */
  describe: (object: string) => `/sobjects/${encodeURIComponent(object)}/describe`,
  /** `GET /sobjects/{sObject}/{id}?fields=…` (resources_sobject_retrieve.htm). */
  record: (object: string, id: string) => `/sobjects/${encodeURIComponent(object)}/${encodeURIComponent(id)}`,
  /** `GET /query?q=<SOQL>` (resources_query.htm). */
  query: '/query',
  /**
   * sObject Collections: `POST` creates, `PATCH` updates by Id, `DELETE ?ids=…&allOrNone=` deletes
   * (resources_composite_sobjects_collections_create.htm, …_update.htm, …_delete.htm).
   */
  collections: '/composite/sobjects',
  /** `PATCH /composite/sobjects/{sObject}/{ExternalIdField}`: upsert (resources_composite_sobjects_collections_upsert.htm). */
  collectionUpsert: (object: string, field: string) => `/composite/sobjects/${encodeURIComponent(object)}/${encodeURIComponent(field)}`,
  /** Bulk API 2.0 ingest: create (`POST`), then per job (Bulk API 2.0 Developer Guide, "Bulk API 2.0 Ingest"). */
  ingestJobs: '/jobs/ingest',
  /** `GET` the job's info, `PATCH {"state": "UploadComplete"}` closes it (get_job_info.htm, close_job.htm). */
  ingestJob: (id: string) => `/jobs/ingest/${encodeURIComponent(id)}`,
  /** `PUT` the CSV (`Content-Type: text/csv`), answered 201 with no body (upload_job_data.htm). */
  ingestBatches: (id: string) => `/jobs/ingest/${encodeURIComponent(id)}/batches`,
  /** `GET`, `Accept: text/csv`: the job's result CSVs (get_job_successful_results.htm, get_job_failed_results.htm, get_job_unprocessed_results.htm). */
  ingestResults: (id: string, kind: BulkResultKind) => `/jobs/ingest/${encodeURIComponent(id)}/${kind}/`,
} as const;

/**
 * Every REST answer carries `Sforce-Limit-Info: api-usage=N/M` (requests used in the rolling 24 hours / allowed);
 * once the allowance is spent, calls are refused 403 with errorCode REQUEST_LIMIT_EXCEEDED.
 * Source: REST API Developer Guide, "Limit Info Header" (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm)
 * and "Status Codes and Error Responses" (errorcodes.htm: 403 "The request has been refused … REQUEST_LIMIT_EXCEEDED").
 */
export const LIMIT_INFO_HEADER = 'sforce-limit-info';
export const REQUEST_LIMIT_EXCEEDED = { status: 403, errorCode: 'REQUEST_LIMIT_EXCEEDED' } as const;

/** `N/M` of a Sforce-Limit-Info value, or undefined. */
export function apiUsage(header: string | null): string | undefined {
  return /api-usage=(\d+\/\d+)/.exec(header ?? '')?.[1];
}

/**
 * A REST error answer: an array of `{message, errorCode, fields?}`.
 * Source: REST API Developer Guide, "Status Codes and Error Responses" (errorcodes.htm).
 */
export interface ApiError {
  readonly message?: string;
  readonly errorCode?: string;
  readonly fields?: readonly string[];
}

/**
 * One record's result in an sObject Collections answer (the SaveResult / UpsertResult): `id`, `success`,
 * `errors[{statusCode, message, fields}]`, and `created` for an upsert. The answer is one result per record, in the
 * order of the request, when `allOrNone` is false.
 * Source: resources_composite_sobjects_collections_upsert.htm and …_create.htm (REST API Developer Guide).
 */
export interface SaveResult {
  readonly id?: string;
  readonly success: boolean;
  readonly created?: boolean;
  readonly errors?: readonly { readonly statusCode?: string; readonly message?: string; readonly fields?: readonly string[] }[];
}

/**
 * Record status codes (the StatusCode values of a SaveResult's or sf__Error's errors) and what they mean for a
 * retry: a row lock held by another transaction (UNABLE_TO_LOCK_ROW) or an unavailable server passes; a record
 * deleted or an Id that names nothing (ENTITY_IS_DELETED, INVALID_CROSS_REFERENCE_KEY, NOT_FOUND) is gone.
 * Source: SOAP API Developer Guide, "StatusCode" (developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm#statuscode),
 * which REST and Bulk errors share.
 */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE']);
export const GONE_CODES: ReadonlySet<string> = new Set(['ENTITY_IS_DELETED', 'INVALID_CROSS_REFERENCE_KEY', 'NOT_FOUND']);

/** `GET /query`: `{totalSize, done, nextRecordsUrl?, records}`, each record with `attributes {type, url}` (resources_query.htm). */
export interface QueryResult {
  readonly totalSize: number;
  readonly done: boolean;
  readonly records: readonly Record<string, unknown>[];
}

// ---- Bulk API 2.0 ingest ----

/**
 * A job's upload: "A request can provide CSV data that does not in total exceed 150 MB of base64 encoded content …
 * upload data that does not exceed 100 MB." At most 150,000,000 records per rolling 24 hours.
 * Source: Bulk API 2.0 and Bulk API Developer Guide, "Upload Job Data"
 * (developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/upload_job_data.htm) and "Limits".
 */
export const BULK_UPLOAD_MAX_BYTES = 100 * 1024 * 1024;

/**
 * A job's CSV line ending, `LF` (the default) or `CRLF`: the uploaded data and the result CSVs use it.
 * Source: "Create a Job", request body `lineEnding` (developer.salesforce.com/docs/platform/api-asynch/guide/create-job.html).
 */
export const LINE_ENDINGS = { LF: '\n', CRLF: '\r\n' } as const;
export type LineEnding = keyof typeof LINE_ENDINGS;

/** Job states (Get Job Info, `state`): Open, UploadComplete, InProgress, JobComplete, Failed, Aborted. */
export const JOB_STATES = ['Open', 'UploadComplete', 'InProgress', 'JobComplete', 'Failed', 'Aborted'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const TERMINAL_JOB_STATES: ReadonlySet<JobState> = new Set<JobState>(['JobComplete', 'Failed', 'Aborted']);

/**
 * A job's info, as Create a Job, Upload Complete and Get Job Info answer it (what Tideline reads of it).
 * Source: "Get Job Info" (developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_info.htm).
 */
export interface JobInfo {
  readonly id: string;
  readonly state: JobState;
  readonly errorMessage?: string;
  readonly numberRecordsProcessed?: number;
  readonly numberRecordsFailed?: number;
}

/**
 * The result CSVs of a job, each answered `text/csv` (the request asks `Accept: text/csv`):
 *  - `successfulResults`: columns `sf__Id`, `sf__Created`, then the columns of the uploaded data;
 *  - `failedResults`: `sf__Id` (API 53.0 and later), `sf__Error` ("Error code and message"), then the uploaded columns;
 *  - `unprocessedrecords`: the uploaded columns, for rows the job never processed (a failed or aborted job).
 * "The order of records in the response is not guaranteed to match the ordering of records in the original job
 * data": rows are matched back by the external id column. The walkthrough's examples quote the `sf__` column names
 * and every value ("sf__Id","sf__Created",Name,… / "001…","true","Acme",…), lines ending as the job's lineEnding.
 * Sources: "Get Job Successful Record Results" (…/api_asynch/get_job_successful_results.htm), "Get Job Failed Record
 * Results" (…/api_asynch/get_job_failed_results.htm), "Get Job Unprocessed Record Results"
 * (…/api_asynch/get_job_unprocessed_results.htm), "Walkthrough for Bulk Insert" (…/api_asynch/walkthrough_upload_data.htm).
 */
export type BulkResultKind = 'successfulResults' | 'failedResults' | 'unprocessedrecords';
export const RESULT_COLUMNS: Readonly<Record<BulkResultKind, readonly string[]>> = {
  successfulResults: ['sf__Id', 'sf__Created'],
  failedResults: ['sf__Id', 'sf__Error'],
  unprocessedrecords: [],
};
export const CSV_CONTENT_TYPE = 'text/csv';

/**
 * `sf__Error` is "Error code and message": `<STATUS_CODE>:<message>`, the message itself holding colons (e.g.
 * `REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --`, the fields after the last). The code
 * is what precedes the first colon; the message is the whole text.
 */
export function bulkErrorCode(sfError: string): string | undefined {
  const match = /^([A-Z][A-Z0-9_]*):/.exec(sfError);
  return match?.[1];
}

// ---- erasure (tideline forget) ----

/**
 * How Salesforce deletes, as an erasure must know it (read 2026-12-07):
 *  - a delete through the REST API (sObject Collections DELETE, the mirror's delete) moves the record to the Recycle
 *    Bin: "The Recycle Bin lets you view and restore recently deleted records for 15 days before they're permanently
 *    deleted", and emptying it ahead is a SOAP call (`emptyRecycleBin()`, at most 200 Ids), not a REST resource
 *    (SOAP API Developer Guide, developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm).
 *    Salesforce's own guidance on erasure warns that "Deleting a record may only move it to the Recycle Bin, and
 *    therefore personal data can still be accessed and restored" (help.salesforce.com/s/articleView?id=sfdo.data_deletion.htm).
 *  - Bulk API 2.0's `hardDelete` operation deletes without the Recycle Bin: "To permanently remove deleted records
 *    without waiting 15 days or manually emptying the Recycle Bin, you can use the Bulk API's hardDelete operation"
 *    (help.salesforce.com/s/articleView?id=000382207, 2026-05-01). It needs the user's "Bulk API Hard Delete" system
 *    permission: "The permission is disabled by default and can be enabled only by a system administrator" (Salesforce
 *    CLI reference, `data delete bulk --hard-delete`, developer.salesforce.com/docs/platform/salesforce-cli-reference/guide/cli_reference_data_delete_bulk.html).
 *    A job is created with `operation: hardDelete` (create_job.htm lists insert, delete, hardDelete, update, upsert)
 *    and its CSV "must have only one column ("Id")" (same CLI reference); results come as for any ingest job.
 *  - without the permission, creating the job is refused 400. Salesforce documents no body for it: the emulator
 *    answers the REST error array with Bulk API 1.0's refusal as its users report it (`FeatureNotEnabled`, "hardDelete
 *    operation requires special user profile permission, please contact your system administrator";
 *    help.sql-sales.com/en/articles/8892592-bulkapiv1harddelete), and the adapter reads only the status.
 *  - Salesforce's Privacy Center "Right to Be Forgotten" policies, which cascade to child objects, need a Privacy
 *    Center license (help.salesforce.com/s/articleView?id=sf.about_rtbf_policies.htm): Tideline erases the records it
 *    wrote and leaves what the org derived from them to the org.
 */
export const HARD_DELETE_OPERATION = 'hardDelete';
export const HARD_DELETE_PERMISSION = 'Bulk API Hard Delete';
export const HARD_DELETE_REFUSAL = { status: 400, errorCode: 'FEATURENOTENABLED', message: 'hardDelete operation requires special user profile permission, please contact your system administrator' } as const;
export const HARD_DELETE_DOC = 'developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/create_job.htm; help.salesforce.com/s/articleView?id=000382207';
export const RECYCLE_BIN_DOC = 'developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_delete.htm; help.salesforce.com/s/articleView?id=sfdo.data_deletion.htm';
/** Days a deleted record stays restorable in the Recycle Bin (emptyRecycleBin() reference above). */
export const RECYCLE_BIN_DAYS = 15;
