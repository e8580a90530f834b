import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../dialects/sql.js';
import { WarehouseError, type Connection } from '../connection.js';
import { openTarget } from '../registry.js';

/**
 * The DuckDB-only shapes of messages quoting a row value, triggered on a real DuckDB (the shapes both DuckDB and
 * PostgreSQL have are in test/connection-contract.test.ts). The values come from a table or a file, never from the
 * statement's text, which DuckDB quotes in its message.
 */
describe('DuckDB failure messages keep no row value', () => {
  const root = mkdtempSync(join(tmpdir(), 'tideline-row-values-'));
  let connection: Connection;
  beforeAll(async () => {
    writeFileSync(join(root, 'people.csv'), 'id,phone\n1,0612345678\n2,jane.doe@example.com\n');
    connection = await openTarget({ type: 'duckdb', path: ':memory:' }, { root });
    await connection.execute(sql`CREATE TABLE person AS SELECT 'jane.doe@example.com' AS email, 1999 AS born_year, 13 AS born_month`);
  });
  afterAll(() => connection.close());

  const failure = async (statement: ReturnType<typeof sql>): Promise<string> => {
    const error = await connection.query(statement).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WarehouseError);
    return (error as WarehouseError).message;
  };

  it('a date that does not parse: the value and its echo go, the format and the reason stay', async () => {
    const message = await failure(sql`SELECT strptime(email, '%Y-%m-%d') FROM person`);
    expect(message).not.toContain('jane');
    expect(message).toContain('Could not parse string <value> according to format specifier "%Y-%m-%d"');
    expect(message).toContain('Error: Expected a number');
  });

  it('a date out of range', async () => {
    const message = await failure(sql`SELECT make_date(born_year, born_month, 1) FROM person`);
    expect(message).not.toMatch(/1999/);
    expect(message).toContain('Date out of range: <value>');
  });

  it('a CSV line read strictly: the line goes, its number and the reason stay', async () => {
    const message = await failure(sql`SELECT * FROM read_csv('people.csv', header = true, types = {'phone': 'BIGINT'})`);
    expect(message).not.toContain('jane');
    expect(message).toMatch(/CSV Error on Line: 3/);
    expect(message).toContain('Original Line: <value>');
    expect(message).toContain(`Error when converting column "phone". Could not convert string <value> to 'BIGINT'`);
  });

  it("keeps the statement's excerpt, which is SQL", async () => {
    const message = await failure(sql`SELECT CAST(email AS INTEGER) FROM person`);
    expect(message).toContain('Could not convert string <value> to INT32 when casting from source column email');
    expect(message).toMatch(/LINE 1: SELECT CAST\(email AS INTEGER\) FROM person/);
  });
});
