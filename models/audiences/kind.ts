import type { Dialect, LogicalType, TableRef } from '../../src/dialects/dialect.js';
import { indentSql, joinSql, Sql, sql } from '../../src/dialects/sql.js';
import { analyseAsOf, asOfSql, type AsOf } from '../../src/expressions/as-of.js';
import { checkComparison, compileComparison, comparisonsIn } from '../../src/expressions/conditions.js';
import type { Duration } from '../../src/expressions/durations.js';
import type { FieldPath } from '../../src/project/problems.js';
import { didYouMean } from '../../src/project/suggest.js';
import {
  defineModelKind,
  type AnalyseContext,
  type ColumnRef,
  type CompanionTables,
  type PlanContext,
  type InputRef,
  type ModelSummary,
  type OutputColumn,
  type SummaryContext,
} from '../model-kind.js';
import {
  audiencesSchema,
  RELATIVE_DATES,
  type AudienceSpec,
  type AudiencesSpec,
  type Channel,
  type Condition,
  type CountCondition,
  type EventCondition,
  type FieldCondition,
  type PercentileCondition,
} from './schema.js';

/** Columns the membership table adds before the customer's own columns. */
export const MEMBERSHIP_COLUMNS = ['audience', 'audience_status', 'audience_group', 'audience_channel', 'audience_priority', 'audience_entered_at'] as const;

/** `audience_status` values: only `member` rows outside the holdout are ever synced. */
export const STATUS = { member: 'member', noConsent: 'no_consent', capped: 'capped' } as const;
export const HOLDOUT = 'holdout';
export const TREATMENT = 'treatment';

/** Hash buckets per audience: holdouts and splits are set in hundredths of a percent. */
const BUCKETS = 10_000;

// ---------------------------------------------------------------------------------------------------------------
// Walking the condition tree

type Leaf =
  | { readonly kind: 'field'; readonly c: FieldCondition; readonly at: FieldPath }
  | { readonly kind: 'percentile'; readonly c: PercentileCondition; readonly at: FieldPath }
  | { readonly kind: 'event'; readonly c: EventCondition; readonly at: FieldPath }
  | { readonly kind: 'audience'; readonly name: string; readonly at: FieldPath };

function whereOf(audience: AudienceSpec): Condition | undefined {
  const where = audience.where;
  if (where === undefined) return undefined;
  return Array.isArray(where) ? { all: where } : (where as Condition);
}

/** Every leaf of an audience's condition, with its YAML path relative to the audience. */
function leaves(condition: Condition | undefined, at: FieldPath, out: Leaf[] = []): Leaf[] {
  if (condition === undefined) return out;
  if ('all' in condition) condition.all.forEach((c, i) => leaves(c, [...at, 'all', i], out));
  else if ('any' in condition) condition.any.forEach((c, i) => leaves(c, [...at, 'any', i], out));
  else if ('not' in condition) leaves(condition.not, [...at, 'not'], out);
  else if ('field' in condition) out.push({ kind: 'field', c: condition, at });
  else if ('event' in condition) out.push({ kind: 'event', c: condition, at });
  else if ('in_audience' in condition) out.push({ kind: 'audience', name: condition.in_audience, at });
  else out.push({ kind: 'percentile', c: condition, at });
  return out;
}

/** Every leaf of an audience's `where` (a list there means all of them), addressed from the audience. */
function leavesOf(audience: AudienceSpec): Leaf[] {
  const where = audience.where;
  if (where === undefined) return [];
  if (Array.isArray(where)) return where.flatMap((c, i) => leaves(c as Condition, ['where', i]));
  return leaves(where as Condition, ['where']);
}

/** Audiences each audience refers to (include, exclude, in_audience), for ordering and cycle checks. */
function references(audience: AudienceSpec): { name: string; at: FieldPath }[] {
  return [
    ...(audience.include ?? []).map((name, i) => ({ name, at: ['include', i] as FieldPath })),
    ...(audience.exclude ?? []).map((name, i) => ({ name, at: ['exclude', i] as FieldPath })),
    ...leavesOf(audience)
      .filter((l): l is Extract<Leaf, { kind: 'audience' }> => l.kind === 'audience')
      .map((l) => ({ name: l.name, at: [...l.at, 'in_audience'] })),
  ];
}

/** Audiences in an order where each comes after those it refers to; cycles reported through `onCycle`. */
export function audienceOrder(spec: AudiencesSpec, onCycle?: (index: number, at: FieldPath, cycle: string[]) => void): number[] {
  const index = new Map(spec.audiences.map((a, i) => [a.name, i]));
  const state = new Map<number, 'visiting' | 'done'>();
  const order: number[] = [];
  const visit = (i: number, stack: number[]): void => {
    if (state.get(i) === 'done') return;
    if (state.get(i) === 'visiting') return;
    state.set(i, 'visiting');
    for (const ref of references(spec.audiences[i]!)) {
      const j = index.get(ref.name);
      if (j === undefined) continue;
      if (state.get(j) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(j)), i, j].map((k) => spec.audiences[k]!.name);
        onCycle?.(i, ref.at, cycle);
        continue;
      }
      visit(j, [...stack, i]);
    }
    state.set(i, 'done');
    order.push(i);
  };
  spec.audiences.forEach((_, i) => visit(i, []));
  return order;
}

// ---------------------------------------------------------------------------------------------------------------
// Fields: the customer's columns, from the base relation then the joined ones

interface Field {
  readonly name: string;
  /** Alias of the relation in the base CTE: `b` or `j<i>`. */
  readonly alias: string;
  readonly type: LogicalType | undefined;
}

function fieldsOf(spec: AudiencesSpec, d: Dialect, columnsOf: (relation: string) => readonly OutputColumn[] | undefined): Map<string, Field> | undefined {
  const fields = new Map<string, Field>();
  const relations = [spec.customers, ...spec.join];
  for (const [i, relation] of relations.entries()) {
    const columns = columnsOf(relation);
    if (!columns) return undefined;
    for (const column of columns) {
      const key = d.identifierKey(column.name);
      if (!fields.has(key)) fields.set(key, { name: column.name, alias: i === 0 ? 'b' : `j${i - 1}`, type: column.type });
    }
  }
  return fields;
}

/** The audiences' as-of date: their own `as_of`, else the project's `vars.as_of` when defined, else today. */
function effectiveAsOf(spec: AudiencesSpec, vars: Readonly<Record<string, string | number | boolean>>): AsOf {
  return spec.as_of ?? (vars['as_of'] !== undefined ? { var: 'as_of' } : 'today');
}

function consentColumn(spec: AudiencesSpec, channel: Channel): string | null {
  const configured = spec.consent[channel];
  return configured === undefined ? `consent_${channel}` : configured;
}

// ---------------------------------------------------------------------------------------------------------------
// The kind

export const audiences = defineModelKind<AudiencesSpec>({
  kind: 'audiences',
  summary: 'Audiences of customers: conditions on fields and events, consent, holdouts and splits, marketing pressure',
  schema: audiencesSchema,

  syncParts(spec) {
    return {
      noun: 'audience',
      names: spec.audiences.map((a) => a.name),
      // Members only: never those left out for consent or pressure, never the holdout.
      filter: (d, name) =>
        sql`${d.id('audience')} = ${d.string(name)} AND ${d.id('audience_status')} = ${d.string(STATUS.member)} AND ${d.id('audience_group')} <> ${d.string(HOLDOUT)}`,
    };
  },

  companions(spec) {
    return [
      {
        suffix: 'history',
        description: 'Every stay of a customer in an audience: entered_at, and exited_at once they left',
        columns: [
          { name: 'audience', type: 'string' },
          { name: spec.key, type: undefined },
          { name: 'audience_group', type: 'string' },
          { name: 'entered_at', type: 'timestamp' },
          { name: 'exited_at', type: 'timestamp' },
        ],
      },
      {
        suffix: 'report',
        description: "Per audience, the last run's sizes, entries and exits",
        columns: [
          { name: 'audience', type: 'string' },
          { name: 'channel', type: 'string' },
          { name: 'built_at', type: 'timestamp' },
          ...['members', 'holdout', 'no_consent', 'capped', 'entered', 'exited'].map((name) => ({ name, type: 'integer' as const })),
        ],
      },
    ];
  },

  inputs(spec): InputRef[] {
    const inputs: InputRef[] = [{ relation: spec.customers, at: ['customers'], columns: [{ name: spec.key, at: ['key'] }] }];
    spec.join.forEach((relation, i) => inputs.push({ relation, at: ['join', i], columns: [{ name: spec.key, at: ['key'] }] }));
    const eventColumns = new Map<string, ColumnRef[]>();
    spec.audiences.forEach((audience, a) => {
      for (const leaf of leavesOf(audience)) {
        if (leaf.kind !== 'event') continue;
        const refs = eventColumns.get(leaf.c.event) ?? [];
        (leaf.c.where ?? []).forEach((w, i) => refs.push({ name: w.column, at: ['audiences', a, ...leaf.at, 'where', i, 'column'] }));
        if (leaf.c.distinct) refs.push({ name: leaf.c.distinct, at: ['audiences', a, ...leaf.at, 'distinct'] });
        eventColumns.set(leaf.c.event, refs);
        const next = leaf.c.not_followed_by;
        if (next) {
          const nextRefs = eventColumns.get(next.event) ?? [];
          (next.where ?? []).forEach((w, i) => nextRefs.push({ name: w.column, at: ['audiences', a, ...leaf.at, 'not_followed_by', 'where', i, 'column'] }));
          eventColumns.set(next.event, nextRefs);
        }
      }
    });
    for (const [name, table] of Object.entries(spec.events)) {
      inputs.push({
        relation: table.from,
        at: ['events', name, 'from'],
        columns: [{ name: table.customer, at: ['events', name, 'customer'] }, { name: table.time, at: ['events', name, 'time'] }, ...(eventColumns.get(name) ?? [])],
      });
    }
    return inputs;
  },

  analyse(spec, context): readonly OutputColumn[] | undefined {
    return analyseAudiences(spec, context);
  },

  plan(spec, context) {
    const d = context.dialect;
    const members = context.scratch('members');
    const history = context.companion('history');
    const report = context.companion('report');
    const tables = { members, history, report, output: context.output };
    return {
      steps: [
        { kind: 'sql', label: 'memberships', sql: d.createTableAs(members, membershipSelect(spec, context)) },
        {
          // Entries and exits are dated by the time the build runs, the same instant in all three statements.
          kind: 'timed',
          label: 'history',
          body: (runAt) => [
            {
              // Open rows of members still in carry over, rows of members who left are closed, new members are opened.
              kind: 'carry',
              label: 'membership history',
              from: history.current,
              columns: ['audience', spec.key, 'audience_group', 'entered_at', 'exited_at'],
              carried: historySql(spec, context, tables, true, runAt),
              fresh: historySql(spec, context, tables, false, runAt),
            },
            { kind: 'sql', label: 'memberships with the time each member entered', sql: outputSql(spec, context, tables) },
            { kind: 'sql', label: 'sizes and moves of this run', sql: reportSql(spec, context, tables, runAt) },
          ],
        },
      ],
    };
  },

  summarise(spec, context): Promise<ModelSummary> {
    return summariseAudiences(spec, context);
  },
});

function analyseAudiences(spec: AudiencesSpec, context: AnalyseContext): readonly OutputColumn[] | undefined {
  const d = context.dialect;
  const problem = (at: FieldPath, message: string, code = 'invalid-audience') => context.problem(at, message, code);
  const names = spec.audiences.map((a) => a.name);
  const seen = new Set<string>();
  spec.audiences.forEach((a, i) => {
    if (seen.has(a.name)) problem(['audiences', i, 'name'], `audience "${a.name}" is defined twice`, 'duplicate-name');
    seen.add(a.name);
  });

  analyseAsOf(effectiveAsOf(spec, context.vars), ['as_of'], context);
  const fields = fieldsOf(spec, d, context.columnsOf);
  if (fields) {
    for (const column of MEMBERSHIP_COLUMNS) {
      if (fields.has(d.identifierKey(column))) problem(['customers'], `the customers' column "${column}" collides with a column Tideline adds to memberships; rename it upstream`, 'name-clash');
    }
  }
  const fieldType = (name: string, at: FieldPath): LogicalType | undefined | null => {
    if (!fields) return undefined;
    const field = fields.get(d.identifierKey(name));
    if (!field) {
      problem(at, `unknown field "${name}"${didYouMean(name, [...fields.values()].map((f) => f.name))}; fields come from ${[spec.customers, ...spec.join].join(', ')}`, 'unknown-field');
      return null;
    }
    return field.type;
  };

  spec.audiences.forEach((audience, a) => {
    const at = (...rest: FieldPath) => ['audiences', a, ...rest];
    if (audience.where === undefined && !audience.include?.length) problem(at('name'), `audience "${audience.name}" has neither \`where\` nor \`include\`: say who qualifies`, 'empty-audience');
    for (const ref of references(audience)) {
      if (!names.includes(ref.name)) problem(at(...ref.at), `unknown audience "${ref.name}"${didYouMean(ref.name, names)}`, 'unknown-audience');
      else if (ref.name === audience.name) problem(at(...ref.at), `audience "${audience.name}" refers to itself`, 'cycle');
    }
    if (audience.splits) {
      const total = Object.values(audience.splits).reduce((s, v) => s + v, 0);
      if (Math.abs(total - 100) > 1e-9) problem(at('splits'), `splits must add up to 100 %; these add up to ${total} %`, 'bad-splits');
    }
    if (audience.require_consent) {
      const column = consentColumn(spec, audience.channel);
      if (column !== null && fields) {
        const type = fieldType(column, at('channel'));
        if (type === null)
          problem(at('channel'), `channel ${audience.channel} needs a consent column: none named "${column}"; map it under consent.${audience.channel}, or set require_consent: false`, 'missing-consent');
        else if (type !== undefined && type !== 'boolean') problem(at('channel'), `consent column "${column}" must be true/false, not ${type}`, 'wrong-type');
      }
    }
    for (const leaf of leavesOf(audience)) {
      if (leaf.kind === 'field') {
        const type = fieldType(leaf.c.field, at(...leaf.at, 'field'));
        const relative = RELATIVE_DATES.filter((op) => leaf.c[op] !== undefined);
        const comparisons = comparisonsIn(leaf.c);
        if (relative.length + comparisons.length !== 1)
          problem(at(...leaf.at), `a condition needs exactly one operator; found ${[...comparisons, ...relative].join(', ') || 'none'}`, 'bad-condition');
        else if (relative.length) {
          if (type !== null && type !== undefined && type !== 'date' && type !== 'timestamp')
            problem(at(...leaf.at, relative[0]!), `${relative[0]} compares dates, but field "${leaf.c.field}" is ${type}`, 'wrong-type');
        } else if (type !== null) checkComparison(leaf.c, `field "${leaf.c.field}"`, type, at(...leaf.at), problem);
      } else if (leaf.kind === 'percentile') {
        const type = fieldType(leaf.c.by, at(...leaf.at, 'by'));
        if (type && !['integer', 'float', 'decimal', 'date', 'timestamp'].includes(type)) problem(at(...leaf.at, 'by'), `cannot rank customers by "${leaf.c.by}", which is ${type}`, 'wrong-type');
      } else if (leaf.kind === 'event') {
        checkEvent(spec, leaf.c, at(...leaf.at), context, problem);
      }
    }
  });
  audienceOrder(spec, (i, refAt, cycle) => problem(['audiences', i, ...refAt], `audiences refer to each other in a cycle: ${cycle.join(' → ')}`, 'cycle'));

  if (!fields) return undefined;
  const key = fields.get(d.identifierKey(spec.key));
  return [
    { name: 'audience', type: 'string' },
    { name: 'audience_status', type: 'string' },
    { name: 'audience_group', type: 'string' },
    { name: 'audience_channel', type: 'string' },
    { name: 'audience_priority', type: 'integer' },
    { name: 'audience_entered_at', type: 'timestamp' },
    { name: key?.name ?? spec.key, type: key?.type },
    ...[...fields.values()].filter((f) => f !== key).map((f) => ({ name: f.name, type: f.type })),
  ];
}

function checkEvent(spec: AudiencesSpec, c: EventCondition, at: FieldPath, context: AnalyseContext, problem: (at: FieldPath, message: string, code?: string) => void): void {
  const d = context.dialect;
  const check = (name: string, where: EventCondition['where'], whereAt: FieldPath, nameAt: FieldPath) => {
    const table = spec.events[name];
    if (!table) {
      problem(nameAt, `unknown event table "${name}"${didYouMean(name, Object.keys(spec.events))}; declare it under events:`, 'unknown-event');
      return;
    }
    const columns = context.columnsOf(table.from);
    (where ?? []).forEach((w, i) => {
      const type = columns?.find((col) => d.identifierKey(col.name) === d.identifierKey(w.column))?.type;
      checkComparison(w, `column "${w.column}" of ${table.from}`, type, [...whereAt, i], problem);
    });
    const time = columns?.find((col) => d.identifierKey(col.name) === d.identifierKey(table.time))?.type;
    if (time && time !== 'date' && time !== 'timestamp') problem(['events', name, 'time'], `event time "${table.time}" must be a date or timestamp, not ${time}`, 'wrong-type');
  };
  check(c.event, c.where, [...at, 'where'], [...at, 'event']);
  if (c.not_followed_by) check(c.not_followed_by.event, c.not_followed_by.where, [...at, 'not_followed_by', 'where'], [...at, 'not_followed_by', 'event']);
  if (c.within && c.between_ago) problem(at, 'give either `within` or `between_ago`, not both', 'conflicting-fields');
  if (c.count && Object.keys(c.count).length !== 1) problem([...at, 'count'], 'a count needs exactly one of equals, gt, gte, lt, lte', 'bad-condition');
}

// ---------------------------------------------------------------------------------------------------------------
// SQL

interface Compiler {
  readonly d: Dialect;
  readonly spec: AudiencesSpec;
  readonly fields: Map<string, Field>;
  readonly key: Sql;
  readonly asOf: Sql;
  readonly context: PlanContext;
  /** Per-customer CTEs of event and percentile conditions, in order. */
  readonly ctes: { name: string; body: Sql }[];
}


/** The SELECT producing every membership row (one per audience and qualifying customer). */
export function membershipSelect(spec: AudiencesSpec, context: PlanContext): Sql {
  const d = context.dialect;
  const fields = fieldsOf(spec, d, context.columnsOf);
  if (!fields) throw new Error('audiences compiled without the columns of their relations; analysis should have reported it');
  const c: Compiler = { d, spec, fields, key: d.id(spec.key), asOf: asOfSql(d, effectiveAsOf(spec, context.vars), context.vars), context, ctes: [] };

  const keyField = fields.get(d.identifierKey(spec.key))!;
  const others = [...fields.values()].filter((f) => f !== keyField);
  const baseColumns = joinSql([sql`b.${d.id(keyField.name)}`, ...others.map((f) => sql`${Sql.trusted(f.alias)}.${d.id(f.name)}`)]);
  const joins = spec.join.map((relation, i) => {
    const alias = Sql.trusted(`j${i}`);
    return sql`\nLEFT JOIN ${context.relation(relation)} AS ${alias} ON ${alias}.${c.key} = b.${c.key}`;
  });
  const base = sql`SELECT ${baseColumns}\nFROM ${context.relation(spec.customers)} AS b${joinSql(joins, Sql.trusted(''))}`;

  const audienceCtes: Sql[] = [];
  for (const i of audienceOrder(spec)) {
    const audience = spec.audiences[i]!;
    const condition = whereOf(audience);
    const joinsOfAudience: Sql[] = [];
    const where = condition ? compileCondition(c, condition, `${i}`, joinsOfAudience) : undefined;
    const parts: Sql[] = [];
    if (where) parts.push(sql`SELECT base.${c.key} AS k FROM ${d.id('base')} AS base${joinSql(joinsOfAudience, Sql.trusted(''))}\nWHERE ${where}`);
    for (const name of audience.include ?? []) parts.push(sql`SELECT k FROM ${d.id(`a_${indexOf(spec, name)}`)}`);
    const excluded = (audience.exclude ?? []).map((name) => sql`\n  AND NOT EXISTS (SELECT 1 FROM ${d.id(`a_${indexOf(spec, name)}`)} AS x WHERE x.k = u.k)`);
    audienceCtes.push(
      sql`${d.id(`a_${i}`)} AS (\n  SELECT DISTINCT u.k FROM (\n${indentSql(joinSql(parts, Sql.trusted('\nUNION ALL\n')), 4)}\n  ) AS u\n  WHERE u.k IS NOT NULL${joinSql(excluded, Sql.trusted(''))}\n)`,
    );
  }

  const eligible = joinSql(
    spec.audiences.map(
      (a, i) => sql`SELECT ${d.literal(a.name)} AS audience, ${d.literal(a.channel)} AS channel, ${d.literal(a.priority)} AS priority, k FROM ${d.id(`a_${i}`)}`,
    ),
    Sql.trusted('\nUNION ALL\n'),
  );
  const consented = sql`CASE e.audience${joinSql(
    spec.audiences.map((a) => {
      const column = a.require_consent ? consentColumn(spec, a.channel) : null;
      return sql`\n    WHEN ${d.literal(a.name)} THEN ${column === null ? sql`TRUE` : sql`COALESCE(base.${d.id(fields.get(d.identifierKey(column))!.name)}, FALSE)`}`;
    }),
    Sql.trusted(''),
  )}\n  END`;
  const caps = Object.entries(spec.pressure);
  const cap = caps.length
    ? sql`CASE r.channel${joinSql(
        caps.map(([channel, p]) => sql` WHEN ${d.literal(channel)} THEN ${d.literal(p!.max)}`),
        Sql.trusted(''),
      )} END`
    : undefined;
  const status = sql`CASE WHEN NOT r.consented THEN ${d.literal(STATUS.noConsent)}${cap ? sql` WHEN r.pressure_rank > ${cap} THEN ${d.literal(STATUS.capped)}` : Sql.trusted('')} ELSE ${d.literal(STATUS.member)} END`;

  const ctes: Sql[] = [
    sql`${d.id('base')} AS (\n${indentSql(base)}\n)`,
    ...c.ctes.map((x) => sql`${d.id(x.name)} AS (\n${indentSql(x.body)}\n)`),
    ...audienceCtes,
    sql`${d.id('eligible')} AS (\n${indentSql(eligible)}\n)`,
    sql`${d.id('judged')} AS (\n  SELECT e.audience, e.channel, e.priority, e.k, ${consented} AS consented\n  FROM ${d.id('eligible')} AS e JOIN ${d.id('base')} AS base ON base.${c.key} = e.k\n)`,
    sql`${d.id('ranked')} AS (\n  SELECT j.*,\n    ROW_NUMBER() OVER (PARTITION BY j.k, j.channel, j.consented ORDER BY j.priority DESC, j.audience) AS pressure_rank,\n    ${bucket(c)} AS bucket\n  FROM ${d.id('judged')} AS j\n)`,
  ];
  const output = joinSql([
    sql`r.audience AS ${d.id('audience')}`,
    sql`${status} AS ${d.id('audience_status')}`,
    sql`${groupExpression(c)} AS ${d.id('audience_group')}`,
    sql`r.channel AS ${d.id('audience_channel')}`,
    sql`r.priority AS ${d.id('audience_priority')}`,
    sql`base.*`,
  ], Sql.trusted(',\n  '));
  return sql`WITH ${joinSql(ctes, Sql.trusted(',\n'))}\nSELECT\n  ${output}\nFROM ${d.id('ranked')} AS r\nJOIN ${d.id('base')} AS base ON base.${c.key} = r.k`;
}

function indexOf(spec: AudiencesSpec, name: string): number {
  const i = spec.audiences.findIndex((a) => a.name === name);
  if (i < 0) throw new Error(`unknown audience ${name} reached the compiler`);
  return i;
}

/** The hash bucket of (key, audience, salt) in [0, 10,000): stable across runs and across warehouses. */
function bucket(c: Compiler): Sql {
  const { d } = c;
  return d.hashBucket(sql`CAST(j.k AS ${d.type('string')}) || '|' || j.audience || '|' || ${d.literal(c.spec.salt)}`, BUCKETS);
}

/** holdout / split / treatment from the bucket: [0, holdout) is held out, the rest is cut by the splits' shares. */
function groupExpression(c: Compiler): Sql {
  const { d } = c;
  const cases = c.spec.audiences.map((a) => {
    const holdout = Math.round((a.holdout ?? 0) * (BUCKETS / 100));
    const branches: Sql[] = [];
    if (holdout > 0) branches.push(sql` WHEN r.bucket < ${d.literal(holdout)} THEN ${d.literal(HOLDOUT)}`);
    let upper = holdout;
    const splits = Object.entries(a.splits ?? {});
    splits.forEach(([name, share], i) => {
      upper = i === splits.length - 1 ? BUCKETS : upper + Math.round((share * (BUCKETS - holdout)) / 100);
      branches.push(sql` WHEN r.bucket < ${d.literal(upper)} THEN ${d.literal(name)}`);
    });
    return { name: a.name, branches };
  });
  const used = cases.filter((x) => x.branches.length);
  if (used.length === 0) return d.literal(TREATMENT);
  const perAudience = joinSql(
    used.map((x) => sql`\n    WHEN ${d.literal(x.name)} THEN CASE${joinSql(x.branches, Sql.trusted(''))} ELSE ${d.literal(TREATMENT)} END`),
    Sql.trusted(''),
  );
  return sql`CASE r.audience${perAudience}\n    ELSE ${d.literal(TREATMENT)} END`;
}

function compileCondition(c: Compiler, condition: Condition, path: string, joins: Sql[]): Sql {
  const { d } = c;
  if ('all' in condition) return sql`(${joinSql(condition.all.map((x, i) => compileCondition(c, x, `${path}_${i}`, joins)), Sql.trusted(' AND '))})`;
  if ('any' in condition) return sql`(${joinSql(condition.any.map((x, i) => compileCondition(c, x, `${path}_${i}`, joins)), Sql.trusted(' OR '))})`;
  if ('not' in condition) return sql`NOT ${compileCondition(c, condition.not, `${path}_n`, joins)}`;
  // Leaves are two-valued: an unknown (NULL) comparison is false, so `not` of it is true.
  if ('in_audience' in condition) return sql`EXISTS (SELECT 1 FROM ${c.d.id(`a_${indexOf(c.spec, condition.in_audience)}`)} AS m WHERE m.k = base.${c.key})`;
  if ('field' in condition) return sql`COALESCE(${fieldCondition(c, condition)}, FALSE)`;
  if ('event' in condition) return eventCondition(c, condition, `e_${path}`, joins);
  return percentileCondition(c, condition, `p_${path}`, joins);
}

function field(c: Compiler, name: string): { expr: Sql; type: LogicalType | undefined } {
  const f = c.fields.get(c.d.identifierKey(name));
  if (!f) throw new Error(`unknown field ${name} reached the compiler`);
  return { expr: sql`base.${c.d.id(f.name)}`, type: f.type };
}

/** `date` in (as_of − duration, as_of] etc., on calendar dates. */
function ago(c: Compiler, duration: Duration): Sql {
  return c.d.dateAdd(c.asOf, c.d.literal(-duration.amount), duration.unit, 'date');
}

function fieldCondition(c: Compiler, condition: FieldCondition): Sql {
  const { d } = c;
  const { expr, type } = field(c, condition.field);
  const day = d.cast(expr, 'date');
  if (condition.in_last) return sql`(${day} > ${ago(c, condition.in_last)} AND ${day} <= ${c.asOf})`;
  if (condition.older_than) return sql`${day} <= ${ago(c, condition.older_than)}`;
  if (condition.between_ago) {
    const [near, far] = condition.between_ago;
    return sql`${day} BETWEEN ${ago(c, far)} AND ${ago(c, near)}`;
  }
  return compileComparison(d, expr, condition, type);
}

function countTest(n: Sql, count: CountCondition | undefined, did: boolean): Sql {
  if (!count) return did ? sql`${n} >= 1` : sql`${n} = 0`;
  const [op, value] = Object.entries(count)[0] as [keyof CountCondition, number];
  const v = Sql.trusted(String(value));
  return { equals: sql`${n} = ${v}`, gt: sql`${n} > ${v}`, gte: sql`${n} >= ${v}`, lt: sql`${n} < ${v}`, lte: sql`${n} <= ${v}` }[op];
}

function eventCondition(c: Compiler, condition: EventCondition, name: string, joins: Sql[]): Sql {
  const { d, spec, context } = c;
  const table = spec.events[condition.event]!;
  const typeOf = (relation: string, column: string) => context.columnsOf(relation)?.find((col) => d.identifierKey(col.name) === d.identifierKey(column))?.type;
  const time = sql`ev.${d.id(table.time)}`;
  const day = d.cast(time, 'date');
  const filters: Sql[] = [sql`${day} <= ${c.asOf}`];
  if (condition.within) filters.push(sql`${day} > ${ago(c, condition.within)}`);
  if (condition.between_ago) filters.push(sql`${day} BETWEEN ${ago(c, condition.between_ago[1])} AND ${ago(c, condition.between_ago[0])}`);
  for (const w of condition.where ?? []) filters.push(compileComparison(d, sql`ev.${d.id(w.column)}`, w, typeOf(table.from, w.column)));
  const next = condition.not_followed_by;
  if (next) {
    const other = spec.events[next.event]!;
    const nextTime = d.cast(sql`nx.${d.id(other.time)}`, 'timestamp');
    const thisTime = d.cast(time, 'timestamp');
    const nextFilters: Sql[] = [sql`nx.${d.id(other.customer)} = ev.${d.id(table.customer)}`, sql`${nextTime} > ${thisTime}`, sql`${d.cast(nextTime, 'date')} <= ${c.asOf}`];
    if (next.within) nextFilters.push(sql`${nextTime} <= ${d.dateAdd(thisTime, d.literal(next.within.amount), next.within.unit, 'timestamp')}`);
    for (const w of next.where ?? []) nextFilters.push(compileComparison(d, sql`nx.${d.id(w.column)}`, w, typeOf(other.from, w.column)));
    filters.push(sql`NOT EXISTS (SELECT 1 FROM ${context.relation(other.from)} AS nx WHERE ${joinSql(nextFilters, Sql.trusted(' AND '))})`);
  }
  const counted = condition.distinct ? sql`COUNT(DISTINCT ev.${d.id(condition.distinct)})` : sql`COUNT(*)`;
  c.ctes.push({
    name,
    body: sql`SELECT ev.${d.id(table.customer)} AS k, ${counted} AS n\nFROM ${context.relation(table.from)} AS ev\nWHERE ${joinSql(filters, Sql.trusted('\n  AND '))}\nGROUP BY ev.${d.id(table.customer)}`,
  });
  const alias = c.d.id(name);
  joins.push(sql`\nLEFT JOIN ${alias} ON ${alias}.k = base.${c.key}`);
  return countTest(sql`COALESCE(${alias}.n, 0)`, condition.count, condition.did);
}

function percentileCondition(c: Compiler, condition: PercentileCondition, name: string, joins: Sql[]): Sql {
  const { d } = c;
  const top = 'top' in condition;
  const share = top ? condition.top : condition.bottom;
  const { expr } = field(c, condition.by);
  c.ctes.push({
    name,
    body: sql`SELECT base.${c.key} AS k, ROW_NUMBER() OVER (ORDER BY ${expr} ${Sql.trusted(top ? 'DESC' : 'ASC')}, base.${c.key}) AS rn, COUNT(*) OVER () AS n\nFROM ${c.d.id('base')} AS base\nWHERE ${expr} IS NOT NULL`,
  });
  const alias = c.d.id(name);
  joins.push(sql`\nLEFT JOIN ${alias} ON ${alias}.k = base.${c.key}`);
  // rn ≤ n × share, in integers: rn × 10,000 ≤ n × share in hundredths of a percent.
  return sql`COALESCE(${alias}.rn * ${d.literal(BUCKETS)} <= ${alias}.n * ${d.literal(Math.round(share * 100))}, FALSE)`;
}

// ---------------------------------------------------------------------------------------------------------------
// History, memberships with their entry time, and the run's report

interface BuildTables {
  readonly members: TableRef;
  readonly history: CompanionTables;
  readonly report: CompanionTables;
  readonly output: TableRef;
}

/**
 * `<name>_history`: one row per stay of a customer in an audience (entered_at, exited_at NULL while still in).
 * Members in the holdout are in the audience: they enter and leave like the others.
 */
function historySql(spec: AudiencesSpec, context: PlanContext, t: BuildTables, previous: boolean, runAt: Sql): Sql {
  const d = context.dialect;
  const key = d.id(spec.key);
  const member = sql`m.audience_status = ${d.literal(STATUS.member)}`;
  const nullTime = sql`CAST(NULL AS ${d.type('timestamp')})`;
  const entries = sql`SELECT m.audience, m.${key}, m.audience_group, ${runAt} AS entered_at, ${nullTime} AS exited_at
FROM ${d.table(t.members)} AS m
WHERE ${member}`;
  if (!previous) return d.createTableAs(t.history.build, entries);
  const prev = d.table(t.history.current);
  const stillIn = sql`EXISTS (SELECT 1 FROM ${d.table(t.members)} AS m WHERE m.audience = p.audience AND m.${key} = p.${key} AND ${member})`;
  return d.createTableAs(
    t.history.build,
    sql`SELECT p.audience, p.${key}, p.audience_group, p.entered_at, p.exited_at FROM ${prev} AS p WHERE p.exited_at IS NOT NULL
UNION ALL
SELECT p.audience, p.${key}, p.audience_group, p.entered_at, ${nullTime} FROM ${prev} AS p WHERE p.exited_at IS NULL AND ${stillIn}
UNION ALL
SELECT p.audience, p.${key}, p.audience_group, p.entered_at, ${runAt} FROM ${prev} AS p WHERE p.exited_at IS NULL AND NOT ${stillIn}
UNION ALL
${entries}
  AND NOT EXISTS (SELECT 1 FROM ${prev} AS p WHERE p.exited_at IS NULL AND p.audience = m.audience AND p.${key} = m.${key})`,
  );
}

/** The model's table: every membership row with the time its member entered the audience (NULL for non-members). */
function outputSql(spec: AudiencesSpec, context: PlanContext, t: BuildTables): Sql {
  const d = context.dialect;
  const fields = fieldsOf(spec, d, context.columnsOf)!;
  const key = fields.get(d.identifierKey(spec.key))!;
  const columns = [
    ...MEMBERSHIP_COLUMNS.filter((c) => c !== 'audience_entered_at').map((c) => sql`m.${d.id(c)}`),
    sql`h.entered_at AS ${d.id('audience_entered_at')}`,
    sql`m.${d.id(key.name)}`,
    ...[...fields.values()].filter((f) => f !== key).map((f) => sql`m.${d.id(f.name)}`),
  ];
  return d.createTableAs(
    t.output,
    sql`SELECT ${joinSql(columns)}
FROM ${d.table(t.members)} AS m
LEFT JOIN ${d.table(t.history.build)} AS h ON h.audience = m.audience AND h.${d.id(spec.key)} = m.${d.id(spec.key)} AND h.exited_at IS NULL`,
  );
}

/** `<name>_report`: per audience and run, its sizes and how many entered and left. */
function reportSql(spec: AudiencesSpec, context: PlanContext, t: BuildTables, runAt: Sql): Sql {
  const d = context.dialect;
  const count = (condition: Sql) => sql`SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;
  const names = joinSql(spec.audiences.map((a) => sql`SELECT ${d.literal(a.name)} AS audience, ${d.literal(a.channel)} AS channel`), Sql.trusted('\n  UNION ALL '));
  const isMember = sql`audience_status = ${d.literal(STATUS.member)}`;
  return d.createTableAs(
    t.report.build,
    sql`WITH names AS (
  ${names}
),
sizes AS (
  SELECT audience,
    ${count(isMember)} AS members,
    ${count(sql`${isMember} AND audience_group = ${d.literal(HOLDOUT)}`)} AS holdout,
    ${count(sql`audience_status = ${d.literal(STATUS.noConsent)}`)} AS no_consent,
    ${count(sql`audience_status = ${d.literal(STATUS.capped)}`)} AS capped
  FROM ${d.table(t.members)} GROUP BY audience
),
moves AS (
  SELECT audience, ${count(sql`entered_at = ${runAt}`)} AS entered, ${count(sql`exited_at = ${runAt}`)} AS exited
  FROM ${d.table(t.history.build)} GROUP BY audience
)
SELECT n.audience, n.channel, ${runAt} AS built_at,
  COALESCE(s.members, 0) AS members, COALESCE(s.holdout, 0) AS holdout, COALESCE(s.no_consent, 0) AS no_consent,
  COALESCE(s.capped, 0) AS capped, COALESCE(v.entered, 0) AS entered, COALESCE(v.exited, 0) AS exited
FROM names AS n
LEFT JOIN sizes AS s ON s.audience = n.audience
LEFT JOIN moves AS v ON v.audience = n.audience`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// After the build

/** One audience's line of `<name>_report`: its sizes after the last build and its moves in that build. */
export interface AudienceReport {
  readonly audience: string;
  readonly channel: string;
  readonly builtAt: Date | null;
  readonly members: number;
  readonly holdout: number;
  readonly noConsent: number;
  readonly capped: number;
  readonly entered: number;
  readonly exited: number;
}

export async function readReport(io: Pick<SummaryContext['io'], 'query'>, d: Dialect, report: TableRef): Promise<AudienceReport[]> {
  const rows = await io.query(sql`SELECT * FROM ${d.table(report)} ORDER BY audience`);
  return rows.map((r) => ({
    audience: String(r['audience']),
    channel: String(r['channel']),
    builtAt: r['built_at'] instanceof Date ? r['built_at'] : null,
    members: Number(r['members']),
    holdout: Number(r['holdout']),
    noConsent: Number(r['no_consent']),
    capped: Number(r['capped']),
    entered: Number(r['entered']),
    exited: Number(r['exited']),
  }));
}

/** A marketer's sentence for one audience. */
export function describeAudience(r: AudienceReport): string {
  const n = (x: number) => x.toLocaleString('en');
  const parts = [`${r.audience} (${r.channel}): ${n(r.members)} members (+${n(r.entered)} / −${n(r.exited)} this run)`];
  if (r.holdout) parts.push(`${n(r.holdout)} held out`);
  if (r.noConsent) parts.push(`${n(r.noConsent)} left out without ${r.channel} consent`);
  if (r.capped) parts.push(`${n(r.capped)} dropped by marketing pressure`);
  return parts.join(', ');
}

async function summariseAudiences(_spec: AudiencesSpec, context: SummaryContext): Promise<ModelSummary> {
  const report = await readReport(context.io, context.dialect, context.companion('report'));
  return { lines: report.map(describeAudience), data: { audiences: report } };
}
