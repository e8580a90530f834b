import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureLogger, snapshotRetained } from '../../test/support/ads.js';
import { people, SyncHarness, type Person } from '../../test/support/sync-harness.js';
import type { ConfigError } from '../../src/project/problems.js';
import { AuthError, BatchRejectedError, RateLimitedError, StopSyncError, TransientError, type Batch, type DestinationSession, type OutboundRecord } from '../destination.js';
import { contractEvents } from '../emulator-kit/contract.js';
import { sessionContext } from '../emulator-kit/session-context.js';
import { kit } from './contract.js';
import { destinationType } from '../index.js';
import { googleAds, googleError } from './adapter.js';
import { startGoogleAdsEmulator, type GoogleAdsEmulator, type GoogleAdsEmulatorOptions } from './emulator.js';
import { BAD_REQUEST, DUPLICATE_TRANSACTION_ID, ERROR_INFO, EVENT_TOO_OLD, RETRY_INFO } from './protocol.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const LIST = 'user_lists/100';
/** The members Google should hold for these people: their normalised, hashed e-mails. */
const hashedEmails = (rows: readonly Person[]) => rows.map((p) => sha(p.email!.trim().toLowerCase())).sort();
/** A day `n` days ago (YYYY-MM-DD): conversions older than Google takes (90 days) are dropped, so tests use recent ones. */
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

describe('google_ads (Data Manager API) through the sync engine', () => {
  const open: { emulator?: GoogleAdsEmulator; harness?: SyncHarness; server?: Server }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.harness?.close();
      if (o.emulator) expect(o.emulator.schemaErrors).toEqual([]);
      await o.emulator?.close();
      await new Promise((resolve) => (o.server ? o.server.close(resolve) : resolve(undefined)));
    }
  });

  async function setup(rows: readonly Person[], options: GoogleAdsEmulatorOptions = {}, config: (e: GoogleAdsEmulator) => Record<string, unknown> = () => ({}), sync: Record<string, unknown> = {}) {
    const emulator = await startGoogleAdsEmulator({ recordBodies: true, ...options });
    const slot: (typeof open)[number] = { emulator };
    open.push(slot);
    const { clientId, clientSecret, refreshToken, customerId } = emulator.oauth;
    const harness = await SyncHarness.start({
      destinations: [
        {
          name: 'ads',
          type: 'google_ads',
          endpoint: emulator.endpoint,
          token_url: emulator.tokenUrl,
          customer_id: `${customerId.slice(0, 3)}-${customerId.slice(3, 6)}-${customerId.slice(6)}`,
          credentials: { refresh_token: refreshToken, client_id: clientId, client_secret: clientSecret },
          customer_match_terms: 'accepted',
          status_poll_seconds: 0.01,
          requests_per_second: 1000,
          retries: { attempts: 4, base_ms: 10, max_ms: 100 },
          ...config(emulator),
        },
      ],
      syncs: [{ name: 's', model: 'people', destination: 'ads', object: LIST, mode: 'audience', key: { from: 'id', field: 'customer_id' }, fields: { email: 'email' }, ...sync }],
      rows,
    });
    slot.harness = harness;
    return { emulator, harness };
  }

  const members = (emulator: GoogleAdsEmulator, list = LIST) => [...emulator.records(list).keys()].sort();

  it('ingests members, removes leavers by the hashes kept in the snapshot, sends nothing on a rerun, and leaks no raw e-mail', async () => {
    const { emulator, harness } = await setup(people(10));
    const capture = captureLogger();
    const first = await harness.sync('s', {}, { logger: capture.logger });
    expect(first).toMatchObject({ status: 'success', accepted: 10, requests: 1 });
    expect(first.details).toMatchObject({ api: 'Data Manager API v1', uploads: 1, statuses: { SUCCESS: 1 } });
    expect(members(emulator)).toEqual(hashedEmails(people(10)));

    const before = emulator.stats.apiRequests;
    expect((await harness.sync('s')).requests).toBe(0);
    expect(emulator.stats.apiRequests).toBe(before);

    const next = [...people(7), ...people(2, 50)];
    await harness.setRows(next);
    const third = await harness.sync('s', {}, { logger: capture.logger });
    expect(third.counts).toMatchObject({ added: 2, removed: 3 });
    expect(third).toMatchObject({ status: 'success', details: { uploads: 2, statuses: { SUCCESS: 2 } } });
    expect(members(emulator)).toEqual(hashedEmails(next));
    // The removal sent the hashes the snapshot kept, never an address.
    const removal = emulator.bodies.find((b) => b.includes('"audienceMembers"') && !b.includes('termsOfService'))!;
    const removed = (JSON.parse(removal) as { audienceMembers: unknown[] }).audienceMembers;
    expect(removed).toHaveLength(3);
    expect(removed).toEqual(expect.arrayContaining(people(10).slice(7).map((p) => ({ userData: { userIdentifiers: [{ emailAddress: sha(p.email!) }] } }))));

    const retained = await snapshotRetained(harness, 's');
    expect(retained.get('1')).toEqual({ email: sha('person1@example.com') });
    const seen = [...emulator.bodies, ...capture.lines, JSON.stringify([...retained])].join('\n');
    expect(capture.lines.length).toBeGreaterThan(1);
    for (const p of [...people(10), ...next]) expect(seen).not.toContain(p.email!);
  });

  it('erases a person (tideline forget) with audienceMembers:remove of the hashes the snapshot kept, never the key; again, Google processes it as any removal', async () => {
    const { emulator, harness } = await setup(people(4));
    expect((await harness.sync('s')).accepted).toBe(4);
    const exchanges = emulator.server.recordExchanges();
    const erased = await harness.erase('s', ['2']);
    expect(erased.plan).toEqual({ operation: 'remove', method: expect.stringContaining('POST /v1/audienceMembers:remove') });
    expect(erased.outcomes).toEqual([{ key: '2', ok: true }]);
    const removals = exchanges().filter((x) => x.method === 'POST' && x.path === '/v1/audienceMembers:remove');
    expect(removals).toHaveLength(1);
    // The erasure session knows no mapping: the identifiers are those the snapshot kept, already hashed, and the
    // customer id (the sync key) is not sent.
    const person = people(4)[1]!;
    const retained = await snapshotRetained(harness, 's');
    expect(retained.get('2')).toEqual({ email: sha(person.email!) });
    expect(removals[0]!.request).toEqual({
      destinations: [expect.objectContaining({ productDestinationId: '100' })],
      audienceMembers: [{ userData: { userIdentifiers: [{ emailAddress: sha(person.email!) }] } }],
      encoding: 'HEX',
    });
    expect(members(emulator)).toEqual(hashedEmails(people(4).filter((p) => p.id !== 2)));
    // Someone the list no longer holds: accepted and processed (SUCCESS) like any removal, so the erasure completes.
    const again = await harness.erase('s', ['2']);
    expect(again.outcomes).toEqual([{ key: '2', ok: true }]);
    const statuses = exchanges().filter((x) => x.path === '/v1/requestStatus:retrieve').map((x) => JSON.stringify(x.response));
    expect(statuses.at(-1)).toContain('"requestStatus":"SUCCESS"');
    expect(exchanges().filter((x) => x.path === '/v1/audienceMembers:remove')).toHaveLength(2);
    expect(members(emulator)).toHaveLength(3);
  });

  it('conversions have no erasure through the API: the plan says what to do and cites the pages, and a removal or forget batch is refused before any request', async () => {
    const config = googleAds.configSchema.parse({ customer_id: '1234567890' });
    expect(googleAds.erasure!(config, { object: 'conversion_actions/200', mode: 'events' })).toEqual({ manual: expect.stringMatching(/cannot delete or retract .*conversion-adjustments.*support\.google\.com/) });
    expect(googleAds.erasure!(config, { object: 'conversion_actions/200', mode: 'insert' })).toHaveProperty('manual');
    const emulator = await startGoogleAdsEmulator({ recordBodies: true });
    open.push({ emulator });
    const { clientId, clientSecret, refreshToken, customerId } = emulator.oauth;
    const parsed = googleAds.configSchema.parse({ customer_id: customerId, endpoint: emulator.endpoint, token_url: emulator.tokenUrl, credentials: { refresh_token: refreshToken, client_id: clientId, client_secret: clientSecret } });
    const session = await googleAds.open(parsed, sessionContext({ object: 'conversion_actions/200', mode: 'events', keyField: 'transaction_id' }));
    const record: OutboundRecord = { key: 'order-1', fields: { email: sha('a@example.com') }, destinationId: null, idempotencyKey: 'ik' };
    for (const operation of ['remove', 'forget'] as const) {
      await expect(session.apply({ object: 'conversion_actions/200', operation, keyField: 'transaction_id', records: [record], signal: AbortSignal.timeout(10_000), idempotencyKey: 'b' })).rejects.toThrow(StopSyncError);
    }
    expect(emulator.stats.apiRequests).toBe(0);
    expect(emulator.bodies).toHaveLength(0);
  });

  it('fast-fail: the members Google refuses are rejected with its reason, the others sent again and accepted', async () => {
    const bad = new Set([sha('person7@example.com'), sha('person23@example.com')]);
    const { emulator, harness } = await setup(people(30), { reject: (r) => ('userData' in r && r.userData?.userIdentifiers.some((i) => 'emailAddress' in i && bad.has(i.emailAddress)) ? 'INVALID_AUDIENCE_MEMBER' : undefined) });
    const result = await harness.sync('s');
    expect(result).toMatchObject({ status: 'partial', accepted: 28, rejected: 2, requests: 1 });
    // One refused request naming both members, then one that passed: no halving.
    expect(emulator.server.count(400)).toBe(1);
    expect(members(emulator)).toEqual(hashedEmails(people(30).filter((p) => p.id !== 7 && p.id !== 23)));
    const rejected = await harness.engine().store.rejectedRows('s', 10);
    expect(rejected.map((r) => [r['record_key'], r['error_code'], r['retryable']]).sort()).toEqual([
      ['23', 'invalid_audience_member', false],
      ['7', 'invalid_audience_member', false],
    ]);
    expect((await harness.sync('s')).requests).toBe(0);
  });

  it('a full resync replaces the list: every member ingested again, then removeAll of those last added before the run', async () => {
    const { emulator, harness } = await setup(people(6), { processingMs: 150 });
    await harness.sync('s');
    expect(members(emulator)).toEqual(hashedEmails(people(6)));
    // Someone added a member by hand in Google Ads, a while ago: only a full resync brings the list back to the model.
    const stranger = sha('stranger@example.com');
    emulator.server.store.object(LIST).set(stranger, { emailAddress: [stranger] });
    emulator.setLastAdded(LIST, stranger, Date.now() - 86_400_000);
    const capture = captureLogger();
    const full = await harness.sync('s', { fullResync: true }, { logger: capture.logger });
    expect(full).toMatchObject({ status: 'success', accepted: 6, details: { statuses: { SUCCESS: 1 }, remove_all: { as_of: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) } } });
    // Google processes the removal asynchronously too (150 ms here; polled, as a loaded machine may take longer to look).
    await vi.waitFor(() => expect(members(emulator)).toEqual(hashedEmails(people(6))), { timeout: 10_000, interval: 50 });
    // removeAll was sent only once the upload was processed (150 ms), else the re-added members would have gone too.
    const removeAll = JSON.parse(emulator.bodies.find((b) => b.includes('removeAsOfTime'))!);
    expect(removeAll).toEqual({ destinations: [expect.objectContaining({ productDestinationId: '100' })], removeAsOfTime: (full.details as { remove_all: { as_of: string } }).remove_all.as_of });
  });

  it('a full resync whose uploads are still processing when status_wait_seconds ends removes nothing, and says so', async () => {
    const { emulator, harness } = await setup(people(4), { processingMs: 60_000 }, () => ({ status_wait_seconds: 0.2 }));
    const capture = captureLogger();
    const full = await harness.sync('s', { fullResync: true }, { logger: capture.logger });
    expect(full).toMatchObject({ status: 'success', details: { statuses: { PROCESSING: 1 } } });
    expect(full.details).not.toHaveProperty('remove_all');
    expect(emulator.bodies.some((b) => b.includes('removeAsOfTime'))).toBe(false);
    expect(capture.lines.join('\n')).toMatch(/still processing after status_wait_seconds .* not removed/);
  });

  it('sends predicted value as conversion value, matched by hashed user data or by gclid, once per transaction', async () => {
    const rows = people(5);
    const { emulator, harness } = await setup(rows, {}, () => ({}), {
      object: 'conversion_actions/777',
      mode: 'insert',
      key: { from: 'id', field: 'transaction_id' },
      fields: { email: 'email', conversion_date_time: { constant: `${daysAgo(30)}T10:00:00.000Z` }, conversion_value: 'orders', currency_code: { constant: 'eur' }, ad_user_data: { constant: 'true' } },
    });
    const result = await harness.sync('s');
    expect(result).toMatchObject({ status: 'success', accepted: 5, requests: 1, details: { statuses: { SUCCESS: 1 } } });
    expect(emulator.records('conversion_actions/777').get('3')).toEqual({
      transactionId: '3',
      eventTimestamp: `${daysAgo(30)}T10:00:00Z`,
      userData: { userIdentifiers: [{ emailAddress: sha('person3@example.com') }] },
      consent: { adUserData: 'CONSENT_GRANTED' },
      currency: 'EUR',
      conversionValue: 3,
      // Google requires a source for offline conversions; a sync that maps none says OTHER.
      eventSource: 'OTHER',
    });
    expect((await harness.sync('s')).requests).toBe(0);

    // By click id: a second sync of the same people to another action.
    const byClick = await setup(rows, {}, () => ({}), {
      object: 'conversion_actions/778',
      mode: 'insert',
      key: { from: 'id', field: 'transaction_id' },
      fields: { gclid: { from: 'first_name', transform: ['hash'] }, conversion_date_time: { constant: daysAgo(29) }, conversion_value: 'orders', currency_code: { constant: 'EUR' }, event_source: { constant: 'phone' } },
    });
    expect(await byClick.harness.sync('s')).toMatchObject({ status: 'success', accepted: 5 });
    expect(byClick.emulator.records('conversion_actions/778').get('4')).toEqual({ transactionId: '4', eventTimestamp: `${daysAgo(29)}T00:00:00Z`, adIdentifiers: { gclid: sha('Name 4') }, currency: 'EUR', conversionValue: 4, eventSource: 'PHONE' });
  });

  // ---- credentials ----

  it('a sync that outlives its access tokens renews them on its own', async () => {
    const { emulator, harness } = await setup(people(24), { tokenLifetimeSeconds: 1 }, () => ({ batch_size: 4, requests_per_second: 3 }));
    const result = await harness.sync('s');
    expect(result).toMatchObject({ status: 'success', accepted: 24, requests: 6 });
    // Six uploads over about two seconds with tokens that live one: several tokens, none used after its expiry.
    expect(emulator.stats.tokensIssued).toBeGreaterThanOrEqual(2);
    expect(emulator.stats.unauthenticated).toBe(0);
    expect(members(emulator)).toEqual(hashedEmails(people(24)));
  });

  it('a 401 renews the token once and sends that request again once', async () => {
    const { emulator, harness } = await setup(people(12), {}, () => ({ batch_size: 4 }));
    // Google revokes the live tokens after the second API request (the list read, then the first upload).
    const stop = emulator.server.observe(() => {
      if (emulator.stats.apiRequests === 2) emulator.revokeAccessTokens();
    });
    const result = await harness.sync('s');
    stop();
    expect(result).toMatchObject({ status: 'success', accepted: 12 });
    expect(emulator.stats.unauthenticated).toBe(1);
    expect(emulator.stats.tokensIssued).toBe(2);
    expect(members(emulator)).toEqual(hashedEmails(people(12)));
  });

  it('a renewal that fails stops the sync naming the credential, never its value', async () => {
    const { emulator, harness } = await setup(people(12), {}, () => ({ batch_size: 4 }));
    const stop = emulator.server.observe(() => {
      if (emulator.stats.apiRequests === 2) {
        emulator.revokeRefreshToken();
        emulator.revokeAccessTokens();
      }
    });
    const result = await harness.sync('s');
    stop();
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/credentials\.refresh_token \(400 invalid_grant: Token has been expired or revoked\.\): .*create a new one/);
    expect(result.error).not.toContain(emulator.oauth.clientSecret);
    // The first upload went through; the refused one was not recorded as sent, so the next run sends it and the rest.
    expect(result.accepted).toBe(4);
    expect(emulator.stats.apiRequests).toBe(3);
    expect(await harness.engine().store.snapshotSize('s')).toBe(4);
  });

  it('a service account key file gets its tokens by a signed JWT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-sa-'));
    const { emulator, harness } = await setup(people(3), {}, (e) => {
      writeFileSync(join(dir, 'key.json'), JSON.stringify(e.serviceAccountKey()));
      return { credentials: { key_file: join(dir, 'key.json') } };
    });
    expect(await harness.sync('s')).toMatchObject({ status: 'success', accepted: 3 });
    expect(emulator.stats.tokensIssued).toBe(1);
    expect(members(emulator)).toEqual(hashedEmails(people(3)));
  });

  it('Application Default Credentials are found as Google clients find them (GOOGLE_APPLICATION_CREDENTIALS)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-adc-'));
    const saved = process.env['GOOGLE_APPLICATION_CREDENTIALS'];
    try {
      const { emulator, harness } = await setup(people(3), {}, (e) => {
        const { clientId, clientSecret, refreshToken } = e.oauth;
        writeFileSync(join(dir, 'adc.json'), JSON.stringify({ type: 'authorized_user', client_id: clientId, client_secret: clientSecret, refresh_token: refreshToken }));
        process.env['GOOGLE_APPLICATION_CREDENTIALS'] = join(dir, 'adc.json');
        return { credentials: {} };
      });
      expect(await harness.sync('s')).toMatchObject({ status: 'success', accepted: 3 });
      expect(emulator.stats.tokensIssued).toBe(1);
    } finally {
      if (saved === undefined) delete process.env['GOOGLE_APPLICATION_CREDENTIALS'];
      else process.env['GOOGLE_APPLICATION_CREDENTIALS'] = saved;
    }
  });

  it('an access token given as it is cannot renew: its 401 stops the sync saying so', async () => {
    const { harness } = await setup(people(3), {}, () => ({ credentials: { access_token: 'ya29.expired-or-never-issued' } }));
    const result = await harness.sync('s');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/refused credentials\.access_token \(401\), which cannot be renewed/);
  });

  // ---- answers that stop the sync after one request ----

  it('a version Google switched off stops the sync after one request, naming it and the fix', async () => {
    // Google announces v1's end and switches it off: the emulator serves it no more, answering as Google's front end does.
    const { emulator, harness } = await setup(people(5), { versions: [{ version: 'v1', sunset: '2026-11-01', source: 'test' }], today: '2026-12-06' });
    const result = await harness.sync('s');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/answered 404 \(not an API answer\): Google does not serve Data Manager API v1 .*switched off.*Upgrade Tideline/);
    expect(emulator.stats.apiRequests).toBe(1);
    expect(await harness.engine().store.snapshotSize('s')).toBe(0);
  });

  it('an account not allowlisted stops the sync after one request, audience or conversions, with the cause and the fix', async () => {
    const audience = await setup(people(25), { allowlisted: false }, () => ({ batch_size: 5 }));
    const refused = await audience.harness.sync('s');
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatch(/answered 403 NOT_ALLOWLISTED: the account is not allowlisted .*ask Google/);
    expect(audience.emulator.stats.apiRequests).toBe(1);

    // Conversions read nothing first: the first upload is refused, and it is the only request (no halving, no retry).
    const conversions = await setup(people(25), { allowlisted: false }, () => ({ batch_size: 5 }), {
      object: 'conversion_actions/9',
      mode: 'insert',
      key: { from: 'id', field: 'transaction_id' },
      fields: { email: 'email', conversion_date_time: { constant: '2026-11-01' } },
    });
    const stopped = await conversions.harness.sync('s');
    expect(stopped).toMatchObject({ status: 'failed', accepted: 0, rejected: 0 });
    expect(stopped.error).toMatch(/NOT_ALLOWLISTED/);
    expect(conversions.emulator.stats.apiRequests).toBe(1);
  });

  it('credentials without access to the account stop the sync after one request (PERMISSION_DENIED)', async () => {
    const { emulator, harness } = await setup(people(5), { customerId: '9999999999' }, () => ({ customer_id: '1234567890' }));
    const result = await harness.sync('s');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/answered 403 PERMISSION_DENIED: the credentials may not write to this account/);
    expect(emulator.stats.apiRequests).toBe(1);
  });

  it('a request Google\'s schema refuses stops the sync after that one request (a field the vendor lacks)', async () => {
    // A proxy that adds to every identifier the Google Ads API's field name — what a careless port would send.
    let target = '';
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8').replace(/\{"emailAddress":/g, '{"hashedEmail":"x","emailAddress":');
        const to = new URL(target);
        const forward = httpRequest({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: { ...req.headers, 'content-length': Buffer.byteLength(body) } }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        forward.end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    open.push({ server: proxy });
    const { emulator, harness } = await setup(people(20), {}, (e) => {
      target = e.endpoint;
      return { endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, batch_size: 5 };
    });
    const result = await harness.sync('s');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/Google refused the request's shape \(Invalid JSON payload received\. Unknown name "hashedEmail" at 'audience_members\[0\]\.user_data\.user_identifiers\[0\]': Cannot find field\.\)/);
    expect(emulator.stats.schemaRefusals).toBe(1);
    // The list read, then the one refused upload.
    expect(emulator.stats.apiRequests).toBe(2);
  });

  it('refuses at load time what this destination cannot take, located, with what replaced old keys', async () => {
    const problems = (config: Record<string, unknown>, sync: Record<string, unknown> = {}) =>
      setup(people(1), {}, () => config, sync).then(
        () => [],
        (error: ConfigError) => error.problems.map((p) => p.message),
      );
    expect(await problems({}, { fields: { email: 'email', emial: 'email' } })).toEqual([expect.stringMatching(/^"emial" is not a field of Customer Match: .* \(did you mean "email"\?\)$/)]);
    expect(await problems({}, { key: { from: 'email', field: 'email' }, fields: { phone: 'first_name' } })).toEqual([expect.stringMatching(/^key the audience by a customer id/)]);
    expect(await problems({ customer_match_terms: undefined })).toEqual([expect.stringMatching(/Customer Match terms .* set `customer_match_terms: accepted`/)]);
    expect(await problems({ developer_token: 'abc' })).toEqual([expect.stringMatching(/needs no developer token .* remove developer_token/)]);
    expect(await problems({ api_version: 'v21' })).toEqual([expect.stringMatching(/^a Data Manager API version: v1 \(v21 was a Google Ads API version/)]);
    expect(await problems({ credentials: { refresh_token: 'r' } })).toEqual([expect.stringMatching(/client_id is missing/), expect.stringMatching(/client_secret is missing/)]);
    expect(await problems({ credentials: { key_file: 'k.json', access_token: 't' } })).toEqual([expect.stringMatching(/^give one way in/)]);
  });
});

describe('google_ads emulator: Google\'s contract', () => {
  let emulator: GoogleAdsEmulator;
  afterEach(async () => {
    expect(emulator.schemaErrors).toEqual([]);
    await emulator.close();
  });

  async function token(): Promise<string> {
    const { clientId, clientSecret, refreshToken } = emulator.oauth;
    const answer = await fetch(emulator.tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: refreshToken }) });
    return ((await answer.json()) as { access_token: string }).access_token;
  }
  async function call(path: string, body: unknown): Promise<{ status: number; body: { error?: { status?: string; message?: string; details?: { '@type': string; reason?: string; fieldViolations?: { field: string; reason?: string }[] }[] } } }> {
    const answer = await fetch(`${emulator.endpoint}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: answer.status, body: (await answer.json()) as never };
  }
  const destination = (id = '100') => ({ operatingAccount: { accountType: 'GOOGLE_ADS', accountId: emulator.oauth.customerId }, productDestinationId: id });
  const member = (...ids: object[]) => ({ userData: { userIdentifiers: ids } });
  const ingest = (audienceMembers: object[], extra: object = {}) => call('/audienceMembers:ingest', { destinations: [destination()], audienceMembers, encoding: 'HEX', termsOfService: { customerMatchTermsOfServiceStatus: 'ACCEPTED' }, ...extra });
  const reason = (r: Awaited<ReturnType<typeof call>>) => r.body.error?.details?.find((d) => d['@type'] === ERROR_INFO)?.reason;
  const violations = (r: Awaited<ReturnType<typeof call>>) => r.body.error?.details?.find((d) => d['@type'] === BAD_REQUEST)?.fieldViolations?.map((v) => [v.field, v.reason]);

  it('checks every request against the published message definitions: unknown fields, wrong types, missing required fields', async () => {
    emulator = await startGoogleAdsEmulator();
    // The Google Ads API's name for the hashed e-mail is not a Data Manager field.
    const unknown = await ingest([member({ hashedEmail: sha('a@x.com') })]);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error?.message).toBe('Invalid JSON payload received. Unknown name "hashedEmail" at \'audience_members[0].user_data.user_identifiers[0]\': Cannot find field.');
    const wrongEnum = await ingest([{ ...member({ emailAddress: sha('a@x.com') }), consent: { adUserData: 'GRANTED' } }]);
    expect(wrongEnum.body.error?.message).toMatch(/^Invalid value at 'audience_members\[0\]\.consent\.ad_user_data' \(google\.ads\.datamanager\.v1\.ConsentStatus\), "GRANTED"/);
    const twoOfOneof = await ingest([member({ emailAddress: sha('a@x.com'), phoneNumber: sha('+33612345678') })]);
    expect(twoOfOneof.body.error?.message).toMatch(/More than one field of oneof "identifier"/);
    const missing = await call('/audienceMembers:ingest', { audienceMembers: [member({ emailAddress: sha('a@x.com') })], encoding: 'HEX' });
    expect([missing.status, reason(missing), violations(missing)]).toEqual([400, 'REQUIRED_FIELD_MISSING', [['destinations', 'REQUIRED_FIELD_MISSING']]]);
    const address = await ingest([member({ address: { givenName: sha('ann'), familyName: sha('lee'), regionCode: 'FR' } })]);
    expect(violations(address)).toEqual([['audienceMembers[0].userData.userIdentifiers[0].address.postalCode', 'REQUIRED_FIELD_MISSING']]);
    expect(emulator.stats.schemaRefusals).toBe(5);
    expect(Object.keys(emulator.records('user_lists/100'))).toEqual([]);
  });

  it('enforces Google\'s documented rules, fast-fail, each refusal located', async () => {
    emulator = await startGoogleAdsEmulator({ maxMembersPerRequest: 3 });
    const ok = member({ emailAddress: sha('a@x.com') });
    const raw = await ingest([ok, member({ emailAddress: 'b@x.com' }), member({ address: { givenName: sha('ann'), familyName: sha('lee'), regionCode: 'France', postalCode: '75001' } })]);
    expect([raw.status, reason(raw), violations(raw)]).toEqual([
      400,
      'INVALID_SHA256_FORMAT',
      [
        ['audienceMembers[1].userData.userIdentifiers[0].emailAddress', 'INVALID_SHA256_FORMAT'],
        ['audienceMembers[2].userData.userIdentifiers[0].address.regionCode', 'INVALID_REGION_CODE'],
      ],
    ]);
    expect(emulator.records('user_lists/100').size).toBe(0);
    const eleven = await ingest([member(...Array.from({ length: 11 }, (_, i) => ({ emailAddress: sha(`${i}@x.com`) })))]);
    expect(violations(eleven)).toEqual([['audienceMembers[0].userData.userIdentifiers', 'TOO_MANY_USER_IDENTIFIERS']]);
    expect(reason(await ingest([ok, ok, ok, ok]))).toBe('TOO_MANY_AUDIENCE_MEMBERS');
    expect(reason(await ingest([ok], { encoding: undefined }))).toBe('REQUIRED_FIELD_MISSING');
    expect(reason(await ingest([ok], { termsOfService: undefined }))).toBe('TERMS_AND_CONDITIONS_NOT_SIGNED');
    const events = (list: object[]) => call('/events:ingest', { destinations: [destination('55')], events: list, encoding: 'HEX' });
    const event = { transactionId: 't1', eventTimestamp: `${daysAgo(3)}T00:00:00Z`, eventSource: 'IN_STORE' };
    expect(violations(await events([event, { ...event, transactionId: 't2', adIdentifiers: { gclid: 'Cj0' }, currency: 'euro' }, { ...event, transactionId: 't3', adIdentifiers: { gclid: 'Cj0' }, eventSource: undefined }]))).toEqual([
      ['events[0]', 'NO_IDENTIFIERS_PROVIDED'],
      ['events[1].currency', 'INVALID_CURRENCY_CODE'],
      ['events[2].eventSource', 'REQUIRED_FIELD_MISSING'],
    ]);
    expect(reason(await events(Array.from({ length: 2001 }, (_, i) => ({ ...event, transactionId: `t${i}`, adIdentifiers: { gclid: 'Cj0' } }))))).toBe('TOO_MANY_EVENTS');
    expect((await ingest([ok])).status).toBe(200);
    expect(emulator.records('user_lists/100').size).toBe(1);
  });

  it('answers the 301st request of a minute with Google\'s quota error', async () => {
    emulator = await startGoogleAdsEmulator();
    const bearer = { authorization: `Bearer ${await token()}` };
    const statuses: number[] = [];
    for (let i = 0; i < 301; i++) statuses.push((await fetch(`${emulator.endpoint}/v1/requestStatus:retrieve?requestId=r${i}`, { headers: bearer })).status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(1);
    expect(statuses.at(-1)).toBe(429);
    const refused = await fetch(`${emulator.endpoint}/v1/requestStatus:retrieve?requestId=x`, { headers: bearer });
    const body = (await refused.json()) as { error: { status: string; details: { reason?: string }[] } };
    expect([refused.status, body.error.status, body.error.details[0]?.reason]).toEqual([429, 'RESOURCE_EXHAUSTED', 'RATE_LIMIT_EXCEEDED']);
  });

  it('answers only the versions Google serves, with its front end\'s 404 for the others', async () => {
    // v1 served until a sunset the test announces; the same method under another version, or after it, is not routed.
    emulator = await startGoogleAdsEmulator({ versions: [{ version: 'v1', sunset: '2027-01-01', source: 'test' }], today: '2026-12-06' });
    const bearer = { authorization: `Bearer ${await token()}` };
    const served = await fetch(`${emulator.endpoint}/v1/requestStatus:retrieve?requestId=unknown`, { headers: bearer });
    expect([served.status, served.headers.get('content-type')]).toEqual([400, 'application/json']);
    for (const version of ['v2', 'v21']) {
      const answer = await fetch(`${emulator.endpoint}/${version}/requestStatus:retrieve?requestId=unknown`, { headers: bearer });
      expect(answer.status, version).toBe(404);
      expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await answer.text()).toContain(`The requested URL <code>/${version}/requestStatus:retrieve</code> was not found on this server.`);
    }
    await emulator.close();
    emulator = await startGoogleAdsEmulator({ versions: [{ version: 'v1', sunset: '2027-01-01', source: 'test' }], today: '2027-01-01' });
    const afterSunset = await fetch(`${emulator.endpoint}/v1/requestStatus:retrieve?requestId=unknown`, { headers: { authorization: `Bearer ${await token()}` } });
    expect(afterSunset.status).toBe(404);
  });

  it('issues short-lived tokens at its token endpoint and refuses the expired ones as Google does', async () => {
    emulator = await startGoogleAdsEmulator({ tokenLifetimeSeconds: 1 });
    const { clientId, clientSecret } = emulator.oauth;
    const answer = await fetch(emulator.tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: emulator.oauth.refreshToken }) });
    const issued = (await answer.json()) as { access_token: string; expires_in: number; token_type: string };
    expect(issued).toMatchObject({ expires_in: 1, token_type: 'Bearer' });
    const badSecret = await fetch(emulator.tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, client_secret: 'wrong', refresh_token: emulator.oauth.refreshToken }) });
    expect([badSecret.status, await badSecret.json()]).toEqual([401, { error: 'invalid_client', error_description: 'Unauthorized' }]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const late = await fetch(`${emulator.endpoint}/v1/requestStatus:retrieve?requestId=x`, { headers: { authorization: `Bearer ${issued.access_token}` } });
    expect(late.status).toBe(401);
    expect(JSON.stringify(await late.json())).toContain('ACCESS_TOKEN_EXPIRED');
  });
});

describe('google_ads: errors, versions and config', () => {
  const request = { method: 'POST' as const, url: 'https://datamanager.googleapis.com/v1/audienceMembers:ingest' };
  const response = (status: number, body: unknown) => ({ status, headers: new Headers(), text: typeof body === 'string' ? body : JSON.stringify(body) });
  const error = (code: number, status: string, reason?: string, extra: object[] = []) => ({
    error: { code, status, message: 'x', details: [...(reason ? [{ '@type': ERROR_INFO, reason, domain: 'datamanager.googleapis.com' }] : []), ...extra] },
  });
  const config = { api_version: 'v1' };

  it('map to the engine\'s typed failures: stop once for account-wide refusals, halve only an unlocated 400', () => {
    const limited = googleError(request, response(429, error(429, 'RESOURCE_EXHAUSTED', 'RATE_LIMIT_EXCEEDED', [{ '@type': RETRY_INFO, retryDelay: '2.5s' }])), config);
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterMs).toBe(2500);
    expect(googleError(request, response(503, error(503, 'UNAVAILABLE')), config)).toBeInstanceOf(TransientError);
    expect(googleError(request, response(401, error(401, 'UNAUTHENTICATED', 'ACCESS_TOKEN_EXPIRED')), config)).toBeInstanceOf(AuthError);
    expect(googleError(request, response(403, error(403, 'PERMISSION_DENIED', 'ACCESS_TOKEN_SCOPE_INSUFFICIENT')), config)).toBeInstanceOf(AuthError);
    for (const reason of ['NOT_ALLOWLISTED', 'CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE', 'PERMISSION_DENIED', 'TERMS_AND_CONDITIONS_NOT_SIGNED', 'INVALID_USER_LIST_ID']) {
      const stop = googleError(request, response(reason.includes('LIST') || reason.includes('TERMS') ? 400 : 403, error(403, 'PERMISSION_DENIED', reason)), config);
      expect(stop, reason).toBeInstanceOf(StopSyncError);
      expect(stop.message, reason).toContain(reason);
    }
    expect(googleError(request, response(404, '<!DOCTYPE html><title>Error 404 (Not Found)!!1</title>'), config)).toBeInstanceOf(StopSyncError);
    expect(googleError(request, response(400, error(400, 'INVALID_ARGUMENT', 'TOO_MANY_AUDIENCE_MEMBERS')), config)).toBeInstanceOf(BatchRejectedError);
    expect(googleError(request, response(400, { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'Invalid JSON payload received. Unknown name "x"' } }), config)).toBeInstanceOf(StopSyncError);
  });

  it('declares its API version with Google\'s sunset and the source, through apiVersion(config)', () => {
    expect(destinationType('google_ads')).toBe(googleAds);
    const config = googleAds.configSchema.parse({ customer_id: '123-456-7890' });
    expect(googleAds.apiVersion!(config)).toEqual({ version: 'v1', sunset: undefined, source: expect.stringContaining('https://developers.google.com/data-manager/api') });
    // The engine never sees a Google Ads API version: Tideline calls none.
    expect(JSON.stringify(config)).not.toMatch(/"v2\d"/);
  });
});

describe('google_ads mode events: conversions from an event table, through a session', () => {
  const ACTION = 'conversion_actions/55';
  const DAY = 86_400_000;
  let emulator: GoogleAdsEmulator;
  let session: DestinationSession | undefined;
  let started: GoogleAdsEmulator | undefined;
  afterEach(async () => {
    await session?.close();
    session = undefined;
    if (started) expect(started.schemaErrors).toEqual([]);
    await started?.close();
    started = undefined;
  });

  /** A session of an events sync to conversion action 55, as the engine opens it, against a fresh emulator. */
  async function open(options: GoogleAdsEmulatorOptions = {}, logger = captureLogger().logger): Promise<DestinationSession> {
    emulator = started = await startGoogleAdsEmulator({ recordBodies: true, ...options });
    const { clientId, clientSecret, refreshToken, customerId } = emulator.oauth;
    const config = googleAds.configSchema.parse({
      customer_id: customerId,
      endpoint: emulator.endpoint,
      token_url: emulator.tokenUrl,
      credentials: { refresh_token: refreshToken, client_id: clientId, client_secret: clientSecret },
      status_poll_seconds: 0.01,
      status_wait_seconds: 5,
    });
    session = await googleAds.open(config, sessionContext({ object: ACTION, mode: 'events', keyField: 'transaction_id', logger }));
    await session.check();
    return session;
  }
  const track = (records: readonly OutboundRecord[]): Batch => ({ object: ACTION, operation: 'track', keyField: 'transaction_id', records, signal: AbortSignal.timeout(30_000), idempotencyKey: 'batch' });
  /** An in-store purchase, its id the key and its time the event's, as the engine hands it over. */
  const purchase = (id: string, time: Date, fields: OutboundRecord['fields'] = {}): OutboundRecord => ({
    key: id,
    fields: { email: ' Ann.Lee@Example.COM ', conversion_value: 19.999, currency_code: 'eur', event_source: 'IN_STORE', ...fields },
    destinationId: null,
    idempotencyKey: `idem-${id}`,
    event: { name: 'Purchase', time: time.toISOString() },
  });
  const held = () => [...emulator.records(ACTION).keys()].sort();

  it('maps the event: its time is the conversion time, its id the transaction id; value, currency, source and hashed identifiers from fields; the name is not sent', async () => {
    const s = await open();
    const when = new Date(Date.now() - 2 * DAY);
    const outcomes = await s.apply(track([purchase('ord-1', when), purchase('ord-2', new Date(when.getTime() + 60_000), { gclid: 'Cj0KCQ', email: null, event_source: 'in store' })]));
    expect(outcomes).toEqual([{ ok: true }, { ok: true }]);
    expect(emulator.records(ACTION).get('ord-1')).toEqual({
      transactionId: 'ord-1',
      eventTimestamp: when.toISOString().replace('.000Z', 'Z'),
      userData: { userIdentifiers: [{ emailAddress: sha('ann.lee@example.com') }] },
      currency: 'EUR',
      conversionValue: 20,
      eventSource: 'IN_STORE',
    });
    expect(emulator.records(ACTION).get('ord-2')).toMatchObject({ transactionId: 'ord-2', adIdentifiers: { gclid: 'Cj0KCQ' }, eventSource: 'IN_STORE' });
    const body = emulator.bodies.find((b) => b.includes('"events"'))!;
    expect(body).not.toContain('Purchase');
    expect(body).not.toMatch(/example\.com/i);
    expect(await s.finish!({ complete: true, accepted: 2, rejected: 0 })).toMatchObject({ uploads: 1, statuses: { SUCCESS: 1 } });
  });

  it('declares the age Google takes (90 days) for conversion actions only, and Google drops an older conversion while processing it', async () => {
    const config = googleAds.configSchema.parse({ customer_id: '1234567890' });
    expect(googleAds.events!.maxAgeDays(config, { object: ACTION, constants: {} })).toBe(90);
    expect(googleAds.events!.maxAgeDays(config, { object: 'user_lists/1', constants: {} })).toBeUndefined();
    expect(googleAds.events!.deduplication).toMatch(/transactionId .* PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID/);

    // The engine skips events past maxAgeDays; one that slips through is accepted by the request (age is not a
    // fast-fail check) and dropped in processing, which the run reports.
    const capture = captureLogger();
    const s = await open({}, capture.logger);
    const outcomes = await s.apply(track([purchase('fresh', new Date(Date.now() - 89 * DAY)), purchase('stale', new Date(Date.now() - 91 * DAY))]));
    expect(outcomes).toEqual([{ ok: true }, { ok: true }]);
    expect(held()).toEqual(['fresh']);
    const details = await s.finish!({ complete: true, accepted: 2, rejected: 0 });
    expect(details).toMatchObject({ statuses: { PARTIAL_SUCCESS: 1 }, errors: { [EVENT_TOO_OLD]: 1 } });
    expect(capture.lines.join('\n')).toMatch(/Google could not process 1 of 1 uploads \(PROCESSING_ERROR_REASON_EVENT_TOO_OLD\)/);
  });

  it('de-duplicates by transaction id: an event sent again (look-back, a run that died) is kept once, and the run says so without calling it a failure', async () => {
    const capture = captureLogger();
    const s = await open({}, capture.logger);
    const now = Date.now();
    const batch = [1, 2, 3].map((n) => purchase(`ev-${n}`, new Date(now - n * 3_600_000)));
    await s.apply(track(batch));
    // The late-event window re-reads ev-2 and ev-3 with a new one; within one request too, a copy is dropped.
    const again = await s.apply(track([batch[1]!, batch[2]!, purchase('ev-4', new Date(now - 60_000)), purchase('ev-4', new Date(now - 60_000))]));
    expect(again.every((o) => o.ok)).toBe(true);
    expect(held()).toEqual(['ev-1', 'ev-2', 'ev-3', 'ev-4']);
    expect(emulator.stats.duplicateEvents).toBe(3);
    const details = await s.finish!({ complete: true, accepted: 7, rejected: 0 });
    expect(details).toMatchObject({ uploads: 2, statuses: { SUCCESS: 1, PARTIAL_SUCCESS: 1 }, duplicates: 3 });
    expect(details).not.toHaveProperty('errors');
    expect(capture.lines.join('\n')).toMatch(/dropped 3 conversions it already had/);
    expect(capture.lines.join('\n')).not.toMatch(/could not process/);
    expect(DUPLICATE_TRANSACTION_ID).toBe('PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID');
  });

  it('a batch with one bad event: Google refuses the whole request (fast-fail) naming it; it is rejected with Google\'s reason and the others sent again', async () => {
    const s = await open({ reject: (r) => ('transactionId' in r && r.transactionId === 'ev-3' ? 'INVALID_EVENT' : undefined) });
    const now = Date.now();
    const records = [1, 2, 3, 4, 5].map((n) => purchase(`ev-${n}`, new Date(now - n * 60_000)));
    // And one Tideline refuses itself: a source Google does not know never leaves.
    records.push(purchase('ev-6', new Date(now), { event_source: 'billboard' }));
    const outcomes = await s.apply(track(records));
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['ok', 'ok', 'invalid_event', 'ok', 'ok', 'invalid_event_source']);
    expect(outcomes[2]).toMatchObject({ ok: false, retryable: false, message: expect.stringMatching(/^INVALID_EVENT/) });
    // One refused request, then one that passed: nothing of the refused request was kept.
    expect(emulator.server.count(400)).toBe(1);
    expect(held()).toEqual(['ev-1', 'ev-2', 'ev-4', 'ev-5']);
  });

  it('keeps to 2,000 events a request, Google\'s ceiling', async () => {
    const s = await open();
    const now = Date.now();
    const records = Array.from({ length: 4_500 }, (_, i) => purchase(`ev-${i}`, new Date(now - i * 1000), { email: `p${i}@example.com` }));
    const outcomes = await s.apply(track(records));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(4_500);
    expect(emulator.stats.maxEventsSeen).toBe(2_000);
    expect(emulator.bodies.filter((b) => b.includes('"events"'))).toHaveLength(3);
    expect(emulator.records(ACTION).size).toBe(4_500);
  });

  it('checks an events sync at load: a conversion action, no conversion_date_time (the event has its time), an event source Google knows', () => {
    const config = googleAds.configSchema.parse({ customer_id: '1234567890' });
    const check = (shape: Partial<Parameters<NonNullable<typeof googleAds.checkSync>>[1]>) =>
      googleAds.checkSync!(config, { object: ACTION, mode: 'events', keyField: 'transaction_id', fields: ['email', 'conversion_value', 'currency_code', 'event_source'], ...shape }, { targets: [] }).map((p) => p.message);
    expect(check({})).toEqual([]);
    expect(check({ fields: ['email', 'conversion_date_time'] })).toEqual([expect.stringMatching(/^in mode events the conversion time is the event's time/)]);
    expect(check({ fields: ['conversion_value'] })).toEqual([expect.stringMatching(/matched by `gclid` and\/or the user's identifiers/)]);
    expect(check({ object: 'user_lists/1', fields: ['email'] })).toEqual(expect.arrayContaining([expect.stringMatching(/a Customer Match list takes mode audience/)]));
    // Mode insert keeps working for existing syncs, and still needs its conversion time.
    expect(check({ mode: 'insert', fields: ['email', 'conversion_date_time'] })).toEqual([]);
    expect(check({ mode: 'insert', fields: ['email'] })).toEqual([expect.stringMatching(/needs `conversion_date_time`.* or mode events/)]);
    expect(check({ mode: 'upsert' })).toEqual([expect.stringMatching(/conversions take mode events \(only the events after the last run/)]);
  });
});

describe('google_ads contract kit: the events shape is what the emulator holds for the events the adapter sends', () => {
  it('reports one copy per event id with the expected fields, and refuses the rejectKeys events in Google\'s fast-fail format', async () => {
    const env = await kit.start({ dir: tmpdir(), rejectKeys: ['ev-4'] });
    try {
      const shape = kit.events!;
      const { type: _type, requests_per_second: _rps, retries: _retries, ...entry } = env.destination();
      const session = await googleAds.open(googleAds.configSchema.parse(entry), sessionContext({ object: shape.object, mode: 'events', keyField: shape.keyField }));
      await session.check();
      const sent = contractEvents(6);
      // The shape's mapping, applied as the engine applies it: columns by name, constants as they are.
      const record = (e: (typeof sent)[number]): OutboundRecord => ({
        key: e.event_id,
        fields: Object.fromEntries(Object.entries(shape.fields).map(([field, spec]) => [field, typeof spec === 'string' ? e[spec as keyof typeof e] : (spec.constant ?? null)])) as OutboundRecord['fields'],
        destinationId: null,
        idempotencyKey: `i-${e.event_id}`,
        event: { name: e.event_name, time: e.event_time },
      });
      const batch = (events: typeof sent): Batch => ({ object: shape.object, operation: 'track', keyField: shape.keyField, records: events.map(record), signal: AbortSignal.timeout(30_000), idempotencyKey: 'b' });
      const outcomes = await session.apply(batch(sent));
      expect(outcomes.map((o) => o.ok)).toEqual([true, true, true, false, true, true]);
      // Sent again (a resend): Google keeps one copy per transaction id.
      await session.apply(batch(sent.filter((e) => e.event_id !== 'ev-4')));
      await session.close();
      const held = await env.events!(shape.object);
      expect(held.map((h) => h.id)).toEqual(['ev-1', 'ev-2', 'ev-3', 'ev-5', 'ev-6']);
      for (const h of held) expect(h.fields, h.id).toEqual(shape.expected(sent.find((e) => e.event_id === h.id)!));
      // Every exchange, the refused request included, is within Google's definitions.
      const exchanges = env.exchanges!();
      expect(exchanges.map((x) => `${x.method} ${x.path} ${x.status}`)).toEqual(['POST /token 200', 'POST /v1/events:ingest 400', 'POST /v1/events:ingest 200', 'POST /v1/events:ingest 200']);
      for (const exchange of exchanges) expect(await kit.schema!.check(exchange), exchange.path).toEqual([]);
      expect(await kit.schema!.check({ ...exchanges[1]!, request: { events: [{ eventTimestamp: 'yesterday' }] } })).toEqual([
        expect.stringMatching(/eventTimestamp: Invalid value/),
        expect.stringMatching(/destinations: The required field destinations is missing/),
      ]);
    } finally {
      await env.close();
    }
  });
});
