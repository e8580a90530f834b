import type { LogicalType, TableRef } from '../../dialects/dialect.js';
import type { Project } from '../../project/loader.js';
import type { StateStore } from '../../state/store.js';
import type { Connection } from '../../warehouses/connection.js';
import type { SyncDef } from '../load.js';
import type { CompiledMapping } from '../mapping.js';
import type { MessageSource } from '../../state/messages.js';
import { messageSource } from '../messages.js';
import { countsStatement, diffSelect, materialiseChanges, readCounts, sharedKeysStatement, type EventWindow, type OpCounts, type PartedDiff, type PlanInput } from '../planner.js';
import type { Sql } from '../../dialects/sql.js';
import { syncGates } from '../suppressions.js';
import { forgottenFilter } from '../../privacy/filter.js';
import type { Threshold } from '../schema.js';
import type { Logger } from '../../log/logger.js';
import { SyncFailure } from './failure.js';
import { thresholdValue } from './threshold.js';

/** The model a sync reads: its table in the project's target, its columns' types by identifier key, and the contacts the project's policies leave out. */
export interface ModelTable {
  readonly table: TableRef;
  readonly types: Map<string, LogicalType | undefined>;
  readonly gates: PlanInput['gates'];
  readonly forgotten: PlanInput['forgotten'];
}

/** The sync's model as built in the target; a model not built yet fails the sync with the command that builds it. */
export async function modelColumns(connection: Connection, project: Project, sync: SyncDef, stateSchema?: string): Promise<ModelTable> {
  const table: TableRef = { schema: project.target.schema, name: sync.model };
  const columns = await connection.columns(table);
  if (!columns) throw new SyncFailure(`model "${sync.model}" has no table in target "${project.target.name}" yet: build it with \`tideline run --select ${sync.model}\``);
  const d = connection.dialect;
  const types = new Map(columns.map((c) => [d.identifierKey(c.name), c.type]));
  return { table, types, gates: await syncGates(connection, project, sync, types, stateSchema), forgotten: await forgottenFilter(connection, project, stateSchema ?? project.target.stateSchema, sync, types, columns.map((c) => c.name)) };
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
export async function planChanges(store: StateStore, sync: SyncDef, model: ModelTable, window?: EventWindow, partRows?: number): Promise<Plan> {
  const d = store.dialect;
  const changes = store.changes(sync.name);
  const input: PlanInput = { dialect: d, sync, model: model.table, types: model.types, snapshot: store.snapshot(sync.name), rejected: store.table('rejected'), gates: model.gates, forgotten: model.forgotten, window };
  const { mapping, diff } = await checkedDiff(store.connection, input);
  await store.connection.execute(d.dropTable(changes));
  await materialiseChanges(store.connection, changes, diff, [model.table, store.snapshot(sync.name)], undefined, partRows);
  const counts = readCounts(await store.connection.query(countsStatement(d, changes)));
  return { changes, mapping, counts, total: toSend(counts), messages: messageSource(sync, model.types) };
}

/**
 * The diff (diffSelect). Where the warehouse sorts in bounded chunks (DuckDB), it also decorrelates the diff's per-row
 * test of shared keys in memory: the keys are checked first, and the test left out when none is shared (nearly always).
 * `diff` is what materialiseChanges makes of it: the diff whole, or by parts of its keys where the warehouse needs.
 */
export async function checkedDiff(connection: Connection, input: PlanInput): Promise<ReturnType<typeof diffSelect> & { readonly diff: Sql | PartedDiff }> {
  // A check that runs out of the warehouse's memory (10M keys under DuckDB's 64MB, the forgotten list's test beside
  // them) answers "maybe": the diff keeps its per-row test, which a diff in parts makes a part's keys at a time.
  const sharedKeys = async () => {
    if (input.dialect.sortChunkRows === undefined) return 1;
    try {
      return Number((await connection.query(sharedKeysStatement(input)))[0]?.['shared'] ?? 1);
    } catch (error) {
      if (input.dialect.memoryLimit?.exhausted(error)) return 1;
      throw error;
    }
  };
  const noSharedKeys = (await sharedKeys()) === 0;
  const whole = diffSelect({ ...input, noSharedKeys });
  // An events sync's diff is never split: its messages are capped per contact across all its events.
  const snapshot = input.snapshot;
  if (input.sync.event || !snapshot) return { ...whole, diff: whole.select };
  return { ...whole, diff: { select: (part) => (part ? diffSelect({ ...input, noSharedKeys, part }).select : whole.select), snapshot } };
}

/** Records the plan's duplicate keys as rejections of this run (`tideline rejected` lists them). */
export async function rejectInvalidKeys(store: StateStore, sync: string, runId: string): Promise<void> {
  await store.connection.runAtomically(store.invalidKeyStatements(sync, runId, new Date()));
}

/**
 * Removals a share of `max_removals` always lets through, whatever the size of the snapshot: a small audience's
 * everyday churn (3 of 25 leaving is 12%) must not stop its sync, while a broken upstream removes far more.
 */
export const REMOVAL_FLOOR = 10;

/**
 * The removal guard of mirror and audience syncs: a plan removing more than `max_removals` allows fails before
 * anything is sent, unless the command was run with `--force` (then it is logged and goes on).
 */
export async function guardRemovals(store: StateStore, sync: SyncDef, counts: OpCounts, force: boolean, log: Logger): Promise<void> {
  const refusal = await removalRefusal(store, sync, counts);
  if (!refusal) return;
  if (!force) throw new SyncFailure(refusal.message);
  log.warn({ removed: counts.removed, held: refusal.held }, `${sync.name}: --force: removing ${counts.removed} of ${refusal.held} records past max_removals (${refusal.limit})`);
}

/** Why a plan with these counts may not run under the sync's `max_removals` (what came of it, and how to proceed), or undefined. */
export async function removalRefusal(store: StateStore, sync: SyncDef, counts: OpCounts, outcome = 'nothing was sent'): Promise<{ message: string; held: number; limit: string } | undefined> {
  if ((sync.mode !== 'mirror' && sync.mode !== 'audience') || counts.removed === 0) return undefined;
  const held = (await store.exists(store.snapshot(sync.name))) ? await store.snapshotSize(sync.name) : 0;
  const refusal = tooManyRemovals(counts.removed, sync.options.max_removals, held, counts.added);
  if (!refusal) return undefined;
  const message =
    `would remove ${counts.removed} of the ${held} records ${sync.destination.name}/${sync.object} holds, ${refusal.why}; ${outcome}. ` +
    `Check the model ${sync.model}${sync.audience ? ` (audience ${sync.audience.name})` : ''}; if the removals are right, run \`tideline sync --select ${sync.name} --force\` once or raise options.max_removals`;
  return { message, held, limit: refusal.limit };
}

/**
 * Why removing `removed` of a snapshot of `held` records (while adding `added`) is refused under `max`, or undefined
 * when it is allowed. Within the floor, a share still refuses leaving the destination empty: that is what an emptied
 * model looks like, whatever its size; a small audience whose members are all replaced is not emptied.
 */
export function tooManyRemovals(removed: number, max: Threshold, held: number, added = 0): { why: string; limit: string } | undefined {
  if (typeof max === 'number') {
    return removed > max ? { why: `more than max_removals allows (${max})`, limit: String(max) } : undefined;
  }
  const share = Number(max.slice(0, -1));
  const allowed = Math.max(thresholdValue(max, held), REMOVAL_FLOOR);
  const limit = `${max} of ${held}, at least ${REMOVAL_FLOOR}`;
  if (share < 100 && removed >= held && held >= 2 && added === 0) return { why: `every record, leaving it empty, which max_removals (${max}) refuses`, limit };
  if (removed > allowed) return { why: `more than max_removals allows (${max} of ${held} is ${thresholdValue(max, held)}; a share always allows ${REMOVAL_FLOOR})`, limit };
  return undefined;
}
