import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from '../dialects/sql.js';
import type { Row } from '../warehouses/connection.js';
import type { StateStore } from './store.js';

/**
 * The sync lock: one row per destination object in `sync_locks`, so that two runners never write the same object
 * at once (they would race on its snapshot and on the API's rate limit).
 *
 * A lock is a lease: it expires `leaseMs` after it was last renewed, and its holder renews it while it runs. A lock
 * whose lease expired, or whose holder ran on this host under a process id that no longer exists (killed), is stale
 * and taken over. Expiry is judged by the runners' clocks, so clocks more than a fraction of the lease apart could
 * let a takeover happen early; leases are minutes long for that reason.
 *
 * Acquiring inserts a row; the primary key makes a concurrent insert fail on DuckDB and PostgreSQL. BigQuery and
 * Snowflake do not enforce keys, so every runner reads the rows back and the earliest claim wins; the others delete
 * theirs and report the lock as held.
 */
export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';

  /** The runner holding the lock, when it is known. */
  constructor(
    message: string,
    readonly holder?: LockHolder,
  ) {
    super(message);
  }
}

export interface LockHolder {
  readonly runId: string;
  readonly sync: string;
  readonly host: string;
  readonly pid: number;
  readonly acquiredAt: Date;
  readonly expiresAt: Date;
}

export interface Lease {
  /** Extends the lease; throws LockHeldError if another runner took the lock in the meantime. */
  renew(): Promise<void>;
  release(): Promise<void>;
  /** Holders whose stale lock was taken over. */
  readonly tookOver: readonly LockHolder[];
}

export interface LockOptions {
  readonly leaseMs: number;
  readonly host?: string;
  readonly pid?: number;
  /** Whether a process id on this host is alive (tests replace it). */
  readonly isAlive?: (pid: number) => boolean;
  /**
   * How long to wait for a held lock, polling with backoff (250 ms growing to 5 s), before giving up with
   * LockHeldError. Default 0: give up at once.
   */
  readonly waitMs?: number;
  /** Called once when the lock is found held and the runner starts waiting for it. */
  readonly onWait?: (holder: LockHolder) => void;
}

/** `acquireLock`, waiting up to `options.waitMs` for a held lock to be released (or to go stale). */
export async function acquireLock(store: StateStore, lockKey: string, sync: string, runId: string, options: LockOptions): Promise<Lease> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  let waited = false;
  for (let attempt = 0; ; attempt++) {
    try {
      return await tryLock(store, lockKey, sync, runId, options);
    } catch (error) {
      const pause = Math.min(5000, 250 * 1.6 ** attempt);
      if (!(error instanceof LockHeldError) || Date.now() + pause > deadline) throw error;
      if (!waited && error.holder) options.onWait?.(error.holder);
      waited = true;
      await sleep(pause);
    }
  }
}

async function tryLock(store: StateStore, lockKey: string, sync: string, runId: string, options: LockOptions): Promise<Lease> {
  const d = store.dialect;
  const locks = d.table(store.table('locks'));
  const host = options.host ?? hostname();
  const pid = options.pid ?? process.pid;
  const isAlive = options.isAlive ?? processAlive;
  const where = sql`${d.id('lock_key')} = ${d.string(lockKey)}`;
  const read = async (): Promise<LockHolder[]> =>
    (await store.connection.query(sql`SELECT * FROM ${locks} WHERE ${where} ORDER BY ${d.id('acquired_at')}, ${d.id('run_id')}`)).map(holder);
  const tookOver: LockHolder[] = [];

  for (let attempt = 0; attempt < 3; attempt++) {
    for (const current of await read()) {
      const stale = current.expiresAt.getTime() < Date.now() || (current.host === host && current.pid !== pid && !isAlive(current.pid));
      if (!stale) throw new LockHeldError(describe(lockKey, current), current);
      await store.connection.execute(sql`DELETE FROM ${locks} WHERE ${where} AND ${d.id('run_id')} = ${d.string(current.runId)}`);
      tookOver.push(current);
    }
    const now = new Date();
    try {
      await store.connection.execute(
        sql`INSERT INTO ${locks} (${d.id('lock_key')}, ${d.id('sync_name')}, ${d.id('run_id')}, ${d.id('host')}, ${d.id('pid')}, ${d.id('acquired_at')}, ${d.id('expires_at')}) VALUES (${d.string(lockKey)}, ${d.string(sync)}, ${d.string(runId)}, ${d.string(host)}, ${d.literal(pid)}, ${d.timestampLiteral(now)}, ${d.timestampLiteral(new Date(now.getTime() + options.leaseMs))})`,
      );
    } catch {
      // Another runner inserted first (primary key): look again.
      continue;
    }
    const holders = await read();
    if (holders[0]?.runId === runId) {
      return {
        tookOver,
        renew: async () => {
          const until = new Date(Date.now() + options.leaseMs);
          await store.connection.execute(sql`UPDATE ${locks} SET ${d.id('expires_at')} = ${d.timestampLiteral(until)} WHERE ${where} AND ${d.id('run_id')} = ${d.string(runId)}`);
          const after = await read();
          if (after[0]?.runId !== runId) throw new LockHeldError(`lost the lock on ${lockKey}: ${after[0] ? describe(lockKey, after[0]) : 'its row was deleted'}`);
        },
        release: async () => {
          await store.connection.execute(sql`DELETE FROM ${locks} WHERE ${where} AND ${d.id('run_id')} = ${d.string(runId)}`);
        },
      };
    }
    await store.connection.execute(sql`DELETE FROM ${locks} WHERE ${where} AND ${d.id('run_id')} = ${d.string(runId)}`);
    if (holders[0]) throw new LockHeldError(describe(lockKey, holders[0]), holders[0]);
  }
  throw new LockHeldError(`could not take the lock on ${lockKey}: other runners kept claiming it`);
}

function holder(row: Row): LockHolder {
  return {
    runId: String(row['run_id']),
    sync: String(row['sync_name']),
    host: String(row['host']),
    pid: Number(row['pid']),
    acquiredAt: timestamp(row['acquired_at']),
    expiresAt: timestamp(row['expires_at']),
  };
}

function timestamp(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}

/** Who holds a lock, for the user: the run and since when; the lock key names no secret (see lockScope). */
function describe(lockKey: string, h: LockHolder): string {
  return `${lockKey} is locked by run ${h.runId} since ${h.acquiredAt.toISOString()} (sync ${h.sync}, ${h.host} pid ${h.pid}; lease until ${h.expiresAt.toISOString()})`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LockRequest {
  readonly lockKey: string;
  readonly sync: string;
  readonly runId: string;
}

/**
 * Locks taken together and kept alive together until released: what one `tideline sync` command holds for every
 * destination object it is about to write, so that a second command either gets all of them or none.
 *
 * Keys are taken in sorted order: two commands wanting overlapping sets both ask for their first common key first,
 * so one of them gets everything and neither holds a key the other waits for (no deadlock). Syncs sharing a key
 * share its lease; its row names the run of the first of them.
 */
export interface LockSet {
  lease(lockKey: string): Lease | undefined;
  /** The run id a sync's lock was requested for. */
  runIdOf(sync: string): string | undefined;
  /** Aborted, with the reason as a message, when another runner took the lock of `lockKey` (its lease ran out). */
  lost(lockKey: string): AbortSignal;
  /** The holders this set took over because their locks were stale. */
  readonly tookOver: readonly LockHolder[];
  release(): Promise<void>;
}

export async function acquireLocks(store: StateStore, requests: readonly LockRequest[], options: LockOptions): Promise<LockSet> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  const first = new Map<string, LockRequest>();
  for (const request of requests) if (!first.has(request.lockKey)) first.set(request.lockKey, request);
  const leases = new Map<string, Lease>();
  const lost = new Map<string, AbortController>();
  const heartbeat = setInterval(() => {
    for (const [key, lease] of leases) {
      lease.renew().catch((error: unknown) => lost.get(key)?.abort(error instanceof Error ? error.message : String(error)));
    }
  }, Math.max(1000, options.leaseMs / 3));
  heartbeat.unref();
  const release = async () => {
    clearInterval(heartbeat);
    for (const lease of leases.values()) await lease.release();
    leases.clear();
  };
  try {
    for (const key of [...first.keys()].sort()) {
      const request = first.get(key)!;
      lost.set(key, new AbortController());
      leases.set(key, await acquireLock(store, key, request.sync, request.runId, { ...options, waitMs: Math.max(0, deadline - Date.now()) }));
    }
  } catch (error) {
    await release().catch(() => undefined);
    throw error;
  }
  return {
    lease: (key) => leases.get(key),
    runIdOf: (sync) => requests.find((r) => r.sync === sync)?.runId,
    lost: (key) => lost.get(key)?.signal ?? AbortSignal.abort(`no lock was taken on ${key}`),
    tookOver: [...leases.values()].flatMap((l) => l.tookOver),
    release,
  };
}
