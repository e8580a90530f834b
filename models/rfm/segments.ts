import type { FieldPath } from '../../src/project/problems.js';
import type { Scores, SegmentSpec } from './schema.js';

/**
 * The usual RFM segments on the recency × frequency grid (scores 1–5 each), as popularised by the RFM segmentation
 * maps used in marketing tools. Every one of the 25 cells belongs to exactly one segment (segments.test.ts proves it).
 */
export const DEFAULT_SEGMENTS: readonly SegmentSpec[] = [
  { name: 'Champions', r: [5], f: [4, 5] },
  { name: 'Loyal Customers', r: [3, 4], f: [4, 5] },
  { name: 'Potential Loyalists', r: [4, 5], f: [2, 3] },
  { name: 'New Customers', r: [5], f: [1] },
  { name: 'Promising', r: [4], f: [1] },
  { name: 'Need Attention', r: [3], f: [3] },
  { name: 'About to Sleep', r: [3], f: [1, 2] },
  { name: 'At Risk', r: [1, 2], f: [3, 4] },
  { name: "Can't Lose Them", r: [1, 2], f: [5] },
  { name: 'Hibernating', r: [2], f: [1, 2] },
  { name: 'Lost', r: [1], f: [1, 2] },
];

export function expandScores(scores: Scores): number[] {
  if (typeof scores === 'number') return [scores];
  if (Array.isArray(scores)) return [...new Set(scores)].sort();
  const [from, to] = scores.split('-').map(Number) as [number, number];
  const out: number[] = [];
  for (let s = Math.min(from, to); s <= Math.max(from, to); s++) out.push(s);
  return out;
}

export interface SegmentMapProblem {
  readonly at: FieldPath;
  readonly message: string;
  readonly code: string;
}

/** Problems with a segment map: cells claimed twice (located at the later segment) and cells nobody claims. */
export function segmentMapProblems(segments: readonly SegmentSpec[], at: FieldPath): SegmentMapProblem[] {
  const owner = new Map<string, number>();
  const problems: SegmentMapProblem[] = [];
  segments.forEach((segment, i) => {
    if (typeof segment.r === 'string' && Number(segment.r[0]) > Number(segment.r[2]))
      problems.push({ at: [...at, i, 'r'], message: `range "${segment.r}" runs backwards; write it low-high`, code: 'bad-threshold-order' });
    if (typeof segment.f === 'string' && Number(segment.f[0]) > Number(segment.f[2]))
      problems.push({ at: [...at, i, 'f'], message: `range "${segment.f}" runs backwards; write it low-high`, code: 'bad-threshold-order' });
    const overlaps: string[] = [];
    for (const r of expandScores(segment.r)) {
      for (const f of expandScores(segment.f)) {
        const cell = `R${r}F${f}`;
        const previous = owner.get(cell);
        if (previous !== undefined) overlaps.push(`${cell} (already in "${segments[previous]!.name}")`);
        else owner.set(cell, i);
      }
    }
    if (overlaps.length) problems.push({ at: [...at, i], message: `segment "${segment.name}" overlaps earlier segments on ${overlaps.join(', ')}; each R×F cell must belong to exactly one segment`, code: 'overlapping-segments' });
  });
  const missing: string[] = [];
  for (let r = 1; r <= 5; r++) for (let f = 1; f <= 5; f++) if (!owner.has(`R${r}F${f}`)) missing.push(`R${r}F${f}`);
  if (missing.length) problems.push({ at, message: `the segment map leaves ${missing.length} of the 25 R×F cells without a segment: ${missing.join(', ')}`, code: 'uncovered-cells' });
  return problems;
}
