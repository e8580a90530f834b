import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { contractSync, expected, people, SyncHarness } from '../../test/support/sync-harness.js';
import { createLogger } from '../../src/log/logger.js';
import { gateBurst } from '../../src/sync/rate.js';
import { AuthError, BatchRejectedError, RateLimitedError, StopSyncError, TransientError, type Batch, type DestinationContext, type FieldValue } from '../destination.js';
import { klaviyo, profileOf, sentIndex } from './adapter.js';
import { KLAVIYO_RATE_LIMIT, startKlaviyoEmulator, type KlaviyoEmulator } from './emulator.js';
import { KLAVIYO_REVISION, klaviyoRevision, toE164 } from './protocol.js';
import { klaviyoSchema } from './schema.js';
import { sessionContext } from '../emulator-kit/session-context.js';
import { contractEvents, EVENT_COLUMNS } from '../emulator-kit/contract.js';

const logger = createLogger({ level: 'silent' });
const context = (mode: DestinationContext['mode'], object = 'profiles', keyField = 'external_id'): DestinationContext => sessionContext({ object, mode, keyField, logger });

function batch(keys: string[], operation: Batch['operation'] = 'upsert', fields: (key: string) => Record<string, FieldValue> = (k) => ({ email: `p${k}@example.com` }), object = 'profiles', signal = AbortSignal.timeout(5000)): Batch {
  return { object, operation, keyField: 'external_id', records: keys.map((key) => ({ key, fields: fields(key), destinationId: null, idempotencyKey: `ik-${key}` })), signal, idempotencyKey: 'k' };
}

describe('klaviyo profiles', () => {
  it('normalises phone numbers to E.164 with the default country, and refuses invalid ones before sending', () => {
    expect(toE164('(415) 555-2671', 'US')).toBe('+14155552671');
    expect(toE164('020 7946 0958', 'GB')).toBe('+442079460958');
    expect(toE164('020 7946 0958', undefined)).toBeUndefined();
    const record = { key: '1', fields: { phone_number: '020 7946 0958', first_name: 'Ann', 'location.city': 'Leeds', orders: 3, 'properties.tier': 'gold' }, destinationId: null, idempotencyKey: 'ik-1' };
    expect(profileOf(record, 'external_id', 'GB')).toEqual({
      identifier: '1',
      attributes: { external_id: '1', phone_number: '+442079460958', first_name: 'Ann', location: { city: 'Leeds' }, properties: { orders: 3, tier: 'gold' } },
      subscribe: [],
    });
    expect(profileOf(record, 'external_id', undefined)).toMatchObject({ outcome: { ok: false, code: 'invalid_phone', retryable: false } });
    expect(JSON.stringify(profileOf(record, 'external_id', undefined))).not.toContain('7946');
  });

  it('maps an import error to its profile by source.pointer, else by the key in original_payload', () => {
    const sent = [{ attributes: { external_id: 'a' }, identifier: 'a' }, { attributes: { external_id: 'b' }, identifier: 'b' }];
    const error = (pointer: string, payload: Record<string, unknown>) =>
      ({ type: 'import-error', id: 'e', attributes: { code: 'invalid', title: 'Invalid input.', detail: 'x', source: { pointer }, original_payload: payload } }) as const;
    expect(sentIndex(error('/data/attributes/profiles/data/1/attributes/email', {}), sent, 'external_id')).toBe(1);
    expect(sentIndex(error('', { external_id: 'a', email: 'x' }), sent, 'external_id')).toBe(0);
    expect(sentIndex(error('/data/attributes/profiles/data/7', { external_id: 'zz' }), sent, 'external_id')).toBeUndefined();
  });

  it('checks syncs: an identifier as key, profiles or a list id, location parts', () => {
    const config = klaviyo.configSchema.parse({ api_key: 'pk_x' });
    expect(klaviyo.checkSync!(config, { object: 'contacts', mode: 'upsert', keyField: 'id', fields: ['location.planet'] }, { targets: [] }).map((p) => p.at)).toEqual([['key'], ['object'], ['fields', 'location.planet']]);
    expect(klaviyo.checkSync!(config, { object: 'Y6nRLr', mode: 'audience', keyField: 'email', fields: ['first_name'] }, { targets: [] })).toEqual([]);
    expect(klaviyo.modes).not.toContain('mirror');
    expect(klaviyo.limits(config)).toMatchObject({ maxBatchRecords: 10_000 });
    // One import job per batch, paced under the steady window of 150 a minute.
    expect(klaviyo.limits(config).requestsPerSecond! * 60).toBeLessThan(150);
  });
});

describe('klaviyo adapter against its emulator', () => {
  let emulator: KlaviyoEmulator;
  afterEach(() => emulator.close());
  const config = (overrides: Record<string, unknown> = {}) => klaviyo.configSchema.parse({ api_key: emulator.apiKey, base_url: emulator.endpoint, poll_interval_ms: 10, ...overrides });
  const open = (mode: DestinationContext['mode'] = 'upsert', object = 'profiles', overrides: Record<string, unknown> = {}) => klaviyo.open(config(overrides), context(mode, object));

  it('imports a job, polls it, and maps import errors back to their records', async () => {
    emulator = await startKlaviyoEmulator({ processingMs: 40, reject: (a) => (a['external_id'] === '3' ? 'Invalid email address.' : undefined) });
    const session = await open();
    await session.check();
    const outcomes = await session.apply(batch(['1', '2', '3', '4'], 'upsert', (k) => ({ email: k === '2' ? 'nope' : `p${k}@example.com`, first_name: `N${k}`, orders: Number(k) })));
    expect(outcomes).toEqual([
      { ok: true },
      { ok: false, code: 'invalid_email', message: 'Invalid email address.', retryable: false },
      { ok: false, code: 'invalid_email', message: 'Invalid email address.', retryable: false },
      { ok: true },
    ]);
    const profiles = [...emulator.profiles().values()];
    expect(profiles).toHaveLength(2);
    expect(profiles[0]).toEqual({ external_id: '1', email: 'p1@example.com', first_name: 'N1', properties: { orders: 1 } });
    // The same key again updates the profile in place, merging properties.
    await session.apply(batch(['1'], 'upsert', () => ({ tier: 'gold' })));
    expect([...emulator.profiles().values()][0]).toMatchObject({ email: 'p1@example.com', properties: { orders: 1, tier: 'gold' } });
    expect(emulator.profiles().size).toBe(2);
  });

  it('a job still processing when the batch signal fires is a TransientError', async () => {
    emulator = await startKlaviyoEmulator({ processingMs: 60_000 });
    const session = await open();
    await expect(session.apply(batch(['1'], 'upsert', undefined, 'profiles', AbortSignal.timeout(150)))).rejects.toBeInstanceOf(TransientError);
  });

  it('audience add imports into the list; remove looks profile ids up and deletes the relationship', async () => {
    emulator = await startKlaviyoEmulator({ lists: ['Vip1'] });
    const session = await open('audience', 'Vip1');
    await session.check();
    await session.apply(batch(['1', '2', '3'], 'add', undefined, 'Vip1'));
    expect(emulator.members('Vip1')).toHaveLength(3);
    expect(await session.apply(batch(['2', 'never-synced'], 'remove', () => ({}), 'Vip1'))).toEqual([{ ok: true }, { ok: true }]);
    const left = emulator.members('Vip1').map((id) => emulator.profiles().get(id)?.['external_id']);
    expect(left.sort()).toEqual(['1', '3']);
    expect(emulator.profiles().size).toBe(3);
    await expect((await open('audience', 'Missing')).check()).rejects.toBeInstanceOf(StopSyncError);
  });

  it('the emulator enforces the API: 401, revision header, unknown attributes, 10,000 profiles, 429 with Retry-After', async () => {
    emulator = await startKlaviyoEmulator({ maxProfiles: 5, rateLimit: { requests: 3, perMs: 60_000 } });
    await expect((await open('upsert', 'profiles', { api_key: 'pk_wrong' })).check()).rejects.toBeInstanceOf(AuthError);
    const post = (body: unknown, headers: Record<string, string> = { revision: KLAVIYO_REVISION }) =>
      fetch(`${emulator.endpoint}/api/profile-bulk-import-jobs`, { method: 'POST', headers: { authorization: `Klaviyo-API-Key ${emulator.apiKey}`, ...headers }, body: JSON.stringify(body) });
    const job = (attributes: Record<string, unknown>[]) => ({ data: { type: 'profile-bulk-import-job', attributes: { profiles: { data: attributes.map((a) => ({ type: 'profile', attributes: a })) } } } });
    expect((await post(job([{ email: 'a@example.com' }]), {})).status).toBe(400);
    const unknown = await post(job([{ email: 'a@example.com', favourite_colour: 'red' }]));
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ errors: [{ code: 'invalid', source: { pointer: '/data/attributes/profiles/data/0/attributes/favourite_colour' } }] });
    const session = await open();
    await expect(session.apply(batch(['1', '2', '3', '4', '5', '6']))).rejects.toBeInstanceOf(BatchRejectedError);
    const limited = await session.apply(batch(['1'])).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(1000);
  });

  it("the emulator keeps Klaviyo's two windows per endpoint: the 11th request in a second and the 151st in a minute get 429", async () => {
    let now = 0;
    emulator = await startKlaviyoEmulator({ clock: () => now });
    const get = async (path = '/api/profiles?page[size]=1') => {
      const response = await fetch(`${emulator.endpoint}${path}`, { headers: { authorization: `Klaviyo-API-Key ${emulator.apiKey}`, revision: KLAVIYO_REVISION } });
      await response.arrayBuffer();
      return { status: response.status, retryAfter: response.headers.get('retry-after'), limit: response.headers.get('ratelimit-limit'), remaining: response.headers.get('ratelimit-remaining'), reset: response.headers.get('ratelimit-reset') };
    };
    // The headers describe the steady window, as Klaviyo's do.
    expect(await get()).toEqual({ status: 200, retryAfter: null, limit: '150', remaining: '149', reset: '60' });
    for (let i = 2; i <= 10; i++) expect((await get()).status).toBe(200);
    now = 400;
    expect(await get()).toMatchObject({ status: 429, retryAfter: '1', limit: null });
    // Another endpoint has its own quota.
    expect((await get('/api/lists/AnyList')).status).toBe(200);
    // 14 more full seconds: 150 requests in all, then the steady window refuses until the minute is over.
    for (let second = 1; second <= 14; second++) {
      now = second * 1_000;
      for (let i = 0; i < 10; i++) expect((await get()).status).toBe(200);
    }
    now = 15_000;
    expect(await get()).toMatchObject({ status: 429, retryAfter: '45' });
    now = 59_999;
    expect((await get()).status).toBe(429);
    now = 60_000;
    expect(await get()).toMatchObject({ status: 200, remaining: '149', reset: '60' });
    expect(emulator.server.count(429)).toBe(3);
    expect(KLAVIYO_RATE_LIMIT.map((w) => [w.requests, w.perMs])).toEqual([[10, 1_000], [150, 60_000]]);
  });

  it("the adapter's own pace leaves room under both of Klaviyo's windows, the rate gate's burst included", () => {
    const pace = klaviyo.limits(klaviyo.configSchema.parse({ api_key: 'pk_x' })).requestsPerSecond!;
    // At most gateBurst(r) + r·T requests leave in any T seconds (src/sync/rate.ts).
    const worst = (windowMs: number) => gateBurst(pace) + (pace * windowMs) / 1000;
    for (const window of KLAVIYO_RATE_LIMIT) expect(worst(window.perMs), `${window.requests} per ${window.perMs} ms`).toBeLessThanOrEqual(window.requests);
  });

  it('a long sync through the engine stays under the steady window: no 429, every profile imported', async () => {
    // Klaviyo's windows shrunk to a second: 3 per quarter second (burst), 8 a second (steady). Shrunk 60-fold, the
    // gate's burst is no longer small beside the steady window as it is beside Klaviyo's minute (the test above checks
    // the real windows), and a loaded machine may delay a request across a window's edge: the destination is paced
    // at 5 a second, whose worst second is its burst (1) + 5 + one late request = 7 of the 8.
    const steadyPerSecond = 8;
    emulator = await startKlaviyoEmulator({
      rateLimit: [
        { requests: 3, perMs: 250, algorithm: 'fixed-window' },
        { requests: steadyPerSecond, perMs: 1_000, algorithm: 'fixed-window' },
      ],
    });
    const pace = 5;
    expect(gateBurst(pace) + pace + 1).toBeLessThanOrEqual(steadyPerSecond);
    const rows = people(20);
    const harness = await SyncHarness.start({
      rows,
      destinations: [{ name: 'k', type: 'klaviyo', api_key: emulator.apiKey, base_url: emulator.endpoint, poll_interval_ms: 10, batch_size: 1, requests_per_second: pace }],
      syncs: [contractSync('s', 'k', 'profiles', 'upsert')],
    });
    try {
      const result = await harness.sync('s');
      expect(result).toMatchObject({ status: 'success', accepted: 20, rateLimited: 0 });
      expect(emulator.server.count(429)).toBe(0);
      const held = new Map([...emulator.profiles().values()].map(({ external_id: key, properties, ...attributes }) => [String(key), { ...attributes, ...properties }]));
      expect(held).toEqual(expected(rows));
    } finally {
      await harness.close();
    }
  });

  it("a sync faster than the window waits out each 429's Retry-After: a few refusals per window, not a storm", async () => {
    emulator = await startKlaviyoEmulator({ rateLimit: { requests: 5, perMs: 1_000, algorithm: 'fixed-window' } });
    const rows = people(12);
    const harness = await SyncHarness.start({
      rows,
      destinations: [{ name: 'k', type: 'klaviyo', api_key: emulator.apiKey, base_url: emulator.endpoint, poll_interval_ms: 10, batch_size: 1, requests_per_second: 50 }],
      syncs: [contractSync('s', 'k', 'profiles', 'upsert')],
    });
    try {
      const result = await harness.sync('s');
      expect(result).toMatchObject({ status: 'success', accepted: 12 });
      // 12 jobs at 5 a window: two windows spent; each refusal pauses every request (3 in flight at most) until it ends.
      expect(emulator.server.count(429)).toBeGreaterThan(0);
      expect(emulator.server.count(429)).toBeLessThanOrEqual(6);
      expect(result.rateLimited).toBe(emulator.server.count(429));
      expect(emulator.profiles().size).toBe(12);
    } finally {
      await harness.close();
    }
  });
});

describe('klaviyo revision', () => {
  it('defaults to 2026-10-15 and declares when a revision is deprecated (a year) and retired (two years)', () => {
    const config = klaviyo.configSchema.parse({ api_key: 'pk_x' });
    expect(config.revision).toBe(KLAVIYO_REVISION);
    expect(klaviyo.apiVersion!(config)).toMatchObject({ version: '2026-10-15', sunset: '2028-10-15' });
    expect(klaviyo.apiVersion!(config).source).toContain('deprecated from 2027-10-15');
    expect(klaviyoRevision('2025-10-15')).toMatchObject({ sunset: '2027-10-15' });
    expect(klaviyoRevision('2026-10-15.pre').sunset).toBeUndefined();
  });
});

describe('klaviyo consent (email_consent, sms_consent → Bulk Subscribe Profiles)', () => {
  let emulator: KlaviyoEmulator;
  afterEach(() => emulator.close());
  const open = (mode: DestinationContext['mode'] = 'upsert', object = 'profiles') =>
    klaviyo.open(klaviyo.configSchema.parse({ api_key: emulator.apiKey, base_url: emulator.endpoint, poll_interval_ms: 10, default_country: 'FR' }), context(mode, object));
  const byExternalId = (key: string) => [...emulator.profiles().entries()].find(([, p]) => p['external_id'] === key)![0];

  it('subscribes the consenting records to the channels they have an identifier for, and nobody else', async () => {
    emulator = await startKlaviyoEmulator();
    const exchanges = emulator.server.recordExchanges();
    const session = await open();
    const fields: Record<string, Record<string, FieldValue>> = {
      '1': { email: 'p1@example.com', phone_number: '06 12 34 56 01', sms_consent: true, email_consent: true },
      '2': { email: 'p2@example.com', phone_number: '06 12 34 56 02', sms_consent: false, email_consent: true },
      '3': { email: 'p3@example.com', phone_number: null, sms_consent: true },
      '4': { email: 'p4@example.com', phone_number: '06 12 34 56 04', sms_consent: null },
    };
    expect(await session.apply(batch(['1', '2', '3', '4'], 'upsert', (k) => fields[k]!))).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: true }]);
    expect(emulator.profiles().size).toBe(4);
    expect(emulator.subscriptions(byExternalId('1'))).toEqual({ email: 'SUBSCRIBED', sms: 'SUBSCRIBED' });
    expect(emulator.subscriptions(byExternalId('2'))).toEqual({ email: 'SUBSCRIBED' });
    // Consent to SMS without a phone number has nothing to apply to; no consent signal, no subscription.
    expect(emulator.subscriptions(byExternalId('3'))).toEqual({});
    expect(emulator.subscriptions(byExternalId('4'))).toEqual({});
    // Consent fields are not profile properties.
    expect(JSON.stringify([...emulator.profiles().values()])).not.toMatch(/consent/);
    const subscribe = exchanges().filter((e) => e.path === '/api/profile-subscription-bulk-create-jobs');
    expect(subscribe).toHaveLength(1);
    expect(subscribe[0]!.status).toBe(202);
    expect((subscribe[0]!.request as { data: { attributes: { profiles: { data: { attributes: unknown }[] } } } }).data.attributes.profiles.data.map((p) => p.attributes)).toEqual([
      { email: 'p1@example.com', phone_number: '+33612345601', subscriptions: { sms: { marketing: { consent: 'SUBSCRIBED' } }, email: { marketing: { consent: 'SUBSCRIBED' } } } },
      { email: 'p2@example.com', phone_number: '+33612345602', subscriptions: { email: { marketing: { consent: 'SUBSCRIBED' } } } },
    ]);
    // Every request carried the configured revision.
    expect(new Set(exchanges().map((e) => e.headers['revision']))).toEqual(new Set([KLAVIYO_REVISION]));
    expect(await Promise.all(exchanges().map((e) => klaviyoSchema.check(e)))).toEqual(exchanges().map(() => []));
  });

  it('an audience sync subscribes into its list; no consent field mapped, no subscription request', async () => {
    emulator = await startKlaviyoEmulator({ lists: ['Sms1'] });
    const exchanges = emulator.server.recordExchanges();
    const session = await open('audience', 'Sms1');
    await session.apply(batch(['1', '2'], 'add', (k) => ({ phone_number: `06 12 34 56 0${k}`, sms_consent: k === '1' }), 'Sms1'));
    expect(emulator.members('Sms1')).toHaveLength(2);
    const subscribe = exchanges().filter((e) => e.path === '/api/profile-subscription-bulk-create-jobs');
    expect(subscribe.map((e) => (e.request as { data: { relationships?: unknown } }).data.relationships)).toEqual([{ list: { data: { type: 'list', id: 'Sms1' } } }]);
    await session.apply(batch(['3'], 'add', () => ({ email: 'p3@example.com' }), 'Sms1'));
    expect(exchanges().filter((e) => e.path === '/api/profile-subscription-bulk-create-jobs')).toHaveLength(1);
  });

  it("the emulator refuses SMS consent Klaviyo refuses: not E.164, another consent value, a country without a sending number", async () => {
    emulator = await startKlaviyoEmulator({ smsCountries: ['US'] });
    const post = (attributes: Record<string, unknown>) =>
      fetch(`${emulator.endpoint}/api/profile-subscription-bulk-create-jobs`, {
        method: 'POST',
        headers: { authorization: `Klaviyo-API-Key ${emulator.apiKey}`, revision: KLAVIYO_REVISION, 'content-type': 'application/vnd.api+json' },
        body: JSON.stringify({ data: { type: 'profile-subscription-bulk-create-job', attributes: { profiles: { data: [{ type: 'profile', attributes }] } } } }),
      });
    const sms = (consent: string) => ({ sms: { marketing: { consent } } });
    expect((await post({ phone_number: '(415) 555-2671', subscriptions: sms('SUBSCRIBED') })).status).toBe(400);
    expect((await post({ phone_number: '+14155552671', subscriptions: sms('UNSUBSCRIBED') })).status).toBe(400);
    expect((await post({ email: 'a@example.com', subscriptions: sms('SUBSCRIBED') })).status).toBe(400);
    const france = await post({ phone_number: '+33612345601', subscriptions: sms('SUBSCRIBED') });
    expect(france.status).toBe(400);
    expect(await france.json()).toMatchObject({ errors: [{ code: 'invalid', source: { pointer: '/data/attributes/profiles/data/0/attributes/phone_number' } }] });
    expect((await post({ phone_number: '+14155552671', subscriptions: sms('SUBSCRIBED') })).status).toBe(202);
    expect(emulator.subscriptions([...emulator.profiles().keys()][0]!)).toEqual({ sms: 'SUBSCRIBED' });
  });

  it('through the engine, a record whose SMS consent Klaviyo refuses is rejected alone; the others are subscribed', async () => {
    // The account sends SMS in France only: the US number's consent is refused (400), which refuses its request.
    emulator = await startKlaviyoEmulator({ smsCountries: ['FR'] });
    const rows = [1, 2, 3, 4, 5, 6].map((id) => ({ id, email: `p${id}@example.com`, phone: id === 4 ? '+1 415 555 2671' : `06 12 34 56 0${id}`, consent: id !== 6 }));
    const harness = await SyncHarness.start({
      rows,
      columns: [
        { name: 'id', type: 'integer' },
        { name: 'email', type: 'string' },
        { name: 'phone', type: 'string' },
        { name: 'consent', type: 'boolean' },
      ],
      destinations: [{ name: 'k', type: 'klaviyo', api_key: emulator.apiKey, base_url: emulator.endpoint, poll_interval_ms: 10, default_country: 'FR', retries: { attempts: 3, base_ms: 10, max_ms: 50 } }],
      syncs: [{ ...contractSync('s', 'k', 'profiles', 'upsert'), fields: { email: 'email', phone_number: 'phone', sms_consent: 'consent' } }],
    });
    try {
      expect(await harness.sync('s')).toMatchObject({ accepted: 5, rejected: 1 });
      const subscribed = [...emulator.profiles().entries()].filter(([id]) => emulator.subscriptions(id)['sms'] === 'SUBSCRIBED').map(([, p]) => p['external_id']);
      expect(subscribed.sort()).toEqual(['1', '2', '3', '5']);
    } finally {
      await harness.close();
    }
  });

  it('checkSync: a consent field needs its channel identifier mapped', () => {
    const config = klaviyo.configSchema.parse({ api_key: 'pk_x' });
    expect(klaviyo.checkSync!(config, { object: 'profiles', mode: 'upsert', keyField: 'external_id', fields: ['email', 'sms_consent', 'email_consent'] }, { targets: [] })).toEqual([
      { at: ['fields', 'sms_consent'], message: 'sms_consent subscribes by phone_number: map that field too' },
    ]);
    expect(klaviyo.checkSync!(config, { object: 'profiles', mode: 'upsert', keyField: 'phone_number', fields: ['sms_consent'] }, { targets: [] })).toEqual([]);
  });
});

describe('klaviyo vendor schema (klaviyo-api models)', () => {
  it('reports a wrong field in a real recorded request, an unknown operation, and a wrong error document', async () => {
    expect(klaviyoSchema.unavailable?.()).toBeUndefined();
    const emulator = await startKlaviyoEmulator();
    try {
      const exchanges = emulator.server.recordExchanges();
      const session = await klaviyo.open(klaviyo.configSchema.parse({ api_key: emulator.apiKey, base_url: emulator.endpoint, poll_interval_ms: 10 }), context('upsert'));
      await session.apply(batch(['1'], 'upsert', () => ({ email: 'p1@example.com', phone_number: '+14155552671', first_name: 'Ann' })));
      const recorded = exchanges().find((e) => e.method === 'POST' && e.path === '/api/profile-bulk-import-jobs')!;
      expect(await klaviyoSchema.check(recorded)).toEqual([]);
      // The same request with phone_number misspelt in the profile's attributes.
      const request = structuredClone(recorded.request) as { data: { attributes: { profiles: { data: { attributes: Record<string, unknown> }[] } } } };
      const profile = request.data.attributes.profiles.data[0]!.attributes;
      profile['phone_numbr'] = profile['phone_number'];
      delete profile['phone_number'];
      expect((await klaviyoSchema.check({ ...recorded, request })).join('\n')).toMatch(/attributes\.phone_numbr: ProfileUpsertQueryResourceObjectAttributes has no property "phone_numbr"/);
      // A wrong type in an answer, an operation nobody mapped, an error answer outside the error document.
      const job = exchanges().find((e) => e.method === 'GET' && /import-jobs\/[^/]+$/.test(e.path))!;
      const answer = structuredClone(job.response) as { data: { attributes: Record<string, unknown> } };
      answer.data.attributes['total_count'] = 'many';
      expect((await klaviyoSchema.check({ ...job, response: answer })).join('\n')).toMatch(/total_count: expected a number/);
      expect(await klaviyoSchema.check({ ...job, method: 'PATCH' })).toEqual([expect.stringMatching(/not an operation the Klaviyo schema check knows/)]);
      expect((await klaviyoSchema.check({ ...job, status: 400, response: { errors: [{ code: 'invalid', status: 400 }] } })).join('\n')).toMatch(/has no property "status"/);
    } finally {
      await emulator.close();
    }
  });
});

describe('klaviyo import errors that name no record', () => {
  it('leave every record of the job without an outcome (sent again, never subscribed), not delivered', async () => {
    // A Klaviyo answering one failed profile with an import error that neither points at it nor carries its key.
    const subscribed: unknown[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/vnd.api+json' }).end(JSON.stringify(body));
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        if (req.method === 'POST' && path === '/api/profile-bulk-import-jobs') return json(202, { data: { type: 'profile-bulk-import-job', id: 'job1', attributes: { status: 'queued' } } });
        if (path === '/api/profile-bulk-import-jobs/job1') return json(200, { data: { type: 'profile-bulk-import-job', id: 'job1', attributes: { status: 'complete', total_count: 3, completed_count: 2, failed_count: 1 } } });
        if (path === '/api/profile-bulk-import-jobs/job1/import-errors') return json(200, { data: [{ type: 'import-error', id: 'e1', attributes: { code: 'invalid', title: 'Invalid input.', detail: 'Something was wrong.' } }], links: {} });
        if (req.method === 'POST' && path === '/api/profile-subscription-bulk-create-jobs') {
          subscribed.push(JSON.parse(Buffer.concat(chunks).toString()));
          return res.writeHead(202).end();
        }
        json(404, { errors: [{ code: 'not_found', title: 'Not found.', detail: path }] });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const session = await klaviyo.open(klaviyo.configSchema.parse({ api_key: 'pk_test', base_url: `http://127.0.0.1:${port}`, poll_interval_ms: 10 }), sessionContext({ object: 'profiles', mode: 'upsert', keyField: 'external_id', logger: createLogger({ level: 'silent' }) }));
      const outcomes = await session.apply(batch(['1', '2', '3'], 'upsert', (k) => ({ email: `p${k}@example.com`, email_consent: true })));
      expect(outcomes.map((o) => (o.ok ? 'ok' : `${o.code}:${o.retryable}`))).toEqual(['no_outcome:true', 'no_outcome:true', 'no_outcome:true']);
      expect(subscribed).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('klaviyo events (Bulk Create Events)', () => {
  let emulator: KlaviyoEmulator;
  afterEach(() => emulator.close());
  const open = () => klaviyo.open(klaviyo.configSchema.parse({ api_key: emulator.apiKey, base_url: emulator.endpoint, default_country: 'FR' }), context('events', 'events', 'unique_id'));
  function track(ids: string[], fields: (id: string) => Record<string, FieldValue> = (id) => ({ email: `p${id}@example.com`, value: 12.5, value_currency: 'EUR', cart_url: `https://shop.example/c/${id}` }), name = 'Cart abandoned'): Batch {
    return {
      object: 'events',
      operation: 'track',
      keyField: 'unique_id',
      records: ids.map((key) => ({ key, fields: fields(key), destinationId: null, idempotencyKey: `ik-${key}`, event: { name, time: '2026-12-01T09:30:15.250Z' } })),
      signal: AbortSignal.timeout(5000),
      idempotencyKey: 'k',
    };
  }

  it('records one event per record (metric, time to the second, value, properties) and creates its profile; sent again, Klaviyo keeps one per unique_id', async () => {
    emulator = await startKlaviyoEmulator();
    const exchanges = emulator.server.recordExchanges();
    const session = await open();
    await session.check();
    expect(await session.apply(track(['ev-1', 'ev-2']))).toEqual([{ ok: true }, { ok: true }]);
    expect(emulator.events()).toEqual([
      { profile: expect.any(String), metric: 'Cart abandoned', unique_id: 'ev-1', time: '2026-12-01T09:30:15.000Z', value: 12.5, value_currency: 'EUR', properties: { cart_url: 'https://shop.example/c/ev-1' } },
      expect.objectContaining({ unique_id: 'ev-2' }),
    ]);
    expect([...emulator.profiles().values()].map((p) => p['email']).sort()).toEqual(['pev-1@example.com', 'pev-2@example.com']);
    // The same events again (a lost answer, a run after a crash): accepted, and still one event each.
    expect(await session.apply(track(['ev-1', 'ev-2']))).toEqual([{ ok: true }, { ok: true }]);
    expect(emulator.events()).toHaveLength(2);
    // One request per batch, each conforming to the SDK's EventsBulkCreateJob.
    expect(exchanges().map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual(['POST /api/event-bulk-create-jobs 202', 'POST /api/event-bulk-create-jobs 202']);
    for (const exchange of exchanges()) expect(await klaviyoSchema.check(exchange)).toEqual([]);
    const [first] = exchanges();
    const request = structuredClone(first!.request) as { data: { attributes: { 'events-bulk-create': { data: { attributes: { events: { data: { attributes: Record<string, unknown> }[] } } }[] } } } };
    const event = request.data.attributes['events-bulk-create'].data[0]!.attributes.events.data[0]!.attributes;
    event['uniqueid'] = event['unique_id'];
    expect((await klaviyoSchema.check({ ...first!, request })).join('\n')).toMatch(/has no property "uniqueid"/);
  });

  it('maps identifiers and profile. fields to the profile, value to the event, the rest to event properties; refuses before sending what Klaviyo would', async () => {
    emulator = await startKlaviyoEmulator();
    const session = await open();
    const outcomes = await session.apply(
      track(['a', 'b', 'c', 'd'], (id): Record<string, FieldValue> =>
        id === 'a'
          ? { phone_number: '06 12 34 56 78', external_id: 'C1', 'profile.first_name': 'Ann', 'profile.properties.tier': 'gold', 'properties.items': 3, value: 10 }
          : id === 'b'
            ? { phone_number: '12' }
            : id === 'c'
              ? { first_name: 'no identifier' }
              : { email: 'd@example.com', value: 'ten' },
      ),
    );
    expect(outcomes).toEqual([
      { ok: true },
      { ok: false, code: 'invalid_phone', message: 'phone_number is not a valid phone number', retryable: false },
      { ok: false, code: 'missing_identifier', message: 'the event has none of email, phone_number, external_id', retryable: false },
      { ok: false, code: 'invalid_value', message: 'value is a number (the monetary value of the event)', retryable: false },
    ]);
    const [profile] = [...emulator.profiles().values()];
    expect(profile).toEqual({ phone_number: '+33612345678', external_id: 'C1', first_name: 'Ann', properties: { tier: 'gold' } });
    expect(emulator.events()).toEqual([expect.objectContaining({ unique_id: 'a', value: 10, properties: { items: 3 } })]);
    expect(JSON.stringify(outcomes)).not.toContain('06 12');
  });

  it('a refused event refuses its whole request (nothing recorded): the engine splits the batch down to it', async () => {
    emulator = await startKlaviyoEmulator({ rejectEvent: (event) => (event['unique_id'] === 'ev-2' ? 'Invalid event.' : undefined) });
    const session = await open();
    const refused = await session.apply(track(['ev-1', 'ev-2', 'ev-3'])).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BatchRejectedError);
    expect((refused as BatchRejectedError).code).toBe('klaviyo_invalid');
    expect(emulator.events()).toEqual([]);
    expect(await session.apply(track(['ev-1', 'ev-3']))).toEqual([{ ok: true }, { ok: true }]);
  });

  it('through the engine: the refused event is rejected alone, the others recorded once; a second run sends nothing', async () => {
    emulator = await startKlaviyoEmulator({ rejectEvent: (event) => (event['unique_id'] === 'ev-3' ? 'Invalid event.' : undefined) });
    const harness = await SyncHarness.start({
      rows: contractEvents(5, { endMinutesAgo: 30 }),
      columns: EVENT_COLUMNS,
      destinations: [{ name: 'k', type: 'klaviyo', api_key: emulator.apiKey, base_url: emulator.endpoint, retries: { attempts: 3, base_ms: 10, max_ms: 50 } }],
      syncs: [{ name: 's', model: 'people', destination: 'k', object: 'events', mode: 'events', key: { from: 'event_id', field: 'unique_id' }, event: { name: 'Cart abandoned', time: 'event_time' }, fields: { email: { from: 'email', transform: ['trim', 'lower'] }, value: 'value' } }],
    });
    try {
      expect(await harness.sync('s')).toMatchObject({ accepted: 4, rejected: 1 });
      expect(emulator.events().map((e) => e['unique_id']).sort()).toEqual(['ev-1', 'ev-2', 'ev-4', 'ev-5']);
      expect(await harness.sync('s')).toMatchObject({ accepted: 0 });
    } finally {
      await harness.close();
    }
  });

  it('the emulator enforces Bulk Create Events: 1,000 events, time after 1990 and within a year, a unique_id once per profile and metric in a request', async () => {
    emulator = await startKlaviyoEmulator({ maxEvents: 3 });
    const session = await open();
    await expect(session.apply(track(['1', '2', '3', '4']))).rejects.toBeInstanceOf(BatchRejectedError);
    const post = (events: Record<string, unknown>[]) =>
      fetch(`${emulator.endpoint}/api/event-bulk-create-jobs`, {
        method: 'POST',
        headers: { authorization: `Klaviyo-API-Key ${emulator.apiKey}`, revision: KLAVIYO_REVISION },
        body: JSON.stringify({
          data: {
            type: 'event-bulk-create-job',
            attributes: { 'events-bulk-create': { data: [{ type: 'event-bulk-create', attributes: { profile: { data: { type: 'profile', attributes: { email: 'a@example.com' } } }, events: { data: events.map((attributes) => ({ type: 'event', attributes })) } } }] } },
          },
        }),
      });
    const event = (attributes: Record<string, unknown>) => ({ properties: {}, metric: { data: { type: 'metric', attributes: { name: 'Purchase' } } }, ...attributes });
    expect((await post([event({ time: '1989-12-31T00:00:00Z', unique_id: 'x' })])).status).toBe(400);
    expect((await post([event({ time: new Date(Date.now() + 400 * 86_400_000).toISOString(), unique_id: 'x' })])).status).toBe(400);
    expect((await post([event({ unique_id: 'x', metric: { data: { type: 'metric', attributes: { name: 'n'.repeat(128) } } } })])).status).toBe(400);
    const repeated = await post([event({ unique_id: 'x' }), event({ unique_id: 'x' })]);
    expect(repeated.status).toBe(400);
    expect(await repeated.json()).toMatchObject({ errors: [{ code: 'invalid', source: { pointer: '/data/attributes/events-bulk-create/data/0/attributes/events/data/1/attributes/unique_id' } }] });
    expect(emulator.events()).toEqual([]);
    expect((await post([event({ unique_id: 'x' }), event({ unique_id: 'y' })])).status).toBe(202);
    expect(emulator.events()).toHaveLength(2);
  });

  it('checks events syncs; declares no maximum age and its de-duplication; a batch of events stays within 1,000', () => {
    const config = klaviyo.configSchema.parse({ api_key: 'pk_x' });
    const check = (sync: Partial<Parameters<NonNullable<typeof klaviyo.checkSync>>[1]>) => klaviyo.checkSync!(config, { object: 'events', mode: 'events', keyField: 'unique_id', fields: ['email'], ...sync }, { targets: [] });
    expect(check({})).toEqual([]);
    expect(check({ fields: ['email', 'value', 'value_currency', 'profile.first_name', 'profile.location.city', 'profile.properties.tier', 'cart_url'] })).toEqual([]);
    expect(check({ object: 'profiles', keyField: 'email', fields: ['value', 'profile.colour', 'sms_consent'] }).map((p) => p.at)).toEqual([['object'], ['key'], ['fields'], ['fields', 'profile.colour'], ['fields', 'sms_consent']]);
    expect(klaviyo.checkSync!(config, { object: 'profiles', mode: 'upsert', keyField: 'unique_id', fields: [] }, { targets: [] }).map((p) => p.at)).toEqual([['key']]);
    expect(klaviyo.modes).toContain('events');
    expect(klaviyo.events!.maxAgeDays(config, { object: 'events', constants: {} })).toBeUndefined();
    expect(klaviyo.events!.deduplication).toMatch(/unique_id/);
    // The engine keeps an events batch to Bulk Create Events' 1,000 (the import job's ceiling is 10,000 profiles).
    const limits = klaviyo.limits(config);
    expect(limits.maxEventsPerBatch).toBe(1_000);
    expect(limits.maxBatchRecords).toBe(10_000);
    // Each record is counted by its own size: an event with its job entry, a profile.
    const event = track(['ev-1']).records[0]!;
    expect(klaviyo.recordBytes!(event)).toBeGreaterThan(400);
    expect(klaviyo.recordBytes!(event)).toBeLessThan(1_000);
    expect(klaviyo.recordBytes!({ key: '1', fields: { email: 'a@example.com' }, destinationId: null, idempotencyKey: 'i' })).toBeLessThan(100);
  });
});

describe('klaviyo erasure plan', () => {
  it('declares the data-privacy deletion for every mode, and keeps the identifiers an event names its person by', () => {
    const config = klaviyo.configSchema.parse({ api_key: 'pk_x' });
    for (const mode of klaviyo.modes) expect(klaviyo.erasure!(config, { object: 'profiles', mode })).toEqual({ operation: 'forget', method: expect.stringMatching(/data-privacy-deletion-jobs/) });
    expect(klaviyo.retainFields!(config)).toEqual(['email', 'phone_number', 'external_id']);
  });
});

describe('klaviyo erasure (tideline forget)', () => {
  let emulator: KlaviyoEmulator;
  afterEach(() => emulator.close());
  const open = (mode: DestinationContext['mode'], object: string, keyField: string) =>
    klaviyo.open(klaviyo.configSchema.parse({ api_key: emulator.apiKey, base_url: emulator.endpoint, poll_interval_ms: 150, default_country: 'FR' }), context(mode, object, keyField));
  const forget = (keyField: string, records: { key: string; fields?: Record<string, FieldValue> }[], object = 'profiles'): Batch => ({
    object,
    operation: 'forget',
    keyField,
    records: records.map(({ key, fields }) => ({ key, fields: fields ?? {}, destinationId: null, idempotencyKey: `forget-${key}` })),
    signal: AbortSignal.timeout(10_000),
    idempotencyKey: 'forget',
  });
  /** The bodies of the deletion requests answered, with their status. */
  const deletions = (exchanges: () => readonly { method: string; path: string; status: number; request: unknown }[]) =>
    exchanges()
      .filter((e) => e.path === '/api/data-privacy-deletion-jobs')
      .map((e) => [e.status, (e.request as { data: { attributes: { profile: { data: unknown } } } }).data.attributes.profile.data]);

  it('deletes a list member by the e-mail the sync keys by: the profile, its membership and consent go, its events are redacted; asking again is accepted', async () => {
    emulator = await startKlaviyoEmulator({ lists: ['Vip1'] });
    const exchanges = emulator.server.recordExchanges();
    const audience = await open('audience', 'Vip1', 'email');
    const add = { ...forget('email', ['a', 'b'].map((k) => ({ key: `${k}@example.com`, fields: { email_consent: true } })), 'Vip1'), operation: 'add' as const };
    expect(await audience.apply(add)).toEqual([{ ok: true }, { ok: true }]);
    const events = await open('events', 'events', 'unique_id');
    const track = { ...forget('unique_id', [{ key: 'ev-1', fields: { email: 'a@example.com' } }], 'events'), operation: 'track' as const };
    await events.apply({ ...track, records: track.records.map((r) => ({ ...r, event: { name: 'Ordered', time: '2026-12-01T09:30:00.000Z' } })) });
    const [a] = [...emulator.profiles()].find(([, p]) => p['email'] === 'a@example.com')!;
    expect(emulator.subscriptions(a)).toEqual({ email: 'SUBSCRIBED' });

    expect(await audience.apply(forget('email', [{ key: 'A@example.com ' }], 'Vip1'))).toEqual([{ ok: true }]);
    // The e-mail (not the list relationship, nor an external_id) names the profile to delete.
    expect(deletions(exchanges)).toEqual([[202, { type: 'profile', attributes: { email: 'a@example.com' } }]]);
    expect([...emulator.profiles().values()].map((p) => p['email'])).toEqual(['b@example.com']);
    expect(emulator.members('Vip1')).toHaveLength(1);
    expect(emulator.subscriptions(a)).toEqual({});
    expect(emulator.events()).toEqual([]);
    expect(emulator.redactedEvents()).toEqual([{ metric: 'Ordered', time: '2026-12-01T09:30:00.000Z' }]);
    // A re-run after a crash asks again: Klaviyo accepts the request, which finds nothing left to delete.
    expect(await audience.apply(forget('email', [{ key: 'a@example.com' }], 'Vip1'))).toEqual([{ ok: true }]);
    expect(deletions(exchanges).map(([status]) => status)).toEqual([202, 202]);
    for (const exchange of exchanges()) expect(klaviyoSchema.check(exchange), `${exchange.method} ${exchange.path}`).toEqual([]);
  });

  it('looks a profile known by its external_id up and deletes it by id; an event by the e-mail or phone number it retained', async () => {
    emulator = await startKlaviyoEmulator();
    const exchanges = emulator.server.recordExchanges();
    const profiles = await open('upsert', 'profiles', 'external_id');
    await profiles.apply(batch(['1', '2'], 'upsert', (k) => ({ email: `p${k}@example.com` })));
    const [one] = [...emulator.profiles()].find(([, p]) => p['external_id'] === '1')!;
    expect(await profiles.apply(forget('external_id', [{ key: '1', fields: { email: 'p1@example.com' } }, { key: 'never-synced' }]))).toEqual([{ ok: true }, { ok: true }]);
    expect(exchanges().filter((e) => e.path === '/api/profiles').map((e) => e.query.get('filter'))).toEqual(['any(external_id,["1","never-synced"])']);
    // Request Profile Deletion takes no external_id: the profile's id, found by it; nothing is asked for the unknown one.
    expect(deletions(exchanges)).toEqual([[202, { type: 'profile', id: one, attributes: {} }]]);
    expect([...emulator.profiles().values()].map((p) => p['external_id'])).toEqual(['2']);

    const events = await open('events', 'events', 'unique_id');
    const outcomes = await events.apply(forget('unique_id', [{ key: 'ev-1', fields: { email: 'P2@example.com', phone_number: '06 12 34 56 78' } }, { key: 'ev-2', fields: { phone_number: '06 12 34 56 78' } }, { key: 'ev-3', fields: {} }], 'events'));
    expect(outcomes).toEqual([{ ok: true }, { ok: true }, { ok: false, code: 'missing_identifier', message: expect.stringMatching(/names no profile/), retryable: false }]);
    expect(deletions(exchanges).slice(1)).toEqual([
      [202, { type: 'profile', attributes: { email: 'p2@example.com' } }],
      [202, { type: 'profile', attributes: { phone_number: '+33612345678' } }],
    ]);
    expect(emulator.profiles().size).toBe(0);
    for (const exchange of exchanges()) expect(klaviyoSchema.check(exchange), `${exchange.method} ${exchange.path}`).toEqual([]);
  });

  it('the emulator takes one identifier a request and 3 requests a second; the adapter waits out the 429', async () => {
    emulator = await startKlaviyoEmulator();
    const post = (profile: unknown) =>
      fetch(`${emulator.endpoint}/api/data-privacy-deletion-jobs`, {
        method: 'POST',
        headers: { authorization: `Klaviyo-API-Key ${emulator.apiKey}`, revision: KLAVIYO_REVISION, 'content-type': 'application/vnd.api+json' },
        body: JSON.stringify({ data: { type: 'data-privacy-deletion-job', attributes: { profile: { data: profile } } } }),
      });
    const two = await post({ type: 'profile', attributes: { email: 'a@example.com', phone_number: '+33612345678' } });
    expect(two.status).toBe(400);
    expect(await two.json()).toMatchObject({ errors: [{ code: 'invalid', detail: expect.stringMatching(/Exactly one/) }] });
    expect((await post({ type: 'profile', attributes: { external_id: '1' } })).status).toBe(400);
    expect((await post({ type: 'profile', attributes: { email: 'a@example.com' } })).status).toBe(202);
    const limited = await post({ type: 'profile', attributes: { email: 'b@example.com' } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    // Four deletions in a row: the fourth waits for the next second instead of failing the batch.
    const exchanges = emulator.server.recordExchanges();
    const session = await open('upsert', 'profiles', 'email');
    const started = performance.now();
    expect(await session.apply(forget('email', ['c', 'd', 'e', 'f'].map((k) => ({ key: `${k}@example.com` }))))).toEqual(Array(4).fill({ ok: true }));
    expect(exchanges().filter((e) => e.status === 429).length).toBeGreaterThan(0);
    expect(performance.now() - started).toBeGreaterThan(500);
  });
});
