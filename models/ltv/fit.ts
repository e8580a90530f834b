import type { Dialect, TableRef } from '../../src/dialects/dialect.js';
import { Sql, joinSql, sql, unionAll } from '../../src/dialects/sql.js';
import type { HostIO } from '../model-kind.js';
import { fitBgNbd, scorer, type BgNbdParams, type FitReport, type RfmGroup } from './bgnbd.js';
import { fitGammaGamma, type GammaGammaParams, type SpendGroup } from './gamma-gamma.js';
import { DAYS_PER_UNIT, type TimeUnit } from './schema.js';

/** What the fit step reads and writes, all named by the compiler so the plan stays pure. */
export interface FitPlan {
  /** Per customer: frequency, recency_days, age_days, mean_value (see ltv/kind.ts). */
  readonly summary: TableRef;
  /** Written: one row per distinct (frequency, recency_days, age_days) with the customer-level predictions. */
  readonly scores: TableRef;
  /** Written: the fitted parameters, log-likelihoods and convergence, kept beside the model as `<name>_params`. */
  readonly params: TableRef;
  readonly timeUnit: TimeUnit;
  readonly horizonMonths: number;
  readonly monthlyDiscount: number;
  /** The calibration end as a SQL date, recorded with the parameters. */
  readonly calibrationEnd: Sql;
}

export const PARAMS_COLUMNS = ['submodel', 'parameter', 'value', 'log_likelihood', 'converged', 'iterations', 'customers', 'groups', 'time_unit', 'calibration_end'] as const;
export const SCORE_COLUMNS = ['frequency', 'recency_days', 'age_days', 'p_alive', 'expected_purchases', 'discounted_purchases'] as const;

const num = (value: unknown): number => (typeof value === 'number' ? value : Number(value));

/**
 * The host step: read the grouped (x, t_x, T) triples and (x, mean value) pairs — never one row per customer —, fit
 * BG/NBD and Gamma-Gamma, then write the parameters and the per-triple predictions back to the warehouse, where SQL
 * joins them to customers.
 */
export async function runFit(io: HostIO, plan: FitPlan): Promise<{ bgnbd: FitReport<BgNbdParams>; gammaGamma: FitReport<GammaGammaParams> }> {
  const d = io.dialect;
  const days = DAYS_PER_UNIT[plan.timeUnit];
  const [f, r, a] = [d.id('frequency'), d.id('recency_days'), d.id('age_days')];
  const n = d.id('n');
  // Ordered: the likelihood is a sum over these rows, and a sum in another order differs in its last bits, enough for
  // the optimiser to stop elsewhere and every predicted value to change (and be sent again by the syncs).
  const triples = await io.query(sql`SELECT ${f}, ${r}, ${a}, COUNT(*) AS ${n} FROM ${d.table(plan.summary)} GROUP BY ${f}, ${r}, ${a} ORDER BY ${f}, ${r}, ${a}`);
  const groups: RfmGroup[] = triples.map((row) => ({ x: num(row['frequency']), tx: num(row['recency_days']) / days, T: num(row['age_days']) / days, n: num(row['n']) }));
  const mean = d.id('mean_value');
  const spendRows = await io.query(sql`SELECT ${f}, ${mean}, COUNT(*) AS ${n} FROM ${d.table(plan.summary)} WHERE ${f} > 0 AND ${mean} > 0 GROUP BY ${f}, ${mean} ORDER BY ${f}, ${mean}`);
  const spend: SpendGroup[] = spendRows.map((row) => ({ x: num(row['frequency']), m: num(row['mean_value']), n: num(row['n']) }));
  if (groups.length === 0) throw new Error('LTV: no customer has an order on or before the calibration end, so there is nothing to fit');
  if (spend.length === 0) throw new Error('LTV: no customer has a repeat purchase of positive value before the calibration end, so Gamma-Gamma cannot be fitted');

  const bgnbd = fitBgNbd(groups);
  const gammaGamma = fitGammaGamma(spend);
  await writeParams(io, plan, bgnbd, gammaGamma);

  const unitsPerMonth = DAYS_PER_UNIT.month / days;
  await io.execute(
    sql`CREATE TABLE ${d.table(plan.scores)} (${joinSql([
      sql`${f} ${d.type('integer')}`,
      sql`${r} ${d.type('integer')}`,
      sql`${a} ${d.type('integer')}`,
      ...['p_alive', 'expected_purchases', 'discounted_purchases'].map((c) => sql`${d.id(c)} ${d.type('float')}`),
    ])})`,
  );
  // Appended through the warehouse's bulk path (DuckDB's appender; multi-row INSERTs elsewhere): one row per triple,
  // a non-finite prediction (a numerical failure) stored as NULL rather than failing the build.
  const finite = (value: number) => (Number.isFinite(value) ? value : null);
  const score = scorer(bgnbd.params, plan.horizonMonths, unitsPerMonth, plan.monthlyDiscount);
  const rows = triples.map((row, i) => {
    const g = groups[i]!;
    const scores = score(g.x, g.tx, g.T);
    return [num(row['frequency']), num(row['recency_days']), num(row['age_days']), finite(scores.pAlive), finite(scores.expectedPurchases), finite(scores.discountedPurchases)];
  });
  await io.insertRows(
    plan.scores,
    SCORE_COLUMNS.map((name, i) => ({ name, type: i < 3 ? 'integer' : 'float' })),
    rows,
  );
  return { bgnbd, gammaGamma };
}

/** A DOUBLE literal; a non-finite prediction (a numerical failure) is stored as NULL rather than failing the build. */
function floatLiteral(d: Dialect, value: number): Sql {
  return Number.isFinite(value) ? d.cast(d.literal(value), 'float') : d.cast(d.literal(null), 'float');
}

async function writeParams(io: HostIO, plan: FitPlan, bgnbd: FitReport<BgNbdParams>, gammaGamma: FitReport<GammaGammaParams>): Promise<void> {
  const d = io.dialect;
  const row = (submodel: string, parameter: string, value: number, fit: FitReport<unknown>) =>
    sql`SELECT ${joinSql([
      sql`${d.string(submodel)} AS ${d.id('submodel')}`,
      sql`${d.string(parameter)} AS ${d.id('parameter')}`,
      sql`${floatLiteral(d, value)} AS ${d.id('value')}`,
      sql`${floatLiteral(d, fit.logLikelihood)} AS ${d.id('log_likelihood')}`,
      sql`${d.literal(fit.converged)} AS ${d.id('converged')}`,
      sql`${d.cast(d.literal(fit.iterations), 'integer')} AS ${d.id('iterations')}`,
      sql`${d.cast(d.literal(fit.customers), 'integer')} AS ${d.id('customers')}`,
      sql`${d.cast(d.literal(fit.groups), 'integer')} AS ${d.id('groups')}`,
      sql`${d.string(plan.timeUnit)} AS ${d.id('time_unit')}`,
      sql`${plan.calibrationEnd} AS ${d.id('calibration_end')}`,
    ])}`;
  const rows = [
    ...Object.entries(bgnbd.params).map(([k, v]) => row('bgnbd', k, v, bgnbd)),
    ...Object.entries(gammaGamma.params).map(([k, v]) => row('gamma_gamma', k, v, gammaGamma)),
  ];
  await io.execute(d.createTableAs(plan.params, unionAll(rows)));
}
