import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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

/** `--name word` options after the benchmark name, one of `allowed` (the first is the default). */
export function choice<T extends string>(args: readonly string[], name: string, allowed: readonly [T, ...T[]]): T {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return allowed[0];
  const value = args[i + 1];
  if (!allowed.includes(value as T)) throw new Error(`--${name} needs one of ${allowed.join(', ')}, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
  return value as T;
}

/**
 * How a bench runs at several sizes (`--sizes a,b,c`): each size runs the bench again in a child process given
 * `--<option> <size>`, whose peak RSS is the kernel's (see runBench), and the curve is read from its JSON lines.
 */
export interface CurveSpec {
  /** The bench's own size option (`records`, `orders`, `rows`, `customers`). */
  readonly option: string;
  /** The options each child is given besides the size (e.g. to leave out a case that does not scale with it). */
  readonly childArgs?: readonly string[];
  /** The seconds of one size, read from that size's results. */
  seconds(results: readonly BenchResult[]): number;
  /** The baseline's seconds at that size, when the bench measures one. */
  baselineSeconds?(results: readonly BenchResult[]): number | undefined;
  /** The peak RSS that matters, when it is not the bench process's own (the sync bench measures the CLI it runs). */
  peakRssMb?(results: readonly BenchResult[]): number | undefined;
}

export interface CurvePoint {
  readonly size: number;
  readonly seconds: number;
  readonly seconds_per_million: number;
  readonly baseline_seconds?: number;
  readonly peak_rss_mb: number;
  /** The bench process's own peak, when peak_rss_mb is another process's (the sync bench's CLI). */
  readonly bench_process_peak_rss_mb?: number;
}

/** `--sizes 1e6,3e6,1e7` → [1000000, 3000000, 10000000]; undefined without the option. */
export function parseSizes(args: readonly string[]): number[] | undefined {
  const i = args.indexOf('--sizes');
  if (i < 0) return undefined;
  const text = args[i + 1] ?? '';
  const sizes = text.split(',').map((s) => Number(s.trim()));
  if (text.trim() === '' || sizes.some((n) => !Number.isInteger(n) || n <= 0))
    throw new Error(`--sizes needs positive whole numbers separated by commas (e.g. 1e6,3e6,1e7), got ${JSON.stringify(text)}`);
  return sizes;
}

/** The arguments without `--sizes x` and without `--<option> x`, which each child is given instead. */
export function childArgs(args: readonly string[], spec: CurveSpec, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--sizes' || args[i] === `--${spec.option}`) i++;
    else out.push(args[i]!);
  }
  return [...out, ...(spec.childArgs ?? []).filter((a) => !out.includes(a)), `--${spec.option}`, String(size)];
}

/** The metric every bench process prints last: its own peak resident memory, as the kernel counts it. */
export const PROCESS_PEAK_RSS = 'process_peak_rss';

/** One point of the curve from the results of that size's child. */
export function curvePoint(size: number, results: readonly BenchResult[], spec: CurveSpec): CurvePoint {
  const seconds = spec.seconds(results);
  if (!Number.isFinite(seconds)) throw new Error(`size ${size}: the bench printed no seconds for the curve`);
  const own = results.find((r) => r.metric === PROCESS_PEAK_RSS)?.value;
  if (own === undefined) throw new Error(`size ${size}: the bench process printed no ${PROCESS_PEAK_RSS}`);
  const other = spec.peakRssMb?.(results);
  const baseline = spec.baselineSeconds?.(results);
  return {
    size,
    seconds: round(seconds, 2),
    seconds_per_million: round((seconds / size) * 1e6, 2),
    ...(baseline !== undefined ? { baseline_seconds: round(baseline, 2) } : {}),
    peak_rss_mb: other ?? own,
    ...(other !== undefined ? { bench_process_peak_rss_mb: own } : {}),
  };
}

/** How far from linear the curve is: the largest seconds per million over the smallest (1 = exactly linear). */
export function perMillionSpread(points: readonly CurvePoint[]): number {
  const rates = points.map((p) => p.seconds_per_million);
  return round(Math.max(...rates) / Math.min(...rates), 2);
}

/** The curve as a small Markdown table, as the README shows it. */
export function curveTable(unit: string, points: readonly CurvePoint[]): string {
  const baseline = points.some((p) => p.baseline_seconds !== undefined);
  const head = [unit, 'seconds', `s per million ${unit}`, ...(baseline ? ['baseline s'] : []), 'peak RSS MB'];
  const rows = points.map((p) => [p.size.toLocaleString('en'), String(p.seconds), String(p.seconds_per_million), ...(baseline ? [String(p.baseline_seconds ?? '')] : []), String(p.peak_rss_mb)]);
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

const BENCH_BIN = fileURLToPath(new URL('../../bin/bench', import.meta.url));

/** Runs one size of a bench in a child process; its JSON lines are passed on to this process's stdout. */
async function runChild(command: readonly string[], args: readonly string[]): Promise<BenchResult[]> {
  const [file, ...rest] = command;
  const child = spawn(file!, [...rest, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const results: BenchResult[] = [];
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      process.stdout.write(line + '\n');
      try {
        results.push(JSON.parse(line) as BenchResult);
      } catch {
        // Not a result line.
      }
    }
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`${command.slice(1).join(' ')} ${args.join(' ')} exited ${code}`);
  return results;
}

/** The shape of a bench module, as bin/bench imports it. */
export interface BenchModule {
  main(args: readonly string[]): Promise<void>;
  readonly curve?: CurveSpec;
}

/**
 * `npm run bench -- <name> [options]`: runs the bench once, then prints its process's peak RSS (getrusage's
 * ru_maxrss, the kernel's high-water mark of the whole process: the JavaScript heap, Node, and the memory DuckDB
 * allocates natively). With `--sizes a,b,c`, runs it once per size, each in a fresh child process (so each peak is
 * that size's alone; `childCommand` runs one, bin/bench by default), and ends with the curve: a JSON line `{"curve": …}` on stdout and a table on stderr.
 */
export async function runBench(name: string, bench: BenchModule, args: readonly string[], childCommand: readonly string[] = [process.execPath, BENCH_BIN, name]): Promise<void> {
  const sizes = parseSizes(args);
  if (!sizes) {
    await bench.main(args);
    report({ bench: name, metric: PROCESS_PEAK_RSS, value: round(process.resourceUsage().maxRSS / 1024, 1), unit: 'MB' });
    return;
  }
  if (!bench.curve) throw new Error(`bench ${name} has no --sizes curve`);
  const points: CurvePoint[] = [];
  for (const size of sizes) points.push(curvePoint(size, await runChild(childCommand, childArgs(args, bench.curve, size)), bench.curve));
  const spread = perMillionSpread(points);
  process.stdout.write(JSON.stringify({ curve: { bench: name, size: bench.curve.option, points, per_million_spread: spread } }) + '\n');
  process.stderr.write(`\n${name}: seconds and peak RSS per size (seconds per million: largest / smallest = ${spread})\n${curveTable(bench.curve.option, points)}\n`);
}
