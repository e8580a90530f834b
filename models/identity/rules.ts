import type { Dialect } from '../../src/dialects/dialect.js';
import { Sql, indentSql, joinSql, sql, unionAll } from '../../src/dialects/sql.js';
import type { IdentityPlan, RulePlan } from './plan.js';
import { tierSql, type ScoringPlan } from './scoring.js';
import { col, emptySelect, text, type IdentityTables } from './tables.js';

/**
 * Matching. Each rule turns every record into zero or more *keys* (its exact parts; a record with two e-mails has
 * two keys). Records sharing a key form a group; a group larger than the rule's `max_records` is ignored (a store's
 * phone, a common name) and reported. Within a group every record is linked to the group's first record — a star,
 * so a group of k records costs k − 1 links, not k². A rule with `similar` links pairs inside a group only when the
 * fuzzy comparison passes, using the warehouse's own similarity function.
 */

/** Number of key columns: the widest rule. Narrower rules fill the rest with ''. */
export function keyWidth(plan: IdentityPlan): number {
  return Math.max(1, ...plan.rules.map((r) => r.parts.length));
}

export const keyColumn = (i: number) => `k${i + 1}`;

export function keysSelect(d: Dialect, plan: IdentityPlan, t: IdentityTables): Sql {
  const width = keyWidth(plan);
  const branches = plan.rules.map((rule) => {
    const alias = (i: number) => `p${i + 1}`;
    const v = (i: number, name: string) => col(d, alias(i), name);
    const keys = Array.from({ length: width }, (_, i) => {
      const part = rule.parts[i];
      if (!part) return sql`${text(d, '')} AS ${d.id(keyColumn(i))}`;
      const value = part.prefix ? d.functions.substring(v(i, 'value'), d.literal(1), d.literal(part.prefix)) : v(i, 'value');
      return sql`${value} AS ${d.id(keyColumn(i))}`;
    });
    const joins = rule.parts
      .slice(1)
      .map((part, j) => sql`\nJOIN ${d.table(t.values)} AS ${d.id(alias(j + 1))} ON ${v(j + 1, 'rec')} = ${v(0, 'rec')} AND ${v(j + 1, 'field')} = ${d.string(part.identifier)} AND NOT ${v(j + 1, 'junk')}`);
    return sql`SELECT ${text(d, rule.name)} AS ${d.id('rule')}, ${v(0, 'rec')}, ${joinSql(keys)}
FROM ${d.table(t.values)} AS ${d.id(alias(0))}${joinSql(joins, Sql.empty)}
WHERE ${v(0, 'field')} = ${d.string(rule.parts[0]!.identifier)} AND NOT ${v(0, 'junk')}`;
  });
  if (!branches.length) return emptySelect(d, [['rule', 'string'], ['rec', 'integer'], ...Array.from({ length: width }, (_, i) => [keyColumn(i), 'string'] as const)]);
  return sql`SELECT DISTINCT *
FROM (
${indentSql(unionAll(branches))}
) AS k`;
}

export function groupsSelect(d: Dialect, plan: IdentityPlan, t: IdentityTables): Sql {
  const keys = Array.from({ length: keyWidth(plan) }, (_, i) => d.id(keyColumn(i)));
  return sql`SELECT ${d.id('rule')}, ${joinSql(keys)}, COUNT(*) AS ${d.id('records')}, MIN(${d.id('rec')}) AS ${d.id('root')}
FROM ${d.table(t.keys)}
GROUP BY ${d.id('rule')}, ${joinSql(keys)}`;
}

/** The key as people read it: `martin + alice + 1990-01-02`. */
export function keyText(d: Dialect, rule: RulePlan, alias: string): Sql {
  return joinSql(
    rule.parts.map((_, i) => col(d, alias, keyColumn(i))),
    sql` || ${d.string(' + ')} || `,
  );
}

/** `records <= max` of the rule each group belongs to. */
export function withinLimit(d: Dialect, plan: IdentityPlan, alias: string): Sql {
  const limits = new Set(plan.rules.map((r) => r.maxRecords));
  const records = col(d, alias, 'records');
  if (limits.size === 1) return sql`${records} <= ${d.literal(plan.rules[0]!.maxRecords)}`;
  const cases = plan.rules.map((r) => sql`WHEN ${d.string(r.name)} THEN ${d.literal(r.maxRecords)}`);
  return sql`${records} <= CASE ${col(d, alias, 'rule')} ${joinSql(cases, sql` `)} END`;
}

function sameKey(d: Dialect, width: number, left: string, right: string): Sql {
  const names = ['rule', ...Array.from({ length: width }, (_, i) => keyColumn(i))];
  return joinSql(
    names.map((name) => sql`${col(d, right, name)} = ${col(d, left, name)}`),
    sql` AND `,
  );
}

/**
 * Links: (a, b) record numbers, the rule's rank and name, and the key that linked them. Probabilistic links (pairs
 * scored at or above the threshold) come after every rule, keyed by their match probability.
 */
export function edgesSelect(d: Dialect, plan: IdentityPlan, t: IdentityTables, scoring?: ScoringPlan): Sql {
  const width = keyWidth(plan);
  const rank = (rule: RulePlan) => d.cast(d.literal(rule.rank), 'integer');
  const branches = plan.rules.map((rule) => {
    if (!rule.similar) {
      const k = (name: string) => col(d, 'k', name);
      const g = (name: string) => col(d, 'g', name);
      return sql`SELECT ${k('rec')} AS ${d.id('a')}, ${g('root')} AS ${d.id('b')}, ${rank(rule)} AS ${d.id('rank')}, ${k('rule')}, ${keyText(d, rule, 'k')} AS ${d.id('key')}
FROM ${d.table(t.keys)} AS k
JOIN ${d.table(t.groups)} AS g ON ${sameKey(d, width, 'k', 'g')}
WHERE ${k('rule')} = ${d.string(rule.name)} AND ${withinLimit(d, plan, 'g')} AND ${k('rec')} <> ${g('root')}`;
    }
    const x = (name: string) => col(d, 'x', name);
    const y = (name: string) => col(d, 'y', name);
    const fx = col(d, 'fx', 'value');
    const fy = col(d, 'fy', 'value');
    const field = d.string(rule.similar.identifier);
    const similar =
      rule.similar.method === 'jaro_winkler'
        ? sql`${d.fn('jaroWinkler')(fx, fy)} >= ${d.literal(rule.similar.threshold)}`
        : sql`${d.fn('editDistance')(fx, fy)} <= ${d.literal(rule.similar.threshold)}`;
    const value = (alias: string) => sql`${col(d, alias, 'field')} = ${field} AND NOT ${col(d, alias, 'junk')}`;
    return sql`SELECT DISTINCT ${x('rec')} AS ${d.id('a')}, ${y('rec')} AS ${d.id('b')}, ${rank(rule)} AS ${d.id('rank')}, ${x('rule')},
  ${keyText(d, rule, 'x')} || ${d.string(' ~ ')} || ${fx} || ${d.string(' / ')} || ${fy} AS ${d.id('key')}
FROM ${d.table(t.keys)} AS x
JOIN ${d.table(t.keys)} AS y ON ${sameKey(d, width, 'x', 'y')} AND ${y('rec')} > ${x('rec')}
JOIN ${d.table(t.groups)} AS g ON ${sameKey(d, width, 'x', 'g')}
JOIN ${d.table(t.values)} AS fx ON ${col(d, 'fx', 'rec')} = ${x('rec')} AND ${value('fx')}
JOIN ${d.table(t.values)} AS fy ON ${col(d, 'fy', 'rec')} = ${y('rec')} AND ${value('fy')}
WHERE ${x('rule')} = ${d.string(rule.name)} AND ${withinLimit(d, plan, 'g')} AND ${similar}`;
  });
  if (scoring && t.scoring) {
    const s = (name: string) => col(d, 's', name);
    branches.push(sql`SELECT ${s('a')}, ${s('b')}, ${d.cast(sql`${d.literal(scoring.rank)} + ${tierSql(d, s('probability'))}`, 'integer')} AS ${d.id('rank')}, ${text(d, scoring.rule)} AS ${d.id('rule')}, ${d.string('match probability ')} || ${percentText(d, s('probability'))} || ${d.string('%')} AS ${d.id('key')}
FROM ${d.table(t.scoring.scores)} AS s
WHERE ${s('probability')} >= ${d.literal(scoring.threshold)}`);
  }
  const e = (name: string) => col(d, 'e', name);
  if (!branches.length) return emptySelect(d, [['edge', 'integer'], ['a', 'integer'], ['b', 'integer'], ['rank', 'integer'], ['rule', 'string'], ['key', 'string']]);
  return sql`SELECT ROW_NUMBER() OVER (ORDER BY ${e('rank')}, ${e('a')}, ${e('b')}, ${e('key')}) AS ${d.id('edge')}, e.*
FROM (
${indentSql(unionAll(branches))}
) AS e`;
}

/**
 * A probability in [0, 1] as a percentage with two decimals (`99.80`), the same text on every warehouse. Casting the
 * decimal to text is not: BigQuery writes a NUMERIC without trailing zeros (`99.8`, `100`), the others keep its scale.
 * So the hundredths of a percent, rounded by the decimal cast, are written out as digits: 9980 + 100000 → `109980`,
 * whole part `099` → `99`, then `80`.
 */
export function percentText(d: Dialect, probability: Sql): Sql {
  const hundredths = d.cast(sql`${d.cast(sql`${probability} * 100`, 'decimal')} * 100`, 'integer');
  const digits = d.cast(sql`${hundredths} + 100000`, 'string');
  const part = (start: number, length: number) => d.functions.substring(digits, d.literal(start), d.literal(length));
  return sql`${d.cast(d.cast(part(2, 3), 'integer'), 'string')} || ${d.string('.')} || ${part(5, 2)}`;
}

/** Links still in use: all of them, or those the cap on distinct values has not set aside. */
export function activeEdges(d: Dialect, t: IdentityTables): Sql {
  if (!t.dropped) return d.table(t.edges);
  return sql`(SELECT * FROM ${d.table(t.edges)} AS x WHERE NOT EXISTS (SELECT 1 FROM ${d.table(t.dropped)} AS y WHERE ${col(d, 'y', 'edge')} = ${col(d, 'x', 'edge')}))`;
}
