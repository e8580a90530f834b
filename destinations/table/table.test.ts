import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import type { Batch, DestinationContext, FieldValue } from '../destination.js';
import { table } from './adapter.js';
import { TableEmulator } from './emulator.js';

const context = (mode: DestinationContext['mode'], fields: DestinationContext['fields']): DestinationContext => ({
  sync: 'crm',
  runId: 'r1',
  object: 'contacts',
  mode,
  keyField: 'id',
  nullPolicy: 'skip',
  planned: { added: 0, changed: 0, removed: 0 },
  fields,
  root: '/',
  logger: createLogger({ level: 'silent' }),
  warehouse: () => Promise.reject(new Error('no warehouse')),
});

const batch = (operation: Batch['operation'], keys: string[]): Batch => ({
  object: 'contacts',
  operation,
  keyField: 'id',
  records: keys.map((key) => ({ key, fields: (operation === 'upsert' ? { email: `${key}@example.com` } : {}) as Record<string, FieldValue>, destinationId: null, idempotencyKey: `ik-${key}` })),
  signal: AbortSignal.timeout(5000),
  idempotencyKey: 'k',
});

describe('table destination', () => {
  it("erasure deletes the erased keys' rows by the key column; a key or a table no longer there is ok", async () => {
    const database = join(mkdtempSync(join(tmpdir(), 'tideline-table-')), 'tables.duckdb');
    const config = table.configSchema.parse({ database, schema: 'crm' });
    expect(table.erasure?.(config, { object: 'contacts', mode: 'upsert' })).toMatchObject({ operation: 'forget', method: expect.stringContaining('DELETE FROM crm.contacts') });
    const write = await table.open(config, context('upsert', [{ name: 'email', type: 'string' }]));
    await write.check();
    await write.apply(batch('upsert', ['1', '2', '3']));
    await write.close();
    // As `tideline forget` opens it (the sync's fields, their types not read).
    const erase = await table.open(config, { ...context('upsert', [{ name: 'email', type: undefined }]), erasure: true });
    await erase.check();
    expect(await erase.apply(batch('forget', ['1', '3']))).toEqual([{ ok: true }, { ok: true }]);
    expect(await erase.apply(batch('forget', ['1', '3']))).toEqual([{ ok: true }, { ok: true }]);
    await erase.close();
    expect((await new TableEmulator(database).state()).objects).toEqual({ contacts: { '2': { email: '2@example.com' } } });
    // A table that is not there (dropped since) holds nobody: accepted, and not created by the erasure.
    const gone = await table.open(config, { ...context('upsert', []), object: 'dropped', erasure: true });
    await gone.check();
    expect(await gone.apply({ ...batch('forget', ['2']), object: 'dropped' })).toEqual([{ ok: true }]);
    await gone.close();
    expect(Object.keys((await new TableEmulator(database).state()).objects)).toEqual(['contacts']);
  });
});
