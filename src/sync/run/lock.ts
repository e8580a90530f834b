import { acquireLocks, LockHeldError, type Lease, type LockHolder, type LockRequest, type LockSet } from '../../state/lock.js';
import type { StateStore } from '../../state/store.js';
import { SyncFailure } from './failure.js';

/**
 * Locks, taken one way. Every sync lock comes from `acquireLocks` (src/state/lock.ts), a set that takes its keys in
 * sorted order and renews their leases: a command takes the locks of all its syncs at once before any runs
 * (SyncEngine.lock, waiting up to `--wait`), and a run started on its own takes a set for its sync alone when it
 * starts, never waiting (takeRunLock). A run learns that another runner took its lock through the set's `lost`.
 */

/** How long a sync lock lasts without renewal; runners renew it every third of that. */
export const DEFAULT_LEASE_MS = 120_000;

export interface LockWaitOptions {
  /** How long to wait for locks other runners hold (default 0: fail at once with LockHeldError). */
  readonly waitMs?: number;
  readonly onWait?: (holder: LockHolder) => void;
  /** Run ids chosen beforehand by the caller (who may have announced them), by sync name. */
  readonly runIds?: ReadonlyMap<string, string>;
}

/** The lock a run writes its destination object under. */
export interface RunLock {
  readonly lease: Lease;
  /** Aborted, with the reason as a message, when another runner took the lock (its lease ran out unrenewed). */
  readonly lost: AbortSignal;
  /** Releases the lock when the run took it itself; the command releases the locks it took. */
  release(): Promise<void>;
}

/**
 * A run's lock: the one its command took (SyncEngine.lock), or else one it takes for its sync alone now, the same way,
 * without waiting: a lock another live runner holds fails the sync (SyncFailure naming the holder).
 */
export async function takeRunLock(store: StateStore, request: LockRequest, commandLocks: LockSet | undefined, leaseMs: number): Promise<RunLock> {
  const held = commandLocks?.lease(request.lockKey);
  if (held) return { lease: held, lost: commandLocks!.lost(request.lockKey), release: async () => undefined };
  let own: LockSet;
  try {
    own = await acquireLocks(store, [request], { leaseMs });
  } catch (error) {
    if (error instanceof LockHeldError) throw new SyncFailure(error.message);
    throw error;
  }
  return { lease: own.lease(request.lockKey)!, lost: own.lost(request.lockKey), release: () => own.release() };
}
