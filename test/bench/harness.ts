/**
 * Benchmarks are not tests: each prints one JSON line per result, Tideline beside a baseline measured in the same
 * run (hand-written SQL, an API's rate ceiling…), with their ratio. The machines are shared and noisy, so results
 * are only compared within one run.
 */
export interface BenchResult {
  readonly bench: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** The baseline measured in the same run, when the metric has one. */
  readonly baseline?: number;
  /** value / baseline. */
  readonly ratio?: number;
  /** The goal the issue sets, and whether this run met it. */
  readonly goal?: string;
  readonly ok?: boolean;
  readonly [extra: string]: unknown;
}

export function report(result: BenchResult): void {
  const withRatio = result.baseline !== undefined && result.ratio === undefined ? { ...result, ratio: round(result.value / result.baseline, 3) } : result;
  process.stdout.write(JSON.stringify(withRatio) + '\n');
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Wall-clock seconds of an async function. */
export async function timed<T>(run: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = performance.now();
  const value = await run();
  return { seconds: (performance.now() - start) / 1000, value };
}

/** `--name value` options after the benchmark name. */
export function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const value = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
  return value;
}
