import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { ApiVersion } from '../destination.js';

/**
 * Klaviyo's profile model as the adapter and its emulator share it (JSON:API, revision 2025-10-15).
 * A profile has identifiers (`email`, `phone_number` in E.164, `external_id`), a fixed set of attributes, a
 * `location` object, and free-form custom `properties`. Any other attribute name is a validation error (400).
 */
export const KLAVIYO_REVISION = '2025-10-15';

export const REVISION_POLICY_SOURCE =
  'https://developers.klaviyo.com/en/docs/api_versioning_and_deprecation_policy (read 2026-12-06: a revision is stable for a year, deprecated the second year, retired after two)';

/**
 * The revision a config sends, with its end of support: two years after its date (stable the first year, deprecated
 * the second, then retired: answered 410 or moved forward). The pinned 2025-10-15 is deprecated since 2026-10-15 (the
 * current stable revision is 2026-10-15) and retired on 2027-10-15; moving to a newer one is another issue's work.
 * A `.pre` (beta) revision carries no support promise: no sunset is declared for it.
 */
export function klaviyoRevision(revision: string): ApiVersion {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(revision);
  return { version: revision, sunset: m ? `${Number(m[1]) + 2}-${m[2]}-${m[3]}` : undefined, source: REVISION_POLICY_SOURCE };
}

/** Identifiers a profile can be matched by: the key of a Klaviyo sync is one of them. */
export const IDENTIFIERS = ['email', 'phone_number', 'external_id'] as const;
export type Identifier = (typeof IDENTIFIERS)[number];

/** Top-level profile attributes besides the identifiers. */
export const PROFILE_ATTRIBUTES = ['first_name', 'last_name', 'organization', 'locale', 'title', 'image'] as const;

/** Keys of `location`; a sync writes them as `location.city` etc. */
export const LOCATION_ATTRIBUTES = ['address1', 'address2', 'city', 'country', 'region', 'zip', 'timezone', 'ip', 'latitude', 'longitude'] as const;

/** Every attribute name the profile resource accepts (what the emulator validates against). */
export const ACCEPTED_ATTRIBUTES: ReadonlySet<string> = new Set([...IDENTIFIERS, ...PROFILE_ATTRIBUTES, 'location', 'properties', 'anonymous_id', '_kx']);

/** Largest profile Klaviyo imports (100 KB), and largest import request (5 MB). */
export const MAX_PROFILE_BYTES = 100 * 1024;
export const MAX_JOB_BYTES = 5 * 1024 * 1024;

export const isIdentifier = (name: string): name is Identifier => (IDENTIFIERS as readonly string[]).includes(name);

/** A phone number in E.164 (`+14155552671`), or undefined when it is not a valid number. */
export function toE164(value: string, defaultCountry: string | undefined): string | undefined {
  const parsed = parsePhoneNumberFromString(value, defaultCountry as CountryCode | undefined);
  return parsed?.isValid() ? parsed.number : undefined;
}

export const E164 = /^\+[1-9]\d{6,14}$/;

/** A JSON:API error object, as every Klaviyo error response lists them. */
export interface KlaviyoError {
  readonly id?: string;
  readonly status?: number;
  readonly code?: string;
  readonly title?: string;
  readonly detail?: string;
  readonly source?: { readonly pointer?: string };
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
