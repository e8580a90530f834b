import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CONTRACT_MAPPING } from '../../destinations/emulator-kit/contract.js';
import { runModels } from '../../src/pipeline/runner.js';
import { joinSql, sql } from '../../src/dialects/sql.js';
import { eraseAtDestination, type ErasureResult } from '../../src/privacy/erase.js';
import { createLogger } from '../../src/log/logger.js';
import { analyseProject } from '../../src/project/analyse.js';
import { loadProject, type Project, type Registries } from '../../src/project/loader.js';
import { SyncEngine, type EngineOptions, type SyncResult, type SyncRunOptions } from '../../src/sync/engine.js';
import type { ColumnSpec, Connection } from '../../src/warehouses/connection.js';
import { openTarget, type TargetConfig } from '../../src/warehouses/registry.js';
import { uniqueSchema, type Engine } from './engines.js';
import { tempDir } from './temp-dir.js';

/** A person of the test model. */
export interface Person {
  readonly id: number;
  readonly email: string | null;
  readonly first_name: string | null;
  readonly orders: number;
}

/** Columns of raw.people holding people. */
const PERSON_COLUMNS: readonly ColumnSpec[] = [
  { name: 'id', type: 'integer' },
  { name: 'email', type: 'string' },
  { name: 'first_name', type: 'string' },
  { name: 'orders', type: 'integer' },
];

export function people(count: number, start = 1): Person[] {
  return Array.from({ length: count }, (_, i) => {
    const id = start + i;
    return { id, email: `person${id}@example.com`, first_name: `Name ${id}`, orders: id % 7 };
  });
}

/** The contract mapping of a person, as the destination should hold it (nulls left out: null_policy skip). */
export function expected(rows: readonly Person[]): Map<string, Record<string, unknown>> {
  return new Map(
    rows.map((p) => [
      String(p.id),
      Object.fromEntries(Object.entries({ email: p.email, first_name: p.first_name, orders: p.orders }).filter(([, v]) => v !== null)),
    ]),
  );
}

export interface HarnessOptions {
  /** The warehouse: DuckDB in a file of the project by default. */
  readonly engine?: Engine;
  readonly destinations: readonly Record<string, unknown>[];
  readonly syncs: readonly Record<string, unknown>[];
  /** The source rows: people by default, or rows of `columns` (by column name). */
  readonly rows: readonly object[];
  /** Columns of raw.people when the rows are not people (the contract suite's contacts, for instance). */
  readonly columns?: readonly ColumnSpec[];
  /** Environment variables for ${env:…} references in the project. */
  readonly env?: Readonly<Record<string, string>>;
  /** Registries the project is read against, when a test adds a throwaway destination (see LoadOptions.registries). */
  readonly registries?: Partial<Registries>;
  /** More of tideline.yml (a `pressure:` policy, `suppressions:`). */
  readonly config?: Readonly<Record<string, unknown>>;
}

/**
 * A throwaway project whose model `people` (staging over the table raw.people) is synced by the given syncs. The
 * test changes the rows with `setRows` (the model is rebuilt) and runs syncs through the real engine.
 */
export class SyncHarness {
  project!: Project;
  connection!: Connection;
  readonly logger = createLogger({ level: process.env['TIDELINE_TEST_LOG'] === '1' ? 'debug' : 'silent' });
  readonly root = tempDir('tideline-sync-');
  readonly schemas = { source: uniqueSchema('src'), model: uniqueSchema('mdl'), state: uniqueSchema('state') };

  private constructor(private readonly options: HarnessOptions) {}

  static async start(options: HarnessOptions): Promise<SyncHarness> {
    const harness = new SyncHarness(options);
    await harness.writeProject(options.destinations, options.syncs);
    harness.connection = await openTarget(harness.project.target.config, { root: harness.root });
    const d = harness.connection.dialect;
    await harness.connection.execute(d.createSchema(harness.schemas.source));
    await harness.connection.execute(d.createTable({ schema: harness.schemas.source, name: 'people' }, harness.columns));
    await harness.setRows(options.rows);
    return harness;
  }

  /** Opens the warehouse again after `connection.close()` (a child process needed the DuckDB file meanwhile). */
  async reopen(): Promise<void> {
    this.connection = await openTarget(this.project.target.config, { root: this.root });
  }

  /** Columns of raw.people. */
  get columns(): readonly ColumnSpec[] {
    return this.options.columns ?? PERSON_COLUMNS;
  }

  get target(): TargetConfig {
    return this.options.engine?.target.type === 'postgres' ? this.options.engine.target : { type: 'duckdb', path: 'warehouse.duckdb' };
  }

  /** Rewrites the project files (syncs and destinations) and reloads the project. */
  async writeProject(destinations: readonly Record<string, unknown>[], syncs: readonly Record<string, unknown>[]): Promise<void> {
    const files = {
      'tideline.yml': stringify({ name: 'sync_test', schema: this.schemas.model, state_schema: this.schemas.state, targets: { main: this.target }, target: 'main', ...this.options.config }),
      'models/people.yml': stringify({
        sources: [{ name: 'raw_people', table: `${this.schemas.source}.people` }],
        models: [{ name: 'people', kind: 'staging', from: 'raw_people' }],
      }),
      'syncs/syncs.yml': stringify({ destinations, syncs }),
    };
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(this.root, path, '..'), { recursive: true });
      writeFileSync(join(this.root, path), content);
    }
    this.project = await loadProject({ projectDir: this.root, env: { ...this.options.env }, registries: this.options.registries });
  }

  /** Replaces the source rows and rebuilds the model. */
  async setRows(rows: readonly object[]): Promise<void> {
    const d = this.connection.dialect;
    const table = { schema: this.schemas.source, name: 'people' };
    await this.connection.execute(sql`DELETE FROM ${d.table(table)} WHERE 1 = 1`);
    const columns = this.columns;
    await this.connection.insertRows(table, columns, [rows.map((row) => columns.map((c) => ((row as Record<string, unknown>)[c.name] ?? null) as string | number | null))]);
    const analysis = await analyseProject(this.project, this.connection);
    const results = await runModels(this.project, this.connection, analysis, this.project.order, { logger: this.logger });
    if (results.some((r) => r.status !== 'success')) throw new Error(`model build failed: ${results.map((r) => r.error).join('; ')}`);
  }

  engine(options: Partial<EngineOptions> = {}): SyncEngine {
    return new SyncEngine({ project: this.project, connection: this.connection, logger: this.logger, journal: { flushMs: 50 }, ...options });
  }

  async sync(name: string, options: SyncRunOptions = {}, engine: Partial<EngineOptions> = {}): Promise<SyncResult> {
    const sync = this.project.syncs.get(name);
    if (!sync) throw new Error(`no sync ${name}`);
    return this.engine(engine).run(sync, options);
  }

  /**
   * Erases records of a sync at its destination as `tideline forget` does (src/privacy/erase.ts), reading what the
   * snapshot holds of each key (the destination's id, the retained fields).
   */
  async erase(name: string, keys: readonly string[]): Promise<ErasureResult> {
    const sync = this.project.syncs.get(name);
    if (!sync) throw new Error(`no sync ${name}`);
    const store = this.engine().store;
    const d = store.dialect;
    const rows = await this.connection.query(
      sql`SELECT ${d.id('record_key')}, ${d.id('destination_id')}, ${d.id('retained')} FROM ${d.table(store.snapshot(name))} WHERE ${d.id('record_key')} IN (${joinSql(keys.map((k) => d.string(k)))}) ORDER BY ${d.id('record_key')}`,
    );
    const records = rows.map((r) => ({ key: String(r['record_key']), destinationId: (r['destination_id'] as string | null) ?? null, retained: (r['retained'] as string | null) ?? null }));
    return eraseAtDestination({ project: this.project, connection: this.connection, sync, config: sync.destination.config, records, runId: `forget-${Date.now()}`, log: this.logger });
  }

  async close(): Promise<void> {
    if (this.target.type === 'postgres') {
      const d = this.connection.dialect;
      for (const schema of Object.values(this.schemas)) await this.connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(schema)} CASCADE`);
    }
    await this.connection.close();
  }
}

/**
 * A sync entry of the contract mapping (key external_id ← id; email, first_name, orders), or of another `mapping`
 * (a contract kit's shape): key ← id, each field ← the model column of the same name.
 */
export function contractSync(
  name: string,
  destination: string,
  object: string,
  mode: string,
  options: Record<string, unknown> = {},
  mapping: { readonly keyField: string; readonly fields: readonly string[] } = CONTRACT_MAPPING,
): Record<string, unknown> {
  return {
    name,
    model: 'people',
    destination,
    object,
    mode,
    key: { from: 'id', field: mapping.keyField },
    fields: Object.fromEntries(mapping.fields.map((f) => [f, f])),
    ...(Object.keys(options).length ? { options } : {}),
  };
}
