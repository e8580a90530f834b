import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { audienceRoundTrip, captureLogger, expectNoPersonalData, harnessPerTest, heldRecords, startAudienceHarness, syncThenRemove } from '../../test/support/ads.js';
import { createLogger } from '../../src/log/logger.js';
import { people, type Person } from '../../test/support/sync-harness.js';
import { AuthError, BatchRejectedError, RateLimitedError, StopSyncError, TransientError } from '../destination.js';
import { tiktok, tiktokError } from './adapter.js';
import { startTikTokEmulator, type TikTokEmulator, type TikTokEmulatorOptions } from './emulator.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const AUDIENCE = '1800000001';
/** What the audience should hold for these people: members keyed by their hashed e-mail. */
const expected = (rows: readonly Person[]) => new Map(rows.map((p) => [sha(p.email!), { EMAIL_SHA256: sha(p.email!) }]));

describe('tiktok through the sync engine', () => {
  const started = harnessPerTest<TikTokEmulator>();

  async function setup(rows: readonly Person[], options: TikTokEmulatorOptions = {}, config: Record<string, unknown> = {}, object = AUDIENCE) {
    const emulator = await startTikTokEmulator({ recordBodies: true, ...options });
    const destination = { name: 'tt', type: 'tiktok', endpoint: emulator.endpoint, advertiser_id: emulator.advertiserId, access_token: emulator.accessToken, retries: { attempts: 3, base_ms: 10, max_ms: 50 }, ...config };
    return started(emulator, () => startAudienceHarness(destination, { object, key: { from: 'id', field: 'customer_id' }, fields: { email: 'email' } }, rows));
  }

  const held = (emulator: TikTokEmulator, audience = AUDIENCE) => heldRecords(emulator.records(audience));

  it('maps hashed e-mails in with the v1.3 mapping request; reruns send nothing; leavers are mapped out by their kept hash', async () => {
    const { emulator, harness } = await setup(people(10));
    const capture = captureLogger();
    const next = await audienceRoundTrip(harness, capture.logger, () => held(emulator), expected, () => {
      const mapping = emulator.bodies.find((b) => b.startsWith('POST /open_api/v1.3/segment/mapping/'))!;
      const body = JSON.parse(mapping.split('\n')[2]!) as { advertiser_ids: string[]; action: string; id_schema: string[]; batch_data: unknown[][] };
      expect(body).toMatchObject({ advertiser_ids: [emulator.advertiserId], action: 'add', id_schema: ['EMAIL_SHA256'] });
      expect(body.batch_data[0]).toEqual([{ id: sha('person1@example.com'), audience_ids: [AUDIENCE] }]);
    });
    // The recorded requests carry the access-token header: bodies are checked without it.
    const bodies = emulator.bodies.map((b) => b.replace(emulator.accessToken, ''));
    await expectNoPersonalData(harness, capture, { bodies, accessToken: emulator.accessToken, stats: emulator.stats }, next, { email: sha('person1@example.com') });
  });

  it('erasure maps each member out by the hashes the snapshot kept (a delete mapping, no address); asking again is accepted', async () => {
    const { emulator, harness } = await setup(people(5));
    await syncThenRemove(harness, 5, ['2', '4']);
    const [line, , body] = emulator.bodies.at(-1)!.split('\n');
    expect(line).toMatch(/^POST \/open_api\/v1\.3\/segment\/mapping\/\??$/);
    // The erasure's session maps no fields: the request names the id types the kept hashes are of.
    expect(JSON.parse(body!)).toEqual({
      advertiser_ids: [emulator.advertiserId],
      action: 'delete',
      id_schema: ['EMAIL_SHA256'],
      batch_data: [[{ id: sha('person2@example.com'), audience_ids: [AUDIENCE] }], [{ id: sha('person4@example.com'), audience_ids: [AUDIENCE] }]],
    });
    expect(held(emulator)).toEqual(expected(people(5).filter((p) => p.id !== 2 && p.id !== 4)));
    const again = await harness.erase('s', ['2', '4']);
    expect(again.outcomes.every((o) => o.ok)).toBe(true);
    expect(held(emulator).size).toBe(3);
  });

  it('an erasure sends every id the snapshot kept, even of a field no longer mapped; finding no audience, it sends nothing and creates nothing', async () => {
    const emulator = await startTikTokEmulator({ openAudiences: false, recordBodies: true });
    try {
      const config = tiktok.configSchema.parse({ endpoint: emulator.endpoint, access_token: emulator.accessToken, advertiser_id: emulator.advertiserId });
      const context = { sync: 's', runId: 'forget-1', mode: 'audience' as const, keyField: 'customer_id', nullPolicy: 'skip' as const, fields: [{ name: 'email', type: undefined }], planned: { added: 0, changed: 0, removed: 1 }, erasure: true, root: '/', logger: createLogger({ level: 'silent' }), warehouse: () => Promise.reject(new Error('no warehouse')) };
      const records = [{ key: '3', fields: { email: sha('person3@example.com'), phone: sha('+33612345678') }, destinationId: null, idempotencyKey: 'e-3' }];
      const remove = (object: string) => ({ object, operation: 'remove' as const, keyField: 'customer_id', records, signal: AbortSignal.timeout(5000), idempotencyKey: 'e' });
      for (const object of ['1800000999', 'Gone customers']) {
        const session = await tiktok.open(config, { ...context, object });
        await session.check();
        expect(await session.apply(remove(object))).toEqual([{ ok: true }]);
      }
      expect(emulator.stats.audiencesCreated).toBe(0);
      expect(emulator.bodies.filter((b) => b.includes('/segment/'))).toEqual([]);
      // An audience that exists: the kept phone hash is removed too, although the sync maps only email now.
      const created = await tiktok.open(config, { ...context, object: 'Still here', erasure: false });
      await created.check();
      const audience = [...emulator.audiences.keys()][0]!;
      const session = await tiktok.open(config, { ...context, object: audience });
      expect(await session.apply(remove(audience))).toEqual([{ ok: true }]);
      const mapping = JSON.parse(emulator.bodies.at(-1)!.split('\n')[2]!) as { id_schema: string[] };
      expect(mapping.id_schema).toEqual(['EMAIL_SHA256', 'PHONE_SHA256']);
    } finally {
      await emulator.close();
    }
  });

  it('a version TikTok no longer serves stops the sync after one request, naming the cause and the fix', async () => {
    const { emulator, harness } = await setup(people(5), {}, { api_version: 'v1.2' });
    const result = await harness.sync('s');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/answered 404: cause: TikTok does not serve API v1\.2 \(retired on 2023-08-12\)\. Fix: set the destination's api_version to v1\.3/);
    expect(emulator.server.requests).toBe(1);
    expect(emulator.stats.versionRefusals).toBe(1);
    expect(await harness.engine().store.snapshotSize('s')).toBe(0);
  });

  it('a permission refusal (40001: no Audience Management, or another advertiser) stops the sync after one request, naming the cause and the fix', async () => {
    for (const [options, config] of [[{ scopes: [] }, {}], [{}, { advertiser_id: '7000000000000000999' }]] as const) {
      const { emulator, harness } = await setup(people(5), options, config);
      const result = await harness.sync('s');
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(/code 40001: cause: permission .*Fix: .*Audience Management/);
      expect(emulator.server.requests).toBe(1);
      expect(emulator.stats.permissionRefusals).toBe(1);
      expect(held(emulator).size).toBe(0);
    }
  });

  it('a bad token is a credentials failure (40105), never printed', async () => {
    const { harness } = await setup(people(3), {}, { access_token: 'wrong-token-value' });
    const result = await harness.sync('s');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/code 40105.*authentication/);
    expect(result.error).not.toContain('wrong-token-value');
  });

  it('an audience named by the sync is created once as an audience segment and found by name afterwards', async () => {
    const { emulator, harness } = await setup(people(6), { openAudiences: false }, {}, 'Winback');
    expect((await harness.sync('s')).status).toBe('success');
    expect(emulator.stats.audiencesCreated).toBe(1);
    const [id, audience] = [...emulator.audiences][0]!;
    expect(audience).toMatchObject({ name: 'Winback' });
    expect(held(emulator, id)).toEqual(expected(people(6)));
    await harness.setRows(people(9));
    expect((await harness.sync('s')).status).toBe('success');
    expect(emulator.stats.audiencesCreated).toBe(1);
    expect(held(emulator, id)).toEqual(expected(people(9)));
  });

  it('declares v1.3 with no sunset announced; refuses unknown fields and an e-mail key at load time', () => {
    const config = tiktok.configSchema.parse({ access_token: 't', advertiser_id: '1' });
    expect(tiktok.apiVersion!(config)).toMatchObject({ version: 'v1.3', sunset: undefined });
    expect(tiktok.apiVersion!({ ...config, api_version: 'v1.2' })).toMatchObject({ sunset: '2023-08-12' });
    const problems = tiktok.checkSync!(config, { object: '1', mode: 'audience', keyField: 'phone', fields: ['idfa'] }, { targets: [] });
    expect(problems.map((p) => p.at.join('.'))).toEqual(['fields.idfa', 'key']);
  });
});

describe('tiktok errors', () => {
  const request = { method: 'POST' as const, url: 'https://business-api.tiktok.com/open_api/v1.3/segment/mapping/' };
  const answer = (code: number, message = 'm') => ({ status: 200, headers: new Headers(), text: '' , envelope: { code, message, request_id: 'r', data: {} } });
  it('map to the engine\'s typed failures', () => {
    const context = { version: 'v1.3', advertiser: '1' };
    const error = (code: number, message?: string) => {
      const a = answer(code, message);
      return tiktokError(request, a, a.envelope, context);
    };
    for (const code of [40102, 40104, 40105]) expect(error(code), String(code)).toBeInstanceOf(AuthError);
    expect(error(40001)).toBeInstanceOf(StopSyncError);
    expect(error(40100)).toBeInstanceOf(RateLimitedError);
    expect(error(50000)).toBeInstanceOf(TransientError);
    const refused = error(40002, 'bad id for x@y.com');
    expect(refused).toBeInstanceOf(BatchRejectedError);
    expect(refused.message).not.toContain('x@y.com');
    expect(tiktokError({ method: 'GET', url: 'https://business-api.tiktok.com/open_api/v1.2/dmp/custom_audience/get/' }, { status: 404, headers: new Headers(), text: '404 page not found' }, undefined, { version: 'v1.2', advertiser: '1' })).toBeInstanceOf(StopSyncError);
  });
});

describe('tiktok emulator: a resumed sandbox', () => {
  it('keeps the audiences with their members, so that an audience named by a sync is found again', async () => {
    const first = await startTikTokEmulator({ openAudiences: false });
    const create = await fetch(`${first.endpoint}/open_api/v1.3/segment/audience/`, { method: 'POST', headers: { 'access-token': first.accessToken, 'content-type': 'application/json' }, body: JSON.stringify({ advertiser_id: first.advertiserId, action: 'create', custom_audience_name: 'Winback' }) });
    const id = ((await create.json()) as { data: { audience_id: string } }).data.audience_id;
    const saved = await first.save();
    await first.close();
    const second = await startTikTokEmulator({ openAudiences: false, saved, accessToken: first.accessToken });
    try {
      expect([...second.audiences.values()]).toEqual([expect.objectContaining({ audience_id: id, name: 'Winback' })]);
    } finally {
      await second.close();
    }
  });
});
