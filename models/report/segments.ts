import { Sql, sql } from '../../src/dialects/sql.js';
import type { TableRef } from '../../src/dialects/dialect.js';
import type { CompanionTables } from '../model-kind.js';
import { emptySelect, plusDuration, ratio, withCtes, type Builder, type ColumnDef } from './build.js';

/**
 * Revenue per segment (e.g. RFM) and the migration of customers between segments.
 *
 * Snapshots come from the segments relation itself when it has a snapshot date column (`at`); otherwise the report
 * keeps one snapshot per calendar month in `<name>_snapshots` (the latest build of each month wins; older than `keep`
 * is dropped), so an RFM model that only holds the present still shows migrations.
 *
 * - `<name>_segments`: the latest snapshot's segments with their customers, and the orders and revenue of those
 *   customers over `revenue_period` up to the as-of date.
 * - `<name>_migration`: customers moving from each segment at `from_date` to each segment at `to_date` (NULL: not in
 *   that snapshot). By default `to_date` is the latest snapshot and `from_date` the latest of an earlier month.
 */
export const SEGMENT_COLUMNS: readonly ColumnDef[] = [
  { name: 'snapshot_date', type: 'date' },
  { name: 'segment', type: 'string' },
  { name: 'customers', type: 'integer' },
  { name: 'customer_share', type: 'float' },
  { name: 'orders', type: 'integer' },
  { name: 'revenue', type: 'float' },
  { name: 'revenue_share', type: 'float' },
  { name: 'revenue_per_customer', type: 'float' },
];

export const MIGRATION_COLUMNS: readonly ColumnDef[] = [
  { name: 'from_date', type: 'date' },
  { name: 'to_date', type: 'date' },
  { name: 'from_segment', type: 'string' },
  { name: 'to_segment', type: 'string' },
  { name: 'customers', type: 'integer' },
  { name: 'share', type: 'float' },
];

/** `<name>_snapshots`, kept by the report when the segments relation has no snapshot date. */
export const SNAPSHOT_COLUMNS: readonly ColumnDef[] = [
  { name: 'snapshot_date', type: 'date' },
  { name: 'customer', type: 'string' },
  { name: 'segment', type: 'string' },
];

/**
 * The new `<name>_snapshots`: this build's segments dated as of, plus the previous snapshots of other months within
 * `keep` (when a previous table exists).
 */
export function snapshotsSql(b: Builder, tables: CompanionTables, previous: boolean): Sql {
  const { d } = b;
  const s = b.spec.segments!;
  const r = d.id('r');
  const now = sql`SELECT ${b.asOf} AS snapshot_date, ${d.cast(sql`${r}.${d.id(s.customer)}`, 'string')} AS customer, ${d.cast(sql`${r}.${d.id(s.segment)}`, 'string')} AS segment
FROM ${b.context.relation(s.from)} AS ${r}
WHERE ${r}.${d.id(s.customer)} IS NOT NULL`;
  if (!previous) return d.createTableAs(tables.build, now);
  return d.createTableAs(
    tables.build,
    sql`SELECT p.snapshot_date, p.customer, p.segment
FROM ${d.table(tables.current)} AS p
WHERE ${d.dateTrunc('month', sql`p.snapshot_date`, 'date')} <> ${d.dateTrunc('month', b.asOf, 'date')}
  AND p.snapshot_date > ${plusDuration(b, b.asOf, s.keep, 'date', -1)}
UNION ALL
${now}`,
  );
}

/** Every snapshot row up to the as-of date: snapshot_date, k, segment. */
function snapshotsCte(b: Builder, snapshots: TableRef | undefined): Sql {
  const { d } = b;
  const s = b.spec.segments!;
  if (snapshots) return sql`SELECT snapshot_date, customer AS k, segment FROM ${d.table(snapshots)} WHERE snapshot_date <= ${b.asOf}`;
  const r = d.id('r');
  const at = sql`${r}.${d.id(s.at!)}`;
  return sql`SELECT ${d.cast(at, 'date')} AS snapshot_date, ${d.cast(sql`${r}.${d.id(s.customer)}`, 'string')} AS k, ${d.cast(sql`${r}.${d.id(s.segment)}`, 'string')} AS segment
FROM ${b.context.relation(s.from)} AS ${r}
WHERE ${r}.${d.id(s.customer)} IS NOT NULL AND ${at} IS NOT NULL AND ${d.cast(at, 'date')} <= ${b.asOf}`;
}

/** The SELECT of `<name>_segments`; `snapshots` is the self-kept snapshot table's build, when there is one. */
export function segmentsSelect(b: Builder, snapshots: TableRef | undefined): Sql {
  const { d } = b;
  const s = b.spec.segments;
  if (!s) return emptySelect(b, SEGMENT_COLUMNS);
  const ctes = [
    { name: 'snapshots', body: snapshotsCte(b, snapshots) },
    { name: 'latest', body: sql`SELECT MAX(snapshot_date) AS snapshot_date FROM ${d.id('snapshots')}` },
    { name: 'segment_members', body: sql`SELECT s.snapshot_date, s.k, s.segment FROM ${d.id('snapshots')} AS s JOIN ${d.id('latest')} AS l ON l.snapshot_date = s.snapshot_date` },
  ];
  const orders = b.orders;
  if (orders) {
    ctes.push({
      name: 'customer_revenue',
      body: sql`SELECT k, COUNT(*) AS orders, SUM(revenue) AS revenue FROM ${d.table(orders)}
WHERE order_day > ${plusDuration(b, b.asOf, s.revenue_period, 'date', -1)}
GROUP BY k`,
    });
  }
  const join = orders ? sql`\nLEFT JOIN ${d.id('customer_revenue')} AS r ON r.k = m.k` : Sql.empty;
  const revenue = orders ? sql`SUM(COALESCE(r.revenue, 0))` : d.cast(sql`NULL`, 'float');
  const count = orders ? d.cast(sql`SUM(COALESCE(r.orders, 0))`, 'integer') : d.cast(sql`NULL`, 'integer');
  return withCtes(
    b,
    ctes,
    sql`SELECT m.snapshot_date, m.segment, ${d.cast(sql`COUNT(*)`, 'integer')} AS customers, ${ratio(b, sql`COUNT(*)`, sql`SUM(COUNT(*)) OVER ()`)} AS customer_share,
  ${count} AS orders, ${revenue} AS revenue, ${ratio(b, revenue, sql`SUM(${revenue}) OVER ()`)} AS revenue_share, ${ratio(b, revenue, sql`COUNT(*)`)} AS revenue_per_customer
FROM ${d.id('segment_members')} AS m${join}
GROUP BY m.snapshot_date, m.segment`,
  );
}

/** The SELECT of `<name>_migration`. */
export function migrationSelect(b: Builder, snapshots: TableRef | undefined): Sql {
  const { d } = b;
  const s = b.spec.segments;
  if (!s) return emptySelect(b, MIGRATION_COLUMNS);
  const bounds = s.compare
    ? sql`SELECT ${d.dateLiteral(s.compare[0])} AS from_date, ${d.dateLiteral(s.compare[1])} AS to_date`
    : sql`SELECT MAX(p.snapshot_date) AS from_date, l.to_date
FROM (SELECT MAX(snapshot_date) AS to_date FROM ${d.id('snapshots')}) AS l
LEFT JOIN ${d.id('snapshots')} AS p ON p.snapshot_date < ${d.dateTrunc('month', sql`l.to_date`, 'date')}
GROUP BY l.to_date`;
  return withCtes(
    b,
    [
      { name: 'snapshots', body: snapshotsCte(b, snapshots) },
      { name: 'bounds', body: bounds },
      { name: 'moves_from', body: sql`SELECT s.k, s.segment FROM ${d.id('snapshots')} AS s JOIN ${d.id('bounds')} AS x ON s.snapshot_date = x.from_date` },
      { name: 'moves_to', body: sql`SELECT s.k, s.segment FROM ${d.id('snapshots')} AS s JOIN ${d.id('bounds')} AS x ON s.snapshot_date = x.to_date` },
      {
        name: 'moves',
        body: sql`SELECT f.segment AS from_segment, t.segment AS to_segment FROM ${d.id('moves_from')} AS f FULL OUTER JOIN ${d.id('moves_to')} AS t ON t.k = f.k`,
      },
    ],
    sql`SELECT x.from_date, x.to_date, m.from_segment, m.to_segment, ${d.cast(sql`COUNT(*)`, 'integer')} AS customers,
  ${ratio(b, sql`COUNT(*)`, sql`SUM(COUNT(*)) OVER (PARTITION BY m.from_segment)`)} AS share
FROM ${d.id('moves')} AS m
CROSS JOIN ${d.id('bounds')} AS x
WHERE x.from_date IS NOT NULL AND x.to_date IS NOT NULL
GROUP BY x.from_date, x.to_date, m.from_segment, m.to_segment`,
  );
}
