import type { Duration } from '../expressions/durations.js';
import { sql, type Sql } from '../dialects/sql.js';
import type { Logger } from '../log/logger.js';
import type { Project } from '../project/loader.js';
import { watermarkName, type StateStore } from '../state/store.js';
import { HOLD_BACK_MS } from '../sync/events.js';

/**
 * Retention of the state rows that name people (`privacy.retention` of tideline.yml, README "Privacy"), applied at
 * the start of every `tideline sync` that sends: rejected records after `rejected`, messages after `messages` (never
 * before the longest pressure cap stops counting them), events syncs' records of events sent after `event_snapshots`
 * (never before their look-back and backfill stop re-reading them), and the audit trail after `audit` when set.
 * Snapshots of the other syncs are not aged: they are what the destination holds, and what a removal or an erasure
 * needs to name; they leave with the record (a removal, `tideline forget`).
 */

const DAY_MS = 86_400_000;
const UNIT_DAYS: Record<Duration['unit'], number> = { day: 1, week: 7, month: 31, year: 366 };

function ms(duration: Duration): number {
  return duration.amount * UNIT_DAYS[duration.unit] * DAY_MS;
}

export interface RetentionResult {
  readonly rejected: number;
  readonly messages: number;
  readonly eventSnapshots: number;
  readonly audit: number;
}

export async function applyRetention(store: StateStore, project: Project, log: Logger, now = new Date()): Promise<RetentionResult> {
  const d = store.dialect;
  const retention = project.config.privacy.retention;
  const before = (keepMs: number) => d.timestampLiteral(new Date(now.getTime() - keepMs));
  const result = { rejected: 0, messages: 0, eventSnapshots: 0, audit: 0 };
  const purge = async (table: Sql, where: Sql): Promise<number> => {
    const counted = await store.connection.query(sql`SELECT COUNT(*) AS ${d.id('n')} FROM ${table} WHERE ${where}`);
    const n = Number(counted[0]?.['n'] ?? 0);
    if (n) await store.connection.execute(sql`DELETE FROM ${table} WHERE ${where}`);
    return n;
  };
  if (await store.exists(store.table('rejected'))) result.rejected = await purge(d.table(store.table('rejected')), sql`${d.id('last_rejected_at')} < ${before(ms(retention.rejected))}`);
  if (await store.exists(store.table('messages'))) {
    // Pressure caps count the messages of their window: those are kept whatever the retention says.
    const longestCap = Math.max(0, ...(project.pressure?.caps ?? []).map((c) => ms(c.per)));
    const keep = Math.max(ms(retention.messages), longestCap + DAY_MS);
    if (keep > ms(retention.messages)) log.warn(`privacy.retention.messages (${retention.messages.amount} ${retention.messages.unit}s) is shorter than the longest pressure cap: messages are kept ${Math.round(keep / DAY_MS)} days`);
    result.messages = await purge(d.table(store.table('messages')), sql`${d.id('sent_at')} < ${before(keep)}`);
  }
  for (const sync of project.syncs.values()) {
    if (!sync.event || !(await store.exists(store.snapshot(sync.name)))) continue;
    // The next run reads from its high-water mark minus the look-back (a mark held back up to a week); a sync without
    // a mark reads its whole backfill, maybe all history: an event it may read again must stay known, or it is sent
    // twice. So nothing is aged before (mark − look-back − hold-back − a day), and nothing at all without a mark.
    const mark = await store.getMeta(watermarkName(sync.name));
    if (!mark) continue;
    const rereadFrom = new Date(mark).getTime() - sync.event.lookbackMs - HOLD_BACK_MS - DAY_MS;
    const cutoff = Math.min(now.getTime() - ms(retention.event_snapshots), rereadFrom);
    result.eventSnapshots += await purge(d.table(store.snapshot(sync.name)), sql`${d.id('event_time')} < ${d.timestampLiteral(new Date(cutoff))}`);
  }
  if (retention.audit && (await store.exists(store.table('audit')))) result.audit = await purge(d.table(store.table('audit')), sql`${d.id('sent_at')} < ${before(ms(retention.audit))}`);
  const total = result.rejected + result.messages + result.eventSnapshots + result.audit;
  if (total) log.info({ ...result }, `retention: ${total} state rows past privacy.retention deleted`);
  return result;
}
