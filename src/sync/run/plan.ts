import type { LogicalType, TableRef } from '../../dialects/dialect.js';
import type { Project } from '../../project/loader.js';
import type { StateStore } from '../../state/store.js';
import type { Connection } from '../../warehouses/connection.js';
import type { SyncDef } from '../load.js';
import type { CompiledMapping } from '../mapping.js';
import { messageSource } from '../messages.js';
import type { MessageSource } from '../../state/messages.js';
import { countsStatement, diffSelect, materialiseStatement, readCounts, type OpCounts } from '../planner.js';
import type { Threshold } from '../schema.js';
import { SyncFailure } from './failure.js';
import { thresholdValue } from './threshold.js';

/** The model a sync reads: its table in the project's target and its columns' types by identifier key. */
export interface ModelTable {
  readonly table: TableRef;
  readonly types: Map<string, LogicalType | undefined>;
}

/** The sync's model as built in the target; a model not built yet fails the sync with the command that builds it. */
export async function modelColumns(connection: Connection, project: Project, sync: SyncDef): Promise<ModelTable> {
  const table: TableRef = { schema: project.target.schema, name: sync.model };
  const columns = await connection.columns(table);
  if (!columns) throw new SyncFailure(`model "${sync.model}" has no table in target "${project.target.name}" yet: build it with \`tideline run --select ${sync.model}\``);
  const d = connection.dialect;
  return { table, types: new Map(columns.map((c) => [d.identifierKey(c.name), c.type])) };
}

/** What a run is to do: the change set it materialised, how to read it, and its counts. */
export interface Plan {
  readonly changes: TableRef;
  readonly mapping: CompiledMapping;
  readonly counts: OpCounts;
  /** Records to send: removed, changed and added (the change set's rows numbered 1…total). */
  readonly total: number;
  /** The sync's records as messages to contacts, which the fold records (src/sync/messages.ts); else undefined. */
  readonly messages: MessageSource | undefined;
}

/** The records a plan sends. */
export function toSend(counts: OpCounts): number {
  return counts.removed + counts.changed + counts.added;
}

/** Plan: the diff of the model against the snapshot, materialised as the change set and counted, in the warehouse. */
export async function planChanges(store: StateStore, sync: SyncDef, model: ModelTable): Promise<Plan> {
  const d = store.dialect;
  const changes = store.changes(sync.name);
  const { select, mapping } = diffSelect({ dialect: d, sync, model: model.table, types: model.types, snapshot: store.snapshot(sync.name), rejected: store.table('rejected') });
  await store.connection.execute(d.dropTable(changes));
  await store.connection.execute(materialiseStatement(d, changes, select));
  const counts = readCounts(await store.connection.query(countsStatement(d, changes)));
  return { changes, mapping, counts, total: toSend(counts), messages: messageSource(sync, model.types) };
}

/** Records the plan's duplicate keys as rejections of this run (`tideline rejected` lists them). */
export async function rejectInvalidKeys(store: StateStore, sync: string, runId: string): Promise<void> {
  await store.connection.runAtomically(store.invalidKeyStatements(sync, runId, new Date()));
}

/** The delete guard of mirror mode: a plan deleting more than `max_deletes` allows fails before anything is sent. */
export async function guardDeletes(store: StateStore, sync: SyncDef, counts: OpCounts): Promise<void> {
  if (sync.mode !== 'mirror' || counts.removed === 0) return;
  const refusal = tooManyDeletes(counts.removed, sync.options.max_deletes, await store.snapshotSize(sync.name));
  if (refusal) throw new SyncFailure(refusal);
}

/** Why a mirror plan deleting `removed` of a snapshot of `snapshotSize` records may not run, or undefined when it may. */
export function tooManyDeletes(removed: number, maxDeletes: Threshold, snapshotSize: number): string | undefined {
  const allowed = thresholdValue(maxDeletes, snapshotSize);
  if (removed <= allowed) return undefined;
  return `mirror would delete ${removed} records, more than max_deletes allows (${allowed}); nothing was sent. If the model is right, raise options.max_deletes for this run or run with --full-resync after checking`;
}
