import { customers } from './customers/kind.js';
import { audiences } from './audiences/kind.js';
import { identity } from './identity/kind.js';
import { ltv } from './ltv/kind.js';
import type { RegisteredKind } from './model-kind.js';
import { sqlModel } from './sql/kind.js';
import { report } from './report/kind.js';
import { rfm } from './rfm/kind.js';
import { staging } from './staging/kind.js';

/**
 * Every model kind, one line each. Adding a kind:
 *  1. models/<kind>/schema.ts (zod: the kind's own YAML fields) and kind.ts (`defineModelKind({…})`, its Spec being
 *     what its schema produces: a schema and code that disagree do not type-check);
 *  2. if the kind has commands of its own, models/<kind>/cli.ts exporting its `KindCommands<Spec>`, named in kind.ts
 *     by `cli: () => import('./cli.js').then((m) => m.…)`: `tideline` lists them, and they receive the kind's models
 *     with their spec typed;
 *  3. one line below;
 *  4. a model of the kind in the golden fixture (test/fixtures/shop-mini/models/): test/golden/golden.test.ts
 *     builds it on DuckDB and PostgreSQL and keeps its script for the dialects no test runs (BigQuery, Snowflake)
 *     in test/golden/<model>/<dialect>.sql; tests of its own (models/<kind>/*.test.ts) check its results against
 *     values worked out by hand. test/registry.test.ts fails while a models/<kind>/ folder is not registered here.
 * test/kind-plugin.test.ts follows steps 1–3 for a kind with a command, defined in the test and given to loadProject
 * (LoadOptions.registries) and buildProgram (src/cli/program.ts) in a list of kinds rather than by a line here.
 */
export const MODEL_KINDS: readonly RegisteredKind[] = [staging, sqlModel, identity, customers, rfm, ltv, audiences, report];

export function modelKind(kind: string, kinds: readonly RegisteredKind[] = MODEL_KINDS): RegisteredKind | undefined {
  return kinds.find((k) => k.kind === kind);
}
