import { expect } from 'vitest';
import { sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { runModels } from '../../src/pipeline/runner.js';
import { analyseProject } from '../../src/project/analyse.js';
import { loadProject, type Project } from '../../src/project/loader.js';
import { SyncEngine } from '../../src/sync/engine.js';
import type { ColumnSpec, Connection, Value } from '../../src/warehouses/connection.js';
import { openTarget } from '../../src/warehouses/registry.js';
import { tempProject } from './cli.js';
import { uniqueSchema, type Engine } from './engines.js';

const logger = createLogger({ level: 'silent' });

/** The schemas of a policy project and its target, as tideline.yml and the model files name them. */
export interface PolicySchemas {
  readonly raw: string;
  readonly schema: string;
  readonly state: string;
  /** The target as YAML: DuckDB in a file of the project, or the engine's PostgreSQL. */
  readonly target: string;
}

/**
 * A throwaway project testing the contact policies (suppressions, preferences, consent) on one engine: its files,
 * written from the schemas, and its raw tables (name, columns, rows) in the `raw` schema, read as sources.
 */
export class PolicyProject {
  connection!: Connection;
  project!: Project;
  root!: string;
  readonly schemas: Omit<PolicySchemas, 'target'> = { raw: uniqueSchema('raw'), schema: uniqueSchema('mdl'), state: uniqueSchema('st') };

  private constructor(private readonly engine: Engine) {}

  static async start(
    engine: Engine,
    files: (schemas: PolicySchemas) => Record<string, string>,
    tables: readonly (readonly [string, readonly ColumnSpec[], readonly Value[][]])[],
    env: Record<string, string>,
  ): Promise<PolicyProject> {
    const p = new PolicyProject(engine);
    const target = engine.name === 'duckdb' ? `{ type: duckdb, path: warehouse.duckdb }` : JSON.stringify(engine.target);
    p.root = tempProject(files({ ...p.schemas, target }));
    p.project = await loadProject({ projectDir: p.root, env });
    await p.reopen();
    const d = p.connection.dialect;
    await p.connection.execute(d.createSchema(p.schemas.raw));
    for (const [name, columns, rows] of tables) {
      await p.connection.execute(d.createTable({ schema: p.schemas.raw, name }, columns));
      await p.connection.insertRows({ schema: p.schemas.raw, name }, columns, [rows]);
    }
    return p;
  }

  /** Opens the warehouse (again, after `connection.close()` let a child process use the DuckDB file). */
  async reopen(): Promise<Connection> {
    this.connection = await openTarget(this.project.target.config, { root: this.root });
    return this.connection;
  }

  /** Builds every model; each must succeed. */
  async build(): Promise<void> {
    const results = await runModels(this.project, this.connection, await analyseProject(this.project, this.connection), this.project.order, { logger });
    expect(results.map((r) => [r.model, r.status, r.error])).toEqual(results.map((r) => [r.model, 'success', null]));
  }

  /** Runs a sync through the real engine; it must not fail. */
  async sync(name: string) {
    const result = await new SyncEngine({ project: this.project, connection: this.connection, logger, journal: { flushMs: 20 } }).run(this.project.syncs.get(name)!);
    expect(result.error, result.error ?? '').toBeNull();
    return result;
  }

  plan(name: string, samples = 5) {
    return new SyncEngine({ project: this.project, connection: this.connection, logger }).plan(this.project.syncs.get(name)!, samples);
  }

  async close(): Promise<void> {
    if (this.engine.name === 'postgres') for (const s of Object.values(this.schemas)) await this.connection.execute(sql`DROP SCHEMA IF EXISTS ${this.connection.dialect.id(s)} CASCADE`);
    await this.connection.close();
  }
}
