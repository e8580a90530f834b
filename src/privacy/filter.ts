import { joinSql, sql } from '../dialects/sql.js';
import type { Project } from '../project/loader.js';
import type { ForgottenFilter } from '../sync/planner.js';
import type { SyncDef } from '../sync/load.js';
import type { ColumnTypes } from '../sync/mapping.js';
import { contactColumn } from '../sync/contact.js';
import { StateStore } from '../state/store.js';
import { stateTable } from '../state/tables.js';
import type { Connection } from '../warehouses/connection.js';
import { identifierColumns } from './match.js';
import { PRIVACY_TABLES, privacySalt, tokenHashSql } from './state.js';

/**
 * The forgotten list as a sync's plan applies it (PlanInput.forgotten), or undefined when nobody was ever forgotten
 * in this state schema: then a plan costs nothing more. Read when the sync plans, so an erasure made a minute ago
 * already counts. A row still named by a refused erasure is left out too, and its snapshot row is not `removed` by an
 * ordinary removal: the erasure's re-run erases it.
 */
export async function forgottenFilter(connection: Connection, project: Project, stateSchema: string, sync: SyncDef, types: ColumnTypes, columns: readonly string[]): Promise<ForgottenFilter | undefined> {
  const d = connection.dialect;
  const table = stateTable(stateSchema, PRIVACY_TABLES.forgotten);
  if (!(await connection.columns(table))) return undefined;
  const any = await connection.query(sql`SELECT 1 AS ${d.id('one')} FROM ${d.table(table)} LIMIT 1`);
  if (!any.length) return undefined;
  const salt = await privacySalt(new StateStore(connection, stateSchema), false);
  if (!salt) return undefined;
  const kinds = (list: readonly string[]) => sql`SELECT ${d.id('token_hash')} FROM ${d.table(table)} WHERE ${d.id('kind')} IN (${joinSql(list.map((k) => d.string(k)))})`;
  return {
    scope: { dialect: d, hash: (value) => tokenHashSql(d, salt, value), tokens: kinds },
    contact: contactColumn(sync, types),
    identifiers: identifierColumns(columns, project.config.privacy.identifiers),
  };
}
