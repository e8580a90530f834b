import { setMaxListeners } from 'node:events';
import type { DestinationContext, DestinationSession } from '../../../destinations/destination.js';
import type { Logger } from '../../log/logger.js';
import { redactor } from '../../log/redact.js';
import type { Project } from '../../project/loader.js';
import type { LockSet } from '../../state/lock.js';
import { StateStore, type AuditFacts, type FoldRange, type RunStatus } from '../../state/store.js';
import { describeFailure, inContext, type Connection } from '../../warehouses/connection.js';
import type { ProgressEvent } from '../engine.js';
import type { ExecutorStats } from '../executor.js';
import { FOLD_ROWS, WHOLE_FOLD_MAX, type JournalOptions } from '../journal.js';
import type { SyncDef } from '../load.js';
import { collectGarbage } from '../memory.js';
import { eventWindow, nextWatermark } from '../events.js';
import { watermarkName } from '../../state/store.js';
import { messageSource } from '../messages.js';
import type { MessageSource } from '../../state/messages.js';
import { emptyCounts, type OpCounts } from '../planner.js';
import type { Threshold } from '../schema.js';
import { SyncFailure } from './failure.js';
import { takeRunLock, type RunLock } from './lock.js';
import { deliverCurrentList } from './current.js';
import { guardRemovals, modelColumns, planChanges, rejectInvalidKeys, toSend, type ModelTable, type Plan } from './plan.js';
import { endStatus, runRecord, tooManyRejections, type RunTally } from './record.js';
import { recover } from './recover.js';
import { checkWithRetries, destinationContext, effectiveLimits, RunWarehouses, Sending, type RateGates } from './send.js';

/** Records sent from which a run collects garbage before folding its journal (see collectGarbage). */
const LARGE_RUN = 100_000;

/** Everything one run of a sync uses, handed over by SyncEngine.run. */
export interface RunInputs {
  readonly sync: SyncDef;
  readonly runId: string;
  readonly project: Project;
  /** The sync's state, through the engine's (serialised) connection to the project's target. */
  readonly store: StateStore;
  /** The destination's config (the sandbox's points at an emulator). */
  readonly config: unknown;
  readonly gates: RateGates;
  /** Locks the command took for all its syncs; without them the run takes its own. */
  readonly locks: LockSet | undefined;
  readonly leaseMs: number;
  readonly fullResync: boolean;
  /** `--force`: a plan removing more than `max_removals` allows runs anyway (logged). */
  readonly force: boolean;
  /** Overrides the sync's `max_rejected`. */
  readonly maxRejected: Threshold | undefined;
  /** The run sends to the sandbox's emulators: hints name `--sandbox`. */
  readonly sandbox: boolean;
  readonly journal: JournalOptions | undefined;
  /** Opens a connection beside the store's, through which the run folds its journal while sending (Connection.sibling). */
  readonly sibling: (() => Promise<Connection>) | undefined;
  readonly pageSize: number;
  /** Snapshot rows a part of the diff joins at most (EngineOptions.diffPartRows). */
  readonly diffPartRows: number | undefined;
  /** Aborted on Ctrl-C: no new request starts; what is in flight finishes and is recorded. */
  readonly signal: AbortSignal | undefined;
  readonly openWarehouse: ((target: string) => Promise<Connection>) | undefined;
  readonly onProgress: ((event: ProgressEvent) => void) | undefined;
  readonly log: Logger;
}

/** How a run went; failures are in `error`, never thrown. */
export interface RunOutcome extends RunTally {
  /** Outcomes of an interrupted earlier run, applied before this one planned. */
  readonly recovered: number;
  readonly details: Readonly<Record<string, unknown>> | null;
}

/** Runs one sync through its phases and always ends it: the outcome carries the failure, if any. */
export async function executeRun(inputs: RunInputs): Promise<RunOutcome> {
  const run = new SyncRun(inputs);
  try {
    await run.execute();
  } catch (error) {
    run.fail(error);
  } finally {
    await run.cleanup();
  }
  return { counts: run.counts, stats: run.stats, error: run.error, recovered: run.recovered, details: run.details };
}

/**
 * One run of a sync, in phases: lock, recover, plan, record the run, send, fold the outcomes and judge them. It holds
 * what must be released or recorded however the run ends (the lock, the destination session, connections it opened,
 * whether the journal was folded), and `cleanup` does that in one place.
 */
class SyncRun {
  counts: OpCounts = emptyCounts();
  stats: Readonly<ExecutorStats> = { requests: 0, sent: 0, accepted: 0, rejected: 0, rateLimited: 0, retries: 0, splits: 0, alreadyDelivered: 0 };
  recovered = 0;
  error: string | undefined;
  details: Readonly<Record<string, unknown>> | null = null;
  #lock: RunLock | undefined;
  #session: DestinationSession | undefined;
  readonly #warehouses: RunWarehouses;
  #runRecorded = false;
  #journalApplied = true;
  /** What the fold records as messages (from the plan). */
  #messages: MessageSource | undefined;
  readonly #startedAt = new Date();
  readonly #stop = stopController();

  constructor(private readonly inputs: RunInputs) {
    this.#warehouses = new RunWarehouses(inputs.project, inputs.store.connection, inputs.openWarehouse);
  }

  async execute(): Promise<void> {
    const { sync, store, config, runId, log } = this.inputs;
    const type = sync.destination.type;
    const limits = effectiveLimits(sync, config);
    // A model not built yet fails the sync before anything is locked or recorded.
    const model = await modelColumns(store.connection, this.inputs.project, sync, store.schema);

    // Lock: one runner at a time writes the destination object; the run stops if another takes the lock.
    await store.setup();
    this.#lock = await takeRunLock(store, { lockKey: type.lockScope(config, sync.object), sync: sync.name, runId }, this.inputs.locks, this.inputs.leaseMs);
    this.#stopWhenLost(this.#lock.lost);

    // Recover what a dead run left, then plan: the diff, materialised and counted in the warehouse.
    const events = sync.event !== undefined;
    this.recovered = await recover({ store, sync: sync.name, runId, tookOver: this.#lock.lease.tookOver, fullResync: this.inputs.fullResync, messages: messageSource(sync, model.types), events, audit: auditFacts(sync), log });
    // An events sync reads only the events after its high-water mark (src/sync/events.ts).
    const window = events ? await eventWindow(store, sync, config, new Date()) : undefined;
    const plan = await planChanges(store, sync, model, window, this.inputs.diffPartRows);
    this.#messages = plan.messages;
    this.counts = plan.counts;
    await rejectInvalidKeys(store, sync.name, runId);
    const { total } = plan;
    this.#progress('planned', total);
    log.info({ ...plan.counts, runId }, `${sync.name}: ${total} to send (${plan.counts.added} added, ${plan.counts.changed} changed, ${plan.counts.removed} removed)`);
    await guardRemovals(store, sync, plan.counts, this.inputs.force, log);

    // Record: the run is in `sync_runs` before anything is sent.
    await store.insertRun(this.#record('running'));
    this.#runRecorded = true;
    // Nothing to send: every event of the window is settled, so the next run reads from this one's end.
    if (window && total === 0) await store.setMeta(watermarkName(sync.name), window.to.toISOString());
    if (total === 0 && !type.recoverInterrupted && !type.currentList) return;

    // Send.
    const context = await destinationContext({ store, sync, runId, plan, fullResync: this.inputs.fullResync, root: this.inputs.project.root, log, warehouses: this.#warehouses });
    // What a dead run left unfinished at the destination (a file without its manifest) is finished even when this run
    // has nothing to send: the journal it recovered may have settled every record.
    if (type.recoverInterrupted && context.interruptedRuns?.length) await type.recoverInterrupted(config, context);
    if (total === 0) return this.#deliverCurrentList(context, model);
    const session = (this.#session = await type.open(config, context));
    const gate = this.inputs.gates.for(sync.destination, limits);
    await checkWithRetries(session, gate, sync.destination.retries, limits.timeoutMs, log);
    const signal = this.inputs.signal ? AbortSignal.any([this.inputs.signal, this.#stop.signal]) : this.#stop.signal;
    // The outcomes of a large run are folded in parts while it sends, each its own atomic unit; an events sync's end
    // folds them all, in the unit that also moves its high-water mark (which reads every outcome of the run:
    // nextWatermark).
    const foldEvery = this.inputs.journal?.foldRows ?? (total > WHOLE_FOLD_MAX ? FOLD_ROWS : undefined);
    const fold = events || foldEvery === undefined ? undefined : { rows: foldEvery, through: await this.#foldThrough(plan) };
    const sending = new Sending({ sync, config, limits, session, gate, store, plan, journal: this.inputs.journal, pageSize: this.inputs.pageSize, signal, log, onProgress: () => this.#progress('sending', total), fold });
    this.#journalApplied = false;
    this.stats = sending.stats;
    await sending.send();

    // Fold the outcomes into the snapshot in one atomic unit, even when the journal's last write failed (when anything
    // before threw, the cleanup folds them).
    try {
      await sending.closeJournal();
    } finally {
      const complete = sending.failure === undefined && !this.#stop.signal.aborted && this.inputs.signal?.aborted !== true;
      this.details = (await session.finish?.({ complete, accepted: sending.stats.accepted, rejected: sending.stats.rejected }).catch((error: unknown) => {
        log.warn({ err: describeFailure(error) }, 'the destination could not finish the run');
      })) ?? null;
      if (sending.stats.sent >= LARGE_RUN) collectGarbage();
      const watermark = window ? await nextWatermark(store, sync, window, log) : undefined;
      await store.applyJournal(sync.name, runId, { messages: plan.messages, events, watermark, audit: auditFacts(sync) });
      this.#journalApplied = true;
    }

    // Judge: a stopped or interrupted run failed; so did one with more rejections than max_rejected allows.
    if (sending.failure) throw sending.failure;
    if (this.inputs.signal?.aborted) throw new SyncFailure('interrupted: the records not sent yet are sent by the next run');
    const rejections = tooManyRejections(this.inputs.maxRejected ?? sync.options.max_rejected, sending.stats, { sync: sync.name, sandbox: this.inputs.sandbox });
    if (rejections) throw new SyncFailure(rejections);
    await this.#deliverCurrentList(context, model);
  }

  /**
   * How the run folds part of its journal while sending: through a connection beside the store's where the warehouse
   * has one, so that the page reads and the journal's writes do not wait for it; else through the store's.
   */
  async #foldThrough(plan: Plan): Promise<(through: FoldRange) => Promise<void>> {
    const { sync, store, runId, sibling, log } = this.inputs;
    const opened = sibling
      ? await sibling().catch((error: unknown) => {
          log.warn({ err: describeFailure(error) }, `${sync.name}: no second warehouse connection; the outcomes are folded through the run's own`);
          return undefined;
        })
      : undefined;
    if (opened) this.#warehouses.keep(opened);
    const folds = opened ? new StateStore(inContext(opened, { command: 'sync', run: runId, sync: sync.name }), store.schema) : store;
    return async (range) => folds.applyJournal(sync.name, runId, { through: await folds.foldKeys(sync.name, range), messages: plan.messages, audit: auditFacts(sync) });
  }

  /** Destinations that want the whole list each run get it once the run succeeded (see deliverCurrentList). */
  async #deliverCurrentList(context: DestinationContext, model: ModelTable): Promise<void> {
    const { sync, store, config, pageSize, log } = this.inputs;
    const details = await deliverCurrentList({ store, sync, model, config, context, pageSize, log });
    if (details) this.details = { ...this.details, full_list: details };
  }

  fail(error: unknown): void {
    this.error ??= describeFailure(error);
  }

  /** Releases everything, records the run, and applies outcomes a failed run still produced. */
  async cleanup(): Promise<void> {
    const { sync, store, log } = this.inputs;
    const quietly = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        log.warn({ err: describeFailure(error) }, `${what} failed`);
      }
    };
    if (!this.#journalApplied) {
      await quietly('recording outcomes', async () => {
        await store.applyJournal(sync.name, this.inputs.runId, { messages: this.#messages, events: sync.event !== undefined, audit: auditFacts(sync) });
        this.#journalApplied = true;
      });
    }
    if (this.#session) await quietly('closing the destination', () => this.#session!.close());
    for (const connection of this.#warehouses.opened) await quietly('closing a warehouse connection', () => connection.close());
    if (this.#lock) {
      const lock = this.#lock;
      if (this.#runRecorded) await quietly('recording the run', () => store.updateRun(this.#record(endStatus(this))));
      else if (this.error !== undefined) await quietly('recording the run', () => store.insertRun(this.#record('failed')));
      // The change set stays while outcomes that refer to it could not be applied: the next run applies them first.
      if (this.#journalApplied) await quietly('dropping the change set', () => store.connection.execute(store.dialect.dropTable(store.changes(sync.name))));
      await quietly('releasing the lock', () => lock.release());
    }
    this.#progress('finished', toSend(this.counts));
  }

  /** Another runner took the lock (its lease ran out unrenewed): the run stops sending and fails. */
  #stopWhenLost(lost: AbortSignal): void {
    const onLost = () => {
      this.error ??= redactor.scrub(String(lost.reason));
      this.#stop.abort();
    };
    if (lost.aborted) throw new SyncFailure(String(lost.reason));
    lost.addEventListener('abort', onLost, { once: true });
    this.#stop.signal.addEventListener('abort', () => lost.removeEventListener('abort', onLost), { once: true });
  }

  #record(status: RunStatus) {
    return runRecord({ runId: this.inputs.runId, sync: this.inputs.sync, startedAt: this.#startedAt }, this, status);
  }

  #progress(phase: ProgressEvent['phase'], total: number): void {
    this.inputs.onProgress?.({ sync: this.inputs.sync.name, phase, total, settled: this.stats.accepted + this.stats.rejected, accepted: this.stats.accepted, rejected: this.stats.rejected });
  }
}

/** What the audit trail records of a sync's runs (privacy_audit): where, and which fields — names only. */
export function auditFacts(sync: SyncDef): AuditFacts {
  return { destination: sync.destination.name, type: sync.destination.type.type, object: sync.object, mode: sync.mode, fields: [sync.key.name, ...sync.fields.map((f) => f.name)] };
}

/**
 * The run's stop signal. Every batch waiting out a backoff or a rate limit listens to it, up to the sum of the
 * destinations' concurrency (64 each at most), so Node's leak warning at 11 listeners would be a false alarm.
 */
function stopController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(1024, controller.signal);
  return controller;
}
