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
