import type { Dialect } from '../dialects/dialect.js';
import { joinSql, sql, type Sql } from '../dialects/sql.js';

/**
 * Which model rows are a forgotten person's, the same test for `tideline forget` (which rows to erase) and for every
 * sync's plan afterwards (which rows to leave out). Each kind of hashed value is matched only where it can name a
 * person, so that forgetting customer 3 never touches product 3 of another sync:
 *  - e-mails and phones: the sync's key, its contact column, and the model's identifier columns
 *    (`privacy.identifiers`, default `email` and `phone`) — never any other text column;
 *  - customer ids and `source:id` records: the contact column;
 *  - keys given with `--key`: every sync's key (what the user asked);
 *  - keys found in a sync's own rows: that sync's key only (hashed with the sync's name: `sync:key`).
 * An events sync's key is an event id: it names no one, and is matched only as that sync's own found key.
 */

export const KEY_KINDS = ['email', 'phone', 'key'] as const;
export const CONTACT_KINDS = ['customer', 'record', 'email', 'phone'] as const;
export const IDENTIFIER_KINDS = ['email', 'phone'] as const;
/** The kind of a key found in one sync's rows: hashed as `<sync>:<key>`. */
export const SYNC_KEY_KIND = 'sync_key';

export interface MatchScope {
  readonly dialect: Dialect;
  /** The keyed hash of a value (src/privacy/state.ts tokenHashSql). */
  hash(value: Sql): Sql;
  /** A SELECT of `token_hash` of the listed hashes of these kinds. */
  tokens(kinds: readonly string[]): Sql;
}

/** The row of one sync as the test reads it: its key, its contact column and its identifier columns, as expressions. */
export interface RowShape {
  readonly sync: string;
  /** Events syncs: the key is an event id. */
  readonly events: boolean;
  readonly key: Sql;
  readonly contact: Sql | undefined;
  readonly identifiers: readonly Sql[];
}

/** The value hashed for a key found in a sync's rows. */
export function syncKeyValue(d: Dialect, sync: string, key: Sql): Sql {
  return sql`${d.string(`${sync}:`)} || ${d.cast(key, 'string')}`;
}

/** TRUE when the row is a forgotten person's (never NULL). */
export function personCondition(scope: MatchScope, row: RowShape): Sql {
  const d = scope.dialect;
  // A NULL value names no one: tested first, so that the test is FALSE rather than NULL (the listed hashes are never
  // NULL), and a plain predicate every warehouse takes in a WHERE clause.
  const listed = (value: Sql, kinds: readonly string[]) => sql`(${value} IS NOT NULL AND ${scope.hash(value)} IN (${scope.tokens(kinds)}))`;
  const tests = [
    listed(syncKeyValue(d, row.sync, row.key), [SYNC_KEY_KIND]),
    ...(row.events ? [] : [listed(row.key, KEY_KINDS)]),
    ...(row.contact ? [listed(row.contact, CONTACT_KINDS)] : []),
    ...row.identifiers.map((column) => listed(column, IDENTIFIER_KINDS)),
  ];
  return sql`(${joinSql(tests, sql` OR `)})`;
}

/** The model's identifier columns (`privacy.identifiers`) among its columns, by their stored names. */
export function identifierColumns(names: readonly string[], identifiers: readonly string[]): string[] {
  const wanted = new Set(identifiers.map((i) => i.toLowerCase()));
  return names.filter((n) => wanted.has(n.toLowerCase()));
}
