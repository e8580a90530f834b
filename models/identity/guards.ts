import type { Dialect } from '../../src/dialects/dialect.js';
import { indentSql, sql, unionAll } from '../../src/dialects/sql.js';
import type { Step } from '../model-kind.js';
import { componentSteps } from './components.js';
import type { IdentityPlan } from './plan.js';
import { PROBABILITY_TIERS } from './scoring.js';
import { activeEdges } from './rules.js';
import { col, emptySelect, rebuild, statistics, type IdentityTables } from './tables.js';

/** Identifiers with a cap on distinct values per customer. */
export function cappedIdentifiers(plan: IdentityPlan) {
  return [...plan.identifiers.values()].filter((i) => i.maxPerCustomer !== undefined);
}

/** Enough rounds for any graph a warehouse can hold: 2·log2(n) stays below 100 up to n = 2^50. */
export const MAX_COMPONENT_ROUNDS = 100;

/**
 * Components, under the cap on distinct values per customer. Without a cap: one run of the components. With one:
 * components; repeat { in every customer over a cap that still has links of more than one rule, set aside the links
 * of its weakest rule (the last in `rules`); components again for the records of those customers only } until
 * nothing is set aside. Rules are ordered from the strongest evidence, so a customer who gathered four e-mails through
 * a fuzzy name match loses that match first, and keeps links from a shared e-mail or card; one whose links are all of
 * one rule is left as it is and reported.
 *
 * Only the customers a round cut can change: a component's links all join records of that component, so the
 * components of its records over the links left are those of the whole graph, and every other record keeps its
 * label (the smallest record number of its component, whichever run found it). Re-running the components over the
 * whole graph each round cost 191 of a 10M-record build's 942 CPU seconds (4 rounds).
 */
export function componentPlan(d: Dialect, plan: IdentityPlan, t: IdentityTables, scored = false): Step[] {
  const graph = { graph: t.graph, graphNext: t.graphNext, labels: t.labels, records: t.records, rounds: t.rounds };
  const capped = cappedIdentifiers(plan);
  if (!t.dropped || !t.cut || !t.affected || !t.labelsPart || capped.length === 0) return componentSteps(d, graph, activeEdges(d, t), MAX_COMPONENT_ROUNDS);

  const l = (name: string) => col(d, 'l', name);
  const v = (name: string) => col(d, 'v', name);
  const a = (name: string) => col(d, 'a', name);
  const over = capped.map(
    (identifier) => sql`SELECT ${l('comp')}
FROM ${d.table(t.labels)} AS l
JOIN ${d.table(t.values)} AS v ON ${v('rec')} = ${l('rec')}
WHERE ${v('field')} = ${d.string(identifier.name)} AND NOT ${v('junk')}
GROUP BY ${l('comp')}
HAVING COUNT(DISTINCT ${v('value')}) > ${d.literal(identifier.maxPerCustomer!)}`,
  );
  const cut = sql`WITH capped AS (
${indentSql(unionAll(over))}
), linked AS (
  SELECT ${col(d, 'e', 'edge')}, ${col(d, 'e', 'rank')}, ${l('comp')}
  FROM ${activeEdges(d, t)} AS e
  JOIN ${d.table(t.labels)} AS l ON ${l('rec')} = ${col(d, 'e', 'a')}
), weakest AS (
  SELECT ${a('comp')}, MAX(${a('rank')}) AS ${d.id('rank')}
  FROM linked AS a
  WHERE ${a('comp')} IN (SELECT ${d.id('comp')} FROM capped)
  GROUP BY ${a('comp')}
  HAVING MAX(${a('rank')}) > MIN(${a('rank')})
)
SELECT ${a('edge')}, ${a('comp')}
FROM linked AS a
JOIN weakest AS w ON ${col(d, 'w', 'comp')} = ${a('comp')} AND ${col(d, 'w', 'rank')} = ${a('rank')}`;

  const affected = sql`SELECT ${l('rec')}
FROM ${d.table(t.labels)} AS l
WHERE ${l('comp')} IN (SELECT ${d.id('comp')} FROM ${d.table(t.cut)})`;
  const x = (name: string) => col(d, 'x', name);
  const rec = d.id('rec');
  // The links left among those records: a link's ends are in one component, so checking one end is enough.
  const within = sql`(SELECT ${x('a')}, ${x('b')}
FROM ${activeEdges(d, t)} AS x
WHERE ${x('a')} IN (SELECT ${rec} FROM ${d.table(t.affected)}))`;
  const part = { ...graph, records: t.affected, labels: t.labelsPart };
  return [
    { kind: 'sql', label: 'no link set aside yet', sql: d.createTableAs(t.dropped, emptySelect(d, [['edge', 'integer']])) },
    ...componentSteps(d, graph, activeEdges(d, t), MAX_COMPONENT_ROUNDS),
    {
      kind: 'repeat',
      label: 'caps',
      // One round per rank that can give way: each rule, and each tier of probabilistic links.
      maxRounds: plan.rules.length + 1 + (scored ? PROBABILITY_TIERS.length + 1 : 0),
      body: [
        ...rebuild(d, t.cut, cut).map((s, i) => ({ kind: 'sql' as const, label: ['drop previous cut', 'weakest links of customers over a cap'][i] ?? 'statistics', sql: s })),
        { kind: 'sql', label: 'set them aside', sql: sql`INSERT INTO ${d.table(t.dropped)} (${d.id('edge')}) SELECT ${d.id('edge')} FROM ${d.table(t.cut)}` },
        ...rebuild(d, t.affected, affected).map((s, i) => ({ kind: 'sql' as const, label: ['drop previous records of capped customers', 'records of the customers cut'][i] ?? 'statistics', sql: s })),
        ...componentSteps(d, part, within, MAX_COMPONENT_ROUNDS),
        { kind: 'sql', label: 'their components replace theirs', sql: sql`DELETE FROM ${d.table(t.labels)} WHERE ${rec} IN (SELECT ${rec} FROM ${d.table(t.affected)})` },
        { kind: 'sql', label: 'their components', sql: sql`INSERT INTO ${d.table(t.labels)} (${rec}, ${d.id('comp')}) SELECT ${rec}, ${d.id('comp')} FROM ${d.table(t.labelsPart)}` },
        ...statistics(d, t.labels),
        { kind: 'sql', label: 'count the round', sql: sql`INSERT INTO ${d.table(t.rounds)} (${d.id('phase')}) VALUES (${d.string('caps')})` },
      ],
      until: sql`SELECT COUNT(*) AS ${d.id('set_aside')} FROM ${d.table(t.cut)}`,
    },
  ];
}
