/**
 * A bounded Nelder–Mead minimiser with restarts, for the small maximum-likelihood fits of the LTV model (4 or 3
 * parameters, a smooth objective). Written here because no maintained npm package offers a bounded derivative-free
 * optimiser without pulling in a numerical framework: the candidates found are unmaintained ports or unbounded.
 *
 * Bounds are enforced by projecting every trial point onto the box, which keeps the simplex inside it (the objective
 * is never evaluated outside). Nelder–Mead can stall on a degenerate simplex; restarting from the best point with a
 * fresh simplex until a restart no longer improves the value is the classic remedy (and what makes the result
 * reproducible from several starting points).
 */

export interface Bounds {
  readonly lower: readonly number[];
  readonly upper: readonly number[];
}

export interface MinimiseOptions {
  /** Starting points; each is run to convergence (with restarts) and the best result wins. */
  readonly starts: readonly (readonly number[])[];
  readonly bounds: Bounds;
  /** Stop when the simplex's values differ by less than this (absolute) and its size is below `xTolerance`. */
  readonly fTolerance?: number;
  readonly xTolerance?: number;
  /** Per run between restarts. */
  readonly maxIterations?: number;
  readonly maxRestarts?: number;
  /** Initial simplex step, relative to the box width per coordinate (default 5 %). */
  readonly initialStep?: number;
}

export interface MinimiseResult {
  readonly x: readonly number[];
  readonly value: number;
  readonly iterations: number;
  readonly evaluations: number;
  readonly restarts: number;
  /** True when the last run met the tolerances and a restart from its best point found nothing better. */
  readonly converged: boolean;
  /** Coordinates sitting on a bound at the optimum (a sign that the model fits the data poorly). */
  readonly atBound: readonly number[];
}

export function minimise(f: (x: readonly number[]) => number, options: MinimiseOptions): MinimiseResult {
  const { bounds } = options;
  const n = bounds.lower.length;
  if (bounds.upper.length !== n || options.starts.some((s) => s.length !== n)) throw new RangeError('bounds and starting points must have the same dimension');
  for (let i = 0; i < n; i++) if (!(bounds.lower[i]! < bounds.upper[i]!)) throw new RangeError(`empty bound on coordinate ${i}`);
  if (options.starts.length === 0) throw new RangeError('at least one starting point is needed');

  let evaluations = 0;
  const evaluate = (x: readonly number[]): number => {
    evaluations++;
    const value = f(x);
    // A non-finite value (overflow at an extreme point) is treated as +∞ so the simplex moves away from it.
    return Number.isFinite(value) ? value : Number.POSITIVE_INFINITY;
  };
  const project = (x: readonly number[]): number[] => x.map((v, i) => Math.min(bounds.upper[i]!, Math.max(bounds.lower[i]!, v)));

  let best: MinimiseResult | undefined;
  for (const start of options.starts) {
    let x = project(start);
    let value = evaluate(x);
    let iterations = 0;
    let restarts = 0;
    let converged = false;
    for (;;) {
      const run = nelderMead(evaluate, project, x, value, bounds, options);
      iterations += run.iterations;
      const improved = run.value < value - (options.fTolerance ?? 1e-10);
      x = run.x;
      value = run.value;
      if (run.converged && !improved && restarts > 0) {
        converged = true;
        break;
      }
      if (restarts >= (options.maxRestarts ?? 5)) {
        converged = run.converged && !improved;
        break;
      }
      restarts++;
    }
    const result: MinimiseResult = {
      x,
      value,
      iterations,
      evaluations,
      restarts,
      converged,
      atBound: x.flatMap((v, i) => (v <= bounds.lower[i]! || v >= bounds.upper[i]! ? [i] : [])),
    };
    if (!best || result.value < best.value) best = result;
  }
  return { ...best!, evaluations };
}

interface Run {
  readonly x: number[];
  readonly value: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/** One Nelder–Mead run (adaptive coefficients of Gao & Han 2012, which behave better as the dimension grows). */
function nelderMead(
  evaluate: (x: readonly number[]) => number,
  project: (x: readonly number[]) => number[],
  start: readonly number[],
  startValue: number,
  bounds: Bounds,
  options: MinimiseOptions,
): Run {
  const n = start.length;
  const alpha = 1;
  const beta = 1 + 2 / n;
  const gamma = 0.75 - 1 / (2 * n);
  const delta = 1 - 1 / n;
  const fTol = options.fTolerance ?? 1e-10;
  const xTol = options.xTolerance ?? 1e-8;
  const maxIterations = options.maxIterations ?? 2000 * n;
  const step = options.initialStep ?? 0.05;

  const simplex: { x: number[]; f: number }[] = [{ x: [...start], f: startValue }];
  for (let i = 0; i < n; i++) {
    const width = bounds.upper[i]! - bounds.lower[i]!;
    const x = [...start];
    // Step away from the nearer bound so the vertex stays distinct after projection.
    x[i] = x[i]! + (x[i]! + step * width <= bounds.upper[i]! ? 1 : -1) * step * width;
    const projected = project(x);
    simplex.push({ x: projected, f: evaluate(projected) });
  }

  const combine = (centroid: readonly number[], worst: readonly number[], t: number) => project(centroid.map((c, i) => c + t * (worst[i]! - c)));
  let iterations = 0;
  while (iterations < maxIterations) {
    simplex.sort((p, q) => p.f - q.f);
    const lowest = simplex[0]!;
    const highest = simplex[n]!;
    const spread = Math.abs(highest.f - lowest.f);
    const size = Math.max(...simplex.slice(1).map((v) => Math.max(...v.x.map((xi, i) => Math.abs(xi - lowest.x[i]!)))));
    if (spread <= fTol && size <= xTol) return { x: lowest.x, value: lowest.f, iterations, converged: true };
    iterations++;

    const centroid = new Array<number>(n).fill(0);
    for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) centroid[i]! += simplex[k]!.x[i]! / n;
    const second = simplex[n - 1]!;

    const reflected = combine(centroid, highest.x, -alpha);
    const fr = evaluate(reflected);
    if (fr < lowest.f) {
      const expanded = combine(centroid, highest.x, -alpha * beta);
      const fe = evaluate(expanded);
      simplex[n] = fe < fr ? { x: expanded, f: fe } : { x: reflected, f: fr };
      continue;
    }
    if (fr < second.f) {
      simplex[n] = { x: reflected, f: fr };
      continue;
    }
    const outside = fr < highest.f;
    const contracted = combine(centroid, highest.x, outside ? -alpha * gamma : gamma);
    const fc = evaluate(contracted);
    if (fc < (outside ? fr : highest.f)) {
      simplex[n] = { x: contracted, f: fc };
      continue;
    }
    for (let k = 1; k <= n; k++) {
      const x = project(simplex[k]!.x.map((xi, i) => lowest.x[i]! + delta * (xi - lowest.x[i]!)));
      simplex[k] = { x, f: evaluate(x) };
    }
  }
  simplex.sort((p, q) => p.f - q.f);
  return { x: simplex[0]!.x, value: simplex[0]!.f, iterations, converged: false };
}

/** f(x), writing ∇f(x) into `gradient` (same length as x). */
export type ValueAndGradient = (x: readonly number[], gradient: number[]) => number;

/**
 * The objective the fits minimise: the mean negative log-likelihood over `customers`, and its gradient, from a total
 * log-likelihood that writes its gradient; mean, so that tolerances do not depend on the number of customers.
 */
export function meanNegative(logLikelihood: ValueAndGradient, customers: number): ValueAndGradient {
  return (x, gradient) => {
    const value = -logLikelihood(x, gradient) / customers;
    for (let i = 0; i < gradient.length; i++) gradient[i] = -gradient[i]! / customers;
    return value;
  };
}

export interface SmoothMinimiseOptions extends MinimiseOptions {
  /**
   * Converged when every component of the gradient is at most this in absolute value (default 1e-9, for a mean
   * log-likelihood in log-parameters).
   */
  readonly gTolerance?: number;
}

/**
 * BFGS (inverse-Hessian update, backtracking Armijo line search) for smooth objectives with an analytic gradient,
 * from each start; the best result wins. Trial points outside the box, or with a non-finite value, count as +∞ and
 * the step is shortened, so the objective is never evaluated outside. A run that does not bring the gradient under
 * `gTolerance` (an optimum on a bound, or a numerical failure) is handed to the bounded Nelder–Mead above, from the
 * best point found, and the better of the two is kept: the answer is never worse than Nelder–Mead's alone.
 *
 * Written here rather than taken from npm: the only packaged minimiser with a quasi-Newton method (`fmin`, 0.0.4)
 * has not been released since 2017 and has no bounds; with 3 or 4 parameters a dense BFGS is some sixty lines.
 */
export function minimiseSmooth(fg: ValueAndGradient, options: SmoothMinimiseOptions): MinimiseResult {
  const { bounds } = options;
  const n = bounds.lower.length;
  if (bounds.upper.length !== n || options.starts.some((s) => s.length !== n)) throw new RangeError('bounds and starting points must have the same dimension');
  if (options.starts.length === 0) throw new RangeError('at least one starting point is needed');
  const gTol = options.gTolerance ?? 1e-9;
  const maxIterations = options.maxIterations ?? 500;
  const inside = (x: readonly number[]) => x.every((v, i) => v >= bounds.lower[i]! && v <= bounds.upper[i]!);
  let evaluations = 0;
  const evaluate = (x: readonly number[], g: number[]): number => {
    if (!inside(x)) return Number.POSITIVE_INFINITY;
    evaluations++;
    const value = fg(x, g);
    return Number.isFinite(value) && g.every(Number.isFinite) ? value : Number.POSITIVE_INFINITY;
  };
  const project = (x: readonly number[]): number[] => x.map((v, i) => Math.min(bounds.upper[i]!, Math.max(bounds.lower[i]!, v)));
  const dot = (u: readonly number[], v: readonly number[]) => u.reduce((s, ui, i) => s + ui * v[i]!, 0);
  const identity = (): number[][] => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

  let best: MinimiseResult | undefined;
  let totalIterations = 0;
  for (const start of options.starts) {
    let x = project(start);
    let g = new Array<number>(n).fill(0);
    let f = evaluate(x, g);
    if (!Number.isFinite(f)) continue;
    let h = identity();
    let first = true;
    let iterations = 0;
    let converged = false;
    while (iterations < maxIterations) {
      if (Math.max(...g.map(Math.abs)) <= gTol) {
        converged = true;
        break;
      }
      iterations++;
      let d = h.map((row) => -dot(row, g));
      let slope = dot(g, d);
      if (!(slope < 0)) {
        h = identity();
        d = g.map((gi) => -gi);
        slope = dot(g, d);
      }
      // The first step is along −∇f: cap it at one unit of the (log-)parameters so it stays in a sane region.
      let t = first ? Math.min(1, 1 / Math.max(...d.map(Math.abs))) : 1;
      const gNext = new Array<number>(n).fill(0);
      let xNext: number[] = x;
      let fNext = Number.POSITIVE_INFINITY;
      // Armijo, or near the optimum, where the objective's changes are down to its rounding (sums of 10^5 terms),
      // the approximate Wolfe conditions of Hager & Zhang (2005): the value no worse than rounding allows and the
      // directional derivative reduced. The analytic gradient stays accurate where the value no longer resolves.
      const noise = 1e-13 * (1 + Math.abs(f));
      const accept = (value: number) => {
        if (value <= f + 1e-4 * t * slope) return true;
        const next = dot(gNext, d);
        return value <= f + noise && next >= 0.9 * slope && next <= -0.8 * slope;
      };
      let accepted = false;
      for (let k = 0; k < 60; k++, t /= 2) {
        xNext = x.map((xi, i) => xi + t * d[i]!);
        fNext = evaluate(xNext, gNext);
        if ((accepted = Number.isFinite(fNext) && accept(fNext))) break;
      }
      if (!accepted) {
        // No descent left along d: the rounding floor of the objective. Converged if the gradient is nearly flat.
        converged = Math.max(...g.map(Math.abs)) <= 1000 * gTol;
        break;
      }
      const s = xNext.map((xi, i) => xi - x[i]!);
      const y = gNext.map((gi, i) => gi - g[i]!);
      const sy = dot(s, y);
      if (sy > 1e-300) {
        if (first) {
          // Shanno–Phua scaling of the initial inverse Hessian.
          const scale = sy / dot(y, y);
          h = h.map((row) => row.map((v) => v * scale));
        }
        const hy = h.map((row) => dot(row, y));
        const yhy = dot(y, hy);
        h = h.map((row, i) => row.map((v, j) => v + ((sy + yhy) * s[i]! * s[j]!) / (sy * sy) - (hy[i]! * s[j]! + s[i]! * hy[j]!) / sy));
      }
      first = false;
      x = xNext;
      f = fNext;
      g = gNext;
    }
    totalIterations += iterations;
    const result: MinimiseResult = { x, value: f, iterations, evaluations, restarts: 0, converged, atBound: x.flatMap((v, i) => (v <= bounds.lower[i]! || v >= bounds.upper[i]! ? [i] : [])) };
    if (!best || result.value < best.value || (result.value === best.value && converged && !best.converged)) best = result;
  }
  if (best?.converged) return { ...best, iterations: totalIterations, evaluations };

  // Fallback: Nelder–Mead from the best point found (or from the starts when no start could be evaluated).
  const scratch = new Array<number>(n).fill(0);
  const fallback = minimise((x) => fg(x, scratch), { ...options, starts: best ? [best.x] : options.starts });
  const chosen = best && best.value <= fallback.value ? best : fallback;
  return { ...chosen, converged: fallback.converged, iterations: totalIterations + fallback.iterations, evaluations: evaluations + fallback.evaluations, restarts: fallback.restarts + 1 };
}
