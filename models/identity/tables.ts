import type { Dialect, LogicalType, TableRef } from '../../src/dialects/dialect.js';
import { joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import type { CompanionTables, PlanContext, Step } from '../model-kind.js';
import type { ScoringTables } from './scoring.js';

/**
 * Every table an identity build touches. Scratch tables live only during the build; the three companions are kept
 * beside the golden table and swapped in with it.
 */
export interface IdentityTables {
  /** (source, source_id, customer_id) of the previous build, or empty. */
  readonly prev: TableRef;
  /** One row per source row: its record number, times, priority and the raw text of each input. */
  readonly rows: TableRef;
  /** One row per record (source, source id). */
  readonly records: TableRef;
  /** Long table of normalised values: (rec, field, value, display, junk). */
  readonly values: TableRef;
  /** Rule keys of each record. */
  readonly keys: TableRef;
  /** Records per rule key. */
  readonly groups: TableRef;
  /** Links between records, one per rule and key. */
  readonly edges: TableRef;
  /** Links set aside by the cap on distinct values per customer; only when a cap is configured. */
  readonly dropped: TableRef | undefined;
  readonly cut: TableRef | undefined;
  /** The records of the customers a cap round cut, and their components over the links left; with a cap. */
  readonly affected: TableRef | undefined;
  readonly labelsPart: TableRef | undefined;
  /** Connected-components working graph, ping-ponged between the two each round. */
  readonly graph: TableRef;
  readonly graphNext: TableRef;
  /** rec → component. */
  readonly labels: TableRef;
  /** One row per round of each repeated step, for the report. */
  readonly rounds: TableRef;
  readonly members: TableRef;
  readonly customers: TableRef;
  readonly fields: TableRef;
  readonly golden: TableRef;
  readonly map: CompanionTables;
  readonly links: CompanionTables;
  readonly report: CompanionTables;
  /**
   * Probabilistic scoring's tables; only when the model has a `probabilistic` block. `started` holds the time the
   * build reached training, so the report can tell parameters trained by this build from re-used ones.
   */
  readonly scoring: (ScoringTables & { readonly parameters: CompanionTables; readonly scored: CompanionTables; readonly started: TableRef }) | undefined;
}

export function identityTables(context: PlanContext, capped: boolean, probabilistic = false): IdentityTables {
  const s = (suffix: string) => context.scratch(suffix);
  const parameters = probabilistic ? context.companion('parameters') : undefined;
  const scored = probabilistic ? context.companion('pairs') : undefined;
  return {
    prev: s('prev'),
    rows: s('rows'),
    records: s('records'),
    values: s('values'),
    keys: s('keys'),
    groups: s('groups'),
    edges: s('edges'),
    dropped: capped ? s('dropped') : undefined,
    cut: capped ? s('cut') : undefined,
    affected: capped ? s('capped_records') : undefined,
    labelsPart: capped ? s('capped_labels') : undefined,
    graph: s('graph'),
    graphNext: s('graph_next'),
    labels: s('labels'),
    rounds: s('rounds'),
    members: s('members'),
    customers: s('customers'),
    fields: s('fields'),
    golden: context.output,
    map: context.companion('map'),
    links: context.companion('links'),
    report: context.companion('report'),
    scoring:
      parameters && scored
        ? { shared: s('shared'), wide: s('wide'), tf: s('tf'), pairs: s('candidates'), gammas: s('gammas'), scores: s('scores'), params: parameters.build, previousParams: parameters.current, carriedParams: s('carried_parameters'), records: s('records'), training: s('training'), parameters, scored, started: s('training_started') }
        : undefined,
  };
}

/** A column of a result row by the name Tideline wrote for it (connections key rows so: Dialect.rowKey), or null. */
export function read(row: Readonly<Record<string, unknown>>, name: string): unknown {
  return row[name] ?? null;
}

/** `alias.column`, both quoted by the dialect. */
export function col(d: Dialect, alias: string, name: string): Sql {
  return sql`${d.id(alias)}.${d.id(name)}`;
}

/** A string literal typed as the warehouse's string type (so that UNION branches and CTAS columns agree). */
export function text(d: Dialect, value: string | null): Sql {
  return d.cast(d.literal(value), 'string');
}

/** An empty table with the given columns. */
export function emptySelect(d: Dialect, columns: readonly (readonly [string, LogicalType])[]): Sql {
  return sql`SELECT ${joinSql(columns.map(([name, type]) => sql`${d.cast(sql`NULL`, type)} AS ${d.id(name)}`))} LIMIT 0`;
}

/** `CREATE TABLE … AS` preceded by a drop, for tables rebuilt inside a repeated step; statistics refreshed after. */
export function rebuild(d: Dialect, table: TableRef, select: Sql): Sql[] {
  return [d.dropTable(table), d.createTableAs(table, select), ...d.refreshStatistics(table)];
}

/** Steps refreshing a new table's statistics, where the warehouse needs them (see Dialect.refreshStatistics). */
export function statistics(d: Dialect, table: TableRef): Step[] {
  return d.refreshStatistics(table).map((statement) => ({ kind: 'sql', label: 'statistics', sql: statement }));
}
