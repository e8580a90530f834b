import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';
import { WarehouseBusyError, type Connection } from '../warehouses/connection.js';
import { readLockNote } from './lock-note.js';

/** How long a command waits for what another process or runner holds. */
export interface Wait {
  /** When to give up, in milliseconds since the epoch. */
  readonly until: number;
  /** Whether the user asked to wait (`--wait`): the message on giving up says so, or says how to. */
  readonly asked: boolean;
}

/** A wait of `seconds` from now; `undefined` (no `--wait`) gives up at once. */
export function waitFor(seconds: number | undefined): Wait {
  return { until: Date.now() + (seconds ?? 0) * 1000, asked: seconds !== undefined };
}

/**
 * The warehouse stayed held by another process past the wait (embedded DuckDB). `holder` says who holds it: the run
 * from the holder's note (src/state/lock-note.ts) when the note's pid is the one the warehouse names, else the pid.
 */
export class WarehouseHeldError extends WarehouseBusyError {
  constructor(
    readonly holder: string,
    cause: WarehouseBusyError,
    wait: Wait,
    waitedMs: number,
  ) {
    super(wait.asked ? `${holder}; gave up waiting after ${Math.round(waitedMs / 100) / 10} s` : holder, cause.holderPid, {
      cause,
      hint: wait.asked ? undefined : '`--wait [seconds]` waits for it, 600 s without a number',
    });
    this.name = 'WarehouseHeldError';
  }
}

/** The longest pause between two attempts: a released warehouse is seen within this. */
const MAX_PAUSE_MS = 5000;

/**
 * Opens the warehouse with `open`, trying again while another process holds it (WarehouseBusyError) until
 * `wait.until`, pausing 250 ms at first and growing to 5 s; it logs once that it waits, naming the holder. Past the
 * wait (at once without `--wait`) it throws WarehouseHeldError. Any other failure goes up at once.
 */
export async function openWaiting(open: () => Promise<Connection>, targetDir: string, wait: Wait, logger: Logger): Promise<Connection> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (!(error instanceof WarehouseBusyError)) throw error;
      if (Date.now() >= wait.until) throw new WarehouseHeldError(await holderOf(error, targetDir), error, wait, Date.now() - started);
      if (attempt === 0) logger.info({ pid: error.holderPid }, `waiting: ${await holderOf(error, targetDir)}`);
      await sleep(Math.min(wait.until - Date.now(), MAX_PAUSE_MS, 250 * 1.6 ** attempt));
    }
  }
}

async function holderOf(error: WarehouseBusyError, targetDir: string): Promise<string> {
  // A sync writes its note just after opening: a command started at the same instant looks twice.
  const note = (await readLockNote(targetDir)) ?? (await sleep(200).then(() => readLockNote(targetDir)));
  if (note && note.pid === error.holderPid) return `the warehouse is locked by run ${note.runId} since ${note.since} (syncs ${note.syncs.join(', ')}, ${note.host} pid ${note.pid})`;
  return `the warehouse is in use by another process${error.holderPid === undefined ? '' : ` (pid ${error.holderPid})`}: ${error.hint ?? error.message}`;
}
