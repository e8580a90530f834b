import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetaEmulator, type MetaEmulator } from '../destinations/meta/emulator.js';
import { consentGates } from '../src/expressions/policies.js';
import type { ColumnSpec, Value } from '../src/warehouses/connection.js';
import { runCli } from './support/cli.js';
import { engines } from './support/engines.js';
import { withPolicyTable } from './support/gates.js';
import { PolicyProject } from './support/policy-project.js';
import { PlainReceiver } from './support/plain-receiver.js';
import { problemsOf } from './support/problems.js';

/**
 * Consent by purpose (tideline.yml `consent:`), on DuckDB and PostgreSQL, judged by what a plain HTTP receiver was
 * sent. Purposes: marketing_email, sms, ads_personalisation, measurement; channels email → marketing_email, ads →
 * ads_personalisation; default denied. A suppression (legal_opt_outs, ads only) holds c02.
 *
 * Consent rows (latest per customer and purpose wins, a withdrawal wins a tie):
 *  - ads_personalisation: c01 yes; c02 yes then no (no); c03 yes and no at the same instant (no); c05 no then yes
 *    (yes); c04, c06 nothing (denied by default);
 *  - measurement: c01 yes, c04 yes, c05 no;
 *  - marketing_email: c01 yes, c03 yes.
 *
 * By hand:
 *  - ads_audience (audience, channel ads): c01 c05; c02 suppressed (the suppression wins), c03 c04 c06 no_consent.
 *    meta_audience, the same to the Meta emulator (channel ads by the destination type), holds the same.
 *  - ads_all (upsert, channel ads, `purposes: []`): everyone but the suppressed c02.
 *  - purchases_measured (events, channel ads, `purposes: [measurement]`): the purchases of c01 and c04; c02's is
 *    suppressed, c03's c05's c06's no_consent.
 *  - email_mirror (mirror, channel email): c01 c03.
 * Later c05 withdraws ads_personalisation and c03 marketing_email: they are removed from the audience and the mirror.
 */

const CUSTOMER_COLUMNS: ColumnSpec[] = [
  { name: 'customer_id', type: 'string' },
  { name: 'orders', type: 'integer' },
  { name: 'email', type: 'string' },
];
const CUSTOMERS: Value[][] = ['c01', 'c02', 'c03', 'c04', 'c05', 'c06'].map((id, i) => [id, i + 1, `${id}@example.com`]);
const META_AUDIENCE = '23850000000000001';
const CONSENT_COLUMNS: ColumnSpec[] = [
  { name: 'customer_id', type: 'string' },
  { name: 'purpose', type: 'string' },
  { name: 'granted', type: 'boolean' },
  { name: 'recorded_at', type: 'timestamp' },
];
const at = (text: string) => new Date(`${text}Z`);
const CONSENTS: Value[][] = [
  ['c01', 'ads_personalisation', true, at('2026-01-01T00:00:00')],
  ['c02', 'ads_personalisation', true, at('2026-01-01T00:00:00')],
  ['c02', 'ads_personalisation', false, at('2026-02-01T00:00:00')],
  ['c03', 'ads_personalisation', true, at('2026-01-01T00:00:00')],
  ['c03', 'ads_personalisation', false, at('2026-01-01T00:00:00')],
  ['c05', 'ads_personalisation', false, at('2026-01-01T00:00:00')],
  ['c05', 'ads_personalisation', true, at('2026-03-01T00:00:00')],
  ['c01', 'measurement', true, at('2026-01-01T00:00:00')],
  ['c04', 'measurement', true, at('2026-01-01T00:00:00')],
  ['c05', 'measurement', false, at('2026-01-01T00:00:00')],
  ['c01', 'marketing_email', true, at('2026-01-01T00:00:00')],
  ['c03', 'marketing_email', true, at('2026-01-01T00:00:00')],
];
const OPT_OUT_COLUMNS: ColumnSpec[] = [{ name: 'customer_id', type: 'string' }];
const OPT_OUTS: Value[][] = [['c02']];
const PURCHASE_COLUMNS: ColumnSpec[] = [
  { name: 'purchase_id', type: 'string' },
  { name: 'customer_id', type: 'string' },
  { name: 'bought_at', type: 'timestamp' },
];
// Purchases of the last hours: an events sync reads the last 7 days on its first run.
const hoursAgo = (n: number) => new Date(Date.now() - n * 3_600_000);
const PURCHASES: Value[][] = CUSTOMERS.map(([customer], i) => [`p-${String(customer)}`, customer!, hoursAgo(i + 2)]);

const PROJECT = (schema: string, state: string, target: string) => `name: consent
schema: ${schema}
state_schema: ${state}
targets: { main: ${target} }
target: main
suppressions:
  - { name: legal_opt_outs, from: opt_outs, key: customer_id, channels: [ads] }
consent:
  from: consent_facts
  customer: customer_id
  purpose: purpose
  granted: granted
  at: recorded_at
  purposes: [marketing_email, sms, ads_personalisation, measurement]
  channels: { email: [marketing_email], sms: [sms], ads: [ads_personalisation] }
`;

const MODELS = (raw: string) => `sources:
  - { name: raw_customers, table: ${raw}.customers }
  - { name: consent_facts, table: ${raw}.consents }
  - { name: opt_outs, table: ${raw}.opt_outs }
  - { name: raw_purchases, table: ${raw}.purchases }
models:
  - { name: customers, kind: staging, from: raw_customers }
  - { name: purchases, kind: staging, from: raw_purchases }
`;

const SYNCS = `destinations:
  - { name: hook, type: webhook, url: '\${env:HOOK_URL}' }
  - { name: fb, type: meta, endpoint: '\${env:META_URL}', access_token: '\${env:META_TOKEN}' }
syncs:
  - { name: meta_audience, model: customers, destination: fb, object: '${META_AUDIENCE}', mode: audience, key: { from: customer_id, field: external_id }, fields: { email: email }, options: { max_removals: '100%' } }
  - { name: ads_audience, model: customers, channel: ads, destination: hook, object: ads, mode: audience, key: customer_id, options: { max_removals: '100%' } }
  - { name: ads_all, model: customers, channel: ads, purposes: [], destination: hook, object: ads_all, mode: upsert, key: customer_id }
  - { name: purchases_measured, model: purchases, channel: ads, purposes: [measurement], destination: hook, object: purchases, mode: events, key: purchase_id, event: { time: bought_at, name: Purchase }, fields: { customer_id: customer_id } }
  - { name: email_mirror, model: customers, channel: email, destination: hook, object: mirror, mode: mirror, key: customer_id, fields: { orders: orders }, options: { max_removals: '100%' } }
`;

const keys = (map: ReadonlyMap<string, unknown>) => [...map.keys()].sort();

describe.each(engines())('consent by purpose on $name', (engine) => {
  let receiver: PlainReceiver;
  let meta: MetaEmulator;
  let env: Record<string, string>;
  let policy: PolicyProject;
  let raw: string;

  beforeAll(async () => {
    receiver = await PlainReceiver.start();
    meta = await startMetaEmulator();
    env = { HOOK_URL: receiver.url, META_URL: meta.endpoint, META_TOKEN: meta.accessToken };
    const tables = [
      ['customers', CUSTOMER_COLUMNS, CUSTOMERS],
      ['consents', CONSENT_COLUMNS, CONSENTS],
      ['opt_outs', OPT_OUT_COLUMNS, OPT_OUTS],
      ['purchases', PURCHASE_COLUMNS, PURCHASES],
    ] as const;
    policy = await PolicyProject.start(engine, (s) => ({ 'tideline.yml': PROJECT(s.schema, s.state, s.target), 'models/m.yml': MODELS(s.raw), 'syncs/s.yml': SYNCS }), tables, env);
    raw = policy.schemas.raw;
    await policy.build();
  });

  afterAll(async () => {
    await policy.close();
    await receiver.close();
    await meta.close();
  });

  const sync = (name: string) => policy.sync(name);

  it('resolves each sync\'s purposes: its channel\'s, or its own (`[]`: none)', () => {
    const purposes = (name: string) => policy.project.syncs.get(name)!.purposes;
    expect(purposes('ads_audience')).toEqual(['ads_personalisation']);
    expect(purposes('meta_audience')).toEqual(['ads_personalisation']);
    expect(purposes('ads_all')).toEqual([]);
    expect(purposes('purchases_measured')).toEqual(['measurement']);
    expect(purposes('email_mirror')).toEqual(['marketing_email']);
  });

  it('an ads audience holds only people who granted ads_personalisation; the plan counts what consent filtered', async () => {
    const plan = await policy.plan('ads_audience');
    expect(plan.counts).toMatchObject({ added: 2, suppressed: 1, no_consent: 3 });
    expect(plan.samples['no_consent']).toHaveLength(3);
    expect((await sync('ads_audience')).counts).toMatchObject({ added: 2, suppressed: 1, no_consent: 3 });
    expect(keys(receiver.records('ads'))).toEqual(['c01', 'c05']);
    expect((await sync('meta_audience')).counts).toMatchObject({ added: 2, suppressed: 1, no_consent: 3 });
    expect(keys(meta.records(META_AUDIENCE))).toEqual(['c01', 'c05']);
    expect(meta.stats.contractViolations).toBe(0);
    // `purposes: []`: no consent needed, the suppression still applies.
    expect((await sync('ads_all')).counts).toMatchObject({ added: 5, suppressed: 1, no_consent: 0 });
    expect(keys(receiver.records('ads_all'))).toEqual(['c01', 'c03', 'c04', 'c05', 'c06']);
    await sync('email_mirror');
    expect(keys(receiver.records('mirror'))).toEqual(['c01', 'c03']);
  });

  it('a measurement sync uses its own purpose instead of its channel\'s', async () => {
    expect((await sync('purchases_measured')).counts).toMatchObject({ added: 2, suppressed: 1, no_consent: 3 });
    expect(keys(receiver.records('purchases'))).toEqual(['p-c01', 'p-c04']);
  });

  it('withdrawing consent removes a member from an audience and a mirror on the next run, and stops new events', async () => {
    await policy.connection.insertRows({ schema: raw, name: 'consents' }, CONSENT_COLUMNS, [
      [
        ['c05', 'ads_personalisation', false, at('2026-06-01T00:00:00')],
        ['c03', 'marketing_email', false, at('2026-06-01T00:00:00')],
        ['c01', 'measurement', false, at('2026-06-01T00:00:00')],
      ],
    ]);
    // Consent is read when the sync plans: no model is rebuilt.
    const audience = await sync('ads_audience');
    expect(audience.counts).toMatchObject({ removed: 1, added: 0, no_consent: 4 });
    expect(keys(receiver.records('ads'))).toEqual(['c01']);
    expect((await sync('meta_audience')).counts).toMatchObject({ removed: 1, added: 0, no_consent: 4 });
    expect(keys(meta.records(META_AUDIENCE))).toEqual(['c01']);
    expect((await sync('email_mirror')).counts).toMatchObject({ removed: 1 });
    expect(keys(receiver.records('mirror'))).toEqual(['c01']);
    // New purchases: c01's is no longer measured, c04's is.
    await policy.connection.insertRows({ schema: raw, name: 'purchases' }, PURCHASE_COLUMNS, [
      [
        ['p2-c01', 'c01', hoursAgo(1)],
        ['p2-c04', 'c04', hoursAgo(1)],
      ],
    ]);
    await policy.build();
    const before = receiver.arrivals.length;
    const events = await sync('purchases_measured');
    expect(events.counts.added).toBe(1);
    expect(receiver.arrivals.slice(before).map((a) => a.key)).toEqual(['p2-c04']);
  });

  it('`tideline plan` shows the rows consent left out, and the sync summary counts them', async () => {
    // The CLI opens the warehouse itself: DuckDB's file takes one writer at a time.
    await policy.connection.close();
    try {
      const plan = await runCli(['plan', '--select', 'ads_audience'], { cwd: policy.root, env });
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toMatch(/suppressed \(suppressions, preferences\)\s+1/);
      expect(plan.stdout).toMatch(/no consent \(purposes not granted\)\s+4/);
      const json = await runCli(['sync', '--select', 'ads_audience', '--log-format', 'json'], { cwd: policy.root, env });
      expect(json.code, json.stderr).toBe(0);
      expect(json.stderr).toMatch(/4 without consent \(not sent: purposes not granted\)/);
    } finally {
      await policy.reopen();
    }
  }, 120_000);
});

describe.each(engines())('consent precedence on $name', (engine) => {
  it('every needed purpose must be granted; `default: granted` passes a purpose without any row, not a withdrawn one', async () => {
    // p1 nothing; p2 ads only; p3 ads and measurement; p4 ads, measurement withdrawn; p5 measurement given and
    // withdrawn at the same instant.
    const rows: Value[][] = [
      ['p2', 'ads', true, at('2026-01-01T00:00:00')],
      ['p3', 'ads', true, at('2026-01-01T00:00:00')],
      ['p3', 'measurement', true, at('2026-01-01T00:00:00')],
      ['p4', 'ads', true, at('2026-01-01T00:00:00')],
      ['p4', 'measurement', true, at('2026-01-01T00:00:00')],
      ['p4', 'measurement', false, at('2026-02-01T00:00:00')],
      ['p5', 'measurement', true, at('2026-01-01T00:00:00')],
      ['p5', 'measurement', false, at('2026-01-01T00:00:00')],
    ];
    await withPolicyTable(engine, { columns: CONSENT_COLUMNS, rows }, ['p1', 'p2', 'p3', 'p4', 'p5'], async (scope, passing) => {
      const base = { from: 'consents', customer: 'customer_id', purpose: 'purpose', granted: 'granted', at: 'recorded_at', purposes: ['ads', 'measurement'], channels: {} };
      const gates = (fallback: 'granted' | 'denied', purposes: string[]) => consentGates(scope, { ...base, default: fallback }, purposes, 'tl_');
      expect(await passing(gates('denied', ['ads', 'measurement']))).toEqual(['p3']);
      expect(await passing(gates('denied', ['ads']))).toEqual(['p2', 'p3', 'p4']);
      expect(await passing(gates('granted', ['ads', 'measurement']))).toEqual(['p1', 'p2', 'p3']);
      expect(gates('denied', []).ctes).toEqual([]);
    });
  });
});

describe('consent: located errors', () => {
  const consent = (extra = '') => `name: bad
consent:
  from: consents
  customer: customer_id
  purpose: purpose
  granted: granted
  at: recorded_at
  purposes: [marketing_email, ads_personalisation, measurement]
${extra}`;
  const models = `sources:
  - { name: consents, file: data/c.csv }
  - { name: people, file: data/p.csv }
models:
  - { name: contacts, kind: staging, from: people }
`;
  const data = { 'data/c.csv': 'customer_id,purpose,granted,recorded_at\nc1,measurement,true,2026-01-01\n', 'data/p.csv': 'id,email\n1,a@x.org\n' };
  const syncs = (sync: string) => `destinations:\n  - { name: hook, type: webhook, url: '\${env:HOOK_URL}' }\nsyncs:\n  - ${sync}\n`;
  const columns = { consents: ['customer_id', 'purpose', 'granted:boolean', 'recorded_at'], people: ['id', 'email'] };

  it('an unknown purpose on a sync and in `channels`, and purposes on a sync without a consent section', async () => {
    const unknown = await problemsOf({
      'tideline.yml': consent('  channels: { ads: [ads_personalization] }\n'),
      'models/m.yml': models,
      'syncs/s.yml': syncs('{ name: s, model: contacts, contact: id, purposes: [measurement, mesurement], destination: hook, object: o, mode: upsert, key: id }'),
      ...data,
    });
    expect(unknown).toEqual([
      expect.stringMatching(/^syncs\/s\.yml:4:\d+ +syncs\[0\]\.purposes\[1\] +unknown purpose "mesurement" \(did you mean "measurement"\?\); purposes: marketing_email, ads_personalisation, measurement$/),
      expect.stringMatching(/^tideline\.yml:9:\d+ +consent\.channels\.ads\[0\] +unknown purpose "ads_personalization" \(did you mean "ads_personalisation"\?\)/),
    ]);
    const none = await problemsOf({
      'tideline.yml': 'name: bad\n',
      'models/m.yml': models,
      'syncs/s.yml': syncs('{ name: s, model: contacts, contact: id, purposes: [measurement], destination: hook, object: o, mode: upsert, key: id }'),
      ...data,
    });
    expect(none).toEqual([expect.stringMatching(/^syncs\/s\.yml:4:\d+ +syncs\[0\]\.purposes +`purposes:` names consent purposes, which need a `consent:` section in tideline\.yml/)]);
    const channel = await problemsOf({ 'tideline.yml': consent('  channels: { emial: [marketing_email] }\n'), 'models/m.yml': models, ...data });
    expect(channel).toEqual([expect.stringMatching(/^tideline\.yml:9:\d+ +consent\.channels.*emial/)]);
  });

  it('unknown columns and wrong column types of the consent relation', async () => {
    const problems = await problemsOf(
      { 'tideline.yml': consent().replace('purpose: purpose', 'purpose: purpse').replace('at: recorded_at', 'at: purpose'), 'models/m.yml': models, ...data },
      { consents: ['customer_id', 'purpose', 'granted', 'recorded_at'], people: ['id', 'email'] },
    );
    expect(problems).toEqual([
      expect.stringMatching(/^tideline\.yml:5:12 +consent\.purpose +unknown column "purpse" in "consents".*did you mean "purpose"/),
      expect.stringMatching(/^tideline\.yml:6:12 +consent\.granted +"granted" must be a boolean column \(TRUE consent given\); it is string/),
      expect.stringMatching(/^tideline\.yml:7:7 +consent\.at +"purpose" must be a date or timestamp column; it is string/),
    ]);
    expect(await problemsOf({ 'tideline.yml': consent(), 'models/m.yml': models, ...data }, columns)).toEqual([]);
  });

  it('a sync needing consent without a contact column, located at what makes it need consent', async () => {
    const ads = await problemsOf(
      { 'tideline.yml': consent('  channels: { ads: [ads_personalisation] }\n'), 'models/m.yml': models, 'syncs/s.yml': syncs('{ name: s, model: contacts, channel: ads, destination: hook, object: o, mode: audience, key: id }'), ...data },
      columns,
    );
    expect(ads).toEqual([expect.stringMatching(/^syncs\/s\.yml:4:\d+ +syncs\[0\]\.channel +sync "s" needs consent to ads_personalisation, but model "contacts" has no customer_id column: .*`contact:`.*`purposes: \[\]`/)]);
    const own = await problemsOf(
      { 'tideline.yml': consent(), 'models/m.yml': models, 'syncs/s.yml': syncs('{ name: s, model: contacts, purposes: [measurement], destination: hook, object: o, mode: upsert, key: id }'), ...data },
      columns,
    );
    expect(own).toEqual([expect.stringMatching(/^syncs\/s\.yml:4:\d+ +syncs\[0\]\.purposes +sync "s" needs consent to measurement, but model "contacts" has no customer_id column: .*`contact:`.*`purposes: \[\]`/)]);
    // `purposes: []`, or naming the contact column: no problem.
    for (const sync of ['{ name: s, model: contacts, channel: ads, purposes: [], destination: hook, object: o, mode: audience, key: id }', '{ name: s, model: contacts, channel: ads, contact: id, destination: hook, object: o, mode: audience, key: id }']) {
      expect(await problemsOf({ 'tideline.yml': consent('  channels: { ads: [ads_personalisation] }\n'), 'models/m.yml': models, 'syncs/s.yml': syncs(sync), ...data }, columns)).toEqual([]);
    }
  });
});
