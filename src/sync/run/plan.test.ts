import { describe, expect, it } from 'vitest';
import { emptyCounts } from '../planner.js';
import { toSend, tooManyDeletes } from './plan.js';

describe('the delete guard of mirror mode', () => {
  it('allows up to max_deletes, a count or a share of the snapshot rounded up', () => {
    expect(tooManyDeletes(10, '10%', 100)).toBeUndefined();
    expect(tooManyDeletes(1, '10%', 4)).toBeUndefined();
    expect(tooManyDeletes(3, 3, 5)).toBeUndefined();
    expect(tooManyDeletes(1, '0.5%', 101)).toBeUndefined();
  });

  it('refuses more, naming the count, the limit and what to do', () => {
    expect(tooManyDeletes(11, '10%', 100)).toBe(
      'mirror would delete 11 records, more than max_deletes allows (10); nothing was sent. If the model is right, raise options.max_deletes for this run or run with --full-resync after checking',
    );
    expect(tooManyDeletes(2, '10%', 4)).toMatch(/^mirror would delete 2 records, more than max_deletes allows \(1\)/);
    expect(tooManyDeletes(1, 0, 1000)).toMatch(/allows \(0\)/);
    // An empty snapshot allows no deletion by share, whatever the share.
    expect(tooManyDeletes(1, '100%', 0)).toMatch(/allows \(0\)/);
  });
});

describe('what a plan sends', () => {
  it('counts removed, changed and added; never held back or invalid rows', () => {
    expect(toSend({ ...emptyCounts(), removed: 2, changed: 3, added: 5, held_back: 7, duplicate_key: 11, null_key: 13 })).toBe(10);
    expect(toSend(emptyCounts())).toBe(0);
  });
});
