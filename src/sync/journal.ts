import type { JournalEntry, StateStore } from '../state/store.js';

export interface JournalOptions {
  /** Outcomes buffered before a write (default 20,000). */
  readonly flushRows?: number;
  /** Longest time an outcome waits in memory (default 0.25 s). */
  readonly flushMs?: number;
  /**
   * Settled records folded into the snapshot at a time while the run sends (StateStore.applyJournalStatements,
   * `through`); default FOLD_ROWS for a run of more than WHOLE_FOLD_MAX records, else none (the run's end folds
   * them all). `TIDELINE_FOLD_ROWS` sets it for `tideline sync`, whatever the run's size.
   */
  readonly foldRows?: number;
}

/**
 * Records a run folds at a time while it sends (a part): few enough parts that each one's statements and commit cost
 * little beside the sending (DuckDB writes the rows of a large transaction straight to its file, those of a small one
 * through its log); small enough that a part fits a warehouse's memory beside the page reads and the journal's writes
 * (DuckDB at a memory_limit of 64MB: parts of 500,000 records ran out of it, 250,000 fit; npm run bench -- sync).
 */
export const FOLD_ROWS = 250_000;

/**
 * Records up to which a run folds its journal at its end only, in one unit (about 3 s after the last record at 1M on
 * DuckDB, within a 64MB memory_limit); beyond, in parts while it sends. At 1M the parts cost the sending as much as
 * they save after it on two cores, and the process's peak memory rose past 300 MB (the fold's beside the sending's).
 */
export const WHOLE_FOLD_MAX = 1_000_000;

/**
 * Writes per-record outcomes to the sync's journal table in chunks as they arrive, so that a crash loses at most the
 * outcomes of the last quarter of a second, and never more than one chunk (those records are sent again by the next run, with
 * the same idempotency keys). Writes are chained, never concurrent; a failed write is kept and reported by `close`, and
 * `failed` tells the executor to stop sending what could not be recorded.
 */
export class JournalWriter {
  #buffer: JournalEntry[] = [];
  #chain: Promise<void> = Promise.resolve();
  #error: unknown;
  readonly #timer: NodeJS.Timeout;
  readonly #flushRows: number;

  constructor(
    private readonly store: StateStore,
    private readonly sync: string,
    options: JournalOptions = {},
  ) {
    this.#flushRows = options.flushRows ?? 20_000;
    this.#timer = setInterval(() => this.flush(), options.flushMs ?? 250);
    this.#timer.unref();
  }

  get failed(): boolean {
    return this.#error !== undefined;
  }

  add(entry: JournalEntry): void {
    this.#buffer.push(entry);
    if (this.#buffer.length >= this.#flushRows) this.flush();
  }

  flush(): Promise<void> {
    if (!this.#buffer.length) return this.#chain;
    const entries = this.#buffer;
    this.#buffer = [];
    this.#chain = this.#chain.then(async () => {
      if (this.#error !== undefined) return;
      try {
        await this.store.appendJournal(this.sync, entries);
      } catch (error) {
        this.#error = error;
      }
    });
    return this.#chain;
  }

  /** Writes what is buffered; throws the first write failure, if any. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    if (this.#error !== undefined) throw this.#error;
  }
}
