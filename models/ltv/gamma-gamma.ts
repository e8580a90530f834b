import { digamma, gammaln } from './special.js';
import type { FitReport } from './bgnbd.js';
import { meanNegative, minimiseSmooth } from './optimise.js';

/**
 * Gamma-Gamma spend model (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): a customer's transaction
 * values are Gamma(p, ν) with ν ~ Gamma(q, γ); `v` is γ. Fitted on customers with at least one repeat purchase,
 * from x (repeat purchases) and m (their mean value). It assumes value independent of frequency.
 */
export interface GammaGammaParams {
  readonly p: number;
  readonly q: number;
  readonly v: number;
}

/** Customers sharing one (x, mean value): the fit sees these groups only. */
export interface SpendGroup {
  readonly x: number;
  readonly m: number;
  readonly n: number;
}

/** Log-likelihood of one customer's mean value m over x transactions (up to a term free of the parameters). */
export function gammaGammaCustomerLogLikelihood({ p, q, v }: GammaGammaParams, x: number, m: number): number {
  const px = p * x;
  return gammaln(px + q) - gammaln(px) - gammaln(q) + q * Math.log(v) + (px - 1) * Math.log(m) + px * Math.log(x) - (px + q) * Math.log(x * m + v);
}

/** Total log-likelihood of grouped customers; with `gradient`, its gradient in (log p, log q, log v) too. */
export function gammaGammaLogLikelihood(params: GammaGammaParams, groups: readonly SpendGroup[], gradient?: number[]): number {
  return preparedLogLikelihood(params, prepare(groups), gradient);
}

/**
 * Groups laid out for repeated likelihood evaluations, in typed arrays: log m, log x and x·m depend on the group only,
 * so they are computed once per fit; the log-gamma and digamma terms depend on x only, computed once per distinct x
 * per evaluation and weighted by the customers per x.
 */
interface PreparedGroups {
  readonly xs: Float64Array;
  /** Customers per distinct x, and Σ n·log m per distinct x. */
  readonly xCounts: Float64Array;
  readonly xLogM: Float64Array;
  readonly xIndex: Uint32Array;
  /** Per group: m, x·m and n. */
  readonly ms: Float64Array;
  readonly xm: Float64Array;
  readonly weights: Float64Array;
}

function prepare(groups: readonly SpendGroup[]): PreparedGroups {
  const distinct = new Map<number, number>();
  const xIndex = new Uint32Array(groups.length);
  groups.forEach((g, i) => {
    let k = distinct.get(g.x);
    if (k === undefined) distinct.set(g.x, (k = distinct.size));
    xIndex[i] = k;
  });
  const xCounts = new Float64Array(distinct.size);
  const xLogM = new Float64Array(distinct.size);
  groups.forEach((g, i) => {
    xCounts[xIndex[i]!]! += g.n;
    xLogM[xIndex[i]!]! += g.n * Math.log(g.m);
  });
  return {
    xs: Float64Array.from(distinct.keys()),
    xCounts,
    xLogM,
    xIndex,
    ms: Float64Array.from(groups, (g) => g.m),
    xm: Float64Array.from(groups, (g) => g.x * g.m),
    weights: Float64Array.from(groups, (g) => g.n),
  };
}

/**
 * Per customer, ℓ = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q·log v + (px−1)·log m + px·log x − (px+q)·log(xm+v), computed as
 *   ℓ = lnΓ(px+q) − lnΓ(px) − lnΓ(q) − px·L1 − q·L2 − log m,  L1 = log(1 + v/(xm)), L2 = log(1 + xm/v),
 * which avoids the cancellation of the large log terms (with 10^5 groups and x up to 30, it left the value and the
 * gradient too noisy for the optimiser to finish). With ψ the digamma function:
 *   ∂ℓ/∂p = x·(ψ(px+q) − ψ(px) − L1),  ∂ℓ/∂q = ψ(px+q) − ψ(q) − L2,  v·∂ℓ/∂v = x·(q·m − p·v)/(xm+v);
 * the gradient written is in the log-parameters (θ·∂ℓ/∂θ).
 */
function preparedLogLikelihood({ p, q, v }: GammaGammaParams, prepared: PreparedGroups, gradient?: number[]): number {
  const { xs, xCounts, xLogM, xIndex, ms, xm, weights } = prepared;
  // Σ over groups of n·x·L1, n·L2 and n·x·(q·m − p·v)/(xm+v)
  let sumXL1 = 0;
  let sumL2 = 0;
  let sumV = 0;
  for (let i = 0; i < weights.length; i++) {
    const n = weights[i]!;
    const x = xs[xIndex[i]!]!;
    sumXL1 += n * x * Math.log1p(v / xm[i]!);
    sumL2 += n * Math.log1p(xm[i]! / v);
    sumV += (n * x * (q * ms[i]! - p * v)) / (xm[i]! + v);
  }
  let total = -(p * sumXL1 + q * sumL2);
  const psiQ = digamma(q);
  let dp = -sumXL1;
  let dq = -sumL2;
  for (let k = 0; k < xs.length; k++) {
    const x = xs[k]!;
    const c = xCounts[k]!;
    const px = p * x;
    total += c * (gammaln(px + q) - gammaln(px) - gammaln(q)) - xLogM[k]!;
    if (gradient) {
      const psiPxq = digamma(px + q);
      dp += c * x * (psiPxq - digamma(px));
      dq += c * (psiPxq - psiQ);
    }
  }
  if (gradient) {
    gradient[0] = p * dp;
    gradient[1] = q * dq;
    gradient[2] = sumV;
  }
  return total;
}

export function fitGammaGamma(groups: readonly SpendGroup[]): FitReport<GammaGammaParams> {
  const usable = groups.filter((g) => g.x > 0 && g.m > 0);
  const customers = usable.reduce((s, g) => s + g.n, 0);
  if (customers === 0) throw new RangeError('Gamma-Gamma needs customers with at least one repeat purchase of positive value');
  const meanM = usable.reduce((s, g) => s + g.n * g.m, 0) / customers;
  const unpack = (z: readonly number[]): GammaGammaParams => ({ p: Math.exp(z[0]!), q: Math.exp(z[1]!), v: Math.exp(z[2]!) });
  const prepared = prepare(usable);
  const objective = meanNegative((z, gradient) => preparedLogLikelihood(unpack(z), prepared, gradient), customers);
  const lo = Math.log(1e-5);
  const hi = Math.log(1e5);
  const result = minimiseSmooth(objective, {
    starts: [
      [0, Math.log(2), Math.log(meanM)],
      [Math.log(5), Math.log(4), Math.log(meanM)],
      [Math.log(0.5), Math.log(1.5), Math.log(meanM / 4)],
    ],
    bounds: { lower: [lo, lo, lo], upper: [hi, hi, hi] },
    fTolerance: 1e-12,
    xTolerance: 1e-9,
  });
  const names = ['p', 'q', 'v'];
  return {
    params: unpack(result.x),
    logLikelihood: -result.value * customers,
    converged: result.converged,
    iterations: result.iterations,
    evaluations: result.evaluations,
    restarts: result.restarts,
    atBound: result.atBound.map((i) => names[i]!),
    customers,
    groups: usable.length,
  };
}

/**
 * E[value per transaction | x, m] = (p·(ν + x·m)) / (p·x + q − 1), a weighted mean of the population mean p·v/(q−1)
 * and the customer's own mean; for x = 0 it is the population mean. Needs q > 1 (finite population mean).
 */
export function expectedAverageValue({ p, q, v }: GammaGammaParams, x: number, m: number): number {
  return (p * (v + x * m)) / (p * x + q - 1);
}
