import { describe, expect, it } from 'vitest';
import { AuthError, BatchRejectedError, RateLimitedError, TransientError, type Batch, type DestinationSession, type RecordOutcome } from '../../destinations/destination.js';
import { createLogger } from '../log/logger.js';
import { Executor, type PendingRecord, type Settled } from './executor.js';
import { RateGate } from './rate.js';

const records = (n: number, operation: PendingRecord['operation'] = 'upsert', start = 0): PendingRecord[] =>
  Array.from({ length: n }, (_, i) => ({ seq: start + i + 1, operation, record: { key: `k${start + i + 1}`, fields: { v: start + i }, destinationId: null, idempotencyKey: `ik${start + i + 1}` }, retained: null, inDoubt: false }));

async function* pages(...lists: PendingRecord[][]) {
  for (const list of lists) yield list;
}

/** A session answering with `answer`, recording every batch it was given. */
function session(answer: (batch: Batch, call: number) => Promise<readonly RecordOutcome[]> | readonly RecordOutcome[]) {
  const batches: Batch[] = [];
  const s: DestinationSession = {
    check: async () => undefined,
    apply: async (batch) => {
      batches.push(batch);
      return answer(batch, batches.length);
    },
    close: async () => undefined,
  };
  return { session: s, batches };
}

function executor(s: DestinationSession, overrides: Partial<ConstructorParameters<typeof Executor>[0]> = {}) {
  const settled: Settled[] = [];
  const ex = new Executor({
    session: s,
    object: 'contacts',
    keyField: 'id',
    limits: { maxBatchRecords: 10, maxBatchBytes: 1_000_000, requestsPerSecond: null, concurrency: 2, timeoutMs: 1000 },
    gate: new RateGate(null),
    retries: { attempts: 4, baseMs: 1, maxMs: 5 },
    recordBytes: () => 100,
    onSettled: (x) => settled.push(x),
    logger: createLogger({ level: 'silent' }),
    ...overrides,
  });
  return { ex, settled };
}

const ok = (batch: Batch) => batch.records.map(() => ({ ok: true as const }));

describe('executor', () => {
  it('batches by records, by bytes, and never mixes operations', async () => {
    const { session: s, batches } = session(ok);
    const { ex, settled } = executor(s, { recordBytes: (r) => (r.key === 'k4' ? 450 : 100), limits: { maxBatchRecords: 10, maxBatchBytes: 1000, requestsPerSecond: null, concurrency: 1, timeoutMs: 1000 } });
    await ex.run(pages(records(12), records(3, 'delete', 12)));
    expect(batches.map((b) => [b.operation, b.records.length])).toEqual([
      ['upsert', 6],
      ['upsert', 6],
      ['delete', 3],
    ]);
    expect(settled.filter((x) => x.ok)).toHaveLength(15);
  });

  it('rejects a record larger than a whole request without sending it', async () => {
    const { session: s, batches } = session(ok);
    const { ex, settled } = executor(s, { recordBytes: (r) => (r.key === 'k2' ? 5_000_000 : 10) });
    await ex.run(pages(records(3)));
    expect(batches.flatMap((b) => b.records.map((r) => r.key))).toEqual(['k1', 'k3']);
    expect(settled.find((x) => x.record.record.key === 'k2')).toMatchObject({ ok: false, code: 'too_large', retryable: false });
  });

  it('splits a batch refused whole until the bad record is alone', async () => {
    const { session: s, batches } = session((batch) => {
      if (batch.records.some((r) => r.key === 'k6')) throw new BatchRejectedError('invalid record somewhere', 'http_400');
      return ok(batch);
    });
    const { ex, settled } = executor(s);
    await ex.run(pages(records(8)));
    expect(ex.stats.splits).toBe(3);
    expect(settled.filter((x) => x.ok)).toHaveLength(7);
    expect(settled.find((x) => !x.ok)).toMatchObject({ record: { record: { key: 'k6' } }, code: 'http_400', retryable: false });
    expect(batches.filter((b) => b.records.length === 1 && b.records[0]!.key === 'k6')).toHaveLength(1);
  });

  it('never retries a permanent per-record failure, retries a retryable one up to the limit', async () => {
    const { session: s, batches } = session((batch) =>
      batch.records.map((r) => (r.key === 'k1' ? { ok: false, code: 'invalid', message: 'bad', retryable: false } : r.key === 'k2' ? { ok: false, code: 'busy', message: 'later', retryable: true } : { ok: true })),
    );
    const { ex, settled } = executor(s);
    await ex.run(pages(records(3)));
    expect(batches.map((b) => b.records.map((r) => r.key))).toEqual([['k1', 'k2', 'k3'], ['k2'], ['k2'], ['k2']]);
    expect(settled.find((x) => x.record.record.key === 'k1')).toMatchObject({ ok: false, retryable: false });
    expect(settled.find((x) => x.record.record.key === 'k2')).toMatchObject({ ok: false, code: 'busy', retryable: true });
  });

  it('takes "already exists" as delivered only for a record that may have arrived before', async () => {
    const exists = { ok: false as const, code: 'already_exists', message: 'exists', retryable: false, alreadyExists: true };
    // k1 was left in doubt by a run that died; k2 was not sent before: someone else created it.
    const { session: s } = session((batch) => batch.records.map(() => exists));
    const list = records(2, 'insert').map((r, i) => ({ ...r, inDoubt: i === 0 }));
    const { ex, settled } = executor(s);
    await ex.run(pages(list));
    expect(settled.map((x) => [x.record.record.key, x.ok])).toEqual([
      ['k1', true],
      ['k2', false],
    ]);
    expect(ex.stats.alreadyDelivered).toBe(1);

    // An attempt of this run whose answer was lost (it took effect): the retry's "already exists" is its delivery.
    const lost = session((_, call) => {
      if (call === 1) throw new TransientError('socket hang up');
      return [exists];
    });
    const again = executor(lost.session);
    await again.ex.run(pages(records(1, 'insert')));
    expect(again.settled).toMatchObject([{ ok: true }]);
    expect(again.ex.stats.alreadyDelivered).toBe(1);

    // A refused batch (429) took no effect: "already exists" after it is a real rejection.
    const limited = session((_, call) => {
      if (call === 1) throw new RateLimitedError('slow down', 1);
      return [exists];
    });
    const third = executor(limited.session);
    await third.ex.run(pages(records(1, 'insert')));
    expect(third.settled).toMatchObject([{ ok: false, code: 'already_exists' }]);
  });

  it('waits for beforeDispatch before each batch, with its records, and stops if it fails', async () => {
    const events: string[] = [];
    const { session: s } = session((batch) => {
      events.push(`send ${batch.records.at(-1)!.key}`);
      return ok(batch);
    });
    const { ex } = executor(s, {
      limits: { maxBatchRecords: 10, maxBatchBytes: 1_000_000, requestsPerSecond: null, concurrency: 1, timeoutMs: 1000 },
      beforeDispatch: async (batch) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push(`mark ${batch[0]!.seq}-${batch.at(-1)!.seq}`);
      },
    });
    await ex.run(pages(records(25)));
    expect(events).toEqual(['mark 1-10', 'send k10', 'mark 11-20', 'send k20', 'mark 21-25', 'send k25']);

    const broken = session(ok);
    const failing = executor(broken.session, {
      beforeDispatch: async () => {
        throw new Error('journal unavailable');
      },
    });
    await failing.ex.run(pages(records(5)));
    expect(broken.batches).toHaveLength(0);
    expect(failing.ex.failure?.message).toBe('journal unavailable');
  });

  it("derives the batch's idempotency key from its records' keys, whatever the run", async () => {
    const first = session(ok);
    await executor(first.session).ex.run(pages(records(3)));
    const second = session(ok);
    await executor(second.session).ex.run(pages(records(3)));
    expect(second.batches[0]!.idempotencyKey).toBe(first.batches[0]!.idempotencyKey);
    const other = session(ok);
    await executor(other.session).ex.run(pages(records(3, 'upsert', 1)));
    expect(other.batches[0]!.idempotencyKey).not.toBe(first.batches[0]!.idempotencyKey);
  });

  it('retries transient failures with the same idempotency key, and stops the sync when they persist', async () => {
    const { session: s, batches } = session((_, call) => {
      if (call <= 2) throw new TransientError('502');
      return [{ ok: true }];
    });
    const { ex, settled } = executor(s);
    await ex.run(pages(records(1)));
    expect(settled).toHaveLength(1);
    expect(new Set(batches.map((b) => b.idempotencyKey)).size).toBe(1);

    const down = session(() => {
      throw new TransientError('503');
    });
    const stopped = executor(down.session);
    await stopped.ex.run(pages(records(25)));
    expect(stopped.ex.failure?.message).toMatch(/gave up after 4 attempts: 503/);
    // No record of a batch that never got an answer is settled: the next run sends them.
    expect(stopped.settled).toHaveLength(0);
  });

  it('times out an answer that never comes', async () => {
    let calls = 0;
    const s: DestinationSession = { check: async () => undefined, apply: (batch) => (++calls === 1 ? new Promise(() => undefined) : Promise.resolve(ok(batch))), close: async () => undefined };
    const { ex, settled } = executor(s, { limits: { maxBatchRecords: 10, maxBatchBytes: 1e6, requestsPerSecond: null, concurrency: 1, timeoutMs: 50 } });
    await ex.run(pages(records(2)));
    expect(calls).toBe(2);
    expect(settled.every((x) => x.ok)).toBe(true);
  });

  it('honours Retry-After by pausing every request, without counting it as an attempt', async () => {
    const started: number[] = [];
    const { session: s } = session((batch, call) => {
      started.push(performance.now());
      if (call === 1) throw new RateLimitedError('429', 300);
      return ok(batch);
    });
    const { ex, settled } = executor(s, { retries: { attempts: 1, baseMs: 1, maxMs: 1 }, limits: { maxBatchRecords: 1, maxBatchBytes: 1e6, requestsPerSecond: null, concurrency: 1, timeoutMs: 1000 } });
    await ex.run(pages(records(2)));
    expect(settled.every((x) => x.ok)).toBe(true);
    expect(started[1]! - started[0]!).toBeGreaterThanOrEqual(290);
    expect(ex.stats.rateLimited).toBe(1);
  });

  it('stops on bad credentials and reports records without an answer as missing outcomes', async () => {
    const auth = session(() => {
      throw new AuthError('401');
    });
    const a = executor(auth.session);
    await a.ex.run(pages(records(30)));
    expect(a.ex.failure).toBeInstanceOf(AuthError);
    expect(auth.batches.length).toBeLessThanOrEqual(2);

    const short = session((batch) => batch.records.slice(1).map(() => ({ ok: true as const })));
    const b = executor(short.session, { retries: { attempts: 1, baseMs: 1, maxMs: 1 } });
    await b.ex.run(pages(records(3)));
    expect(b.settled.filter((x) => !x.ok)).toMatchObject([{ code: 'no_outcome', retryable: true }]);
  });
});

describe('rate gate', () => {
  it('holds requests to the ceiling', async () => {
    const gate = new RateGate(20);
    const start = performance.now();
    for (let i = 0; i < 14; i++) await gate.acquire();
    // A burst of 4, then one every 50 ms: 10 × 50 ms.
    expect(performance.now() - start).toBeGreaterThanOrEqual(450);
  });
});
