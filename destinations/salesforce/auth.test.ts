import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { contractSync, expected, people, SyncHarness } from '../../test/support/sync-harness.js';
import { salesforce } from './adapter.js';
import { startSalesforceEmulator, type SalesforceEmulator, type SalesforceFieldDef, type SalesforceOAuthOptions } from './emulator.js';
import { JWT_BEARER_GRANT, TOKEN_PATH } from './protocol.js';

/**
 * Salesforce's OAuth flows against the emulated login server: the JWT bearer and refresh token grants as Salesforce
 * documents them (protocol.ts), sessions that end, syncs that outlive them, renewals that fail.
 */
const CONTACT: SalesforceFieldDef[] = [
  { name: 'Id', type: 'id', readOnly: true },
  { name: 'external_id', type: 'string', externalId: true },
  { name: 'email', type: 'email' },
  { name: 'first_name', type: 'string' },
  { name: 'orders', type: 'double' },
];
const CLIENT_ID = '3MVG9test.consumer.key';
const USER = 'integration@acme.example.com';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const oauth = (extra: Partial<SalesforceOAuthOptions> = {}): SalesforceOAuthOptions => ({
  clientId: CLIENT_ID,
  clientSecret: 'consumer-secret-4242',
  publicKey: keys.publicKey,
  users: [USER],
  refreshTokens: ['5Aep-refresh-token-0001'],
  ...extra,
});

describe('salesforce credentials', () => {
  let emulator: SalesforceEmulator;
  let harness: SyncHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await emulator.close();
  });

  /** A sync of 60 people in requests of 5 at 3 a second: about four seconds, several sessions of 1.5 s. */
  const slowSync = async (credentials: Record<string, unknown>) => {
    harness = await SyncHarness.start({
      destinations: [{ name: 'sf', type: 'salesforce', login_url: emulator.endpoint, batch_size: 5, bulk_batch_size: 5, requests_per_second: 3, concurrency: 4, retries: { attempts: 3, base_ms: 10, max_ms: 50 }, ...credentials }],
      syncs: [contractSync('s', 'sf', 'Contact', 'upsert')],
      rows: people(60),
    });
    const started = performance.now();
    const result = await harness.sync('s');
    return { result, seconds: (performance.now() - started) / 1000 };
  };
  const held = () => new Map([...emulator.records('Contact').values()].map(({ Id: _id, external_id, ...rest }) => [String(external_id), rest]));

  it('JWT bearer: a sync that outlives its session gets a new one on each 401 and completes; instance_url comes from the token answer', async () => {
    emulator = await startSalesforceEmulator({ objects: { Contact: CONTACT }, oauth: oauth({ sessionSeconds: 1.5 }) });
    const keyFile = join(mkdtempSync(join(tmpdir(), 'tideline-key-')), 'sf.pem');
    writeFileSync(keyFile, PRIVATE_PEM);
    const { result, seconds } = await slowSync({ client_id: CLIENT_ID, username: USER, private_key_file: keyFile });
    expect(result, result.error ?? '').toMatchObject({ status: 'success', accepted: 60 });
    expect(held()).toEqual(expected(people(60)));
    // Sessions ended under the sync, each end cost a 401 and one renewal, shared by the requests it met.
    expect(seconds).toBeGreaterThan(3);
    expect(emulator.stats.expiredSessions).toBeGreaterThanOrEqual(1);
    expect(emulator.stats.tokenRequests).toBeGreaterThanOrEqual(3);
    expect(emulator.stats.tokenRequests).toBeLessThanOrEqual(Math.ceil(seconds / 1.5) + 2);
    expect(emulator.stats.tokenRefusals).toBe(0);
  });

  it('refresh token: the same, with the consumer secret', async () => {
    emulator = await startSalesforceEmulator({ objects: { Contact: CONTACT }, oauth: oauth({ sessionSeconds: 1.5 }) });
    const { result, seconds } = await slowSync({ client_id: CLIENT_ID, client_secret: 'consumer-secret-4242', refresh_token: '5Aep-refresh-token-0001', instance_url: emulator.endpoint });
    expect(result, result.error ?? '').toMatchObject({ status: 'success', accepted: 60 });
    expect(held()).toEqual(expected(people(60)));
    expect(emulator.stats.tokenRequests).toBeGreaterThanOrEqual(3);
    expect(emulator.stats.tokenRequests).toBeLessThanOrEqual(Math.ceil(seconds / 1.5) + 2);
  });

  it('a renewal the server refuses stops the sync after one attempt, naming the credential, never its value', async () => {
    emulator = await startSalesforceEmulator({ objects: { Contact: CONTACT }, oauth: oauth({ sessionSeconds: 1 }) });
    // An admin revokes the app's access once the sync is under way: the next renewal is refused.
    const watch = setInterval(() => {
      if (emulator.records('Contact').size < 10) return;
      emulator.revoke('5Aep-refresh-token-0001');
      clearInterval(watch);
    }, 20);
    const { result } = await slowSync({ client_id: CLIENT_ID, client_secret: 'consumer-secret-4242', refresh_token: '5Aep-refresh-token-0001' });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/getting an access token with `refresh_token` of destination `sf` failed: POST 127\.0\.0\.1:\d+\/services\/oauth2\/token answered 400 invalid_grant \(expired access\/refresh token\)/);
    expect(result.error).not.toContain('5Aep-refresh-token-0001');
    expect(emulator.stats.tokenRefusals).toBe(1);
    expect(emulator.stats.tokenRequests).toBe(2);
    // What was accepted before stays accepted; nothing after the refusal was sent.
    expect(result.accepted).toBe(emulator.records('Contact').size);
    expect(result.accepted).toBeGreaterThanOrEqual(10);
    expect(result.accepted).toBeLessThan(60);
    clearInterval(watch);
  });

  it('a JWT the login server refuses stops the sync at once, naming the key', async () => {
    emulator = await startSalesforceEmulator({ objects: { Contact: CONTACT }, oauth: oauth({ users: ['someone.else@acme.example.com'] }) });
    const { result } = await slowSync({ client_id: CLIENT_ID, username: USER, private_key: PRIVATE_PEM });
    expect(result).toMatchObject({ status: 'failed', accepted: 0 });
    expect(result.error).toMatch(/`private_key` of destination `sf` failed: .* 400 invalid_grant \(user hasn't approved this consumer\)/);
    expect(emulator.stats.tokenRequests).toBe(1);
  });

  it('the login server checks the assertion as Salesforce documents: signature, iss, aud, exp within 3 minutes, sub', async () => {
    emulator = await startSalesforceEmulator({ oauth: oauth() });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const now = Math.floor(Date.now() / 1000);
    const assertion = (claims: { iss?: string; sub?: string; aud?: string; exp?: number } = {}, key: KeyObject = keys.privateKey) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(claims.iss ?? CLIENT_ID)
        .setSubject(claims.sub ?? USER)
        .setAudience(claims.aud ?? 'https://login.salesforce.com')
        .setExpirationTime(claims.exp ?? now + 120)
        .sign(key);
    const post = async (form: Record<string, string>) => {
      const response = await fetch(`${emulator.endpoint}${TOKEN_PATH}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const jwt = async (a: Promise<string>) => post({ grant_type: JWT_BEARER_GRANT, assertion: await a });
    const ok = await jwt(assertion());
    expect(ok).toMatchObject({ status: 200, body: { access_token: expect.stringMatching(/^00D/), instance_url: emulator.endpoint, token_type: 'Bearer', scope: 'api' } });
    expect(ok.body).not.toHaveProperty('refresh_token');
    expect(await jwt(assertion({}, other))).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'invalid assertion' } });
    expect(await jwt(assertion({ iss: 'someone-else' }))).toEqual({ status: 400, body: { error: 'invalid_client_id', error_description: 'client identifier invalid' } });
    expect(await jwt(assertion({ aud: 'https://acme.my.salesforce.com' }))).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'audience is invalid' } });
    expect((await jwt(assertion({ exp: now - 10 }))).body).toMatchObject({ error: 'invalid_grant' });
    expect((await jwt(assertion({ exp: now + 600 }))).body).toMatchObject({ error: 'invalid_grant', error_description: 'invalid assertion' });
    expect(await jwt(assertion({ sub: 'nobody@acme.example.com' }))).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: "user hasn't approved this consumer" } });
    expect(await post({ grant_type: 'password', username: USER })).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    // Refresh token grant: the secret is required when the app has one.
    expect(await post({ grant_type: 'refresh_token', client_id: CLIENT_ID, refresh_token: '5Aep-refresh-token-0001' })).toMatchObject({ status: 400, body: { error: 'invalid_client' } });
    expect(await post({ grant_type: 'refresh_token', client_id: CLIENT_ID, client_secret: 'consumer-secret-4242', refresh_token: 'nope' })).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'expired access/refresh token' } });
    const refreshed = await post({ grant_type: 'refresh_token', client_id: CLIENT_ID, client_secret: 'consumer-secret-4242', refresh_token: '5Aep-refresh-token-0001' });
    expect(refreshed).toMatchObject({ status: 200, body: { access_token: expect.any(String), signature: expect.any(String), issued_at: expect.stringMatching(/^\d+$/) } });
    // A token it issued works until its session ends; then the API answers 401 INVALID_SESSION_ID.
    const call = (token: string) => fetch(`${emulator.endpoint}/services/data/v62.0/limits`, { headers: { authorization: `Bearer ${token}` } });
    expect((await call(String(ok.body['access_token']))).status).toBe(200);
    emulator.expireSessions();
    const expired = await call(String(ok.body['access_token']));
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
  });

  it('exactly one kind of credentials, each whole: located problems that never quote a value', () => {
    const issues = (config: Record<string, unknown>) => {
      const parsed = salesforce.configSchema.safeParse(config);
      return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    };
    expect(issues({ instance_url: 'https://x.my.salesforce.com', access_token: 't' })).toEqual([]);
    expect(issues({ client_id: 'c', username: 'u', private_key_file: 'keys/sf.pem' })).toEqual([]);
    expect(issues({ client_id: 'c', refresh_token: 'r' })).toEqual([]);
    expect(issues({})).toMatchObject([{ path: '', message: expect.stringMatching(/^no Salesforce credentials: give exactly one kind/) }]);
    expect(issues({ access_token: 't', instance_url: 'https://x.my.salesforce.com', client_id: 'c', refresh_token: 'r' })).toMatchObject([
      { path: 'refresh_token', message: '`refresh_token` is the refresh token flow, but a static access_token is given too: give exactly one kind of Salesforce credentials' },
    ]);
    expect(issues({ access_token: 't' })).toMatchObject([{ path: 'access_token', message: expect.stringMatching(/needs `instance_url`/) }]);
    expect(issues({ username: 'u', private_key_file: 'k.pem' })).toMatchObject([{ path: 'username', message: expect.stringMatching(/needs `client_id`/) }]);
    expect(issues({ client_id: 'c', username: 'u' })).toMatchObject([{ path: 'username', message: expect.stringMatching(/needs `private_key_file`/) }]);
    const bad = issues({ client_id: 'c', username: 'u', private_key: 'hunter2-not-a-key' });
    expect(bad).toMatchObject([{ path: 'private_key', message: expect.stringMatching(/not a PEM private key/) }]);
    expect(JSON.stringify(bad)).not.toContain('hunter2');
    // A key written with \n for its line breaks (as environment variables often hold it) is read.
    expect(issues({ client_id: 'c', username: 'u', private_key: PRIVATE_PEM.replace(/\n/g, '\\n') })).toEqual([]);
  });

  it('declares its API version with the published retirement; the emulator answers 410 for a retired one', async () => {
    const config = (api_version?: string) => salesforce.configSchema.parse({ instance_url: 'https://x.my.salesforce.com', access_token: 't', ...(api_version ? { api_version } : {}) });
    expect(salesforce.apiVersion!(config())).toMatchObject({ version: 'v62.0', sunset: undefined, source: expect.stringContaining('005321531') });
    expect(salesforce.apiVersion!(config('35.0'))).toMatchObject({ version: 'v35.0', sunset: '2028-05-01' });
    expect(salesforce.apiVersion!(config('30.0'))).toMatchObject({ sunset: '2025-05-01' });
    emulator = await startSalesforceEmulator();
    const call = (version: string) => fetch(`${emulator.endpoint}/services/data/v${version}/limits`, { headers: { authorization: `Bearer ${emulator.token}` } });
    expect((await call('30.0')).status).toBe(410);
    expect((await call('62.0')).status).toBe(200);
  });
});
