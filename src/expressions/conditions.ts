import { z } from 'zod';
import type { Dialect, LogicalType } from '../dialects/dialect.js';
import { joinSql, sql, type Sql } from '../dialects/sql.js';
import type { FieldPath } from '../project/problems.js';

/**
 * Comparisons written in YAML — `{column: status, not_in: [test]}` in a staging model, `{field: order_count,
 * equals: 1}` in an audience — compiled through the dialect. A condition carries exactly one operator.
 */
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const ordered = z.union([z.number(), z.string()]);

export const comparisonShape = {
  equals: scalar.optional(),
  not_equals: scalar.optional().describe('Keeps NULLs: "not cancelled" includes rows whose status is unknown.'),
  in: z.array(scalar).min(1).optional(),
  not_in: z.array(scalar).min(1).optional().describe('Keeps NULLs, like not_equals.'),
  is_null: z.boolean().optional(),
  gt: ordered.optional(),
  gte: ordered.optional(),
  lt: ordered.optional(),
  lte: ordered.optional(),
  between: z.tuple([ordered, ordered]).optional().describe('Inclusive range [low, high].'),
};

export const COMPARISONS = Object.keys(comparisonShape) as (keyof typeof comparisonShape)[];
export type Comparison = { [K in keyof typeof comparisonShape]?: z.infer<(typeof comparisonShape)[K]> };

/** A row filter on a column of the relation being read. */
export const columnConditionSchema = z.strictObject({ column: z.string().min(1), ...comparisonShape });
export type ColumnCondition = z.infer<typeof columnConditionSchema>;

export function comparisonsIn(condition: Comparison): (keyof typeof comparisonShape)[] {
  return COMPARISONS.filter((op) => condition[op] !== undefined);
}

/**
 * Checks one comparison against the type of what it compares (when known) and reports problems at `at`:
 * dates compare with YYYY-MM-DD, timestamps with a date or time, numbers with numbers.
 */
export function checkComparison(condition: Comparison, subject: string, type: LogicalType | undefined, at: FieldPath, report: (at: FieldPath, message: string, code: string) => void): void {
  const ops = comparisonsIn(condition);
  if (ops.length !== 1) {
    report(at, `a condition needs exactly one operator (${COMPARISONS.join(', ')}); found ${ops.length ? ops.join(', ') : 'none'}`, 'bad-condition');
    return;
  }
  const op = ops[0]!;
  if (op === 'is_null') return;
  const values = [condition[op]].flat() as (string | number | boolean)[];
  for (const value of values) {
    const where = [...at, op];
    if (type === 'date' && (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)))
      report(where, `${subject} is a date: compare it with a date written YYYY-MM-DD, not ${JSON.stringify(value)}`, 'wrong-type');
    if (type === 'timestamp' && (typeof value !== 'string' || !parseUtc(value)))
      report(where, `${subject} is a timestamp: compare it with a date or time such as 2024-01-31 or 2024-01-31 12:00:00, not ${JSON.stringify(value)}`, 'wrong-type');
    if ((type === 'integer' || type === 'float' || type === 'decimal') && typeof value !== 'number')
      report(where, `${subject} is numeric: compare it with a number, not ${JSON.stringify(value)}`, 'wrong-type');
    if (type === 'boolean' && typeof value !== 'boolean') report(where, `${subject} is true/false: compare it with true or false, not ${JSON.stringify(value)}`, 'wrong-type');
  }
}

/** The SQL of a comparison applied to `subject` (a column or expression of logical type `type`, when known). */
export function compileComparison(d: Dialect, subject: Sql, condition: Comparison, type: LogicalType | undefined): Sql {
  const lit = (v: string | number | boolean) => typedLiteral(d, v, type);
  const list = (values: readonly (string | number | boolean)[]) => joinSql(values.map(lit));
  const c = condition;
  if (c.equals !== undefined) return sql`${subject} = ${lit(c.equals)}`;
  if (c.not_equals !== undefined) return sql`(${subject} <> ${lit(c.not_equals)} OR ${subject} IS NULL)`;
  if (c.in !== undefined) return sql`${subject} IN (${list(c.in)})`;
  if (c.not_in !== undefined) return sql`(${subject} NOT IN (${list(c.not_in)}) OR ${subject} IS NULL)`;
  if (c.is_null !== undefined) return c.is_null ? sql`${subject} IS NULL` : sql`${subject} IS NOT NULL`;
  if (c.gt !== undefined) return sql`${subject} > ${lit(c.gt)}`;
  if (c.gte !== undefined) return sql`${subject} >= ${lit(c.gte)}`;
  if (c.lt !== undefined) return sql`${subject} < ${lit(c.lt)}`;
  if (c.lte !== undefined) return sql`${subject} <= ${lit(c.lte)}`;
  if (c.between !== undefined) return sql`${subject} BETWEEN ${lit(c.between[0])} AND ${lit(c.between[1])}`;
  throw new Error('a condition without operator reached the compiler; analysis should have reported it');
}

/** A literal matching the compared type, so that date comparisons work on warehouses without implicit casts. */
export function typedLiteral(d: Dialect, value: string | number | boolean, type: LogicalType | undefined): Sql {
  if (typeof value === 'string' && type === 'date') return d.dateLiteral(value);
  if (typeof value === 'string' && type === 'timestamp') {
    const instant = parseUtc(value);
    if (instant) return d.timestampLiteral(instant);
  }
  return d.literal(value);
}

/** A timestamp written in YAML, read as UTC unless it carries an offset; undefined when it is not one. */
export function parseUtc(text: string): Date | undefined {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(text)
    ? `${text}T00:00:00Z`
    : /(Z|[+-]\d\d:?\d\d)$/.test(text)
      ? text.replace(' ', 'T')
      : `${text.replace(' ', 'T')}Z`;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
