import { StopSyncError, type Batch, type OutboundRecord, type RecordOutcome } from '../destination.js';

/**
 * The record bookkeeping every API destination shares: which object an audience sync names, which records of a batch
 * name the same contact, and one outcome per record in the batch's order — a record the vendor did not answer for is
 * retried (`no_outcome`), never counted as delivered.
 */

/** `list:<id>` (HubSpot, Brevo): the id, or undefined when `object` is not a list of that shape. */
export function listId(object: string, id: RegExp = /^\d+$/): string | undefined {
  const match = /^list:(.+)$/.exec(object);
  return match && id.test(match[1]!) ? match[1] : undefined;
}

/** The list id of an audience sync's object, or a StopSyncError naming the vendor and the expected shape. */
export function requireListId(object: string, vendor: string, id: RegExp = /^\d+$/): string {
  const found = listId(object, id);
  if (found === undefined) throw new StopSyncError(`"${object}" is not a ${vendor} list: audience syncs name \`list:<listId>\``);
  return found;
}

/** A record of the batch and where it stands in it. */
export interface Indexed {
  readonly index: number;
  readonly record: OutboundRecord;
}

/**
 * One outcome per record of a batch. `duplicates` first takes out the records whose identity (the key as the
 * vendor compares it: a lower-cased e-mail) repeats an earlier record's, each rejected `duplicate_key`; what the
 * adapter sends is the rest, and it settles each record as the vendor answers. `done()` answers every record,
 * `no_outcome` (retryable) for those the vendor said nothing about.
 */
export class Outcomes {
  readonly #outcomes: (RecordOutcome | undefined)[];

  constructor(
    readonly batch: Pick<Batch, 'records' | 'keyField'>,
    private readonly vendor: string,
  ) {
    this.#outcomes = new Array<RecordOutcome | undefined>(batch.records.length);
  }

  /** The records not yet settled whose identity is the first of its kind in the batch; repeats are rejected. */
  distinct(identity: (record: OutboundRecord) => string = (r) => r.key): Indexed[] {
    const seen = new Set<string>();
    const out: Indexed[] = [];
    this.batch.records.forEach((record, index) => {
      if (this.#outcomes[index]) return;
      const id = identity(record);
      if (seen.has(id)) this.settle(index, { ok: false, code: 'duplicate_key', message: `another record of the batch has the same ${this.batch.keyField}`, retryable: false });
      else out.push({ index, record });
      seen.add(id);
    });
    return out;
  }

  /** Records still without an outcome. */
  pending(): Indexed[] {
    return this.batch.records.flatMap((record, index) => (this.#outcomes[index] ? [] : [{ index, record }]));
  }

  settle(index: number, outcome: RecordOutcome): void {
    this.#outcomes[index] = outcome;
  }

  /** Settles every record of `indexed` that has no outcome yet. */
  settleAll(indexed: readonly Indexed[], outcome: (item: Indexed) => RecordOutcome): void {
    for (const item of indexed) if (!this.#outcomes[item.index]) this.#outcomes[item.index] = outcome(item);
  }

  get(index: number): RecordOutcome | undefined {
    return this.#outcomes[index];
  }

  /** One outcome per record: those the vendor did not answer for are `no_outcome`, retried by the engine. */
  done(): RecordOutcome[] {
    // Array.from, not map: map skips the holes of never-settled records and leaves them undefined.
    return Array.from(this.#outcomes, (o) => o ?? noOutcome(this.vendor));
  }
}

/** The outcome of a record the vendor answered nothing about: retried, never counted as delivered. */
export function noOutcome(vendor: string): RecordOutcome {
  return { ok: false, code: 'no_outcome', message: `${vendor} answered neither a result nor an error for this record`, retryable: true };
}

/** A record refused for its content: not retried. */
export function rejected(code: string, message: string): RecordOutcome {
  return { ok: false, code, message, retryable: false };
}
