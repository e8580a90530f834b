import { indentSql, joinSql, sql } from '../../src/dialects/sql.js';
import { analyseOrders, customerIdType, keptOrdersSql, ORDER_COLUMNS, ordersInputs } from '../customers/orders.js';
import { analyseAsOf, asOfSql } from '../../src/expressions/as-of.js';
import { countsBy } from '../customers/kind.js';
import { defineModelKind, type ModelSummary, type OutputColumn } from '../model-kind.js';
import { rfmSchema, type RfmSpec } from './schema.js';
import { periodStart, scoreSql, scoringProblems, segmentsOf, segmentSql } from './scoring.js';
import { segmentMapProblems } from './segments.js';

export const RFM_OUTPUTS: readonly OutputColumn[] = [
  { name: 'recency_days', type: 'integer' },
  { name: 'frequency', type: 'integer' },
  { name: 'monetary', type: 'decimal' },
  { name: 'r_score', type: 'integer' },
  { name: 'f_score', type: 'integer' },
  { name: 'm_score', type: 'integer' },
  { name: 'rfm_cell', type: 'integer' },
  { name: 'segment', type: 'string' },
];

export const rfm = defineModelKind<RfmSpec>({
  kind: 'rfm',
  summary: 'Recency, frequency and monetary scores (quintiles or thresholds) and a segment from a segment map',
  schema: rfmSchema,

  inputs(spec) {
    return [ordersInputs(spec.orders, ['orders'])];
  },

  analyse(spec, context) {
    analyseOrders(spec.orders, ['orders'], context);
    analyseAsOf(spec.as_of, ['as_of'], context);
    for (const p of scoringProblems(spec)) context.problem(p.at, p.message, p.code);
    if (spec.segments !== 'default') for (const p of segmentMapProblems(spec.segments, ['segments'])) context.problem(p.at, p.message, p.code);
    return [customerIdType(context, spec.orders), ...RFM_OUTPUTS];
  },

  plan(spec, context) {
    const d = context.dialect;
    const c = (name: keyof typeof ORDER_COLUMNS) => d.id(ORDER_COLUMNS[name]);
    const asOf = asOfSql(d, spec.as_of, context.vars);
    const since = periodStart(d, spec, asOf);
    const kept = keptOrdersSql(d, context, spec.orders, asOf, since ? { since } : {});
    const count = spec.orders.grain === 'line' ? sql`COUNT(DISTINCT ${c('order')})` : sql`COUNT(${c('order')})`;
    const monetary = spec.monetary === 'average' ? sql`CAST(SUM(${c('amount')}) / ${count} AS ${d.type('decimal')})` : sql`SUM(${c('amount')})`;
    const id = d.id('customer_id');
    const tie = d.id('__tl_tie');
    const totals = sql`SELECT
  ${c('customer')} AS ${id},
  ${d.dateDiff('day', sql`MAX(${c('date')})`, asOf)} AS ${d.id('recency_days')},
  ${count} AS ${d.id('frequency')},
  ${monetary} AS ${d.id('monetary')},
  ${d.hashToUint32(d.cast(c('customer'), 'string'))} AS ${tie}
FROM kept
GROUP BY ${c('customer')}`;
    const scores = scoreSql(d, spec, { recency: d.id('recency_days'), frequency: d.id('frequency'), monetary: d.id('monetary'), customer: id, tie });
    const columns = ['customer_id', 'recency_days', 'frequency', 'monetary'].map((n) => d.id(n));
    const scored = sql`SELECT ${joinSql(columns)},
  ${scores.r} AS ${d.id('r_score')},
  ${scores.f} AS ${d.id('f_score')},
  ${scores.m} AS ${d.id('m_score')}
FROM totals`;
    const [r, f, m] = [d.id('r_score'), d.id('f_score'), d.id('m_score')];
    const select = sql`WITH kept AS (
${indentSql(kept)}
),
totals AS (
${indentSql(totals)}
),
scored AS (
${indentSql(scored)}
)
SELECT ${joinSql([...columns, r, f, m])},
  ${r} * 100 + ${f} * 10 + ${m} AS ${d.id('rfm_cell')},
  ${segmentSql(d, segmentsOf(spec), r, f)} AS ${d.id('segment')}
FROM scored`;
    return { steps: [{ kind: 'sql', label: 'build', sql: d.createTableAs(context.output, select) }] };
  },

  async summarise(_spec, context): Promise<ModelSummary> {
    return countsBy(context, 'segment', 'segments');
  },
});
