import { Sql, joinSql, sql } from './sql.js';

/**
 * The Dialect contract: every difference between warehouses' SQL lives behind this class.
 *
 * Compilers (models/<kind>/kind.ts, the sync planner, the state schema) build SQL only through a Dialect:
 * identifiers through `id`/`table`, values through `literal`/`string`, and everything that differs between warehouses
 * through the methods and function maps below. They may branch on `capabilities`, never on `name`.
 *
 * An implementation is src/warehouses/<name>/dialect.ts, registered with its warehouse (src/warehouses/registry.ts).
 * It supplies:
 *  - `capabilities`: facts the compilers branch on;
 *  - `types`: the warehouse's spelling of each logical type;
 *  - `functions`: a complete map of function templates (data, not if-chains). A function the warehouse lacks is
 *    `null`, and calling it through `fn()` fails loudly, so a missing setting never becomes wrong SQL;
 *  - the quoting rules (`id`, `string`), which the hostile-identifier suite in test/ checks for every dialect.
 */

/** The names of the registered dialects, from the warehouse registry. */
export type { DialectName } from './registry.js';

/** The column types Tideline produces. Each dialect spells them in `types`. */
export const LOGICAL_TYPES = ['string', 'integer', 'float', 'decimal', 'boolean', 'date', 'timestamp'] as const;
export type LogicalType = (typeof LOGICAL_TYPES)[number];

/** Calendar units for date arithmetic. `week` starts on Monday (ISO) in every dialect. */
export type DateUnit = 'day' | 'week' | 'month' | 'quarter' | 'year';

/** A table or view: `catalog` is the BigQuery project / Snowflake database; `schema` the dataset / schema. */
export interface TableRef {
  readonly catalog?: string | undefined;
  readonly schema?: string | undefined;
  readonly name: string;
  /**
   * The parts are the names as the warehouse stores them (a dbt model's relation, resolved as dbt wrote it): quoted
   * exactly as written, never folded as a name from YAML is (`id(name, true)`).
   */
  readonly exact?: boolean | undefined;
}

/** How `readFile` reads a CSV file. */
export interface CsvReading {
  /** Column types overriding the detected ones. */
  readonly types?: Readonly<Record<string, LogicalType>>;
  /** A broken line fails the read instead of being skipped. */
  readonly strict?: boolean;
}

/** See `Dialect.csvRejects`. */
export interface CsvRejectQueries {
  readonly scan: readonly Sql[];
  readonly list: Sql;
  readonly cleanup: readonly Sql[];
}

export interface DialectCapabilities {
  /** CREATE/DROP/ALTER can run inside BEGIN…COMMIT, so replacing a model table is atomic by transaction. */
  readonly transactionalDdl: boolean;
  /**
   * A model's whole build — every work table, the swap, the work tables' removal — runs inside one transaction on
   * one session (the connection's `transaction`). Work tables then never become visible to other sessions, and a
   * build that fails or is killed leaves none behind: the server rolls the transaction back. PostgreSQL, where DDL is
   * transactional and a table created in a transaction costs no more than any other; DuckDB, where it also lets the
   * new table be built beside the model's (buildsBesideModel). Where false, work tables are committed as they are
   * built, in the work schema, which every run empties when it starts and when it ends.
   */
  readonly buildsInTransaction: boolean;
  /**
   * A model's new table and its companions' are built beside the tables they replace, in the model schema, and the
   * swap renames them over those: where the warehouse cannot move a table to another schema (DuckDB has no ALTER
   * TABLE … SET SCHEMA), a new table built in the work schema would be copied instead (a 2M-order customers build
   * on a loaded machine: the copy 0.7–1.2 s, the rename 0.004 s and the transaction's COMMIT 0.3–0.7 s). Only with
   * buildsInTransaction: no other session sees a table its transaction created before it commits, and a killed
   * build's transaction never commits, so no reader finds them there. Scratch tables stay in the work schema either
   * way. Where false, the new tables are built in the work schema and moved.
   */
  readonly buildsBesideModel: boolean;
  /** `QUALIFY` filters on window functions without a subquery. */
  readonly supportsQualify: boolean;
  /** `MERGE INTO … USING … WHEN [NOT] MATCHED` is available. */
  readonly supportsMerge: boolean;
  /** Local CSV and Parquet files can be read in place by path (`readFile`). */
  readonly readsLocalFiles: boolean;
  /**
   * How the warehouse treats identifier case when comparing a name from YAML with an introspected name:
   * `insensitive` (DuckDB, BigQuery columns), `exact` (Postgres quoted names), `upper-unless-quoted` (Snowflake).
   */
  readonly identifierCase: 'insensitive' | 'exact' | 'upper-unless-quoted';
  /** Longest identifier the warehouse keeps intact, in bytes (Postgres silently truncates beyond 63). */
  readonly maxIdentifierBytes: number;
  /** Statements a model build needs before it runs (e.g. `CREATE EXTENSION` on Postgres for accent folding). */
  readonly requiresSetup: boolean;
  /**
   * A nested SELECT whose expression the SELECT above references several times needs a fence (DISTINCT), or the
   * planner merges the two and evaluates the expression again at every reference: PostgreSQL does. True also where
   * that is not known (BigQuery, Snowflake); false on DuckDB, where each fence is a hash aggregate that costs more
   * than it saves (identity's normalisers at 10M records).
   */
  readonly needsSelectFences: boolean;
}

type Fn1 = (a: Sql) => Sql;
type Fn2 = (a: Sql, b: Sql) => Sql;
type Fn3 = (a: Sql, b: Sql, c: Sql) => Sql;

/** Function templates. `null` means the warehouse has no such function; check before use or call `fn()`. */
export interface FunctionMap {
  readonly lower: Fn1;
  readonly upper: Fn1;
  readonly trim: Fn1;
  readonly length: Fn1;
  /** Lower-case hex SHA-256 of a string. */
  readonly sha256Hex: Fn1;
  /** Lower-case hex MD5 of a string. */
  readonly md5Hex: Fn1;
  /** Replaces every match of a (POSIX-compatible) regular expression. */
  readonly regexpReplaceAll: Fn3;
  /** TRUE when the string contains a match of the regular expression. */
  readonly regexpContains: Fn2;
  /** substring(text, start (1-based), length) */
  readonly substring: Fn3;
  /** Removes diacritics (é → e). Postgres needs the `unaccent` extension (see `setupStatements`). */
  readonly foldAccents: Fn1 | null;
  /** Jaro-Winkler similarity in [0, 1]. */
  readonly jaroWinkler: Fn2 | null;
  /** Levenshtein edit distance. */
  readonly editDistance: Fn2 | null;
  /** Cast that yields NULL instead of failing on a bad value (only from strings, to be portable). */
  readonly tryCastFromString: ((a: Sql, type: Sql) => Sql) | null;
}

export type ScalarValue = string | number | bigint | boolean | null;

/**
 * Native type names → logical types, as data. The four warehouses' spellings overlap enough for one table; a dialect
 * with an unusual spelling overrides `nativeTypes`. Order matters: the first match wins.
 */
export const NATIVE_TYPES: readonly (readonly [RegExp, LogicalType])[] = [
  [/^(text|string|varchar|character varying|char|character|bpchar|name|uuid)\b/i, 'string'],
  [/^(tinyint|smallint|integer|int|bigint|hugeint|int\d+|u(tiny|small|big|huge)?int(eger)?|serial|bigserial|byteint)\b/i, 'integer'],
  [/^number\(\s*\d+\s*,\s*0\s*\)/i, 'integer'],
  [/^(double|double precision|float\d*|real)\b/i, 'float'],
  [/^(decimal|numeric|bignumeric|bigdecimal|number)\b/i, 'decimal'],
  [/^bool/i, 'boolean'],
  [/^date$/i, 'date'],
  [/^(timestamp|datetime)/i, 'timestamp'],
];

/** Date units as the standard SQL keywords, for date functions that take the unit bare (`DATEADD(DAY, …)`). */
const UNIT_KEYWORDS: Readonly<Record<DateUnit, Sql>> = { day: sql`DAY`, week: sql`WEEK`, month: sql`MONTH`, quarter: sql`QUARTER`, year: sql`YEAR` };

export abstract class Dialect {
  /** The warehouse's `type`; the registry checks that the two agree. Named, never branched on. */
  abstract readonly name: string;
  abstract readonly capabilities: DialectCapabilities;
  abstract readonly types: Readonly<Record<LogicalType, string>>;
  abstract readonly functions: FunctionMap;
  readonly nativeTypes: readonly (readonly [RegExp, LogicalType])[] = NATIVE_TYPES;

  // ---- quoting: the only way names and values enter generated SQL ----

  /**
   * Quotes one identifier so that any characters in it stay inert. Throws on names the warehouse cannot hold. `exact`:
   * the name is the one the warehouse stores, quoted as written (on Snowflake, not upper-cased as storedName does a
   * simple lower-case name from YAML); every other dialect quotes every name as written anyway.
   */
  abstract id(name: string, exact?: boolean): Sql;

  /** Quotes a string literal so that any characters in it stay inert. */
  abstract string(value: string): Sql;

  /** A fully qualified table reference, each part quoted. */
  table(ref: TableRef): Sql {
    const parts = [ref.catalog, ref.schema, ref.name].filter((p): p is string => p !== undefined && p !== '');
    return joinSql(
      parts.map((p) => this.id(p, ref.exact)),
      sql`.`,
    );
  }

  /** A literal for a scalar value. Non-finite numbers are rejected: they have no portable SQL spelling. */
  literal(value: ScalarValue): Sql {
    if (value === null) return sql`NULL`;
    if (typeof value === 'boolean') return value ? sql`TRUE` : sql`FALSE`;
    // A number's decimal spelling is digits, a sign, a point and an exponent: nothing else can enter here.
    if (typeof value === 'bigint') return Sql.trusted(value.toString());
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new RangeError(`cannot write ${value} as a SQL literal`);
      return Sql.trusted(Number.isInteger(value) ? value.toFixed(0) : String(value));
    }
    return this.string(value);
  }

  /** A DATE literal from `YYYY-MM-DD`. */
  dateLiteral(isoDate: string): Sql {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(isoDate)) throw new RangeError(`not an ISO date: ${JSON.stringify(isoDate)}`);
    return sql`DATE ${this.string(isoDate)}`;
  }

  /** A timestamp literal (UTC, no time zone) from a JS Date. */
  timestampLiteral(value: Date): Sql {
    const text = value.toISOString().replace('T', ' ').replace('Z', '');
    return sql`CAST(${this.string(text)} AS ${this.type('timestamp')})`;
  }

  /**
   * The name the warehouse stores for `name` written in YAML — what `id(name)` resolves to. Only Snowflake differs:
   * a simple lower-case name is stored upper-case, as if it had been written unquoted.
   */
  storedName(name: string): string {
    return this.capabilities.identifierCase === 'upper-unless-quoted' && /^[a-z_][a-z0-9_$]*$/.test(name) ? name.toUpperCase() : name;
  }

  /**
   * The key a returned row holds a column under: the name as Tideline writes it (in YAML and in `id()`), so that
   * code reads `row['op']` on every warehouse. The inverse of storedName: on Snowflake a simple upper-case name, as
   * `id('op')` stores it and as the warehouse returns it, is the lower-case name it came from; any other name is kept
   * as returned.
   */
  rowKey(returned: string): string {
    return this.capabilities.identifierCase === 'upper-unless-quoted' && /^[A-Z_][A-Z0-9_$]*$/.test(returned) ? returned.toLowerCase() : returned;
  }

  /** Key under which the warehouse compares two names: YAML names are matched with introspected ones by it. */
  identifierKey(name: string): string {
    switch (this.capabilities.identifierCase) {
      case 'insensitive':
        return name.toLowerCase();
      case 'exact':
        return name;
      case 'upper-unless-quoted':
        return this.storedName(name);
    }
  }

  /** A user-facing reason why `name` cannot be used as an identifier here, or undefined if it can. */
  identifierProblem(name: string): string | undefined {
    if (name.length === 0) return 'an empty name cannot be an identifier';
    if (name.includes('\u0000')) return 'a name cannot contain the NUL character';
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > this.capabilities.maxIdentifierBytes)
      return `${this.name} keeps at most ${this.capabilities.maxIdentifierBytes} bytes in a name; this one has ${bytes}`;
    return undefined;
  }

  protected assertIdentifier(name: string): void {
    const problem = this.identifierProblem(name);
    if (problem) throw new RangeError(`invalid identifier ${JSON.stringify(name)}: ${problem}`);
  }

  // ---- functions and expressions ----

  /** A function from the map, failing loudly when this warehouse has none (callers should check first). */
  fn<K extends keyof FunctionMap>(key: K): NonNullable<FunctionMap[K]> {
    const f = this.functions[key];
    if (f === null) throw new Error(`the ${this.name} dialect has no ${String(key)} function; check before using it`);
    return f as NonNullable<FunctionMap[K]>;
  }

  /** The logical type of a native type name from introspection, when there is one. */
  logicalType(nativeType: string): LogicalType | undefined {
    return this.nativeTypes.find(([pattern]) => pattern.test(nativeType.trim()))?.[1];
  }

  type(type: LogicalType): Sql {
    // The spellings are the dialect's own constants (`types`), never configuration.
    return Sql.trusted(this.types[type]);
  }

  /** The keyword of a date unit (`DAY`, `WEEK`…). What a week means (ISO or not) is the caller's business. */
  protected unitKeyword(unit: DateUnit): Sql {
    return UNIT_KEYWORDS[unit];
  }

  cast(expr: Sql, type: LogicalType): Sql {
    return sql`CAST(${expr} AS ${this.type(type)})`;
  }

  /** Today's date in UTC. */
  abstract currentDate(): Sql;
  /** The current instant as a timestamp without time zone, in UTC. */
  abstract currentTimestamp(): Sql;
  /** `expr` (a date or a timestamp, as `operand` says) plus `amount` units; `amount` may be negative. */
  abstract dateAdd(expr: Sql, amount: Sql, unit: DateUnit, operand: 'date' | 'timestamp'): Sql;
  /**
   * Calendar units between the dates of `from` and `to` (boundaries crossed, as BigQuery DATE_DIFF and Snowflake
   * DATEDIFF count them): 2024-01-31 → 2024-02-01 is 1 month. Only day, month and year, which every warehouse
   * counts the same way.
   */
  abstract dateDiff(unit: 'day' | 'month' | 'year', from: Sql, to: Sql): Sql;
  /** Truncates to the start of the unit; the result has the operand's type. */
  abstract dateTrunc(unit: DateUnit, expr: Sql, operand: 'date' | 'timestamp'): Sql;

  /**
   * A non-negative integer in [0, 2^32) derived from MD5 of the text: the first 8 hex digits as an unsigned number.
   * Identical in every warehouse, which makes hash-based holdouts and splits portable.
   */
  abstract hashToUint32(text: Sql): Sql;

  /**
   * Text compared as a column declared without a collation compares (the warehouse's default order), whatever the
   * collation `expr` carries from a model's column; undefined where the dialect does not say how, and callers then do
   * without an order of text (the sync's fold reads its whole snapshot instead of a range of keys).
   */
  defaultCollation(_expr: Sql): Sql | undefined {
    return undefined;
  }

  /**
   * Aggregate: the non-null values of `expr` in a group joined by `separator` (NULL when there are none), in the
   * order of `orderBy` — an ORDER BY list, or its keys, ascending, as a list (which DuckDB sorts faster, see its
   * dialect); with `distinct`, each value once, in the order of the values themselves (the only order every warehouse
   * accepts with DISTINCT). The standard `STRING_AGG(… ORDER BY …)` of DuckDB, PostgreSQL and BigQuery; Snowflake
   * spells it LISTAGG.
   */
  stringAgg(expr: Sql, separator: string, order: { readonly orderBy: Sql | readonly Sql[] } | { readonly distinct: true }): Sql {
    return 'distinct' in order
      ? sql`STRING_AGG(DISTINCT ${expr}, ${this.string(separator)} ORDER BY ${expr})`
      : sql`STRING_AGG(${expr}, ${this.string(separator)} ORDER BY ${orderList(order.orderBy)})`;
  }

  /** Bucket in [0, buckets) from `hashToUint32`. */
  hashBucket(text: Sql, buckets: number): Sql {
    if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer`);
    return sql`MOD(${this.hashToUint32(text)}, ${this.literal(buckets)})`;
  }

  // ---- statements ----

  createSchema(schema: string): Sql {
    return sql`CREATE SCHEMA IF NOT EXISTS ${this.id(schema)}`;
  }

  createTableAs(table: TableRef, select: Sql): Sql {
    return sql`CREATE TABLE ${this.table(table)} AS\n${select}`;
  }

  /**
   * The rows of `select` (a derived table `d`) with their number in `order` as the first column, `column` (the sync's
   * change set): ROW_NUMBER over that order.
   */
  numberedRows(select: Sql, order: Sql, column: Sql): Sql {
    return sql`SELECT ROW_NUMBER() OVER (ORDER BY ${order}) AS ${column}, d.* FROM (
${select}
) AS d`;
  }

  /**
   * The part (0…parts-1) of a sync's diff a key is in (src/sync/planner.ts, PlanInput.part). Keys that the warehouse's
   * `=` finds equal must be in the same part. Only a dialect with a memoryLimit has its diffs split (DuckDB, which
   * folds collations); this default ignores them.
   */
  keyPart(key: Sql, parts: number): Sql {
    return this.hashBucket(key, parts);
  }

  /**
   * Where a statement runs within a memory limit it does not always spill under (DuckDB's memory_limit): a statement
   * returning the limit as `limit`, how to read it in bytes, and whether an error is the limit's. Undefined elsewhere.
   */
  readonly memoryLimit: { readonly statement: Sql; readonly bytes: (text: string) => number | undefined; readonly exhausted: (error: unknown) => boolean } | undefined = undefined;

  /**
   * A common table expression computed where each reference reads it, not stored once for all of them, where that is
   * cheaper: `name AS NOT MATERIALIZED (body)` on DuckDB, else `name AS (body)`. DuckDB stores a CTE that a query
   * reads twice; a sync's diff reads its hashed model rows twice (the rows to send, the invalid keys), and storing 10M
   * of them cost DuckDB a third of the diff's CPU and spilled under a small memory_limit, where computing them again
   * costs only a filtered scan (the second reading keeps no row). PostgreSQL's diff of 1M rows was slower inlined.
   */
  inlineCte(name: Sql, body: Sql): Sql {
    return sql`${name} AS (\n  ${body}\n)`;
  }

  /**
   * How the warehouse writes a work table that lives for one run (a sync's change set) without compressing its text,
   * where compressing it costs far more CPU than it saves (DuckDB): the statement returning the setting in force as
   * `value`, the statement setting it, and the value that leaves text uncompressed given the one in force. Undefined
   * where there is nothing to switch off.
   */
  readonly textCompression: { readonly statement: Sql; readonly set: (value: string) => Sql; readonly without: (current: string) => string } | undefined = undefined;

  /**
   * The most rows one statement numbers in order (numberedRows) within the warehouse's memory, or undefined: no
   * limit (the warehouse sorts in bounded memory). A sync's larger change set is then numbered in chunks of keys
   * (src/sync/planner.ts, materialiseChanges).
   */
  readonly sortChunkRows: number | undefined = undefined;

  /**
   * One row: the values of `column` in `from` (a derived table) at each of the `fractions` of their order, as
   * columns q1…qn (PERCENTILE_DISC); `sample`: a dialect may read only about that many rows for them.
   */
  quantiles(from: Sql, column: Sql, fractions: readonly number[], _sample: number): Sql {
    return sql`SELECT ${joinSql(fractions.map((f, i) => sql`PERCENTILE_DISC(${this.literal(f)}) WITHIN GROUP (ORDER BY ${column}) AS ${this.id(`q${i + 1}`)}`))} FROM ${from}`;
  }

  dropTable(table: TableRef): Sql {
    return sql`DROP TABLE IF EXISTS ${this.table(table)}`;
  }

  /** Drops a schema and everything in it (the work schema, emptied by every run). */
  dropSchema(schema: string): Sql {
    return sql`DROP SCHEMA IF EXISTS ${this.id(schema)} CASCADE`;
  }

  /**
   * Statements that replace `target` with the freshly built `staging` table, which may be in another schema (the
   * work schema) and is gone afterwards. When `capabilities.transactionalDdl` is true, the runner executes them
   * inside one transaction; otherwise the statements themselves must be atomic (a single replacing statement) and
   * leave `target` intact on failure.
   */
  abstract replaceTable(staging: TableRef, target: TableRef): Sql[];

  /** Statements to run once per connection before models build (extensions, settings). Empty by default. */
  setupStatements(): Sql[] {
    return [];
  }

  /**
   * Statements refreshing the planner's statistics of a table just created with `CREATE TABLE … AS`, before other
   * statements join it. PostgreSQL plans a new table as if it were nearly empty until it is analysed (autovacuum
   * comes later), which turns hash joins of large intermediate tables into nested loops; the other warehouses keep
   * statistics themselves, so this is empty by default.
   */
  refreshStatistics(_table: TableRef): Sql[] {
    return [];
  }

  /**
   * A relation reading a local CSV or Parquet file in place (only where `capabilities.readsLocalFiles`). `path` is
   * relative to the project root, which the connection makes the base of relative paths. For a CSV file, `types`
   * overrides the detected type of some columns, and a broken line (too many or too few columns, a value not of its
   * column's type) is skipped — `csvRejects` lists those lines — unless `strict`, where it fails the read.
   */
  readFile(_path: string, _format: 'csv' | 'parquet', _csv: CsvReading = {}): Sql {
    throw new Error(`the ${this.name} dialect cannot read local files; check capabilities.readsLocalFiles first`);
  }

  /**
   * The lines of a CSV file that `readFile` skips (not strict, the same `types`) when every column is read — a query
   * reading some columns converts only those, and keeps a line whose broken value is in another — found in one read
   * of the file: run the `scan` statements in order, then `list` returns one row per skipped line, in no particular
   * order: `line`, counted from 1 with the header, and `reason`, which names the column and the expected type or the
   * column counts and never quotes a value of the file (personal data). `cleanup` drops what the scan kept (the
   * lines' text).
   */
  csvRejects(_path: string, _types: Readonly<Record<string, LogicalType>> = {}): CsvRejectQueries {
    throw new Error(`the ${this.name} dialect cannot read local files; check capabilities.readsLocalFiles first`);
  }

  /**
   * MERGE-style upsert of `source` (a SELECT producing `columns`) into `target` on `keys`: matching rows get the
   * non-key columns updated, others are inserted. Uses MERGE where `supportsMerge`. Columns in `keepWhenNull` keep
   * the target's value when the source's is NULL (a sync's `null_policy: skip`).
   */
  upsert(
    target: TableRef,
    source: Sql,
    keys: readonly string[],
    columns: readonly string[],
    options: {
      readonly keepWhenNull?: readonly string[];
      /**
       * A condition on the target's rows (alias `t`) that every row a source row matches meets: added to the join so
       * that the warehouse reads only those rows of the target (a range of keys).
       */
      readonly within?: Sql;
    } = {},
  ): Sql {
    if (!this.capabilities.supportsMerge) throw new Error(`the ${this.name} dialect needs an upsert implementation`);
    const t = this.id('t');
    const s = this.id('s');
    const on = joinSql(
      [...keys.map((k) => sql`${t}.${this.id(k)} = ${s}.${this.id(k)}`), ...(options.within ? [options.within] : [])],
      sql` AND `,
    );
    const updates = columns.filter((c) => !keys.includes(c));
    const keep = new Set(options.keepWhenNull ?? []);
    const set = joinSql(updates.map((c) => (keep.has(c) ? sql`${this.id(c)} = COALESCE(${s}.${this.id(c)}, ${t}.${this.id(c)})` : sql`${this.id(c)} = ${s}.${this.id(c)}`)));
    const cols = joinSql(columns.map((c) => this.id(c)));
    const vals = joinSql(columns.map((c) => sql`${s}.${this.id(c)}`));
    const matched = updates.length ? sql`\nWHEN MATCHED THEN UPDATE SET ${set}` : Sql.empty;
    return sql`MERGE INTO ${this.table(target)} AS ${t}\nUSING (\n${source}\n) AS ${s}\nON ${on}${matched}\nWHEN NOT MATCHED THEN INSERT (${cols}) VALUES (${vals})`;
  }

  // ---- sync state and change detection ----

  /**
   * `CREATE TABLE IF NOT EXISTS` with typed columns and an optional primary key. The key is enforced by DuckDB and
   * PostgreSQL; BigQuery and Snowflake accept it as information only (callers that rely on uniqueness there, like the
   * sync lock, resolve races by reading back).
   */
  createTable(table: TableRef, columns: readonly { readonly name: string; readonly type: LogicalType }[], options: { readonly primaryKey?: readonly string[] } = {}): Sql {
    const defs = columns.map((c) => sql`${this.id(c.name)} ${this.type(c.type)}`);
    if (options.primaryKey?.length) defs.push(this.primaryKeyClause(options.primaryKey));
    return sql`CREATE TABLE IF NOT EXISTS ${this.table(table)} (${joinSql(defs)})`;
  }

  protected primaryKeyClause(columns: readonly string[]): Sql {
    return sql`PRIMARY KEY (${joinSql(columns.map((c) => this.id(c)))})`;
  }

  /**
   * A date or timestamp formatted as text with a portable pattern (see `parseDateFormat`): `YYYY-MM-DD`,
   * `YYYY-MM-DDTHH:mm:ssZ`, `DD/MM/YYYY`… The value is read as a UTC timestamp without time zone.
   */
  formatTimestamp(expr: Sql, pattern: string): Sql {
    const tokens = parseDateFormat(pattern);
    if (typeof tokens === 'string') throw new RangeError(`bad date format ${JSON.stringify(pattern)}: ${tokens}`);
    return this.renderDateFormat(expr, tokens);
  }

  /** The warehouse's formatting function for parsed tokens; `expr` may be a DATE or a TIMESTAMP. */
  protected abstract renderDateFormat(expr: Sql, tokens: readonly DateFormatToken[]): Sql;

  /**
   * A JSON array of the values, as text: text values as JSON strings, numbers and booleans as JSON numbers and
   * booleans, NULL as null. Callers pass text, numbers and booleans only (dates and timestamps formatted first, big
   * integers as text), so every warehouse writes the same JSON. Used to read many rows as one value: a warehouse
   * driver converts a row of typed cells far more slowly than the runtime parses JSON.
   */
  abstract jsonArray(items: readonly Sql[]): Sql;

  /**
   * The canonical text of a record that the sync hashes (src/sync/mapping.ts, hashExpression): `header`, then for each
   * field its `label` and its value's canonicalText as `length:value`, or `~` for NULL. Written with `||` here; a
   * dialect may build the same text another way (DuckDB: one `concat`).
   */
  recordText(header: string, fields: readonly { readonly label: string; readonly value: Sql }[]): Sql {
    const parts = fields.map(({ label, value }) => sql`${this.string(label)} || COALESCE(${this.cast(this.functions.length(value), 'string')} || ${this.string(':')} || ${value}, ${this.string('~')})`);
    return parts.length ? sql`${this.string(header)} || ${joinSql(parts, sql` || `)}` : this.string(header);
  }

  /**
   * The text of a value for change detection (the sync's hash of mapped fields). Contract: for the same logical
   * value, DuckDB and PostgreSQL give the same text, so a hash does not depend on the engine; NULL stays NULL.
   * Decimals are written with 9 decimals, floats with 6 (below 1e15; changes under 1e-6 are not seen), booleans as
   * `true`/`false`, dates `YYYY-MM-DD`, timestamps to the microsecond. BigQuery and Snowflake follow the same
   * recipe (checked by golden SQL); their text may differ in trailing zeros, which only matters if state moved
   * between warehouses (a full resync then re-sends everything once).
   */
  canonicalText(expr: Sql, type: LogicalType | undefined): Sql {
    switch (type) {
      case 'string':
        return expr;
      case undefined:
      case 'integer':
        return this.cast(expr, 'string');
      case 'decimal':
        return this.cast(sql`CAST(${expr} AS DECIMAL(38,9))`, 'string');
      case 'float':
        // DECIMAL(22,6) holds every value below 1e15 to 6 decimals, and the 1e15 a float just below it may round to
        // (PostgreSQL converts a float with 15 significant digits). 38 digits at scale 6 is more than BigQuery's
        // NUMERIC allows (precision ≤ scale + 29); the text is the same at any precision that holds the value.
        return sql`CASE WHEN ABS(${expr}) < 1e15 THEN ${this.cast(sql`CAST(${expr} AS DECIMAL(22,6))`, 'string')} ELSE ${this.cast(expr, 'string')} END`;
      case 'boolean':
        return sql`CASE WHEN ${expr} THEN ${this.string('true')} WHEN NOT ${expr} THEN ${this.string('false')} END`;
      case 'date':
        return this.formatTimestamp(expr, 'YYYY-MM-DD');
      case 'timestamp':
        return this.formatTimestamp(expr, 'YYYY-MM-DD HH:mm:ss.SSSSSS');
    }
  }
}

/** True when two tables are in the same schema (and catalog). */
export function sameSchema(a: TableRef, b: TableRef): boolean {
  return (a.catalog ?? '') === (b.catalog ?? '') && (a.schema ?? '') === (b.schema ?? '');
}

/** Shared by dialects that quote identifiers with double quotes and double any embedded quote (SQL standard). */
export function doubleQuoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * One piece of a portable date format: a field, or literal text. `ss.SSS` and `ss.SSSSSS` are seconds with
 * milliseconds or microseconds (one token, because BigQuery formats them together).
 */
export type DateFormatToken = 'YYYY' | 'MM' | 'DD' | 'HH' | 'mm' | 'ss' | 'ss.SSS' | 'ss.SSSSSS' | { readonly literal: string };

const DATE_FIELDS = ['ss.SSSSSS', 'ss.SSS', 'YYYY', 'MM', 'DD', 'HH', 'mm', 'ss'] as const;
const DATE_LITERALS = /^[-/:., TZ]$/;

/**
 * Parses a date pattern made of YYYY, MM, DD, HH (24 h), mm, ss, ss.SSS, ss.SSSSSS and the separators `- / : . ,`,
 * space, `T` and `Z`. Returns the tokens, or a reason when the pattern has anything else (so every warehouse formats
 * it the same way).
 */
export function parseDateFormat(pattern: string): DateFormatToken[] | string {
  const tokens: DateFormatToken[] = [];
  let rest = pattern;
  while (rest.length) {
    const field = DATE_FIELDS.find((f) => rest.startsWith(f));
    if (field) {
      tokens.push(field);
      rest = rest.slice(field.length);
      continue;
    }
    const ch = rest[0]!;
    if (!DATE_LITERALS.test(ch)) return `unexpected ${JSON.stringify(ch)}; use YYYY, MM, DD, HH, mm, ss, ss.SSS, ss.SSSSSS and the separators - / : . , space T Z`;
    const last = tokens[tokens.length - 1];
    if (last !== undefined && typeof last === 'object') tokens[tokens.length - 1] = { literal: last.literal + ch };
    else tokens.push({ literal: ch });
    rest = rest.slice(1);
  }
  return tokens.length ? tokens : 'the pattern is empty';
}

/** An ORDER BY list, from the list itself or its keys (ascending). */
export function orderList(orderBy: Sql | readonly Sql[]): Sql {
  return orderBy instanceof Sql ? orderBy : joinSql(orderBy);
}
