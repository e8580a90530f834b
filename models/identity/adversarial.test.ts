import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../src/dialects/registry.js';
import { sql } from '../../src/dialects/sql.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';
import { build, identityProject } from '../../test/support/identity-project.js';

/**
 * Graphs built to defeat a naive implementation, on DuckDB (the embedded default; sizes that take PostgreSQL
 * minutes belong in the benchmark).
 */
const duckdb = engines().find((e) => e.name === 'duckdb')!;
const d = DIALECTS.duckdb;

describe('identity on adversarial graphs (DuckDB)', () => {
  let connection: Connection;
  const schema = uniqueSchema('idadv');
  beforeAll(async () => {
    connection = await duckdb.open();
    await connection.execute(d.createSchema(schema));
  });
  afterAll(() => connection.close());

  it('a chain of 100,000 records with shuffled ids is one customer after at most 2·log2(n) rounds', async () => {
    const n = 100_000;
    // Record i holds link values i and i+1, so each record shares one value with the next: a path of diameter n − 1.
    // Ids are hashes, so the order of record numbers has nothing to do with the order along the chain.
    await connection.execute(sql`CREATE TABLE ${d.table({ schema, name: 'chain' })} AS
SELECT md5(CAST(i AS VARCHAR)) AS id, 'v' || CAST(i AS VARCHAR) AS a, 'v' || CAST(i + 1 AS VARCHAR) AS b
FROM range(${d.literal(n)}) AS t(i)`);
    const project = await identityProject(
      duckdb,
      schema,
      `sources:
  - name: chain
    table: ${schema}.chain
models:
  - name: linked
    kind: identity
    max_records_per_value: 2
    identifiers:
      link: code
    sources:
      - from: chain
        id: id
        identifiers:
          link: [a, b]
    rules:
      - match: [link]
`,
    );
    const result = await build(project, connection, 'linked');
    const rounds = (result.summary?.data['rounds'] as Record<string, number>)['components']!;
    expect(rounds).toBeLessThanOrEqual(2 * Math.log2(n));
    expect(rounds).toBeGreaterThan(3);
    const [counts] = await connection.query(
      sql`SELECT COUNT(*) AS customers, MAX(${d.id('records')}) AS largest FROM ${d.table({ schema, name: 'linked' })}`,
    );
    expect(counts).toEqual({ customers: 1, largest: n });
    const [map] = await connection.query(sql`SELECT COUNT(DISTINCT ${d.id('customer_id')}) AS ids, COUNT(*) AS records FROM ${d.table({ schema, name: 'linked_map' })}`);
    expect(map).toEqual({ ids: 1, records: n });
  });

  it('a star of 50,000 records on one shared phone does not merge, by frequency or by junk list', async () => {
    const n = 50_000;
    await connection.execute(sql`CREATE TABLE ${d.table({ schema, name: 'star' })} AS
SELECT i AS id, '01 40 00 00 00' AS phone, 'person' || CAST(i AS VARCHAR) || '@example.com' AS email
FROM range(${d.literal(n)}) AS t(i)`);
    const model = (name: string, guard: string) => `  - name: ${name}
    kind: identity
    phone_country: FR
${guard}
    sources:
      - from: star
        id: id
        identifiers: { phone: phone, email: email }
    rules:
      - match: [email]
      - match: [phone]
`;
    const project = await identityProject(
      duckdb,
      schema,
      `sources:
  - name: star
    table: ${schema}.star
models:
${model('by_frequency', '    identifiers: { phone: phone, email: email }')}
${model('by_junk', "    max_records_per_value: 1000000\n    identifiers: { phone: { type: phone, junk: ['+33 1 40 00 00 00'] }, email: email }")}
`,
    );
    for (const name of ['by_frequency', 'by_junk']) {
      const result = await build(project, connection, name);
      expect(result.rows, name).toBe(n);
      const report = await connection.query(
        sql`SELECT ${d.id('metric')}, ${d.id('item')}, ${d.id('detail')}, ${d.id('value')} FROM ${d.table({ schema, name: `${name}_report` })}
WHERE ${d.id('metric')} IN ('ignored_key', 'junk_value', 'links') ORDER BY 1`,
      );
      expect(report, name).toEqual(
        name === 'by_frequency'
          ? [{ metric: 'ignored_key', item: 'phone', detail: '+33140000000', value: n }]
          : [{ metric: 'junk_value', item: 'phone', detail: '+33140000000', value: n }],
      );
    }
  });
});
