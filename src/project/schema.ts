import { z } from 'zod';
import { targetSchema } from '../warehouses/registry.js';
import { objectName } from './names.js';

const pathList = z.union([z.string().min(1).transform((p) => [p]), z.array(z.string().min(1))]);

/** tideline.yml */
export const projectFileSchema = z.strictObject({
  /** Project name, used in logs and run results. */
  name: objectName,
  /** The target used when `--target` is not given. Optional when there is one target, or none (embedded DuckDB). */
  target: z.string().min(1).optional(),
  /** Named warehouse connections. Without any, Tideline uses DuckDB in .tideline/warehouse.duckdb. */
  targets: z.record(z.string().min(1), targetSchema).optional(),
  /** Schema (BigQuery: dataset) where models are built; a target may override it. */
  schema: z.string().min(1).default('tideline'),
  /** Schema where Tideline keeps its own state: sync snapshots, runs, rejected rows, locks. */
  state_schema: z.string().min(1).default('tideline_state'),
  /** Folders holding model files and sync files, relative to the project root. */
  paths: z
    .strictObject({
      models: pathList.default(['models']),
      syncs: pathList.default(['syncs']),
    })
    .prefault({}),
  /** Values available to models (`vars`), e.g. an as-of date for reproducible runs. */
  vars: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()])).default({}),
});
export type ProjectFile = z.infer<typeof projectFileSchema>;

const tableRefSchema = z.union([
  z.string().regex(/^[^.]+(\.[^.]+){0,2}$/, 'a table name: table, schema.table or catalog.schema.table'),
  z.strictObject({ catalog: z.string().min(1).optional(), schema: z.string().min(1).optional(), name: z.string().min(1) }),
]);

export const fileTypeSchema = z.enum(['string', 'integer', 'float', 'decimal', 'boolean', 'date', 'timestamp']);

/** A source: a table that already exists in the warehouse, or (DuckDB) a local CSV/Parquet file read in place. */
export const sourceSchema = z.strictObject({
  name: objectName,
  description: z.string().optional(),
  tags: z.array(z.string().min(1)).default([]),
  /** `schema.table` in the warehouse (or `{schema, name}` for names containing dots). */
  table: tableRefSchema.optional(),
  /** A CSV or Parquet file, relative to the project root (DuckDB targets only). */
  file: z.string().min(1).optional(),
  /** File format; inferred from the extension when left out. */
  format: z.enum(['csv', 'parquet']).optional(),
  /** Column types for a CSV file where automatic detection would be wrong (e.g. phone numbers with a leading 0). */
  types: z.record(z.string().min(1), fileTypeSchema).optional(),
});
export type SourceFileEntry = z.infer<typeof sourceSchema>;

/** The fields every model has, whatever its kind. */
export const modelCommonShape = {
  name: objectName,
  kind: z.string().min(1),
  description: z.string().optional(),
  tags: z.array(z.string().min(1)).default([]),
  /** `false` keeps the model in the project but skips building it. */
  enabled: z.boolean().default(true),
};

/** A file under paths.models: sources and models, each a list. */
export const modelFileSchema = z.strictObject({
  sources: z.array(z.unknown()).optional(),
  models: z.array(z.unknown()).optional(),
});
