import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type Sql } from '../src/dialects/sql.js';
import { redactor } from '../src/log/redact.js';
import { WarehouseError, type Connection } from '../src/warehouses/connection.js';
import { WAREHOUSES, type WarehouseType } from '../src/warehouses/registry.js';
import { ENGINE_NAMES, engines, uniqueSchema } from './support/engines.js';

/**
 * Where each registered warehouse's connection is checked: by the suite below, on the engines tests run for real
 * (test/support/engines.ts), or — for a warehouse no test can reach here — by the test file named, against a stand-in
 * of its API on 127.0.0.1. A new warehouse gets its answer here (this does not type-check, and the test below fails,
 * until it does).
 */
const CHECKED: Record<WarehouseType, 'this suite' | `src/warehouses/${string}.test.ts`> = {
  duckdb: 'this suite',
  postgres: 'this suite',
  bigquery: 'src/warehouses/bigquery/connection.test.ts',
  snowflake: 'src/warehouses/snowflake/connection.test.ts',
};

describe('every registered warehouse has its connection checked', () => {
  it.each(WAREHOUSES.map((w) => w.type))('%s', (type) => {
    const where = CHECKED[type];
    expect(where, `${type}: say in CHECKED where its connection is checked`).toBeDefined();
    if (where === 'this suite') expect(ENGINE_NAMES).toContain(type);
    else expect(existsSync(join(import.meta.dirname, '..', where)), where).toBe(true);
  });
});

/** The Connection contract, run for real against every engine reachable here (DuckDB, PostgreSQL). */
for (const engine of engines()) {
  describe(`Connection contract: ${engine.name}`, () => {
    let connection: Connection;
    const schema = uniqueSchema('conn');
    const d = engine.dialect;
    const table = (name: string) => d.table({ schema, name });

    beforeAll(async () => {
      connection = await engine.open();
      await connection.execute(d.createSchema(schema));
    });
    afterAll(async () => {
      await connection.execute(sql`DROP SCHEMA ${d.id(schema)} CASCADE`);
      await connection.close();
    });

    it('normalises every logical type the same way', async () => {
      const rows = await connection.query(sql`SELECT
  ${d.cast(d.literal('text'), 'string')} AS s,
  ${d.cast(d.literal(42), 'integer')} AS i,
  ${d.cast(d.literal(9007199254740993n), 'integer')} AS big,
  ${d.cast(d.literal(1.5), 'float')} AS f,
  ${d.cast(d.literal(12.34), 'decimal')} AS dec,
  ${d.literal(true)} AS b,
  ${d.dateLiteral('2024-02-29')} AS dt,
  ${d.timestampLiteral(new Date('2024-03-01T12:34:56Z'))} AS ts,
  ${d.cast(d.literal(null), 'string')} AS n`);
      expect(rows).toEqual([
        { s: 'text', i: 42, big: '9007199254740993', f: 1.5, dec: 12.34, b: true, dt: '2024-02-29', ts: new Date('2024-03-01T12:34:56Z'), n: null },
      ]);
    });

    it('streams in batches no larger than asked, and yields every row once', async () => {
      await connection.execute(sql`CREATE TABLE ${table('numbers')} AS SELECT ${d.cast(sql`g`, 'integer')} AS n FROM ${engine.name === 'duckdb' ? sql`range(1, 25001) AS t(g)` : sql`generate_series(1, 25000) AS g`}`);
      const sizes: number[] = [];
      let sum = 0;
      for await (const batch of connection.stream(sql`SELECT n FROM ${table('numbers')} ORDER BY n`, { batchSize: 4000 })) {
        sizes.push(batch.length);
        for (const row of batch) sum += row['n'] as number;
      }
      expect(Math.max(...sizes)).toBeLessThanOrEqual(4000);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(25000);
      expect(sum).toBe((25000 * 25001) / 2);
    });

    it('introspects columns of a table, and answers undefined for a missing one', async () => {
      await connection.execute(sql`CREATE TABLE ${table('people')} (${d.id('Email')} ${d.type('string')}, age ${d.type('integer')}, born ${d.type('date')})`);
      const columns = await connection.columns({ schema, name: 'people' });
      expect(columns?.map((c) => [c.name, c.type])).toEqual([
        ['Email', 'string'],
        ['age', 'integer'],
        ['born', 'date'],
      ]);
      expect(await connection.columns({ schema, name: 'nobody' })).toBeUndefined();
    });

    it('describes the columns of a query without returning its rows', async () => {
      const columns = await connection.columnsOfQuery(sql`SELECT ${d.cast(d.literal(1), 'integer')} AS a, ${d.literal('x')} AS b, ${d.timestampLiteral(new Date(0))} AS c`);
      expect(columns.map((c) => [c.name, c.type])).toEqual([
        ['a', 'integer'],
        ['b', 'string'],
        ['c', 'timestamp'],
      ]);
    });

    it('runs a unit atomically: a failing statement leaves nothing of the unit', async () => {
      await connection.execute(sql`CREATE TABLE ${table('ledger')} (id ${d.type('integer')})`);
      await expect(
        connection.runAtomically([
          sql`INSERT INTO ${table('ledger')} VALUES (1)`,
          sql`CREATE TABLE ${table('ledger_copy')} AS SELECT * FROM ${table('ledger')}`,
          sql`INSERT INTO ${table('no_such_table')} VALUES (2)`,
        ]),
      ).rejects.toBeInstanceOf(WarehouseError);
      expect(await connection.query(sql`SELECT COUNT(*) AS n FROM ${table('ledger')}`)).toEqual([{ n: 0 }]);
      expect(await connection.columns({ schema, name: 'ledger_copy' })).toBeUndefined();
      await connection.runAtomically([sql`INSERT INTO ${table('ledger')} VALUES (1)`, sql`INSERT INTO ${table('ledger')} VALUES (2)`]);
      expect(await connection.query(sql`SELECT COUNT(*) AS n FROM ${table('ledger')}`)).toEqual([{ n: 2 }]);
    });

    it.runIf(d.capabilities.buildsInTransaction)('runs work in one transaction on one session: unseen by others until it commits, gone if it throws', async () => {
      expect(connection.transaction).toBeDefined();
      const seenFromOutside = async (name: string) => (await connection.columns({ schema, name })) !== undefined;
      const committed = await connection.transaction!(async (session) => {
        await session.execute(sql`CREATE TABLE ${table('kept')} AS SELECT 1 AS n`);
        const inside = await session.query(sql`SELECT COUNT(*) AS n FROM ${table('kept')}`);
        let streamed = 0;
        for await (const batch of session.stream(sql`SELECT n FROM ${table('kept')}`)) streamed += batch.length;
        // PostgreSQL's other sessions do not see the table; embedded DuckDB's connection, whose statements would run
        // inside the transaction, refuses them while it is open.
        const outside = await seenFromOutside('kept').catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
        return { inside, streamed, columns: await session.columns({ schema, name: 'kept' }), outside };
      });
      expect(committed).toMatchObject({ inside: [{ n: 1 }], streamed: 1, outside: engine.name === 'duckdb' ? expect.stringContaining('has a transaction open') : false });
      expect(committed.columns?.map((c) => c.name)).toEqual(['n']);
      expect(await seenFromOutside('kept')).toBe(true);

      await expect(
        connection.transaction!(async (session) => {
          await session.execute(sql`CREATE TABLE ${table('dropped_with_it')} AS SELECT 1 AS n`);
          throw new Error('the work failed');
        }),
      ).rejects.toThrow('the work failed');
      expect(await seenFromOutside('dropped_with_it')).toBe(false);
      await expect(connection.transaction!((session) => session.transaction!(async () => 1))).rejects.toThrow(/do not nest/);
    });

    it.runIf(d.capabilities.buildsInTransaction)('inside a transaction, a unit that fails leaves nothing of itself committed', async () => {
      const attempt = connection.transaction!(async (session) => {
        await session.execute(sql`CREATE TABLE ${table('units')} AS SELECT 1 AS n`);
        // The first statement succeeds, the second is refused (DuckDB refuses it before running it, and goes on).
        await expect(session.runAtomically([sql`INSERT INTO ${table('units')} VALUES (2)`, sql`INSERT INTO ${table('no_such_table')} VALUES (3)`])).rejects.toBeInstanceOf(WarehouseError);
        // The work carries on regardless.
        return 'carried on';
      });
      if (engine.name === 'postgres') {
        // A savepoint: the unit is undone, the transaction goes on and commits.
        expect(await attempt).toBe('carried on');
        expect(await connection.query(sql`SELECT n FROM ${table('units')}`)).toEqual([{ n: 1 }]);
      } else {
        // DuckDB has no savepoints: the unit's first INSERT cannot be undone alone, so the whole transaction is.
        await expect(attempt).rejects.toThrow(/no_such_table/);
        expect(await connection.columns({ schema, name: 'units' })).toBeUndefined();
      }
    });

    it.runIf(d.capabilities.buildsInTransaction)('a statement that fails inside a transaction, its error caught by the work, leaves nothing committed and says so', async () => {
      for (const failing of [sql`SELECT CAST('not a number' AS ${d.type('integer')}) AS n`, sql`SELECT * FROM ${table('no_such_table')}`]) {
        const attempt = connection.transaction!(async (session) => {
          await session.execute(sql`CREATE TABLE ${table('swallowed')} AS SELECT 1 AS n`);
          // A run-time error (the cast) aborts the transaction; a binder error (the table) does not, on DuckDB.
          await session.query(failing).catch(() => undefined);
          return 'carried on';
        });
        await expect(attempt).rejects.toBeInstanceOf(WarehouseError);
        expect(await connection.columns({ schema, name: 'swallowed' })).toBeUndefined();
      }
    });

    it('inserts typed rows in streamed batches, NULLs and awkward strings included', async () => {
      await connection.execute(
        sql`CREATE TABLE ${table('typed')} (s ${d.type('string')}, i ${d.type('integer')}, f ${d.type('float')}, m ${d.type('decimal')}, b ${d.type('boolean')}, dt ${d.type('date')}, ts ${d.type('timestamp')})`,
      );
      const columns = [
        { name: 's', type: 'string' },
        { name: 'i', type: 'integer' },
        { name: 'f', type: 'float' },
        { name: 'm', type: 'decimal' },
        { name: 'b', type: 'boolean' },
        { name: 'dt', type: 'date' },
        { name: 'ts', type: 'timestamp' },
      ] as const;
      async function* batches() {
        yield [["it's \\ \"odd\"; --", 1, 0.25, 19.99, true, '2024-02-29', new Date('2024-03-01T10:00:00Z')]];
        yield [
          [null, null, null, null, null, null, null],
          ['plain', '9007199254740993', -1.5, 0.1, false, '1999-12-31', new Date('1999-12-31T23:59:59Z')],
        ];
      }
      expect(await connection.insertRows({ schema, name: 'typed' }, columns, batches())).toBe(3);
      expect(await connection.query(sql`SELECT * FROM ${table('typed')} ORDER BY i NULLS LAST`)).toEqual([
        { s: "it's \\ \"odd\"; --", i: 1, f: 0.25, m: 19.99, b: true, dt: '2024-02-29', ts: new Date('2024-03-01T10:00:00Z') },
        { s: 'plain', i: '9007199254740993', f: -1.5, m: 0.1, b: false, dt: '1999-12-31', ts: new Date('1999-12-31T23:59:59Z') },
        { s: null, i: null, f: null, m: null, b: null, dt: null, ts: null },
      ]);
    });

    it('keeps row values out of failure messages, and the type, column and constraint in', async () => {
      // The values come from a table, as they would from a source: the statements' text holds none of them.
      const person = { name: 'person', columns: [['email', 'string'], ['phone', 'integer'], ['amount', 'float']] as const };
      await connection.execute(sql`CREATE TABLE ${table(person.name)} (email ${d.type('string')}, phone ${d.type('integer')}, amount ${d.type('float')})`);
      await connection.insertRows({ schema, name: person.name }, person.columns.map(([name, type]) => ({ name, type })), [[[`jane's "mail"\njane.doe@example.com`, 33612345678, 12345.678]]]);
      await connection.execute(sql`CREATE TABLE ${table('unique_emails')} (email ${d.type('string')} PRIMARY KEY)`);
      await connection.execute(sql`CREATE TABLE ${table('positive')} (email ${d.type('string')}, n ${d.type('integer')} CHECK (n > 0))`);
      await connection.execute(sql`CREATE TABLE ${table('referring')} (email ${d.type('string')} REFERENCES ${table('unique_emails')} (email))`);
      const from = table(person.name);
      const failures: readonly { statement: Sql; says: Record<typeof engine.name, RegExp> }[] = [
        {
          statement: sql`SELECT CAST(email AS INTEGER) AS n FROM ${from}`,
          says: { duckdb: /Could not convert string <value> to INT32 when casting from source column email/, postgres: /invalid input syntax for type integer: <value>/ },
        },
        {
          statement: sql`SELECT CAST(email AS DATE) AS n FROM ${from}`,
          says: { duckdb: /invalid date field format: <value>, expected format is/, postgres: /invalid input syntax for type date: <value>/ },
        },
        {
          statement: sql`SELECT CAST(email AS TIMESTAMP) AS n FROM ${from}`,
          says: { duckdb: /invalid timestamp field format: <value>, expected format is/, postgres: /invalid input syntax for type timestamp: <value>/ },
        },
        {
          statement: sql`SELECT CAST(phone AS INTEGER) AS n FROM ${from}`,
          says: { duckdb: /Type INT64 with value <value> can't be cast because the value is out of range for the destination type INT32 when casting from source column phone/, postgres: /integer out of range/ },
        },
        {
          statement: sql`SELECT CAST(amount AS DECIMAL(3,2)) AS n FROM ${from}`,
          says: { duckdb: /Could not cast value <value> to DECIMAL\(3,2\) when casting from source column amount/, postgres: /numeric field overflow/ },
        },
        {
          statement: sql`INSERT INTO ${table('unique_emails')} SELECT email FROM ${from} UNION ALL SELECT email FROM ${from}`,
          says: { duckdb: /duplicate key <value>|Duplicate key "email: <value>"/, postgres: /unique constraint "unique_emails_pkey" — Key \(email\)=\(<value>\) already exists\./ },
        },
        {
          statement: sql`SELECT CAST(email AS JSON) AS n FROM ${from}`,
          says: { duckdb: /Malformed JSON at byte 0 of input: unexpected character\.  Input: <value> when casting from source column email/, postgres: /invalid input syntax for type json — Token <value> is invalid\./ },
        },
        {
          statement: sql`SELECT phone * phone AS n FROM ${from}`,
          says: { duckdb: /Overflow in multiplication of INT64 \(<value>\)/, postgres: /bigint out of range/ },
        },
        {
          statement: sql`INSERT INTO ${table('referring')} SELECT email FROM ${from}`,
          says: { duckdb: /foreign key constraint because key "email: <value>" does not exist/, postgres: /Key \(email\)=\(<value>\) is not present in table "unique_emails"\./ },
        },
        {
          statement: sql`INSERT INTO ${table('positive')} SELECT email, -1 FROM ${from}`,
          says: { duckdb: /CHECK constraint failed on table positive/, postgres: /check constraint "positive_n_check" — Failing row contains \(<value>\)\./ },
        },
      ];
      for (const failure of failures) {
        const error = await connection.execute(failure.statement).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, failure.statement.text).toBeInstanceOf(WarehouseError);
        const message = (error as WarehouseError).message;
        expect(message, message).not.toMatch(/jane|33612345678|12345\.6/);
        expect(message).toMatch(failure.says[engine.name]);
      }
    });

    it('reports a failure as a WarehouseError carrying the statement, with secrets masked', async () => {
      redactor.add('hunter2-secret-value');
      const error = await connection.query(sql`SELECT ${d.literal('hunter2-secret-value')} FROM ${table('missing_table')}`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WarehouseError);
      const e = error as WarehouseError;
      expect(e.statement).toContain('missing_table');
      expect(`${e.message} ${e.statement}`).not.toContain('hunter2-secret-value');
      expect(e.statement).toContain('***');
    });
  });
}
