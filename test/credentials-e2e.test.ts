import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../destinations/hubspot/emulator.js';
import { startSalesforceEmulator, type SalesforceEmulator } from '../destinations/salesforce/emulator.js';
import { sql } from '../src/dialects/sql.js';
import { openTarget } from '../src/warehouses/registry.js';
import { runCli, tempProject, type CliResult } from './support/cli.js';

/**
 * Credentials that renew, through the real CLI: `tideline sync` with every credential from environment variables
 * (`${env:…}`), against a Salesforce org whose sessions last 1.5 s (JWT bearer flow) and a HubSpot account whose
 * access tokens last 2 s (OAuth refresh), both on 127.0.0.1, with syncs that take several seconds. Then every secret
 * — the private key, the client secret, the refresh token and each access token the emulators issued — is looked for
 * in what Tideline left: stdout and stderr (JSON and pretty logs, at debug level), every file of the project
 * (target/ artifacts, the warehouse file) and every row of the state tables. None may be there.
 */
const CUSTOMERS = Array.from({ length: 40 }, (_, i) => ({ id: i + 1, email: `customer${i + 1}@example.com`, first: `First${i + 1}`, last: `Last${i + 1}` }));
const csv = (orders: number) => `id,email,first_name,last_name,orders\n${CUSTOMERS.map((c) => `${c.id},${c.email},${c.first},${c.last},${orders}`).join('\n')}\n`;

const MODELS = `sources:
  - name: raw_customers
    file: data/customers.csv
models:
  - name: customers
    kind: staging
    from: raw_customers
    columns:
      customer_id: { from: id, type: string }
      email: email
      first_name: first_name
      last_name: last_name
      orders: { from: orders, type: integer }
`;
// Requests of 5 records at 3 a second: 8 requests per destination, about three seconds each.
const SYNCS = `destinations:
  - name: sf
    type: salesforce
    login_url: \${env:SF_LOGIN_URL}
    client_id: \${env:SF_CLIENT_ID}
    username: \${env:SF_USERNAME}
    private_key: \${env:SF_PRIVATE_KEY}
    batch_size: 5
    bulk_batch_size: 5
    requests_per_second: 3
  - name: hs
    type: hubspot
    base_url: \${env:HS_BASE_URL}
    client_id: \${env:HS_CLIENT_ID}
    client_secret: \${env:HS_CLIENT_SECRET}
    refresh_token: \${env:HS_REFRESH_TOKEN}
    batch_size: 5
    requests_per_second: 3
syncs:
  - name: sf_contacts
    model: customers
    destination: sf
    object: Contact
    mode: upsert
    key: { from: customer_id, field: External_Id__c }
    fields: { Email: email, FirstName: first_name, LastName: last_name, Orders__c: orders }
  - name: hs_contacts
    model: customers
    destination: hs
    object: contacts
    mode: upsert
    key: email
    fields: { firstname: first_name, lastname: last_name, orders: orders }
`;

describe('credentials that renew, through tideline sync', () => {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const hsApp = { clientId: 'b7c1e2f0-4d3a-4e5f-8a9b-0c1d2e3f4a5b', clientSecret: 'hs-client-secret-5e6f7a8b', refreshTokens: ['na1-7f3e-refresh-token-0c1d2e3f'] };
  let salesforce: SalesforceEmulator;
  let hubspot: HubSpotEmulator;
  let root: string;
  let env: Record<string, string>;
  const outputs: CliResult[] = [];

  beforeAll(async () => {
    salesforce = await startSalesforceEmulator({
      objects: {
        Contact: [
          { name: 'Id', type: 'id', readOnly: true },
          { name: 'External_Id__c', type: 'string', externalId: true },
          { name: 'Email', type: 'email' },
          { name: 'FirstName', type: 'string' },
          { name: 'LastName', type: 'string', required: true },
          { name: 'Orders__c', type: 'double' },
        ],
      },
      oauth: { clientId: '3MVG9e2e.consumer.key', publicKey: keys.publicKey, users: ['sync@acme.example.com'], sessionSeconds: 1.5 },
    });
    hubspot = await startHubSpotEmulator({ oauth: { ...hsApp, accessTokenSeconds: 2 }, properties: [{ name: 'orders', type: 'number' }] });
    env = {
      SF_LOGIN_URL: salesforce.endpoint,
      SF_CLIENT_ID: '3MVG9e2e.consumer.key',
      SF_USERNAME: 'sync@acme.example.com',
      SF_PRIVATE_KEY: privateKey,
      HS_BASE_URL: hubspot.endpoint,
      HS_CLIENT_ID: hsApp.clientId,
      HS_CLIENT_SECRET: hsApp.clientSecret,
      HS_REFRESH_TOKEN: hsApp.refreshTokens[0]!,
    };
    root = tempProject({ 'tideline.yml': 'name: creds\n', 'data/customers.csv': csv(1), 'models/customers.yml': MODELS, 'syncs/crm.yml': SYNCS });
    const run = await runCli(['run'], { cwd: root, env });
    expect(run.code, run.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await salesforce?.close();
    await hubspot?.close();
  });

  const results = () => (JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { results: { sync: string; status: string; accepted: number; error: string | null }[] }).results;

  it('syncs that outlive their tokens complete, renewing on their own (JSON logs)', async () => {
    const sync = await runCli(['sync', '--log-format', 'json', '--log-level', 'debug'], { cwd: root, env });
    outputs.push(sync);
    expect(sync.code, sync.stderr).toBe(0);
    expect(results().map((r) => [r.sync, r.status, r.accepted])).toEqual([
      ['sf_contacts', 'success', 40],
      ['hs_contacts', 'success', 40],
    ]);
    expect(salesforce.records('Contact').size).toBe(40);
    expect(hubspot.contacts().size).toBe(40);
    // Salesforce's sessions ended under the sync (401, then a new assertion); HubSpot's tokens were renewed ahead.
    expect(salesforce.stats.expiredSessions).toBeGreaterThanOrEqual(1);
    expect(salesforce.stats.tokenRequests).toBeGreaterThanOrEqual(2);
    expect(hubspot.stats.tokenRequests).toBeGreaterThanOrEqual(2);
    expect(salesforce.stats.tokenRefusals + hubspot.stats.tokenRefusals).toBe(0);
  }, 120_000);

  it('again with every record changed, pretty logs', async () => {
    const before = salesforce.issuedTokens.length + hubspot.issuedTokens.length;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(root, 'data', 'customers.csv'), csv(2));
    const run = await runCli(['run'], { cwd: root, env });
    outputs.push(run);
    expect(run.code, run.stderr).toBe(0);
    const sync = await runCli(['sync', '--log-format', 'pretty', '--log-level', 'debug'], { cwd: root, env });
    outputs.push(sync);
    expect(sync.code, sync.stderr).toBe(0);
    expect(results().map((r) => [r.sync, r.status, r.accepted])).toEqual([
      ['sf_contacts', 'success', 40],
      ['hs_contacts', 'success', 40],
    ]);
    expect([...hubspot.contacts().values()].every((c) => c['orders'] === '2')).toBe(true);
    expect(salesforce.issuedTokens.length + hubspot.issuedTokens.length).toBeGreaterThan(before + 2);
  }, 120_000);

  it('no secret and no token is anywhere: output, logs, artifacts, project files, state tables', async () => {
    const status = await runCli(['status', '--log-format', 'json'], { cwd: root, env });
    outputs.push(status);
    const secrets = new Map<string, string>([
      ['the private key', privateKey],
      ...privateKey
        .split('\n')
        .filter((line) => /^[A-Za-z0-9+/]{64}$/.test(line))
        .slice(0, 3)
        .map((line, i): [string, string] => [`line ${i + 1} of the private key`, line]),
      ['the HubSpot client secret', hsApp.clientSecret],
      ['the HubSpot refresh token', hsApp.refreshTokens[0]!],
      ...salesforce.issuedTokens.map((t, i): [string, string] => [`Salesforce access token ${i + 1}`, t]),
      ...hubspot.issuedTokens.map((t, i): [string, string] => [`HubSpot access token ${i + 1}`, t]),
    ]);
    expect(salesforce.issuedTokens.length + hubspot.issuedTokens.length).toBeGreaterThanOrEqual(6);

    const places = new Map<string, string>();
    outputs.forEach((o, i) => {
      places.set(`stdout of command ${i + 1}`, o.stdout);
      places.set(`stderr of command ${i + 1}`, o.stderr);
    });
    // The logs are there to be searched: the JSON run logged its requests, the pretty one its progress.
    expect(outputs[0]!.stderr).toMatch(/"level":/);
    expect(outputs[2]!.stderr).toMatch(/sf_contacts/);
    const walk = (dir: string): string[] => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [join(dir, name)]));
    const files = walk(root);
    expect(files.some((f) => f.endsWith(join('target', 'sync_results.json')))).toBe(true);
    expect(files.some((f) => f.endsWith(join('target', 'run_results.json')))).toBe(true);
    for (const file of files) places.set(file.slice(root.length + 1), readFileSync(file).toString('latin1'));

    const warehouse = await openTarget({ type: 'duckdb', path: join(root, '.tideline', 'warehouse.duckdb') }, { root });
    try {
      const tables = await warehouse.query(sql`SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = 'tideline_state'`);
      expect(tables.length).toBeGreaterThan(3);
      for (const t of tables) {
        const rows = await warehouse.query(sql`SELECT * FROM ${warehouse.dialect.table({ schema: String(t['table_schema']), name: String(t['table_name']) })}`);
        places.set(`state table ${String(t['table_name'])}`, JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
      }
    } finally {
      await warehouse.close();
    }

    const found: string[] = [];
    for (const [what, secret] of secrets) for (const [where, text] of places) if (text.includes(secret)) found.push(`${what} in ${where}`);
    expect(found).toEqual([]);
    // The search would find them: the values are real and the places are full.
    expect([...places.values()].join('').length).toBeGreaterThan(100_000);
  }, 120_000);

  it('a config giving two kinds of credentials is a located error, and nothing runs', async () => {
    const bad = SYNCS.replace('    private_key: ${env:SF_PRIVATE_KEY}\n', '    private_key: ${env:SF_PRIVATE_KEY}\n    refresh_token: ${env:HS_REFRESH_TOKEN}\n');
    const project = tempProject({ 'tideline.yml': 'name: creds\n', 'data/customers.csv': csv(1), 'models/customers.yml': MODELS, 'syncs/crm.yml': bad });
    const result = await runCli(['validate', '--offline', '--log-format', 'pretty'], { cwd: project, env });
    expect(result.code).toBe(2);
    const line = bad.split('\n').findIndex((l) => l.includes('refresh_token: ${env:HS_REFRESH_TOKEN}')) + 1;
    expect(result.stderr).toContain(
      `syncs/crm.yml:${line}:20  destinations[0].refresh_token  \`refresh_token\` is the refresh token flow, but the JWT bearer flow is given too: give exactly one kind of Salesforce credentials`,
    );
    expect(result.stderr).not.toContain(hsApp.refreshTokens[0]);
    expect(result.stderr).not.toContain(privateKey.split('\n')[1]);
  }, 60_000);
});
