import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sql } from '../../src/dialects/sql.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { engines } from '../../test/support/engines.js';
import { DEFAULT_SHOP, generateShop, SHOP_TABLES, type ShopTable } from './generate.js';

const OPTIONS = { ...DEFAULT_SHOP, customers: 300, anchor: '2026-06-30', campaignWeeks: 4 };

async function fingerprint(connection: Connection, table: ShopTable): Promise<string> {
  const d = connection.dialect;
  const columns = SHOP_TABLES[table].map((c) => d.id(c.name));
  const rows = await connection.query(sql`SELECT * FROM ${d.table({ schema: 'raw', name: table })} ORDER BY ${sql`${columns[0]!}`}, ${columns[1] ?? columns[0]!}`);
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

describe('the example shop generator', () => {
  const [duckdb] = engines();

  it('gives the same rows for the same seed, and different rows for another seed', async () => {
    const runs: string[][] = [];
    for (const seed of [7, 7, 8]) {
      const connection = await duckdb!.open();
      await generateShop(connection, { ...OPTIONS, seed });
      runs.push(await Promise.all((['eshop_accounts', 'loyalty_cards', 'orders', 'order_lines', 'email_events'] as const).map((t) => fingerprint(connection, t))));
      await connection.close();
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).not.toEqual(runs[0]);
  });

  it('records the truth for every identity record, and plants the junk values identity must resist', async () => {
    const connection = await duckdb!.open();
    const summary = await generateShop(connection, { ...OPTIONS, customers: 1000 });
    const q = async (text: ReturnType<typeof sql>) => (await connection.query(text))[0]!;
    const untracked = await q(sql`SELECT COUNT(*) AS n FROM (
      SELECT 'eshop_accounts' AS s, account_id AS id FROM raw.eshop_accounts UNION ALL
      SELECT 'loyalty_cards', card_number FROM raw.loyalty_cards UNION ALL
      SELECT 'newsletter_signups', signup_id FROM raw.newsletter_signups UNION ALL
      SELECT 'crm_contacts', contact_id FROM raw.crm_contacts
    ) r LEFT JOIN raw.identity_truth t ON t.source = r.s AND t.record_id = r.id WHERE t.person_id IS NULL`);
    expect(untracked['n']).toBe(0);
    expect(summary.rows.identity_truth).toBe(summary.rows.eshop_accounts + summary.rows.loyalty_cards + summary.rows.newsletter_signups + summary.rows.crm_contacts);
    // A store's phone typed on many tickets: the most frequent contact phone is a store's, not a person's.
    const top = await q(sql`SELECT contact_phone, COUNT(*) AS n FROM raw.orders WHERE contact_phone IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`);
    const stores = (await connection.query(sql`SELECT phone FROM raw.stores`)).map((r) => r['phone']);
    expect(stores).toContain(top['contact_phone']);
    expect(Number(top['n'])).toBeGreaterThan(10);
    const test = await q(sql`SELECT COUNT(*) AS n FROM raw.newsletter_signups WHERE lower(trim(email)) = 'test@test.com'`);
    expect(Number(test['n'])).toBeGreaterThanOrEqual(3);
    // Several people share a family e-mail.
    const shared = await q(sql`SELECT COUNT(*) AS n FROM (SELECT lower(trim(a.email)) AS e FROM raw.eshop_accounts a JOIN raw.identity_truth t ON t.record_id = a.account_id GROUP BY 1 HAVING COUNT(DISTINCT t.person_id) > 1) x`);
    expect(Number(shared['n'])).toBeGreaterThan(0);
    // Nothing happens after the anchor date, and the completion marker is written.
    const late = await q(sql`SELECT COUNT(*) AS n FROM raw.orders WHERE ordered_at >= TIMESTAMP '2026-06-30 00:00:00'`);
    expect(late['n']).toBe(0);
    expect(await connection.query(sql`SELECT anchor_date, customers FROM raw.dataset_info`)).toEqual([{ anchor_date: '2026-06-30', customers: 1000 }]);
    await connection.close();
  });
});
