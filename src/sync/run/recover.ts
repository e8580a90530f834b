import type { Logger } from '../../log/logger.js';
import type { LockHolder } from '../../state/lock.js';
import { CONTACT_KEY_COLUMN, type MessageSource } from '../../state/messages.js';
import type { AuditFacts, StateStore } from '../../state/store.js';
import { EVENT_TIME_SNAPSHOT_COLUMN } from '../../state/tables.js';

export interface RecoverInput {
  readonly store: StateStore;
  readonly sync: string;
  readonly runId: string;
  /** Holders of stale locks this run's lock took over: runs that died. */
  readonly tookOver: readonly LockHolder[];
  readonly fullResync: boolean;
  /** The sync's records as messages to contacts, as the current definition has them (see src/sync/messages.ts). */
  readonly messages?: MessageSource | undefined;
  /** An events sync: its snapshot keeps event times. */
  readonly events: boolean;
  /** What the audit trail records of what the dead run delivered. */
  readonly audit?: AuditFacts | undefined;
  readonly log: Logger;
}

/**
 * Recover, the first phase under the lock: brings the sync's state to a point a plan can start from. The runs whose
 * stale lock was taken over are marked interrupted; `--full-resync` forgets what was sent; the outcomes a dead run
 * journaled are folded into the snapshot against the change set it left, its dispatched records without an outcome
 * kept in doubt (`deadRun`), or discarded when that change set is gone (those records are sent again).
 *
 * Returns the number of outcomes applied.
 */
export async function recover(input: RecoverInput): Promise<number> {
  const { store, sync, runId, log } = input;
  for (const holder of input.tookOver) log.warn({ staleRun: holder.runId }, `took over the stale lock of run ${holder.runId} (${holder.host} pid ${holder.pid})`);
  if (input.tookOver.length) await store.markInterrupted(sync, runId);

  if (input.fullResync) {
    await store.reset(sync);
    log.info('full resync: the snapshot is cleared, every record is sent again');
  }
  // A sync that became an events sync keeps a snapshot without event times, which its plans cannot read: it starts
  // over as an events sync (its first run reads the backfill window), as after --full-resync.
  if (input.events && !input.fullResync) {
    const columns = await store.connection.columns(store.snapshot(sync));
    if (columns && !hasColumn(store, columns, EVENT_TIME_SNAPSHOT_COLUMN.name)) {
      log.warn(`${sync} is now an events sync: its state of records is replaced by one of events, and its first run reads the backfill window`);
      await store.reset(sync);
    }
  }
  await store.setupSync(sync, input.events);
  const { outcomes: leftover, rows: journalRows } = await store.journalCounts(sync);
  if (!journalRows) return 0;
  const changes = await store.connection.columns(store.changes(sync));
  if (changes) {
    // The dead run's change set holds contact keys only if its plan recorded messages: then so does its fold.
    const keyed = hasColumn(store, changes, CONTACT_KEY_COLUMN);
    await store.applyJournal(sync, (await store.unfinishedRun(sync)) ?? runId, { deadRun: true, messages: keyed ? input.messages : undefined, events: input.events, audit: input.audit });
    if (leftover) log.info({ recovered: leftover }, `applied ${leftover} outcomes recorded by an interrupted run`);
    return leftover;
  }
  await store.discardJournal(sync);
  log.warn({ discarded: leftover }, `an interrupted run left ${leftover} outcomes without their change set: those records are sent again`);
  return 0;
}

/** Whether a state table's columns include `name` (compared as the warehouse compares names). */
function hasColumn(store: StateStore, columns: readonly { readonly name: string }[], name: string): boolean {
  const key = store.dialect.identifierKey(name);
  return columns.some((c) => store.dialect.identifierKey(c.name) === key);
}
