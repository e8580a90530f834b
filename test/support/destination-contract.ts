import { afterEach, describe, expect, it } from 'vitest';
import {
  contacts,
  CONTACT_COLUMNS,
  contractEvents,
  EVENT_COLUMNS,
  type Contact,
  type ContractCase,
  type ContractEnvironment,
  type ContractEvent,
  type ContractKit,
  type ContractOptions,
  type EventShape,
} from '../../destinations/emulator-kit/contract.js';
import type { Registries } from '../../src/project/loader.js';
import { contractSync, expected, people, SyncHarness, type Person } from './sync-harness.js';
import { eventShape } from '../../src/sync/events.js';
import { DESTINATIONS } from '../../destinations/index.js';
import type { SyncMode } from '../../destinations/destination.js';
import { tempDir } from './temp-dir.js';

type Row = Person | Contact;

/**
 * The contract kits of the registered destinations, by type (destinations/<type>/contract.ts, `-` for `_` in the
 * folder's name); a type without one is absent (test/destination-contract.test.ts fails for it).
 */
export async function registeredKits(): Promise<Map<string, ContractKit>> {
  const kits = new Map<string, ContractKit>();
  for (const type of DESTINATIONS) {
    const module = (await import(`../../destinations/${type.type}/contract.ts`).catch(() => import(`../../destinations/${type.type.replaceAll('_', '-')}/contract.ts`)).catch(() => undefined)) as
      | { kit?: ContractKit }
      | undefined;
    if (module?.kit) kits.set(type.type, module.kit);
  }
  return kits;
}

/** How many files share the registered destinations' contract suites (test/destination-contract*.test.ts). */
export const CONTRACT_SHARES = 4;

/**
 * The contract suites of every `CONTRACT_SHARES`-th registered destination from `share`: the suite is split over
 * that many files so that the test runner's workers share them (one file ran two minutes alone at the end of a run).
 */
export async function describeContractShare(share: number): Promise<void> {
  const kits = await registeredKits();
  DESTINATIONS.forEach((type, i) => {
    const kit = kits.get(type.type);
    if (kit && i % CONTRACT_SHARES === share) describeDestinationContract(type.type, kit);
  });
}

/**
 * The shared contract suite of one destination type, through the real sync engine, against the environment its kit
 * starts (destinations/<type>/contract.ts): test/destination-contract*.test.ts run it for every registered type.
 * `registries` are those the suite's projects are read against: a test that adds a throwaway destination passes
 * registries holding it (test/checklists.test.ts); the registered ones by default.
 */
export function describeDestinationContract(type: string, kit: ContractKit, registries?: Partial<Registries>): void {
  describe(`destination contract: ${type}`, () => {
    const shape = kit.shape;
    /** The mode of the cases' writes: upsert with the contract mapping, else the shape's. */
    const writes = shape?.mode ?? 'upsert';
    /** Rows of the model: people for the contract mapping, contacts for a shape. */
    const rowsOf = (count: number, start = 1): Row[] => (shape ? contacts(count, start) : people(count, start));
    /** What the destination should hold for these rows. */
    const want = (rows: readonly Row[]) => (shape ? shape.expected(rows as Contact[]) : expected(rows as Person[]));
    /** A row changed in a mapped field (for a shape: its first name and its phone). */
    const changedRow = (row: Row): Row =>
      shape ? (shape.change?.(row as Contact) ?? { ...(row as Contact), first_name: 'Renamed', phone: '+33 7 12 34 56 78' }) : { ...row, first_name: 'Renamed' };

    const open: { env?: ContractEnvironment; harness?: SyncHarness }[] = [];
    afterEach(async () => {
      for (const o of open.splice(0)) {
        await o.harness?.close();
        await o.env?.close();
      }
    });

    /** A fresh environment and project syncing `rows` with one sync named `s`. */
    async function setup(rows: readonly Row[], mode: string, options: Omit<ContractOptions, 'dir'> = {}, destination: Parameters<ContractEnvironment['destination']>[0] = {}, syncOptions: Record<string, unknown> = {}) {
      const env = await kit.start({ dir: tempDir(`tideline-contract-${type}-`), ...options });
      const slot: { env?: ContractEnvironment; harness?: SyncHarness } = { env };
      open.push(slot);
      const harness = await SyncHarness.start({
        destinations: [{ name: 'dest', ...env.destination(destination) }],
        syncs: [contractSync('s', 'dest', env.object(mode), mode, syncOptions, shape)],
        rows,
        ...(shape ? { columns: CONTACT_COLUMNS } : {}),
        ...(registries ? { registries } : {}),
      });
      slot.harness = harness;
      return { env, harness, object: env.object(mode) };
    }

    const schema = kit.schema;
    const schemaMissing = schema?.unavailable?.();
    if (schemaMissing) {
      console.warn(`SKIPPED: ${type}'s exchanges are not checked against ${schema!.source}: ${schemaMissing}`);
      it.skip(`vendor schema (${schema!.source}: ${schemaMissing})`, () => {});
    }
    /** Problems of every exchange of the case's environments against the vendor's schema. */
    async function schemaProblems(): Promise<string[]> {
      if (!schema || schemaMissing) return [];
      const problems: string[] = [];
      for (const o of open) {
        const exchanges = o.env?.exchanges?.();
        if (!exchanges) throw new Error(`${type}'s kit has a schema: its environment must record exchanges (exchanges())`);
        for (const exchange of exchanges) {
          for (const problem of await schema.check(exchange)) problems.push(`${exchange.method} ${exchange.path} → ${exchange.status}: ${problem}`);
        }
      }
      return [...new Set(problems)];
    }

    const check = (name: ContractCase, body: () => Promise<void>) => {
      const reason = kit.notApplicable[name];
      if (reason) it.skip(`${name} (not applicable: ${reason})`, body);
      else
        it(
          name,
          async () => {
            await body();
            // Every request the case made, and every answer, as the vendor's published schema describes them.
            expect(await schemaProblems()).toEqual([]);
          },
          60_000,
        );
    };

    if (schema && !schemaMissing) {
      it('vendor schema: a field the vendor does not define is refused, in a request and in an answer', async () => {
        const { env, harness } = await setup(rowsOf(5), writes);
        expect((await harness.sync('s')).status).toBe('success');
        const exchanges = env.exchanges!().filter((e) => e.status < 300);
        expect(exchanges.length).toBeGreaterThan(0);
        expect(await schemaProblems()).toEqual([]);
        const drifted = (value: unknown) => (value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...value, tideline_not_a_vendor_field: 1 } : undefined);
        let tried = 0;
        for (const exchange of exchanges) {
          for (const side of ['request', 'response'] as const) {
            const wrong = drifted(exchange[side]);
            if (!wrong) continue;
            tried++;
            const problems = await schema.check({ ...exchange, [side]: wrong });
            expect(problems.join('; '), `${exchange.method} ${exchange.path} ${side} with an unknown field`).toMatch(/tideline_not_a_vendor_field/);
          }
        }
        expect(tried).toBeGreaterThan(0);
      });
    }

    check('auth', async () => {
      const { env, harness, object } = await setup(rowsOf(5), writes, {}, { badCredentials: true });
      const result = await harness.sync('s');
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(/401|credential|auth/i);
      expect(result.accepted).toBe(0);
      expect((await env.records(object)).size).toBe(0);
      // Nothing was recorded as sent: the next run with the right credentials sends everything.
      expect(await harness.engine().store.snapshotSize('s')).toBe(0);
    });

    check('batch-limits', async () => {
      const { env, harness, object } = await setup(rowsOf(95), writes, { maxBatchRecords: 10 }, { batchSize: 10 });
      const result = await harness.sync('s');
      expect(result.status).toBe('success');
      expect(result.requests).toBe(10);
      if (env.maxBatch) expect(env.maxBatch()).toBeLessThanOrEqual(10);
      expect(await env.records(object)).toEqual(want(rowsOf(95)));
    });

    check('rate-limit', async () => {
      // The emulator allows a burst of 4 requests, then 4 a second, and answers 429 beyond: the sync (16 requests) must
      // wait, not lose records. A small burst and rate, so that the 429s come however slowly a loaded machine sends.
      const rows = rowsOf(32);
      const { env, harness, object } = await setup(rows, writes, { rateLimit: { requests: 4, perMs: 1000 } }, { batchSize: 2 });
      const result = await harness.sync('s');
      expect(result.status).toBe('success');
      expect(env.rateLimited!()).toBeGreaterThan(0);
      expect(result.rateLimited).toBeGreaterThan(0);
      expect(await env.records(object)).toEqual(want(rows));
    });

    check('partial-failure', async () => {
      const rows = rowsOf(40);
      const { env, harness, object } = await setup(rows, writes, { rejectKeys: ['7', '23'] }, { batchSize: 10 });
      const result = await harness.sync('s');
      expect(result.status).toBe('partial');
      expect(result.accepted).toBe(38);
      expect(result.rejected).toBe(2);
      const held = await env.records(object);
      const kept = rows.filter((p) => p.id !== 7 && p.id !== 23);
      if (shape) expect(held).toEqual(want(kept));
      else expect([...held.keys()].sort()).toEqual(kept.map((p) => String(p.id)).sort());
      const rejected = await harness.engine().store.rejectedRows('s', 10);
      expect(rejected.map((r) => r['record_key']).sort()).toEqual(['23', '7']);
      expect(rejected.every((r) => r['retryable'] === false && typeof r['error_message'] === 'string')).toBe(true);
      // Refused for good and unchanged: not sent again.
      const again = await harness.sync('s');
      expect(again.counts.held_back).toBe(2);
      expect(again.requests).toBe(0);
    });

    check('idempotent-rerun', async () => {
      const rows = rowsOf(30);
      const { env, harness, object } = await setup(rows, writes);
      expect((await harness.sync('s')).accepted).toBe(30);
      const second = await harness.sync('s');
      expect(second.status).toBe('success');
      expect(second.requests).toBe(0);
      const changed = rows.map((p) => (p.id === 12 ? changedRow(p) : p));
      await harness.setRows(changed);
      const third = await harness.sync('s');
      expect(third.counts).toMatchObject({ changed: 1, added: 0 });
      expect(third.settled).toBe(1);
      expect(third.requests).toBe(1);
      expect(await env.records(object)).toEqual(want(changed));
      // A full resync sends everything again and converges to the same state.
      const full = await harness.sync('s', { fullResync: true });
      expect(full.accepted).toBe(30);
      expect(await env.records(object)).toEqual(want(changed));
    });

    check('audience', async () => {
      const { env, harness, object } = await setup(rowsOf(10), 'audience');
      await harness.sync('s');
      if (shape) expect(await env.records(object)).toEqual(want(rowsOf(10)));
      else expect([...(await env.records(object)).keys()].sort()).toEqual(people(10).map((p) => String(p.id)).sort());
      const next = [...rowsOf(7), ...rowsOf(2, 50)];
      await harness.setRows(next);
      const result = await harness.sync('s');
      expect(result.counts).toMatchObject({ added: 2, removed: 3, changed: 0 });
      expect(result.status).toBe('success');
      if (shape) expect(await env.records(object)).toEqual(want(next));
      else expect([...(await env.records(object)).keys()].sort()).toEqual(next.map((p) => String(p.id)).sort());
    });

    check('mirror-delete', async () => {
      const { env, harness, object } = await setup(rowsOf(20), 'mirror', {}, {}, { max_removals: '50%' });
      await harness.sync('s');
      const kept = rowsOf(15);
      await harness.setRows(kept);
      const result = await harness.sync('s');
      expect(result.counts.removed).toBe(5);
      expect(result.status).toBe('success');
      expect(await env.records(object)).toEqual(want(kept));
      // Beyond max_removals (13 of 15: more than 50%, and more than the floor of 10) the run aborts before sending anything.
      await harness.setRows(rowsOf(2));
      const guarded = await harness.sync('s');
      expect(guarded.status).toBe('failed');
      expect(guarded.error).toMatch(/^would remove 13 of the 15 records .*max_removals.*--force/);
      expect(guarded.requests).toBe(0);
      expect(await env.records(object)).toEqual(want(kept));
    });

    if (kit.events) describeEventCases(kit, kit.events, check, open);

    // Erasure (`tideline forget`): in each mode the destination writes people in, two of ten records are erased with
    // the vendor's own erasure (or the mode's removal, as the destination declares); the others stay as they were,
    // and asking again (a re-run after a crash) is accepted. A mode the vendor cannot erase through its API says what
    // the data-protection officer must do instead.
    check('forget', async () => {
      const registered = (registries?.destinations ?? DESTINATIONS).find((t) => t.type === type);
      const modes = [...new Set([writes, 'audience', 'mirror'])].filter((m) => registered?.modes.includes(m as SyncMode));
      expect(modes.length).toBeGreaterThan(0);
      for (const mode of modes) {
        const rows = rowsOf(10);
        const { env, harness, object } = await setup(rows, mode);
        expect((await harness.sync('s')).status).toBe('success');
        const first = await harness.erase('s', ['3', '7']);
        if ('manual' in first.plan) {
          expect(first.plan.manual.length, `${mode}: what to do instead`).toBeGreaterThan(20);
          continue;
        }
        expect(first.plan.method.length, `${mode}: the vendor call, cited`).toBeGreaterThan(10);
        expect(first.failure).toBeUndefined();
        expect(first.outcomes.map((o) => [o.key, o.ok])).toEqual([['3', true], ['7', true]]);
        const kept = rows.filter((r) => r.id !== 3 && r.id !== 7);
        if (shape || mode !== 'audience') expect(await env.records(object), mode).toEqual(want(kept));
        else expect([...(await env.records(object)).keys()].sort()).toEqual(kept.map((p) => String(p.id)).sort());
        const again = await harness.erase('s', ['3', '7']);
        expect(again.outcomes.every((o) => o.ok), `${mode}: erasing again is accepted`).toBe(true);
        if (shape || mode !== 'audience') expect(await env.records(object)).toEqual(want(kept));
        else expect([...(await env.records(object)).keys()].sort()).toEqual(kept.map((p) => String(p.id)).sort());
      }
    });

    check('thousand-records', async () => {
      const rows = rowsOf(1000);
      const { env, harness, object } = await setup(rows, writes, {}, { batchSize: 100 });
      const result = await harness.sync('s');
      expect(result).toMatchObject({ status: 'success', accepted: 1000, rejected: 0 });
      expect(await env.records(object)).toEqual(want(rows));
    });
  });
}

type Check = (name: ContractCase, body: () => Promise<void>) => void;
type Open = { env?: ContractEnvironment; harness?: SyncHarness }[];

/**
 * The events cases (a destination whose modes include `events`): events sent once across runs, late events inside
 * the look-back sent once and earlier ones never read, refusals held back, events older than the destination accepts
 * counted and never sent, and what a resend leaves at the destination — one copy per id where the vendor
 * de-duplicates, every copy where it does not.
 */
function describeEventCases(kit: ContractKit, shape: EventShape, check: Check, open: Open): void {
  async function setup(events: readonly ContractEvent[], options: Omit<ContractOptions, 'dir'> = {}, event: Record<string, unknown> = {}) {
    const env = await kit.start({ dir: tempDir('tideline-contract-events-'), ...options });
    const slot: { env?: ContractEnvironment; harness?: SyncHarness } = { env };
    open.push(slot);
    const harness = await SyncHarness.start({
      destinations: [{ name: 'dest', ...env.destination({}) }],
      syncs: [
        {
          name: 's',
          model: 'people',
          destination: 'dest',
          object: shape.object,
          mode: 'events',
          key: { from: 'event_id', field: shape.keyField },
          event: { time: 'event_time', name: { from: 'event_name' }, lookback: '1 day', backfill: '30 days', ...event },
          fields: shape.fields,
        },
      ],
      rows: events,
      columns: EVENT_COLUMNS,
    });
    slot.harness = harness;
    return { env, harness };
  }
  /** What the destination holds, by event id: every copy's fields. */
  async function held(env: ContractEnvironment): Promise<Map<string, Record<string, unknown>[]>> {
    const byId = new Map<string, Record<string, unknown>[]>();
    for (const event of await env.events!(shape.object)) byId.set(event.id, [...(byId.get(event.id) ?? []), event.fields]);
    return byId;
  }
  /** Exactly these events, one copy each, as the shape expects them. */
  async function holdsOnce(env: ContractEnvironment, events: readonly ContractEvent[]): Promise<void> {
    const byId = await held(env);
    expect([...byId.keys()].sort()).toEqual(events.map((e) => e.event_id).sort());
    for (const e of events) expect(byId.get(e.event_id), e.event_id).toEqual([shape.expected(e)]);
  }

  check('events-once', async () => {
    const now = new Date();
    const first = contractEvents(30, { now, endMinutesAgo: 60 });
    const { env, harness } = await setup(first);
    const one = await harness.sync('s');
    expect(one).toMatchObject({ status: 'success', accepted: 30, rejected: 0 });
    expect(one.counts.added).toBe(30);
    await holdsOnce(env, first);
    // Nothing new: nothing planned, no request.
    const two = await harness.sync('s');
    expect(two.counts.added).toBe(0);
    expect(two.requests).toBe(0);
    // Newer events: only they are sent.
    const more = [...first, ...contractEvents(5, { start: 31, endMinutesAgo: 1, minutesApart: 1 })];
    await harness.setRows(more);
    const three = await harness.sync('s');
    expect(three).toMatchObject({ status: 'success', accepted: 5 });
    await holdsOnce(env, more);
  });

  check('events-late', async () => {
    const now = new Date();
    const first = contractEvents(10, { now, endMinutesAgo: 30 });
    const { env, harness } = await setup(first);
    expect((await harness.sync('s')).accepted).toBe(10);
    // Two rows land after that run: one whose event happened 3 hours before it (inside the 1-day look-back) and one
    // from 3 days before (outside it). The first is read and sent once; the second is never read.
    const [tooLate, late] = contractEvents(2, { start: 11, now, endMinutesAgo: 180, minutesApart: 3 * 24 * 60 - 180 });
    await harness.setRows([...first, tooLate!, late!]);
    const two = await harness.sync('s');
    expect(two).toMatchObject({ status: 'success', accepted: 1 });
    await holdsOnce(env, [...first, late!]);
    expect((await harness.sync('s')).requests).toBe(0);
  });

  check('events-partial-failure', async () => {
    const events = contractEvents(20, { endMinutesAgo: 15 });
    const { env, harness } = await setup(events, { rejectKeys: ['ev-7'] });
    const one = await harness.sync('s');
    expect(one).toMatchObject({ status: 'partial', accepted: 19, rejected: 1 });
    await holdsOnce(env, events.filter((e) => e.event_id !== 'ev-7'));
    const rejected = await harness.engine().store.rejectedRows('s', 10);
    expect(rejected.map((r) => [r['record_key'], r['retryable']])).toEqual([['ev-7', false]]);
    // Refused for good: held back, not sent again, and the window moves on.
    const two = await harness.sync('s');
    expect(two.counts.held_back).toBe(1);
    expect(two.requests).toBe(0);
  });

  check('events-too-old', async () => {
    const now = new Date();
    const recent = contractEvents(4, { now, endMinutesAgo: 20 });
    const old = contractEvents(3, { start: 5, now, endMinutesAgo: 400 * 24 * 60, minutesApart: 60 });
    const { env, harness } = await setup([...old, ...recent], {}, { backfill: 'all' });
    const sync = harness.project.syncs.get('s')!;
    const maxAge = sync.destination.type.events?.maxAgeDays(sync.destination.config, eventShape(sync));
    const result = await harness.sync('s');
    expect(result.status).toBe('success');
    if (maxAge !== undefined && maxAge < 400) {
      // Older than the destination accepts: counted, never sent.
      expect(result.counts.too_old).toBe(3);
      expect(result.accepted).toBe(4);
      await holdsOnce(env, recent);
    } else {
      expect(result.counts.too_old).toBe(0);
      await holdsOnce(env, [...old, ...recent]);
    }
  });

  check('forget-events', async () => {
    const events = contractEvents(10, { endMinutesAgo: 5 });
    const { env, harness } = await setup(events);
    expect((await harness.sync('s')).accepted).toBe(10);
    const erased = await harness.erase('s', ['ev-3', 'ev-7']);
    if ('manual' in erased.plan) {
      // The vendor keeps events it ingested: nothing is sent, and the report says what to do instead.
      expect(erased.plan.manual.length).toBeGreaterThan(20);
      expect(erased.requests).toBe(0);
      return;
    }
    expect(erased.failure).toBeUndefined();
    expect(erased.outcomes.every((o) => o.ok)).toBe(true);
    await holdsOnce(env, events.filter((e) => e.event_id !== 'ev-3' && e.event_id !== 'ev-7'));
  });

  check('events-resend', async () => {
    const events = contractEvents(12, { endMinutesAgo: 5 });
    const { env, harness } = await setup(events);
    expect((await harness.sync('s')).accepted).toBe(12);
    // A full resync forgets what was sent: every event of the backfill window goes again, with the same id.
    const again = await harness.sync('s', { fullResync: true });
    expect(again.accepted).toBe(12);
    const sync = harness.project.syncs.get('s')!;
    const byId = await held(env);
    expect([...byId.keys()].sort()).toEqual(events.map((e) => e.event_id).sort());
    const copies = [...byId.values()].map((c) => c.length);
    // A vendor that de-duplicates by id keeps one copy; one that does not keeps both: what a run re-sending after a
    // crash would leave there too (the README's bound).
    if (sync.destination.type.events?.deduplication !== undefined) expect(copies.every((n) => n === 1)).toBe(true);
    else expect(copies.every((n) => n === 2)).toBe(true);
  });
}
