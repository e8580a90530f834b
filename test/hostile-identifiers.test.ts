import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dialect, DialectName } from '../src/dialects/dialect.js';
import { DIALECTS } from '../src/dialects/registry.js';
import { sql } from '../src/dialects/sql.js';
import type { Connection } from '../src/warehouses/connection.js';
import { runCli, tempProject } from './support/cli.js';
import { engines, uniqueSchema } from './support/engines.js';
import { backslashed, describeQuoting, doubledQuote, HOSTILE, postgresString, type Lexer } from './support/hostile.js';

/**
 * Each registered dialect's quoting rules, as its warehouse documents them: the oracle the dialect's quoting is
 * checked against. A new warehouse adds its own (the test below fails until it does).
 */
const LEXERS: Record<DialectName, { id: Lexer; string: Lexer }> = {
  duckdb: { id: doubledQuote('"'), string: doubledQuote("'") },
  postgres: { id: doubledQuote('"'), string: postgresString },
  bigquery: { id: backslashed('`', false), string: backslashed("'", false) },
  snowflake: { id: doubledQuote('"'), string: backslashed("'", true) },
};

describe('hostile names and values stay inert in every dialect', () => {
  it('covers every registered dialect', () => {
    expect(Object.keys(LEXERS).sort()).toEqual(Object.keys(DIALECTS).sort());
  });

  for (const [name, dialect] of Object.entries(DIALECTS) as [DialectName, Dialect][]) describeQuoting(dialect, LEXERS[name]);
});

/** The same names and values, executed for real: round-trip exactly, and the sentinel table survives. */
for (const engine of engines()) {
  describe(`hostile names executed on ${engine.name}`, () => {
    let connection: Connection;
    const schema = uniqueSchema('hostile');
    const d = engine.dialect;

    beforeAll(async () => {
      connection = await engine.open();
      await connection.execute(d.createSchema(schema));
      await connection.execute(sql`CREATE TABLE ${d.table({ schema, name: 'sentinel' })} (x ${d.type('integer')})`);
    });
    afterAll(async () => {
      await connection.execute(sql`DROP SCHEMA ${d.id(schema)} CASCADE`);
      await connection.close();
    });

    // DuckDB compares identifiers case-insensitively: names differing only in case would collide, so each name gets
    // its own table.
    HOSTILE.forEach((hostile, i) => {
      it(`round-trips ${JSON.stringify(hostile)} as a table name, a column name and a value`, async () => {
        if (d.identifierProblem(hostile)) return;
        const table = { schema, name: `${hostile}` };
        const created = sql`CREATE TABLE ${d.table(table)} (${d.id(hostile)} ${d.type('string')}, n ${d.type('integer')})`;
        await connection.execute(created);
        await connection.execute(sql`INSERT INTO ${d.table(table)} VALUES (${d.literal(hostile)}, ${d.literal(i)})`);
        const rows = await connection.query(sql`SELECT ${d.id(hostile)} AS v, n FROM ${d.table(table)} WHERE ${d.id(hostile)} = ${d.literal(hostile)}`);
        expect(rows).toEqual([{ v: hostile, n: i }]);
        const columns = await connection.columns(table);
        expect(columns?.map((c) => c.name)).toEqual([hostile, 'n']);
        await connection.execute(d.dropTable(table));
        expect(await connection.columns({ schema, name: 'sentinel' })).toHaveLength(1);
      });
    });

    // MERGE names its target and source by aliases the dialect quotes like any name: key and value columns that are
    // hostile, or spelled like those aliases, still update the matching row and insert the others.
    it('upserts on hostile key and value columns, and columns named like its aliases', async () => {
      const key = '"; DROP TABLE sentinel; --';
      const value = "a'b";
      const table = { schema, name: 'merged' };
      await connection.execute(sql`CREATE TABLE ${d.table(table)} (${d.id(key)} ${d.type('integer')}, ${d.id(value)} ${d.type('string')}, t ${d.type('string')}, s ${d.type('string')})`);
      await connection.execute(sql`INSERT INTO ${d.table(table)} VALUES (1, 'old', 'old t', 'old s'), (2, 'kept', 'kept t', 'kept s')`);
      const source = sql`SELECT 1 AS ${d.id(key)}, 'new' AS ${d.id(value)}, CAST(NULL AS ${d.type('string')}) AS t, 'new s' AS s UNION ALL SELECT 3, 'added', 'added t', 'added s'`;
      await connection.execute(d.upsert(table, source, [key], [key, value, 't', 's'], { keepWhenNull: ['t'] }));
      const rows = await connection.query(sql`SELECT ${d.id(key)} AS k, ${d.id(value)} AS v, t, s FROM ${d.table(table)} ORDER BY 1`);
      expect(rows).toEqual([
        { k: 1, v: 'new', t: 'old t', s: 'new s' },
        { k: 2, v: 'kept', t: 'kept t', s: 'kept s' },
        { k: 3, v: 'added', t: 'added t', s: 'added s' },
      ]);
      expect(await connection.columns({ schema, name: 'sentinel' })).toHaveLength(1);
    });
  });
}

/**
 * Hostile names written as YAML keys (output columns, CSV column types, sync fields) are refused before anything runs,
 * each problem located at the key that holds the name — not at its value — on one line however the key is written.
 */
describe('hostile keys in YAML are located at the key', () => {
  const MODELS = `sources:
  - name: raw_people
    file: data/people.csv
  - name: raw_typed
    file: data/people.csv
    types:
      '': string
models:
  - name: people
    kind: staging
    from: raw_people
  - name: hostile
    kind: staging
    from: raw_people
    columns:
      '"; DROP TABLE sentinel; --': { from: id }
      "new\\nline": { from: email }
      email: email
`;
  const SYNCS = `destinations:
  - name: copy
    type: table
    schema: crm
  - name: brevo
    type: brevo
    api_key: xkeysib-test
syncs:
  - name: to_table
    model: people
    destination: copy
    object: people_copy
    mode: upsert
    key: { from: email, field: email }
    fields:
      'a"b; DROP TABLE x': id
  - name: to_brevo
    model: people
    destination: brevo
    object: contacts
    mode: upsert
    key: email
    fields:
      'first name': id
`;

  it('output columns, a types key and sync field names: exit 2, file:line:col of each key', async () => {
    const root = tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': 'id,email\n1,a@x.com\n', 'models/people.yml': MODELS, 'syncs/s.yml': SYNCS });
    const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: root });
    expect(result.code, result.stderr).toBe(2);
    const COLUMN = 'a column name of letters, digits and underscores, starting with a letter or underscore';
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error: '))).toEqual([
      'error: models/people.yml:7:7  sources[1].types.  "" cannot be a key here: Too small: expected string to have >=1 characters',
      `error: models/people.yml:16:7  models[1].columns."; DROP TABLE sentinel; --  "\\"; DROP TABLE sentinel; --" cannot be a key here: ${COLUMN}`,
      `error: models/people.yml:17:7  models[1].columns.new\\nline  "new\\nline" cannot be a key here: ${COLUMN}`,
      'error: syncs/s.yml:16:7  syncs[0].fields.a"b; DROP TABLE x  "a"b; DROP TABLE x" cannot be a column name (letters, digits, underscores; not _synced_at, _event or _event_time)',
      'error: syncs/s.yml:24:7  syncs[1].fields.first name  "first name" cannot be a Brevo attribute name (letters, digits, underscores)',
    ]);
    // Nothing ran: no warehouse was created.
    expect(result.stderr).toContain('nothing was run');
  });

  it('the table destination refuses a hostile schema as it refuses a hostile table name, and a hostile key column', async () => {
    const syncs = `destinations:
  - name: copy
    type: table
    schema: 'crm"; DROP TABLE sentinel; --'
syncs:
  - name: to_table
    model: people
    destination: copy
    object: 'people"; --'
    mode: upsert
    key: { from: email, field: 'e"mail' }
`;
    const root = tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': 'id,email\n1,a@x.com\n', 'models/people.yml': MODELS.split('  - name: hostile')[0]!, 'syncs/s.yml': syncs });
    const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: root });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error: ') && !l.includes('types.'))).toEqual([
      'error: syncs/s.yml:4:13  destinations[0].schema  a schema name of letters, digits and underscores, starting with a letter or underscore',
    ]);
    // With the schema fixed, the sync's own names are checked: the table name and the key column, each at its place.
    writeFileSync(join(root, 'syncs/s.yml'), syncs.replace(`'crm"; DROP TABLE sentinel; --'`, 'crm'));
    const fixed = await runCli(['validate', '--log-format', 'pretty'], { cwd: root });
    expect(fixed.code, fixed.stderr).toBe(2);
    expect(fixed.stderr.split('\n').filter((l) => l.startsWith('error: ') && !l.includes('types.'))).toEqual([
      'error: syncs/s.yml:9:13  syncs[0].object  a table name of letters, digits and underscores, starting with a letter or underscore',
      'error: syncs/s.yml:11:32  syncs[0].key  "e\"mail" cannot be a column name (letters, digits, underscores; not _synced_at, _event or _event_time)',
    ]);
  });
});
