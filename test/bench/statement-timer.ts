import { Sql } from '../../src/dialects/sql.js';
import type { Connection } from '../../src/warehouses/connection.js';

/** Seconds and calls of one kind of statement. */
export interface StatementTime {
  readonly statement: string;
  seconds: number;
  calls: number;
}

/**
 * What a statement is, for grouping: its first words up to the first parenthesis or 90 characters, with quoted names
 * kept (they say which table) and literals dropped (they hold values, and differ per call).
 */
export function statementHead(text: string): string {
  const flat = text.replace(/'(?:[^']|'')*'/g, '?').replace(/\s+/g, ' ').trim();
  const cut = flat.search(/\(\s*SELECT|\bVALUES\b/i);
  return (cut > 0 ? flat.slice(0, cut) : flat).slice(0, 90).trim();
}

/**
 * `connection` with every statement timed by its head (see statementHead): execute, query, runAtomically (its
 * statements together, by the first one's head), insertRows (by table), stream (the time spent inside the warehouse's
 * iterator, not the consumer's between pages). Sessions it hands out (transaction, withContext) are timed too.
 */
export function timedConnection(
  connection: Connection,
  options: { times?: Map<string, StatementTime>; /** DuckDB: time runAtomically's statements one by one, in the same transaction. */ splitAtomic?: boolean } = {},
): { connection: Connection; times: Map<string, StatementTime> } {
  const times = options.times ?? new Map<string, StatementTime>();
  const add = (head: string, seconds: number) => {
    const entry = times.get(head) ?? { statement: head, seconds: 0, calls: 0 };
    entry.seconds += seconds;
    entry.calls++;
    times.set(head, entry);
  };
  const time = async <T>(head: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      add(head, (performance.now() - started) / 1000);
    }
  };
  const wrap = (inner: Connection): Connection =>
    new Proxy(inner, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        switch (property) {
          case 'execute':
          case 'query':
            return (statement: Sql) => time(statementHead(statement.text), () => (value as (s: Sql) => Promise<unknown>).call(target, statement));
          case 'runAtomically':
            if (options.splitAtomic) return (statements: readonly Sql[]) => splitAtomically(target, statements, time);
            return (statements: readonly Sql[]) => time(`atomically: ${statementHead(statements[0]?.text ?? '')} (+${Math.max(0, statements.length - 1)})`, () => target.runAtomically(statements));
          case 'insertRows':
            return (table: { schema?: string; name: string }, ...rest: unknown[]) =>
              time(`insertRows ${table.schema ?? ''}.${table.name}`, () => (value as (...a: unknown[]) => Promise<unknown>).call(target, table, ...rest));
          case 'stream':
            return (statement: Sql, options?: unknown) => timedStream(statementHead(statement.text), target.stream(statement, options as never), add);
          case 'transaction':
            return <T>(work: (session: Connection) => Promise<T>) => target.transaction!((session) => work(wrap(session)));
          case 'withContext':
            return (context: never) => wrap(target.withContext!(context));
          default:
            return (value as (...a: unknown[]) => unknown).bind(target);
        }
      },
    });
  return { connection: wrap(connection), times };
}

async function* timedStream<T>(head: string, rows: AsyncIterable<T>, add: (head: string, seconds: number) => void): AsyncGenerator<T> {
  const iterator = rows[Symbol.asyncIterator]();
  let inside = 0;
  try {
    for (;;) {
      const started = performance.now();
      const next = await iterator.next();
      inside += performance.now() - started;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
    add(`stream: ${head}`, inside / 1000);
  }
}

/** DuckDB's runAtomically (BEGIN, each statement, COMMIT) with each statement timed as `atomic: <head>`. */
async function splitAtomically(target: Connection, statements: readonly Sql[], time: <T>(head: string, work: () => Promise<T>) => Promise<T>): Promise<void> {
  const plain = (text: string) => target.execute(Sql.trusted(text));
  await plain('BEGIN TRANSACTION');
  try {
    for (const statement of statements) await time(`atomic: ${statementHead(statement.text)}`, () => target.execute(statement));
    await time('atomic: COMMIT', () => plain('COMMIT'));
  } catch (error) {
    await plain('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
