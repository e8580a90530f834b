import { afterEach, describe, expect, it } from 'vitest';
import { startWebhookEmulator } from '../destinations/webhook/emulator.js';
import { sql } from '../src/dialects/sql.js';
import { recordMessagesStatement } from '../src/state/messages.js';
import { modelColumns, planChanges } from '../src/sync/run/plan.js';
import { engines } from './support/engines.js';
import { contractSync, people, SyncHarness } from './support/sync-harness.js';
import { contractEvents, EVENT_COLUMNS } from '../destinations/emulator-kit/contract.js';

/**
 * What Tideline really sent, for marketing pressure: the fold records one `sync_messages` row per accepted entry
 * (audience mode, `added`) or insert, for syncs with a channel and a contact column — once, even when a record's
 * first delivery was in doubt, and never for removals or for syncs that message nobody (upsert, mirror).
 */
/** An events sync of the events model on e-mail, to the webhook object of its name. */
const eventSync = (name: string, extra: Record<string, unknown>) => ({
  name,
  model: 'people',
  destination: 'hook',
  object: name,
  mode: 'events',
  channel: 'email',
  key: 'event_id',
  event: { time: 'event_time', name: { from: 'event_name' } },
  fields: { value: 'value' },
  ...extra,
});

for (const engine of engines()) {
  describe(`sent messages recorded on ${engine.name}`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const close of cleanup.splice(0).reverse()) await close();
    });

    async function setup(count: number) {
      const emulator = await startWebhookEmulator({});
      cleanup.push(() => emulator.close());
      const messaging = { channel: 'email', contact: 'id' };
      const harness = await SyncHarness.start({
        engine,
        rows: people(count),
        destinations: [{ name: 'hook', type: 'webhook', url: `${emulator.endpoint}/hook`, secret: emulator.secret, retries: { attempts: 2, base_ms: 10, max_ms: 20 } }],
        syncs: [
          { ...contractSync('receipts', 'hook', 'receipts', 'insert'), ...messaging, message_type: 'transactional' },
          { ...contractSync('members', 'hook', 'members', 'audience'), ...messaging },
          { ...contractSync('crm', 'hook', 'contacts', 'upsert'), ...messaging },
          // No channel (a webhook has none by default): its inserts are nobody's messages.
          contractSync('feed', 'hook', 'feed', 'insert'),
        ],
      });
      cleanup.push(() => harness.close());
      return harness;
    }

    async function messages(harness: SyncHarness): Promise<string[]> {
      const d = harness.connection.dialect;
      const rows = await harness.connection.query(
        sql`SELECT sync_name, model, audience, record_key, contact_key, channel, message_type, run_id FROM ${d.table({ schema: harness.schemas.state, name: 'sync_messages' })}`,
      );
      return rows.map((r) => [r['sync_name'], r['contact_key'], r['channel'], r['message_type'], r['audience'] ?? '-', r['model']].join(' ')).sort();
    }

    it('records each accepted insert and audience entry once; not removals, upserts, nor syncs without a channel', async () => {
      const harness = await setup(3);
      for (const name of ['receipts', 'members', 'crm', 'feed']) expect((await harness.sync(name)).status).toBe('success');
      const first = ['1', '2', '3'].flatMap((k) => [`members ${k} email default - people`, `receipts ${k} email transactional - people`]).sort();
      expect(await messages(harness)).toEqual(first);

      // Nothing new: nothing recorded. Person 2 leaves, 4 arrives: the removal is no message, the entry is.
      for (const name of ['receipts', 'members']) await harness.sync(name);
      expect(await messages(harness)).toEqual(first);
      await harness.setRows(people(4).filter((p) => p.id !== 2));
      for (const name of ['receipts', 'members']) expect((await harness.sync(name)).status).toBe('success');
      expect(await messages(harness)).toEqual([...first, 'members 4 email default - people', 'receipts 4 email transactional - people'].sort());
      // Person 2 comes back: entering the audience again is a new message (an insert sync never sends a key twice).
      await harness.setRows(people(4));
      await harness.sync('members');
      expect((await messages(harness)).filter((m) => m.startsWith('members 2 '))).toHaveLength(2);
      const sentAt = await harness.connection.query(sql`SELECT COUNT(*) AS n FROM ${harness.connection.dialect.table({ schema: harness.schemas.state, name: 'sync_messages' })} WHERE sent_at IS NULL`);
      expect(Number(sentAt[0]!['n'])).toBe(0);
    });

    it('a record whose delivery was in doubt is recorded once, by the run that learns it arrived; a fold applied twice records once', async () => {
      const harness = await setup(3);
      const engine = harness.engine();
      const store = engine.store;
      const sync = harness.project.syncs.get('receipts')!;
      // A run that died: record 1 accepted, record 2 sent without an answer, record 3 never sent.
      await store.setup();
      await store.setupSync(sync.name);
      const plan = await planChanges(store, sync, await modelColumns(harness.connection, harness.project, sync));
      expect(plan.messages).toEqual({ model: 'people', audience: undefined, channel: 'email', type: 'transactional', contact: 'id' });
      await store.markDispatched(sync.name, [{ seq: 1, retained: null }, { seq: 2, retained: null }]);
      await store.appendJournal(sync.name, [
        { seq: 1, accepted: true, destinationId: null, retained: null, code: null, message: null, retryable: null },
        { seq: 2, accepted: null, destinationId: null, retained: null, code: 'in_doubt', message: null, retryable: null },
      ]);
      // Where a fold could not be atomic, its message statement may run twice: the upsert keeps one row.
      const tables = { messages: store.table('messages'), journal: store.journal(sync.name), changes: store.changes(sync.name), runs: store.table('runs') };
      const twice = recordMessagesStatement(store.dialect, tables, sync.name, plan.messages!, 'run-dead', new Date());
      await harness.connection.execute(twice);
      await harness.connection.execute(twice);
      expect(await messages(harness)).toEqual(['receipts 1 email transactional - people']);
      await store.applyJournal(sync.name, 'run-dead', { deadRun: true, messages: plan.messages });
      expect(await messages(harness)).toEqual(['receipts 1 email transactional - people']);

      // The next run sends 2 again (in doubt) and 3: each recorded once.
      const next = await harness.sync('receipts');
      expect(next).toMatchObject({ status: 'success', accepted: 2 });
      expect(await messages(harness)).toEqual(['1', '2', '3'].map((k) => `receipts ${k} email transactional - people`));
    });

    it('an events sync naming its message_type records each accepted event once; one without records none', async () => {
      const emulator = await startWebhookEmulator({});
      cleanup.push(() => emulator.close());
      const events = contractEvents(4, { endMinutesAgo: 5 });
      const harness = await SyncHarness.start({
        engine,
        rows: events,
        columns: EVENT_COLUMNS,
        destinations: [{ name: 'hook', type: 'webhook', url: `${emulator.endpoint}/hook`, secret: emulator.secret }],
        // The abandoned-cart flow's e-mail is a message; a purchase fed to the same tool's segments is not.
        syncs: [eventSync('carts', { message_type: 'reminder' }), eventSync('purchases', {})],
      });
      cleanup.push(() => harness.close());
      for (const name of ['carts', 'purchases']) expect((await harness.sync(name)).accepted).toBe(4);
      for (const name of ['carts', 'purchases']) expect((await harness.sync(name)).requests).toBe(0);
      expect(await messages(harness)).toEqual(events.map((e) => `carts ${e.customer_id} email reminder - people`).sort());
    });

    it("an events sync starting messages leaves out the contacts its message would take past a pressure cap; other events sync on", async () => {
      const emulator = await startWebhookEmulator({});
      cleanup.push(() => emulator.close());
      // One reminder e-mail per contact a week. Contact 1 abandons two carts before the first run: one reminder.
      const first = [...contractEvents(2, { endMinutesAgo: 30 }), ...contractEvents(1, { start: 21, endMinutesAgo: 20 })];
      const harness = await SyncHarness.start({
        engine,
        rows: first,
        columns: EVENT_COLUMNS,
        config: { pressure: { caps: [{ channels: ['email'], max: 1, per: '7 days' }], weights: { reminder: 1, receipt: 0 } } },
        destinations: [{ name: 'hook', type: 'webhook', url: `${emulator.endpoint}/hook`, secret: emulator.secret }],
        syncs: [eventSync('carts', { message_type: 'reminder' }), eventSync('receipts', { message_type: 'receipt' })],
      });
      cleanup.push(() => harness.close());
      const one = await harness.sync('carts');
      expect(one).toMatchObject({ accepted: 2 });
      expect(one.counts).toMatchObject({ added: 2, suppressed: 1 });
      expect([...emulator.records('carts').keys()].sort()).toEqual(['ev-1', 'ev-2']);
      // Contact 1 got its reminder: its second cart stays out; contact 3's first goes. A receipt weighs 0: never capped.
      const later = [...first, ...contractEvents(1, { start: 23, endMinutesAgo: 5 })];
      await harness.setRows(later);
      const second = await harness.sync('carts');
      expect(second.counts).toMatchObject({ added: 1, suppressed: 1 });
      expect([...emulator.records('carts').keys()].sort()).toEqual(['ev-1', 'ev-2', 'ev-23']);
      expect((await harness.sync('receipts')).accepted).toBe(4);
      expect((await messages(harness)).filter((m) => m.startsWith('carts '))).toEqual(['carts 1 email reminder - people', 'carts 2 email reminder - people', 'carts 3 email reminder - people']);
    });
  });
}
