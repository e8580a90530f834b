import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from './support/engines.js';
import { contractSync, people, SyncHarness, type Person } from './support/sync-harness.js';

/**
 * The file destination's `full_list: true`, through the real engine on each warehouse. The files are judged by reading
 * them as a consumer would (csv-parse, JSON.parse), against the people the model holds, computed here in TypeScript.
 */
type Held = Record<string, Record<string, string>>;

/** What a full list must hold for these people: every field as text, nulls left out (null_policy skip). */
function wanted(rows: readonly Person[]): Held {
  const entries = rows.map((p) => {
    const fields = Object.entries({ email: p.email, first_name: p.first_name, orders: p.orders }).filter(([, v]) => v !== null);
    return [String(p.id), Object.fromEntries(fields.map(([k, v]) => [k, String(v)]))] as const;
  });
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

interface Read {
  readonly op: string;
  readonly key: string;
  readonly fields: Record<string, string>;
}

/** Rows of a data file, read plainly: CSV with its header (empty cells dropped), or JSON Lines. */
function readRows(path: string): Read[] {
  const text = readFileSync(path, 'utf8');
  const rows = path.endsWith('.csv')
    ? (parse(text, { columns: true }) as Record<string, string>[]).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== '')))
    : text
        .split('\n')
        .filter((l) => l)
        .map((l) => Object.fromEntries(Object.entries(JSON.parse(l) as Record<string, unknown>).map(([k, v]) => [k, String(v)])));
  return rows.map(({ _op, external_id, ...fields }) => ({ op: _op!, key: external_id!, fields }));
}

/** The folder's files: the full lists (data and manifests) and the change files' manifests, in run order. */
function folder(dir: string) {
  const names = readdirSync(dir).sort();
  const full = names.filter((n) => n.includes('.full.'));
  const manifests = names.filter((n) => n.endsWith('.manifest.json')).map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as { list: string; file: string; records: number; sha256: string; columns: string[]; complete: boolean; run_id: string });
  return { names, full, fullManifests: manifests.filter((m) => m.list === 'full'), changeManifests: manifests.filter((m) => m.list === 'changes') };
}

/** The one full list in the folder, checked against its manifest, as key → fields (its rows must all carry `op`). */
function fullList(dir: string, op: string): { held: Held; runId: string; columns: string[] } {
  const { full, fullManifests } = folder(dir);
  // One list and its manifest: older lists are gone, nothing half-written is left.
  expect(fullManifests).toHaveLength(1);
  const manifest = fullManifests[0]!;
  expect(full.sort()).toEqual([manifest.file, `${manifest.file}.manifest.json`]);
  const path = join(dir, manifest.file);
  expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(manifest.sha256);
  const rows = readRows(path);
  expect(rows.length).toBe(manifest.records);
  expect(manifest.complete).toBe(true);
  expect(new Set(rows.map((r) => r.op))).toEqual(new Set(rows.length ? [op] : []));
  const keys = rows.map((r) => r.key);
  expect(new Set(keys).size).toBe(keys.length);
  return { held: Object.fromEntries(rows.map((r) => [r.key, r.fields])), runId: manifest.run_id, columns: manifest.columns };
}

/** What a consumer holds after replaying every change file in run order. */
function replayChanges(dir: string): Held {
  const held: Held = {};
  for (const manifest of folder(dir).changeManifests) {
    for (const row of readRows(join(dir, manifest.file))) {
      if (row.op === 'delete' || row.op === 'remove') delete held[row.key];
      else held[row.key] = { ...held[row.key], ...row.fields };
    }
  }
  return held;
}

const sorted = (held: Held): Held => Object.fromEntries(Object.entries(held).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

for (const engine of engines()) {
  describe(`file destination full_list on ${engine.name}`, () => {
    let harness: SyncHarness;
    const out = mkdtempSync(join(tmpdir(), 'tideline-full-'));
    const first = people(30).map((p) => (p.id === 7 ? { ...p, first_name: null } : p));
    // Five leave, one changes, three arrive.
    const second = [...first.filter((p) => p.id > 5).map((p) => (p.id === 10 ? { ...p, orders: 99, email: 'new, "quoted"\nline@example.com' } : p)), ...people(3, 31)];

    beforeAll(async () => {
      harness = await SyncHarness.start({
        engine,
        rows: first,
        destinations: [
          { name: 'calls', type: 'file', path: join(out, 'csv'), format: 'csv', batch_size: 7, full_list: true },
          { name: 'lists', type: 'file', path: join(out, 'jsonl'), format: 'jsonl', batch_size: 4, full_list: true },
        ],
        syncs: [contractSync('call_list', 'calls', 'contacts', 'mirror', { max_deletes: '50%' }), contractSync('audience_list', 'lists', 'members', 'audience')],
      });
    }, 60_000);
    afterAll(async () => {
      await harness.close();
    });

    for (const [sync, format, op] of [
      ['call_list', 'csv', 'upsert'],
      ['audience_list', 'jsonl', 'add'],
    ] as const) {
      it(`${sync} (${format}): each run's full list holds exactly the current records; older lists are deleted`, async () => {
        const dir = join(out, format, sync);
        await harness.setRows(first);
        const run1 = await harness.sync(sync);
        expect(run1).toMatchObject({ status: 'success' });
        const list1 = fullList(dir, op);
        expect(list1.held).toEqual(wanted(first));
        expect(list1.columns).toEqual(['_op', 'external_id', 'email', 'first_name', 'orders']);
        // The change files say the same thing, with the same columns.
        expect(sorted(replayChanges(dir))).toEqual(list1.held);
        expect(folder(dir).changeManifests.map((m) => m.columns)).toEqual([list1.columns]);

        await harness.setRows(second);
        const run2 = await harness.sync(sync);
        expect(run2).toMatchObject({ status: 'success', counts: { added: 3, changed: 1, removed: 5 } });
        const list2 = fullList(dir, op);
        expect(list2.runId).not.toBe(list1.runId);
        expect(list2.held).toEqual(wanted(second));
        expect(sorted(replayChanges(dir))).toEqual(list2.held);

        // Nothing changed: no change file, but the day's list is written again.
        const run3 = await harness.sync(sync);
        expect(run3).toMatchObject({ status: 'success', settled: 0 });
        expect(folder(dir).changeManifests).toHaveLength(2);
        const list3 = fullList(dir, op);
        expect(list3.runId).not.toBe(list2.runId);
        expect(list3.held).toEqual(wanted(second));

        if (sync === 'call_list') {
          // A run stopped before sending (max_deletes) writes no list: the last one stays as it was.
          await harness.setRows(second.slice(0, 5));
          expect(await harness.sync(sync)).toMatchObject({ status: 'failed' });
          expect(fullList(dir, op)).toEqual(list3);
        }
      }, 60_000);
    }
  });
}
