import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { contractSync, people, SyncHarness } from '../../test/support/sync-harness.js';
import { BatchRejectedError, RateLimitedError, StopSyncError, type Batch, type DestinationContext } from '../destination.js';
import { hubspot } from './adapter.js';
import { startHubSpotEmulator, type HubSpotEmulator } from './emulator.js';

const logger = createLogger({ level: 'silent' });
const context: DestinationContext = {
  sync: 'crm',
  runId: 'r1',
  object: 'contacts',
  mode: 'upsert',
  keyField: 'email',
  nullPolicy: 'skip',
  planned: { added: 0, changed: 0, removed: 0 },
  fields: [{ name: 'firstname', type: 'string' }],
  root: '/tmp',
  logger,
  warehouse: () => Promise.reject(new Error('no warehouse')),
};

function batch(keys: string[], operation: Batch['operation'] = 'upsert', fields: Record<string, string> = {}, object = 'contacts'): Batch {
  return { object, operation, keyField: 'email', records: keys.map((key) => ({ key, fields: { firstname: `F ${key}`, ...fields }, destinationId: null, idempotencyKey: `ik-${key}` })), signal: AbortSignal.timeout(5000), idempotencyKey: 'k' };
}

describe('hubspot adapter against its emulator', () => {
  let emulator: HubSpotEmulator;
  let harness: SyncHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await emulator.close();
  });
  const open = (overrides: Record<string, unknown> = {}) => hubspot.open(hubspot.configSchema.parse({ base_url: emulator.endpoint, token: emulator.token, ...overrides }), context);

  it('maps a 207 by id whatever the order of results; case variants of one e-mail never reach HubSpot twice', async () => {
    emulator = await startHubSpotEmulator({ reject: (id) => (id === 'b@x.com' ? { message: 'Email address b@x.com is invalid' } : undefined) });
    const session = await open();
    const outcomes = await session.apply(batch(['A@x.com', 'b@x.com', 'c@x.com', 'a@x.com ']));
    expect(outcomes).toMatchObject([
      { ok: true, destinationId: expect.any(String) },
      { ok: false, code: 'validation_error', retryable: false, message: expect.stringContaining('invalid') },
      { ok: true },
      { ok: false, code: 'duplicate_key', retryable: false },
    ]);
    const byEmail = new Map([...emulator.contacts()].map(([id, c]) => [c['email'], id]));
    expect([...byEmail.keys()].sort()).toEqual(['a@x.com', 'c@x.com']);
    expect((outcomes[0] as { destinationId: string }).destinationId).toBe(byEmail.get('a@x.com'));
    expect(emulator.server.count(207)).toBe(1);
    // An upsert of the same e-mail updates the contact: no duplicate.
    await session.apply(batch(['a@x.com'], 'upsert', { firstname: 'Again' }));
    expect(emulator.contacts().get(byEmail.get('a@x.com')!)).toMatchObject({ firstname: 'Again' });
    expect(emulator.server.store.duplicates()).toEqual({});
  });

  it('refuses an unknown or read-only property for the whole batch: the sync stops with the property named', async () => {
    emulator = await startHubSpotEmulator();
    const session = await open();
    await expect(session.apply(batch(['a@x.com'], 'upsert', { favourite_colour: 'teal' }))).rejects.toThrow(/favourite_colour does not exist on HubSpot contacts/);
    await expect(session.apply(batch(['a@x.com'], 'upsert', { createdate: '2024-01-01' }))).rejects.toThrow(/createdate is read-only/);
    await expect(session.apply(batch(['a@x.com'], 'upsert', { createdate: '2024-01-01' }))).rejects.toBeInstanceOf(StopSyncError);
    expect(emulator.contacts().size).toBe(0);
  });

  it('a SECONDLY 429 waits the interval HubSpot gives', async () => {
    emulator = await startHubSpotEmulator({ rateLimit: { requests: 1, perMs: 3000 } });
    const session = await open();
    await session.apply(batch(['a@x.com']));
    const error = await session.apply(batch(['b@x.com'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBe(3000);
  });

  it('a DAILY 429 stops the sync with a clear message instead of waiting and retrying', async () => {
    emulator = await startHubSpotEmulator({ dailyLimit: 3, properties: [{ name: 'external_id', type: 'string', unique: true }, { name: 'first_name', type: 'string' }, { name: 'orders', type: 'number' }] });
    harness = await SyncHarness.start({
      destinations: [{ name: 'hs', type: 'hubspot', base_url: emulator.endpoint, token: emulator.token, batch_size: 10, retries: { attempts: 5, base_ms: 10, max_ms: 50 } }],
      syncs: [contractSync('s', 'hs', 'contacts', 'upsert', { concurrency: 1 })],
      rows: people(60),
    });
    const result = await harness.sync('s');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/daily API limit is spent \(3 requests\); the sync stops/);
    expect(result.rateLimited).toBe(0);
    expect(result.requests).toBeLessThanOrEqual(3);
    expect(emulator.contacts().size).toBe(20);
    expect(result.accepted).toBe(20);
  });

  it('audience: members are added by record id; removal and archive look ids up when the snapshot has none', async () => {
    emulator = await startHubSpotEmulator();
    const session = await hubspot.open(hubspot.configSchema.parse({ base_url: emulator.endpoint, token: emulator.token }), { ...context, mode: 'audience', object: 'list:9' });
    const added = await session.apply(batch(['a@x.com', 'b@x.com', 'c@x.com'], 'add', {}, 'list:9'));
    expect(added.every((o) => o.ok && o.destinationId)).toBe(true);
    expect(emulator.listMembers('9').sort()).toEqual(added.map((o) => (o as { destinationId: string }).destinationId).sort());
    expect(await session.apply(batch(['b@x.com', 'nobody@x.com'], 'remove', {}, 'list:9'))).toEqual([{ ok: true }, { ok: true }]);
    expect(emulator.listMembers('9').map((id) => emulator.contacts().get(id)!['email']).sort()).toEqual(['a@x.com', 'c@x.com']);
    expect(await session.apply(batch(['a@x.com'], 'delete'))).toEqual([{ ok: true }]);
    expect([...emulator.contacts().values()].map((c) => c['email']).sort()).toEqual(['b@x.com', 'c@x.com']);
    expect(emulator.listMembers('9').length).toBe(1);
  });

  it('remoteFields lists properties with their read-only flag; createField creates a typed property', async () => {
    emulator = await startHubSpotEmulator();
    const config = hubspot.configSchema.parse({ base_url: emulator.endpoint, token: emulator.token });
    const remote = { logger, signal: AbortSignal.timeout(5000) };
    const fields = await hubspot.remoteFields!(config, 'contacts', remote);
    expect(fields.find((f) => f.name === 'email')).toMatchObject({ readOnly: false });
    expect(fields.find((f) => f.name === 'hs_object_id')).toMatchObject({ readOnly: true });
    await hubspot.createField!(config, 'contacts', { name: 'lifetime_orders', type: 'integer' }, remote);
    expect(emulator.properties.get('lifetime_orders')).toMatchObject({ type: 'number' });
    expect(await (await open()).apply(batch(['a@x.com'], 'upsert', { lifetime_orders: '4' }))).toMatchObject([{ ok: true }]);
  });

  it('the emulator answers as HubSpot: 401 without the token, 400 above 100 inputs or for an id twice', async () => {
    emulator = await startHubSpotEmulator();
    const post = (body: unknown, token = emulator.token) =>
      fetch(`${emulator.endpoint}/crm/v3/objects/contacts/batch/upsert`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const input = (i: number) => ({ id: `p${i}@x.com`, idProperty: 'email', properties: {} });
    expect((await post({ inputs: [input(1)] }, 'wrong')).status).toBe(401);
    const tooMany = await post({ inputs: Array.from({ length: 101 }, (_, i) => input(i)) });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    const twice = await post({ inputs: [input(1), { ...input(1), id: 'P1@x.com' }] });
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { message: string }).message).toMatch(/Duplicate IDs/);
    expect(emulator.contacts().size).toBe(0);
  });

  it('the emulator validates e-mail addresses as HubSpot documents: RFC 2822, no quoted local part, a TLD', async () => {
    emulator = await startHubSpotEmulator();
    const upsert = async (email: string) =>
      (
        await fetch(`${emulator.endpoint}/crm/v3/objects/contacts/batch/upsert`, {
          method: 'POST',
          headers: { authorization: `Bearer ${emulator.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [{ id: email, idProperty: 'email', properties: {} }] }),
        })
      ).status;
    const valid = ['a.b+c@example.co.uk', "o'brien@example.com", 'user@email.삼성', 'x@sub.xn--p1ai', 'UPPER@Example.COM'];
    const invalid = ['x@@y.com', '"quoted"@example.com', 'a..b@example.com', '.a@example.com', 'a.@example.com', 'a b@example.com', 'a@example', 'a@example.c0m', 'a@example.com.', 'a@[192.0.2.1]', '@example.com', 'a@'];
    for (const email of valid) expect(await upsert(email), email).toBe(200);
    for (const email of invalid) expect(await upsert(email), email).toBe(400);
    expect(emulator.contacts().size).toBe(valid.length);
  });

  it('an invalid e-mail refuses the batch without naming the address; the engine splits it down to that record', async () => {
    emulator = await startHubSpotEmulator();
    const error = await (await open()).apply(batch(['ok@x.com', 'x@@y.com'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchRejectedError);
    expect(error).toMatchObject({ code: 'invalid_email' });
    expect((error as Error).message).not.toContain('x@@y.com');
    expect(emulator.contacts().size).toBe(0);

    const rows = people(6).map((p) => (p.id === 4 ? { ...p, email: 'x@@y.com' } : p));
    harness = await SyncHarness.start({
      destinations: [{ name: 'hs', type: 'hubspot', base_url: emulator.endpoint, token: emulator.token, retries: { attempts: 3, base_ms: 10, max_ms: 50 } }],
      syncs: [{ name: 's', model: 'people', destination: 'hs', object: 'contacts', mode: 'upsert', key: { from: 'email', field: 'email' }, fields: { firstname: 'first_name' } }],
      rows,
    });
    const result = await harness.sync('s');
    expect(result).toMatchObject({ status: 'partial', accepted: 5, rejected: 1 });
    const rejected = await harness.engine().store.rejectedRows('s', 5);
    expect(rejected).toMatchObject([{ record_key: 'x@@y.com', error_code: 'invalid_email', retryable: false }]);
    expect(String(rejected[0]!['error_message'])).not.toContain('x@@y.com');
    expect([...emulator.contacts().values()].map((c) => c['email']).sort()).toEqual(rows.filter((p) => p.id !== 4).map((p) => p.email).sort());
  });
});
