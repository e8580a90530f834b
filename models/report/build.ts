import type { ColumnCondition } from '../../src/expressions/conditions.js';
import { compileComparison } from '../../src/expressions/conditions.js';
import type { Duration } from '../../src/expressions/durations.js';
import type { Dialect, LogicalType, TableRef } from '../../src/dialects/dialect.js';
import { indentSql, joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import type { PlanContext } from '../model-kind.js';
import type { PeriodUnit, ReportSpec } from './schema.js';

/** What every section's SQL builder needs: the dialect, the spec, the compile context and the as-of date. */
export interface Builder {
  readonly d: Dialect;
  readonly spec: ReportSpec;
  readonly context: PlanContext;
  /** The as-of date as a DATE expression. */
  readonly asOf: Sql;
  /** The kept orders (see `ordersTable`), when the report has orders. */
  readonly orders: TableRef | undefined;
}

export function builder(spec: ReportSpec, context: PlanContext): Builder {
  const d = context.dialect;
  const asOf = spec.as_of ?? (typeof context.vars['as_of'] === 'string' ? context.vars['as_of'] : undefined);
  // `vars: {as_of: today}` (what a scheduler leaves unpinned) is the warehouse's date, as in the other kinds.
  return { d, spec, context, asOf: asOf && asOf !== 'today' ? d.dateLiteral(asOf) : d.currentDate(), orders: spec.orders ? context.scratch('orders') : undefined };
}

/** A value as a double: every ratio is computed in floating point, so integer division never truncates it. */
export function float(b: Builder, expr: Sql): Sql {
  return b.d.cast(expr, 'float');
}

export function floatLiteral(b: Builder, value: number | undefined): Sql {
  return b.d.cast(b.d.literal(value ?? null), 'float');
}

/** `a / b` as a double, NULL when `b` is 0 (no warehouse divides by zero the same way). */
export function ratio(b: Builder, numerator: Sql, denominator: Sql): Sql {
  return sql`${float(b, numerator)} / NULLIF(${float(b, denominator)}, 0)`;
}

export function typeOf(b: Builder, relation: string, column: string): LogicalType | undefined {
  const key = b.d.identifierKey(column);
  return b.context.columnsOf(relation)?.find((c) => b.d.identifierKey(c.name) === key)?.type;
}

/** The conjunction of YAML row conditions on `alias`'s columns (each two-valued: unknown is false). */
export function conditions(b: Builder, alias: Sql, relation: string, where: readonly ColumnCondition[] | undefined): Sql[] {
  return (where ?? []).map((w) => sql`COALESCE(${compileComparison(b.d, sql`${alias}.${b.d.id(w.column)}`, w, typeOf(b, relation, w.column))}, FALSE)`);
}

export function and(parts: readonly Sql[]): Sql {
  return parts.length ? joinSql(parts.map((p) => sql`(${p})`), sql` AND `) : sql`TRUE`;
}

/** `expr` plus a duration (negative to go back); quarters are three months, which every dialect adds alike. */
export function plus(b: Builder, expr: Sql, amount: number, unit: Duration['unit'] | 'quarter', operand: 'date' | 'timestamp'): Sql {
  return unit === 'quarter' ? b.d.dateAdd(expr, b.d.literal(amount * 3), 'month', operand) : b.d.dateAdd(expr, b.d.literal(amount), unit, operand);
}

export function plusDuration(b: Builder, expr: Sql, duration: Duration, operand: 'date' | 'timestamp', sign: 1 | -1 = 1): Sql {
  return plus(b, expr, sign * duration.amount, duration.unit, operand);
}

/** The start of the period holding a date. */
export function periodOf(b: Builder, day: Sql): Sql {
  return b.d.dateTrunc(b.spec.periods.every, day, 'date');
}

/** The first day of the reporting window: the start of the current period, minus `count - 1` periods. */
export function windowStart(b: Builder): Sql {
  const { every, count } = b.spec.periods;
  return plus(b, periodOf(b, b.asOf), -(count - 1), every as PeriodUnit, 'date');
}

/** The end of a window of `duration` opened at `start` has passed by the as-of date, so what happened in it is known. */
export function matured(b: Builder, start: Sql, duration: Duration): Sql {
  return sql`${plusDuration(b, start, duration, 'timestamp')} <= ${b.d.cast(b.asOf, 'timestamp')}`;
}

export interface ColumnDef {
  readonly name: string;
  readonly type: LogicalType;
}

/** A SELECT with the given columns and no rows: sections that are not configured still leave a table of their shape. */
export function emptySelect(b: Builder, columns: readonly ColumnDef[]): Sql {
  return sql`SELECT ${joinSql(columns.map((c) => sql`${b.d.cast(sql`NULL`, c.type)} AS ${b.d.id(c.name)}`))}\nWHERE 1 = 0`;
}

/** `WITH a AS (…), b AS (…)` from named bodies. */
export function withCtes(b: Builder, ctes: readonly { readonly name: string; readonly body: Sql }[], select: Sql): Sql {
  if (ctes.length === 0) return select;
  const parts = ctes.map((c) => sql`${b.d.id(c.name)} AS (\n${indentSql(c.body)}\n)`);
  return sql`WITH ${joinSql(parts, sql`,\n`)}\n${select}`;
}

/**
 * The orders the report counts, once per build in a scratch table: the customer key `k` (as text, like every key the
 * report joins on), `ordered_at`, `order_day`, and the revenue as a double. Orders after the as-of date are left out, so a fixed as-of date reproduces a past report.
 */
export function ordersTable(b: Builder): Sql | undefined {
  const orders = b.spec.orders;
  if (!orders || !b.orders) return undefined;
  const { d } = b;
  const o = d.id('o');
  const time = sql`${o}.${d.id(orders.time)}`;
  const filters = [sql`${o}.${d.id(orders.customer)} IS NOT NULL`, sql`${time} IS NOT NULL`, sql`${d.cast(time, 'date')} <= ${b.asOf}`, ...conditions(b, o, orders.from, orders.where)];
  return d.createTableAs(
    b.orders,
    sql`SELECT ${d.cast(sql`${o}.${d.id(orders.customer)}`, 'string')} AS k, ${d.cast(time, 'timestamp')} AS ordered_at, ${d.cast(time, 'date')} AS order_day, ${float(b, sql`COALESCE(${o}.${d.id(orders.revenue)}, 0)`)} AS revenue
FROM ${b.context.relation(orders.from)} AS ${o}
WHERE ${joinSql(filters, sql`\n  AND `)}`,
  );
}
