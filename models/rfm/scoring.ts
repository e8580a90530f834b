import type { Dialect } from '../../src/dialects/dialect.js';
import { Sql, joinSql, sql } from '../../src/dialects/sql.js';
import type { RfmBlock, SegmentSpec } from './schema.js';
import { DEFAULT_SEGMENTS, expandScores } from './segments.js';

/** The per-customer figures scores are computed from, as expressions over the relation being scored. */
export interface RfmMeasures {
  readonly recency: Sql;
  readonly frequency: Sql;
  readonly monetary: Sql;
  /** The customer id: the last tie-breaker. */
  readonly customer: Sql;
  /** A portable hash of the customer id: the first tie-breaker, so ties do not favour low ids. */
  readonly tie: Sql;
  /** TRUE for customers with orders in the period; others get no score. Undefined when every row is rated. */
  readonly rated?: Sql;
}

/** The first day excluded from the reference period (orders must be strictly later), or undefined for all history. */
export function periodStart(d: Dialect, block: RfmBlock, asOf: Sql): Sql | undefined {
  if (!block.period) return undefined;
  return 'months' in block.period ? d.dateAdd(asOf, d.literal(-block.period.months), 'month', 'date') : d.dateAdd(asOf, d.literal(-block.period.days), 'day', 'date');
}

/** r, f and m score expressions (1–5). Quintiles are NTILE(5) over a total order, so ties are broken the same way on every run. */
export function scoreSql(d: Dialect, block: RfmBlock, m: RfmMeasures): { r: Sql; f: Sql; m: Sql } {
  const { scoring } = block;
  if (scoring.method === 'thresholds') {
    const [r1, r2, r3, r4] = scoring.recency_days!.map((v) => d.literal(v));
    const upTo = (value: Sql, cuts: readonly number[]) => {
      const [c1, c2, c3, c4] = cuts.map((v) => d.literal(v));
      return sql`CASE WHEN ${value} >= ${c4!} THEN 5 WHEN ${value} >= ${c3!} THEN 4 WHEN ${value} >= ${c2!} THEN 3 WHEN ${value} >= ${c1!} THEN 2 ELSE 1 END`;
    };
    const guard = (score: Sql) => (m.rated ? sql`CASE WHEN ${m.rated} THEN ${score} END` : score);
    return {
      r: guard(sql`CASE WHEN ${m.recency} <= ${r1!} THEN 5 WHEN ${m.recency} <= ${r2!} THEN 4 WHEN ${m.recency} <= ${r3!} THEN 3 WHEN ${m.recency} <= ${r4!} THEN 2 ELSE 1 END`),
      f: guard(upTo(m.frequency, scoring.frequency!)),
      m: guard(upTo(m.monetary, scoring.monetary!)),
    };
  }
  const ntile = (value: Sql, direction: Sql) => {
    const partition = m.rated ? sql`PARTITION BY ${m.rated} ` : Sql.empty;
    const window = sql`NTILE(5) OVER (${partition}ORDER BY ${value} ${direction}, ${m.tie}, ${m.customer})`;
    return m.rated ? sql`CASE WHEN ${m.rated} THEN ${window} END` : window;
  };
  // The most recent customers (fewest days) get 5; the most frequent and the biggest spenders get 5.
  return { r: ntile(m.recency, sql`DESC`), f: ntile(m.frequency, sql`ASC`), m: ntile(m.monetary, sql`ASC`) };
}

export function segmentsOf(block: RfmBlock): readonly SegmentSpec[] {
  return block.segments === 'default' ? DEFAULT_SEGMENTS : block.segments;
}

/** The segment label from the r and f scores; NULL when unscored. */
export function segmentSql(d: Dialect, segments: readonly SegmentSpec[], r: Sql, f: Sql): Sql {
  const cases = segments.map((s) => {
    const rs = joinSql(expandScores(s.r).map((v) => d.literal(v)));
    const fs = joinSql(expandScores(s.f).map((v) => d.literal(v)));
    return sql`WHEN ${r} IN (${rs}) AND ${f} IN (${fs}) THEN ${d.string(s.name)}`;
  });
  return sql`CASE ${joinSql(cases, sql` `)} END`;
}

/** Threshold problems: missing cut points for the `thresholds` method, or cut points not strictly ascending. */
export function scoringProblems(block: RfmBlock): { at: (string | number)[]; message: string; code: string }[] {
  const problems: { at: (string | number)[]; message: string; code: string }[] = [];
  const { scoring } = block;
  for (const axis of ['recency_days', 'frequency', 'monetary'] as const) {
    const cuts = scoring[axis];
    if (scoring.method === 'thresholds' && cuts === undefined)
      problems.push({ at: ['scoring'], message: `the thresholds method needs four cut points for ${axis}`, code: 'missing-thresholds' });
    if (scoring.method === 'quintiles' && cuts !== undefined)
      problems.push({ at: ['scoring', axis], message: `cut points are used only with \`method: thresholds\`; quintiles are computed from the data`, code: 'unused-thresholds' });
    cuts?.forEach((v, i) => {
      if (i > 0 && !(v > cuts[i - 1]!))
        problems.push({ at: ['scoring', axis, i], message: `cut points must be strictly ascending: ${v} comes after ${cuts[i - 1]}`, code: 'bad-threshold-order' });
    });
  }
  return problems;
}
