import { joinSql, Sql, sql, unionAll } from '../../src/dialects/sql.js';
import { emptySelect, plus, ratio, withCtes, type Builder, type ColumnDef } from './build.js';

/**
 * Cohorts: customers by the month of their first purchase. At each horizon h (months after the first purchase day
 * d0, orders on days up to d0 + h months counted):
 * - repeat rate: the share of the cohort with an order on a later day than d0;
 * - revenue per customer: cumulative, first day included; `revenue_index` sets the first day's revenue per customer
 *   to 100.
 * A horizon is `complete` once every customer of the cohort has been observed that long (the cohort's last day plus
 * h months is on or before the as-of date); before that its figures are NULL, not understated.
 */
export const COHORT_COLUMNS: readonly ColumnDef[] = [
  { name: 'cohort_month', type: 'date' },
  { name: 'customers', type: 'integer' },
  { name: 'months_after', type: 'integer' },
  { name: 'complete', type: 'boolean' },
  { name: 'repeat_customers', type: 'integer' },
  { name: 'repeat_rate', type: 'float' },
  { name: 'first_day_revenue_per_customer', type: 'float' },
  { name: 'revenue_per_customer', type: 'float' },
  { name: 'revenue_index', type: 'float' },
];

export function cohortsSelect(b: Builder): Sql {
  const { d, spec } = b;
  if (!b.orders) return emptySelect(b, COHORT_COLUMNS);
  const c = spec.cohorts;
  const orders = d.table(b.orders);
  const horizons = [...new Set(c.horizons)].sort((x, y) => x - y);
  const f = d.id('f');
  const first = c.first_order
    ? sql`SELECT ${d.cast(sql`${f}.${d.id(c.first_order.customer)}`, 'string')} AS k, MIN(${d.cast(sql`${f}.${d.id(c.first_order.date)}`, 'date')}) AS first_day
FROM ${b.context.relation(c.first_order.from)} AS ${f}
WHERE ${f}.${d.id(c.first_order.customer)} IS NOT NULL AND ${f}.${d.id(c.first_order.date)} IS NOT NULL
GROUP BY ${d.cast(sql`${f}.${d.id(c.first_order.customer)}`, 'string')}`
    : sql`SELECT k, MIN(order_day) AS first_day FROM ${orders} GROUP BY k`;
  const start = plus(b, d.dateTrunc('month', b.asOf, 'date'), -(c.months - 1), 'month', 'date');
  const until = (h: number) => plus(b, sql`c.first_day`, h, 'month', 'date');
  const perCustomer = [
    sql`SUM(CASE WHEN o.order_day = c.first_day THEN o.revenue ELSE 0 END) AS revenue_0`,
    ...horizons.flatMap((h) => [
      sql`SUM(CASE WHEN o.order_day <= ${until(h)} THEN o.revenue ELSE 0 END) AS ${d.id(`revenue_${h}`)}`,
      sql`MAX(CASE WHEN o.order_day > c.first_day AND o.order_day <= ${until(h)} THEN 1 ELSE 0 END) AS ${d.id(`repeat_${h}`)}`,
    ]),
  ];
  const perCohort = [
    sql`COUNT(*) AS customers`,
    sql`SUM(revenue_0) AS revenue_0`,
    ...horizons.flatMap((h) => [sql`SUM(${d.id(`revenue_${h}`)}) AS ${d.id(`revenue_${h}`)}`, sql`SUM(${d.id(`repeat_${h}`)}) AS ${d.id(`repeat_${h}`)}`]),
  ];
  const t = d.id('t');
  const rows = horizons.map((h) => {
    // Complete when the cohort's last possible first day plus h months has passed: month start + (h + 1) months − 1 day.
    const complete = sql`${plus(b, sql`${t}.cohort_month`, h + 1, 'month', 'date')} <= ${plus(b, b.asOf, 1, 'day', 'date')}`;
    const when = (value: Sql) => sql`CASE WHEN ${complete} THEN ${value} END`;
    return sql`SELECT ${t}.cohort_month, ${d.cast(sql`${t}.customers`, 'integer')} AS customers, ${d.literal(h)} AS months_after, CASE WHEN ${complete} THEN TRUE ELSE FALSE END AS complete,
  ${when(d.cast(sql`${t}.${d.id(`repeat_${h}`)}`, 'integer'))} AS repeat_customers,
  ${when(ratio(b, sql`${t}.${d.id(`repeat_${h}`)}`, sql`${t}.customers`))} AS repeat_rate,
  ${ratio(b, sql`${t}.revenue_0`, sql`${t}.customers`)} AS first_day_revenue_per_customer,
  ${when(ratio(b, sql`${t}.${d.id(`revenue_${h}`)}`, sql`${t}.customers`))} AS revenue_per_customer,
  ${when(sql`100 * ${ratio(b, sql`${t}.${d.id(`revenue_${h}`)}`, sql`${t}.revenue_0`)}`)} AS revenue_index
FROM ${d.id('cohort_totals')} AS ${t}`;
  });
  return withCtes(
    b,
    [
      { name: 'first_purchases', body: first },
      {
        name: 'cohort_members',
        body: sql`SELECT k, first_day, ${d.dateTrunc('month', sql`first_day`, 'date')} AS cohort_month FROM ${d.id('first_purchases')} WHERE first_day >= ${start} AND first_day <= ${b.asOf}`,
      },
      {
        name: 'cohort_customers',
        body: sql`SELECT c.cohort_month, c.k,
  ${joinSql(perCustomer, sql`,\n  `)}
FROM ${d.id('cohort_members')} AS c
LEFT JOIN ${orders} AS o ON o.k = c.k AND o.order_day >= c.first_day
GROUP BY c.cohort_month, c.k`,
      },
      { name: 'cohort_totals', body: sql`SELECT cohort_month, ${joinSql(perCohort)} FROM ${d.id('cohort_customers')} GROUP BY cohort_month` },
    ],
    unionAll(rows),
  );
}
