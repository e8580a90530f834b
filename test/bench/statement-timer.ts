import { readFileSync } from 'node:fs';
import { Sql } from '../../src/dialects/sql.js';
import type { Connection } from '../../src/warehouses/connection.js';

/** Seconds and calls of one kind of statement; with `resources`, what the process spent on it. */
export interface StatementTime {
  readonly statement: string;
  seconds: number;
  calls: number;
  /** CPU seconds of the whole process (user + system, every DuckDB thread): cpu / seconds = cores kept busy. */
  cpuSeconds?: number;
  /** Bytes the process read from and wrote to the block device (/proc/self/io: spills to DuckDB's temp files, its database file). */
  readMb?: number;
  writtenMb?: number;
  /** The process's peak RSS (the kernel's high-water mark) once the statement ended: the first statement reaching a new peak set it. */
  peakRssMb?: number;
}

/** What the process has used so far: CPU seconds, disk bytes read and written (Linux; 0 elsewhere), peak RSS. */
function usage(): { cpu: number; read: number; written: number; peakRssMb: number } {
  const r = process.resourceUsage();
  let read = 0;
  let written = 0;
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    read = Number(/^read_bytes: (\d+)/m.exec(io)?.[1] ?? 0);
    written = Number(/^write_bytes: (\d+)/m.exec(io)?.[1] ?? 0);
  } catch {
    // Not Linux: no disk figures.
  }
  return { cpu: (r.userCPUTime + r.systemCPUTime) / 1e6, read, written, peakRssMb: r.maxRSS / 1024 };
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
 * iterator, not the consumer's between pages). Sessions it hands out (transaction, withContext) are timed too, and a
 * transaction's BEGIN and COMMIT together.
 */
export function timedConnection(
  connection: Connection,
  options: {
    times?: Map<string, StatementTime>;
    /** DuckDB: time runAtomically's statements one by one, in the same transaction. */
    splitAtomic?: boolean;
    /** How statements are grouped (statementHead by default), e.g. by the plan step that holds them. */
    headOf?: (text: string) => string;
    /** Also count CPU seconds, disk bytes and the peak RSS per statement (see StatementTime). */
    resources?: boolean;
  } = {},
): { connection: Connection; times: Map<string, StatementTime> } {
  const times = options.times ?? new Map<string, StatementTime>();
  const headOf = options.headOf ?? statementHead;
  const add = (head: string, seconds: number, before?: ReturnType<typeof usage>) => {
    const entry = times.get(head) ?? { statement: head, seconds: 0, calls: 0 };
    entry.seconds += seconds;
    entry.calls++;
    if (before) {
      const after = usage();
      entry.cpuSeconds = (entry.cpuSeconds ?? 0) + after.cpu - before.cpu;
      entry.readMb = (entry.readMb ?? 0) + (after.read - before.read) / 2 ** 20;
      entry.writtenMb = (entry.writtenMb ?? 0) + (after.written - before.written) / 2 ** 20;
      entry.peakRssMb = Math.max(entry.peakRssMb ?? 0, after.peakRssMb);
    }
    times.set(head, entry);
  };
  const time = async <T>(head: string, work: () => Promise<T>): Promise<T> => {
    const before = options.resources ? usage() : undefined;
    const started = performance.now();
    try {
      return await work();
    } finally {
      add(head, (performance.now() - started) / 1000, before);
    }
  };
  /** `session`: the session of a transaction, where DuckDB runs runAtomically's statements as they come. */
  const wrap = (inner: Connection, session = false): Connection =>
    new Proxy(inner, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        switch (property) {
          case 'execute':
          case 'query':
            return (statement: Sql) => time(headOf(statement.text), () => (value as (s: Sql) => Promise<unknown>).call(target, statement));
          case 'runAtomically':
            if (options.splitAtomic && session)
              return async (statements: readonly Sql[]) => {
                for (const statement of statements) await time(`atomic: ${statementHead(statement.text)}`, () => target.runAtomically([statement]));
              };
            if (options.splitAtomic) return (statements: readonly Sql[]) => splitAtomically(target, statements, time);
            return (statements: readonly Sql[]) => time(`atomically: ${headOf(statements[0]?.text ?? '')} (+${Math.max(0, statements.length - 1)})`, () => target.runAtomically(statements));
          case 'insertRows':
            return (table: { schema?: string; name: string }, ...rest: unknown[]) =>
              time(`insertRows ${table.schema ?? ''}.${table.name}`, () => (value as (...a: unknown[]) => Promise<unknown>).call(target, table, ...rest));
          case 'stream':
            return (statement: Sql, options?: unknown) => timedStream(headOf(statement.text), target.stream(statement, options as never), add);
          case 'transaction':
            // Its BEGIN and COMMIT timed together: what the transaction costs beside the statements inside it.
            return async <T>(work: (session: Connection) => Promise<T>) => {
              const started = performance.now();
              let inside = 0;
              const result = await target.transaction!(async (session) => {
                const entered = performance.now();
                try {
                  return await work(wrap(session, true));
                } finally {
                  inside = performance.now() - entered;
                }
              });
              add('transaction: BEGIN and COMMIT', (performance.now() - started - inside) / 1000);
              return result;
            };
          case 'withContext':
            return (context: never) => wrap(target.withContext!(context));
          case 'sibling':
            // Its statements run beside this connection's: timed apart, as `beside: <head>`.
            return async () => timedConnection(await target.sibling!(), { ...options, times, headOf: (text) => `beside: ${headOf(text)}` }).connection;
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
