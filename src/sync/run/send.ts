import { hash } from 'node:crypto';
import { RateLimitedError, TransientError, type DestinationContext, type DestinationLimits, type DestinationSession, type FieldValue, type Operation, type OutboundRecord } from '../../../destinations/destination.js';
import type { Logger } from '../../log/logger.js';
import { redactor } from '../../log/redact.js';
import type { Project } from '../../project/loader.js';
import { IN_DOUBT_CODE, type FoldRange, type JournalEntry, type StateStore } from '../../state/store.js';
import { describeFailure, type Connection, type Row } from '../../warehouses/connection.js';
import { openTarget } from '../../warehouses/registry.js';
import { Executor, type ExecutorStats, type PendingRecord, type Settled } from '../executor.js';
import { JournalWriter, type JournalOptions } from '../journal.js';
import type { DestinationDef, SyncDef } from '../load.js';
import { decodePage, pageStatement, type DiffOp, type PageRow } from '../planner.js';
import { backoffMs, RateGate, sleep, withTimeout } from '../rate.js';
import { collectGarbage } from '../memory.js';
import { SyncFailure } from './failure.js';
import type { Plan } from './plan.js';

/** One rate gate per destination, shared by the runs of one engine: syncs to one destination share its rate limit. */
export class RateGates {
  readonly #gates = new Map<string, RateGate>();

  for(destination: DestinationDef, limits: DestinationLimits): RateGate {
    let gate = this.#gates.get(destination.name);
    if (!gate) this.#gates.set(destination.name, (gate = new RateGate(limits.requestsPerSecond)));
    return gate;
  }
}

/** The warehouse targets a run's destination writes to (table destinations): opened on demand, closed by the run. */
export class RunWarehouses {
  readonly #opened: Connection[] = [];

  constructor(
    private readonly project: Project,
    /** The project's target, which the run already uses. */
    private readonly own: Connection,
    /** Opens another target by name (default: from the project's targets). */
    private readonly openWarehouse: ((target: string) => Promise<Connection>) | undefined,
  ) {}

  get opened(): readonly Connection[] {
    return this.#opened;
  }

  /** A connection the run opened some other way, closed with the others when it ends. */
  keep(connection: Connection): void {
    this.#opened.push(connection);
  }

  async open(target: string | undefined): Promise<Connection> {
    const { project, openWarehouse } = this;
    if (target === undefined || target === project.target.name) return this.own;
    const config = project.config.targets?.[target];
    const connection = openWarehouse ? await openWarehouse(target) : config ? await openTarget(config, { root: project.root }) : undefined;
    if (!connection) throw new SyncFailure(`unknown target "${target}"`);
    this.#opened.push(connection);
    return connection;
  }
}

/** The destination's limits with the entry's and the sync's overrides. */
export function effectiveLimits(sync: SyncDef, config: unknown): DestinationLimits {
  const destination = sync.destination;
  const base = destination.type.limits(config);
  const concurrencyCap = destination.concurrency ?? base.concurrency;
  // An events sync's batches keep to the API's ceiling for events where it has its own.
  const ceiling = sync.mode === 'events' && base.maxEventsPerBatch !== undefined ? Math.min(base.maxBatchRecords, base.maxEventsPerBatch) : base.maxBatchRecords;
  return {
    maxBatchRecords: Math.min(ceiling, sync.options.batch_size ?? ceiling),
    maxBatchBytes: base.maxBatchBytes,
    requestsPerSecond: destination.requestsPerSecond ?? base.requestsPerSecond,
    concurrency: Math.min(concurrencyCap, sync.options.concurrency ?? concurrencyCap),
    timeoutMs: destination.timeoutSeconds !== undefined ? destination.timeoutSeconds * 1000 : base.timeoutMs,
  };
}

/** What the destination is told about the run it serves (DestinationContext). */
export async function destinationContext(input: {
  readonly store: StateStore;
  readonly sync: SyncDef;
  readonly runId: string;
  readonly plan: Plan;
  readonly fullResync: boolean;
  readonly root: string;
  readonly log: Logger;
  readonly warehouses: RunWarehouses;
}): Promise<DestinationContext> {
  const { sync, plan } = input;
  return {
    ...sessionContext(sync, input),
    fields: plan.mapping.fields.map((f) => ({ name: f.name, type: f.type })),
    planned: { added: plan.counts.added, changed: plan.counts.changed, removed: plan.counts.removed },
    fullResync: input.fullResync,
    interruptedRuns: await input.store.interruptedRuns(sync.name, input.runId),
  };
}

/** What every session of a sync is told, whatever it serves (a run, an erasure): the sync, the run, where it works. */
export function sessionContext(
  sync: SyncDef,
  input: { readonly runId: string; readonly root: string; readonly log: Logger; readonly warehouses: RunWarehouses },
): Omit<DestinationContext, 'fields' | 'planned'> {
  return {
    sync: sync.name,
    destination: sync.destination.name,
    runId: input.runId,
    object: sync.object,
    mode: sync.mode,
    keyField: sync.key.name,
    nullPolicy: sync.options.null_policy,
    root: input.root,
    logger: input.log,
    warehouse: (target) => input.warehouses.open(target),
  };
}

/**
 * `check()` under the same policy as batches: a 429 waits for its Retry-After, a transient failure is retried with
 * backoff; anything else (credentials) fails at once.
 */
export async function checkWithRetries(session: DestinationSession, gate: RateGate, retries: DestinationDef['retries'], timeoutMs: number, log: Logger): Promise<void> {
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

export interface SendInput {
  readonly sync: SyncDef;
  readonly config: unknown;
  readonly limits: DestinationLimits;
  /** The destination, opened and checked. */
  readonly session: DestinationSession;
  readonly gate: RateGate;
  readonly store: StateStore;
  readonly plan: Plan;
  readonly journal: JournalOptions | undefined;
  /** Rows per page read from the change set. */
  readonly pageSize: number;
  /** Aborted to stop sending: no new request starts; those in flight finish and are recorded. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Called every few hundred settled records and at the last one. */
  readonly onProgress: () => void;
  /**
   * Folds the journal's outcomes of the records in `range` (all settled) into the state while the run goes on
   * sending, every `rows` settled records; undefined: the run's end folds them all.
   */
  readonly fold?: { readonly rows: number; readonly through: (range: FoldRange) => Promise<void> } | undefined;
}

/**
 * Send: reads the change set page by page, one page ahead, and hands the records to the executor; journals each
 * record's outcome as it settles, and, before a batch goes out, what it may send (dispatch marks). Once enough records
 * up to one have settled, their outcomes are folded into the state as a part (`fold`), beside the sending; the rest
 * is folded by the run's next step, once the journal is closed.
 */
export class Sending {
  readonly #journal: JournalWriter;
  readonly #executor: Executor;
  /** The fields the snapshot keeps of each record for its removal, where the destination asks for them (ads). */
  readonly #retain: readonly string[];
  readonly #retainValue: ((field: string, value: FieldValue) => FieldValue) | undefined;
  /** Records read from the change set so far. */
  #yielded = 0;
  /** Every record up to this one is settled (records are numbered 1…total); those settled beyond it. */
  #settledThrough = 0;
  readonly #settledAhead = new Set<number>();
  /** The last record folded while sending, and the part being folded (it never rejects). */
  #foldedThrough = 0;
  #folding: Promise<boolean> | undefined;
  /** No part is folded any more: sending ended, or a part failed (the run's end folds the rest). */
  #foldsStopped = false;

  constructor(private readonly input: SendInput) {
    const { sync, config, limits, store, plan } = input;
    const type = sync.destination.type;
    const total = plan.total;
    const journal = (this.#journal = new JournalWriter(store, sync.name, input.journal));
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
      // A record the destination may hold is journaled in doubt as it settles, not when the run ends: a part of the
      // journal folded meanwhile then keeps it in doubt, should the run die before its end.
      if (!settled.ok && settled.maybeDelivered) journal.add(inDoubtEntry(record));
      this.#settled(record.seq);
      // Progress every few hundred records: per record, the events would cost more than the work they report.
      if (++settledCount % 250 === 0 || settledCount === total) input.onProgress();
    };
    // What the run may have sent is recorded before it is sent, so that a run that dies leaves the records it sent
    // without an answer in doubt rather than unknown (StateStore.markDispatched): each record, with what the snapshot
    // keeps of it, where the destination retains fields (ads); else a mark a few rounds of batches ahead.
    const retain = (this.#retain = type.retainFields?.(config) ?? []);
    this.#retainValue = type.retainValue ? (field: string, value: FieldValue) => type.retainValue!(config, field, value) : undefined;
    let dispatchedUpTo = 0;
    const lookahead = limits.maxBatchRecords * limits.concurrency * 4;
    const beforeDispatch = async (batch: readonly PendingRecord[]) => {
      const last = batch[batch.length - 1]!.seq;
      if (retain.length) return store.markDispatched(sync.name, batch.map((p) => ({ seq: p.seq, retained: p.retained })));
      if (last <= dispatchedUpTo) return;
      dispatchedUpTo = Math.min(last + lookahead, total);
      await store.markDispatched(sync.name, [{ seq: dispatchedUpTo, retained: null }]);
    };
    this.#executor = new Executor({
      session: input.session,
      object: sync.object,
      keyField: sync.key.name,
      limits,
      beforeDispatch,
      gate: input.gate,
      retries: sync.destination.retries,
      recordBytes: type.recordBytes ?? jsonBytes,
      onSettled: settle,
      mustStop: () => journal.failed,
      logger: input.log,
      signal: input.signal,
    });
  }

  get stats(): ExecutorStats {
    return this.#executor.stats;
  }

  /** Why sending stopped before the end, if it did. */
  get failure(): Error | undefined {
    return this.#executor.failure;
  }

  /** Sends every planned record, then journals those whose answer was lost and never settled for sure: in doubt. */
  async send(): Promise<void> {
    try {
      await this.#executor.run(this.#pages());
    } finally {
      this.#foldsStopped = true;
      await this.#folding;
      // Parts a failed part or a slow warehouse left behind are folded now, the sending no longer competing for memory.
      const fold = this.input.fold;
      while (fold && this.#settledThrough - this.#foldedThrough >= fold.rows && (await this.#foldPart(fold.through)));
    }
    // Records sent whose answer was lost and never settled (the sending stopped): the destination may hold them. Those
    // refused as retryable since were journaled in doubt as they settled.
    for (const record of this.#executor.inDoubt()) if (!this.#isSettled(record.seq)) this.#journal.add(inDoubtEntry(record));
  }

  #isSettled(seq: number): boolean {
    return seq <= this.#settledThrough || this.#settledAhead.has(seq);
  }

  /** A record settled: once the records up to one are settled and enough of them not folded yet, a part is folded. */
  #settled(seq: number): void {
    if (seq === this.#settledThrough + 1) {
      this.#settledThrough = seq;
      while (this.#settledAhead.delete(this.#settledThrough + 1)) this.#settledThrough++;
    } else this.#settledAhead.add(seq);
    const fold = this.input.fold;
    if (fold && !this.#folding && !this.#foldsStopped && this.#settledThrough - this.#foldedThrough >= fold.rows) this.#folding = this.#foldPart(fold.through);
  }

  /**
   * Folds the outcomes of the records settled so far and not folded yet, once the journal holds them, in one atomic
   * unit of its own; whether it did. A part that fails stops folding while sending: once the sending ended, the parts
   * left are folded, and the run's end folds what is left after them, as it would have.
   */
  async #foldPart(through: (range: FoldRange) => Promise<void>): Promise<boolean> {
    const range = { after: this.#foldedThrough, upTo: this.#settledThrough };
    try {
      await this.#journal.flush();
      if (this.#journal.failed) return false;
      // The dead records of the part's sending are collected first: the warehouse allocates its most while folding.
      collectGarbage();
      await through(range);
      this.#foldedThrough = range.upTo;
      this.input.log.debug({ event: 'journal_folded', through: range.upTo }, `${this.input.sync.name}: the outcomes of the records up to ${range.upTo} are folded`);
      return true;
    } catch (error) {
      this.#foldsStopped = true;
      this.input.log.warn({ err: describeFailure(error) }, `${this.input.sync.name}: folding outcomes while sending failed; the run folds them when it ends`);
      return false;
    } finally {
      this.#folding = undefined;
    }
  }

  /** Writes the outcomes still buffered; throws the first journal write that failed. */
  closeJournal(): Promise<void> {
    return this.#journal.close();
  }

  // One page is read ahead while the executor sends the current one, so the warehouse and the API work at once.
  // Sendable rows are numbered 1…total; pages never read the others (held back, invalid).
  async *#pages(): AsyncGenerator<PendingRecord[]> {
    const { sync, store, plan, pageSize } = this.input;
    const { mapping, total } = plan;
    const d = store.dialect;
    const connection = store.connection;
    const events = sync.event !== undefined;
    const read = (after: number) => {
      const page = connection.query(pageStatement(d, plan.changes, after, pageSize, mapping, events));
      // Awaited in turn below; a read failing while the executor stops early must not go unhandled meanwhile.
      page.catch(() => undefined);
      return page;
    };
    const operationFor = operations(sync.mode);
    const names = mapping.fields.map((f) => f.name);
    const identify = recordIdentity(sync);
    let next: Promise<Row[]> | undefined = total > 0 ? read(0) : undefined;
    for (let after = 0; next; after += pageSize) {
      const rows = decodePage(await next, mapping, events);
      next = after + pageSize < total ? read(after + pageSize) : undefined;
      this.#yielded += rows.length;
      yield rows.map((row) => pending(row, operationFor, names, this.#retain, sync.options.null_policy, identify, this.#retainValue));
    }
    if (this.#yielded !== total) throw new SyncFailure(`internal error: the change set held ${this.#yielded} records to send where the plan counted ${total}; nothing more is sent`);
  }
}

/** The journal's row of a record the destination may hold though the run does not know it (StateStore.applyJournalStatements). */
function inDoubtEntry(record: PendingRecord): JournalEntry {
  return { seq: record.seq, accepted: null, destinationId: null, retained: record.retained, code: IN_DOUBT_CODE, message: null, retryable: null };
}

/** The destination operation for each diff op, by mode (see SYNC_MODES). */
export function operations(mode: SyncDef['mode']): (op: DiffOp) => Operation {
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
    case 'events':
      return () => 'track';
  }
}

/**
 * A record's idempotency key (see OutboundRecord.idempotencyKey): a digest of the sync, its mode, the operation, the
 * key, the content hash and the run that last delivered the record, each length-prefixed so none can be confused.
 */
function recordIdentity(sync: SyncDef): (row: PageRow, operation: Operation) => string {
  const piece = (text: string | null) => (text === null ? '~' : `${text.length}:${text}`);
  const prefix = piece(sync.name) + piece(sync.mode);
  // One-shot hashing (crypto.hash, Node 20.12): a third of createHash's cost, for the same digest, once per record.
  return (row, operation) => hash('sha256', prefix + piece(operation) + piece(row.key) + piece(row.hash) + piece(row.priorRun), 'hex').slice(0, 32);
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
  const fields = recordFields(row, names, nullPolicy);
  const retained = retain.length ? JSON.stringify(Object.fromEntries(retain.filter((f) => f in fields).map((f) => [f, retainValue ? retainValue(f, fields[f]!) : fields[f]]))) : null;
  const record = { key: row.key, fields, destinationId: row.destinationId, idempotencyKey, ...(row.event ? { event: row.event } : {}) };
  return { seq: row.seq, operation, record, retained, inDoubt: row.inDoubt };
}

/** A page row's fields by destination name; under `null_policy: skip` a NULL is left out (the destination keeps its value). */
export function recordFields(row: PageRow, names: readonly string[], nullPolicy: 'skip' | 'overwrite'): Record<string, FieldValue> {
  const fields: Record<string, FieldValue> = {};
  for (let i = 0; i < names.length; i++) {
    const value = row.values[i] ?? null;
    if (value !== null || nullPolicy === 'overwrite') fields[names[i]!] = value;
  }
  return fields;
}

/**
 * The default size of a record in a JSON request, estimated without serialising it: UTF-8 bytes of the key, names
 * and text values, 24 for any other value, and room for quotes, separators and some escaping. A slight
 * underestimate is harmless: an API refusing an oversized batch (413) makes the engine split it.
 */
export function jsonBytes(record: OutboundRecord): number {
  let bytes = 32 + Buffer.byteLength(record.key);
  for (const name in record.fields) {
    const value = record.fields[name];
    bytes += Buffer.byteLength(name) + 6 + (typeof value === 'string' ? Math.ceil(Buffer.byteLength(value) * 1.1) : 24);
  }
  return bytes;
}
