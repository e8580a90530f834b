import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import type { Batch, DestinationContext } from '../destination.js';
import type { Exchange } from '../emulator-kit/server.js';
import { hubspot } from './adapter.js';
import { hubspotSchema } from './contract.js';
import { startHubSpotEmulator, type HubSpotEmulator } from './emulator.js';

/**
 * How the adapter reads HubSpot's batch answers (by `objectWriteTraceId`, never by order or by the echo of the id
 * property), which paths it calls by default, and HubSpot's published schema catching a request HubSpot would not
 * take.
 */
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
  logger: createLogger({ level: 'silent' }),
  warehouse: () => Promise.reject(new Error('no warehouse')),
};

function batch(keys: string[], operation: Batch['operation'] = 'upsert', object = 'contacts'): Batch {
  return { object, operation, keyField: 'email', records: keys.map((key) => ({ key, fields: { firstname: `F ${key}` }, destinationId: null, idempotencyKey: `ik-${key}` })), signal: AbortSignal.timeout(5000), idempotencyKey: 'k' };
}

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
    await audience.apply(batch(['a@x.com'], 'add', 'list:7'));
    await audience.apply(batch(['a@x.com'], 'remove', 'list:7'));
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
