import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from '../src/dialects/sql.js';
import { runCli } from './support/cli.js';
import { PlainReceiver } from './support/plain-receiver.js';
import { contractSync, people, SyncHarness } from './support/sync-harness.js';

/**
 * What the plan counts is what is sent — judged by a plain receiver that logs every record (not an emulator): rows
 * with a NULL or shared key and records held back after a permanent refusal never leave the warehouse, and the
 * progress totals and target/sync_results.json agree with the plan.
 */
describe('the change set sent is exactly what the plan counts', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  it('invalid and held-back rows are counted, never sent; progress and results agree with the plan', async () => {
    const receiver = await PlainReceiver.start();
    open.push(receiver);
    // 1, 2, 4, 5, 6 are valid; 3 is held by two rows; one row has no key.
    const rows = [...people(6), { ...people(1, 3)[0]!, first_name: 'Another 3' }, { id: null, email: 'nokey@example.com', first_name: 'No key', orders: 1 }];
    const harness = await SyncHarness.start({
      rows,
      destinations: [{ name: 'hook', type: 'webhook', url: '${env:HOOK_URL}', batch_size: 2 }],
      syncs: [contractSync('ins', 'hook', 'contacts', 'insert')],
      env: { HOOK_URL: receiver.url },
    });
    open.push(harness);
    // Someone else already created 5 at the destination: its insert is refused for good, and held back after.
    receiver.records('contacts').set('5', { email: 'someone-else@example.com' });
    await harness.connection.close();

    const env = { HOOK_URL: receiver.url };
    const plan = await runCli(['plan', '--log-format', 'json'], { cwd: harness.root, env });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/added +5\n/);
    expect(plan.stdout).toMatch(/invalid: duplicate key +2\n/);
    expect(plan.stdout).toMatch(/invalid: null key +1\n/);

    const first = await runCli(['sync', '--log-format', 'json'], { cwd: harness.root, env });
    expect(first.code, first.stderr).toBe(0);
    const sent = receiver.arrivals.map((a) => a.key).sort();
    expect(sent).toEqual(['1', '2', '4', '5', '6']);
    const results = JSON.parse(readFileSync(join(harness.root, 'target', 'sync_results.json'), 'utf8')) as { results: Record<string, unknown>[] };
    expect(results.results[0]).toMatchObject({ status: 'partial', counts: { added: 5, changed: 0, removed: 0, held_back: 0, invalid: 3 }, sent: 5, accepted: 4, rejected: 1 });
    const progress = progressEvents(first.stderr);
    expect(new Set(progress.map((p) => p.total))).toEqual(new Set([5]));
    expect(Math.max(...progress.map((p) => p.settled))).toBe(5);

    // A real change (a new key): only it is sent; the refused 5 stays held back, the invalid rows stay home.
    await harness.reopen();
    await harness.setRows([...rows, ...people(1, 7)]);
    await harness.connection.close();
    const before = receiver.arrivals.length;
    const second = await runCli(['sync', '--log-format', 'json'], { cwd: harness.root, env });
    expect(second.code, second.stderr).toBe(0);
    expect(receiver.arrivals.slice(before).map((a) => a.key)).toEqual(['7']);
    const again = JSON.parse(readFileSync(join(harness.root, 'target', 'sync_results.json'), 'utf8')) as { results: Record<string, unknown>[] };
    expect(again.results[0]).toMatchObject({ status: 'success', counts: { added: 1, held_back: 1, invalid: 3 }, sent: 1, accepted: 1 });
    expect(progressEvents(second.stderr).every((p) => p.total === 1 && p.settled <= 1)).toBe(true);
    await harness.reopen();
  });
});

describe('a file a dead run left without its manifest', () => {
  it('is finished by the next run even when that run has nothing to send', async () => {
    const rows = people(5);
    const harness = await SyncHarness.start({
      rows,
      destinations: [{ name: 'files', type: 'file', path: 'out', format: 'jsonl' }],
      syncs: [contractSync('export', 'files', 'contacts', 'insert')],
    });
    try {
      const first = await harness.sync('export');
      expect(first.status).toBe('success');
      // As if the run had died after renaming its file, before its manifest: the manifest gone, the run still running.
      const dir = join(harness.root, 'out', 'export');
      const manifest = readdirSync(dir).find((n) => n.endsWith('.manifest.json'))!;
      unlinkSync(join(dir, manifest));
      const d = harness.connection.dialect;
      await harness.connection.execute(sql`UPDATE ${d.table({ schema: harness.schemas.state, name: 'sync_runs' })} SET ${d.id('status')} = ${d.string('running')} WHERE ${d.id('run_id')} = ${d.string(first.runId!)}`);

      const second = await harness.sync('export');
      expect(second).toMatchObject({ status: 'success', settled: 0 });
      const written = JSON.parse(readFileSync(join(dir, manifest), 'utf8')) as { records: number; complete: boolean };
      expect(written).toMatchObject({ records: 5, complete: false });
    } finally {
      await harness.close();
    }
  });
});

function progressEvents(stderr: string): { total: number; settled: number }[] {
  return stderr
    .split('\n')
    .filter((line) => line.includes('"sync_progress"'))
    .map((line) => JSON.parse(line) as { total: number; settled: number });
}
