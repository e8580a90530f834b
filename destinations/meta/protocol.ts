import type { IdentifierField } from '../ads-identifiers.js';

/**
 * The slice of the Meta Marketing API (Graph API, `https://graph.facebook.com/vXX.X`) that Custom Audiences use,
 * shared by the adapter and its emulator. Facts: ../shared/destinations.md.
 *
 * Members are added with `POST /{audience_id}/users`, removed with `DELETE /{audience_id}/users`, and replaced as a
 * whole with `POST /{audience_id}/usersreplace` in a session of numbered batches, the last one flagged. Each body
 * holds `payload: {schema, data}` — one row per person, one column per schema key — and the `access_token`. Meta
 * answers how many rows it received and how many were invalid (with a few samples), never which ones.
 */

/** Multi-key schema columns, in the order the adapter writes them; all hashed but EXTERN_ID. */
export const SCHEMA_KEYS = ['EMAIL', 'PHONE', 'FN', 'LN', 'ZIP', 'CT', 'COUNTRY', 'DOBY', 'GEN', 'EXTERN_ID'] as const;
export type SchemaKey = (typeof SCHEMA_KEYS)[number];

/** The sync field that fills each schema column. */
export const FIELD_OF: Readonly<Record<SchemaKey, IdentifierField>> = {
  EMAIL: 'email',
  PHONE: 'phone',
  FN: 'first_name',
  LN: 'last_name',
  ZIP: 'postal_code',
  CT: 'city',
  COUNTRY: 'country_code',
  DOBY: 'birth_year',
  GEN: 'gender',
  EXTERN_ID: 'external_id',
};

export interface Payload {
  readonly schema: readonly SchemaKey[];
  /** Rows in schema order; an empty string where a person has no value. */
  readonly data: readonly (readonly string[])[];
}

export interface ReplaceSession {
  /** A number the client picks, the same for every batch of one replacement. */
  readonly session_id: number;
  /** 1, 2, 3… */
  readonly batch_seq: number;
  readonly last_batch_flag: boolean;
  readonly estimated_num_total: number;
}

export interface UsersRequest {
  readonly payload: Payload;
  readonly access_token?: string;
  readonly session?: ReplaceSession;
}

export interface UsersResponse {
  readonly audience_id: string;
  readonly session_id: string | number;
  readonly num_received: number;
  readonly num_invalid_entries: number;
  readonly invalid_entry_samples: Readonly<Record<string, string>>;
}

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

/** Most rows in one request. */
export const MAX_ROWS = 10_000;
/** Throttling codes: application (4), user (17), custom-level (613), ads management business use case (80004). */
export const THROTTLE_CODES: ReadonlySet<number> = new Set([4, 17, 32, 613, 80000, 80003, 80004, 80014]);
/** Transient failures: retry later. */
export const TRANSIENT_CODES: ReadonlySet<number> = new Set([1, 2]);
/** Invalid, expired or under-scoped token. */
export const AUTH_CODES: ReadonlySet<number> = new Set([10, 102, 190, 200]);
/** With code 100: the audience is flagged for integrity restrictions; no write passes until resolved. */
export const FLAGGED_SUBCODE = 1713230;
export const BUSINESS_USAGE_HEADER = 'x-business-use-case-usage';

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
