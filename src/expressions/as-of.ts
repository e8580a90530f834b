import { z } from 'zod';
import type { AnalyseContext } from '../../models/model-kind.js';
import type { Dialect } from '../dialects/dialect.js';
import type { Sql } from '../dialects/sql.js';
import type { FieldPath } from '../project/problems.js';

/**
 * The date a model's relative windows count from: `today` (the warehouse's UTC date at run time), a fixed date for
 * reproducible runs, or a project variable holding either (`{var: as_of}`), so one setting drives every model and a
 * scheduler can pin it through the environment: `vars: {as_of: ${env:AS_OF:-today}}`.
 */
export const asOfSchema = z.union([
  z.literal('today'),
  z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date written YYYY-MM-DD, or today'),
  z.strictObject({ var: z.string().min(1) }),
]);
export type AsOf = z.infer<typeof asOfSchema>;

type Vars = Readonly<Record<string, string | number | boolean>>;

/** What a variable named by `asOf` must hold, or undefined when it is fine (checked where vars are known). */
export function asOfProblem(asOf: AsOf, vars: Vars): string | undefined {
  if (typeof asOf !== 'object') return undefined;
  const value = vars[asOf.var];
  if (value === undefined) return `variable "${asOf.var}" is not defined under \`vars:\` in tideline.yml`;
  if (value !== 'today' && (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)))
    return `variable "${asOf.var}" must hold a date written YYYY-MM-DD or today, not ${JSON.stringify(value)}`;
  return undefined;
}

/** Reports an `as_of` (or calibration end) naming a variable that is missing or not a date. */
export function analyseAsOf(asOf: AsOf, at: FieldPath, context: AnalyseContext): void {
  const problem = asOfProblem(asOf, context.vars);
  if (problem) context.problem(typeof asOf === 'object' ? [...at, 'var'] : at, problem, 'bad-variable');
}

/** The as-of date as a SQL DATE expression. */
export function asOfSql(d: Dialect, asOf: AsOf, vars: Vars): Sql {
  const problem = asOfProblem(asOf, vars);
  if (problem) throw new Error(`as_of: ${problem}`);
  const value = typeof asOf === 'object' ? (vars[asOf.var] as string) : asOf;
  return value === 'today' ? d.currentDate() : d.dateLiteral(value);
}
