import { hash } from 'node:crypto';
import pLimit from 'p-limit';
import {
  BatchRejectedError,
  DestinationError,
  RateLimitedError,
  StopSyncError,
  TransientError,
  type DestinationLimits,
  type DestinationSession,
  type Operation,
  type OutboundRecord,
  type RecordOutcome,
} from '../../destinations/destination.js';
import type { Logger } from '../log/logger.js';
import { redactor } from '../log/redact.js';
import type { RetryPolicy } from './load.js';
import { backoffMs, sleep, type RateGate } from './rate.js';

/** A record of the change set, ready to send. */
export interface PendingRecord {
  /** Its row in the change set: outcomes are journaled by it. */
  readonly seq: number;
  readonly operation: Operation;
  readonly record: OutboundRecord;
  /** What the snapshot keeps for this record (JSON), when the destination asks for it. */
  readonly retained: string | null;
  /** An earlier run may have delivered this record already (an insert whose answer was lost). */
  readonly inDoubt: boolean;
}

/** The final outcome of one record in this run. */
export type Settled =
  | { readonly record: PendingRecord; readonly ok: true; readonly destinationId: string | null }
  | {
      readonly record: PendingRecord;
      readonly ok: false;
      readonly code: string;
      readonly message: string;
      readonly retryable: boolean;
      /** Refused as retryable after an attempt whose answer was lost: the destination may hold it (see inDoubt). */
      readonly maybeDelivered?: boolean;
    };

export interface ExecutorOptions {
  readonly session: DestinationSession;
  readonly object: string;
  readonly keyField: string;
  readonly limits: DestinationLimits;
  readonly gate: RateGate;
  readonly retries: RetryPolicy;
  readonly recordBytes: (record: OutboundRecord) => number;
  /** Called once per record, as soon as its outcome is final. */
  readonly onSettled: (settled: Settled) => void;
  /**
   * Called before a batch is handed to the destination, with its records (in increasing `seq` order, batch after
   * batch); sending waits for it. The engine records durably what a run may have sent.
   */
  readonly beforeDispatch?: (records: readonly PendingRecord[]) => Promise<void>;
  /** True when outcomes can no longer be recorded: stop sending. */
  readonly mustStop?: () => boolean;
  readonly logger: Logger;
  /** Aborted from outside (Ctrl-C): no new request starts; those in flight finish. */
  readonly signal?: AbortSignal;
  /** Most 429 answers in a row for one batch before the sync stops (default 30). */
  readonly maxRateLimitedRetries?: number;
}

export interface ExecutorStats {
  requests: number;
  sent: number;
  accepted: number;
  rejected: number;
  rateLimited: number;
  retries: number;
  splits: number;
  /** Inserts answered "already exists" that an earlier attempt or run had delivered: counted as accepted. */
  alreadyDelivered: number;
}

/**
 * The executor: sends the change set to the destination, owning everything the destination must not do itself.
 *  - Batches: consecutive records of the same operation, up to the destination's records and bytes per request; a
 *    record larger than a whole request is rejected (`too_large`) without being sent.
 *  - Concurrency: up to `limits.concurrency` requests in flight (p-limit); reading pauses while that many more
 *    batches wait, so memory stays bounded.
 *  - Rate: every request passes the destination's RateGate; a 429 pauses the whole destination for its Retry-After.
 *  - Retries: transient failures (5xx, timeouts, resets) and retryable per-record failures are retried with full
 *    jitter backoff up to `retries.attempts`; a record still failing is rejected as retryable (a later run sends it).
 *    A batch still failing transiently stops the sync: the destination is down, and the rest would fail alike.
 *  - Splitting: a batch refused whole (BatchRejectedError) is halved until the bad record is alone; it is rejected
 *    with the destination's message, and the rest go through. Permanent per-record failures are never retried.
 *  - Auth failures and StopSyncError stop the sync: no new request starts, requests in flight finish.
 *  - Already delivered: an insert answered "already exists" is accepted when this record may have arrived before —
 *    an attempt of this run whose answer was lost, or an earlier run that died (`inDoubt`); otherwise rejected.
 * Every record gets exactly one `onSettled` unless the sync stopped before sending it.
 */
export class Executor {
  readonly stats: ExecutorStats = { requests: 0, sent: 0, accepted: 0, rejected: 0, rateLimited: 0, retries: 0, splits: 0, alreadyDelivered: 0 };
  /**
   * Records sent in an attempt whose answer was lost (timeout, reset, 5xx) and not settled for sure since (accepted,
   * or refused for good): the destination may hold them.
   */
  readonly #maybeDelivered = new Set<PendingRecord>();
  /** Why the sync stopped, if it did. */
  failure: Error | undefined;

  constructor(private readonly options: ExecutorOptions) {}

  get stopped(): boolean {
    return this.failure !== undefined || this.options.signal?.aborted === true || this.options.mustStop?.() === true;
  }

  async run(pages: AsyncIterable<readonly PendingRecord[]>): Promise<void> {
    const { limits } = this.options;
    const limit = pLimit(limits.concurrency);
    const inflight = new Set<Promise<void>>();
    let batch: PendingRecord[] = [];
    let bytes = 0;

    const dispatch = async () => {
      if (!batch.length) return;
      const records = batch;
      batch = [];
      bytes = 0;
      if (this.options.beforeDispatch) {
        try {
          await this.options.beforeDispatch(records);
        } catch (error) {
          return this.fail(error instanceof Error ? error : new Error(String(error)));
        }
        if (this.stopped) return;
      }
      const task = limit(() => this.send(records)).catch((error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))));
      inflight.add(task);
      void task.finally(() => inflight.delete(task));
      while (inflight.size >= limits.concurrency * 2) await Promise.race(inflight);
    };

    for await (const page of pages) {
      for (const record of page) {
        if (this.stopped) break;
        const size = this.options.recordBytes(record.record);
        if (size > limits.maxBatchBytes) {
          this.settle({ record, ok: false, code: 'too_large', message: `the record takes ${size} bytes; a request holds at most ${limits.maxBatchBytes}`, retryable: false });
          continue;
        }
        if (batch.length && (batch[0]!.operation !== record.operation || batch.length >= limits.maxBatchRecords || bytes + size > limits.maxBatchBytes)) await dispatch();
        batch.push(record);
        bytes += size;
      }
      if (this.stopped) break;
    }
    if (!this.stopped) await dispatch();
    await Promise.all(inflight);
  }

  /** Sends one batch until every record has a final outcome, or the sync stops. */
  private async send(records: readonly PendingRecord[]): Promise<void> {
    const { session, retries, gate, limits } = this.options;
    let pending = records;
    let attempt = 0;
    let limited = 0;
    while (pending.length) {
      if (this.stopped) return;
      await gate.acquire(this.options.signal);
      if (this.stopped) return;
      this.stats.requests++;
      let outcomes: readonly RecordOutcome[];
      try {
        outcomes = await this.apply(session, pending, limits.timeoutMs);
      } catch (error) {
        const failure = asDestinationError(error);
        if (failure instanceof RateLimitedError) {
          this.stats.rateLimited++;
          limited++;
          if (limited > (this.options.maxRateLimitedRetries ?? 30)) return this.fail(new StopSyncError(`still rate limited after ${limited - 1} waits: ${failure.message}`));
          gate.pause(failure.retryAfterMs ?? backoffMs(limited, retries.baseMs, retries.maxMs));
          continue;
        }
        if (failure instanceof TransientError) {
          // The request may have taken effect before the answer was lost.
          for (const record of pending) this.#maybeDelivered.add(record);
          attempt++;
          if (attempt >= retries.attempts) return this.fail(new TransientError(`gave up after ${attempt} attempts: ${failure.message}`));
          this.stats.retries++;
          this.options.logger.debug({ attempt, err: failure.message }, 'transient failure, retrying');
          await sleep(backoffMs(attempt, retries.baseMs, retries.maxMs), this.options.signal);
          continue;
        }
        if (failure instanceof BatchRejectedError) {
          if (pending.length === 1) {
            this.settle({ record: pending[0]!, ok: false, code: failure.code, message: failure.message, retryable: false });
            return;
          }
          this.stats.splits++;
          const middle = Math.ceil(pending.length / 2);
          await this.send(pending.slice(0, middle));
          await this.send(pending.slice(middle));
          return;
        }
        return this.fail(failure);
      }
      this.stats.sent += pending.length;
      const retry: { record: PendingRecord; code: string; message: string }[] = [];
      pending.forEach((record, i) => {
        const outcome = outcomes[i];
        if (outcome === undefined) {
          this.#maybeDelivered.add(record);
          retry.push({ record, code: 'no_outcome', message: 'the destination did not answer for this record' });
        } else if (outcome.ok) this.settle({ record, ok: true, destinationId: outcome.destinationId ?? null });
        else if (outcome.alreadyExists && (record.inDoubt || this.#maybeDelivered.has(record))) {
          this.stats.alreadyDelivered++;
          this.settle({ record, ok: true, destinationId: outcome.destinationId ?? null });
        } else if (outcome.retryable) retry.push({ record, code: outcome.code, message: outcome.message });
        else this.settle({ record, ok: false, code: outcome.code, message: outcome.message, retryable: false });
      });
      if (!retry.length) return;
      attempt++;
      if (attempt >= retries.attempts) {
        for (const r of retry) this.settle({ record: r.record, ok: false, code: r.code, message: r.message, retryable: true });
        return;
      }
      this.stats.retries++;
      pending = retry.map((r) => r.record);
      await sleep(backoffMs(attempt, retries.baseMs, retries.maxMs), this.options.signal);
    }
  }

  /** One `apply`, bounded by the timeout even if the destination ignores its signal. */
  private async apply(session: DestinationSession, pending: readonly PendingRecord[], timeoutMs: number): Promise<readonly RecordOutcome[]> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new TransientError(`no answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([
        session.apply({
          object: this.options.object,
          operation: pending[0]!.operation,
          keyField: this.options.keyField,
          records: pending.map((p) => p.record),
          signal: controller.signal,
          idempotencyKey: batchIdempotencyKey(pending),
        }),
        timedOut,
      ]);
    } finally {
      clearTimeout(timer);
      timedOut.catch(() => undefined);
    }
  }

  /**
   * Records the destination may hold though the run does not know it: sent in an attempt whose answer was lost, then
   * left without an outcome (the sync stopped) or refused as retryable.
   */
  inDoubt(): readonly PendingRecord[] {
    return [...this.#maybeDelivered];
  }

  private settle(settled: Settled): void {
    if (settled.ok || !settled.retryable) this.#maybeDelivered.delete(settled.record);
    if (settled.ok) this.stats.accepted++;
    else this.stats.rejected++;
    this.options.onSettled(!settled.ok && settled.retryable && this.#maybeDelivered.has(settled.record) ? { ...settled, maybeDelivered: true } : settled);
  }

  private fail(error: Error): void {
    this.failure ??= error;
  }
}

/**
 * The batch's key, from its records' own keys: stable whatever the attempt, and for the same records sent as one
 * batch by a later run (after a crash).
 */
function batchIdempotencyKey(records: readonly PendingRecord[]): string {
  // The operation and each key after a NUL, hashed in one call: the same digest as one update per piece, for less.
  let text = records[0]!.operation;
  for (const r of records) text += '\u0000' + r.record.idempotencyKey;
  return `tl-${hash('sha256', text, 'hex').slice(0, 32)}`;
}

/** Typed errors pass; anything else thrown by a destination is a bug or an unclassified failure: treated as transient. */
function asDestinationError(error: unknown): DestinationError {
  if (error instanceof DestinationError) return error;
  const message = redactor.scrub(error instanceof Error ? error.message : String(error));
  return new TransientError(`unexpected failure: ${message}`);
}
