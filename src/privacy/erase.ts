import { createHash } from 'node:crypto';
import type { DestinationContext, ErasurePlan, FieldValue } from '../../destinations/destination.js';
import type { Logger } from '../log/logger.js';
import { redactor } from '../log/redact.js';
import type { Project } from '../project/loader.js';
import type { Connection } from '../warehouses/connection.js';
import { Executor, type PendingRecord, type Settled } from '../sync/executor.js';
import type { SyncDef } from '../sync/load.js';
import { RateGate } from '../sync/rate.js';
import { checkWithRetries, effectiveLimits, jsonBytes, RunWarehouses, sessionContext } from '../sync/run/send.js';

/**
 * Erasure at one destination (`tideline forget`, README "Privacy"): a sync's records of the people being forgotten,
 * as its snapshot knows them (key, the destination's id, the retained fields), are sent once more with the operation
 * the destination's `erasure` names — the vendor's own erasure, or the mode's removal — through the same executor as
 * a sync (batches, rate limit, retries, splits). Outcomes are per record; a record the vendor no longer holds is
 * accepted by the destination, so asking twice (a re-run after a crash) is harmless.
 */

/** A record to erase, as the sync's snapshot holds it. */
export interface ErasureRecord {
  readonly key: string;
  readonly destinationId: string | null;
  /** JSON of the fields the destination asked the snapshot to keep (ads: hashed identifiers), or null. */
  readonly retained: string | null;
  /** The run that last delivered it: a record sent again since is erased under a new idempotency key. */
  readonly priorRun?: string | null;
}

export interface ErasureOutcome {
  readonly key: string;
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly retryable?: boolean;
}

export interface ErasureResult {
  readonly plan: ErasurePlan;
  readonly outcomes: readonly ErasureOutcome[];
  readonly requests: number;
  /** Why sending stopped before every record had an outcome (credentials, an outage), if it did. */
  readonly failure: string | undefined;
}

export interface EraseInput {
  readonly project: Project;
  readonly connection: Connection;
  readonly sync: SyncDef;
  /** The destination's config (the sandbox's points at an emulator). */
  readonly config: unknown;
  readonly records: readonly ErasureRecord[];
  readonly runId: string;
  readonly log: Logger;
  readonly openWarehouse?: (target: string) => Promise<Connection>;
  readonly signal?: AbortSignal;
}

/** How a sync's records are erased at its destination (DestinationType.erasure). */
export function erasurePlan(sync: SyncDef, config: unknown): ErasurePlan {
  return sync.destination.type.erasure(config, { object: sync.object, mode: sync.mode });
}

/** Erases `records` at the sync's destination; never throws for a destination failure (see `failure`). */
export async function eraseAtDestination(input: EraseInput): Promise<ErasureResult> {
  const { sync, config, records, log } = input;
  const plan = erasurePlan(sync, config);
  if ('manual' in plan || !records.length) return { plan, outcomes: [], requests: 0, failure: undefined };
  const operation = plan.operation;
  const limits = effectiveLimits(sync, config);
  const gate = new RateGate(limits.requestsPerSecond);
  const warehouses = new RunWarehouses(input.project, input.connection, input.openWarehouse);
  const context: DestinationContext = {
    ...sessionContext(sync, { runId: input.runId, root: input.project.root, log, warehouses }),
    // The sync's fields, by name (their types are the model's, not read here): some adapters name a removal's
    // identifiers from them.
    fields: sync.fields.map((f) => ({ name: f.name, type: undefined })),
    planned: { added: 0, changed: 0, removed: records.length },
    erasure: true,
  };
  const outcomes = new Map<string, ErasureOutcome>();
  let requests = 0;
  let failure: string | undefined;
  try {
    const session = await sync.destination.type.open(config, context);
    try {
      await checkWithRetries(session, gate, sync.destination.retries, limits.timeoutMs, log);
      // A snapshot row whose retained fields cannot be read is refused alone, not the whole erasure.
      const pending: PendingRecord[] = [];
      for (const [i, r] of records.entries()) {
        let fields: Record<string, FieldValue>;
        try {
          fields = r.retained === null ? {} : (JSON.parse(r.retained) as Record<string, FieldValue>);
        } catch {
          outcomes.set(r.key, { key: r.key, ok: false, code: 'bad_state', message: 'the fields the snapshot kept for this record cannot be read', retryable: false });
          continue;
        }
        pending.push({ seq: i + 1, operation, record: { key: r.key, fields, destinationId: r.destinationId, idempotencyKey: erasureKey(input.runId, sync.name, operation, r.key, r.priorRun ?? null) }, retained: null, inDoubt: false });
      }
      const executor = new Executor({
        session,
        object: sync.object,
        keyField: sync.key.name,
        limits,
        gate,
        retries: sync.destination.retries,
        recordBytes: sync.destination.type.recordBytes ?? jsonBytes,
        onSettled: (settled: Settled) =>
          outcomes.set(settled.record.record.key, settled.ok ? { key: settled.record.record.key, ok: true } : { key: settled.record.record.key, ok: false, code: settled.code, message: scrubbed(settled.message).slice(0, 500), retryable: settled.retryable }),
        logger: log,
        ...(input.signal ? { signal: input.signal } : {}),
      });
      try {
        await executor.run(
          (async function* () {
            yield pending;
          })(),
        );
      } finally {
        requests = executor.stats.requests;
      }
      if (executor.failure) failure = scrubbed(executor.failure.message);
      const accepted = [...outcomes.values()].filter((o) => o.ok).length;
      await session.finish?.({ complete: failure === undefined, accepted, rejected: outcomes.size - accepted });
    } finally {
      await session.close();
    }
  } catch (error) {
    failure = scrubbed(error instanceof Error ? error.message : String(error));
  } finally {
    for (const connection of warehouses.opened) await connection.close();
  }
  return { plan, outcomes: records.map((r) => outcomes.get(r.key) ?? { key: r.key, ok: false, code: 'not_sent', message: failure ?? 'not sent', retryable: true }), requests, failure };
}

/**
 * The same for every attempt of one erasure request at a record (a re-run after a crash), different for a later
 * request about the same person (re-added since with new consent): a receiver that de-duplicates drops only repeats.
 */
function erasureKey(request: string, sync: string, operation: string, key: string, priorRun: string | null): string {
  return createHash('sha256').update(`forget\u0000${request}\u0000${sync}\u0000${operation}\u0000${key}\u0000${priorRun ?? '~'}`).digest('hex').slice(0, 32);
}

/**
 * A failure's text as logged and reported: the redactor's scrub, and hex digests of 32 characters or more made
 * `<hash>` — an HTTP error quoting its path may carry a subscriber hash (Mailchimp's is the MD5 of an e-mail).
 */
function scrubbed(text: string): string {
  return redactor.scrub(text).replace(/\b[0-9a-f]{32,}\b/gi, '<hash>');
}
