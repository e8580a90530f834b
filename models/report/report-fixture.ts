import type { LogicalType } from '../../src/dialects/dialect.js';
import type { Value } from '../../src/warehouses/connection.js';

/**
 * A small shop whose report was worked out by hand (the expectations are in report.test.ts, each with its reasoning).
 * The as-of date is 2026-06-30; KPI periods are months, three of them: April, May and June 2026.
 */
export interface FixtureTable {
  readonly columns: readonly (readonly [string, LogicalType])[];
  readonly rows: readonly (readonly Value[])[];
}

const t = (iso: string) => new Date(`${iso}Z`);
const DAY = 86_400_000;

// E-mail: campaign A (May) to c1…c10, campaign B (June) to c1…c4, campaign Z (March, before the window), and a click
// on A after the as-of date, which does not count.
const email: [string, string, string, boolean, string][] = [
  ['A', 'c1', 'sent', false, '2026-05-10 09:00:00'],
  ['A', 'c1', 'delivered', false, '2026-05-10 09:01:00'],
  ['A', 'c1', 'opened', false, '2026-05-10 12:00:00'],
  ['A', 'c1', 'clicked', false, '2026-05-10 12:01:00'],
  ['A', 'c2', 'sent', false, '2026-05-10 09:00:00'],
  ['A', 'c2', 'delivered', false, '2026-05-10 09:01:00'],
  ['A', 'c2', 'opened', true, '2026-05-10 09:02:00'],
  ['A', 'c3', 'sent', false, '2026-05-10 09:00:00'],
  ['A', 'c3', 'delivered', false, '2026-05-10 09:01:00'],
  ['A', 'c3', 'opened', true, '2026-05-10 09:02:00'],
  ['A', 'c3', 'opened', false, '2026-05-11 08:00:00'],
  ['A', 'c3', 'clicked', false, '2026-05-11 08:01:00'],
  ['A', 'c3', 'clicked', false, '2026-05-12 08:01:00'],
  ['A', 'c4', 'sent', false, '2026-05-10 09:00:00'],
  ['A', 'c4', 'delivered', false, '2026-05-10 09:01:00'],
  ['A', 'c4', 'clicked', false, '2026-07-02 10:00:00'],
  ['A', 'c5', 'sent', false, '2026-05-10 09:00:00'],
  ['A', 'c5', 'bounced', false, '2026-05-10 09:01:00'],
  ['A', 'c6', 'sent', false, '2026-05-10 09:00:00'],
  ['A', 'c6', 'delivered', false, '2026-05-10 09:01:00'],
  ['A', 'c6', 'opened', false, '2026-05-10 10:00:00'],
  ['A', 'c6', 'unsubscribed', false, '2026-05-10 10:01:00'],
  ['A', 'c7', 'delivered', false, '2026-05-10 09:01:00'],
  ['A', 'c7', 'opened', false, '2026-05-13 19:00:00'],
  ['A', 'c8', 'sent', false, '2026-05-10 09:00:00'],
  ['A', 'c8', 'delivered', false, '2026-05-10 09:01:00'],
  ['A', 'c8', 'opened', true, '2026-05-10 09:02:00'],
  ['A', 'c8', 'clicked', false, '2026-05-10 20:00:00'],
  ['A', 'c9', 'sent', false, '2026-05-10 09:00:00'],
  ['A', 'c9', 'delivered', false, '2026-05-10 09:01:00'],
  ['A', 'c10', 'sent', false, '2026-05-10 09:00:00'],
  ['A', 'c10', 'bounced', false, '2026-05-10 09:01:00'],
  ['B', 'c1', 'sent', false, '2026-06-05 09:00:00'],
  ['B', 'c1', 'delivered', false, '2026-06-05 09:01:00'],
  ['B', 'c1', 'opened', false, '2026-06-05 11:00:00'],
  ['B', 'c1', 'clicked', false, '2026-06-05 11:01:00'],
  ['B', 'c2', 'sent', false, '2026-06-05 09:00:00'],
  ['B', 'c2', 'delivered', false, '2026-06-05 09:01:00'],
  ['B', 'c3', 'sent', false, '2026-06-05 09:00:00'],
  ['B', 'c3', 'delivered', false, '2026-06-05 09:01:00'],
  ['B', 'c3', 'opened', false, '2026-06-06 09:00:00'],
  ['B', 'c3', 'unsubscribed', false, '2026-06-06 09:01:00'],
  ['B', 'c4', 'sent', false, '2026-06-05 09:00:00'],
  ['B', 'c4', 'delivered', false, '2026-06-05 09:01:00'],
  ['B', 'c4', 'opened', false, '2026-06-05 18:00:00'],
  ['Z', 'c1', 'sent', false, '2026-03-01 09:00:00'],
  ['Z', 'c1', 'delivered', false, '2026-03-01 09:01:00'],
  ['Z', 'c1', 'opened', false, '2026-03-01 10:00:00'],
];

// Uplift. Audience "newcombe": 70 treated of whom 56 convert, 80 in the holdout ("control") of whom 48 convert — the
// first example of Newcombe (1998). Entered 2026-04-01 10:00; converters order 2 days later, except n001 whose only
// order comes exactly 30 days after entering (the window's end is included). n119 (holdout) orders at the very
// instant it enters and one second after its window: neither counts. n151 entered on 2026-06-20, its window is still
// open (pending). n002 enters again later in the holdout: only its first stay counts.
// Audience "welch": 10 treated and 10 held out, one order each, the revenues of R's `sleep` data plus 2 (group 2
// treated): Welch's interval is R's t.test(extra ~ group) interval, turned around.
const SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
const id = (prefix: string, i: number) => `${prefix}${String(i).padStart(3, '0')}`;
const entered = t('2026-04-01 10:00:00');
const assignments: Value[][] = [];
const orders: Value[][] = [];
let orderNo = 0;
const order = (customer: string, at: Date, amount: number, status = 'completed') => orders.push([`o${++orderNo}`, customer, at, status, amount]);
for (let i = 1; i <= 150; i++) {
  const treated = i <= 70;
  assignments.push(['newcombe', id('n', i), treated ? 'treated' : 'control', entered]);
  const converts = (i >= 1 && i <= 56) || (i >= 71 && i <= 118);
  if (i === 1) order(id('n', i), new Date(entered.getTime() + 30 * DAY), 10);
  else if (converts) order(id('n', i), new Date(entered.getTime() + 2 * DAY), 10);
}
order('n119', entered, 10);
order('n119', new Date(entered.getTime() + 30 * DAY + 1000), 10);
assignments.push(['newcombe', 'n151', 'treated', t('2026-06-20 12:00:00')]);
assignments.push(['newcombe', 'n002', 'control', t('2026-05-01 10:00:00')]);
assignments.push(['no_holdout', 'x1', 'treated', entered], ['no_holdout', 'x2', 'treated', entered]);
SLEEP_2.forEach((extra, i) => {
  assignments.push(['welch', id('w', i + 1), 'treated', t('2026-04-10 09:00:00')]);
  order(id('w', i + 1), t('2026-04-12 15:00:00'), Math.round((extra + 2) * 100) / 100);
});
SLEEP_1.forEach((extra, i) => {
  assignments.push(['welch', id('w', i + 11), 'control', t('2026-04-10 09:00:00')]);
  order(id('w', i + 11), t('2026-04-12 15:00:00'), Math.round((extra + 2) * 100) / 100);
});
// Programs: r1 buys again 40 days after a first order, r2 51 days after, r3's first order is too recent to judge.
order('r1', t('2026-04-20 10:00:00'), 25);
order('r1', t('2026-05-30 10:00:00'), 25);
order('r2', t('2026-04-20 10:00:00'), 25);
order('r2', t('2026-06-10 10:00:00'), 25);
order('r3', t('2026-05-20 10:00:00'), 25);
// Cohorts of July and August 2025.
order('k1', t('2025-07-10 10:00:00'), 100);
order('k1', t('2025-07-25 10:00:00'), 50);
order('k1', t('2025-10-01 10:00:00'), 30);
order('k2', t('2025-07-31 10:00:00'), 40);
order('k2', t('2025-08-31 10:00:00'), 20);
order('k3', t('2025-07-05 10:00:00'), 60);
order('k3', t('2025-07-05 16:00:00'), 10);
order('k3', t('2026-01-04 10:00:00'), 100);
order('k4', t('2025-08-15 10:00:00'), 80);
order('k4', t('2025-09-01 10:00:00'), 500, 'cancelled');
// Segments.
order('s1', t('2026-02-01 10:00:00'), 100);
order('s2', t('2025-05-01 10:00:00'), 50);
order('s2', t('2026-06-01 10:00:00'), 30);
order('s5', t('2026-06-25 10:00:00'), 20);

export const FIXTURE: Readonly<Record<string, FixtureTable>> = {
  email_events: {
    columns: [
      ['campaign_id', 'string'],
      ['customer_id', 'string'],
      ['event_type', 'string'],
      ['machine_open', 'boolean'],
      ['occurred_at', 'timestamp'],
    ],
    rows: email.map(([campaign, customer, type, machine, at]) => [campaign, customer, type, machine, t(at)]),
  },
  sms_events: {
    columns: [
      ['campaign', 'string'],
      ['phone', 'string'],
      ['status', 'string'],
      ['at', 'timestamp'],
    ],
    rows: [
      ['S1', '0601', 'SENT', t('2026-06-10 10:00:00')],
      ['S1', '0601', 'DELIVERED', t('2026-06-10 10:00:05')],
      ['S1', '0601', 'CLICK', t('2026-06-10 11:00:00')],
      ['S1', '0602', 'SENT', t('2026-06-10 10:00:00')],
      ['S1', '0602', 'DELIVERED', t('2026-06-10 10:00:05')],
      ['S1', '0602', 'STOP', t('2026-06-10 10:30:00')],
      ['S1', '0603', 'SENT', t('2026-06-10 10:00:00')],
      ['S1', '0604', 'SENT', t('2026-06-10 10:00:00')],
      ['S1', '0604', 'DELIVERED', t('2026-06-10 10:00:05')],
    ],
  },
  push_events: {
    columns: [
      ['campaign', 'string'],
      ['device', 'string'],
      ['event', 'string'],
      ['at', 'timestamp'],
    ],
    rows: [
      ['P1', 'a1', 'sent', t('2026-05-20 18:00:00')],
      ['P1', 'a1', 'displayed', t('2026-05-20 18:00:01')],
      ['P1', 'a1', 'opened', t('2026-05-20 18:10:00')],
      ['P1', 'a2', 'sent', t('2026-05-20 18:00:00')],
      ['P1', 'a2', 'displayed', t('2026-05-20 18:00:01')],
      ['P1', 'a3', 'sent', t('2026-05-20 18:00:00')],
    ],
  },
  mail_events: {
    columns: [
      ['campaign', 'string'],
      ['card', 'string'],
      ['event', 'string'],
      ['at', 'date'],
    ],
    rows: [
      ...['m1', 'm2', 'm3', 'm4', 'm5'].map((card) => ['M1', card, 'sent', '2026-04-15']),
      ['M1', 'm3', 'returned', '2026-04-29'],
    ],
  },
  calls: {
    columns: [
      ['call_id', 'string'],
      ['campaign', 'string'],
      ['called_at', 'timestamp'],
      ['outcome', 'string'],
      ['seconds', 'integer'],
    ],
    rows: [
      ['k1', 'winback_calls', t('2026-06-02 10:00:00'), 'answered', 120],
      ['k2', 'winback_calls', t('2026-06-02 10:05:00'), 'no_answer', 0],
      ['k3', 'winback_calls', t('2026-06-03 10:00:00'), 'answered', 60],
      ['k4', 'winback_calls', t('2026-06-03 10:05:00'), 'voicemail', null],
      ['k5', 'winback_calls', t('2026-01-15 10:00:00'), 'answered', 300],
    ],
  },
  orders: {
    columns: [
      ['order_id', 'string'],
      ['customer_id', 'string'],
      ['ordered_at', 'timestamp'],
      ['status', 'string'],
      ['amount', 'decimal'],
    ],
    rows: orders,
  },
  assignments: {
    columns: [
      ['campaign', 'string'],
      ['customer_id', 'string'],
      ['grp', 'string'],
      ['assigned_at', 'timestamp'],
    ],
    rows: assignments,
  },
  rfm_snapshots: {
    columns: [
      ['customer_id', 'string'],
      ['segment', 'string'],
      ['snapshot_date', 'date'],
    ],
    rows: [
      ['s1', 'Champions', '2026-05-31'],
      ['s2', 'Loyal', '2026-05-31'],
      ['s3', 'At Risk', '2026-05-31'],
      ['s4', 'At Risk', '2026-05-31'],
      ['s1', 'Champions', '2026-06-15'],
      ['s1', 'Champions', '2026-06-30'],
      ['s2', 'Champions', '2026-06-30'],
      ['s3', 'Lost', '2026-06-30'],
      ['s5', 'New', '2026-06-30'],
    ],
  },
};

/** The report over the fixture (`raw` is the schema holding its tables). */
export function reportYaml(raw: string): string {
  return `sources:
${Object.keys(FIXTURE)
  .map((name) => `  - { name: ${name}, table: ${raw}.${name} }`)
  .join('\n')}
models:
  - name: shop_report
    kind: report
    as_of: '2026-06-30'
    periods: { every: month, count: 3 }
    orders:
      from: orders
      customer: customer_id
      time: ordered_at
      revenue: amount
      where: [{ column: status, equals: completed }]
    messages:
      email:
        from: email_events
        customer: customer_id
        time: occurred_at
        campaign: campaign_id
        machine_open: machine_open
      sms:
        from: sms_events
        customer: phone
        time: at
        campaign: campaign
        event_type: status
        events: { sent: SENT, delivered: DELIVERED, clicked: CLICK, stop: [STOP, STOP_ALL] }
      push:
        from: push_events
        customer: device
        time: at
        campaign: campaign
        event_type: event
      mail:
        from: mail_events
        customer: card
        time: at
        campaign: campaign
        event_type: event
      phone:
        from: calls
        time: called_at
        campaign: campaign
        answered: [{ column: outcome, equals: answered }]
        duration: seconds
    thresholds:
      email:
        open_rate: { good: "50%", bad: "20%" }
        click_rate: { good: "40%", bad: "30%" }
      phone:
        average_call_seconds: { good: 60 }
    memberships:
      from: assignments
      audience: campaign
      group: grp
      entered_at: assigned_at
      holdout: control
    uplift: { window: 30 days, min_group: 20 }
    programs:
      - name: activation
        audiences: [newcombe]
        syncs: [crm_activation]
        kpi: { repeat_within: 45 days }
      - name: cart_recovery
        audiences: [newcombe]
        kpi: { label: carts recovered within 7 days, converted_within: 7 days, good: "80%", bad: "50%" }
    cohorts: { months: 12 }
    segments:
      from: rfm_snapshots
      at: snapshot_date
  - name: fatigue_check
    kind: report
    as_of: '2026-06-30'
    periods: { every: quarter, count: 1 }
    messages:
      email:
        from: email_events
        customer: customer_id
        time: occurred_at
        campaign: campaign_id
        events: { bounced: [] }
        unsubscribe_click: [{ column: machine_open, equals: true }]
`;
}
