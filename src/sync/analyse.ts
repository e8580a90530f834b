import type { OutputColumn } from '../../models/model-kind.js';
import { checkComparison } from '../expressions/conditions.js';
import type { Dialect } from '../dialects/dialect.js';
import type { Problems } from '../project/problems.js';
import { didYouMean } from '../project/suggest.js';
import type { SyncDef } from './load.js';

/**
 * Checks the columns a sync reads against its model's output columns: every key and field column exists, and a
 * `date_format` is applied to a date or timestamp. Models whose columns are unknown (offline) are skipped.
 */
export function checkSyncColumns(
  syncs: Iterable<SyncDef>,
  columnsOf: (model: string) => readonly OutputColumn[] | undefined,
  dialect: Dialect,
  problems: Problems,
): void {
  for (const sync of syncs) {
    const columns = columnsOf(sync.model);
    if (!columns) continue;
    const byKey = new Map(columns.map((c) => [dialect.identifierKey(c.name), c]));
    for (const field of [sync.key, ...sync.fields]) {
      if (field.column === undefined) continue;
      const path = [...sync.origin.path, ...field.at];
      const column = byKey.get(dialect.identifierKey(field.column));
      if (!column) {
        problems.error(
          'unknown-column',
          `unknown column "${field.column}" in model "${sync.model}"${didYouMean(field.column, columns.map((c) => c.name))}`,
          sync.origin.file.locate(path),
          path,
        );
      } else if (field.dateFormat !== undefined && column.type !== undefined && column.type !== 'date' && column.type !== 'timestamp') {
        const at = [...sync.origin.path, 'fields', field.name, 'date_format'];
        problems.error('bad-date-format', `date_format needs a date or timestamp column; "${field.column}" is ${column.type}`, sync.origin.file.locate(at), at);
      }
    }
    // An events sync's time column, which must hold times, and its name column.
    if (sync.event) {
      const eventColumns: [string, readonly string[]][] = [[sync.event.time, ['event', 'time']]];
      if ('column' in sync.event.name) eventColumns.push([sync.event.name.column, ['event', 'name', 'from']]);
      for (const [name, rel] of eventColumns) {
        const at = [...sync.origin.path, ...rel];
        const column = byKey.get(dialect.identifierKey(name));
        if (!column) problems.error('unknown-column', `unknown column "${name}" in model "${sync.model}"${didYouMean(name, columns.map((c) => c.name))}`, sync.origin.file.locate(at), at);
        else if (rel[1] === 'time' && column.type !== undefined && column.type !== 'timestamp' && column.type !== 'date')
          problems.error('bad-field', `an event's time must be a timestamp or a date column; "${name}" is ${column.type}`, sync.origin.file.locate(at), at);
      }
    }
    // The contact column: the sync's `contact:`, or its audiences model's key (always a column of the memberships).
    if (sync.contact !== undefined && !byKey.has(dialect.identifierKey(sync.contact))) {
      const at = [...sync.origin.path, 'contact'];
      problems.error('unknown-column', `unknown column "${sync.contact}" in model "${sync.model}"${didYouMean(sync.contact, columns.map((c) => c.name))}`, sync.origin.file.locate(at), at);
    }
    for (const [i, condition] of sync.where.entries()) {
      const path = [...sync.origin.path, 'where', i];
      const column = byKey.get(dialect.identifierKey(condition.column));
      if (!column) {
        const at = [...path, 'column'];
        problems.error('unknown-column', `unknown column "${condition.column}" in model "${sync.model}"${didYouMean(condition.column, columns.map((c) => c.name))}`, sync.origin.file.locate(at), at);
        continue;
      }
      checkComparison(condition, condition.column, column.type, path, (at, message, code) => problems.error(code, message, sync.origin.file.locate(at), at));
    }
  }
}
