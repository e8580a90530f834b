import type { Dialect, TableRef } from '../../src/dialects/dialect.js';
import { Sql, indentSql, joinSql, sql, unionAll } from '../../src/dialects/sql.js';
import type { ModelSummary, SummaryContext } from '../model-kind.js';
import { maskKey, maskValue } from './mask.js';
import type { IdentityPlan } from './plan.js';
import { keyColumn, keyText, withinLimit } from './rules.js';
import { PRIOR, type ScoringPlan } from './scoring.js';
import { col, read, text, type IdentityTables } from './tables.js';
import type { ParameterRow } from './train.js';

/**
 * `<name>_report`: (metric, item, detail, value) rows, what `tideline run` prints after the build.
 *  rows_in / rows_without_id / records_in   per source
 *  customers_out                            customers built
 *  records_linked                           per rule: records whose strongest link is that rule
 *  links / links_set_aside                  per rule: links used, and set aside by a cap
 *  customers_capped                         customers over a cap whose weakest links were set aside
 *  ignored_keys / ignored_key               per rule: keys shared by too many records (count, then the largest ten)
 *  junk_value                               per identifier: junk values met, with the records holding them
 *  largest_customer                         the five customers with most records
 *  rounds                                   rounds of each repeated step
 *  ids_kept / ids_new / ids_retired         customer ids carried over, created, and retired by merges
 *  candidate_pairs                          probabilistic: pairs the blocking rules made
 *  scored_pairs                             probabilistic: per decision (link, review), pairs at or above the review band
 *  parameters_trained                       probabilistic: 1 when this build trained the parameters, 0 when it re-used them
 */
export function reportSelect(d: Dialect, plan: IdentityPlan, t: IdentityTables, scoring?: ScoringPlan): Sql {
  const metric = (name: string) => text(d, name);
  const none = text(d, null);
  const row = (name: string, item: Sql, detail: Sql, value: Sql, from: Sql) =>
    sql`SELECT ${metric(name)} AS ${d.id('metric')}, ${item} AS ${d.id('item')}, ${detail} AS ${d.id('detail')}, ${value} AS ${d.id('value')}\nFROM ${from}`;
  const n = sql`COUNT(*)`;
  const id = (name: string) => d.id(name);
  const g = (name: string) => col(d, 'g', name);
  const ruleKey = sql`CASE ${g('rule')} ${joinSql(
    plan.rules.map((rule) => sql`WHEN ${d.string(rule.name)} THEN ${keyText(d, rule, 'g')}`),
    sql` `,
  )} END`;
  const keyOrder = joinSql(Array.from({ length: Math.max(1, ...plan.rules.map((r) => r.parts.length)) }, (_, i) => g(keyColumn(i))));
  const rows = [
    row('rows_in', id('source'), none, n, sql`${d.table(t.rows)}\nGROUP BY ${id('source')}`),
    row('rows_without_id', id('source'), none, n, sql`${d.table(t.rows)}\nWHERE ${id('rec')} IS NULL\nGROUP BY ${id('source')}`),
    row('records_in', id('source'), none, n, sql`${d.table(t.records)}\nGROUP BY ${id('source')}`),
    row('customers_out', none, none, n, d.table(t.customers)),
    row('records_linked', id('rule'), none, n, sql`${d.table(t.map.build)}\nWHERE ${id('rule')} IS NOT NULL\nGROUP BY ${id('rule')}`),
    row('links', id('rule'), none, n, sql`${d.table(t.links.build)}\nWHERE ${id('used')}\nGROUP BY ${id('rule')}`),
    row('links_set_aside', id('rule'), none, n, sql`${d.table(t.links.build)}\nWHERE NOT ${id('used')}\nGROUP BY ${id('rule')}`),
    row('customers_capped', none, none, sql`COUNT(DISTINCT ${id('customer_id')})`, sql`${d.table(t.links.build)}\nWHERE NOT ${id('used')}`),
    ...(plan.rules.length ? [row('ignored_keys', g('rule'), none, n, sql`${d.table(t.groups)} AS g\nWHERE NOT (${withinLimit(d, plan, 'g')})\nGROUP BY ${g('rule')}`),
    row(
      'ignored_key',
      id('rule'),
      id('matched_on'),
      id('records'),
      sql`(
  SELECT ${g('rule')}, ${ruleKey} AS ${id('matched_on')}, ${g('records')},
    ROW_NUMBER() OVER (PARTITION BY ${g('rule')} ORDER BY ${g('records')} DESC, ${keyOrder}) AS ${id('pick')}
  FROM ${d.table(t.groups)} AS g
  WHERE NOT (${withinLimit(d, plan, 'g')})
) AS ranked
WHERE ${id('pick')} <= 10`,
    )] : []),
    ...(t.scoring && scoring
      ? [
          row('candidate_pairs', none, none, n, d.table(t.scoring.pairs)),
          row('training_not_converged', id('item'), none, id('value'), sql`${d.table(t.scoring.training)}\nWHERE ${id('kind')} = ${d.string('not_converged')}`),
          row('comparison_untrained', id('item'), none, id('value'), sql`${d.table(t.scoring.training)}\nWHERE ${id('kind')} = ${d.string('untrained')}`),
          row('scoring_ignored_values', id('field'), none, n, sql`${d.table(t.scoring.shared)}\nGROUP BY ${id('field')}`),
          row('scored_pairs', id('decision'), none, n, sql`${d.table(t.scoring.scored.build)}\nGROUP BY ${id('decision')}`),
          row(
            'parameters_trained',
            none,
            none,
            n,
            sql`${d.table(t.scoring.params)} AS p\nJOIN ${d.table(t.scoring.started)} AS s ON ${col(d, 'p', 'trained_at')} >= ${col(d, 's', 'started_at')}\nWHERE ${col(d, 'p', 'comparison')} = ${d.string(PRIOR)}`,
          ),
        ]
      : []),
    // Qualified: BigQuery resolves a bare `value` in GROUP BY to the select list's `value` (the count), not the column.
    row(
      'junk_value',
      col(d, 'v', 'field'),
      col(d, 'v', 'value'),
      sql`COUNT(DISTINCT ${col(d, 'v', 'rec')})`,
      sql`${d.table(t.values)} AS v\nWHERE ${col(d, 'v', 'junk')}\nGROUP BY ${col(d, 'v', 'field')}, ${col(d, 'v', 'value')}`,
    ),
    row(
      'largest_customer',
      id('customer_id'),
      none,
      id('records'),
      sql`(
  SELECT ${id('customer_id')}, ${id('records')}, ROW_NUMBER() OVER (ORDER BY ${id('records')} DESC, ${id('customer_id')}) AS ${id('pick')}
  FROM ${d.table(t.golden)}
) AS ranked
WHERE ${id('pick')} <= 5 AND ${id('records')} > 1`,
    ),
    row('rounds', id('phase'), none, n, sql`${d.table(t.rounds)}\nGROUP BY ${id('phase')}`),
    row('ids_kept', none, none, n, sql`${d.table(t.customers)}\nWHERE ${id('origin')} = ${d.string('kept')}`),
    row('ids_new', none, none, n, sql`${d.table(t.customers)}\nWHERE ${id('origin')} = ${d.string('new')}`),
    row(
      'ids_retired',
      none,
      none,
      sql`COUNT(DISTINCT ${col(d, 'p', 'customer_id')})`,
      sql`${d.table(t.prev)} AS p
WHERE NOT EXISTS (SELECT 1 FROM ${d.table(t.customers)} AS c WHERE ${col(d, 'c', 'customer_id')} = ${col(d, 'p', 'customer_id')})`,
    ),
  ];
  return sql`SELECT * FROM (\n${indentSql(unionAll(rows))}\n) AS report`;
}

/** One report row as read back. */
interface ReportRow {
  readonly metric: string;
  readonly item: string | null;
  readonly detail: string | null;
  readonly value: number;
}

/** Reads the report and says it in sentences; values that could be personal data are masked. */
export async function summariseReport(plan: IdentityPlan, context: SummaryContext, scoring?: ScoringPlan): Promise<ModelSummary> {
  const d = context.dialect;
  const table = context.companion('report');
  const raw = await context.io.query(sql`SELECT ${d.id('metric')}, ${d.id('item')}, ${d.id('detail')}, ${d.id('value')} FROM ${d.table(table)}`);
  const field = read;
  const rows: ReportRow[] = raw.map((r) => ({
    metric: String(field(r, 'metric')),
    item: field(r, 'item') === null ? null : String(field(r, 'item')),
    detail: field(r, 'detail') === null ? null : String(field(r, 'detail')),
    value: Number(field(r, 'value')),
  }));
  const of = (metric: string) => rows.filter((r) => r.metric === metric).sort((a, b) => b.value - a.value || String(a.item).localeCompare(String(b.item)));
  const total = (metric: string) => of(metric).reduce((sum, r) => sum + r.value, 0);
  const count = (value: number) => value.toLocaleString('en-US');
  const perItem = (metric: string) => Object.fromEntries(of(metric).map((r) => [r.item ?? '', r.value]));
  const typesOfRule = new Map(plan.rules.map((rule) => [rule.name, rule.parts.map((p) => plan.identifiers.get(p.identifier)?.type)]));

  const recordsIn = total('records_in');
  const customers = total('customers_out');
  const lines: string[] = [];
  const bySource = of('records_in')
    .map((r) => `${r.item} ${count(r.value)}`)
    .join(', ');
  lines.push(`${context.name}: ${count(recordsIn)} records (${bySource}) became ${count(customers)} customers; ${count(recordsIn - customers)} records were merged into another.`);
  const withoutId = of('rows_without_id');
  if (withoutId.length) lines.push(`Left out for lack of an id: ${withoutId.map((r) => `${count(r.value)} rows of ${r.item}`).join(', ')}.`);
  const linked = of('records_linked');
  if (linked.length) lines.push(`Linked by rule: ${linked.map((r) => `${r.item} ${count(r.value)} records`).join(', ')}.`);
  const ignored = of('ignored_keys');
  if (ignored.length) {
    const examples = of('ignored_key')
      .slice(0, 3)
      .map((r) => `${r.item} ${maskKey(typesOfRule.get(r.item ?? '') ?? [], r.detail ?? '')} (${count(r.value)} records)`);
    lines.push(`Ignored ${count(total('ignored_keys'))} values shared by too many records, e.g. ${examples.join(', ')}.`);
  }
  const notConverged = of('training_not_converged');
  if (notConverged.length)
    lines.push(`Training did not converge within ${scoring?.maxIterations ?? ''} iterations for the pairs blocked on ${notConverged.map((r) => r.item).join(', ')}: raise probabilistic.max_iterations, or check those blocks.`);
  const untrained = of('comparison_untrained');
  if (untrained.length)
    lines.push(`Not trained, no training block compares them with matches the majority of its pairs: ${untrained.map((r) => r.item).join(', ')} — their m is a starting guess; add a blocking rule without them.`);
  const shared = of('scoring_ignored_values');
  if (shared.length) lines.push(`Scoring ignored values shared by more than ${scoring?.maxRecordsPerValue ?? 'the limit of'} records: ${shared.map((r) => `${count(r.value)} of ${r.item}`).join(', ')}.`);
  const junk = of('junk_value');
  if (junk.length)
    lines.push(`Junk values dropped: ${junk.map((r) => `${r.item} ${maskValue(plan.identifiers.get(r.item ?? '')?.type, r.detail ?? '')} (${count(r.value)} records)`).join(', ')}.`);
  const capped = total('customers_capped');
  if (capped) lines.push(`${count(capped)} customers were over a cap of distinct values: ${count(total('links_set_aside'))} of their weakest links were set aside.`);
  const largest = of('largest_customer')[0];
  if (largest) lines.push(`Largest customer: ${count(largest.value)} records (${largest.item}).`);
  lines.push(`Customer ids: ${count(total('ids_kept'))} kept from the previous build, ${count(total('ids_new'))} new, ${count(total('ids_retired'))} retired by merges.`);
  const probabilistic = scoring ? await probabilisticSummary(context, scoring, { total, perItem, count }) : undefined;
  if (probabilistic) lines.push(...probabilistic.lines);

  return {
    lines,
    data: {
      records_in: perItem('records_in'),
      rows_without_id: perItem('rows_without_id'),
      customers: customers,
      records_linked: perItem('records_linked'),
      links: perItem('links'),
      links_set_aside: perItem('links_set_aside'),
      customers_capped: capped,
      ignored_keys: perItem('ignored_keys'),
      junk_values: junk.length,
      largest_customer: largest?.value ?? 1,
      identity_rounds: perItem('rounds'),
      ids: { kept: total('ids_kept'), new: total('ids_new'), retired: total('ids_retired') },
      ...(probabilistic ? { probabilistic: probabilistic.data } : {}),
    },
  };
}

/** A row of `<name>_parameters` as read back: what training wrote, and when. */
export interface ParameterReading extends ParameterRow {
  readonly trainedAt: string | null;
}

/** The rows of a `<name>_parameters` table: the prior first, then each comparison's levels strongest first. */
export async function readParameters(io: Pick<SummaryContext['io'], 'query' | 'dialect'>, table: TableRef, scoring: ScoringPlan): Promise<ParameterReading[]> {
  const d = io.dialect;
  const raw = await io.query(sql`SELECT * FROM ${d.table(table)}`);
  const field = read;
  const order = new Map([PRIOR, ...scoring.comparisons.map((c) => c.identifier)].map((name, i) => [name, i]));
  const at = (v: unknown) => (v === null ? null : v instanceof Date ? v.toISOString() : String(v));
  return raw
    .map((r) => ({
      comparison: String(field(r, 'comparison')),
      gamma: Number(field(r, 'gamma')),
      label: String(field(r, 'label')),
      m: Number(field(r, 'm')),
      u: Number(field(r, 'u')),
      weight: Number(field(r, 'weight')),
      trainedAt: at(field(r, 'trained_at')),
    }))
    .sort((a, b) => (order.get(a.comparison) ?? order.size) - (order.get(b.comparison) ?? order.size) || a.comparison.localeCompare(b.comparison) || b.gamma - a.gamma);
}

/** A log2 weight as printed: signed, one decimal (`+7.4`, `-3.1`, `0.0`). */
export function signedWeight(w: number): string {
  if (!Number.isFinite(w)) return w > 0 ? '+∞' : '-∞';
  const shown = w.toFixed(1);
  return shown === '0.0' || shown === '-0.0' ? '0.0' : w > 0 ? `+${shown}` : shown;
}

/** The prior as "1 in N pairs" (of records drawn at random). */
export function oneIn(prior: number): string {
  return prior > 0 ? `1 in ${Math.round(1 / prior).toLocaleString('en-US')} pairs` : 'no pairs';
}

/** A probability as a percentage with the digits that tell it from 100% (`99.87%`, `99.9991%`). */
export function percent(p: number): string {
  if (p >= 1) return '100%';
  for (let digits = 2; digits <= 6; digits++) {
    const shown = (p * 100).toFixed(digits);
    if (Number(shown) < 100) return `${shown.replace(/\.?0+$/, '')}%`;
  }
  return '> 99.9999%';
}

/**
 * The probabilistic lines of the run report: the prior, candidate pairs, links and review pairs, whether the
 * parameters were trained by this build or re-used, and per comparison the weight of its strongest level and of
 * `else` — read from the report's metrics and the visible `<name>_parameters`.
 */
async function probabilisticSummary(
  context: SummaryContext,
  scoring: ScoringPlan,
  report: { total(metric: string): number; perItem(metric: string): Record<string, number>; count(value: number): string },
): Promise<{ lines: string[]; data: Record<string, unknown> }> {
  const { total, perItem, count } = report;
  const parameters = await readParameters(context.io, context.companion('parameters'), scoring);
  const prior = parameters.find((p) => p.comparison === PRIOR);
  const decisions = perItem('scored_pairs');
  const trained = total('parameters_trained') > 0;
  const pairs = context.companion('pairs').name;
  const lines = [
    `Probabilistic: prior ${prior ? oneIn(prior.m) : 'unknown'}; ${count(total('candidate_pairs'))} candidate pairs, ${count(decisions['link'] ?? 0)} linked (probability ≥ ${percent(scoring.threshold)}), ${count(decisions['review'] ?? 0)} in the review band (≥ ${percent(scoring.review)}, in ${pairs}).`,
    trained
      ? `Parameters trained by this build${prior?.trainedAt ? ` at ${prior.trainedAt}` : ''}.`
      : `Parameters re-used from ${prior?.trainedAt ? `the training of ${prior.trainedAt}` : 'a previous build'} (tideline identity train retrains them).`,
  ];
  const comparisons = scoring.comparisons.map((c) => {
    const levels = parameters.filter((p) => p.comparison === c.identifier);
    const strongest = levels.filter((p) => p.gamma > 0).sort((a, b) => b.gamma - a.gamma)[0];
    const otherwise = levels.find((p) => p.gamma === 0);
    return { comparison: c.identifier, strongest, otherwise };
  });
  if (comparisons.length)
    lines.push(
      `Weights (strongest level / else): ${comparisons
        .map((c) => `${c.comparison} ${c.strongest ? `${c.strongest.label} ${signedWeight(c.strongest.weight)}` : '?'} / ${c.otherwise ? signedWeight(c.otherwise.weight) : '?'}`)
        .join(', ')}.`,
    );
  return {
    lines,
    data: {
      prior: prior?.m ?? null,
      candidate_pairs: total('candidate_pairs'),
      links: decisions['link'] ?? 0,
      review: decisions['review'] ?? 0,
      parameters_trained: trained,
      trained_at: prior?.trainedAt ?? null,
      parameters: parameters.map((p) => ({ comparison: p.comparison, gamma: p.gamma, level: p.label, m: p.m, u: p.u, weight: p.weight })),
    },
  };
}
