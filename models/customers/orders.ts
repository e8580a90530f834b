import { z } from 'zod';
import type { Dialect, LogicalType } from '../../src/dialects/dialect.js';
import { Sql, joinSql, sql } from '../../src/dialects/sql.js';
import type { FieldPath } from '../../src/project/problems.js';
import { checkComparison, columnConditionSchema, compileComparison, comparisonsIn } from '../../src/expressions/conditions.js';
import type { AnalyseContext, ColumnRef, PlanContext, InputRef, OutputColumn } from '../model-kind.js';

/**
 * What the customers, rfm and ltv kinds share: the orders they read (any relation — a staging model, an identity
 * map joined to orders, a source — named with its customer-id column), the rules that exclude cancellations and
 * returns, and the as-of date that makes a run reproducible.
 */

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date written YYYY-MM-DD');

/**
 * A row rule: exactly one operator, read as in staging's `where` (`not_equals` and `not_in` match NULLs, the others
 * do not), plus `starts_with` for text prefixes (cancelled invoices: "C…").
 */
export const ruleSchema = columnConditionSchema.extend({ starts_with: z.string().min(1).optional() });
export type Rule = z.infer<typeof ruleSchema>;

export const ordersSchema = z.strictObject({
  from: z.string().min(1).describe('The relation holding orders (or order lines: see `grain`).'),
  customer_id: z.string().min(1).describe('The column identifying the customer, e.g. the unified id from an identity map.'),
  order_id: z.string().min(1),
  ordered_at: z.string().min(1).describe('Date or timestamp of the order; only its date is used.'),
  amount: z.string().min(1).describe('Revenue of the row (numeric).'),
  cost: z.string().min(1).optional().describe('Cost of the row: gives margin = amount − cost.'),
  channel: z.string().min(1).optional(),
  store: z.string().min(1).optional(),
  grain: z.enum(['order', 'line']).default('order').describe('`order`: one row per order (counts rows); `line`: several rows per order (counts distinct order ids).'),
  exclude: z.array(ruleSchema).default([]).describe('Rows matching any of these rules are left out: cancellations, returns, tests.'),
});
export type OrdersSpec = z.infer<typeof ordersSchema>;

/** Optional columns of the orders relation, with the field naming each. */
const OPTIONAL_ORDER_COLUMNS = ['cost', 'channel', 'store'] as const;

export function ordersInputs(orders: OrdersSpec, at: FieldPath): InputRef {
  const columns: ColumnRef[] = (['customer_id', 'order_id', 'ordered_at', 'amount'] as const).map((f) => ({ name: orders[f], at: [...at, f] }));
  for (const f of OPTIONAL_ORDER_COLUMNS) if (orders[f] !== undefined) columns.push({ name: orders[f]!, at: [...at, f] });
  columns.push(...rulesColumns(orders.exclude, [...at, 'exclude']));
  return { relation: orders.from, at: [...at, 'from'], columns };
}

export function rulesColumns(rules: readonly Rule[], at: FieldPath): ColumnRef[] {
  return rules.map((rule, i) => ({ name: rule.column, at: [...at, i, 'column'] }));
}

export function columnType(context: Pick<AnalyseContext, 'dialect' | 'columnsOf'>, relation: string, column: string): LogicalType | undefined {
  const key = context.dialect.identifierKey(column);
  return context.columnsOf(relation)?.find((c) => context.dialect.identifierKey(c.name) === key)?.type;
}

const NUMERIC: readonly LogicalType[] = ['integer', 'float', 'decimal'];

/** Type checks on the orders' columns (when the relation's columns are known) and on the exclusion rules. */
export function analyseOrders(orders: OrdersSpec, at: FieldPath, context: AnalyseContext): void {
  const type = (column: string) => columnType(context, orders.from, column);
  const when = type(orders.ordered_at);
  if (when !== undefined && when !== 'date' && when !== 'timestamp')
    context.problem([...at, 'ordered_at'], `column "${orders.ordered_at}" is ${when}: the order date must be a date or timestamp column (cast it in a staging model)`, 'wrong-type');
  for (const field of ['amount', 'cost'] as const) {
    const column = orders[field];
    const t = column === undefined ? undefined : type(column);
    if (column !== undefined && t !== undefined && !NUMERIC.includes(t))
      context.problem([...at, field], `column "${column}" is ${t}: ${field} must be numeric (cast it in a staging model)`, 'wrong-type');
  }
  analyseRules(orders.exclude, [...at, 'exclude'], (column) => type(column), context);
}

export function analyseRules(rules: readonly Rule[], at: FieldPath, typeOf: (column: string) => LogicalType | undefined, context: AnalyseContext): void {
  rules.forEach((rule, i) => {
    if (rule.starts_with === undefined) {
      checkComparison(rule, `column "${rule.column}"`, typeOf(rule.column), [...at, i], (where, message, code) => context.problem(where, message, code));
      return;
    }
    const others = comparisonsIn(rule);
    if (others.length) context.problem([...at, i], `a rule needs exactly one operator; found starts_with, ${others.join(', ')}`, 'bad-condition');
  });
}

/** TRUE when the row matches the rule; FALSE (never NULL) otherwise, so that `NOT (…)` is never NULL. */
export function ruleSql(d: Dialect, source: Sql, rule: Rule, type: LogicalType | undefined): Sql {
  const column = sql`${source}.${d.id(rule.column)}`;
  if (rule.starts_with === undefined) return sql`COALESCE(${compileComparison(d, column, rule, type)}, FALSE)`;
  const prefix = d.literal(rule.starts_with);
  return sql`COALESCE(${d.functions.substring(d.cast(column, 'string'), d.literal(1), d.functions.length(prefix))} = ${prefix}, FALSE)`;
}

/** `NOT (rule OR rule …)`, or TRUE when there are no rules. */
export function keptSql(d: Dialect, source: Sql, rules: readonly Rule[], typeOf: (column: string) => LogicalType | undefined): Sql {
  if (rules.length === 0) return sql`TRUE`;
  return sql`NOT (${joinSql(
    rules.map((r) => ruleSql(d, source, r, typeOf(r.column))),
    sql` OR `,
  )})`;
}

/** The canonical columns every kind reads orders as. */
export const ORDER_COLUMNS = {
  customer: '__tl_customer_id',
  order: '__tl_order_id',
  date: '__tl_order_date',
  amount: '__tl_amount',
  cost: '__tl_cost',
  channel: '__tl_channel',
  store: '__tl_store',
} as const;

/**
 * SELECT of the kept orders with canonical columns (ORDER_COLUMNS), plus every source column when `withSource`
 * (custom aggregate fields refer to them by name): rows with a customer id, dated on or before `asOf` (a run as of a
 * past date ignores later orders), and matching no exclusion rule. Amounts become decimals (cents): sums are then
 * exact and independent of the order rows are added in, so equal totals stay equal and quintile ties stay stable.
 */
export function keptOrdersSql(d: Dialect, context: Pick<PlanContext, 'relation' | 'columnsOf'>, orders: OrdersSpec, asOf: Sql, options: { withSource?: boolean; since?: Sql } = {}): Sql {
  const src = d.id('src');
  const col = (name: string) => sql`${src}.${d.id(name)}`;
  const typeOf = (column: string) => columnType({ dialect: d, columnsOf: context.columnsOf }, orders.from, column);
  const date = sql`CAST(${col(orders.ordered_at)} AS ${d.type('date')})`;
  const projections: Sql[] = [
    sql`${col(orders.customer_id)} AS ${d.id(ORDER_COLUMNS.customer)}`,
    sql`${col(orders.order_id)} AS ${d.id(ORDER_COLUMNS.order)}`,
    sql`${date} AS ${d.id(ORDER_COLUMNS.date)}`,
    sql`${d.cast(col(orders.amount), 'decimal')} AS ${d.id(ORDER_COLUMNS.amount)}`,
  ];
  if (orders.cost !== undefined) projections.push(sql`${d.cast(col(orders.cost), 'decimal')} AS ${d.id(ORDER_COLUMNS.cost)}`);
  if (orders.channel !== undefined) projections.push(sql`${d.cast(col(orders.channel), 'string')} AS ${d.id(ORDER_COLUMNS.channel)}`);
  if (orders.store !== undefined) projections.push(sql`${d.cast(col(orders.store), 'string')} AS ${d.id(ORDER_COLUMNS.store)}`);
  if (options.withSource) projections.push(sql`${src}.*`);
  const conditions = [sql`${col(orders.customer_id)} IS NOT NULL`, sql`${date} <= ${asOf}`];
  if (options.since) conditions.push(sql`${date} > ${options.since}`);
  if (orders.exclude.length) conditions.push(keptSql(d, src, orders.exclude, typeOf));
  return sql`SELECT ${joinSql(projections)}\nFROM ${context.relation(orders.from)} AS ${src}\nWHERE ${joinSql(conditions, sql`\n  AND `)}`;
}

/** The output type of the customer id: the input column's. */
export function customerIdType(context: Pick<AnalyseContext, 'dialect' | 'columnsOf'>, orders: OrdersSpec): OutputColumn {
  return { name: 'customer_id', type: columnType(context, orders.from, orders.customer_id) };
}
