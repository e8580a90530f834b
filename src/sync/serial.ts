import type { Connection } from '../warehouses/connection.js';

/**
 * A connection whose calls run one at a time, in call order. During a sync the page reader, the journal writer and
 * the table destination share the warehouse connection concurrently; DuckDB's connection (and a single Postgres
 * session in a transaction) must not run two statements at once. `stream` is passed through unserialised: a sync
 * reads its change set in pages with `query` instead, so that the connection is never held between calls.
 */
export function serialConnection(connection: Connection): Connection {
  let chain: Promise<unknown> = Promise.resolve();
  const run = <T>(work: () => Promise<T>): Promise<T> => {
    const result = chain.then(work, work);
    chain = result.catch(() => undefined);
    return result;
  };
  return serialised(connection, run);
}

/** `connection` with its calls queued on `run`; its views (withContext) queue on the same `run`. */
function serialised(connection: Connection, run: <T>(work: () => Promise<T>) => Promise<T>): Connection {
  const { withContext, usage } = connection;
  return {
    dialect: connection.dialect,
    execute: (statement) => run(() => connection.execute(statement)),
    query: (statement) => run(() => connection.query(statement)),
    columns: (table) => run(() => connection.columns(table)),
    columnsOfQuery: (select) => run(() => connection.columnsOfQuery(select)),
    runAtomically: (statements) => run(() => connection.runAtomically(statements)),
    insertRows: (table, columns, batches) => run(() => connection.insertRows(table, columns, batches)),
    stream: (statement, options) => connection.stream(statement, options),
    close: () => run(() => connection.close()),
    ...(withContext ? { withContext: (context) => serialised(withContext.call(connection, context), run) } : {}),
    ...(usage ? { usage: () => run(() => usage.call(connection)) } : {}),
    // A sibling runs beside this connection: its calls are not queued here (its user serialises them).
    ...(connection.sibling ? { sibling: () => connection.sibling!() } : {}),
  };
}
