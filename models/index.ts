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
 *  3. golden SQL cases under test/golden/cases/ for the kind, executed on DuckDB and Postgres by test/golden;
 *     the registry test counts the kinds.
 */
export const MODEL_KINDS: readonly RegisteredKind[] = [staging, sqlModel, identity, customers, rfm, ltv, audiences, report];

export function modelKind(kind: string): RegisteredKind | undefined {
  return MODEL_KINDS.find((k) => k.kind === kind);
}
