import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { runModels } from '../../src/pipeline/runner.js';
import { analyseProject } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { runCli, tempProject } from '../../test/support/cli.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';
import { createTables, goldenScripts, type TestTable } from '../../test/support/model-tables.js';

/**
 * "The last N events" conditions on a small e-mail event table (one row per delivery, open…, with the campaign id),
 * as-of 2026-06-30. The members are computed twice outside the SQL: by plain TypeScript over the same rows
 * (`reference`), and by hand (`BY_HAND`, with the reason per customer); the build must agree with both.
 */
const AS_OF = '2026-06-30';
const CUSTOMERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'];

interface EmailEvent {
  readonly id: string;
  readonly customer: string;
  readonly campaign: string;
  readonly type: 'delivered' | 'opened';
  readonly machine: boolean;
  /** UTC, `YYYY-MM-DD HH:MM:SS`. */
  readonly at: string;
}

// Weekly campaigns k1…k5, delivered at 09:00 on 06-01, 06-08, 06-15, 06-22, 06-29.
const DAY: Record<string, string> = { k1: '2026-06-01', k2: '2026-06-08', k3: '2026-06-15', k4: '2026-06-22', k5: '2026-06-29', k6: '2026-07-02' };
let n = 0;
const ev = (customer: string, campaign: string, type: EmailEvent['type'], at = `${DAY[campaign]} 09:00:00`, machine = false): EmailEvent => ({
  id: `e${String(++n).padStart(3, '0')}`,
  customer,
  campaign,
  type,
  machine,
  at,
});
const delivered = (customer: string, ...campaigns: string[]) => campaigns.map((k) => ev(customer, k, 'delivered'));

const EVENTS: EmailEvent[] = [
  // u1: five deliveries, opened the newest (twice).
  ...delivered('u1', 'k1', 'k2', 'k3', 'k4', 'k5'),
  ev('u1', 'k5', 'opened', '2026-06-29 12:00:00'),
  ev('u1', 'k5', 'opened', '2026-06-29 18:00:00'),
  // u2: three deliveries up to the as-of date; a fourth delivery and an open come after it and do not count.
  ...delivered('u2', 'k2', 'k3', 'k4', 'k6'),
  ev('u2', 'k4', 'opened', '2026-07-01 10:00:00'),
  // u3: only machine opens of its last three; a human open of an old campaign.
  ...delivered('u3', 'k1', 'k2', 'k3', 'k4', 'k5'),
  ev('u3', 'k3', 'opened', '2026-06-15 09:00:05', true),
  ev('u3', 'k4', 'opened', '2026-06-22 09:00:05', true),
  ev('u3', 'k5', 'opened', '2026-06-29 09:00:05', true),
  ev('u3', 'k1', 'opened', '2026-06-02 08:00:00'),
  // u4: opened k5 in the very second of its delivery, and k4 the next day.
  ...delivered('u4', 'k3', 'k4', 'k5'),
  ev('u4', 'k5', 'opened', '2026-06-29 09:00:00'),
  ev('u4', 'k4', 'opened', '2026-06-23 10:00:00'),
  // u5: opened an old campaign (k1) after its newest deliveries: not an open of the last three.
  ...delivered('u5', 'k1', 'k3', 'k4', 'k5'),
  ev('u5', 'k1', 'opened', '2026-06-29 10:00:00'),
  // u6: two deliveries at the same instant (k2, k3) in 3rd/4th place; k2 was opened. k3's event id is the larger.
  ev('u6', 'k1', 'delivered'),
  ev('u6', 'k2', 'delivered', '2026-06-15 09:00:00'),
  ev('u6', 'k3', 'delivered', '2026-06-15 09:00:00'),
  ...delivered('u6', 'k4', 'k5'),
  ev('u6', 'k2', 'opened', '2026-06-16 09:00:00'),
  // u7: only two deliveries, none opened. u8: no e-mail at all.
  ...delivered('u7', 'k4', 'k5'),
];

/** An open by a person (not a machine), up to the as-of date. */
const humanOpen = (e: EmailEvent) => e.type === 'opened' && !e.machine && e.at.slice(0, 10) <= AS_OF;

/** Deliveries up to the as-of date, newest first; `withinDays`: only those on days after as-of minus that many days. */
function deliveries(customer: string, withinDays?: number): EmailEvent[] {
  const from = withinDays === undefined ? '' : new Date(Date.parse(`${AS_OF}T00:00:00Z`) - withinDays * 86_400_000).toISOString().slice(0, 10);
  return EVENTS.filter((e) => e.customer === customer && e.type === 'delivered' && e.at.slice(0, 10) <= AS_OF && e.at.slice(0, 10) > from).sort((a, b) =>
    a.at === b.at ? b.id.localeCompare(a.id) : b.at.localeCompare(a.at),
  );
}

/** The N newest; `byId` false: every event at the same time as the N-th is kept too (no tie-breaker). */
function lastN(list: EmailEvent[], count: number, byId: boolean): EmailEvent[] | undefined {
  if (list.length < count) return undefined;
  if (byId) return list.slice(0, count);
  const cut = list[count - 1]!.at;
  return list.filter((e) => e.at >= cut);
}

/** A delivery opened by a person: an open of the same campaign, by the same customer, at the same instant or later. */
const opened = (d: EmailEvent) => EVENTS.some((o) => humanOpen(o) && o.customer === d.customer && o.campaign === d.campaign && o.at >= d.at);

/** The members of each audience of the YAML below, from the rows in plain TypeScript. */
function reference(): Record<string, string[]> {
  const pick = (test: (customer: string) => boolean) => CUSTOMERS.filter(test);
  const strict = (customer: string, byId: boolean, judge: (last: EmailEvent[]) => boolean, withinDays?: number) => {
    const last = lastN(deliveries(customer, withinDays), 3, byId);
    return last !== undefined && judge(last);
  };
  const noneOpened = (last: EmailEvent[]) => last.filter(opened).length === 0;
  return {
    non_openers: pick((u) => strict(u, true, noneOpened)),
    non_openers_or_fewer: pick((u) => deliveries(u).slice(0, 3).filter(opened).length === 0),
    non_openers_no_id: pick((u) => strict(u, false, noneOpened)),
    not_non_openers: pick((u) => !strict(u, true, noneOpened)),
    regular_openers: pick((u) => strict(u, true, (last) => last.filter(opened).length >= 2)),
    some_unopened_recently: pick((u) => strict(u, true, (last) => last.some((d) => !opened(d)), 21)),
    two_to_three_deliveries: pick((u) => {
      const count = deliveries(u, 30).length;
      return count >= 2 && count <= 3;
    }),
    opened_two_campaigns: pick((u) => new Set(EVENTS.filter((e) => e.customer === u && humanOpen(e) && e.at.slice(0, 10) > '2026-05-31').map((e) => e.campaign)).size >= 2),
  };
}

/** The same members, worked out by hand from the comments above the rows. */
const BY_HAND: Record<string, string[]> = {
  // u1 opened k5; u4 opened k5 (same second) and k4; u6 with its event id takes k5, k4, k3 (k3's id is larger): none
  // opened. u2 (k4, k3, k2; the open is after the as-of date), u3 (machine opens only), u5 (opened k1, not one of its
  // last three) are non-openers; u7 and u8 have fewer than three deliveries.
  non_openers: ['u2', 'u3', 'u5', 'u6'],
  non_openers_or_fewer: ['u2', 'u3', 'u5', 'u6', 'u7', 'u8'],
  // Without an id, u6's tie keeps both k2 and k3 (four events), and k2 was opened.
  non_openers_no_id: ['u2', 'u3', 'u5'],
  not_non_openers: ['u1', 'u4', 'u7', 'u8'],
  regular_openers: ['u4'],
  // Deliveries of the last 21 days (k3, k4, k5; u6 also k2): u2 has two left (k3, k4), u7 two: fewer than three.
  some_unopened_recently: ['u1', 'u3', 'u4', 'u5', 'u6'],
  // June deliveries: u1 5, u2 3 (k6 is after the as-of date), u3 5, u4 3, u5 4, u6 5, u7 2, u8 0.
  two_to_three_deliveries: ['u2', 'u4', 'u7'],
  // u1 opened k5 twice (one campaign); u4 opened k4 and k5.
  opened_two_campaigns: ['u4'],
};

const opens = `followed_by: { event: emails, where: [{ column: event_type, equals: opened }, { column: machine_open, equals: false }], matched_by: campaign_id }`;
const deliveredOnly = `where: [{ column: event_type, equals: delivered }]`;

/** An audience counting, of the customer's last three deliveries, those a person opened. */
const lastThreeOpened = (name: string, count: string) => `      - name: ${name}
        channel: ads
        require_consent: false
        where:
          event: emails
          ${deliveredOnly}
          last: { count: 3 }
          ${opens}
          count: ${count}`;

function yaml(raw: string): string {
  return `sources:
  - { name: people, table: ${raw}.people }
  - { name: email_events, table: ${raw}.email_events }
models:
  - name: engagement
    kind: audiences
    customers: people
    as_of: '${AS_OF}'
    events:
      emails: { from: email_events, customer: customer_id, time: occurred_at, id: event_id }
      emails_by_time: { from: email_events, customer: customer_id, time: occurred_at }
    audiences:
${lastThreeOpened('non_openers', '{ equals: 0 }')}
      - name: non_openers_or_fewer
        channel: ads
        require_consent: false
        where:
          event: emails
          ${deliveredOnly}
          last: { count: 3, allow_fewer: true }
          ${opens}
          did: false
      - name: non_openers_no_id
        channel: ads
        require_consent: false
        where:
          event: emails_by_time
          ${deliveredOnly}
          last: { count: 3 }
          followed_by: { event: emails_by_time, where: [{ column: event_type, equals: opened }, { column: machine_open, equals: false }], matched_by: campaign_id }
          count: { equals: 0 }
      - name: not_non_openers
        channel: ads
        require_consent: false
        where:
          not:
            event: emails
            ${deliveredOnly}
            last: { count: 3 }
            ${opens}
            count: { equals: 0 }
${lastThreeOpened('regular_openers', '{ gte: 2 }')}
      - name: some_unopened_recently
        channel: ads
        require_consent: false
        where:
          event: emails
          ${deliveredOnly}
          within: 21 days
          last: { count: 3 }
          not_followed_by: { event: emails, where: [{ column: event_type, equals: opened }, { column: machine_open, equals: false }], matched_by: campaign_id }
      - name: two_to_three_deliveries
        channel: ads
        require_consent: false
        where:
          event: emails
          ${deliveredOnly}
          within: 30 days
          count: { gte: 2, lte: 3 }
      - name: opened_two_campaigns
        channel: ads
        require_consent: false
        where:
          event: emails
          where: [{ column: event_type, equals: opened }, { column: machine_open, equals: false }]
          within: 30 days
          distinct: campaign_id
          count: { gte: 2 }
`;
}

const TABLES: Record<string, TestTable> = {
  people: { columns: [['customer_id', 'string'], ['email', 'string']], rows: CUSTOMERS.map((c) => [c, `${c}@x.org`]) },
  email_events: {
    columns: [
      ['event_id', 'string'],
      ['customer_id', 'string'],
      ['campaign_id', 'string'],
      ['event_type', 'string'],
      ['machine_open', 'boolean'],
      ['occurred_at', 'timestamp'],
    ],
    rows: EVENTS.map((e) => [e.id, e.customer, e.campaign, e.type, e.machine, new Date(`${e.at.replace(' ', 'T')}Z`)]),
  },
};

describe('last N events: the TypeScript reference agrees with the hand-worked members', () => {
  it('every audience', () => {
    expect(reference()).toEqual(BY_HAND);
  });
});

for (const engine of engines()) {
  describe(`last N events on ${engine.name}`, () => {
    let connection: Connection;
    const raw = uniqueSchema('last_raw');
    const models = uniqueSchema('last');
    const members = new Map<string, string[]>();

    beforeAll(async () => {
      connection = await engine.open();
      const dialect = connection.dialect;
      await connection.execute(dialect.createSchema(raw));
      await createTables(connection, raw, TABLES);
      const root = tempProject({
        'tideline.yml': `name: mail\nschema: ${models}\ntargets:\n  test: ${JSON.stringify(engine.target)}\n`,
        'models/engagement.yml': yaml(raw),
      });
      const project = await loadProject({ projectDir: root });
      const analysis = await analyseProject(project, connection);
      const results = await runModels(project, connection, analysis, project.order, { logger: createLogger({ level: 'silent' }) });
      expect(results.map((r) => [r.model, r.status, r.error])).toEqual([['engagement', 'success', null]]);
      const rows = await connection.query(sql`SELECT audience, customer_id FROM ${dialect.table({ schema: models, name: 'engagement' })} ORDER BY 1, 2`);
      for (const row of rows) members.set(String(row['audience']), [...(members.get(String(row['audience'])) ?? []), String(row['customer_id'])]);
    });
    afterAll(async () => {
      for (const schema of [raw, models]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${connection.dialect.id(schema)} CASCADE`);
      await connection.close();
    });

    for (const [audience, expected] of Object.entries(reference())) {
      it(audience, () => {
        expect(members.get(audience) ?? []).toEqual(expected);
      });
    }
  });
}

describe('last N events: golden SQL', () => {
  // DuckDB and PostgreSQL run the model above against the reference; the other dialects are checked by their text.
  goldenScripts({ files: { 'models/engagement.yml': yaml('raw') }, tables: TABLES, model: 'engagement', goldenDir: join(import.meta.dirname, '../../test/golden/audiences-last') });
});

describe('last N events: configuration errors are located and exit 2', () => {
  const project = (conditions: string) =>
    tempProject({
      'tideline.yml': 'name: mail\n',
      'data/people.csv': 'customer_id,consent_email\nu1,true\n',
      'data/email_events.csv': 'event_id,customer_id,campaign_id,event_type,occurred_at\ne1,u1,k1,delivered,2026-06-01 09:00:00\n',
      'models/a.yml': `sources:
  - { name: people, file: data/people.csv }
  - { name: email_events, file: data/email_events.csv }
models:
  - name: engagement
    kind: audiences
    customers: people
    events:
      emails: { from: email_events, customer: customer_id, time: occurred_at, id: event_uid }
    audiences:
      - name: a
        channel: email
        where:
${conditions}`,
    });
  const errors = async (root: string) => {
    const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: root });
    expect(result.code).toBe(2);
    return result.stderr.split('\n').filter((l) => l.startsWith('error:'));
  };

  it('last.count 0', async () => {
    expect(await errors(project('          - { event: emails, last: { count: 0 } }\n'))).toEqual([
      'error: models/a.yml:14:45  models[0].audiences[0].where[0].last.count  take at least the last 1 event',
    ]);
  });

  it('unknown id and later event, unknown matched_by column, conflicting count bounds, did with count', async () => {
    const root = project(`          - { event: emails, followed_by: { event: opens } }
          - { event: emails, followed_by: { event: emails, matched_by: message_id } }
          - { event: emails, count: { equals: 0, gt: 1 } }
          - { event: emails, did: false, count: { gte: 1 } }
`);
    expect(await errors(root)).toEqual([
      'error: models/a.yml:9:83  models[0].events.emails.id  unknown column "event_uid" in source "email_events" (did you mean "event_id"?)',
      'error: models/a.yml:14:52  models[0].audiences[0].where[0].followed_by.event  unknown event table "opens"; declare it under events:',
      'error: models/a.yml:15:72  models[0].audiences[0].where[1].followed_by.matched_by  unknown column "message_id" in source "email_events"',
      'error: models/a.yml:16:37  models[0].audiences[0].where[2].count  a count needs `equals`, or at most one lower bound (gt, gte) and one upper bound (lt, lte)',
      'error: models/a.yml:17:35  models[0].audiences[0].where[3].did  give either `did` or `count`, not both: `count` replaces `did` (`count: {equals: 0}` for none)',
    ]);
  });
});
