import type { Duration } from '../../src/expressions/durations.js';
import { joinSql, Sql, sql, unionAll } from '../../src/dialects/sql.js';
import { emptySelect, float, floatLiteral, matured, periodOf, plusDuration, ratio, windowStart, withCtes, type Builder, type ColumnDef } from './build.js';
import { statusSql } from './kpis.js';
import type { ProgramSpec } from './schema.js';
import { entriesCte } from './uplift.js';

/**
 * Programs group audiences and syncs under one business goal (activation, retention, win-back…), each measured by one
 * KPI, per period and over the reporting window:
 * - `converted_within`: of the entries into the program's audiences outside the holdout, the share with an order in
 *   (entered_at, entered_at + N];
 * - `repeat_within`: of the customers whose first order fell in the period, the share with another order in
 *   (first order, first order + N].
 * Only subjects whose N has passed by the as-of date are counted, so the latest periods are not understated.
 */
export const PROGRAM_COLUMNS: readonly ColumnDef[] = [
  { name: 'program', type: 'string' },
  { name: 'kpi', type: 'string' },
  { name: 'measure', type: 'string' },
  { name: 'within_length', type: 'string' },
  { name: 'audiences', type: 'string' },
  { name: 'syncs', type: 'string' },
  { name: 'period_start', type: 'date' },
  { name: 'base', type: 'integer' },
  { name: 'converted', type: 'integer' },
  { name: 'value', type: 'float' },
  { name: 'good', type: 'float' },
  { name: 'bad', type: 'float' },
  { name: 'status', type: 'string' },
];

export type ProgramMeasure = 'converted_within' | 'repeat_within';

export function programMeasure(p: ProgramSpec): { measure: ProgramMeasure; within: Duration } | undefined {
  if (p.kpi.converted_within) return { measure: 'converted_within', within: p.kpi.converted_within };
  if (p.kpi.repeat_within) return { measure: 'repeat_within', within: p.kpi.repeat_within };
  return undefined;
}

export function durationText(d: Duration): string {
  return `${d.amount} ${d.unit}${d.amount === 1 ? '' : 's'}`;
}

/** The label of a program's KPI: the YAML's, or one written from its measure. */
export function programLabel(p: ProgramSpec): string {
  const m = programMeasure(p);
  if (p.kpi.label) return p.kpi.label;
  if (!m) return 'KPI';
  return m.measure === 'converted_within' ? `entrants who ordered within ${durationText(m.within)}` : `first-time buyers who ordered again within ${durationText(m.within)}`;
}

/** The SELECT of `<name>_programs`; `thresholds` are the programs' good/bad bounds as fractions. */
export function programsSelect(b: Builder, thresholds: ReadonlyMap<string, { good: number | undefined; bad: number | undefined }>): Sql {
  const { d, spec } = b;
  const programs = spec.programs.filter((p) => programMeasure(p) && b.orders && (programMeasure(p)!.measure === 'repeat_within' || spec.memberships));
  if (programs.length === 0 || !b.orders) return emptySelect(b, PROGRAM_COLUMNS);
  const orders = d.table(b.orders);
  const start = windowStart(b);
  const ctes: { name: string; body: Sql }[] = [];
  const subjects: Sql[] = [];
  if (programs.some((p) => programMeasure(p)!.measure === 'converted_within')) ctes.push({ name: 'entries', body: entriesCte(b) });
  if (programs.some((p) => programMeasure(p)!.measure === 'repeat_within')) {
    ctes.push({ name: 'first_orders', body: sql`SELECT k, MIN(ordered_at) AS first_at FROM ${orders} GROUP BY k` });
  }
  programs.forEach((p, i) => {
    const { measure, within } = programMeasure(p)!;
    const name = `program_${i}`;
    if (measure === 'converted_within') {
      const audiences = p.audiences.length ? joinSql(p.audiences.map((a) => d.literal(a))) : d.cast(sql`NULL`, 'string');
      ctes.push({
        name,
        body: sql`SELECT e.k, e.entered_at AS since, MAX(CASE WHEN o.k IS NULL THEN 0 ELSE 1 END) AS converted
FROM ${d.id('entries')} AS e
LEFT JOIN ${orders} AS o ON o.k = e.k AND o.ordered_at > e.entered_at AND o.ordered_at <= ${plusDuration(b, sql`e.entered_at`, within, 'timestamp')}
WHERE e.audience IN (${audiences}) AND e.grp <> ${d.literal(spec.memberships!.holdout)}
  AND ${d.cast(sql`e.entered_at`, 'date')} >= ${start} AND ${matured(b, sql`e.entered_at`, within)}
GROUP BY e.audience, e.k, e.entered_at`,
      });
    } else {
      ctes.push({
        name,
        body: sql`SELECT f.k, f.first_at AS since, MAX(CASE WHEN o.k IS NULL THEN 0 ELSE 1 END) AS converted
FROM ${d.id('first_orders')} AS f
LEFT JOIN ${orders} AS o ON o.k = f.k AND o.ordered_at > f.first_at AND o.ordered_at <= ${plusDuration(b, sql`f.first_at`, within, 'timestamp')}
WHERE ${d.cast(sql`f.first_at`, 'date')} >= ${start} AND ${matured(b, sql`f.first_at`, within)}
GROUP BY f.k, f.first_at`,
      });
    }
    subjects.push(sql`SELECT ${d.literal(p.name)} AS program, ${periodOf(b, d.cast(sql`s.since`, 'date'))} AS period_start, s.converted FROM ${d.id(name)} AS s`);
  });
  const list = programs.map((p) => {
    const { measure, within } = programMeasure(p)!;
    const t = thresholds.get(p.name);
    return sql`SELECT ${d.literal(p.name)} AS program, ${d.literal(programLabel(p))} AS kpi, ${d.literal(measure)} AS measure, ${d.literal(durationText(within))} AS within_length, ${d.literal(p.audiences.join(', '))} AS audiences, ${d.literal(p.syncs.join(', '))} AS syncs, ${floatLiteral(b, t?.good)} AS good, ${floatLiteral(b, t?.bad)} AS bad`;
  });
  ctes.push(
    { name: 'program_list', body: unionAll(list) },
    { name: 'program_subjects', body: unionAll(subjects) },
    {
      name: 'program_counts',
      body: sql`SELECT program, period_start, COUNT(*) AS base, SUM(converted) AS converted FROM ${d.id('program_subjects')} GROUP BY program, period_start
UNION ALL
SELECT program, ${d.cast(sql`NULL`, 'date')} AS period_start, COUNT(*) AS base, SUM(converted) AS converted FROM ${d.id('program_subjects')} GROUP BY program`,
    },
    {
      // Every program has its overall row, even with nobody to measure yet.
      name: 'program_values',
      body: sql`SELECT l.program, l.kpi, l.measure, l.within_length, l.audiences, l.syncs, c.period_start,
  ${d.cast(sql`COALESCE(c.base, 0)`, 'integer')} AS base, ${d.cast(sql`COALESCE(c.converted, 0)`, 'integer')} AS converted,
  ${ratio(b, sql`c.converted`, sql`c.base`)} AS value, l.good, l.bad
FROM ${d.id('program_list')} AS l
LEFT JOIN ${d.id('program_counts')} AS c ON c.program = l.program`,
    },
  );
  return withCtes(
    b,
    ctes,
    sql`SELECT v.program, v.kpi, v.measure, v.within_length, v.audiences, v.syncs, v.period_start, v.base, v.converted, ${float(b, sql`v.value`)} AS value, v.good, v.bad,
  ${statusSql(d, sql`v.value`, sql`v.good`, sql`v.bad`, 'higher')} AS status
FROM ${d.id('program_values')} AS v`,
  );
}
