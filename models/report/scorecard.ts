import type { TableRef } from '../../src/dialects/dialect.js';
import { sql, unionAll, type Sql } from '../../src/dialects/sql.js';
import type { Builder, ColumnDef } from './build.js';

/**
 * The model's own table: the report's headline, one row per figure a reader looks at first — every channel KPI over
 * the whole window and all campaigns, every program's KPI, and each measured uplift — with its status and a
 * `flagged` column for what needs attention (a KPI in its bad range, an uplift too small to conclude), so a BI tool
 * can list the alerts with one filter.
 */
export const SCORECARD_COLUMNS: readonly ColumnDef[] = [
  { name: 'section', type: 'string' },
  { name: 'subject', type: 'string' },
  { name: 'kpi', type: 'string' },
  { name: 'value', type: 'float' },
  { name: 'low', type: 'float' },
  { name: 'high', type: 'float' },
  { name: 'status', type: 'string' },
  { name: 'flagged', type: 'boolean' },
  { name: 'as_of', type: 'date' },
];

export interface SectionTables {
  readonly kpis: TableRef;
  readonly programs: TableRef;
  readonly uplift: TableRef;
}

export function scorecardSelect(b: Builder, t: SectionTables): Sql {
  const { d } = b;
  const nothing = d.cast(sql`NULL`, 'float');
  const flagged = (condition: Sql) => sql`CASE WHEN ${condition} THEN TRUE ELSE FALSE END`;
  // The uplift table's columns, named by the report itself (uplift.ts): each KPI's estimate, its bounds and its flag.
  const upliftStatus = (significant: Sql) =>
    sql`CASE WHEN u.too_small THEN ${d.literal('too_small')} WHEN ${significant} THEN ${d.literal('significant')} ELSE ${d.literal('not_significant')} END`;
  const uplift = (kpi: string, value: Sql, low: Sql, high: Sql, significant: Sql) =>
    sql`SELECT ${d.literal('uplift')} AS section, u.audience || ${d.literal(' / ')} || u.treated_group AS subject, ${d.literal(kpi)} AS kpi,
  ${value} AS value, ${low} AS low, ${high} AS high,
  ${upliftStatus(significant)} AS status, ${flagged(sql`u.too_small`)} AS flagged, ${b.asOf} AS as_of
FROM ${d.table(t.uplift)} AS u`;
  return unionAll(
    [
      sql`SELECT ${d.literal('channel')} AS section, k.channel AS subject, k.kpi, k.value, ${nothing} AS low, ${nothing} AS high, k.status,
  ${flagged(sql`k.status = ${d.literal('bad')}`)} AS flagged, ${b.asOf} AS as_of
FROM ${d.table(t.kpis)} AS k
WHERE k.campaign IS NULL AND k.period_start IS NULL`,
      sql`SELECT ${d.literal('program')} AS section, p.program AS subject, p.kpi, p.value, ${nothing} AS low, ${nothing} AS high, p.status,
  ${flagged(sql`p.status = ${d.literal('bad')}`)} AS flagged, ${b.asOf} AS as_of
FROM ${d.table(t.programs)} AS p
WHERE p.period_start IS NULL`,
      uplift('conversion_uplift', sql`u.conversion_uplift`, sql`u.conversion_uplift_low`, sql`u.conversion_uplift_high`, sql`u.conversion_significant`),
      uplift('revenue_uplift', sql`u.revenue_uplift`, sql`u.revenue_uplift_low`, sql`u.revenue_uplift_high`, sql`u.revenue_significant`),
    ],
  );
}
