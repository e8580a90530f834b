import type { TableRef } from '../../src/dialects/dialect.js';
import { sql, type Sql } from '../../src/dialects/sql.js';
import type { Connection } from '../../src/warehouses/connection.js';

export interface PairwiseQuality {
  /** Pairs of records put in one customer that are one true entity. */
  readonly truePairs: number;
  /** Pairs put in one customer. */
  readonly predictedPairs: number;
  /** Pairs that are one true entity. */
  readonly actualPairs: number;
  readonly precision: number;
  readonly recall: number;
}

/**
 * Pairwise precision and recall of an identity map against the truth, counted in SQL from group sizes (n·(n−1)/2
 * pairs per group), so a million records cost three GROUP BYs rather than a self-join. `truth` is a query giving
 * (source, source_id, entity) for every record of the map.
 */
export async function pairwiseQuality(connection: Connection, map: TableRef, truth: Sql): Promise<PairwiseQuality> {
  const d = connection.dialect;
  const pairs = (n: Sql) => sql`SUM(CAST(${n} AS ${d.type('float')}) * (${n} - 1) / 2)`;
  const [row] = await connection.query(sql`WITH joined AS (
  SELECT m.${d.id('customer_id')} AS c, t.${d.id('entity')} AS e
  FROM ${d.table(map)} AS m
  JOIN (${truth}) AS t ON t.${d.id('source')} = m.${d.id('source')} AND t.${d.id('source_id')} = m.${d.id('source_id')}
), both_ AS (SELECT c, e, COUNT(*) AS n FROM joined GROUP BY c, e),
predicted AS (SELECT c, COUNT(*) AS n FROM joined GROUP BY c),
actual AS (SELECT e, COUNT(*) AS n FROM joined GROUP BY e)
SELECT
  (SELECT ${pairs(sql`n`)} FROM both_) AS tp,
  (SELECT ${pairs(sql`n`)} FROM predicted) AS pp,
  (SELECT ${pairs(sql`n`)} FROM actual) AS ap`);
  const truePairs = Number(row!['tp'] ?? 0);
  const predictedPairs = Number(row!['pp'] ?? 0);
  const actualPairs = Number(row!['ap'] ?? 0);
  return {
    truePairs,
    predictedPairs,
    actualPairs,
    precision: predictedPairs === 0 ? 1 : truePairs / predictedPairs,
    recall: actualPairs === 0 ? 1 : truePairs / actualPairs,
  };
}
