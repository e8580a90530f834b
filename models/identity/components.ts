import type { Dialect, TableRef } from '../../src/dialects/dialect.js';
import { sql, type Sql } from '../../src/dialects/sql.js';
import type { Step } from '../model-kind.js';
import { col, rebuild, statistics } from './tables.js';

export interface GraphTables {
  /** The working graph: directed edges (u → v) with v < u, one table per half-round. */
  readonly graph: TableRef;
  readonly graphNext: TableRef;
  /** Result: every record's component, the smallest record number in it. */
  readonly labels: TableRef;
  /** Every record (column `rec`), linked or not. */
  readonly records: TableRef;
  /** One row per round, `phase` naming the repeated step. */
  readonly rounds: TableRef;
}

/**
 * Connected components in SQL by alternating large-star and small-star (Kiveris, Lattanzi, Mirrokni, Rastogi,
 * Vassilvitskii, "Connected Components in MapReduce and Beyond", SoCC 2014). Each edge is kept once, oriented from
 * the larger record number u to the smaller v; m(x) is the smallest of x and the nodes it points to.
 *  - large-star: every edge (u → v) becomes (u → m(v)): each node's larger neighbours move to its smallest neighbour;
 *  - small-star: every node u with edges points to m(u), and each of its other smaller neighbours does too.
 * Both keep connectivity and strictly shrink what is not yet a star; the number of rounds grows with log(n) in
 * practice (the paper proves O(log² n)), not with the graph's diameter as min-label propagation does, and no
 * recursive CTE is involved. The CLI drives the rounds (a `repeat` step) and stops when the graph is a set of stars
 * centred on their smallest node: every node with an edge has exactly one, to a node without any.
 */
export function componentSteps(d: Dialect, t: GraphTables, edges: Sql, maxRounds: number): Step[] {
  const e = (name: string) => col(d, 'e', name);
  const m = (name: string) => col(d, 'm', name);
  const u = d.id('u');
  const v = d.id('v');
  const minimum = (table: TableRef) => sql`SELECT ${u}, MIN(${v}) AS ${d.id('m')} FROM ${d.table(table)} GROUP BY ${u}`;

  const init = sql`SELECT DISTINCT GREATEST(${e('a')}, ${e('b')}) AS ${u}, LEAST(${e('a')}, ${e('b')}) AS ${v}
FROM ${edges} AS e
WHERE ${e('a')} <> ${e('b')}`;
  const largeStar = sql`SELECT DISTINCT ${e('u')}, COALESCE(${m('m')}, ${e('v')}) AS ${v}
FROM ${d.table(t.graph)} AS e
LEFT JOIN (${minimum(t.graph)}) AS m ON ${m('u')} = ${e('v')}`;
  const smallStar = sql`SELECT DISTINCT ${col(d, 's', 'u')}, ${col(d, 's', 'v')}
FROM (
  SELECT ${e('v')} AS ${u}, ${m('m')} AS ${v}
  FROM ${d.table(t.graphNext)} AS e
  JOIN (${minimum(t.graphNext)}) AS m ON ${m('u')} = ${e('u')}
  WHERE ${e('v')} <> ${m('m')}
  UNION ALL
  ${minimum(t.graphNext)}
) AS s`;
  const graph = d.table(t.graph);
  // Nodes pointing to a node that itself points somewhere, plus nodes pointing to more than one: 0 once converged.
  const unsettled = sql`SELECT
  (SELECT COUNT(*) FROM ${graph} AS e WHERE ${e('v')} IN (SELECT ${u} FROM ${graph}))
  + (SELECT COUNT(*) FROM ${graph})
  - (SELECT COUNT(DISTINCT ${u}) FROM ${graph}) AS ${d.id('unsettled')}`;
  const r = (name: string) => col(d, 'r', name);
  const labels = sql`SELECT ${r('rec')}, COALESCE(${col(d, 'g', 'v')}, ${r('rec')}) AS ${d.id('comp')}
FROM ${d.table(t.records)} AS r
LEFT JOIN ${graph} AS g ON ${col(d, 'g', 'u')} = ${r('rec')}`;

  return [
    ...rebuild(d, t.graph, init).map((s, i) => ({ kind: 'sql' as const, label: ['drop graph', 'graph'][i] ?? 'statistics', sql: s })),
    {
      kind: 'repeat',
      label: 'components',
      maxRounds,
      body: [
        { kind: 'sql', label: 'large-star', sql: d.createTableAs(t.graphNext, largeStar) },
        ...statistics(d, t.graphNext),
        { kind: 'sql', label: 'drop previous graph', sql: d.dropTable(t.graph) },
        { kind: 'sql', label: 'small-star', sql: d.createTableAs(t.graph, smallStar) },
        ...statistics(d, t.graph),
        { kind: 'sql', label: 'drop half-round graph', sql: d.dropTable(t.graphNext) },
        { kind: 'sql', label: 'count the round', sql: sql`INSERT INTO ${d.table(t.rounds)} (${d.id('phase')}) VALUES (${d.string('components')})` },
      ],
      until: unsettled,
    },
    ...rebuild(d, t.labels, labels).map((s, i) => ({ kind: 'sql' as const, label: ['drop labels', 'labels'][i] ?? 'statistics', sql: s })),
  ];
}
