import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { contractSync, people, SyncHarness } from '../../test/support/sync-harness.js';
import { BatchRejectedError, RateLimitedError, StopSyncError, type Batch } from '../destination.js';
import type { Exchange } from '../emulator-kit/server.js';
import { hubspot } from './adapter.js';
import { hubspotSchema } from './contract.js';
import { startHubSpotEmulator, type HubSpotEmulator } from './emulator.js';
import { sessionContext, trackBatch } from '../emulator-kit/session-context.js';

const logger = createLogger({ level: 'silent' });
const context = sessionContext({ object: 'contacts', mode: 'upsert', keyField: 'email', fields: [{ name: 'firstname', type: 'string' }], logger });

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

interface Input {
  readonly id: string;
  readonly objectWriteTraceId?: string;
}

/** A stand-in for HubSpot's batch upsert on 127.0.0.1, answering what `answer` makes of the inputs it received. */
async function fakeHubSpot(answer: (inputs: Input[]) => { status: number; body: unknown }): Promise<{ server: Server; url: string; seen: Input[][] }> {
  const seen: Input[][] = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    request.on('end', () => {
      const inputs = (JSON.parse(text) as { inputs: Input[] }).inputs;
      seen.push(inputs);
      const { status, body } = answer(inputs);
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const result = (id: string, trace: string | undefined, email: string) => ({ id, properties: { email }, createdAt: '2026-12-06T00:00:00Z', updatedAt: '2026-12-06T00:00:00Z', archived: false, new: true, ...(trace === undefined ? {} : { objectWriteTraceId: trace }) });

describe('hubspot batch answers are matched by objectWriteTraceId', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  it('results in another order, an error by trace id, a result without a trace id and one not at all: each record gets its own outcome', async () => {
    const fake = await fakeHubSpot((inputs) => {
      const [a, b, c] = inputs as [Input, Input, Input];
      return {
        status: 207,
        body: {
          status: 'COMPLETE',
          startedAt: '2026-12-06T00:00:00Z',
          completedAt: '2026-12-06T00:00:00Z',
          // Reversed, and c's result carries no trace id although its properties name c's address: no guess.
          results: [result('103', undefined, c.id), result('101', a.objectWriteTraceId, a.id)],
          errors: [{ status: 'error', category: 'VALIDATION_ERROR', message: 'Property values were not valid', context: { objectWriteTraceId: [b.objectWriteTraceId!] }, links: {}, errors: [] }],
          numErrors: 1,
          // d (the fourth input): neither a result nor an error.
        },
      };
    });
    server = fake.server;
    const session = await hubspot.open(hubspot.configSchema.parse({ base_url: fake.url, token: 'pat-na1-x' }), context);
    const outcomes = await session.apply(batch(['a@x.com', 'b@x.com', 'c@x.com', 'd@x.com', 'A@x.com']));
    expect(outcomes).toEqual([
      { ok: true, destinationId: '101' },
      { ok: false, code: 'validation_error', message: 'Property values were not valid', retryable: false },
      expect.objectContaining({ ok: false, code: 'no_outcome', retryable: true }),
      expect.objectContaining({ ok: false, code: 'no_outcome', retryable: true }),
      expect.objectContaining({ ok: false, code: 'duplicate_key', retryable: false }),
    ]);
    // Every input sent carried a distinct trace id: the record's index in the batch.
    expect(fake.seen[0]!.map((i) => i.objectWriteTraceId)).toEqual(['0', '1', '2', '3']);
  });

  it('a 200 whose results carry trace ids the adapter never sent settles nothing', async () => {
    const fake = await fakeHubSpot((inputs) => ({
      status: 200,
      body: { status: 'COMPLETE', startedAt: '2026-12-06T00:00:00Z', completedAt: '2026-12-06T00:00:00Z', results: inputs.map((input, i) => result(String(200 + i), `other-${i}`, input.id)) },
    }));
    server = fake.server;
    const session = await hubspot.open(hubspot.configSchema.parse({ base_url: fake.url, token: 'pat-na1-x' }), context);
    const outcomes = await session.apply(batch(['a@x.com', 'b@x.com']));
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['no_outcome', 'no_outcome']);
  });
});

describe('hubspot API versions', () => {
  let emulator: HubSpotEmulator;
  afterEach(async () => emulator.close());

  /** Every path the adapter called for a check, an upsert, an audience add and removal, a delete and a property read. */
  async function pathsCalled(config: Record<string, unknown>): Promise<string[]> {
    emulator = await startHubSpotEmulator();
    const exchanges = emulator.server.recordExchanges();
    const parsed = hubspot.configSchema.parse({ base_url: emulator.endpoint, token: emulator.token, ...config });
    const session = await hubspot.open(parsed, context);
    await session.check();
    await session.apply(batch(['a@x.com', 'b@x.com']));
    const audience = await hubspot.open(parsed, { ...context, mode: 'audience', object: 'list:7' });
    await audience.apply(batch(['a@x.com'], 'add', {}, 'list:7'));
    await audience.apply(batch(['a@x.com'], 'remove', {}, 'list:7'));
    await session.apply(batch(['b@x.com'], 'delete'));
    await hubspot.remoteFields!(parsed, 'contacts', { logger: context.logger, signal: AbortSignal.timeout(5000) });
    expect(exchanges().every((e) => e.status < 300)).toBe(true);
    return [...new Set(exchanges().map((e) => `${e.method} ${e.path}`))];
  }

  it('speaks the date-versioned 2026-03 paths by default', async () => {
    expect(await pathsCalled({})).toEqual([
      'GET /crm/objects/2026-03/contacts',
      'POST /crm/objects/2026-03/contacts/batch/upsert',
      'PUT /crm/lists/2026-03/7/memberships/add-and-remove',
      'POST /crm/objects/2026-03/contacts/batch/read',
      'POST /crm/objects/2026-03/contacts/batch/archive',
      'GET /crm/properties/2026-03/contacts',
    ]);
    expect([...emulator.contacts().values()].map((c) => c['email'])).toEqual(['a@x.com']);
  });

  it('speaks the legacy /crm/v3/ paths with api_version v3', async () => {
    const paths = await pathsCalled({ api_version: 'v3' });
    expect(paths).toContain('POST /crm/v3/objects/contacts/batch/upsert');
    expect(paths).toContain('PUT /crm/v3/lists/7/memberships/add-and-remove');
    expect(paths.every((p) => p.includes('/crm/v3/'))).toBe(true);
  });
});

describe('hubspot erasure (tideline forget)', () => {
  let emulator: HubSpotEmulator;
  afterEach(async () => emulator.close());

  it('GDPR-deletes one contact per call: by the record id Tideline holds, else by the key as idProperty; a second erasure is accepted', async () => {
    emulator = await startHubSpotEmulator();
    const exchanges = emulator.server.recordExchanges();
    const config = hubspot.configSchema.parse({ base_url: emulator.endpoint, token: emulator.token });
    const session = await hubspot.open(config, context);
    const written = await session.apply(batch(['a@x.com', 'b@x.com', 'c@x.com']));
    const idOf = (i: number) => (written[i] as { destinationId: string }).destinationId;
    const audience = await hubspot.open(config, { ...context, mode: 'audience', object: 'list:7' });
    await audience.apply(batch(['a@x.com'], 'add', {}, 'list:7'));
    // a@x.com was renamed in HubSpot since: its record id still finds it. b@x.com has no id in the snapshot.
    await session.apply({ ...batch([idOf(0)], 'update', { email: 'renamed@x.com' }), keyField: 'hs_object_id' });
    const forget = (keys: string[], ids: (string | null)[]): Batch => ({ ...batch(keys, 'forget'), records: keys.map((key, i) => ({ key, fields: {}, destinationId: ids[i] ?? null, idempotencyKey: `f-${key}` })) });
    const before = exchanges().length;
    expect(await (await hubspot.open(config, context)).apply(forget(['a@x.com', 'b@x.com', 'gone@x.com'], [idOf(0), null, null]))).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    const calls = exchanges().slice(before);
    expect(calls.map((e) => [e.method, e.path, e.request, e.status])).toEqual([
      ['POST', '/crm/objects/2026-03/contacts/gdpr-delete', { objectId: idOf(0) }, 204],
      ['POST', '/crm/objects/2026-03/contacts/gdpr-delete', { objectId: 'b@x.com', idProperty: 'email' }, 204],
      // An address HubSpot does not hold is blocklisted, as it documents: answered 204.
      ['POST', '/crm/objects/2026-03/contacts/gdpr-delete', { objectId: 'gone@x.com', idProperty: 'email' }, 204],
    ]);
    for (const exchange of calls) expect(await hubspotSchema().check(exchange)).toEqual([]);
    expect([...emulator.contacts().values()].map((c) => c['email'])).toEqual(['c@x.com']);
    expect(emulator.listMembers('7')).toEqual([]);
    expect([...emulator.blocklist].sort()).toEqual(['b@x.com', 'gone@x.com', 'renamed@x.com']);
    // Asked again (a re-run after a crash): the id is gone (404), the address then blocklisted again (204): accepted.
    const again = exchanges().length;
    expect(await (await hubspot.open(config, context)).apply(forget(['a@x.com'], [idOf(0)]))).toEqual([{ ok: true }]);
    expect(exchanges().slice(again).map((e) => [e.request, e.status])).toEqual([
      [{ objectId: idOf(0) }, 404],
      [{ objectId: 'a@x.com', idProperty: 'email' }, 204],
    ]);
    expect(emulator.contacts().size).toBe(1);
  });

  it('plans the GDPR delete for contacts and lists on either path family, and a manual step for events', () => {
    const config = (api_version: string) => hubspot.configSchema.parse({ token: 't', api_version });
    expect(hubspot.erasure!(config('2026-03'), { object: 'list:7', mode: 'audience' })).toMatchObject({ operation: 'forget', method: expect.stringContaining('POST /crm/objects/2026-03/contacts/gdpr-delete') });
    expect(hubspot.erasure!(config('v3'), { object: 'contacts', mode: 'mirror' })).toMatchObject({ operation: 'forget', method: expect.stringContaining('POST /crm/v3/objects/contacts/gdpr-delete') });
    expect(hubspot.erasure!(config('v3'), { object: 'events', mode: 'events' })).toEqual({ manual: expect.stringMatching(/cannot delete custom event occurrences/) });
  });

  it('a 429 part-way throws for the batch; sent again, the session does not ask twice for what it erased', async () => {
    emulator = await startHubSpotEmulator({ rateLimit: { requests: 2, perMs: 1000 } });
    const exchanges = emulator.server.recordExchanges();
    const config = hubspot.configSchema.parse({ base_url: emulator.endpoint, token: emulator.token });
    const session = await hubspot.open(config, context);
    await session.apply(batch(['a@x.com', 'b@x.com']));
    const forget = batch(['a@x.com', 'b@x.com'], 'forget');
    await expect(session.apply(forget)).rejects.toBeInstanceOf(RateLimitedError);
    expect([...emulator.contacts().values()].map((c) => c['email'])).toEqual(['b@x.com']);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const before = exchanges().length;
    expect(await session.apply(forget)).toEqual([{ ok: true }, { ok: true }]);
    expect(exchanges().slice(before).map((e) => [e.request, e.status])).toEqual([[{ objectId: 'b@x.com', idProperty: 'email' }, 204]]);
    expect(emulator.contacts().size).toBe(0);
  });
});

describe("hubspot's published schema", () => {
  it('reports a misspelt field inside a real request, an unknown operation, and a status the operation does not answer', async () => {
    const emulator = await startHubSpotEmulator({ reject: (id) => (id === 'b@x.com' ? { message: 'refused' } : undefined) });
    try {
      const exchanges = emulator.server.recordExchanges();
      const session = await hubspot.open(hubspot.configSchema.parse({ base_url: emulator.endpoint, token: emulator.token }), context);
      await session.apply(batch(['a@x.com', 'b@x.com']));
      const schema = hubspotSchema();
      expect(schema.unavailable?.()).toBeUndefined();
      const upsert = exchanges().find((e) => e.path.endsWith('/batch/upsert'))!;
      expect(upsert.status).toBe(207);
      // As recorded, the request and the 207 conform.
      expect(await schema.check(upsert)).toEqual([]);
      const request = upsert.request as { inputs: Record<string, unknown>[] };
      const { idProperty, ...rest } = request.inputs[0]!;
      const misspelt: Exchange = { ...upsert, request: { inputs: [{ ...rest, idPropery: idProperty }, ...request.inputs.slice(1)] } };
      expect((await schema.check(misspelt)).join('\n')).toMatch(/request\.inputs\[0\]\.idPropery: SimplePublicObjectBatchInputUpsert has no property "idPropery"/);
      const traceInError = { ...upsert, response: { ...(upsert.response as object), errors: [{ status: 'error', category: 'X', message: 'm', context: { objectWriteTraceId: '1' }, links: {}, errors: [] }] } };
      expect((await schema.check(traceInError)).join('\n')).toMatch(/context\.objectWriteTraceId: expected an array/);
      expect(await schema.check({ ...upsert, path: '/crm/v4/objects/contacts/batch/upsert' })).toEqual([expect.stringMatching(/not an operation of HubSpot's schema/)]);
      expect(await schema.check({ ...upsert, status: 201 })).toEqual([expect.stringMatching(/does not answer 201/)]);
    } finally {
      await emulator.close();
    }
  });

  it("error answers: HubSpot's Error model plus only the fields its docs add", async () => {
    const schema = hubspotSchema();
    const base: Exchange = { method: 'GET', path: '/crm/objects/2026-03/contacts', query: new URLSearchParams(), headers: {}, request: undefined, status: 429, response: undefined };
    const body = { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', correlationId: 'c', category: 'RATE_LIMITS', policyName: 'SECONDLY' };
    expect(await schema.check({ ...base, response: body })).toEqual([]);
    expect((await schema.check({ ...base, status: 400, response: body })).join()).toMatch(/has no property "errorType"/);
    expect((await schema.check({ ...base, response: { ...body, tideline_not_a_vendor_field: 1 } })).join()).toMatch(/tideline_not_a_vendor_field/);
  });
});

describe('hubspot custom events (mode events)', () => {
  let emulator: HubSpotEmulator;
  afterEach(() => emulator.close());
  const eventContext = sessionContext({ object: 'events', mode: 'events', keyField: 'uuid', logger });
  const definitions = [{ fullyQualifiedName: 'pe77_cart_abandoned', properties: ['value', 'currency'] }];
  const open = (overrides: Record<string, unknown> = {}) => hubspot.open(hubspot.configSchema.parse({ base_url: emulator.endpoint, token: emulator.token, portal_id: 77, ...overrides }), eventContext);
  const events = (ids: string[], fields: (id: string) => Record<string, string | number | null> = (id) => ({ email: ` ${id.toUpperCase()}@Example.com`, value: 12.5, currency: 'EUR' })) => trackBatch('events', 'uuid', ids, fields);

  it('sends one batch of occurrences (qualified name, uuid, contact, time, string properties) that conforms to the SDK models', async () => {
    emulator = await startHubSpotEmulator({ eventDefinitions: definitions });
    const exchanges = emulator.server.recordExchanges();
    const session = await open();
    expect(await session.apply(events(['ev-1', 'ev-2']))).toEqual([{ ok: true }, { ok: true }]);
    expect(emulator.occurrences()).toEqual([
      { eventName: 'pe77_cart_abandoned', uuid: 'ev-1', email: 'ev-1@example.com', objectId: undefined, utk: undefined, occurredAt: '2026-12-01T09:30:00.000Z', properties: { value: '12.5', currency: 'EUR' } },
      { eventName: 'pe77_cart_abandoned', uuid: 'ev-2', email: 'ev-2@example.com', objectId: undefined, utk: undefined, occurredAt: '2026-12-02T09:30:00.000Z', properties: { value: '12.5', currency: 'EUR' } },
    ]);
    const sent = exchanges();
    expect(sent.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual(['POST /events/2026-03/send/batch 204']);
    const schema = hubspotSchema();
    expect(await schema.check(sent[0]!)).toEqual([]);
    const bad: Exchange = { ...sent[0]!, request: { inputs: [{ eventName: 'pe77_x', occuredAt: '2026-12-01T09:30:00.000Z' }] } };
    expect((await schema.check(bad)).join()).toMatch(/has no property "occuredAt"/);
  });

  it('a uuid HubSpot already has is answered like the rest and kept once (resend after a crash)', async () => {
    emulator = await startHubSpotEmulator({ eventDefinitions: definitions });
    const session = await open();
    await session.apply(events(['ev-1', 'ev-2']));
    expect(await session.apply(events(['ev-2', 'ev-3']))).toEqual([{ ok: true }, { ok: true }]);
    expect(emulator.occurrences().map((o) => o.uuid)).toEqual(['ev-1', 'ev-2', 'ev-3']);
  });

  it('one bad occurrence refuses the whole request (no per-occurrence outcome): BatchRejectedError, nothing kept; the others alone go through', async () => {
    emulator = await startHubSpotEmulator({ eventDefinitions: definitions, rejectEvent: (uuid) => (uuid === 'ev-2' ? { message: 'Property values were not valid' } : undefined) });
    const session = await open();
    await expect(session.apply(events(['ev-1', 'ev-2', 'ev-3']))).rejects.toBeInstanceOf(BatchRejectedError);
    expect(emulator.occurrences()).toEqual([]);
    expect(emulator.server.count(400)).toBe(1);
    await session.apply(events(['ev-1', 'ev-3']));
    expect(emulator.occurrences().map((o) => o.uuid)).toEqual(['ev-1', 'ev-3']);
  });

  it('the emulator refuses an undefined event or property and an occurrence without a contact, as HubSpot validates them', async () => {
    emulator = await startHubSpotEmulator({ eventDefinitions: definitions });
    const session = await open();
    await expect(session.apply(events(['ev-1'], () => ({ email: 'a@x.com', colour: 'teal' })))).rejects.toThrow(/property colour does not exist on event pe77_cart_abandoned/);
    await expect(session.apply({ ...events(['ev-1']), records: events(['ev-1']).records.map((r) => ({ ...r, event: { name: 'pe78_cart_abandoned', time: r.event!.time } })) })).rejects.toThrow(/does not exist/);
    const response = await fetch(`${emulator.endpoint}/events/v3/send`, { method: 'POST', headers: { authorization: `Bearer ${emulator.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ eventName: 'pe77_cart_abandoned', properties: {} }) });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/email, objectId or utk/);
    expect(emulator.occurrences()).toEqual([]);
  });

  it('rejects, without a request, an occurrence with no contact or a name it cannot qualify; v3 sends to /events/v3/send/batch', async () => {
    emulator = await startHubSpotEmulator({ eventDefinitions: definitions });
    const exchanges = emulator.server.recordExchanges();
    const unqualified = await open({ portal_id: undefined });
    expect(await unqualified.apply(events(['ev-1']))).toMatchObject([{ ok: false, code: 'invalid_event_name', retryable: false }]);
    const session = await open({ api_version: 'v3' });
    expect(await session.apply(events(['ev-1', 'ev-2'], (id): Record<string, string | number | null> => (id === 'ev-1' ? { email: null, value: 1 } : { object_id: '901', value: 2 })))).toMatchObject([{ ok: false, code: 'missing_identifier' }, { ok: true }]);
    expect(exchanges().map((e) => e.path)).toEqual(['/events/v3/send/batch']);
    expect(emulator.occurrences()).toMatchObject([{ uuid: 'ev-2', objectId: '901', properties: { value: '2' } }]);
  });

  it('checkSync locates what an events sync lacks', () => {
    const config = hubspot.configSchema.parse({ token: 't' });
    expect(hubspot.checkSync!(config, { object: 'events', mode: 'events', keyField: 'uuid', fields: ['email', 'value'] }, { targets: [] })).toEqual([]);
    expect(hubspot.checkSync!(config, { object: 'contacts', mode: 'events', keyField: 'event_id', fields: ['Value'] }, { targets: [] })).toEqual([
      { at: ['object'], message: expect.stringMatching(/object `events`/) },
      { at: ['key'], message: expect.stringMatching(/fills `uuid`/) },
      { at: ['fields'], message: expect.stringMatching(/map `email`, `object_id`/) },
      { at: ['fields', 'Value'], message: expect.stringMatching(/not a HubSpot event property internal name/) },
    ]);
    expect(hubspot.events?.deduplication).toMatch(/uuid/);
    expect(hubspot.events?.maxAgeDays(config, { object: 'events', constants: {} })).toBeUndefined();
  });
});
