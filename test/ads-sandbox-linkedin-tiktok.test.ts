import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../destinations/destination.js';
import { startLinkedInEmulator, type LinkedInEmulator } from '../destinations/linkedin/emulator.js';
import { startTikTokEmulator, type TikTokEmulator } from '../destinations/tiktok/emulator.js';
import { runModels } from '../src/pipeline/runner.js';
import { createLogger } from '../src/log/logger.js';
import { analyseProject } from '../src/project/analyse.js';
import { loadProject } from '../src/project/loader.js';
import { SANDBOX_FILE, type SandboxFile } from '../src/sync/sandbox.js';
import { openTarget } from '../src/warehouses/registry.js';
import { runCli, tempProject } from './support/cli.js';

/**
 * End to end: a DuckDB project whose model picks the VIP customers of a CSV, synced by the real `tideline sync
 * --sandbox` to the LinkedIn and TikTok emulators (running in this process, registered in target/sandbox.json as
 * `tideline sandbox` does, so their state survives the runs). The expected hashes are computed here from the raw
 * values, independently of the adapters: SHA-256 of the trimmed, lower-cased e-mail, and of the E.164 phone for TikTok.
 */
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

const CUSTOMERS = (vipC04: boolean) => `customer_id,email,phone,vip
c01, Alice.Martin@Example.COM ,+33 6 12 34 56 78,true
c02,bob@example.org,06 12 34 56 79,false
c03,CHLOE@example.net,0044 20 7946 0958,true
c04,david@example.com,+33 6 11 11 11 14,${vipC04}
c05,emma@example.com,,true
`;
/** The VIP members each platform should hold: hashes of the normalised raw values. */
const VIP = (withC04: boolean) =>
  [
    { email: 'alice.martin@example.com', phone: '+33612345678' },
    { email: 'chloe@example.net', phone: '+442079460958' },
    ...(withC04 ? [{ email: 'david@example.com', phone: '+33611111114' }] : []),
    { email: 'emma@example.com', phone: null },
  ] as const;

const MODELS = `sources:
  - { name: raw_customers, file: data/customers.csv, types: { phone: string, vip: boolean } }
models:
  - name: vip_customers
    kind: staging
    from: raw_customers
    where: [{ column: vip, equals: true }]
`;

const SYNCS = `destinations:
  - name: li
    type: linkedin
    access_token: \${env:LINKEDIN_ACCESS_TOKEN}
    ad_account_id: '512000'
  - name: tt
    type: tiktok
    access_token: \${env:TIKTOK_ACCESS_TOKEN}
    advertiser_id: '7100000000000000001'
    default_phone_country: FR
syncs:
  - name: linkedin_vip
    model: vip_customers
    destination: li
    object: '700001'
    mode: audience
    key: { from: customer_id, field: customer_id }
    fields: { email: email }
  - name: tiktok_vip
    model: vip_customers
    destination: tt
    object: VIP customers
    mode: audience
    key: { from: customer_id, field: customer_id }
    fields: { email: email, phone: phone }
`;

const ENV = { LINKEDIN_ACCESS_TOKEN: 'AQV-real-token', TIKTOK_ACCESS_TOKEN: 'tt-real-token', TIDELINE_NO_PROGRESS: '1' };

describe('tideline sync --sandbox: an audience to LinkedIn and TikTok', () => {
  let root: string;
  let li: LinkedInEmulator;
  let tt: TikTokEmulator;
  const logs: string[] = [];
  const sync = () => runCli(['sync', '--sandbox', '--log-format', 'json', '--log-level', 'debug'], { cwd: root, env: ENV });

  async function build(): Promise<void> {
    const project = await loadProject({ projectDir: root, env: ENV });
    const connection = await openTarget(project.target.config, { root });
    try {
      const built = await runModels(project, connection, await analyseProject(project, connection), project.order, { logger: createLogger({ level: 'silent' }) });
      expect(built.filter((r) => r.status !== 'success').map((r) => r.error)).toEqual([]);
    } finally {
      await connection.close();
    }
  }

  const linkedinMembers = () => Object.fromEntries(li.records('700001'));
  const tiktokAudience = () => [...tt.audiences.values()].find((a) => a.name === 'VIP customers');
  const tiktokMembers = () => Object.fromEntries(tt.records(tiktokAudience()?.audience_id ?? 'none'));
  const expectLinkedIn = (withC04: boolean) => Object.fromEntries(VIP(withC04).map((c) => [sha(c.email), { SHA256_EMAIL: sha(c.email) }]));
  const expectTikTok = (withC04: boolean) =>
    Object.fromEntries(VIP(withC04).map((c) => [sha(c.email), { EMAIL_SHA256: sha(c.email), ...(c.phone ? { PHONE_SHA256: sha(c.phone) } : {}) }]));

  beforeAll(async () => {
    root = tempProject({ 'tideline.yml': 'name: vip\n', 'data/customers.csv': CUSTOMERS(true), 'models/vip.yml': MODELS, 'syncs/ads.yml': SYNCS });
    li = await startLinkedInEmulator({ recordBodies: true, adAccountId: '512000' });
    tt = await startTikTokEmulator({ recordBodies: true, advertiserId: '7100000000000000001' });
    const project = await loadProject({ projectDir: root, env: ENV });
    const emulators: Record<string, Emulator> = { li, tt };
    const file: SandboxFile = {
      pid: process.pid,
      session: 'li-tt-e2e',
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
    await li?.close();
    await tt?.close();
  });

  it('first run: each emulator holds exactly the audience\'s hashed members', async () => {
    const run = await sync();
    logs.push(run.stderr);
    expect(run.code, run.stderr).toBe(0);
    expect(linkedinMembers()).toEqual(expectLinkedIn(true));
    expect(tt.stats.audiencesCreated).toBe(1);
    expect(tiktokMembers()).toEqual(expectTikTok(true));
  }, 60_000);

  it('second run sends nothing', async () => {
    const before = li.server.requests + tt.server.requests;
    const run = await sync();
    logs.push(run.stderr);
    expect(run.code, run.stderr).toBe(0);
    expect(li.server.requests + tt.server.requests).toBe(before);
    const results = JSON.parse(readFileSync(join(root, 'target', 'sync_results.json'), 'utf8')) as unknown;
    expect(JSON.stringify(results)).not.toMatch(/"requests":[1-9]/);
  }, 60_000);

  it('a member leaving the audience is removed from both', async () => {
    writeFileSync(join(root, 'data/customers.csv'), CUSTOMERS(false));
    await build();
    const run = await sync();
    logs.push(run.stderr);
    expect(run.code, run.stderr).toBe(0);
    expect(linkedinMembers()).toEqual(expectLinkedIn(false));
    expect(tiktokMembers()).toEqual(expectTikTok(false));
    expect(tt.stats.audiencesCreated).toBe(1);
  }, 60_000);

  it('no raw e-mail, phone or token left the process or reached a log line', () => {
    const sent = [...li.bodies, ...tt.bodies].join('\n');
    const logged = logs.join('\n');
    expect(logged).toContain('"level":"debug"');
    for (const c of [...VIP(true), { email: 'bob@example.org', phone: '+33612345679' }]) {
      for (const raw of [c.email, c.phone, c.phone?.slice(1)].filter((v): v is string => Boolean(v))) {
        expect(sent, raw).not.toContain(raw);
        expect(logged, raw).not.toContain(raw);
      }
    }
    for (const token of [ENV.LINKEDIN_ACCESS_TOKEN, ENV.TIKTOK_ACCESS_TOKEN, li.accessToken, tt.accessToken]) expect(logged).not.toContain(token);
    expect(li.stats.unhashedValues + tt.stats.unhashedValues).toBe(0);
  });
});
