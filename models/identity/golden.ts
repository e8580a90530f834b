import type { Dialect, LogicalType } from '../../src/dialects/dialect.js';
import { Sql, indentSql, joinSql, sql, unionAll } from '../../src/dialects/sql.js';
import type { AnalyseContext } from '../model-kind.js';
import type { IdentityPlan } from './plan.js';
import type { SurvivorshipRule } from './schema.js';
import { col, text, type IdentityTables } from './tables.js';

/**
 * The golden record: one row per customer, each field chosen among the customer's records by its survivorship rule,
 * beside the list of source record ids it was built from.
 *  - source_priority: the value of the most trusted source (lowest `priority`), then the most recent;
 *  - most_recent: the value of the record updated last, then the most trusted;
 *  - most_frequent: the value most records agree on (compared normalised), then the most recent;
 *  - longest: the longest value (a full first name over an initial), then the most recent.
 * Remaining ties go to the smallest value, so the choice never depends on the warehouse's row order.
 */

/** The type of a golden field: dates are dates; attributes keep their column's type when every source agrees. */
export function goldenType(plan: IdentityPlan, from: string, context: Pick<AnalyseContext, 'dialect' | 'columnsOf'>): LogicalType {
  const identifier = plan.identifiers.get(from);
  if (identifier) return identifier.type === 'date' ? 'date' : 'string';
  const d = context.dialect;
  const types = plan.sources.flatMap((source) =>
    source.inputs
      .filter((input) => input.role === 'attribute' && input.field === from)
      .map((input) => (input.column === undefined || input.sql !== undefined ? undefined : context.columnsOf(source.relation)?.find((c) => d.identifierKey(c.name) === d.identifierKey(input.column!))?.type)),
  );
  const first = types[0];
  return first !== undefined && types.every((t) => t === first) ? first : 'string';
}

/**
 * Every value a golden field may take, with what the rules rank it by, keyed by the customer's component number: an
 * integer partitions and joins faster than the customer id, joined once per customer at the end (goldenSelect).
 */
export function fieldsSelect(d: Dialect, plan: IdentityPlan, t: IdentityTables): Sql {
  const v = (name: string) => col(d, 'v', name);
  const r = (name: string) => col(d, 'r', name);
  const froms = [...new Set(plan.golden.map((g) => g.from))];
  const wanted = froms.length ? sql`${v('field')} IN (${joinSql(froms.map((f) => d.string(f)))})` : sql`1 = 0`;
  return sql`SELECT ${col(d, 'm', 'comp')}, ${v('field')}, ${v('value')}, ${v('display')}, ${r('updated_at')}, ${r('priority')}
FROM ${d.table(t.values)} AS v
JOIN ${d.table(t.members)} AS m ON ${col(d, 'm', 'rec')} = ${v('rec')}
JOIN ${d.table(t.records)} AS r ON ${r('rec')} = ${v('rec')}
WHERE NOT ${v('junk')} AND ${wanted}`;
}

function ranking(d: Dialect, rule: SurvivorshipRule): Sql {
  const f = (name: string) => col(d, 'f', name);
  const recent = sql`${f('updated_at')} DESC NULLS LAST`;
  const trusted = sql`${f('priority')} ASC`;
  const ties = sql`${f('value')} ASC, ${f('display')} ASC`;
  switch (rule) {
    case 'source_priority':
      return sql`${trusted}, ${recent}, ${ties}`;
    case 'most_recent':
      return sql`${recent}, ${trusted}, ${ties}`;
    case 'most_frequent':
      return sql`${f('frequency')} DESC, ${recent}, ${trusted}, ${ties}`;
    case 'longest':
      return sql`${d.functions.length(f('display'))} DESC, ${recent}, ${trusted}, ${ties}`;
  }
}

export function goldenSelect(d: Dialect, plan: IdentityPlan, t: IdentityTables, context: Pick<AnalyseContext, 'dialect' | 'columnsOf'>): Sql {
  const rules = [...new Set(plan.golden.map((g) => g.rule))];
  const f = (name: string) => col(d, 'f', name);
  const x = (name: string) => col(d, 'x', name);
  const winners = rules.map((rule) => {
    const froms = [...new Set(plan.golden.filter((g) => g.rule === rule).map((g) => g.from))];
    const within = sql`IN (${joinSql(froms.map((from) => d.string(from)))})`;
    // How many of the customer's records agree on each value: counted only where a rule ranks by it.
    const candidates =
      rule === 'most_frequent'
        ? sql`(
    SELECT ${x('comp')}, ${x('field')}, ${x('value')}, ${x('display')}, ${x('updated_at')}, ${x('priority')},
      COUNT(*) OVER (PARTITION BY ${x('comp')}, ${x('field')}, ${x('value')}) AS ${d.id('frequency')}
    FROM ${d.table(t.fields)} AS x
    WHERE ${x('field')} ${within}
  ) AS f`
        : sql`${d.table(t.fields)} AS f
  WHERE ${f('field')} ${within}`;
    return sql`SELECT ${d.id('comp')}, ${d.id('rule')}, ${d.id('field')}, ${d.id('display')}
FROM (
  SELECT ${f('comp')}, ${text(d, rule)} AS ${d.id('rule')}, ${f('field')}, ${f('display')},
    ROW_NUMBER() OVER (PARTITION BY ${f('comp')}, ${f('field')} ORDER BY ${ranking(d, rule)}) AS ${d.id('pick')}
  FROM ${candidates}
) AS ranked
WHERE ${d.id('pick')} = 1`;
  });
  const w = (name: string) => col(d, 'w', name);
  const s = (name: string) => col(d, 's', name);
  const p = (name: string) => col(d, 'p', name);
  const m = (name: string) => col(d, 'm', name);
  const r = (name: string) => col(d, 'r', name);
  const pivot = plan.golden.map((g) => {
    const picked = sql`MAX(CASE WHEN ${w('rule')} = ${d.string(g.rule)} AND ${w('field')} = ${d.string(g.from)} THEN ${w('display')} END)`;
    const type = goldenType(plan, g.from, context);
    return sql`${type === 'string' ? picked : d.cast(picked, type)} AS ${d.id(g.name)}`;
  });
  const summaryColumns = ['records', 'sources', 'source_ids', 'first_seen', 'last_seen'].map((name) => s(name));
  // Each customer's winners pivoted to one row, grouped by the component number, then joined one to one. The number
  // is called customer_id there: a name no field can take (GOLDEN_COLUMNS), unlike `comp`.
  const key = d.id('customer_id');
  const withPicked = winners.length
    ? sql`winners AS (\n${indentSql(unionAll(winners))}\n), picked AS (
  SELECT ${w('comp')} AS ${key},
${indentSql(joinSql(pivot, sql`,\n`), 4)}
  FROM winners AS w
  GROUP BY ${w('comp')}
), `
    : Sql.empty;
  const joinPicked = winners.length ? sql`\nLEFT JOIN picked AS p ON ${p('customer_id')} = ${s('comp')}` : Sql.empty;
  return sql`WITH ${withPicked}summary AS (
  SELECT ${m('comp')}, COUNT(*) AS ${d.id('records')},
    ${d.stringAgg(m('source'), ', ', { distinct: true })} AS ${d.id('sources')},
    ${d.stringAgg(sql`${m('source')} || ${d.string(':')} || ${m('source_id')}`, ', ', { orderBy: [m('source'), m('source_id')] })} AS ${d.id('source_ids')},
    MIN(${r('first_seen')}) AS ${d.id('first_seen')},
    MAX(${r('updated_at')}) AS ${d.id('last_seen')}
  FROM ${d.table(t.members)} AS m
  JOIN ${d.table(t.records)} AS r ON ${r('rec')} = ${m('rec')}
  GROUP BY ${m('comp')}
)
SELECT
${indentSql(joinSql([col(d, 'c', 'customer_id'), ...plan.golden.map((g) => p(g.name)), ...summaryColumns], sql`,\n`))}
FROM summary AS s
JOIN ${d.table(t.customers)} AS c ON ${col(d, 'c', 'comp')} = ${s('comp')}${joinPicked}`;
}
