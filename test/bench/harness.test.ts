import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { childArgs, curvePoint, curveTable, parseSizes, perMillionSpread, PROCESS_PEAK_RSS, type BenchResult, type CurvePoint, type CurveSpec } from './harness.js';
import { statementHead } from './statement-timer.js';

const spec: CurveSpec = { option: 'rows', childArgs: ['--no-events'], seconds: (results) => results.find((r) => r.metric === 'seconds')?.value ?? NaN };
const rss = (mb: number): BenchResult => ({ bench: 'b', metric: PROCESS_PEAK_RSS, value: mb, unit: 'MB' });

describe('bench harness: --sizes', () => {
  it('reads sizes in any number notation and refuses what is not a positive whole number', () => {
    expect(parseSizes(['--sizes', '1e6,3e6, 10000000'])).toEqual([1_000_000, 3_000_000, 10_000_000]);
    expect(parseSizes(['--rows', '5'])).toBeUndefined();
    for (const bad of ['', '1e6,', '0', '-5', '1.5', 'ten']) expect(() => parseSizes(['--sizes', bad]), bad).toThrow(/--sizes needs positive whole numbers/);
    expect(() => parseSizes(['--sizes'])).toThrow(/--sizes/);
  });

  it('gives each child the other options, the curve options once, and its own size instead of --sizes', () => {
    expect(childArgs(['--sizes', '1,2', '--rows', '9', '--rate', '50', '--no-events'], spec, 2)).toEqual(['--rate', '50', '--no-events', '--rows', '2']);
    expect(childArgs(['--rate', '50', '--sizes', '1,2'], spec, 1)).toEqual(['--rate', '50', '--no-events', '--rows', '1']);
  });

  it('makes a point per size: seconds per million, the baseline, the process peak or the one the bench names', () => {
    const results: BenchResult[] = [{ bench: 'b', metric: 'seconds', value: 12, unit: 's' }, rss(250.5)];
    expect(curvePoint(3_000_000, results, spec)).toEqual({ size: 3_000_000, seconds: 12, seconds_per_million: 4, peak_rss_mb: 250.5 });
    const withOthers: CurveSpec = { ...spec, baselineSeconds: () => 10, peakRssMb: () => 199 };
    expect(curvePoint(500_000, results, withOthers)).toEqual({ size: 500_000, seconds: 12, seconds_per_million: 24, baseline_seconds: 10, peak_rss_mb: 199, bench_process_peak_rss_mb: 250.5 });
    expect(() => curvePoint(1, [rss(1)], spec)).toThrow(/no seconds/);
    expect(() => curvePoint(1, [{ bench: 'b', metric: 'seconds', value: 1, unit: 's' }], spec)).toThrow(/process_peak_rss/);
  });

  it('prints the curve as a Markdown table', () => {
    const points: CurvePoint[] = [
      { size: 1_000_000, seconds: 2, seconds_per_million: 2, peak_rss_mb: 100 },
      { size: 3_000_000, seconds: 7.5, seconds_per_million: 2.5, baseline_seconds: 6, peak_rss_mb: 120 },
    ];
    expect(perMillionSpread(points)).toBe(1.25);
    expect(curveTable('rows', points)).toBe(
      ['| rows | seconds | s per million rows | baseline s | peak RSS MB |', '| --- | --- | --- | --- | --- |', '| 1,000,000 | 2 | 2 |  | 100 |', '| 3,000,000 | 7.5 | 2.5 | 6 | 120 |'].join('\n'),
    );
  });

  it('runs each size in its own process and counts memory held outside the JavaScript heap in its peak', () => {
    const fixture = fileURLToPath(new URL('./fixtures/allocating.bench.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', fixture, '--sizes', '10,210'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // Each child's own lines are passed on, then the curve.
    expect(lines.filter((l) => l['metric'] === PROCESS_PEAK_RSS)).toHaveLength(2);
    const { curve } = lines.at(-1) as { curve: { size: string; points: CurvePoint[] } };
    expect(curve.size).toBe('megabytes');
    expect(lines.at(-1)).toMatchObject({ curve: { per_million_spread: 1 } });
    const [small, large] = curve.points as [CurvePoint, CurvePoint];
    expect([small.seconds, large.seconds, large.seconds_per_million]).toEqual([0.1, 2.1, 10_000]);
    // 200 MB more held by the second child: its peak is at least that much higher (a shared peak would not be).
    expect(large.peak_rss_mb - small.peak_rss_mb).toBeGreaterThan(190);
  }, 60_000);
});

describe('statement timer', () => {
  it('groups statements by their head, without literals', () => {
    expect(statementHead(`INSERT INTO "s"."t" ("a") VALUES ('x@example.com')`)).toBe('INSERT INTO "s"."t" ("a")');
    expect(statementHead(`CREATE TABLE "s"."c" AS SELECT * FROM (\n  SELECT 1 WHERE k = 'it''s')`)).toBe('CREATE TABLE "s"."c" AS SELECT * FROM');
    expect(statementHead(`DELETE FROM "j" WHERE "k" = 'secret'`)).toBe('DELETE FROM "j" WHERE "k" = ?');
  });
});
