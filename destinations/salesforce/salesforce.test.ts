import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { contractSync, expected, people, SyncHarness } from '../../test/support/sync-harness.js';
import { StopSyncError, type Batch, type DestinationContext } from '../destination.js';
import { salesforce } from './adapter.js';
import { salesforceDocumentedShapes } from './documented-shapes.js';
import { startSalesforceEmulator, type SalesforceEmulator, type SalesforceFieldDef } from './emulator.js';
import { sessionContext } from '../emulator-kit/session-context.js';

const logger = createLogger({ level: 'silent' });
const context = sessionContext({ object: 'Contact', mode: 'mirror', keyField: 'External_Id__c', planned: { added: 1, changed: 0, removed: 0 }, fields: [{ name: 'LastName', type: 'string' }], logger });
const CONTRACT_CONTACT: SalesforceFieldDef[] = [
  { name: 'Id', type: 'id', readOnly: true },
  { name: 'external_id', type: 'string', externalId: true },
  { name: 'email', type: 'email' },
  { name: 'first_name', type: 'string' },
  { name: 'orders', type: 'double' },
];

function batch(keys: string[], operation: Batch['operation'], fields: Record<string, string> = {}): Batch {
  return { object: 'Contact', operation, keyField: 'External_Id__c', records: keys.map((key) => ({ key, fields: { LastName: `L${key}`, ...fields }, destinationId: null, idempotencyKey: `ik-${key}` })), signal: AbortSignal.timeout(5000), idempotencyKey: 'k' };
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
    const outcomes = await session.apply({ ...batch(['a', 'b'], 'upsert'), records: [{ key: 'a', fields: { LastName: 'Archer' }, destinationId: null, idempotencyKey: 'ik-a' }, { key: 'b', fields: { FirstName: 'Bea' }, destinationId: null, idempotencyKey: 'ik-b' }] });
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

describe('salesforce campaign membership (audience mode)', () => {
  const CAMPAIGN = '701000000000007';
  let emulator: SalesforceEmulator;
  let harness: SyncHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await emulator.close();
  });
  const audience: DestinationContext = { ...context, object: `campaign:${CAMPAIGN}`, mode: 'audience', fields: [] };
  const open = (extra: Record<string, unknown> = {}, ctx: Partial<DestinationContext> = {}) =>
    salesforce.open(salesforce.configSchema.parse({ instance_url: emulator.endpoint, access_token: emulator.token, ...extra }), { ...audience, ...ctx });
  const members = (keys: string[], operation: Batch['operation'], ids: (string | null)[] = [], fields: Record<string, string> = {}): Batch => ({
    object: `campaign:${CAMPAIGN}`,
    operation,
    keyField: 'External_Id__c',
    records: keys.map((key, i) => ({ key, fields, destinationId: ids[i] ?? null, idempotencyKey: `ik-${key}` })),
    signal: AbortSignal.timeout(5000),
    idempotencyKey: 'k',
  });
  const seed = (keys: string[]) => new Map(keys.map((k) => [k, emulator.insert('Contact', { LastName: `L${k}`, External_Id__c: k, Email: `${k}@example.com` })]));
  const destination = () => ({ name: 'sf', type: 'salesforce', instance_url: emulator.endpoint, access_token: emulator.token, retries: { attempts: 3, base_ms: 10, max_ms: 50 } });
  const byContact = () => new Map([...emulator.members(CAMPAIGN).entries()].map(([id, m]) => [String(m['ContactId']), { id, ...m }]));

  it('add creates CampaignMembers for the Contacts the keys find; an unknown key is rejected; re-adding is done, with the same member', async () => {
    emulator = await startSalesforceEmulator({ campaigns: [CAMPAIGN] });
    const contacts = seed(['a', 'b', 'c']);
    const session = await open({ campaign_member_status: 'Responded' });
    await session.check();
    const added = await session.apply(members(['a', 'B', 'nobody'], 'add'));
    expect(added).toMatchObject([
      { ok: true, destinationId: expect.stringMatching(/^00v/) },
      { ok: true, destinationId: expect.stringMatching(/^00v/) },
      { ok: false, code: 'contact_not_found', retryable: true, message: expect.stringContaining('External_Id__c') },
    ]);
    const held = byContact();
    expect(held.get(contacts.get('a')!)).toMatchObject({ id: (added[0] as { destinationId: string }).destinationId, CampaignId: CAMPAIGN, Status: 'Responded' });
    expect(held.get(contacts.get('b')!)).toMatchObject({ id: (added[1] as { destinationId: string }).destinationId });
    // A re-run that lost its ids (a full resync): "already a campaign member" is done, with the member's Id.
    const again = await session.apply(members(['a', 'b', 'c'], 'add'));
    expect(again).toEqual([added[0], added[1], { ok: true, destinationId: expect.stringMatching(/^00v/) }]);
    expect(emulator.members(CAMPAIGN).size).toBe(3);
    expect(emulator.server.store.duplicates()).toEqual({});
  });

  it('remove deletes the member by the id kept in the snapshot, else found through its Contact; a member already gone is done', async () => {
    emulator = await startSalesforceEmulator({ campaigns: [CAMPAIGN] });
    const contacts = seed(['a', 'b', 'c']);
    const session = await open();
    const added = (await session.apply(members(['a', 'b', 'c'], 'add'))).map((o) => (o as { destinationId: string }).destinationId);
    const removed = await session.apply(members(['a', 'b', 'nobody'], 'remove', [added[0]!, null, null]));
    expect(removed).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect([...byContact().keys()]).toEqual([contacts.get('c')]);
    expect(await session.apply(members(['a', 'b'], 'remove', [added[0]!, added[1]!]))).toEqual([{ ok: true }, { ok: true }]);
    // The Contacts stay: only their membership went.
    expect(emulator.records('Contact').size).toBe(3);
  });

  it('a known member whose fields changed is updated by Id; one deleted meanwhile is added again', async () => {
    emulator = await startSalesforceEmulator({ campaigns: [CAMPAIGN] });
    seed(['a', 'b']);
    const session = await open({}, { fields: [{ name: 'Status', type: 'string' }] });
    const [a, b] = (await session.apply(members(['a', 'b'], 'add', [], { Status: 'Sent' }))).map((o) => (o as { destinationId: string }).destinationId);
    await session.apply(members(['b'], 'remove', [b!]));
    const collections = emulator.stats.collectionRequests;
    const changed = await session.apply(members(['a', 'b'], 'add', [a!, b!], { Status: 'Responded' }));
    expect(changed).toMatchObject([{ ok: true, destinationId: a }, { ok: true, destinationId: expect.stringMatching(/^00v/) }]);
    expect((changed[1] as { destinationId: string }).destinationId).not.toBe(b);
    expect([...emulator.members(CAMPAIGN).values()].map((m) => m['Status'])).toEqual(['Responded', 'Responded']);
    expect(emulator.stats.collectionRequests - collections).toBe(2); // the update, then the create of b
  });

  it('check stops a sync whose campaign does not exist; the sandbox creates any campaign on first use', async () => {
    emulator = await startSalesforceEmulator({ campaigns: ['701000000000001'] });
    const session = await open();
    await expect(session.check()).rejects.toBeInstanceOf(StopSyncError);
    await expect(session.check()).rejects.toThrow(/Salesforce has no Campaign 701000000000007/);
    await emulator.close();
    emulator = await startSalesforceEmulator();
    await (await open()).check();
    expect([...emulator.records('Campaign').keys()]).toEqual([CAMPAIGN]);
  });

  it('remoteFields of a campaign: CampaignMember fields, and the Contact fields a key can find a Contact by (read-only)', async () => {
    emulator = await startSalesforceEmulator({ campaigns: [CAMPAIGN] });
    const fields = await salesforce.remoteFields!(salesforce.configSchema.parse({ instance_url: emulator.endpoint, access_token: emulator.token }), `campaign:${CAMPAIGN}`, { logger, signal: AbortSignal.timeout(5000) });
    expect(fields.find((f) => f.name === 'Status')).toMatchObject({ readOnly: false });
    expect(fields.find((f) => f.name === 'External_Id__c')).toMatchObject({ readOnly: true });
    expect(fields.find((f) => f.name === 'Email')).toMatchObject({ readOnly: true });
    expect(fields.find((f) => f.name === 'FirstName')).toBeUndefined();
  });

  it('checkSync: audience syncs name campaign:<Campaign Id>, other modes an sObject', () => {
    const config = salesforce.configSchema.parse({ instance_url: 'https://x.my.salesforce.com', access_token: 't' });
    const shape = (object: string, mode: 'audience' | 'upsert') => salesforce.checkSync!(config, { object, mode, keyField: 'External_Id__c', fields: [] }, { targets: [] });
    expect(shape(`campaign:${CAMPAIGN}`, 'audience')).toEqual([]);
    expect(shape('campaign:701000000000007AAA', 'audience')).toEqual([]);
    expect(shape('Contact', 'audience')[0]?.message).toMatch(/names a campaign: `campaign:<Campaign Id>`/);
    expect(shape('campaign:00v000000000001', 'audience')[0]?.message).toMatch(/names a campaign/);
    expect(shape(`campaign:${CAMPAIGN}`, 'upsert')[0]?.message).toMatch(/takes mode audience/);
  });

  it('through the engine: 450 members go in requests of at most 200, leavers are removed, a second run sends nothing', async () => {
    emulator = await startSalesforceEmulator({ campaigns: [CAMPAIGN] });
    seed(people(449).map((p) => String(p.id)));
    // 50 of 450 members leave (11%): past the default max_removals of 10%, allowed here on purpose.
    const sync = { name: 'campaign', model: 'people', destination: 'sf', object: `campaign:${CAMPAIGN}`, mode: 'audience', key: { from: 'id', field: 'External_Id__c' }, options: { max_removals: '20%' } };
    harness = await SyncHarness.start({ destinations: [destination()], syncs: [sync], rows: people(450) });
    const first = await harness.sync('campaign');
    expect(first).toMatchObject({ status: 'partial', accepted: 449, rejected: 1 });
    expect(await harness.engine().store.rejectedRows('campaign', 5)).toMatchObject([{ record_key: '450', error_code: 'contact_not_found', retryable: true }]);
    expect(emulator.members(CAMPAIGN).size).toBe(449);
    expect(emulator.stats.maxBatchSeen).toBe(200);
    // Not held back: once the Contacts sync has created the Contact, the next run adds the member.
    seed(['450']);
    const retried = await harness.sync('campaign');
    expect(retried).toMatchObject({ status: 'success', counts: { added: 1 }, accepted: 1 });
    expect(emulator.members(CAMPAIGN).size).toBe(450);
    await harness.setRows(people(400));
    const second = await harness.sync('campaign');
    expect(second).toMatchObject({ status: 'success', counts: { removed: 50, added: 0 }, accepted: 50 });
    const kept = new Set([...emulator.records('Contact').values()].filter((c) => Number(c['External_Id__c']) <= 400).map((c) => c['Id']));
    expect(new Set([...emulator.members(CAMPAIGN).values()].map((m) => m['ContactId']))).toEqual(kept);
    const third = await harness.sync('campaign');
    expect(third).toMatchObject({ status: 'success', requests: 0 });
  });

  it('the emulator enforces the API: 200 records, existing campaign and Contact, one membership, the narrow SOQL', async () => {
    emulator = await startSalesforceEmulator({ campaigns: [CAMPAIGN] });
    const [a] = [...seed(['a']).values()];
    const call = async (method: string, path: string, body?: unknown, token = emulator.token) => {
      const response = await fetch(`${emulator.endpoint}/services/data/v62.0${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as unknown };
    };
    const member = (campaignId: string, contactId: string) => ({ attributes: { type: 'CampaignMember' }, CampaignId: campaignId, ContactId: contactId });
    expect((await call('POST', '/composite/sobjects', { allOrNone: false, records: [member(CAMPAIGN, a!)] }, 'wrong')).status).toBe(401);
    expect(await call('POST', '/composite/sobjects', { allOrNone: false, records: Array.from({ length: 201 }, () => member(CAMPAIGN, a!)) })).toMatchObject({ status: 400, body: [{ errorCode: 'EXCEEDED_ID_LIMIT' }] });
    const answered = await call('POST', '/composite/sobjects', { allOrNone: false, records: [member(CAMPAIGN, a!), member(CAMPAIGN, a!), member('701000000000099', a!), member(CAMPAIGN, '003000000000999')] });
    expect(answered).toMatchObject({
      status: 200,
      body: [
        { success: true, id: expect.stringMatching(/^00v/) },
        { success: false, errors: [{ statusCode: 'DUPLICATE_VALUE', message: 'Already a campaign member.' }] },
        { success: false, errors: [{ statusCode: 'INVALID_CROSS_REFERENCE_KEY', fields: ['CampaignId'] }] },
        { success: false, errors: [{ statusCode: 'INVALID_CROSS_REFERENCE_KEY', fields: ['ContactId'] }] },
      ],
    });
    const soql = (q: string) => call('GET', `/query?q=${encodeURIComponent(q)}`);
    expect(await soql(`SELECT Id, ContactId FROM CampaignMember WHERE CampaignId = '${CAMPAIGN}' AND ContactId IN ('${a}')`)).toMatchObject({ status: 200, body: { totalSize: 1 } });
    expect(await soql(`SELECT Id, ContactId FROM CampaignMember WHERE CampaignId = '701000000000099' AND ContactId IN ('${a}')`)).toMatchObject({ status: 200, body: { totalSize: 0 } });
    for (const q of ['SELECT Id FROM Contact', "SELECT Id, Email FROM Contact WHERE Email LIKE 'a%'", "SELECT Id, Email, Name FROM Contact WHERE Email IN ('a')"]) {
      expect(await soql(q)).toMatchObject({ status: 400, body: [{ errorCode: 'MALFORMED_QUERY' }] });
    }
    const state = await emulator.state();
    expect(Object.values(state.objects['CampaignMember'] ?? {})).toMatchObject([{ CampaignId: CAMPAIGN, ContactId: a, Status: 'Sent' }]);
  });
});

describe('salesforce erasure (tideline forget)', () => {
  const CAMPAIGN = '701000000000009';
  let emulator: SalesforceEmulator;
  afterEach(async () => emulator.close());
  const config = (extra: Record<string, unknown> = {}) => salesforce.configSchema.parse({ instance_url: emulator.endpoint, access_token: emulator.token, bulk_poll_seconds: 0.01, ...extra });
  const forget = (object: string, keys: string[], ids: (string | null)[]): Batch => ({
    object,
    operation: 'forget',
    keyField: 'External_Id__c',
    records: keys.map((key, i) => ({ key, fields: {}, destinationId: ids[i] ?? null, idempotencyKey: `f-${key}` })),
    signal: AbortSignal.timeout(10_000),
    idempotencyKey: 'k',
  });

  it('hard-deletes by Id in one Bulk API 2.0 hardDelete job (nothing left in the Recycle Bin); a second erasure is accepted', async () => {
    emulator = await startSalesforceEmulator();
    const exchanges = emulator.server.recordExchanges();
    const session = await salesforce.open(config(), context);
    const written = await session.apply(batch(['1', '2', '3'], 'upsert'));
    const id = (i: number) => (written[i] as { destinationId: string }).destinationId;
    const before = exchanges().length;
    // Key 2 has no Id in the snapshot: it is found by its External ID; "nobody" is not in Salesforce: nothing to erase.
    expect(await session.apply(forget('Contact', ['1', '2', 'nobody'], [id(0), null, null]))).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    const calls = exchanges().slice(before);
    const created = calls.find((e) => e.method === 'POST' && e.path.endsWith('/jobs/ingest'))!;
    expect(created.request).toEqual({ object: 'Contact', operation: 'hardDelete', contentType: 'CSV', lineEnding: 'LF' });
    expect(calls.find((e) => e.method === 'PUT')!.request).toBe(`Id\n${id(0)}\n${id(1)}\n`);
    expect([...emulator.records('Contact').values()].map((c) => c['External_Id__c'])).toEqual(['3']);
    expect(emulator.recycleBin().size).toBe(0);
    // Asked again (a re-run after a crash): Salesforce fails the rows ENTITY_IS_DELETED, which is done.
    expect(await session.apply(forget('Contact', ['1'], [id(0)]))).toEqual([{ ok: true }]);
    const schema = salesforceDocumentedShapes();
    for (const exchange of exchanges()) expect(await schema.check(exchange), `${exchange.method} ${exchange.path}`).toEqual([]);
  });

  it('without the "Bulk API Hard Delete" permission the erasure stops saying so; erasure: recycle_bin plans an ordinary delete', async () => {
    emulator = await startSalesforceEmulator({ hardDelete: false });
    const session = await salesforce.open(config(), context);
    const written = await session.apply(batch(['1'], 'upsert'));
    const error = await session.apply(forget('Contact', ['1'], [(written[0] as { destinationId: string }).destinationId])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StopSyncError);
    expect((error as Error).message).toMatch(/lacks the "Bulk API Hard Delete" system permission.*erasure: recycle_bin/);
    expect(emulator.records('Contact').size).toBe(1);
    expect(salesforce.erasure!(config(), { object: 'Contact', mode: 'upsert' })).toMatchObject({ operation: 'forget', method: expect.stringContaining('hardDelete') });
    expect(salesforce.erasure!(config({ erasure: 'recycle_bin' }), { object: 'Contact', mode: 'upsert' })).toMatchObject({ operation: 'delete', method: expect.stringContaining('Recycle Bin') });
    expect(salesforce.erasure!(config({ erasure: 'recycle_bin' }), { object: `campaign:${CAMPAIGN}`, mode: 'audience' })).toMatchObject({ operation: 'remove' });
    // The ordinary delete the recycle_bin plan sends leaves the record restorable in the Recycle Bin.
    await session.apply({ ...forget('Contact', ['1'], [(written[0] as { destinationId: string }).destinationId]), operation: 'delete' });
    expect(emulator.records('Contact').size).toBe(0);
    expect([...emulator.recycleBin().values()].map((r) => r.object)).toEqual(['Contact']);
  });

  it('a campaign erasure hard-deletes the CampaignMember (by its Id, else found through the Contact); the Contact stays', async () => {
    emulator = await startSalesforceEmulator({ campaigns: [CAMPAIGN] });
    const contacts = ['a', 'b', 'c'].map((k) => emulator.insert('Contact', { LastName: `L${k}`, External_Id__c: k }));
    const audience: DestinationContext = { ...context, object: `campaign:${CAMPAIGN}`, mode: 'audience', fields: [] };
    const session = await salesforce.open(config(), audience);
    const added = await session.apply({ ...forget(`campaign:${CAMPAIGN}`, ['a', 'b', 'c'], []), operation: 'add' });
    const memberId = (added[0] as { destinationId: string }).destinationId;
    expect(await session.apply(forget(`campaign:${CAMPAIGN}`, ['a', 'b'], [memberId, null]))).toEqual([{ ok: true }, { ok: true }]);
    expect([...emulator.members(CAMPAIGN).values()].map((m) => m['ContactId'])).toEqual([contacts[2]]);
    expect(emulator.records('Contact').size).toBe(3);
    expect(emulator.recycleBin().size).toBe(0);
  });
});
