/**
 * Checks the analyzer suite adds where the analyzers are more lenient than the warehouses (test/support/
 * analysing-connection.ts, Lint):
 *  - the Snowflake build of ZetaSQL keeps ZetaSQL's whole function library, BigQuery's: a Snowflake statement may only
 *    call functions Snowflake documents, and may not use BigQuery's own spellings (backticks, INT64, SAFE_CAST…);
 *  - both builds resolve names whatever their case, where Snowflake's quoted identifiers and BigQuery's dataset and
 *    table names are case-sensitive: on BigQuery a quoted name that matches a dataset or table only in another case
 *    is an error; on Snowflake a quoted simple lower-case name that no table or column was created with.
 */
import type { Lint } from '../support/analysing-connection.js';
import { codeOf } from './exceptions.js';

/**
 * Every function a Snowflake statement of the suite calls, each one Snowflake documents
 * (docs.snowflake.com/en/sql-reference/functions-all), under the name the Snowflake build resolves it to: TO_NUMBER
 * and TO_CHAR resolve as their synonyms TO_DECIMAL and TO_VARCHAR, `||` as CONCAT, MD5 as MD5_HEX (a rewrite), and
 * TO_TIMESTAMP_NTZ as TO_TIMESTAMP_LTZ. A function missing here fails the suite: check Snowflake documents it, then add
 * it.
 */
const SNOWFLAKE_FUNCTIONS = new Set([
  'abs', 'coalesce', 'concat', 'count', 'current_date', 'date_trunc', 'dateadd', 'datediff', 'dense_rank', 'editdistance',
  'exp', 'greatest', 'jarowinkler_similarity', 'least', 'length', 'ln', 'lower', 'max', 'md5_hex', 'min', 'mod', 'ntile',
  'nullif', 'pow', 'regexp_instr', 'regexp_replace', 'right', 'row_number', 'sha2', 'sqrt', 'substr', 'sum', 'to_decimal',
  'to_timestamp_ltz', 'to_varchar', 'trim', 'upper',
]);

/** BigQuery's spellings the Snowflake build accepts and Snowflake does not. */
const BIGQUERY_ONLY: readonly (readonly [RegExp, string])[] = [
  [/`/, 'a backtick-quoted identifier'],
  [/\b(INT64|FLOAT64|BOOL|BIGNUMERIC)\b/i, 'a BigQuery type name'],
  [/\bSAFE_CAST\b|\bSAFE\./i, 'SAFE_CAST or a SAFE. function'],
  [/\*\s*EXCEPT\s*\(/i, 'SELECT * EXCEPT (Snowflake writes EXCLUDE)'],
  [/\bEXCEPT\s+DISTINCT\b|\bUNION\s+DISTINCT\b|\bINTERSECT\s+DISTINCT\b/i, 'a set operation with DISTINCT'],
];

export const snowflakeFunctions: Lint = ({ dialect, functions, sent, original }) => {
  if (dialect !== 'snowflake') return undefined;
  // STRING_AGG is the rewrite of LISTAGG … WITHIN GROUP (exceptions.ts), allowed only as that.
  const unknown = functions.filter((f) => !SNOWFLAKE_FUNCTIONS.has(f) && !(f === 'string_agg' && /\bLISTAGG\b/i.test(original) && !/\bSTRING_AGG\b/i.test(codeOf(original))));
  if (unknown.length) return `not a Snowflake function (or not yet checked against Snowflake's documentation: test/analyzers/lints.ts): ${unknown.join(', ')}`;
  const code = codeOf(sent);
  for (const [pattern, what] of BIGQUERY_ONLY) if (pattern.test(code)) return `BigQuery syntax Snowflake rejects: ${what}`;
  return undefined;
};

/** The quoted identifiers of a statement, as written. */
function quoted(text: string, quote: string): string[] {
  const names: string[] = [];
  const pattern = quote === '"' ? /"((?:[^"]|"")*)"/g : /`((?:[^`\\]|\\.)*)`/g;
  // Only in code: not inside string literals or comments.
  const code = codeOf(text, { keepIdentifiers: true });
  for (const match of code.matchAll(pattern)) names.push(match[1]!.replace(/""/g, '"'));
  return names;
}

/** Names a statement defines for itself: aliases (`AS "X"`, `AS x`), CTE names (`x AS (`). */
function defined(text: string, dialect: string): Set<string> {
  const names = new Set<string>();
  const code = codeOf(text, { keepIdentifiers: true });
  for (const m of code.matchAll(/\bAS\s+("(?:[^"]|"")*"|`[^`]*`|[A-Za-z_][A-Za-z0-9_$]*)/gi)) names.add(unquote(m[1]!, dialect));
  for (const m of code.matchAll(/("(?:[^"]|"")*"|`[^`]*`|[A-Za-z_][A-Za-z0-9_$]*)\s+AS\s*\(/gi)) names.add(unquote(m[1]!, dialect));
  return names;
}

function unquote(name: string, dialect: string): string {
  if (name.startsWith('"')) return name.slice(1, -1).replace(/""/g, '"');
  if (name.startsWith('`')) return name.slice(1, -1);
  // An unquoted name folds to upper case on Snowflake.
  return dialect === 'snowflake' ? name.toUpperCase() : name;
}

export const identifierCase: Lint = ({ dialect, sent, relations, columns }) => {
  if (dialect === 'snowflake') {
    // Tideline writes a simple lower-case name upper-cased (Dialect.storedName), as Snowflake stores it unquoted: a
    // quoted simple lower-case name is one written past id(), and names nothing unless a table or column was created
    // quoted in lower case.
    for (const name of quoted(sent, '"')) {
      if (/^[a-z_][a-z0-9_$]*$/.test(name) && !relations.has(name) && !columns.has(name)) return `"${name}" is quoted in lower case: Snowflake compares quoted names exactly, and stores unquoted ones as "${name.toUpperCase()}"`;
    }
    return undefined;
  }
  // BigQuery: dataset and table names are case-sensitive (column names are not).
  const ownNames = defined(sent, dialect);
  const byLower = new Map<string, string>();
  for (const name of relations) byLower.set(name.toLowerCase(), name);
  for (const name of quoted(sent, '`')) {
    if (relations.has(name) || ownNames.has(name)) continue;
    const other = byLower.get(name.toLowerCase());
    if (other !== undefined) return `${name} matches ${other} only in another case: BigQuery dataset and table names are case-sensitive`;
  }
  return undefined;
};

export const LINTS: readonly Lint[] = [snowflakeFunctions, identifierCase];
