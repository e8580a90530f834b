import { joinSql, sql } from '../../src/dialects/sql.js';
import type { Gates, PolicyScope } from '../../src/expressions/policies.js';
import type { ColumnSpec, Value } from '../../src/warehouses/connection.js';
import { uniqueSchema, type Engine } from './engines.js';

/**
 * Runs `check` against a throwaway table of a policy's rows (`columns`, `rows`) on `engine`: `passing(gates)` answers
 * which of `people` (keys) the gates let through, in key order. The policy reads the table whatever it names.
 */
export async function withPolicyTable(
  engine: Engine,
  table: { readonly columns: readonly ColumnSpec[]; readonly rows: readonly Value[][] },
  people: readonly string[],
  check: (scope: PolicyScope, passing: (gates: Gates) => Promise<unknown[]>) => Promise<void>,
): Promise<void> {
  const connection = await engine.open();
  const d = connection.dialect;
  const schema = uniqueSchema('gate');
  try {
    await connection.execute(d.createSchema(schema));
    const ref = { schema, name: 'facts' };
    await connection.execute(d.createTable(ref, table.columns));
    await connection.insertRows(ref, table.columns, [table.rows]);
    const scope: PolicyScope = { d, relation: () => d.table(ref), typeOf: () => undefined, asOf: d.dateLiteral('2026-06-30') };
    const everyone = joinSql(people.map((p) => sql`SELECT ${d.string(p)} AS ${d.id('id')}`), sql` UNION ALL `);
    await check(scope, async (gates) => {
      const ctes = joinSql(gates.ctes.map((c) => sql`${d.id(c.name)} AS (${c.body})`), sql`, `);
      const rows = await connection.query(sql`WITH ${ctes}, ${d.id('people')} AS (${everyone}) SELECT ${d.id('id')} FROM ${d.id('people')} AS src WHERE NOT ${gates.blocked(sql`src.${d.id('id')}`)} ORDER BY ${d.id('id')}`);
      return rows.map((r) => r['id']);
    });
  } finally {
    if (engine.name === 'postgres') await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(schema)} CASCADE`);
    await connection.close();
  }
}
