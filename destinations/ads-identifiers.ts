import { createHash } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { parsePhoneNumberFromString } from './phone-numbers.js';
import type { Batch, FieldValue, OutboundRecord } from './destination.js';
import { rejected, type Outcomes } from './kit/records.js';

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

/**
 * Mapped field names an ads sync may use, shared by both platforms (a sync can switch platform unchanged); a platform
 * leaves out the fields it has no key for (Google takes the first six). The last five are Meta's alone.
 */
export const IDENTIFIER_FIELDS = [
  'email',
  'phone',
  'first_name',
  'last_name',
  'city',
  'postal_code',
  'country_code',
  'birth_year',
  'gender',
  'external_id',
  'state',
  'birth_month',
  'birth_day',
  'first_initial',
  'mobile_advertiser_id',
] as const;
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
 * Meta Custom Audiences multi-key schema, as the hashing table of "Customer File Custom Audiences" says
 * (https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences, updated 2026-04-28; the key
 * names are in destinations/meta/protocol.ts). All SHA-256 hashed but EXTERN_ID and MADID:
 *  - EMAIL: trimmed, lower-cased;
 *  - PHONE: digits only with the country code, no `+`, no leading zeros (a national number takes
 *    `default_phone_country`);
 *  - FN, LN: lower-case letters only, no punctuation or spaces (letters beyond a–z kept, UTF-8); FI: the first of them;
 *  - CT: lower-case a–z only, no punctuation, special characters or spaces (accents folded);
 *  - ST: a US state as its 2-letter ANSI code, lower-case (full names mapped); elsewhere lower-case a–z only;
 *  - ZIP: lower-case without spaces; US: the first 5 digits; UK: area, district and sector (`sw1a 1aa` → `sw1a1`);
 *  - COUNTRY: ISO 3166-1 alpha-2, lower-case;
 *  - DOBY `YYYY` (1900 to this year), DOBM `MM` (01–12), DOBD `DD` (01–31): each also read from a full date
 *    `YYYY-MM-DD`, so one date column can fill all three;
 *  - GEN: `m` | `f`;
 *  - MADID (an IDFA or Android advertising id): lower-case, hyphens kept, **not hashed**;
 *  - EXTERN_ID: the advertiser's own id, as it is, **not hashed**.
 */
export const META: Readonly<Record<IdentifierField, IdentifierRule>> = {
  email: { hashed: true, normalise: (s) => email(s.toLowerCase()) },
  phone: { hashed: true, normalise: (s, o) => e164(s, o.defaultCountry)?.slice(1) ?? null },
  first_name: { hashed: true, normalise: (s) => lettersOnly(s.toLowerCase()) || null },
  first_initial: { hashed: true, normalise: (s) => [...lettersOnly(s.toLowerCase())][0] ?? null },
  last_name: { hashed: true, normalise: (s) => lettersOnly(s.toLowerCase()) || null },
  city: { hashed: true, normalise: (s) => asciiLetters(s) },
  state: { hashed: true, normalise: (s) => usState(s) ?? asciiLetters(s) },
  postal_code: { hashed: true, normalise: (s) => metaZip(s) },
  country_code: { hashed: true, normalise: (s) => countryCode(s) },
  birth_year: { hashed: true, normalise: (s) => birthYear(s) },
  birth_month: { hashed: true, normalise: (s) => datePart(s, 'month') },
  birth_day: { hashed: true, normalise: (s) => datePart(s, 'day') },
  gender: { hashed: true, normalise: (s) => gender(s) },
  mobile_advertiser_id: { hashed: false, normalise: (s) => advertisingId(s) },
  external_id: { hashed: false, normalise: (s) => s },
};

function email(s: string): string | null {
  return EMAIL.test(s) ? s : null;
}

function countryCode(s: string): string | null {
  const code = s.trim().toLowerCase();
  return /^[a-z]{2}$/.test(code) ? code : null;
}

/** UK postcodes: outward code (area and district), then the inward code's sector digit and unit letters. */
const UK_POSTCODE = /^([a-z]{1,2}\d[a-z\d]?)(\d)[abd-hjlnp-uw-z]{2}$/;

function metaZip(s: string): string | null {
  const zip = s.toLowerCase().replace(/\s+/gu, '');
  // A US ZIP+4 keeps its first five digits.
  const us = /^(\d{5})-\d{4}$/.exec(zip);
  if (us) return us[1]!;
  // A full UK postcode keeps area, district and sector.
  const uk = UK_POSTCODE.exec(zip);
  return uk ? `${uk[1]}${uk[2]}` : zip || null;
}

function birthYear(s: string): string | null {
  const year = /^(\d{4})(?:$|-)/.exec(s)?.[1];
  if (year === undefined) return null;
  const n = Number(year);
  return n >= 1900 && n <= new Date().getUTCFullYear() ? year : null;
}

/** Month (`MM`) or day (`DD`) of a birth date: a number, or read from a full date `YYYY-MM-DD`. */
function datePart(s: string, part: 'month' | 'day'): string | null {
  const full = /^\d{4}-(\d{1,2})-(\d{1,2})(?:$|[T ])/.exec(s);
  const text = full ? full[part === 'month' ? 1 : 2]! : /^\d{1,2}$/.test(s) ? s : undefined;
  if (text === undefined) return null;
  const n = Number(text);
  return n >= 1 && n <= (part === 'month' ? 12 : 31) ? String(n).padStart(2, '0') : null;
}

/** Lower-case a–z only: accents folded, everything else (spaces, digits, punctuation) dropped. */
function asciiLetters(s: string): string | null {
  return withoutDiacritics(s.toLowerCase()).replace(/[^a-z]+/g, '') || null;
}

/** An IDFA or Android advertising id: a UUID, lower-cased with its hyphens. */
function advertisingId(s: string): string | null {
  const id = s.trim().toLowerCase();
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) ? id : null;
}

/** The ANSI (USPS) codes of the US states, the District of Columbia and the territories, by full name. */
const US_STATES: Readonly<Record<string, string>> = {
  alabama: 'al', alaska: 'ak', arizona: 'az', arkansas: 'ar', california: 'ca', colorado: 'co', connecticut: 'ct',
  delaware: 'de', districtofcolumbia: 'dc', florida: 'fl', georgia: 'ga', hawaii: 'hi', idaho: 'id', illinois: 'il',
  indiana: 'in', iowa: 'ia', kansas: 'ks', kentucky: 'ky', louisiana: 'la', maine: 'me', maryland: 'md',
  massachusetts: 'ma', michigan: 'mi', minnesota: 'mn', mississippi: 'ms', missouri: 'mo', montana: 'mt',
  nebraska: 'ne', nevada: 'nv', newhampshire: 'nh', newjersey: 'nj', newmexico: 'nm', newyork: 'ny',
  northcarolina: 'nc', northdakota: 'nd', ohio: 'oh', oklahoma: 'ok', oregon: 'or', pennsylvania: 'pa',
  rhodeisland: 'ri', southcarolina: 'sc', southdakota: 'sd', tennessee: 'tn', texas: 'tx', utah: 'ut', vermont: 'vt',
  virginia: 'va', washington: 'wa', westvirginia: 'wv', wisconsin: 'wi', wyoming: 'wy', puertorico: 'pr',
  guam: 'gu', americansamoa: 'as', northernmarianaislands: 'mp', usvirginislands: 'vi',
};

/** A US state written as its full name, mapped to its code; undefined for anything else. */
function usState(s: string): string | undefined {
  const letters = asciiLetters(s);
  return letters === null ? undefined : US_STATES[letters];
}

function gender(s: string): string | null {
  const g = s.toLowerCase();
  if (g === 'm' || g === 'male') return 'm';
  if (g === 'f' || g === 'female') return 'f';
  return null;
}

/** Whether an audience batch takes members out: `remove`, or the `delete` of a record gone from the model. */
export function removesMembers(batch: Pick<Batch, 'operation'>): boolean {
  return batch.operation === 'remove' || batch.operation === 'delete';
}

/** A record of an audience batch with what the platform matches it by (hashes, a row of them). */
export interface Identified<T> {
  readonly index: number;
  readonly record: OutboundRecord;
  readonly ids: T;
}

/**
 * The records of an audience batch that carry identifiers, each with them (`identify` answers undefined for a record
 * with none after normalisation); the others are settled `no_identifiers` — nothing of theirs can be sent. `what`
 * names the identifiers looked for, in the message.
 */
export function identified<T>(outcomes: Outcomes, identify: (record: OutboundRecord) => T | undefined, what: string): Identified<T>[] {
  const found: Identified<T>[] = [];
  outcomes.batch.records.forEach((record, index) => {
    const ids = identify(record);
    if (ids === undefined) outcomes.settle(index, rejected('no_identifiers', `no usable ${what} after normalisation`));
    else found.push({ index, record, ids });
  });
  return found;
}
