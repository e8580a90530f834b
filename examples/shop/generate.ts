import { base, en, Faker, fr } from '@faker-js/faker';
import type { LogicalType } from '../../src/dialects/dialect.js';
import { joinSql, sql } from '../../src/dialects/sql.js';
import type { ColumnSpec, Connection, Value } from '../../src/warehouses/connection.js';

/**
 * A deterministic, realistic retailer for the example project, tests and benchmarks.
 *
 * People exist once in the truth table and several times in the shop's systems — e-shop accounts, loyalty cards
 * used at the till, newsletter sign-ups, CRM contacts — each copy with the inconsistencies of real data: case and
 * spaces in e-mails, typos in names, phones written four ways, family e-mails shared by two people, a store's phone
 * number typed on hundreds of tickets and loyalty cards, `test@test.com` sign-ups. Purchases follow a BG/NBD-like
 * process (heterogeneous rates, drop-out after each purchase) so that LTV models have something real to find;
 * orders have lines with categories, cancellations and returns; e-mail campaigns produce sent/delivered/opened
 * (machine opens flagged)/clicked/unsubscribed/bounced events; web cart events and consent changes complete it.
 *
 * The same seed, size and anchor date always give the same rows. The anchor is the data's "today".
 */
export interface ShopOptions {
  readonly customers: number;
  readonly seed: number;
  /** The data's "today", YYYY-MM-DD: orders and events happen before it. */
  readonly anchor: string;
  /** Schema receiving the raw tables. */
  readonly schema: string;
  /** Weekly e-mail campaigns over this many weeks before the anchor (0 = no e-mail events). */
  readonly campaignWeeks: number;
}

export const DEFAULT_SHOP: Omit<ShopOptions, 'anchor'> = { customers: 10_000, seed: 42, schema: 'raw', campaignWeeks: 26 };

export type ShopTable =
  | 'dataset_info'
  | 'stores'
  | 'eshop_accounts'
  | 'loyalty_cards'
  | 'newsletter_signups'
  | 'crm_contacts'
  | 'orders'
  | 'order_lines'
  | 'email_events'
  | 'web_events'
  | 'consent_events'
  | 'identity_truth'
  | 'campaign_assignments'
  | 'campaign_truth'
  | 'sms_events'
  | 'push_events'
  | 'mail_events'
  | 'phone_calls'
  | 'tickets'
  | 'carts';

const c = (name: string, type: LogicalType): ColumnSpec => ({ name, type });

/** The raw tables and their columns, in the order rows are written. */
export const SHOP_TABLES: Readonly<Record<ShopTable, readonly ColumnSpec[]>> = {
  dataset_info: [c('anchor_date', 'date'), c('seed', 'integer'), c('customers', 'integer'), c('generator_version', 'integer')],
  stores: [c('store_id', 'string'), c('name', 'string'), c('city', 'string'), c('phone', 'string')],
  eshop_accounts: [
    c('account_id', 'string'),
    c('email', 'string'),
    c('first_name', 'string'),
    c('last_name', 'string'),
    c('phone', 'string'),
    c('birth_date', 'date'),
    c('postcode', 'string'),
    c('city', 'string'),
    c('country', 'string'),
    c('created_at', 'timestamp'),
    c('updated_at', 'timestamp'),
  ],
  loyalty_cards: [
    c('card_number', 'string'),
    c('first_name', 'string'),
    c('last_name', 'string'),
    c('phone', 'string'),
    c('email', 'string'),
    c('birth_date', 'date'),
    c('postcode', 'string'),
    c('store_id', 'string'),
    c('enrolled_at', 'timestamp'),
  ],
  newsletter_signups: [c('signup_id', 'string'), c('email', 'string'), c('first_name', 'string'), c('source', 'string'), c('signed_up_at', 'timestamp')],
  crm_contacts: [
    c('contact_id', 'string'),
    c('email', 'string'),
    c('phone', 'string'),
    c('first_name', 'string'),
    c('last_name', 'string'),
    c('birth_date', 'date'),
    c('updated_at', 'timestamp'),
  ],
  orders: [
    c('order_id', 'string'),
    c('channel', 'string'),
    c('store_id', 'string'),
    c('account_id', 'string'),
    c('card_number', 'string'),
    c('contact_phone', 'string'),
    c('ordered_at', 'timestamp'),
    c('status', 'string'),
    c('total_amount', 'decimal'),
  ],
  order_lines: [
    c('order_id', 'string'),
    c('line_number', 'integer'),
    c('sku', 'string'),
    c('category', 'string'),
    c('quantity', 'integer'),
    c('unit_price', 'decimal'),
    c('unit_cost', 'decimal'),
  ],
  email_events: [
    c('event_id', 'string'),
    c('campaign_id', 'string'),
    // One id per e-mail delivered to one address: its sent, delivered, opened and clicked events share it.
    c('message_id', 'string'),
    c('email', 'string'),
    c('event_type', 'string'),
    c('machine_open', 'boolean'),
    c('occurred_at', 'timestamp'),
  ],
  web_events: [c('event_id', 'string'), c('account_id', 'string'), c('event_type', 'string'), c('sku', 'string'), c('occurred_at', 'timestamp')],
  consent_events: [
    c('event_id', 'string'),
    c('subject_type', 'string'),
    c('subject', 'string'),
    c('channel', 'string'),
    c('status', 'string'),
    c('source', 'string'),
    c('occurred_at', 'timestamp'),
  ],
  identity_truth: [c('source', 'string'), c('record_id', 'string'), c('person_id', 'string')],
  // For the report kind (see ReportExtras below).
  campaign_assignments: [c('campaign', 'string'), c('email', 'string'), c('group_name', 'string'), c('entered_at', 'timestamp')],
  campaign_truth: [
    c('campaign', 'string'),
    c('window_days', 'integer'),
    c('holdout_share', 'float'),
    c('extra_order_probability', 'float'),
    c('treated', 'integer'),
    c('holdout', 'integer'),
    c('caused_conversions', 'integer'),
    c('caused_revenue', 'decimal'),
  ],
  sms_events: [c('event_id', 'string'), c('campaign_id', 'string'), c('phone', 'string'), c('event_type', 'string'), c('occurred_at', 'timestamp')],
  push_events: [c('event_id', 'string'), c('campaign_id', 'string'), c('account_id', 'string'), c('event_type', 'string'), c('occurred_at', 'timestamp')],
  mail_events: [c('event_id', 'string'), c('campaign_id', 'string'), c('card_number', 'string'), c('event_type', 'string'), c('occurred_at', 'timestamp')],
  phone_calls: [c('call_id', 'string'), c('campaign_id', 'string'), c('phone', 'string'), c('called_at', 'timestamp'), c('outcome', 'string'), c('duration_seconds', 'integer')],
  // For the seed use cases (see UseCaseExtras below): customer-service tickets, by the e-mail or phone the customer gave.
  tickets: [c('ticket_id', 'string'), c('email', 'string'), c('phone', 'string'), c('created_at', 'timestamp'), c('type', 'string'), c('channel', 'string')],
  // The e-shop's carts, one row per cart (its add_to_cart event in web_events): the basket's value and whether it
  // became an order, with that order's id. For the abandoned-cart event (models/events.yml).
  carts: [
    c('cart_id', 'string'),
    c('account_id', 'string'),
    c('created_at', 'timestamp'),
    c('value', 'decimal'),
    c('currency', 'string'),
    c('converted', 'boolean'),
    c('order_id', 'string'),
  ],
};

/** Bumped whenever the generator's output changes for the same options, so stale example data is regenerated. */
export const GENERATOR_VERSION = 5;

/** Categories with their typical price and what a line costs the shop, as a share of its price (margins differ). */
const CATEGORIES = [
  { name: 'Womenswear', price: 45, cost: 0.5 },
  { name: 'Menswear', price: 40, cost: 0.52 },
  { name: 'Kids', price: 22, cost: 0.6 },
  { name: 'Shoes', price: 70, cost: 0.62 },
  { name: 'Accessories', price: 18, cost: 0.35 },
  { name: 'Home', price: 30, cost: 0.55 },
  { name: 'Beauty', price: 25, cost: 0.42 },
] as const;

const DAY = 86_400_000;

interface Person {
  readonly id: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly email: string;
  readonly mobile: string;
  readonly birthDate: string;
  readonly postcode: string;
  readonly city: string;
  readonly country: string;
  readonly homeStore: number;
  /** Purchase process: weekly rate, drop-out probability, spend level. */
  readonly rate: number;
  readonly dropout: number;
  readonly spend: number;
  readonly opens: number;
}

interface Store {
  readonly id: string;
  readonly name: string;
  readonly city: string;
  readonly phone: string;
}

export interface ShopSummary {
  readonly rows: Readonly<Record<ShopTable, number>>;
  readonly people: number;
}

/** Writes the raw tables into `options.schema` (replacing them). */
export async function generateShop(connection: Connection, options: ShopOptions): Promise<ShopSummary> {
  const d = connection.dialect;
  await connection.execute(d.createSchema(options.schema));
  for (const [name, columns] of Object.entries(SHOP_TABLES) as [ShopTable, readonly ColumnSpec[]][]) {
    const ref = { schema: options.schema, name };
    await connection.execute(d.dropTable(ref));
    await connection.execute(sql`CREATE TABLE ${d.table(ref)} (${joinSql(columns.map((col) => sql`${d.id(col.name)} ${d.type(col.type)}`))})`);
  }
  const writer = new TableWriter(connection, options.schema);
  const generator = new ShopGenerator(options, writer);
  await generator.run();
  await writer.flushAll();
  // Written last: its presence says the dataset is complete (an interrupted run is regenerated next time).
  await writer.add('dataset_info', [options.anchor, options.seed, options.customers, GENERATOR_VERSION]);
  await writer.flush('dataset_info');
  return { rows: writer.counts(), people: options.customers };
}

/** Buffers rows per table and appends them in batches, so a million customers never sit in memory. */
class TableWriter {
  readonly #buffers = new Map<ShopTable, Value[][]>();
  readonly #counts = new Map<ShopTable, number>();

  constructor(
    private readonly connection: Connection,
    private readonly schema: string,
    private readonly batchSize = 5_000,
  ) {}

  async add(table: ShopTable, row: Value[]): Promise<void> {
    const buffer = this.#buffers.get(table) ?? [];
    buffer.push(row);
    this.#buffers.set(table, buffer);
    if (buffer.length >= this.batchSize) await this.flush(table);
  }

  async flush(table: ShopTable): Promise<void> {
    const buffer = this.#buffers.get(table);
    if (!buffer?.length) return;
    this.#buffers.set(table, []);
    await this.connection.insertRows({ schema: this.schema, name: table }, SHOP_TABLES[table], [buffer]);
    this.#counts.set(table, (this.#counts.get(table) ?? 0) + buffer.length);
  }

  async flushAll(): Promise<void> {
    for (const table of Object.keys(SHOP_TABLES) as ShopTable[]) if (table !== 'dataset_info') await this.flush(table);
  }

  counts(): Record<ShopTable, number> {
    return Object.fromEntries((Object.keys(SHOP_TABLES) as ShopTable[]).map((t) => [t, this.#counts.get(t) ?? 0])) as Record<ShopTable, number>;
  }
}

class ShopGenerator {
  private readonly faker: Faker;
  private readonly anchor: number;
  private readonly stores: Store[] = [];
  private readonly seq = new Map<string, number>();
  private previous: Person | undefined;
  private readonly extras: ReportExtras;
  private readonly useCases: UseCaseExtras;
  /** The completed orders of the person being generated (times), for the tickets that follow some of them. */
  private personOrders: number[] = [];

  constructor(
    private readonly options: ShopOptions,
    private readonly out: TableWriter,
  ) {
    this.faker = new Faker({ locale: [fr, en, base] });
    this.faker.seed(options.seed);
    this.anchor = Date.parse(`${options.anchor}T00:00:00Z`);
    this.extras = new ReportExtras(options, out, this.anchor);
    this.useCases = new UseCaseExtras(options, out, this.anchor);
  }

  async run(): Promise<void> {
    for (let s = 1; s <= 12; s++) {
      const city = this.faker.location.city();
      const store = { id: `S${String(s).padStart(2, '0')}`, name: `Tideline ${city}`, city, phone: `01${this.digits(8)}` };
      this.stores.push(store);
      await this.out.add('stores', [store.id, store.name, store.city, store.phone]);
    }
    for (let i = 1; i <= this.options.customers; i++) await this.person(i);
    // Sign-ups nobody is behind: test entries typed on the website and at the till.
    for (let j = 1; j <= Math.max(3, Math.round(this.options.customers / 500)); j++) {
      const id = this.next('N');
      await this.out.add('newsletter_signups', [id, j % 2 ? 'test@test.com' : ' TEST@test.com', 'Test', 'footer', new Date(this.at(-this.int(1, 700)))]);
      await this.out.add('identity_truth', ['newsletter_signups', id, `JUNK${j}`]);
    }
    await this.extras.finish();
  }

  private async person(index: number): Promise<void> {
    const f = this.faker;
    this.extras.beginPerson();
    this.personOrders = [];
    const household = this.previous && this.chance(0.06) ? this.previous : undefined;
    const sex = f.person.sexType();
    const firstName = f.person.firstName(sex);
    const lastName = household?.lastName ?? f.person.lastName();
    const emailUser = ascii(`${firstName}.${lastName}`).replace(/[^a-z.]/g, '') + (this.chance(0.5) ? String(this.int(1, 99)) : '');
    const email = household && this.chance(0.5) ? household.email : `${emailUser}@${f.helpers.arrayElement(['gmail.com', 'orange.fr', 'free.fr', 'hotmail.fr', 'yahoo.fr', 'laposte.net', 'sfr.fr'])}`;
    const person: Person = {
      id: `P${String(index).padStart(7, '0')}`,
      firstName,
      lastName,
      email,
      mobile: `0${f.helpers.arrayElement(['6', '7'])}${this.digits(8)}`,
      birthDate: isoDay(this.anchor - this.int(18 * 365, 80 * 365) * DAY),
      postcode: household?.postcode ?? f.location.zipCode('#####'),
      city: household?.city ?? f.location.city(),
      country: this.chance(0.92) ? 'FR' : f.helpers.arrayElement(['BE', 'CH', 'GB', 'DE']),
      homeStore: this.int(0, this.stores.length - 1),
      rate: gamma(f, 0.8, 1 / 0.25) / 52,
      dropout: beta(f, 1.2, 4),
      spend: gamma(f, 6, 1 / 6),
      opens: this.chance(0.25) ? 0 : beta(f, 2, 3),
    };
    this.previous = person;

    const account = this.chance(0.7) ? await this.eshopAccount(person) : undefined;
    if (account && this.chance(0.04)) await this.eshopAccount(person, true);
    const card = this.chance(0.5) ? await this.loyaltyCard(person) : undefined;
    const signup = this.chance(0.4) ? await this.newsletter(person) : undefined;
    if (this.chance(0.3)) await this.crmContact(person);
    const since = Math.min(...[account?.since, card?.since, signup?.since].filter((t): t is number => t !== undefined), this.anchor);
    if (account || card) await this.orders(person, account?.id, card?.id, since);
    if (account && this.chance(0.6)) await this.consent('email', person.email, 'email', 'opt_in', 'eshop', account.since);
    if (account && this.chance(0.6)) await this.consent('email', person.email, 'ads', 'opt_in', 'eshop', account.since);
    if (card && this.chance(0.4)) await this.consent('phone', person.mobile, 'sms', 'opt_in', 'store', card.since);
    if (signup) await this.consent('email', person.email, 'email', 'opt_in', 'newsletter', signup.since);
    if (account && this.chance(0.08)) await this.cart(person, account.id);
    if (this.options.campaignWeeks > 0 && (account || signup) && this.chance(0.75)) await this.campaigns(person);
    await this.extras.endPerson(person, account, card);
    await this.useCases.endPerson(person, account, card, this.personOrders);
  }

  private async eshopAccount(p: Person, duplicate = false): Promise<{ id: string; since: number }> {
    const id = this.next('A');
    const since = this.at(-this.int(1, 4 * 365));
    const email = duplicate ? this.typo(p.email.split('@')[0]!) + '@' + p.email.split('@')[1] : this.messyEmail(p.email);
    await this.out.add('eshop_accounts', [
      id,
      email,
      this.chance(0.1) ? p.firstName.toUpperCase() : p.firstName,
      p.lastName,
      this.chance(0.5) ? this.phoneWritten(p.mobile) : null,
      this.chance(0.6) ? p.birthDate : null,
      p.postcode,
      p.city,
      p.country,
      new Date(since),
      new Date(Math.min(this.anchor - DAY, since + this.int(0, 400) * DAY)),
    ]);
    await this.out.add('identity_truth', ['eshop_accounts', id, p.id]);
    return { id, since };
  }

  private async loyaltyCard(p: Person): Promise<{ id: string; since: number }> {
    const id = `L${this.digits(10)}`;
    const since = this.at(-this.int(1, 5 * 365));
    const store = this.stores[p.homeStore]!;
    // At the till, a hurried cashier types the store's own number for customers who give none.
    const phone = this.chance(0.03) ? store.phone : this.chance(0.9) ? this.phoneWritten(p.mobile) : null;
    await this.out.add('loyalty_cards', [
      id,
      this.chance(0.05) ? this.typo(p.firstName) : p.firstName,
      this.chance(0.3) ? p.lastName.toUpperCase() : this.chance(0.03) ? this.typo(p.lastName) : p.lastName,
      phone,
      this.chance(0.4) ? this.messyEmail(p.email) : null,
      this.chance(0.5) ? p.birthDate : null,
      p.postcode,
      store.id,
      new Date(since),
    ]);
    await this.out.add('identity_truth', ['loyalty_cards', id, p.id]);
    return { id, since };
  }

  private async newsletter(p: Person): Promise<{ since: number }> {
    const id = this.next('N');
    const since = this.at(-this.int(1, 3 * 365));
    await this.out.add('newsletter_signups', [id, this.messyEmail(p.email), this.chance(0.3) ? p.firstName : null, this.faker.helpers.arrayElement(['footer', 'popup', 'checkout', 'store']), new Date(since)]);
    await this.out.add('identity_truth', ['newsletter_signups', id, p.id]);
    return { since };
  }

  private async crmContact(p: Person): Promise<void> {
    const id = this.next('C');
    await this.out.add('crm_contacts', [
      id,
      this.chance(0.9) ? this.messyEmail(p.email) : null,
      this.chance(0.7) ? this.phoneWritten(p.mobile) : null,
      p.firstName,
      this.chance(0.02) ? this.typo(p.lastName) : p.lastName,
      this.chance(0.7) ? p.birthDate : null,
      new Date(this.at(-this.int(1, 900))),
    ]);
    await this.out.add('identity_truth', ['crm_contacts', id, p.id]);
  }

  /** Repeat purchases as a Poisson process until the customer drops out (BG/NBD's story). */
  private async orders(p: Person, accountId: string | undefined, cardNumber: string | undefined, since: number): Promise<void> {
    let t = since + this.int(0, 60) * DAY;
    for (let n = 0; t < this.anchor && n < 200; n++) {
      await this.order(p, accountId, cardNumber, t);
      if (this.chance(p.dropout)) break;
      t += exponential(this.faker, p.rate) * 7 * DAY;
    }
  }

  /** Writes one order placed on the day of `at`; answers its id and total. */
  private async order(p: Person, accountId: string | undefined, cardNumber: string | undefined, at: number): Promise<{ id: string; total: number }> {
    const id = this.next('O');
    const web = accountId !== undefined && (cardNumber === undefined || this.chance(0.6));
    const store = web ? undefined : this.stores[this.chance(0.85) ? p.homeStore : this.int(0, this.stores.length - 1)]!;
    const contactPhone = store && this.chance(0.15) ? store.phone : store && this.chance(0.3) ? this.phoneWritten(p.mobile) : null;
    const cancelled = this.chance(0.05);
    let total = 0;
    const lines = this.int(1, 4);
    for (let l = 1; l <= lines; l++) {
      const category = this.faker.helpers.arrayElement(CATEGORIES);
      const price = round2(category.price * p.spend * lognormal(this.faker, 0, 0.35));
      const quantity = this.chance(0.8) ? 1 : this.int(2, 3);
      total += price * quantity;
      const sku = `${category.name.slice(0, 3).toUpperCase()}-${this.int(100, 999)}`;
      await this.out.add('order_lines', [id, l, sku, category.name, quantity, price, round2(price * category.cost)]);
      if (!cancelled && this.chance(0.04)) {
        await this.out.add('order_lines', [id, lines + l, sku, category.name, -quantity, price, round2(price * category.cost)]);
        total -= price * quantity;
      }
    }
    // Opening hours on the day of `at`, never after the data's "today".
    const orderedAt = Math.min(at + this.int(8, 20) * 3_600_000 + this.int(0, 3599) * 1000, this.anchor - 1000);
    if (web && !cancelled) this.extras.webOrder(orderedAt);
    if (!cancelled) this.personOrders.push(orderedAt);
    await this.out.add('orders', [
      id,
      web ? 'web' : 'store',
      store?.id ?? null,
      web ? accountId! : null,
      web ? null : (cardNumber ?? null),
      contactPhone,
      new Date(orderedAt),
      cancelled ? 'cancelled' : 'completed',
      round2(total),
    ]);
    return { id, total: round2(total) };
  }

  private async cart(p: Person, accountId: string): Promise<void> {
    const at = this.at(-this.int(0, 13)) + this.int(8, 22) * 3_600_000;
    const category = this.faker.helpers.arrayElement(CATEGORIES);
    const sku = `${category.name.slice(0, 3).toUpperCase()}-${this.int(100, 999)}`;
    await this.out.add('web_events', [this.next('W'), accountId, 'add_to_cart', sku, new Date(at)]);
    // The cart's id comes from a counter and its value from the person's spend level, not from the faker: the carts
    // table changes no other row. A converted cart is worth what its order came to.
    const cart = this.next('CT');
    let order: { id: string; total: number } | undefined;
    if (this.chance(0.4)) {
      const checkout = at + this.int(1, 40) * 3_600_000;
      if (checkout < this.anchor) {
        await this.out.add('web_events', [this.next('W'), accountId, 'checkout', sku, new Date(checkout)]);
        order = await this.order(p, accountId, undefined, checkout);
      }
    }
    // Carts of the anchor day itself are still open: the e-shop's table holds what happened before its "today".
    if (at < this.anchor) {
      await this.out.add('carts', [cart, accountId, new Date(at), order && order.total > 0 ? order.total : round2(category.price * p.spend), 'EUR', order !== undefined, order?.id ?? null]);
    }
  }

  private async campaigns(p: Person): Promise<void> {
    const weeks = this.options.campaignWeeks;
    for (let w = weeks; w >= 1; w--) {
      const sentAt = this.anchor - w * 7 * DAY + 9 * 3_600_000;
      const campaign = `C${isoDay(sentAt)}`;
      const email = p.email;
      // Drawn from a counter, not the faker: the message id changes no other row.
      const message = this.next('M');
      const event = (type: string, machine: boolean, at: number) => this.event(campaign, message, email, type, machine, at);
      await event('sent', false, sentAt);
      if (this.chance(0.015)) {
        await event('bounced', false, sentAt + 60_000);
        continue;
      }
      await event('delivered', false, sentAt + 60_000);
      if (this.chance(0.08)) await event('opened', true, sentAt + 120_000);
      if (this.chance(p.opens)) {
        const openedAt = sentAt + this.int(1, 72) * 3_600_000;
        await event('opened', false, openedAt);
        if (this.chance(0.15)) await event('clicked', false, openedAt + 60_000);
      }
      if (this.chance(0.002)) {
        await event('unsubscribed', false, sentAt + 3 * 3_600_000);
        await this.consent('email', email, 'email', 'opt_out', 'unsubscribe_link', sentAt + 3 * 3_600_000);
        return;
      }
    }
  }

  private async event(campaign: string, message: string, email: string, type: string, machine: boolean, at: number): Promise<void> {
    await this.out.add('email_events', [this.next('E'), campaign, message, email, type, machine, new Date(at)]);
  }

  private async consent(subjectType: string, subject: string, channel: string, status: string, source: string, at: number): Promise<void> {
    await this.out.add('consent_events', [this.next('K'), subjectType, subject, channel, status, source, new Date(at)]);
  }

  // ---- small helpers: every random draw goes through the seeded faker ----

  private chance(p: number): boolean {
    return this.faker.number.float({ min: 0, max: 1 }) < p;
  }

  private int(min: number, max: number): number {
    return this.faker.number.int({ min, max });
  }

  private digits(n: number): string {
    return this.faker.string.numeric({ length: n, allowLeadingZeros: true });
  }

  private at(daysFromAnchor: number): number {
    return this.anchor + daysFromAnchor * DAY;
  }

  private next(prefix: string): string {
    const n = (this.seq.get(prefix) ?? 0) + 1;
    this.seq.set(prefix, n);
    return `${prefix}${String(n).padStart(8, '0')}`;
  }

  /** The same address typed carelessly: capitals, surrounding spaces. */
  private messyEmail(email: string): string {
    const r = this.faker.number.float({ min: 0, max: 1 });
    if (r < 0.1) return email.toUpperCase();
    if (r < 0.2) return email.charAt(0).toUpperCase() + email.slice(1);
    if (r < 0.27) return ` ${email} `;
    return email;
  }

  /** A French mobile number as people write it: 06 12 34 56 78, 06.12.34.56.78, +33 6 12 34 56 78, 0033612345678. */
  private phoneWritten(national: string): string {
    const pairs = national.match(/../g)!;
    switch (this.int(0, 3)) {
      case 0:
        return pairs.join(' ');
      case 1:
        return pairs.join('.');
      case 2:
        return `+33 ${national.slice(1, 2)} ${pairs.slice(1).join(' ')}`;
      default:
        return `0033${national.slice(1)}`;
    }
  }

  /** One slip of the keyboard: a letter swapped with the next, doubled or dropped. */
  private typo(word: string): string {
    if (word.length < 3) return word;
    const i = this.int(1, word.length - 2);
    switch (this.int(0, 2)) {
      case 0:
        return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2);
      case 1:
        return word.slice(0, i) + word[i] + word.slice(i);
      default:
        return word.slice(0, i) + word.slice(i + 1);
    }
  }
}

function ascii(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase();
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Marsaglia–Tsang gamma draw with shape k and scale θ. */
function gamma(f: Faker, k: number, theta: number): number {
  if (k < 1) return gamma(f, k + 1, theta) * Math.pow(uniform(f), 1 / k);
  const d = k - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(f);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    if (Math.log(uniform(f)) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * theta;
  }
}

function beta(f: Faker, a: number, b: number): number {
  const x = gamma(f, a, 1);
  return x / (x + gamma(f, b, 1));
}

function exponential(f: Faker, rate: number): number {
  return -Math.log(uniform(f)) / rate;
}

function lognormal(f: Faker, mu: number, sigma: number): number {
  return Math.exp(mu + sigma * normal(f));
}

function uniform(f: Faker): number {
  return f.number.float({ min: Number.EPSILON, max: 1 });
}

function normal(f: Faker): number {
  return Math.sqrt(-2 * Math.log(uniform(f))) * Math.cos(2 * Math.PI * uniform(f));
}

// ---------------------------------------------------------------------------------------------------------------
// For the report kind: a past campaign with a random holdout and a treatment effect of known size, and the events
// of the other channels (SMS, push, postal mail, phone calls). Drawn from a second seeded faker and written with
// their own id prefixes (X…), so every row above is the same with or without them.

/** The past campaign whose effect the report's holdout uplift must recover. */
export const PAST_CAMPAIGN = {
  name: 'spring_offer',
  /** Entries are spread over `entryDays` days, the first `startDaysBeforeAnchor` days before the anchor. */
  startDaysBeforeAnchor: 90,
  entryDays: 14,
  /** Share of e-shop account holders targeted (keyed by e-mail, one entry per address), and of them held out. */
  targeted: 0.6,
  holdout: 0.2,
  /** The campaign's orders come within this many days of entering. */
  windowDays: 30,
  /** Probability that a treated customer places one extra order because of the campaign. */
  extraOrder: 0.12,
} as const;

interface Assignment {
  readonly email: string;
  readonly treated: boolean;
  readonly entered: number;
  readonly extraRevenue: number;
  /** A completed web order under this e-mail within the window, without the campaign (the counterfactual). */
  naturalConversion: boolean;
}

const HOUR = 3_600_000;

/**
 * The seeded draws of the extra generators below: each has a faker of its own (its seed offset from the shop's) and
 * its own id sequences, so the rows it writes never shift those of the main generator.
 */
abstract class SeededExtras {
  protected readonly faker: Faker;
  private readonly seq = new Map<string, number>();

  constructor(seed: number) {
    this.faker = new Faker({ locale: [fr, en, base] });
    this.faker.seed(seed);
  }

  protected chance(p: number): boolean {
    return this.faker.number.float({ min: 0, max: 1 }) < p;
  }

  protected int(min: number, max: number): number {
    return this.faker.number.int({ min, max });
  }

  protected next(prefix: string): string {
    const n = (this.seq.get(prefix) ?? 0) + 1;
    this.seq.set(prefix, n);
    return `${prefix}${String(n).padStart(8, '0')}`;
  }
}

/**
 * Writes the report's extra rows. The truth of the campaign goes to `campaign_truth`: the effect on the treated it
 * actually caused — extra orders for customers who would not have ordered in the window anyway (conversions), and
 * the revenue of every extra order — so a test can check that the measured uplift's interval contains it.
 */
class ReportExtras extends SeededExtras {
  private webOrders: number[] = [];
  private readonly assigned = new Set<string>();
  /** The latest assignment: a household member sharing its e-mail may still add orders to it. */
  private open: Assignment | undefined;
  private readonly extraOrders: { accountId: string; at: number; amount: number; category: string; cost: number }[] = [];
  private readonly truth = { treated: 0, holdout: 0, causedConversions: 0, causedRevenue: 0 };

  constructor(
    private readonly options: ShopOptions,
    private readonly out: TableWriter,
    private readonly anchor: number,
  ) {
    super(options.seed + 7919);
  }

  beginPerson(): void {
    this.webOrders = [];
  }

  /** A completed web order of the person being generated, on their e-shop account. */
  webOrder(at: number): void {
    this.webOrders.push(at);
  }

  async endPerson(p: Person, account: { id: string; since: number } | undefined, card: { id: string; since: number } | undefined): Promise<void> {
    if (this.open?.email === p.email) this.open.naturalConversion ||= this.convertedNaturally(this.open.entered);
    else this.close();
    if (account && !this.assigned.has(p.email) && this.chance(PAST_CAMPAIGN.targeted)) await this.assign(p, account);
    if (card && this.chance(0.3)) await this.sms(p);
    if (account && this.chance(0.25)) await this.push(account.id);
    if (card && this.chance(0.2)) await this.mail(card.id);
    if (card && this.chance(0.03)) await this.calls(p);
  }

  async finish(): Promise<void> {
    this.close();
    for (const o of this.extraOrders) {
      const id = this.next('XO');
      await this.out.add('orders', [id, 'web', null, o.accountId, null, null, new Date(o.at), 'completed', o.amount]);
      await this.out.add('order_lines', [id, 1, `${o.category.slice(0, 3).toUpperCase()}-${this.int(100, 999)}`, o.category, 1, o.amount, round2(o.amount * o.cost)]);
    }
    const c = PAST_CAMPAIGN;
    await this.out.add('campaign_truth', [c.name, c.windowDays, c.holdout, c.extraOrder, this.truth.treated, this.truth.holdout, this.truth.causedConversions, round2(this.truth.causedRevenue)]);
  }

  private convertedNaturally(entered: number): boolean {
    return this.webOrders.some((at) => at > entered && at <= entered + PAST_CAMPAIGN.windowDays * DAY);
  }

  private close(): void {
    const a = this.open;
    this.open = undefined;
    if (!a?.treated) return;
    this.truth.causedRevenue += a.extraRevenue;
    if (a.extraRevenue > 0 && !a.naturalConversion) this.truth.causedConversions++;
  }

  private async assign(p: Person, account: { id: string; since: number }): Promise<void> {
    const c = PAST_CAMPAIGN;
    const entered = this.anchor - c.startDaysBeforeAnchor * DAY + this.int(0, c.entryDays - 1) * DAY + this.int(8, 18) * HOUR + this.int(0, 3599) * 1000;
    if (entered <= account.since) return;
    const treated = !this.chance(c.holdout);
    this.assigned.add(p.email);
    await this.out.add('campaign_assignments', [c.name, p.email, treated ? 'treatment' : 'holdout', new Date(entered)]);
    let extraRevenue = 0;
    if (treated) {
      this.truth.treated++;
      if (this.chance(c.extraOrder)) {
        const category = this.faker.helpers.arrayElement(CATEGORIES);
        extraRevenue = round2(category.price * p.spend * lognormal(this.faker, 0, 0.35));
        const at = entered + this.int(1, c.windowDays - 2) * DAY + this.int(0, 23) * HOUR;
        this.extraOrders.push({ accountId: account.id, at, amount: extraRevenue, category: category.name, cost: category.cost });
      }
      if (this.options.campaignWeeks > 0) await this.campaignEmail(p.email, entered);
    } else {
      this.truth.holdout++;
    }
    this.open = { email: p.email, treated, entered, extraRevenue, naturalConversion: this.convertedNaturally(entered) };
  }

  /** The campaign's e-mail, to the treated only: the holdout receives nothing. */
  private async campaignEmail(email: string, at: number): Promise<void> {
    const message = this.next('XD');
    const event = (type: string, machine: boolean, when: number) => this.out.add('email_events', [this.next('XE'), PAST_CAMPAIGN.name, message, email, type, machine, new Date(when)]);
    await event('sent', false, at);
    if (this.chance(0.02)) return event('bounced', false, at + 60_000);
    await event('delivered', false, at + 60_000);
    if (this.chance(0.1)) await event('opened', true, at + 120_000);
    if (this.chance(0.35)) {
      const opened = at + this.int(1, 48) * HOUR;
      await event('opened', false, opened);
      if (this.chance(0.3)) await event('clicked', false, opened + 60_000);
      if (this.chance(0.01)) await event('unsubscribed', false, opened + 120_000);
    }
  }

  /** Monthly SMS campaigns to loyalty members' mobiles, written in E.164 as SMS tools export them. */
  private async sms(p: Person): Promise<void> {
    const phone = `+33${p.mobile.slice(1)}`;
    for (let m = 6; m >= 1; m--) {
      const at = this.anchor - m * 30 * DAY + 11 * HOUR;
      const campaign = `SMS-${isoDay(at)}`;
      const event = (type: string, when: number) => this.out.add('sms_events', [this.next('XS'), campaign, phone, type, new Date(when)]);
      await event('sent', at);
      if (!this.chance(0.96)) continue;
      await event('delivered', at + 5_000);
      if (this.chance(0.07)) await event('clicked', at + this.int(1, 180) * 60_000);
      if (this.chance(0.008)) await event('stop', at + this.int(1, 60) * 60_000);
    }
  }

  /** Fortnightly push notifications to app users (by e-shop account). */
  private async push(accountId: string): Promise<void> {
    for (let w = 16; w >= 2; w -= 2) {
      const at = this.anchor - w * 7 * DAY + 18 * HOUR;
      const campaign = `PUSH-${isoDay(at)}`;
      const event = (type: string, when: number) => this.out.add('push_events', [this.next('XP'), campaign, accountId, type, new Date(when)]);
      await event('sent', at);
      if (!this.chance(0.8)) continue;
      await event('displayed', at + 2_000);
      if (this.chance(0.1)) await event('opened', at + this.int(1, 240) * 60_000);
    }
  }

  /** Two printed catalogues to loyalty members; some come back undeliverable (NPAI). */
  private async mail(cardNumber: string): Promise<void> {
    for (const days of [150, 40]) {
      const at = this.anchor - days * DAY + 8 * HOUR;
      const campaign = `CAT-${isoDay(at)}`;
      await this.out.add('mail_events', [this.next('XM'), campaign, cardNumber, 'sent', new Date(at)]);
      if (this.chance(0.05)) await this.out.add('mail_events', [this.next('XM'), campaign, cardNumber, 'returned', new Date(at + this.int(7, 20) * DAY)]);
    }
  }

  /** Win-back calls from the customer service. */
  private async calls(p: Person): Promise<void> {
    for (let i = this.int(1, 2); i > 0; i--) {
      const at = this.anchor - this.int(1, 120) * DAY + this.int(9, 18) * HOUR;
      const r = this.faker.number.float({ min: 0, max: 1 });
      const [outcome, seconds] = r < 0.45 ? ['answered', this.int(30, 600)] : r < 0.65 ? ['voicemail', this.int(20, 45)] : ['no_answer', 0];
      await this.out.add('phone_calls', [this.next('XC'), 'winback_calls', `+33${p.mobile.slice(1)}`, new Date(at), outcome, seconds]);
    }
  }

}

// ---------------------------------------------------------------------------------------------------------------
// For the seed use cases (examples/shop/README.md): consent to calls and SMS given on its own, not copied from e-mail
// consent, some of it withdrawn later; and customer-service tickets after some orders, complaints among them. Drawn
// from a third seeded faker, with id prefixes Y…, so every row above is the same with or without them.

/** Kinds of ticket, with their share: a complaint is what the "just complained" suppression looks for. */
const TICKET_TYPES = [
  { type: 'complaint', share: 0.35 },
  { type: 'delivery', share: 0.25 },
  { type: 'return', share: 0.2 },
  { type: 'question', share: 0.2 },
] as const;

class UseCaseExtras extends SeededExtras {
  constructor(
    options: ShopOptions,
    private readonly out: TableWriter,
    private readonly anchor: number,
  ) {
    super(options.seed + 15_485_863);
  }

  async endPerson(p: Person, account: { since: number } | undefined, card: { since: number } | undefined, orders: readonly number[]): Promise<void> {
    // Calls: asked at the till when the card is made, or in the e-shop's preferences; a few later register on the
    // national opt-out list (Bloctel), which withdraws it.
    const phoneSince = card && this.chance(0.35) ? card.since : account && this.chance(0.2) ? account.since : undefined;
    if (phoneSince !== undefined) {
      await this.consent(p.mobile, 'phone', 'opt_in', card?.since === phoneSince ? 'store' : 'eshop', phoneSince);
      if (this.chance(0.06)) await this.consent(p.mobile, 'phone', 'opt_out', 'bloctel', this.between(phoneSince, this.anchor - 1000));
    }
    // SMS: the e-shop's preferences too (the tills' SMS opt-ins are drawn with the cards); some answer STOP later.
    if (account && this.chance(0.25)) {
      await this.consent(p.mobile, 'sms', 'opt_in', 'eshop', account.since);
      if (this.chance(0.05)) await this.consent(p.mobile, 'sms', 'opt_out', 'stop', this.between(account.since, this.anchor - 1000));
    }
    // Tickets follow an order by a few days: a late parcel, a return, a complaint.
    for (const ordered of orders) {
      if (ordered < this.anchor - 400 * DAY || !this.chance(0.3)) continue;
      const at = ordered + this.int(1, 20) * DAY + this.int(0, 8 * 3600) * 1000;
      if (at < this.anchor) await this.ticket(p, at);
    }
  }

  private async ticket(p: Person, at: number): Promise<void> {
    const r = this.faker.number.float({ min: 0, max: 1 });
    let sum = 0;
    const type = TICKET_TYPES.find((t) => (sum += t.share) > r)?.type ?? 'question';
    const channel = this.faker.helpers.weightedArrayElement([
      { value: 'phone', weight: 40 },
      { value: 'email', weight: 35 },
      { value: 'chat', weight: 15 },
      { value: 'store', weight: 10 },
    ]);
    // By phone or in a store the agent types the caller's number; by e-mail or chat the tool keeps the address.
    const byPhone = channel === 'phone' || channel === 'store';
    const email = byPhone ? null : this.chance(0.1) ? p.email.toUpperCase() : p.email;
    const phone = byPhone ? `+33 ${p.mobile.slice(1)}` : null;
    await this.out.add('tickets', [this.next('YT'), email, phone, new Date(at), type, channel]);
  }

  private async consent(mobile: string, channel: string, status: string, source: string, at: number): Promise<void> {
    await this.out.add('consent_events', [this.next('YK'), 'phone', mobile, channel, status, source, new Date(at)]);
  }

  private between(from: number, to: number): number {
    return to <= from ? from : from + Math.floor(this.faker.number.float({ min: 0, max: 1 }) * (to - from));
  }

}
