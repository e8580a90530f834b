import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { contacts, CONTACT_COLUMNS, type Contact, type ContractCase, type ContractEnvironment, type ContractKit, type ContractOptions } from '../../destinations/emulator-kit/contract.js';
import type { Registries } from '../../src/project/loader.js';
import { contractSync, expected, people, SyncHarness, type Person } from './sync-harness.js';

type Row = Person | Contact;

/**
 * The shared contract suite of one destination type, through the real sync engine, against the environment its kit
 * starts (destinations/<type>/contract.ts): test/destination-contract.test.ts runs it for every registered type.
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
      const env = await kit.start({ dir: mkdtempSync(join(tmpdir(), `tideline-contract-${type}-`)), ...options });
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

    check('thousand-records', async () => {
      const rows = rowsOf(1000);
      const { env, harness, object } = await setup(rows, writes, {}, { batchSize: 100 });
      const result = await harness.sync('s');
      expect(result).toMatchObject({ status: 'success', accepted: 1000, rejected: 0 });
      expect(await env.records(object)).toEqual(want(rows));
    });
  });
}
