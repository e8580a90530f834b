import type { Threshold } from '../schema.js';

/** A count, or a percentage of `of` rounded up to a whole record (so 10% of 4 allows 1). */
export function thresholdValue(threshold: Threshold, of: number): number {
  if (typeof threshold === 'number') return threshold;
  return Math.ceil((Number(threshold.slice(0, -1)) / 100) * of);
}
