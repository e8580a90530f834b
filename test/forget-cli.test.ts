import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookEmulator, type WebhookEmulator } from '../destinations/webhook/emulator.js';
import { sql } from '../src/dialects/sql.js';
import { runCli } from './support/cli.js';
import { contractSync, people, SyncHarness } from './support/sync-harness.js';

/**
 * The commands a data-protection officer uses, through the real CLI: `tideline forget` from a warehouse table of
 * requests (a plan first, then for real), `tideline plan` after it, and `tideline audit` of the runs and of the
 * erasure — none of which prints or writes the person's e-mail.
 */
const ROWS = people(12);
const EMAIL = ROWS[2]!.email!;
let emulator: WebhookEmulator;
let harness: SyncHarness;

beforeAll(async () => {
  emulator = await startWebhookEmulator();
  harness = await SyncHarness.start({
    rows: ROWS,
    destinations: [{ name: 'hook', type: 'webhook', url: `${emulator.endpoint}/hook`, secret: emulator.secret }],
    syncs: [contractSync('crm', 'hook', 'contacts', 'upsert'), contractSync('vip', 'hook', 'vip', 'audience')],
  });
  const d = harness.connection.dialect;
  const requests = { schema: harness.schemas.source, name: 'requests' };
  await harness.connection.execute(d.createTable(requests, [{ name: 'email', type: 'string' }]));
  await harness.connection.execute(sql`INSERT INTO ${d.table(requests)} VALUES (${d.string(EMAIL)})`);
  // The CLI opens the embedded warehouse itself.
  await harness.connection.close();
}, 120_000);

afterAll(async () => {
  await harness.reopen();
  await harness.close();
  await emulator.close();
});

const cli = (...args: string[]) => runCli([...args, '--log-format', 'json'], { cwd: harness.root });

describe('tideline forget, plan and audit through the CLI', () => {
  it('plans, erases, leaves them out of the plan, and audits — without ever printing the e-mail', async () => {
    expect((await cli('sync')).code).toBe(0);
    expect(emulator.records('contacts').has('3')).toBe(true);
    const from = `table:${harness.schemas.source}.requests`;

    const plan = await cli('forget', '--from', from, '--plan');
    expect(plan.code, plan.stderr.slice(-1500)).toBe(0);
    expect(plan.stderr).toMatch(/would erase 1 record/);
    expect(emulator.records('contacts').has('3')).toBe(true);
    expect(await cli('forget', '--resume', '--plan').then((r) => r.code)).toBe(2);

    const erased = await cli('forget', '--from', from, '--reference', 'DPO-2026-117');
    expect(erased.code, erased.stderr.slice(-1500)).toBe(0);
    expect(emulator.records('contacts').has('3')).toBe(false);
    expect(emulator.records('vip').has('3')).toBe(false);
    expect(emulator.records('contacts').size).toBe(11);
    const results = readFileSync(join(harness.root, 'target', 'forget_results.json'), 'utf8');
    expect(JSON.parse(results)).toMatchObject({ requests: [{ status: 'done', syncs: [{ sync: 'crm', status: 'erased', records: 1 }, { sync: 'vip', status: 'erased', records: 1 }] }] });

    const after = await runCli(['plan'], { cwd: harness.root });
    expect(after.stdout).toMatch(/forgotten \(erased by `tideline forget`: never sent again\)\s+1/);

    const runs = await cli('audit', '--format', 'csv');
    expect(runs.code).toBe(0);
    expect(runs.stdout.split('\n')[0]).toBe('sent_at,run_id,sync_name,destination,destination_type,object,mode,fields,records,removed');
    expect(runs.stdout).toMatch(/,crm,hook,webhook,contacts,upsert,"external_id,email,first_name,orders",12,0/);
    const erasures = await cli('audit', '--erasures', '--format', 'json');
    const lines = erasures.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines.map((l) => [l['sync_name'], l['status'], l['records'], l['reference'], l['request_status']])).toEqual([
      ['crm', 'erased', '1', 'DPO-2026-117', 'done'],
      ['vip', 'erased', '1', 'DPO-2026-117', 'done'],
    ]);
    for (const output of [plan.stderr, plan.stdout, erased.stderr, erased.stdout, results, runs.stdout, erasures.stdout]) expect(output.toLowerCase()).not.toContain(EMAIL.toLowerCase());
  }, 120_000);
});
