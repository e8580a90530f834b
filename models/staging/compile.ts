import type { Dialect, LogicalType } from '../../src/dialects/dialect.js';
import { Sql, indentSql, joinSql, sql } from '../../src/dialects/sql.js';
import { applyTransforms, transformProblem, type TransformName } from '../../src/compile/transforms.js';
import type { FieldPath } from '../../src/project/problems.js';
import { defineModelKind, type AnalyseContext, type ColumnRef, type CompileContext, type InputRef, type OutputColumn } from '../model-kind.js';
import { OPERATORS, stagingSchema, type Condition, type StagingSpec } from './schema.js';

/** A resolved output column: where it comes from and how it is shaped. */
interface ColumnPlan {
  readonly name: string;
  readonly from?: string;
  readonly sql?: string;
  readonly type?: LogicalType;
  readonly clean: readonly TransformName[];
  readonly at: FieldPath;
}

function columnPlans(spec: StagingSpec): ColumnPlan[] | undefined {
  if (!spec.columns) return undefined;
  return Object.entries(spec.columns).map(([name, column]) => {
    const at = ['columns', name];
    if (typeof column === 'string') return { name, from: column, clean: [], at };
    return {
      name,
      ...(column.sql !== undefined ? { sql: column.sql } : { from: column.from ?? name }),
      ...(column.type ? { type: column.type } : {}),
      clean: column.clean ?? [],
      at,
    };
  });
}

function dedupeKeys(spec: StagingSpec): string[] {
  const key = spec.deduplicate?.key;
  return key === undefined ? [] : typeof key === 'string' ? [key] : key;
}

function operatorOf(condition: Condition): (typeof OPERATORS)[number][] {
  return OPERATORS.filter((op) => condition[op] !== undefined);
}

export const staging = defineModelKind<StagingSpec>({
  kind: 'staging',
  summary: 'Clean a source: pick, rename, cast and normalise columns, filter rows, keep one row per key',
  schema: stagingSchema,

  inputs(spec): InputRef[] {
    const columns: ColumnRef[] = [];
    for (const plan of columnPlans(spec) ?? []) if (plan.from !== undefined) columns.push({ name: plan.from, at: typeof spec.columns?.[plan.name] === 'string' ? plan.at : [...plan.at, 'from'] });
    (spec.where ?? []).forEach((condition, i) => columns.push({ name: condition.column, at: ['where', i, 'column'] }));
    return [{ relation: spec.from, at: ['from'], columns }];
  },

  analyse(spec, context): readonly OutputColumn[] | undefined {
    const input = context.columnsOf(spec.from);
    const plans = columnPlans(spec);
    const outputs: readonly OutputColumn[] | undefined = plans
      ? plans.map((p) => ({
          name: p.name,
          type: p.type ?? (p.clean.length ? 'string' : p.from !== undefined ? input?.find((c) => context.dialect.identifierKey(c.name) === context.dialect.identifierKey(p.from!))?.type : undefined),
        }))
      : input;

    for (const plan of plans ?? []) {
      const column = spec.columns?.[plan.name];
      if (typeof column === 'object' && column.sql !== undefined && column.from !== undefined)
        context.problem(plan.at, 'give either `from` (an input column) or `sql` (an expression), not both', 'conflicting-fields');
      for (const name of plan.clean) {
        const problem = transformProblem(context.dialect, name);
        if (problem) context.problem([...plan.at, 'clean'], problem, 'unsupported');
      }
    }
    (spec.where ?? []).forEach((condition, i) => {
      const ops = operatorOf(condition);
      if (ops.length !== 1) {
        context.problem(['where', i], `a condition needs exactly one operator (${OPERATORS.join(', ')}); found ${ops.length ? ops.join(', ') : 'none'}`, 'bad-condition');
        return;
      }
      const type = input?.find((c) => context.dialect.identifierKey(c.name) === context.dialect.identifierKey(condition.column))?.type;
      const op = ops[0]!;
      const values = [condition[op]].flat().filter((v): v is string | number | boolean => typeof v !== 'boolean' || op !== 'is_null');
      for (const value of values) {
        if (type === 'date' && (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)))
          context.problem(['where', i, op], `column "${condition.column}" is a date: compare it with a date written YYYY-MM-DD, not ${JSON.stringify(value)}`, 'wrong-type');
        if (type === 'timestamp' && (typeof value !== 'string' || !parseUtc(value)))
          context.problem(['where', i, op], `column "${condition.column}" is a timestamp: compare it with a date or time such as 2024-01-31 or 2024-01-31 12:00:00, not ${JSON.stringify(value)}`, 'wrong-type');
        if ((type === 'integer' || type === 'float' || type === 'decimal') && typeof value !== 'number')
          context.problem(['where', i, op], `column "${condition.column}" is numeric: compare it with a number, not ${JSON.stringify(value)}`, 'wrong-type');
      }
    });
    if (spec.deduplicate) {
      if (!outputs) {
        context.problem(['deduplicate'], 'deduplicating needs the output columns: list them under `columns`, or validate with the warehouse reachable', 'unknown-columns');
      } else {
        const known = new Set(outputs.map((c) => context.dialect.identifierKey(c.name)));
        const refs: [string, FieldPath][] = [
          ...dedupeKeys(spec).map((k, i): [string, FieldPath] => [k, typeof spec.deduplicate!.key === 'string' ? ['deduplicate', 'key'] : ['deduplicate', 'key', i]]),
          [spec.deduplicate.by, ['deduplicate', 'by']],
        ];
        for (const [name, at] of refs)
          if (!known.has(context.dialect.identifierKey(name))) context.problem(at, `unknown output column "${name}"; deduplicate refers to the model's own columns (${outputs.map((c) => c.name).join(', ')})`, 'unknown-column');
      }
    }
    return outputs;
  },

  compile(spec, context): { steps: { kind: 'sql'; label: string; sql: Sql }[] } {
    const d = context.dialect;
    const inputTypes = new Map((context.columnsOf(spec.from) ?? []).map((c) => [d.identifierKey(c.name), c.type]));
    const plans = columnPlans(spec);
    const projection = plans
      ? joinSql(plans.map((p) => sql`${projectColumn(d, p)} AS ${d.id(p.name)}`), Sql.trusted(',\n'))
      : Sql.trusted('*');
    const where = spec.where?.length
      ? sql`\nWHERE ${joinSql(spec.where.map((c) => condition(d, c, inputTypes.get(d.identifierKey(c.column)))), Sql.trusted('\n  AND '))}`
      : Sql.trusted('');
    const projected = sql`SELECT\n${indentSql(projection)}\nFROM ${context.relation(spec.from)} AS src${where}`;

    let select = projected;
    if (spec.deduplicate) {
      const names = plans ? plans.map((p) => p.name) : (context.columnsOf(spec.from) ?? []).map((c) => c.name);
      const direction = Sql.trusted(spec.deduplicate.keep === 'latest' ? 'DESC' : 'ASC');
      const tieBreak = names.filter((n) => n !== spec.deduplicate!.by).map((n) => sql`${d.id(n)} ASC NULLS LAST`);
      const order = joinSql([sql`${d.id(spec.deduplicate.by)} ${direction} NULLS LAST`, ...tieBreak]);
      const partition = joinSql(dedupeKeys(spec).map((k) => d.id(k)));
      const rank = d.id('__tideline_rank');
      // NULL is nobody's duplicate: rows without a key are all kept.
      const nullKey = joinSql(dedupeKeys(spec).map((k) => sql`${d.id(k)} IS NULL`), Sql.trusted(' OR '));
      select = sql`SELECT ${joinSql(names.map((n) => d.id(n)))}
FROM (
  SELECT projected.*, ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY ${order}) AS ${rank}
  FROM (
${indentSql(projected, 4)}
  ) AS projected
) AS ranked
WHERE ${rank} = 1 OR ${nullKey}`;
    }
    return { steps: [{ kind: 'sql', label: 'build', sql: d.createTableAs(context.output, select) }] };
  },
});

function projectColumn(d: Dialect, plan: ColumnPlan): Sql {
  let expr = plan.sql !== undefined ? Sql.userExpression(plan.sql) : d.id(plan.from!);
  if (plan.clean.length) expr = applyTransforms(d, d.cast(expr, 'string'), plan.clean);
  return plan.type ? d.cast(expr, plan.type) : expr;
}

/** A literal matching the column's type, so that date comparisons work on warehouses without implicit casts. */
function typedLiteral(d: Dialect, value: string | number | boolean, type: LogicalType | undefined): Sql {
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

function condition(d: Dialect, c: Condition, type: LogicalType | undefined): Sql {
  const column = d.id(c.column);
  const lit = (v: string | number | boolean) => typedLiteral(d, v, type);
  const list = (values: readonly (string | number | boolean)[]) => joinSql(values.map(lit));
  if (c.equals !== undefined) return sql`${column} = ${lit(c.equals)}`;
  if (c.not_equals !== undefined) return sql`(${column} <> ${lit(c.not_equals)} OR ${column} IS NULL)`;
  if (c.in !== undefined) return sql`${column} IN (${list(c.in)})`;
  if (c.not_in !== undefined) return sql`(${column} NOT IN (${list(c.not_in)}) OR ${column} IS NULL)`;
  if (c.is_null !== undefined) return c.is_null ? sql`${column} IS NULL` : sql`${column} IS NOT NULL`;
  if (c.gt !== undefined) return sql`${column} > ${lit(c.gt)}`;
  if (c.gte !== undefined) return sql`${column} >= ${lit(c.gte)}`;
  if (c.lt !== undefined) return sql`${column} < ${lit(c.lt)}`;
  if (c.lte !== undefined) return sql`${column} <= ${lit(c.lte)}`;
  throw new Error('condition without operator reached the compiler; analyse should have reported it');
}
