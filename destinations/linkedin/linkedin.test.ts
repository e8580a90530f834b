import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { audienceRoundTrip, captureLogger, expectNoPersonalData, harnessPerTest, heldRecords, startAudienceHarness, syncThenRemove } from '../../test/support/ads.js';
import { createLogger } from '../../src/log/logger.js';
import { people, type Person } from '../../test/support/sync-harness.js';
import { AuthError, BatchRejectedError, RateLimitedError, StopSyncError, TransientError } from '../destination.js';
import { linkedin, linkedinError } from './adapter.js';
import { startLinkedInEmulator, type LinkedInEmulator, type LinkedInEmulatorOptions } from './emulator.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** A session as `tideline forget` opens it. */
const erasureContext = { sync: 's', runId: 'forget-1', mode: 'audience' as const, keyField: 'customer_id', nullPolicy: 'skip' as const, fields: [{ name: 'email', type: undefined }], planned: { added: 0, changed: 0, removed: 1 }, erasure: true, root: '/', logger: createLogger({ level: 'silent' }), warehouse: () => Promise.reject(new Error('no warehouse')) };
const SEGMENT = '700001';
/** What the segment should hold for these people: their hashed e-mails. */
const expected = (rows: readonly Person[]) => new Map(rows.map((p) => [sha(p.email!), { SHA256_EMAIL: sha(p.email!) }]));

describe('linkedin through the sync engine', () => {
  const started = harnessPerTest<LinkedInEmulator>();

  async function setup(rows: readonly Person[], options: LinkedInEmulatorOptions = {}, config: Record<string, unknown> = {}, object = SEGMENT) {
    const emulator = await startLinkedInEmulator({ recordBodies: true, ...options });
    const destination = { name: 'li', type: 'linkedin', endpoint: emulator.endpoint, oauth_endpoint: emulator.endpoint, access_token: emulator.accessToken, retries: { attempts: 3, base_ms: 10, max_ms: 50 }, ...config };
    return started(emulator, () => startAudienceHarness(destination, { object, key: { from: 'id', field: 'customer_id' }, fields: { email: 'email' } }, rows));
  }

  const held = (emulator: LinkedInEmulator, segment = SEGMENT) => heldRecords(emulator.records(segment));

  it('adds hashed e-mails with every header LinkedIn requires; reruns send nothing; leavers are removed by their kept hash', async () => {
    const { emulator, harness } = await setup(people(10));
    const capture = captureLogger();
    const next = await audienceRoundTrip(harness, capture.logger, () => held(emulator), expected, () => {
      const batch = emulator.bodies.find((b) => b.startsWith('POST /rest/dmpSegments/700001/users'))!;
      expect(batch).toMatch(/"linkedin-version":"202607"/);
      expect(batch).toMatch(/"x-restli-protocol-version":"2.0.0"/);
      expect(batch).toMatch(/"x-restli-method":"BATCH_CREATE"/);
    });
    // Privacy: the state keeps the hash; no request and no log line holds an address or the token.
    await expectNoPersonalData(harness, capture, emulator, next, { email: sha('person1@example.com') });
  });

  it('erasure removes each member by the SHA-256 the snapshot kept (never the address); asking again is answered 201 and accepted', async () => {
    const { emulator, harness } = await setup(people(5));
    await syncThenRemove(harness, 5, ['2', '4']);
    const request = emulator.bodies.at(-1)!.split('\n');
    expect(request[0]).toBe(`POST /rest/dmpSegments/${SEGMENT}/users`);
    expect(request[1]).toMatch(/"x-restli-method":"BATCH_CREATE"/);
    expect(JSON.parse(request[2]!)).toEqual({
      elements: [
        { action: 'REMOVE', userIds: [{ idType: 'SHA256_EMAIL', idValue: sha('person2@example.com') }] },
        { action: 'REMOVE', userIds: [{ idType: 'SHA256_EMAIL', idValue: sha('person4@example.com') }] },
      ],
    });
    expect(held(emulator)).toEqual(expected(people(5).filter((p) => p.id !== 2 && p.id !== 4)));
    // USERS: "a 201 Created HTTP status code is returned if you … remove an already deleted ID".
    const exchanges = emulator.server.recordExchanges();
    const again = await harness.erase('s', ['2', '4']);
    expect(again.outcomes.every((o) => o.ok)).toBe(true);
    expect(exchanges().at(-1)?.response).toEqual({ elements: [{ status: 201 }, { status: 201 }] });
    expect(held(emulator).size).toBe(3);
  });

  it('an erasure finding no segment (deleted since, or a name never created) sends nothing, creates nothing, and is accepted', async () => {
    const emulator = await startLinkedInEmulator({ openSegments: false, adAccountId: '512' });
    try {
      const config = linkedin.configSchema.parse({ endpoint: emulator.endpoint, access_token: emulator.accessToken, ad_account_id: '512', source_platform: 'TIDELINE' });
      for (const object of ['700999', 'Gone customers']) {
        const session = await linkedin.open(config, { ...erasureContext, object });
        await session.check();
        const records = [{ key: '3', fields: { email: sha('person3@example.com') }, destinationId: null, idempotencyKey: 'e-3' }];
        expect(await session.apply({ object, operation: 'remove', keyField: 'customer_id', records, signal: AbortSignal.timeout(5000), idempotencyKey: 'e' })).toEqual([{ ok: true }]);
      }
      expect(emulator.stats.segmentsCreated).toBe(0);
      expect(emulator.server.count(201)).toBe(0);
    } finally {
      await emulator.close();
    }
  });

  it('a version LinkedIn no longer serves stops the sync after one request, naming the cause and the fix', async () => {
    const { emulator, harness } = await setup(people(5), {}, { api_version: '202511' });
    const result = await harness.sync('s');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/426 NONEXISTENT_VERSION.*cause: LinkedIn no longer serves Marketing API version 202511 \(sunset 2026-11-16\)\. Fix: set the destination's api_version/);
    expect(emulator.server.requests).toBe(1);
    expect(emulator.stats.versionRefusals).toBe(1);
    expect(held(emulator).size).toBe(0);
    expect(await harness.engine().store.snapshotSize('s')).toBe(0);
  });

  it('a permission refusal (no rw_dmp_segments, or a VIEWER role) stops the sync after one request, naming the cause and the fix', async () => {
    for (const options of [{ scopes: ['r_ads'] }, { role: 'VIEWER' as const }]) {
      const { emulator, harness } = await setup(people(5), options);
      const result = await harness.sync('s');
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(/403 ACCESS_DENIED: cause: permission .*Fix: .*rw_dmp_segments.*VIEWER/);
      // check() reads the segment (allowed to a VIEWER); the first write is refused and nothing follows it.
      expect(emulator.stats.permissionRefusals).toBe(1);
      expect(emulator.server.count(403)).toBe(1);
      expect(emulator.server.requests).toBe(options.role ? 2 : 1);
      expect(held(emulator).size).toBe(0);
    }
  });

  it('a bad token is a credentials failure; an expired one renews from the refresh token once and the run goes on', async () => {
    const bad = await setup(people(3), {}, { access_token: 'AQV-wrong' });
    const denied = await bad.harness.sync('s');
    expect(denied.status).toBe('failed');
    expect(denied.error).toMatch(/refused access_token \(401\), which cannot be renewed/);
    expect(denied.error).not.toContain('AQV-wrong');

    const refresh = { clientId: 'app-1', clientSecret: 'shh-secret', refreshToken: 'AQX-refresh' };
    const { emulator, harness } = await setup(people(4), { refresh }, { refresh_token: refresh.refreshToken, client_id: refresh.clientId, client_secret: refresh.clientSecret });
    emulator.expireInitialToken();
    const result = await harness.sync('s');
    expect(result).toMatchObject({ status: 'success', accepted: 4 });
    expect(emulator.stats.refreshes).toBe(1);
    expect(emulator.server.count(401)).toBe(1);
    expect(held(emulator)).toEqual(expected(people(4)));
  });

  it('a segment named by the sync is created in the ad account once, given LinkedIn\'s time to become ready, and found afterwards', async () => {
    const { emulator, harness } = await setup(people(6), { openSegments: false, adAccountId: '512', readyAfterMs: 300 }, { ad_account_id: '512', source_platform: 'TIDELINE', segment_ready_seconds: 0.3 }, 'Best customers');
    const first = await harness.sync('s');
    expect(first.status).toBe('success');
    expect(emulator.stats.segmentsCreated).toBe(1);
    const [id, segment] = [...emulator.segments][0]!;
    expect(segment).toMatchObject({ name: 'Best customers', type: 'USER', account: 'urn:li:sponsoredAccount:512', sourcePlatform: 'TIDELINE' });
    expect(held(emulator, id)).toEqual(expected(people(6)));
    // The wait is LinkedIn's rule, enforced by the emulator: without it the first users batch would answer 404.
    expect(emulator.server.count(404)).toBe(0);
    await harness.setRows(people(8));
    expect((await harness.sync('s')).status).toBe('success');
    expect(emulator.stats.segmentsCreated).toBe(1);
    expect(held(emulator, id)).toEqual(expected(people(8)));
  });

  it('declares its API version with the published sunset, and refuses plain-text fields and an e-mail key at load time', () => {
    const config = (v?: string) => linkedin.configSchema.parse({ access_token: 't', ...(v ? { api_version: v } : {}) });
    expect(linkedin.apiVersion!(config())).toMatchObject({ version: '202607', sunset: '2027-07-01' });
    expect(linkedin.apiVersion!(config('202603'))).toMatchObject({ version: '202603', sunset: '2027-03-16', source: expect.stringContaining('migrations') });
    const problems = linkedin.checkSync!(config(), { object: 'Prospects', mode: 'audience', keyField: 'email', fields: ['first_name'] }, { targets: [] });
    expect(problems.map((p) => p.at.join('.'))).toEqual(['object', 'fields.first_name', 'key']);
    expect(linkedin.configSchema.safeParse({ refresh_token: 'r' }).success).toBe(false);
  });
});

describe('linkedin errors', () => {
  const request = { method: 'POST' as const, url: 'https://api.linkedin.com/rest/dmpSegments/1/users' };
  const response = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => ({ status, headers: new Headers(headers), text: JSON.stringify({ status, ...body }) });
  it('map to the engine\'s typed failures', () => {
    const context = { version: '202607' };
    expect(linkedinError(request, response(401, { serviceErrorCode: 65600, message: 'Invalid access token' }), context)).toBeInstanceOf(AuthError);
    expect(linkedinError(request, response(403, { code: 'ACCESS_DENIED', message: 'Not enough permissions' }), context)).toBeInstanceOf(StopSyncError);
    expect(linkedinError(request, response(426, { code: 'NONEXISTENT_VERSION', message: 'Requested version 20251101 is not active' }), context)).toBeInstanceOf(StopSyncError);
    const limited = linkedinError(request, response(429, { message: 'throttle' }, { 'retry-after': '7' }), context);
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterMs).toBe(7000);
    expect(linkedinError(request, response(503, { message: 'x' }), context)).toBeInstanceOf(TransientError);
    expect(linkedinError(request, response(404, { message: 'x' }), { ...context, segmentJustCreated: true })).toBeInstanceOf(TransientError);
    expect(linkedinError(request, response(404, { message: 'x' }), context)).toBeInstanceOf(StopSyncError);
    const refused = linkedinError(request, response(400, { message: 'bad a@b.com' }), context);
    expect(refused).toBeInstanceOf(BatchRejectedError);
    expect(refused.message).not.toContain('a@b.com');
  });
});

describe('linkedin emulator: a resumed sandbox', () => {
  it('keeps the segments with their members, so that a segment named by a sync is found again', async () => {
    const first = await startLinkedInEmulator({ openSegments: false, adAccountId: '512' });
    const created = await fetch(`${first.endpoint}/rest/dmpSegments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.accessToken}`, 'linkedin-version': '202607', 'x-restli-protocol-version': '2.0.0', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Prospects', account: 'urn:li:sponsoredAccount:512', type: 'USER', sourcePlatform: 'TIDELINE', accessPolicy: 'PRIVATE', destinations: [{ destination: 'LINKEDIN' }] }),
    });
    const id = created.headers.get('x-restli-id')!;
    const saved = await first.save();
    await first.close();
    const second = await startLinkedInEmulator({ openSegments: false, saved, accessToken: first.accessToken });
    try {
      expect(second.segments.get(id)).toMatchObject({ name: 'Prospects' });
    } finally {
      await second.close();
    }
  });
});
