import { describe, expect, it } from 'vitest';
import { runCli, tempProject } from '../support/cli.js';

const ORDERS = 'order_id,customer_id,ordered_at,amount,channel\no1,c1,2024-01-01,10.5,web\no2,c1,2024-02-01,20,store\n';
const CONSENT = 'customer_id,channel,opted_in,at\nc1,EMAIL,true,2024-01-01 10:00:00\n';
const SOURCES = `sources:
  - name: orders
    file: data/orders.csv
  - name: consent
    file: data/consent.csv
`;
const MODELS = `models:
  - name: customer_metrics
    kind: customers
    orders:
      from: orders
      customer_id: customer_id
      order_id: order_id
      ordered_at: ordered_at
      amount: amount
      channel: channel
    consent:
      from: consent
      customer_id: customer_id
      channel: channel
      opted_in: opted_in
      at: at
      channels: { email: EMAIL }
    as_of: '2024-12-31'
    lifecycle:
      new: { first_order_within_days: 30 }
      active: { last_order_within_days: 90 }
      at_risk: { last_order_within_days: 365 }
      inactive: { last_order_after_days: 365 }
  - name: rfm
    kind: rfm
    orders: { from: orders, customer_id: customer_id, order_id: order_id, ordered_at: ordered_at, amount: amount }
    as_of: '2024-12-31'
    scoring:
      method: thresholds
      recency_days: [30, 90, 180, 365]
      frequency: [2, 3, 5, 10]
      monetary: [50, 100, 200, 500]
`;

async function validate(files: Record<string, string>) {
  const root = tempProject({ 'tideline.yml': 'name: shop\n', 'data/orders.csv': ORDERS, 'data/consent.csv': CONSENT, 'models/sources.yml': SOURCES, 'models/metrics.yml': MODELS, ...files });
  const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: root });
  return { ...result, lines: result.stderr.split('\n').filter((l) => l.startsWith('error: ')) };
}

/** Broken metrics YAML exits 2, each problem located at file:line:col with its field. */
describe('metrics models: located configuration errors', () => {
  it('a valid project passes (the baseline the broken cases are made from)', async () => {
    const result = await validate({});
    expect(result.code, result.stderr).toBe(0);
  });

  it('unknown column, threshold out of order, unknown channel, segment map gaps and overlaps — all at once', async () => {
    const broken = MODELS.replace('      customer_id: customer_id\n      order_id', '      customer_id: customer\n      order_id')
      .replace('inactive: { last_order_after_days: 365 }', 'inactive: { last_order_after_days: 400 }')
      .replace('channels: { email: EMAIL }', 'channels: { emial: EMAIL }')
      .replace('frequency: [2, 3, 5, 10]', 'frequency: [2, 5, 3, 10]')
      .concat(`    segments:
      - { name: Fidèles, r: 3-5, f: 4-5 }
      - { name: Champions, r: 5, f: 5 }
`);
    const result = await validate({ 'models/metrics.yml': broken });
    expect(result.code).toBe(2);
    expect(result.lines).toEqual([
      'error: models/metrics.yml:6:20  models[0].orders.customer_id  unknown column "customer" in source "orders" (did you mean "customer_id"?)',
      'error: models/metrics.yml:17:26  models[0].consent.channels.emial  unknown channel "emial" (did you mean "email"?); channels: email, sms, ads, push, phone, post',
      'error: models/metrics.yml:23:42  models[0].lifecycle.inactive.last_order_after_days  inactive must start where at_risk ends (365 days), not at 400: otherwise some customers would be in two stages or none',
      'error: models/metrics.yml:31:25  models[1].scoring.frequency[2]  cut points must be strictly ascending: 3 comes after 5',
      'error: models/metrics.yml:34:7  models[1].segments  the segment map leaves 19 of the 25 R×F cells without a segment: R1F1, R1F2, R1F3, R1F4, R1F5, R2F1, R2F2, R2F3, R2F4, R2F5, R3F1, R3F2, R3F3, R4F1, R4F2, R4F3, R5F1, R5F2, R5F3',
      'error: models/metrics.yml:35:9  models[1].segments[1]  segment "Champions" overlaps earlier segments on R5F5 (already in "Fidèles"); each R×F cell must belong to exactly one segment',
    ]);
  });

  it('an as-of variable missing from tideline.yml', async () => {
    const result = await validate({ 'models/metrics.yml': MODELS.replace("as_of: '2024-12-31'\n    scoring", 'as_of: { var: as_of_date }\n    scoring') });
    expect(result.code).toBe(2);
    expect(result.lines).toEqual(['error: models/metrics.yml:27:19  models[1].as_of.var  variable "as_of_date" is not defined under `vars:` in tideline.yml']);
  });

  it('a missing `inactive` stage is reported: the threshold must be explicit', async () => {
    const result = await validate({ 'models/metrics.yml': MODELS.replace('      inactive: { last_order_after_days: 365 }\n', '') });
    expect(result.code).toBe(2);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(/^error: models\/metrics\.yml:\d+:\d+  models\[0\]\.lifecycle\.inactive  /);
  });
});
