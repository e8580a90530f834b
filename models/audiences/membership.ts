import type { Dialect, LogicalType } from '../../src/dialects/dialect.js';
import { indentSql, joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import { asOfSql } from '../../src/expressions/as-of.js';
import { compileComparison } from '../../src/expressions/conditions.js';
import type { Duration } from '../../src/expressions/durations.js';
import type { PlanContext } from '../model-kind.js';
import { audienceOrder, whereOf } from './conditions.js';
import { consentColumn, effectiveAsOf, fieldsOf, relationAlias, type Field } from './fields.js';
import { BUCKETS, bucket, groupExpression } from './holdout.js';
import { currentMembers, pressureSql } from './pressure.js';
import { SHARED_TABLES } from '../../src/state/tables.js';
import type { AudienceSpec, AudiencesSpec, Condition, CountCondition, EventCondition, EventTable, FieldCondition, LaterEvent, PercentileCondition } from './schema.js';
import { audiencePolicies } from './suppressed.js';

/**
 * The membership SELECT: one row per audience and qualifying customer, with the customer's status (member, left out
 * for consent or preferences, suppressed by the project's suppressions, capped by marketing pressure) and group. The build stores it; `tideline audience preview` queries it.
 */

/** Columns the membership table adds before the customer's own columns. */
export const MEMBERSHIP_COLUMNS = ['audience', 'audience_status', 'audience_group', 'audience_channel', 'audience_priority', 'audience_capped_by', 'audience_entered_at'] as const;

/** `audience_status` values: only `member` rows outside the holdout are ever synced. */
/** The column ranking a customer's events newest first, for `last`: named so that no event table has it already. */
const RECENCY = 'tideline_recency';

export const STATUS = { member: 'member', noConsent: 'no_consent', capped: 'capped', suppressed: 'suppressed' } as const;

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

/**
 * The SELECT producing every membership row (one per audience and qualifying customer). `previous` holds the current
 * members (see currentMembers in pressure.ts): the project's pressure policy caps only new entries.
 */
export function membershipSelect(spec: AudiencesSpec, context: PlanContext, previous?: Sql): Sql {
  const d = context.dialect;
  const fields = fieldsOf(spec, d, context.columnsOf);
  if (!fields) throw new Error('audiences compiled without the columns of their relations; analysis should have reported it');
  const c: Compiler = { d, spec, fields, key: d.id(spec.key), asOf: asOfSql(d, effectiveAsOf(spec, context.vars), context.vars), context, ctes: [] };

  const keyField = fields.get(d.identifierKey(spec.key))!;
  const others = [...fields.values()].filter((f) => f !== keyField);
  const baseColumns = joinSql([sql`b.${d.id(keyField.name)}`, ...others.map((f) => sql`${f.alias}.${d.id(f.name)}`)]);
  const joins = spec.join.map((relation, i) => {
    const alias = relationAlias(d, i + 1);
    return sql`\nLEFT JOIN ${context.relation(relation)} AS ${alias} ON ${alias}.${c.key} = b.${c.key}`;
  });
  const base = sql`SELECT ${baseColumns}\nFROM ${context.relation(spec.customers)} AS b${joinSql(joins, sql``)}`;

  const audienceCtes: Sql[] = [];
  for (const i of audienceOrder(spec)) {
    const audience = spec.audiences[i]!;
    const condition = whereOf(audience);
    const joinsOfAudience: Sql[] = [];
    const where = condition ? compileCondition(c, condition, `${i}`, joinsOfAudience) : undefined;
    const parts: Sql[] = [];
    if (where) parts.push(sql`SELECT base.${c.key} AS k FROM ${d.id('base')} AS base${joinSql(joinsOfAudience, sql``)}\nWHERE ${where}`);
    for (const name of audience.include ?? []) parts.push(sql`SELECT k FROM ${d.id(`a_${indexOf(spec, name)}`)}`);
    const excluded = (audience.exclude ?? []).map((name) => sql`\n  AND NOT EXISTS (SELECT 1 FROM ${d.id(`a_${indexOf(spec, name)}`)} AS x WHERE x.k = u.k)`);
    audienceCtes.push(
      sql`${d.id(`a_${i}`)} AS (\n  SELECT DISTINCT u.k FROM (\n${indentSql(joinSql(parts, sql`\nUNION ALL\n`), 4)}\n  ) AS u\n  WHERE u.k IS NOT NULL${joinSql(excluded, sql``)}\n)`,
    );
  }

  const eligible = joinSql(
    spec.audiences.map(
      (a, i) =>
        sql`SELECT ${d.literal(a.name)} AS audience, ${d.literal(a.channel)} AS channel, ${d.literal(a.priority)} AS priority, ${a.purpose === 'exclusion' ? sql`TRUE` : sql`FALSE`} AS exempt, k FROM ${d.id(`a_${i}`)}`,
    ),
    sql`\nUNION ALL\n`,
  );
  const policies = audiencePolicies(spec.audiences, context, c.asOf);
  const consented = sql`CASE e.audience${joinSql(
    spec.audiences.map((a) => {
      const column = needsConsent(a) ? consentColumn(spec, a.channel) : null;
      const consent = column === null ? sql`TRUE` : sql`COALESCE(base.${d.id(fields.get(d.identifierKey(column))!.name)}, FALSE)`;
      const refused = policies.refused(a);
      return sql`\n    WHEN ${d.literal(a.name)} THEN ${refused ? sql`(${consent} AND NOT (${refused}))` : consent}`;
    }),
    sql``,
  )}\n  END`;
  const suppressions = spec.audiences.map((a) => [a, policies.suppressed(a)] as const);
  const suppressed = suppressions.some(([, test]) => test)
    ? sql`CASE e.audience${joinSql(
        suppressions.map(([a, test]) => sql`\n    WHEN ${d.literal(a.name)} THEN ${test ?? sql`FALSE`}`),
        sql``,
      )}\n  END`
    : sql`FALSE`;
  const caps = Object.entries(spec.pressure);
  const cap = caps.length
    ? sql`CASE r.channel${joinSql(
        caps.map(([channel, p]) => sql` WHEN ${d.literal(channel)} THEN ${d.literal(p!.max)}`),
        sql``,
      )} END`
    : undefined;
  // The model's own `pressure:` (audiences at once per channel), then the project's policy on new entries.
  const atOnce = cap ? sql`COALESCE(NOT r.exempt AND r.pressure_rank > ${cap}, FALSE)` : sql`FALSE`;
  const policy = pressureSql(d, c.asOf, context.pressure, context.name, spec, { previous: previous ?? sql`(${currentMembers(d, spec, context.relation(spec.customers), undefined)})`, sent: context.stateRelation(SHARED_TABLES.messages), runs: context.stateRelation(SHARED_TABLES.runs), relation: context.relation, columnsOf: context.columnsOf }, atOnce);
  const status = sql`CASE WHEN r.suppressed THEN ${d.literal(STATUS.suppressed)} WHEN NOT r.consented THEN ${d.literal(STATUS.noConsent)}${cap ? sql` WHEN ${atOnce} THEN ${d.literal(STATUS.capped)}` : sql``}${policy ? sql` WHEN ${policy.capped} THEN ${d.literal(STATUS.capped)}` : sql``} ELSE ${d.literal(STATUS.member)} END`;
  const atOnceLabel = sql`CASE r.channel${joinSql(
    caps.map(([channel, p]) => sql` WHEN ${d.literal(channel)} THEN ${d.string(`${channel} ≤ ${p!.max} audience${p!.max === 1 ? '' : 's'} at once`)}`),
    sql``,
  )} END`;
  const reasons = [...(cap ? [sql` WHEN ${atOnce} THEN ${atOnceLabel}`] : []), ...(policy ? [sql` WHEN ${policy.capped} THEN ${policy.cappedBy}`] : [])];
  const noReason = d.cast(d.literal(null), 'string');
  const cappedBy = reasons.length ? sql`CASE WHEN r.suppressed OR NOT r.consented THEN ${noReason}${joinSql(reasons, sql``)} END` : noReason;

  const ctes: Sql[] = [
    sql`${d.id('base')} AS (\n${indentSql(base)}\n)`,
    ...[...c.ctes, ...policies.ctes].map((x) => sql`${d.id(x.name)} AS (\n${indentSql(x.body)}\n)`),
    ...audienceCtes,
    sql`${d.id('eligible')} AS (\n${indentSql(eligible)}\n)`,
    sql`${d.id('judged')} AS (\n  SELECT e.audience, e.channel, e.priority, e.exempt, e.k, ${consented} AS consented, ${suppressed} AS suppressed\n  FROM ${d.id('eligible')} AS e JOIN ${d.id('base')} AS base ON base.${c.key} = e.k${policies.joins(sql`e.k`)}\n)`,
    sql`${d.id('ranked')} AS (\n  SELECT j.*,\n    ROW_NUMBER() OVER (PARTITION BY j.k, j.channel, j.consented, j.exempt, j.suppressed ORDER BY j.priority DESC, j.audience) AS pressure_rank,\n    ${bucket(d, spec)} AS bucket\n  FROM ${d.id('judged')} AS j\n)`,
    ...(policy?.ctes ?? []),
  ];
  const output = joinSql([
    sql`r.audience AS ${d.id('audience')}`,
    sql`${status} AS ${d.id('audience_status')}`,
    sql`${groupExpression(d, spec)} AS ${d.id('audience_group')}`,
    sql`r.channel AS ${d.id('audience_channel')}`,
    sql`r.priority AS ${d.id('audience_priority')}`,
    sql`${cappedBy} AS ${d.id('audience_capped_by')}`,
    sql`base.*`,
  ], sql`,\n  `);
  return sql`WITH ${joinSql(ctes, sql`,\n`)}\nSELECT\n  ${output}\nFROM ${d.id('ranked')} AS r\nJOIN ${d.id('base')} AS base ON base.${c.key} = r.k${policy?.join ?? sql``}`;
}

/** Whether an audience keeps only customers with consent for its channel: an exclusion audience never does. */
export function needsConsent(audience: AudienceSpec): boolean {
  return audience.require_consent && audience.purpose !== 'exclusion';
}

function indexOf(spec: AudiencesSpec, name: string): number {
  const i = spec.audiences.findIndex((a) => a.name === name);
  if (i < 0) throw new Error(`unknown audience ${name} reached the compiler`);
  return i;
}

function compileCondition(c: Compiler, condition: Condition, path: string, joins: Sql[]): Sql {
  const { d } = c;
  if ('all' in condition) return sql`(${joinSql(condition.all.map((x, i) => compileCondition(c, x, `${path}_${i}`, joins)), sql` AND `)})`;
  if ('any' in condition) return sql`(${joinSql(condition.any.map((x, i) => compileCondition(c, x, `${path}_${i}`, joins)), sql` OR `)})`;
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

function countTest(d: Dialect, n: Sql, count: CountCondition | undefined, did: boolean): Sql {
  if (!count) return did ? sql`${n} >= 1` : sql`${n} = 0`;
  const ops: Record<keyof CountCondition, Sql> = { equals: sql`=`, gt: sql`>`, gte: sql`>=`, lt: sql`<`, lte: sql`<=` };
  const tests = (Object.keys(ops) as (keyof CountCondition)[])
    .filter((op) => count[op] !== undefined)
    .map((op) => sql`${n} ${ops[op]} ${d.literal(count[op]!)}`);
  return tests.length === 1 ? tests[0]! : sql`(${joinSql(tests, sql` AND `)})`;
}

/** The type of a column of an event table's relation, when known. */
function columnType(c: Compiler, relation: string, column: string): LogicalType | undefined {
  return c.context.columnsOf(relation)?.find((col) => c.d.identifierKey(col.name) === c.d.identifierKey(column))?.type;
}

/**
 * `[NOT] EXISTS` a later event of another kind for the event `ev`: the same customer, after it (from the same instant
 * when matched by a column, since the match already ties the two), up to the as-of date, within a delay if given.
 */
function laterEvent(c: Compiler, later: LaterEvent, table: EventTable, negate: boolean): Sql {
  const { d, spec, context } = c;
  const other = spec.events[later.event]!;
  const time = d.cast(sql`ev.${d.id(table.time)}`, 'timestamp');
  const nextTime = d.cast(sql`nx.${d.id(other.time)}`, 'timestamp');
  const filters: Sql[] = [
    sql`nx.${d.id(other.customer)} = ev.${d.id(table.customer)}`,
    later.matched_by ? sql`${nextTime} >= ${time}` : sql`${nextTime} > ${time}`,
    sql`${d.cast(nextTime, 'date')} <= ${c.asOf}`,
  ];
  if (later.matched_by) filters.push(sql`nx.${d.id(later.matched_by)} = ev.${d.id(later.matched_by)}`);
  if (later.within) filters.push(sql`${nextTime} <= ${d.dateAdd(time, d.literal(later.within.amount), later.within.unit, 'timestamp')}`);
  for (const w of later.where ?? []) filters.push(compileComparison(d, sql`nx.${d.id(w.column)}`, w, columnType(c, other.from, w.column)));
  return sql`${negate ? sql`NOT ` : sql``}EXISTS (SELECT 1 FROM ${context.relation(other.from)} AS nx WHERE ${joinSql(filters, sql` AND `)})`;
}

function eventCondition(c: Compiler, condition: EventCondition, name: string, joins: Sql[]): Sql {
  const { d, spec, context } = c;
  const table = spec.events[condition.event]!;
  const day = d.cast(sql`ev.${d.id(table.time)}`, 'date');
  const chosen: Sql[] = [sql`${day} <= ${c.asOf}`];
  if (condition.within) chosen.push(sql`${day} > ${ago(c, condition.within)}`);
  if (condition.between_ago) chosen.push(sql`${day} BETWEEN ${ago(c, condition.between_ago[1])} AND ${ago(c, condition.between_ago[0])}`);
  for (const w of condition.where ?? []) chosen.push(compileComparison(d, sql`ev.${d.id(w.column)}`, w, columnType(c, table.from, w.column)));
  // followed_by / not_followed_by judge the events chosen (with `last`, only the N most recent of them).
  const judged: Sql[] = [];
  if (condition.followed_by) judged.push(laterEvent(c, condition.followed_by, table, false));
  if (condition.not_followed_by) judged.push(laterEvent(c, condition.not_followed_by, table, true));
  const counted = condition.distinct ? sql`COUNT(DISTINCT ev.${d.id(condition.distinct)})` : sql`COUNT(*)`;
  const customer = sql`ev.${d.id(table.customer)}`;
  const alias = d.id(name);
  joins.push(sql`\nLEFT JOIN ${alias} ON ${alias}.k = base.${c.key}`);
  if (!condition.last) {
    c.ctes.push({
      name,
      body: sql`SELECT ${customer} AS k, ${counted} AS n\nFROM ${context.relation(table.from)} AS ev\nWHERE ${joinSql([...chosen, ...judged], sql`\n  AND `)}\nGROUP BY ${customer}`,
    });
    return countTest(d, sql`COALESCE(${alias}.n, 0)`, condition.count, condition.did);
  }

  // The N most recent events chosen, newest first. With an id column ties are broken by it (exactly N are taken);
  // without one, RANK keeps every event at the same time as the N-th, so the choice never depends on the scan order.
  const { count, allow_fewer } = condition.last;
  const rank = table.id
    ? sql`ROW_NUMBER() OVER (PARTITION BY ${customer} ORDER BY ev.${d.id(table.time)} DESC, ev.${d.id(table.id)} DESC NULLS LAST)`
    : sql`RANK() OVER (PARTITION BY ${customer} ORDER BY ev.${d.id(table.time)} DESC)`;
  const recent = `${name}_last`;
  c.ctes.push({
    name: recent,
    body: sql`SELECT * FROM (\n  SELECT ev.*, ${rank} AS ${d.id(RECENCY)}\n  FROM ${context.relation(table.from)} AS ev\n  WHERE ${joinSql(chosen, sql`\n    AND `)}\n) AS ev\nWHERE ev.${d.id(RECENCY)} <= ${d.literal(count)}`,
  });
  // Two counts per customer: the recent events taken (to tell customers with fewer than N), and those judged.
  c.ctes.push({
    name,
    body: sql`SELECT t.k, t.taken, COALESCE(j.n, 0) AS n\nFROM (SELECT ${customer} AS k, COUNT(*) AS taken FROM ${d.id(recent)} AS ev GROUP BY ${customer}) AS t\nLEFT JOIN (\n  SELECT ${customer} AS k, ${counted} AS n\n  FROM ${d.id(recent)} AS ev${judged.length ? sql`\n  WHERE ${joinSql(judged, sql` AND `)}` : sql``}\n  GROUP BY ${customer}\n) AS j ON j.k = t.k`,
  });
  const test = countTest(d, sql`COALESCE(${alias}.n, 0)`, condition.count, condition.did);
  return allow_fewer ? test : sql`(COALESCE(${alias}.taken, 0) >= ${d.literal(count)} AND ${test})`;
}

function percentileCondition(c: Compiler, condition: PercentileCondition, name: string, joins: Sql[]): Sql {
  const { d } = c;
  const top = 'top' in condition;
  const share = top ? condition.top : condition.bottom;
  const { expr } = field(c, condition.by);
  c.ctes.push({
    name,
    body: sql`SELECT base.${c.key} AS k, ROW_NUMBER() OVER (ORDER BY ${expr} ${top ? sql`DESC` : sql`ASC`}, base.${c.key}) AS rn, COUNT(*) OVER () AS n\nFROM ${c.d.id('base')} AS base\nWHERE ${expr} IS NOT NULL`,
  });
  const alias = c.d.id(name);
  joins.push(sql`\nLEFT JOIN ${alias} ON ${alias}.k = base.${c.key}`);
  // rn ≤ n × share, in integers: rn × 10,000 ≤ n × share in hundredths of a percent.
  return sql`COALESCE(${alias}.rn * ${d.literal(BUCKETS)} <= ${alias}.n * ${d.literal(Math.round(share * 100))}, FALSE)`;
}
