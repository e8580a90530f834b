import { hostname } from 'node:os';
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
}

export interface LockHolder {
  readonly runId: string;
  readonly sync: string;
  readonly host: string;
  readonly pid: number;
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
}

export async function acquireLock(store: StateStore, lockKey: string, sync: string, runId: string, options: LockOptions): Promise<Lease> {
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
      if (!stale) throw new LockHeldError(describe(lockKey, current));
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
    if (holders[0]) throw new LockHeldError(describe(lockKey, holders[0]));
  }
  throw new LockHeldError(`could not take the lock on ${lockKey}: other runners kept claiming it`);
}

function holder(row: Row): LockHolder {
  return {
    runId: String(row['run_id']),
    sync: String(row['sync_name']),
    host: String(row['host']),
    pid: Number(row['pid']),
    expiresAt: row['expires_at'] instanceof Date ? row['expires_at'] : new Date(String(row['expires_at'])),
  };
}

function describe(lockKey: string, h: LockHolder): string {
  return `${lockKey} is being synced by run ${h.runId} (sync ${h.sync}, ${h.host} pid ${h.pid}); its lease ends at ${h.expiresAt.toISOString()}`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
