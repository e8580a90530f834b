import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookEmulator, type WebhookEmulator } from '../destinations/webhook/emulator.js';
import { sql } from '../src/dialects/sql.js';
import { openTarget } from '../src/warehouses/registry.js';
import { runCli, tempProject } from './support/cli.js';

/**
 * Syncing an audience of an audiences model: a sync names the audience, and only its members are ever sent — never
 * the holdout, never customers left out for lack of consent. A customer leaving the audience is removed.
 */
interface Customer {
  readonly id: string;
  readonly orders: number;
  readonly consent: boolean;
}

const customers = (bump = ''): Customer[] =>
  Array.from({ length: 60 }, (_, i) => ({
    id: `c${String(i + 1).padStart(2, '0')}`,
    // c07 stops qualifying in the second round.
    orders: bump && i === 6 ? 0 : i % 4,
    consent: i % 5 !== 0,
  }));

const csv = (rows: readonly Customer[]) => `customer_id,orders,consent_email\n${rows.map((c) => `${c.id},${c.orders},${c.consent}`).join('\n')}\n`;

const MODELS = `sources:
  - name: raw_customers
    file: data/customers.csv
models:
  - name: customers
    kind: staging
    from: raw_customers
    columns:
      customer_id: { from: customer_id, type: string }
      orders: { from: orders, type: integer }
      consent_email: { from: consent_email, type: boolean }
  - name: segments
    kind: audiences
    customers: customers
    as_of: '2026-06-30'
    consent: { email: consent_email }
    audiences:
      - name: loyal
        channel: email
        holdout: 25%
        where: { field: orders, gte: 2 }
      - name: everyone
        channel: email
        require_consent: false
        where: { field: orders, gte: 0 }
`;
const SYNCS = (audience: string) => `destinations:
  - name: hook
    type: webhook
    url: \${env:HOOK_URL}
    secret: \${env:HOOK_SECRET}
syncs:
  - name: loyal_list
    model: segments
    ${audience}
    destination: hook
    object: loyal
    mode: audience
    key: customer_id
    fields: { orders: orders }
`;

describe('syncing an audience of an audiences model', () => {
  let emulator: WebhookEmulator;
  let root: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    emulator = await startWebhookEmulator({});
    env = { HOOK_URL: `${emulator.endpoint}/hook`, HOOK_SECRET: emulator.secret };
    root = tempProject({ 'tideline.yml': 'name: aud\nschema: analytics\n', 'data/customers.csv': csv(customers()), 'models/m.yml': MODELS, 'syncs/s.yml': SYNCS('audience: loyal') });
  });
  afterAll(() => emulator.close());

  async function holdout(): Promise<Set<string>> {
    const connection = await openTarget({ type: 'duckdb', path: '.tideline/warehouse.duckdb' }, { root });
    try {
      const rows = await connection.query(sql`SELECT customer_id FROM analytics.segments WHERE audience = 'loyal' AND audience_group = 'holdout'`);
      return new Set(rows.map((r) => String(r['customer_id'])));
    } finally {
      await connection.close();
    }
  }

  it('sends the members, not the holdout nor those without consent; removes who left', async () => {
    expect((await runCli(['run'], { cwd: root, env })).code).toBe(0);
    const sync = await runCli(['sync', '--log-format', 'json'], { cwd: root, env });
    expect(sync.code, sync.stderr).toBe(0);

    const qualifying = customers().filter((c) => c.orders >= 2 && c.consent).map((c) => c.id);
    const held = await holdout();
    expect(held.size).toBeGreaterThan(0);
    const sent = [...emulator.records('loyal').keys()].sort();
    expect(sent).toEqual(qualifying.filter((id) => !held.has(id)).sort());
    for (const c of customers().filter((c) => !c.consent)) expect(sent).not.toContain(c.id);

    writeFileSync(join(root, 'data/customers.csv'), csv(customers('bump')));
    expect((await runCli(['run'], { cwd: root, env })).code).toBe(0);
    const again = await runCli(['sync', '--log-format', 'json'], { cwd: root, env });
    expect(again.code, again.stderr).toBe(0);
    const c07 = customers()[6]!;
    expect(c07.orders >= 2 && c07.consent).toBe(true);
    const heldNow = await holdout();
    const expectedNow = customers('bump').filter((c) => c.orders >= 2 && c.consent && !heldNow.has(c.id)).map((c) => c.id);
    expect([...emulator.records('loyal').keys()].sort()).toEqual(expectedNow.sort());
    if (!held.has('c07')) expect(emulator.records('loyal').has('c07')).toBe(false);
  });

  it('an audiences model without `audience:`, or with an unknown one, is a located error (exit 2)', async () => {
    const missing = tempProject({ 'tideline.yml': 'name: aud\nschema: analytics\n', 'data/customers.csv': csv(customers()), 'models/m.yml': MODELS, 'syncs/s.yml': SYNCS('') });
    const a = await runCli(['validate', '--offline', '--log-format', 'pretty'], { cwd: missing, env });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/syncs\/s\.yml:\d+:\d+.*holds several audiences \(loyal, everyone\)/);

    const unknown = tempProject({ 'tideline.yml': 'name: aud\nschema: analytics\n', 'data/customers.csv': csv(customers()), 'models/m.yml': MODELS, 'syncs/s.yml': SYNCS('audience: loyl') });
    const b = await runCli(['validate', '--offline', '--log-format', 'pretty'], { cwd: unknown, env });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/syncs\/s\.yml:9:\d+.*unknown audience "loyl".*did you mean "loyal"/);
  });
});
