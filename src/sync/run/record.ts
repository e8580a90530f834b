import type { RunRecord, RunStatus } from '../../state/store.js';
import type { ExecutorStats } from '../executor.js';
import type { SyncDef } from '../load.js';
import type { OpCounts } from '../planner.js';
import type { Threshold } from '../schema.js';
import { thresholdValue } from './threshold.js';

/** What a run did so far, as its record and result count it. */
export interface RunTally {
  readonly counts: OpCounts;
  readonly stats: Readonly<ExecutorStats>;
  readonly error: string | undefined;
}

/** How a run that ended went: failed with an error, partial with rejections, else success. */
export function endStatus(tally: Pick<RunTally, 'stats' | 'error'>): 'failed' | 'partial' | 'success' {
  return tally.error !== undefined ? 'failed' : tally.stats.rejected > 0 ? 'partial' : 'success';
}

/** The run's row in `sync_runs`: inserted `running` once planned, updated when the run ends. */
export function runRecord(run: { readonly runId: string; readonly sync: Pick<SyncDef, 'name' | 'mode'>; readonly startedAt: Date }, tally: RunTally, status: RunStatus): RunRecord {
  const { counts, stats } = tally;
  return {
    runId: run.runId,
    sync: run.sync.name,
    mode: run.sync.mode,
    startedAt: run.startedAt,
    finishedAt: status === 'running' ? null : new Date(),
    status,
    added: counts.added,
    changed: counts.changed,
    removed: counts.removed,
    heldBack: counts.held_back,
    tooOld: counts.too_old,
    invalid: counts.duplicate_key + counts.null_key,
    sent: stats.accepted + stats.rejected,
    accepted: stats.accepted,
    rejected: stats.rejected,
    requests: stats.requests,
    error: tally.error ?? null,
  };
}

/**
 * `max_rejected`: why a run whose records were all settled fails for its rejections, or undefined when it does not
 * (no limit, or the rejections within it). The limit is a count or a share of the records settled, rounded up.
 */
export function tooManyRejections(limit: Threshold | undefined, stats: Pick<ExecutorStats, 'accepted' | 'rejected'>, hint: { readonly sync: string; readonly sandbox: boolean }): string | undefined {
  if (limit === undefined) return undefined;
  const settled = stats.accepted + stats.rejected;
  const allowed = thresholdValue(limit, settled);
  if (stats.rejected <= allowed) return undefined;
  return `${stats.rejected} of ${settled} records were rejected, more than max_rejected allows (${allowed}); see \`tideline rejected ${hint.sync}${hint.sandbox ? ' --sandbox' : ''}\``;
}
