import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dialect, DialectName } from '../src/dialects/dialect.js';
import { DIALECTS } from '../src/dialects/registry.js';
import { percentText } from '../models/identity/rules.js';
import { Sql, joinSql, sql } from '../src/dialects/sql.js';
import type { Connection, Value } from '../src/warehouses/connection.js';
import { engines, uniqueSchema } from './support/engines.js';
import { expectGolden } from './support/golden.js';

/**
 * Every dialect primitive, with the value it must produce. The SQL of each is kept as a golden file for every dialect
 * (BigQuery and Snowflake are checked that way; compiled scripts have golden files only for them, see GOLDEN_DIALECTS,
 * so these files are where the DuckDB and PostgreSQL spelling of each fragment is pinned); on DuckDB and PostgreSQL
 * each is also executed and must give the same value, which is what makes a model portable.
 */
interface Primitive {
  readonly name: string;
  readonly expr: (d: Dialect) => Sql | null;
  readonly expected: Value;
}

const d8 = (d: Dialect, iso: string) => d.dateLiteral(iso);
const ts = (d: Dialect, iso: string) => d.timestampLiteral(new Date(iso));
const n = (d: Dialect, value: number) => d.literal(value);

const PRIMITIVES: readonly Primitive[] = [
  { name: 'date + 1 month (end of month clamps)', expr: (d) => d.dateAdd(d8(d, '2024-01-31'), n(d, 1), 'month', 'date'), expected: '2024-02-29' },
  { name: 'date - 3 days', expr: (d) => d.dateAdd(d8(d, '2024-03-01'), n(d, -3), 'day', 'date'), expected: '2024-02-27' },
  { name: 'date + 2 weeks', expr: (d) => d.dateAdd(d8(d, '2024-03-01'), n(d, 2), 'week', 'date'), expected: '2024-03-15' },
  { name: 'date + 1 year', expr: (d) => d.dateAdd(d8(d, '2024-02-29'), n(d, 1), 'year', 'date'), expected: '2025-02-28' },
  { name: 'timestamp + 90 days', expr: (d) => d.dateAdd(ts(d, '2024-01-01T12:00:00Z'), n(d, 90), 'day', 'timestamp'), expected: new Date('2024-03-31T12:00:00Z') },
  { name: 'timestamp + 1 month', expr: (d) => d.dateAdd(ts(d, '2024-01-31T08:00:00Z'), n(d, 1), 'month', 'timestamp'), expected: new Date('2024-02-29T08:00:00Z') },
  { name: 'days between', expr: (d) => d.dateDiff('day', d8(d, '2024-02-01'), d8(d, '2024-03-01')), expected: 29 },
  { name: 'days between timestamps ignores the time', expr: (d) => d.dateDiff('day', ts(d, '2024-02-01T23:59:00Z'), ts(d, '2024-02-02T00:01:00Z')), expected: 1 },
  { name: 'months between counts boundaries', expr: (d) => d.dateDiff('month', d8(d, '2024-01-31'), d8(d, '2024-02-01')), expected: 1 },
  { name: 'months between, backwards', expr: (d) => d.dateDiff('month', d8(d, '2024-05-15'), d8(d, '2023-11-30')), expected: -6 },
  { name: 'years between', expr: (d) => d.dateDiff('year', d8(d, '2023-12-31'), d8(d, '2024-01-01')), expected: 1 },
  { name: 'week starts on Monday', expr: (d) => d.dateTrunc('week', d8(d, '2024-03-10'), 'date'), expected: '2024-03-04' },
  { name: 'month start', expr: (d) => d.dateTrunc('month', d8(d, '2024-03-10'), 'date'), expected: '2024-03-01' },
  { name: 'quarter start', expr: (d) => d.dateTrunc('quarter', d8(d, '2024-08-10'), 'date'), expected: '2024-07-01' },
  { name: 'year start of a timestamp', expr: (d) => d.dateTrunc('year', ts(d, '2024-08-10T10:11:12Z'), 'timestamp'), expected: new Date('2024-01-01T00:00:00Z') },
  { name: 'hash to uint32 (md5 prefix)', expr: (d) => d.hashToUint32(d.literal('abc')), expected: 2416005272 },
  { name: 'hash bucket', expr: (d) => d.hashBucket(d.literal('customer-42|winback|salt'), 100), expected: Number(BigInt('0x' + createHash('md5').update('customer-42|winback|salt').digest('hex').slice(0, 8)) % 100n) },
  { name: 'sha256 hex', expr: (d) => d.functions.sha256Hex(d.literal('alice@example.com')), expected: createHash('sha256').update('alice@example.com').digest('hex') },
  { name: 'sha256 hex of non-ASCII', expr: (d) => d.functions.sha256Hex(d.literal('chloé')), expected: createHash('sha256').update('chloé').digest('hex') },
  { name: 'md5 hex', expr: (d) => d.functions.md5Hex(d.literal('alice@example.com')), expected: createHash('md5').update('alice@example.com').digest('hex') },
  { name: 'regexp replace all', expr: (d) => d.functions.regexpReplaceAll(d.literal('+33 (0)6.12-34'), d.string('[^0-9+]'), d.string('')), expected: '+33061234' },
  { name: 'regexp replace with backslash class', expr: (d) => d.functions.regexpReplaceAll(d.literal('a1b22c'), d.string('\\d+'), d.string('#')), expected: 'a#b#c' },
  { name: 'regexp contains', expr: (d) => d.functions.regexpContains(d.literal('bob@example.org'), d.string('^[^@]+@[^@]+\\.[a-z]+$')), expected: true },
  { name: 'regexp does not contain', expr: (d) => d.functions.regexpContains(d.literal('not an email'), d.string('@')), expected: false },
  { name: 'substring', expr: (d) => d.functions.substring(d.literal('abcdef'), n(d, 2), n(d, 3)), expected: 'bcd' },
  { name: 'trim, lower, upper', expr: (d) => d.functions.upper(d.functions.trim(d.functions.lower(d.literal('  MiXeD  ')))), expected: 'MIXED' },
  { name: 'length counts characters', expr: (d) => d.functions.length(d.literal('chloé')), expected: 5 },
  { name: 'fold accents', expr: (d) => (d.functions.foldAccents ? d.functions.foldAccents(d.literal('Éléonore Ça ñ')) : null), expected: 'Eleonore Ca n' },
  { name: 'edit distance', expr: (d) => (d.functions.editDistance ? d.functions.editDistance(d.literal('kitten'), d.literal('sitting')) : null), expected: 3 },
  // PostgreSQL's levenshtein refuses arguments over 255 characters; a long address must not fail a build.
  { name: 'edit distance of long values', expr: (d) => (d.functions.editDistance ? d.functions.editDistance(d.literal('a'.repeat(300)), d.literal(`${'a'.repeat(100)}b${'a'.repeat(199)}`)) : null), expected: 1 },
  { name: 'jaro-winkler', expr: (d) => (d.functions.jaroWinkler ? sql`ROUND(${d.functions.jaroWinkler(d.literal('martha'), d.literal('marhta'))}, 4)` : null), expected: 0.9611 },
  { name: 'try cast failing', expr: (d) => (d.functions.tryCastFromString ? d.functions.tryCastFromString(d.literal('abc'), d.type('integer')) : null), expected: null },
  { name: 'try cast succeeding', expr: (d) => (d.functions.tryCastFromString ? d.functions.tryCastFromString(d.literal('12'), d.type('integer')) : null), expected: 12 },
  { name: 'cast to decimal rounds to cents', expr: (d) => d.cast(d.literal(12.345), 'decimal'), expected: 12.35 },
  // Probabilistic identity (models/identity/scoring.ts): the random pairs are the records first by this hash of their
  // number as text, so every engine draws the same sample; prefixes and initials are characters; dates within N days.
  { name: 'hash of a record number, as the random pairs draw it', expr: (d) => d.hashToUint32(d.cast(d.cast(d.literal(1234), 'integer'), 'string')), expected: Number.parseInt(createHash('md5').update('1234').digest('hex').slice(0, 8), 16) },
  { name: 'substring counts characters', expr: (d) => d.functions.substring(d.literal('élodie'), n(d, 1), n(d, 2)), expected: 'él' },
  { name: 'days between dates cast from text', expr: (d) => d.dateDiff('day', d.cast(d.literal('2024-02-28'), 'date'), d.cast(d.literal('2023-12-31'), 'date')), expected: -59 },
  // The key of a probabilistic link (models/identity/rules.ts): two decimals everywhere, BigQuery included.
  { name: 'percentage with two decimals', expr: (d) => percentText(d, d.cast(d.literal(0.998), 'float')), expected: '99.80' },
  { name: 'percentage of a certainty', expr: (d) => percentText(d, d.cast(d.literal(1), 'float')), expected: '100.00' },
  { name: 'percentage below ten, rounded', expr: (d) => percentText(d, d.cast(d.literal(0.050049), 'float')), expected: '5.00' },
  { name: 'string agg in a given order', expr: (d) => sql`(SELECT ${d.stringAgg(d.id('x'), ', ', { orderBy: sql`${d.id('x')} DESC` })} FROM ${letters(d, ['b', 'a', null, 'c'])})`, expected: 'c, b, a' },
  { name: 'string agg of distinct values', expr: (d) => sql`(SELECT ${d.stringAgg(d.id('x'), '|', { distinct: true })} FROM ${letters(d, ['b', 'a', 'b', null])})`, expected: 'a|b' },
  // Ordered by keys (DuckDB: a sorted list, see its dialect): NULL values left out, ties on the first key by the second.
  { name: 'string agg ordered by keys', expr: (d) => sql`(SELECT ${d.stringAgg(sql`${d.id('x')} || ${d.string('!')}`, ', ', { orderBy: [d.functions.length(d.id('x')), d.id('x')] })} FROM ${letters(d, ['bb', 'b', null, 'a', 'ab'])})`, expected: 'a!, b!, ab!, bb!' },
  { name: 'string agg of no value', expr: (d) => sql`(SELECT ${d.stringAgg(d.id('x'), ', ', { orderBy: [d.id('x')] })} FROM ${letters(d, [null, null])})`, expected: null },
  { name: 'string agg of no distinct value', expr: (d) => sql`(SELECT ${d.stringAgg(d.id('x'), ', ', { distinct: true })} FROM ${letters(d, [null])})`, expected: null },
];

/** A derived table of one string column `x`, built with UNION ALL (the one row constructor every warehouse has). */
function letters(d: Dialect, values: readonly (string | null)[]): Sql {
  const rows = values.map((v) => sql`SELECT ${d.cast(d.literal(v), 'string')} AS ${d.id('x')}`);
  return sql`(${joinSql(rows, sql` UNION ALL `)}) AS t`;
}

describe('dialect primitives: golden SQL', () => {
  for (const [name, dialect] of Object.entries(DIALECTS) as [DialectName, Dialect][]) {
    it(name, () => {
      const lines = PRIMITIVES.map((p) => `-- ${p.name}\n${p.expr(dialect)?.text ?? '(not available)'};`);
      const table = { schema: 'analytics', name: 'members' };
      const statements = [
        dialect.createSchema('analytics'),
        dialect.createTableAs(table, sql`SELECT 1 AS id`),
        ...dialect.replaceTable({ schema: 'analytics', name: 'members__tl_build' }, table),
        dialect.upsert(table, sql`SELECT id, name FROM staged`, ['id'], ['id', 'name']),
        ...(dialect.capabilities.readsLocalFiles ? [dialect.readFile('data/people.csv', 'csv', { types: { phone: 'string' } })] : []),
        dialect.currentDate(),
        dialect.currentTimestamp(),
        // PostgreSQL's statistics refresh between build steps (nothing elsewhere: an empty list).
        ...dialect.refreshStatistics(table),
      ].map((s) => `${s.text};`);
      expectGolden(join(import.meta.dirname, 'golden', 'primitives', `${name}.sql`), [...lines, ...statements].join('\n\n') + '\n');
    });
  }
});

for (const engine of engines()) {
  describe(`dialect primitives executed on ${engine.name}`, () => {
    let connection: Connection;
    const d = engine.dialect;
    const schema = uniqueSchema('prim');

    beforeAll(async () => {
      connection = await engine.open();
      for (const statement of d.setupStatements()) await connection.execute(statement).catch(() => undefined);
      await connection.execute(d.createSchema(schema));
    });
    afterAll(async () => {
      await connection.execute(sql`DROP SCHEMA ${d.id(schema)} CASCADE`);
      await connection.close();
    });

    for (const primitive of PRIMITIVES) {
      const expr = primitive.expr(d);
      it.skipIf(expr === null)(primitive.name, async () => {
        const rows = await connection.query(sql`SELECT ${expr!} AS v`);
        expect(rows[0]!['v']).toEqual(primitive.expected);
      });
    }

    it("reads an analyst's query as a subquery, even one ending in a line comment", async () => {
      const query = Sql.userQuery('SELECT 1 AS x\nUNION ALL SELECT 2 -- the second row');
      expect(await connection.query(sql`SELECT COUNT(*) AS n FROM ${query} AS q`)).toEqual([{ n: 2 }]);
    });

    it('current date and timestamp are UTC now', async () => {
      const rows = await connection.query(sql`SELECT ${d.currentDate()} AS today, ${d.currentTimestamp()} AS now`);
      const now = new Date();
      expect(rows[0]!['today']).toBe(now.toISOString().slice(0, 10));
      expect(Math.abs((rows[0]!['now'] as Date).getTime() - now.getTime())).toBeLessThan(60_000);
    });

    it('upserts with MERGE: updates matches, inserts the rest', async () => {
      const table = { schema, name: 'members' };
      await connection.execute(sql`CREATE TABLE ${d.table(table)} (id ${d.type('integer')}, name ${d.type('string')})`);
      await connection.execute(sql`INSERT INTO ${d.table(table)} VALUES (1, 'old'), (2, 'keep')`);
      await connection.execute(d.upsert(table, sql`SELECT 1 AS id, 'new' AS name UNION ALL SELECT 3, 'added'`, ['id'], ['id', 'name']));
      expect(await connection.query(sql`SELECT id, name FROM ${d.table(table)} ORDER BY id`)).toEqual([
        { id: 1, name: 'new' },
        { id: 2, name: 'keep' },
        { id: 3, name: 'added' },
      ]);
    });

    it('replaces a table atomically: the new one wins, and a failed replace keeps the old one', async () => {
      const target = { schema, name: 'swapped' };
      const build = { schema, name: 'swapped__tl_build' };
      await connection.execute(d.createTableAs(target, sql`SELECT 'v1' AS version`));
      await connection.execute(d.createTableAs(build, sql`SELECT 'v2' AS version`));
      await connection.runAtomically(d.replaceTable(build, target));
      expect(await connection.query(sql`SELECT version FROM ${d.table(target)}`)).toEqual([{ version: 'v2' }]);
      expect(await connection.columns(build)).toBeUndefined();
      // The build table is missing now: the replace fails, and the visible table must not have been dropped.
      await expect(connection.runAtomically(d.replaceTable(build, target))).rejects.toThrow();
      expect(await connection.query(sql`SELECT version FROM ${d.table(target)}`)).toEqual([{ version: 'v2' }]);
    });

    it('replaces a table with one built in another schema (the work schema), which is gone afterwards', async () => {
      const work = `${schema}__tl_work`;
      const target = { schema, name: 'moved' };
      const build = { schema: work, name: 'moved__tl_build' };
      await connection.execute(d.createSchema(work));
      await connection.execute(d.createTableAs(target, sql`SELECT 'v1' AS version`));
      await connection.execute(d.createTableAs(build, sql`SELECT 'v2' AS version, 1 AS n`));
      await connection.runAtomically(d.replaceTable(build, target));
      expect(await connection.query(sql`SELECT version, n FROM ${d.table(target)}`)).toEqual([{ version: 'v2', n: 1 }]);
      expect(await connection.columns(build)).toBeUndefined();
      expect(await connection.columns({ schema: work, name: 'moved' })).toBeUndefined();
      await connection.execute(d.dropSchema(work));
    });
  });
}

/**
 * The primitives the sync engine's change detection rests on: `canonicalText` must give the same text on every
 * engine for the same value (it feeds the hash of mapped fields), and `formatTimestamp` the same formatted date.
 */
const SYNC_PRIMITIVES: readonly Primitive[] = [
  { name: 'canonical text of a decimal', expr: (d) => d.canonicalText(d.cast(d.literal(12.5), 'decimal'), 'decimal'), expected: '12.500000000' },
  { name: 'canonical text of a float', expr: (d) => d.canonicalText(d.cast(sql`0.1 + 0.2`, 'float'), 'float'), expected: '0.300000' },
  { name: 'canonical text of a large float', expr: (d) => d.canonicalText(d.cast(d.literal(1234567.1234567891), 'float'), 'float'), expected: '1234567.123457' },
  { name: 'canonical text of an integer', expr: (d) => d.canonicalText(d.cast(d.literal(-42), 'integer'), 'integer'), expected: '-42' },
  { name: 'canonical text of booleans', expr: (d) => sql`${d.canonicalText(sql`TRUE`, 'boolean')} || ${d.canonicalText(sql`FALSE`, 'boolean')}`, expected: 'truefalse' },
  { name: 'canonical text of a date', expr: (d) => d.canonicalText(d.dateLiteral('2024-02-29'), 'date'), expected: '2024-02-29' },
  { name: 'canonical text of a timestamp', expr: (d) => d.canonicalText(d.timestampLiteral(new Date('2024-03-01T09:30:05.123Z')), 'timestamp'), expected: '2024-03-01 09:30:05.123000' },
  { name: 'canonical text of NULL stays NULL', expr: (d) => d.canonicalText(d.cast(d.literal(null), 'float'), 'float'), expected: null },
  { name: 'date format with literals', expr: (d) => d.formatTimestamp(d.timestampLiteral(new Date('2024-03-01T09:30:05.123Z')), 'YYYY-MM-DDTHH:mm:ss.SSSZ'), expected: '2024-03-01T09:30:05.123Z' },
  { name: 'date format of a date, day first', expr: (d) => d.formatTimestamp(d.dateLiteral('2024-12-07'), 'DD/MM/YYYY'), expected: '07/12/2024' },
];

describe('sync primitives: golden SQL', () => {
  for (const [name, dialect] of Object.entries(DIALECTS) as [DialectName, Dialect][]) {
    it(name, () => {
      const lines = SYNC_PRIMITIVES.map((p) => `-- ${p.name}\n${p.expr(dialect)?.text ?? '(not available)'};`);
      const table = { schema: 'state', name: 'locks' };
      const statements = [dialect.createTable(table, [{ name: 'lock_key', type: 'string' }, { name: 'expires_at', type: 'timestamp' }], { primaryKey: ['lock_key'] }), dialect.upsert(table, sql`SELECT k, v FROM staged`, ['k'], ['k', 'v'], { keepWhenNull: ['v'] })].map((s) => `${s.text};`);
      expectGolden(join(import.meta.dirname, 'golden', 'sync_primitives', `${name}.sql`), [...lines, ...statements].join('\n\n') + '\n');
    });
  }
});

for (const engine of engines()) {
  describe(`sync primitives executed on ${engine.name}`, () => {
    let connection: Connection;
    beforeAll(async () => {
      connection = await engine.open();
    });
    afterAll(async () => {
      await connection.close();
    });
    for (const primitive of SYNC_PRIMITIVES) {
      it(primitive.name, async () => {
        const rows = await connection.query(sql`SELECT ${primitive.expr(engine.dialect)!} AS v`);
        expect(rows[0]!['v']).toEqual(primitive.expected);
      });
    }

    it('upsert keeps the target value where the source is NULL, for keepWhenNull columns', async () => {
      const d = engine.dialect;
      const schema = uniqueSchema('keep');
      const table = { schema, name: 'people' };
      await connection.execute(d.createSchema(schema));
      try {
        await connection.execute(d.createTable(table, [{ name: 'k', type: 'integer' }, { name: 'a', type: 'string' }, { name: 'b', type: 'string' }]));
        await connection.execute(sql`INSERT INTO ${d.table(table)} VALUES (1, 'old a', 'old b')`);
        await connection.execute(d.upsert(table, sql`SELECT 1 AS k, CAST(NULL AS ${d.type('string')}) AS a, CAST(NULL AS ${d.type('string')}) AS b`, ['k'], ['k', 'a', 'b'], { keepWhenNull: ['a'] }));
        expect(await connection.query(sql`SELECT k, a, b FROM ${d.table(table)}`)).toEqual([{ k: 1, a: 'old a', b: null }]);
      } finally {
        await connection.execute(sql`DROP SCHEMA ${d.id(schema)} CASCADE`);
      }
    });
  });
}
