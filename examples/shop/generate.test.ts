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
      runs.push(await Promise.all((['eshop_accounts', 'loyalty_cards', 'orders', 'order_lines', 'email_events', 'consent_events', 'tickets', 'carts'] as const).map((t) => fingerprint(connection, t))));
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

  it('plants the data of the seed use cases: tickets, consent per channel, margins, message ids', async () => {
    const connection = await duckdb!.open();
    await generateShop(connection, { ...OPTIONS, customers: 1000, campaignWeeks: 8 });
    const q = async (text: ReturnType<typeof sql>) => (await connection.query(text))[0]!;

    // Complaints to customer service, some in the last 14 days (the "just complained" suppression), all before the
    // anchor, each with the e-mail or the phone the customer gave; other kinds of ticket too.
    const tickets = await q(sql`SELECT COUNT(*) AS n,
        COUNT(*) FILTER (WHERE type = 'complaint' AND created_at >= TIMESTAMP '2026-06-16 00:00:00') AS recent_complaints,
        COUNT(*) FILTER (WHERE created_at >= TIMESTAMP '2026-06-30 00:00:00') AS late,
        COUNT(*) FILTER (WHERE email IS NULL AND phone IS NULL) AS anonymous,
        COUNT(DISTINCT type) AS types, COUNT(DISTINCT channel) AS channels
      FROM raw.tickets`);
    expect(Number(tickets['recent_complaints'])).toBeGreaterThan(0);
    expect({ late: Number(tickets['late']), anonymous: Number(tickets['anonymous']), types: Number(tickets['types']), channels: Number(tickets['channels']) }).toEqual({ late: 0, anonymous: 0, types: 4, channels: 4 });

    // Consent to calls and SMS is given on its own: phones opted in to calls are not the ones opted in to SMS, and
    // some are withdrawn later (Bloctel, STOP).
    const phone = await q(sql`SELECT
        COUNT(DISTINCT subject) FILTER (WHERE channel = 'phone' AND status = 'opt_in') AS calls,
        COUNT(DISTINCT subject) FILTER (WHERE channel = 'sms' AND status = 'opt_in') AS sms,
        COUNT(*) FILTER (WHERE channel IN ('phone', 'sms') AND status = 'opt_out') AS withdrawn
      FROM raw.consent_events WHERE subject_type = 'phone'`);
    const both = await q(sql`SELECT COUNT(*) AS n FROM (
        SELECT subject FROM raw.consent_events WHERE channel = 'phone' AND status = 'opt_in'
        INTERSECT SELECT subject FROM raw.consent_events WHERE channel = 'sms' AND status = 'opt_in') x`);
    expect(Number(phone['calls'])).toBeGreaterThan(50);
    expect(Number(phone['sms'])).toBeGreaterThan(50);
    expect(Number(both['n'])).toBeLessThan(Math.min(Number(phone['calls']), Number(phone['sms'])));
    expect(Number(phone['withdrawn'])).toBeGreaterThan(0);

    // Margins differ by category: accessories earn more per euro than shoes.
    const margins = new Map(
      (await connection.query(sql`SELECT category, SUM(unit_price - unit_cost) / SUM(unit_price) AS rate FROM raw.order_lines WHERE quantity > 0 GROUP BY category`)).map((r) => [
        String(r['category']),
        Number(r['rate']),
      ]),
    );
    expect(margins.get('Accessories')!).toBeGreaterThan(margins.get('Shoes')! + 0.2);

    // One message id per e-mail sent to an address: one campaign, one address, one sent event; every open or click
    // belongs to a delivered message.
    const messages = await q(sql`SELECT COUNT(*) AS n,
        COUNT(*) FILTER (WHERE campaigns <> 1 OR addresses <> 1 OR sent <> 1) AS mixed,
        COUNT(*) FILTER (WHERE engaged > 0 AND delivered = 0) AS orphan_opens
      FROM (SELECT message_id, COUNT(DISTINCT campaign_id) AS campaigns, COUNT(DISTINCT email) AS addresses,
              COUNT(*) FILTER (WHERE event_type = 'sent') AS sent, COUNT(*) FILTER (WHERE event_type = 'delivered') AS delivered,
              COUNT(*) FILTER (WHERE event_type IN ('opened', 'clicked')) AS engaged
            FROM raw.email_events GROUP BY message_id) m`);
    const sent = await q(sql`SELECT COUNT(*) AS n FROM raw.email_events WHERE event_type = 'sent'`);
    expect(Number(messages['n'])).toBe(Number(sent['n']));
    expect({ mixed: Number(messages['mixed']), orphans: Number(messages['orphan_opens']) }).toEqual({ mixed: 0, orphans: 0 });
    await connection.close();
  });

  it('writes a cart per add-to-cart before the anchor: its value, and the order it became when it was checked out', async () => {
    const connection = await duckdb!.open();
    await generateShop(connection, { ...OPTIONS, customers: 2000 });
    const q = async (text: ReturnType<typeof sql>) => (await connection.query(text))[0]!;
    const carts = await q(sql`SELECT COUNT(*) AS n, COUNT(DISTINCT cart_id) AS ids,
        COUNT(*) FILTER (WHERE converted) AS converted,
        COUNT(*) FILTER (WHERE converted <> (order_id IS NOT NULL)) AS inconsistent,
        COUNT(*) FILTER (WHERE value <= 0 OR currency <> 'EUR') AS bad_values,
        COUNT(*) FILTER (WHERE created_at >= TIMESTAMP '2026-06-30 00:00:00' OR created_at < TIMESTAMP '2026-06-16 00:00:00') AS outside
      FROM raw.carts`);
    expect(Number(carts['n'])).toBeGreaterThan(50);
    expect({ ids: Number(carts['ids']), inconsistent: Number(carts['inconsistent']), bad: Number(carts['bad_values']), outside: Number(carts['outside']) }).toEqual({ ids: Number(carts['n']), inconsistent: 0, bad: 0, outside: 0 });
    // Some carts were checked out, most were not.
    expect(Number(carts['converted'])).toBeGreaterThan(0);
    expect(Number(carts['converted'])).toBeLessThan(Number(carts['n']) / 2);
    // A converted cart's order is a web order of the same account, placed after the cart, worth the cart's value.
    const orders = await q(sql`SELECT COUNT(*) AS n FROM raw.carts AS c JOIN raw.orders AS o ON o.order_id = c.order_id
      WHERE o.channel = 'web' AND o.account_id = c.account_id AND o.ordered_at > c.created_at AND (o.total_amount = c.value OR o.total_amount <= 0)`);
    expect(Number(orders['n'])).toBe(Number(carts['converted']));
    // Every cart is an add_to_cart event of the same account at the same time.
    const events = await q(sql`SELECT COUNT(*) AS n FROM raw.carts AS c
      WHERE NOT EXISTS (SELECT 1 FROM raw.web_events AS w WHERE w.account_id = c.account_id AND w.event_type = 'add_to_cart' AND w.occurred_at = c.created_at)`);
    expect(Number(events['n'])).toBe(0);
    await connection.close();
  });
});
