import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../dialects/sql.js';
import { createLogger } from '../../log/logger.js';
import { acquireLock, acquireLocks, LockHeldError } from '../../state/lock.js';
import { lockNotePath } from '../../state/lock-note.js';
import { StateStore } from '../../state/store.js';
import { WarehouseBusyError, type Connection } from '../../warehouses/connection.js';
import { openTarget } from '../../warehouses/registry.js';
import { SyncFailure } from './failure.js';
import { connectWaiting, SyncLockedError, takeRunLock } from './lock.js';

describe('the lock of a run', () => {
  const root = mkdtempSync(join(tmpdir(), 'tideline-run-lock-'));
  let connection: Connection;
  let store: StateStore;
  const request = (runId: string) => ({ lockKey: 'webhook:example#contacts', sync: 'crm', runId });
  /** Whether another runner could take the lock now. */
  const free = () =>
    acquireLock(store, 'webhook:example#contacts', 'crm', 'probe', { leaseMs: 60_000, host: 'another-machine' }).then(
      (lease) => lease.release().then(() => true),
      (error: unknown) => (error instanceof LockHeldError ? false : Promise.reject(error)),
    );
  beforeAll(async () => {
    connection = await openTarget({ type: 'duckdb', path: ':memory:' }, { root });
    store = new StateStore(connection, 'state');
    await store.setup();
  });
  afterAll(() => connection.close());

  it("inside a command, is the command's: the run's release leaves it to the command", async () => {
    const locks = await acquireLocks(store, [request('command-run')], { leaseMs: 60_000 });
    const lock = await takeRunLock(store, request('command-run'), locks, 60_000);
    expect(lock.lease).toBe(locks.lease('webhook:example#contacts'));
    await lock.release();
    expect(await free()).toBe(false);
    await locks.release();
    expect(await free()).toBe(true);
  });

  it('on its own, is taken the same way for its sync alone and held until the run releases it', async () => {
    const lock = await takeRunLock(store, request('own-run'), undefined, 60_000);
    expect(lock.lost.aborted).toBe(false);
    expect(await free()).toBe(false);
    await lock.release();
    expect(await free()).toBe(true);
  });

  it('on its own, fails at once when a live runner holds it, naming the holder', async () => {
    const other = await acquireLock(store, 'webhook:example#contacts', 'crm', 'other-run', { leaseMs: 60_000, host: 'another-machine' });
    const started = Date.now();
    const error = await takeRunLock(store, request('own-run'), undefined, 60_000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SyncFailure);
    expect((error as Error).message).toMatch(/^webhook:example#contacts is locked by run other-run since .* \(sync crm, another-machine pid \d+/);
    expect(Date.now() - started).toBeLessThan(2000);
    await other.release();
  });

  it("on its own, learns that another runner took it, as a command's run does", async () => {
    // The lease is renewed every second; a runner that found it expired took the row over in between.
    const lock = await takeRunLock(store, request('own-run'), undefined, 1500);
    const d = store.dialect;
    await connection.execute(sql`DELETE FROM ${d.table(store.table('locks'))} WHERE ${d.id('run_id')} = 'own-run'`);
    const thief = await acquireLock(store, 'webhook:example#contacts', 'crm', 'thief-run', { leaseMs: 60_000, host: 'another-machine' });
    await new Promise((resolve) => lock.lost.addEventListener('abort', resolve, { once: true }));
    expect(String(lock.lost.reason)).toMatch(/^lost the lock on webhook:example#contacts: .*locked by run thief-run/);
    await lock.release();
    expect(await free()).toBe(false);
    await thief.release();
  });
});

describe('waiting for an embedded warehouse another command holds', () => {
  const targetDir = mkdtempSync(join(tmpdir(), 'tideline-busy-'));
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', format: 'json', destination: new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString('utf8')), done()) }) });
  const busy = () => Promise.reject(new WarehouseBusyError('Could not set lock on file', 4242, { hint: 'another process has it open' }));
  writeFileSync(lockNotePath(targetDir), JSON.stringify({ runId: 'holder-run', syncs: ['crm', 'ads'], host: hostname(), pid: 4242, since: '2024-05-01T10:00:00.000Z' }));

  it('without --wait, gives up at once, naming the run from its note and how to wait', async () => {
    const error = await connectWaiting(busy, targetDir, { until: Date.now(), asked: false }, logger).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SyncLockedError);
    expect((error as Error).message).toBe('the warehouse is locked by run holder-run since 2024-05-01T10:00:00.000Z (syncs crm, ads, ' + hostname() + ' pid 4242); nothing was sent (--wait waits for it)');
  });

  it('with --wait, says once that it waits, and connects when the holder is gone', async () => {
    let attempts = 0;
    const sentinel = {} as Connection;
    const connect = () => (++attempts < 3 ? busy() : Promise.resolve(sentinel));
    expect(await connectWaiting(connect, targetDir, { until: Date.now() + 10_000, asked: true }, logger)).toBe(sentinel);
    expect(attempts).toBe(3);
    expect(lines.filter((line) => line.includes('waiting: the warehouse is locked by run holder-run'))).toHaveLength(1);
  });

  it('with a --wait too short, gives up saying so; an unknown holder is described by the warehouse', async () => {
    const stranger = () => Promise.reject(new WarehouseBusyError('Could not set lock on file', 999, { hint: 'another process has it open' }));
    const error = await connectWaiting(stranger, targetDir, { until: Date.now() + 100, asked: true }, logger).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('the warehouse is in use by another process (pid 999): another process has it open; nothing was sent (gave up waiting)');
  });
});
