import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, BatchRejectedError, RateLimitedError, type Batch, type DestinationContext, type FieldValue } from '../destination.js';
import { braze, untilReset } from './adapter.js';
import { brazeSchema } from './documented-shapes.js';
import { startBrazeEmulator, type BrazeEmulator } from './emulator.js';
import { sessionContext } from '../emulator-kit/session-context.js';
import { SyncHarness } from '../../test/support/sync-harness.js';
import { contractEvents, EVENT_COLUMNS } from '../emulator-kit/contract.js';

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

  it('forget deletes users and audience members by external_id (the key), whatever they hold, and the snapshot retains the ids an event names', async () => {
    emulator = await startBrazeEmulator();
    await (await open()).apply(batch(['1', '2', '3']));
    await (await open('audience', 'vip')).apply(batch(['2', '3'], 'add', 'vip'));
    const config = braze.configSchema.parse({ rest_endpoint: emulator.endpoint, api_key: emulator.apiKey });
    for (const mode of ['upsert', 'mirror', 'audience'] as const) expect(braze.erasure!(config, { object: mode === 'audience' ? 'vip' : 'users', mode })).toMatchObject({ operation: 'forget', method: expect.stringContaining('by external_id') });
    expect(braze.retainFields!(config)).toEqual(['external_id', 'braze_id']);
    const exchanges = emulator.server.recordExchanges();
    // The audience's person is deleted, not only taken out of the audience: the profile would keep their data.
    expect(await (await open('audience', 'vip')).apply(batch(['2'], 'forget', 'vip', () => ({})))).toEqual([{ ok: true }]);
    // A key twice is one id in the request, and both records are erased.
    expect(await (await open()).apply(batch(['1', '1'], 'forget', 'users', () => ({})))).toEqual([{ ok: true }, { ok: true }]);
    expect(exchanges().map((e) => e.request)).toEqual([{ external_ids: ['2'] }, { external_ids: ['1'] }]);
    expect([...emulator.users().keys()]).toEqual(['3']);
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

describe('braze events and purchases (/users/track events, purchases)', () => {
  let emulator: BrazeEmulator;
  afterEach(() => emulator.close());
  const open = (object: 'events' | 'purchases') => braze.open(braze.configSchema.parse({ rest_endpoint: emulator.endpoint, api_key: emulator.apiKey }), sessionContext({ object, mode: 'events', keyField: 'event_id' }));
  function track(object: 'events' | 'purchases', ids: string[], fields: (id: string) => Record<string, FieldValue>, name = 'Cart abandoned'): Batch {
    return {
      object,
      operation: 'track',
      keyField: 'event_id',
      records: ids.map((key) => ({ key, fields: fields(key), destinationId: null, idempotencyKey: `ik-${key}`, event: { name, time: '2026-12-01T09:30:15.250Z' } })),
      signal: AbortSignal.timeout(5000),
      idempotencyKey: 'k',
    };
  }

  it('sends custom events with name, time, identifiers and properties (the event id among them); Braze keeps every copy', async () => {
    emulator = await startBrazeEmulator();
    const exchanges = emulator.server.recordExchanges();
    const session = await open('events');
    const batch = track('events', ['ev-1', 'ev-2'], (id) => ({ external_id: id === 'ev-1' ? 1 : 2, app_id: 'app-1', cart_url: `https://shop.example/c/${id}`, 'properties.items': 3 }));
    expect(await session.apply(batch)).toEqual([{ ok: true }, { ok: true }]);
    expect(emulator.events()).toEqual([
      { external_id: '1', app_id: 'app-1', name: 'Cart abandoned', time: '2026-12-01T09:30:15.250Z', properties: { cart_url: 'https://shop.example/c/ev-1', items: 3, event_id: 'ev-1' } },
      expect.objectContaining({ external_id: '2', properties: expect.objectContaining({ event_id: 'ev-2' }) }),
    ]);
    // An event for an unknown external_id creates the user.
    expect([...emulator.users().keys()].sort()).toEqual(['1', '2']);
    // Sent again, Braze records it again: no de-duplication (braze.events.deduplication is undefined).
    await session.apply(batch);
    expect(emulator.events()).toHaveLength(4);
    expect(braze.events!.deduplication).toBeUndefined();
    expect(exchanges().map((e) => e.response)).toEqual([{ message: 'success', events_processed: 2 }, { message: 'success', events_processed: 2 }]);
    for (const exchange of exchanges()) expect(await brazeSchema.check(exchange)).toEqual([]);
    // The event object is closed: a misspelt key is refused by the documented shape.
    const [first] = exchanges();
    const [event] = (first!.request as { events: Record<string, unknown>[] }).events;
    const { name, ...rest } = event!;
    expect((await brazeSchema.check({ ...first!, request: { events: [{ ...rest, nmae: name }] } })).join()).toMatch(/unknown property "nmae"/);
  });

  it('sends purchases: the event name is the product_id; currency, price, quantity; refuses before sending a price that is not a number', async () => {
    emulator = await startBrazeEmulator();
    const exchanges = emulator.server.recordExchanges();
    const session = await open('purchases');
    const outcomes = await session.apply(
      track('purchases', ['o-1', 'o-2', 'o-3'], (id): Record<string, FieldValue> => ({ email: `${id}@example.com`, currency: 'EUR', price: id === 'o-2' ? '12.50' : 40, quantity: id === 'o-3' ? 101 : 2, store: 'Lyon' }), 'Completed Order'),
    );
    expect(outcomes).toEqual([
      { ok: true },
      { ok: false, code: 'invalid_price', message: 'price is a number in the currency (Braze requires it)', retryable: false },
      { ok: false, code: 'invalid_quantity', message: 'quantity is a whole number from 1 to 100', retryable: false },
    ]);
    expect(emulator.events('purchases')).toEqual([{ email: 'o-1@example.com', product_id: 'Completed Order', currency: 'EUR', price: 40, quantity: 2, time: '2026-12-01T09:30:15.250Z', properties: { store: 'Lyon', event_id: 'o-1' } }]);
    expect(emulator.events('events')).toEqual([]);
    for (const exchange of exchanges()) expect(await brazeSchema.check(exchange)).toEqual([]);
    const [sent] = exchanges();
    const [purchase] = (sent!.request as { purchases: Record<string, unknown>[] }).purchases;
    expect((await brazeSchema.check({ ...sent!, request: { purchases: [{ ...purchase, currency: 'euro' }] } })).join()).toMatch(/currency/);
  });

  it('a purchase or event Braze refuses is a non-fatal error for that object alone; the others are kept', async () => {
    emulator = await startBrazeEmulator({ rejectEvent: (object) => ((object['properties'] as Record<string, unknown> | undefined)?.['event_id'] === 'o-2' ? "Invalid 'properties' for this event" : undefined) });
    const session = await open('purchases');
    // o-3's currency is no ISO 4217 code; o-4's is one in lower case, which the adapter writes as Braze wants it.
    const fields = (id: string): Record<string, FieldValue> => ({ external_id: id, currency: id === 'o-3' ? 'EURO' : id === 'o-4' ? ' eur' : 'EUR', price: 10 });
    expect(await session.apply(track('purchases', ['o-1', 'o-2', 'o-3', 'o-4'], fields, 'Completed Order'))).toEqual([
      { ok: true },
      { ok: false, code: 'invalid_property', message: "Invalid 'properties' for this event", retryable: false },
      { ok: false, code: 'invalid_purchase', message: "'currency' must be an ISO 4217 alphabetic currency code", retryable: false },
      { ok: true },
    ]);
    expect(emulator.events('purchases').map((p) => [p['external_id'], p['currency']])).toEqual([
      ['o-1', 'EUR'],
      ['o-4', 'EUR'],
    ]);
    // An event without its time, a property name with a leading $: refused by the emulator as Braze documents.
    const response = await fetch(`${emulator.endpoint}/users/track`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emulator.apiKey}` },
      body: JSON.stringify({ events: [{ external_id: 'x', name: 'Viewed' }, { external_id: 'x', name: 'Viewed', time: '2026-12-01T09:30:15Z', properties: { $bad: 1 } }, { external_id: 'x', name: 'Viewed', time: '2026-12-01T09:30:15Z' }] }),
    });
    expect(await response.json()).toMatchObject({ message: 'success', events_processed: 1, errors: [{ input_array: 'events', index: 0 }, { input_array: 'events', index: 1 }] });
  });

  it('through the engine: a purchases sync sends each order once, a constant currency, the order id among the properties', async () => {
    emulator = await startBrazeEmulator();
    const orders = contractEvents(3, { endMinutesAgo: 30 });
    const harness = await SyncHarness.start({
      rows: orders,
      columns: EVENT_COLUMNS,
      destinations: [{ name: 'b', type: 'braze', rest_endpoint: emulator.endpoint, api_key: emulator.apiKey, retries: { attempts: 3, base_ms: 10, max_ms: 50 } }],
      syncs: [{ name: 's', model: 'people', destination: 'b', object: 'purchases', mode: 'events', key: { from: 'event_id', field: 'order_id' }, event: { name: 'Completed Order', time: 'event_time' }, fields: { external_id: 'customer_id', price: 'value', currency: { constant: 'EUR' } } }],
    });
    try {
      expect(await harness.sync('s')).toMatchObject({ status: 'success', accepted: 3 });
      expect(emulator.events('purchases').map((p) => [p['external_id'], p['product_id'], p['price'], p['currency'], p['time'], (p['properties'] as Record<string, unknown>)['order_id']])).toEqual(
        orders.map((o) => [String(o.customer_id), 'Completed Order', o.value, 'EUR', o.event_time, o.event_id]),
      );
      expect(await harness.sync('s')).toMatchObject({ accepted: 0, requests: 0 });
      expect(emulator.events('purchases')).toHaveLength(3);
    } finally {
      await harness.close();
    }
  });

  it("forget deletes the user an event named (retained external_id, else braze_id), with the user's events and purchases; again is accepted; an event named by e-mail only is rejected with what to do", async () => {
    emulator = await startBrazeEmulator();
    const exchanges = emulator.server.recordExchanges();
    await (await open('events')).apply(track('events', ['e1', 'e2', 'e3', 'e4'], (id): Record<string, FieldValue> => (id === 'e4' ? { braze_id: 'b-4' } : { external_id: id === 'e3' ? 2 : Number(id.slice(1)) })));
    await (await open('purchases')).apply(track('purchases', ['o1', 'o2'], (id) => ({ external_id: Number(id.slice(1)), currency: 'EUR', price: 10 }), 'Completed Order'));
    expect(braze.erasure!(braze.configSchema.parse({ rest_endpoint: emulator.endpoint, api_key: emulator.apiKey }), { object: 'events', mode: 'events' })).toMatchObject({ operation: 'forget', method: expect.stringContaining('POST /users/delete') });
    // As the snapshot holds them: the retained external_id (a number in the model) or braze_id; e5 named its user by e-mail.
    const records: Batch['records'] = [
      { key: 'e1', fields: { external_id: 1 }, destinationId: null, idempotencyKey: 'f1' },
      { key: 'e4', fields: { braze_id: 'b-4' }, destinationId: null, idempotencyKey: 'f4' },
      { key: 'e5', fields: {}, destinationId: null, idempotencyKey: 'f5' },
    ];
    const forget: Batch = { object: 'events', operation: 'forget', keyField: 'event_id', records, signal: AbortSignal.timeout(5000), idempotencyKey: 'k' };
    const before = exchanges().length;
    const outcomes = await (await open('events')).apply(forget);
    expect(outcomes.slice(0, 2)).toEqual([{ ok: true }, { ok: true }]);
    expect(outcomes[2]).toMatchObject({ ok: false, code: 'no_user_id', retryable: false, message: expect.stringContaining('Search Users') });
    expect(exchanges().slice(before).map((e) => [e.path, e.request, e.response])).toEqual([
      ['/users/delete', { external_ids: ['1'] }, { deleted: 1, message: 'success' }],
      ['/users/delete', { braze_ids: ['b-4'] }, { deleted: 1, message: 'success' }],
    ]);
    // User 1 is gone with their event and their purchase; user 2's stay.
    expect([...emulator.users().keys()]).toEqual(['2']);
    expect(emulator.events().map((e) => (e['properties'] as Record<string, unknown>)['event_id'])).toEqual(['e2', 'e3']);
    expect(emulator.events('purchases').map((e) => e['external_id'])).toEqual(['2']);
    // Again: Braze counts the ids it parsed, held or not, and refuses none.
    expect((await (await open('events')).apply(forget)).map((o) => o.ok)).toEqual([true, true, false]);
    expect(exchanges().at(-2)?.response).toEqual({ deleted: 1, message: 'success' });
    // A later event takes a new arrival number, not one of those still held.
    await (await open('events')).apply(track('events', ['e6'], () => ({ external_id: 6 })));
    expect(emulator.events().map((e) => (e['properties'] as Record<string, unknown>)['event_id'])).toEqual(['e2', 'e3', 'e6']);
    for (const exchange of exchanges()) expect(await brazeSchema.check(exchange)).toEqual([]);
  });

  it('at most 75 objects a request; checks events syncs; no maximum age', async () => {
    emulator = await startBrazeEmulator();
    const session = await open('events');
    await expect(session.apply(track('events', Array.from({ length: 76 }, (_, i) => `e${i}`), (id) => ({ external_id: id })))).rejects.toBeInstanceOf(BatchRejectedError);
    const config = braze.configSchema.parse({ rest_endpoint: 'https://rest.iad-01.braze.com', api_key: 'k' });
    const check = (sync: { object: string; keyField?: string; fields: string[] }) => braze.checkSync!(config, { mode: 'events', keyField: 'event_id', ...sync }, { targets: [] });
    expect(check({ object: 'events', fields: ['external_id', 'app_id', 'cart_url'] })).toEqual([]);
    expect(check({ object: 'purchases', fields: ['email', 'currency', 'price', 'quantity'] })).toEqual([]);
    expect(check({ object: 'users', fields: ['external_id'] }).map((p) => p.at)).toEqual([['object']]);
    expect(check({ object: 'purchases', keyField: '$id', fields: ['price', 'product_id', '$x'] }).map((p) => p.at)).toEqual([['key'], ['fields'], ['fields'], ['fields', 'product_id'], ['fields', '$x']]);
    expect(braze.modes).toContain('events');
    expect(braze.events!.maxAgeDays(config, { object: 'events', constants: {} })).toBeUndefined();
  });
});
