import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { sdkModels } from '../emulator-kit/schemas/sdk-models.js';
import { contractSync, people, SyncHarness } from '../../test/support/sync-harness.js';
import { hubspot } from './adapter.js';
import { startHubSpotEmulator, type HubSpotEmulator } from './emulator.js';
import { TOKEN_PATH } from './protocol.js';

/**
 * HubSpot OAuth against the emulated account: access tokens of a few seconds, renewed ahead of the expiry HubSpot
 * gives; the emulator's answers and the adapter's requests checked against HubSpot's published models
 * (@hubspot/api-client, generated from HubSpot's OpenAPI specs).
 */
const require = createRequire(import.meta.url);
const SDK = '@hubspot/api-client/lib/codegen';
const OAUTH = sdkModels('@hubspot/api-client/lib/codegen/oauth/models/all.js');
const CONTACTS = sdkModels('@hubspot/api-client/lib/codegen/crm/contacts/models/all.js');

const APP = { clientId: '5f0b7d8c-1111-4aaa-9bbb-123456789abc', clientSecret: 'app-secret-7d1e', refreshTokens: ['na1-refresh-0001'] };

describe('hubspot credentials', () => {
  let emulator: HubSpotEmulator;
  let harness: SyncHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await emulator.close();
  });

  const start = (accessTokenSeconds: number) =>
    startHubSpotEmulator({
      oauth: { ...APP, accessTokenSeconds },
      properties: [
        { name: 'external_id', type: 'string', unique: true },
        { name: 'first_name', type: 'string' },
        { name: 'orders', type: 'number' },
      ],
    });
  /** 60 people in requests of 5 at 3 a second: about four seconds. */
  const slowSync = async (credentials: Record<string, unknown>) => {
    harness = await SyncHarness.start({
      destinations: [{ name: 'hs', type: 'hubspot', base_url: emulator.endpoint, batch_size: 5, requests_per_second: 3, concurrency: 4, retries: { attempts: 3, base_ms: 10, max_ms: 50 }, ...credentials }],
      syncs: [contractSync('s', 'hs', 'contacts', 'upsert')],
      rows: people(60),
    });
    const started = performance.now();
    const result = await harness.sync('s');
    return { result, seconds: (performance.now() - started) / 1000 };
  };

  it('a sync that outlives its access tokens renews them ahead of their expiry and completes', async () => {
    emulator = await start(2);
    const { result, seconds } = await slowSync({ client_id: APP.clientId, client_secret: APP.clientSecret, refresh_token: APP.refreshTokens[0] });
    expect(result, result.error ?? '').toMatchObject({ status: 'success', accepted: 60 });
    expect([...emulator.contacts().values()].map((c) => c['external_id']).sort()).toEqual(people(60).map((p) => String(p.id)).sort());
    expect(seconds).toBeGreaterThan(3);
    expect(emulator.stats.tokenRequests).toBeGreaterThanOrEqual(2);
    // One token per lifetime (renewed a fifth of a second early), not one per request or per concurrent caller.
    expect(emulator.stats.tokenRequests).toBeLessThanOrEqual(Math.ceil(seconds / 1.8) + 2);
    expect(emulator.stats.tokenRefusals).toBe(0);
  });

  it('a revoked refresh token stops the sync after one refused renewal, naming the credential, never its value', async () => {
    emulator = await start(1);
    const watch = setInterval(() => {
      if (emulator.contacts().size < 10) return;
      emulator.revoke(APP.refreshTokens[0]!);
      clearInterval(watch);
    }, 20);
    const { result } = await slowSync({ client_id: APP.clientId, client_secret: APP.clientSecret, refresh_token: APP.refreshTokens[0] });
    clearInterval(watch);
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/getting an access token with `refresh_token` of destination `hs` failed: POST 127\.0\.0\.1:\d+\/oauth\/2026-03\/token answered 400 invalid_grant \(missing or invalid refresh token\)/);
    expect(result.error).not.toContain(APP.refreshTokens[0]);
    expect(result.error).not.toContain(APP.clientSecret);
    expect(emulator.stats.tokenRefusals).toBe(1);
    expect(result.accepted).toBe(emulator.contacts().size);
    expect(result.accepted).toBeLessThan(60);
  });

  it("requests and answers match HubSpot's published models: the refresh form, the token, the expired-token error", async () => {
    emulator = await start(1);
    const config = hubspot.configSchema.parse({ base_url: emulator.endpoint, client_id: APP.clientId, client_secret: APP.clientSecret, refresh_token: APP.refreshTokens[0] });
    await hubspot.remoteFields!(config, 'contacts', { logger: createLogger({ level: 'silent' }), signal: AbortSignal.timeout(5000) });
    // The adapter's form is the one HubSpot's own client builds for a refresh (same fields, same values).
    const { TokensApiRequestFactory } = require(`${SDK}/oauth/apis/TokensApi.js`) as { TokensApiRequestFactory: new (c: unknown) => { create(...a: (string | undefined)[]): Promise<{ getBody(): URLSearchParams }> } };
    const { createConfiguration } = require(`${SDK}/oauth/configuration.js`) as { createConfiguration(): unknown };
    const sdk = await new TokensApiRequestFactory(createConfiguration()).create('refresh_token', undefined, undefined, APP.clientId, APP.clientSecret, APP.refreshTokens[0]);
    const sent = emulator.stats.tokenForms[0]!;
    expect(Object.fromEntries([...sent].sort())).toEqual(Object.fromEntries([...sdk.getBody()].sort()));

    const post = async (form: Record<string, string>) => {
      const response = await fetch(`${emulator.endpoint}${TOKEN_PATH}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const granted = await post({ grant_type: 'refresh_token', client_id: APP.clientId, client_secret: APP.clientSecret, refresh_token: APP.refreshTokens[0]! });
    expect(granted.status).toBe(200);
    expect(OAUTH.check('TokenResponseIF', granted.body)).toEqual([]);
    expect(granted.body).toMatchObject({ token_type: 'bearer', expires_in: 1, refresh_token: APP.refreshTokens[0] });
    // The check itself catches a wrong answer.
    const wrong = OAUTH.check('TokenResponseIF', { ...granted.body, expires_in: '1', extra: true });
    expect(wrong).toHaveLength(2);
    expect(wrong).toEqual([expect.stringMatching(/^\$\.expires_in: expected a number/), expect.stringMatching(/^\$\.extra: TokenResponseIF has no property "extra"/)]);

    const refused = await post({ grant_type: 'refresh_token', client_id: APP.clientId, client_secret: APP.clientSecret, refresh_token: 'revoked' });
    expect(refused).toMatchObject({ status: 400, body: { status: 'BAD_REFRESH_TOKEN', error: 'invalid_grant', error_description: 'missing or invalid refresh token' } });
    expect((await post({ grant_type: 'refresh_token', client_id: APP.clientId, client_secret: 'wrong', refresh_token: APP.refreshTokens[0]! })).body).toMatchObject({ error: 'invalid_client' });

    await new Promise((r) => setTimeout(r, 1100));
    const expired = await fetch(`${emulator.endpoint}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${String(granted.body['access_token'])}` } });
    expect(expired.status).toBe(401);
    const error = (await expired.json()) as Record<string, unknown>;
    expect(error).toMatchObject({ status: 'error', category: 'EXPIRED_AUTHENTICATION', message: expect.stringMatching(/^The OAuth token used to make this call expired \d+ minute\(s\) ago\.$/) });
    const { status: _legacy, ...modelled } = error;
    expect(CONTACTS.check('ModelError', modelled)).toEqual([]);
  });

  it('exactly one kind of credentials: a static key, or the three OAuth fields', () => {
    const issues = (config: Record<string, unknown>) => {
      const parsed = hubspot.configSchema.safeParse(config);
      return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    };
    expect(issues({ token: 'pat-na1-x' })).toEqual([]);
    expect(issues({ client_id: 'c', client_secret: 's', refresh_token: 'r' })).toEqual([]);
    expect(issues({})).toMatchObject([{ path: '', message: expect.stringMatching(/^no HubSpot credentials/) }]);
    expect(issues({ token: 'pat-na1-x', refresh_token: 'r' })).toMatchObject([{ path: 'refresh_token', message: expect.stringMatching(/`token` \(a static key\) is given too/) }]);
    expect(issues({ client_id: 'c', refresh_token: 'r' })).toMatchObject([{ path: 'client_id', message: 'OAuth needs `client_secret` too (client_id, client_secret and refresh_token)' }]);
  });

  it('declares the CRM API version it speaks: 2026-03 by default (18 months from its GA), v3 unsupported from September 2027', () => {
    const config = hubspot.configSchema.parse({ token: 'pat-na1-x' });
    expect(hubspot.apiVersion!(config)).toMatchObject({ version: '2026-03', sunset: '2027-09-30', source: expect.stringContaining('versioning') });
    const legacy = hubspot.configSchema.parse({ token: 'pat-na1-x', api_version: 'v3' });
    expect(hubspot.apiVersion!(legacy)).toMatchObject({ version: 'v3', sunset: '2027-09-01', source: expect.stringContaining('migration-guide') });
    expect(hubspot.configSchema.safeParse({ token: 'pat-na1-x', api_version: 'v4' }).success).toBe(false);
  });
});
