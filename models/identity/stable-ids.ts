import type { Dialect, LogicalType, TableRef } from '../../src/dialects/dialect.js';
import { joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import type { Step } from '../model-kind.js';
import { col, emptySelect, text, type IdentityTables } from './tables.js';

/**
 * Stable customer ids.
 *
 * A new customer's id is derived from its oldest record (earliest `created_at`, else `updated_at`, ties broken by
 * source and id): the first 16 hex digits of MD5(`source:id`), so a full refresh of unchanged data gives the same ids.
 * Across runs, each customer inherits an id of the previous build held by its records:
 *  - a customer holding several old ids (a merge) keeps the one of its oldest holder: the surviving id is the
 *    oldest member's, and the others are retired (reported, and kept in the map as `previous_customer_id`);
 *  - an old id held by records now in several customers (a split) stays with the one holding its oldest holder,
 *    by the same principle — so undoing a merge gives every customer its id back;
 *  - a customer inheriting none gets a new id; if that id is already taken by an inherited one (a record that was
 *    split off), `#1` and then its component number are appended before hashing.
 */

const PREVIOUS_COLUMNS: readonly (readonly [string, LogicalType])[] = [
  ['source', 'string'],
  ['source_id', 'string'],
  ['customer_id', 'string'],
];

function copyPrevious(d: Dialect, map: TableRef): Sql {
  return sql`SELECT ${joinSql(PREVIOUS_COLUMNS.map(([name, type]) => sql`${d.cast(d.id(name), type)} AS ${d.id(name)}`))}
FROM ${d.table(map)}`;
}

/**
 * The previous build's ids: copied from the visible map when there is one, empty on the first build or a full refresh
 * (the runner decides, see the `carry` step).
 */
export function previousStep(d: Dialect, t: IdentityTables): Step {
  return {
    kind: 'carry',
    label: 'previous ids',
    from: t.map.current,
    columns: PREVIOUS_COLUMNS.map(([name]) => name),
    carried: d.createTableAs(t.prev, copyPrevious(d, t.map.current)),
    fresh: d.createTableAs(t.prev, emptySelect(d, PREVIOUS_COLUMNS)),
  };
}

/** Every record with its component, its previous id and its age rank (1 = oldest record of the whole build). */
export function membersSelect(d: Dialect, t: IdentityTables): Sql {
  const r = (name: string) => col(d, 'r', name);
  const p = (name: string) => col(d, 'p', name);
  return sql`SELECT ${r('rec')}, ${col(d, 'l', 'comp')}, ${r('source')}, ${r('source_id')}, ${p('customer_id')} AS ${d.id('old_id')},
  ROW_NUMBER() OVER (ORDER BY ${r('first_seen')} ASC NULLS LAST, ${r('source')}, ${r('source_id')}) AS ${d.id('age')}
FROM ${d.table(t.records)} AS r
JOIN ${d.table(t.labels)} AS l ON ${col(d, 'l', 'rec')} = ${r('rec')}
LEFT JOIN ${d.table(t.prev)} AS p ON ${p('source')} = ${r('source')} AND ${p('source_id')} = ${r('source_id')}`;
}

/** One row per component: its customer id, the age of the record holding it (`anchor`), and `kept` or `new`. */
export function customersSelect(d: Dialect, t: IdentityTables): Sql {
  const id = (alias: string, name: string) => col(d, alias, name);
  const hash = (value: Sql) => d.functions.substring(d.functions.md5Hex(value), d.literal(1), d.literal(16));
  const key = sql`${id('m', 'source')} || ${d.string(':')} || ${id('m', 'source_id')}`;
  const anchorKey = id('f', 'anchor_key');
  const candidates = [hash(anchorKey), hash(sql`${anchorKey} || ${d.string('#1')}`), hash(sql`${anchorKey} || ${d.string('#')} || ${d.cast(id('f', 'comp'), 'string')}`)];
  return sql`WITH claims AS (
  SELECT ${d.id('comp')}, ${d.id('old_id')}, MIN(${d.id('age')}) AS ${d.id('oldest')}
  FROM ${d.table(t.members)}
  WHERE ${d.id('old_id')} IS NOT NULL
  GROUP BY ${d.id('comp')}, ${d.id('old_id')}
), awarded AS (
  SELECT ${d.id('comp')}, ${d.id('old_id')}, ${d.id('oldest')},
    ROW_NUMBER() OVER (PARTITION BY ${d.id('old_id')} ORDER BY ${d.id('oldest')} ASC) AS ${d.id('pick')}
  FROM claims
), chosen AS (
  SELECT ${d.id('comp')}, ${d.id('old_id')}, ${d.id('oldest')},
    ROW_NUMBER() OVER (PARTITION BY ${d.id('comp')} ORDER BY ${d.id('oldest')} ASC) AS ${d.id('pick')}
  FROM awarded
  WHERE ${d.id('pick')} = 1
), keep_ids AS (
  SELECT ${d.id('comp')}, ${d.id('old_id')}, ${d.id('oldest')} FROM chosen WHERE ${d.id('pick')} = 1
), firsts AS (
  SELECT ${d.id('comp')}, MIN(${d.id('age')}) AS ${d.id('oldest')}
  FROM ${d.table(t.members)}
  GROUP BY ${d.id('comp')}
), fresh AS (
  SELECT ${id('s', 'comp')}, ${id('s', 'oldest')}, ${key} AS ${d.id('anchor_key')}
  FROM firsts AS s
  JOIN ${d.table(t.members)} AS m ON ${id('m', 'age')} = ${id('s', 'oldest')}
  WHERE NOT EXISTS (SELECT 1 FROM keep_ids AS k WHERE ${id('k', 'comp')} = ${id('s', 'comp')})
), hashed AS (
  SELECT ${id('f', 'comp')}, ${id('f', 'oldest')},
    ${candidates[0]!} AS ${d.id('h0')}, ${candidates[1]!} AS ${d.id('h1')}, ${candidates[2]!} AS ${d.id('h2')}
  FROM fresh AS f
)
SELECT ${d.id('comp')}, ${d.id('old_id')} AS ${d.id('customer_id')}, ${d.id('oldest')} AS ${d.id('anchor')}, ${text(d, 'kept')} AS ${d.id('origin')}
FROM keep_ids
UNION ALL
SELECT ${id('h', 'comp')},
  CASE WHEN ${id('t0', 'old_id')} IS NULL THEN ${id('h', 'h0')} WHEN ${id('t1', 'old_id')} IS NULL THEN ${id('h', 'h1')} ELSE ${id('h', 'h2')} END,
  ${id('h', 'oldest')}, ${text(d, 'new')}
FROM hashed AS h
LEFT JOIN keep_ids AS t0 ON ${id('t0', 'old_id')} = ${id('h', 'h0')}
LEFT JOIN keep_ids AS t1 ON ${id('t1', 'old_id')} = ${id('h', 'h1')}`;
}
