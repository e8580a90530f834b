import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, BatchRejectedError, RateLimitedError, type Batch, type DestinationContext, type FieldValue } from '../destination.js';
import { braze, untilReset } from './adapter.js';
import { brazeSchema } from './documented-shapes.js';
import { startBrazeEmulator, type BrazeEmulator } from './emulator.js';
import { sessionContext } from '../emulator-kit/session-context.js';

const context = (mode: DestinationContext['mode'], object = 'users'): DestinationContext => sessionContext({ object, mode, keyField: 'external_id', fields: [{ name: 'email', type: 'string' }] });

function batch(keys: string[], operation: Batch['operation'] = 'upsert', object = 'users', fields: (key: string) => Record<string, FieldValue> = (k) => ({ email: `${k}@example.com` })): Batch {
  return { object, operation, keyField: 'external_id', records: keys.map((key) => ({ key, fields: fields(key), destinationId: null, idempotencyKey: `ik-${key}` })), signal: AbortSignal.timeout(5000), idempotencyKey: 'k' };
}

describe('braze adapter against its emulator', () => {
  let emulator: BrazeEmulator;
  afterEach(() => emulator.close());
  const open = (mode: DestinationContext['mode'] = 'upsert', object = 'users', overrides: Record<string, unknown> = {}) =>
    braze.open(braze.configSchema.parse({ rest_endpoint: emulator.endpoint, api_key: emulator.apiKey, ...overrides }), context(mode, object));

  it('maps non-fatal errors to the records they index; the rest are processed', async () => {
    emulator = await startBrazeEmulator();
    const session = await open();
    const outcomes = await session.apply(batch(['1', '2', '3'], 'upsert', 'users', (k) => ({ email: k === '2' ? 'not-an-email' : `${k}@example.com`, tier: 'gold' })));
    expect(outcomes).toEqual([{ ok: true }, { ok: false, code: 'invalid_email', message: "Invalid 'email' attribute", retryable: false }, { ok: true }]);
    expect([...emulator.users().keys()].sort()).toEqual(['1', '3']);
    expect(emulator.users().get('1')).toEqual({ email: '1@example.com', tier: 'gold' });
  });

  it('null removes an attribute; audiences live in an array attribute; removal never creates a user', async () => {
    emulator = await startBrazeEmulator();
    await (await open()).apply(batch(['1'], 'upsert', 'users', () => ({ email: 'a@example.com', tier: 'gold' })));
    await (await open()).apply(batch(['1'], 'upsert', 'users', () => ({ tier: null })));
    expect(emulator.users().get('1')).toEqual({ email: 'a@example.com' });
    const vip = await open('audience', 'vip');
    await vip.apply(batch(['1', '2'], 'add', 'vip'));
    await (await open('audience', 'churn_risk')).apply(batch(['1'], 'add', 'churn_risk'));
    expect(emulator.users().get('1')?.['tideline_audiences']).toEqual(['vip', 'churn_risk']);
    await vip.apply(batch(['1', 'ghost'], 'remove', 'vip', () => ({})));
    expect(emulator.users().get('1')?.['tideline_audiences']).toEqual(['churn_risk']);
    expect(emulator.users().has('ghost')).toBe(false);
  });

  it('deletes through /users/delete in requests of at most 50 external_ids', async () => {
    emulator = await startBrazeEmulator();
    const keys = Array.from({ length: 120 }, (_, i) => String(i));
    const session = await open('mirror');
    await session.apply(batch(keys.slice(0, 75)));
    await session.apply(batch(keys.slice(75)));
    const before = emulator.server.count(201);
    expect(await session.apply(batch(keys.slice(0, 110), 'delete', 'users', () => ({})))).toHaveLength(110);
    expect(emulator.server.count(201) - before).toBe(3);
    expect([...emulator.users().keys()].sort()).toEqual(keys.slice(110).sort());
  });

  it('the emulator enforces the API: 401, 75 objects, 50 ids, 429 with X-RateLimit-Reset', async () => {
    emulator = await startBrazeEmulator({ rateLimit: { requests: 2, perMs: 60_000 } });
    await expect((await open('upsert', 'users', { api_key: 'wrong' })).apply(batch(['1']))).rejects.toBeInstanceOf(AuthError);
    const session = await open();
    await expect(session.apply(batch(Array.from({ length: 76 }, (_, i) => String(i))))).rejects.toBeInstanceOf(BatchRejectedError);
    expect(await session.apply(batch(['1']))).toEqual([{ ok: true }]);
    const limited = await session.apply(batch(['2'])).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterMs).toBeGreaterThan(1000);
    const raw = await fetch(`${emulator.endpoint}/users/track`, { method: 'POST', headers: { authorization: `Bearer ${emulator.apiKey}` }, body: '{}' });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(raw.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('users/delete refuses more than 50 ids', async () => {
    emulator = await startBrazeEmulator();
    const response = await fetch(`${emulator.endpoint}/users/delete`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emulator.apiKey}` },
      body: JSON.stringify({ external_ids: Array.from({ length: 51 }, (_, i) => String(i)) }),
    });
    expect(response.status).toBe(400);
  });
});

describe('braze configuration', () => {
  it('X-RateLimit-Reset is epoch seconds', () => {
    expect(untilReset(new Headers({ 'x-ratelimit-reset': '1700000003' }), 1_700_000_000_000)).toBe(3000);
    expect(untilReset(new Headers({ 'x-ratelimit-reset': '1699999999' }), 1_700_000_000_000)).toBe(250);
    expect(untilReset(new Headers(), 1_700_000_000_000)).toBeUndefined();
  });

  it('checks syncs: external_id key, users object, no $ names, at most 75 objects per request', () => {
    const config = braze.configSchema.parse({ rest_endpoint: 'https://rest.iad-01.braze.com', api_key: 'k' });
    expect(braze.checkSync!(config, { object: 'contacts', mode: 'upsert', keyField: 'email', fields: ['$bad'] }, { targets: [] }).map((p) => p.at)).toEqual([['key'], ['object'], ['fields', '$bad']]);
    expect(braze.checkSync!(config, { object: 'vip', mode: 'audience', keyField: 'external_id', fields: ['email'] }, { targets: [] })).toEqual([]);
    expect(braze.configSchema.safeParse({ rest_endpoint: 'https://rest.iad-01.braze.com', api_key: 'k', objects_per_request: 76 }).success).toBe(false);
    expect(braze.limits(config)).toMatchObject({ maxBatchRecords: 75, requestsPerSecond: 1000 });
    expect(braze.secrets(config)).toEqual(['k']);
  });
});

describe("braze exchanges against Braze's documented shapes", () => {
  let emulator: BrazeEmulator;
  afterEach(() => emulator.close());

  it('what the adapter sent and the emulator answered conforms; external_idd in an attributes object, a second identifier list in a delete, or an unknown answer field is reported', async () => {
    emulator = await startBrazeEmulator();
    const exchanges = emulator.server.recordExchanges();
    const config = braze.configSchema.parse({ rest_endpoint: emulator.endpoint, api_key: emulator.apiKey });
    await (await braze.open(config, context('upsert'))).apply(batch(['1', '2']));
    await (await braze.open(config, context('audience', 'vip'))).apply(batch(['1'], 'remove', 'vip', () => ({})));
    await (await braze.open(config, context('mirror'))).apply(batch(['2'], 'delete', 'users', () => ({})));
    expect(exchanges().map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual(['POST /users/track 201', 'POST /users/track 201', 'POST /users/delete 201']);
    for (const exchange of exchanges()) expect(await brazeSchema.check(exchange)).toEqual([]);

    const [track, removal, deletion] = exchanges();
    const objects = (track!.request as { attributes: Record<string, unknown>[] }).attributes;
    const misspelt = objects.map(({ external_id: id, ...rest }, i) => (i === 1 ? { ...rest, external_idd: id } : { external_id: id, ...rest }));
    expect(await brazeSchema.check({ ...track!, request: { attributes: misspelt } })).toContain('request: /attributes/1: unknown property "external_idd" (Braze would keep it as a custom attribute: "external_id" misspelt?)');
    const [remove] = (removal!.request as { attributes: Record<string, unknown>[] }).attributes;
    const { _update_existing_only: flag, ...withoutFlag } = remove!;
    expect((await brazeSchema.check({ ...removal!, request: { attributes: [{ ...withoutFlag, _update_existing_ony: flag }] } })).join()).toContain('"_update_existing_ony"');
    // Without any identifier, an attributes object is refused (one of external_id, user_alias, braze_id, email, phone).
    expect((await brazeSchema.check({ ...removal!, request: { attributes: [{ tideline_audiences: { remove: ['vip'] } }] } })).join()).toContain('missing required property "external_id"');
    expect((await brazeSchema.check({ ...deletion!, request: { ...(deletion!.request as object), braze_ids: ['b1'] } })).join()).toMatch(/must NOT have more than 1 properties/);
    expect((await brazeSchema.check({ ...track!, response: { ...(track!.response as object), users_processed: 2 } })).join()).toContain('unknown property "users_processed"');
    expect(await brazeSchema.check({ ...track!, path: '/users/export/ids' })).toEqual(["POST /users/export/ids: the vendor's document has no such operation"]);
  });
});
