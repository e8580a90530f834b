import { afterEach, describe, expect, it } from 'vitest';
import { contractEvents, EVENT_COLUMNS, type ContractEvent } from '../destinations/emulator-kit/contract.js';
import { watermarkName } from '../src/state/store.js';
import type { Connection } from '../src/warehouses/connection.js';
import { engines } from './support/engines.js';
import { PlainReceiver, type PlainReceiverOptions } from './support/plain-receiver.js';
import { SyncHarness } from './support/sync-harness.js';
import { watchedConnection } from './support/watched-connection.js';
import { parseSpan } from '../src/sync/schema.js';

/**
 * Events syncs on DuckDB and PostgreSQL, judged by an independent receiver (test/support/plain-receiver.ts: it
 * records every record of every request and shares no code with the webhook adapter): each event arrives once across
 * runs; a run with no new events sends nothing and reads only the window after the high-water mark (checked in the
 * SQL it runs); late rows inside the look-back arrive once, earlier ones are never read.
 */

/** A connection that records the text of every statement it runs, for the SQL a run sends the warehouse. */
function recording(connection: Connection): { connection: Connection; statements: string[] } {
  const statements: string[] = [];
  return { connection: watchedConnection(connection, (text) => void statements.push(text)), statements };
}

/** The change set's statement: the one that reads the model. */
const planStatement = (statements: readonly string[]) => statements.find((s) => /CREATE TABLE/i.test(s) && /changes__s/.test(s) && /event_time/.test(s));

/** The timestamps compared with the event time in a statement, as `> …` and `<= …` bounds. */
function bounds(statement: string): { lower: string[]; upper: string[] } {
  const lower = [...statement.matchAll(/"event_time"\s*>\s*CAST\('([^']+)' AS TIMESTAMP\)/g)].map((m) => m[1]!);
  const upper = [...statement.matchAll(/"event_time"\s*<=\s*CAST\('([^']+)' AS TIMESTAMP\)/g)].map((m) => m[1]!);
  return { lower, upper };
}

const sqlTime = (date: Date) => date.toISOString().replace('T', ' ').replace('Z', '');

for (const engine of engines()) {
  describe(`events syncs (${engine.name})`, () => {
    const open: { harness?: SyncHarness; receiver?: PlainReceiver }[] = [];
    afterEach(async () => {
      for (const o of open.splice(0)) {
        await o.harness?.close();
        await o.receiver?.close();
      }
    });

    /** A project syncing `events` to a plain receiver; `hook` adds to the destination entry, `event` to the sync's `event:`. */
    async function setup(events: readonly ContractEvent[], options: { script?: PlainReceiverOptions['script']; hook?: object; event?: object } = {}) {
      const receiver = await PlainReceiver.start(options.script ? { script: options.script } : {});
      const slot: (typeof open)[number] = { receiver };
      open.push(slot);
      const harness = await SyncHarness.start({
        engine,
        destinations: [{ name: 'hook', type: 'webhook', url: `${receiver.url}/hook`, batch_size: 7, ...options.hook }],
        syncs: [
          {
            name: 's',
            model: 'people',
            destination: 'hook',
            object: 'purchases',
            mode: 'events',
            key: { from: 'event_id', field: 'event_id' },
            event: { time: 'event_time', name: { from: 'event_name' }, lookback: '6 hours', backfill: '2 days', ...options.event },
            fields: { value: 'value', currency: 'currency' },
          },
        ],
        rows: events,
        columns: EVENT_COLUMNS,
      });
      slot.harness = harness;
      return { receiver, harness };
    }

    /** Times each event id arrived and was applied at the receiver. */
    const copies = (receiver: PlainReceiver) => {
      const counts = new Map<string, number>();
      for (const a of receiver.arrivals) if (a.operation === 'track' && a.outcome === 'applied') counts.set(a.key, (counts.get(a.key) ?? 0) + 1);
      return counts;
    };

    it('sends each event once across runs; a run without new events sends nothing and reads only the window after its high-water mark', async () => {
      const now = new Date();
      // 40 events of the last 40 hours, and 5 of three days ago: before the first run's backfill of 2 days.
      const recent = contractEvents(40, { now, endMinutesAgo: 30, minutesApart: 60 });
      const old = contractEvents(5, { start: 100, now, endMinutesAgo: 3 * 24 * 60, minutesApart: 10 });
      const { receiver, harness } = await setup([...old, ...recent]);
      const first = await harness.sync('s');
      expect(first).toMatchObject({ status: 'success', accepted: 40, rejected: 0 });
      expect([...copies(receiver).entries()].sort()).toEqual(recent.map((e) => [e.event_id, 1]).sort());
      // Every event arrived as the receiver sees it: its name, its time, its value.
      const arrived = new Map(receiver.arrivals.map((a) => [a.key, a]));
      expect(arrived.get('ev-1')?.fields).toEqual({ value: recent[0]!.value, currency: 'EUR' });

      const mark = await harness.engine().store.getMeta(watermarkName('s'));
      expect(mark).toBeDefined();
      const { connection, statements } = recording(harness.connection);
      const second = await harness.sync('s', {}, { connection });
      expect(second.counts.added).toBe(0);
      expect(second.requests).toBe(0);
      // The SQL it ran read the model only after the mark minus the look-back (6 hours) and up to when it planned,
      // and the snapshot only for the ids that window read.
      const plan = planStatement(statements);
      expect(plan, statements.join('\n---\n').slice(0, 2000)).toBeDefined();
      const { lower, upper } = bounds(plan!);
      const from = sqlTime(new Date(Date.parse(mark!) - 6 * 3_600_000));
      expect(lower).toEqual([from]);
      expect(plan).toMatch(/FROM "[a-z0-9_]+"\."snapshot__s" WHERE "record_key" IN \(SELECT "record_key" FROM mapped\)/);
      expect(upper).toHaveLength(1);
      expect(Date.parse(`${upper[0]!.replace(' ', 'T')}Z`)).toBeGreaterThanOrEqual(Date.parse(mark!));
      expect(receiver.arrivals.filter((a) => a.operation === 'track')).toHaveLength(40);
    });

    it('sends late rows inside the look-back once, never reads earlier ones, and sends new events once', async () => {
      const now = new Date();
      const first = contractEvents(10, { now, endMinutesAgo: 20 });
      const { receiver, harness } = await setup(first);
      expect((await harness.sync('s')).accepted).toBe(10);
      // Late rows: one whose event happened 2 hours before that run (inside the 6-hour look-back), one 9 hours before
      // (outside: never read); and a new event.
      const late = contractEvents(1, { start: 50, now, endMinutesAgo: 120 });
      const tooLate = contractEvents(1, { start: 60, now, endMinutesAgo: 9 * 60 });
      const fresh = contractEvents(1, { start: 70, now: new Date(), endMinutesAgo: 0 });
      await harness.setRows([...first, ...late, ...tooLate, ...fresh]);
      const second = await harness.sync('s');
      expect(second).toMatchObject({ status: 'success', accepted: 2 });
      const third = await harness.sync('s');
      expect(third.requests).toBe(0);
      const counts = copies(receiver);
      expect([...counts.keys()].sort()).toEqual([...first, ...late, ...fresh].map((e) => e.event_id).sort());
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    });

    it('holds the mark back to an event refused retryably, so the next run sends it however far the window moved', async () => {
      const now = new Date();
      const events = contractEvents(6, { now, endMinutesAgo: 10 });
      // The receiver fails the first request with a 503, and the sync gives up on it (one attempt per batch).
      const { receiver, harness } = await setup(events, {
        script: (n) => (n === 1 ? '503' : undefined),
        hook: { batch_size: 3, concurrency: 1, retries: { attempts: 1, base_ms: 1, max_ms: 1 } },
        event: { lookback: '1 minute', backfill: '1 day' },
      });
      const first = await harness.sync('s');
      expect(first.status).toBe('failed');
      // The mark stays before the oldest event not delivered (the look-back of a minute alone would skip it).
      const mark = await harness.engine().store.getMeta(watermarkName('s'));
      expect(mark === undefined || Date.parse(mark) <= Date.parse(events[0]!.event_time)).toBe(true);
      const second = await harness.sync('s');
      expect(second.status).toBe('success');
      const counts = copies(receiver);
      expect([...counts.keys()].sort()).toEqual(events.map((e) => e.event_id).sort());
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    });

    it('an event whose time is corrected after it was sent is not sent again', async () => {
      const now = new Date();
      const events = contractEvents(4, { now, endMinutesAgo: 60 * 20 });
      const { receiver, harness } = await setup(events);
      expect((await harness.sync('s')).accepted).toBe(4);
      // ev-1's time is corrected to a minute ago: inside any window from now on, but the same event.
      await harness.setRows(events.map((e) => (e.event_id === 'ev-1' ? { ...e, event_time: new Date(Date.now() - 60_000).toISOString() } : e)));
      const again = await harness.sync('s');
      expect(again.requests).toBe(0);
      expect(copies(receiver).get('ev-1')).toBe(1);
    });

    it('a date column is read all day: rows dated yesterday that land after a run today are sent', async () => {
      const receiver = await PlainReceiver.start();
      const slot: (typeof open)[number] = { receiver };
      open.push(slot);
      const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
      const harness = (slot.harness = await SyncHarness.start({
        engine,
        destinations: [{ name: 'hook', type: 'webhook', url: `${receiver.url}/hook` }],
        syncs: [{ name: 's', model: 'people', destination: 'hook', object: 'visits', mode: 'events', key: 'visit_id', event: { time: 'visit_day', name: 'Store visit' }, fields: { store: 'store' } }],
        rows: [{ visit_id: 'v1', visit_day: day(3), store: 'Lyon' }],
        columns: [
          { name: 'visit_id', type: 'string' },
          { name: 'visit_day', type: 'date' },
          { name: 'store', type: 'string' },
        ],
      }));
      expect((await harness.sync('s')).accepted).toBe(1);
      // Yesterday's visits are loaded after that run (a nightly load): the default look-back of a day still reads them.
      await harness.setRows([
        { visit_id: 'v1', visit_day: day(3), store: 'Lyon' },
        { visit_id: 'v2', visit_day: day(1), store: 'Nantes' },
        { visit_id: 'v3', visit_day: day(0), store: 'Lille' },
      ]);
      expect((await harness.sync('s')).accepted).toBe(2);
      expect((await harness.sync('s')).requests).toBe(0);
      expect(receiver.arrivals.filter((a) => a.outcome === 'applied').map((a) => a.key).sort()).toEqual(['v1', 'v2', 'v3']);
    });

    it('a sync that becomes an events sync starts over as one', async () => {
      const events = contractEvents(3, { endMinutesAgo: 5 });
      const { receiver, harness } = await setup(events);
      const sync = { name: 's', model: 'people', destination: 'hook', object: 'purchases', key: 'event_id', fields: { value: 'value' } };
      const hook = { name: 'hook', type: 'webhook', url: `${receiver.url}/hook` };
      await harness.writeProject([hook], [{ ...sync, mode: 'insert' }]);
      expect((await harness.sync('s')).accepted).toBe(3);
      await harness.writeProject([hook], [{ ...sync, mode: 'events', event: { time: 'event_time', name: 'Purchase' } }]);
      const events1 = await harness.sync('s');
      expect(events1).toMatchObject({ status: 'success', accepted: 3 });
      expect((await harness.sync('s')).requests).toBe(0);
    });
  });
}

describe('event spans', () => {
  it('take minutes, hours, days and weeks, and never 0', () => {
    expect(parseSpan('90 minutes')).toBe(5_400_000);
    expect(parseSpan('1 week')).toBe(604_800_000);
    expect(parseSpan('2 Days')).toBe(172_800_000);
    expect(parseSpan('0 minutes')).toBeUndefined();
    expect(parseSpan('1 fortnight')).toBeUndefined();
  });
});
