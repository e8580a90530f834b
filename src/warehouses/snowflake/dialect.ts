import { Dialect, doubleQuoteIdentifier, orderList, type DateFormatToken, type DateUnit, type FunctionMap, type TableRef } from '../../dialects/dialect.js';
import { Sql, joinSql, sql } from '../../dialects/sql.js';

/**
 * Snowflake. Unquoted identifiers resolve upper-case, quoted ones are exact: a simple lower-case name from YAML
 * (`orders`) is therefore written `"ORDERS"`, which finds what an unquoted `orders` would; any other name is quoted
 * as written. String literals interpret backslash escapes, so backslashes are doubled and control characters
 * escaped.
 */
export class SnowflakeDialect extends Dialect {
  readonly name = 'snowflake' as const;
  readonly capabilities = {
    transactionalDdl: false,
    buildsInTransaction: false,
    buildsBesideModel: false,
    supportsQualify: true,
    supportsMerge: true,
    readsLocalFiles: false,
    identifierCase: 'upper-unless-quoted',
    maxIdentifierBytes: 255,
    requiresSetup: false,
    needsSelectFences: true,
  } as const;
  readonly types = {
    string: 'VARCHAR',
    integer: 'NUMBER(38,0)',
    float: 'FLOAT',
    decimal: 'NUMBER(18,2)',
    boolean: 'BOOLEAN',
    date: 'DATE',
    timestamp: 'TIMESTAMP_NTZ',
  } as const;
  readonly functions: FunctionMap = {
    lower: (a) => sql`LOWER(${a})`,
    upper: (a) => sql`UPPER(${a})`,
    trim: (a) => sql`TRIM(${a})`,
    length: (a) => sql`LENGTH(${a})`,
    sha256Hex: (a) => sql`SHA2(${a}, 256)`,
    md5Hex: (a) => sql`MD5(${a})`,
    regexpReplaceAll: (a, pattern, replacement) => sql`REGEXP_REPLACE(${a}, ${pattern}, ${replacement})`,
    regexpContains: (a, pattern) => sql`REGEXP_INSTR(${a}, ${pattern}) > 0`,
    substring: (a, start, length) => sql`SUBSTR(${a}, ${start}, ${length})`,
    foldAccents: null,
    jaroWinkler: (a, b) => sql`(JAROWINKLER_SIMILARITY(${a}, ${b}) / 100.0)`,
    editDistance: (a, b) => sql`EDITDISTANCE(${a}, ${b})`,
    tryCastFromString: (a, type) => sql`TRY_CAST(${a} AS ${type})`,
  };

  id(name: string, exact = false): Sql {
    this.assertIdentifier(name);
    return Sql.trusted(doubleQuoteIdentifier(exact ? name : this.storedName(name)));
  }

  string(value: string): Sql {
    if (value.includes('\u0000')) throw new RangeError('Snowflake strings cannot hold the NUL character');
    let out = '';
    for (const ch of value) {
      if (ch === '\\') out += '\\\\';
      else if (ch === "'") out += "''";
      else if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) out += '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0');
      else out += ch;
    }
    return Sql.trusted(`'${out}'`);
  }

  override timestampLiteral(value: Date): Sql {
    return sql`TO_TIMESTAMP_NTZ(${this.string(value.toISOString().replace('T', ' ').replace('Z', ''))})`;
  }

  currentDate(): Sql {
    return sql`CAST(CONVERT_TIMEZONE('UTC', CURRENT_TIMESTAMP()) AS DATE)`;
  }

  currentTimestamp(): Sql {
    return sql`CAST(CONVERT_TIMEZONE('UTC', CURRENT_TIMESTAMP()) AS TIMESTAMP_NTZ)`;
  }

  dateAdd(expr: Sql, amount: Sql, unit: DateUnit, _operand: 'date' | 'timestamp'): Sql {
    return sql`DATEADD(${this.unitKeyword(unit)}, ${amount}, ${expr})`;
  }

  dateDiff(unit: 'day' | 'month' | 'year', from: Sql, to: Sql): Sql {
    return sql`DATEDIFF(${this.unitKeyword(unit)}, CAST(${from} AS DATE), CAST(${to} AS DATE))`;
  }

  dateTrunc(unit: DateUnit, expr: Sql, _operand: 'date' | 'timestamp'): Sql {
    // WEEK follows the session's WEEK_START; the connection sets WEEK_START = 1 (Monday) to match ISO weeks.
    return sql`DATE_TRUNC(${this.string(unit.toUpperCase())}, ${expr})`;
  }

  protected renderDateFormat(expr: Sql, tokens: readonly DateFormatToken[]): Sql {
    const spell: Record<Exclude<DateFormatToken, object>, string> = { YYYY: 'YYYY', MM: 'MM', DD: 'DD', HH: 'HH24', mm: 'MI', ss: 'SS', 'ss.SSS': 'SS.FF3', 'ss.SSSSSS': 'SS.FF6' };
    const format = tokens.map((t) => (typeof t === 'object' ? `"${t.literal}"` : spell[t])).join('');
    return sql`TO_CHAR(CAST(${expr} AS TIMESTAMP_NTZ), ${this.string(format)})`;
  }

  jsonArray(items: readonly Sql[]): Sql {
    // ARRAY_CONSTRUCT leaves SQL NULLs out of the JSON; a JSON null variant keeps each value's place.
    return sql`TO_JSON(ARRAY_CONSTRUCT(${joinSql(items.map((item) => sql`COALESCE(TO_VARIANT(${item}), PARSE_JSON('null'))`))}))`;
  }

  hashToUint32(text: Sql): Sql {
    return sql`TO_NUMBER(SUBSTR(MD5(${text}), 1, 8), 'XXXXXXXX')`;
  }

  override stringAgg(expr: Sql, separator: string, order: { readonly orderBy: Sql | readonly Sql[] } | { readonly distinct: true }): Sql {
    return 'distinct' in order
      ? sql`LISTAGG(DISTINCT ${expr}, ${this.string(separator)}) WITHIN GROUP (ORDER BY ${expr})`
      : sql`LISTAGG(${expr}, ${this.string(separator)}) WITHIN GROUP (ORDER BY ${orderList(order.orderBy)})`;
  }

  replaceTable(staging: TableRef, target: TableRef): Sql[] {
    // CREATE OR REPLACE … CLONE replaces the target atomically (zero-copy); the staging table is dropped afterwards.
    return [sql`CREATE OR REPLACE TABLE ${this.table(target)} CLONE ${this.table(staging)}`, this.dropTable(staging)];
  }
}
