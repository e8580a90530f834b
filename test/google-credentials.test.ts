import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGoogleAdsEmulator, type GoogleAdsEmulator } from '../destinations/google-ads/emulator.js';
import { sql } from '../src/dialects/sql.js';
import { openTarget } from '../src/warehouses/registry.js';
import { runCli, tempProject } from './support/cli.js';

/**
 * Secrets stay secret, on the production path: `tideline run` and `tideline sync` (not the sandbox) against a Google
 * emulator that issues access tokens living one second, with a refresh token and an OAuth client for one destination
 * and a service account key for the other, all from the environment. The syncs outlive several tokens and complete;
 * then every place a secret could leak — stdout and stderr at debug level, every file under target/, every row of
 * the state schema — is searched for the refresh token, the client secret, the private key and every access token
 * Google issued. None may be there.
 */
const CUSTOMERS = ['customer_id,email,phone,predicted_clv', ...Array.from({ length: 24 }, (_, i) => `c${i + 1},Person${i + 1}@Example.com,+33 6 12 34 56 ${String(10 + i)},${(i * 37.5).toFixed(2)}`)].join('\n');

const SYNCS = `destinations:
  - name: google_user
    type: google_ads
    customer_id: \${env:GOOGLE_ADS_CUSTOMER_ID}
    endpoint: \${env:GOOGLE_ENDPOINT}
    token_url: \${env:GOOGLE_TOKEN_URL}
    credentials:
      refresh_token: \${env:GOOGLE_ADS_REFRESH_TOKEN}
      client_id: \${env:GOOGLE_OAUTH_CLIENT_ID}
      client_secret: \${env:GOOGLE_OAUTH_CLIENT_SECRET}
    customer_match_terms: accepted
    default_phone_country: FR
    batch_size: 4
    requests_per_second: 4
    status_poll_seconds: 0.05
  - name: google_service
    type: google_ads
    customer_id: \${env:GOOGLE_ADS_CUSTOMER_ID}
    endpoint: \${env:GOOGLE_ENDPOINT}
    token_url: \${env:GOOGLE_TOKEN_URL}
    credentials:
      key_file: \${env:GOOGLE_KEY_FILE}
    batch_size: 6
    requests_per_second: 4
    status_poll_seconds: 0.05
syncs:
  - name: customer_list
    model: customers
    destination: google_user
    object: user_lists/100
    mode: audience
    key: { from: customer_id, field: customer_id }
    fields: { email: email, phone: phone }
  - name: predicted_value
    model: customers
    destination: google_service
    object: conversion_actions/200
    mode: insert
    key: { from: customer_id, field: transaction_id }
    fields:
      email: email
      conversion_date_time: { constant: '${new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10)}' }
      conversion_value: predicted_clv
      currency_code: { constant: EUR }
`;

/** Every file under a folder, as text. */
function filesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [{ path, text: readFileSync(path).toString('latin1') }];
  });
}

describe('Google credentials on the production path: tokens renew, no secret is written anywhere', () => {
  let emulator: GoogleAdsEmulator;
  let root: string;
  let env: Record<string, string>;
  const output: string[] = [];

  beforeAll(async () => {
    emulator = await startGoogleAdsEmulator({ tokenLifetimeSeconds: 1 });
    const keyDir = mkdtempSync(join(tmpdir(), 'tideline-key-'));
    writeFileSync(join(keyDir, 'service-account.json'), JSON.stringify(emulator.serviceAccountKey()));
    const { clientId, clientSecret, refreshToken, customerId } = emulator.oauth;
    env = {
      GOOGLE_ADS_CUSTOMER_ID: customerId,
      GOOGLE_ENDPOINT: emulator.endpoint,
      GOOGLE_TOKEN_URL: emulator.tokenUrl,
      GOOGLE_ADS_REFRESH_TOKEN: refreshToken,
      GOOGLE_OAUTH_CLIENT_ID: clientId,
      GOOGLE_OAUTH_CLIENT_SECRET: clientSecret,
      GOOGLE_KEY_FILE: join(keyDir, 'service-account.json'),
      TIDELINE_NO_PROGRESS: '1',
    };
    root = tempProject({
      'tideline.yml': 'name: secrets\n',
      'data/customers.csv': `${CUSTOMERS}\n`,
      'models/customers.yml': 'sources:\n  - { name: raw_customers, file: data/customers.csv, types: { phone: string } }\nmodels:\n  - { name: customers, kind: staging, from: raw_customers }\n',
      'syncs/google.yml': SYNCS,
    });
    const run = await runCli(['run', '--log-format', 'json', '--log-level', 'debug'], { cwd: root, env });
    output.push(run.stdout, run.stderr);
    expect(run.code, run.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await emulator?.close();
  });

  it('the syncs outlive their one-second tokens and complete, renewing them on their own', async () => {
    const started = performance.now();
    const sync = await runCli(['sync', '--log-format', 'json', '--log-level', 'debug'], { cwd: root, env });
    output.push(sync.stdout, sync.stderr);
    expect(sync.code, sync.stderr).toBe(0);
    // Six uploads of members and four of conversions at four a second: about three seconds, three token lifetimes.
    expect(performance.now() - started).toBeGreaterThan(2000);
    expect(emulator.records('user_lists/100').size).toBe(24);
    expect(emulator.records('conversion_actions/200').size).toBe(24);
    expect(emulator.records('conversion_actions/200').get('c3')).toMatchObject({ conversionValue: 75, currency: 'EUR' });
    expect(emulator.stats.tokensIssued).toBeGreaterThanOrEqual(4);
    expect(emulator.stats.unauthenticated).toBe(0);
    expect(emulator.schemaErrors).toEqual([]);
  }, 120_000);

  it('no log line, file under target/ or state row holds the refresh token, client secret, private key or any access token', async () => {
    const key = emulator.serviceAccountKey().private_key;
    const secrets: Record<string, string> = {
      refresh_token: emulator.oauth.refreshToken,
      client_secret: emulator.oauth.clientSecret,
      // A line of the key's body: any part of it printed would be a leak.
      private_key: key.split('\n')[5]!,
      ...Object.fromEntries(emulator.issuedAccessTokens().map((t, i) => [`access_token_${i}`, t])),
    };
    expect(Object.keys(secrets).length).toBeGreaterThan(6);

    const connection = await openTarget({ type: 'duckdb', path: '.tideline/warehouse.duckdb' }, { root });
    let state: string;
    try {
      const tables = await connection.query(sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'tideline_state'`);
      expect(tables.length).toBeGreaterThan(3);
      const rows = [];
      for (const t of tables) rows.push(...(await connection.query(sql`SELECT * FROM ${connection.dialect.table({ schema: 'tideline_state', name: String(t['table_name']) })}`)));
      expect(rows.length).toBeGreaterThan(24);
      state = JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    } finally {
      await connection.close();
    }
    const files = filesUnder(join(root, 'target'));
    expect(files.length).toBeGreaterThan(1);
    const logs = output.join('\n');
    expect(logs).toContain('"level":"debug"');
    for (const [name, secret] of Object.entries(secrets)) {
      expect(logs.includes(secret), `${name} in the logs`).toBe(false);
      expect(state.includes(secret), `${name} in the state`).toBe(false);
      for (const file of files) expect(file.text.includes(secret), `${name} in ${file.path}`).toBe(false);
    }
  }, 60_000);
});
