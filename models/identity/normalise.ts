import type { Dialect } from '../../src/dialects/dialect.js';
import { Sql, joinSql, sql } from '../../src/dialects/sql.js';
import type { PhoneCountry } from './phone-countries.js';
import type { DateOrder, IdentifierType } from './schema.js';

/**
 * Normalisation of identifier values, in SQL through the Dialect, so that it runs inside the warehouse and gives the
 * same result on every engine (normalise.test.ts runs each case on DuckDB and PostgreSQL).
 *
 * A normaliser is a list of stages, each an expression over the previous stage's result (the first over the raw value
 * cast to text). The compiler nests one SELECT per stage, so an intermediate such as a phone's digits is computed once
 * rather than repeated in every branch of a CASE. Every normaliser yields NULL for a value that cannot identify anyone
 * (empty, invalid), so that NULL is the only "no value".
 */
export interface Normaliser {
  readonly stages: readonly ((value: Sql) => Sql)[];
  /**
   * The form kept for the golden record, from the raw text, when it differs from the matching form: a name is
   * matched as `chloe dupont martin` but shown as `Chloé Dupont-Martin`.
   */
  readonly display?: (raw: Sql) => Sql;
}

export interface NormaliseOptions {
  /** Phones: the default country of national numbers. Without one, only international numbers are kept. */
  readonly country?: PhoneCountry | undefined;
  /** Dates written as text. */
  readonly dateOrder?: DateOrder | undefined;
}

export function normaliser(d: Dialect, type: IdentifierType, options: NormaliseOptions = {}): Normaliser {
  switch (type) {
    case 'email':
      return { stages: emailStages(d) };
    case 'phone':
      return { stages: phoneStages(d, options.country) };
    case 'name':
    case 'address':
      return { stages: nameStages(d), display: (raw) => displayText(d, raw) };
    case 'postcode':
      return { stages: [(v) => emptyToNull(d, d.functions.upper(d.functions.regexpReplaceAll(v, d.string('[[:space:]]'), d.string(''))))] };
    case 'code':
      return { stages: [(v) => emptyToNull(d, d.functions.upper(d.functions.regexpReplaceAll(v, d.string('[^0-9A-Za-z]'), d.string(''))))] };
    case 'date':
      return { stages: dateStages(d, options.dateOrder ?? 'ymd') };
    case 'text':
      return { stages: [(v) => emptyToNull(d, d.functions.lower(collapseSpaces(d, v)))], display: (raw) => displayText(d, raw) };
  }
}

/** The normalised value of one expression with the stages inlined: for constants (junk values, a looked-up e-mail). */
export function normaliseInline(d: Dialect, type: IdentifierType, options: NormaliseOptions, raw: Sql): Sql {
  return normaliser(d, type, options).stages.reduce((value, stage) => stage(value), d.cast(raw, 'string'));
}

function emptyToNull(d: Dialect, value: Sql): Sql {
  return sql`NULLIF(${value}, ${d.string('')})`;
}

function collapseSpaces(d: Dialect, value: Sql): Sql {
  return d.functions.trim(d.functions.regexpReplaceAll(value, d.string('[[:space:]]+'), d.string(' ')));
}

function displayText(d: Dialect, raw: Sql): Sql {
  return emptyToNull(d, collapseSpaces(d, raw));
}

/**
 * E-mail: every space removed (` Alice @Example.com` is a typo, not another address), lower-cased, then kept only
 * if it looks like an address: one `@`, a local part, a domain with a dot and a top-level part of two characters or
 * more, no `..`. Deliberately lenient beyond that: "obviously invalid" is the bar, not RFC 5322.
 */
function emailStages(d: Dialect): ((value: Sql) => Sql)[] {
  const f = d.functions;
  return [
    (v) => f.lower(f.regexpReplaceAll(v, d.string('[[:space:]]'), d.string(''))),
    (v) => sql`CASE WHEN ${f.regexpContains(v, d.string('^[^@]+@[^@.][^@]*[.][^@.]{2,}$'))} AND NOT ${f.regexpContains(v, d.string('[.][.]'))} THEN ${v} END`,
  ];
}

/**
 * Phone to E.164 (`+` and up to 15 digits):
 *  1. `(0)` dropped (`+33 (0)6…`), then everything but digits and `+` (spaces, dots, dashes, parentheses);
 *  2. `+…` kept; the country's international prefix (`00`, `011`…) becomes `+`; a national number (trunk prefix and
 *     the national length, or the national length alone) gets the default country's code; a number that starts with
 *     the country code and has its length gets a `+`;
 *  3. a trunk prefix written after the default country's code (`+33 06…`, a common mistake) is dropped;
 *  4. anything that is not `+`, a non-zero digit and 6 to 14 more digits is no phone number (`0000000000` ends here).
 */
function phoneStages(d: Dialect, country: PhoneCountry | undefined): ((value: Sql) => Sql)[] {
  const f = d.functions;
  const len = (v: Sql) => f.length(v);
  const n = (value: number) => d.literal(value);
  const from = (v: Sql, start: number) => f.substring(v, n(start), len(v));
  const between = (v: Sql, min: number, max: number) => sql`${len(v)} BETWEEN ${n(min)} AND ${n(max)}`;
  const startsWith = (v: Sql, prefix: string) => sql`${v} LIKE ${d.string(`${prefix}%`)}`;

  const international = (p: Sql): Sql[] => [
    sql`WHEN ${startsWith(p, '+')} THEN ${d.string('+')} || ${f.regexpReplaceAll(p, d.string('[^0-9]'), d.string(''))}`,
    sql`WHEN ${startsWith(p, country?.international ?? '00')} THEN ${d.string('+')} || ${from(p, (country?.international ?? '00').length + 1)}`,
  ];
  const national = (p: Sql): Sql[] => {
    if (!country) return [];
    const { callingCode: cc, trunk, minDigits: min, maxDigits: max } = country;
    const plusCc = d.string(`+${cc}`);
    return [
      ...(trunk ? [sql`WHEN ${startsWith(p, trunk)} AND ${between(p, min + trunk.length, max + trunk.length)} THEN ${plusCc} || ${from(p, trunk.length + 1)}`] : []),
      sql`WHEN ${trunk ? sql`${p} NOT LIKE ${d.string(`${trunk}%`)} AND ` : Sql.empty}${between(p, min, max)} THEN ${plusCc} || ${p}`,
      sql`WHEN ${startsWith(p, cc)} AND ${between(p, min + cc.length, max + cc.length)} THEN ${d.string('+')} || ${p}`,
    ];
  };
  const trunkAfterCode = (v: Sql): Sql => {
    if (!country?.trunk) return v;
    const { callingCode: cc, trunk, minDigits: min, maxDigits: max } = country;
    const written = 1 + cc.length + trunk.length;
    return sql`CASE WHEN ${startsWith(v, `+${cc}${trunk}`)} AND ${between(v, written + min, written + max)} THEN ${d.string(`+${cc}`)} || ${from(v, written + 1)} ELSE ${v} END`;
  };
  return [
    (v) => f.regexpReplaceAll(f.regexpReplaceAll(v, d.string('[(]0[)]'), d.string('')), d.string('[^0-9+]'), d.string('')),
    (p) => sql`CASE\n  ${joinSql([...international(p), ...national(p)], sql`\n  `)}\nEND`,
    (v) => trunkAfterCode(v),
    (v) => sql`CASE WHEN ${f.regexpContains(v, d.string('^[+][1-9][0-9]{6,14}$'))} THEN ${v} END`,
  ];
}

/** Letters that accent folding leaves alone in some warehouses (no Unicode decomposition), spelt out everywhere. */
const LETTERS: readonly (readonly [string, string])[] = [
  ['ß', 'ss'],
  ['æ', 'ae'],
  ['œ', 'oe'],
  ['[øØ]', 'o'],
  ['[łŁ]', 'l'],
  ['[đĐð]', 'd'],
  ['þ', 'th'],
  ['ı', 'i'],
];

/**
 * Accent folding for a warehouse without a native function (Snowflake): the accented lower-case Latin letters, one
 * character class per base letter. Scripts other than Latin are left as they are.
 */
const FOLD_FALLBACK: readonly (readonly [string, string])[] = [
  ['[àáâãäåāăą]', 'a'],
  ['[çćĉċč]', 'c'],
  ['[ď]', 'd'],
  ['[èéêëēĕėęě]', 'e'],
  ['[ĝğġģ]', 'g'],
  ['[ĥħ]', 'h'],
  ['[ìíîïĩīĭį]', 'i'],
  ['[ĵ]', 'j'],
  ['[ķ]', 'k'],
  ['[ĺļľŀ]', 'l'],
  ['[ñńņňŉ]', 'n'],
  ['[òóôõöōŏő]', 'o'],
  ['[ŕŗř]', 'r'],
  ['[śŝşšș]', 's'],
  ['[ţťŧț]', 't'],
  ['[ùúûüũūŭůűų]', 'u'],
  ['[ŵ]', 'w'],
  ['[ýÿŷ]', 'y'],
  ['[źżž]', 'z'],
];

/** Accents folded with the warehouse's function, or with the documented Latin fallback where it has none. */
export function foldAccents(d: Dialect, value: Sql): Sql {
  const native = d.functions.foldAccents;
  if (native) return native(value);
  return FOLD_FALLBACK.reduce((v, [pattern, letter]) => d.functions.regexpReplaceAll(v, d.string(pattern), d.string(letter)), value);
}

/**
 * Names and addresses: lower-cased, special letters spelt out, accents folded, apostrophes dropped (O'Brien =
 * OBrien), other punctuation made a space (Dupont-Martin = Dupont Martin), spaces collapsed. Values made only of
 * printable ASCII, most of them, skip the letter and accent work: a dozen regular expressions per value cost seconds
 * per million rows on PostgreSQL.
 */
function nameStages(d: Dialect): ((value: Sql) => Sql)[] {
  const f = d.functions;
  return [
    (v) => {
      const spelt = LETTERS.reduce((x, [pattern, letters]) => f.regexpReplaceAll(x, d.string(pattern), d.string(letters)), f.lower(v));
      return sql`CASE WHEN ${f.regexpContains(v, d.string('[^ -~]'))} THEN ${f.lower(foldAccents(d, spelt))} ELSE ${f.lower(v)} END`;
    },
    (v) => {
      const noApostrophes = f.regexpReplaceAll(v, d.string("['’‘`´]"), d.string(''));
      const spaced = f.regexpReplaceAll(noApostrophes, d.string('[-_.,;:/\\\\()"&+*!?#@]'), d.string(' '));
      return emptyToNull(d, collapseSpaces(d, spaced));
    },
  ];
}

/**
 * Dates to `YYYY-MM-DD`: a time part dropped; separated forms (`/`, `-`, `.`) and eight-digit forms read in the
 * configured order, ISO always; one-digit months and days padded; then kept only if it is a calendar date (months of
 * 30 days, February 29 only in leap years), so that casting the golden value to DATE cannot fail.
 */
function dateStages(d: Dialect, order: DateOrder): ((value: Sql) => Sql)[] {
  const f = d.functions;
  const re = (v: Sql, pattern: string, replacement: string) => f.regexpReplaceAll(v, d.string(pattern), d.string(replacement));
  const sep = '[-/.]';
  const reorder: Record<DateOrder, (v: Sql) => Sql> = {
    ymd: (v) => re(v, '^([0-9]{4})([0-9]{2})([0-9]{2})$', '\\1-\\2-\\3'),
    dmy: (v) => re(re(v, `^([0-9]{1,2})${sep}([0-9]{1,2})${sep}([0-9]{4})$`, '\\3-\\2-\\1'), '^([0-9]{2})([0-9]{2})([0-9]{4})$', '\\3-\\2-\\1'),
    mdy: (v) => re(re(v, `^([0-9]{1,2})${sep}([0-9]{1,2})${sep}([0-9]{4})$`, '\\3-\\1-\\2'), '^([0-9]{2})([0-9]{2})([0-9]{4})$', '\\3-\\1-\\2'),
  };
  const part = (v: Sql, start: number, length: number) => f.substring(v, d.literal(start), d.literal(length));
  const year = (v: Sql) => sql`CAST(${part(v, 1, 4)} AS ${d.type('integer')})`;
  const month = (v: Sql) => part(v, 6, 2);
  const day = (v: Sql) => part(v, 9, 2);
  const months = (list: readonly string[]) => sql`(${joinSql(list.map((m) => d.string(m)))})`;
  // Dates already in ISO form (from DATE columns, most of them) skip the reshaping.
  const isoDay = (v: Sql) => f.regexpContains(v, d.string('^[0-9]{4}-[0-9]{2}-[0-9]{2}$'));
  return [
    (v) => sql`CASE WHEN ${f.length(v)} > 10 THEN ${re(d.functions.trim(v), '^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})[ T].*$', '\\1')} ELSE ${d.functions.trim(v)} END`,
    (v) => {
      const iso = re(v, `^([0-9]{4})${sep}([0-9]{1,2})${sep}([0-9]{1,2})$`, '\\1-\\2-\\3');
      return sql`CASE WHEN ${isoDay(v)} THEN ${v} ELSE ${re(re(reorder[order](iso), '^([0-9]{4})-([0-9])-', '\\1-0\\2-'), '-([0-9])$', '-0\\1')} END`;
    },
    (v) => {
      const leap = sql`MOD(${year(v)}, 4) = 0 AND (MOD(${year(v)}, 100) <> 0 OR MOD(${year(v)}, 400) = 0)`;
      const calendar = sql`${month(v)} IN ${months(['01', '03', '05', '07', '08', '10', '12'])}
    OR (${month(v)} IN ${months(['04', '06', '09', '11'])} AND ${day(v)} <> ${d.string('31')})
    OR (${month(v)} = ${d.string('02')} AND (${day(v)} <= ${d.string('28')} OR (${day(v)} = ${d.string('29')} AND ${leap})))`;
      const shape = f.regexpContains(v, d.string('^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'));
      // Nested CASE: the year is cast to an integer only once the shape is known to be right.
      return sql`CASE WHEN ${shape} AND ${part(v, 1, 4)} <> ${d.string('0000')} THEN CASE WHEN ${calendar} THEN ${v} END END`;
    },
  ];
}
