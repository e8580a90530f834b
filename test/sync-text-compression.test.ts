import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type Sql } from '../src/dialects/sql.js';
import type { TableRef } from '../src/dialects/dialect.js';
import { materialiseChanges } from '../src/sync/planner.js';
import type { Connection } from '../src/warehouses/connection.js';
import { openTarget } from '../src/warehouses/registry.js';
import { serialConnection } from '../src/sync/serial.js';
import { watchedConnection } from './support/watched-connection.js';

/**
 * A sync's change set is written with DuckDB's text compression switched off (Dialect.textCompression): it is read
 * once and dropped, and compressing it cost most of a first sync's plan. The oracle is DuckDB's own storage report
 * (pragma_storage_info) of the blocks written, beside a control table written the same way outside the plan; and the
 * database's setting, read back after the plan however it ended.
 */
describe('the change set written without text compression (DuckDB)', () => {
  let root: string;
  let connection: Connection;
  const source: TableRef = { schema: 'main', name: 'people' };
  const changes: TableRef = { schema: 'main', name: 'changes' };
  // More rows than two row groups (122,880 each): DuckDB writes a large statement's rows to blocks as it runs,
  // compressed then or not, and CHECKPOINT keeps those blocks as they are; it keeps a commit's rows short of a row
  // group in its log, and compresses them at the checkpoint.
  const rows = 300_000;
  const diff = sql`SELECT 'added' AS op, CAST(id AS VARCHAR) AS record_key, email, 'Name ' || (id % 10) AS first_name FROM main.people`;
  const setting = async () => String((await connection.query(sql`SELECT current_setting('disabled_compression_methods') AS v`))[0]?.['v']);
  /** The share of the text values of `table` stored uncompressed, once checkpointed. */
  const uncompressed = async (table: string) => {
    await connection.execute(sql`CHECKPOINT`);
    const [share] = await connection.query(
      sql`SELECT SUM(CASE WHEN compression = 'Uncompressed' THEN count ELSE 0 END) / SUM(count) AS share FROM pragma_storage_info(${connection.dialect.string(table)}) WHERE segment_type = 'VARCHAR'`,
    );
    return Number(share?.['share']);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tideline-compression-'));
    connection = await openTarget({ type: 'duckdb', path: 'warehouse.duckdb', memory_limit: '256MB' }, { root });
    await connection.execute(sql`CREATE TABLE main.people AS SELECT i AS id, 'person' || i || '@example.com' AS email FROM range(1, ${connection.dialect.literal(rows + 1)}) AS t(i)`);
  });
  afterAll(async () => {
    await connection?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function planned(chunkRows?: number): Promise<void> {
    await connection.execute(connection.dialect.dropTable(changes));
    await materialiseChanges(connection, changes, diff, [source], chunkRows);
    const [numbered] = await connection.query(sql`SELECT COUNT(*) AS n, MIN(seq) AS low, MAX(seq) AS high, COUNT(DISTINCT seq) AS distinct_seq FROM main.changes`);
    expect(numbered).toEqual({ n: rows, low: 1, high: rows, distinct_seq: rows });
  }

  it('writes the change set uncompressed, in one statement and in chunks, where the same rows written elsewhere are compressed', async () => {
    await connection.execute(sql`CREATE TABLE main.control AS ${diff}`);
    expect(await uncompressed('control')).toBe(0);

    await planned();
    expect(await uncompressed('changes')).toBe(1);
    // Numbered in chunks: the unnumbered rows staged first, then appended a range of keys at a time. The rows an
    // append leaves short of a row group are kept in the log, and compressed at the checkpoint under the setting then
    // in force: here, of two ranges of about 150,000 rows, one row group was written as they were appended.
    await planned(160_000);
    expect(await uncompressed('changes')).toBeGreaterThan(0.3);
    expect(await setting()).toBe('');
  });

  it("restores the database's own setting after the plan, after plans that overlapped, and after a plan that failed", async () => {
    await connection.execute(sql`SET disabled_compression_methods = 'rle'`);
    const own = await setting();
    expect(own).toMatch(/^rle$/i);
    await planned();
    expect(await setting()).toBe(own);
    expect(await uncompressed('changes')).toBe(1);

    // The plans of syncs run at once overlap, through the engine's connection (its calls in order): the second starts
    // once the first switched compression off (and would read the setting then in force); it stays off until the last
    // ends, then is the database's again.
    const other: TableRef = { schema: 'main', name: 'changes_other' };
    await connection.execute(connection.dialect.dropTable(changes));
    let switched: () => void = () => undefined;
    const off = new Promise<void>((resolve) => (switched = resolve));
    const sets: string[] = [];
    const watched = watchedConnection(serialConnection(connection), (text) => {
      if (/^SET disabled_compression_methods/i.test(text)) {
        sets.push(text);
        queueMicrotask(switched);
      }
    });
    const first = materialiseChanges(watched, changes, diff, [source]);
    await off;
    await Promise.all([first, materialiseChanges(watched, other, diff, [source])]);
    expect(await setting()).toBe(own);
    expect([await uncompressed('changes'), await uncompressed('changes_other')]).toEqual([1, 1]);
    // One switch off and one back, for both plans.
    expect(sets).toHaveLength(2);

    // A plan that fails had compression off while it ran, and the setting is the database's after it.
    sets.length = 0;
    const failing: Sql = sql`SELECT 'added' AS op, record_key FROM main.no_such_table`;
    await expect(materialiseChanges(watched, { schema: 'main', name: 'changes_failed' }, failing, [source])).rejects.toThrow(/no_such_table/);
    expect(sets[0]).toMatch(/dictionary/i);
    expect(sets).toHaveLength(2);
    expect(await setting()).toBe(own);
  });

  it('writes the change set compressed where the warehouse refuses the setting', async () => {
    await connection.execute(sql`RESET disabled_compression_methods`);
    const refusing = watchedConnection(connection, (text) => {
      if (/disabled_compression_methods/i.test(text)) throw new Error('unrecognized configuration parameter "disabled_compression_methods"');
    });
    await connection.execute(connection.dialect.dropTable(changes));
    await materialiseChanges(refusing, changes, diff, [source]);
    expect(await connection.query(sql`SELECT COUNT(*) AS n FROM main.changes`)).toEqual([{ n: rows }]);
    expect(await uncompressed('changes')).toBe(0);
    expect(await setting()).toBe('');
  });
});
