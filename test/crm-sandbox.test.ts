import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorState } from '../destinations/destination.js';
import { fetchEmulatorState } from '../destinations/emulator-kit/server.js';
import { subscriberHash } from '../destinations/mailchimp/protocol.js';
import { SANDBOX_FILE, type SandboxFile } from '../src/sync/sandbox.js';
import { BIN, runCli, tempProject } from './support/cli.js';

/**
 * End to end for the marketing destinations (Klaviyo, Mailchimp, Braze): a project on DuckDB, `tideline sandbox`
 * running their emulators, `tideline sync --sandbox` through the real CLI. One project holds a sync per destination
 * so the three share the (slow) process start-ups.
 */
interface Customer {
  readonly id: number;
  readonly email: string;
  readonly first_name: string;
  readonly phone: string;
  readonly orders: number;
}

const CUSTOMERS: readonly Customer[] = [
  { id: 1, email: 'alice@example.com', first_name: 'Alice', phone: '(415) 555-2671', orders: 3 },
  { id: 2, email: 'bob@example.org', first_name: 'Bob', phone: '+44 20 7946 0958', orders: 1 },
  { id: 3, email: 'chloe@example.net', first_name: 'Chloé', phone: '212-555-0188', orders: 0 },
  { id: 4, email: 'dev@example.com', first_name: 'Dev', phone: '(646) 555-0101', orders: 12 },
];
const E164: Record<string, string> = { '(415) 555-2671': '+14155552671', '+44 20 7946 0958': '+442079460958', '212-555-0188': '+12125550188', '(646) 555-0101': '+16465550101' };

const csv = (rows: readonly Customer[]) => `id,email,first_name,phone,orders\n${rows.map((r) => [r.id, r.email, r.first_name, r.phone, r.orders].join(',')).join('\n')}\n`;

const FILES = {
  'tideline.yml': 'name: crm\n',
  'models/customers.yml': `sources:
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
      phone: phone
      orders: { from: orders, type: integer }
`,
  'syncs/marketing.yml': `destinations:
  - name: klaviyo_main
    type: klaviyo
    api_key: \${env:KLAVIYO_API_KEY}
    default_country: US
  - name: mailchimp_main
    type: mailchimp
    api_key: \${env:MAILCHIMP_API_KEY}
    list_id: aud1
  - name: braze_main
    type: braze
    api_key: \${env:BRAZE_API_KEY}
    rest_endpoint: https://rest.iad-01.braze.com
syncs:
  - name: klaviyo_profiles
    model: customers
    destination: klaviyo_main
    object: profiles
    mode: upsert
    key: { from: customer_id, field: external_id }
    fields: { email: email, first_name: first_name, phone_number: phone, orders: orders }
  - name: mailchimp_members
    model: customers
    destination: mailchimp_main
    object: members
    mode: upsert
    key: { from: email, field: email }
    fields: { fname: first_name, orders: orders }
  - name: braze_users
    model: customers
    destination: braze_main
    object: users
    mode: upsert
    key: { from: customer_id, field: external_id }
    fields: { email: email, first_name: first_name, orders: orders }
`,
};

/** What each destination holds, as key → fields, read from its emulator's state. */
const VIEWS: Record<string, (state: EmulatorState) => Map<string, Record<string, unknown>>> = {
  klaviyo_main: (state) =>
    new Map(Object.values(state.objects['profiles'] ?? {}).map((p) => {
      const { external_id: key, properties, ...rest } = p as Record<string, unknown> & { properties: Record<string, unknown> };
      return [String(key), { ...rest, ...properties }];
    })),
  mailchimp_main: (state) =>
    new Map(Object.entries(state.objects['list:aud1'] ?? {}).map(([email, m]) => {
      const member = m as { id: string; status: string; merge_fields: Record<string, unknown> };
      return [email, { id: member.id, status: member.status, ...member.merge_fields }];
    })),
  braze_main: (state) => new Map(Object.entries(state.objects['users'] ?? {}).map(([id, u]) => [id, { ...u }])),
};

/** The model, as each destination should hold it. */
const EXPECTED: Record<string, (rows: readonly Customer[]) => Map<string, Record<string, unknown>>> = {
  klaviyo_main: (rows) => new Map(rows.map((r) => [String(r.id), { email: r.email, first_name: r.first_name, phone_number: E164[r.phone], orders: r.orders }])),
  mailchimp_main: (rows) => new Map(rows.map((r) => [r.email, { id: subscriberHash(r.email), status: 'subscribed', FNAME: r.first_name, ORDERS: r.orders }])),
  braze_main: (rows) => new Map(rows.map((r) => [String(r.id), { email: r.email, first_name: r.first_name, orders: r.orders }])),
};
const SYNCS: Record<string, string> = { klaviyo_main: 'klaviyo_profiles', mailchimp_main: 'mailchimp_members', braze_main: 'braze_users' };

describe('klaviyo, mailchimp and braze through `tideline sync --sandbox`', () => {
  let root: string;
  let sandbox: ChildProcess;
  let endpoints: Record<string, string>;
  const env = { KLAVIYO_API_KEY: 'pk_live_not_used_in_the_sandbox', MAILCHIMP_API_KEY: 'not-used-in-the-sandbox-us21', BRAZE_API_KEY: 'not-used-in-the-sandbox' };
  const states = async () => Object.fromEntries(await Promise.all(Object.entries(endpoints).map(async ([name, url]) => [name, await fetchEmulatorState(url)] as const)));
  const requests = (state: EmulatorState) => Object.values(state.requests).reduce((a, b) => a + b, 0);
  const results = () => (JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { results: { sync: string; status: string; counts: Record<string, number>; accepted: number; requests: number }[] }).results;

  beforeAll(async () => {
    root = tempProject({ ...FILES, 'data/customers.csv': csv(CUSTOMERS) });
    // The emulators start while the model builds.
    sandbox = spawn(process.execPath, [BIN, 'sandbox'], { cwd: root, env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: 'ignore' });
    const built = await runCli(['run'], { cwd: root, env });
    expect(built.code, built.stderr).toBe(0);
    const file = join(root, SANDBOX_FILE);
    for (let i = 0; i < 600 && !existsSync(file); i++) await delay(50);
    const running = JSON.parse(readFileSync(file, 'utf8')) as SandboxFile;
    endpoints = Object.fromEntries(Object.entries(running.destinations).map(([name, d]) => [name, d.endpoint]));
  }, 60_000);
  afterAll(() => {
    sandbox?.kill('SIGTERM');
  });

  it('the first sync makes every emulator hold the model; a second sends nothing; one change sends one record', async () => {
    const first = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(first.code, first.stderr).toBe(0);
    for (const secret of Object.values(env)) expect(first.stderr).not.toContain(secret);
    const afterFirst = await states();
    for (const name of Object.keys(VIEWS)) expect(VIEWS[name]!(afterFirst[name]!), name).toEqual(EXPECTED[name]!(CUSTOMERS));
    expect(Object.fromEntries(results().map((r) => [r.sync, [r.status, r.accepted]]))).toEqual(Object.fromEntries(Object.values(SYNCS).map((s) => [s, ['success', CUSTOMERS.length]])));

    const second = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(second.code, second.stderr).toBe(0);
    const afterSecond = await states();
    for (const name of Object.keys(VIEWS)) expect(requests(afterSecond[name]!), `${name} requests`).toBe(requests(afterFirst[name]!));
    expect(results().every((r) => r.requests === 0 && r.accepted === 0)).toBe(true);

    const changed = CUSTOMERS.map((c) => (c.id === 2 ? { ...c, first_name: 'Bobby', orders: 2 } : c));
    writeFileSync(join(root, 'data/customers.csv'), csv(changed));
    expect((await runCli(['run'], { cwd: root, env })).code).toBe(0);
    const third = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(third.code, third.stderr).toBe(0);
    for (const r of results()) expect(r, r.sync).toMatchObject({ status: 'success', counts: { added: 0, changed: 1 }, accepted: 1, requests: 1 });
    const afterThird = await states();
    for (const name of Object.keys(VIEWS)) {
      expect(VIEWS[name]!(afterThird[name]!), name).toEqual(EXPECTED[name]!(changed));
      expect(afterThird[name]!.duplicates, `${name} created no profile twice`).toEqual({});
    }
  });
});
