import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { requestJson } from '../emulator-kit/server.js';
import { RateLimitedError, TransientError, type Batch, type DestinationContext } from '../destination.js';
import { brevo } from './adapter.js';
import { brevoSchema } from './contract.js';
import { startBrevoEmulator, type BrevoEmulator } from './emulator.js';
import { sessionContext, trackBatch } from '../emulator-kit/session-context.js';

const logger = createLogger({ level: 'silent' });
const context = sessionContext({ object: 'contacts', mode: 'upsert', keyField: 'email', fields: [{ name: 'first_name', type: 'string' }], logger });

function batch(keys: string[], operation: Batch['operation'] = 'upsert', object = 'contacts'): Batch {
  return { object, operation, keyField: 'email', records: keys.map((key) => ({ key, fields: { first_name: `F ${key}`, shoe_size: 42 }, destinationId: null, idempotencyKey: `ik-${key}` })), signal: AbortSignal.timeout(5000), idempotencyKey: 'k' };
}

/** A batch keyed by ext_id, contacts never seen before (no contact id kept): each one is a create. */
function extBatch(ids: string[], operation: Batch['operation'] = 'upsert', object = 'contacts', idempotencyKey = `k-${ids.join('-')}`): Batch {
  return { object, operation, keyField: 'ext_id', records: ids.map((key) => ({ key, fields: { email: `c${key}@x.com` }, destinationId: null, idempotencyKey: `ik-${key}` })), signal: AbortSignal.timeout(5000), idempotencyKey };
}

describe('brevo adapter against its emulator', () => {
  let emulator: BrevoEmulator;
  afterEach(() => emulator.close());
  const open = (mode: DestinationContext['mode'] = 'upsert', config: Record<string, unknown> = {}) =>
    brevo.open(brevo.configSchema.parse({ base_url: `${emulator.endpoint}/v3`, api_key: emulator.apiKey, poll_interval_ms: 20, ...config }), { ...context, mode });

  /** The requests answered, as `METHOD path status [identifiers written]`. */
  function journal(): string[] {
    const seen: string[] = [];
    emulator.server.observe((request, answer) => {
      const body = requestJson<{ email?: string; ext_id?: string; contacts?: { email?: string }[]; emails?: string[] }>(request);
      const who = body?.contacts?.map((c) => c.email) ?? body?.emails ?? (body?.ext_id ?? body?.email ? [body.ext_id ?? body.email] : []);
      seen.push(`${request.method} ${request.path} ${answer} ${who.join(',')}`.trim());
    });
    return seen;
  }

  it('a create that fails transiently is a retryable outcome of that record alone; the others are accepted', async () => {
    emulator = await startBrevoEmulator();
    const session = await open();
    emulator.server.faults.queue({ kind: 'status', status: 503 });
    const outcomes = await session.apply(extBatch(['1', '2', '3']));
    expect(outcomes).toMatchObject([{ ok: false, code: 'transient', retryable: true }, { ok: true, destinationId: '1' }, { ok: true, destinationId: '2' }]);
    expect([...emulator.contacts().values()].map((c) => c['ext_id'])).toEqual(['2', '3']);
    // The engine retries that record alone.
    expect(await session.apply(extBatch(['1']))).toMatchObject([{ ok: true, destinationId: '3' }]);
    expect(emulator.server.store.duplicates()).toEqual({});
  });

  it('a create that gets no answer within request_timeout_seconds is retried alone, long before the batch budget', async () => {
    emulator = await startBrevoEmulator();
    const session = await open('upsert', { request_timeout_seconds: 0.2 });
    emulator.server.faults.queue({ kind: 'hang', ms: 4000, processed: false });
    const started = performance.now();
    expect(await session.apply(extBatch(['1', '2']))).toMatchObject([{ ok: false, code: 'transient', retryable: true, message: expect.stringMatching(/timed out/) }, { ok: true }]);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('when every create of a batch fails transiently, the batch fails (the destination looks down)', async () => {
    emulator = await startBrevoEmulator();
    const session = await open();
    emulator.server.faults.queue({ kind: 'status', status: 500 }, { kind: 'reset' });
    await expect(session.apply(extBatch(['1', '2']))).rejects.toBeInstanceOf(TransientError);
  });

  it('a 429 on a create pauses the engine (RateLimitedError); its retry of the batch does not write again what was written', async () => {
    // Three requests a minute: the batch (404 naming the four), two creates, then 429.
    emulator = await startBrevoEmulator({ rateLimit: { requests: 3, perMs: 60_000 } });
    const session = await open();
    const seen = journal();
    const keys = ['a@x.com', 'b@x.com', 'c@x.com', 'd@x.com'];
    const error = await session.apply(batch(keys)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(1000);
    emulator.server.setRateLimit(undefined);
    expect(await session.apply(batch(keys))).toMatchObject([
      { ok: true, destinationId: '1' },
      { ok: true, destinationId: '2' },
      { ok: true, destinationId: '3' },
      { ok: true, destinationId: '4' },
    ]);
    expect(seen).toEqual([
      'POST /v3/contacts/batch 404 a@x.com,b@x.com,c@x.com,d@x.com',
      'POST /v3/contacts 201 a@x.com',
      'POST /v3/contacts 201 b@x.com',
      'POST /v3/contacts 429 c@x.com',
      // The retry: a and b are answered from what the first attempt wrote.
      'POST /v3/contacts/batch 404 c@x.com,d@x.com',
      'POST /v3/contacts 201 c@x.com',
      'POST /v3/contacts 201 d@x.com',
    ]);
  });

  it('audience add: the contacts written join the list even when another create failed; that one joins on its retry', async () => {
    emulator = await startBrevoEmulator();
    const session = await open('audience');
    emulator.server.faults.queue({ kind: 'status', status: 502 });
    expect(await session.apply(extBatch(['1', '2', '3'], 'add', 'list:3'))).toMatchObject([{ ok: false, code: 'transient', retryable: true }, { ok: true }, { ok: true }]);
    const members = () => emulator.listMembers('3').map((id) => emulator.contacts().get(id)!['ext_id']).sort();
    expect(members()).toEqual(['2', '3']);
    expect(await session.apply(extBatch(['1'], 'add', 'list:3'))).toMatchObject([{ ok: true }]);
    expect(members()).toEqual(['1', '2', '3']);
  });

  it('audience add: a list request that fails transiently is retried without writing the contacts again', async () => {
    emulator = await startBrevoEmulator();
    const session = await open('audience');
    const seen = journal();
    const add = extBatch(['1', '2'], 'add', 'list:3');
    // The two creates pass, the list add answers 500: the batch fails (the engine retries it).
    emulator.server.faults.plan({ rate: 1, faults: [{ kind: 'status', status: 500 }], seed: 1, only: { method: 'POST', path: '/v3/contacts/lists/3/contacts/add' } });
    await expect(session.apply(add)).rejects.toBeInstanceOf(TransientError);
    emulator.server.faults.plan(undefined);
    expect(await session.apply(add)).toMatchObject([{ ok: true }, { ok: true }]);
    expect(seen).toEqual(['POST /v3/contacts 201 1', 'POST /v3/contacts 201 2', 'POST /v3/contacts/lists/3/contacts/add 500 c1@x.com,c2@x.com', 'POST /v3/contacts/lists/3/contacts/add 201 c1@x.com,c2@x.com']);
    expect(emulator.listMembers('3')).toHaveLength(2);
  });

  it('upsert: one batch updates the known contacts; those Brevo names as unknown are created one by one, then the batch again', async () => {
    emulator = await startBrevoEmulator({ attributes: [{ name: 'FIRST_NAME', type: 'text' }] });
    const session = await open();
    expect(await session.apply(batch(['a@x.com']))).toMatchObject([{ ok: true, destinationId: '1' }]);
    const before = { '404': emulator.server.count(404), '201': emulator.server.count(201), '204': emulator.server.count(204) };
    expect(await session.apply(batch(['b@x.com', 'A@X.com', 'c@x.com', 'a@x.com']))).toMatchObject([{ ok: true }, { ok: true }, { ok: true }, { ok: false, code: 'duplicate_key', retryable: false }]);
    // 404 naming indexes 0 and 2, two creates (201), the batch again for a@x.com (204).
    expect({ '404': emulator.server.count(404) - before['404'], '201': emulator.server.count(201) - before['201'], '204': emulator.server.count(204) - before['204'] }).toEqual({ '404': 1, '201': 2, '204': 1 });
    const contacts = [...emulator.contacts().values()];
    expect(contacts.map((c) => c['email']).sort()).toEqual(['a@x.com', 'b@x.com', 'c@x.com']);
    // Attribute names are upper-cased; an attribute the account lacks is dropped by Brevo (validate --remote catches it).
    expect(contacts.find((c) => c['email'] === 'a@x.com')).toEqual({ email: 'a@x.com', FIRST_NAME: 'F A@X.com' });
    expect(emulator.server.store.duplicates()).toEqual({});
  });

  it('update never creates: contacts Brevo does not know are rejected not_found', async () => {
    emulator = await startBrevoEmulator();
    const session = await open('update');
    await (await open()).apply(batch(['a@x.com']));
    expect(await session.apply(batch(['a@x.com', 'new@x.com'], 'update'))).toMatchObject([{ ok: true }, { ok: false, code: 'not_found', retryable: false }]);
    expect(emulator.contacts().size).toBe(1);
  });

  it('a 429 waits x-sib-ratelimit-reset', async () => {
    emulator = await startBrevoEmulator({ rateLimit: { requests: 1, perMs: 2000 } });
    const session = await open();
    await session.apply(batch(['a@x.com'])).catch(() => undefined);
    const error = await session.apply(batch(['b@x.com'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(1000);
  });

  it('lists: failure[] is mapped per record; a removal of a non-member is fine', async () => {
    emulator = await startBrevoEmulator({ refuseList: (email) => email === 'b@x.com' });
    const session = await open('audience');
    // Contacts that exist already: the batch updates them, then the list add answers per e-mail.
    await (await open()).apply(batch(['a@x.com', 'b@x.com']));
    expect(await session.apply(batch(['a@x.com', 'b@x.com'], 'add', 'list:3'))).toMatchObject([{ ok: true }, { ok: false, code: 'list_add_failed' }]);
    expect(emulator.listMembers('3').map((id) => emulator.contacts().get(id)!['email'])).toEqual(['a@x.com']);
    expect(await session.apply(batch(['a@x.com', 'b@x.com'], 'remove', 'list:3'))).toEqual([{ ok: true }, { ok: true }]);
    expect(emulator.listMembers('3')).toEqual([]);
  });

  it('remoteFields lists attributes (calculated ones read-only); createField creates the upper-case attribute', async () => {
    emulator = await startBrevoEmulator();
    const config = brevo.configSchema.parse({ base_url: `${emulator.endpoint}/v3`, api_key: emulator.apiKey });
    const remote = { logger, signal: AbortSignal.timeout(5000) };
    const fields = await brevo.remoteFields!(config, 'contacts', remote);
    expect(fields.find((f) => f.name === 'FIRSTNAME')).toMatchObject({ readOnly: false });
    expect(fields.find((f) => f.name === 'CONTACT_SCORE')).toMatchObject({ readOnly: true });
    await brevo.createField!(config, 'contacts', { name: 'shoe_size', type: 'integer' }, remote);
    expect(emulator.attributes.get('SHOE_SIZE')).toMatchObject({ type: 'float', category: 'normal' });
    await (await open()).apply(batch(['a@x.com']));
    expect([...emulator.contacts().values()][0]).toMatchObject({ SHOE_SIZE: 42 });
  });

  it('the emulator answers as Brevo: 401 without the key, 400 for an oversized batch or an e-mail twice', async () => {
    emulator = await startBrevoEmulator({ maxBatchRecords: 2 });
    const post = (body: unknown, key = emulator.apiKey) => fetch(`${emulator.endpoint}/v3/contacts/batch`, { method: 'POST', headers: { 'api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ contacts: [{ email: 'a@x.com' }] }, 'wrong')).status).toBe(401);
    expect((await post({ contacts: [{ email: 'a@x.com' }, { email: 'b@x.com' }, { email: 'c@x.com' }] })).status).toBe(400);
    const twice = await post({ contacts: [{ email: 'a@x.com' }, { email: 'A@x.com' }] });
    expect(twice.status).toBe(400);
    expect(await twice.json()).toMatchObject({ code: 'duplicate_parameter' });
  });

  it('audience add of new contacts: one batch update (404), ONE import into the list, polled until completed; no create, no list add', async () => {
    emulator = await startBrevoEmulator();
    const seen = journal();
    const session = await open('audience');
    await (await open()).apply(batch(['old@x.com']));
    seen.length = 0;
    const keys = ['old@x.com', ...Array.from({ length: 50 }, (_, i) => `n${i}@x.com`)];
    const outcomes = await session.apply(batch(keys, 'add', 'list:4'));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const requests = seen.map((line) => line.split(' ').slice(0, 3).join(' '));
    expect(requests).toEqual([
      'POST /v3/contacts/batch 404',
      'POST /v3/contacts/batch 204',
      'POST /v3/contacts/import 202',
      // Asynchronous: in_process at the first poll, completed at a later one.
      'GET /v3/processes/1 200',
      'GET /v3/processes/1 200',
      'POST /v3/contacts/lists/4/contacts/add 201',
    ]);
    // Only the contact that existed is added by the list request; the import put the others in the list.
    expect(seen.at(-1)).toMatch(/ old@x\.com$/);
    expect(emulator.listMembers('4')).toHaveLength(51);
  });

  it('an import that reports problematic records: those Brevo does not know afterwards are rejected, the others accepted', async () => {
    emulator = await startBrevoEmulator({ reject: (id) => (id === 'bad@x.com' ? { message: 'refused' } : undefined) });
    const session = await open('audience');
    const outcomes = await session.apply(batch(['a@x.com', 'bad@x.com', 'c@x.com'], 'add', 'list:5'));
    expect(outcomes).toMatchObject([{ ok: true }, { ok: false, code: 'import_rejected', retryable: false }, { ok: true }]);
    expect(outcomes[1]!.ok ? '' : outcomes[1]!.message).toMatch(/invalid_emails/);
    expect(emulator.listMembers('5')).toHaveLength(2);
  });

  it('an import still running when the batch budget is spent fails the batch (retried whole: the import is an upsert)', async () => {
    emulator = await startBrevoEmulator();
    const session = await open('audience', { poll_interval_ms: 400 });
    const short = { ...batch(['a@x.com'], 'add', 'list:6'), signal: AbortSignal.timeout(700) };
    await expect(session.apply(short)).rejects.toThrow(/still in_process when the batch's time budget ran out/);
    // The engine's retry sends it again: the same contact, once.
    expect(await session.apply(batch(['a@x.com'], 'add', 'list:6'))).toMatchObject([{ ok: true }]);
    expect(emulator.contacts().size).toBe(1);
    expect(emulator.listMembers('6')).toHaveLength(1);
  });

  it('sms: a field `sms` is the SMS attribute in E.164 (default_country for national numbers); an invalid number rejects its record before sending', async () => {
    emulator = await startBrevoEmulator();
    const seen = journal();
    const session = await open('audience', { default_country: 'FR' });
    const records = [
      { key: 'a@x.com', fields: { sms: '06 12 34 56 78' } },
      { key: 'b@x.com', fields: { sms: '+44 7911 123456' } },
      { key: 'c@x.com', fields: { sms: 'not a number' } },
      { key: 'd@x.com', fields: { sms: '0612345678' } },
    ].map((r) => ({ ...r, destinationId: null, idempotencyKey: `ik-${r.key}` }));
    const outcomes = await session.apply({ object: 'list:8', operation: 'add', keyField: 'email', records, signal: AbortSignal.timeout(5000), idempotencyKey: 'sms' });
    expect(outcomes).toMatchObject([{ ok: true }, { ok: true }, { ok: false, code: 'invalid_phone', retryable: false }, { ok: false, code: 'duplicate_phone' }]);
    const byEmail = new Map([...emulator.contacts().values()].map((c) => [c['email'], c]));
    expect(byEmail.get('a@x.com')).toMatchObject({ SMS: '+33612345678' });
    expect(byEmail.get('b@x.com')).toMatchObject({ SMS: '+447911123456' });
    expect(byEmail.has('c@x.com')).toBe(false);
    // The invalid number was never sent.
    expect(seen.join('\n')).not.toMatch(/c@x\.com/);
    for (const outcome of outcomes) if (!outcome.ok) expect(outcome.message).not.toMatch(/06|\+33|x\.com/);
  });

  it('the emulator refuses an SMS number another contact holds, and one without its country code, as Brevo documents', async () => {
    emulator = await startBrevoEmulator();
    const post = (path: string, body: unknown) => fetch(`${emulator.endpoint}/v3${path}`, { method: 'POST', headers: { 'api-key': emulator.apiKey, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/contacts', { email: 'a@x.com', attributes: { SMS: '+33612345678' } })).status).toBe(201);
    const taken = await post('/contacts', { email: 'b@x.com', attributes: { SMS: '0033612345678' } });
    expect(taken.status).toBe(400);
    expect(await taken.json()).toMatchObject({ code: 'duplicate_parameter' });
    expect((await post('/contacts/batch', { contacts: [{ email: 'a@x.com', attributes: { SMS: '06 12' } }] })).status).toBe(400);
    expect((await post('/contacts/batch', { contacts: [{ email: 'a@x.com', attributes: { SMS: '0033612345678' } }] })).status).toBe(204);
    // Through the adapter, the refused number is that record's rejection.
    const outcomes = await (await open('upsert', { default_country: 'FR' })).apply({ ...batch([]), records: [{ key: 'z@x.com', fields: { sms: '06 12 34 56 78' }, destinationId: null, idempotencyKey: 'z' }] });
    expect(outcomes).toMatchObject([{ ok: false, code: 'duplicate_parameter', retryable: false }]);
  });

  it('vendor schema (@getbrevo/brevo types): the recorded import conforms; a misspelt field, a wrong status, an unknown operation are reported', async () => {
    expect(brevoSchema.unavailable?.()).toBeUndefined();
    emulator = await startBrevoEmulator();
    const exchanges = emulator.server.recordExchanges();
    await (await open('audience', { default_country: 'FR' })).apply({ ...batch([]), object: 'list:9', operation: 'add', records: [{ key: 'a@x.com', fields: { first_name: 'Ann', sms: '0612345678' }, destinationId: null, idempotencyKey: 'a' }] });
    for (const exchange of exchanges()) expect(await brevoSchema.check(exchange), `${exchange.method} ${exchange.path}`).toEqual([]);
    const imported = exchanges().find((e) => e.path === '/v3/contacts/import')!;
    const poll = exchanges().filter((e) => e.path.startsWith('/v3/processes/')).at(-1)!;
    expect(imported.request).toMatchObject({ listIds: [9], jsonBody: [{ email: 'a@x.com', attributes: { SMS: '+33612345678' } }] });
    const { listIds, ...rest } = imported.request as { listIds: number[] };
    expect((await brevoSchema.check({ ...imported, request: { ...rest, listIdz: listIds } })).join('; ')).toMatch(/listIdz/);
    const body = imported.request as { jsonBody: { email: string }[] };
    expect((await brevoSchema.check({ ...imported, request: { ...body, jsonBody: [{ emial: 'a@x.com' }] } })).join('; ')).toMatch(/emial/);
    expect((await brevoSchema.check({ ...poll, response: { ...(poll.response as object), status: 'done' } })).join('; ')).toMatch(/status/);
    expect((await brevoSchema.check({ ...poll, method: 'DELETE' })).join('; ')).toMatch(/not an operation/);
  });
});

describe('brevo events (mode events)', () => {
  let emulator: BrevoEmulator;
  afterEach(() => emulator.close());
  const eventContext = sessionContext({ object: 'events', mode: 'events', keyField: 'event_id', logger });
  const open = (config: Record<string, unknown> = {}) => brevo.open(brevo.configSchema.parse({ base_url: `${emulator.endpoint}/v3`, api_key: emulator.apiKey, ...config }), eventContext);
  const events = (ids: string[], fields: (id: string) => Record<string, string | number | boolean | null> = (id) => ({ email: ` ${id.toUpperCase()}@Example.com`, value: 12.5, FIRSTNAME: 'Ann', gift: true })) => trackBatch('events', 'event_id', ids, fields);

  it('sends one POST /events/batch (identifiers, contact attributes in capitals, the event id among event_properties) conforming to the SDK types; repeats are kept', async () => {
    emulator = await startBrevoEmulator();
    const exchanges = emulator.server.recordExchanges();
    const session = await open();
    expect(await session.apply(events(['ev-1', 'ev-2']))).toEqual([{ ok: true }, { ok: true }]);
    expect(emulator.events()[0]).toEqual({
      event_name: 'Cart_abandoned',
      event_date: '2026-12-01T09:30:00.000Z',
      identifiers: { email_id: 'ev-1@example.com' },
      contact_properties: { FIRSTNAME: 'Ann' },
      event_properties: { event_id: 'ev-1', value: 12.5, gift: 'true' },
    });
    expect(exchanges().map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual(['POST /v3/events/batch 202']);
    for (const exchange of exchanges()) expect(await brevoSchema.check(exchange)).toEqual([]);
    // Brevo has no de-duplication key: a resend is a second copy.
    await session.apply(events(['ev-2']));
    expect(emulator.events().map((e) => (e['event_properties'] as { event_id: string }).event_id)).toEqual(['ev-1', 'ev-2', 'ev-2']);
  });

  it('a 207 names the refused events by index: those are rejected with its message, the others accepted; a 400 when all fail', async () => {
    emulator = await startBrevoEmulator({ rejectEvent: (e) => ((e['event_properties'] as { event_id?: string }).event_id === 'ev-2' ? { message: 'event_properties: invalid value' } : undefined) });
    const exchanges = emulator.server.recordExchanges();
    const session = await open();
    expect(await session.apply(events(['ev-1', 'ev-2', 'ev-3']))).toEqual([{ ok: true }, { ok: false, code: 'brevo_event_refused', message: expect.stringContaining('invalid value'), retryable: false }, { ok: true }]);
    expect(await session.apply(events(['ev-2']))).toMatchObject([{ ok: false, code: 'brevo_event_refused' }]);
    expect(exchanges().map((e) => e.status)).toEqual([207, 400]);
    for (const exchange of exchanges()) expect(await brevoSchema.check(exchange)).toEqual([]);
    expect(emulator.events()).toHaveLength(2);
    // The schema knows the 207's own type: a made-up field is a problem.
    const partial = exchanges()[0]!;
    expect((await brevoSchema.check({ ...partial, response: { ...(partial.response as object), skipped: 1 } })).join()).toMatch(/skipped/);
  });

  it('rejects, without a request, an event naming no contact or with a bad phone; the emulator refuses what Brevo documents it refuses', async () => {
    emulator = await startBrevoEmulator();
    const exchanges = emulator.server.recordExchanges();
    const session = await open();
    expect(await session.apply(events(['ev-1', 'ev-2'], (id): Record<string, string | number | null> => (id === 'ev-1' ? { email: null, value: 1 } : { sms: '12', value: 2 })))).toMatchObject([
      { ok: false, code: 'missing_identifier' },
      { ok: false, code: 'invalid_phone' },
    ]);
    expect(exchanges()).toEqual([]);
    const post = (body: unknown) => fetch(`${emulator.endpoint}/v3/events`, { method: 'POST', headers: { 'api-key': emulator.apiKey, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ event_name: 'cart abandoned', identifiers: { email_id: 'a@x.com' } })).status).toBe(400);
    expect((await post({ event_name: 'cart', identifiers: {} })).status).toBe(400);
    expect((await post({ event_name: 'cart', identifiers: { email_id: 'a@x.com' }, event_date: 'yesterday' })).status).toBe(400);
    expect((await post({ event_name: 'cart', identifiers: { email_id: 'a@x.com' }, event_properties: { 'a b': 1 } })).status).toBe(400);
    expect((await post({ event_name: 'cart', identifiers: { phone_id: '+33612345678' } })).status).toBe(204);
    expect(emulator.events()).toHaveLength(1);
  });

  it('checkSync locates what an events sync lacks; no age limit, no de-duplication', () => {
    const config = brevo.configSchema.parse({ api_key: 'k' });
    expect(brevo.checkSync!(config, { object: 'events', mode: 'events', keyField: 'event_id', fields: ['email', 'value', 'FIRSTNAME'] }, { targets: [] })).toEqual([]);
    expect(brevo.checkSync!(config, { object: 'contacts', mode: 'events', keyField: 'email', fields: ['order value'] }, { targets: [] })).toEqual([
      { at: ['object'], message: expect.stringMatching(/object `events`/) },
      { at: ['key'], message: expect.stringMatching(/event property/) },
      { at: ['fields'], message: expect.stringMatching(/names its contact/) },
      { at: ['fields', 'order value'], message: expect.stringMatching(/cannot be a Brevo event property/) },
    ]);
    expect(brevo.events).toEqual({ maxAgeDays: expect.any(Function), deduplication: undefined });
    expect(brevo.events!.maxAgeDays(config, { object: 'events', constants: {} })).toBeUndefined();
  });
});

describe('brevo erasure plan', () => {
  it('declares the contact deletion for contacts and lists, and a manual step for events', () => {
    const config = brevo.configSchema.parse({ api_key: 'k' });
    expect(brevo.erasure!(config, { object: 'contacts', mode: 'upsert' })).toEqual({ operation: 'forget', method: expect.stringMatching(/DELETE \/v3\/contacts\/\{identifier\}/) });
    expect(brevo.erasure!(config, { object: 'list:7', mode: 'audience' })).toMatchObject({ operation: 'forget' });
    expect(brevo.erasure!(config, { object: 'events', mode: 'events' })).toEqual({ manual: expect.stringMatching(/deletes no event.*Contacts page/) });
  });
});

describe('brevo erasure (tideline forget)', () => {
  let emulator: BrevoEmulator;
  afterEach(() => emulator.close());
  const open = (mode: DestinationContext['mode']) => brevo.open(brevo.configSchema.parse({ base_url: `${emulator.endpoint}/v3`, api_key: emulator.apiKey, poll_interval_ms: 20 }), { ...context, mode });
  const forget = (keyField: string, keys: string[], object = 'contacts', destinationId: string | null = null): Batch => ({
    object,
    operation: 'forget',
    keyField,
    records: keys.map((key) => ({ key, fields: {}, destinationId, idempotencyKey: `forget-${key}` })),
    signal: AbortSignal.timeout(5000),
    idempotencyKey: 'forget',
  });

  it('deletes a list member by its e-mail, not only its membership: the contact goes with every list; asking again is accepted (404)', async () => {
    emulator = await startBrevoEmulator();
    const exchanges = emulator.server.recordExchanges();
    const audience = await open('audience');
    await audience.apply({ ...batch(['a@x.com', 'b@x.com']), object: 'list:9', operation: 'add' });
    await audience.apply({ ...batch(['a@x.com']), object: 'list:4', operation: 'add' });
    // The contact id a run kept is not what names the person: the sync's key is.
    expect(await audience.apply(forget('email', [' A@x.com'], 'list:9', '1'))).toEqual([{ ok: true }]);
    const deletions = () => exchanges().filter((e) => e.method === 'DELETE').map((e) => `${e.path}?${e.query.toString()} ${e.status}`);
    expect(deletions()).toEqual(['/v3/contacts/a%40x.com?identifierType=email_id 204']);
    expect([...emulator.contacts().values()].map((c) => c['email'])).toEqual(['b@x.com']);
    expect(emulator.listMembers('9')).toHaveLength(1);
    expect(emulator.listMembers('4')).toEqual([]);
    expect(await audience.apply(forget('email', ['a@x.com'], 'list:9'))).toEqual([{ ok: true }]);
    expect(deletions().at(-1)).toBe('/v3/contacts/a%40x.com?identifierType=email_id 404');
    expect(exchanges().at(-1)!.response).toEqual({ code: 'document_not_found', message: 'Contact does not exist' });
    for (const exchange of exchanges()) expect(await brevoSchema.check(exchange), `${exchange.method} ${exchange.path}`).toEqual([]);
  });

  it('deletes a contact keyed by ext_id with identifierType=ext_id (an ext_id that looks like an id is not read as one); no identifier in an error', async () => {
    emulator = await startBrevoEmulator();
    const exchanges = emulator.server.recordExchanges();
    await (await open('upsert')).apply(extBatch(['x', '1', '2']));
    // ext_id "2" is contact 3's, and contact 2 is ext_id "1"'s: named as a contact id, "2" would erase the wrong person.
    expect([...emulator.contacts()].map(([id, c]) => [id, c['ext_id']])).toEqual([['1', 'x'], ['2', '1'], ['3', '2']]);
    const session = await open('upsert');
    expect(await session.apply(forget('ext_id', ['2']))).toEqual([{ ok: true }]);
    expect(exchanges().filter((e) => e.method === 'DELETE').map((e) => `${e.path}?${e.query.toString()}`)).toEqual(['/v3/contacts/2?identifierType=ext_id']);
    expect([...emulator.contacts().values()].map((c) => c['ext_id'])).toEqual(['x', '1']);
    expect(await session.apply(forget('ext_id', ['2', '9']))).toEqual([{ ok: true }, { ok: true }]);
    // A failure of the whole request names the path without the person's identifier.
    emulator.server.faults.queue({ kind: 'status', status: 503 });
    const failed = await session.apply(forget('email', ['jane.doe@x.com'])).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(TransientError);
    expect((failed as Error).message).toMatch(/\/contacts\/<contact>/);
    expect((failed as Error).message).not.toMatch(/jane/);
    // The emulator refuses an identifierType Brevo does not know.
    const response = await fetch(`${emulator.endpoint}/v3/contacts/1?identifierType=customer_id`, { method: 'DELETE', headers: { 'api-key': emulator.apiKey } });
    expect(response.status).toBe(400);
    expect(emulator.contacts().size).toBe(2);
  });
});
