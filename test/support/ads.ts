import { Writable } from 'node:stream';
import { afterEach, expect } from 'vitest';
import { sql } from '../../src/dialects/sql.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import type { ErasureResult } from '../../src/privacy/erase.js';
import { people, SyncHarness, type HarnessOptions, type Person } from './sync-harness.js';

/** A debug-level JSON logger whose lines are kept, to check what a sync run logs. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', format: 'json', destination }), lines };
}

/** The snapshot of a sync: record key → what it retained (parsed), as the state holds it. */
export async function snapshotRetained(harness: SyncHarness, sync: string): Promise<Map<string, Record<string, unknown>>> {
  const store = harness.engine().store;
  const d = store.dialect;
  const rows = await harness.connection.query(sql`SELECT ${d.id('record_key')}, ${d.id('retained')} FROM ${d.table(store.snapshot(sync))}`);
  return new Map(rows.map((r) => [String(r['record_key']), JSON.parse(String(r['retained'] ?? '{}')) as Record<string, unknown>]));
}

/**
 * The emulator and the harness of each test of a describe block, closed after the test (the harness first): call it
 * in the block, then hand it each emulator started and how to start its harness.
 */
export function harnessPerTest<E extends { close(): Promise<void> }>(): (emulator: E, start: () => Promise<SyncHarness>) => Promise<{ emulator: E; harness: SyncHarness }> {
  const open: { emulator: E; harness?: SyncHarness }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.harness?.close();
      await o.emulator.close();
    }
  });
  return async (emulator, start) => {
    const slot: (typeof open)[number] = { emulator };
    open.push(slot);
    slot.harness = await start();
    return { emulator, harness: slot.harness };
  };
}

/**
 * A harness with one destination (`destination`, named by its `name`) and one audience sync `s` of the model
 * `people` to it (`sync`: its object, key and fields).
 */
export function startAudienceHarness(destination: { readonly name: string } & Record<string, unknown>, sync: Record<string, unknown>, rows: readonly object[], columns?: HarnessOptions['columns']): Promise<SyncHarness> {
  return SyncHarness.start({
    destinations: [destination],
    syncs: [{ name: 's', model: 'people', destination: destination.name, mode: 'audience', ...sync }],
    rows,
    ...(columns ? { columns } : {}),
  });
}

/** What an emulator holds under one object (an audience, a segment): key → a copy of the member. */
export function heldRecords(records: Iterable<readonly [string, object]>): Map<string, object> {
  return new Map([...records].map(([k, v]) => [k, { ...v }]));
}

type SyncResult = Awaited<ReturnType<SyncHarness['sync']>>;

/**
 * An audience's round trip through sync `s`, its runs logged to `logger`: 10 people added in one request (`first`
 * checks more of that run), a rerun that sends nothing, then 7 who stay, 2 who join and 3 who leave — after each run
 * the platform holds (`held`) what `expected` says of the model's people. Answers the people of the last run.
 */
export async function audienceRoundTrip(
  harness: SyncHarness,
  logger: ReturnType<typeof captureLogger>['logger'],
  held: () => unknown,
  expected: (rows: readonly Person[]) => unknown,
  first: (result: SyncResult) => void = () => undefined,
): Promise<Person[]> {
  const added = await harness.sync('s', {}, { logger });
  expect(added).toMatchObject({ status: 'success', accepted: 10, requests: 1 });
  expect(held()).toEqual(expected(people(10)));
  first(added);
  expect((await harness.sync('s')).requests).toBe(0);

  const next = [...people(7), ...people(2, 50)];
  await harness.setRows(next);
  const third = await harness.sync('s', {}, { logger });
  expect(third.counts).toMatchObject({ added: 2, removed: 3 });
  expect(held()).toEqual(expected(next));
  return next;
}

/**
 * Privacy after an audience round trip: the state keeps `retainedFirst` for record 1 (hashes); no request body
 * (`bodies`), log line or retained value holds an address of the people 1–10 or of `next`; no log line holds the
 * platform's access token; the platform received no unhashed value.
 */
export async function expectNoPersonalData(
  harness: SyncHarness,
  capture: ReturnType<typeof captureLogger>,
  platform: { readonly bodies: readonly string[]; readonly accessToken: string; readonly stats: { readonly unhashedValues: number } },
  next: readonly Person[],
  retainedFirst: Record<string, unknown>,
): Promise<void> {
  const retained = await snapshotRetained(harness, 's');
  expect(retained.get('1')).toEqual(retainedFirst);
  const seen = [...platform.bodies, ...capture.lines, JSON.stringify([...retained])].join('\n');
  for (const p of [...people(10), ...next]) expect(seen).not.toContain(p.email!);
  expect(capture.lines.join('\n')).not.toContain(platform.accessToken);
  expect(platform.stats.unhashedValues).toBe(0);
}

/**
 * Syncs `s` (every row accepted) and erases `keys` as `tideline forget` does, expecting the audience's removal as the
 * plan and every key erased: the start of an audience destination's erasure test, which then checks the request.
 */
export async function syncThenRemove(harness: SyncHarness, rows: number, keys: readonly string[]): Promise<ErasureResult> {
  expect((await harness.sync('s')).accepted).toBe(rows);
  const erased = await harness.erase('s', keys);
  expect(erased.plan).toMatchObject({ operation: 'remove' });
  expect(erased.outcomes).toEqual(keys.map((key) => ({ key, ok: true })));
  return erased;
}
