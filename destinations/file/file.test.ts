import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import type { Batch } from '../destination.js';
import { file, type Manifest } from './adapter.js';
import { FileEmulator } from './emulator.js';

const context = (runId: string) => ({
  sync: 'export',
  runId,
  object: 'contacts',
  mode: 'mirror' as const,
  keyField: 'id',
  nullPolicy: 'skip' as const,
  planned: { added: 0, changed: 0, removed: 0 },
  fields: [
    { name: 'email', type: 'string' as const },
    { name: 'orders', type: 'integer' as const },
  ],
  root: '/',
  logger: createLogger({ level: 'silent' }),
  warehouse: () => Promise.reject(new Error('no warehouse')),
});

const batch = (operation: Batch['operation'], rows: [string, Record<string, string | number>][]): Batch => ({
  object: 'contacts',
  operation,
  keyField: 'id',
  records: rows.map(([key, fields]) => ({ key, fields, destinationId: null, idempotencyKey: `ik-${key}` })),
  signal: AbortSignal.timeout(5000),
  idempotencyKey: 'k',
});

describe('file destination', () => {
  it('writes one CSV per run with a manifest, and a consumer replaying the files holds the sync', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-file-'));
    const config = file.configSchema.parse({ path: dir, format: 'csv' });
    const first = await file.open(config, context('20260101T000000000Z-aaaaaa'));
    await first.check();
    await first.apply(batch('upsert', [['1', { email: 'a@x.com', orders: 2 }], ['2', { email: 'comma, "quoted"\nline', orders: 0 }]]));
    await first.finish!({ complete: true, accepted: 2, rejected: 0 });
    await first.close();
    const second = await file.open(config, context('20260102T000000000Z-bbbbbb'));
    await second.check();
    await second.apply(batch('delete', [['1', {}]]));
    await second.finish!({ complete: true, accepted: 1, rejected: 0 });

    const files = readdirSync(join(dir, 'export')).sort();
    expect(files).toEqual(['20260101T000000000Z-aaaaaa.csv', '20260101T000000000Z-aaaaaa.csv.manifest.json', '20260102T000000000Z-bbbbbb.csv', '20260102T000000000Z-bbbbbb.csv.manifest.json']);
    expect(readFileSync(join(dir, 'export', files[0]!), 'utf8')).toBe('_op,id,email,orders\nupsert,1,a@x.com,2\nupsert,2,"comma, ""quoted""\nline",0\n');
    const manifest = JSON.parse(readFileSync(join(dir, 'export', files[1]!), 'utf8')) as Manifest;
    expect(manifest).toMatchObject({ records: 2, operations: { upsert: 2 }, complete: true, columns: ['_op', 'id', 'email', 'orders'] });
    expect((await new FileEmulator(dir).state()).objects).toEqual({ contacts: { '2': { email: 'comma, "quoted"\nline', orders: '0' } } });
  });

  it('a file left by a run that died is finished by the next run, marked incomplete', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-file-'));
    mkdirSync(join(dir, 'export'));
    writeFileSync(join(dir, 'export', '20260101T000000000Z-dead00.jsonl.partial'), '{"_op":"upsert","id":"1","email":"a@x.com"}\n');
    await file.recoverInterrupted!(file.configSchema.parse({ path: dir }), context('20260102T000000000Z-cccccc'));
    const manifest = JSON.parse(readFileSync(join(dir, 'export', '20260101T000000000Z-dead00.jsonl.manifest.json'), 'utf8')) as Manifest;
    expect(manifest).toMatchObject({ records: 1, complete: false, file: '20260101T000000000Z-dead00.jsonl' });
    expect((await new FileEmulator(dir).state()).objects).toEqual({ contacts: { '1': { email: 'a@x.com' } } });
  });

  it("cuts a dead run's file to the records its journal delivered, so no row is in two manifested files", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-file-'));
    mkdirSync(join(dir, 'export'));
    // Three whole rows and one cut short by the kill; the journal recorded two of them as delivered.
    const csv = '_op,id,email,orders\nupsert,1,a@x.com,1\nupsert,2,"two\nlines, quoted",2\ndelete,3,,\nupsert,4,"unfinis';
    writeFileSync(join(dir, 'export', '20260101T000000000Z-dead01.csv.partial'), csv);
    // A run that died after renaming its file, before writing the manifest: all three of its rows were delivered.
    writeFileSync(join(dir, 'export', '20260101T000000001Z-dead02.jsonl'), '{"_op":"upsert","id":"7"}\n{"_op":"delete","id":"8"}\n{"_op":"upsert","id":"9"}\n');
    const interruptedRuns = [
      { runId: '20260101T000000000Z-dead01', delivered: 2 },
      { runId: '20260101T000000001Z-dead02', delivered: 3 },
    ];
    await file.recoverInterrupted!(file.configSchema.parse({ path: dir, format: 'csv' }), { ...context('20260102T000000000Z-cccccc'), interruptedRuns });
    const folder = join(dir, 'export');
    expect(readFileSync(join(folder, '20260101T000000000Z-dead01.csv'), 'utf8')).toBe('_op,id,email,orders\nupsert,1,a@x.com,1\nupsert,2,"two\nlines, quoted",2\n');
    const first = JSON.parse(readFileSync(join(folder, '20260101T000000000Z-dead01.csv.manifest.json'), 'utf8')) as Manifest;
    expect(first).toMatchObject({ records: 2, operations: { upsert: 2 }, columns: ['_op', 'id', 'email', 'orders'], complete: false });
    const second = JSON.parse(readFileSync(join(folder, '20260101T000000001Z-dead02.jsonl.manifest.json'), 'utf8')) as Manifest;
    expect(second).toMatchObject({ records: 3, operations: { upsert: 2, delete: 1 }, complete: false });
    expect(readdirSync(folder).filter((n) => n.endsWith('.partial'))).toEqual([]);
    // The manifest's digest is the file's.
    const { createHash } = await import('node:crypto');
    expect(first.sha256).toBe(createHash('sha256').update(readFileSync(join(folder, first.file))).digest('hex'));
  });

  it('a manifest a dead run was writing is never taken for complete: its data file is recovered, the temporary removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-file-'));
    const folder = join(dir, 'export');
    mkdirSync(folder);
    // Killed while writing the manifest: the data file renamed, the manifest only half there under its temporary name.
    writeFileSync(join(folder, '20260101T000000000Z-dead03.jsonl'), '{"_op":"upsert","id":"1"}\n{"_op":"upsert","id":"2"}\n');
    writeFileSync(join(folder, '20260101T000000000Z-dead03.jsonl.manifest.json.tmp'), '{"sync":"exp');
    await file.recoverInterrupted!(file.configSchema.parse({ path: dir }), { ...context('20260102T000000000Z-dddddd'), interruptedRuns: [{ runId: '20260101T000000000Z-dead03', delivered: 2 }] });
    expect(readdirSync(folder).sort()).toEqual(['20260101T000000000Z-dead03.jsonl', '20260101T000000000Z-dead03.jsonl.manifest.json']);
    const manifest = JSON.parse(readFileSync(join(folder, '20260101T000000000Z-dead03.jsonl.manifest.json'), 'utf8')) as Manifest;
    expect(manifest).toMatchObject({ records: 2, complete: false });
  });

  it('a full list replaces the previous one whole; what a dead run left of one is never taken for a change file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-file-'));
    const folder = join(dir, 'export');
    const config = file.configSchema.parse({ path: dir, format: 'csv', full_list: true });
    const list = (rows: [string, Record<string, string | number>][]) => ({
      operation: 'upsert' as const,
      pages: (async function* () {
        yield rows.slice(0, 1).map(([key, fields]) => ({ key, fields }));
        yield rows.slice(1).map(([key, fields]) => ({ key, fields }));
      })(),
    });
    await file.currentList!.write(config, context('20260101T000000000Z-aaaaaa'), list([['1', { email: 'a@x.com', orders: 1 }], ['2', { email: 'b@x.com', orders: 2 }]]));
    // A run that died writing its list, and one that died before its list's manifest.
    writeFileSync(join(folder, '20260102T000000000Z-dead04.full.csv.partial'), '_op,id,email,orders\nupsert,1,a@x.com,1\n');
    writeFileSync(join(folder, '20260102T000000001Z-dead05.full.csv'), '_op,id,email,orders\nupsert,1,a@x.com,1\n');
    await file.recoverInterrupted!(config, {
      ...context('20260103T000000000Z-bbbbbb'),
      interruptedRuns: [
        { runId: '20260102T000000000Z-dead04', delivered: 0 },
        { runId: '20260102T000000001Z-dead05', delivered: 0 },
      ],
    });
    expect(readdirSync(folder).filter((n) => n.endsWith('.manifest.json'))).toEqual(['20260101T000000000Z-aaaaaa.full.csv.manifest.json']);

    const details = await file.currentList!.write(config, context('20260103T000000000Z-bbbbbb'), list([['2', { email: 'b@x.com', orders: 3 }]]));
    expect(details).toMatchObject({ records: 1 });
    expect(readdirSync(folder).sort()).toEqual(['20260103T000000000Z-bbbbbb.full.csv', '20260103T000000000Z-bbbbbb.full.csv.manifest.json']);
    expect(readFileSync(join(folder, '20260103T000000000Z-bbbbbb.full.csv'), 'utf8')).toBe('_op,id,email,orders\nupsert,2,b@x.com,3\n');
    const manifest = JSON.parse(readFileSync(join(folder, '20260103T000000000Z-bbbbbb.full.csv.manifest.json'), 'utf8')) as Manifest;
    expect(manifest).toMatchObject({ list: 'full', records: 1, operations: { upsert: 1 }, complete: true, columns: ['_op', 'id', 'email', 'orders'] });
    // A consumer replaying the change files ignores full lists.
    expect((await new FileEmulator(dir).state()).objects).toEqual({});
  });

  it("erasure rewrites every file of the sync's folder without the erased keys' rows, manifests matching; asking again changes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-file-'));
    const folder = join(dir, 'export');
    const config = file.configSchema.parse({ path: dir, format: 'csv', full_list: true });
    const run = async (runId: string, operation: Batch['operation'], rows: [string, Record<string, string | number>][]) => {
      const session = await file.open(config, context(runId));
      await session.check();
      const outcomes = await session.apply(batch(operation, rows));
      await session.finish!({ complete: true, accepted: rows.length, rejected: 0 });
      await session.close();
      return outcomes;
    };
    await run('20260101T000000000Z-aaaaaa', 'upsert', [['1', { email: 'a@x.com', orders: 1 }], ['2', { email: 'two\nlines, "quoted"', orders: 2 }], ['3', { email: 'c@x.com', orders: 3 }]]);
    await run('20260102T000000000Z-bbbbbb', 'upsert', [['2', { email: 'b@x.com', orders: 4 }]]);
    await file.currentList!.write(config, context('20260102T000000000Z-bbbbbb'), { operation: 'upsert', pages: (async function* () { yield [{ key: '2', fields: { email: 'b@x.com', orders: 4 } }, { key: '3', fields: { email: 'c@x.com', orders: 3 } }]; })() });
    const before = readdirSync(folder).sort();

    // A copy an erasure that died was writing: it goes, whatever it holds.
    writeFileSync(join(folder, '20260101T000000000Z-aaaaaa.csv.erasing'), '_op,id,email,orders\nupsert,2,b@x.com,4\n');
    expect(await run('20260103T000000000Z-cccccc', 'forget', [['2', {}], ['9', {}]])).toEqual([{ ok: true }, { ok: true }]);
    // No change file for the erasure; every file that held key 2 rewritten, the others' rows byte for byte.
    expect(readdirSync(folder).sort()).toEqual(before);
    const read = (name: string) => readFileSync(join(folder, name), 'utf8');
    expect(read('20260101T000000000Z-aaaaaa.csv')).toBe('_op,id,email,orders\nupsert,1,a@x.com,1\nupsert,3,c@x.com,3\n');
    expect(read('20260102T000000000Z-bbbbbb.csv')).toBe('_op,id,email,orders\n');
    expect(read('20260102T000000000Z-bbbbbb.full.csv')).toBe('_op,id,email,orders\nupsert,3,c@x.com,3\n');
    const manifest = (name: string) => JSON.parse(read(`${name}.manifest.json`)) as Manifest;
    for (const [name, records] of [['20260101T000000000Z-aaaaaa.csv', 2], ['20260102T000000000Z-bbbbbb.csv', 0], ['20260102T000000000Z-bbbbbb.full.csv', 1]] as const) {
      expect(manifest(name), name).toMatchObject({ records, operations: records ? { upsert: records } : {}, erased_rows: 1, complete: true, sha256: createHash('sha256').update(readFileSync(join(folder, name))).digest('hex') });
      expect(manifest(name).erased_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect((await new FileEmulator(dir).state()).objects).toEqual({ contacts: { '1': { email: 'a@x.com', orders: '1' }, '3': { email: 'c@x.com', orders: '3' } } });

    // Asking again (a re-run after a crash): nothing held, nothing rewritten.
    const manifests = before.filter((n) => n.endsWith('.manifest.json')).map(read);
    expect(await run('20260104T000000000Z-dddddd', 'forget', [['2', {}]])).toEqual([{ ok: true }]);
    expect(before.filter((n) => n.endsWith('.manifest.json')).map(read)).toEqual(manifests);
  });

  it('erasure repairs a manifest a crash left behind its rewritten file, and refuses (retryable) a key held by an unfinished file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-file-'));
    const folder = join(dir, 'export');
    const config = file.configSchema.parse({ path: dir });
    const session = await file.open(config, context('20260101T000000000Z-aaaaaa'));
    await session.check();
    await session.apply(batch('upsert', [['1', { email: 'a@x.com' }], ['2', { email: 'b@x.com' }]]));
    await session.finish!({ complete: true, accepted: 2, rejected: 0 });
    // Killed between the data file's rename and its manifest's: the file without key 2, the manifest still counting it.
    writeFileSync(join(folder, '20260101T000000000Z-aaaaaa.jsonl'), '{"_op":"upsert","id":"1","email":"a@x.com"}\n');
    const erase = await file.open(config, context('20260103T000000000Z-cccccc'));
    expect(await erase.apply(batch('forget', [['2', {}]]))).toEqual([{ ok: true }]);
    const manifest = () => JSON.parse(readFileSync(join(folder, '20260101T000000000Z-aaaaaa.jsonl.manifest.json'), 'utf8')) as Manifest;
    expect(manifest()).toMatchObject({ records: 1, operations: { upsert: 1 }, sha256: createHash('sha256').update(readFileSync(join(folder, '20260101T000000000Z-aaaaaa.jsonl'))).digest('hex') });
    expect((await new FileEmulator(dir).state()).objects).toEqual({ contacts: { '1': { email: 'a@x.com' } } });

    // A run that died holding key 1 in its unfinished file: the next run cuts that file by its journal's count, which
    // taking a row out would shift, so it is left whole and the key refused until a run has finished the file.
    const partial = '{"_op":"upsert","id":"1","email":"a2@x.com"}\n';
    writeFileSync(join(folder, '20260102T000000000Z-dead00.jsonl.partial'), partial);
    expect(await erase.apply(batch('forget', [['1', {}], ['2', {}]]))).toEqual([{ ok: false, code: 'unfinished_file', message: expect.stringMatching(/run the sync once/), retryable: true }, { ok: true }]);
    expect(readFileSync(join(folder, '20260102T000000000Z-dead00.jsonl.partial'), 'utf8')).toBe(partial);
    expect(readFileSync(join(folder, '20260101T000000000Z-aaaaaa.jsonl'), 'utf8')).toBe('');
    expect(manifest()).toMatchObject({ records: 0, operations: {}, erased_rows: 1, sha256: createHash('sha256').update('').digest('hex') });
  });
});
