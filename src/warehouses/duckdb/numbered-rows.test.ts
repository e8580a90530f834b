import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dialect } from '../../dialects/dialect.js';
import { Sql, sql } from '../../dialects/sql.js';
import type { Connection } from '../connection.js';
import { openTarget } from '../registry.js';
import { materialiseChanges } from '../../sync/planner.js';
import { unnumberedTable } from '../../state/tables.js';

/**
 * DuckDB numbers a change set's rows after sorting them (a streaming ROW_NUMBER() OVER ()) instead of with a window
 * ordering them itself: the numbers must be those of the standard window (Dialect's own numberedRows, run on the same
 * DuckDB), over enough rows for several row groups and both threads, and the table must hold the rows in their order.
 */
describe("DuckDB's numbered rows", () => {
  const root = mkdtempSync(join(tmpdir(), 'tideline-numbered-'));
  let connection: Connection;
  beforeAll(async () => {
    connection = await openTarget({ type: 'duckdb', path: ':memory:', threads: 2, memory_limit: '64MB' }, { root });
    // 300,000 rows in no order: four ops, keys as text (so '10' sorts before '9'), a few NULL keys.
    await connection.execute(
      sql`CREATE TABLE rows_in AS SELECT CASE i % 4 WHEN 0 THEN 'removed' WHEN 1 THEN 'added' WHEN 2 THEN 'changed' ELSE 'held_back' END AS op, CASE WHEN i % 9973 = 0 THEN NULL ELSE CAST((i * 7919) % 300007 AS VARCHAR) END AS record_key, 'v' || i AS value FROM range(300000) AS t(i)`,
    );
    // The oracle: the standard window, ordering the rows itself.
    await connection.execute(sql`CREATE TABLE windowed AS SELECT * FROM (${Dialect.prototype.numberedRows.call(connection.dialect, select, order, sql`seq`)}) AS n`);
  });
  const order = sql`CASE op WHEN 'removed' THEN 1 WHEN 'changed' THEN 2 WHEN 'added' THEN 3 ELSE 4 END, record_key`;
  const select = sql`SELECT * FROM rows_in`;
  /** The checks of a numbered table against the oracle: rows of one op without a key tie, in any order (never sent: the change set's null keys); all others are unique. */
  const compare = (table: string) =>
    connection.query(sql`SELECT
  (SELECT COUNT(*) FROM ${Sql.trusted(table)}) AS n,
  (SELECT COUNT(*) FROM ${Sql.trusted(table)} WHERE record_key IS NOT NULL) AS keyed,
  (SELECT COUNT(*) FROM ${Sql.trusted(table)} AS s JOIN windowed AS w ON w.value = s.value AND w.seq = s.seq WHERE s.record_key IS NOT NULL) AS same,
  (SELECT COUNT(*) FROM (SELECT seq, rowid FROM ${Sql.trusted(table)}) WHERE seq <> rowid + 1) AS out_of_place`);
  afterAll(async () => {
    await connection.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('gives every row the number the ordering window gives it, and keeps the rows in that order', async () => {
    await connection.execute(sql`CREATE TABLE streamed AS SELECT * FROM (${connection.dialect.numberedRows(select, order, sql`seq`)}) AS n`);
    expect((await compare('streamed'))[0]).toEqual({ n: 300000, keyed: 299969, same: 299969, out_of_place: 0 });
  });

  it('gives the same numbers and order when a change set too large to sort at once is numbered in chunks of keys', async () => {
    // 75,000 rows an op in chunks of 20,000: four ranges of keys an op, bounds from a sample, NULL keys in the last.
    await materialiseChanges(connection, { name: 'chunked' }, select, [{ name: 'rows_in' }], 20_000);
    expect((await compare('chunked'))[0]).toEqual({ n: 300000, keyed: 299969, same: 299969, out_of_place: 0 });
    const [columns] = await connection.query(sql`SELECT string_agg(column_name, ',' ORDER BY column_index) AS names FROM duckdb_columns() WHERE table_name = 'chunked'`);
    expect(columns).toEqual({ names: 'seq,op,record_key,value' });
    expect(await connection.columns({ name: 'chunked__unnumbered' })).toBeUndefined();
    expect(unnumberedTable({ schema: 's', name: 'changes__a__unnumbered' })).toEqual({ schema: 's', name: 'unnumbered__a__unnumbered' });
  });
});
