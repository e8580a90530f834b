import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrubPersonal, slackMessage, type RunSummary } from '../src/notify/notify.js';
import { peopleModels, tempProject } from './support/cli.js';
import { tidelineInProcess } from './support/in-process.js';

/**
 * Alerts (`notify:` in tideline.yml), through the CLI in process against a receiver on 127.0.0.1 that records every
 * request: what `run`, `sync` and `source freshness` post on failure and partial success, that no e-mail address,
 * phone number or webhook secret of the project reaches it or the logs, and that a receiver that refuses or never
 * answers changes nothing but a warning.
 */
const PEOPLE = 'id,email,phone,loaded_at\n1,ada.lovelace@example.org,+33 6 12 34 56 78,2020-01-01T00:00:00Z\n2,bob@example.net,0612345678,2020-01-01T00:00:00Z\n';
const PERSONAL = ['ada.lovelace@example.org', 'bob@example.net', '+33 6 12 34 56 78', '0612345678', '12 34 56 78', 'lovelace'];
const SLACK_PATH = '/services/T0TIDELINE/B0ALERTS/s3cr3tW3bh00kT0k3n';

interface Received {
  readonly path: string;
  readonly body: string;
}

/** Answers by path: the Slack path 200 `ok`, `/refuse` 500, `/hang` never, `/crm` 401 (a destination with bad credentials). */
class Receiver {
  readonly received: Received[] = [];
  readonly #sockets = new Set<Socket>();
  private constructor(readonly server: Server) {}

  static async start(): Promise<Receiver> {
    const server = createServer();
    const receiver = new Receiver(server);
    server.on('connection', (socket) => {
      receiver.#sockets.add(socket);
      socket.on('close', () => receiver.#sockets.delete(socket));
    });
    server.on('request', (request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const path = request.url ?? '';
        receiver.received.push({ path, body });
        if (path === '/hang') return;
        if (path === '/crm') return void response.writeHead(401).end('{"error":"bad token"}');
        if (path === '/refuse') return void response.writeHead(500).end('no_service for ada.lovelace@example.org');
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The Slack messages received since `from`, parsed. */
  messages(from = 0): { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[] }[] {
    return this.received.slice(from).filter((r) => r.path === SLACK_PATH).map((r) => JSON.parse(r.body) as never);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let receiver: Receiver;
beforeAll(async () => {
  receiver = await Receiver.start();
});
afterAll(async () => {
  await receiver.close();
});

/** `run` builds `people` and fails `flagged`, whose SQL raises an error quoting a row's e-mail and phone. */
const MODELS = `${peopleModels(['phone: phone'])}  - name: flagged
    kind: sql
    sql: "SELECT CASE WHEN id = 1 THEN error('customer ' || email || ' has phone ' || phone) END AS flag FROM {{ ref('raw_people') }}"
`;
const SYNCS = `destinations:
  - name: crm
    type: webhook
    url: \${env:CRM_URL}
    retries: { attempts: 1, base_ms: 10, max_ms: 10 }
syncs:
  - name: crm_contacts
    model: people
    destination: crm
    object: contacts
    mode: upsert
    key: customer_id
    fields: { email: email, phone: phone }
`;

function project(notify: string, files: Record<string, string> = {}): string {
  return tempProject({
    'tideline.yml': `name: shop\nnotify:\n${notify}`,
    '.env': `SLACK_WEBHOOK_URL=${receiver.url}${SLACK_PATH}\nCRM_URL=${receiver.url}/crm\n`,
    'data/people.csv': PEOPLE,
    'models/people.yml': MODELS,
    'syncs/crm.yml': SYNCS,
    ...files,
  });
}

const cli = (root: string, ...args: string[]) => tidelineInProcess(['--project', root, '--log-format', 'json', ...args]);
const logged = (stderr: string) =>
  stderr
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { level: string; msg: string });

function expectNothingPersonal(text: string): void {
  for (const value of PERSONAL) expect(text).not.toContain(value);
  expect(text).not.toContain('s3cr3tW3bh00kT0k3n');
}

describe('notify: alerts on failure and partial success', () => {
  it('build posts one alert for its models, tests and syncs (the receiver refuses the CRM: 401)', async () => {
    const root = project('  - webhook: ${env:SLACK_WEBHOOK_URL}\n');
    const from = receiver.received.length;
    const result = await cli(root, 'build');
    expect(result.code).toBe(1);
    const messages = receiver.messages(from);
    expect(messages.map((m) => m.text)).toEqual(['tideline build partly failed (project shop, target dev): 1 built, 1 failed, 0 skipped, 0 tests failed, 0 synced, 0 synced with rejections, 1 syncs failed, 0 syncs skipped']);
    expect(messages[0]!.blocks[2]!.text!.text).toMatch(/^\*Failed\*\n• model `flagged`: .*\n• sync `crm_contacts`: .*401/);
    expectNothingPersonal(receiver.received.slice(from).map((r) => r.body).join('\n'));
  });

  it('run posts a partial failure to the webhook: command, target, counts, the failed model with its error scrubbed', async () => {
    const root = project('  - webhook: ${env:SLACK_WEBHOOK_URL}\n');
    const from = receiver.received.length;
    const result = await cli(root, 'run');
    expect(result.code).toBe(1);
    const [message, ...more] = receiver.messages(from);
    expect(more).toEqual([]);
    expect(message!.text).toBe('tideline run partly failed (project shop, target dev): 1 built, 1 failed, 0 skipped');
    expect(message!.blocks[0]!.text!.text).toBe(':warning: tideline run partly failed');
    expect(message!.blocks[1]!.fields!.map((f) => f.text)).toEqual(['*Project*\nshop', '*Target*\ndev', '*Result*\n1 built, 1 failed, 0 skipped', expect.stringMatching(/^\*Duration\*\n\d+ s$/)]);
    const failed = message!.blocks[2]!.text!.text;
    expect(failed).toMatch(/^\*Failed\*\n• model `flagged`: .*customer &lt;email&gt; has phone &lt;phone&gt;/);
    expect(message!.blocks.at(-1)).toMatchObject({ type: 'context', elements: [{ type: 'mrkdwn', text: expect.stringMatching(/^run \d{8}T\d{9}Z-[0-9a-f]{6} · started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) }] });
    const body = receiver.received.slice(from).map((r) => r.body).join('\n');
    expectNothingPersonal(body);
    // The webhook's URL is a secret: its token never reaches the logs.
    expect(result.stderr).not.toContain('s3cr3tW3bh00kT0k3n');
  });

  it('sync posts a failure naming the sync and why; a run that succeeds posts nothing by default', async () => {
    const root = project('  - webhook: ${env:SLACK_WEBHOOK_URL}\n', { 'models/people.yml': peopleModels(['phone: phone']) });
    let from = receiver.received.length;
    expect((await cli(root, 'run')).code).toBe(0);
    expect(receiver.messages(from)).toEqual([]);

    from = receiver.received.length;
    const sync = await cli(root, 'sync');
    expect(sync.code).toBe(1);
    const [message] = receiver.messages(from);
    expect(message!.text).toBe('tideline sync failed (project shop, target dev): 0 succeeded, 0 with rejections, 1 failed, 0 skipped');
    expect(message!.blocks[2]!.text!.text).toMatch(/^\*Failed\*\n• sync `crm_contacts`: .*401/);
    expectNothingPersonal(receiver.received.slice(from).map((r) => r.body).join('\n'));

    // Try-outs alert nobody.
    from = receiver.received.length;
    expect((await cli(root, 'sync', '--dry-run')).code).toBe(0);
    expect(receiver.messages(from)).toEqual([]);
  });

  it('a sync reading a stale source through two models sends nothing; its alert says why; warn_after alone only warns', async () => {
    const stale = (freshness: string) =>
      peopleModels(['phone: phone']).replace('    file: data/people.csv\n', `    file: data/people.csv\n    freshness: ${freshness}\n`) +
      '  - { name: contacts, kind: staging, from: people, columns: { customer_id: { from: customer_id, type: string }, email: email, phone: phone } }\n';
    const root = project('  - webhook: ${env:SLACK_WEBHOOK_URL}\n', {
      'models/people.yml': peopleModels(['phone: phone']) + '  - { name: contacts, kind: staging, from: people, columns: { customer_id: { from: customer_id, type: string }, email: email, phone: phone } }\n',
      'syncs/crm.yml': SYNCS.replace('model: people', 'model: contacts'),
    });
    expect((await cli(root, 'run')).code).toBe(0);
    writeFileSync(join(root, 'models/people.yml'), stale('{ loaded_at: loaded_at, error_after: 30 days }'));
    const from = receiver.received.length;
    const sync = await cli(root, 'sync');
    expect(sync.code).toBe(1);
    expect(receiver.received.slice(from).map((r) => r.path)).toEqual([SLACK_PATH]);
    const [message] = receiver.messages(from);
    expect(message!.blocks[2]!.text!.text).toMatch(/^\*Failed\*\n• sync `crm_contacts`: source raw_people \(data\/people.csv\) is stale: loaded_at max 2020-01-01 00:00 UTC, \d+ days ago, error_after 30 days; nothing was sent$/);

    writeFileSync(join(root, 'models/people.yml'), stale('{ loaded_at: loaded_at, warn_after: 30 days }'));
    const warned = await cli(root, 'sync');
    // Past warn_after the sync goes on (to the destination, which refuses it here) after a warning.
    expect(logged(warned.stderr).some((l) => l.level === 'warn' && /^source raw_people \(data\/people.csv\) is getting stale/.test(l.msg))).toBe(true);
    expect(receiver.received.slice(from).map((r) => r.path)).toContain('/crm');
  });

  it('filters by outcome and command; a receiver that refuses or never answers is a warning, the exit code unchanged', async () => {
    const root = project(
      [
        `  - { webhook: "${receiver.url}/refuse" }`,
        `  - { webhook: "${receiver.url}/hang", timeout_seconds: 0.3 }`,
        '  - { webhook: "${env:SLACK_WEBHOOK_URL}", on: [success], commands: [source freshness] }',
        '  - { webhook: "${env:SLACK_WEBHOOK_URL}", commands: [sync] }',
        '  - { webhook: "${env:UNSET_WEBHOOK:-}" }',
        '',
      ].join('\n'),
      {
        'models/people.yml': MODELS.replace('- name: raw_people\n    file: data/people.csv', '- name: raw_people\n    file: data/people.csv\n    freshness: { loaded_at: loaded_at, warn_after: 1000 weeks }'),
      },
    );
    const from = receiver.received.length;
    const started = Date.now();
    const run = await cli(root, 'run');
    expect(run.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Only /refuse and /hang want a run's partial failure; the Slack entries want other commands or outcomes.
    expect(receiver.received.slice(from).map((r) => r.path).sort()).toEqual(['/hang', '/refuse']);
    const warnings = logged(run.stderr).filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warnings).toContain(`notification to 127.0.0.1:${new URL(receiver.url).port} was refused (500: no_service for <email>); the command's outcome is unchanged`);
    expect(warnings).toContain(`notification to 127.0.0.1:${new URL(receiver.url).port} failed: no answer within 0.3 s; the command's outcome is unchanged`);

    // source freshness passing: only the entry asking for its success posts.
    const next = receiver.received.length;
    const fresh = await cli(root, 'source', 'freshness');
    expect(fresh.code).toBe(0);
    const [message] = receiver.messages(next);
    expect(message!.text).toBe('tideline source freshness succeeded (project shop, target dev): 1 pass, 0 warn, 0 error');
    expect(receiver.received.slice(next).map((r) => r.path)).toEqual([SLACK_PATH]);
  });

  it('a command that cannot reach its warehouse, or finds a source column gone, posts a failure', async () => {
    const root = project('  - webhook: ${env:SLACK_WEBHOOK_URL}\n');
    writeFileSync(join(root, 'tideline.yml'), `name: shop\ntargets:\n  dev: { type: duckdb, path: data }\nnotify:\n  - webhook: \${env:SLACK_WEBHOOK_URL}\n`);
    const from = receiver.received.length;
    const run = await cli(root, 'run');
    expect(run.code).toBe(1);
    const [message] = receiver.messages(from);
    expect(message!.text).toBe('tideline run failed (project shop, target dev)');
    expect(message!.blocks[2]!.text!.text).toMatch(/^\*Failed\*\n• command `run`: /);

    // A column the source no longer has: found against the warehouse, listed by file, line and field.
    const drifted = project('  - webhook: ${env:SLACK_WEBHOOK_URL}\n', { 'data/people.csv': 'id,email\n1,a@example.org\n' });
    const next = receiver.received.length;
    expect((await cli(drifted, 'run')).code).toBe(2);
    const [problem] = receiver.messages(next);
    expect(problem!.text).toBe('tideline run failed (project shop, target dev)');
    expect(problem!.blocks[2]!.text!.text).toMatch(/^\*Failed\*\n• problem `unknown-column`: models\/people\.yml:\d+:\d+ {2}models\[0\]\.columns\.phone {2}unknown column "phone"/);
  });

  it('test posts its failed data tests, naming each test and no value of the rows', async () => {
    const root = project('  - webhook: ${env:SLACK_WEBHOOK_URL}\n    commands: [test]\n', {
      'models/people.yml': 'sources:\n  - name: raw_people\n    file: data/people.csv\n    tests:\n      - unique: id\n      - accepted_values: { column: email, values: [nobody@example.com] }\n',
      'syncs/crm.yml': '{}\n',
    });
    const from = receiver.received.length;
    const result = await cli(root, 'test');
    expect(result.code, result.stderr).toBe(1);
    const [message, ...more] = receiver.messages(from);
    expect(more).toEqual([]);
    expect(message!.text).toBe('tideline test partly failed (project shop, target dev): 1 pass, 0 warn, 1 fail, 0 error');
    expect(message!.blocks[2]!.text!.text).toBe('*Failed*\n• test `accepted_values_raw_people_email`: 2 rows of raw_people where email is not one of the 1 accepted values');
    expectNothingPersonal(receiver.received.slice(from).map((r) => r.body).join('\n'));
  });

  it('notify entries are validated with located errors', async () => {
    const root = project('  - webhook: hooks.slack.com/x\n    on: [failed]\n    commands: [deploy]\n    timeout_seconds: 0\n    channel: "#data"\n');
    const result = await tidelineInProcess(['--project', root, '--log-format', 'pretty', 'validate', '--offline']);
    expect(result.code).toBe(2);
    const problems = result.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(problems).toEqual([
      expect.stringMatching(/tideline\.yml:3:14 {2}notify\[0\]\.webhook {2}.*expected an http\(s\) URL, or an empty string to turn this entry off/),
      expect.stringMatching(/tideline\.yml:4:10 {2}notify\[0\]\.on\[0\] {2}.*"failure"/),
      expect.stringMatching(/tideline\.yml:5:16 {2}notify\[0\]\.commands\[0\] {2}.*"source freshness"/),
      expect.stringMatching(/tideline\.yml:6:22 {2}notify\[0\]\.timeout_seconds {2}/),
      expect.stringMatching(/tideline\.yml:7:5 {2}notify\[0\]\.channel {2}/),
    ]);
  });
});

describe('the message', () => {
  const summary: RunSummary = {
    command: 'sync',
    family: 'sync',
    outcome: 'partial',
    project: 'shop',
    target: 'prod',
    startedAt: new Date('2026-12-07T10:00:00Z'),
    finishedAt: new Date('2026-12-07T10:01:05Z'),
    counts: { succeeded: 1, failed: 12 },
    failures: Array.from({ length: 12 }, (_, i) => ({ type: 'sync', name: `s${i}`, message: i === 0 ? 'refused <b> & ' + 'x'.repeat(400) : 'down' })),
    warnings: [{ type: 'sync', name: 'ads', message: '3 of 10 records rejected' }],
  };

  it('escapes mrkdwn, cuts long errors, lists at most ten failures', () => {
    const { text, blocks } = slackMessage(summary) as { text: string; blocks: { text?: { text: string }; fields?: { text: string }[] }[] };
    expect(text).toBe('tideline sync partly failed (project shop, target prod): 1 succeeded, 12 failed');
    expect(blocks[1]!.fields![3]!.text).toBe('*Duration*\n65 s');
    const failed = blocks[2]!.text!.text.split('\n');
    expect(failed[1]).toMatch(/^• sync `s0`: refused &lt;b&gt; &amp; x+…$/);
    expect(failed[1]!.length).toBeLessThan(300);
    expect(failed).toHaveLength(1 + 10 + 1);
    expect(failed.at(-1)).toBe('… and 2 more');
    expect(blocks[3]!.text!.text).toBe('*Warnings*\n• sync `ads`: 3 of 10 records rejected');
  });

  it('replaces e-mail addresses, phone numbers and digests, not dates, times or counts', () => {
    expect(scrubPersonal("Could not convert 'jane.doe+x@mail.example.com' to INT32")).toBe('Could not convert <email> to INT32');
    expect(scrubPersonal('phones +33 6 12 34 56 78, 06 12 34 56 78, (555) 123-4567, 0612345678 and +4915112345678')).toBe('phones <phone>, <phone>, <phone>, <phone> and <phone>');
    expect(scrubPersonal('key 5d41402abc4b2a76b9719d911017c592 refused')).toBe('key <hash> refused');
    const kept = 'source orders is stale: loaded_at max 2026-12-01 10:00 UTC, 6 days ago; went from 1200000 to 30 rows (-100%)';
    expect(scrubPersonal(kept)).toBe(kept);
  });
});
