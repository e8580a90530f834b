import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { inject } from 'vitest';
import type { Dialect } from '../../src/dialects/dialect.js';
import { DIALECTS } from '../../src/dialects/registry.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { openTarget, type TargetConfig } from '../../src/warehouses/registry.js';
import { tempDir } from './temp-dir.js';

/** The warehouses tests run for real: DuckDB always; PostgreSQL when the global set-up provided a server. */
export const ENGINE_NAMES = ['duckdb', 'postgres'] as const;

/** An engine tests run for real (one of ENGINE_NAMES). */
export interface Engine {
  readonly name: (typeof ENGINE_NAMES)[number];
  readonly dialect: Dialect;
  /** A target config for it (tests write it into tideline.yml or open it directly). */
  readonly target: TargetConfig;
  /** Opens a fresh connection (DuckDB: a new in-memory database; Postgres: the run's throwaway database). */
  open(root?: string): Promise<Connection>;
}

export function pgUrl(): string | null {
  return inject('pgUrl');
}

let warned = false;

/** The engines available in this run; warns loudly (once per worker process: files share their modules) when PostgreSQL is missing. */
export function engines(): Engine[] {
  const list: Engine[] = [
    {
      name: 'duckdb',
      dialect: DIALECTS.duckdb,
      target: { type: 'duckdb', path: ':memory:' },
      open: (root = tempDir('tideline-')) => openTarget({ type: 'duckdb', path: ':memory:' }, { root }),
    },
  ];
  const url = pgUrl();
  if (url) {
    list.push({
      name: 'postgres',
      dialect: DIALECTS.postgres,
      target: { type: 'postgres', url },
      open: (root = tmpdir()) => openTarget({ type: 'postgres', url }, { root }),
    });
  } else if (!warned) {
    warned = true;
    console.warn('[tideline tests] WARNING: PostgreSQL unavailable — the postgres half of this suite is SKIPPED');
  }
  return list;
}

/** A schema name unique to this test, so that parallel test files never share tables. */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** A warehouse a CLI test writes into its project's tideline.yml. */
export interface ProjectSetup {
  readonly name: (typeof ENGINE_NAMES)[number];
  /** The same warehouse, for the test to open directly (seeding tables, reading models). */
  readonly target: TargetConfig;
  /** tideline.yml lines after `name:`. */
  readonly tideline: string;
}

/**
 * The warehouses CLI tests run on: the embedded DuckDB (models in schema `analytics`) and, when available,
 * PostgreSQL with model and state schemas of the test's own. Warns when PostgreSQL is missing, naming `suite`.
 */
export function projectSetups(suite: string): ProjectSetup[] {
  const setups: ProjectSetup[] = [{ name: 'duckdb', target: { type: 'duckdb', path: '.tideline/warehouse.duckdb' }, tideline: 'schema: analytics\n' }];
  const url = pgUrl();
  if (url) {
    setups.push({ name: 'postgres', target: { type: 'postgres', url }, tideline: `targets:\n  pg: { type: postgres, url: "${url}" }\nschema: ${uniqueSchema('mdl')}\nstate_schema: ${uniqueSchema('state')}\n` });
  } else {
    console.warn(`[tideline tests] WARNING: PostgreSQL unavailable — the postgres half of the ${suite} suite is SKIPPED`);
  }
  return setups;
}
