import { customers } from './customers/compile.js';
import { audiences } from './audiences/compile.js';
import { identity } from './identity/compile.js';
import { ltv } from './ltv/compile.js';
import type { RegisteredKind } from './model-kind.js';
import { sqlModel } from './sql/compile.js';
import { report } from './report/compile.js';
import { rfm } from './rfm/compile.js';
import { staging } from './staging/compile.js';

/**
 * Every model kind, one line each. Adding a kind:
 *  1. models/<kind>/schema.ts (zod: the kind's own YAML fields) and compile.ts (`defineModelKind({…})`);
 *  2. one line below;
 *  3. a model of the kind in the golden fixture (test/fixtures/shop-mini/models/): test/golden/golden.test.ts
 *     compiles it for every dialect into test/golden/<model>/<dialect>.sql and runs it on DuckDB and PostgreSQL;
 *     test/registry.test.ts fails while a models/<kind>/ folder is not registered here.
 */
export const MODEL_KINDS: readonly RegisteredKind[] = [staging, sqlModel, identity, customers, rfm, ltv, audiences, report];

export function modelKind(kind: string): RegisteredKind | undefined {
  return MODEL_KINDS.find((k) => k.kind === kind);
}
