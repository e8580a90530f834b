import gammaln from '@stdlib/math-base-special-gammaln';
import { hyp2f1 } from './hyp2f1.js';
import { minimise } from './optimise.js';

/**
 * BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a customer buys as a
 * Poisson process with rate λ ~ Gamma(r, α); after each purchase they drop out with probability p ~ Beta(a, b).
 * A customer is summarised by x (repeat purchases), t_x (time of the last purchase since the first) and T (time
 * since the first purchase to the end of calibration), all in the model's time unit.
 */
export interface BgNbdParams {
  readonly r: number;
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
}

/** Customers sharing one (x, t_x, T): the fit only ever sees these groups. */
export interface RfmGroup {
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  /** How many customers have this triple. */
  readonly n: number;
}

export interface FitReport<P> {
  readonly params: P;
  /** Total log-likelihood over all customers (not the mean). */
  readonly logLikelihood: number;
  readonly converged: boolean;
  readonly iterations: number;
  readonly evaluations: number;
  readonly restarts: number;
  /** Parameter names that ended on a bound of the search box. */
  readonly atBound: readonly string[];
  readonly customers: number;
  readonly groups: number;
}

/** log(e^u + e^v) without overflow; v may be −∞. */
function logAddExp(u: number, v: number): number {
  if (v === Number.NEGATIVE_INFINITY) return u;
  const m = Math.max(u, v);
  return m + Math.log(Math.exp(u - m) + Math.exp(v - m));
}

/** Log-likelihood of one customer (FHL 2005, eq. 6, in the log-sum form that cannot overflow). */
export function bgnbdCustomerLogLikelihood({ r, alpha, a, b }: BgNbdParams, x: number, tx: number, T: number): number {
  const a1 = gammaln(r + x) - gammaln(r) + r * Math.log(alpha);
  const a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x);
  const a3 = -(r + x) * Math.log(alpha + T);
  const a4 = x > 0 ? Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx) : Number.NEGATIVE_INFINITY;
  return a1 + a2 + logAddExp(a3, a4);
}

/**
 * Groups laid out for repeated likelihood evaluations: the log-gamma terms depend on x only and the logarithms of
 * α + T and α + t_x on T and t_x only, so each evaluation computes them once per distinct value (a few hundred or
 * thousand, as times are whole days) instead of once per group. This keeps the fit fast with 10^5 groups.
 */
interface PreparedGroups {
  readonly xs: Float64Array;
  readonly ts: Float64Array;
  readonly xIndex: Uint32Array;
  readonly txIndex: Uint32Array;
  readonly bigTIndex: Uint32Array;
  readonly weights: Float64Array;
}

function prepare(groups: readonly RfmGroup[]): PreparedGroups {
  const xs = new Map<number, number>();
  const ts = new Map<number, number>();
  const index = (map: Map<number, number>, value: number) => {
    let i = map.get(value);
    if (i === undefined) map.set(value, (i = map.size));
    return i;
  };
  const xIndex = new Uint32Array(groups.length);
  const txIndex = new Uint32Array(groups.length);
  const bigTIndex = new Uint32Array(groups.length);
  const weights = new Float64Array(groups.length);
  groups.forEach((g, i) => {
    xIndex[i] = index(xs, g.x);
    txIndex[i] = index(ts, g.tx);
    bigTIndex[i] = index(ts, g.T);
    weights[i] = g.n;
  });
  return { xs: Float64Array.from(xs.keys()), ts: Float64Array.from(ts.keys()), xIndex, txIndex, bigTIndex, weights };
}

function preparedLogLikelihood({ r, alpha, a, b }: BgNbdParams, p: PreparedGroups): number {
  const shared = gammaln(a + b) - gammaln(b) - gammaln(r) + r * Math.log(alpha);
  const logA = Math.log(a);
  const gammaTerms = p.xs.map((x) => shared + gammaln(r + x) + gammaln(b + x) - gammaln(a + b + x));
  const dropTerms = p.xs.map((x) => (x > 0 ? logA - Math.log(b + x - 1) : Number.NEGATIVE_INFINITY));
  const logTimes = p.ts.map((t) => Math.log(alpha + t));
  let total = 0;
  for (let i = 0; i < p.weights.length; i++) {
    const xi = p.xIndex[i]!;
    const rx = r + p.xs[xi]!;
    const a3 = -rx * logTimes[p.bigTIndex[i]!]!;
    const a4 = dropTerms[xi]! - rx * logTimes[p.txIndex[i]!]!;
    total += p.weights[i]! * (gammaTerms[xi]! + logAddExp(a3, a4));
  }
  return total;
}

/** Total log-likelihood of grouped customers. */
export function bgnbdLogLikelihood(params: BgNbdParams, groups: readonly RfmGroup[]): number {
  return preparedLogLikelihood(params, prepare(groups));
}

/** Search box for every parameter (log scale inside the optimiser): wide enough for days, weeks or months. */
const LOWER = 1e-5;
const UPPER = 1e5;

/**
 * Maximum-likelihood fit on grouped customers. The optimiser works on log-parameters (positivity for free, better
 * conditioning) and minimises the mean negative log-likelihood, so tolerances do not depend on the number of
 * customers. Two starts, α scaled to the data's time unit, guard against a local optimum.
 */
export function fitBgNbd(groups: readonly RfmGroup[]): FitReport<BgNbdParams> {
  const customers = groups.reduce((s, g) => s + g.n, 0);
  if (customers === 0) throw new RangeError('BG/NBD needs at least one customer');
  const meanT = groups.reduce((s, g) => s + g.n * g.T, 0) / customers || 1;
  const unpack = (z: readonly number[]): BgNbdParams => ({ r: Math.exp(z[0]!), alpha: Math.exp(z[1]!), a: Math.exp(z[2]!), b: Math.exp(z[3]!) });
  const prepared = prepare(groups);
  const objective = (z: readonly number[]) => -preparedLogLikelihood(unpack(z), prepared) / customers;
  const lo = Math.log(LOWER);
  const hi = Math.log(UPPER);
  const result = minimise(objective, {
    starts: [
      [0, Math.log(meanT / 4), 0, 0],
      [Math.log(0.25), Math.log(meanT / 8), Math.log(0.8), Math.log(2.5)],
    ],
    bounds: { lower: [lo, lo, lo, lo], upper: [hi, hi, hi, hi] },
    fTolerance: 1e-11,
    xTolerance: 1e-8,
  });
  const names = ['r', 'alpha', 'a', 'b'];
  return {
    params: unpack(result.x),
    logLikelihood: -result.value * customers,
    converged: result.converged,
    iterations: result.iterations,
    evaluations: result.evaluations,
    restarts: result.restarts,
    atBound: result.atBound.map((i) => names[i]!),
    customers,
    groups: groups.length,
  };
}

/** log of the odds that the customer has dropped out, a/(b+x−1)·((α+T)/(α+t_x))^(r+x); −∞ when x = 0. */
function logDropoutOdds({ r, alpha, a, b }: BgNbdParams, x: number, tx: number, T: number): number {
  if (x === 0) return Number.NEGATIVE_INFINITY;
  return Math.log(a) - Math.log(b + x - 1) + (r + x) * (Math.log(alpha + T) - Math.log(alpha + tx));
}

/** P(alive | x, t_x, T) (FHL 2005; a customer without repeat purchase is alive by the model's assumption). */
export function probabilityAlive(params: BgNbdParams, x: number, tx: number, T: number): number {
  const odds = logDropoutOdds(params, x, tx, T);
  return odds > 0 ? Math.exp(-odds) / (1 + Math.exp(-odds)) : 1 / (1 + Math.exp(odds));
}

/**
 * Expected purchases in (T, T + t] given (x, t_x, T) (FHL 2005, eq. 10). The factor
 * ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z) with z = t/(α+T+t) is evaluated in Euler's transformed form
 * (1−z)^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z), which stays finite where the original overflows (many purchases,
 * z near 1).
 */
export function conditionalExpectedPurchases(params: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  if (t <= 0) return 0;
  const { r, alpha, a, b } = params;
  const z = t / (alpha + T + t);
  let factor = Math.pow(1 - z, a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z);
  // With very large a and b (a nearly deterministic dropout), the transformed parameters are too large for the
  // series; the original form, in logs, is then the well-conditioned one.
  if (!Number.isFinite(factor)) factor = Math.exp((r + x) * Math.log1p(-z) + Math.log(hyp2f1(r + x, b + x, a + b + x - 1, z)));
  const numerator = ((a + b + x - 1) / (a - 1)) * (1 - factor);
  return numerator * probabilityAlive(params, x, tx, T);
}

/** E[X(t)] for a customer just acquired (FHL 2005, eq. 7): the conditional expectation at x = t_x = T = 0. */
export function expectedPurchases(params: BgNbdParams, t: number): number {
  return conditionalExpectedPurchases(params, t, 0, 0, 0);
}

/**
 * Σ over months i = 1..months of the purchases expected in month i, discounted by (1 + rate)^i: multiplied by the
 * expected value per purchase, the discounted CLV over the horizon. `unitsPerMonth` converts months to the model's
 * time unit.
 */
export function discountedExpectedPurchases(params: BgNbdParams, x: number, tx: number, T: number, months: number, unitsPerMonth: number, monthlyRate: number): number {
  let total = 0;
  let previous = 0;
  for (let i = 1; i <= months; i++) {
    const cumulative = conditionalExpectedPurchases(params, i * unitsPerMonth, x, tx, T);
    total += (cumulative - previous) / Math.pow(1 + monthlyRate, i);
    previous = cumulative;
  }
  return total;
}
