import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookEmulator, type WebhookEmulator } from '../destinations/webhook/emulator.js';
import { Sql, sql } from '../src/dialects/sql.js';
import type { TableRef } from '../src/dialects/dialect.js';
import { unnumberedTable } from '../src/state/tables.js';
import { materialiseChanges, materialiseStatement, type PartedDiff } from '../src/sync/planner.js';
import { checkedDiff, modelColumns } from '../src/sync/run/plan.js';
import type { Connection } from '../src/warehouses/connection.js';
import { FORGOTTEN_COLUMNS, privacySalt, privacyTable, setupPrivacy, tokenHash } from '../src/privacy/state.js';
import { SyncHarness } from './support/sync-harness.js';
import { watchedConnection } from './support/watched-connection.js';

/**
 * A diff too large to join within DuckDB's memory_limit is made a part of its keys at a time (materialiseChanges,
 * PlanInput.part). The oracle is the same diff made whole, in one statement: the parts' change set must hold the same
 * rows with the same numbers — removals, changes, additions, null and shared keys, and keys whose case changed under a
 * case-insensitive key column, which the whole diff's `=` finds equal.
 */
describe('a sync diff made in parts of its keys (DuckDB)', () => {
  let emulator: WebhookEmulator;
  let harness: SyncHarness;
  const columns = [
    { name: 'code', type: 'string' as const },
    { name: 'email', type: 'string' as const },
    { name: 'orders', type: 'integer' as const },
  ];
  const row = (code: string | null, orders = 1) => ({ code, email: `${code ?? 'none'}@example.com`, orders });
  const first = [...Array.from({ length: 300 }, (_, i) => row(`Key${i + 1}`)), row(null), row('Dup'), row('Dup', 2)];

  beforeAll(async () => {
    emulator = await startWebhookEmulator();
    harness = await SyncHarness.start({
      columns,
      rows: [],
      destinations: [{ name: 'hook', type: 'webhook', url: `${emulator.endpoint}/hook`, secret: emulator.secret }],
      syncs: [{ name: 'm', model: 'people', destination: 'hook', object: 'contacts', mode: 'mirror', key: { from: 'code', field: 'code' }, fields: { email: 'email', orders: 'orders' } }],
    });
    // The model's key column compares without case, as a source declared COLLATE NOCASE makes it.
    await harness.connection.execute(sql`ALTER TABLE ${harness.connection.dialect.table({ schema: harness.schemas.source, name: 'people' })} ALTER COLUMN code SET DATA TYPE VARCHAR COLLATE NOCASE`);
    await harness.setRows(first);
    expect((await harness.sync('m')).status).toBe('success');
    // 40 rows left, 30 changed, 50 new; 10 keys now written in capitals; the null and shared keys stay.
    const second = first
      .filter((_, i) => i >= 40)
      .map((r, i) => (i < 30 ? { ...r, orders: 9 } : i < 40 ? { ...r, code: r.code!.toUpperCase() } : r));
    await harness.setRows([...second, ...Array.from({ length: 50 }, (_, i) => row(`Key${301 + i}`))]);
  });
  afterAll(async () => {
    await harness?.close();
    await emulator?.close();
  });

  /** The diff of sync `m` as the plan makes it, whole and by part. */
  async function diffOf(connection: Connection = harness.connection): Promise<{ whole: Sql; parted: PartedDiff; sources: TableRef[] }> {
    const sync = harness.project.syncs.get('m')!;
    const store = harness.engine().store;
    const model = await modelColumns(harness.connection, harness.project, sync);
    const { select, diff } = await checkedDiff(connection, {
      dialect: harness.connection.dialect,
      sync,
      model: model.table,
      types: model.types,
      snapshot: store.snapshot('m'),
      rejected: store.table('rejected'),
      gates: model.gates,
      forgotten: model.forgotten,
    });
    if (diff instanceof Sql) throw new Error('expected a diff that can be made in parts');
    return { whole: select, parted: diff, sources: [model.table, store.snapshot('m')] };
  }

  /** `connection` with each statement it executes passed to `seen` first, which may throw in its place. */
  const watched = (connection: Connection, seen: (text: string) => void) => watchedConnection(connection, (text, method) => method === 'execute' && seen(text));

  const table = (name: string): TableRef => ({ schema: harness.schemas.state, name });
  /**
   * A change set's rows: those sent in seq order, then those never sent, without their numbers and in a fixed order
   * (rows whose keys tie, null and shared keys, are numbered in any order among themselves).
   */
  const rowsOf = async (t: TableRef) => {
    const rows = await harness.connection.query(sql`SELECT * FROM ${harness.connection.dialect.table(t)} ORDER BY seq`);
    const invalid = (r: Record<string, unknown>) => ['null_key', 'duplicate_key'].includes(String(r['op']));
    const unsent = rows.filter(invalid).map((r) => JSON.stringify({ ...r, seq: null }));
    return [...rows.filter((r) => !invalid(r)), ...unsent.sort()];
  };
  /** Whether a statement writes the unnumbered rows of change set `t` (a part of its diff staged). */
  const staging = (t: TableRef) => {
    const name = harness.connection.dialect.table(unnumberedTable(t)).text;
    return (text: string) => text.startsWith(`CREATE TABLE ${name} `) || text.startsWith(`INSERT INTO ${name}\n`);
  };

  it('holds the rows and numbers of the whole diff, with case-insensitive keys matched across parts', async () => {
    const { whole, parted, sources } = await diffOf();
    await harness.connection.execute(materialiseStatement(harness.connection.dialect, table('whole'), whole));
    const expected = await rowsOf(table('whole'));
    const ops = await harness.connection.query(sql`SELECT op, COUNT(*) AS n FROM ${harness.connection.dialect.table(table('whole'))} GROUP BY op ORDER BY op`);
    // The 10 keys in capitals are their snapshot rows' keys (NOCASE): neither added nor removed.
    expect(Object.fromEntries(ops.map((r) => [r['op'], Number(r['n'])]))).toEqual({ removed: 40, changed: 30, added: 50, null_key: 1, duplicate_key: 2 });

    let statements = 0;
    const connection = watched(harness.connection, (text) => void (staging(table('parted'))(text) && statements++));
    // 300 snapshot rows, 40 a part: 8 parts, each staged by its own statement.
    await materialiseChanges(connection, table('parted'), parted, sources, 1_000_000, 40);
    expect(statements).toBe(8);
    expect(await rowsOf(table('parted'))).toEqual(expected);
    expect(await harness.connection.columns(unnumberedTable(table('parted')))).toBeUndefined();
  });

  it("reads DuckDB's memory limit as the number of bytes it was set to", async () => {
    const limit = harness.connection.dialect.memoryLimit!;
    await harness.connection.execute(sql`SET memory_limit = '64MB'`);
    const text = String((await harness.connection.query(limit.statement))[0]?.['limit']);
    await harness.connection.execute(sql`RESET memory_limit`);
    // DuckDB prints 64MB as 61.0 MiB.
    expect(limit.bytes(text)).toBeGreaterThan(63e6);
    expect(limit.bytes(text)).toBeLessThanOrEqual(64e6);
    expect(limit.bytes('18.4 GiB')).toBeCloseTo(18.4 * 2 ** 30);
    expect(limit.bytes('unlimited')).toBeUndefined();
    expect(limit.exhausted(new Error('Out of Memory Error: failed to pin block'))).toBe(true);
    expect(limit.exhausted(new Error('Constraint Error'))).toBe(false);
  });

  it('starts over in twice as many parts when a part runs out of memory, and leaves nothing behind on another failure', async () => {
    const { whole, parted, sources } = await diffOf();
    await harness.connection.execute(materialiseStatement(harness.connection.dialect, table('whole2'), whole));
    const isStaging = staging(table('retried'));
    let statements = 0;
    const outOfMemory = watched(harness.connection, (text) => {
      if (!isStaging(text)) return;
      // The third part of the first attempt fails as DuckDB does when a join does not fit.
      if (++statements === 3) throw new Error('Out of Memory Error: failed to pin block of size 256.0 KiB (61.0 MiB/61.0 MiB used)');
    });
    await materialiseChanges(outOfMemory, table('retried'), parted, sources, 1_000_000, 100);
    // 3 parts (2 staged, the third failed), then 6.
    expect(statements).toBe(3 + 6);
    expect(await rowsOf(table('retried'))).toEqual(await rowsOf(table('whole2')));

    // Estimated to fit whole, then out of memory: made in two parts instead.
    const wholeName = harness.connection.dialect.table(table('fallback')).text;
    let wholeTries = 0;
    let fallbackParts = 0;
    const isFallbackStaging = staging(table('fallback'));
    const wholeOutOfMemory = watched(harness.connection, (text) => {
      if (isFallbackStaging(text)) fallbackParts++;
      if (text.startsWith(`CREATE TABLE ${wholeName} `) && ++wholeTries === 1) throw new Error('Out of Memory Error: failed to pin block');
    });
    await materialiseChanges(wholeOutOfMemory, table('fallback'), parted, sources, 1_000_000, 1_000_000);
    expect([wholeTries, fallbackParts]).toEqual([2, 2]);
    expect(await rowsOf(table('fallback'))).toEqual(await rowsOf(table('whole2')));

    const isFailing = staging(table('failed'));
    let calls = 0;
    const failing = watched(harness.connection, (text) => {
      if (isFailing(text) && ++calls === 2) throw new Error('the warehouse went away');
    });
    await expect(materialiseChanges(failing, table('failed'), parted, sources, 1_000_000, 100)).rejects.toThrow('the warehouse went away');
    expect(calls).toBe(2);
    expect(await harness.connection.columns(unnumberedTable(table('failed')))).toBeUndefined();
    expect(await harness.connection.columns(table('failed'))).toBeUndefined();
  });

  it('plans a run in parts when the snapshot holds more rows than a part, and sends what the whole diff holds', async () => {
    // 300 snapshot rows, 100 a part (EngineOptions.diffPartRows, as a small memory_limit makes it for millions of rows).
    let statements = 0;
    const isStaging = staging(harness.engine().store.changes('m'));
    // --force: 40 of 300 is past the default max_removals.
    const run = await harness.sync('m', { force: true }, { connection: watched(harness.connection, (text) => void (isStaging(text) && statements++)), diffPartRows: 100 });
    expect([run.status, run.error]).toEqual(['success', null]);
    expect(statements).toBe(3);
    expect(run.counts).toMatchObject({ removed: 40, changed: 30, added: 50, null_key: 1, duplicate_key: 2 });
    const held = emulator.records('contacts');
    expect(held.size).toBe(300 - 40 + 50);
    expect(held.get('Key41')).toMatchObject({ orders: 9 });
    expect(held.has('Key1')).toBe(false);
    expect(held.has('Key350')).toBe(true);
    // A key now in capitals is still the record the destination holds under its first spelling.
    expect(held.has('Key71')).toBe(true);
  });
  it('holds the whole diff in parts where no key is shared and a person was forgotten', async () => {
    // The first run of the test before sent the current rows: now the shared key is gone (the diff leaves its per-row
    // test out) and the person of Key100 was forgotten (`tideline forget`): the row is left out, its record not removed.
    const store = harness.engine().store;
    await setupPrivacy(store);
    const salt = (await privacySalt(store, true))!;
    await harness.connection.insertRows(privacyTable(store, 'forgotten'), FORGOTTEN_COLUMNS, [[[tokenHash(salt, 'Key100@example.com'), 'email', 'test', new Date()]]]);
    const current = [...first.filter((r, i) => i >= 40 && r.code !== 'Dup'), ...Array.from({ length: 50 }, (_, i) => row(`Key${301 + i}`, 3))];
    await harness.setRows(current);
    const { whole, parted, sources } = await diffOf();
    await harness.connection.execute(materialiseStatement(harness.connection.dialect, table('whole3'), whole));
    const ops = await harness.connection.query(sql`SELECT op, COUNT(*) AS n FROM ${harness.connection.dialect.table(table('whole3'))} GROUP BY op ORDER BY op`);
    // The 30 rows changed back, the 50 new ones changed, Key100 forgotten; the null key stays; Dup left the model and
    // was never held, so nothing is removed.
    expect(Object.fromEntries(ops.map((r) => [r['op'], Number(r['n'])]))).toEqual({ changed: 80, forgotten: 1, null_key: 1 });
    await materialiseChanges(harness.connection, table('parted3'), parted, sources, 1_000_000, 30);
    expect(await rowsOf(table('parted3'))).toEqual(await rowsOf(table('whole3')));
    // The check for shared keys out of memory: the diff keeps its per-row test, and its parts the same rows.
    let checks = 0;
    const checkOutOfMemory = watchedConnection(harness.connection, (text, method) => {
      if (method === 'query' && /AS "shared"$/.test(text.trim()) && ++checks) throw new Error('Out of Memory Error: could not allocate block');
    });
    const unchecked = await diffOf(checkOutOfMemory);
    expect(checks).toBe(1);
    expect(unchecked.whole.text).not.toEqual(parted.select(undefined).text);
    await materialiseChanges(harness.connection, table('parted4'), unchecked.parted, sources, 1_000_000, 30);
    expect(await rowsOf(table('parted4'))).toEqual(await rowsOf(table('whole3')));
  });
});
