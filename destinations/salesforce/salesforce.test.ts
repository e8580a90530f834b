import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { contractSync, expected, people, SyncHarness } from '../../test/support/sync-harness.js';
import { StopSyncError, type Batch, type DestinationContext } from '../destination.js';
import { salesforce } from './adapter.js';
import { startSalesforceEmulator, type SalesforceEmulator, type SalesforceFieldDef } from './emulator.js';

const logger = createLogger({ level: 'silent' });
const context: DestinationContext = {
  sync: 'crm',
  runId: 'r1',
  object: 'Contact',
  mode: 'mirror',
  keyField: 'External_Id__c',
  nullPolicy: 'skip',
  planned: { added: 1, changed: 0, removed: 0 },
  fields: [{ name: 'LastName', type: 'string' }],
  root: '/tmp',
  logger,
  warehouse: () => Promise.reject(new Error('no warehouse')),
};
const CONTRACT_CONTACT: SalesforceFieldDef[] = [
  { name: 'Id', type: 'id', readOnly: true },
  { name: 'external_id', type: 'string', externalId: true },
  { name: 'email', type: 'email' },
  { name: 'first_name', type: 'string' },
  { name: 'orders', type: 'double' },
];

function batch(keys: string[], operation: Batch['operation'], fields: Record<string, string> = {}): Batch {
  return { object: 'Contact', operation, keyField: 'External_Id__c', records: keys.map((key) => ({ key, fields: { LastName: `L${key}`, ...fields }, destinationId: null })), signal: AbortSignal.timeout(5000), idempotencyKey: 'k' };
}

describe('salesforce adapter against its emulator', () => {
  let emulator: SalesforceEmulator;
  let harness: SyncHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await emulator.close();
  });
  const open = () => salesforce.open(salesforce.configSchema.parse({ instance_url: emulator.endpoint, access_token: emulator.token }), context);
  const destination = (extra: Record<string, unknown> = {}) => ({ name: 'sf', type: 'salesforce', instance_url: emulator.endpoint, access_token: emulator.token, retries: { attempts: 3, base_ms: 10, max_ms: 50 }, ...extra });

  it('above bulk_threshold a run sends Bulk API 2.0 jobs and maps the result CSVs back to records; below it, Collections', async () => {
    emulator = await startSalesforceEmulator({ objects: { Contact: CONTRACT_CONTACT }, reject: (id) => (id === '5' ? { message: 'Orders must be positive' } : undefined) });
    harness = await SyncHarness.start({ destinations: [destination({ bulk_threshold: 10, bulk_batch_size: 20, bulk_poll_seconds: 0.01 })], syncs: [contractSync('s', 'sf', 'Contact', 'upsert')], rows: people(25) });
    const first = await harness.sync('s');
    expect(first).toMatchObject({ status: 'partial', accepted: 24, rejected: 1, requests: 2, details: { method: 'bulk', bulk_jobs: 2 } });
    expect(emulator.stats).toMatchObject({ bulkJobs: 2, collectionRequests: 0 });
    const rejected = await harness.engine().store.rejectedRows('s', 5);
    expect(rejected).toMatchObject([{ record_key: '5', error_code: 'field_custom_validation_exception', retryable: false }]);
    const held = new Map([...emulator.records('Contact').values()].map(({ Id: _id, external_id, ...rest }) => [String(external_id), rest]));
    const wanted = expected(people(25));
    wanted.delete('5');
    expect(held).toEqual(wanted);
    // The Salesforce ids from successfulResults are kept: a mirror could delete by them.
    const changed = people(25).map((p) => (p.id === 3 ? { ...p, first_name: 'Renamed' } : p));
    await harness.setRows(changed);
    const second = await harness.sync('s');
    expect(second).toMatchObject({ counts: { changed: 1, held_back: 1 }, accepted: 1, requests: 1, details: { method: 'collections', bulk_jobs: 0 } });
    expect(emulator.stats).toMatchObject({ bulkJobs: 2, collectionRequests: 1 });
    expect([...emulator.records('Contact').values()].find((r) => r['external_id'] === '3')).toMatchObject({ first_name: 'Renamed' });
  });

  it('REQUEST_LIMIT_EXCEEDED stops the sync at once with the org usage', async () => {
    emulator = await startSalesforceEmulator({ objects: { Contact: CONTRACT_CONTACT }, dailyLimit: 3 });
    harness = await SyncHarness.start({ destinations: [destination({ batch_size: 5, bulk_batch_size: 5, concurrency: 1 })], syncs: [contractSync('s', 'sf', 'Contact', 'upsert')], rows: people(30) });
    const result = await harness.sync('s');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/REQUEST_LIMIT_EXCEEDED: the org's daily API request allowance is spent \(3\/3\)/);
    expect(result.requests).toBeLessThanOrEqual(3);
    expect(result.accepted).toBe(10);
  });

  it('maps success:false per record, stops on an unknown field, deletes by ids found by external id', async () => {
    emulator = await startSalesforceEmulator();
    const session = await open();
    const outcomes = await session.apply({ ...batch(['a', 'b'], 'upsert'), records: [{ key: 'a', fields: { LastName: 'Archer' }, destinationId: null }, { key: 'b', fields: { FirstName: 'Bea' }, destinationId: null }] });
    expect(outcomes).toMatchObject([
      { ok: true, destinationId: expect.stringMatching(/^003/) },
      { ok: false, code: 'required_field_missing', retryable: false, message: expect.stringContaining('LastName') },
    ]);
    await expect(session.apply(batch(['c'], 'upsert', { Shoe_Size__c: '42' }))).rejects.toThrow(/INVALID_FIELD: No such column 'Shoe_Size__c'/);
    await expect(session.apply(batch(['c'], 'upsert', { Shoe_Size__c: '42' }))).rejects.toBeInstanceOf(StopSyncError);
    await session.apply(batch(['c', "o'neil"], 'upsert'));
    expect(emulator.records('Contact').size).toBe(3);
    expect(await session.apply(batch(['a', "o'neil", 'never-synced'], 'delete'))).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect([...emulator.records('Contact').values()].map((r) => r['External_Id__c'])).toEqual(['c']);
  });

  it('remoteFields describes the object: system and formula fields are read-only', async () => {
    emulator = await startSalesforceEmulator();
    const fields = await salesforce.remoteFields!(salesforce.configSchema.parse({ instance_url: emulator.endpoint, access_token: emulator.token }), 'Contact', { logger, signal: AbortSignal.timeout(5000) });
    expect(fields.find((f) => f.name === 'Email')).toMatchObject({ readOnly: false, type: 'email' });
    expect(fields.find((f) => f.name === 'Name')).toMatchObject({ readOnly: true });
    expect(salesforce.createField).toBeUndefined();
  });
});
