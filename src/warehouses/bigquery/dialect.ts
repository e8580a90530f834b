import { Dialect, type DateFormatToken, type DateUnit, type FunctionMap, type TableRef } from '../../dialects/dialect.js';
import { Sql, joinSql, sql } from '../../dialects/sql.js';

/**
 * BigQuery Standard SQL. Unlike the others, BigQuery interprets backslash escapes inside both quoted identifiers
 * (backticks) and string literals, so a backslash must itself be escaped, and control characters are written as
 * escapes because a single-quoted literal cannot span lines. Dates and timestamps have separate function families
 * (DATE_ADD vs TIMESTAMP_ADD), which is why the date methods take the operand type.
 */
export class BigQueryDialect extends Dialect {
  readonly name = 'bigquery' as const;
  readonly capabilities = {
    transactionalDdl: false,
    buildsInTransaction: false,
    buildsBesideModel: false,
    supportsQualify: true,
    supportsMerge: true,
    readsLocalFiles: false,
    identifierCase: 'insensitive',
    maxIdentifierBytes: 300,
    requiresSetup: false,
    needsSelectFences: true,
  } as const;
  readonly types = {
    string: 'STRING',
    integer: 'INT64',
    float: 'FLOAT64',
    decimal: 'NUMERIC(18,2)',
    boolean: 'BOOL',
    date: 'DATE',
    timestamp: 'TIMESTAMP',
  } as const;
  readonly functions: FunctionMap = {
    lower: (a) => sql`LOWER(${a})`,
    upper: (a) => sql`UPPER(${a})`,
    trim: (a) => sql`TRIM(${a})`,
    length: (a) => sql`LENGTH(${a})`,
    sha256Hex: (a) => sql`TO_HEX(SHA256(${a}))`,
    md5Hex: (a) => sql`TO_HEX(MD5(${a}))`,
    regexpReplaceAll: (a, pattern, replacement) => sql`REGEXP_REPLACE(${a}, ${pattern}, ${replacement})`,
    regexpContains: (a, pattern) => sql`REGEXP_CONTAINS(${a}, ${pattern})`,
    substring: (a, start, length) => sql`SUBSTR(${a}, ${start}, ${length})`,
    foldAccents: (a) => sql`REGEXP_REPLACE(NORMALIZE(${a}, NFD), r'\\pM', '')`,
    jaroWinkler: null,
    editDistance: (a, b) => sql`EDIT_DISTANCE(${a}, ${b})`,
    tryCastFromString: (a, type) => sql`SAFE_CAST(${a} AS ${type})`,
  };

  id(name: string): Sql {
    this.assertIdentifier(name);
    return Sql.trusted('`' + escapeBackslashed(name, '`') + '`');
  }

  string(value: string): Sql {
    if (value.includes('\u0000')) throw new RangeError('BigQuery strings cannot hold the NUL character');
    return Sql.trusted(`'${escapeBackslashed(value, "'")}'`);
  }

  currentDate(): Sql {
    return sql`CURRENT_DATE('UTC')`;
  }

  currentTimestamp(): Sql {
    return sql`CURRENT_TIMESTAMP()`;
  }

  dateAdd(expr: Sql, amount: Sql, unit: DateUnit, operand: 'date' | 'timestamp'): Sql {
    const part = this.unitKeyword(unit);
    // TIMESTAMP_ADD refuses MONTH and larger units: go through DATETIME (UTC), which accepts them.
    return operand === 'date'
      ? sql`DATE_ADD(${expr}, INTERVAL ${amount} ${part})`
      : sql`TIMESTAMP(DATETIME_ADD(DATETIME(${expr}), INTERVAL ${amount} ${part}))`;
  }

  dateDiff(unit: 'day' | 'month' | 'year', from: Sql, to: Sql): Sql {
    return sql`DATE_DIFF(DATE(${to}), DATE(${from}), ${this.unitKeyword(unit)})`;
  }

  dateTrunc(unit: DateUnit, expr: Sql, operand: 'date' | 'timestamp'): Sql {
    // Weeks start on Monday (ISOWEEK); a bare WEEK would start them on Sunday.
    const part = unit === 'week' ? sql`ISOWEEK` : this.unitKeyword(unit);
    return operand === 'date' ? sql`DATE_TRUNC(${expr}, ${part})` : sql`TIMESTAMP_TRUNC(${expr}, ${part}, 'UTC')`;
  }

  protected renderDateFormat(expr: Sql, tokens: readonly DateFormatToken[]): Sql {
    const spell: Record<Exclude<DateFormatToken, object>, string> = { YYYY: '%Y', MM: '%m', DD: '%d', HH: '%H', mm: '%M', ss: '%S', 'ss.SSS': '%E3S', 'ss.SSSSSS': '%E6S' };
    const format = tokens.map((t) => (typeof t === 'object' ? t.literal : spell[t])).join('');
    return sql`FORMAT_TIMESTAMP(${this.string(format)}, CAST(${expr} AS TIMESTAMP), 'UTC')`;
  }

  protected override primaryKeyClause(columns: readonly string[]): Sql {
    // BigQuery accepts primary keys only as unenforced metadata.
    return sql`${super.primaryKeyClause(columns)} NOT ENFORCED`;
  }

  jsonArray(items: readonly Sql[]): Sql {
    return sql`TO_JSON_STRING(JSON_ARRAY(${joinSql(items)}))`;
  }

  hashToUint32(text: Sql): Sql {
    return sql`CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(${text})), 1, 8)) AS INT64)`;
  }

  replaceTable(staging: TableRef, target: TableRef): Sql[] {
    // One statement: CREATE OR REPLACE swaps the table atomically; the staging copy is dropped afterwards.
    return [sql`CREATE OR REPLACE TABLE ${this.table(target)} COPY ${this.table(staging)}`, this.dropTable(staging)];
  }
}

/** Escapes backslash, the closing quote and control characters with BigQuery's backslash escapes. */
function escapeBackslashed(value: string, quote: string): string {
  let out = '';
  for (const ch of value) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + quote;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) out += '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0');
    else out += ch;
  }
  return out;
}
