import { describe, expect, it } from 'vitest';
import { emptyCounts } from '../planner.js';
import { REMOVAL_FLOOR, toSend, tooManyRemovals } from './plan.js';

describe('the removal guard of mirror and audience syncs', () => {
  it('a count allows exactly that many removals', () => {
    expect(tooManyRemovals(3, 3, 5)).toBeUndefined();
    expect(tooManyRemovals(4, 3, 5)?.why).toBe('more than max_removals allows (3)');
    expect(tooManyRemovals(1, 0, 1000)?.why).toBe('more than max_removals allows (0)');
    // A count is the user's own number: removing everything within it is allowed.
    expect(tooManyRemovals(5, 100, 5)).toBeUndefined();
  });

  it('a share allows its part of the snapshot, rounded up, and never fewer than the floor', () => {
    expect(REMOVAL_FLOOR).toBe(10);
    expect(tooManyRemovals(100, '10%', 1000)).toBeUndefined();
    expect(tooManyRemovals(101, '10%', 1000)?.why).toMatch(/^more than max_removals allows \(10% of 1000 is 100; a share always allows 10\)$/);
    expect(tooManyRemovals(11, '10%', 101)).toBeUndefined(); // 10% of 101 rounds up to 11
    // A small audience's churn: 4 of 25 is 16%, within the floor.
    expect(tooManyRemovals(4, '10%', 25)).toBeUndefined();
    expect(tooManyRemovals(10, '10%', 25)).toBeUndefined();
    expect(tooManyRemovals(11, '10%', 25)?.why).toMatch(/more than max_removals allows \(10% of 25 is 3/);
  });

  it('a share below 100% refuses leaving the destination empty when it held two or more, within the floor or not', () => {
    expect(tooManyRemovals(21, '10%', 21)?.why).toBe('every record, leaving it empty, which max_removals (10%) refuses');
    expect(tooManyRemovals(2, '10%', 2)?.why).toBe('every record, leaving it empty, which max_removals (10%) refuses');
    // Every member replaced by others: not emptied; within the floor it goes through, beyond it the share refuses.
    expect(tooManyRemovals(2, '10%', 2, 2)).toBeUndefined();
    expect(tooManyRemovals(21, '10%', 21, 21)?.why).toMatch(/^more than max_removals allows/);
    expect(tooManyRemovals(2, '99%', 2)).toBeDefined();
    // One member leaving a one-member audience, or a share of 100%, is allowed.
    expect(tooManyRemovals(1, '10%', 1)).toBeUndefined();
    expect(tooManyRemovals(21, '100%', 21)).toBeUndefined();
  });
});

describe('what a plan sends', () => {
  it('counts removed, changed and added; never held back or invalid rows', () => {
    expect(toSend({ ...emptyCounts(), removed: 2, changed: 3, added: 5, held_back: 7, duplicate_key: 11, null_key: 13 })).toBe(10);
    expect(toSend(emptyCounts())).toBe(0);
  });
});
