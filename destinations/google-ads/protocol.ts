/**
 * The slice of the Google Ads API (REST, `https://googleads.googleapis.com/v{N}`) that Customer Match and offline
 * click conversions use, shared by the adapter and its emulator. Facts: ../shared/destinations.md.
 *
 * Every request carries `Authorization: Bearer <OAuth token>` and `developer-token`; `login-customer-id` when the
 * account is reached through a manager. Errors are `{"error":{code,message,status,details:[GoogleAdsFailure]}}`; a
 * request sent with partial failure enabled answers 200 with `partialFailureError` of the same shape, each error
 * located by operation index (`location.fieldPathElements[0]` = `{fieldName: "operations" | "conversions", index}`).
 */

/** One identifier of a user: exactly one of its members. Hashes are SHA-256 lower-case hex. */
export interface UserIdentifier {
  readonly hashedEmail?: string;
  readonly hashedPhoneNumber?: string;
  /** Hashed first and last name, unhashed country and postal code: all four or Google cannot match. */
  readonly addressInfo?: {
    readonly hashedFirstName: string;
    readonly hashedLastName: string;
    readonly countryCode: string;
    readonly postalCode: string;
  };
}

export type ConsentStatus = 'GRANTED' | 'DENIED' | 'UNSPECIFIED';

export interface Consent {
  readonly adUserData?: ConsentStatus;
  readonly adPersonalization?: ConsentStatus;
}

/** One user: at most 20 identifiers. */
export interface UserData {
  readonly userIdentifiers: readonly UserIdentifier[];
  readonly consent?: Consent;
}

/** `removeAll` may only be the first operation of a job; creates and removes never share a job. */
export type JobOperation = { readonly create: UserData } | { readonly remove: UserData } | { readonly removeAll: true };

export interface CreateJobRequest {
  readonly job: {
    readonly type: 'CUSTOMER_MATCH_USER_LIST';
    readonly customerMatchUserListMetadata: { readonly userList: string; readonly consent?: Consent };
  };
}

export interface AddOperationsRequest {
  readonly operations: readonly JobOperation[];
  readonly enablePartialFailure: boolean;
}

export type JobStatus = 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAILED';

export interface ClickConversion {
  readonly gclid: string;
  /** `customers/{cid}/conversionActions/{id}` */
  readonly conversionAction: string;
  /** `yyyy-mm-dd hh:mm:ss+hh:mm` */
  readonly conversionDateTime: string;
  readonly conversionValue?: number;
  readonly currencyCode?: string;
  readonly orderId?: string;
}

export interface UploadClickConversionsRequest {
  readonly conversions: readonly ClickConversion[];
  readonly partialFailure: boolean;
}

/** The error detail Google Ads puts in `details`: the errors, each with a one-member code object. */
export interface GoogleAdsFailure {
  readonly '@type': string;
  readonly errors: readonly GoogleAdsError[];
}

export interface GoogleAdsError {
  /** `{"<category>Error": "<CODE>"}`, e.g. `{"offlineUserDataJobError": "INVALID_SHA256_FORMAT"}`. */
  readonly errorCode: Readonly<Record<string, string>>;
  readonly message: string;
  readonly location?: { readonly fieldPathElements: readonly { readonly fieldName: string; readonly index?: number }[] };
  readonly details?: { readonly quotaErrorDetails?: { readonly rateScope?: string; readonly rateName?: string; readonly retryDelay?: string } };
}

export interface GoogleStatus {
  readonly code: number;
  readonly message: string;
  readonly status?: string;
  readonly details?: readonly (GoogleAdsFailure | { readonly '@type': string; readonly retryDelay?: string })[];
}

export interface ErrorBody {
  readonly error: GoogleStatus;
}

export const FAILURE_TYPE = 'type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure';
export const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

/** Codes the engine may retry: the request can pass later, unchanged. */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['TRANSIENT_ERROR', 'INTERNAL_ERROR', 'CONCURRENT_MODIFICATION', 'RESOURCE_EXHAUSTED', 'RESOURCE_TEMPORARILY_EXHAUSTED']);
/** Codes that mean the account may not receive customer data: the sync stops with a message saying what to fix. */
export const TERMS_CODES: ReadonlySet<string> = new Set(['CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS']);
/** The limits Google documents, used as the emulator's defaults and the adapter's ceilings. */
export const LIMITS = { identifiersPerRequest: 100_000, recommendedIdentifiersPerRequest: 10_000, identifiersPerOperation: 20, conversionsPerRequest: 2_000 } as const;

/** The failures of an error body or partial-failure status, flattened. */
export function failuresOf(status: GoogleStatus | undefined): GoogleAdsError[] {
  const out: GoogleAdsError[] = [];
  for (const detail of status?.details ?? []) if ('errors' in detail && Array.isArray(detail.errors)) out.push(...detail.errors);
  return out;
}

/** The code names of an error (`INVALID_SHA256_FORMAT`), whatever their category. */
export function codesOf(error: GoogleAdsError): string[] {
  return Object.values(error.errorCode ?? {});
}

/** Google durations are seconds with an `s` suffix: `"5s"`, `"0.250s"`. */
export function durationMs(text: string | undefined): number | undefined {
  const match = text === undefined ? null : /^(\d+(?:\.\d+)?)s$/.exec(text.trim());
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}

/** The error body Google Ads answers with. */
export function errorBody(httpCode: number, status: string, message: string, errors: readonly GoogleAdsError[], extra: GoogleStatus['details'] = []): ErrorBody {
  return { error: { code: httpCode, message, status, details: [...(errors.length ? [{ '@type': FAILURE_TYPE, errors }] : []), ...extra] } };
}
