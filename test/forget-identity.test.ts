import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startWebhookEmulator, type WebhookEmulator } from '../destinations/webhook/emulator.js';
import { sql } from '../src/dialects/sql.js';
import { createLogger } from '../src/log/logger.js';
import { runModels } from '../src/pipeline/runner.js';
import { forget } from '../src/privacy/forget.js';
import { analyseProject } from '../src/project/analyse.js';
import { loadProject, type Project } from '../src/project/loader.js';
import { SyncEngine } from '../src/sync/engine.js';
import type { Connection } from '../src/warehouses/connection.js';
import { openTarget } from '../src/warehouses/registry.js';
import { engines, uniqueSchema, type Engine } from './support/engines.js';

/**
 * `tideline forget` through an identity model: a person known to the e-shop by e-mail and to the tills by a phone
 * written the French way, linked by the phone. Forgetting them by the till's phone (as the till wrote it) finds
 * their customer, and through it their e-shop records: the sync keyed by customer id and the one keyed by e-shop
 * account (found by its e-mail column) lose them, the other customers stay.
 */
const SHOP_PHONE = '+33 1 44 00 00 01';
const ESHOP = [
  { account_id: 'a1', email: 'Jane.Doe@Example.com', phone: '+33 6 12 34 56 78' },
  { account_id: 'a2', email: 'sam@example.com', phone: '+33 6 99 99 99 99' },
  { account_id: 'a3', email: 'lee@example.com', phone: null },
  // Three people whose accounts carry the shop's phone: on more records than max_records_per_value, it links no one.
  { account_id: 'a4', email: 'kim@example.com', phone: SHOP_PHONE },
  { account_id: 'a5', email: 'max@example.com', phone: SHOP_PHONE },
  { account_id: 'a6', email: 'ana@example.com', phone: SHOP_PHONE },
];
const TILLS = [
  { card: 'c1', email: null, phone: '06 12 34 56 78' },
  { card: 'c2', email: 'lee@example.com', phone: null },
];

describe.each(engines())('tideline forget through identity ($name)', (engine: Engine) => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  async function project(emulator: WebhookEmulator): Promise<{ project: Project; connection: Connection; schemas: { src: string; model: string; state: string } }> {
    const root = mkdtempSync(join(tmpdir(), 'tideline-forget-identity-'));
    const schemas = { src: uniqueSchema('src'), model: uniqueSchema('mdl'), state: uniqueSchema('state') };
    const target = engine.target.type === 'postgres' ? engine.target : { type: 'duckdb', path: 'warehouse.duckdb' };
    const hook = { name: 'hook', type: 'webhook', url: `${emulator.endpoint}/hook`, secret: emulator.secret };
    const sync = (name: string, model: string, key: string, fields: Record<string, string>) => ({ name, model, destination: 'hook', object: name, mode: 'upsert', key: { from: key, field: 'id' }, fields });
    const files: Record<string, string> = {
      'tideline.yml': stringify({ name: 'forget_identity', schema: schemas.model, state_schema: schemas.state, targets: { main: target }, target: 'main' }),
      'models/people.yml': stringify({
        sources: [
          { name: 'eshop', table: `${schemas.src}.eshop` },
          { name: 'tills', table: `${schemas.src}.tills` },
        ],
        models: [
          {
            name: 'customers',
            kind: 'identity',
            phone_country: 'FR',
            max_records_per_value: 2,
            identifiers: { email: 'email', phone: 'phone' },
            sources: [
              { from: 'eshop', id: 'account_id', identifiers: { email: 'email', phone: 'phone' } },
              { from: 'tills', id: 'card', identifiers: { email: 'email', phone: 'phone' } },
            ],
            rules: [{ match: ['email'] }, { match: ['phone'] }],
          },
          { name: 'accounts', kind: 'staging', from: 'eshop' },
        ],
      }),
      'syncs/syncs.yml': stringify({
        destinations: [hook],
        syncs: [sync('by_customer', 'customers', 'customer_id', { email: 'email' }), sync('by_account', 'accounts', 'account_id', { email: 'email' })],
      }),
    };
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    const loaded = await loadProject({ projectDir: root, env: {} });
    const connection = await openTarget(loaded.target.config, { root });
    const d = connection.dialect;
    await connection.execute(d.createSchema(schemas.src));
    const text = (name: string) => ({ name, type: 'string' as const });
    await connection.execute(d.createTable({ schema: schemas.src, name: 'eshop' }, [text('account_id'), text('email'), text('phone')]));
    await connection.execute(d.createTable({ schema: schemas.src, name: 'tills' }, [text('card'), text('email'), text('phone')]));
    await connection.insertRows({ schema: schemas.src, name: 'eshop' }, [text('account_id'), text('email'), text('phone')], [ESHOP.map((r) => [r.account_id, r.email, r.phone])]);
    await connection.insertRows({ schema: schemas.src, name: 'tills' }, [text('card'), text('email'), text('phone')], [TILLS.map((r) => [r.card, r.email, r.phone])]);
    const results = await runModels(loaded, connection, await analyseProject(loaded, connection), loaded.order, { logger: createLogger({ level: 'silent' }) });
    expect(results.map((r) => r.status)).toEqual(['success', 'success']);
    open.push({
      close: async () => {
        if (engine.target.type === 'postgres') for (const schema of Object.values(schemas)) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(schema)} CASCADE`);
        await connection.close();
      },
    });
    return { project: loaded, connection, schemas };
  }

  it('finds the customer by a phone as a till wrote it, and erases them from syncs keyed by customer, e-mail or account', async () => {
    const emulator = await startWebhookEmulator();
    open.push(emulator);
    const { project: p, connection } = await project(emulator);
    const logger = createLogger({ level: 'silent' });
    const engine = new SyncEngine({ project: p, connection, logger });
    for (const name of ['by_customer', 'by_account']) expect((await engine.run(p.syncs.get(name)!)).status).toBe('success');
    // Six customers: Jane (a1 + c1, by phone), Sam (a2), Lee (a3 + c2, by e-mail), Kim, Max and Ana.
    expect(emulator.records('by_customer').size).toBe(6);
    const jane = [...emulator.records('by_customer')].find(([, f]) => String(f['email']).toLowerCase() === 'jane.doe@example.com')![0];

    const report = await forget({ project: p, connection, store: engine.store, people: [{ kind: 'phone', value: '06 12 34 56 78' }], configOf: (s) => s.destination.config, log: logger });
    expect(report).toMatchObject({ status: 'done', customers: 1 });
    expect(report.syncs.map((s) => [s.sync, s.status, s.records])).toEqual([
      ['by_customer', 'erased', 1],
      ['by_account', 'erased', 1],
    ]);
    expect(emulator.records('by_customer').has(jane)).toBe(false);
    expect(emulator.records('by_customer').size).toBe(5);
    expect([...emulator.records('by_account').keys()].sort()).toEqual(['a2', 'a3', 'a4', 'a5', 'a6']);
    // The sources still hold her: the next syncs leave her out.
    for (const name of ['by_customer', 'by_account']) {
      const again = await engine.run(p.syncs.get(name)!);
      expect(again.counts.forgotten, name).toBe(1);
      expect(again.requests, name).toBe(0);
    }

    // Kim's account carries the shop's phone, which Max and Ana's carry too: forgetting Kim leaves them alone.
    const kim = await forget({ project: p, connection, store: engine.store, people: [{ kind: 'email', value: 'KIM@example.com ' }], configOf: (s) => s.destination.config, log: logger });
    expect(kim.syncs.map((s) => [s.sync, s.records])).toEqual([
      ['by_customer', 1],
      ['by_account', 1],
    ]);
    expect([...emulator.records('by_account').keys()].sort()).toEqual(['a2', 'a3', 'a5', 'a6']);
    expect(emulator.records('by_customer').size).toBe(4);
    // The shop's phone itself designates three customers: refused, naming them, before anything is erased.
    await expect(forget({ project: p, connection, store: engine.store, people: [{ kind: 'phone', value: SHOP_PHONE }], configOf: (s) => s.destination.config, log: logger })).rejects.toThrow(
      /designates 3 customers .*name the one to forget with --customer; nothing was erased/,
    );
    expect(emulator.records('by_customer').size).toBe(4);
  }, 60_000);
});
