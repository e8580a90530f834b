import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { AuthError, BatchRejectedError, StopSyncError, type Batch } from '../destination.js';
import { webhook } from './adapter.js';
import { startWebhookEmulator, TakenKeys, type WebhookEmulator } from './emulator.js';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign, verifySignature } from './protocol.js';

const context = {
  sync: 'crm',
  runId: 'r1',
  object: 'contacts',
  mode: 'upsert' as const,
  keyField: 'id',
  nullPolicy: 'skip' as const,
  planned: { added: 0, changed: 0, removed: 0 },
  fields: [{ name: 'email', type: 'string' as const }],
  root: '/tmp',
  logger: createLogger({ level: 'silent' }),
  warehouse: () => Promise.reject(new Error('no warehouse')),
};

function batch(keys: string[], operation: Batch['operation'] = 'upsert', idempotencyKey = `k-${keys.join(',')}`): Batch {
  return { object: 'contacts', operation, keyField: 'id', records: keys.map((key) => ({ key, fields: { email: `${key}@example.com` }, destinationId: null, idempotencyKey: `ik-${key}` })), signal: AbortSignal.timeout(5000), idempotencyKey };
}

describe("the emulator's idempotency memory", () => {
  it('remembers the most recent keys, and forgets the oldest first', () => {
    const taken = new TakenKeys(3);
    for (const key of ['a', 'b', 'c', 'b', 'd', 'e']) taken.add(key);
    expect(['a', 'b', 'c', 'd', 'e'].map((k) => taken.has(k))).toEqual([false, false, true, true, true]);
    expect(taken.size).toBe(3);
    for (let i = 0; i < 10; i++) taken.add(`k${i}`);
    expect([taken.has('e'), taken.has('k6'), taken.has('k7'), taken.has('k9'), taken.size]).toEqual([false, false, true, true, 3]);
  });
});

describe('webhook signature', () => {
  it('verifies what it signed, and refuses a changed body, another secret or an old signature', () => {
    const now = 1_800_000_000;
    const header = sign('secret-of-the-hook-0123', '{"a":1}', now);
    expect(verifySignature('secret-of-the-hook-0123', '{"a":1}', header, now)).toBeUndefined();
    expect(verifySignature('secret-of-the-hook-0123', '{"a":2}', header, now)).toBe('signature mismatch');
    expect(verifySignature('another-secret-entirely', '{"a":1}', header, now)).toBe('signature mismatch');
    expect(verifySignature('secret-of-the-hook-0123', '{"a":1}', header, now + 301)).toBe('signature too old');
    expect(verifySignature('secret-of-the-hook-0123', '{"a":1}', undefined, now)).toBe('missing signature');
  });
});

describe('webhook adapter against its emulator', () => {
  let emulator: WebhookEmulator;
  afterEach(() => emulator.close());

  const open = async (overrides: Record<string, unknown> = {}) => {
    const config = webhook.configSchema.parse({ url: `${emulator.endpoint}/hook`, secret: emulator.secret, ...overrides });
    return webhook.open(config, context);
  };

  it("sends signed batches with each record's idempotency key; a re-sent record is answered without applying twice", async () => {
    emulator = await startWebhookEmulator();
    const session = await open();
    await session.check();
    expect(await session.apply(batch(['1', '2'], 'insert', 'same'))).toEqual([{ ok: true }, { ok: true }]);
    expect(await session.apply(batch(['1', '2'], 'insert', 'same'))).toEqual([{ ok: true }, { ok: true }]);
    // Re-sent in another batch (a later run groups records differently): still recognised, record by record.
    expect(await session.apply(batch(['2'], 'insert', 'other'))).toEqual([{ ok: true }]);
    expect(emulator.stats.replays).toBe(3);
    expect(emulator.server.store.duplicates()).toEqual({});
    // Another change inserting an existing key (a new idempotency key): refused as existing, which the adapter flags.
    const other = { ...batch(['2'], 'insert', 'third'), records: [{ key: '2', fields: {}, destinationId: null, idempotencyKey: 'another-change' }] };
    expect(await session.apply(other)).toMatchObject([{ ok: false, code: 'already_exists', retryable: false, alreadyExists: true }]);
  });

  it('erasure: a signed "forget" batch naming the keys, which the receiver drops; a key it no longer holds is ok', async () => {
    emulator = await startWebhookEmulator();
    const exchanges = emulator.server.recordExchanges();
    expect(webhook.erasure?.({}, { object: 'contacts', mode: 'upsert' })).toMatchObject({ operation: 'forget' });
    const session = await open();
    await session.apply(batch(['1', '2', '3']));
    const forget = (keys: string[], idempotency: string): Batch => ({ ...batch(keys, 'forget', idempotency), records: keys.map((key) => ({ key, fields: {}, destinationId: null, idempotencyKey: `${idempotency}-${key}` })) });
    expect(await session.apply(forget(['1', '3'], 'f1'))).toEqual([{ ok: true }, { ok: true }]);
    expect([...emulator.records('contacts').keys()]).toEqual(['2']);
    expect(exchanges().at(-1)?.request).toEqual({
      sync: 'crm',
      object: 'contacts',
      operation: 'forget',
      key_field: 'id',
      records: [
        { key: '1', fields: {}, idempotency_key: 'f1-1' },
        { key: '3', fields: {}, idempotency_key: 'f1-3' },
      ],
    });
    // Asked again under new idempotency keys (so the receiver applies it): nothing to erase, still ok.
    expect(await session.apply(forget(['1', '3'], 'f2'))).toEqual([{ ok: true }, { ok: true }]);
    expect(emulator.stats.replays).toBe(0);
    expect([...emulator.records('contacts').keys()]).toEqual(['2']);
  });

  it('maps the receiver\'s answers to typed failures', async () => {
    emulator = await startWebhookEmulator({ maxBatchRecords: 2, poison: (r) => (r.key === 'bad' ? { code: 'x', message: 'x' } : undefined) });
    await expect((await open({ secret: 'a-wrong-secret-of-24-chars' })).apply(batch(['1']))).rejects.toBeInstanceOf(AuthError);
    const session = await open();
    await expect(session.apply(batch(['1', '2', '3']))).rejects.toMatchObject({ name: 'BatchRejectedError', code: 'http_413' });
    await expect(session.apply(batch(['1', 'bad']))).rejects.toBeInstanceOf(BatchRejectedError);
  });

  it('a URL that is not a receiver stops the sync rather than splitting batches', async () => {
    emulator = await startWebhookEmulator();
    const { createServer } = await import('node:http');
    const server = createServer((_, res) => res.writeHead(404).end('not found'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const config = webhook.configSchema.parse({ url: `http://127.0.0.1:${port}/nothing`, secret: emulator.secret });
    await expect((await webhook.open(config, context)).apply(batch(['1']))).rejects.toBeInstanceOf(StopSyncError);
    server.close();
  });

  it('the emulator refuses duplicate keys in one batch and unsigned requests', async () => {
    emulator = await startWebhookEmulator();
    const body = JSON.stringify({ sync: 's', object: 'o', operation: 'upsert', key_field: 'id', records: [{ key: 'a', fields: {}, idempotency_key: 'i1' }, { key: 'a', fields: {}, idempotency_key: 'i2' }] });
    const signed = await fetch(`${emulator.endpoint}/hook`, { method: 'POST', body, headers: { [SIGNATURE_HEADER]: sign(emulator.secret, body, Math.floor(Date.now() / 1000)), [IDEMPOTENCY_HEADER]: 'x' } });
    expect(signed.status).toBe(400);
    expect(await signed.json()).toMatchObject({ message: 'key "a" appears twice in one batch' });
    const unsigned = await fetch(`${emulator.endpoint}/hook`, { method: 'POST', body });
    expect(unsigned.status).toBe(401);
  });
});
