import type { EventSyncShape, FieldValue } from '../../destinations/destination.js';
import { joinSql, sql } from '../dialects/sql.js';
import { parseUtc } from '../expressions/conditions.js';
import type { Logger } from '../log/logger.js';
import { watermarkName, type StateStore } from '../state/store.js';
import type { SyncDef } from './load.js';
import { SENDABLE, type EventWindow } from './planner.js';

/**
 * Events syncs (mode `events`): each model row is an event — an id (the sync key), a time, a name — sent once.
 *
 * A run reads only a window of event times, so that a sync run every few minutes over a table of millions of events
 * costs in proportion to the new ones:
 *  - `to` is when the run plans: an event stamped later waits for a later run;
 *  - `from` is the sync's high-water mark minus `event.lookback` (rows landing in the model up to that long after
 *    their event's time are still read); before the first run, `to` minus `event.backfill` (or every event: `all`).
 * The high-water mark is the `to` of the last run whose outcomes were folded, held back to just before the oldest
 * event that run planned but did not settle (not sent, sent without an answer, refused retryably): such an event
 * is read again by the next run and sent then — for a week at most (HOLD_BACK_MS). It is written in the same atomic
 * unit as the outcomes (StateStore.applyJournalStatements), so a run that dies leaves the previous mark and its
 * window is read again.
 *
 * The snapshot keeps each event's id and time; a run joins only the snapshot rows of the ids its window read, so an
 * event whose time was corrected after it was sent is still known. A date column is compared as a date (`>=` the
 * day of `from`, `<=` the day of `to`): its events are read, and de-duplicated, all day. Events of the window the
 * snapshot holds were sent (or are in doubt: sent again, see the planner); the others are new. An event older than
 * the destination accepts (DestinationType.events.maxAgeDays) is counted `too_old` and never sent.
 */

const DAY_MS = 86_400_000;

/** The window of event times a run of an events sync reads, as of `now`. */
export async function eventWindow(store: StateStore, sync: SyncDef, config: unknown, now: Date): Promise<EventWindow> {
  const event = sync.event!;
  // `tideline plan` reads without creating anything: before the first run there is no state schema at all.
  const mark = (await store.exists(store.table('meta'))) ? await store.getMeta(watermarkName(sync.name)) : undefined;
  const since = mark !== undefined ? Date.parse(mark) : Number.NaN;
  const from = Number.isFinite(since) ? new Date(since - event.lookbackMs) : event.backfillMs === 'all' ? undefined : new Date(now.getTime() - event.backfillMs);
  const days = sync.destination.type.events?.maxAgeDays(config, eventShape(sync));
  return { from, to: now, oldest: days === undefined ? undefined : new Date(now.getTime() - days * DAY_MS) };
}

/** What a destination sees of an events sync to judge events' ages: its object and the fields it maps to constants. */
export function eventShape(sync: Pick<SyncDef, 'object' | 'fields'>): EventSyncShape {
  const constants: Record<string, FieldValue> = {};
  for (const field of sync.fields) if (field.constant !== undefined) constants[field.name] = field.constant;
  return { object: sync.object, constants };
}

/**
 * How far an event refused retryably (or sent without an answer) holds the mark back: a week, or the look-back when
 * longer. An event still unsettled after that is no longer read (it stays in `tideline rejected`, retryable), so that
 * one event a destination keeps refusing cannot make every later run read everything since.
 */
export const HOLD_BACK_MS = 7 * DAY_MS;

/**
 * The next high-water mark, from the run's journal before it is folded: the window's end, or just before the time
 * of the oldest event the run planned to send that has no settling outcome (accepted, or refused for good) — so that
 * the next window, which starts after the mark minus the look-back, reads it again — but not further back than
 * HOLD_BACK_MS (logged).
 */
export async function nextWatermark(store: StateStore, sync: SyncDef, window: EventWindow, log: Logger): Promise<Date> {
  const d = store.dialect;
  const id = (name: string) => d.id(name);
  const settled = sql`SELECT 1 FROM ${d.table(store.journal(sync.name))} AS j WHERE j.${id('seq')} = c.${id('seq')} AND (j.${id('accepted')} OR j.${id('retryable')} = FALSE)`;
  const rows = await store.connection.query(
    sql`SELECT MIN(c.${id('event_time')}) AS ${id('oldest')} FROM ${d.table(store.changes(sync.name))} AS c WHERE c.${id('op')} IN (${joinSql(SENDABLE.map((op) => d.string(op)))}) AND NOT EXISTS (${settled})`,
  );
  const oldest = rows[0]?.['oldest'];
  const time = oldest instanceof Date ? oldest : typeof oldest === 'string' ? parseUtc(oldest) : undefined;
  if (!time || time.getTime() > window.to.getTime()) return window.to;
  const floor = window.to.getTime() - Math.max(HOLD_BACK_MS, sync.event!.lookbackMs);
  if (time.getTime() - 1 < floor) {
    log.warn({ since: time.toISOString() }, `${sync.name}: events unsettled since ${time.toISOString()} hold the window back more than ${Math.round(Math.max(HOLD_BACK_MS, sync.event!.lookbackMs) / DAY_MS)} days: those older than that are no longer read (see \`tideline rejected ${sync.name}\`)`);
    return new Date(floor);
  }
  // A millisecond before it: the window's start is exclusive, and a look-back is at least a minute anyway.
  return new Date(time.getTime() - 1);
}
