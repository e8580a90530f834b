import type { CurrentList, DestinationContext } from '../../../destinations/destination.js';
import type { Logger } from '../../log/logger.js';
import type { StateStore } from '../../state/store.js';
import type { SyncDef } from '../load.js';
import { countsStatement, currentSelect, decodePage, materialiseChanges, pageStatement, readCounts } from '../planner.js';
import { SyncFailure } from './failure.js';
import type { ModelTable } from './plan.js';
import { operations, recordFields } from './send.js';

/**
 * The full-list phase, for destinations that deliver the whole list each run (DestinationType.currentList): after a
 * run ended without failure, its outcomes folded into the snapshot, the records the destination now holds are read
 * from the warehouse — the model's rows whose key and hash the snapshot holds — and handed to the destination.
 *
 * They come from the warehouse rather than from what the destination wrote before (a previous list plus the changes
 * since): the snapshot is folded atomically with every run's outcomes and survives any crash, while files in a folder
 * a consumer reads may have been moved or deleted, and a list rebuilt from them would silently miss records. The list
 * is materialised in the change set's table, which is no longer needed once the journal is folded (a run dying here
 * leaves no journal, so the next run's recovery never reads it) and is dropped at the end of the run as always.
 */
export async function deliverCurrentList(input: {
  readonly store: StateStore;
  readonly sync: SyncDef;
  readonly model: ModelTable;
  readonly config: unknown;
  readonly context: DestinationContext;
  readonly pageSize: number;
  readonly log: Logger;
}): Promise<Readonly<Record<string, unknown>> | undefined> {
  const { store, sync, model, config, context, pageSize, log } = input;
  const writer = sync.destination.type.currentList;
  if (!writer?.wanted(config)) return undefined;
  const d = store.dialect;
  const table = store.changes(sync.name);
  const { select, mapping } = currentSelect({ dialect: d, sync, model: model.table, types: model.types, snapshot: store.snapshot(sync.name), rejected: undefined, gates: model.gates });
  await store.connection.execute(d.dropTable(table));
  await materialiseChanges(store.connection, table, select, [model.table]);
  const total = readCounts(await store.connection.query(countsStatement(d, table))).added;
  log.info({ records: total }, `${sync.name}: writing the full list (${total} records)`);
  const names = mapping.fields.map((f) => f.name);
  let read = 0;
  async function* pages(): AsyncGenerator<{ key: string; fields: ReturnType<typeof recordFields> }[]> {
    for (let after = 0; after < total; after += pageSize) {
      const rows = decodePage(await store.connection.query(pageStatement(d, table, after, pageSize, mapping)), mapping);
      read += rows.length;
      yield rows.map((row) => ({ key: row.key, fields: recordFields(row, names, sync.options.null_policy) }));
    }
  }
  const list: CurrentList = { operation: operations(sync.mode)('added'), pages: pages() };
  const details = (await writer.write(config, context, list)) ?? {};
  if (read !== total) throw new SyncFailure(`internal error: the full list held ${read} records where ${total} were counted`);
  return details;
}
