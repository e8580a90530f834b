import { afterEach, describe, expect, it } from 'vitest';
import { startWebhookEmulator, type WebhookEmulator } from '../destinations/webhook/emulator.js';
import type { ColumnSpec } from '../src/warehouses/connection.js';
import { forget, resumeRequests, type ForgetReport, type PersonRef } from '../src/privacy/forget.js';
import { engines, type Engine } from './support/engines.js';
import { PlainReceiver } from './support/plain-receiver.js';
import { SyncHarness } from './support/sync-harness.js';

/**
 * Whom `tideline forget` erases, and what it leaves alone: a key found in one sync's rows is that sync's only (product
 * 3 of another sync is not person 3), only identifier columns name a person (a referrer's e-mail does not), and a
 * refused erasure is retried by `--resume`, never turned into an ordinary removal by the next sync.
 */
const COLUMNS: readonly ColumnSpec[] = [
  { name: 'id', type: 'integer' },
  { name: 'email', type: 'string' },
  { name: 'referrer_email', type: 'string' },
  { name: 'product_id', type: 'integer' },
];
const email = (id: number) => `person${id}@example.com`;
/** Person i buys product i + 1; person 5 was referred by person 3. */
const ROWS = Array.from({ length: 8 }, (_, i) => ({ id: i + 1, email: email(i + 1), referrer_email: i + 1 === 5 ? email(3) : null, product_id: i + 2 }));

describe.each(engines())('what tideline forget erases ($name)', (engine: Engine) => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  async function start(url: string, syncs: readonly Record<string, unknown>[], destination: Record<string, unknown> = {}) {
    const harness = await SyncHarness.start({
      destinations: [{ name: 'hook', type: 'webhook', url, retries: { attempts: 2, base_ms: 5, max_ms: 10 }, ...destination }],
      syncs,
      rows: ROWS,
      columns: COLUMNS,
      ...(engine.target.type === 'postgres' ? { engine } : {}),
    });
    open.push(harness);
    return harness;
  }

  function forgetting(harness: SyncHarness, people: readonly PersonRef[]): Promise<ForgetReport> {
    return forget({ project: harness.project, connection: harness.connection, store: harness.engine().store, people, configOf: (s) => s.destination.config, log: harness.logger });
  }

  it("a key found in one sync is that sync's: product 3 of another sync stays; a referrer's e-mail names no one", async () => {
    const emulator: WebhookEmulator = await startWebhookEmulator();
    open.push(emulator);
    const harness = await start(`${emulator.endpoint}/hook`, [
      { name: 'people', model: 'people', destination: 'hook', object: 'people', mode: 'upsert', key: { from: 'id', field: 'id' }, fields: { email: 'email' } },
      { name: 'products', model: 'people', destination: 'hook', object: 'products', mode: 'upsert', key: { from: 'product_id', field: 'product' }, fields: {} },
    ], { secret: emulator.secret });
    expect((await harness.sync('people')).accepted).toBe(8);
    expect((await harness.sync('products')).accepted).toBe(8);
    const report = await forgetting(harness, [{ kind: 'email', value: email(3) }]);
    expect(report.status).toBe('done');
    expect(report.syncs.map((s) => [s.sync, s.records])).toEqual([
      ['people', 1],
      ['products', 1],
    ]);
    // Person 3 is gone from people, and their row's product (4) from products; product 3 (person 2's) and person 5
    // (referred by person 3) stay.
    expect([...emulator.records('people').keys()].sort()).toEqual(['1', '2', '4', '5', '6', '7', '8']);
    expect([...emulator.records('products').keys()].sort()).toEqual(['2', '3', '5', '6', '7', '8', '9']);
    const next = await harness.sync('products');
    expect(next.counts.forgotten).toBe(1);
    expect(next.requests).toBe(0);
    expect((await harness.sync('people')).counts.forgotten).toBe(1);
  }, 60_000);

  it('a refused erasure stays named in the state: the next sync sends no ordinary removal, --resume erases it', async () => {
    let refusing = true;
    const receiver = await PlainReceiver.start({ script: () => (refusing && receiver.arrivals.length >= 8 ? '500' : undefined) });
    open.push(receiver);
    const harness = await start(receiver.url, [
      { name: 'list', model: 'people', destination: 'hook', object: 'vip', mode: 'audience', key: { from: 'id', field: 'id' }, fields: { email: 'email' } },
    ]);
    expect((await harness.sync('list')).accepted).toBe(8);
    const refused = await forgetting(harness, [{ kind: 'email', value: email(3) }]);
    expect(refused.status).toBe('partial');
    expect(refused.syncs[0]).toMatchObject({ status: 'partial', records: 1, erased: 0, refused: 1 });
    expect(receiver.records('vip').has('3')).toBe(true);
    // The next sync leaves them out and does not remove them by an ordinary removal: the erasure owes it.
    const arrivals = receiver.arrivals.length;
    const next = await harness.sync('list');
    expect(next.counts).toMatchObject({ forgotten: 1, removed: 0 });
    expect(receiver.arrivals.length).toBe(arrivals);
    refusing = false;
    const [resumed] = await resumeRequests({ project: harness.project, connection: harness.connection, store: harness.engine().store, configOf: (s) => s.destination.config, log: harness.logger });
    expect(resumed).toMatchObject({ requestId: refused.requestId, status: 'done' });
    expect(receiver.records('vip').has('3')).toBe(false);
    expect(receiver.arrivals.filter((a) => a.key === '3' && a.outcome === 'applied').map((a) => a.operation)).toEqual(['add', 'forget']);
  }, 60_000);
});
