import { sql } from '../dialects/sql.js';
import type { ForgottenFilter } from '../sync/planner.js';
import type { SyncDef } from '../sync/load.js';
import type { ColumnTypes } from '../sync/mapping.js';
import { contactColumn } from '../sync/contact.js';
import { StateStore } from '../state/store.js';
import { stateTable } from '../state/tables.js';
import type { Connection } from '../warehouses/connection.js';
import { PRIVACY_TABLES, privacySalt, tokenHashSql } from './state.js';

/**
 * The forgotten list as a sync's plan applies it (PlanInput.forgotten), or undefined when nobody was ever forgotten
 * in this state schema: then a plan costs nothing more. Read when the sync plans, so an erasure made a minute ago
 * already counts.
 */
export async function forgottenFilter(connection: Connection, stateSchema: string, sync: SyncDef, types: ColumnTypes): Promise<ForgottenFilter | undefined> {
  const d = connection.dialect;
  const table = stateTable(stateSchema, PRIVACY_TABLES.forgotten);
  if (!(await connection.columns(table))) return undefined;
  const any = await connection.query(sql`SELECT 1 AS ${d.id('one')} FROM ${d.table(table)} LIMIT 1`);
  if (!any.length) return undefined;
  const salt = await privacySalt(new StateStore(connection, stateSchema), false);
  if (!salt) return undefined;
  return { table, hash: (value) => tokenHashSql(d, salt, value), contact: contactColumn(sync, types) };
}
