import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DESTINATIONS } from '../destinations/index.js';
import { contact, contacts, CONTACT_COLUMNS, type ContractEnvironment, type ContractKit } from '../destinations/emulator-kit/contract.js';
import { sql } from '../src/dialects/sql.js';
import { forget, type ForgetReport, type PersonRef } from '../src/privacy/forget.js';
import { engines, type Engine } from './support/engines.js';
import { contractSync, SyncHarness } from './support/sync-harness.js';

/**
 * `tideline forget` against every destination's emulator at once, on DuckDB and PostgreSQL: ten contacts synced to
 * each destination in the mode its contract kit writes (ads audiences in their shape), then one person erased.
 * Judged by what each emulator holds and by a scan of every table of the state schema for the person's values and
 * their plain hashes — not by Tideline's own account of what it did.
 */
const kits = new Map<string, ContractKit>();
for (const type of DESTINATIONS) {
  const module = (await import(`../destinations/${type.type}/contract.ts`).catch(() => import(`../destinations/${type.type.replaceAll('_', '-')}/contract.ts`))) as { kit: ContractKit };
  kits.set(type.type, module.kit);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** What must not remain of contact `id` anywhere once forgotten: its values, normalised forms and their SHA-256. */
function needles(id: number): string[] {
  const c = contact(id);
  const email = c.email!.trim().toLowerCase();
  const e164 = c.phone!.replace(/[^+\d]/g, '');
  return [c.email!.trim(), email, sha256(email), c.phone!, e164, e164.slice(1), sha256(e164), sha256(e164.slice(1)), c.last_name!];
}

/** Every table of a schema, as text, lower-cased: where the needles are looked for. */
async function schemaText(harness: SyncHarness, schema: string): Promise<Map<string, string>> {
  const d = harness.connection.dialect;
  const tables = await harness.connection.query(sql`SELECT table_name FROM information_schema.tables WHERE table_schema = ${d.string(schema)}`);
  const out = new Map<string, string>();
  for (const t of tables) {
    const name = String(t['table_name'] ?? t['TABLE_NAME']);
    const rows = await harness.connection.query(sql`SELECT * FROM ${d.table({ schema, name })}`);
    out.set(name, JSON.stringify(rows, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).toLowerCase());
  }
  return out;
}

function found(text: ReadonlyMap<string, string>, id: number): string[] {
  const hits: string[] = [];
  for (const [table, body] of text) for (const needle of needles(id)) if (body.includes(needle.toLowerCase())) hits.push(`${table}: ${needle}`);
  return hits;
}

describe.each(engines())('tideline forget ($name)', (engine: Engine) => {
  const open: { envs: ContractEnvironment[]; harness?: SyncHarness }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.harness?.close();
      for (const env of o.envs) await env.close();
    }
  });

  /** Every destination, one sync each in its kit's write mode: `<type>_s`. */
  async function everywhere(rows = contacts(10)) {
    const slot: { envs: ContractEnvironment[]; harness?: SyncHarness } = { envs: [] };
    open.push(slot);
    const destinations: Record<string, unknown>[] = [];
    const syncs: Record<string, unknown>[] = [];
    const envs = new Map<string, { env: ContractEnvironment; object: string; kit: ContractKit }>();
    for (const [type, kit] of kits) {
      const env = await kit.start({ dir: mkdtempSync(join(tmpdir(), `tideline-forget-${type}-`)) });
      slot.envs.push(env);
      const mode = kit.shape?.mode ?? 'upsert';
      const object = env.object(mode);
      const name = type.replaceAll('-', '_');
      destinations.push({ name, ...env.destination({}) });
      const sync = contractSync(`${name}_s`, name, object, mode, {}, kit.shape);
      // The contract mapping's e-mail, cleaned as a CRM sync would clean it (the contacts' are written untidily).
      if (!kit.shape) (sync['fields'] as Record<string, unknown>)['email'] = { from: 'email', transform: ['trim', 'lower'] };
      syncs.push(sync);
      envs.set(`${name}_s`, { env, object, kit });
    }
    const harness = await SyncHarness.start({ destinations, syncs, rows, columns: CONTACT_COLUMNS, ...(engine.target.type === 'postgres' ? { engine } : {}) });
    slot.harness = harness;
    return { harness, envs };
  }

  async function forgetting(harness: SyncHarness, people: readonly PersonRef[], plan = false): Promise<ForgetReport> {
    const store = harness.engine().store;
    return forget({ project: harness.project, connection: harness.connection, store, people, configOf: (sync) => sync.destination.config, log: harness.logger, plan });
  }

  it('erases a person from every destination that held them and from every state table; later syncs leave them out', async () => {
    const { harness, envs } = await everywhere();
    for (const name of envs.keys()) expect((await harness.sync(name)).status, name).toBe('success');
    for (const [name, { env, object }] of envs) expect([...(await env.records(object)).keys()].length, name).toBe(10);
    // What a plan killed while numbering a large change set leaves (unnumbered__<sync>): the erasure drops it too.
    const [first] = envs.keys();
    const dq = harness.connection.dialect;
    await harness.connection.execute(sql`CREATE TABLE ${dq.table({ schema: harness.schemas.state, name: `unnumbered__${first}` })} AS SELECT ${dq.string(contact(3).email!)} AS ${dq.id('f_0')}`);
    const before = found(await schemaText(harness, harness.schemas.state), 3);
    // The scan can fail: ads destinations keep the person's hashed identifiers in their snapshots.
    expect(before.length).toBeGreaterThan(0);

    // A plan counts and changes nothing.
    const planned = await forgetting(harness, [{ kind: 'email', value: contact(3).email! }], true);
    expect(planned.status).toBe('planned');
    expect(planned.syncs.every((s) => s.records === 1)).toBe(true);
    expect(found(await schemaText(harness, harness.schemas.state), 3)).toEqual(before);

    const report = await forgetting(harness, [{ kind: 'email', value: contact(3).email! }]);
    expect(report.status).toBe('done');
    for (const s of report.syncs) {
      expect(s.records, s.sync).toBe(1);
      expect(['erased', 'manual'], s.sync).toContain(s.status);
    }
    // Gone from every emulator that holds records by key (each kit's records(), the others untouched).
    for (const [name, { env, object, kit }] of envs) {
      const held = await env.records(object);
      const kept = contacts(10).filter((c) => c.id !== 3);
      if (kit.shape) expect(held, name).toEqual(kit.shape.expected(kept));
      else expect([...held.keys()].sort(), name).toEqual(kept.map((c) => String(c.id)).sort());
    }
    // Nothing of them in the state schema: neither values nor plain hashes (the forgotten list's hashes are keyed).
    expect(found(await schemaText(harness, harness.schemas.state), 3)).toEqual([]);
    const d = harness.connection.dialect;
    for (const name of envs.keys()) {
      const left = await harness.connection.query(sql`SELECT COUNT(*) AS n FROM ${d.table({ schema: harness.schemas.state, name: `snapshot__${name}` })} WHERE record_key = '3'`);
      expect(Number(left[0]!['n']), name).toBe(0);
    }

    // The source still holds them: the next syncs leave them out and send nothing.
    for (const name of envs.keys()) {
      const again = await harness.sync(name);
      expect(again.counts.forgotten, name).toBe(1);
      expect(again.requests, name).toBe(0);
    }
    // A new contact is still synced; the forgotten one still is not.
    await harness.setRows(contacts(11));
    for (const [name, { env, object }] of envs) {
      const run = await harness.sync(name);
      expect(run.counts.added, name).toBe(1);
      expect((await env.records(object)).size, name).toBe(10);
    }
    // Running the same request again finds nothing more and is done.
    const rerun = await forgetting(harness, [{ kind: 'email', value: contact(3).email! }]);
    expect(rerun.requestId).toBe(report.requestId);
    expect(rerun.syncs.every((s) => s.records === 0)).toBe(true);
    // The audit trail lists the runs and the erasure, without personal values.
    const audit = await harness.connection.query(sql`SELECT * FROM ${d.table({ schema: harness.schemas.state, name: 'privacy_audit' })}`);
    expect(audit.length).toBeGreaterThanOrEqual(envs.size * 2);
    const erasures = await harness.connection.query(sql`SELECT * FROM ${d.table({ schema: harness.schemas.state, name: 'privacy_erasures' })} WHERE request_id = ${d.string(report.requestId)}`);
    expect(erasures.length).toBe(envs.size);
    expect(found(new Map([['audit', JSON.stringify([...audit, ...erasures]).toLowerCase()]]), 3)).toEqual([]);
  }, 240_000);
});
