import { describe, expect, it } from 'vitest';
import { DEFAULT_SEGMENTS, expandScores, segmentMapProblems } from './segments.js';

describe('RFM segment maps', () => {
  it('the default map covers each of the 25 R×F cells exactly once, with the 11 usual segments', () => {
    const claims = new Map<string, string[]>();
    for (const segment of DEFAULT_SEGMENTS)
      for (const r of expandScores(segment.r)) for (const f of expandScores(segment.f)) claims.set(`${r}${f}`, [...(claims.get(`${r}${f}`) ?? []), segment.name]);
    for (let r = 1; r <= 5; r++) for (let f = 1; f <= 5; f++) expect(claims.get(`${r}${f}`), `R${r}F${f}`).toHaveLength(1);
    expect(claims.size).toBe(25);
    expect(DEFAULT_SEGMENTS.map((s) => s.name)).toEqual([
      'Champions', 'Loyal Customers', 'Potential Loyalists', 'New Customers', 'Promising', 'Need Attention', 'About to Sleep', 'At Risk', "Can't Lose Them", 'Hibernating', 'Lost',
    ]);
    expect(segmentMapProblems(DEFAULT_SEGMENTS, ['segments'])).toEqual([]);
  });

  it('the best and worst corners land where marketers expect them', () => {
    const at = (r: number, f: number) => DEFAULT_SEGMENTS.find((s) => expandScores(s.r).includes(r) && expandScores(s.f).includes(f))!.name;
    expect(at(5, 5)).toBe('Champions');
    expect(at(1, 1)).toBe('Lost');
    expect(at(1, 5)).toBe("Can't Lose Them");
    expect(at(5, 1)).toBe('New Customers');
  });

  it('reports overlaps at the later segment and uncovered cells at the map', () => {
    const problems = segmentMapProblems(
      [
        { name: 'Fidèles', r: '3-5', f: [4, 5] },
        { name: 'Champions', r: 5, f: '4-5' },
        { name: 'Les autres', r: '1-5', f: '1-2' },
      ],
      ['segments'],
    );
    expect(problems).toEqual([
      { at: ['segments', 1], code: 'overlapping-segments', message: 'segment "Champions" overlaps earlier segments on R5F4 (already in "Fidèles"), R5F5 (already in "Fidèles"); each R×F cell must belong to exactly one segment' },
      { at: ['segments'], code: 'uncovered-cells', message: 'the segment map leaves 9 of the 25 R×F cells without a segment: R1F3, R1F4, R1F5, R2F3, R2F4, R2F5, R3F3, R4F3, R5F3' },
    ]);
  });

  it('reads ranges, lists and single scores; a backwards range is reported', () => {
    expect(expandScores('2-4')).toEqual([2, 3, 4]);
    expect(expandScores([5, 1, 5])).toEqual([1, 5]);
    expect(expandScores(3)).toEqual([3]);
    expect(segmentMapProblems([{ name: 'Tous', r: '5-1', f: '1-5' }], ['segments'])[0]).toMatchObject({ at: ['segments', 0, 'r'], code: 'bad-threshold-order' });
  });
});
