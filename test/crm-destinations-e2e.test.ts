import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchEmulatorState } from '../destinations/emulator-kit/server.js';
import { BIN, runCli, tempProject } from './support/cli.js';

/**
 * HubSpot, Salesforce and Brevo end to end: a DuckDB project, `tideline sandbox` running the three emulators in its
 * own process, and `tideline sync --sandbox` sending to them. What each emulator holds is read over its control
 * endpoint and compared with the model. Last, an audience sync adds the Salesforce Contacts to a campaign.
 */
const CUSTOMERS = [
  { id: 1, email: 'alice@example.com', first: 'Alice', last: 'Archer', orders: 3 },
  { id: 2, email: 'bob@example.org', first: 'Bob', last: 'Baker', orders: 1 },
  { id: 3, email: 'chloe@example.net', first: 'Chloé', last: 'Carter', orders: 0 },
  { id: 4, email: 'dan@example.com', first: 'Dan', last: 'Dupont', orders: 7 },
];
type Customer = (typeof CUSTOMERS)[number];
const csv = (rows: readonly Customer[]) => `id,email,first_name,last_name,orders\n${rows.map((c) => `${c.id},${c.email.toUpperCase()},${c.first},${c.last},${c.orders}`).join('\n')}\n`;

const MODELS = `sources:
  - name: raw_customers
    file: data/customers.csv
models:
  - name: customers
    kind: staging
    from: raw_customers
    columns:
      customer_id: { from: id, type: string }
      email: { from: email, clean: [trim, lower] }
      first_name: first_name
      last_name: last_name
      orders: { from: orders, type: integer }
`;
const DESTINATIONS = `destinations:
  - name: hubspot
    type: hubspot
    token: \${env:HUBSPOT_TOKEN}
  - name: salesforce
    type: salesforce
    instance_url: https://acme.my.salesforce.com
    access_token: \${env:SALESFORCE_TOKEN}
  - name: brevo
    type: brevo
    api_key: \${env:BREVO_API_KEY}
`;
const SYNCS = `syncs:
  - name: hubspot_contacts
    model: customers
    destination: hubspot
    object: contacts
    mode: upsert
    key: email
    fields:
      firstname: first_name
      lastname: last_name
  - name: salesforce_contacts
    model: customers
    destination: salesforce
    object: Contact
    mode: upsert
    key: { from: customer_id, field: External_Id__c }
    fields:
      Email: email
      FirstName: first_name
      LastName: last_name
  - name: brevo_contacts
    model: customers
    destination: brevo
    object: contacts
    mode: upsert
    key: email
    fields:
      firstname: first_name
      lastname: last_name
`;
// Credentials that must never be used (nor printed): the sandbox replaces them with the emulators'.
const env = { HUBSPOT_TOKEN: 'pat-na1-real-token-never-used', SALESFORCE_TOKEN: '00Dreal!token-never-used', BREVO_API_KEY: 'xkeysib-real-key-never-used' };

type Held = Map<string, Record<string, unknown>>;

/** What each emulator holds, by the sync's key, in the fields the sync maps. */
async function held(endpoints: Record<string, string>): Promise<Record<'hubspot' | 'salesforce' | 'brevo', Held>> {
  const [hubspot, salesforce, brevo] = await Promise.all(['hubspot', 'salesforce', 'brevo'].map((d) => fetchEmulatorState(endpoints[d]!)));
  const by = (records: Record<string, Record<string, unknown>> | undefined, key: string, fields: string[]): Held =>
    new Map(Object.values(records ?? {}).map((r) => [String(r[key]), Object.fromEntries(fields.map((f) => [f, r[f]]))]));
  return {
    hubspot: by(hubspot!.objects['contacts'], 'email', ['firstname', 'lastname']),
    salesforce: by(salesforce!.objects['Contact'], 'External_Id__c', ['Email', 'FirstName', 'LastName']),
    brevo: by(brevo!.objects['contacts'], 'email', ['FIRSTNAME', 'LASTNAME']),
  };
}

function model(rows: readonly Customer[]): Record<'hubspot' | 'salesforce' | 'brevo', Held> {
  return {
    hubspot: new Map(rows.map((c) => [c.email, { firstname: c.first, lastname: c.last }])),
    salesforce: new Map(rows.map((c) => [String(c.id), { Email: c.email, FirstName: c.first, LastName: c.last }])),
    brevo: new Map(rows.map((c) => [c.email, { FIRSTNAME: c.first, LASTNAME: c.last }])),
  };
}

async function requests(endpoints: Record<string, string>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, endpoint] of Object.entries(endpoints)) out[name] = Object.values((await fetchEmulatorState(endpoint)).requests).reduce((a, b) => a + b, 0);
  return out;
}

describe('hubspot, salesforce and brevo: tideline sync --sandbox end to end', () => {
  let root: string;
  let sandbox: ChildProcess;
  let endpoints: Record<string, string>;
  const results = () => (JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { results: { sync: string; status: string; counts: Record<string, number>; accepted: number; requests: number }[] }).results;

  beforeAll(async () => {
    root = tempProject({ 'tideline.yml': 'name: crm\n', 'data/customers.csv': csv(CUSTOMERS), 'models/customers.yml': MODELS, 'syncs/crm.yml': DESTINATIONS + SYNCS });
    const run = await runCli(['run'], { cwd: root, env });
    expect(run.code, run.stderr).toBe(0);
    sandbox = spawn(process.execPath, [BIN, 'sandbox', '--log-format', 'json'], { cwd: root, env: { ...process.env, ...env }, stdio: 'ignore' });
    const file = join(root, 'target', 'sandbox.json');
    for (let i = 0; i < 300 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    const described = JSON.parse(readFileSync(file, 'utf8')) as { destinations: Record<string, { endpoint: string }> };
    endpoints = Object.fromEntries(Object.entries(described.destinations).map(([name, d]) => [name, d.endpoint]));
  }, 120_000);
  afterAll(() => {
    sandbox?.kill('SIGINT');
  });

  it('the first sync makes every emulator hold the model', async () => {
    const first = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(first.code, first.stderr).toBe(0);
    for (const secret of Object.values(env)) expect(first.stderr).not.toContain(secret);
    expect(results().map((r) => [r.sync, r.status, r.accepted])).toEqual([
      ['hubspot_contacts', 'success', 4],
      ['salesforce_contacts', 'success', 4],
      ['brevo_contacts', 'success', 4],
    ]);
    expect(await held(endpoints)).toEqual(model(CUSTOMERS));
  });

  it('a second sync sends no request at all', async () => {
    const before = await requests(endpoints);
    const second = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(second.code, second.stderr).toBe(0);
    expect(await requests(endpoints)).toEqual(before);
    expect(results().every((r) => r.requests === 0 && r.counts['added'] === 0 && r.counts['changed'] === 0)).toBe(true);
  });

  it('changing one customer updates exactly that record, in one request per destination', async () => {
    const before = await held(endpoints);
    const requestsBefore = await requests(endpoints);
    const changed = CUSTOMERS.map((c) => (c.id === 2 ? { ...c, first: 'Robert' } : c));
    writeFileSync(join(root, 'data', 'customers.csv'), csv(changed));
    expect((await runCli(['run'], { cwd: root, env })).code).toBe(0);
    const third = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(third.code, third.stderr).toBe(0);
    expect(results().map((r) => [r.sync, r.counts['changed'], r.counts['added'], r.accepted, r.requests])).toEqual([
      ['hubspot_contacts', 1, 0, 1, 1],
      ['salesforce_contacts', 1, 0, 1, 1],
      ['brevo_contacts', 1, 0, 1, 1],
    ]);
    const after = await held(endpoints);
    expect(after).toEqual(model(changed));
    for (const destination of ['hubspot', 'salesforce', 'brevo'] as const) {
      const differing = [...after[destination].keys()].filter((k) => JSON.stringify(after[destination].get(k)) !== JSON.stringify(before[destination].get(k)));
      expect(differing, destination).toEqual([destination === 'salesforce' ? '2' : 'bob@example.org']);
    }
    const requestsAfter = await requests(endpoints);
    for (const name of Object.keys(endpoints)) expect(requestsAfter[name]! - requestsBefore[name]!, name).toBe(2); // check() + the one update
  });

  it('a Salesforce audience sync makes the Contacts members of a campaign (one the sandbox creates on first use)', async () => {
    const campaign = '701000000000123';
    writeFileSync(
      join(root, 'syncs', 'campaign.yml'),
      `syncs:\n  - name: salesforce_campaign\n    model: customers\n    destination: salesforce\n    object: campaign:${campaign}\n    mode: audience\n    key: { from: customer_id, field: External_Id__c }\n`,
    );
    const members = async () => {
      const state = await fetchEmulatorState(endpoints['salesforce']!);
      const contacts = state.objects['Contact'] ?? {};
      return Object.values(state.objects['CampaignMember'] ?? {})
        .filter((m) => m['CampaignId'] === campaign)
        .map((m) => String(contacts[String(m['ContactId'])]?.['External_Id__c']))
        .sort();
    };
    // Removals are covered against the emulator in destinations/salesforce/salesforce.test.ts (a run here costs seconds).
    const result = await runCli(['sync', '--sandbox', '--select', 'salesforce_campaign', '--log-format', 'json'], { cwd: root, env });
    expect(result.code, result.stderr).toBe(0);
    expect(results().map((r) => [r.sync, r.status, r.counts['added'], r.accepted])).toEqual([['salesforce_campaign', 'success', 4, 4]]);
    expect(await members()).toEqual(['1', '2', '3', '4']);
  });
});

describe('tideline validate --remote --sandbox', () => {
  const BAD = `syncs:
  - name: hubspot_contacts
    model: customers
    destination: hubspot
    object: contacts
    mode: upsert
    key: email
    fields:
      firstname: first_name
      favourite_colour: last_name
      createdate: orders
  - name: salesforce_contacts
    model: customers
    destination: salesforce
    object: Contact
    mode: upsert
    key: { from: customer_id, field: External_Id__c }
    fields:
      email: email
      LastName: last_name
      Shoe_Size__c: orders
      Name: first_name
    options: { create_missing_fields: true }
  - name: brevo_contacts
    model: customers
    destination: brevo
    object: contacts
    mode: upsert
    key: email
    fields:
      firstname: first_name
      loyalty_tier: last_name
      contact_score: orders
`;
  /** `line:col` of the first occurrence of `needle` at or after the line holding `after`. */
  const at = (text: string, after: string, needle: string) => {
    const lines = text.split('\n');
    const start = lines.findIndex((l) => l.includes(after));
    const line = lines.findIndex((l, i) => i >= start && l.includes(needle));
    return `${line + 1 + DESTINATIONS.split('\n').length - 1}:${lines[line]!.indexOf(needle) + 1}`;
  };

  it('reports unknown and read-only mapped fields at their place in the sync file, exit 2', async () => {
    const root = tempProject({ 'tideline.yml': 'name: crm\n', 'data/customers.csv': csv(CUSTOMERS), 'models/customers.yml': MODELS, 'syncs/crm.yml': DESTINATIONS + BAD });
    const result = await runCli(['validate', '--remote', '--sandbox', '--log-format', 'pretty'], { cwd: root, env });
    expect(result.code, result.stderr).toBe(2);
    const errors = result.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(errors).toEqual([
      `error: syncs/crm.yml:${at(BAD, 'hubspot_contacts', 'favourite_colour')}  syncs[0].fields.favourite_colour  hubspot contacts has no field "favourite_colour"; create it, or set \`options.create_missing_fields: true\``,
      `error: syncs/crm.yml:${at(BAD, 'hubspot_contacts', 'createdate')}  syncs[0].fields.createdate  hubspot contacts field "createdate" is read-only (datetime): a sync cannot write it`,
      `error: syncs/crm.yml:${at(BAD, 'salesforce_contacts', 'Shoe_Size__c')}  syncs[1].fields.Shoe_Size__c  salesforce Contact has no field "Shoe_Size__c" (salesforce fields cannot be created through its API: create it in salesforce)`,
      `error: syncs/crm.yml:${at(BAD, 'salesforce_contacts', 'Name: first_name')}  syncs[1].fields.Name  salesforce Contact field "Name" is read-only (string): a sync cannot write it`,
      `error: syncs/crm.yml:${at(BAD, 'brevo_contacts', 'loyalty_tier')}  syncs[2].fields.loyalty_tier  brevo contacts has no field "loyalty_tier"; create it, or set \`options.create_missing_fields: true\``,
      `error: syncs/crm.yml:${at(BAD, 'brevo_contacts', 'contact_score')}  syncs[2].fields.contact_score  brevo contacts field "CONTACT_SCORE" is read-only (float): a sync cannot write it`,
    ]);
    for (const secret of Object.values(env)) expect(result.stderr).not.toContain(secret);
  });

  it('with create_missing_fields it creates the missing HubSpot property and Brevo attribute instead, exit 0', async () => {
    const fixed = BAD.replace('      createdate: orders\n', '    options: { create_missing_fields: true }\n')
      .replace('      Shoe_Size__c: orders\n      Name: first_name\n', '')
      .replace('      contact_score: orders\n', '      orders: orders\n    options: { create_missing_fields: true }\n');
    const root = tempProject({ 'tideline.yml': 'name: crm\n', 'data/customers.csv': csv(CUSTOMERS), 'models/customers.yml': MODELS, 'syncs/crm.yml': DESTINATIONS + fixed });
    const result = await runCli(['validate', '--remote', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('created hubspot field \\"favourite_colour\\" on contacts');
    expect(result.stderr).toContain('created brevo field \\"loyalty_tier\\" on contacts');
    expect(result.stderr).toContain('created brevo field \\"orders\\" on contacts');
    expect(result.stderr).toContain('3 syncs checked against sandbox emulators; created hubspot_contacts: favourite_colour, brevo_contacts: loyalty_tier, brevo_contacts: orders');
  });
});
