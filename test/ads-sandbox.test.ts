import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e164, GOOGLE, identifier, META } from '../destinations/ads-identifiers.js';
import type { Emulator } from '../destinations/destination.js';
import { startGoogleAdsEmulator, type GoogleAdsEmulator } from '../destinations/google-ads/emulator.js';
import { startMetaEmulator, type MetaEmulator } from '../destinations/meta/emulator.js';
import { runModels } from '../src/pipeline/runner.js';
import { createLogger } from '../src/log/logger.js';
import { analyseProject } from '../src/project/analyse.js';
import { loadProject } from '../src/project/loader.js';
import { openTarget } from '../src/warehouses/registry.js';
import { SANDBOX_FILE, type SandboxFile } from '../src/sync/sandbox.js';
import { runCli, tempProject } from './support/cli.js';

/**
 * End to end: a project on DuckDB whose audiences model computes the seeds' three ads audiences — a lookalike seed
 * (best customers, to Meta), e-mail non-openers (to Google Customer Match) and current customers as an exclusion list
 * (to Google) — synced by the real `tideline sync --sandbox` to the Google Ads and Meta emulators. The emulators run
 * in this process, registered in target/sandbox.json as `tideline sandbox` does, so their state survives the runs.
 */
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

// Raw PII with the ugliness of real CRMs: capitals, spaces, national and 00-prefixed phone numbers, accents.
const CUSTOMERS = `customer_id,email,phone,first_name,last_name,country,zip,predicted_clv,rfm_segment,consent_ads
c01,Alice.Martin@Example.COM,+33 (0)6 12 34 56 78,Alice,Martin,FR,75001,900,Loyal,true
c02,bob@example.org,06 12 34 56 79,Bob,Durand,FR,69002,800,Loyal,false
c03,chloe.dubois@example.net,0044 20 7946 0958,Chloé,Dubois,GB,SW1A 1AA,100,Champions,true
c04,david@example.com,+33 6 11 11 11 14,David,Petit,FR,13001,50,Potential,true
c05,emma@example.com,06 11 11 11 15,Emma,Roux,FR,33000,40,Potential,true
c06,felix@example.com,06 11 11 11 16,Félix,Moreau,FR,31000,30,Potential,true
c07,gaelle@example.com,06 11 11 11 17,Gaëlle,Simon,FR,44000,20,Potential,true
c08,hugo@example.com,06 11 11 11 18,Hugo,Laurent,FR,59000,10,Hibernating,true
c09,ines@example.com,06 11 11 11 19,Inès,Michel,FR,67000,5,Lost,true
c10,jules@example.com,06 11 11 11 20,Jules,Garcia,FR,06000,1,Lost,true
`;
const delivered = (c: string, days: number[]) => days.map((d) => `${c},delivered,2026-06-${String(d).padStart(2, '0')} 09:00:00,false`).join('\n');
const EMAILS = `customer_id,event_type,occurred_at,machine_open
${delivered('c04', [5, 12, 19])}
${delivered('c05', [5, 12, 19])}
c05,opened,2026-06-12 10:00:00,true
${delivered('c06', [5, 12, 19])}
c06,opened,2026-06-20 10:00:00,false
${delivered('c07', [12, 19])}
`;
const ORDERS = (c08Date: string) => `customer_id,ordered_at,amount
c01,2026-03-01 10:00:00,120
c02,2026-01-15 10:00:00,80
c08,${c08Date},40
c09,2024-01-10 10:00:00,20
`;

const MODELS = `sources:
  - { name: raw_customers, file: data/customers.csv }
  - { name: raw_emails, file: data/emails.csv }
  - { name: raw_orders, file: data/orders.csv }
models:
  - name: audiences
    kind: audiences
    customers: raw_customers
    as_of: '2026-06-30'
    events:
      orders: { from: raw_orders, customer: customer_id, time: ordered_at }
      emails: { from: raw_emails, customer: customer_id, time: occurred_at }
    audiences:
      - name: lookalike_seed
        channel: ads
        where:
          any:
            - { top: 20%, by: predicted_clv }
            - { field: rfm_segment, equals: Champions }
      - name: email_non_openers
        channel: ads
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
        channel: ads
        require_consent: false
        where:
          event: orders
          within: 12 months
${['lookalike_seed', 'email_non_openers', 'current_customers']
  .map((a) => `  - name: ${a}_members\n    kind: staging\n    from: audiences\n    where: [{ column: audience, equals: ${a} }, { column: audience_status, equals: member }]\n`)
  .join('')}`;

const IDENTIFIERS = `      email: email
      phone: phone
      first_name: first_name
      last_name: last_name
      country_code: country
      postal_code: zip
`;
const SYNCS = `destinations:
  - name: google
    type: google_ads
    customer_id: \${env:GOOGLE_ADS_CUSTOMER_ID}
    credentials:
      refresh_token: \${env:GOOGLE_ADS_REFRESH_TOKEN}
      client_id: \${env:GOOGLE_OAUTH_CLIENT_ID}
      client_secret: \${env:GOOGLE_OAUTH_CLIENT_SECRET}
    customer_match_terms: accepted
    default_phone_country: FR
    consent: { ad_user_data: GRANTED, ad_personalization: GRANTED }
    status_wait_seconds: 30
  - name: facebook
    type: meta
    access_token: \${env:META_ACCESS_TOKEN}
    ad_account_id: act_1000000000
    default_phone_country: FR
syncs:
  - name: meta_lookalike_seed
    model: lookalike_seed_members
    destination: facebook
    object: '23850000000000001'
    mode: audience
    key: { from: customer_id, field: external_id }
    fields:
${IDENTIFIERS}  - name: google_email_non_openers
    model: email_non_openers_members
    destination: google
    object: user_lists/501
    mode: audience
    key: { from: customer_id, field: customer_id }
    fields:
      email: email
      phone: phone
      ad_user_data: consent_ads
      ad_personalization: consent_ads
  - name: google_exclusion_current_customers
    model: current_customers_members
    destination: google
    object: user_lists/502
    mode: audience
    key: { from: customer_id, field: customer_id }
    fields:
${IDENTIFIERS}`;

const ENV = { GOOGLE_ADS_CUSTOMER_ID: '123-456-7890', GOOGLE_ADS_REFRESH_TOKEN: '1//real-refresh', GOOGLE_OAUTH_CLIENT_ID: 'real.apps.googleusercontent.com', GOOGLE_OAUTH_CLIENT_SECRET: 'GOCSPX-real', META_ACCESS_TOKEN: 'EAAB-real' };

interface Customer {
  id: string;
  email: string;
  phone: string;
  first: string;
  last: string;
  country: string;
  zip: string;
}
const customers: Customer[] = CUSTOMERS.trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [id, email, phone, first, last, country, zip] = line.split(',') as [string, string, string, string, string, string, string];
    return { id, email, phone, first, last, country, zip };
  });
const byId = (ids: string[]) => customers.filter((c) => ids.includes(c.id));
const fr = { defaultCountry: 'FR' as const };

/** Google members: by hashed e-mail (the emulator's member key), with the hashed phone (Data Manager field names). */
function googleMembers(ids: string[], address: boolean) {
  return Object.fromEntries(
    byId(ids).map((c) => {
      const email = identifier(GOOGLE.email!, c.email)!;
      const member: Record<string, unknown> = { emailAddress: [email], phoneNumber: [identifier(GOOGLE.phone!, c.phone, fr)] };
      if (address) member['address'] = [`${identifier(GOOGLE.first_name!, c.first)}|${identifier(GOOGLE.last_name!, c.last)}|${c.country}|${c.zip}`];
      return [email, member];
    }),
  );
}

describe('tideline sync --sandbox: three ads audiences to Google Ads and Meta', () => {
  let root: string;
  let google: GoogleAdsEmulator;
  let meta: MetaEmulator;
  const env = { ...ENV, TIDELINE_NO_PROGRESS: '1' };
  const sync = () => runCli(['sync', '--sandbox', '--log-format', 'json', '--log-level', 'debug'], { cwd: root, env });
  const results = () => (JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as { syncs?: unknown[] } | unknown[]);
  const logs: string[] = [];

  /** Builds the models in this process (as `tideline run` does), closing the warehouse for the CLI after. */
  async function build(): Promise<void> {
    const project = await loadProject({ projectDir: root, env });
    const connection = await openTarget(project.target.config, { root });
    try {
      const built = await runModels(project, connection, await analyseProject(project, connection), project.order, { logger: createLogger({ level: 'silent' }) });
      expect(built.filter((r) => r.status !== 'success').map((r) => r.error)).toEqual([]);
    } finally {
      await connection.close();
    }
  }

  beforeAll(async () => {
    root = tempProject({
      'tideline.yml': 'name: ads\n',
      'data/customers.csv': CUSTOMERS,
      'data/emails.csv': EMAILS,
      'data/orders.csv': ORDERS('2025-09-01 10:00:00'),
      'models/audiences.yml': MODELS,
      'syncs/ads.yml': SYNCS,
    });
    google = await startGoogleAdsEmulator({ recordBodies: true });
    meta = await startMetaEmulator({ recordBodies: true });
    const project = await loadProject({ projectDir: root, env });
    const emulators: Record<string, Emulator> = { google, facebook: meta };
    const file: SandboxFile = {
      pid: process.pid,
      session: 'ads-e2e',
      started_at: new Date().toISOString(),
      destinations: Object.fromEntries(
        Object.entries(emulators).map(([name, emulator]) => {
          const destination = [...project.syncs.values()].find((s) => s.destination.name === name)!.destination;
          return [name, { type: destination.type.type, endpoint: emulator.endpoint, config: destination.type.emulator.sandboxConfig(destination.config, emulator) }];
        }),
      ),
    };
    mkdirSync(join(root, 'target'), { recursive: true });
    writeFileSync(join(root, SANDBOX_FILE), JSON.stringify(file));
    await build();
  }, 60_000);

  afterAll(async () => {
    await google?.close();
    await meta?.close();
  });

  it('first run: each emulator holds exactly its audience, hashed', async () => {
    const run = await sync();
    logs.push(run.stderr);
    expect(run.code, run.stderr).toBe(0);
    // Lookalike seed: top 20 % by predicted CLV (c01, c02) or Champions (c03), with ads consent (not c02).
    expect(Object.fromEntries(meta.records('23850000000000001'))).toEqual(
      Object.fromEntries(
        byId(['c01', 'c03']).map((c) => [
          c.id,
          {
            EXTERN_ID: c.id,
            EMAIL: identifier(META.email, c.email),
            PHONE: identifier(META.phone, c.phone, fr),
            FN: identifier(META.first_name, c.first),
            LN: identifier(META.last_name, c.last),
            COUNTRY: identifier(META.country_code, c.country),
            ZIP: identifier(META.postal_code, c.zip),
          },
        ]),
      ),
    );
    // Non-openers: three deliveries in 30 days and no human open (c05's open was a machine's).
    expect(Object.fromEntries(google.records('user_lists/501'))).toEqual(googleMembers(['c04', 'c05'], false));
    // Exclusion list: ordered in the last 12 months, consent not required.
    expect(Object.fromEntries(google.records('user_lists/502'))).toEqual(googleMembers(['c01', 'c02', 'c08'], true));
    // The same phone, hashed per platform: Google E.164 with +, Meta digits only.
    expect(google.records('user_lists/502').get(identifier(GOOGLE.email!, 'Alice.Martin@Example.COM')!)!['phoneNumber']).toEqual([sha('+33612345678')]);
    expect(meta.records('23850000000000001').get('c01')!['PHONE']).toBe(sha('33612345678'));
  }, 60_000);

  it('second run sends nothing', async () => {
    const before = google.server.requests + meta.server.requests;
    const run = await sync();
    logs.push(run.stderr);
    expect(run.code, run.stderr).toBe(0);
    expect(google.server.requests + meta.server.requests).toBe(before);
    expect(JSON.stringify(results())).not.toMatch(/"requests":[1-9]/);
  }, 60_000);

  it('a customer whose last order leaves the 12-month window is removed from the exclusion list', async () => {
    writeFileSync(join(root, 'data/orders.csv'), ORDERS('2025-05-01 10:00:00'));
    await build();
    const run = await sync();
    logs.push(run.stderr);
    expect(run.code, run.stderr).toBe(0);
    expect(Object.fromEntries(google.records('user_lists/502'))).toEqual(googleMembers(['c01', 'c02'], true));
    expect(Object.keys(Object.fromEntries(google.records('user_lists/501'))).length).toBe(2);
    // One removal upload for the exclusion list; nothing for the unchanged list.
    const lines = (results() as { results: { sync: string; requests: number; counts: { removed: number } }[] }).results;
    expect(lines.filter((r) => r.sync.startsWith('google_')).map((r) => [r.sync, r.requests, r.counts.removed])).toEqual([
      ['google_email_non_openers', 0, 0],
      ['google_exclusion_current_customers', 1, 1],
    ]);
    expect(google.schemaErrors).toEqual([]);
  }, 60_000);

  it('no raw e-mail or phone left the process or reached a log line; the sandbox state keeps only hashes', () => {
    const sent = [...google.bodies, ...meta.bodies].join('\n');
    const logged = logs.join('\n');
    // Two ingestions on the first run, one removal on the third: every body Google received.
    expect(google.bodies.length).toBe(3);
    expect(logged).toContain('"level":"debug"');
    for (const c of customers) {
      for (const raw of [c.email, c.email.toLowerCase(), c.phone, e164(c.phone, 'FR')!, e164(c.phone, 'FR')!.slice(1)]) {
        expect(sent, raw).not.toContain(raw);
        expect(logged, raw).not.toContain(raw);
      }
    }
    expect(google.stats.tooLarge + meta.stats.unhashedValues + meta.stats.invalidEntries).toBe(0);
  });
});
