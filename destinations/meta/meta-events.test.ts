import { createHash } from 'node:crypto';
import sdk from 'facebook-nodejs-business-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, BatchRejectedError, StopSyncError, type Batch, type DestinationSession, type FieldValue, type OutboundRecord } from '../destination.js';
import { sessionContext } from '../emulator-kit/session-context.js';
import { meta, metaConfigSchema } from './adapter.js';
import { startMetaEmulator, type MetaEmulator, type MetaEmulatorOptions } from './emulator.js';
import { MAX_EVENTS, TIMESTAMP_TOO_OLD_SUBCODE } from './protocol.js';
import { eventDefinitions, sdkDefinitions } from './sdk-definitions.js';
import { contractEvents, EVENT_COLUMNS } from '../emulator-kit/contract.js';
import { SyncHarness } from '../../test/support/sync-harness.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const DATASET = '1234567890';
const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

let emulator: MetaEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function open(options: MetaEmulatorOptions = {}, config: Record<string, unknown> = {}): Promise<{ emulator: MetaEmulator; session: DestinationSession }> {
  emulator = await startMetaEmulator({ definitions: sdkDefinitions(), recordBodies: true, ...options });
  const parsed = metaConfigSchema.parse({ access_token: emulator.accessToken, endpoint: emulator.endpoint, ...config });
  const session = await meta.open(parsed, sessionContext({ object: `dataset:${DATASET}`, mode: 'events', keyField: 'event_id' }));
  return { emulator, session };
}

function record(id: string, fields: Record<string, FieldValue>, time = ago(1), name = 'Purchase'): OutboundRecord {
  return { key: id, fields: { action_source: 'physical_store', ...fields }, destinationId: null, idempotencyKey: `ik-${id}`, event: { name, time } };
}

const track = (records: readonly OutboundRecord[]): Batch => ({ object: `dataset:${DATASET}`, operation: 'track', keyField: 'event_id', records, signal: AbortSignal.timeout(10_000), idempotencyKey: 'b' });

describe('meta events (Conversions API)', () => {
  it('has no erasure through the API: the plan says what to do and cites the page, and a removal or forget batch is refused before any request', async () => {
    const config = metaConfigSchema.parse({ access_token: 'x' });
    expect(meta.erasure!(config, { object: `dataset:${DATASET}`, mode: 'events' })).toEqual({ manual: expect.stringMatching(/cannot delete events .*conversions-api\/using-the-api/) });
    const { emulator, session } = await open();
    for (const operation of ['remove', 'forget'] as const) {
      await expect(session.apply({ ...track([record('order-1', { email: 'a@example.com' })]), operation })).rejects.toThrow(StopSyncError);
    }
    expect(emulator.events(DATASET)).toHaveLength(0);
    expect(emulator.requests).toHaveLength(0);
  });

  it("normalises and hashes user_data as Meta's documented examples, and sends value, currency and event_id", async () => {
    const { emulator, session } = await open();
    const time = ago(2);
    const outcomes = await session.apply(
      track([
        record('order-1', {
          email: ' JSmith@Example.com ',
          phone: '+1 (234) 567-8901',
          first_name: 'John',
          last_name: 'Smith',
          city: 'Menlo Park',
          state: 'California',
          postal_code: '94025',
          country_code: 'US',
          gender: 'F',
          external_id: 'cust-7',
          value: '123.45',
          currency: 'eur',
          order_id: 'order-1',
        }, time),
      ]),
    );
    expect(outcomes).toEqual([{ ok: true }]);
    const [held] = emulator.events(DATASET);
    // Meta's examples: jsmith@example.com (Advanced Matching reference) and 12345678901 (Using the API).
    expect(held).toMatchObject({
      event_name: 'Purchase',
      event_time: Math.floor(Date.parse(time) / 1000),
      event_id: 'order-1',
      action_source: 'physical_store',
      user_data: {
        em: ['6e3913852f512d76acff15d1e402c7502a5bbe6101745a7120a2a4833ebd2350'],
        ph: ['254aa248acb47dd654ca3ea53f48c2c26d641d23d7e2e93a1ec56258df7674c4'],
        fn: [sha('john')],
        ln: [sha('smith')],
        ct: [sha('menlopark')],
        st: [sha('ca')],
        zp: [sha('94025')],
        country: [sha('us')],
        ge: [sha('f')],
        external_id: ['cust-7'],
      },
      custom_data: { value: 123.45, currency: 'EUR', order_id: 'order-1' },
    });
    // No raw personal data left the process.
    expect(emulator.bodies.join('\n')).not.toMatch(/jsmith|example\.com|567-8901|Menlo/i);
    expect(emulator.stats.contractViolations).toBe(0);
    expect(await session.finish!({ complete: true, accepted: 1, rejected: 0 })).toMatchObject({ requests: 1, events_received: 1 });
  });

  it("hashes user_data as the official SDK's UserData does, for values both normalise alike", async () => {
    const { emulator, session } = await open();
    const raw = { email: 'JSmith@Example.com', phone: '+1 (234) 567-8901', first_name: 'John', last_name: 'Smith', city: 'Menlo Park', state: 'CA', postal_code: '94025', country_code: 'US', gender: 'F', external_id: 'cust-7' };
    await session.apply(track([record('sdk-1', raw)]));
    const ours = emulator.events(DATASET)[0]!['user_data'];
    const theirs = new sdk.UserData()
      .setEmail(raw.email)
      .setPhone(raw.phone)
      .setFirstName(raw.first_name)
      .setLastName(raw.last_name)
      .setCity(raw.city)
      .setState(raw.state)
      .setZip(raw.postal_code)
      .setCountry(raw.country_code)
      .setGender(raw.gender)
      .setExternalId(raw.external_id)
      .normalize();
    expect(ours).toEqual(theirs);
  });

  it('keeps every copy of an event sent twice: Meta documents no de-duplication between server events', async () => {
    const { emulator, session } = await open();
    const batch = track([record('order-2', { email: 'a@example.com', value: 10, currency: 'EUR' })]);
    await session.apply(batch);
    await session.apply(batch);
    expect(emulator.events(DATASET).map((e) => e['event_id'])).toEqual(['order-2', 'order-2']);
    expect(meta.events?.deduplication).toBeUndefined();
  });

  it('takes events up to 7 days old, 62 for physical_store; an older one is refused here, never sent to sink its batch', async () => {
    expect(meta.events!.maxAgeDays(metaConfigSchema.parse({ access_token: 't' }), { object: `dataset:${DATASET}`, constants: { action_source: 'physical_store' } })).toBe(62);
    expect(meta.events!.maxAgeDays(metaConfigSchema.parse({ access_token: 't' }), { object: `dataset:${DATASET}`, constants: { action_source: 'website' } })).toBe(7);
    // The adapter sends it lower-cased, so a constant written in capitals is the same source.
    expect(meta.events!.maxAgeDays(metaConfigSchema.parse({ access_token: 't' }), { object: `dataset:${DATASET}`, constants: { action_source: 'PHYSICAL_STORE' } })).toBe(62);
    // A column (no constant) may hold website events: the shorter window.
    expect(meta.events!.maxAgeDays(metaConfigSchema.parse({ access_token: 't' }), { object: `dataset:${DATASET}`, constants: {} })).toBe(7);

    const { emulator, session } = await open();
    const outcomes = await session.apply(
      track([
        record('store-60', { email: 'a@example.com' }, ago(60)),
        record('store-63', { email: 'a@example.com' }, ago(63)),
        record('app-8', { email: 'a@example.com', action_source: 'app' }, ago(8)),
        record('app-6', { email: 'a@example.com', action_source: 'app' }, ago(6)),
      ]),
    );
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['ok', 'too_old', 'too_old', 'ok']);
    expect(emulator.events(DATASET).map((e) => e['event_id'])).toEqual(['store-60', 'app-6']);
  });

  it('the emulator refuses a whole request for one event past its window (code 100, subcode 2804003), as Meta does', async () => {
    const { emulator } = await open();
    const event = (id: string, days: number) => ({ event_name: 'Purchase', event_time: Math.floor((Date.now() - days * DAY) / 1000), event_id: id, action_source: 'app', user_data: { em: [sha('a@example.com')] } });
    const response = await fetch(`${emulator.endpoint}/v27.0/${DATASET}/events?access_token=${emulator.accessToken}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: [event('fresh', 1), event('stale', 8)] }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 100, error_subcode: TIMESTAMP_TOO_OLD_SUBCODE, error_user_title: 'Event Timestamp Too Old' } });
    expect(emulator.events(DATASET)).toEqual([]);
  });

  it('a request holding one refused event is refused whole: the engine halves the batch down to it', async () => {
    const { emulator, session } = await open({ rejectKeys: ['bad'] });
    const records = ['e1', 'bad', 'e3'].map((id) => record(id, { email: `${id}@example.com` }));
    await expect(session.apply(track(records))).rejects.toBeInstanceOf(BatchRejectedError);
    expect(emulator.events(DATASET)).toEqual([]);
    // The halves the engine sends: the good one passes, the bad one alone is refused.
    expect(await session.apply(track([records[0]!]))).toEqual([{ ok: true }]);
    await expect(session.apply(track([records[1]!]))).rejects.toMatchObject({ code: 'meta_100' });
    expect(emulator.events(DATASET).map((e) => e['event_id'])).toEqual(['e1']);
  });

  it('through the engine, an events batch is one request of at most 1,000 events; a refused one is halved by the engine and no accepted event is sent twice', async () => {
    const emulator = await startMetaEmulator({ definitions: sdkDefinitions(), rejectKeys: ['ev-1500'] });
    const harness = await SyncHarness.start({
      // The destination's default batch_size (10,000 audience rows) is not the events' ceiling.
      destinations: [{ name: 'fb', type: 'meta', endpoint: emulator.endpoint, access_token: emulator.accessToken, retries: { attempts: 2, base_ms: 10, max_ms: 20 } }],
      syncs: [{ name: 's', model: 'people', destination: 'fb', object: `dataset:${DATASET}`, mode: 'events', key: { from: 'event_id', field: 'event_id' }, event: { time: 'event_time', name: 'Purchase' }, fields: { email: 'email', action_source: { constant: 'physical_store' } } }],
      rows: contractEvents(2_000, { endMinutesAgo: 5, minutesApart: 0.5 }),
      columns: EVENT_COLUMNS,
    });
    try {
      const result = await harness.sync('s');
      expect(result).toMatchObject({ status: 'partial', accepted: 1_999, rejected: 1 });
      const held = emulator.events(DATASET).map((e) => String(e['event_id']));
      expect(held).toHaveLength(1_999);
      expect(new Set(held).size).toBe(1_999);
      expect(held).not.toContain('ev-1500');
      expect(emulator.stats.maxEventsSeen).toBe(MAX_EVENTS);
    } finally {
      await harness.close();
      await emulator.close();
    }
  });

  it('settles records Meta would refuse without sending them: no identifier, unknown action_source, website without url and agent', async () => {
    const { emulator, session } = await open();
    const outcomes = await session.apply(
      track([
        record('none', { email: 'not an e-mail' }),
        record('odd', { email: 'a@example.com', action_source: 'shop' }),
        record('web', { email: 'a@example.com', action_source: 'website' }),
        record('web-ok', { email: 'a@example.com', action_source: 'website', event_source_url: 'https://shop.example/checkout', client_user_agent: 'Mozilla/5.0' }),
      ]),
    );
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['no_identifiers', 'invalid_action_source', 'missing_website_fields', 'ok']);
    // The browser's user agent and the page are sent as they are, never hashed.
    expect(emulator.events(DATASET)[0]).toMatchObject({ event_source_url: 'https://shop.example/checkout', user_data: { client_user_agent: 'Mozilla/5.0' } });
  });

  it('sends test_event_code from the destination config, and the emulator keeps it with the events', async () => {
    const { emulator, session } = await open({}, { test_event_code: 'TEST12345' });
    await session.apply(track([record('t1', { email: 'a@example.com' })]));
    expect(emulator.events(DATASET)[0]).toMatchObject({ event_id: 't1', test_event_code: 'TEST12345' });
  });

  it("follows the Graph API's version schedule for events: v24.0 still served in December 2026, v20.0 ended 2026-09-24", async () => {
    const today = () => '2026-12-07';
    const { emulator, session } = await open({ today }, { api_version: 'v24.0' });
    expect(await session.apply(track([record('v24', { email: 'a@example.com' })]))).toEqual([{ ok: true }]);
    expect(emulator.events(DATASET)).toHaveLength(1);
    await emulator.close();
    const old = await open({ today }, { api_version: 'v20.0' });
    const failure = await old.session.apply(track([record('v20', { email: 'a@example.com' })])).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StopSyncError);
    expect(String(failure)).toContain('v20.0');
    expect(old.emulator.events(DATASET)).toEqual([]);
  });

  it('a refused token stops at the first request as a credentials error, the token never in the message', async () => {
    const { session } = await open({ accessToken: 'EAAB-right' }, { access_token: 'EAAB-wrong-token' });
    const failure = await session.apply(track([record('a1', { email: 'a@example.com' })])).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AuthError);
    expect(String(failure)).not.toContain('EAAB-wrong-token');
  });

  it("checks an events sync's object, key and fields, each problem located", () => {
    const check = (sync: { object: string; keyField: string; fields: string[] }) => meta.checkSync!(metaConfigSchema.parse({ access_token: 't' }), { mode: 'events', ...sync }, { targets: [] });
    expect(check({ object: `dataset:${DATASET}`, keyField: 'event_id', fields: ['email', 'value', 'currency', 'action_source'] })).toEqual([]);
    expect(check({ object: DATASET, keyField: 'order_id', fields: ['emial', 'value'] })).toEqual([
      { at: ['object'], message: expect.stringContaining('dataset:<dataset id>') },
      { at: ['key'], message: expect.stringContaining('field: event_id') },
      { at: ['fields', 'emial'], message: expect.stringContaining('email') },
      { at: ['fields'], message: expect.stringContaining('action_source') },
      { at: ['fields'], message: expect.stringContaining('identifier') },
    ]);
    // An audience sync naming a dataset is told which mode takes one.
    expect(meta.checkSync!(metaConfigSchema.parse({ access_token: 't' }), { mode: 'audience', object: `dataset:${DATASET}`, keyField: 'external_id', fields: ['email'] }, { targets: [] })).toEqual([
      { at: ['object'], message: expect.stringContaining('mode: events') },
    ]);
  });

  it("reads the SDK's own Conversions API keys, and the emulator refuses a key outside them", async () => {
    const defs = eventDefinitions();
    for (const key of ['event_name', 'event_time', 'event_id', 'action_source', 'user_data', 'custom_data', 'event_source_url']) expect(defs.event).toContain(key);
    for (const key of ['em', 'ph', 'fn', 'ln', 'ct', 'st', 'zp', 'country', 'ge', 'external_id', 'client_user_agent', 'fbc', 'fbp']) expect(defs.userData).toContain(key);
    for (const key of ['value', 'currency', 'order_id', 'predicted_ltv', 'content_ids']) expect(defs.customData).toContain(key);
    for (const key of ['data', 'test_event_code', 'access_token']) expect(defs.params).toContain(key);

    const { emulator } = await open();
    const post = (body: unknown) => fetch(`${emulator.endpoint}/v27.0/${DATASET}/events?access_token=${emulator.accessToken}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const event = { event_name: 'Lead', event_time: Math.floor(Date.now() / 1000), action_source: 'phone_call', user_data: { em: ['a@example.com'] } };
    // A raw e-mail where Meta wants its hash: the request is refused, nothing kept.
    expect((await post({ data: [event] })).status).toBe(400);
    expect(emulator.stats.unhashedValues).toBe(1);
    expect((await post({ data: [{ ...event, user_data: { email: sha('a@example.com') } }] })).status).toBe(400);
    expect(emulator.stats.contractViolations).toBe(1);
    expect((await post({ data: Array.from({ length: MAX_EVENTS + 1 }, () => ({ ...event, user_data: { em: [sha('a')] } })) })).status).toBe(400);
    expect((await post({ data: [{ ...event, user_data: { em: [sha('a')] } }] })).status).toBe(200);
    expect(emulator.events(DATASET)).toHaveLength(1);
  });
});
