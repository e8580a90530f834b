import { z } from 'zod';
import type { DialectName } from '../dialects/dialect.js';
import { bigquerySecrets, bigqueryTargetSchema, type BigQueryTarget } from './bigquery/config.js';
import type { Connection } from './connection.js';
import { duckdbSecrets, duckdbTargetSchema, type DuckDbTarget } from './duckdb/config.js';
import { postgresSecrets, postgresTargetSchema, type PostgresTarget } from './postgres/config.js';
import { snowflakeSecrets, snowflakeTargetSchema, type SnowflakeTarget } from './snowflake/config.js';

export interface OpenContext {
  /** Project root: relative paths in a target (DuckDB file, key files) are resolved from it. */
  readonly root: string;
}

/**
 * One entry per warehouse. The SDK is imported inside `open`, so it loads only when that target is used.
 * Adding a warehouse: src/warehouses/<name>/{config,connection}.ts, a dialect (src/dialects/registry.ts), and one
 * entry here; the connection contract suite in test/ then runs against it where it can be reached.
 */
export interface WarehouseEntry<T extends { type: string }> {
  readonly dialect: DialectName;
  readonly schema: z.ZodType<T>;
  /** Values of the target that must never be printed. */
  secrets(target: T): string[];
  /** The schema override for models, when the target sets one. */
  modelSchema(target: T): string | undefined;
  open(target: T, context: OpenContext): Promise<Connection>;
}

export const WAREHOUSES = {
  duckdb: {
    dialect: 'duckdb',
    schema: duckdbTargetSchema,
    secrets: duckdbSecrets,
    modelSchema: (t) => t.schema,
    open: async (t, context) => (await import('./duckdb/connection.js')).openDuckDb(t, context),
  } satisfies WarehouseEntry<DuckDbTarget>,
  postgres: {
    dialect: 'postgres',
    schema: postgresTargetSchema,
    secrets: postgresSecrets,
    modelSchema: (t) => t.schema,
    open: async (t) => (await import('./postgres/connection.js')).openPostgres(t),
  } satisfies WarehouseEntry<PostgresTarget>,
  bigquery: {
    dialect: 'bigquery',
    schema: bigqueryTargetSchema,
    secrets: bigquerySecrets,
    modelSchema: (t) => t.dataset,
    open: async (t, context) => (await import('./bigquery/connection.js')).openBigQuery(t, context),
  } satisfies WarehouseEntry<BigQueryTarget>,
  snowflake: {
    dialect: 'snowflake',
    schema: snowflakeTargetSchema,
    secrets: snowflakeSecrets,
    modelSchema: (t) => t.schema,
    open: async (t, context) => (await import('./snowflake/connection.js')).openSnowflake(t, context),
  } satisfies WarehouseEntry<SnowflakeTarget>,
} as const;

export type WarehouseType = keyof typeof WAREHOUSES;
export type TargetConfig = DuckDbTarget | PostgresTarget | BigQueryTarget | SnowflakeTarget;

/** The zod schema of one entry under `targets:` in tideline.yml. */
export const targetSchema = z.discriminatedUnion('type', [duckdbTargetSchema, postgresTargetSchema, bigqueryTargetSchema, snowflakeTargetSchema]);

function entryOf(target: TargetConfig): WarehouseEntry<TargetConfig> {
  return WAREHOUSES[target.type] as unknown as WarehouseEntry<TargetConfig>;
}

export function dialectOfTarget(target: TargetConfig): DialectName {
  return entryOf(target).dialect;
}

export function secretsOfTarget(target: TargetConfig): string[] {
  return entryOf(target).secrets(target);
}

export function modelSchemaOfTarget(target: TargetConfig): string | undefined {
  return entryOf(target).modelSchema(target);
}

export function openTarget(target: TargetConfig, context: OpenContext): Promise<Connection> {
  return entryOf(target).open(target, context);
}
