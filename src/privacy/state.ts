import { createHash, randomBytes } from 'node:crypto';
import type { Dialect, TableRef } from '../dialects/dialect.js';
import { sql, type Sql } from '../dialects/sql.js';
import type { StateStore } from '../state/store.js';
import { stateTable, type ColumnDef } from '../state/tables.js';

/**
 * What Tideline keeps for privacy, in the state schema beside the sync state (README "Privacy"):
 *  - `privacy_forgotten`: the people erased, as keyed hashes of every value that identified them (e-mails, phones,
 *    customer ids, `source:id` records, the keys given) — never the values. Every sync leaves out a row whose key or
 *    contact hashes into it (op `forgotten`), so a person erased stays out although a source still holds them.
 *  - `privacy_requests`: one row per erasure request: when, how many values, its status.
 *  - `privacy_erasures`: per request and sync, what was done where and when: records found, erased at the
 *    destination, refused, the vendor call or the manual step, and the state purged.
 *  - `privacy_audit` (a shared state table, see src/state/tables.ts): per sync run, which destination received
 *    which fields for how many records (never values).
 *
 * The hashes are keyed: SHA-256 of a random salt (kept in `sync_meta`, made on first use) followed by the value
 * lower-cased and trimmed. A plain SHA-256 of an e-mail is what ads platforms receive and what anyone can compute
 * from a list of addresses; the salt makes the list useless outside this state schema, and lets a scan of the state
 * for a person's plain hashes (tests do it) find nothing once they are forgotten.
 */

export const PRIVACY_TABLES = {
  forgotten: 'privacy_forgotten',
  requests: 'privacy_requests',
  erasures: 'privacy_erasures',
} as const;

export const FORGOTTEN_COLUMNS: readonly ColumnDef[] = [
  /** The keyed hash of one identifying value (see tokenHash). */
  { name: 'token_hash', type: 'string' },
  /** What kind of value it was: email, phone, customer, record, key. */
  { name: 'kind', type: 'string' },
  { name: 'request_id', type: 'string' },
  { name: 'forgotten_at', type: 'timestamp' },
];

export const REQUEST_COLUMNS: readonly ColumnDef[] = [
  { name: 'request_id', type: 'string' },
  { name: 'requested_at', type: 'timestamp' },
  /** `running` until every sync was handled, then `done`, or `partial` when a destination refused or failed. */
  { name: 'status', type: 'string' },
  /** Values given (e-mails, phones, ids), and identifying values held once identity expanded them. */
  { name: 'given', type: 'integer' },
  { name: 'tokens', type: 'integer' },
  /** Customers of the identity models the values designated. */
  { name: 'customers', type: 'integer' },
  { name: 'finished_at', type: 'timestamp' },
  /** Free text of the requester (a ticket number): never a personal value. */
  { name: 'reference', type: 'string' },
];

export const ERASURE_COLUMNS: readonly ColumnDef[] = [
  { name: 'request_id', type: 'string' },
  { name: 'sync_name', type: 'string' },
  { name: 'destination', type: 'string' },
  { name: 'destination_type', type: 'string' },
  { name: 'object', type: 'string' },
  /** `erased`, `partial` (some refused: a re-run tries them again), `manual` (the vendor offers no API), `none` (nothing held). */
  { name: 'status', type: 'string' },
  /** The vendor call (`method`) or what the data-protection officer must do (`manual`). */
  { name: 'method', type: 'string' },
  { name: 'records', type: 'integer' },
  { name: 'erased', type: 'integer' },
  { name: 'refused', type: 'integer' },
  /** Rows removed from the sync's state (snapshot, rejections, messages, change set). */
  { name: 'state_rows', type: 'integer' },
  { name: 'erased_at', type: 'timestamp' },
];

export function privacyTable(store: StateStore, name: keyof typeof PRIVACY_TABLES): TableRef {
  return stateTable(store.schema, PRIVACY_TABLES[name]);
}

/** Creates the privacy tables (idempotent). */
export async function setupPrivacy(store: StateStore): Promise<void> {
  const d = store.dialect;
  await store.setup();
  const tables: [keyof typeof PRIVACY_TABLES, readonly ColumnDef[]][] = [
    ['forgotten', FORGOTTEN_COLUMNS],
    ['requests', REQUEST_COLUMNS],
    ['erasures', ERASURE_COLUMNS],
  ];
  for (const [name, columns] of tables) {
    const table = privacyTable(store, name);
    if (!(await store.exists(table))) await store.connection.execute(d.createTable(table, columns)).catch(async (error: unknown) => {
      if (!(await store.exists(table))) throw error;
    });
  }
}

const SALT_META = 'privacy_salt';

/** The state schema's hashing salt, made on first use (random, 32 bytes as hex). */
export async function privacySalt(store: StateStore, create: boolean): Promise<string | undefined> {
  const held = await store.getMeta(SALT_META);
  if (held || !create) return held;
  // Made under the syncs' locks (tideline forget takes them all), so two commands never make one at once; read back
  // all the same, so that this command hashes with what the state holds.
  await store.setMeta(SALT_META, randomBytes(32).toString('hex'));
  return store.getMeta(SALT_META);
}

/**
 * The keyed hash of a value, computed here: equal to `tokenHashSql` of the same value in any warehouse — spaces (only
 * they, as SQL's TRIM) trimmed at both ends, then lower-cased.
 */
export function tokenHash(salt: string, value: string): string {
  return createHash('sha256').update(salt + value.replace(/^ +| +$/g, '').toLowerCase()).digest('hex');
}

/** The keyed hash of a value, computed in the warehouse (see tokenHash); NULL for NULL. */
export function tokenHashSql(d: Dialect, salt: string, value: Sql): Sql {
  return d.functions.sha256Hex(sql`${d.string(salt)} || ${d.functions.lower(d.functions.trim(d.cast(value, 'string')))}`);
}
