import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger, snapshotRetained } from '../../test/support/ads.js';
import { people, SyncHarness, type Person } from '../../test/support/sync-harness.js';
import { AuthError, BatchRejectedError, RateLimitedError, StopSyncError, TransientError } from '../destination.js';
import { metaError } from './adapter.js';
import { startMetaEmulator, type MetaEmulator, type MetaEmulatorOptions } from './emulator.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const AUDIENCE = '23850000000000001';
/** Meta's normalised first name of "Name 12": letters only, lower case. */
const fn = (p: Person) => sha(p.first_name!.toLowerCase().replace(/[^a-z]/g, ''));
/** What Meta should hold for these people: EXTERN_ID → hashed EMAIL and FN. */
const expected = (rows: readonly Person[]) => new Map(rows.map((p) => [String(p.id), { EXTERN_ID: String(p.id), EMAIL: sha(p.email!), FN: fn(p) }]));

describe('meta through the sync engine', () => {
  const open: { emulator?: MetaEmulator; harness?: SyncHarness }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.harness?.close();
      await o.emulator?.close();
    }
  });

  async function setup(rows: readonly Person[], options: MetaEmulatorOptions = {}, config: Record<string, unknown> = {}) {
    const emulator = await startMetaEmulator({ recordBodies: true, ...options });
    const slot: (typeof open)[number] = { emulator };
    open.push(slot);
    const harness = await SyncHarness.start({
      destinations: [{ name: 'fb', type: 'meta', endpoint: emulator.endpoint, access_token: emulator.accessToken, retries: { attempts: 4, base_ms: 10, max_ms: 100 }, ...config }],
      syncs: [{ name: 's', model: 'people', destination: 'fb', object: AUDIENCE, mode: 'audience', key: { from: 'id', field: 'external_id' }, fields: { email: 'email', first_name: 'first_name' } }],
      rows,
    });
    slot.harness = harness;
    return { emulator, harness };
  }

  const held = (emulator: MetaEmulator) => new Map([...emulator.records(AUDIENCE)].map(([k, v]) => [k, { ...v }]));

  it('adds members with the multi-key schema, reruns send nothing, leavers are deleted by their hashes', async () => {
    const { emulator, harness } = await setup(people(10));
    const capture = captureLogger();
    const first = await harness.sync('s', {}, { logger: capture.logger });
    expect(first).toMatchObject({ status: 'success', accepted: 10, requests: 1, details: { requests: 1, num_received: 10, num_invalid_entries: 0 } });
    expect(held(emulator)).toEqual(expected(people(10)));
    expect((await harness.sync('s')).requests).toBe(0);

    const next = [...people(7), ...people(2, 50)];
    await harness.setRows(next);
    const third = await harness.sync('s', {}, { logger: capture.logger });
    expect(third.counts).toMatchObject({ added: 2, removed: 3 });
    expect(held(emulator)).toEqual(expected(next));

    const retained = await snapshotRetained(harness, 's');
    expect(retained.get('1')).toEqual({ email: sha('person1@example.com'), first_name: sha('name') });
    const seen = [...emulator.bodies, ...capture.lines, JSON.stringify([...retained])].join('\n');
    expect(capture.lines.length).toBeGreaterThan(1);
    for (const p of [...people(10), ...next]) expect(seen).not.toContain(p.email!);
    // The token is the request's credential; it never reaches a log line.
    expect(capture.lines.join('\n')).not.toContain(emulator.accessToken);
    expect(emulator.stats.unhashedValues).toBe(0);
  });

  it('a full resync replaces the audience in one usersreplace session, its batches in order, the last one flagged', async () => {
    const { emulator, harness } = await setup(people(10), {}, { batch_size: 4 });
    await harness.sync('s');
    emulator.server.store.object(AUDIENCE).set('stranger', { EXTERN_ID: 'stranger', EMAIL: sha('stranger@example.com') });
    const full = await harness.sync('s', { fullResync: true });
    expect(full).toMatchObject({ status: 'success', accepted: 10, requests: 3 });
    expect(full.details).toMatchObject({ requests: 3, num_received: 10, replace_session: { batches: 3, completed: true } });
    expect(emulator.stats.replacements).toBe(1);
    expect(held(emulator)).toEqual(expected(people(10)));
  });

  it('waits out throttling (code 80004 with X-Business-Use-Case-Usage) without losing members', async () => {
    const rows = people(24);
    const { emulator, harness } = await setup(rows, { rateLimit: { requests: 4, perMs: 400 } }, { batch_size: 2 });
    const result = await harness.sync('s');
    expect(result.status).toBe('success');
    expect(emulator.stats.throttled).toBeGreaterThan(0);
    expect(result.rateLimited).toBeGreaterThan(0);
    expect(held(emulator)).toEqual(expected(rows));
    expect(emulator.stats.maxRowsSeen).toBe(2);
  });

  it('stops on a flagged audience and on a bad token, with what to do', async () => {
    const flagged = await setup(people(5), { flagged: [AUDIENCE] });
    const stopped = await flagged.harness.sync('s');
    expect(stopped.status).toBe('failed');
    expect(stopped.error).toMatch(/code 100\/1713230.*flagged/);
    expect(held(flagged.emulator).size).toBe(0);

    const bad = await setup(people(5), {}, { access_token: 'EAAB-wrong' });
    const denied = await bad.harness.sync('s');
    expect(denied.status).toBe('failed');
    expect(denied.error).toMatch(/code 190.*access_token/);
    expect(denied.error).not.toContain('EAAB-wrong');
  });
});

describe('meta emulator: the real contract', () => {
  let emulator: MetaEmulator;
  afterEach(() => emulator.close());

  it('counts rows that are not hashed as invalid entries and never adds them; refuses oversized payloads', async () => {
    emulator = await startMetaEmulator({ maxRows: 3 });
    const post = (data: string[][]) =>
      fetch(`${emulator.endpoint}/v23.0/${AUDIENCE}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ access_token: emulator.accessToken, payload: { schema: ['EMAIL', 'EXTERN_ID'], data } }) });
    const answer = await post([[sha('a@x.com'), '1'], ['b@x.com', '2'], [sha('C@X.COM').toUpperCase(), '3']]);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ num_received: 3, num_invalid_entries: 2 });
    expect([...emulator.records(AUDIENCE).keys()]).toEqual(['1']);
    expect(emulator.stats.unhashedValues).toBe(2);
    expect((await post([['', '1'], ['', '2'], ['', '3'], ['', '4']])).status).toBe(400);
  });

  it('errors map to the engine\'s typed failures', () => {
    const request = { method: 'POST' as const, url: `https://graph.facebook.com/v23.0/${AUDIENCE}/users` };
    const response = (status: number, error: Record<string, unknown>, headers: Record<string, string> = {}) => ({ status, headers: new Headers(headers), text: JSON.stringify({ error: { message: 'm', type: 'OAuthException', fbtrace_id: 'x', ...error } }) });
    for (const code of [4, 17, 613, 80004]) {
      const usage = JSON.stringify({ act_1: [{ type: 'custom_audience', call_count: 100, total_cputime: 1, total_time: 1, estimated_time_to_regain_access: 2 }] });
      const error = metaError(request, response(400, { code }, { 'x-business-use-case-usage': usage }));
      expect(error, String(code)).toBeInstanceOf(RateLimitedError);
      expect((error as RateLimitedError).retryAfterMs).toBe(120_000);
    }
    expect(metaError(request, response(400, { code: 100, error_subcode: 1713230 }))).toBeInstanceOf(StopSyncError);
    expect(metaError(request, response(400, { code: 190 }))).toBeInstanceOf(AuthError);
    expect(metaError(request, response(500, { code: 2 }))).toBeInstanceOf(TransientError);
    expect(metaError(request, response(400, { code: 100 }))).toBeInstanceOf(BatchRejectedError);
  });
});
