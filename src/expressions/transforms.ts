import type { Dialect } from '../dialects/dialect.js';
import { sql, type Sql } from '../dialects/sql.js';

/**
 * Value clean-ups an analyst can chain in YAML (`clean: [trim, lower, empty_to_null]`), each compiled through the
 * dialect. Every transform takes and returns text; callers cast to text first.
 */
export const TRANSFORMS = {
  trim: (d, x) => d.functions.trim(x),
  lower: (d, x) => d.functions.lower(x),
  upper: (d, x) => d.functions.upper(x),
  /** '' → NULL, so that blank cells do not count as values. */
  empty_to_null: (d, x) => sql`NULLIF(${x}, ${d.string('')})`,
  digits_only: (d, x) => d.functions.regexpReplaceAll(x, d.string('[^0-9]'), d.string('')),
  /** Runs of whitespace → one space. */
  collapse_spaces: (d, x) => d.functions.regexpReplaceAll(x, d.string('[[:space:]]+'), d.string(' ')),
  fold_accents: (d, x) => d.fn('foldAccents')(x),
  sha256: (d, x) => d.functions.sha256Hex(x),
  md5: (d, x) => d.functions.md5Hex(x),
} as const satisfies Record<string, (d: Dialect, x: Sql) => Sql>;

export type TransformName = keyof typeof TRANSFORMS;
export const TRANSFORM_NAMES = Object.keys(TRANSFORMS) as [TransformName, ...TransformName[]];

/** Why a transform cannot compile on this dialect, or undefined. */
export function transformProblem(d: Dialect, name: TransformName): string | undefined {
  if (name === 'fold_accents' && d.functions.foldAccents === null) return `fold_accents is not available on ${d.name}`;
  return undefined;
}

export function applyTransforms(d: Dialect, expr: Sql, names: readonly TransformName[]): Sql {
  return names.reduce((acc, name) => TRANSFORMS[name](d, acc), expr);
}
