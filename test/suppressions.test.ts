import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../src/dialects/sql.js';
import { preferenceGates } from '../src/expressions/policies.js';
import type { ColumnSpec, Connection, Value } from '../src/warehouses/connection.js';
import { engines } from './support/engines.js';
import { PlainReceiver } from './support/plain-receiver.js';
import { withPolicyTable } from './support/gates.js';
import { PolicyProject } from './support/policy-project.js';
import { problemsOf } from './support/problems.js';

/**
 * Project-wide suppressions and preferences (tideline.yml), on DuckDB and PostgreSQL, judged by what a plain HTTP
 * receiver was sent. The as-of date is 2026-06-30, so "the last 14 days" is 2026-06-17 … 2026-06-30.
 *
 * Customers (orders, e-mail consent): c01 5 y, c02 3 y, c03 1 y, c04 0 y, c05 2 n, c06 4 y, c07 1 y, c08 2 y.
 * Tickets: c02 complained on 06-25 (suppressed), c03 on 05-01 (too old), c06 asked a question on 06-20 (not a
 * complaint). Later c01 complains on 06-29.
 * Preferences (e-mail, default denied): c01 promotions yes; c03 promotions yes then no (no); c06 the whole channel
 * yes (so promotions yes); c07 the whole channel no, then promotions yes (the channel-wide no wins); c08 promotions
 * yes and no at the same instant (the no wins); c04 promotions yes on sms only.
 *
 * By hand:
 * - contacts (customers → e-mail, no topic): all but c02 (suppressed) and c07 (e-mail opt-out) = c01 c03 c04 c05 c06
 *   c08; suppressed count 2.
 * - promo (customers → e-mail, topic promotions): c01 c06.
 * - audience loyal (e-mail, orders ≥ 1): qualifying c01 c02 c03 c05 c06 c07 c08; c02 suppressed, c05 no consent, c07
 *   refused by preferences (no_consent): members c01 c03 c06 c08.
 * - audience promo_mail (e-mail, topic promotions, everyone): members c01 c06.
 * - ads: ads_promo (priority 10, no consent needed, everyone) caps the ads channel at 1, and buyers_excl (exclusion,
 *   orders ≥ 1) still holds all of c01 c02 c03 c05 c06 c07 c08: never capped, never suppressed; ads_promo loses c02.
 */

const CUSTOMER_COLUMNS: ColumnSpec[] = [
  { name: 'customer_id', type: 'string' },
  { name: 'orders', type: 'integer' },
  { name: 'consent_email', type: 'boolean' },
];
const CUSTOMERS: Value[][] = [
  ['c01', 5, true],
  ['c02', 3, true],
  ['c03', 1, true],
  ['c04', 0, true],
  ['c05', 2, false],
  ['c06', 4, true],
  ['c07', 1, true],
  ['c08', 2, true],
];
const TICKET_COLUMNS: ColumnSpec[] = [
  { name: 'customer_id', type: 'string' },
  { name: 'created_at', type: 'timestamp' },
  { name: 'type', type: 'string' },
  { name: 'channel', type: 'string' },
];
const at = (text: string) => new Date(`${text}Z`);
const TICKETS: Value[][] = [
  ['c02', at('2026-06-25T10:00:00'), 'complaint', 'email'],
  ['c03', at('2026-05-01T10:00:00'), 'complaint', 'phone'],
  ['c06', at('2026-06-20T10:00:00'), 'question', 'email'],
];
const PREF_COLUMNS: ColumnSpec[] = [
  { name: 'customer_id', type: 'string' },
  { name: 'channel', type: 'string' },
  { name: 'topic', type: 'string' },
  { name: 'opted_in', type: 'boolean' },
  { name: 'updated_at', type: 'timestamp' },
];
const PREFS: Value[][] = [
  ['c01', 'email', 'promotions', true, at('2026-01-01T00:00:00')],
  ['c03', 'email', 'promotions', true, at('2026-01-01T00:00:00')],
  ['c03', 'email', 'promotions', false, at('2026-03-01T00:00:00')],
  ['c06', 'email', null, true, at('2026-01-01T00:00:00')],
  ['c07', 'email', null, false, at('2026-02-01T00:00:00')],
  ['c07', 'email', 'promotions', true, at('2026-05-01T00:00:00')],
  ['c08', 'email', 'promotions', true, at('2026-01-01T00:00:00')],
  ['c08', 'email', 'promotions', false, at('2026-01-01T00:00:00')],
  ['c04', 'sms', 'promotions', true, at('2026-01-01T00:00:00')],
];

const CART_COLUMNS: ColumnSpec[] = [
  { name: 'cart_id', type: 'string' },
  { name: 'customer_id', type: 'string' },
  { name: 'abandoned_at', type: 'timestamp' },
];
// One abandoned cart per customer, in the last hours (an events sync reads the last 7 days on its first run).
const CARTS: Value[][] = CUSTOMERS.map(([customer], i) => [`cart-${String(customer)}`, customer!, new Date(Date.now() - (i + 1) * 3_600_000)]);

const PROJECT = (schema: string, state: string, target: string) => `name: suppress
schema: ${schema}
state_schema: ${state}
targets: { main: ${target} }
target: main
vars: { as_of: '2026-06-30' }
suppressions:
  - name: recent_complainers
    description: Complained to customer service in the last 14 days
    from: tickets
    key: customer_id
    where: [{ column: type, equals: complaint }]
    within: { last: 14 days, time: created_at }
preferences:
  from: preference_facts
  customer: customer_id
  channel: channel
  topic: topic
  granted: opted_in
  at: updated_at
  topics: [promotions, newsletter]
`;

const MODELS = (raw: string) => `sources:
  - { name: raw_customers, table: ${raw}.customers }
  - { name: tickets, table: ${raw}.tickets }
  - { name: preference_facts, table: ${raw}.preferences }
  - { name: raw_carts, table: ${raw}.carts }
models:
  - name: carts
    kind: staging
    from: raw_carts
  - name: customers
    kind: staging
    from: raw_customers
  - name: segments
    kind: audiences
    customers: customers
    consent: { email: consent_email }
    pressure: { ads: { max: 1 } }
    audiences:
      - name: loyal
        channel: email
        where: { field: orders, gte: 1 }
      - name: promo_mail
        channel: email
        topic: promotions
        where: { field: orders, gte: 0 }
      - name: ads_promo
        channel: ads
        priority: 10
        require_consent: false
        where: { field: orders, gte: 0 }
      - name: buyers_excl
        channel: ads
        purpose: exclusion
        where: { field: orders, gte: 1 }
`;

const SYNCS = `destinations:
  - { name: hook, type: webhook, url: '\${env:HOOK_URL}' }
syncs:
  - { name: contacts, model: customers, channel: email, destination: hook, object: contacts, mode: upsert, key: customer_id, fields: { orders: orders } }
  - { name: contacts_mirror, model: customers, channel: email, destination: hook, object: mirror, mode: mirror, key: customer_id, fields: { orders: orders }, options: { max_deletes: 5 } }
  - { name: promo, model: customers, channel: email, topic: promotions, destination: hook, object: promo, mode: upsert, key: customer_id, fields: { orders: orders } }
  - { name: loyal_list, model: segments, audience: loyal, destination: hook, object: loyal, mode: audience, key: customer_id }
  # Its two members both leave below: the removal guard would refuse emptying the list.
  - { name: promo_list, model: segments, audience: promo_mail, destination: hook, object: promo_mail, mode: audience, key: customer_id, options: { max_removals: '100%' } }
  - { name: ads_list, model: segments, audience: ads_promo, destination: hook, object: ads_promo, mode: audience, key: customer_id }
  - { name: excl_list, model: segments, audience: buyers_excl, destination: hook, object: excl, mode: audience, key: customer_id }
  - { name: contacts_all, model: customers, channel: email, suppress: false, destination: hook, object: all, mode: upsert, key: customer_id, fields: { orders: orders } }
  - { name: cart_events, model: carts, channel: email, destination: hook, object: carts, mode: events, key: cart_id, event: { time: abandoned_at, name: Cart abandoned }, fields: { customer_id: customer_id } }
`;

const keys = (map: ReadonlyMap<string, unknown>) => [...map.keys()].sort();

describe.each(engines())('suppressions and preferences on $name', (engine) => {
  let receiver: PlainReceiver;
  let policy: PolicyProject;
  let connection: Connection;
  let raw: string;
  let schema: string;

  beforeAll(async () => {
    receiver = await PlainReceiver.start();
    const tables = [
      ['customers', CUSTOMER_COLUMNS, CUSTOMERS],
      ['tickets', TICKET_COLUMNS, TICKETS],
      ['preferences', PREF_COLUMNS, PREFS],
      ['carts', CART_COLUMNS, CARTS],
    ] as const;
    policy = await PolicyProject.start(engine, (s) => ({ 'tideline.yml': PROJECT(s.schema, s.state, s.target), 'models/m.yml': MODELS(s.raw), 'syncs/s.yml': SYNCS }), tables, { HOOK_URL: receiver.url });
    ({ connection } = policy);
    ({ raw, schema } = policy.schemas);
  });

  afterAll(async () => {
    await policy.close();
    await receiver.close();
  });

  const build = () => policy.build();
  const sync = (name: string) => policy.sync(name);

  async function statuses(audience: string): Promise<Record<string, string>> {
    const d = connection.dialect;
    const rows = await connection.query(sql`SELECT customer_id, audience_status FROM ${d.table({ schema, name: 'segments' })} WHERE audience = ${d.string(audience)} ORDER BY customer_id`);
    return Object.fromEntries(rows.map((r) => [String(r['customer_id']), String(r['audience_status'])]));
  }

  it('audiences mark suppressed members, apply preferences, and never cap or suppress an exclusion audience', async () => {
    await build();
    expect(await statuses('loyal')).toEqual({ c01: 'member', c02: 'suppressed', c03: 'member', c05: 'no_consent', c06: 'member', c07: 'no_consent', c08: 'member' });
    const promo = await statuses('promo_mail');
    expect(Object.keys(promo).filter((k) => promo[k] === 'member')).toEqual(['c01', 'c06']);
    expect(promo['c02']).toBe('suppressed');
    const ads = await statuses('ads_promo');
    expect(Object.keys(ads).filter((k) => ads[k] === 'member')).toEqual(['c01', 'c03', 'c04', 'c05', 'c06', 'c07', 'c08']);
    expect(await statuses('buyers_excl')).toEqual(Object.fromEntries(['c01', 'c02', 'c03', 'c05', 'c06', 'c07', 'c08'].map((k) => [k, 'member'])));
    const d = connection.dialect;
    const report = await connection.query(sql`SELECT audience, members, no_consent, suppressed, capped FROM ${d.table({ schema, name: 'segments_report' })} ORDER BY audience`);
    expect(report.map((r) => [r['audience'], Number(r['members']), Number(r['no_consent']), Number(r['suppressed']), Number(r['capped'])])).toEqual([
      ['ads_promo', 7, 0, 1, 0],
      ['buyers_excl', 7, 0, 0, 0],
      ['loyal', 4, 2, 1, 0],
      ['promo_mail', 2, 5, 1, 0],
    ]);
  });

  it('syncs of every kind leave suppressed and refused contacts out; an exclusion list keeps the complainer', async () => {
    const plan = await policy.plan('contacts');
    expect(plan.counts).toMatchObject({ added: 6, suppressed: 2 });
    expect((await sync('contacts')).counts).toMatchObject({ added: 6, suppressed: 2 });
    expect(keys(receiver.records('contacts'))).toEqual(['c01', 'c03', 'c04', 'c05', 'c06', 'c08']);
    await sync('contacts_mirror');
    expect(keys(receiver.records('mirror'))).toEqual(['c01', 'c03', 'c04', 'c05', 'c06', 'c08']);
    await sync('promo');
    expect(keys(receiver.records('promo'))).toEqual(['c01', 'c06']);
    await sync('loyal_list');
    expect(keys(receiver.records('loyal'))).toEqual(['c01', 'c03', 'c06', 'c08']);
    await sync('promo_list');
    expect(keys(receiver.records('promo_mail'))).toEqual(['c01', 'c06']);
    await sync('ads_list');
    expect(keys(receiver.records('ads_promo'))).toEqual(['c01', 'c03', 'c04', 'c05', 'c06', 'c07', 'c08']);
    await sync('excl_list');
    expect(keys(receiver.records('excl'))).toEqual(['c01', 'c02', 'c03', 'c05', 'c06', 'c07', 'c08']);
    await sync('contacts_all');
    expect(keys(receiver.records('all'))).toEqual(['c01', 'c02', 'c03', 'c04', 'c05', 'c06', 'c07', 'c08']);
    // An events sync on e-mail: the complainer's and the opted-out contact's carts are never sent.
    expect((await sync('cart_events')).counts).toMatchObject({ added: 6, suppressed: 2 });
    expect(keys(receiver.records('carts'))).toEqual(['cart-c01', 'cart-c03', 'cart-c04', 'cart-c05', 'cart-c06', 'cart-c08']);
  });

  it('a new complaint reaches the syncs before the audiences are rebuilt: removed from mirror and audience, no longer sent by upserts', async () => {
    const d = connection.dialect;
    await connection.insertRows({ schema: raw, name: 'tickets' }, TICKET_COLUMNS, [[['c01', at('2026-06-29T09:00:00'), 'complaint', 'sms']]]);
    await connection.execute(sql`UPDATE ${d.table({ schema: raw, name: 'customers' })} SET orders = 9 WHERE customer_id IN ('c01', 'c03')`);
    await build();
    const sentBefore = receiver.arrivals.length;
    const upsert = await sync('contacts');
    // c03 changed and is sent; c01 changed too but is suppressed now.
    expect(upsert.counts).toMatchObject({ changed: 1, suppressed: 3 });
    expect(receiver.arrivals.slice(sentBefore).map((a) => [a.operation, a.key])).toEqual([['upsert', 'c03']]);
    const mirror = await sync('contacts_mirror');
    expect(mirror.counts).toMatchObject({ removed: 1 });
    expect(keys(receiver.records('mirror'))).toEqual(['c03', 'c04', 'c05', 'c06', 'c08']);
    await sync('loyal_list');
    expect(keys(receiver.records('loyal'))).toEqual(['c03', 'c06', 'c08']);
    await sync('excl_list');
    expect(keys(receiver.records('excl'))).toEqual(['c01', 'c02', 'c03', 'c05', 'c06', 'c07', 'c08']);
    expect((await statuses('loyal'))['c01']).toBe('suppressed');
  });

  it('the sync applies a suppression filed after the last build (the audiences not rebuilt)', async () => {
    await connection.insertRows({ schema: raw, name: 'tickets' }, TICKET_COLUMNS, [[['c06', at('2026-06-30T08:00:00'), 'complaint', 'email']]]);
    const result = await sync('loyal_list');
    expect(result.counts).toMatchObject({ removed: 1 });
    expect(keys(receiver.records('loyal'))).toEqual(['c03', 'c08']);
    expect((await statuses('loyal'))['c06']).toBe('member');
  });

  it("an audience sync applies its audience's topic, and no preferences for an audience without consent", async () => {
    await connection.insertRows({ schema: raw, name: 'preferences' }, PREF_COLUMNS, [
      [
        ['c01', 'email', 'promotions', false, at('2026-06-30T09:00:00')],
        ['c03', 'ads', null, false, at('2026-06-30T09:00:00')],
      ],
    ]);
    // c06 complained above (the last test); promo_mail held c01 and c06.
    expect((await sync('promo_list')).counts).toMatchObject({ removed: 2 });
    expect(keys(receiver.records('promo_mail'))).toEqual([]);
    // ads_promo needs no consent: c03's ads opt-out leaves it in; the complainers c01 (rebuilt) and c06 leave.
    await sync('ads_list');
    expect(keys(receiver.records('ads_promo'))).toEqual(['c03', 'c04', 'c05', 'c07', 'c08']);
  });
});

describe('suppressions: located errors', () => {
  const base = (extra: string) => `name: bad\n${extra}`;
  const models = `sources:
  - { name: tickets, file: data/t.csv }
  - { name: people, file: data/p.csv }
models:
  - { name: contacts, kind: staging, from: people }
`;
  const data = { 'data/t.csv': 'customer_id,created_at,type\nc1,2026-01-01,complaint\n', 'data/p.csv': 'id,email\n1,a@x.org\n' };
  const syncs = (sync: string) => `destinations:\n  - { name: hook, type: webhook, url: '\${env:HOOK_URL}' }\nsyncs:\n  - ${sync}\n`;

  it('an unknown channel, and a suppression from an unknown relation', async () => {
    const channel = await problemsOf({ 'tideline.yml': base('suppressions:\n  - name: d\n    from: tickets\n    key: customer_id\n    channels: [emial]\n'), 'models/m.yml': models, ...data });
    expect(channel).toEqual([expect.stringMatching(/^tideline\.yml:6:16 +suppressions\[0\]\.channels\[0\] +expected one of "email", .*got "emial" \(did you mean "email"\?\)/)]);
    const relation = await problemsOf({ 'tideline.yml': base('suppressions:\n  - name: c\n    from: tikets\n    key: customer_id\n'), 'models/m.yml': models, ...data });
    expect(relation).toEqual([expect.stringMatching(/^tideline\.yml:4:11 +suppressions\[0\]\.from +unknown source or model "tikets".*did you mean "tickets"/)]);
  });

  it('unknown columns of a suppression, and a sync on a suppressed channel without a contact column', async () => {
    const problems = await problemsOf(
      {
        'tideline.yml': base('suppressions:\n  - name: c\n    from: tickets\n    key: customer\n    within: { last: 14 days, time: type }\n'),
        'models/m.yml': models,
        'syncs/s.yml': syncs('{ name: s, model: contacts, channel: email, destination: hook, object: o, mode: upsert, key: id }'),
        ...data,
      },
      { tickets: ['customer_id', 'created_at', 'type'], people: ['id', 'email'] },
    );
    expect(problems).toEqual([
      expect.stringMatching(/^syncs\/s\.yml:4:\d+ +syncs\[0\]\.channel +sync "s" is on channel email, where suppressions c apply, but model "contacts" has no customer_id column: .*`contact:`.*`suppress: false`/),
      expect.stringMatching(/^tideline\.yml:5:10 +suppressions\[0\]\.key +unknown column "customer" in "tickets".*did you mean "customer_id"/),
      expect.stringMatching(/^tideline\.yml:6:36 +suppressions\[0\]\.within\.time +"type" must be a date or timestamp column; it is string/),
    ]);
    // Exempt, or naming its contact column: no problem.
    for (const sync of ['{ name: s, model: contacts, channel: email, suppress: false, destination: hook, object: o, mode: upsert, key: id }', '{ name: s, model: contacts, channel: email, contact: id, destination: hook, object: o, mode: upsert, key: id }']) {
      const fine = await problemsOf(
        { 'tideline.yml': base('suppressions:\n  - { name: c, from: tickets, key: customer_id }\n'), 'models/m.yml': models, 'syncs/s.yml': syncs(sync), ...data },
        { tickets: ['customer_id', 'created_at', 'type'], people: ['id', 'email'] },
      );
      expect(fine).toEqual([]);
    }
  });

  it('a suppression reading an audiences model, which would read itself', async () => {
    const problems = await problemsOf({
      'tideline.yml': base('suppressions:\n  - { name: c, from: segs, key: id }\n'),
      'models/m.yml': `${models}  - name: segs
    kind: audiences
    customers: contacts
    key: id
    audiences:
      - { name: a, channel: email, require_consent: false, where: { field: email, is_null: false } }
`,
      ...data,
    });
    expect(problems).toEqual([expect.stringMatching(/^tideline\.yml:3:22 +suppressions\[0\]\.from +"segs" belongs to audiences model "segs", which applies the project's suppressions and preferences itself/)]);
  });

  it('an unknown topic, on an audience and on a sync', async () => {
    const problems = await problemsOf({
      'tideline.yml': base('preferences: { from: prefs, customer: customer_id, channel: channel, topic: topic, granted: opted_in, at: at, topics: [promotions] }\n'),
      'models/m.yml': `sources:
  - { name: prefs, file: data/t.csv }
  - { name: people, file: data/p.csv }
models:
  - { name: contacts, kind: staging, from: people }
  - name: segs
    kind: audiences
    customers: contacts
    key: id
    audiences:
      - { name: a, channel: email, topic: promotion, where: { field: email, is_null: false } }
`,
      ...data,
    });
    expect(problems).toEqual([expect.stringMatching(/^models\/m\.yml:11:\d+ +models\[1\]\.audiences\[0\]\.topic +unknown topic "promotion" \(did you mean "promotions"\?\); topics: promotions$/)]);
    const sync = await problemsOf({
      'tideline.yml': base('preferences: { from: people, customer: id, channel: email, topic: email, granted: email, at: email, topics: [promotions] }\n'),
      'models/m.yml': models,
      'syncs/s.yml': syncs('{ name: s, model: contacts, channel: email, topic: promo, contact: id, destination: hook, object: o, mode: upsert, key: id }'),
      ...data,
    });
    expect(sync).toEqual([expect.stringMatching(/^syncs\/s\.yml:4:\d+ +syncs\[0\]\.topic +unknown topic "promo"; topics: promotions$/)]);
  });
});

describe.each(engines())('preference precedence with `default: granted` on $name', (engine) => {
  it('a topic is granted without any row, refused by its own opt-out or a channel-wide one', async () => {
    // p1 nothing (granted by default); p2 opted out of promotions; p3 opted out of all e-mail, later in to
    // promotions (refused); p4 opted out of promotions, then in again (granted); p5 out of promotions by sms only.
    const rows: Value[][] = [
      ['p2', 'email', 'promotions', false, at('2026-01-01T00:00:00')],
      ['p3', 'email', null, false, at('2026-01-01T00:00:00')],
      ['p3', 'email', 'promotions', true, at('2026-02-01T00:00:00')],
      ['p4', 'email', 'promotions', false, at('2026-01-01T00:00:00')],
      ['p4', 'email', 'promotions', true, at('2026-03-01T00:00:00')],
      ['p5', 'sms', 'promotions', false, at('2026-01-01T00:00:00')],
    ];
    await withPolicyTable(engine, { columns: PREF_COLUMNS, rows }, ['p1', 'p2', 'p3', 'p4', 'p5'], async (scope, passing) => {
      const prefs = { from: 'prefs', customer: 'customer_id', channel: 'channel', topic: 'topic', granted: 'opted_in', at: 'updated_at', topics: ['promotions'], default: 'granted' as const };
      expect(await passing(preferenceGates(scope, prefs, 'email', 'promotions', 'tl_'))).toEqual(['p1', 'p4', 'p5']);
    });
  });
});
