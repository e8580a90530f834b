import { createHash, randomBytes } from 'node:crypto';
import { RateLimitedError, TransientError, type DestinationContext, type DestinationLimits, type DestinationSession, type FieldValue, type Operation, type OutboundRecord } from '../../destinations/destination.js';
import type { LogicalType, TableRef } from '../dialects/dialect.js';
import type { Logger } from '../log/logger.js';
import { redactor } from '../log/redact.js';
import type { Project } from '../project/loader.js';
import { acquireLock, acquireLocks, LockHeldError, type Lease, type LockHolder, type LockSet } from '../state/lock.js';
import { IN_DOUBT_CODE, StateStore, type RunRecord, type RunStatus } from '../state/store.js';
import { WarehouseError, type Connection, type Row, type Value } from '../warehouses/connection.js';
import { openTarget } from '../warehouses/registry.js';
import { Executor, type PendingRecord, type Settled } from './executor.js';
import { JournalWriter, type JournalOptions } from './journal.js';
import type { DestinationDef, SyncDef } from './load.js';
import { maskRecord } from './mask.js';
import { collectGarbage } from './memory.js';
import { countsStatement, decodePage, diffSelect, emptyCounts, materialiseStatement, pageStatement, previewStatement, readCounts, type DiffOp, type OpCounts, type PageRow } from './planner.js';
import { backoffMs, RateGate, sleep, withTimeout } from './rate.js';
import type { Threshold } from './schema.js';
import { serialConnection } from './serial.js';

/** Records sent from which a run collects garbage before folding its journal (see collectGarbage). */
const LARGE_RUN = 100_000;

/** How long a sync lock lasts without renewal; runners renew it every third of that. */
const DEFAULT_LEASE_MS = 120_000;

export type SyncStatus = 'success' | 'partial' | 'failed' | 'skipped' | 'dry_run';

/** What one sync did, for the summary and target/sync_results.json. */
export interface SyncResult {
  readonly sync: string;
  readonly model: string;
  readonly destination: string;
  readonly type: string;
  readonly object: string;
  readonly mode: string;
  readonly runId: string | null;
  readonly status: SyncStatus;
  readonly counts: OpCounts;
  /** Records whose outcome is final this run (accepted + rejected). */
  readonly settled: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly requests: number;
  readonly rateLimited: number;
  readonly retries: number;
  readonly splits: number;
  /** Inserts answered "already exists" that an earlier attempt or a run that died had delivered (in `accepted`). */
  readonly alreadyDelivered: number;
  /** Outcomes of an interrupted earlier run, applied before this one planned. */
  readonly recovered: number;
  readonly seconds: number;
  readonly error: string | null;
  readonly details: Readonly<Record<string, unknown>> | null;
}

export interface PlanPreview {
  readonly sync: string;
  readonly counts: OpCounts;
  /** Masked sample rows per op: `key` and destination fields. */
  readonly samples: Readonly<Partial<Record<DiffOp, readonly Record<string, unknown>[]>>>;
  /** Outcomes of an interrupted run not yet applied (counts may be high by as many). */
  readonly pendingJournal: number;
}

export interface ProgressEvent {
  readonly sync: string;
  readonly phase: 'planned' | 'sending' | 'finished';
  readonly total: number;
  readonly settled: number;
  readonly accepted: number;
  readonly rejected: number;
}

export interface EngineOptions {
  readonly project: Project;
  /** The project's warehouse connection; the engine serialises its use. */
  readonly connection: Connection;
  readonly logger: Logger;
  /** Where state lives (the sandbox uses its own schema). Default: the project's state schema. */
  readonly stateSchema?: string;
  /** True when the run sends to the sandbox's emulators and keeps the sandbox's state: hints name `--sandbox`. */
  readonly sandbox?: boolean;
  /** The config to use for a destination instead of the project's (the sandbox points them at emulators). */
  readonly configFor?: (destination: DestinationDef) => unknown;
  /** Opens another warehouse target by name, for table destinations (default: the project's targets). */
  readonly openWarehouse?: (target: string) => Promise<Connection>;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Aborted on Ctrl-C: no new request starts; what is in flight finishes and is recorded. */
  readonly signal?: AbortSignal;
  readonly leaseMs?: number;
  readonly journal?: JournalOptions;
  /** Rows per page read from the change set (default 10,000). */
  readonly pageSize?: number;
}

export interface SyncRunOptions {
  readonly dryRun?: boolean;
  readonly fullResync?: boolean;
  /** Overrides every sync's `max_rejected`. */
  readonly maxRejected?: Threshold;
  /** Locks taken beforehand by `SyncEngine.lock`; the run uses its lease (and run id) instead of taking one. */
  readonly locks?: LockSet;
}

export interface LockWaitOptions {
  /** How long to wait for locks other runners hold (default 0: fail at once with LockHeldError). */
  readonly waitMs?: number;
  readonly onWait?: (holder: LockHolder) => void;
  /** Run ids chosen beforehand by the caller (who may have announced them), by sync name. */
  readonly runIds?: ReadonlyMap<string, string>;
}

/**
 * Runs syncs: plan (SQL diff in the warehouse), lock, send through the executor, record outcomes. One engine per
 * command; it keeps one rate gate per destination so that syncs sharing a destination share its rate limit.
 */
export class SyncEngine {
  readonly store: StateStore;
  readonly #connection: Connection;
  readonly #gates = new Map<string, RateGate>();

  constructor(private readonly options: EngineOptions) {
    this.#connection = serialConnection(options.connection);
    this.store = new StateStore(this.#connection, options.stateSchema ?? options.project.target.stateSchema);
  }

  /** What a sync would do, read-only: counts per op and masked samples. */
  async plan(sync: SyncDef, samples = 3): Promise<PlanPreview> {
    const d = this.store.dialect;
    const model = await this.modelColumns(sync);
    const snapshot = (await this.store.exists(this.store.snapshot(sync.name))) ? this.store.snapshot(sync.name) : undefined;
    const rejected = (await this.store.exists(this.store.table('rejected'))) ? this.store.table('rejected') : undefined;
    const { select, mapping } = diffSelect({ dialect: d, sync, model: model.table, types: model.types, snapshot, rejected });
    const rows = await this.#connection.query(previewStatement(d, select, samples));
    const counts = emptyCounts();
    const bySample: Partial<Record<DiffOp, Record<string, unknown>[]>> = {};
    for (const row of rows) {
      const op = row['op'] as DiffOp;
      counts[op] = Number(row['op_rows']);
      const fields: Record<string, unknown> = { [sync.key.name]: row['record_key'] };
      mapping.fields.forEach((f, i) => (fields[f.name] = outbound(row[mapping.columns[i]!] ?? null)));
      (bySample[op] ??= []).push(maskRecord(fields));
    }
    const journal = this.store.journal(sync.name);
    const pendingJournal = (await this.store.exists(journal)) ? await this.store.journalSize(sync.name) : 0;
    return { sync: sync.name, counts, samples: bySample, pendingJournal };
  }

  /** Runs one sync; failures are reported in the result (never thrown), so other syncs go on. */
  async run(sync: SyncDef, runOptions: SyncRunOptions = {}): Promise<SyncResult> {
    const started = performance.now();
    const log = this.options.logger.child({ sync: sync.name });
    const base = {
      sync: sync.name,
      model: sync.model,
      destination: sync.destination.name,
      type: sync.destination.type.type,
      object: sync.object,
      mode: sync.mode,
    };
    const seconds = () => Math.round(performance.now() - started) / 1000;
    const empty = { settled: 0, accepted: 0, rejected: 0, requests: 0, rateLimited: 0, retries: 0, splits: 0, alreadyDelivered: 0, recovered: 0, details: null };
    if (!sync.enabled) return { ...base, ...empty, runId: null, status: 'skipped', counts: emptyCounts(), seconds: 0, error: 'disabled (enabled: false)' };
    if (runOptions.dryRun) {
      try {
        const preview = await this.plan(sync, 0);
        return { ...base, ...empty, runId: null, status: 'dry_run', counts: preview.counts, seconds: seconds(), error: null };
      } catch (error) {
        return { ...base, ...empty, runId: null, status: 'failed', counts: emptyCounts(), seconds: seconds(), error: describe(error) };
      }
    }

    const runId = runOptions.locks?.runIdOf(sync.name) ?? newRunId();
    const run = new SyncRun(this, sync, runId, runOptions, log);
    try {
      await run.execute();
    } catch (error) {
      run.fail(error);
    } finally {
      await run.cleanup();
    }
    const failed = run.error !== undefined;
    const status: SyncStatus = failed ? 'failed' : run.stats.rejected > 0 ? 'partial' : 'success';
    const result: SyncResult = {
      ...base,
      runId,
      status,
      counts: run.counts,
      settled: run.stats.accepted + run.stats.rejected,
      accepted: run.stats.accepted,
      rejected: run.stats.rejected,
      requests: run.stats.requests,
      rateLimited: run.stats.rateLimited,
      retries: run.stats.retries,
      splits: run.stats.splits,
      alreadyDelivered: run.stats.alreadyDelivered,
      recovered: run.recovered,
      seconds: seconds(),
      error: run.error ?? null,
      details: run.details,
    };
    return result;
  }

  /**
   * Takes the locks of every enabled sync at once, before any runs (see LockSet): a command then either writes all
   * its destination objects or, when another runner holds one of them, none (LockHeldError naming the holder).
   * The caller releases the set after the runs.
   */
  async lock(syncs: readonly SyncDef[], options: LockWaitOptions = {}): Promise<LockSet> {
    await this.store.setup();
    const requests = syncs
      .filter((sync) => sync.enabled)
      .map((sync) => ({ lockKey: this.lockScope(sync), sync: sync.name, runId: options.runIds?.get(sync.name) ?? newRunId() }));
    return acquireLocks(this.store, requests, { leaseMs: this.options.leaseMs ?? DEFAULT_LEASE_MS, waitMs: options.waitMs, onWait: options.onWait });
  }

  /** The destination object a sync writes, as its lock names it. */
  lockScope(sync: SyncDef): string {
    const config = this.options.configFor?.(sync.destination) ?? sync.destination.config;
    return sync.destination.type.lockScope(config, sync.object);
  }

  /** @internal the pieces a run uses */
  get connection(): Connection {
    return this.#connection;
  }

  get engineOptions(): EngineOptions {
    return this.options;
  }

  gate(destination: DestinationDef, limits: DestinationLimits): RateGate {
    let gate = this.#gates.get(destination.name);
    if (!gate) this.#gates.set(destination.name, (gate = new RateGate(limits.requestsPerSecond)));
    return gate;
  }

  async modelColumns(sync: SyncDef): Promise<{ table: TableRef; types: Map<string, LogicalType | undefined> }> {
    const { project } = this.options;
    const table: TableRef = { schema: project.target.schema, name: sync.model };
    const columns = await this.#connection.columns(table);
    if (!columns) throw new SyncFailure(`model "${sync.model}" has no table in target "${project.target.name}" yet: build it with \`tideline run --select ${sync.model}\``);
    const d = this.store.dialect;
    return { table, types: new Map(columns.map((c) => [d.identifierKey(c.name), c.type])) };
  }
}

/** A failure of one sync with a message fit for the user. */
export class SyncFailure extends Error {
  override readonly name = 'SyncFailure';
}

/** The state of one sync run; `SyncEngine.run` drives it. */
class SyncRun {
  counts: Record<DiffOp, number> = emptyCounts();
  stats = { requests: 0, accepted: 0, rejected: 0, rateLimited: 0, retries: 0, splits: 0, alreadyDelivered: 0 };
  recovered = 0;
  error: string | undefined;
  details: Readonly<Record<string, unknown>> | null = null;
  #lease: Lease | undefined;
  #ownsLease = true;
  #heartbeat: NodeJS.Timeout | undefined;
  #session: DestinationSession | undefined;
  #extraConnections: Connection[] = [];
  #runRecorded = false;
  #journalApplied = true;
  readonly #startedAt = new Date();
  readonly #stop = new AbortController();

  constructor(
    private readonly engine: SyncEngine,
    private readonly sync: SyncDef,
    private readonly runId: string,
    private readonly options: SyncRunOptions,
    private readonly log: Logger,
  ) {}

  get store(): StateStore {
    return this.engine.store;
  }

  async execute(): Promise<void> {
    const { sync, store } = this;
    const d = store.dialect;
    const engineOptions = this.engine.engineOptions;
    const config = engineOptions.configFor?.(sync.destination) ?? sync.destination.config;
    const type = sync.destination.type;
    const limits = effectiveLimits(sync, config);
    const model = await this.engine.modelColumns(sync);

    await store.setup();
    const leaseMs = engineOptions.leaseMs ?? DEFAULT_LEASE_MS;
    const scope = type.lockScope(config, sync.object);
    const held = this.options.locks?.lease(scope);
    if (held) {
      // The command holds the lock and keeps it alive; the run stops if it is lost.
      this.#lease = held;
      this.#ownsLease = false;
      const lost = this.options.locks!.lost(scope);
      const onLost = () => {
        this.error ??= redactor.scrub(String(lost.reason));
        this.#stop.abort();
      };
      if (lost.aborted) throw new SyncFailure(String(lost.reason));
      lost.addEventListener('abort', onLost, { once: true });
      this.#stop.signal.addEventListener('abort', () => lost.removeEventListener('abort', onLost), { once: true });
    } else {
      try {
        this.#lease = await acquireLock(store, scope, sync.name, this.runId, { leaseMs });
      } catch (error) {
        if (error instanceof LockHeldError) throw new SyncFailure(error.message);
        throw error;
      }
      this.#heartbeat = setInterval(() => {
        this.#lease?.renew().catch((error: unknown) => {
          this.error ??= describe(error);
          this.#stop.abort();
        });
      }, Math.max(1000, leaseMs / 3));
      this.#heartbeat.unref();
    }
    for (const holder of this.#lease.tookOver) this.log.warn({ staleRun: holder.runId }, `took over the stale lock of run ${holder.runId} (${holder.host} pid ${holder.pid})`);
    if (this.#lease.tookOver.length) await store.markInterrupted(sync.name, this.runId);

    if (this.options.fullResync) {
      await store.reset(sync.name);
      this.log.info('full resync: the snapshot is cleared, every record is sent again');
    }
    await store.setupSync(sync.name);
    const { outcomes: leftover, rows: journalRows } = await store.journalCounts(sync.name);
    if (journalRows) {
      if (await store.exists(store.changes(sync.name))) {
        await store.applyJournal(sync.name, (await store.unfinishedRun(sync.name)) ?? this.runId, { deadRun: true });
        this.recovered = leftover;
        if (leftover) this.log.info({ recovered: leftover }, `applied ${leftover} outcomes recorded by an interrupted run`);
      } else {
        await store.discardJournal(sync.name);
        this.log.warn({ discarded: leftover }, `an interrupted run left ${leftover} outcomes without their change set: those records are sent again`);
      }
    }

    // Plan: the diff, materialised and counted in the warehouse.
    const changes = store.changes(sync.name);
    const { select, mapping } = diffSelect({ dialect: d, sync, model: model.table, types: model.types, snapshot: store.snapshot(sync.name), rejected: store.table('rejected') });
    await store.connection.execute(d.dropTable(changes));
    await store.connection.execute(materialiseStatement(d, changes, select));
    this.counts = readCounts(await store.connection.query(countsStatement(d, changes)));
    await store.connection.runAtomically(store.invalidKeyStatements(sync.name, this.runId, new Date()));
    const total = this.counts.removed + this.counts.changed + this.counts.added;
    this.progress('planned', total);
    this.log.info({ ...this.counts, runId: this.runId }, `${sync.name}: ${total} to send (${this.counts.added} added, ${this.counts.changed} changed, ${this.counts.removed} removed)`);

    if (sync.mode === 'mirror' && this.counts.removed > 0) {
      const allowed = thresholdValue(sync.options.max_deletes, await store.snapshotSize(sync.name));
      if (this.counts.removed > allowed) {
        throw new SyncFailure(
          `mirror would delete ${this.counts.removed} records, more than max_deletes allows (${allowed}); nothing was sent. If the model is right, raise options.max_deletes for this run or run with --full-resync after checking`,
        );
      }
    }

    await store.insertRun(this.record('running'));
    this.#runRecorded = true;
    if (total === 0 && !type.recoverInterrupted) return;

    const context: DestinationContext = {
      sync: sync.name,
      destination: sync.destination.name,
      runId: this.runId,
      object: sync.object,
      mode: sync.mode,
      keyField: sync.key.name,
      nullPolicy: sync.options.null_policy,
      fields: mapping.fields.map((f) => ({ name: f.name, type: f.type })),
      planned: { added: this.counts.added, changed: this.counts.changed, removed: this.counts.removed },
      fullResync: this.options.fullResync === true,
      interruptedRuns: await store.interruptedRuns(sync.name, this.runId),
      root: engineOptions.project.root,
      logger: this.log,
      warehouse: (target) => this.warehouse(target),
    };
    // What a dead run left unfinished at the destination (a file without its manifest) is finished even when this run
    // has nothing to send: the journal it recovered may have settled every record.
    if (type.recoverInterrupted && context.interruptedRuns?.length) await type.recoverInterrupted(config, context);
    if (total === 0) return;
    this.#session = await type.open(config, context);
    const gate = this.engine.gate(sync.destination, limits);
    await checkWithRetries(this.#session, gate, sync.destination.retries, limits.timeoutMs, this.log);

    const journal = new JournalWriter(store, sync.name, engineOptions.journal);
    this.#journalApplied = false;
    const retain = type.retainFields?.(config) ?? [];
    const retainValue = type.retainValue ? (field: string, value: FieldValue) => type.retainValue!(config, field, value) : undefined;
    let settledCount = 0;
    const settle = (settled: Settled) => {
      const { record } = settled;
      journal.add({
        seq: record.seq,
        accepted: settled.ok,
        destinationId: settled.ok ? settled.destinationId : null,
        retained: settled.ok ? record.retained : null,
        code: settled.ok ? null : settled.code,
        message: settled.ok ? null : redactor.scrub(settled.message).slice(0, 2000),
        retryable: settled.ok ? null : settled.retryable,
      });
      // Progress every few hundred records: per record, the events would cost more than the work they report.
      if (++settledCount % 250 === 0 || settledCount === total) this.progress('sending', total);
    };
    // What the run may have sent is recorded before it is sent, so that a run that dies leaves the records it sent
    // without an answer in doubt rather than unknown (StateStore.markDispatched): each record, with what the snapshot
    // keeps of it, where the destination retains fields (ads); else a mark a few rounds of batches ahead.
    let dispatchedUpTo = 0;
    const lookahead = limits.maxBatchRecords * limits.concurrency * 4;
    const beforeDispatch = async (batch: readonly PendingRecord[]) => {
      const last = batch[batch.length - 1]!.seq;
      if (retain.length) return store.markDispatched(sync.name, batch.map((p) => ({ seq: p.seq, retained: p.retained })));
      if (last <= dispatchedUpTo) return;
      dispatchedUpTo = Math.min(last + lookahead, total);
      await store.markDispatched(sync.name, [{ seq: dispatchedUpTo, retained: null }]);
    };
    const executor = new Executor({
      session: this.#session,
      object: sync.object,
      keyField: sync.key.name,
      limits,
      beforeDispatch,
      gate,
      retries: sync.destination.retries,
      recordBytes: type.recordBytes ?? jsonBytes,
      onSettled: settle,
      mustStop: () => journal.failed,
      logger: this.log,
      signal: engineOptions.signal ? AbortSignal.any([engineOptions.signal, this.#stop.signal]) : this.#stop.signal,
    });
    this.stats = executor.stats;
    const pageSize = engineOptions.pageSize ?? 10_000;
    const operationFor = operations(sync.mode);
    const names = mapping.fields.map((f) => f.name);
    const connection = store.connection;
    const read = (after: number) => connection.query(pageStatement(d, changes, after, pageSize, mapping));
    const identify = recordIdentity(sync);
    let yielded = 0;
    // One page is read ahead while the executor sends the current one, so the warehouse and the API work at once.
    // Sendable rows are numbered 1…total; pages never read the others (held back, invalid).
    async function* pages(): AsyncGenerator<PendingRecord[]> {
      let next: Promise<Row[]> | undefined = total > 0 ? read(0) : undefined;
      for (let after = 0; next; after += pageSize) {
        const rows = decodePage(await next, mapping);
        next = after + pageSize < total ? read(after + pageSize) : undefined;
        yielded += rows.length;
        yield rows.map((row) => pending(row, operationFor, names, retain, sync.options.null_policy, identify, retainValue));
      }
      if (yielded !== total) throw new SyncFailure(`internal error: the change set held ${yielded} records to send where the plan counted ${total}; nothing more is sent`);
    }
    await executor.run(pages());
    // Records sent whose answer was lost and never settled for sure: the destination may hold them.
    for (const record of executor.inDoubt()) {
      journal.add({ seq: record.seq, accepted: null, destinationId: null, retained: record.retained, code: IN_DOUBT_CODE, message: null, retryable: null });
    }
    try {
      await journal.close();
    } finally {
      const complete = executor.failure === undefined && !this.#stop.signal.aborted && engineOptions.signal?.aborted !== true;
      this.details = (await this.#session.finish?.({ complete, accepted: executor.stats.accepted, rejected: executor.stats.rejected }).catch((error: unknown) => {
        this.log.warn({ err: describe(error) }, 'the destination could not finish the run');
      })) ?? null;
      if (executor.stats.sent >= LARGE_RUN) collectGarbage();
      await store.applyJournal(sync.name, this.runId);
      this.#journalApplied = true;
    }
    if (executor.failure) throw executor.failure;
    if (engineOptions.signal?.aborted) throw new SyncFailure('interrupted: the records not sent yet are sent by the next run');
    const limit = this.options.maxRejected ?? sync.options.max_rejected;
    if (limit !== undefined) {
      const settled = executor.stats.accepted + executor.stats.rejected;
      const allowed = thresholdValue(limit, settled);
      if (executor.stats.rejected > allowed) {
        throw new SyncFailure(`${executor.stats.rejected} of ${settled} records were rejected, more than max_rejected allows (${allowed}); see \`tideline rejected ${sync.name}${engineOptions.sandbox ? ' --sandbox' : ''}\``);
      }
    }
  }

  fail(error: unknown): void {
    this.error ??= describe(error);
  }

  /** Releases everything, records the run, and applies outcomes a failed run still produced. */
  async cleanup(): Promise<void> {
    clearInterval(this.#heartbeat);
    const quietly = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        this.log.warn({ err: describe(error) }, `${what} failed`);
      }
    };
    if (!this.#journalApplied) {
      await quietly('recording outcomes', async () => {
        await this.store.applyJournal(this.sync.name, this.runId);
        this.#journalApplied = true;
      });
    }
    if (this.#session) await quietly('closing the destination', () => this.#session!.close());
    for (const connection of this.#extraConnections) await quietly('closing a warehouse connection', () => connection.close());
    if (this.#lease) {
      const status: RunStatus = this.error !== undefined ? 'failed' : this.stats.rejected > 0 ? 'partial' : 'success';
      if (this.#runRecorded) await quietly('recording the run', () => this.store.updateRun(this.record(status)));
      else if (this.error !== undefined) await quietly('recording the run', () => this.store.insertRun(this.record('failed')));
      // The change set stays while outcomes that refer to it could not be applied: the next run applies them first.
      if (this.#journalApplied) await quietly('dropping the change set', () => this.store.connection.execute(this.store.dialect.dropTable(this.store.changes(this.sync.name))));
      if (this.#ownsLease) await quietly('releasing the lock', () => this.#lease!.release());
    }
    this.progress('finished', this.counts.removed + this.counts.changed + this.counts.added);
  }

  private record(status: RunStatus): RunRecord {
    return {
      runId: this.runId,
      sync: this.sync.name,
      mode: this.sync.mode,
      startedAt: this.#startedAt,
      finishedAt: status === 'running' ? null : new Date(),
      status,
      added: this.counts.added,
      changed: this.counts.changed,
      removed: this.counts.removed,
      heldBack: this.counts.held_back,
      invalid: this.counts.duplicate_key + this.counts.null_key,
      sent: this.stats.accepted + this.stats.rejected,
      accepted: this.stats.accepted,
      rejected: this.stats.rejected,
      requests: this.stats.requests,
      error: this.error ?? null,
    };
  }

  private progress(phase: ProgressEvent['phase'], total: number): void {
    this.engine.engineOptions.onProgress?.({ sync: this.sync.name, phase, total, settled: this.stats.accepted + this.stats.rejected, accepted: this.stats.accepted, rejected: this.stats.rejected });
  }

  private async warehouse(target: string | undefined): Promise<Connection> {
    const { project, openWarehouse } = this.engine.engineOptions;
    if (target === undefined || target === project.target.name) return this.engine.connection;
    const config = project.config.targets?.[target];
    const connection = openWarehouse ? await openWarehouse(target) : config ? await openTarget(config, { root: project.root }) : undefined;
    if (!connection) throw new SyncFailure(`unknown target "${target}"`);
    this.#extraConnections.push(connection);
    return connection;
  }
}

/**
 * `check()` under the same policy as batches: a 429 waits for its Retry-After, a transient failure is retried with
 * backoff; anything else (credentials) fails at once.
 */
async function checkWithRetries(session: DestinationSession, gate: RateGate, retries: DestinationDef['retries'], timeoutMs: number, log: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await gate.acquire();
    try {
      await withTimeout(session.check(), timeoutMs);
      return;
    } catch (error) {
      if (error instanceof RateLimitedError && attempt < 30) {
        gate.pause(error.retryAfterMs ?? backoffMs(attempt, retries.baseMs, retries.maxMs));
        continue;
      }
      if (!(error instanceof TransientError) || attempt >= retries.attempts) throw error;
      log.debug({ attempt, err: error.message }, 'check failed transiently, retrying');
      await sleep(backoffMs(attempt, retries.baseMs, retries.maxMs));
    }
  }
}

/** The destination's limits with the entry's and the sync's overrides. */
export function effectiveLimits(sync: SyncDef, config: unknown): DestinationLimits {
  const destination = sync.destination;
  const base = destination.type.limits(config);
  const concurrencyCap = destination.concurrency ?? base.concurrency;
  return {
    maxBatchRecords: Math.min(base.maxBatchRecords, sync.options.batch_size ?? base.maxBatchRecords),
    maxBatchBytes: base.maxBatchBytes,
    requestsPerSecond: destination.requestsPerSecond ?? base.requestsPerSecond,
    concurrency: Math.min(concurrencyCap, sync.options.concurrency ?? concurrencyCap),
    timeoutMs: destination.timeoutSeconds !== undefined ? destination.timeoutSeconds * 1000 : base.timeoutMs,
  };
}

/** The destination operation for each diff op, by mode (see SYNC_MODES). */
function operations(mode: SyncDef['mode']): (op: DiffOp) => Operation {
  switch (mode) {
    case 'upsert':
      return () => 'upsert';
    case 'update':
      return () => 'update';
    case 'insert':
      return () => 'insert';
    case 'mirror':
      return (op) => (op === 'removed' ? 'delete' : 'upsert');
    case 'audience':
      return (op) => (op === 'removed' ? 'remove' : 'add');
  }
}

/**
 * A record's idempotency key (see OutboundRecord.idempotencyKey): a digest of the sync, its mode, the operation, the
 * key, the content hash and the run that last delivered the record, each length-prefixed so none can be confused.
 */
function recordIdentity(sync: SyncDef): (row: PageRow, operation: Operation) => string {
  const piece = (text: string | null) => (text === null ? '~' : `${text.length}:${text}`);
  const prefix = piece(sync.name) + piece(sync.mode);
  return (row, operation) => createHash('sha256').update(prefix + piece(operation) + piece(row.key) + piece(row.hash) + piece(row.priorRun)).digest('hex').slice(0, 32);
}

function pending(
  row: PageRow,
  operationFor: (op: DiffOp) => Operation,
  names: readonly string[],
  retain: readonly string[],
  nullPolicy: 'skip' | 'overwrite',
  identify: (row: PageRow, operation: Operation) => string,
  retainValue?: (field: string, value: FieldValue) => FieldValue,
): PendingRecord {
  const operation = operationFor(row.op);
  const idempotencyKey = identify(row, operation);
  if (row.op === 'removed') {
    const retained = row.retained === null ? {} : (JSON.parse(row.retained) as Record<string, FieldValue>);
    return { seq: row.seq, operation, record: { key: row.key, fields: retained, destinationId: row.destinationId, idempotencyKey }, retained: null, inDoubt: false };
  }
  const fields: Record<string, FieldValue> = {};
  for (let i = 0; i < names.length; i++) {
    const value = row.values[i] ?? null;
    if (value !== null || nullPolicy === 'overwrite') fields[names[i]!] = value;
  }
  const retained = retain.length ? JSON.stringify(Object.fromEntries(retain.filter((f) => f in fields).map((f) => [f, retainValue ? retainValue(f, fields[f]!) : fields[f]]))) : null;
  return { seq: row.seq, operation, record: { key: row.key, fields, destinationId: row.destinationId, idempotencyKey }, retained, inDoubt: row.inDoubt };
}

/** A warehouse value as a destination receives it: timestamps as ISO-8601 text, structures as JSON text. */
function outbound(value: Value): FieldValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/**
 * The default size of a record in a JSON request, estimated without serialising it: UTF-8 bytes of the key, names
 * and text values, 24 for any other value, and room for quotes, separators and some escaping. A slight
 * underestimate is harmless: an API refusing an oversized batch (413) makes the engine split it.
 */
function jsonBytes(record: OutboundRecord): number {
  let bytes = 32 + Buffer.byteLength(record.key);
  for (const name in record.fields) {
    const value = record.fields[name];
    bytes += Buffer.byteLength(name) + 6 + (typeof value === 'string' ? Math.ceil(Buffer.byteLength(value) * 1.1) : 24);
  }
  return bytes;
}

/** A count, or a percentage of `of` rounded up to a whole record (so 10% of 4 allows 1). */
export function thresholdValue(threshold: Threshold, of: number): number {
  if (typeof threshold === 'number') return threshold;
  return Math.ceil((Number(threshold.slice(0, -1)) / 100) * of);
}

export function newRunId(): string {
  // Sortable to the millisecond: files and journal entries of successive runs order by it.
  return `${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return redactor.scrub(error instanceof WarehouseError && error.hint ? `${text} (hint: ${error.hint})` : text);
}
