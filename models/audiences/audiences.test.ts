import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModels } from '../../src/pipeline/runner.js';
import { sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { analyseProject } from '../../src/project/analyse.js';
import { runCli } from '../../test/support/cli.js';
import { loadProject } from '../../src/project/loader.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { tempProject } from '../../test/support/cli.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';
import { createTables, goldenScripts, type TestTable } from '../../test/support/model-tables.js';

/**
 * The seven audiences of the audiences issue, on a small shop whose members were worked out by hand.
 * The as-of date is fixed at 2026-06-30.
 */

const d = (iso: string) => iso;
const t = (iso: string) => new Date(`${iso}Z`);

const TABLES: Record<string, TestTable> = {
  customers: {
    columns: [
      ['customer_id', 'string'],
      ['email', 'string'],
      ['phone', 'string'],
      ['order_count', 'integer'],
      ['first_order_at', 'date'],
      ['rfm_segment', 'string'],
      ['predicted_clv', 'float'],
      ['consent_email', 'boolean'],
      ['consent_ads', 'boolean'],
      ['consent_phone', 'boolean'],
    ],
    rows: [
      ['c01', 'c01@x.org', '0611', 10, d('2024-01-01'), 'Champions', 900, true, true, true],
      ['c02', 'c02@x.org', null, 5, d('2024-03-01'), 'At Risk', 400, true, false, true],
      ['c03', 'c03@x.org', '0622', 8, d('2023-05-01'), "Can't Lose Them", 800, true, false, true],
      ['c04', 'c04@x.org', '0644', 3, d('2024-02-01'), 'At Risk', 100, true, false, true],
      ['c05', 'c05@x.org', null, 1, d('2026-05-20'), 'New Customers', 60, true, false, false],
      ['c06', 'c06@x.org', null, 2, d('2026-06-10'), 'New Customers', 80, true, false, false],
      ['c07', 'c07@x.org', null, 0, null, null, 0, true, false, false],
      ['c08', 'c08@x.org', null, 2, d('2026-05-25'), 'Promising', 120, true, false, false],
      ['c09', 'c09@x.org', null, 2, d('2026-05-25'), 'Promising', 130, true, false, false],
      ['c10', 'c10@x.org', null, 12, d('2022-01-01'), 'Champions', 950, false, false, false],
      ['c11', 'c11@x.org', '0633', 6, d('2023-01-01'), 'At Risk', 500, true, false, false],
    ],
  },
  orders: {
    columns: [
      ['customer_id', 'string'],
      ['order_id', 'string'],
      ['ordered_at', 'timestamp'],
    ],
    rows: [
      ['c01', 'o1', t('2026-06-20 10:00:00')],
      ['c02', 'o2', t('2025-10-01 10:00:00')],
      ['c03', 'o3', t('2025-09-01 10:00:00')],
      ['c04', 'o4', t('2025-05-01 10:00:00')],
      ['c05', 'o5', t('2026-05-20 10:00:00')],
      ['c06', 'o6', t('2026-06-10 10:00:00')],
      ['c06', 'o6b', t('2026-06-29 15:00:00')],
      ['c08', 'o8', t('2026-05-25 10:00:00')],
      ['c08', 'o8b', t('2026-06-01 10:00:00')],
      ['c09', 'o9', t('2026-05-25 10:00:00')],
      ['c09', 'o9b', t('2026-06-01 10:00:00')],
      ['c10', 'o10', t('2026-06-25 10:00:00')],
      ['c11', 'o11', t('2024-12-01 10:00:00')],
    ],
  },
  order_lines: {
    columns: [
      ['customer_id', 'string'],
      ['ordered_at', 'timestamp'],
      ['category', 'string'],
    ],
    rows: [
      ['c01', t('2024-01-01 10:00:00'), 'Womenswear'],
      ['c08', t('2026-05-25 10:00:00'), 'Womenswear'],
      ['c08', t('2026-06-01 10:00:00'), 'Home'],
      ['c09', t('2026-05-25 10:00:00'), 'Womenswear'],
      ['c09', t('2026-06-01 10:00:00'), 'Shoes'],
    ],
  },
  emails: {
    columns: [
      ['customer_id', 'string'],
      ['campaign_id', 'string'],
      ['event_type', 'string'],
      ['machine_open', 'boolean'],
      ['occurred_at', 'timestamp'],
    ],
    rows: [
      ['c01', 'k1', 'delivered', false, t('2026-06-05 09:00:00')],
      ['c01', 'k2', 'delivered', false, t('2026-06-12 09:00:00')],
      ['c01', 'k2', 'opened', false, t('2026-06-12 12:00:00')],
      ['c01', 'k3', 'delivered', false, t('2026-06-19 09:00:00')],
      ['c05', 'k0', 'opened', false, t('2026-05-01 12:00:00')],
      ['c05', 'k1', 'delivered', false, t('2026-06-05 09:00:00')],
      ['c05', 'k2', 'delivered', false, t('2026-06-12 09:00:00')],
      ['c05', 'k3', 'delivered', false, t('2026-06-19 09:00:00')],
      ['c07', 'k0', 'delivered', false, t('2026-05-15 09:00:00')],
      ['c07', 'k1', 'delivered', false, t('2026-06-05 09:00:00')],
      ['c07', 'k1', 'opened', true, t('2026-06-06 09:00:00')],
      ['c07', 'k2', 'delivered', false, t('2026-06-12 09:00:00')],
      ['c07', 'k3', 'delivered', false, t('2026-06-19 09:00:00')],
      ['c08', 'k2', 'delivered', false, t('2026-06-12 09:00:00')],
      ['c08', 'k3', 'delivered', false, t('2026-06-19 09:00:00')],
    ],
  },
  // Joined on the key (`join: [scores]`): one row for some customers, none for the others (a left join keeps them).
  scores: {
    columns: [
      ['customer_id', 'string'],
      ['churn_risk', 'float'],
      ['loyalty_tier', 'string'],
    ],
    rows: [
      ['c01', 0.7, 'gold'],
      ['c03', 0.9, 'gold'],
      ['c04', 0.8, 'silver'],
      ['c07', 0.2, 'gold'],
      ['c11', 0.6, 'gold'],
    ],
  },
  web: {
    columns: [
      ['customer_id', 'string'],
      ['event_type', 'string'],
      ['occurred_at', 'timestamp'],
    ],
    rows: [
      ['c01', 'add_to_cart', t('2026-06-28 10:00:00')],
      ['c06', 'add_to_cart', t('2026-06-29 09:00:00')],
      ['c09', 'add_to_cart', t('2026-06-28 20:00:00')],
      ['c10', 'add_to_cart', t('2026-06-24 10:00:00')],
    ],
  },
};

function audiencesYaml(raw: string): string {
  return `sources:
${Object.keys(TABLES)
  .map((name) => `  - { name: ${name}, table: ${raw}.${name} }`)
  .join('\n')}
models:
  - name: segments
    kind: audiences
    customers: customers
    join: [scores]
    as_of: '2026-06-30'
    salt: test-salt
    events:
      orders: { from: orders, customer: customer_id, time: ordered_at }
      order_lines: { from: order_lines, customer: customer_id, time: ordered_at }
      emails: { from: emails, customer: customer_id, time: occurred_at }
      web: { from: web, customer: customer_id, time: occurred_at }
    pressure:
      email: { max: 1 }
    audiences:
      - name: lookalike_seed
        channel: ads
        where:
          any:
            - { top: 20%, by: predicted_clv }
            - { field: rfm_segment, equals: Champions }
      - name: email_non_openers
        channel: email
        priority: 1
        where:
          - event: emails
            where: [{ column: event_type, equals: delivered }]
            within: 30 days
            count: { gte: 3 }
          - event: emails
            where: [{ column: event_type, equals: opened }, { column: machine_open, equals: false }]
            within: 30 days
            did: false
      - name: current_customers
        description: Suppression list for acquisition campaigns
        channel: ads
        require_consent: false
        where:
          event: orders
          within: 12 months
      - name: cross_sell_shoes
        channel: email
        priority: 3
        where:
          all:
            - event: order_lines
              where: [{ column: category, equals: Womenswear }]
            - event: order_lines
              where: [{ column: category, equals: Shoes }]
              did: false
            - { field: first_order_at, between_ago: [30 days, 45 days] }
      - name: winback
        channel: phone
        where:
          - { field: rfm_segment, in: [At Risk, "Can't Lose Them"] }
          - { field: predicted_clv, gt: 300 }
          - { field: phone, is_null: false }
      - name: abandoned_cart
        channel: email
        priority: 10
        where:
          event: web
          where: [{ column: event_type, equals: add_to_cart }]
          within: 3 days
          not_followed_by: { event: orders }
      - name: second_purchase
        channel: email
        priority: 5
        holdout: 50%
        where:
          - { field: order_count, equals: 1 }
          - { field: first_order_at, between_ago: [30 days, 45 days] }
      - name: retarget
        channel: crm
        require_consent: false
        include: [email_non_openers, abandoned_cart]
        exclude: [second_purchase]
      - name: not_champions_with_orders
        channel: crm
        require_consent: false
        where:
          all:
            - not: { field: rfm_segment, equals: Champions }
            - { in_audience: current_customers }
      - name: churning_gold
        channel: crm
        require_consent: false
        where:
          - { field: churn_risk, gt: 0.5 }
          - { field: loyalty_tier, equals: gold }
      - name: unscored
        channel: crm
        require_consent: false
        where: { field: loyalty_tier, is_null: true }
      - name: email_exclusion
        description: An exclusion list on the e-mail channel, first in priority
        channel: email
        purpose: exclusion
        priority: 100
        where: { field: order_count, gte: 5 }
`;
}

/** audience → customer → status (and group where it matters), worked out by hand from the rows above. */
const EXPECTED: Record<string, Record<string, string>> = {
  // Top 20 % of 11 customers by predicted CLV is 2 (c10 950, c01 900); Champions adds none; c10 has no ads consent.
  lookalike_seed: { c01: 'member', c10: 'no_consent' },
  // c05 and c07: three deliveries in 30 days, no human open in 30 days (c07's open is a machine open, c05's is older).
  // Both qualify, but the e-mail cap is 1: c05 keeps second_purchase (priority 5), so its non-openers row is capped.
  email_non_openers: { c05: 'capped', c07: 'member' },
  // An order in the last 12 months; no consent needed for a suppression list.
  current_customers: { c01: 'member', c02: 'member', c03: 'member', c05: 'member', c06: 'member', c08: 'member', c09: 'member', c10: 'member' },
  // Bought Womenswear, never Shoes, first order 36 days ago: c08 (c09 bought Shoes, c01's first order is old).
  cross_sell_shoes: { c08: 'member' },
  // At Risk / Can't Lose Them, CLV > 300, with a phone: c03; c11 has no phone consent; c02 has no phone; c04 CLV 100.
  winback: { c03: 'member', c11: 'no_consent' },
  // Cart in the last 3 days, no order after it: c01, c09 (c06 ordered after; c10's cart is 6 days old).
  abandoned_cart: { c01: 'member', c09: 'member' },
  // One order, 30–45 days ago: c05 (41 days).
  second_purchase: { c05: 'member' },
  // Non-openers or abandoned carts, minus second purchasers: c07, c01, c09 (c05 excluded).
  retarget: { c01: 'member', c07: 'member', c09: 'member' },
  // current customers who are not Champions.
  not_champions_with_orders: { c02: 'member', c03: 'member', c05: 'member', c06: 'member', c08: 'member', c09: 'member' },
  // Fields of the joined `scores`: risk above 0.5 and gold (c04 is silver, c07's risk is 0.2).
  churning_gold: { c01: 'member', c03: 'member', c11: 'member' },
  // Customers with no `scores` row are kept by the left join, their joined fields NULL.
  unscored: { c02: 'member', c05: 'member', c06: 'member', c08: 'member', c09: 'member', c10: 'member' },
  // Exclusion: c10 has no e-mail consent and stays; nobody is capped although the e-mail cap is 1 and this audience
  // comes first — it takes no slot either: c01 keeps abandoned_cart above.
  email_exclusion: { c01: 'member', c02: 'member', c03: 'member', c10: 'member', c11: 'member' },
};

for (const engine of engines()) {
  describe(`audiences on ${engine.name}`, () => {
    let connection: Connection;
    const raw = uniqueSchema('aud_raw');
    const models = uniqueSchema('aud');
    let root: string;
    let build: () => Promise<void>;
    const members = new Map<string, Record<string, string>>();
    const groups = new Map<string, string>();

    beforeAll(async () => {
      connection = await engine.open();
      const dialect = connection.dialect;
      await connection.execute(dialect.createSchema(raw));
      await createTables(connection, raw, TABLES);
      root = tempProject({
        'tideline.yml': `name: shop\nschema: ${models}\ntargets:\n  test: ${JSON.stringify(engine.target)}\n`,
        'models/audiences.yml': audiencesYaml(raw),
      });
      const project = await loadProject({ projectDir: root });
      build = async () => {
        const analysis = await analyseProject(project, connection);
        const results = await runModels(project, connection, analysis, project.order, { logger: createLogger({ level: 'silent' }) });
        expect(results.map((r) => [r.model, r.status, r.error])).toEqual([['segments', 'success', null]]);
      };
      await build();
      const rows = await connection.query(sql`SELECT audience, customer_id, audience_status, audience_group FROM ${dialect.table({ schema: models, name: 'segments' })} ORDER BY 1, 2`);
      for (const row of rows) {
        const audience = String(row['audience']);
        members.set(audience, { ...(members.get(audience) ?? {}), [String(row['customer_id'])]: String(row['audience_status']) });
        groups.set(`${audience}/${row['customer_id']}`, String(row['audience_group']));
      }
    });
    afterAll(async () => {
      for (const schema of [raw, models]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${connection.dialect.id(schema)} CASCADE`);
      await connection.close();
    });

    for (const [audience, expected] of Object.entries(EXPECTED)) {
      it(audience, () => {
        expect(members.get(audience) ?? {}).toEqual(expected);
      });
    }

    it('keeps holdout members with their group, and nobody else in a group', () => {
      expect(groups.get('second_purchase/c05')).toMatch(/^(holdout|treatment)$/);
      expect(groups.get('winback/c03')).toBe('treatment');
    });

    it('keeps a history: leavers are closed, stayers keep their entry time, an unchanged run moves nobody', async () => {
      const dialect = connection.dialect;
      const table = (name: string) => dialect.table({ schema: models, name });
      const since = async () =>
        (await connection.query(sql`SELECT audience_entered_at FROM ${table('segments')} WHERE audience = 'winback' AND customer_id = 'c03'`))[0]!['audience_entered_at'];
      const first = await since();
      expect(first).toBeInstanceOf(Date);
      const report = async () =>
        Object.fromEntries(
          (await connection.query(sql`SELECT audience, members, entered, exited FROM ${table('segments_report')} ORDER BY audience`)).map((r) => [
            String(r['audience']),
            [r['members'], r['entered'], r['exited']],
          ]),
        );
      // The first build: everybody entered.
      expect((await report())['current_customers']).toEqual([8, 8, 0]);

      // c08 buys shoes: it leaves the cross-sell audience; nothing else changes.
      await connection.insertRows({ schema: raw, name: 'order_lines' }, TABLES['order_lines']!.columns.map(([name, type]) => ({ name, type })), [[['c08', t('2026-06-02 10:00:00'), 'Shoes']]]);
      await build();
      expect(await since()).toEqual(first);
      expect((await report())['cross_sell_shoes']).toEqual([0, 0, 1]);
      expect((await report())['winback']).toEqual([1, 0, 0]);
      const stays = await connection.query(sql`SELECT exited_at FROM ${table('segments_history')} WHERE audience = 'cross_sell_shoes' AND customer_id = 'c08'`);
      expect(stays).toHaveLength(1);
      expect(stays[0]!['exited_at']).toBeInstanceOf(Date);

      await build();
      const unchanged = await report();
      for (const [audience, [, entered, exited]] of Object.entries(unchanged)) expect([audience, entered, exited]).toEqual([audience, 0, 0]);
    });

    it('carries the customer columns on each membership row, for syncs', async () => {
      const rows = await connection.query(sql`SELECT email, phone FROM ${connection.dialect.table({ schema: models, name: 'segments' })} WHERE audience = 'winback' AND customer_id = 'c03'`);
      expect(rows).toEqual([{ email: 'c03@x.org', phone: '0622' }]);
    });
  });
}

describe('audiences: golden SQL', () => {
  // The dialects no test executes; DuckDB and PostgreSQL build the same model above, against results worked out by hand.
  goldenScripts({ files: { 'models/audiences.yml': audiencesYaml('raw') }, tables: TABLES, model: 'segments', goldenDir: join(import.meta.dirname, '../../test/golden/audiences') });
});

describe('audiences: configuration errors are located and exit 2', () => {
  it('unknown field, wrong type compared, cycle between audiences, unknown event table', async () => {
    const csv = 'customer_id,order_count,last_order_at,consent_email\nc1,3,2026-01-01,true\n';
    const root = tempProject({
      'tideline.yml': 'name: shop\n',
      'data/customers.csv': csv,
      'models/a.yml': `sources:
  - { name: customers, file: data/customers.csv }
models:
  - name: segments
    kind: audiences
    customers: customers
    audiences:
      - name: a
        channel: email
        where:
          - { field: order_cuont, gt: 1 }
          - { field: order_count, gt: many }
          - { field: last_order_at, in_last: 30 days }
          - { in_audience: b }
      - name: b
        channel: email
        where: { event: clicks, within: 7 days }
        include: [a]
`,
    });
    const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: root });
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([
      'error: models/a.yml:11:22  models[0].audiences[0].where[0].field  unknown field "order_cuont" (did you mean "order_count"?); fields come from customers',
      'error: models/a.yml:12:39  models[0].audiences[0].where[1].gt  field "order_count" is numeric: compare it with a number, not "many"',
      'error: models/a.yml:17:25  models[0].audiences[1].where.event  unknown event table "clicks"; declare it under events:',
      'error: models/a.yml:18:19  models[0].audiences[1].include[0]  audiences refer to each other in a cycle: a → b → a',
    ]);
  });
});
