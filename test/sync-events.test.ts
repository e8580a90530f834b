import { afterEach, describe, expect, it } from 'vitest';
import { contractEvents, EVENT_COLUMNS, type ContractEvent } from '../destinations/emulator-kit/contract.js';
import type { Sql } from '../src/dialects/sql.js';
import { watermarkName } from '../src/state/store.js';
import type { Connection } from '../src/warehouses/connection.js';
import { engines } from './support/engines.js';
import { PlainReceiver } from './support/plain-receiver.js';
import { SyncHarness } from './support/sync-harness.js';

/**
 * Events syncs on DuckDB and PostgreSQL, judged by an independent receiver (test/support/plain-receiver.ts: it
 * records every record of every request and shares no code with the webhook adapter): each event arrives once across
 * runs; a run with no new events sends nothing and reads only the window after the high-water mark (checked in the
 * SQL it runs); late rows inside the look-back arrive once, earlier ones are never read.
 */

/** A connection that records the text of every statement it runs, for the SQL a run sends the warehouse. */
function recording(connection: Connection): { connection: Connection; statements: string[] } {
  const statements: string[] = [];
  const wrapped = new Proxy(connection, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if ((property === 'execute' || property === 'query') && typeof value === 'function') {
        return (statement: Sql) => {
          statements.push(statement.text);
          return (value as (s: Sql) => Promise<unknown>).call(target, statement);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { connection: wrapped, statements };
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

    async function setup(events: readonly ContractEvent[], dedupe: boolean) {
      const receiver = await PlainReceiver.start({ dedupe });
      const slot: (typeof open)[number] = { receiver };
      open.push(slot);
      const harness = await SyncHarness.start({
        engine,
        destinations: [{ name: 'hook', type: 'webhook', url: `${receiver.url}/hook`, batch_size: 7 }],
        syncs: [
          {
            name: 's',
            model: 'people',
            destination: 'hook',
            object: 'purchases',
            mode: 'events',
            key: { from: 'event_id', field: 'event_id' },
            event: { time: 'event_time', name: { from: 'event_name' }, lookback: '6 hours', backfill: '2 days' },
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
      const { receiver, harness } = await setup([...old, ...recent], false);
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
      // The SQL it ran read the model and the snapshot only after the mark minus the look-back (6 hours), and the
      // model only up to when it planned.
      const plan = planStatement(statements);
      expect(plan, statements.join('\n---\n').slice(0, 2000)).toBeDefined();
      const { lower, upper } = bounds(plan!);
      const from = sqlTime(new Date(Date.parse(mark!) - 6 * 3_600_000));
      expect(lower.length).toBeGreaterThanOrEqual(2);
      expect(new Set(lower)).toEqual(new Set([from]));
      expect(upper).toHaveLength(1);
      expect(Date.parse(`${upper[0]!.replace(' ', 'T')}Z`)).toBeGreaterThanOrEqual(Date.parse(mark!));
      expect(receiver.arrivals.filter((a) => a.operation === 'track')).toHaveLength(40);
    });

    it('sends late rows inside the look-back once, never reads earlier ones, and sends new events once', async () => {
      const now = new Date();
      const first = contractEvents(10, { now, endMinutesAgo: 20 });
      const { receiver, harness } = await setup(first, false);
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
      // The receiver fails the first request with a 503 until the sync gives up on it (one attempt per batch).
      const receiver = await PlainReceiver.start({ script: (n) => (n === 1 ? '503' : undefined) });
      const slot: (typeof open)[number] = { receiver };
      open.push(slot);
      const harness = (slot.harness = await SyncHarness.start({
        engine,
        destinations: [{ name: 'hook', type: 'webhook', url: `${receiver.url}/hook`, batch_size: 3, concurrency: 1, retries: { attempts: 1, base_ms: 1, max_ms: 1 } }],
        syncs: [
          {
            name: 's',
            model: 'people',
            destination: 'hook',
            object: 'purchases',
            mode: 'events',
            key: 'event_id',
            event: { time: 'event_time', name: 'Purchase', lookback: '1 minute', backfill: '1 day' },
            fields: { value: 'value' },
          },
        ],
        rows: events,
        columns: EVENT_COLUMNS,
      }));
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
  });
}
