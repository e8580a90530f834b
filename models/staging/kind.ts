import type { Dialect, LogicalType } from '../../src/dialects/dialect.js';
import { Sql, indentSql, joinSql, sql } from '../../src/dialects/sql.js';
import { applyTransforms, transformProblem, type TransformName } from '../../src/expressions/transforms.js';
import type { FieldPath } from '../../src/project/problems.js';
import { defineModelKind, type AnalyseContext, type ColumnRef, type PlanContext, type InputRef, type OutputColumn } from '../model-kind.js';
import { checkComparison, compileComparison } from '../../src/expressions/conditions.js';
import { stagingSchema, type StagingSpec } from './schema.js';

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
      const type = input?.find((c) => context.dialect.identifierKey(c.name) === context.dialect.identifierKey(condition.column))?.type;
      checkComparison(condition, `column "${condition.column}"`, type, ['where', i], (at, message, code) => context.problem(at, message, code));
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

  plan(spec, context): { steps: { kind: 'sql'; label: string; sql: Sql }[] } {
    const d = context.dialect;
    const inputTypes = new Map((context.columnsOf(spec.from) ?? []).map((c) => [d.identifierKey(c.name), c.type]));
    const plans = columnPlans(spec);
    const projection = plans
      ? joinSql(plans.map((p) => sql`${projectColumn(d, p)} AS ${d.id(p.name)}`), sql`,\n`)
      : sql`*`;
    const where = spec.where?.length
      ? sql`\nWHERE ${joinSql(spec.where.map((c) => compileComparison(d, d.id(c.column), c, inputTypes.get(d.identifierKey(c.column)))), sql`\n  AND `)}`
      : Sql.empty;
    const projected = sql`SELECT\n${indentSql(projection)}\nFROM ${context.relation(spec.from)} AS src${where}`;

    let select = projected;
    if (spec.deduplicate) {
      const names = plans ? plans.map((p) => p.name) : (context.columnsOf(spec.from) ?? []).map((c) => c.name);
      const direction = spec.deduplicate.keep === 'latest' ? sql`DESC` : sql`ASC`;
      const tieBreak = names.filter((n) => n !== spec.deduplicate!.by).map((n) => sql`${d.id(n)} ASC NULLS LAST`);
      const order = joinSql([sql`${d.id(spec.deduplicate.by)} ${direction} NULLS LAST`, ...tieBreak]);
      const partition = joinSql(dedupeKeys(spec).map((k) => d.id(k)));
      const rank = d.id('__tideline_rank');
      // NULL is nobody's duplicate: rows without a key are all kept.
      const nullKey = joinSql(dedupeKeys(spec).map((k) => sql`${d.id(k)} IS NULL`), sql` OR `);
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
