import type { Dialect } from '../../src/dialects/dialect.js';
import { Sql, sql } from '../../src/dialects/sql.js';
import { activeEdges } from './rules.js';
import { col, type IdentityTables } from './tables.js';

/**
 * `<name>_map`: one row per source record. `rule` is the strongest rule among the record's links (empty for a
 * customer of one record); `holds_id` marks the record the customer id comes from; `previous_customer_id` is the id
 * the record had in the previous build, so a destination can merge contacts when two customers became one.
 */
export function mapSelect(d: Dialect, t: IdentityTables): Sql {
  const m = (name: string) => col(d, 'm', name);
  const active = activeEdges(d, t);
  const e = (name: string) => col(d, 'e', name);
  return sql`WITH ends AS (
  SELECT ${e('a')} AS ${d.id('rec')}, ${e('rank')}, ${e('rule')} FROM ${active} AS e
  UNION ALL
  SELECT ${e('b')}, ${e('rank')}, ${e('rule')} FROM ${active} AS e
), strongest AS (
  SELECT ${d.id('rec')}, ${d.id('rule')}
  FROM (
    SELECT ${d.id('rec')}, ${d.id('rule')}, ROW_NUMBER() OVER (PARTITION BY ${d.id('rec')} ORDER BY ${d.id('rank')}) AS ${d.id('pick')}
    FROM ends
  ) AS ranked
  WHERE ${d.id('pick')} = 1
)
SELECT ${m('source')}, ${m('source_id')}, ${col(d, 'c', 'customer_id')}, ${col(d, 's', 'rule')},
  ${m('old_id')} AS ${d.id('previous_customer_id')},
  (${m('age')} = ${col(d, 'c', 'anchor')}) AS ${d.id('holds_id')}
FROM ${d.table(t.members)} AS m
JOIN ${d.table(t.customers)} AS c ON ${col(d, 'c', 'comp')} = ${m('comp')}
LEFT JOIN strongest AS s ON ${col(d, 's', 'rec')} = ${m('rec')}`;
}

/**
 * `<name>_links`: every link found, with the rule and the values that made it, between two source records, and
 * whether it was used (the cap on distinct values per customer may set links aside). What `identity explain` walks.
 */
export function linksSelect(d: Dialect, t: IdentityTables): Sql {
  const e = (name: string) => col(d, 'e', name);
  const ma = (name: string) => col(d, 'ma', name);
  const mb = (name: string) => col(d, 'mb', name);
  // A LEFT JOIN rather than EXISTS in the select list, which Snowflake does not accept correlated.
  const used = t.dropped ? sql`(${col(d, 'x', 'edge')} IS NULL)` : sql`TRUE`;
  const setAside = t.dropped ? sql`\nLEFT JOIN ${d.table(t.dropped)} AS x ON ${col(d, 'x', 'edge')} = ${e('edge')}` : Sql.empty;
  return sql`SELECT ${col(d, 'ca', 'customer_id')}, ${e('rule')}, ${e('rank')}, ${e('key')} AS ${d.id('matched_on')},
  ${ma('source')}, ${ma('source_id')},
  ${mb('source')} AS ${d.id('linked_source')}, ${mb('source_id')} AS ${d.id('linked_source_id')}, ${col(d, 'cb', 'customer_id')} AS ${d.id('linked_customer_id')},
  ${used} AS ${d.id('used')}
FROM ${d.table(t.edges)} AS e
JOIN ${d.table(t.members)} AS ma ON ${ma('rec')} = ${e('a')}
JOIN ${d.table(t.members)} AS mb ON ${mb('rec')} = ${e('b')}
JOIN ${d.table(t.customers)} AS ca ON ${col(d, 'ca', 'comp')} = ${ma('comp')}
JOIN ${d.table(t.customers)} AS cb ON ${col(d, 'cb', 'comp')} = ${mb('comp')}${setAside}`;
}
