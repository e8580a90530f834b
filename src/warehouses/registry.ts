import { z } from 'zod';
import { bigquery } from './bigquery/warehouse.js';
import type { Connection } from './connection.js';
import { duckdb } from './duckdb/warehouse.js';
import { postgres } from './postgres/warehouse.js';
import { snowflake } from './snowflake/warehouse.js';
import type { OpenContext, TargetBase, Warehouse } from './warehouse.js';

/**
 * Every warehouse, one line each. Adding one is a folder src/warehouses/<name>/ and a line here:
 *  1. dialect.ts: a class extending Dialect (src/dialects/dialect.ts) named <name>: capabilities, types, the full
 *     FunctionMap, quoting;
 *  2. config.ts: the zod schema of its targets (strict, `type: z.literal('<name>')`, each field `.describe`d) and the
 *     values of a target never to print;
 *  3. connection.ts: the Connection contract (connection.ts) over the warehouse's SDK;
 *  4. warehouse.ts: `defineWarehouse({ type, dialect, schema, secrets, modelSchema, open })`, `open` importing
 *     connection.ts lazily;
 *  5. its line below. DialectName, DIALECTS, the `targets:` schema, docs/reference.md and every suite that loops over
 *     warehouses (registry checks, hostile identifiers, golden SQL) take it from here;
 *  6. what only a person can write, each asked for by a failing test (`npm test`): its quoting rules in
 *     test/hostile-identifiers.test.ts (LEXERS), where its connection is checked in test/connection-contract.test.ts
 *     (CHECKED), and a target named <name> in every golden project: the tideline.yml of each folder of test/fixtures/,
 *     and the targets the golden suites of models/report and models/audiences write. Then `UPDATE_GOLDEN=1 npx vitest
 *     run test/golden test/sync-golden test/dialect-semantics models` writes its golden SQL (read it),
 *     and `npm run docs` its reference section.
 * test/checklists.test.ts follows these steps with a throwaway warehouse defined in the test.
 */
export const WAREHOUSES = [duckdb, postgres, bigquery, snowflake] as const;

/** A warehouse of any target type: how code that does not know which one holds it. */
export type AnyWarehouse = Warehouse<TargetBase>;
export type WarehouseType = (typeof WAREHOUSES)[number]['type'];
type TargetOf<W> = W extends Warehouse<infer T> ? T : never;
/** One entry under `targets:`, as parsed: the union of the registered warehouses' target configs. */
export type TargetConfig = TargetOf<(typeof WAREHOUSES)[number]>;

/** The zod schema of one entry under `targets:` for these warehouses: their schemas, joined on `type`. */
export function targetSchemaOf(warehouses: readonly AnyWarehouse[]): z.ZodType<TargetBase> {
  const [first, ...rest] = warehouses.map((w) => w.schema);
  if (!first) throw new Error('no warehouse is registered');
  return z.discriminatedUnion('type', [first, ...rest]);
}

/** The zod schema of one entry under `targets:` in tideline.yml. */
// The union of the registered schemas parses exactly the registered configs, which TargetConfig is the type of.
export const targetSchema = targetSchemaOf(WAREHOUSES) as z.ZodType<TargetConfig>;

/** The registration of a target's warehouse, among `warehouses` (the registered ones by default). */
export function warehouseOf(target: TargetBase, warehouses: readonly AnyWarehouse[] = WAREHOUSES): AnyWarehouse {
  const warehouse = warehouses.find((w) => w.type === target.type);
  if (!warehouse) throw new Error(`unknown warehouse type "${target.type}"; types: ${warehouses.map((w) => w.type).join(', ')}`);
  return warehouse;
}

export function openTarget(target: TargetConfig, context: OpenContext): Promise<Connection> {
  return warehouseOf(target).open(target, context);
}
