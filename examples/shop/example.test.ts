import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { GOOGLE, identifier, META } from '../../destinations/ads-identifiers.js';
import type { EmulatorState } from '../../destinations/destination.js';
import { FileEmulator } from '../../destinations/file/emulator.js';
import { Sql, sql } from '../../src/dialects/sql.js';
import { loadProject } from '../../src/project/loader.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { openTarget } from '../../src/warehouses/registry.js';
import { runCli } from '../../test/support/cli.js';
import { DEFAULT_SHOP, generateShop } from './generate.js';

/**
 * The example project end to end, as `npm run example` drives it, on a small shop: every model builds, every sync
 * reaches its destination's emulator (`tideline sync --sandbox`) and each emulator's saved state equals the model
 * mapped by the sync, record by record and field by field; a second sync sends nothing; one customer's city changed
 * at the source sends one record to exactly the syncs that map the city, and their emulators hold the new value.
 */
// The data ends today: event syncs read the events of the last days before now (backfill), and the destinations
// refuse events older than their limits (Meta: 62 days in store; Google: 90 days), by the real clock.
const ANCHOR = new Date().toISOString().slice(0, 10);
const DAY = 86_400_000;
/** Customers who complained in the 14 days up to the as-of date (or after it): suppressed on every marketing channel. */
const RECENT_COMPLAINERS = `SELECT customer_id FROM analytics.ticket_facts WHERE type = 'complaint' AND CAST(created_at AS DATE) > DATE '${ANCHOR}' - INTERVAL 14 DAY`;

type Records = Map<string, Record<string, unknown>>;
type Row = Record<string, unknown>;
type Objects = EmulatorState['objects'];

/** A mapped row as a destination holds it under `null_policy: skip`: null fields are not sent. */
function present(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined));
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const fr = { defaultCountry: 'FR' as const };

/**
 * Per sync of examples/shop/syncs/*.yml: its rows (the model, or the sendable members of its audience), the mapping
 * of a row to what the destination should hold (written here from the YAML; the test checks that `key` and `fields`
 * are the sync's, so that a change of either is seen), and what the destination holds, read from its emulator's state.
 */
interface SyncView {
  readonly destination: string;
  /** The key's model column and destination field. */
  readonly key: readonly [string, string];
  /** Destination field → model column, as the sync maps them (undefined: a constant). */
  readonly fields: Readonly<Record<string, string | undefined>>;
  readonly rows: string;
  expected(rows: readonly Row[]): Records;
  held(objects: Objects): Records;
}

const members = (audience: string) => `audience = '${audience}' AND audience_status = 'member' AND audience_group <> 'holdout'`;
const lower = (v: unknown) => (v === null ? null : String(v).trim().toLowerCase());
/** The records a list holds (the list object is keyed by record id), by their `key` field, with their other fields. */
function listMembers(objects: Objects, list: string, records: string, key: string): Map<string, Record<string, unknown>> {
  const byId = objects[records] ?? {};
  return new Map(Object.keys(objects[list] ?? {}).map((id) => {
    const { [key]: value, ...fields } = byId[id]!;
    return [String(value), fields];
  }));
}

/** Syncs of audiences so small (a few members per 10,000 customers) that the test's shop may leave them empty. */
const SMALL = new Set(['brevo_cross_sell_shoes', 'klaviyo_second_purchase']);

const VIEWS: Record<string, SyncView> = {
  hubspot_contacts: {
    destination: 'hubspot',
    key: ['email', 'email'],
    fields: { firstname: 'first_name', lastname: 'last_name', phone: 'phone', city: 'city', country: 'country', zip: 'postcode' },
    rows: 'SELECT * FROM analytics.customer_profile WHERE email IS NOT NULL',
    expected: (rows) =>
      new Map(rows.map((r) => [lower(r['email'])!, present({ firstname: r['first_name'], lastname: r['last_name'], phone: r['phone'], city: r['city'], country: r['country'], zip: r['postcode'] })])),
    // Contacts by HubSpot id; the key is their e-mail property; HubSpot's own properties are left out.
    held: (objects) =>
      new Map(Object.values(objects['contacts'] ?? {}).map(({ email, hs_object_id: _id, createdate: _c, lastmodifieddate: _m, ...properties }) => [String(email), properties])),
  },
  brevo_newsletter: brevoView('list:2', 'newsletter', { FIRSTNAME: 'first_name' }),
  brevo_cross_sell_shoes: brevoView('list:3', 'cross_sell_shoes', { FIRSTNAME: 'first_name' }),
  brevo_inactive_3_months: brevoView('list:4', 'inactive_3_months', { FIRSTNAME: 'first_name' }),
  brevo_inactive_6_months: brevoView('list:5', 'inactive_6_months', { FIRSTNAME: 'first_name' }),
  brevo_inactive_6_months_sms: brevoView('list:6', 'inactive_6_months_sms', { sms: 'phone' }),
  klaviyo_winback: klaviyoView('WinBack1', 'winback_email', { email: 'email', first_name: 'first_name', segment: 'rfm_segment' }),
  klaviyo_abandoned_cart: klaviyoView('AbandonedCart', 'abandoned_cart', { email: 'email', first_name: 'first_name' }),
  klaviyo_second_purchase: klaviyoView('SecondPurchase', 'second_purchase', { email: 'email', first_name: 'first_name', variant: 'audience_group' }),
  meta_lookalike_seed: metaView('23850000000000001', 'lookalike_seed', {
    email: 'email', phone: 'phone', first_name: 'first_name', last_name: 'last_name', country_code: 'country', postal_code: 'postcode', city: 'city',
  }),
  meta_margin_seed: metaView('23850000000000002', 'margin_seed', { email: 'email', phone: 'phone', first_name: 'first_name', last_name: 'last_name', country_code: 'country' }),
  meta_inactive_12_months: metaView('23850000000000003', 'inactive_12_months', { email: 'email', phone: 'phone' }),
  meta_exclude_shoe_buyers: metaView('23850000000000004', 'shoe_buyers', { email: 'email', phone: 'phone' }),
  google_non_openers: googleView('user_lists/501', 'email_non_openers'),
  google_exclude_customers: googleView('user_lists/502', 'current_customers'),
  google_predicted_value: {
    destination: 'google_ads',
    key: ['customer_id', 'transaction_id'],
    fields: { email: 'email', phone: 'phone', conversion_date_time: 'last_order_date', conversion_value: 'predicted_clv', currency_code: undefined, ad_user_data: 'consent_ads', ad_personalization: 'consent_ads' },
    // Complainers of the last 14 days are suppressed on ads too (tideline.yml `suppressions:`), written out here.
    // Google drops a conversion older than 90 days when it receives it: of a day's midnight, one of the last 89 days
    // (the data ends today, the day the test syncs).
    rows: `SELECT *, strftime(last_order_date, '%Y-%m-%d') AS last_order_text FROM analytics.customer_profile
           WHERE consent_ads AND predicted_clv IS NOT NULL AND last_order_date IS NOT NULL AND email IS NOT NULL
             AND customer_id NOT IN (${RECENT_COMPLAINERS}) AND last_order_date >= DATE '${ANCHOR}' - INTERVAL 89 DAY`,
    // A Data Manager offline conversion per customer: the predicted value (to the cent) in euros, on the day of the
    // last order, matched by the hashed e-mail and phone, with the customer's ads consent.
    expected: (rows) =>
      new Map(rows.map((r) => {
        const phone = identifier(GOOGLE.phone!, r['phone'] as string | null, fr);
        const ids = [{ emailAddress: identifier(GOOGLE.email!, r['email'] as string)! }, ...(phone ? [{ phoneNumber: phone }] : [])];
        return [String(r['customer_id']), {
          transactionId: String(r['customer_id']),
          eventTimestamp: `${String(r['last_order_text'])}T00:00:00Z`,
          userData: { userIdentifiers: ids },
          consent: { adUserData: 'CONSENT_GRANTED', adPersonalization: 'CONSENT_GRANTED' },
          currency: 'EUR',
          conversionValue: Math.round(Number(r['predicted_clv']) * 100) / 100,
          // The sync maps no event source: Google requires one for offline conversions, the adapter sends OTHER.
          eventSource: 'OTHER',
        }];
      })),
    held: (objects) => new Map(Object.entries(objects['conversion_actions/601'] ?? {}).map(([key, event]) => [key, { ...event }])),
  },
  winback_calls: callListView('winback_calls', 'winback', { phone: 'phone', first_name: 'first_name', last_name: 'last_name', segment: 'rfm_segment', predicted_clv: 'predicted_clv', last_order: 'last_order_date' }),
  reactivation_calls: callListView('reactivation_calls', 'phone_reactivation', { phone: 'phone', first_name: 'first_name', last_name: 'last_name', predicted_clv: 'predicted_clv', last_order: 'last_order_date' }),
  customer_profiles: {
    destination: 'order_service',
    key: ['customer_id', 'customer_id'],
    fields: { email: 'email', lifecycle: 'lifecycle_stage', segment: 'rfm_segment', predicted_clv: 'predicted_clv', orders: 'order_count' },
    rows: 'SELECT * FROM analytics.customer_profile',
    expected: (rows) =>
      new Map(rows.map((r) => [String(r['customer_id']), present({ email: lower(r['email']), lifecycle: r['lifecycle_stage'], segment: r['rfm_segment'], predicted_clv: r['predicted_clv'], orders: r['order_count'] === null ? null : Number(r['order_count']) })])),
    held: (objects) => new Map(Object.entries(objects['customer_profiles'] ?? {}).map(([key, fields]) => [key, { ...fields }])),
  },
};

/**
 * A Brevo list: its members are contacts keyed by e-mail; a contact in several lists carries the attributes of every
 * sync that wrote it, so only the attributes this sync maps are compared. A field `sms` is the SMS attribute, in E.164
 * (the warehouse already holds phones so); the others are attributes of their own (upper-case) name.
 */
function brevoView(list: string, audience: string, fields: Record<string, string>): SyncView {
  const attribute = (field: string) => (field === 'sms' ? 'SMS' : field.toUpperCase());
  return {
    destination: 'brevo',
    key: ['email', 'email'],
    fields,
    rows: `SELECT * FROM analytics.audiences WHERE ${members(audience)}`,
    expected: (rows) => new Map(rows.map((r) => [lower(r['email'])!, present(Object.fromEntries(Object.entries(fields).map(([field, column]) => [attribute(field), r[column]])))])),
    held: (objects) =>
      new Map([...listMembers(objects, list, 'contacts', 'email')].map(([email, attributes]) => [email, Object.fromEntries(Object.keys(fields).map(attribute).filter((a) => a in attributes).map((a) => [a, attributes[a]]))])),
  };
}

/**
 * A Klaviyo list: profiles keyed by external_id; `email` and `first_name` are profile attributes, every other field a
 * custom property. A profile in several lists carries every sync's properties: only this sync's are compared.
 */
function klaviyoView(list: string, audience: string, fields: Record<string, string>): SyncView {
  const attributes = new Set(['email', 'first_name']);
  const properties = Object.keys(fields).filter((f) => !attributes.has(f));
  return {
    destination: 'klaviyo',
    key: ['customer_id', 'external_id'],
    fields,
    rows: `SELECT * FROM analytics.audiences WHERE ${members(audience)}`,
    expected: (rows) =>
      new Map(rows.map((r) => {
        const props = present(Object.fromEntries(properties.map((p) => [p, r[fields[p]!]])));
        return [String(r['customer_id']), present({ ...Object.fromEntries([...attributes].filter((a) => a in fields).map((a) => [a, r[fields[a]!]])), properties: Object.keys(props).length ? props : null })];
      })),
    // Profiles in the list, by external_id.
    held: (objects) =>
      new Map([...listMembers(objects, `list:${list}`, 'profiles', 'external_id')].map(([id, profile]) => {
        const held = (profile['properties'] ?? {}) as Record<string, unknown>;
        const props = Object.fromEntries(properties.filter((p) => p in held).map((p) => [p, held[p]]));
        return [id, present({ ...Object.fromEntries([...attributes].filter((a) => a in fields && a in profile).map((a) => [a, profile[a]])), properties: Object.keys(props).length ? props : null })];
      })),
  };
}

/** Meta's schema key of each identifier field the example maps. */
const META_KEYS: Record<string, keyof typeof META> = { email: 'email', phone: 'phone', first_name: 'first_name', last_name: 'last_name', country_code: 'country_code', postal_code: 'postal_code', city: 'city' };
const META_SCHEMA: Record<string, string> = { email: 'EMAIL', phone: 'PHONE', first_name: 'FN', last_name: 'LN', country_code: 'COUNTRY', postal_code: 'ZIP', city: 'CT' };

/** A Meta custom audience: Meta's schema keys, hashed after Meta's normalisation; EXTERN_ID (the key) in clear. */
function metaView(object: string, audience: string, fields: Record<string, string>): SyncView {
  return {
    destination: 'meta_ads',
    key: ['customer_id', 'external_id'],
    fields,
    rows: `SELECT * FROM analytics.audiences WHERE ${members(audience)}`,
    expected: (rows) =>
      new Map(rows.map((r) => {
        const id = String(r['customer_id']);
        const hashed = Object.entries(fields).map(([field, column]) => {
          const value = r[column] as string | null;
          // E-mail and phone written out here rather than through the shared normalisation: lower-cased and trimmed;
          // digits of the E.164 number without its +.
          if (field === 'email') return [META_SCHEMA[field]!, value === null ? null : sha256(lower(value)!)];
          if (field === 'phone') return [META_SCHEMA[field]!, value === null ? null : sha256(value.replace(/^\+/, ''))];
          return [META_SCHEMA[field]!, identifier(META[META_KEYS[field]!], value)];
        });
        return [id, present({ ...Object.fromEntries(hashed), EXTERN_ID: id })];
      })),
    held: (objects) => new Map(Object.entries(objects[object] ?? {}).map(([key, member]) => [key, { ...member }])),
  };
}

/** A call list (the file destination): one CSV row per member, every value text, dates as DD/MM/YYYY. */
function callListView(object: string, audience: string, fields: Record<string, string>): SyncView {
  return {
    destination: 'call_centre',
    key: ['customer_id', 'customer_id'],
    fields,
    rows: `SELECT *, strftime(last_order_date, '%d/%m/%Y') AS last_order_text FROM analytics.audiences WHERE ${members(audience)}`,
    expected: (rows) =>
      new Map(rows.map((r) => [String(r['customer_id']), Object.fromEntries(Object.entries(present(Object.fromEntries(Object.entries(fields).map(([field, column]) => [field, column === 'last_order_date' ? r['last_order_text'] : r[column]])))).map(([k, v]) => [k, String(v)]))])),
    held: (objects) => new Map(Object.entries(objects[object] ?? {}).map(([key, values]) => [key, { ...values }])),
  };
}

/**
 * A Customer Match list: members are known to Google only by their hashed identifiers (e-mail normalised as the Data
 * Manager API documents, phone E.164 with +), keyed by the hashed e-mail, else the phone; a member with neither is
 * refused.
 */
function googleView(list: string, audience: string): SyncView {
  return {
    destination: 'google_ads',
    key: ['customer_id', 'customer_id'],
    fields: { email: 'email', phone: 'phone' },
    rows: `SELECT * FROM analytics.audiences WHERE ${members(audience)}`,
    expected: (rows) =>
      new Map(rows.flatMap((r) => {
        const email = identifier(GOOGLE.email!, r['email'] as string | null);
        const phone = identifier(GOOGLE.phone!, r['phone'] as string | null, fr);
        // The warehouse already holds phones in E.164: Google's normalisation leaves them as they are.
        if (phone !== null) expect(phone).toBe(sha256(String(r['phone'])));
        const key = email ?? phone;
        return key === null ? [] : [[key, present({ emailAddress: email && [email], phoneNumber: phone && [phone] })] as const];
      })),
    held: (objects) => new Map(Object.entries(objects[list] ?? {}).map(([key, member]) => [key, { ...member }])),
  };
}

/**
 * Per event sync of syncs/events.yml: its model rows (those meeting the sync's `where`; the complainers' are
 * suppressed, on ads and e-mail), the event's time column and the first run's window, the oldest event its
 * destination takes, what the destination should hold for an event, and every event it holds — one entry per copy
 * it kept, so that an event sent twice to Meta (which keeps both) shows.
 */
interface EventView {
  readonly destination: string;
  readonly key: readonly [string, string];
  readonly fields: Readonly<Record<string, string | undefined>>;
  readonly event: { readonly time: string; readonly name: string; readonly backfillDays: number | 'all' };
  readonly maxAgeDays: number;
  readonly rows: string;
  expected(row: Row): Record<string, unknown>;
  held(objects: Objects): (readonly [string, Record<string, unknown>])[];
}

/** The rows of an event sync's model meeting its `where`, each saying whether its customer is a recent complainer. */
const eventRows = (model: string, where: string) => `SELECT *, customer_id IN (${RECENT_COMPLAINERS}) AS complainer FROM analytics.${model} WHERE ${where}`;
const ms = (v: unknown) => (v instanceof Date ? v.getTime() : Date.parse(`${String(v).replace(' ', 'T')}Z`));
const cents = (v: unknown) => Math.round(Number(v) * 100) / 100;

/** A Google Ads conversion of an event: its time, value and source; who it was (the hashed e-mail and phone). */
function googleEventView(object: string, model: string, time: string, name: string, backfillDays: number | 'all', value: string, eventSource: string | undefined): EventView {
  return {
    destination: 'google_ads',
    key: ['order_id', 'transaction_id'],
    fields: { ...(eventSource ? { event_source: undefined } : {}), conversion_value: value, currency_code: 'currency', email: 'email', phone: 'phone', ad_user_data: 'consent_ads', ad_personalization: 'consent_ads' },
    event: { time, name, backfillDays },
    maxAgeDays: 90,
    rows: eventRows(model, 'consent_ads'),
    expected: (r) => {
      const email = identifier(GOOGLE.email!, r['email'] as string | null);
      const phone = identifier(GOOGLE.phone!, r['phone'] as string | null, fr);
      return { at: ms(r[time]), value: cents(r[value]), currency: 'EUR', source: eventSource ?? 'OTHER', ids: [...(email ? [{ emailAddress: email }] : []), ...(phone ? [{ phoneNumber: phone }] : [])] };
    },
    held: (objects) =>
      Object.entries(objects[object] ?? {}).map(([key, c]) => [key, { at: Date.parse(String(c['eventTimestamp'])), value: c['conversionValue'], currency: c['currency'], source: c['eventSource'], ids: (c['userData'] as { userIdentifiers: unknown[] }).userIdentifiers }] as const),
  };
}

const EVENT_VIEWS: Record<string, EventView> = {
  meta_store_purchases: {
    destination: 'meta_ads',
    key: ['order_id', 'event_id'],
    fields: {
      action_source: undefined, value: 'amount', currency: 'currency', order_id: 'order_id', email: 'email', phone: 'phone', first_name: 'first_name', last_name: 'last_name',
      postal_code: 'postcode', city: 'city', country_code: 'country', external_id: 'customer_id',
    },
    event: { time: 'ordered_at', name: 'Purchase', backfillDays: 60 },
    maxAgeDays: 62,
    rows: eventRows('store_purchases', 'consent_ads'),
    // A Conversions API server event: in seconds, in store, with its value; the e-mail hashed after Meta's
    // normalisation (trimmed, lower-cased), the customer id in clear.
    expected: (r) => ({
      name: 'Purchase',
      at: Math.floor(ms(r['ordered_at']) / 1000),
      source: 'physical_store',
      custom: { value: cents(r['amount']), currency: 'EUR', order_id: r['order_id'] },
      em: r['email'] === null ? undefined : [sha256(lower(r['email'])!)],
      external_id: [r['customer_id']],
    }),
    held: (objects) =>
      Object.values(objects['dataset:1234567890123456'] ?? {}).map((e) => {
        const user = e['user_data'] as Record<string, unknown>;
        return [String(e['event_id']), { name: e['event_name'], at: e['event_time'], source: e['action_source'], custom: e['custom_data'], em: user['em'], external_id: user['external_id'] }] as const;
      }),
  },
  google_store_purchases: googleEventView('conversion_actions/603', 'store_purchases', 'ordered_at', 'store_purchase', 60, 'amount', 'IN_STORE'),
  google_first_purchase_value: googleEventView('conversion_actions/602', 'first_purchases', 'ordered_at', 'first_purchase_predicted_value', 'all', 'predicted_value', undefined),
  klaviyo_cart_abandoned: {
    destination: 'klaviyo',
    key: ['cart_id', 'unique_id'],
    fields: { email: 'email', external_id: 'customer_id', 'profile.first_name': 'first_name', value: 'cart_value', value_currency: 'currency', cart_id: 'cart_id' },
    event: { time: 'abandoned_at', name: 'Cart abandoned', backfillDays: 7 },
    maxAgeDays: Number.POSITIVE_INFINITY,
    rows: eventRows('abandoned_carts', 'consent_email AND email IS NOT NULL'),
    // A "Cart abandoned" event of the customer's profile (by external id), at the end of the cart's 24 hours.
    expected: (r) => ({ metric: 'Cart abandoned', at: ms(r['abandoned_at']), value: cents(r['cart_value']), currency: 'EUR', customer: r['customer_id'], properties: { cart_id: r['cart_id'] } }),
    held: (objects) =>
      Object.values(objects['events'] ?? {}).map((e) => [
        String(e['unique_id']),
        { metric: e['metric'], at: Date.parse(String(e['time'])), value: e['value'], currency: e['value_currency'], customer: objects['profiles']?.[String(e['profile'])]?.['external_id'], properties: e['properties'] },
      ] as const),
  },
};

interface SyncLine {
  readonly sync: string;
  readonly status: string;
  readonly sent: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly requests: number;
  readonly counts: Readonly<Record<string, number>>;
}

describe('the example shop, end to end on a small generated shop', () => {
  let root: string;
  const env = { SHOP_AS_OF: ANCHOR };

  async function withWarehouse<T>(body: (connection: Connection) => Promise<T>): Promise<T> {
    const project = await loadProject({ projectDir: root, env });
    const connection = await openTarget(project.target.config, { root });
    try {
      return await body(connection);
    } finally {
      await connection.close();
    }
  }
  const results = () => (JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { results: SyncLine[] }).results;
  const byName = () => new Map(results().map((r) => [r.sync, r]));

  /** What each destination's emulator saved at the end of the last `sync --sandbox` (the file destination: its files). */
  async function savedObjects(destination: string): Promise<Objects> {
    const dir = join(root, 'target', 'sandbox', destination);
    const saved = JSON.parse(readFileSync(join(dir, 'emulator-state.json'), 'utf8')) as { type: string; state: { objects?: Objects } };
    if (saved.type === 'file') return (await new FileEmulator(join(dir, 'files')).state()).objects;
    return saved.state.objects ?? {};
  }

  /** Per sync: what its destination holds, and what the model mapped by the sync says it should hold. */
  async function heldAndExpected(): Promise<Map<string, { held: Records; expected: Records }>> {
    const rows = await withWarehouse(async (connection) => {
      const out = new Map<string, Row[]>();
      for (const [name, view] of Object.entries(VIEWS)) out.set(name, await connection.query(Sql.trusted(view.rows)));
      return out;
    });
    const out = new Map<string, { held: Records; expected: Records }>();
    for (const [name, view] of Object.entries(VIEWS)) out.set(name, { held: view.held(await savedObjects(view.destination)), expected: view.expected(rows.get(name)!) });
    return out;
  }

  /**
   * The call centre's whole list of the day (`full_list: true`): one `<run>.full.csv` per call list, read as the call
   * centre would (csv-parse), holding exactly the audience's members with the sync's fields — the same as the change
   * files replayed, which the views above check.
   */
  async function expectFullCallLists(): Promise<void> {
    const all = await heldAndExpected();
    for (const list of ['winback_calls', 'reactivation_calls']) {
      const folder = join(root, 'target', 'sandbox', 'call_centre', 'files', list);
      const files = readdirSync(folder).filter((name) => name.endsWith('.full.csv'));
      expect(files, list).toHaveLength(1);
      const rows = parse(readFileSync(join(folder, files[0]!), 'utf8'), { columns: true }) as Record<string, string>[];
      const listed = new Map(
        rows.map(({ _op, customer_id, ...fields }) => {
          expect(_op).toBe('add');
          return [customer_id!, Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== ''))];
        }),
      );
      expect(listed, list).toEqual(all.get(list)!.expected);
    }
  }

  /** When the first sync started and ended: each event sync planned its window at some moment between them. */
  let firstSync = { before: 0, after: 0 };
  let first: Map<string, SyncLine>;

  /**
   * Each event sync's destination holds, once each, the events of its first run's window as the model says them, and
   * nothing else: the window is the `backfill` before the run (every event for `all`) less the events older than the
   * destination takes, which the run counted `too_old` instead. The run planned at a moment between `before` and
   * `after`: the rare events whose time falls within that gap of either limit are left out of the comparison.
   */
  async function expectEventsOnce(results: Map<string, SyncLine>): Promise<void> {
    const { before, after } = firstSync;
    const rows = await withWarehouse(async (connection) => {
      const out = new Map<string, Row[]>();
      for (const [name, view] of Object.entries(EVENT_VIEWS)) out.set(name, await connection.query(Sql.trusted(view.rows)));
      return out;
    });
    for (const [name, view] of Object.entries(EVENT_VIEWS)) {
      const spans = [view.event.backfillDays, view.maxAgeDays].filter((days): days is number => typeof days === 'number' && Number.isFinite(days)).map((days) => days * DAY);
      const sure = (t: number) => spans.every((span) => t <= before - span || t > after - span);
      const inWindow = (t: number) => view.event.backfillDays === 'all' || t > before - view.event.backfillDays * DAY;
      const fresh = (t: number) => t > before - view.maxAgeDays * DAY;
      const all = rows.get(name)!.map((r) => ({ id: String(r[view.key[0]]), t: ms(r[view.event.time]), complainer: r['complainer'] === true, row: r }));
      const unsure = new Set(all.filter((e) => !sure(e.t)).map((e) => e.id));
      const window = all.filter((e) => sure(e.t) && inWindow(e.t));
      const events = window.filter((e) => !e.complainer);
      const expected = new Map(events.filter((e) => fresh(e.t)).map((e) => [e.id, view.expected(e.row)]));
      const held = view.held(await savedObjects(view.destination)).filter(([id]) => !unsure.has(id));
      expect(expected.size, name).toBeGreaterThan(0);
      // Once each: no event held twice (Meta keeps every copy it receives), each as the model says it.
      expect(held.length, name).toBe(new Set(held.map(([id]) => id)).size);
      expect(new Map(held), name).toEqual(new Map(held.map(([id]) => [id, expected.get(id)])));
      // Every event of the window is accounted for: held, counted too old, or suppressed — a complainer's, or (the
      // cart reminders, which are messages) one its customer's e-mail cap left no room for this week.
      const r = results.get(name)!;
      const capped = expected.size - held.length;
      expect(capped, name).toBeGreaterThanOrEqual(0);
      if (!name.startsWith('klaviyo_')) expect(capped, name).toBe(0);
      expect(Math.abs((r.counts['suppressed'] ?? 0) - window.filter((e) => e.complainer).length - capped), name).toBeLessThanOrEqual(unsure.size);
      expect(Math.abs(r.accepted - held.length), name).toBeLessThanOrEqual(unsure.size);
      const tooOld = events.filter((e) => !fresh(e.t)).length;
      expect(Math.abs((r.counts['too_old'] ?? 0) - tooOld), name).toBeLessThanOrEqual(unsure.size);
      // Every first purchase is read (`backfill: all`): those older than Google's 90 days are counted, not sent.
      if (view.event.backfillDays === 'all') expect(tooOld, name).toBeGreaterThan(0);
    }
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'tideline-example-'));
    for (const part of ['tideline.yml', 'models', 'syncs']) cpSync(join(import.meta.dirname, part), join(root, part), { recursive: true });
    await withWarehouse((connection) => generateShop(connection, { ...DEFAULT_SHOP, customers: 600, campaignWeeks: 8, anchor: ANCHOR }));
  });

  it('tideline validate --remote --sandbox passes: every mapped field of every sync is one its destination takes', async () => {
    const validate = await runCli(['validate', '--remote', '--sandbox', '--log-format', 'pretty'], { cwd: root, env });
    expect(validate.code, validate.stderr.slice(-3000)).toBe(0);
    expect(validate.stderr).not.toMatch(/^error: /m);
    expect(validate.stderr).toMatch(/\d+ syncs? checked against sandbox emulators/);
  });

  it('builds every model, and each emulator holds exactly the model mapped by its sync, field by field', async () => {
    const run = await runCli(['run', '--log-format', 'json'], { cwd: root, env });
    expect(run.code, run.stderr.slice(-3000)).toBe(0);

    const before = Date.now();
    const sync = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    firstSync = { before, after: Date.now() };
    expect(sync.code, sync.stderr.slice(-3000)).toBe(0);
    first = byName();
    const names = [...Object.keys(VIEWS), ...Object.keys(EVENT_VIEWS)].sort();
    expect([...first.keys()].sort()).toEqual(names);
    for (const r of first.values()) {
      expect(r.status, r.sync).not.toBe('failed');
      // The smallest audiences (a few per 10,000 customers) may be empty in this small shop; the others are not.
      if (!SMALL.has(r.sync)) expect(r.accepted, r.sync).toBeGreaterThan(0);
    }

    // What each audience sync settled equals the audience's sendable members (members outside the holdout).
    const members = await withWarehouse(async (connection) => {
      const rows = await connection.query(
        sql`SELECT audience, COUNT(*) AS n FROM analytics.audiences WHERE audience_status = 'member' AND audience_group <> 'holdout' GROUP BY audience`,
      );
      return new Map(rows.map((r) => [String(r['audience']), Number(r['n'])]));
    });
    // Every audience of the audiences model is carried by a sync, and each audience sync is one of them.
    const project = await loadProject({ projectDir: root, env });
    const audienceOf = Object.fromEntries([...project.syncs].filter(([, s]) => s.audience !== undefined).map(([name, s]) => [name, s.audience!.name]));
    const spec = project.models.get('audiences')!.spec as { audiences: { name: string }[] };
    expect(new Set(Object.values(audienceOf))).toEqual(new Set(spec.audiences.map((a) => a.name)));
    for (const [name, audience] of Object.entries(audienceOf)) {
      const r = first.get(name)!;
      expect(r.accepted + r.rejected, name).toBe(members.get(audience) ?? 0);
    }
    // Each call list file holds one row per member of its phone audience.
    for (const list of ['winback_calls', 'reactivation_calls']) expect(sync.stderr).toMatch(new RegExp(`sandbox call_centre now holds .*\\b${list}: ${first.get(list)!.accepted}\\b`));
    await expectFullCallLists();

    // The mappings below are the syncs' own (and, for an event sync, its event's time, name and first window).
    expect([...project.syncs.keys()].sort()).toEqual(names);
    for (const [name, s] of project.syncs) {
      const view = VIEWS[name] ?? EVENT_VIEWS[name]!;
      expect({ destination: s.destination.name, key: [s.key.column, s.key.name], fields: Object.fromEntries(s.fields.map((f) => [f.name, f.column])) }, name).toEqual({ destination: view.destination, key: view.key, fields: view.fields });
      const event = EVENT_VIEWS[name]?.event;
      const eventName = s.event && 'constant' in s.event.name ? s.event.name.constant : undefined;
      expect(s.event && { time: s.event.time, name: eventName, backfill: s.event.backfillMs }, name).toEqual(event && { time: event.time, name: event.name, backfill: event.backfillDays === 'all' ? 'all' : event.backfillDays * DAY });
    }
    // Each destination holds exactly what it accepted: the model mapped by its sync, key by key, field by field.
    for (const [name, { held, expected }] of await heldAndExpected()) {
      // Google accepts every conversion, and drops those older than 90 days later, in processing.
      if (name !== 'google_predicted_value') expect(held.size, name).toBe(first.get(name)!.accepted);
      expect(held, name).toEqual(expected);
    }
    // Each event sync's events, once each: in-store purchases at Meta and Google, first purchases valued at the
    // predicted LTV at Google, abandoned carts at Klaviyo.
    await expectEventsOnce(first);
    // Each abandoned-cart event starts a reminder e-mail: marketing pressure counts it (the sandbox state's
    // sync_messages), by its customer; the ads platforms' conversions message nobody.
    const messages = await withWarehouse((connection) =>
      connection.query(sql`SELECT sync_name, channel, message_type, COUNT(*) AS n, COUNT(DISTINCT record_key) AS events FROM tideline_state_sandbox.sync_messages
        WHERE sync_name IN ('klaviyo_cart_abandoned', 'meta_store_purchases', 'google_store_purchases', 'google_first_purchase_value') GROUP BY 1, 2, 3`),
    );
    const carts = first.get('klaviyo_cart_abandoned')!.accepted;
    expect(messages.map((m) => ({ ...m, n: Number(m['n']), events: Number(m['events']) }))).toEqual([{ sync_name: 'klaviyo_cart_abandoned', channel: 'email', message_type: 'reminder', n: carts, events: carts }]);
    // Complainers are suppressed everywhere but the exclusion lists: no marketing audience counts one as a member (so,
    // by the comparisons above, no destination of an audience holds one), while the exclusion lists keep them.
    const complainers = await withWarehouse((connection) =>
      connection.query(Sql.trusted(`SELECT a.audience, a.audience_status, COUNT(*) AS n FROM analytics.audiences AS a
        WHERE a.customer_id IN (${RECENT_COMPLAINERS}) GROUP BY 1, 2`)),
    );
    const exclusion = new Set(['current_customers', 'shoe_buyers']);
    expect(complainers.filter((r) => !exclusion.has(String(r['audience'])) && r['audience_status'] === 'member')).toEqual([]);
    expect(complainers.some((r) => !exclusion.has(String(r['audience'])) && r['audience_status'] === 'suppressed')).toBe(true);
    expect(complainers.some((r) => exclusion.has(String(r['audience'])) && r['audience_status'] === 'member')).toBe(true);
  });

  it('a second sync sends nothing, to any destination', async () => {
    const again = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    for (const r of results()) expect({ sync: r.sync, sent: r.sent, requests: r.requests }).toEqual({ sync: r.sync, sent: 0, requests: 0 });
    // Nothing changed, yet the call centre gets the day's whole list again, and only that one.
    await expectFullCallLists();
    // The events are still there once each: none was sent again.
    await expectEventsOnce(first);

    // `tideline report --sandbox` counts what each event sync delivered over both runs: the first run's figures.
    const report = await runCli(['report', '--sandbox'], { cwd: root, env });
    expect(report.code, report.stderr.slice(-3000)).toBe(0);
    const lines = report.stdout.slice(report.stdout.indexOf('Deliveries per sync')).split('\n');
    for (const name of Object.keys(EVENT_VIEWS)) {
      const r = first.get(name)!;
      const cells = lines.find((l) => l.trim().startsWith(`${name} `))?.trim().split(/ {2,}/);
      expect(cells?.slice(0, 7), name).toEqual([name, 'events', '2', r.sent.toLocaleString('en'), r.accepted.toLocaleString('en'), '0', (r.counts['too_old'] ?? 0).toLocaleString('en')]);
    }
  });

  it("one customer's city changed at the source: one record to each sync mapping the city, nothing to the others", async () => {
    const city = 'Saint-Malo';
    // A lookalike seed with an e-mail (so also a HubSpot contact) and a single e-shop account, the one source of cities.
    const chosen = await withWarehouse(async (connection) => {
      const [row] = await connection.query(sql`
        SELECT a.customer_id, a.email, e.account_id
        FROM analytics.audiences AS a
        JOIN analytics.people_map AS m ON m.customer_id = a.customer_id AND m.source = 'eshop'
        JOIN raw.eshop_accounts AS e ON e.account_id = m.source_id
        WHERE a.audience = 'lookalike_seed' AND a.audience_status = 'member' AND a.audience_group <> 'holdout'
          AND a.email IS NOT NULL AND e.city IS NOT NULL AND e.city <> 'Saint-Malo'
          AND (SELECT COUNT(*) FROM analytics.people_map AS o WHERE o.customer_id = a.customer_id AND o.source = 'eshop') = 1
        ORDER BY a.customer_id
        LIMIT 1`);
      expect(row, 'a lookalike seed with one e-shop account').toBeDefined();
      const d = connection.dialect;
      await connection.execute(sql`UPDATE raw.eshop_accounts SET city = ${d.string(city)} WHERE account_id = ${d.string(String(row!['account_id']))}`);
      return { customer: String(row!['customer_id']), email: String(row!['email']).trim().toLowerCase() };
    });

    const run = await runCli(['run', '--log-format', 'json'], { cwd: root, env });
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const sync = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(sync.code, sync.stderr.slice(-3000)).toBe(0);
    const mapsCity = new Set(['hubspot_contacts', 'meta_lookalike_seed']);
    for (const r of results()) {
      const one = mapsCity.has(r.sync);
      expect({ sync: r.sync, changed: r.counts['changed'], added: r.counts['added'], removed: r.counts['removed'], sent: r.sent, accepted: r.accepted }).toEqual({ sync: r.sync, changed: one ? 1 : 0, added: 0, removed: 0, sent: one ? 1 : 0, accepted: one ? 1 : 0 });
    }
    const after = await heldAndExpected();
    for (const [name, { held, expected }] of after) expect(held, name).toEqual(expected);
    expect(after.get('hubspot_contacts')!.held.get(chosen.email)).toMatchObject({ city });
    expect(after.get('meta_lookalike_seed')!.held.get(chosen.customer)).toMatchObject({ CT: sha256('saintmalo') });
  });
});
