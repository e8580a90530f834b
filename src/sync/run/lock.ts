import { hostname } from 'node:os';
import type { Logger } from '../../log/logger.js';
import { acquireLocks, LockHeldError, type Lease, type LockHolder, type LockRequest, type LockSet } from '../../state/lock.js';
import { writeLockNote } from '../../state/lock-note.js';
import { openWaiting, WarehouseHeldError, type Wait } from '../../state/warehouse-wait.js';
import type { StateStore } from '../../state/store.js';
import type { Connection } from '../../warehouses/connection.js';
import type { SyncDef } from '../load.js';
import { SyncFailure } from './failure.js';

export type { Wait } from '../../state/warehouse-wait.js';

/**
 * Locks, taken one way. Every sync lock comes from `acquireLocks` (src/state/lock.ts), a set that takes its keys in
 * sorted order and renews their leases: a command takes the locks of all its syncs at once before any runs
 * (SyncEngine.lock, waiting up to `--wait`), and a run started on its own takes a set for its sync alone when it
 * starts, never waiting (takeRunLock). A run learns that another runner took its lock through the set's `lost`.
 *
 * On a warehouse only one process can open (embedded DuckDB: Connection.exclusive) the file itself is the lock: a
 * second command cannot reach the lock rows, so it waits for the file (connectWaiting) and reads who holds it from the
 * note the holder wrote (noteHolder, src/state/lock-note.ts).
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

/** Another runner holds the embedded warehouse or a destination object's lock: the command sent nothing. */
export class SyncLockedError extends Error {
  override readonly name = 'SyncLockedError';

  constructor(
    message: string,
    /** The run holding the lock row, when known (the warehouse's note is only quoted in the message). */
    readonly holderRunId?: string,
  ) {
    super(message);
  }
}

export function lockedMessage(holder: string, wait: Wait): string {
  return `${holder}; nothing was sent${wait.asked ? ' (gave up waiting)' : ' (--wait waits for it)'}`;
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

/**
 * Connects to the project's target. An embedded warehouse held by another process (WarehouseBusyError) is waited
 * for until `wait.until` (openWaiting); past it, SyncLockedError says which run holds it, when the holder's note says so.
 */
export async function connectWaiting(connect: () => Promise<Connection>, targetDir: string, wait: Wait, logger: Logger): Promise<Connection> {
  try {
    return await openWaiting(connect, targetDir, wait, logger);
  } catch (error) {
    if (error instanceof WarehouseHeldError) throw new SyncLockedError(lockedMessage(error.holder, wait));
    throw error;
  }
}

/** On an exclusive warehouse, tells a second command which run holds it; false when there was nothing to note. */
export async function noteHolder(targetDir: string, runIds: ReadonlyMap<string, string>, syncs: readonly SyncDef[]): Promise<boolean> {
  const enabled = syncs.filter((s) => s.enabled);
  if (enabled.length === 0) return false;
  await writeLockNote(targetDir, {
    runId: runIds.get(enabled[0]!.name)!,
    syncs: enabled.map((s) => s.name),
    host: hostname(),
    pid: process.pid,
    since: new Date().toISOString(),
  });
  return true;
}
