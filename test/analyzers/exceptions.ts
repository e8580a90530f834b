/**
 * What the analyzers lack, each with its reason: the whole list of exceptions the analyzer suite makes. The suite
 * asserts that every entry is still needed (a declared function some statement calls, a rewrite that changed some
 * statement), so the list cannot grow stale.
 *
 * Nothing here excuses an error in Tideline's SQL: a declared function is type-checked like any other (its arguments
 * and result against the vendor's documented signature), and a rewrite only respells, for the analyzer, syntax the
 * vendor documents with the same meaning.
 */
import type { Rewrite } from '../support/analysing-connection.js';
import { T, type AnalysedDialect, type DeclaredFunction } from '../support/analyzers.js';

export const DECLARED: Readonly<Record<AnalysedDialect, readonly DeclaredFunction[]>> = {
  bigquery: [
    {
      name: 'EDIT_DISTANCE',
      // max_distance is a named argument on BigQuery (`max_distance => n`): left out, as Tideline never passes it.
      signatures: [{ args: [T.string, T.string], returns: T.int64 }],
      reason:
        'BigQuery documents EDIT_DISTANCE(value1, value2 [, max_distance => INT64]) → INT64 (cloud.google.com/bigquery/docs/reference/standard-sql/string_functions#edit_distance); the ZetaSQL build of the npm package predates it',
    },
  ],
  snowflake: [
    {
      name: 'SHA2',
      signatures: [{ args: [T.string], optional: [T.int64], returns: T.string }],
      reason: 'Snowflake documents SHA2(msg [, digest_size]) → VARCHAR of hex digits (docs.snowflake.com/en/sql-reference/functions/sha2); the Snowflake build of ZetaSQL lacks it',
    },
    {
      name: 'MD5_HEX',
      signatures: [{ args: [T.string], returns: T.string }],
      reason: 'Snowflake documents MD5 and MD5_HEX as one function returning a 32-character hex-encoded VARCHAR (docs.snowflake.com/en/sql-reference/functions/md5); the Snowflake build lacks MD5_HEX and types MD5 as BYTES (see the rewrite)',
    },
    {
      name: 'EDITDISTANCE',
      signatures: [{ args: [T.string, T.string], optional: [T.int64], returns: T.int64 }],
      reason: 'Snowflake documents EDITDISTANCE(string1, string2 [, max_distance]) → INTEGER (docs.snowflake.com/en/sql-reference/functions/editdistance); the Snowflake build lacks it',
    },
    {
      name: 'JAROWINKLER_SIMILARITY',
      signatures: [{ args: [T.string, T.string], returns: T.int64 }],
      reason: 'Snowflake documents JAROWINKLER_SIMILARITY(expr1, expr2) → INTEGER 0–100 (docs.snowflake.com/en/sql-reference/functions/jarowinkler_similarity); the Snowflake build lacks it',
    },
  ],
};

/** Snowflake text split into what a rewrite may touch (code) and what it must not (literals, identifiers, comments). */
type Segment = { readonly kind: 'code' | 'string' | 'identifier' | 'comment'; readonly text: string };

function segments(text: string): Segment[] {
  const out: Segment[] = [];
  let code = '';
  const flush = () => {
    if (code) out.push({ kind: 'code', text: code });
    code = '';
  };
  for (let i = 0; i < text.length; ) {
    const ch = text[i]!;
    const rest = text.slice(i);
    if (ch === "'" || ch === '"') {
      flush();
      let j = i + 1;
      for (; j < text.length; j++) {
        if (ch === "'" && text[j] === '\\') j++;
        else if (text[j] === ch && text[j + 1] === ch) j++;
        else if (text[j] === ch) break;
      }
      out.push({ kind: ch === "'" ? 'string' : 'identifier', text: text.slice(i, j + 1) });
      i = j + 1;
    } else if (rest.startsWith('--') || rest.startsWith('/*')) {
      flush();
      const end = rest.startsWith('--') ? rest.indexOf('\n') : rest.indexOf('*/') + 2;
      const length = end <= 0 ? rest.length : end;
      out.push({ kind: 'comment', text: rest.slice(0, length) });
      i += length;
    } else {
      code += ch;
      i++;
    }
  }
  flush();
  return out;
}

/** The values of a statement's string literals, in order (a doubled quote or a backslash escaping the next character). */
export function stringLiterals(text: string): string[] {
  return segments(text)
    .filter((s) => s.kind === 'string')
    .map((s) => s.text.slice(1, -1).replace(/''/g, "'").replace(/\\(.)/g, '$1'));
}

/**
 * A statement's code without its string literals and comments (each left as `''` or a space), and without its quoted
 * identifiers unless `keepIdentifiers` (then left as `""`): what a pattern over SQL keywords should look at.
 */
export function codeOf(text: string, options: { readonly keepIdentifiers?: boolean } = {}): string {
  return segments(text)
    .map((s) => (s.kind === 'code' || (s.kind === 'identifier' && options.keepIdentifiers) ? s.text : s.kind === 'string' ? "''" : s.kind === 'identifier' ? '""' : ' '))
    .join('');
}

/**
 * Applies `transform` to the code of a statement only: literals, quoted identifiers and comments are held out as
 * numbered placeholders (which a transform sees as opaque words), then put back.
 */
function rewriteCode(transform: (code: string) => string): (text: string) => string {
  return (text) => {
    const held: string[] = [];
    const masked = segments(text)
      .map((s) => (s.kind === 'code' ? s.text : `\u0000${held.push(s.text) - 1}\u0000`))
      .join('');
    return transform(masked).replace(/\u0000(\d+)\u0000/g, (_, i: string) => held[Number(i)]!);
  };
}

/** The index just past the parenthesis closing the one opened at `open`. */
function closing(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === '(') depth++;
    else if (code[i] === ')' && --depth === 0) return i + 1;
  }
  return -1;
}

function listagg(code: string): string {
  const start = code.search(/\bLISTAGG\s*\(/);
  if (start < 0) return code;
  const open = code.indexOf('(', start);
  const end = closing(code, open);
  const within = /^\s*WITHIN\s+GROUP\s*\(\s*ORDER\s+BY\s+/i.exec(code.slice(end));
  if (end < 0 || !within) return code;
  const orderOpen = code.indexOf('(', end);
  const orderEnd = closing(code, orderOpen);
  const args = code.slice(open + 1, end - 1);
  const order = code.slice(end + within[0].length, orderEnd - 1);
  return `${code.slice(0, start)}STRING_AGG(${args} ORDER BY ${order})${listagg(code.slice(orderEnd))}`;
}

export const REWRITES: Readonly<Record<AnalysedDialect, readonly Rewrite[]>> = {
  bigquery: [],
  snowflake: [
    {
      name: 'NUMBER(38,0) as INTEGER',
      sample: 'SELECT CAST(1 AS NUMBER(38,0))',
      reason:
        'Snowflake documents INTEGER as a synonym of NUMBER(38,0) (docs.snowflake.com/en/sql-reference/data-types-numeric); the Snowflake build maps NUMBER onto BigQuery NUMERIC, whose precision stops at 29',
      apply: rewriteCode((code) => code.replace(/\bNUMBER\(\s*38\s*,\s*0\s*\)/gi, 'INTEGER')),
    },
    {
      name: "'' as \\' in string literals",
      sample: "SELECT 'it''s'",
      reason:
        "Snowflake documents both a doubled quote and a backslash as escapes of a quote in a string literal (docs.snowflake.com/en/sql-reference/data-types-text#escape-sequences-in-single-quoted-string-constants); the Snowflake build's lexer only knows the backslash",
      apply: (text) => segments(text).map((s) => (s.kind === 'string' ? `'${s.text.slice(1, -1).replace(/''/g, "\\'")}'` : s.text)).join(''),
    },
    {
      name: 'CLONE as COPY',
      sample: 'CREATE OR REPLACE TABLE "A"."B" CLONE "A"."C"',
      reason:
        'CREATE OR REPLACE TABLE t CLONE s (docs.snowflake.com/en/sql-reference/sql/create-clone) makes t a copy of s, columns and rows; the Snowflake build rejects CLONE ("not supported") but analyses the same statement spelled with COPY',
      apply: rewriteCode((code) => code.replace(/\bCLONE\b/g, 'COPY')),
    },
    {
      name: 'MD5 as MD5_HEX',
      sample: "SELECT MD5('a') = 'x'",
      reason: 'the Snowflake build types MD5 as BYTES, where Snowflake returns its hex VARCHAR; MD5_HEX, its documented synonym, is declared above with that type',
      apply: rewriteCode((code) => code.replace(/\bMD5\s*\(/g, 'MD5_HEX(')),
    },
    {
      name: 'LISTAGG … WITHIN GROUP as STRING_AGG',
      sample: 'SELECT LISTAGG("X", \', \') WITHIN GROUP (ORDER BY "X") FROM "A"."C"',
      reason:
        "LISTAGG([DISTINCT] x, sep) WITHIN GROUP (ORDER BY y) (docs.snowflake.com/en/sql-reference/functions/listagg) is the ordered string aggregate the Snowflake build knows as STRING_AGG([DISTINCT] x, sep ORDER BY y); its parser has no WITHIN GROUP",
      apply: rewriteCode(listagg),
    },
  ],
};

/**
 * examples/shop's `sql` models are SQL written by hand for DuckDB and PostgreSQL (their files say so), not SQL
 * Tideline compiles. A BigQuery or Snowflake user writes them in that warehouse's SQL; the suite does the same with
 * these few translations, applied to its copy of the example, so that the models built on them are analysed too.
 */
export interface Translation {
  readonly name: string;
  readonly from: RegExp;
  readonly to: string;
}

export const EXAMPLE_SQL: Readonly<Record<AnalysedDialect, readonly Translation[]>> = {
  bigquery: [
    // DuckDB/PostgreSQL replace only the first match without the 'g' flag; BigQuery always replaces every match.
    { name: "regexp_replace(…, 'g')", from: /regexp_replace\(([^()]+), '\[\^0-9\]', '', 'g'\)/g, to: "regexp_replace($1, '[^0-9]', '')" },
    { name: 'UNION as UNION DISTINCT', from: /^(\s*)UNION\s*$/gm, to: '$1UNION DISTINCT' },
    { name: "INTERVAL '24 hours'", from: /INTERVAL '24 hours'/g, to: 'INTERVAL 24 HOUR' },
    { name: 'VARCHAR as STRING', from: /AS VARCHAR\)/g, to: 'AS STRING)' },
  ],
  snowflake: [
    { name: "regexp_replace(…, 'g')", from: /regexp_replace\(([^()]+), '\[\^0-9\]', '', 'g'\)/g, to: "regexp_replace($1, '[^0-9]', '')" },
    // Snowflake accepts `+ INTERVAL '24 hours'`, which the Snowflake build does not parse: DATEADD, as Snowflake users write it.
    { name: "+ INTERVAL '24 hours'", from: /(\w+\.\w+) \+ INTERVAL '24 hours'/g, to: 'DATEADD(hour, 24, $1)' },
  ],
};
