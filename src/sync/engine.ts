import pLimit from 'p-limit';
import type { FieldValue } from '../../destinations/destination.js';
import type { Logger } from '../log/logger.js';
import { InputChecks } from '../pipeline/checks.js';
import type { Project } from '../project/loader.js';
import { policyRelations } from '../project/policies.js';
import { acquireLocks, type LockSet } from '../state/lock.js';
import { newRunId } from '../state/run-id.js';
import { StateStore } from '../state/store.js';
import { describeFailure, inContext, type Connection, type Value } from '../warehouses/connection.js';
import type { JournalOptions } from './journal.js';
import type { DestinationDef, MappedField, SyncDef } from './load.js';
import { maskIfPersonal, maskValue, personalName } from './mask.js';
import { eventWindow } from './events.js';
import { diffSelect, emptyCounts, previewStatement, type DiffOp, type OpCounts } from './planner.js';
import { DEFAULT_LEASE_MS, type LockWaitOptions } from './run/lock.js';
import { modelColumns, removalRefusal } from './run/plan.js';
import { endStatus } from './run/record.js';
import { executeRun } from './run/run.js';
import { RateGates } from './run/send.js';
import type { Threshold } from './schema.js';
import { serialConnection } from './serial.js';
import { policiesApply } from './suppressions.js';

export type { LockWaitOptions } from './run/lock.js';

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
  /** Sample rows per op: `key` and destination fields, personal data masked. */
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
  /**
   * On DuckDB, snapshot rows a part of the diff joins at most (materialiseChanges); by default what its memory_limit
   * holds. Other warehouses diff whole. `TIDELINE_DIFF_PART_ROWS` sets it for `tideline sync`.
   */
  readonly diffPartRows?: number;
}

export interface SyncRunOptions {
  readonly dryRun?: boolean;
  readonly fullResync?: boolean;
  /** Lets plans past the removal guard (`max_removals`). */
  readonly force?: boolean;
  /** Overrides every sync's `max_rejected`. */
  readonly maxRejected?: Threshold;
  /** Locks taken beforehand by `SyncEngine.lock`; the run uses its lease (and run id) instead of taking one. */
  readonly locks?: LockSet;
}

/** What names a sync in its result. */
function resultBase(sync: SyncDef) {
  return { sync: sync.name, model: sync.model, destination: sync.destination.name, type: sync.destination.type.type, object: sync.object, mode: sync.mode };
}

/** The figures of a sync that sent nothing. */
const NOTHING_SENT = { settled: 0, accepted: 0, rejected: 0, requests: 0, rateLimited: 0, retries: 0, splits: 0, alreadyDelivered: 0, recovered: 0, details: null };

/** The result of a sync not run (disabled, or held back by `tideline build`): nothing planned, nothing sent. */
export function skippedResult(sync: SyncDef, error: string): SyncResult {
  return { ...resultBase(sync), ...NOTHING_SENT, runId: null, status: 'skipped', counts: emptyCounts(), seconds: 0, error };
}

/**
 * Runs syncs: each run locks its destination object, recovers what a dead run left, plans (SQL diff in the warehouse),
 * records itself, sends through the executor and folds the outcomes into its state (src/sync/run/, README). One
 * engine per command; it keeps one rate gate per destination so that syncs sharing a destination share its rate limit.
 */
export class SyncEngine {
  readonly store: StateStore;
  readonly #connection: Connection;
  readonly #gates = new RateGates();
  readonly #inputs: InputChecks;

  constructor(private readonly options: EngineOptions) {
    this.#connection = serialConnection(options.connection);
    this.store = new StateStore(this.#connection, options.stateSchema ?? options.project.target.stateSchema);
    this.#inputs = new InputChecks(options.project, this.#connection, options.logger);
  }

  /** What a sync would do, read-only: counts per op and samples, personal data masked (src/sync/mask.ts). */
  async plan(sync: SyncDef, samples = 3): Promise<PlanPreview> {
    const d = this.store.dialect;
    const model = await modelColumns(this.#connection, this.options.project, sync, this.store.schema);
    const snapshot = (await this.store.exists(this.store.snapshot(sync.name))) ? this.store.snapshot(sync.name) : undefined;
    const rejected = (await this.store.exists(this.store.table('rejected'))) ? this.store.table('rejected') : undefined;
    const window = sync.event ? await eventWindow(this.store, sync, this.#configOf(sync.destination), new Date()) : undefined;
    const { select, mapping } = diffSelect({ dialect: d, sync, model: model.table, types: model.types, snapshot, rejected, gates: model.gates, forgotten: model.forgotten, window });
    const rows = await this.#connection.query(previewStatement(d, select, samples));
    const counts = emptyCounts();
    const bySample: Partial<Record<DiffOp, Record<string, unknown>[]>> = {};
    for (const row of rows) {
      const op = row['op'] as DiffOp;
      counts[op] = Number(row['op_rows']);
      const fields: Record<string, unknown> = { [sync.key.name]: maskValue(row['record_key'] ?? null) };
      mapping.fields.forEach((f, i) => (fields[f.name] = showField(sync.fields[i]!, outbound(row[mapping.columns[i]!] ?? null))));
      (bySample[op] ??= []).push(fields);
    }
    const journal = this.store.journal(sync.name);
    const pendingJournal = (await this.store.exists(journal)) ? await this.store.journalSize(sync.name) : 0;
    return { sync: sync.name, counts, samples: bySample, pendingJournal };
  }

  /** Runs one sync; failures are reported in the result (never thrown), so other syncs go on. */
  async run(sync: SyncDef, runOptions: SyncRunOptions = {}): Promise<SyncResult> {
    const started = performance.now();
    const log = this.options.logger.child({ sync: sync.name });
    const base = resultBase(sync);
    const seconds = () => Math.round(performance.now() - started) / 1000;
    const empty = NOTHING_SENT;
    if (!sync.enabled) return skippedResult(sync, 'disabled (enabled: false)');
    // Before anything is planned: a stale source upstream, or a model out of its bounds, stops this sync (a dry run
    // too, which is meant to show what would go wrong). `--force` does not pass these: it answers for removals only.
    // The suppressions, preferences and consent reaching the sync are inputs too: a stale complaints table must not
    // let a complainer through, nor a stale consent table someone who withdrew.
    const policyInputs = policiesApply(this.options.project.policies, sync) ? policyRelations(this.options.project.policies).map((r) => r.relation) : [];
    const blocked = await this.#inputs.blocking(sync.model, policyInputs);
    if (blocked) return { ...base, ...empty, runId: null, status: 'failed', counts: emptyCounts(), seconds: seconds(), error: `${blocked}; nothing was sent` };
    if (runOptions.dryRun) {
      try {
        const preview = await this.plan(sync, 0);
        // What the real run would refuse, the dry run reports as a failure: it is there to show what would go wrong.
        // (A full resync forgets the snapshot first, so it removes nothing.)
        const refusal = runOptions.force || runOptions.fullResync ? undefined : await removalRefusal(this.store, sync, preview.counts, 'the run would send nothing');
        if (refusal) return { ...base, ...empty, runId: null, status: 'failed', counts: preview.counts, seconds: seconds(), error: refusal.message };
        return { ...base, ...empty, runId: null, status: 'dry_run', counts: preview.counts, seconds: seconds(), error: null };
      } catch (error) {
        return { ...base, ...empty, runId: null, status: 'failed', counts: emptyCounts(), seconds: seconds(), error: describeFailure(error) };
      }
    }

    const runId = runOptions.locks?.runIdOf(sync.name) ?? newRunId();
    const { options } = this;
    // The run's statements carry the sync and the run id where the warehouse labels its queries.
    const store = new StateStore(inContext(this.#connection, { command: 'sync', run: runId, sync: sync.name }), this.store.schema);
    const run = await executeRun({
      sync,
      runId,
      project: options.project,
      store,
      config: this.#configOf(sync.destination),
      gates: this.#gates,
      locks: runOptions.locks,
      leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
      fullResync: runOptions.fullResync === true,
      force: runOptions.force === true,
      maxRejected: runOptions.maxRejected,
      sandbox: options.sandbox === true,
      journal: options.journal,
      sibling: this.#connection.sibling ? () => this.#connection.sibling!() : undefined,
      pageSize: options.pageSize ?? 10_000,
      diffPartRows: options.diffPartRows,
      signal: options.signal,
      openWarehouse: options.openWarehouse,
      onProgress: options.onProgress,
      log,
    });
    return {
      ...base,
      runId,
      status: endStatus(run),
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
  }

  /**
   * Runs syncs as one command does: those that write the same destination object one after the other (they share
   * its lock), the others `parallel` at a time (default 4). Results keep the order of `syncs`.
   */
  async runAll(syncs: readonly SyncDef[], options: SyncRunOptions & { readonly parallel?: number } = {}): Promise<SyncResult[]> {
    const groups = new Map<string, SyncDef[]>();
    for (const sync of syncs) {
      const scope = this.lockScope(sync);
      groups.set(scope, [...(groups.get(scope) ?? []), sync]);
    }
    const { parallel, ...runOptions } = options;
    const limit = pLimit(Math.max(1, parallel !== undefined && Number.isFinite(parallel) ? parallel : 4));
    const results = new Map<string, SyncResult>();
    await Promise.all(
      [...groups.values()].map((group) =>
        limit(async () => {
          for (const sync of group) results.set(sync.name, await this.run(sync, runOptions));
        }),
      ),
    );
    return syncs.map((s) => results.get(s.name)!);
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
    return sync.destination.type.lockScope(this.#configOf(sync.destination), sync.object);
  }

  /** The config a destination is used with (the sandbox points it at an emulator). */
  #configOf(destination: DestinationDef): unknown {
    return this.options.configFor?.(destination) ?? destination.config;
  }
}

/** A warehouse value as a destination receives it: timestamps as ISO-8601 text, structures as JSON text. */
function outbound(value: Value): FieldValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

export { newRunId } from '../state/run-id.js';

/** A sample's field as `plan` shows it: a constant as written; personal data masked (src/sync/mask.ts). */
function showField(field: MappedField, value: unknown): unknown {
  if (field.column === undefined) return value;
  const hashed = field.transforms.some((t) => t === 'sha256' || t === 'md5');
  return maskIfPersonal(value, hashed || personalName(field.name) || personalName(field.column));
}
