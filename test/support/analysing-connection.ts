/**
 * A Connection whose warehouse is a SQL analyzer (test/support/analyzers.ts): every statement Tideline sends is
 * analysed — parsed, names resolved against the catalog, types checked — instead of run. The catalog is the
 * warehouse's: it starts empty and follows the statements, as the warehouse's would. A CREATE TABLE adds the table
 * with the columns the analyzer resolved (so a model's table has the types its SELECT gives), a DROP removes it, a
 * DROP SCHEMA … CASCADE removes its tables; `columns()` and `columnsOfQuery()` answer from it.
 *
 * What is checked is that BigQuery or Snowflake would accept each statement, not what it returns: queries return no
 * rows, apart from the answers a test gives to steer a command (Answer). Beyond the analyzer, lints (Lint) check what
 * its builds are lenient about, and DDL on a permanent table inside runAtomically is an error. Each statement and its
 * verdict are kept in `analysed`; a failure is recorded, not thrown, so one run finds every problem.
 */
import type { Dialect, TableRef } from '../../src/dialects/dialect.js';
import { joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import { insertWithStatements, type ColumnInfo, type ColumnSpec, type Connection, type Row, type RowBatches, type Value } from '../../src/warehouses/connection.js';
import { analysisError, functionProtos, type Analyzer, type DeclaredFunction, type TypeProto } from './analyzers.js';

/** A rewrite of the text before analysis, for syntax the analyzer lacks: each one is an exception, with its reason. */
export interface Rewrite {
  readonly name: string;
  readonly reason: string;
  /** A statement the analyzer rejects as it is and accepts rewritten (over a table "A"."C" with a column "X"). */
  readonly sample: string;
  readonly apply: (text: string) => string;
}

/**
 * Rows for a query, where the test wants the command to go on as it would over data (a model fitted, a lock read
 * back): given the query, its result's columns (keyed as rows are, Dialect.rowKey) and what was analysed before it.
 * Undefined: no rows.
 */
export type Answer = (query: {
  readonly text: string;
  readonly columns: readonly ColumnInfo[];
  readonly during: string;
  readonly history: readonly Analysed[];
}) => readonly (readonly Value[])[] | undefined;

/**
 * A check of an analysed statement beyond what the analyzer does (its builds resolve names whatever their case, and
 * the Snowflake build also knows BigQuery's functions): a message when the statement fails it.
 */
export type Lint = (statement: {
  /** What Tideline sent. */
  readonly original: string;
  /** What the analyzer was sent (after the rewrites). */
  readonly sent: string;
  /** The functions it resolved, lower-case, without ZetaSQL's group prefix or operators (`$add`…). */
  readonly functions: readonly string[];
  /** Every schema and table name of the catalog, and every column name, as the statements created them. */
  readonly relations: ReadonlySet<string>;
  readonly columns: ReadonlySet<string>;
  readonly dialect: string;
}) => string | undefined;

export interface Analysed {
  readonly text: string;
  /** What was sent to the analyzer, when a rewrite changed it. */
  readonly sent?: string;
  readonly error?: string;
  /** The command or step that sent it, as set by the test. */
  readonly during: string;
}

interface Table {
  readonly schema: string;
  readonly name: string;
  readonly columns: { readonly name: string; readonly type: TypeProto }[];
}

let connections = 0;

/** ZetaSQL type kinds → the dialect's own type names, for columns(). */
const NATIVE: Readonly<Record<'bigquery' | 'snowflake', Readonly<Record<number, string>>>> = {
  bigquery: { 2: 'INT64', 5: 'BOOL', 7: 'FLOAT64', 8: 'STRING', 9: 'BYTES', 10: 'DATE', 19: 'TIMESTAMP', 21: 'DATETIME', 23: 'NUMERIC', 24: 'BIGNUMERIC', 26: 'JSON' },
  snowflake: { 2: 'NUMBER(38,0)', 5: 'BOOLEAN', 7: 'FLOAT', 8: 'VARCHAR', 9: 'BINARY', 10: 'DATE', 19: 'TIMESTAMP_NTZ', 21: 'TIMESTAMP_NTZ', 23: 'NUMBER(38,9)', 1000: 'VARIANT', 1001: 'OBJECT' },
};
const KIND_NUMBER: Readonly<Record<string, number>> = { TYPE_INT64: 2, TYPE_BOOL: 5, TYPE_DOUBLE: 7, TYPE_STRING: 8, TYPE_BYTES: 9, TYPE_DATE: 10, TYPE_TIMESTAMP: 19, TYPE_DATETIME: 21, TYPE_NUMERIC: 23, TYPE_JSON: 26, TYPE_ARRAY: 16 };

export class AnalysingConnection implements Connection {
  readonly analysed: Analysed[] = [];
  /** What the statements are sent for; the test sets it before each command. */
  during = '';
  /** Rewrites that changed at least one statement (an exception nobody needs any more fails the suite). */
  readonly rewritesUsed = new Set<string>();
  /** Declared functions some statement called. */
  readonly declaredUsed = new Set<string>();
  private readonly tables = new Map<string, Table>();
  /** Bumped whenever the tables change: the analyzer registers the catalog once per version. */
  private version = 0;
  /** Tells this connection's catalog versions from another's on the same analyzer. */
  private readonly id = ++connections;

  constructor(
    readonly dialect: Dialect,
    private readonly analyzer: Analyzer,
    private readonly declared: readonly DeclaredFunction[] = [],
    private readonly rewrites: readonly Rewrite[] = [],
    private readonly answers: readonly Answer[] = [],
    private readonly lints: readonly Lint[] = [],
  ) {}

  /** Functions the analysed statements called (see Lint), for the suite's summary. */
  readonly functionsUsed = new Set<string>();

  async execute(statement: Sql): Promise<void> {
    await this.analyse(statement.text);
  }

  async query(statement: Sql): Promise<Row[]> {
    const history = this.analysed.slice();
    const resolved = await this.analyse(statement.text);
    const output = (find(resolved, 'outputColumnList') ?? []) as { name: string; column: { type: TypeProto } }[];
    // Keyed as the real connection keys them (on Snowflake, `"OP"` is read as `op`).
    const columns = output.map((c) => this.columnInfo(this.dialect.rowKey(c.name), c.column.type));
    for (const answer of this.answers) {
      const rows = answer({ text: statement.text, columns, during: this.during, history });
      if (rows) return rows.map((values) => Object.fromEntries(columns.map((c, i) => [c.name, values[i] ?? null])));
    }
    return [];
  }

  async *stream(statement: Sql): AsyncGenerator<Row[]> {
    const rows = await this.query(statement);
    if (rows.length) yield rows;
  }

  async columns(table: TableRef): Promise<ColumnInfo[] | undefined> {
    const found = this.tables.get(key(table.schema ?? '', table.name));
    return found?.columns.map((c) => this.columnInfo(c.name, c.type));
  }

  async columnsOfQuery(select: Sql): Promise<ColumnInfo[]> {
    const response = await this.analyse(select.text);
    const output = (find(response, 'outputColumnList') ?? []) as { name: string; column: { type: TypeProto } }[];
    return output.map((c) => this.columnInfo(c.name, c.column.type));
  }

  /**
   * As the real connections run a unit: BigQuery one script in a transaction, Snowflake BEGIN … COMMIT. DDL on a
   * permanent table inside is an error: BigQuery refuses it in a transaction, Snowflake commits the unit there.
   */
  async runAtomically(statements: readonly Sql[]): Promise<void> {
    if (this.dialect.name === 'bigquery') {
      const body = joinSql(statements.map((s) => sql`${s.withoutTerminator()};`), sql`\n`);
      await this.analyse(sql`BEGIN TRANSACTION;\n${body}\nCOMMIT TRANSACTION;`.text, true);
      return;
    }
    await this.execute(sql`BEGIN TRANSACTION`);
    for (const statement of statements) await this.analyse(statement.text, true);
    await this.execute(sql`COMMIT`);
  }

  insertRows(table: TableRef, columns: readonly ColumnSpec[], batches: RowBatches): Promise<number> {
    return insertWithStatements(this, table, columns, batches);
  }

  async close(): Promise<void> {}

  /** The tables the statements left, by `schema.name`. */
  tableNames(): string[] {
    return [...this.tables.values()].map((t) => `${t.schema}.${t.name}`);
  }

  /**
   * Analyses a statement or a script, statement by statement, each against the catalog the previous ones left.
   * A failure is recorded (not thrown: the command goes on, so that one run finds every problem) and the rest of
   * the script is not analysed.
   */
  private async analyse(text: string, atomic = false): Promise<Record<string, unknown> | undefined> {
    let sent = text;
    for (const rewrite of this.rewrites) {
      const next = rewrite.apply(sent);
      if (next !== sent) this.rewritesUsed.add(rewrite.name);
      sent = next;
    }
    for (const f of this.declared) if (new RegExp(`\\b${f.name}\\s*\\(`, 'i').test(sent)) this.declaredUsed.add(f.name);
    const bytes = Buffer.from(sent, 'utf8');
    let position = 0;
    let last: Record<string, unknown> | undefined;
    try {
      while (!blank(bytes.subarray(position).toString('utf8'))) {
        const response = await this.analyzer.analyze(sent, () => this.catalog(), `${this.id}.${this.version}`, position);
        last = response.resolvedStatement;
        if (atomic && ddl(last)) throw new Error(`DDL on a permanent table inside a transaction (${Object.keys(last ?? {}).join()}): ${this.dialect.name === 'bigquery' ? 'BigQuery refuses it' : 'Snowflake commits the transaction there'}`);
        // Checked against the catalog as it was before the statement, which then takes effect whatever the checks
        // say (so that one problem does not turn every later statement into a missing table).
        const names = this.names();
        this.follow(last, sent);
        const functions = functionNames(last);
        for (const name of functions) this.functionsUsed.add(name);
        for (const lint of this.lints) {
          const problem = lint({ original: text, sent, functions, ...names, dialect: this.dialect.name });
          if (problem) throw new Error(problem);
        }
        const next = response.resumeBytePosition;
        if (next === undefined || next <= position) {
          if (!blank(bytes.subarray(next ?? position).toString('utf8'))) throw new Error(`the analyzer stopped at byte ${next ?? position} of a script with statements left`);
          break;
        }
        position = next;
      }
      this.analysed.push({ text, ...(sent !== text ? { sent } : {}), during: this.during });
    } catch (error) {
      this.analysed.push({ text, ...(sent !== text ? { sent } : {}), error: analysisError(error), during: this.during });
    }
    return last;
  }

  /** Every schema and table name, and every column name, exactly as created. */
  private names(): { relations: Set<string>; columns: Set<string> } {
    const relations = new Set<string>();
    const columns = new Set<string>();
    for (const t of this.tables.values()) {
      relations.add(t.schema);
      relations.add(t.name);
      for (const c of t.columns) columns.add(c.name);
    }
    return { relations, columns };
  }

  /** The catalog as the analyzer takes it: one sub-catalog per schema, and the declared functions. */
  private catalog(): Record<string, unknown> {
    const schemas = new Map<string, Table[]>();
    for (const table of this.tables.values()) schemas.set(table.schema, [...(schemas.get(table.schema) ?? []), table]);
    return {
      name: 'warehouse',
      catalog: [...schemas].map(([schema, tables]) => ({
        name: schema,
        table: tables.map((t) => ({ name: t.name, column: t.columns.map((c) => ({ name: c.name, type: c.type })) })),
      })),
      customFunction: functionProtos(this.declared),
    };
  }

  /** Follows DDL: the tables a statement creates or replaces, drops, or renames. */
  private follow(resolved: Record<string, unknown> | undefined, text: string): void {
    if (!resolved) return;
    const before = this.tables.size;
    const changed = this.followDdl(resolved, text);
    if (changed || this.tables.size !== before) this.version++;
  }

  /** Applies a DDL statement to the tables; true when it created, replaced, dropped or renamed one. */
  private followDdl(resolved: Record<string, unknown>, text: string): boolean {
    const stored = (name: string) => this.storedAs(name, text);
    const drop = find(resolved, 'resolvedDropStmtNode') as { namePath: string[]; objectType: string } | undefined;
    if (drop) {
      const [schema, name] = path(drop.namePath);
      if (drop.objectType === 'SCHEMA') {
        for (const [k, t] of this.tables) if (lower(t.schema) === lower(drop.namePath.at(-1)!)) this.tables.delete(k);
      } else if (drop.objectType === 'TABLE' || drop.objectType === 'VIEW') this.tables.delete(key(schema, name));
      return true;
    }
    const create = find(resolved, 'resolvedCreateTableStmtBaseNode') ?? find(resolved, 'resolvedCreateViewBaseNode');
    if (create) {
      const namePath = (find(create, 'namePath') as string[]).map(stored);
      const [schema, name] = path(namePath);
      const definitions = find(create, 'columnDefinitionList') as { name: string; type: TypeProto }[] | undefined;
      const output = find(create, 'outputColumnList') as { name: string; column: { type: TypeProto } }[] | undefined;
      let columns = definitions?.length ? definitions.map((c) => ({ name: stored(c.name), type: c.type })) : (output ?? []).map((c) => ({ name: stored(c.name), type: c.column.type }));
      // CREATE TABLE … COPY/CLONE: the columns of the table copied.
      const copied = find(create, 'cloneFrom') ?? find(create, 'copyFrom');
      if (!columns.length && copied) {
        const source = find(copied, 'table') as { name?: string; fullName?: string } | undefined;
        const from = [...this.tables.values()].find((t) => lower(`${t.schema}.${t.name}`) === lower(source?.fullName ?? '') || lower(t.name) === lower(source?.name ?? ''));
        columns = from?.columns ?? [];
      }
      // CREATE … IF NOT EXISTS (create mode 2) leaves an existing table as it is.
      if (find(create, 'createMode') === 2 && this.tables.has(key(schema, name))) return false;
      this.tables.set(key(schema, name), { schema, name, columns });
      return true;
    }
    const rename = find(resolved, 'resolvedRenameToActionNode') as { newPath: string[] } | undefined;
    const alter = find(resolved, 'resolvedAlterTableStmtNode');
    if (rename && alter) {
      const from = path(find(alter, 'namePath') as string[]);
      const table = this.tables.get(key(...from));
      if (!table) return false;
      this.tables.delete(key(...from));
      const to = rename.newPath.length > 1 ? path(rename.newPath) : ([from[0], rename.newPath[0]!] as const);
      this.tables.set(key(...to), { ...table, schema: to[0], name: to[1] });
      return true;
    }
    return false;
  }

  /**
   * The name the warehouse stores for a name the analyzer resolved: Snowflake folds an unquoted name to upper case,
   * which the analyzer does not say; a simple lower-case name the statement never quotes was unquoted.
   */
  private storedAs(name: string, text: string): string {
    if (this.dialect.name !== 'snowflake' || !/^[a-z_][a-z0-9_$]*$/.test(name) || text.includes(`"${name}"`)) return name;
    return name.toUpperCase();
  }

  private columnInfo(name: string, type: TypeProto): ColumnInfo {
    const kind = typeof type.typeKind === 'number' ? type.typeKind : (KIND_NUMBER[type.typeKind] ?? 0);
    const names = NATIVE[this.dialect.name as 'bigquery' | 'snowflake'];
    const nativeType = kind === 16 ? (this.dialect.name === 'bigquery' ? `ARRAY<${names[Number(type.arrayType?.elementType.typeKind)] ?? 'STRING'}>` : 'ARRAY') : (names[kind] ?? 'UNKNOWN');
    return { name, nativeType, type: this.dialect.logicalType(nativeType) };
  }
}

function lower(text: string): string {
  return text.toLowerCase();
}

function key(schema: string, name: string): string {
  return `${lower(schema)}\u0000${lower(name)}`;
}

/** A table's path as (schema, name): the last two parts (a BigQuery path may start with the project). */
function path(namePath: readonly string[]): readonly [string, string] {
  return [namePath.at(-2) ?? '', namePath.at(-1) ?? ''];
}

/** The functions a resolved statement calls: `ZetaSQL:lower` → `lower`; operators (`$add`) left out. */
function functionNames(resolved: unknown): string[] {
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'function' && v !== null && typeof v === 'object' && 'name' in v && typeof v.name === 'string') {
        const name = v.name.slice(v.name.indexOf(':') + 1).toLowerCase();
        if (!name.startsWith('$')) names.add(name);
      }
      walk(v);
    }
  };
  walk(resolved);
  return [...names];
}

/** A statement creating, altering or dropping a table, view or schema (not a temporary table). */
function ddl(resolved: Record<string, unknown> | undefined): boolean {
  if (!resolved) return false;
  const kinds = ['resolvedCreateStatementNode', 'resolvedDropStmtNode', 'resolvedAlterObjectStmtNode', 'resolvedRenameStmtNode'];
  if (!kinds.some((k) => find(resolved, k) !== undefined)) return false;
  // ResolvedCreateStatement.create_scope: CREATE_TEMP is 3.
  return find(resolved, 'createScope') !== 3;
}

/** Nothing left to analyse: only blanks, semicolons and comments. */
function blank(text: string): boolean {
  return text.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '').replace(/[\s;]/g, '') === '';
}

/** The first property named `name`, depth first, in a decoded resolved tree. */
function find(node: unknown, name: string): unknown {
  if (node === null || typeof node !== 'object') return undefined;
  if (!Array.isArray(node) && name in node && (node as Record<string, unknown>)[name] !== null) return (node as Record<string, unknown>)[name];
  for (const value of Object.values(node)) {
    const found = find(value, name);
    if (found !== undefined) return found;
  }
  return undefined;
}
