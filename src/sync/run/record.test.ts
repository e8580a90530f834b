import { describe, expect, it } from 'vitest';
import type { SyncDef } from '../load.js';
import { endStatus, runRecord, tooManyRejections } from './record.js';

const stats = (accepted: number, rejected: number) => ({ requests: 7, sent: accepted + rejected, accepted, rejected, rateLimited: 0, retries: 0, splits: 0, alreadyDelivered: 0 });
const hint = { sync: 'crm', sandbox: false };

describe('max_rejected', () => {
  it('never fails a run without a limit', () => {
    expect(tooManyRejections(undefined, stats(0, 1000), hint)).toBeUndefined();
  });

  it('allows rejections up to a count, or a share of the records settled rounded up', () => {
    expect(tooManyRejections(2, stats(18, 2), hint)).toBeUndefined();
    expect(tooManyRejections('10%', stats(18, 2), hint)).toBeUndefined();
    expect(tooManyRejections('10%', stats(3, 1), hint)).toBeUndefined();
    expect(tooManyRejections(0, stats(5, 0), hint)).toBeUndefined();
  });

  it('fails a run with more, naming the counts and the command that lists them', () => {
    expect(tooManyRejections('10%', stats(16, 4), hint)).toBe('4 of 20 records were rejected, more than max_rejected allows (2); see `tideline rejected crm`');
    expect(tooManyRejections(0, stats(5, 1), { sync: 'crm', sandbox: true })).toBe('1 of 6 records were rejected, more than max_rejected allows (0); see `tideline rejected crm --sandbox`');
  });
});

describe('the run record', () => {
  const sync: Pick<SyncDef, 'name' | 'mode'> = { name: 'crm', mode: 'mirror' };
  const counts = { removed: 1, changed: 2, added: 3, held_back: 4, too_old: 9, forgotten: 0, suppressed: 8, duplicate_key: 5, null_key: 6 };

  it('counts what was planned and settled; only a running run has no end', () => {
    const startedAt = new Date('2024-05-01T10:00:00Z');
    const running = runRecord({ runId: 'r1', sync, startedAt }, { counts, stats: stats(0, 0), error: undefined }, 'running');
    expect(running).toEqual({ runId: 'r1', sync: 'crm', mode: 'mirror', startedAt, finishedAt: null, status: 'running', added: 3, changed: 2, removed: 1, heldBack: 4, tooOld: 9, invalid: 11, sent: 0, accepted: 0, rejected: 0, requests: 7, error: null });
    const ended = runRecord({ runId: 'r1', sync, startedAt }, { counts, stats: stats(4, 2), error: 'boom' }, 'failed');
    expect(ended).toMatchObject({ status: 'failed', sent: 6, accepted: 4, rejected: 2, error: 'boom' });
    expect(ended.finishedAt).toBeInstanceOf(Date);
  });

  it('ends failed with an error, partial with rejections, else success', () => {
    expect(endStatus({ stats: stats(5, 1), error: 'lost the lock' })).toBe('failed');
    expect(endStatus({ stats: stats(5, 1), error: undefined })).toBe('partial');
    expect(endStatus({ stats: stats(5, 0), error: undefined })).toBe('success');
  });
});
