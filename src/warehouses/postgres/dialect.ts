import { Dialect, doubleQuoteIdentifier, sameSchema, type DateFormatToken, type DateUnit, type FunctionMap, type TableRef } from '../../dialects/dialect.js';
import { Sql, joinSql, sql } from '../../dialects/sql.js';

/**
 * PostgreSQL (15+, for MERGE). Strings containing a backslash are written as E'' literals with the backslash
 * escaped, so they stay inert even on a server running with standard_conforming_strings = off.
 * Accent folding, Jaro-Winkler-free fuzzy matching and edit distance come from the contrib extensions `unaccent`
 * and `fuzzystrmatch`, created by `setupStatements`.
 */
export class PostgresDialect extends Dialect {
  readonly name = 'postgres' as const;
  readonly capabilities = {
    transactionalDdl: true,
    buildsInTransaction: true,
    buildsBesideModel: false,
    supportsQualify: false,
    supportsMerge: true,
    readsLocalFiles: false,
    identifierCase: 'exact',
    maxIdentifierBytes: 63,
    requiresSetup: true,
    needsSelectFences: true,
  } as const;
  readonly types = {
    string: 'TEXT',
    integer: 'BIGINT',
    float: 'DOUBLE PRECISION',
    decimal: 'NUMERIC(18,2)',
    boolean: 'BOOLEAN',
    date: 'DATE',
    timestamp: 'TIMESTAMP',
  } as const;
  readonly functions: FunctionMap = {
    lower: (a) => sql`lower(${a})`,
    upper: (a) => sql`upper(${a})`,
    trim: (a) => sql`btrim(${a})`,
    length: (a) => sql`length(${a})`,
    sha256Hex: (a) => sql`encode(sha256(convert_to(${a}, 'UTF8')), 'hex')`,
    md5Hex: (a) => sql`md5(${a})`,
    regexpReplaceAll: (a, pattern, replacement) => sql`regexp_replace(${a}, ${pattern}, ${replacement}, 'g')`,
    regexpContains: (a, pattern) => sql`(${a} ~ ${pattern})`,
    substring: (a, start, length) => sql`substr(${a}, ${start}, ${length})`,
    foldAccents: (a) => sql`unaccent(${a})`,
    jaroWinkler: null,
    // fuzzystrmatch's levenshtein fails on arguments over 255 characters (MAX_LEVENSHTEIN_STRLEN): a long address
    // would fail the whole build. Compared on their first 255 characters instead.
    editDistance: (a, b) => sql`levenshtein(left(${a}, 255), left(${b}, 255))`,
    tryCastFromString: null,
  };

  id(name: string): Sql {
    this.assertIdentifier(name);
    return Sql.trusted(doubleQuoteIdentifier(name));
  }

  string(value: string): Sql {
    if (value.includes('\u0000')) throw new RangeError('PostgreSQL strings cannot hold the NUL character');
    const quoted = value.replaceAll("'", "''");
    return value.includes('\\')
      ? Sql.trusted(`E'${quoted.replaceAll('\\', '\\\\')}'`)
      : Sql.trusted(`'${quoted}'`);
  }

  currentDate(): Sql {
    return sql`CAST((now() AT TIME ZONE 'UTC') AS DATE)`;
  }

  currentTimestamp(): Sql {
    return sql`(now() AT TIME ZONE 'UTC')`;
  }

  dateAdd(expr: Sql, amount: Sql, unit: DateUnit, operand: 'date' | 'timestamp'): Sql {
    const added = sql`${expr} + ${amount} * INTERVAL ${this.string(`1 ${unit}`)}`;
    return operand === 'date' ? sql`CAST(${added} AS DATE)` : sql`(${added})`;
  }

  dateDiff(unit: 'day' | 'month' | 'year', from: Sql, to: Sql): Sql {
    const f = sql`CAST(${from} AS DATE)`;
    const t = sql`CAST(${to} AS DATE)`;
    const year = (d: Sql) => sql`CAST(EXTRACT(YEAR FROM ${d}) AS BIGINT)`;
    const month = (d: Sql) => sql`CAST(EXTRACT(MONTH FROM ${d}) AS BIGINT)`;
    switch (unit) {
      case 'day':
        return sql`(${t} - ${f})`;
      case 'month':
        return sql`((${year(t)} - ${year(f)}) * 12 + ${month(t)} - ${month(f)})`;
      case 'year':
        return sql`(${year(t)} - ${year(f)})`;
    }
  }

  dateTrunc(unit: DateUnit, expr: Sql, operand: 'date' | 'timestamp'): Sql {
    // date_trunc on a DATE returns a timestamp with time zone: cast through TIMESTAMP to keep the operand's type.
    const truncated = sql`date_trunc(${this.string(unit)}, CAST(${expr} AS TIMESTAMP))`;
    return operand === 'date' ? sql`CAST(${truncated} AS DATE)` : truncated;
  }

  protected renderDateFormat(expr: Sql, tokens: readonly DateFormatToken[]): Sql {
    // to_char reads letters as patterns: literal text goes between double quotes.
    const spell: Record<Exclude<DateFormatToken, object>, string> = { YYYY: 'YYYY', MM: 'MM', DD: 'DD', HH: 'HH24', mm: 'MI', ss: 'SS', 'ss.SSS': 'SS.MS', 'ss.SSSSSS': 'SS.US' };
    const format = tokens.map((t) => (typeof t === 'object' ? `"${t.literal}"` : spell[t])).join('');
    return sql`to_char(CAST(${expr} AS TIMESTAMP), ${this.string(format)})`;
  }

  jsonArray(items: readonly Sql[]): Sql {
    // A function takes at most 100 arguments: longer arrays are built in parts and concatenated as jsonb.
    if (items.length <= 90) return sql`CAST(json_build_array(${joinSql(items)}) AS TEXT)`;
    const parts: Sql[] = [];
    for (let i = 0; i < items.length; i += 90) parts.push(sql`CAST(json_build_array(${joinSql(items.slice(i, i + 90))}) AS JSONB)`);
    return sql`CAST((${joinSql(parts, sql` || `)}) AS TEXT)`;
  }

  hashToUint32(text: Sql): Sql {
    return sql`CAST(CAST(('x' || substr(md5(${text}), 1, 8)) AS BIT(32)) AS BIGINT)`;
  }

  replaceTable(staging: TableRef, target: TableRef): Sql[] {
    // No CASCADE: if the user built views on the table, the swap fails and the old table stays as it was.
    const renamed = [this.dropTable(target), sql`ALTER TABLE ${this.table(staging)} RENAME TO ${this.id(target.name)}`];
    if (sameSchema(staging, target)) return renamed;
    if (target.schema === undefined) throw new Error(`cannot move ${this.table(staging).text} to a table without a schema`);
    // From the work schema: renamed there first, where no table has a model's name, then moved.
    return [...renamed, sql`ALTER TABLE ${this.table({ ...staging, name: target.name })} SET SCHEMA ${this.id(target.schema)}`];
  }

  /** `"default"`: the database's collation, which columns declared without one use. */
  override defaultCollation(expr: Sql): Sql {
    return sql`(${expr} COLLATE "default")`;
  }

  override refreshStatistics(table: TableRef): Sql[] {
    return [sql`ANALYZE ${this.table(table)}`];
  }

  override setupStatements(): Sql[] {
    return [sql`CREATE EXTENSION IF NOT EXISTS unaccent`, sql`CREATE EXTENSION IF NOT EXISTS fuzzystrmatch`];
  }
}
