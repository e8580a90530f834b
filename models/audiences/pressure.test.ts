import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogicalType } from '../../src/dialects/dialect.js';
import { joinSql, sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { runModels } from '../../src/pipeline/runner.js';
import { join } from 'node:path';
import { analyseProject, analyseWithSources } from '../../src/project/analyse.js';
import { modelScript } from '../../src/pipeline/script.js';
import { expectGolden, GOLDEN_DIALECTS } from '../../test/support/golden.js';
import { loadProject } from '../../src/project/loader.js';
import { StateStore } from '../../src/state/store.js';
import type { AudiencesSpec } from './schema.js';
import { audiencesQuery, explainCustomer } from './cli.js';
import { renderExplanation } from './explain.js';
import { previewAudience } from './preview.js';
import { MESSAGES_COLUMNS } from '../../src/state/tables.js';
import type { Connection, Value } from '../../src/warehouses/connection.js';
import { runCli, tempProject } from '../../test/support/cli.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';

/**
 * The project's marketing pressure policy on two audiences models, judged against a reference written here in plain
 * TypeScript over the same hand-written rows (sent history, delivered events, qualifications), not by re-running SQL.
 *
 * As of 2026-06-30. Caps: e-mail ≤ 2 per 7 days (days after 06-23), all channels ≤ 3 per 30 days (days after 05-31).
 * Weights: promotional 1, newsletter 0.5, transactional 0; `default` 1.
 */

const AS_OF = '2026-06-30';
const CAPS = [
  { channels: ['email'], max: 2, days: 7, label: 'email ≤ 2 per 7 days' },
  { channels: ['email', 'sms', 'ads', 'phone', 'crm', 'push', 'mail'], max: 3, days: 30, label: 'all channels ≤ 3 per 30 days' },
];
const WEIGHTS: Record<string, number> = { promotional: 1, newsletter: 0.5, transactional: 0 };

interface Audience {
  readonly name: string;
  readonly channel: string;
  readonly priority: number;
  readonly type: string;
  readonly exclusion?: boolean;
}
const MODELS: Record<string, Audience[]> = {
  campaigns: [
    { name: 'flash_sale', channel: 'email', priority: 5, type: 'promotional' },
    { name: 'restock', channel: 'email', priority: 4, type: 'promotional' },
    { name: 'newsletter', channel: 'email', priority: 3, type: 'newsletter' },
    { name: 'receipt', channel: 'email', priority: 9, type: 'transactional' },
    { name: 'sms_promo', channel: 'sms', priority: 4, type: 'promotional' },
    { name: 'blocklist', channel: 'email', priority: 0, type: 'promotional', exclusion: true },
  ],
  retention: [
    { name: 'winback', channel: 'email', priority: 2, type: 'promotional' },
    { name: 'ads_retarget', channel: 'ads', priority: 1, type: 'promotional' },
  ],
};
const QUALIFIES = ['flash_sale', 'restock', 'newsletter', 'receipt', 'sms_promo', 'blocklist', 'winback', 'ads_retarget'];

/** customer → the audiences they qualify for (a boolean column `q_<audience>` each); consent everywhere. */
const FIRST: Record<string, string[]> = {
  c1: ['flash_sale', 'newsletter', 'sms_promo', 'winback'],
  c6: ['flash_sale', 'newsletter'],
  c8: ['flash_sale', 'restock'],
};
/** The second build, once the syncs sent SENT: more customers qualify, for more audiences. */
const SECOND: Record<string, string[]> = {
  c1: ['flash_sale', 'newsletter', 'sms_promo', 'winback', 'restock'],
  c2: ['flash_sale', 'newsletter', 'receipt', 'sms_promo', 'blocklist', 'winback'],
  c3: ['flash_sale', 'sms_promo', 'ads_retarget'],
  c4: ['flash_sale', 'newsletter'],
  c5: ['flash_sale', 'newsletter', 'restock'],
  c6: ['flash_sale', 'newsletter'],
  c7: ['flash_sale', 'restock'],
  c8: ['flash_sale', 'restock', 'newsletter'],
  c9: ['blocklist', 'winback'],
};

interface Message {
  readonly k: string;
  readonly channel: string;
  readonly type: string;
  readonly day: string;
  readonly sync: string;
  readonly model: string;
  readonly audience: string | null;
  readonly record: string;
}
const m = (k: string, channel: string, type: string, day: string, sync: string, model: string, audience: string | null, record = `${k}@x.org`): Message => ({ k, channel, type, day, sync, model, audience, record });

/** What Tideline sent, as `sync_messages` rows (written after the first build). */
const SENT: Message[] = [
  // c2: two promotional e-mails this week, from both models: the e-mail cap is full.
  m('c2', 'email', 'promotional', '2026-06-25', 'winback_brevo', 'retention', 'winback'),
  m('c2', 'email', 'promotional', '2026-06-28', 'flash_brevo', 'campaigns', 'flash_sale'),
  // c3: older e-mails (outside the 7 days, inside the 30) and an SMS: the all-channel cap is full.
  m('c3', 'email', 'promotional', '2026-06-10', 'flash_brevo', 'campaigns', 'flash_sale'),
  m('c3', 'email', 'promotional', '2026-06-15', 'winback_brevo', 'retention', 'winback'),
  m('c3', 'sms', 'promotional', '2026-06-20', 'sms_twilio', 'campaigns', 'sms_promo', '0611'),
  // c4: a newsletter (half) and a promotional e-mail: 1.5 this week; the same entry synced twice counts once.
  m('c4', 'email', 'newsletter', '2026-06-29', 'news_brevo', 'campaigns', 'newsletter'),
  m('c4', 'email', 'promotional', '2026-06-26', 'flash_brevo', 'campaigns', 'flash_sale'),
  m('c4', 'email', 'promotional', '2026-06-26', 'flash_file', 'campaigns', 'flash_sale'),
  // c5: transactional inserts (weight 0), one e-mail on the window's edge (06-23: not in the 7 days), one too old.
  m('c5', 'email', 'transactional', '2026-06-29', 'receipts', 'orders_feed', null, 'o1'),
  m('c5', 'email', 'transactional', '2026-06-29', 'receipts', 'orders_feed', null, 'o2'),
  m('c5', 'email', 'promotional', '2026-06-23', 'flash_brevo', 'campaigns', 'flash_sale'),
  m('c5', 'email', 'promotional', '2026-05-01', 'flash_brevo', 'campaigns', 'flash_sale'),
  // c7: one promotional e-mail: room for one more, which the higher priority takes.
  m('c7', 'email', 'promotional', '2026-06-27', 'winback_brevo', 'retention', 'winback'),
  // c10 (who joins the customers after the second build, for the preview): like c7.
  m('c10', 'email', 'promotional', '2026-06-27', 'winback_brevo', 'retention', 'winback'),
  // c8: three e-mails this week, though a member of flash_sale and restock since the first build.
  m('c8', 'email', 'promotional', '2026-06-28', 'flash_brevo', 'campaigns', 'flash_sale'),
  m('c8', 'email', 'promotional', '2026-06-28', 'restock_brevo', 'campaigns', 'restock'),
  m('c8', 'email', 'promotional', '2026-06-29', 'winback_brevo', 'retention', 'winback'),
  // c9: two e-mails this week; the exclusion list is never capped.
  m('c9', 'email', 'promotional', '2026-06-25', 'flash_brevo', 'campaigns', 'flash_sale'),
  m('c9', 'email', 'promotional', '2026-06-26', 'flash_brevo', 'campaigns', 'flash_sale'),
  // After the as-of date: never counted (or c1's new restock entry would not fit).
  m('c1', 'email', 'promotional', '2026-07-02', 'flash_brevo', 'campaigns', 'flash_sale'),
  m('c1', 'email', 'promotional', '2026-07-03', 'winback_brevo', 'retention', 'winback'),
];

/** Delivered-message events of the ESP (`email_facts`): only `delivered` rows count, as promotional e-mails. */
const FACTS: [string, string, string][] = [
  ['c6', 'delivered', '2026-06-27 10:00:00'],
  ['c6', 'delivered', '2026-06-28 10:00:00'],
  ['c6', 'opened', '2026-06-28 11:00:00'],
  ['c1', 'opened', '2026-06-29 11:00:00'],
];

type Verdict = Record<string, Record<string, string>>;

const dayMinus = (iso: string, days: number) => new Date(Date.parse(`${iso}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);

/** The reference: each model decided alone, over the same history, its customers' new entries in priority order. */
function reference(model: string, qualifies: Record<string, string[]>, sent: readonly Message[], previous: Verdict): { status: Verdict; cappedBy: Verdict } {
  const status: Verdict = {};
  const cappedBy: Verdict = {};
  const weight = (type: string) => WEIGHTS[type] ?? 1;
  const counted: { k: string; channel: string; type: string; day: string }[] = [];
  const seen = new Set<string>();
  for (const s of sent) {
    const id = JSON.stringify([s.model, s.audience ?? s.sync, s.audience === null ? s.record : null, s.k, s.channel, s.type, s.day]);
    if (seen.has(id)) continue;
    seen.add(id);
    counted.push(s);
  }
  for (const [k, kind, at] of FACTS) if (kind === 'delivered') counted.push({ k, channel: 'email', type: 'promotional', day: at.slice(0, 10) });
  for (const [k, names] of Object.entries(qualifies)) {
    const used = CAPS.map((cap) =>
      counted.filter((x) => x.k === k && cap.channels.includes(x.channel) && x.day > dayMinus(AS_OF, cap.days)).reduce((s, x) => s + weight(x.type), 0),
    );
    const order = MODELS[model]!.filter((a) => names.includes(a.name)).sort((a, b) => b.priority - a.priority || (a.name < b.name ? -1 : 1));
    for (const a of order) {
      const caps = CAPS.map((cap, i) => ({ cap, i })).filter(({ cap }) => cap.channels.includes(a.channel));
      const current = previous[a.name]?.[k] === 'member';
      const full = caps.find(({ cap, i }) => used[i]! + weight(a.type) > cap.max);
      const verdict = current || a.exclusion || weight(a.type) === 0 || !full ? 'member' : 'capped';
      (status[a.name] ??= {})[k] = verdict;
      if (verdict === 'capped') (cappedBy[a.name] ??= {})[k] = full!.cap.label;
      else if (!current && !a.exclusion) for (const { i } of caps) used[i]! += weight(a.type);
    }
  }
  return { status, cappedBy };
}

function modelsYaml(raw: string): string {
  const audiences = (model: string) =>
    MODELS[model]!.map(
      (a) =>
        `      - { name: ${a.name}, channel: ${a.channel}, priority: ${a.priority}, type: ${a.type}${a.exclusion ? ', purpose: exclusion, require_consent: false' : ''}, where: { field: q_${a.name}, equals: true } }`,
    ).join('\n');
  return `sources:
  - { name: customers, table: ${raw}.customers }
  - { name: email_facts, table: ${raw}.email_facts }
models:
  - { name: email_log, kind: staging, from: email_facts }
${Object.keys(MODELS)
  .map((model) => `  - name: ${model}\n    kind: audiences\n    customers: customers\n    as_of: '${AS_OF}'\n    audiences:\n${audiences(model)}`)
  .join('\n')}
`;
}

export function pressureYaml(): string {
  return `pressure:
  caps:
    - { channels: [email], max: 2, per: 7 days }
    - { channels: all, max: 3, per: 30 days }
  weights: { promotional: 1, newsletter: 0.5, transactional: 0 }
  delivered:
    - { from: email_log, customer: customer_id, time: occurred_at, channel: email, type: promotional, where: [{ column: event_type, equals: delivered }] }
`;
}

const CUSTOMER_COLUMNS: [string, LogicalType][] = [
  ['customer_id', 'string'],
  ['consent_email', 'boolean'],
  ['consent_sms', 'boolean'],
  ['consent_ads', 'boolean'],
  ...QUALIFIES.map((a): [string, LogicalType] => [`q_${a}`, 'boolean']),
];

const customerRows = (qualifies: Record<string, string[]>): Value[][] => Object.entries(qualifies).map(([k, names]) => [k, true, true, true, ...QUALIFIES.map((a) => names.includes(a))]);

for (const engine of engines()) {
  describe(`marketing pressure over time on ${engine.name}`, () => {
    let connection: Connection;
    const raw = uniqueSchema('prs_raw');
    const models = uniqueSchema('prs');
    const state = uniqueSchema('prs_state');
    let root: string;
    const built: Record<string, { status: Verdict; cappedBy: Verdict }>[] = [];

    const build = async () => {
      const project = await loadProject({ projectDir: root });
      const analysis = await analyseProject(project, connection);
      const results = await runModels(project, connection, analysis, project.order, { logger: createLogger({ level: 'silent' }) });
      // The delivered events' model is built first: the audiences models read it.
      expect(results.map((r) => [r.model, r.status, r.error])).toEqual([
        ['email_log', 'success', null],
        ['campaigns', 'success', null],
        ['retention', 'success', null],
      ]);
      const out: Record<string, { status: Verdict; cappedBy: Verdict }> = {};
      for (const model of Object.keys(MODELS)) {
        const status: Verdict = {};
        const cappedBy: Verdict = {};
        const rows = await connection.query(sql`SELECT audience, customer_id, audience_status, audience_capped_by FROM ${connection.dialect.table({ schema: models, name: model })}`);
        for (const row of rows) {
          const [a, k] = [String(row['audience']), String(row['customer_id'])];
          (status[a] ??= {})[k] = String(row['audience_status']);
          if (row['audience_capped_by'] !== null) (cappedBy[a] ??= {})[k] = String(row['audience_capped_by']);
        }
        out[model] = { status, cappedBy };
      }
      built.push(out);
    };

    beforeAll(async () => {
      connection = await engine.open();
      const d = connection.dialect;
      await connection.execute(d.createSchema(raw));
      const create = async (name: string, columns: [string, LogicalType][], rows: Value[][]) => {
        const ref = { schema: raw, name };
        await connection.execute(sql`CREATE TABLE ${d.table(ref)} (${joinSql(columns.map(([c, type]) => sql`${d.id(c)} ${d.type(type)}`))})`);
        await connection.insertRows(ref, columns.map(([name, type]) => ({ name, type })), [rows]);
      };
      await create('customers', CUSTOMER_COLUMNS, customerRows(FIRST));
      await create(
        'email_facts',
        [
          ['customer_id', 'string'],
          ['event_type', 'string'],
          ['occurred_at', 'timestamp'],
        ],
        FACTS.map(([k, kind, at]) => [k, kind, new Date(`${at}Z`)]),
      );
      root = tempProject({
        'tideline.yml': `name: shop\nschema: ${models}\nstate_schema: ${state}\ntargets:\n  test: ${JSON.stringify(engine.target)}\n${pressureYaml()}`,
        'models/audiences.yml': modelsYaml(raw),
      });
      // First build: no sync ran yet, so the state table does not exist; only delivered events and this build count.
      await build();
      // Then the syncs sent what SENT holds, and some customers qualify for more.
      const store = new StateStore(connection, state);
      await store.setup();
      const at = (day: string) => new Date(`${day}T09:30:00Z`);
      await connection.insertRows(store.table('messages'), MESSAGES_COLUMNS, [
        SENT.map((s, i) => [s.sync, s.model, s.audience, s.record, s.k, s.channel, s.type, `run-${i}`, at(s.day)]),
      ]);
      await connection.execute(sql`DELETE FROM ${d.table({ schema: raw, name: 'customers' })} WHERE 1 = 1`);
      await connection.insertRows({ schema: raw, name: 'customers' }, CUSTOMER_COLUMNS.map(([name, type]) => ({ name, type })), [customerRows(SECOND)]);
      await build();
    }, 120_000);
    afterAll(async () => {
      for (const schema of [raw, models, state, `${models}__tl_work`]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${connection.dialect.id(schema)} CASCADE`);
      await connection.close();
    });

    for (const model of Object.keys(MODELS)) {
      it(`${model}, first build: nothing sent yet; delivered events and this build's own entries count`, () => {
        expect(built[0]![model]).toEqual(reference(model, FIRST, [], {}));
      });
      it(`${model}, second build: the sent history across models and channels, weights, windows, priorities; current members stay`, () => {
        const first = reference(model, FIRST, [], {}).status;
        expect(built[1]![model]).toEqual(reference(model, SECOND, SENT, first));
      });
    }

    it('`audience preview --customer` explains a cap: the messages counted, the higher priority that took the room', async () => {
      // A new customer, c10, qualifies for flash_sale and restock, with one e-mail sent this week (SENT).
      await connection.insertRows({ schema: raw, name: 'customers' }, CUSTOMER_COLUMNS.map(([name, type]) => ({ name, type })), [customerRows({ c10: ['flash_sale', 'restock'] })]);
      const project = await loadProject({ projectDir: root });
      const analysis = await analyseProject(project, connection);
      const model = project.models.get('campaigns')!;
      const spec = model.spec as AudiencesSpec;
      const own = await audiencesQuery(project, analysis, { ...model, spec }, connection);
      const explained = await explainCustomer(project, own, 'restock', 'c10', connection);
      expect(explained).toEqual({
        customer: 'c10',
        audience: 'restock',
        asOf: AS_OF,
        status: 'capped',
        cappedBy: 'email ≤ 2 per 7 days',
        current: false,
        exempt: null,
        caps: CAPS.map((cap) => ({
          label: cap.label,
          max: cap.max,
          counted: 1,
          messages: [{ source: 'winback', model: 'retention', channel: 'email', type: 'promotional', weight: 1, day: '2026-06-27', origin: 'sent' }],
          before: [{ audience: 'flash_sale', channel: 'email', type: 'promotional', weight: 1, priority: 5 }],
        })),
      });
      expect(renderExplanation(explained!)).toBe(`marketing pressure for customer c10 in restock, as of 2026-06-30: capped by email ≤ 2 per 7 days
  email ≤ 2 per 7 days: 1 counted + 1 entering before it in this build
    2026-06-27  email  promotional    weight 1    winback (retention)
    this build  email  promotional    weight 1    flash_sale (priority 5, decided first)
  all channels ≤ 3 per 30 days: 1 counted + 1 entering before it in this build
    2026-06-27  email  promotional    weight 1    winback (retention)
    this build  email  promotional    weight 1    flash_sale (priority 5, decided first)
`);
      // Through the executable (PostgreSQL: an in-memory DuckDB is this process's own): the same text, after the preview.
      if (engine.name === 'postgres') {
        const cli = await runCli(['audience', 'preview', 'restock', '--model', 'campaigns', '--customer', 'c10', '--samples', '0'], { cwd: root });
        expect(cli.code, cli.stderr).toBe(0);
        expect(cli.stdout.endsWith(renderExplanation(explained!))).toBe(true);
        // c10 here, and c1, whose two e-mails after the as-of date fill its cap.
        expect(cli.stdout).toMatch(/^ {4}marketing pressure +2\n {6}email ≤ 2 per 7 days +2$/m);
      }
      // The delivered events and the current members are explained too; the summary counts capped members per cap.
      const c6 = await explainCustomer(project, own, 'flash_sale', 'c6', connection);
      expect(c6!.caps[0]!.messages.map((m) => [m.day, m.source, m.model])).toEqual([
        ['2026-06-27', 'email_log', null],
        ['2026-06-28', 'email_log', null],
      ]);
      expect((await explainCustomer(project, own, 'flash_sale', 'c8', connection))!).toMatchObject({ status: 'member', current: true });
      const preview = await previewAudience(connection, connection.dialect, own, 'flash_sale', [], 0);
      expect(preview.cappedBy).toEqual(expect.arrayContaining([
        { by: 'email ≤ 2 per 7 days', members: 3 },
        { by: 'all channels ≤ 3 per 30 days', members: 1 },
      ]));
    });

    it('the reference holds the cases it is meant to (so the comparison above tests them)', () => {
      const first = reference('campaigns', FIRST, [], {});
      const second = reference('campaigns', SECOND, SENT, first.status);
      const retention = reference('retention', SECOND, SENT, reference('retention', FIRST, [], {}).status);
      // The delivered events fill c6's e-mail cap from the first build on; the opened rows do not count.
      expect(first.cappedBy['flash_sale']!['c6']).toBe('email ≤ 2 per 7 days');
      expect(first.status['newsletter']!['c6']).toBe('capped');
      // Messages after the as-of date count too (they were sent; a pinned as-of date must not forget them): c1's two
      // later e-mails fill its e-mail cap, so its new restock entry is capped.
      expect(second.cappedBy['restock']!['c1']).toBe('email ≤ 2 per 7 days');
      // c2's e-mail cap is full (both models' sends count, in both models); the transactional receipt (weight 0) still
      // enters, and so does the SMS, up to the all-channel cap.
      expect(second.cappedBy['flash_sale']!['c2']).toBe('email ≤ 2 per 7 days');
      expect(retention.cappedBy['winback']!['c2']).toBe('email ≤ 2 per 7 days');
      expect([second.status['receipt']!['c2'], second.status['sms_promo']!['c2']]).toEqual(['member', 'member']);
      // c3: e-mails older than 7 days leave the e-mail cap empty, but the 30-day all-channel cap is full (SMS counted).
      expect(second.cappedBy['flash_sale']!['c3']).toBe('all channels ≤ 3 per 30 days');
      expect(retention.cappedBy['ads_retarget']!['c3']).toBe('all channels ≤ 3 per 30 days');
      // c4: 1.5 this week (a newsletter counts half; the entry synced twice counts once): the promotional e-mail no
      // longer fits, the newsletter does, after it.
      expect([second.status['flash_sale']!['c4'], second.status['newsletter']!['c4']]).toEqual(['capped', 'member']);
      // c5: transactional counts 0 and 06-23 is outside the 7 days: flash_sale and restock fit, the newsletter not.
      expect([second.status['flash_sale']!['c5'], second.status['restock']!['c5'], second.status['newsletter']!['c5']]).toEqual(['member', 'member', 'capped']);
      // The higher priority wins the last slot: flash_sale (5) before restock (4) for c7.
      expect([second.status['flash_sale']!['c7'], second.status['restock']!['c7']]).toEqual(['member', 'capped']);
      // c8 stays in flash_sale and restock over the cap; its new newsletter entry is capped.
      expect([second.status['flash_sale']!['c8'], second.status['restock']!['c8'], second.status['newsletter']!['c8']]).toEqual(['member', 'member', 'capped']);
      // The exclusion list is never capped, though c9's and c2's e-mail caps are full.
      expect(second.status['blocklist']).toEqual({ c2: 'member', c9: 'member' });
    });
  });
}

/**
 * Entries built and not sent yet: a second build before the syncs ran must not fill the room the first build's
 * entries took. As of today (the sync's messages are dated by the clock); e-mail ≤ 1 per 7 days.
 */
for (const engine of engines()) {
  describe(`marketing pressure between a build and its sync on ${engine.name}`, () => {
    it('counts current members of a synced audience until their message is recorded, then the message', async () => {
      const connection = await engine.open();
      const d = connection.dialect;
      const [raw, models, state] = [uniqueSchema('pnd_raw'), uniqueSchema('pnd'), uniqueSchema('pnd_state')];
      try {
        await connection.execute(d.createSchema(raw));
        const customers = { schema: raw, name: 'customers' };
        const columns = CUSTOMER_COLUMNS.map(([name, type]) => ({ name, type }));
        await connection.execute(sql`CREATE TABLE ${d.table(customers)} (${joinSql(CUSTOMER_COLUMNS.map(([c, type]) => sql`${d.id(c)} ${d.type(type)}`))})`);
        const qualify = async (rows: Record<string, string[]>) => {
          await connection.execute(sql`DELETE FROM ${d.table(customers)} WHERE 1 = 1`);
          await connection.insertRows(customers, columns, [customerRows(rows)]);
        };
        const root = tempProject({
          'tideline.yml': `name: shop\nschema: ${models}\nstate_schema: ${state}\ntargets:\n  test: ${JSON.stringify(engine.target)}\npressure:\n  caps: [{ channels: [email], max: 1, per: 7 days }]\n`,
          'models/a.yml': `sources:
  - { name: customers, table: ${raw}.customers }
models:
  - name: campaigns
    kind: audiences
    customers: customers
    audiences:
      - { name: flash_sale, channel: email, priority: 5, where: { field: q_flash_sale, equals: true } }
      - { name: newsletter, channel: email, priority: 4, where: { field: q_newsletter, equals: true } }
      - { name: restock, channel: email, priority: 1, where: { field: q_restock, equals: true } }
`,
          // flash_sale is sent; the newsletter has no sync: its members are never messaged.
          'syncs/s.yml': `destinations:
  - { name: out, type: file, path: out }
syncs:
  - { name: flash_list, model: campaigns, audience: flash_sale, destination: out, object: flash, mode: audience, key: customer_id }
`,
        });
        const project = await loadProject({ projectDir: root });
        expect(project.pressure!.synced).toEqual({ campaigns: ['flash_sale'] });
        const statuses = async () => {
          const analysis = await analyseProject(project, connection);
          const results = await runModels(project, connection, analysis, project.order, { logger: createLogger({ level: 'silent' }) });
          expect(results.map((r) => r.status)).toEqual(['success']);
          const rows = await connection.query(sql`SELECT audience, customer_id, audience_status FROM ${d.table({ schema: models, name: 'campaigns' })}`);
          return Object.fromEntries(rows.map((r) => [`${String(r['audience'])}/${String(r['customer_id'])}`, String(r['audience_status'])]));
        };

        // c1 enters flash_sale, c2 the newsletter; neither is sent yet.
        await qualify({ c1: ['flash_sale'], c2: ['newsletter'] });
        expect(await statuses()).toEqual({ 'flash_sale/c1': 'member', 'newsletter/c2': 'member' });
        // Built again before any sync: c1's flash_sale entry is about to be sent, so restock does not fit; c2's
        // newsletter is sent by no sync, so restock does.
        await qualify({ c1: ['flash_sale', 'restock'], c2: ['newsletter', 'restock'] });
        expect(await statuses()).toEqual({ 'flash_sale/c1': 'member', 'restock/c1': 'capped', 'newsletter/c2': 'member', 'restock/c2': 'member' });
        const query = async () => audiencesQuery(project, await analyseProject(project, connection), { ...project.models.get('campaigns')!, spec: project.models.get('campaigns')!.spec as AudiencesSpec }, connection);
        const pending = await explainCustomer(project, await query(), 'restock', 'c1', connection);
        expect(pending!.caps[0]!.messages.map((m) => [m.source, m.origin])).toEqual([['flash_sale', 'pending']]);

        // The sync sends flash_sale: the entry is now a recorded message, counted once.
        const { SyncEngine } = await import('../../src/sync/engine.js');
        const sent = await new SyncEngine({ project, connection, logger: createLogger({ level: 'silent' }) }).run(project.syncs.get('flash_list')!);
        expect(sent).toMatchObject({ status: 'success', accepted: 1 });
        expect(await statuses()).toEqual({ 'flash_sale/c1': 'member', 'restock/c1': 'capped', 'newsletter/c2': 'member', 'restock/c2': 'member' });
        const recorded = await explainCustomer(project, await query(), 'restock', 'c1', connection);
        expect(recorded!.caps[0]!.messages.map((m) => [m.source, m.model, m.origin])).toEqual([['flash_sale', 'campaigns', 'sent']]);
      } finally {
        for (const schema of [raw, models, state, `${models}__tl_work`]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(schema)} CASCADE`);
        await connection.close();
      }
    }, 60_000);
  });
}

describe('marketing pressure: golden SQL', () => {
  const targets = `targets:
  bigquery: { type: bigquery, project: acme-data, dataset: analytics }
  snowflake: { type: snowflake, account: acme, user: TIDELINE, password: x, warehouse: W, database: ANALYTICS, schema: analytics }
target: bigquery
schema: analytics
`;
  // flash_sale is synced: its current members not recorded as sent yet count as pending messages.
  const root = tempProject({
    'tideline.yml': `name: shop\n${targets}${pressureYaml()}`,
    'models/audiences.yml': modelsYaml('raw'),
    'syncs/s.yml': 'destinations:\n  - { name: out, type: file, path: out }\nsyncs:\n  - { name: flash_list, model: campaigns, audience: flash_sale, destination: out, object: flash, mode: audience, key: customer_id }\n',
  });
  const columns = new Map([
    ['customers', CUSTOMER_COLUMNS.map(([name, type]) => ({ name, type }))],
    [
      'email_facts',
      [
        { name: 'customer_id', type: 'string' as const },
        { name: 'event_type', type: 'string' as const },
        { name: 'occurred_at', type: 'timestamp' as const },
      ],
    ],
  ]);
  // The dialects no test executes; DuckDB and PostgreSQL build the same models above against the reference.
  for (const dialect of GOLDEN_DIALECTS) {
    it(dialect, async () => {
      const project = await loadProject({ projectDir: root, target: dialect });
      const analysis = analyseWithSources(project, columns, true);
      expectGolden(join(import.meta.dirname, '../../test/golden/audiences_pressure', `${dialect}.sql`), modelScript(project, analysis, project.models.get('campaigns')!).script);
    });
  }
});

describe('marketing pressure: configuration errors are located and exit 2', () => {
  const validate = async (files: Record<string, string>) => {
    const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: tempProject(files) });
    expect(result.code).toBe(2);
    return result.stderr.split('\n').filter((l) => l.startsWith('error:'));
  };
  const model = (audience: string) => `sources:
  - { name: customers, file: data/customers.csv }
  - { name: email_facts, file: data/email_facts.csv }
models:
  - name: segments
    kind: audiences
    customers: customers
    audiences:
      - ${audience}
`;
  const data = { 'data/customers.csv': 'customer_id,consent_email\nc1,true\n', 'data/email_facts.csv': 'customer_id,event_type,occurred_at\nc1,delivered,2026-06-01 10:00:00\n' };

  it('a cap of 0, an unknown channel, a misspelt window', async () => {
    const errors = await validate({
      ...data,
      'tideline.yml': `name: shop
pressure:
  caps:
    - { channels: [email], max: 0, per: 7 days }
    - { channels: [e-mail], max: 2, per: 7 dayz }
`,
      'models/a.yml': model('{ name: a, channel: email, where: { field: consent_email, equals: true } }'),
    });
    expect(errors).toEqual([
      'error: tideline.yml:4:33  pressure.caps[0].max  max must be more than 0: a cap of 0 would keep every new entry out of these channels; pause their syncs instead',
      'error: tideline.yml:5:20  pressure.caps[1].channels[0]  expected one of "email", "sms", "ads", "phone", "crm", "push", "mail", got "e-mail" (did you mean "email"?)',
      'error: tideline.yml:5:42  pressure.caps[1].per  expected a duration such as "30 days", "6 weeks", "12 months" or "1 year", got "7 dayz"',
    ]);
  });

  it('an unknown delivered source', async () => {
    const errors = await validate({
      ...data,
      'tideline.yml': `name: shop
pressure:
  caps: [{ channels: all, max: 4, per: 30 days }]
  delivered:
    - { from: email_factz, customer: customer_id, time: occurred_at, channel: email }
`,
      'models/a.yml': model('{ name: a, channel: email, where: { field: consent_email, equals: true } }'),
    });
    expect(errors).toEqual(['error: tideline.yml:5:15  pressure.delivered[0].from  unknown source or model "email_factz" (did you mean "email_facts"?)']);
  });

  it('an unknown type once weights are declared, unknown delivered columns', async () => {
    const errors = await validate({
      ...data,
      'tideline.yml': `name: shop
pressure:
  caps: [{ channels: all, max: 4, per: 30 days }]
  weights: { promotional: 1, newsletter: 0.5 }
  delivered:
    - { from: email_facts, customer: customer, time: occurred_at, channel: email, where: [{ column: event_typ, equals: delivered }] }
`,
      'models/a.yml': model('{ name: a, channel: email, type: promotionel, where: { field: consent_email, equals: true } }'),
    });
    expect(errors).toEqual([
      'error: models/a.yml:9:42  models[0].audiences[0].type  unknown communication type "promotionel" (did you mean "promotional"?); pressure.weights in tideline.yml declares promotional, newsletter (or leave the type out for `default`)',
      'error: tideline.yml:6:38  pressure.delivered[0].customer  unknown column "customer" in source "email_facts" (did you mean "customer_id"?)',
      'error: tideline.yml:6:101  pressure.delivered[0].where[0].column  unknown column "event_typ" in source "email_facts" (did you mean "event_type"?)',
    ]);
  });
});
