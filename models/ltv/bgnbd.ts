import { digamma, gammaln } from './special.js';
import { hyp2f1 } from './hyp2f1.js';
import { meanNegative, minimiseSmooth } from './optimise.js';

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
  /** Customers per distinct x. */
  readonly xCounts: Float64Array;
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
  const xCounts = new Float64Array(xs.size);
  for (let i = 0; i < weights.length; i++) xCounts[xIndex[i]!]! += weights[i]!;
  return { xs: Float64Array.from(xs.keys()), ts: Float64Array.from(ts.keys()), xIndex, txIndex, bigTIndex, weights, xCounts };
}

/**
 * Total log-likelihood and, when `gradient` is given, its gradient with respect to the log-parameters
 * (log r, log α, log a, log b) written into it. With L = log(e^A3 + e^A4) and the weights w3 = e^(A3−L),
 * w4 = e^(A4−L) = 1 − w3, per customer (ψ the digamma function):
 *   ∂/∂r = ψ(r+x) − ψ(r) + log α − w3·log(α+T) − w4·log(α+t_x)
 *   ∂/∂α = r/α − (r+x)·(w3/(α+T) + w4/(α+t_x))
 *   ∂/∂a = ψ(a+b) − ψ(a+b+x) + w4/a
 *   ∂/∂b = ψ(a+b) + ψ(b+x) − ψ(b) − ψ(a+b+x) − w4/(b+x−1)
 * The terms that depend on x only are weighted by the number of customers per x (counted once in `prepare`), so the
 * loop over groups does one exp, one log1p and a few products per group.
 */
function preparedLogLikelihood({ r, alpha, a, b }: BgNbdParams, p: PreparedGroups, gradient?: number[]): number {
  const shared = gammaln(a + b) - gammaln(b) - gammaln(r) + r * Math.log(alpha);
  const logA = Math.log(a);
  const { xs, ts, xCounts } = p;
  if (gradient) gradient.fill(0);
  const gammaTerms = new Float64Array(xs.length);
  const dropTerms = new Float64Array(xs.length);
  const inverseDrop = new Float64Array(xs.length);
  for (let k = 0; k < xs.length; k++) {
    const x = xs[k]!;
    gammaTerms[k] = shared + gammaln(r + x) + gammaln(b + x) - gammaln(a + b + x);
    dropTerms[k] = x > 0 ? logA - Math.log(b + x - 1) : Number.NEGATIVE_INFINITY;
    inverseDrop[k] = x > 0 ? 1 / (b + x - 1) : 0;
  }
  const logTimes = new Float64Array(ts.length);
  const inverseTimes = new Float64Array(ts.length);
  for (let k = 0; k < ts.length; k++) {
    logTimes[k] = Math.log(alpha + ts[k]!);
    inverseTimes[k] = 1 / (alpha + ts[k]!);
  }
  const { xIndex, txIndex, bigTIndex, weights } = p;
  let total = 0;
  // Σ n·(w3·log(α+T) + w4·log(α+t_x)), Σ n·(r+x)·(w3/(α+T) + w4/(α+t_x)), Σ n·w4, Σ n·w4/(b+x−1)
  let sumLog = 0;
  let sumInverse = 0;
  let sumW4 = 0;
  let sumW4Drop = 0;
  for (let i = 0; i < weights.length; i++) {
    const xi = xIndex[i]!;
    const rx = r + xs[xi]!;
    const T = bigTIndex[i]!;
    const tx = txIndex[i]!;
    const a3 = -rx * logTimes[T]!;
    const a4 = dropTerms[xi]! - rx * logTimes[tx]!;
    const n = weights[i]!;
    if (a4 === Number.NEGATIVE_INFINITY) {
      total += n * a3;
      sumLog += n * logTimes[T]!;
      sumInverse += n * rx * inverseTimes[T]!;
      continue;
    }
    // L = max + log(1 + e^(−|A3 − A4|)); the larger term's weight is 1/(1 + e^(−|·|)).
    const e = Math.exp(-Math.abs(a3 - a4));
    const big = 1 / (1 + e);
    const w3 = a3 >= a4 ? big : e * big;
    const w4 = a3 >= a4 ? e * big : big;
    total += n * (Math.max(a3, a4) + Math.log1p(e));
    sumLog += n * (w3 * logTimes[T]! + w4 * logTimes[tx]!);
    sumInverse += n * rx * (w3 * inverseTimes[T]! + w4 * inverseTimes[tx]!);
    sumW4 += n * w4;
    sumW4Drop += n * w4 * inverseDrop[xi]!;
  }
  for (let k = 0; k < xs.length; k++) total += xCounts[k]! * gammaTerms[k]!;
  if (gradient) {
    const [psiR, psiB, psiAB] = [digamma(r), digamma(b), digamma(a + b)];
    let dr = -sumLog;
    let da = sumW4 / a;
    let db = -sumW4Drop;
    for (let k = 0; k < xs.length; k++) {
      const x = xs[k]!;
      const c = xCounts[k]!;
      const psiABX = digamma(a + b + x);
      dr += c * (digamma(r + x) - psiR + Math.log(alpha));
      da += c * (psiAB - psiABX);
      db += c * (psiAB + digamma(b + x) - psiB - psiABX);
    }
    const customers = xCounts.reduce((s, c) => s + c, 0);
    const dalpha = (customers * r) / alpha - sumInverse;
    gradient[0] = r * dr;
    gradient[1] = alpha * dalpha;
    gradient[2] = a * da;
    gradient[3] = b * db;
  }
  return total;
}

/** Total log-likelihood of grouped customers; with `gradient`, its gradient in (log r, log α, log a, log b) too. */
export function bgnbdLogLikelihood(params: BgNbdParams, groups: readonly RfmGroup[], gradient?: number[]): number {
  return preparedLogLikelihood(params, prepare(groups), gradient);
}

/** Search box for every parameter (log scale inside the optimiser): wide enough for days, weeks or months. */
const LOWER = 1e-5;
const UPPER = 1e5;

/**
 * Maximum-likelihood fit on grouped customers. The optimiser works on log-parameters (positivity for free, better
 * conditioning) and minimises the mean negative log-likelihood, so tolerances do not depend on the number of
 * customers. Two starts, α scaled to the data's time unit, guard against a local optimum. BFGS with the analytic
 * gradient takes a few dozen evaluations where Nelder–Mead took ~2,000 (Nelder–Mead remains the fallback).
 */
export function fitBgNbd(groups: readonly RfmGroup[]): FitReport<BgNbdParams> {
  const customers = groups.reduce((s, g) => s + g.n, 0);
  if (customers === 0) throw new RangeError('BG/NBD needs at least one customer');
  const meanT = groups.reduce((s, g) => s + g.n * g.T, 0) / customers || 1;
  const unpack = (z: readonly number[]): BgNbdParams => ({ r: Math.exp(z[0]!), alpha: Math.exp(z[1]!), a: Math.exp(z[2]!), b: Math.exp(z[3]!) });
  const prepared = prepare(groups);
  const objective = meanNegative((z, gradient) => preparedLogLikelihood(unpack(z), prepared, gradient), customers);
  const lo = Math.log(LOWER);
  const hi = Math.log(UPPER);
  const result = minimiseSmooth(objective, {
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
  return unconditionedPurchases(params, t, x, T) * probabilityAlive(params, x, tx, T);
}

/** conditionalExpectedPurchases without its P(alive) factor: (a+b+x−1)/(a−1) · (1 − factor). */
function unconditionedPurchases(params: BgNbdParams, t: number, x: number, T: number): number {
  if (t <= 0) return 0;
  const { r, alpha, a, b } = params;
  const z = t / (alpha + T + t);
  let factor = Math.pow(1 - z, a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z);
  // With very large a and b (a nearly deterministic dropout), the transformed parameters are too large for the
  // series; the original form, in logs, is then the well-conditioned one.
  if (!Number.isFinite(factor)) factor = Math.exp((r + x) * Math.log1p(-z) + Math.log(hyp2f1(r + x, b + x, a + b + x - 1, z)));
  return ((a + b + x - 1) / (a - 1)) * (1 - factor);
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
  return customerScores(params, x, tx, T, months, unitsPerMonth, monthlyRate).discountedPurchases;
}

export interface CustomerScores {
  readonly pAlive: number;
  /** Expected purchases over the whole horizon (conditionalExpectedPurchases at months × unitsPerMonth). */
  readonly expectedPurchases: number;
  readonly discountedPurchases: number;
}

/**
 * P(alive), the expected purchases over the horizon and their discounted sum in one pass: the conditional expectation
 * at the horizon is the last month's cumulative value, and P(alive) is computed once (the same products as
 * conditionalExpectedPurchases, so the same values).
 */
export function customerScores(params: BgNbdParams, x: number, tx: number, T: number, months: number, unitsPerMonth: number, monthlyRate: number): CustomerScores {
  return scorer(params, months, unitsPerMonth, monthlyRate)(x, tx, T);
}

/**
 * customerScores for many customers with the same parameters and horizon. The monthly expectations before the
 * P(alive) factor (twelve 2F1 evaluations for a year) depend on x and T only, not on t_x: they are computed once per
 * distinct (x, T), a fifth of the (x, t_x, T) triples or fewer, and kept while the scorer lives.
 */
export function scorer(params: BgNbdParams, months: number, unitsPerMonth: number, monthlyRate: number): (x: number, tx: number, T: number) => CustomerScores {
  const cache = new Map<string, Float64Array>();
  const discount = Float64Array.from({ length: months }, (_, i) => Math.pow(1 + monthlyRate, i + 1));
  return (x, tx, T) => {
    const key = `${x}|${T}`;
    let cumulative = cache.get(key);
    if (!cumulative) {
      cumulative = Float64Array.from({ length: months }, (_, i) => unconditionedPurchases(params, (i + 1) * unitsPerMonth, x, T));
      cache.set(key, cumulative);
    }
    const pAlive = probabilityAlive(params, x, tx, T);
    let total = 0;
    let previous = 0;
    for (let i = 0; i < months; i++) {
      const current = cumulative[i]! * pAlive;
      total += (current - previous) / discount[i]!;
      previous = current;
    }
    return { pAlive, expectedPurchases: previous, discountedPurchases: total };
  };
}
