import { createHash } from 'node:crypto';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { FieldValue } from './destination.js';

/**
 * Identifiers for ads audiences (Google Customer Match, Meta Custom Audiences): each platform's documented
 * normalisation, then SHA-256 as lower-case hex. The platforms match people by these hashes, so one byte of
 * difference (a capital, a space, a `+`) is a lost match; and raw PII must never leave the process, so the adapters
 * hash before a request body is built and the snapshot keeps only hashes (`retainValue`).
 *
 * Every normaliser returns the normalised text, or null when the value is empty or cannot be an identifier of its
 * kind (then the identifier is left out). A value that already is a SHA-256 hex digest (64 hex characters) is taken
 * as hashed upstream (in the warehouse, or by an earlier run's snapshot) and passed through, lower-cased.
 *
 * The same phone hashes differently per platform: Google wants E.164 **with** `+` (`+33612345678`), Meta the same
 * digits **without** it (`33612345678`).
 */

/** Mapped field names an ads sync may use, shared by both platforms (a sync can switch platform unchanged). */
export const IDENTIFIER_FIELDS = ['email', 'phone', 'first_name', 'last_name', 'city', 'postal_code', 'country_code', 'birth_year', 'gender', 'external_id'] as const;
export type IdentifierField = (typeof IDENTIFIER_FIELDS)[number];

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Options of a normalisation: the country of phone numbers written without their country code. */
export interface NormaliseOptions {
  readonly defaultCountry?: CountryCode | undefined;
}

/** A field's normaliser for one platform, and whether the platform wants the result hashed. */
export interface IdentifierRule {
  readonly normalise: (value: string, options: NormaliseOptions) => string | null;
  readonly hashed: boolean;
}

/** Text of a mapped value; null for null and empty text. */
function text(value: FieldValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  const s = String(value).normalize('NFC').trim();
  return s === '' ? null : s;
}

/** The normalised, hashed (when the platform hashes this field) value of a field, or null to leave it out. */
export function identifier(rule: IdentifierRule, value: FieldValue | undefined, options: NormaliseOptions = {}): string | null {
  const s = text(value);
  if (s === null) return null;
  if (rule.hashed && isSha256Hex(s)) return s.toLowerCase();
  const normalised = rule.normalise(s, options);
  if (normalised === null || normalised === '') return null;
  return rule.hashed ? sha256Hex(normalised) : normalised;
}

/** E.164 (`+33612345678`) of a phone; `00` taken as the international prefix; null when it cannot be a number. */
export function e164(value: string, defaultCountry: CountryCode | undefined): string | null {
  let s = value.trim();
  if (s.startsWith('00')) s = `+${s.slice(2)}`;
  const parsed = parsePhoneNumberFromString(s, defaultCountry);
  return parsed?.isPossible() ? parsed.number : null;
}

const withoutWhitespace = (s: string) => s.replace(/\s+/gu, '');
const lettersOnly = (s: string) => s.replace(/[^\p{L}]+/gu, '');
const withoutDiacritics = (s: string) => s.normalize('NFD').replace(/\p{M}+/gu, '').normalize('NFC');
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/u;

/**
 * Google, through the Data Manager API (UserIdentifier / AddressInfo), as its formatting guide documents
 * (https://developers.google.com/data-manager/api/devguides/concepts/formatting, read 2026-12-06). Hashed: e-mail
 * lower-cased without any whitespace, and for gmail.com and googlemail.com addresses without the dots of the local
 * part nor a `+suffix`; phone E.164 with `+`; given and family names lower-cased, trimmed, without punctuation (the
 * protos' AddressInfo: "all lowercase, with no punctuation, no leading or trailing whitespace"). Not hashed: region
 * code (ISO 3166-1 alpha-2, upper case) and postal code (trimmed).
 */
export const GOOGLE: Readonly<Partial<Record<IdentifierField, IdentifierRule>>> = {
  email: { hashed: true, normalise: (s) => googleEmail(withoutWhitespace(s).toLowerCase()) },
  phone: { hashed: true, normalise: (s, o) => e164(s, o.defaultCountry) },
  first_name: { hashed: true, normalise: (s) => withoutPunctuation(s.toLowerCase()).trim() },
  last_name: { hashed: true, normalise: (s) => withoutPunctuation(s.toLowerCase()).trim() },
  country_code: { hashed: false, normalise: (s) => countryCode(s)?.toUpperCase() ?? null },
  postal_code: { hashed: false, normalise: (s) => s.trim() },
};

const withoutPunctuation = (s: string) => s.replace(/[\p{P}\p{S}]+/gu, '');

/** Gmail ignores dots and `+suffix` in the local part; Google asks for them removed before hashing. */
function googleEmail(s: string): string | null {
  const valid = email(s);
  if (valid === null) return null;
  const at = valid.lastIndexOf('@');
  const domain = valid.slice(at + 1);
  if (domain !== 'gmail.com' && domain !== 'googlemail.com') return valid;
  const local = valid.slice(0, at).split('+')[0]!.replaceAll('.', '');
  return local ? `${local}@${domain}` : null;
}

/**
 * Meta Custom Audiences multi-key schema. All hashed but EXTERN_ID: EMAIL trimmed and lower-cased; PHONE digits
 * only with the country code, no `+`, no leading zeros; FN/LN lower-case letters only, no punctuation or spaces
 * (letters beyond a–z kept as UTF-8, as Meta documents); CT lower-case a–z only (accents folded, no spaces); ZIP
 * lower-case without spaces (US: the first 5 digits); COUNTRY ISO alpha-2 lower-case; DOBY `YYYY`; GEN `m` | `f`.
 */
export const META: Readonly<Record<IdentifierField, IdentifierRule>> = {
  email: { hashed: true, normalise: (s) => email(s.toLowerCase()) },
  phone: { hashed: true, normalise: (s, o) => e164(s, o.defaultCountry)?.slice(1) ?? null },
  first_name: { hashed: true, normalise: (s) => lettersOnly(s.toLowerCase()) },
  last_name: { hashed: true, normalise: (s) => lettersOnly(s.toLowerCase()) },
  city: { hashed: true, normalise: (s) => withoutDiacritics(s.toLowerCase()).replace(/[^a-z]+/g, '') },
  postal_code: { hashed: true, normalise: (s) => metaZip(s) },
  country_code: { hashed: true, normalise: (s) => countryCode(s) },
  birth_year: { hashed: true, normalise: (s) => birthYear(s) },
  gender: { hashed: true, normalise: (s) => gender(s) },
  external_id: { hashed: false, normalise: (s) => s },
};

function email(s: string): string | null {
  return EMAIL.test(s) ? s : null;
}

function countryCode(s: string): string | null {
  const code = s.trim().toLowerCase();
  return /^[a-z]{2}$/.test(code) ? code : null;
}

function metaZip(s: string): string | null {
  const zip = s.toLowerCase().replace(/\s+/gu, '');
  // A US ZIP+4 keeps its first five digits.
  const us = /^(\d{5})-\d{4}$/.exec(zip);
  return us ? us[1]! : zip;
}

function birthYear(s: string): string | null {
  const year = /^(\d{4})(?:$|-)/.exec(s)?.[1];
  if (year === undefined) return null;
  const n = Number(year);
  return n >= 1900 && n <= new Date().getUTCFullYear() ? year : null;
}

function gender(s: string): string | null {
  const g = s.toLowerCase();
  if (g === 'm' || g === 'male') return 'm';
  if (g === 'f' || g === 'female') return 'f';
  return null;
}
