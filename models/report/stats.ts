/**
 * The statistics of holdout uplift, written once in TypeScript as the reference the SQL is generated from and tested
 * against. The warehouse computes the sufficient statistics and the intervals (so BI tools read finished tables);
 * these functions say what it computes.
 */

/** The 97.5 % quantile of the standard normal distribution: two-sided 95 % intervals. */
export const Z95 = 1.959963984540054;

/**
 * Cornish–Fisher expansion of Student's t quantile in powers of 1/ν (Abramowitz & Stegun 26.7.5), evaluated at z =
 * Z95: t(ν) ≈ z + g1/ν + g2/ν² + g3/ν³ + g4/ν⁴. Within 0.001 of the exact quantile for ν ≥ 4 and 1e-5 for ν ≥ 10
 * (tested against the t table); below 4 degrees of freedom the groups are far too small to conclude anyway.
 */
export const T975_EXPANSION: readonly [number, number, number, number] = (() => {
  const z = Z95;
  return [
    (z ** 3 + z) / 4,
    (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96,
    (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384,
    (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160,
  ];
})();

/** Student's t 97.5 % quantile for ν (possibly fractional) degrees of freedom, by the expansion above. */
export function t975(nu: number): number {
  const [g1, g2, g3, g4] = T975_EXPANSION;
  return Z95 + g1 / nu + g2 / nu ** 2 + g3 / nu ** 3 + g4 / nu ** 4;
}

export interface Interval {
  readonly low: number;
  readonly high: number;
}

/** Wilson score interval of a proportion x / n. */
export function wilson(x: number, n: number, z = Z95): Interval {
  const p = x / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: centre - half, high: centre + half };
}

/**
 * Newcombe's hybrid score interval (1998, method 10) for the difference of two independent proportions p1 − p0,
 * from the Wilson intervals of each: good coverage even with few conversions, unlike the Wald interval.
 */
export function newcombe(x1: number, n1: number, x0: number, n0: number, z = Z95): Interval {
  const p1 = x1 / n1;
  const p0 = x0 / n0;
  const w1 = wilson(x1, n1, z);
  const w0 = wilson(x0, n0, z);
  const d = p1 - p0;
  return { low: d - Math.sqrt((p1 - w1.low) ** 2 + (w0.high - p0) ** 2), high: d + Math.sqrt((w1.high - p1) ** 2 + (p0 - w0.low) ** 2) };
}

/** Welch's interval for a difference of means, from each group's size, mean and sample variance. */
export function welch(n1: number, mean1: number, var1: number, n0: number, mean0: number, var0: number): Interval & { readonly df: number } {
  const a = var1 / n1;
  const b = var0 / n0;
  const se = Math.sqrt(a + b);
  const df = (a + b) ** 2 / (a ** 2 / (n1 - 1) + b ** 2 / (n0 - 1));
  const t = t975(df);
  return { low: mean1 - mean0 - t * se, high: mean1 - mean0 + t * se, df };
}
