import type { z } from 'zod';
import type { Dialect } from '../dialects/dialect.js';
import type { Connection } from './connection.js';

export interface OpenContext {
  /** Project root: relative paths in a target (DuckDB file, key files) are resolved from it. */
  readonly root: string;
  /**
   * Open for reading only. Embedded DuckDB then takes a shared hold on its file: several readers at once, but no
   * writer beside them (nor a reader beside a writer); a file not created yet reads as an empty database, said
   * through `notice`, and is not created. Warehouses on a server ignore it.
   */
  readonly readOnly?: boolean;
  /** Something the user should know about how the warehouse was opened (the CLI logs it). */
  readonly notice?: (message: string) => void;
}

/** What every entry under `targets:` has: the `type` naming its warehouse. */
export interface TargetBase {
  readonly type: string;
}

/**
 * The Warehouse contract: one warehouse's whole registration, defined in src/warehouses/<name>/warehouse.ts and
 * listed by one line in registry.ts. It joins the two halves of a warehouse, its SQL (the dialect) and its
 * connection, under the `type` its targets are written with.
 */
export interface Warehouse<T extends TargetBase = TargetBase> {
  /** The `type:` of its targets in tideline.yml, and its dialect's name. */
  readonly type: T['type'];
  /** Its SQL, one instance shared by every target of this type. */
  readonly dialect: Dialect & { readonly name: T['type'] };
  /**
   * One entry under `targets:`: a strict object whose `type` is the literal above, every field `.describe`d (the
   * YAML reference, docs/reference.md, is generated from it). The registry joins these into one union on `type`.
   */
  readonly schema: z.ZodType<T> & z.core.$ZodTypeDiscriminable;
  /** Values of the target that must never be printed. */
  secrets(target: T): string[];
  /** The schema (dataset) where models are built, when the target overrides the project's `schema`. */
  modelSchema(target: T): string | undefined;
  /**
   * Opens a connection. The SDK is imported inside, lazily (`await import('./connection.js')`), so that it loads
   * only when a target of this type is used: a DuckDB user never loads the BigQuery client.
   */
  open(target: T, context: OpenContext): Promise<Connection>;
}

/** Types a warehouse's registration (the target type is inferred from its schema). */
export function defineWarehouse<T extends TargetBase>(warehouse: Warehouse<T>): Warehouse<T> {
  return warehouse;
}
