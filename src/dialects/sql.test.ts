import { describe, expect, it } from 'vitest';
import { Sql, indentSql, joinSql, sql, unionAll } from './sql.js';

describe('Sql fragments', () => {
  it('joins with a comma by default, a given separator, or UNION ALL on its own line', () => {
    const [a, b] = [sql`a`, sql`b`];
    expect(joinSql([a, b]).text).toBe('a, b');
    expect(joinSql([a, b], sql` AND `).text).toBe('a AND b');
    expect(unionAll([sql`SELECT 1`, sql`SELECT 2`]).text).toBe('SELECT 1\nUNION ALL\nSELECT 2');
    expect(sql`x${Sql.empty}y`.text).toBe('xy');
    expect(indentSql(sql`a\n\nb`).text).toBe('  a\n\n  b');
  });

  it("wraps the analyst's SQL: an expression in parentheses, a query with them on their own lines", () => {
    expect(Sql.userExpression('a + b').text).toBe('(a + b)');
    // A query ending in a line comment must not comment out its closing parenthesis.
    expect(Sql.userQuery('SELECT 1 -- one').text).toBe('(\nSELECT 1 -- one\n)');
  });

  it('drops blanks and trailing semicolons of a statement to be joined into a script', () => {
    expect(sql`  SELECT 1;;\n`.withoutTerminator().text).toBe('SELECT 1');
    expect(sql`SELECT ';'`.withoutTerminator().text).toBe("SELECT ';'");
  });
});

describe('Dialect.rowKey: rows are read by the names Tideline writes', () => {
  it('on Snowflake, gives back the lower-case name id() stored upper-case, and keeps any other name', async () => {
    const { DIALECTS } = await import('./registry.js');
    const d = DIALECTS.snowflake;
    for (const name of ['op', 'record_key', '_tl_x1', 'a$b']) expect(d.rowKey(d.storedName(name))).toBe(name);
    expect(['Mixed', 'two words', 'lower', 'É'].map((n) => d.rowKey(n))).toEqual(['Mixed', 'two words', 'lower', 'É']);
  });
  it('elsewhere, keeps the name as returned', async () => {
    const { DIALECTS } = await import('./registry.js');
    for (const name of ['duckdb', 'postgres', 'bigquery'] as const) expect(DIALECTS[name].rowKey('OP')).toBe('OP');
  });
});
