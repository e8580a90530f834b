import type { Dialect, TableRef } from '../../src/dialects/dialect.js';
import { joinSql, sql, unionAll, type Sql } from '../../src/dialects/sql.js';
import type { HostIO, Step } from '../model-kind.js';
import { train, type TrainedModel, type TrainingInput } from './em.js';
import { PRIOR, levelLabelSql, patternsSelect, randomPatternsSelect, sampleSize, type ScoringPlan, type ScoringTables } from './scoring.js';
import { col, emptySelect, read, text } from './tables.js';

/** Columns of `<name>_parameters`. */
export const PARAMETER_COLUMNS = [
  ['comparison', 'string'],
  ['gamma', 'integer'],
  ['label', 'string'],
  ['m', 'float'],
  ['u', 'float'],
  ['weight', 'float'],
  ['fingerprint', 'string'],
  ['trained_at', 'timestamp'],
] as const;

export interface ParameterRow {
  readonly comparison: string;
  readonly gamma: number;
  readonly label: string;
  readonly m: number;
  /** For the prior row: the smallest u, used as the floor of term frequencies. */
  readonly u: number;
  readonly weight: number;
}

/** The label of the carry step keeping trained parameters: `tideline identity train` runs it fresh. */
export const PARAMETERS_CARRY = 'trained parameters';

/**
 * Parameters are trained once and re-used: a `carry` step copies the previous build's rows whose fingerprint (the
 * comparisons, blocking rules, sources and identifiers: everything training depends on) is this build's — none on a
 * first build, a `--full-refresh`, or `tideline identity train`, which runs this step fresh. The host step then trains
 * only when nothing was carried, from two queries of counts, and writes the parameters; the new ones are swapped in
 * with the rest of the build, or not at all.
 */
export function trainingSteps(d: Dialect, plan: ScoringPlan, t: ScoringTables): Step[] {
  const columns = joinSql(PARAMETER_COLUMNS.map(([name]) => d.id(name)));
  return [
    {
      kind: 'carry',
      label: PARAMETERS_CARRY,
      from: t.previousParams,
      columns: PARAMETER_COLUMNS.map(([name]) => name),
      carried: d.createTableAs(t.carriedParams, sql`SELECT ${columns} FROM ${d.table(t.previousParams)} WHERE ${d.id('fingerprint')} = ${d.string(plan.fingerprint)}`),
      fresh: d.createTableAs(t.carriedParams, emptySelect(d, PARAMETER_COLUMNS)),
    },
    {
      kind: 'host',
      label: 'probabilistic parameters',
      describe: [
        `Copies ${d.table(t.carriedParams).text} into ${d.table(t.params).text} when it has rows; otherwise reads two tables of`,
        `counts — the level patterns of the pairs of ${sampleSize(plan)} records drawn by hash, and those of the candidate pairs in`,
        `${d.table(t.gammas).text} — estimates m and the prior by expectation-maximisation per blocking rule and u from the`,
        `random pairs that are not matches (models/identity/em.ts), and writes them into ${d.table(t.params).text}. The queries:`,
        randomPatternsSelect(d, plan, t).text,
        patternsSelect(d, plan, t).text,
      ].join('\n'),
      run: async (io) => {
        const [carried] = await io.query(sql`SELECT COUNT(*) AS ${d.id('n')} FROM ${d.table(t.carriedParams)}`);
        if (Number(Object.values(carried ?? {})[0] ?? 0) > 0) {
          await io.execute(d.createTableAs(t.params, sql`SELECT ${columns} FROM ${d.table(t.carriedParams)}`));
          await io.execute(d.createTableAs(t.training, emptySelect(d, TRAINING_COLUMNS)));
          return;
        }
        const model = train(await trainingInput(io, plan, t));
        await io.execute(d.createTableAs(t.params, parametersSelect(d, plan, parameterRows(plan, model), new Date())));
        await io.execute(d.createTableAs(t.training, trainingSelect(d, model)));
      },
    },
  ];
}

const TRAINING_COLUMNS = [
  ['kind', 'string'],
  ['item', 'string'],
  ['value', 'integer'],
] as const;

/**
 * What the report says about training: blocks whose EM did not converge within `max_iterations` (with the iterations
 * run), and comparisons no counted block trained (every rule blocks on them, or the blocks comparing them are mostly
 * non-matches), whose m stayed at its starting guess.
 */
function trainingSelect(d: Dialect, model: TrainedModel): Sql {
  const rows = [
    ...model.sessions.filter((s) => !s.converged).map((s) => ['not_converged', s.rule, s.iterations] as const),
    ...model.untrained.map((name) => ['untrained', name, 0] as const),
  ];
  if (!rows.length) return emptySelect(d, TRAINING_COLUMNS);
  return unionAll(
    rows.map(([kind, item, value]) => sql`SELECT ${text(d, kind)} AS ${d.id('kind')}, ${text(d, item)} AS ${d.id('item')}, ${d.cast(d.literal(value), 'integer')} AS ${d.id('value')}`),
  );
}

export async function trainingInput(io: HostIO, plan: ScoringPlan, t: ScoringTables): Promise<TrainingInput> {
  const d = io.dialect;
  const [count] = await io.query(sql`SELECT COUNT(*) AS ${d.id('n')} FROM ${d.table(t.wide)}`);
  const random = (await io.query(randomPatternsSelect(d, plan, t))).map((row) => ({
    gammas: plan.comparisons.map((c) => Number(read(row, `g${c.index}`))),
    pairs: Number(read(row, 'pairs')),
  }));
  const patterns = (await io.query(patternsSelect(d, plan, t))).map((row) => ({
    gammas: plan.comparisons.map((c) => Number(read(row, `g${c.index}`))),
    flags: plan.blocking.map((b) => Number(read(row, `f${b.index}`))),
    pairs: Number(read(row, 'pairs')),
  }));
  // In a fixed order, so that training does not depend on the order the warehouse returned the rows in.
  const byGammas = (a: { gammas: readonly number[]; flags?: readonly number[] }, b: { gammas: readonly number[]; flags?: readonly number[] }) =>
    [...a.gammas, ...(a.flags ?? [])].join(',').localeCompare([...b.gammas, ...(b.flags ?? [])].join(','));
  random.sort(byGammas);
  patterns.sort(byGammas);
  const compared = new Set(plan.comparisons.map((c) => c.identifier));
  return {
    comparisons: plan.comparisons.map((c) => ({ name: c.identifier, gammas: c.levels.map((l) => l.gamma), exact: c.levels.find((l) => l.kind === 'exact')?.gamma })),
    blocking: plan.blocking.map((b) => ({
      name: b.name,
      exact: b.parts.filter((p) => !p.prefix && compared.has(p.identifier)).map((p) => p.identifier),
      prefix: b.parts.filter((p) => p.prefix && compared.has(p.identifier)).map((p) => p.identifier),
    })),
    records: Number(Object.values(count ?? {})[0] ?? 0),
    random,
    patterns,
    maxIterations: plan.maxIterations,
  };
}

export function parameterRows(plan: ScoringPlan, model: TrainedModel): ParameterRow[] {
  const rows: ParameterRow[] = [{ comparison: PRIOR, gamma: 0, label: 'prior', m: model.prior, u: model.uFloor, weight: Math.log2(model.prior / (1 - model.prior)) }];
  for (const c of plan.comparisons) {
    for (const level of model.comparisons.get(c.identifier) ?? []) {
      const label = level.gamma === 0 ? 'else' : c.levels.find((l) => l.gamma === level.gamma)!.label;
      rows.push({ comparison: c.identifier, gamma: level.gamma, label, m: level.m, u: level.u, weight: Math.log2(level.m / level.u) });
    }
  }
  const bad = rows.find((r) => ![r.m, r.u, r.weight].every(Number.isFinite));
  if (bad) throw new Error(`training gave a non-finite parameter for ${bad.comparison} (${bad.label}): m ${bad.m}, u ${bad.u}`);
  return rows;
}

function parametersSelect(d: Dialect, plan: ScoringPlan, rows: readonly ParameterRow[], at: Date): Sql {
  const f = (x: number) => d.cast(d.literal(x), 'float');
  return unionAll(
    rows.map(
      (r) => sql`SELECT ${text(d, r.comparison)} AS ${d.id('comparison')}, ${d.cast(d.literal(r.gamma), 'integer')} AS ${d.id('gamma')}, ${text(d, r.label)} AS ${d.id('label')},
  ${f(r.m)} AS ${d.id('m')}, ${f(r.u)} AS ${d.id('u')}, ${f(r.weight)} AS ${d.id('weight')}, ${text(d, plan.fingerprint)} AS ${d.id('fingerprint')}, ${d.timestampLiteral(at)} AS ${d.id('trained_at')}`,
    ),
  );
}

/**
 * `<name>_pairs`: every scored pair at or above the review band, as source records, with its weight, probability,
 * decision (`link` at or above the threshold, `review` below) and each comparison's level and weight — the waterfall
 * `identity explain` prints.
 */
export function scoredPairsSelect(d: Dialect, plan: ScoringPlan, scores: TableRef, records: TableRef): Sql {
  const s = (name: string) => col(d, 's', name);
  const per = plan.comparisons.flatMap((c) => [
    sql`${levelLabelSql(d, c, s(`g${c.index}`))} AS ${d.id(`${c.identifier}_level`)}`,
    sql`${s(`w${c.index}`)} AS ${d.id(`${c.identifier}_weight`)}`,
  ]);
  return sql`SELECT ${col(d, 'ra', 'source')}, ${col(d, 'ra', 'source_id')}, ${col(d, 'rb', 'source')} AS ${d.id('linked_source')}, ${col(d, 'rb', 'source_id')} AS ${d.id('linked_source_id')},
  ${s('weight')} AS ${d.id('match_weight')}, ${s('probability')} AS ${d.id('match_probability')},
  CASE WHEN ${s('probability')} >= ${d.literal(plan.threshold)} THEN ${d.string('link')} ELSE ${d.string('review')} END AS ${d.id('decision')},
  ${s('prior')} AS ${d.id('prior_weight')}, ${joinSql(per)}
FROM ${d.table(scores)} AS s
JOIN ${d.table(records)} AS ra ON ${col(d, 'ra', 'rec')} = ${s('a')}
JOIN ${d.table(records)} AS rb ON ${col(d, 'rb', 'rec')} = ${s('b')}`;
}
