import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESTINATIONS as DESTINATION_TYPES } from '../destinations/index.js';
import { startWebhookEmulator, type WebhookEmulator } from '../destinations/webhook/emulator.js';
import { peopleModels, runCli, tempProject } from './support/cli.js';

const CSV = 'id,email,first_name,signed_up,orders\n1,alice@example.com,Alice,2024-01-05 10:00:00,3\n2,bob@example.org,Bob,2024-02-11 11:30:00,1\n3,chloe@example.net,Chloé,2024-03-20 09:15:00,0\n';
const MODELS = peopleModels(['first_name: first_name', 'signed_up: { from: signed_up, type: timestamp }', 'orders: { from: orders, type: integer }']);
const DESTINATIONS = `destinations:
  - name: crm_hook
    type: webhook
    url: \${env:HOOK_URL}
    secret: \${env:HOOK_SECRET}
    retries: { attempts: 3, base_ms: 10, max_ms: 50 }
`;
const SYNC = `syncs:
  - name: crm_contacts
    model: people
    destination: crm_hook
    object: contacts
    mode: upsert
    key: { from: customer_id, field: external_id }
    fields:
      email: email
      first_name: first_name
      signup_day: { from: signed_up, date_format: 'YYYY-MM-DD' }
      email_sha256: { from: email, transform: [trim, lower, hash] }
      source: { constant: tideline }
`;

function project(files: Record<string, string> = {}): string {
  return tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': CSV, 'models/people.yml': MODELS, 'syncs/crm.yml': DESTINATIONS + SYNC, ...files });
}

const lines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error: '));

describe('sync files: configuration errors are located and exit 2', () => {
  it('an events sync without `event:`, an `event:` on another mode, an unknown time column and a time column of text are located', async () => {
    const root = project({
      'syncs/crm.yml': `${DESTINATIONS}syncs:
  - name: no_event
    model: people
    destination: crm_hook
    object: purchases
    mode: events
    key: customer_id
  - name: not_events
    model: people
    destination: crm_hook
    object: contacts
    mode: upsert
    key: customer_id
    event: { time: signed_up, name: Signup }
  - name: unknown_time
    model: people
    destination: crm_hook
    object: signups
    mode: events
    key: customer_id
    event: { time: signed_at, name: Signup, lookback: 2 fortnights }
  - name: text_time
    model: people
    destination: crm_hook
    object: signups
    mode: events
    key: customer_id
    event: { time: email, name: { from: first_nam } }
`,
    });
    const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: root, env: { HOOK_URL: 'http://127.0.0.1:1/h', HOOK_SECRET: 'a-secret-of-24-characters' } });
    expect(result.code).toBe(2);
    const found = lines(result.stderr).join('\n');
    expect(found).toMatch(/syncs\/crm\.yml:12:11 {2}syncs\[0\]\.mode {2}an events sync says what makes each row an event/);
    expect(found).toMatch(/syncs\/crm\.yml:\d+:\d+ {2}syncs\[1\]\.event {2}`event` describes the rows of an events sync; this sync's mode is upsert/);
    expect(found).toMatch(/syncs\[2\]\.event\.lookback {2}a span of at least 1 minute, such as "30 minutes"/);
    // Columns are checked once the rest loads: the time column that is not there, the one holding text, the name's.
    const fixed = await runCli(['validate', '--log-format', 'pretty'], {
      cwd: tempProject({ 'syncs/crm.yml': readFileSync(join(root, 'syncs/crm.yml'), 'utf8').replace('2 fortnights', '2 days').replace(/  - name: no_event[\s\S]*?(?=  - name: unknown_time)/, '') }, root),
      env: { HOOK_URL: 'http://127.0.0.1:1/h', HOOK_SECRET: 'a-secret-of-24-characters' },
    });
    const columns = lines(fixed.stderr).join('\n');
    expect(columns).toMatch(/syncs\[0\]\.event\.time {2}unknown column "signed_at" in model "people" \(did you mean "signed_up"\?\)/);
    expect(columns).toMatch(/syncs\[1\]\.event\.time {2}an event's time must be a timestamp or a date column; "email" is string/);
    expect(columns).toMatch(/syncs\[1\]\.event\.name\.from {2}unknown column "first_nam" in model "people" \(did you mean "first_name"\?\)/);
  });

  it('reports every problem of every sync at once, with file:line:col and suggestions', async () => {
    const root = project({
      'syncs/crm.yml': `${DESTINATIONS}  - name: files
    type: fyle
    path: out
  - name: warehouse_copy
    type: table
    target: analytics
    schema: crm
${SYNC}  - name: broken
    model: peple
    destination: crm_hok
    object: contacts
    mode: upsert
    key: id
  - name: bad_columns
    model: people
    destination: crm_hook
    object: contacts
    mode: upsrt
    key: { from: custmer_id, field: external_id }
    fields:
      email: emial
      day: { from: orders, date_format: 'YYYY-MM-DD' }
      when: { from: signed_up, date_format: 'YYYY/Q' }
  - name: too_big
    model: people
    destination: crm_hook
    object: contacts
    mode: mirror
    key: customer_id
    fields: { customer_id: email }
    options: { batch_size: 100000 }
  - name: copy
    model: people
    destination: warehouse_copy
    object: contacts
    mode: upsert
    key: customer_id
`,
    });
    const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: root, env: { HOOK_URL: 'http://127.0.0.1:1/h', HOOK_SECRET: 'a-secret-of-24-characters' } });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      `error: syncs/crm.yml:8:11  destinations[1].type  unknown destination type "fyle" (did you mean "file"?); types: ${DESTINATION_TYPES.map((d) => d.type).join(', ')}`,
      'error: syncs/crm.yml:28:12  syncs[1].model  unknown model "peple" (did you mean "people"?)',
      'error: syncs/crm.yml:29:18  syncs[1].destination  unknown destination "crm_hok" (did you mean "crm_hook"?); destinations: crm_hook, warehouse_copy',
      'error: syncs/crm.yml:37:11  syncs[2].mode  expected one of "upsert", "update", "insert", "mirror", "audience", "events", got "upsrt" (did you mean "upsert"?)',
      'error: syncs/crm.yml:49:15  syncs[3].fields.customer_id  "customer_id" is the key\'s destination field; it cannot also be mapped as a field',
      'error: syncs/crm.yml:50:28  syncs[3].options.batch_size  destination "crm_hook" takes at most 100 records per request',
      'error: syncs/crm.yml:53:18  syncs[4].destination  the destination writes to target "analytics", which tideline.yml does not define (targets: none)',
    ]);

    // With those fixed, the column checks against the model run: unknown columns and a date format on a number.
    const columns = await runCli(['validate', '--log-format', 'pretty'], {
      cwd: project({
        'syncs/crm.yml': `${DESTINATIONS}${SYNC}  - name: bad_columns
    model: people
    destination: crm_hook
    object: contacts
    mode: upsert
    key: { from: custmer_id, field: external_id }
    fields:
      email: emial
      day: { from: orders, date_format: 'YYYY-MM-DD' }
      when: { from: signed_up, date_format: 'YYYY/Q' }
`,
      }),
      env: { HOOK_URL: 'http://127.0.0.1:1/h', HOOK_SECRET: 'a-secret-of-24-characters' },
    });
    expect(columns.code).toBe(2);
    expect(lines(columns.stderr)).toEqual(['error: syncs/crm.yml:29:45  syncs[1].fields.when.date_format  bad date format: unexpected "Q"; use YYYY, MM, DD, HH, mm, ss, ss.SSS, ss.SSSSSS and the separators - / : . , space T Z']);
    const fixed = await runCli(['validate', '--log-format', 'pretty'], {
      cwd: project({
        'syncs/crm.yml': `${DESTINATIONS}${SYNC}  - name: bad_columns
    model: people
    destination: crm_hook
    object: contacts
    mode: upsert
    key: { from: custmer_id, field: external_id }
    fields:
      email: emial
      day: { from: orders, date_format: 'YYYY-MM-DD' }
`,
      }),
      env: { HOOK_URL: 'http://127.0.0.1:1/h', HOOK_SECRET: 'a-secret-of-24-characters' },
    });
    expect(fixed.code).toBe(2);
    expect(lines(fixed.stderr)).toEqual([
      'error: syncs/crm.yml:25:18  syncs[1].key.from  unknown column "custmer_id" in model "people" (did you mean "customer_id"?)',
      'error: syncs/crm.yml:27:14  syncs[1].fields.email  unknown column "emial" in model "people" (did you mean "email"?)',
      'error: syncs/crm.yml:28:41  syncs[1].fields.day.date_format  date_format needs a date or timestamp column; "orders" is integer',
    ]);
  });

  it('a missing credential variable is located, and its value never printed', async () => {
    const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: project(), env: { HOOK_URL: 'http://127.0.0.1:1/h', HOOK_SECRET: undefined } });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      'error: syncs/crm.yml:5:13  destinations[0].secret  environment variable HOOK_SECRET is not set (referenced as ${env:HOOK_SECRET}); set it, add it to .env, or give a default: ${env:HOOK_SECRET:-value}',
    ]);
  });
});

describe('plan, sync, status and rejected through the CLI', () => {
  let emulator: WebhookEmulator;
  let root: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    emulator = await startWebhookEmulator({ reject: (record) => (record.key === '3' ? { code: 'invalid_name', message: 'first_name has a character we refuse' } : undefined) });
    root = project();
    env = { HOOK_URL: `${emulator.endpoint}/hook`, HOOK_SECRET: emulator.secret };
    expect((await runCli(['run'], { cwd: root, env })).code).toBe(0);
  }, 120_000);
  afterAll(() => emulator.close());

  it('plan shows counts and masked samples, and sends and writes nothing', async () => {
    const plan = await runCli(['plan'], { cwd: root, env });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/crm_contacts: people → crm_hook \(webhook\) contacts, mode upsert/);
    expect(plan.stdout).toMatch(/added\s+3/);
    expect(plan.stdout).toContain('"email":"a****@e******.com"');
    for (const raw of ['alice@example.com', 'bob@example.org', 'Chloé', emulator.secret]) {
      expect(plan.stdout).not.toContain(raw);
      expect(plan.stderr).not.toContain(raw);
    }
    expect(emulator.server.requests).toBe(0);
    expect(existsSync(join(root, 'target', 'sync_results.json'))).toBe(false);
  });

  it('sync sends, records results, and a second sync sends nothing', async () => {
    const first = await runCli(['sync', '--log-format', 'json'], { cwd: root, env });
    expect(first.code, first.stderr).toBe(0);
    expect(emulator.records('contacts').get('1')).toMatchObject({
      email: 'alice@example.com',
      signup_day: '2024-01-05',
      source: 'tideline',
      email_sha256: 'ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976',
    });
    const results = JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { status: string; results: Record<string, unknown>[] };
    expect(results.status).toBe('partial');
    expect(results.results[0]).toMatchObject({ sync: 'crm_contacts', status: 'partial', counts: { added: 3 }, accepted: 2, rejected: 1 });
    for (const raw of ['alice@example.com', emulator.secret]) expect(first.stderr).not.toContain(raw);

    const before = emulator.server.requests;
    const second = await runCli(['sync', '--log-format', 'json'], { cwd: root, env });
    expect(second.code).toBe(0);
    expect(emulator.server.requests).toBe(before);
    expect(second.stderr).toMatch(/"counts|held_back":1/);
  });

  it('status and rejected show the last run and the refused record', async () => {
    const status = await runCli(['status', '--json'], { cwd: root, env });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout.trim())).toMatchObject({ sync: 'crm_contacts', last_run: { status: 'success', added: 0 }, rejected: 1, rejected_retryable: 0 });
    const rejected = await runCli(['rejected', 'crm_contacts'], { cwd: root, env });
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toMatch(/^3 {2}invalid_name {2}×1 {2}first_name has a character we refuse$/m);
    const unknown = await runCli(['rejected', 'crm_contact', '--log-format', 'pretty'], { cwd: root, env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown sync "crm_contact" (did you mean "crm_contacts"?)');
  });

  it('sync --sandbox sends to a fresh emulator with its own state, never to the configured URL', async () => {
    const before = emulator.server.requests;
    const sandbox = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(sandbox.code, sandbox.stderr).toBe(0);
    expect(sandbox.stderr).toContain('sandbox crm_hook now holds contacts: 3');
    expect(emulator.server.requests).toBe(before);
  });

  it('a second sync --sandbox resumes the emulators as the first left them and sends nothing', async () => {
    const again = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('sandbox crm_hook now holds contacts: 3');
    const results = JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { sandbox: boolean; results: { sync: string; sent: number; requests: number }[] };
    expect(results.sandbox).toBe(true);
    expect(results.results.find((r) => r.sync === 'crm_contacts')).toMatchObject({ sent: 0, requests: 0 });
  });
});

describe('after a --sandbox sync with rejections', () => {
  it('the hint names `tideline rejected <sync> --sandbox`, which lists them; the address is never printed', async () => {
    const csv = 'id,email,first_name,signed_up,orders\n1,alice@example.com,Alice,2024-01-05 10:00:00,3\n2,x@@y.com,Bob,2024-02-11 11:30:00,1\n';
    const root = tempProject({
      'tideline.yml': 'name: shop\n',
      'data/people.csv': csv,
      'models/people.yml': MODELS,
      'syncs/crm.yml': `destinations:
  - name: hubspot
    type: hubspot
    token: \${env:HUBSPOT_TOKEN:-sandbox-token}
    retries: { attempts: 2, base_ms: 10, max_ms: 50 }
syncs:
  - name: hs_contacts
    model: people
    destination: hubspot
    object: contacts
    mode: upsert
    key: email
    fields:
      firstname: first_name
`,
    });
    expect((await runCli(['run'], { cwd: root })).code).toBe(0);
    const sync = await runCli(['sync', '--sandbox', '--log-format', 'pretty'], { cwd: root });
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stderr).toContain('hs_contacts: 2 sent (1 accepted, 1 rejected)');
    expect(sync.stderr).toContain('see `tideline rejected hs_contacts --sandbox`');
    const listed = await runCli(['rejected', 'hs_contacts', '--sandbox'], { cwd: root });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/ {2}invalid_email {2}×1 {2}.*HubSpot refuses an e-mail address as invalid/);
    // The production state has no rejection: without --sandbox the hint would have shown nothing.
    expect((await runCli(['rejected', 'hs_contacts'], { cwd: root })).stdout).toBe('no rejected records for hs_contacts\n');
    // A sync failed by --max-rejected names the same command.
    const failing = await runCli(['sync', '--sandbox', '--full-resync', '--max-rejected', '0', '--log-format', 'pretty'], { cwd: root });
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('more than max_rejected allows (0); see `tideline rejected hs_contacts --sandbox`');
    for (const output of [sync.stderr, sync.stdout, listed.stdout, listed.stderr, failing.stderr]) expect(output).not.toContain('x@@y.com');
  }, 120_000);
});

describe('an events sync through the CLI', () => {
  it('plan counts the events, sync sends each once, a second sync sends nothing, status shows how far it read', async () => {
    const emulator = await startWebhookEmulator({});
    try {
      const root = project({
        'syncs/crm.yml': `${DESTINATIONS}syncs:
  - name: signups
    model: people
    destination: crm_hook
    object: signups
    mode: events
    key: { from: customer_id, field: event_id }
    event: { time: signed_up, name: Signed up, backfill: all }
    fields: { email_sha256: { from: email, transform: [trim, lower, hash] } }
`,
      });
      const env = { HOOK_URL: `${emulator.endpoint}/hook`, HOOK_SECRET: emulator.secret };
      expect((await runCli(['run'], { cwd: root, env })).code).toBe(0);
      const plan = await runCli(['plan'], { cwd: root, env });
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toMatch(/signups: people → crm_hook \(webhook\) signups, mode events/);
      expect(plan.stdout).toMatch(/added\s+3/);
      const first = await runCli(['sync', '--log-format', 'json'], { cwd: root, env });
      expect(first.code, first.stderr).toBe(0);
      expect(emulator.records('signups').get('1')).toMatchObject({ event_name: 'Signed up', event_time: '2024-01-05T10:00:00.000Z' });
      expect(emulator.records('signups').size).toBe(3);
      const before = emulator.server.requests;
      expect((await runCli(['sync'], { cwd: root, env })).code).toBe(0);
      expect(emulator.server.requests).toBe(before);
      const status = await runCli(['status', '--json'], { cwd: root, env });
      const entry = JSON.parse(status.stdout.trim()) as { events_read_up_to: string | null };
      expect(Date.parse(entry.events_read_up_to!)).toBeGreaterThan(Date.parse('2024-03-20T09:15:00Z'));
    } finally {
      await emulator.close();
    }
  });
});
