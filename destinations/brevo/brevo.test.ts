import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { RateLimitedError, type Batch, type DestinationContext } from '../destination.js';
import { brevo } from './adapter.js';
import { startBrevoEmulator, type BrevoEmulator } from './emulator.js';

const logger = createLogger({ level: 'silent' });
const context: DestinationContext = {
  sync: 'crm',
  runId: 'r1',
  object: 'contacts',
  mode: 'upsert',
  keyField: 'email',
  nullPolicy: 'skip',
  planned: { added: 0, changed: 0, removed: 0 },
  fields: [{ name: 'first_name', type: 'string' }],
  root: '/tmp',
  logger,
  warehouse: () => Promise.reject(new Error('no warehouse')),
};

function batch(keys: string[], operation: Batch['operation'] = 'upsert', object = 'contacts'): Batch {
  return { object, operation, keyField: 'email', records: keys.map((key) => ({ key, fields: { first_name: `F ${key}`, shoe_size: 42 }, destinationId: null, idempotencyKey: `ik-${key}` })), signal: AbortSignal.timeout(5000), idempotencyKey: 'k' };
}

describe('brevo adapter against its emulator', () => {
  let emulator: BrevoEmulator;
  afterEach(() => emulator.close());
  const open = (mode: DestinationContext['mode'] = 'upsert') => brevo.open(brevo.configSchema.parse({ base_url: `${emulator.endpoint}/v3`, api_key: emulator.apiKey }), { ...context, mode });

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
});
