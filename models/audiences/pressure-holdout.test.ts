import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { runModels } from '../../src/pipeline/runner.js';
import { analyseProject } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { tempProject } from '../../test/support/cli.js';
import { createTables } from '../../test/support/model-tables.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';
import { SyncEngine } from '../../src/sync/engine.js';

/**
 * A holdout entry under marketing pressure: decided like any other entry (held-out and treated customers stay alike),
 * but it takes no room, since nobody messages it. 60 customers qualify for `offer` (priority 2, a 50 % holdout) and
 * `reminder` (priority 1) on a cap of one e-mail a week: the treated `offer` members fill their week, so their
 * `reminder` is capped; the held-out ones get the reminder. A rebuild before any sync changes nobody: the treated
 * entries count as built-but-not-sent, the held-out ones never count.
 */
const CUSTOMERS = Array.from({ length: 60 }, (_, i) => `c${String(i).padStart(2, '0')}`);

/** A project of 60 consenting customers on `engine`, capped at one e-mail a week, with these audiences and syncs. */
async function weeklyCapShop(connection: Connection, engine: { target: unknown }, schemas: { raw: string; models: string; state: string }, audiences: string, syncs: string): Promise<string> {
  await connection.execute(connection.dialect.createSchema(schemas.raw));
  await createTables(connection, schemas.raw, {
    customers: { columns: [['customer_id', 'string'], ['consent_email', 'boolean']], rows: CUSTOMERS.map((k) => [k, true]) },
  });
  return tempProject({
    'tideline.yml': `name: shop\nschema: ${schemas.models}\nstate_schema: ${schemas.state}\ntargets:\n  test: ${JSON.stringify(engine.target)}\npressure:\n  caps:\n    - { channels: [email], max: 1, per: 7 days }\n`,
    'models/m.yml': `sources:
  - { name: customers, table: ${schemas.raw}.customers }
models:
  - name: segments
    kind: audiences
    customers: customers
    as_of: '2026-06-30'
    audiences:
${audiences}`,
    'syncs/s.yml': `destinations:
  - { name: out, type: file, path: out, format: csv }
syncs:
${syncs}`,
  });
}

for (const engine of engines()) {
  describe(`a holdout entry takes no room under marketing pressure, on ${engine.name}`, () => {
    let connection: Connection;
    const raw = uniqueSchema('prh_raw');
    const models = uniqueSchema('prh');
    const state = uniqueSchema('prh_state');
    let root: string;

    const build = async (): Promise<Map<string, { status: string; group: string }>> => {
      const project = await loadProject({ projectDir: root });
      const results = await runModels(project, connection, await analyseProject(project, connection), project.order, { logger: createLogger({ level: 'silent' }) });
      expect(results.map((r) => [r.model, r.status, r.error])).toEqual([['segments', 'success', null]]);
      const rows = await connection.query(sql`SELECT audience, customer_id, audience_status, audience_group FROM ${connection.dialect.table({ schema: models, name: 'segments' })}`);
      return new Map(rows.map((r) => [`${r['audience']}/${r['customer_id']}`, { status: String(r['audience_status']), group: String(r['audience_group']) }]));
    };

    beforeAll(async () => {
      connection = await engine.open();
      root = await weeklyCapShop(
        connection,
        engine,
        { raw, models, state },
        `      - { name: offer, channel: email, priority: 2, holdout: 50%, where: { field: customer_id, is_null: false } }
      - { name: reminder, channel: email, priority: 1, where: { field: customer_id, is_null: false } }
`,
        // Both audiences are sent, so their members built but not yet sent count as messages on a rebuild.
        `  - { name: offer_out, model: segments, audience: offer, destination: out, object: offer, mode: audience, key: customer_id }
  - { name: reminder_out, model: segments, audience: reminder, destination: out, object: reminder, mode: audience, key: customer_id }
`,
      );
    });
    afterAll(async () => {
      for (const schema of [raw, models, `${models}__tl_work`]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${connection.dialect.id(schema)} CASCADE`);
      await connection.close();
    });

    it('the held-out get the reminder, the treated are capped, and a rebuild changes nobody', async () => {
      const first = await build();
      const held = CUSTOMERS.filter((k) => first.get(`offer/${k}`)!.group === 'holdout');
      // A 50 % holdout of 60: both groups are there, or the test proves nothing.
      expect(held.length).toBeGreaterThan(10);
      expect(held.length).toBeLessThan(50);
      for (const k of CUSTOMERS) {
        expect(first.get(`offer/${k}`)!.status, k).toBe('member');
        expect(first.get(`reminder/${k}`)!.status, k).toBe(held.includes(k) ? 'member' : 'capped');
      }
      const second = await build();
      expect(second).toEqual(first);
    });
  });
}

/**
 * An entry built but never sent must not wait, and fill a cap, for good. `offer` (priority 2) is synced only for
 * customers c10 and up (the sync's `where:`); c00–c09 stay members nobody messages. On a cap of one e-mail a week
 * everybody's `reminder` is capped at first (the built offer entries count as about to be sent). Once a run of the
 * offer's sync has dealt with them — sending c10 and up, leaving c00–c09 out — only what it recorded counts: c00–c09
 * get the reminder, the others stay capped.
 */
for (const engine of engines()) {
  describe(`a built entry no sync sends stops counting once a sync run has dealt with it, on ${engine.name}`, () => {
    let connection: Connection;
    const raw = uniqueSchema('prp_raw');
    const models = uniqueSchema('prp');
    const state = uniqueSchema('prp_state');
    let root: string;

    const build = async (): Promise<Map<string, string>> => {
      const project = await loadProject({ projectDir: root });
      const results = await runModels(project, connection, await analyseProject(project, connection), project.order, { logger: createLogger({ level: 'silent' }) });
      expect(results.map((r) => [r.model, r.status, r.error])).toEqual([['segments', 'success', null]]);
      const rows = await connection.query(sql`SELECT audience, customer_id, audience_status FROM ${connection.dialect.table({ schema: models, name: 'segments' })}`);
      return new Map(rows.map((r) => [`${r['audience']}/${r['customer_id']}`, String(r['audience_status'])]));
    };

    beforeAll(async () => {
      connection = await engine.open();
      root = await weeklyCapShop(
        connection,
        engine,
        { raw, models, state },
        `      - { name: offer, channel: email, priority: 2, where: { field: customer_id, is_null: false } }
      - { name: reminder, channel: email, priority: 1, where: { field: customer_id, is_null: false } }
`,
        `  - { name: offer_out, model: segments, audience: offer, where: [{ column: customer_id, gte: c10 }], destination: out, object: offer, mode: audience, key: customer_id }
  - { name: reminder_out, model: segments, audience: reminder, destination: out, object: reminder, mode: audience, key: customer_id }
`,
      );
    });
    afterAll(async () => {
      for (const schema of [raw, models, `${models}__tl_work`, state]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${connection.dialect.id(schema)} CASCADE`);
      await connection.close();
    });

    it('the members the sync left out get the reminder; those it sent stay capped', async () => {
      const first = await build();
      for (const k of CUSTOMERS) expect([k, first.get(`offer/${k}`), first.get(`reminder/${k}`)]).toEqual([k, 'member', 'capped']);
      // Before any sync, a rebuild changes nobody.
      expect(await build()).toEqual(first);

      const project = await loadProject({ projectDir: root });
      const result = await new SyncEngine({ project, connection, logger: createLogger({ level: 'silent' }) }).run(project.syncs.get('offer_out')!);
      expect([result.status, result.accepted]).toEqual(['success', 50]);

      const after = await build();
      const unsent = (k: string) => k < 'c10';
      for (const k of CUSTOMERS) expect([k, after.get(`offer/${k}`), after.get(`reminder/${k}`)]).toEqual([k, 'member', unsent(k) ? 'member' : 'capped']);
    });
  });
}
