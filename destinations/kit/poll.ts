import { setTimeout as sleep } from 'node:timers/promises';
import { TransientError } from '../destination.js';

/** A vendor's asynchronous job (an import) that a batch waits for. */
export interface PolledJob<T> {
  /** The job, for the message when it outlives the batch: "Klaviyo import job 123". */
  readonly name: string;
  /** First wait before asking, then ×1.5 up to `maxIntervalMs`. */
  readonly intervalMs: number;
  readonly maxIntervalMs: number;
  /** The batch's time budget: a job still running when it is spent is a TransientError. */
  readonly signal: AbortSignal;
  /** One look at the job: undefined when the answer did not say (asked again). */
  read(signal: AbortSignal): Promise<T | undefined>;
  status(job: T): string;
  /** True for a status the job stays in (complete, cancelled, failed). */
  finished(status: string): boolean;
}

/**
 * Waits for a job within the batch: asks after `intervalMs`, then ever less often, until its status is finished. A
 * job still running when the batch's time budget is spent fails the batch as transient, and the engine retries it
 * whole — which is safe only for a job that is an upsert, as the vendors' contact imports are.
 */
export async function pollJob<T>(job: PolledJob<T>): Promise<T> {
  let wait = job.intervalMs;
  let status = 'queued';
  try {
    for (;;) {
      await sleep(wait, undefined, { signal: job.signal });
      const seen = await job.read(job.signal);
      if (seen !== undefined) {
        status = job.status(seen);
        if (job.finished(status)) return seen;
      }
      wait = Math.min(job.maxIntervalMs, Math.ceil(wait * 1.5));
    }
  } catch (error) {
    if (job.signal.aborted) throw new TransientError(`${job.name} was still ${status} when the batch's time budget ran out`);
    throw error;
  }
}
