import { afterEach, describe, expect, it } from 'vitest';
import { sql } from '../src/dialects/sql.js';
import type { Sql } from '../src/dialects/sql.js';
import type { Connection } from '../src/warehouses/connection.js';
import { engines } from './support/engines.js';
import { PlainReceiver } from './support/plain-receiver.js';
import { contractSync, people, SyncHarness } from './support/sync-harness.js';

/**
 * A run folds its journal in parts while it sends, through a second connection (Connection.sibling), judged by a plain
 * receiver and by the state left: every record delivered once and known to the snapshot, the run's one audit row
 * counting them all, the journal empty. A part that fails (planted: the second one) stops the folding while
 * sending; once the sending ended, the parts left are folded, and the run succeeds.
 */
/** A connection's member, its methods bound to it (DuckDB's connection keeps private fields a proxy cannot reach). */
function bound(target: Connection, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property, target);
  return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
}

describe.each(engines())('the journal folded in parts while sending ($name)', (engine) => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  it('every part through the second connection; a failed part is folded after the sending', async () => {
    const receiver = await PlainReceiver.start();
    open.push(receiver);
    const rows = people(300);
    const harness = await SyncHarness.start({
      engine,
      rows,
      // 200 records a second: the sending lasts 1.5 s, long enough for the parts to start while it goes on.
      destinations: [{ name: 'hook', type: 'webhook', url: '${env:HOOK_URL}', batch_size: 10, concurrency: 2, requests_per_second: 20 }],
      syncs: [contractSync('ups', 'hook', 'contacts', 'upsert')],
      env: { HOOK_URL: receiver.url },
    });
    open.push(harness);

    // The second connection's atomic units: the parts. The second part fails before it runs anything.
    const parts: { statements: number; failed: boolean }[] = [];
    const base = harness.connection;
    const sibling = async (): Promise<Connection> => {
      const beside = await base.sibling!();
      return new Proxy(beside, {
        get(target, property) {
          if (property !== 'runAtomically') return bound(target, property);
          return async (statements: readonly Sql[]) => {
            const failed = parts.length === 1;
            parts.push({ statements: statements.length, failed });
            if (failed) throw new Error('planted: this part fails');
            return target.runAtomically(statements);
          };
        },
      });
    };
    const connection = new Proxy(base, { get: (target, property) => (property === 'sibling' ? sibling : bound(target, property)) });

    const result = await harness.sync('ups', {}, { connection, journal: { flushMs: 20, flushRows: 10, foldRows: 40 } });
    expect(result.error).toBeNull();
    expect(result).toMatchObject({ status: 'success', accepted: 300, rejected: 0 });
    // Parts ran beside the sending, the second failed, and the rest was folded in parts after it.
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(parts.filter((p) => p.failed)).toHaveLength(1);

    // The receiver got every record once; the state knows every one of them.
    expect(receiver.arrivals.map((a) => a.key).sort()).toEqual(rows.map((p) => String(p.id)).sort());
    const store = harness.engine().store;
    const d = base.dialect;
    expect(await store.snapshotSize('ups')).toBe(300);
    expect((await store.journalCounts('ups')).rows).toBe(0);
    // (The run's tally the parts add up is overwritten by its record at the end: src/state/fold-parts.test.ts checks it.)
    const audit = await base.query(sql`SELECT ${d.id('records')} FROM ${d.table(store.table('audit'))} WHERE ${d.id('sync_name')} = 'ups'`);
    expect(audit.map((r) => Number(r['records']))).toEqual([300]);
    // A further run sends nothing.
    const again = await harness.sync('ups', {}, { connection });
    expect(again).toMatchObject({ status: 'success', counts: { added: 0, changed: 0 } });
    expect(receiver.arrivals).toHaveLength(300);
  });
});
