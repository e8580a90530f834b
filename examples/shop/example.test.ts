import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../src/dialects/sql.js';
import { loadProject } from '../../src/project/loader.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { openTarget } from '../../src/warehouses/registry.js';
import { runCli } from '../../test/support/cli.js';
import { DEFAULT_SHOP, generateShop } from './generate.js';

/**
 * The example project end to end, as `npm run example` drives it, on a small shop: every model builds, every sync
 * reaches its destination's emulator (`tideline sync --sandbox`) and the emulators hold the audiences; a second
 * sync sends nothing; one customer leaving an audience is removed from the destinations it was sent to.
 */
const ANCHOR = '2026-06-30';

interface SyncLine {
  readonly sync: string;
  readonly status: string;
  readonly sent: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly requests: number;
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

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'tideline-example-'));
    for (const part of ['tideline.yml', 'models', 'syncs']) cpSync(join(import.meta.dirname, part), join(root, part), { recursive: true });
    await withWarehouse((connection) => generateShop(connection, { ...DEFAULT_SHOP, customers: 600, campaignWeeks: 8, anchor: ANCHOR }));
  });

  it('builds every model, and each sync reaches its emulator holding exactly the audience', async () => {
    const run = await runCli(['run', '--log-format', 'json'], { cwd: root, env });
    expect(run.code, run.stderr.slice(-3000)).toBe(0);

    const sync = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(sync.code, sync.stderr.slice(-3000)).toBe(0);
    const first = byName();
    expect([...first.keys()].sort()).toEqual(
      ['brevo_newsletter', 'customer_profiles', 'google_exclude_customers', 'google_non_openers', 'hubspot_contacts', 'klaviyo_winback', 'meta_lookalike_seed', 'winback_calls'],
    );
    for (const r of first.values()) {
      expect(r.status, r.sync).not.toBe('failed');
      expect(r.accepted, r.sync).toBeGreaterThan(0);
    }

    // What each audience sync settled equals the audience's sendable members (members outside the holdout).
    const members = await withWarehouse(async (connection) => {
      const rows = await connection.query(
        sql`SELECT audience, COUNT(*) AS n FROM analytics.audiences WHERE audience_status = 'member' AND audience_group <> 'holdout' GROUP BY audience`,
      );
      return new Map(rows.map((r) => [String(r['audience']), Number(r['n'])]));
    });
    const audienceOf: Record<string, string> = {
      meta_lookalike_seed: 'lookalike_seed',
      google_non_openers: 'email_non_openers',
      google_exclude_customers: 'current_customers',
      brevo_newsletter: 'newsletter',
      klaviyo_winback: 'winback_email',
      winback_calls: 'winback',
    };
    for (const [name, audience] of Object.entries(audienceOf)) {
      const r = first.get(name)!;
      expect(r.accepted + r.rejected, name).toBe(members.get(audience) ?? 0);
    }
    // The call list file holds one row per member of the phone win-back audience.
    expect(sync.stderr).toContain(`sandbox call_centre now holds winback_calls: ${first.get('winback_calls')!.accepted}`);
  });

  it('a second sync sends nothing, to any destination', async () => {
    const again = await runCli(['sync', '--sandbox', '--log-format', 'json'], { cwd: root, env });
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    for (const r of results()) expect({ sync: r.sync, sent: r.sent, requests: r.requests }).toEqual({ sync: r.sync, sent: 0, requests: 0 });
  });
});
