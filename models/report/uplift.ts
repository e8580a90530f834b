import { joinSql, Sql, sql } from '../../src/dialects/sql.js';
import { emptySelect, float, matured, plusDuration, withCtes, type Builder, type ColumnDef } from './build.js';
import type { MembershipsSpec } from './schema.js';
import { T975_EXPANSION, Z95 } from './stats.js';

/**
 * Holdout uplift. Per audience, each customer's first entry is followed for `window`; conversion is at least one
 * order in (entered_at, entered_at + window], revenue the sum of those orders. Entries whose window has not ended by
 * the as-of date are left out (counted as `pending`): a half-observed window would understate both groups.
 *
 * Every group other than the holdout is compared with the holdout:
 * - conversion: p1 − p0 with Newcombe's hybrid score interval; relative p1/p0 − 1 with the Katz log interval of the
 *   risk ratio;
 * - revenue per customer (zeros included): m1 − m0 with Welch's interval (Welch–Satterthwaite degrees of freedom,
 *   t quantile by a Cornish–Fisher expansion); relative m1/m0 − 1 with a delta-method interval on log(m1/m0).
 * See stats.ts for the same formulas in TypeScript.
 */
export const UPLIFT_COLUMNS: readonly ColumnDef[] = [
  { name: 'audience', type: 'string' },
  { name: 'treated_group', type: 'string' },
  { name: 'window_length', type: 'string' },
  { name: 'first_entry', type: 'timestamp' },
  { name: 'last_entry', type: 'timestamp' },
  { name: 'treated', type: 'integer' },
  { name: 'holdout', type: 'integer' },
  { name: 'pending', type: 'integer' },
  { name: 'treated_converters', type: 'integer' },
  { name: 'holdout_converters', type: 'integer' },
  { name: 'treated_conversion', type: 'float' },
  { name: 'holdout_conversion', type: 'float' },
  { name: 'conversion_uplift', type: 'float' },
  { name: 'conversion_uplift_low', type: 'float' },
  { name: 'conversion_uplift_high', type: 'float' },
  { name: 'conversion_relative', type: 'float' },
  { name: 'conversion_relative_low', type: 'float' },
  { name: 'conversion_relative_high', type: 'float' },
  { name: 'treated_revenue_per_customer', type: 'float' },
  { name: 'holdout_revenue_per_customer', type: 'float' },
  { name: 'revenue_uplift', type: 'float' },
  { name: 'revenue_uplift_low', type: 'float' },
  { name: 'revenue_uplift_high', type: 'float' },
  { name: 'revenue_relative', type: 'float' },
  { name: 'revenue_relative_low', type: 'float' },
  { name: 'revenue_relative_high', type: 'float' },
  { name: 'revenue_df', type: 'float' },
  { name: 'too_small', type: 'boolean' },
  { name: 'conversion_significant', type: 'boolean' },
  { name: 'revenue_significant', type: 'boolean' },
];

/** Column names of the memberships: an audiences model's history has fixed ones. */
export function membershipColumns(m: MembershipsSpec): { audience: string; customer: string; group: string; enteredAt: string } {
  return m.audiences !== undefined
    ? { audience: 'audience', customer: m.customer, group: 'audience_group', enteredAt: 'entered_at' }
    : { audience: m.audience ?? 'audience', customer: m.customer, group: m.group ?? 'audience_group', enteredAt: m.entered_at ?? 'entered_at' };
}

/**
 * The first entry of each customer into each audience (its group and time), from the memberships: audience, k,
 * grp, entered_at. Later stays of the same customer are not new subjects of the experiment.
 */
export function entriesCte(b: Builder, filters: (columns: { readonly audience: Sql; readonly entered: Sql }) => Sql[] = () => []): Sql {
  const m = b.spec.memberships!;
  const { d } = b;
  const c = membershipColumns(m);
  const relation = m.audiences !== undefined ? d.table({ ...b.context.current, name: `${m.audiences}_history` }) : b.context.relation(m.from!);
  const row = d.id('m');
  const col = (name: string) => sql`${row}.${d.id(name)}`;
  const entered = col(c.enteredAt);
  const conditions = [
    sql`${col(c.audience)} IS NOT NULL`,
    sql`${col(c.customer)} IS NOT NULL`,
    sql`${col(c.group)} IS NOT NULL`,
    sql`${entered} IS NOT NULL`,
    sql`${d.cast(entered, 'date')} <= ${b.asOf}`,
    ...filters({ audience: col(c.audience), entered }),
  ];
  return sql`SELECT x.audience, x.k, x.grp, x.entered_at FROM (
  SELECT ${d.cast(col(c.audience), 'string')} AS audience, ${d.cast(col(c.customer), 'string')} AS k, ${d.cast(col(c.group), 'string')} AS grp, ${d.cast(entered, 'timestamp')} AS entered_at,
    ROW_NUMBER() OVER (PARTITION BY ${col(c.audience)}, ${col(c.customer)} ORDER BY ${entered}, ${col(c.group)}) AS rn
  FROM ${relation} AS ${row}
  WHERE ${joinSql(conditions, sql`\n    AND `)}
) AS x
WHERE x.rn = 1`;
}

/** The SELECT of `<name>_uplift`. */
export function upliftSelect(b: Builder): Sql {
  const { d, spec } = b;
  const m = spec.memberships;
  if (!m || !b.orders) return emptySelect(b, UPLIFT_COLUMNS);
  const u = spec.uplift;
  const holdout = d.literal(m.holdout);
  const filters = (columns: { readonly audience: Sql; readonly entered: Sql }): Sql[] => [
    ...(u.since ? [sql`${d.cast(columns.entered, 'date')} >= ${d.dateLiteral(u.since)}`] : []),
    ...(u.audiences ? [sql`${columns.audience} IN (${joinSql(u.audiences.map((a) => d.literal(a)))})`] : []),
  ];
  const end = plusDuration(b, sql`e.entered_at`, u.window, 'timestamp');
  const z = d.literal(Z95);
  const z2 = d.literal(Z95 * Z95);
  const [g1, g2, g3, g4] = T975_EXPANSION.map((g) => d.literal(g)) as [Sql, Sql, Sql, Sql];
  // Wilson score bound of a proportion p over size, below (sign -) or above (sign +).
  const wilson = (p: Sql, size: Sql, sign: Sql) =>
    sql`(${p} + ${z2} / (2 * ${size})) / (1 + ${z2} / ${size}) ${sign} ${z} / (1 + ${z2} / ${size}) * SQRT(${p} * (1 - ${p}) / ${size} + ${z2} / (4 * ${size} * ${size}))`;
  // Σx² − (Σx)²/n can come out a hair below zero when every value is equal: clamp it, a square root follows.
  const variance = (g: Sql) => {
    const sum = sql`${g}.revenue_sq - ${g}.revenue * ${g}.revenue / ${g}.n`;
    return sql`CASE WHEN ${g}.n > 1 THEN CASE WHEN ${sum} > 0 THEN (${sum}) / (${g}.n - 1) ELSE 0 END END`;
  };
  const tQuantile = sql`CASE WHEN w.df IS NULL THEN ${z} ELSE ${z} + ${g1} / w.df + ${g2} / (w.df * w.df) + ${g3} / (w.df * w.df * w.df) + ${g4} / (w.df * w.df * w.df * w.df) END`;
  const ctes = [
    { name: 'entries', body: entriesCte(b, filters) },
    // Only audiences that have a holdout are measured.
    {
      name: 'measured',
      body: sql`SELECT e.*, CASE WHEN ${matured(b, sql`e.entered_at`, u.window)} THEN 1 ELSE 0 END AS complete
FROM ${d.id('entries')} AS e
WHERE e.audience IN (SELECT h.audience FROM ${d.id('entries')} AS h WHERE h.grp = ${holdout})`,
    },
    {
      name: 'outcomes',
      body: sql`SELECT e.audience, e.grp, e.k, e.entered_at, COUNT(o.k) AS orders, COALESCE(SUM(o.revenue), 0) AS revenue
FROM ${d.id('measured')} AS e
LEFT JOIN ${d.table(b.orders)} AS o ON o.k = e.k AND o.ordered_at > e.entered_at AND o.ordered_at <= ${end}
WHERE e.complete = 1
GROUP BY e.audience, e.grp, e.k, e.entered_at`,
    },
    {
      name: 'groups',
      body: sql`SELECT audience, grp, ${float(b, sql`COUNT(*)`)} AS n, ${float(b, sql`SUM(CASE WHEN orders > 0 THEN 1 ELSE 0 END)`)} AS converters,
  SUM(revenue) AS revenue, SUM(revenue * revenue) AS revenue_sq, MIN(entered_at) AS first_entry, MAX(entered_at) AS last_entry
FROM ${d.id('outcomes')}
GROUP BY audience, grp`,
    },
    { name: 'pending', body: sql`SELECT audience, COUNT(*) AS pending FROM ${d.id('measured')} WHERE complete = 0 GROUP BY audience` },
    // Every treated group of a measured audience has its row, even before any window has ended.
    { name: 'pairs', body: sql`SELECT DISTINCT audience, grp AS treated_group FROM ${d.id('measured')} WHERE grp <> ${holdout}` },
    {
      name: 'stats',
      body: sql`SELECT t.audience, t.grp AS treated_group,
  CASE WHEN t.first_entry < h.first_entry THEN t.first_entry ELSE h.first_entry END AS first_entry,
  CASE WHEN t.last_entry > h.last_entry THEN t.last_entry ELSE h.last_entry END AS last_entry,
  t.n AS n1, h.n AS n0, t.converters AS x1, h.converters AS x0,
  t.converters / t.n AS p1, h.converters / h.n AS p0,
  t.revenue / t.n AS m1, h.revenue / h.n AS m0,
  ${variance(sql`t`)} AS v1, ${variance(sql`h`)} AS v0
FROM ${d.id('groups')} AS t
JOIN ${d.id('groups')} AS h ON h.audience = t.audience AND h.grp = ${holdout}
WHERE t.grp <> ${holdout}`,
    },
    {
      name: 'wilson',
      body: sql`SELECT s.*,
  ${wilson(sql`s.p1`, sql`s.n1`, sql`-`)} AS l1,
  ${wilson(sql`s.p1`, sql`s.n1`, sql`+`)} AS u1,
  ${wilson(sql`s.p0`, sql`s.n0`, sql`-`)} AS l0,
  ${wilson(sql`s.p0`, sql`s.n0`, sql`+`)} AS u0,
  s.v1 / s.n1 + s.v0 / s.n0 AS se2,
  CASE WHEN s.v1 / s.n1 + s.v0 / s.n0 > 0
    THEN (s.v1 / s.n1 + s.v0 / s.n0) * (s.v1 / s.n1 + s.v0 / s.n0) / ((s.v1 / s.n1) * (s.v1 / s.n1) / (s.n1 - 1) + (s.v0 / s.n0) * (s.v0 / s.n0) / (s.n0 - 1)) END AS df
FROM ${d.id('stats')} AS s`,
    },
    {
      name: 'intervals',
      body: sql`SELECT w.*,
  w.p1 - w.p0 - SQRT((w.p1 - w.l1) * (w.p1 - w.l1) + (w.u0 - w.p0) * (w.u0 - w.p0)) AS conversion_uplift_low,
  w.p1 - w.p0 + SQRT((w.u1 - w.p1) * (w.u1 - w.p1) + (w.p0 - w.l0) * (w.p0 - w.l0)) AS conversion_uplift_high,
  CASE WHEN w.x1 > 0 AND w.x0 > 0 THEN LN(w.p1 / w.p0) END AS log_rr,
  CASE WHEN w.x1 > 0 AND w.x0 > 0 THEN SQRT(1 / w.x1 - 1 / w.n1 + 1 / w.x0 - 1 / w.n0) END AS log_rr_se,
  w.m1 - w.m0 - ${tQuantile} * SQRT(w.se2) AS revenue_uplift_low,
  w.m1 - w.m0 + ${tQuantile} * SQRT(w.se2) AS revenue_uplift_high,
  CASE WHEN w.m1 > 0 AND w.m0 > 0 THEN LN(w.m1 / w.m0) END AS log_ratio,
  CASE WHEN w.m1 > 0 AND w.m0 > 0 THEN SQRT(w.v1 / (w.n1 * w.m1 * w.m1) + w.v0 / (w.n0 * w.m0 * w.m0)) END AS log_ratio_se
FROM ${d.id('wilson')} AS w`,
    },
  ];
  const minGroup = d.literal(u.min_group);
  const integer = (x: Sql) => d.cast(x, 'integer');
  return withCtes(
    b,
    ctes,
    sql`SELECT g.audience, g.treated_group, ${d.literal(`${u.window.amount} ${u.window.unit}${u.window.amount === 1 ? '' : 's'}`)} AS window_length, i.first_entry, i.last_entry,
  ${integer(sql`COALESCE(i.n1, 0)`)} AS treated, ${integer(sql`COALESCE(i.n0, 0)`)} AS holdout, ${integer(sql`COALESCE(p.pending, 0)`)} AS pending,
  ${integer(sql`COALESCE(i.x1, 0)`)} AS treated_converters, ${integer(sql`COALESCE(i.x0, 0)`)} AS holdout_converters,
  i.p1 AS treated_conversion, i.p0 AS holdout_conversion,
  i.p1 - i.p0 AS conversion_uplift, i.conversion_uplift_low, i.conversion_uplift_high,
  CASE WHEN i.p0 > 0 THEN i.p1 / i.p0 - 1 END AS conversion_relative,
  EXP(i.log_rr - ${z} * i.log_rr_se) - 1 AS conversion_relative_low,
  EXP(i.log_rr + ${z} * i.log_rr_se) - 1 AS conversion_relative_high,
  i.m1 AS treated_revenue_per_customer, i.m0 AS holdout_revenue_per_customer,
  i.m1 - i.m0 AS revenue_uplift, i.revenue_uplift_low, i.revenue_uplift_high,
  CASE WHEN i.m0 > 0 THEN i.m1 / i.m0 - 1 END AS revenue_relative,
  EXP(i.log_ratio - ${z} * i.log_ratio_se) - 1 AS revenue_relative_low,
  EXP(i.log_ratio + ${z} * i.log_ratio_se) - 1 AS revenue_relative_high,
  i.df AS revenue_df,
  CASE WHEN COALESCE(i.n1, 0) < ${minGroup} OR COALESCE(i.n0, 0) < ${minGroup} THEN TRUE ELSE FALSE END AS too_small,
  CASE WHEN i.conversion_uplift_low > 0 OR i.conversion_uplift_high < 0 THEN TRUE ELSE FALSE END AS conversion_significant,
  CASE WHEN i.revenue_uplift_low > 0 OR i.revenue_uplift_high < 0 THEN TRUE ELSE FALSE END AS revenue_significant
FROM ${d.id('pairs')} AS g
LEFT JOIN ${d.id('intervals')} AS i ON i.audience = g.audience AND i.treated_group = g.treated_group
LEFT JOIN ${d.id('pending')} AS p ON p.audience = g.audience`,
  );
}
