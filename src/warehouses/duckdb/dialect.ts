import { Dialect, doubleQuoteIdentifier, sameSchema, type CsvReading, type CsvRejectQueries, type DateFormatToken, type DateUnit, type FunctionMap, type LogicalType, type TableRef } from '../../dialects/dialect.js';
import { Sql, joinSql, sql } from '../../dialects/sql.js';

/** DuckDB (embedded default). Standard SQL quoting; strings keep backslashes literal. */
export class DuckDbDialect extends Dialect {
  readonly name = 'duckdb' as const;
  readonly capabilities = {
    transactionalDdl: true,
    buildsInTransaction: true,
    buildsBesideModel: true,
    supportsQualify: true,
    supportsMerge: true,
    readsLocalFiles: true,
    identifierCase: 'insensitive',
    maxIdentifierBytes: 255,
    requiresSetup: false,
    needsSelectFences: false,
  } as const;
  readonly types = {
    string: 'VARCHAR',
    integer: 'BIGINT',
    float: 'DOUBLE',
    decimal: 'DECIMAL(18,2)',
    boolean: 'BOOLEAN',
    date: 'DATE',
    timestamp: 'TIMESTAMP',
  } as const;
  readonly functions: FunctionMap = {
    lower: (a) => sql`lower(${a})`,
    upper: (a) => sql`upper(${a})`,
    trim: (a) => sql`trim(${a})`,
    length: (a) => sql`length(${a})`,
    sha256Hex: (a) => sql`sha256(${a})`,
    md5Hex: (a) => sql`md5(${a})`,
    regexpReplaceAll: (a, pattern, replacement) => sql`regexp_replace(${a}, ${pattern}, ${replacement}, 'g')`,
    regexpContains: (a, pattern) => sql`regexp_matches(${a}, ${pattern})`,
    substring: (a, start, length) => sql`substr(${a}, ${start}, ${length})`,
    foldAccents: (a) => sql`strip_accents(${a})`,
    jaroWinkler: (a, b) => sql`jaro_winkler_similarity(${a}, ${b})`,
    editDistance: (a, b) => sql`levenshtein(${a}, ${b})`,
    tryCastFromString: (a, type) => sql`TRY_CAST(${a} AS ${type})`,
  };

  id(name: string): Sql {
    this.assertIdentifier(name);
    return Sql.trusted(doubleQuoteIdentifier(name));
  }

  string(value: string): Sql {
    if (value.includes('\u0000')) throw new RangeError('DuckDB strings cannot hold the NUL character');
    return Sql.trusted(`'${value.replaceAll("'", "''")}'`);
  }

  currentDate(): Sql {
    return sql`CAST(timezone('UTC', now()) AS DATE)`;
  }

  currentTimestamp(): Sql {
    return sql`timezone('UTC', now())`;
  }

  dateAdd(expr: Sql, amount: Sql, unit: DateUnit, operand: 'date' | 'timestamp'): Sql {
    const added = sql`${expr} + ${amount} * INTERVAL ${this.string(`1 ${unit}`)}`;
    // DATE + INTERVAL yields a TIMESTAMP in DuckDB: cast back so the operand type is kept.
    return operand === 'date' ? sql`CAST(${added} AS DATE)` : sql`(${added})`;
  }

  dateDiff(unit: 'day' | 'month' | 'year', from: Sql, to: Sql): Sql {
    return sql`date_diff(${this.string(unit)}, CAST(${from} AS DATE), CAST(${to} AS DATE))`;
  }

  dateTrunc(unit: DateUnit, expr: Sql, operand: 'date' | 'timestamp'): Sql {
    const truncated = sql`date_trunc(${this.string(unit)}, ${expr})`;
    return operand === 'date' ? sql`CAST(${truncated} AS DATE)` : truncated;
  }

  protected renderDateFormat(expr: Sql, tokens: readonly DateFormatToken[]): Sql {
    const spell: Record<Exclude<DateFormatToken, object>, string> = { YYYY: '%Y', MM: '%m', DD: '%d', HH: '%H', mm: '%M', ss: '%S', 'ss.SSS': '%S.%g', 'ss.SSSSSS': '%S.%f' };
    const format = tokens.map((t) => (typeof t === 'object' ? t.literal : spell[t])).join('');
    return sql`strftime(CAST(${expr} AS TIMESTAMP), ${this.string(format)})`;
  }

  jsonArray(items: readonly Sql[]): Sql {
    return sql`CAST(json_array(${joinSql(items)}) AS VARCHAR)`;
  }

  /**
   * Sorted first, then numbered as the rows come (ROW_NUMBER() OVER (), a streaming window), instead of a window that
   * orders the rows itself: the same numbers (sendable keys never tie) for a third less CPU (1M rows: 8.1 against
   * 12.7 CPU s; 3M: 4.1 against 5.3 s). Neither form fits a 10M-row change set in a 64MB memory_limit (see sortChunkRows). DuckDB's
   * "Order Preservation" page (https://duckdb.org/docs/stable/sql/dialect/order_preservation) lists windows with an
   * empty OVER among the operations that keep their input's order; it does not name an ORDER BY subquery as that
   * input, so numbered-rows.test.ts checks the numbers against the ordering window's on every DuckDB upgrade. The
   * table keeps the rows in that order, so a page of seq values reads only its own blocks.
   */
  override numberedRows(select: Sql, order: Sql, column: Sql): Sql {
    return sql`SELECT ROW_NUMBER() OVER () AS ${column}, d.* FROM (
SELECT * FROM (
${select}
) AS o ORDER BY ${order}
) AS d`;
  }

  /**
   * A change set of 10M wide rows (a first sync's) does not sort under a 64MB memory_limit, whatever the form (DuckDB
   * 1.5: "failed to pin block of size 256 KiB"); a million does, and so do 10M narrow rows.
   */
  override readonly sortChunkRows = 1_000_000;

  /**
   * DuckDB's own hash, of the key with its case and accents folded: a key column collated NOCASE or NOACCENT finds
   * 'ABC' equal to 'abc', so both must be in the same part. DuckDB's built-in collations (NOCASE, NOACCENT, NFC) fold
   * no more than that; an ICU collation (`COLLATE de`) also finds equal texts that differ by an ignorable character
   * (a soft hyphen), which may fall in different parts: such keys are diffed as different keys when the diff is split.
   */
  override keyPart(key: Sql, parts: number): Sql {
    return sql`(hash(lower(strip_accents(${key}))) % ${this.literal(parts)})`;
  }

  /**
   * DuckDB compresses the text of every block it writes (dictionary, FSST), analysing each column first; a change set
   * is written once, read once by the sending and dropped. Staging a first sync's 10M rows took 23.7 and 26.2 s
   * compressed (46.4 and 21.3 CPU s, two runs), 9.6 s and 9.0 CPU s without (a million keys of them sorted and
   * numbered after: 3.0 against 1.9 CPU s), for 1,115 MB on disk instead of 334 MB (DuckDB 1.5, memory_limit 64MB).
   * The setting is the database's, not the
   * connection's: whatever else is written meanwhile (another sync's snapshot folded while this one plans, the log a
   * checkpoint flushes) is stored uncompressed too, until rewritten, which costs room, never a result.
   */
  override readonly textCompression = {
    statement: sql`SELECT current_setting('disabled_compression_methods') AS "value"`,
    set: (value: string): Sql => sql`SET disabled_compression_methods = ${this.string(value)}`,
    without: (current: string): string => {
      const methods = current.split(',').map((m) => m.trim()).filter((m) => m !== '');
      const off = new Set(methods.map((m) => m.toLowerCase()));
      return [...methods, ...TEXT_COMPRESSION.filter((m) => !off.has(m))].join(',');
    },
  };

  override readonly memoryLimit = {
    statement: sql`SELECT current_setting('memory_limit') AS "limit"`,
    /** As DuckDB prints it: `61.0 MiB`, `18.4 GiB`. */
    bytes: (text: string): number | undefined => {
      const match = /^\s*(\d+(?:\.\d+)?)\s*(bytes|KiB|MiB|GiB|TiB|KB|MB|GB|TB)\s*$/i.exec(text);
      if (!match) return undefined;
      const units: Record<string, number> = { bytes: 1, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };
      return Number(match[1]) * units[match[2]!.toLowerCase()]!;
    },
    exhausted: (error: unknown): boolean => /Out of Memory Error/i.test(error instanceof Error ? error.message : String(error)),
  };

  /** `NOT MATERIALIZED` (see Dialect.inlineCte). */
  override inlineCte(name: Sql, body: Sql): Sql {
    return sql`${name} AS NOT MATERIALIZED (\n  ${body}\n)`;
  }

  /** Over a reservoir sample of the rows: a quantile sorts the rows it reads, all of them in memory. */
  override quantiles(from: Sql, column: Sql, fractions: readonly number[], sample: number): Sql {
    return sql`${super.quantiles(from, column, fractions, sample)} USING SAMPLE reservoir(${this.literal(Math.max(1, Math.round(sample)))} ROWS)`;
  }

  hashToUint32(text: Sql): Sql {
    return sql`CAST(('0x' || substr(md5(${text}), 1, 8)) AS BIGINT)`;
  }

  replaceTable(staging: TableRef, target: TableRef): Sql[] {
    if (sameSchema(staging, target)) return [this.dropTable(target), sql`ALTER TABLE ${this.table(staging)} RENAME TO ${this.id(target.name)}`];
    // DuckDB cannot move a table to another schema (no ALTER TABLE … SET SCHEMA): a table from another schema is
    // copied. Model builds do not come here: their new tables are built beside the model (buildsBesideModel).
    return [this.dropTable(target), sql`CREATE TABLE ${this.table(target)} AS SELECT * FROM ${this.table(staging)}`, this.dropTable(staging)];
  }

  /**
   * DuckDB sorts the values of each group for STRING_AGG(… ORDER BY …) one group at a time, which costs ~3× a
   * list of the group's values sorted by list_sort (a million records in 460,000 customers: 4.5 against 1.6 CPU
   * seconds). So: the non-null values (with their keys, when ordered by keys) listed, sorted, joined. Sorted as
   * ORDER BY sorts them: ascending, NULL keys last, strings by their bytes; an empty list is NULL, as STRING_AGG's.
   * Not under a collation: list_sort ignores one a source column was declared with (COLLATE NOCASE), which
   * STRING_AGG's ORDER BY follows, so such a column's values may come in another order (Tideline declares none).
   * An ORDER BY list given as one piece of SQL (it may say DESC) keeps STRING_AGG.
   */
  /**
   * The same text built by one `concat` (each field's `length:value` by another, `~` for NULL): DuckDB copies each
   * piece once instead of once per `||` (hashing 10M rows of four fields: 9.8 → 8.7 s at a memory_limit of 1GB,
   * measured by a one-off script on DuckDB 1.5, 2026-12-07; 1M hashes compared equal to the `||` form's).
   */
  override recordText(header: string, fields: readonly { readonly label: string; readonly value: Sql }[]): Sql {
    const encoded = fields.map(({ label, value }) => sql`${this.string(label)}, CASE WHEN ${value} IS NULL THEN ${this.string('~')} ELSE concat(${this.functions.length(value)}, ${this.string(':')}, ${value}) END`);
    return encoded.length ? sql`concat(${this.string(header)}, ${joinSql(encoded)})` : this.string(header);
  }

  /** DuckDB's default collation is binary (its `default_collation` setting, unset). */
  override defaultCollation(expr: Sql): Sql {
    return sql`(${expr} COLLATE "binary")`;
  }

  override stringAgg(expr: Sql, separator: string, order: { readonly orderBy: Sql | readonly Sql[] } | { readonly distinct: true }): Sql {
    const sep = this.string(separator);
    const present = sql`FILTER (WHERE ${expr} IS NOT NULL)`;
    if ('distinct' in order) return sql`array_to_string(list_sort(list(DISTINCT ${expr}) ${present}), ${sep})`;
    if (order.orderBy instanceof Sql) return super.stringAgg(expr, separator, order);
    const keys = order.orderBy.map((key, i) => sql`${this.id(`k${i + 1}`)} := ${key}`);
    const item = this.id('v');
    // The lambda's parameter is named so that no column of the query shadows it.
    const each = this.id('tl_sorted_item');
    return sql`array_to_string(list_transform(list_sort(list(struct_pack(${joinSql([...keys, sql`${item} := ${expr}`])})) ${present}), lambda ${each}: ${each}.${item}), ${sep})`;
  }

  override readFile(path: string, format: 'csv' | 'parquet', csv: CsvReading = {}): Sql {
    if (format === 'parquet') return sql`read_parquet(${this.string(path)})`;
    // ignore_errors also lets the sniffer see the file's real columns past a broken line, where a strict read
    // would detect a single column and fail on the first typed one ("Columns with names: … do not exist").
    return this.readCsv(path, csv.types ?? {}, csv.strict ? Sql.empty : sql`, ignore_errors = true`);
  }

  override csvRejects(path: string, types: Readonly<Record<string, LogicalType>> = {}): CsvRejectQueries {
    // store_rejects skips the lines ignore_errors skips, and keeps them in temporary tables of the session.
    const errors: TableRef = { catalog: 'temp', schema: 'main', name: 'tideline_csv_rejects' };
    const scans: TableRef = { catalog: 'temp', schema: 'main', name: 'tideline_csv_scans' };
    const cleanup = [this.dropTable(errors), this.dropTable(scans)];
    const read = this.readCsv(path, types, sql`, store_rejects = true, rejects_table = ${this.string(errors.name)}, rejects_scan = ${this.string(scans.name)}`);
    // error_message quotes the value for a CAST error ("Could not convert string \"…\" to 'BIGINT'"): only the
    // type at its end, the column counts and the column name are read from it.
    const counts = sql`regexp_extract(error_message, 'Found: ([0-9]+)', 1) || ' where the header has ' || regexp_extract(error_message, 'Expected Number of Columns: ([0-9]+)', 1)`;
    const reason = sql`CASE error_type
    WHEN 'CAST' THEN 'column "' || column_name || '" is not a valid ' || regexp_extract(error_message, '''([A-Z][A-Z0-9_(), ]*)''$', 1)
    WHEN 'TOO MANY COLUMNS' THEN 'too many columns: ' || ${counts}
    WHEN 'MISSING COLUMNS' THEN 'too few columns: ' || ${counts}
    ELSE lower(error_type) || COALESCE(' in column "' || column_name || '"', '')
  END`;
    return {
      // COUNT of the whole row converts every column: COUNT(*) would convert none, and see no value of a wrong type.
      scan: [...cleanup, sql`SELECT COUNT(${this.id('line')}) AS ${this.id('n')} FROM ${read} AS ${this.id('line')}`],
      list: sql`SELECT CAST(line AS BIGINT) AS ${this.id('line')}, ${reason} AS ${this.id('reason')}\nFROM ${this.table(errors)}`,
      cleanup,
    };
  }

  private readCsv(path: string, types: Readonly<Record<string, LogicalType>>, reading: Sql): Sql {
    const entries = Object.entries(types).map(([column, type]) => sql`${this.string(column)}: ${this.string(this.types[type])}`);
    const typed = entries.length ? sql`, types = {${joinSql(entries)}}` : Sql.empty;
    return sql`read_csv(${this.string(path)}, header = true, auto_detect = true${typed}${reading})`;
  }
}

/** DuckDB's compression methods for text (`disabled_compression_methods` names them in any case). */
const TEXT_COMPRESSION = ['dictionary', 'fsst', 'dict_fsst'];
