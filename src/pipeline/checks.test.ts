import { describe, expect, it } from 'vitest';
import { ageBefore, describeElapsed, parseAge } from '../expressions/age.js';
import { boundsProblem, upstreamOf } from './checks.js';

describe('model bounds', () => {
  const model = { name: 'm', checks: { min_rows: 10, max_rows: 1000, max_change: 50 } };

  it('refuses fewer than min_rows and more than max_rows, naming the model and the bound', () => {
    expect(boundsProblem(model, 10)).toBeUndefined();
    expect(boundsProblem(model, 1000)).toBeUndefined();
    expect(boundsProblem(model, 9)).toBe('model m has 9 rows, fewer than checks.min_rows (10)');
    expect(boundsProblem(model, 1001)).toBe('model m has 1001 rows, more than checks.max_rows (1000)');
    expect(boundsProblem({ name: 'm', checks: undefined }, 0)).toBeUndefined();
  });

  it('refuses a change of row count beyond max_change, up or down; a first build or an empty previous one is not compared', () => {
    expect(boundsProblem(model, 150, 100)).toBeUndefined();
    expect(boundsProblem(model, 50, 100)).toBeUndefined();
    expect(boundsProblem(model, 151, 100)).toBe('model m went from 100 to 151 rows (+51%), more than checks.max_change (50%)');
    expect(boundsProblem(model, 49, 100)).toBe('model m went from 100 to 49 rows (-51%), more than checks.max_change (50%)');
    expect(boundsProblem({ name: 'm', checks: { max_change: 5 } }, 1000, undefined)).toBeUndefined();
    expect(boundsProblem({ name: 'm', checks: { max_change: 5 } }, 1000, 0)).toBeUndefined();
    expect(boundsProblem({ name: 'm', checks: { max_change: 0.5 } }, 1006, 1000)).toBe('model m went from 1000 to 1006 rows (+0.6%), more than checks.max_change (0.5%)');
  });
});

describe('freshness ages', () => {
  it('reads minutes and hours besides the calendar durations', () => {
    expect(parseAge('30 minutes')).toEqual({ amount: 30, unit: 'minute', text: '30 minutes' });
    expect(parseAge('6 hours')).toEqual({ amount: 6, unit: 'hour', text: '6 hours' });
    expect(parseAge(' 2 days ')).toEqual({ amount: 2, unit: 'day', text: '2 days' });
    expect(parseAge('2 dayz')).toBeUndefined();
  });

  it('counts back in calendar terms, in UTC', () => {
    const now = new Date('2026-03-31T12:00:00Z');
    expect(ageBefore(now, parseAge('90 minutes')!).toISOString()).toBe('2026-03-31T10:30:00.000Z');
    expect(ageBefore(now, parseAge('2 weeks')!).toISOString()).toBe('2026-03-17T12:00:00.000Z');
    // February has no 31st: the last day of February, as SQL's date arithmetic gives.
    expect(ageBefore(now, parseAge('1 month')!).toISOString()).toBe('2026-02-28T12:00:00.000Z');
    expect(ageBefore(new Date('2028-02-29T00:00:00Z'), parseAge('1 year')!).toISOString()).toBe('2027-02-28T00:00:00.000Z');
  });

  it('says elapsed time in the largest unit that reads well', () => {
    expect(describeElapsed(59 * 60_000)).toBe('59 minutes');
    expect(describeElapsed(119 * 60_000)).toBe('119 minutes');
    expect(describeElapsed(30 * 3_600_000)).toBe('30 hours');
    expect(describeElapsed(6 * 86_400_000 + 3_600_000)).toBe('6 days');
    expect(describeElapsed(-5)).toBe('0 minutes');
  });
});

describe('what is upstream of a model', () => {
  it('follows inputs through models and companion tables to sources', () => {
    const def = (inputs: string[]) => ({ inputs: inputs.map((relation) => ({ relation })) });
    const project = {
      sources: new Map([['raw_a', {}], ['raw_b', {}], ['raw_c', {}]]),
      models: new Map([['a', def(['raw_a'])], ['b', def(['a_members', 'raw_b'])], ['c', def(['raw_c'])]]),
      companions: new Map([['a_members', { model: 'a', suffix: 'members' }]]),
    };
    expect(upstreamOf(project, 'b')).toEqual({ sources: ['raw_a', 'raw_b'], models: ['b', 'a'] });
    expect(upstreamOf(project, 'c')).toEqual({ sources: ['raw_c'], models: ['c'] });
  });
});
