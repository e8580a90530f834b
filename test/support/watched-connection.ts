import type { Sql } from '../../src/dialects/sql.js';
import type { Connection } from '../../src/warehouses/connection.js';

/**
 * `connection` with the text of each statement it executes or queries handed to `seen` first: to record what a run
 * sends the warehouse, or to fail a statement in its place (what `seen` throws, the call rejects with).
 */
export function watchedConnection(connection: Connection, seen: (text: string, method: 'execute' | 'query') => void): Connection {
  return new Proxy(connection, {
    get(target, property, receiver) {
      if (property === 'execute' || property === 'query') {
        return async (statement: Sql) => {
          seen(statement.text, property);
          return property === 'execute' ? target.execute(statement) : target.query(statement);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
