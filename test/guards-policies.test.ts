import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../src/dialects/sql.js';
import { createLogger } from '../src/log/logger.js';
import { runModels } from '../src/pipeline/runner.js';
import { analyseProject } from '../src/project/analyse.js';
import { loadProject } from '../src/project/loader.js';
import { SyncEngine } from '../src/sync/engine.js';
import type { Connection } from '../src/warehouses/connection.js';
import { tempProject } from './support/cli.js';
import { createTables } from './support/model-tables.js';
import { engines, uniqueSchema } from './support/engines.js';

/**
 * The suppressions reaching a sync are among its inputs: a complaints table past its `error_after` stops a plain
 * upsert sync of customers (no audience involved) before anything is written, as a stale customers table would — a
 * stale suppression list would let a complainer through. A sync the suppressions do not reach (no channel) still runs.
 */
for (const engine of engines()) {
  describe(`a stale suppression source stops the syncs it reaches, on ${engine.name}`, () => {
    let connection: Connection;
    const raw = uniqueSchema('gp_raw');
    const models = uniqueSchema('gp');
    const state = uniqueSchema('gp_state');
    let root: string;

    beforeAll(async () => {
      connection = await engine.open();
      await connection.execute(connection.dialect.createSchema(raw));
      await createTables(connection, raw, {
        customers: { columns: [['customer_id', 'string'], ['email', 'string']], rows: [['c1', 'a@x.org'], ['c2', 'b@x.org']] },
        // Loaded ten days ago: past the two days the source allows.
        tickets: { columns: [['customer_id', 'string'], ['type', 'string'], ['loaded_at', 'timestamp']], rows: [['c1', 'complaint', new Date(Date.now() - 10 * 86_400_000)]] },
      });
      root = tempProject({
        'tideline.yml': `name: shop\nschema: ${models}\nstate_schema: ${state}\ntargets:\n  test: ${JSON.stringify(engine.target)}
suppressions:
  - { name: complainers, from: tickets, key: customer_id, where: [{ column: type, equals: complaint }] }
`,
        'models/m.yml': `sources:
  - { name: raw_customers, table: ${raw}.customers }
  - { name: tickets, table: ${raw}.tickets, freshness: { loaded_at: loaded_at, error_after: 2 days } }
models:
  - name: customers
    kind: staging
    from: raw_customers
    columns:
      customer_id: { from: customer_id, type: string }
      email: { from: email, type: string }
`,
        'syncs/s.yml': `destinations:
  - { name: out, type: file, path: '\${env:OUT_DIR}', format: csv }
syncs:
  - { name: newsletter_contacts, model: customers, channel: email, destination: out, object: newsletter, mode: upsert, key: customer_id }
  - { name: all_customers, model: customers, destination: out, object: all, mode: upsert, key: customer_id }
`,
      });
      const project = await loadProject({ projectDir: root, env: { OUT_DIR: join(root, 'out') } });
      const results = await runModels(project, connection, await analyseProject(project, connection), project.order, { logger: createLogger({ level: 'silent' }) });
      expect(results.map((r) => [r.model, r.status])).toEqual([['customers', 'success']]);
    });
    afterAll(async () => {
      for (const schema of [raw, models, state]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${connection.dialect.id(schema)} CASCADE`);
      await connection.close();
    });

    it('the e-mail sync fails naming the stale table, nothing written; the sync without a channel runs', async () => {
      const project = await loadProject({ projectDir: root, env: { OUT_DIR: join(root, 'out') } });
      const engineRun = new SyncEngine({ project, connection, logger: createLogger({ level: 'silent' }) });
      const reached = await engineRun.run(project.syncs.get('newsletter_contacts')!);
      expect(reached.status).toBe('failed');
      expect(reached.error).toMatch(/^source tickets \(\S+\) is stale: loaded_at max .*, 10 days ago, error_after 2 days; nothing was sent$/);
      expect(existsSync(join(root, 'out', 'newsletter_contacts'))).toBe(false);
      const free = await engineRun.run(project.syncs.get('all_customers')!);
      expect([free.status, free.accepted]).toEqual(['success', 2]);
      expect(existsSync(join(root, 'out', 'all_customers'))).toBe(true);
    });
  });
}
