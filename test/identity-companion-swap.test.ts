import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModels } from '../src/pipeline/runner.js';
import { sql } from '../src/dialects/sql.js';
import { createLogger } from '../src/log/logger.js';
import { analyseProject } from '../src/project/analyse.js';
import type { Project } from '../src/project/loader.js';
import type { Sql } from '../src/dialects/sql.js';
import { WarehouseError, type Connection, type Row } from '../src/warehouses/connection.js';
import { engines, uniqueSchema } from './support/engines.js';
import { build, identityProject } from './support/identity-project.js';

/**
 * A model with companion tables (identity: `_map`, `_links`, `_report`) is swapped in all or nothing: a build that
 * fails — in a step, or in the swap itself — leaves the model's table and every companion as the previous build left
 * them, and no work table behind.
 */
for (const engine of engines()) {
  describe(`companion tables swap in with their model, or not at all (${engine.name})`, () => {
    const d = engine.dialect;
    const schema = uniqueSchema('idswap');
    const people = d.table({ schema, name: 'people' });
    let connection: Connection;
    let project: Project;
    const tables = ['people', 'people_map', 'people_links', 'people_report'];
    const snapshot = async (): Promise<Record<string, Row[]>> =>
      Object.fromEntries(await Promise.all(tables.map(async (name) => [name, await connection.query(sql`SELECT * FROM ${d.table({ schema, name })} ORDER BY 1, 2, 3`)] as const)));
    const work = `${schema}__tl_work`;
    /** Work tables in the model schema and the work schema, as `through` sees them (a build's session sees its own). */
    const workTables = async (through: Connection = connection) =>
      (
        await through.query(
          sql`SELECT table_name FROM information_schema.tables WHERE table_schema IN (${d.string(schema)}, ${d.string(work)}) AND table_name LIKE '%\\_\\_tl\\_%' ESCAPE '\\'`,
        )
      ).map((r) => r['table_name']);
    const attempt = async (through: Connection = connection) => {
      const analysis = await analyseProject(project, connection);
      return (await runModels(project, through, analysis, ['people'], { logger: createLogger({ level: 'silent' }) }))[0]!;
    };
    /**
     * The connection, except that the statement `when` picks fails as if the warehouse had refused it; `when` is told
     * which connection runs it (on PostgreSQL, the session of the build's transaction).
     */
    const failing = (when: (statement: Sql, through: Connection) => Promise<boolean>, on: Connection = connection): Connection =>
      new Proxy(on, {
        get(target, property) {
          if (property === 'execute')
            return async (statement: Sql) => {
              if (await when(statement, target)) throw new WarehouseError('injected failure', { statement });
              return target.execute(statement);
            };
          if (property === 'transaction' && target.transaction)
            return <T>(work: (session: Connection) => Promise<T>) => target.transaction!((session) => work(failing(when, session)));
          const value: unknown = Reflect.get(target, property);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });

    beforeAll(async () => {
      connection = await engine.open();
      await connection.execute(d.createSchema(schema));
      await connection.execute(sql`CREATE TABLE ${d.table({ schema, name: 'contacts' })} (id ${d.type('integer')}, email ${d.type('string')}, visits ${d.type('string')})`);
      await connection.execute(sql`INSERT INTO ${d.table({ schema, name: 'contacts' })} VALUES (1, 'a@example.com', '3'), (2, 'A@example.com', '4'), (3, 'b@example.com', '1')`);
      project = await identityProject(
        engine,
        schema,
        `sources:
  - name: contacts
    table: ${schema}.contacts
models:
  - name: people
    kind: identity
    identifiers: { email: email }
    sources:
      - from: contacts
        id: id
        identifiers: { email: email }
        attributes:
          visits: { sql: "CAST(visits AS INTEGER)" }
    rules:
      - match: [email]
`,
      );
    });
    afterAll(async () => {
      await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(schema)} CASCADE`);
      await connection.close();
    });

    it('a step failing half-way changes none of the four tables and leaves no work table', async () => {
      await build(project, connection, 'people');
      const before = await snapshot();
      expect(before['people']).toHaveLength(2);
      expect(before['people_map']).toHaveLength(3);

      // The next build reads a value its SQL cannot cast.
      await connection.execute(sql`INSERT INTO ${d.table({ schema, name: 'contacts' })} VALUES (4, 'c@example.com', 'many')`);
      const failed = await attempt();
      expect(failed.status).toBe('error');
      expect(await snapshot()).toEqual(before);
      expect(await workTables()).toEqual([]);
      await connection.execute(sql`DELETE FROM ${d.table({ schema, name: 'contacts' })} WHERE id = 4`);
    });

    it('a failure at the last steps, once the companions are built, changes none of the four tables either', async () => {
      await build(project, connection, 'people');
      const before = await snapshot();
      await connection.execute(sql`INSERT INTO ${d.table({ schema, name: 'contacts' })} VALUES (6, 'f@example.com', '5')`);
      let builtBeforeFailing: unknown[] = [];
      const result = await attempt(
        failing(async (statement, through) => {
          if (!statement.text.startsWith(`CREATE TABLE ${d.table({ schema: d.capabilities.buildsBesideModel ? schema : work, name: 'people__tl_build' }).text}`)) return false;
          builtBeforeFailing = await workTables(through);
          return true;
        }),
      );
      expect(result.status).toBe('error');
      expect(builtBeforeFailing).toEqual(expect.arrayContaining(['people__tl_map', 'people__tl_links']));
      expect(await snapshot()).toEqual(before);
      expect(await workTables()).toEqual([]);
      await connection.execute(sql`DELETE FROM ${d.table({ schema, name: 'contacts' })} WHERE id = 6`);
    });

    it.runIf(engine.name === 'duckdb')('a swap failing at the model, once its companions were renamed over theirs, rolls them back with it', async () => {
      await build(project, connection, 'people');
      const before = await snapshot();
      await connection.execute(sql`INSERT INTO ${d.table({ schema, name: 'contacts' })} VALUES (7, 'g@example.com', '2')`);
      const rename = `ALTER TABLE ${d.table({ schema, name: 'people__tl_build' }).text} RENAME`;
      let renamedBeforeFailing: unknown[] = [];
      // The swap's statements run one by one until the model's own rename, which fails as if DuckDB had refused it.
      const failingRename = (on: Connection): Connection =>
        new Proxy(on, {
          get(target, property) {
            if (property === 'runAtomically')
              return async (statements: readonly Sql[]) => {
                for (const statement of statements) {
                  if (statement.text.startsWith(rename)) {
                    renamedBeforeFailing = (await target.query(sql`SELECT table_name FROM information_schema.tables WHERE table_schema = ${d.string(schema)} ORDER BY 1`)).map((r) => r['table_name']);
                    throw new WarehouseError('injected failure', { statement });
                  }
                  await target.runAtomically([statement]);
                }
              };
            if (property === 'transaction') return <T>(work: (session: Connection) => Promise<T>) => target.transaction!((session) => work(failingRename(session)));
            const value: unknown = Reflect.get(target, property);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      const failed = await attempt(failingRename(connection));
      expect(failed.status).toBe('error');
      // The companions' new tables had replaced theirs inside the transaction; the rollback undid it.
      expect(renamedBeforeFailing).toEqual(expect.arrayContaining(['people_map', 'people_links', 'people__tl_build']));
      expect(renamedBeforeFailing).not.toContain('people__tl_map');
      expect(await snapshot()).toEqual(before);
      expect(await workTables()).toEqual([]);
      await connection.execute(sql`DELETE FROM ${d.table({ schema, name: 'contacts' })} WHERE id = 7`);
    });

    it.runIf(engine.name === 'postgres')('a swap failing on one companion rolls back the others and the model', async () => {
      await build(project, connection, 'people');
      const before = await snapshot();
      await connection.execute(sql`INSERT INTO ${d.table({ schema, name: 'contacts' })} VALUES (5, 'e@example.com', '2')`);
      // A view on the links table: PostgreSQL refuses to drop it, after the map has been replaced in the transaction.
      await connection.execute(sql`CREATE VIEW ${d.table({ schema, name: 'links_view' })} AS SELECT * FROM ${d.table({ schema, name: 'people_links' })}`);
      const failed = await attempt();
      expect(failed.status).toBe('error');
      expect(failed.error).toMatch(/depend/);
      expect(await snapshot()).toEqual(before);
      expect(await connection.query(sql`SELECT COUNT(*) AS n FROM ${people}`)).toEqual([{ n: 2 }]);
      expect(await workTables()).toEqual([]);
      await connection.execute(sql`DROP VIEW ${d.table({ schema, name: 'links_view' })}`);
      await build(project, connection, 'people');
      expect(await connection.query(sql`SELECT COUNT(*) AS n FROM ${people}`)).toEqual([{ n: 3 }]);
    });
  });
}
