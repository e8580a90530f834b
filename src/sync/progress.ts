import cliProgress from 'cli-progress';
import type { Logger } from '../log/logger.js';
import type { ProgressEvent } from './engine.js';

export interface SyncProgress {
  update(event: ProgressEvent): void;
  stop(): void;
}

/**
 * Progress of running syncs: on a terminal, one bar per sync (records settled / to send, rate, ETA); otherwise a
 * JSON progress event per sync at most every `intervalMs`, and one when a sync finishes.
 */
export function createSyncProgress(options: { tty: boolean; logger: Logger; intervalMs?: number }): SyncProgress {
  return options.tty ? terminalProgress() : eventProgress(options.logger, options.intervalMs ?? 1000);
}

function terminalProgress(): SyncProgress {
  const multi = new cliProgress.MultiBar(
    {
      format: ' {sync} [{bar}] {value}/{total} records | {speed}/s | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
  return {
    update(event) {
      let entry = bars.get(event.sync);
      if (!entry && event.total > 0) bars.set(event.sync, (entry = { bar: multi.create(event.total, 0, { sync: event.sync, speed: 0 }), started: performance.now() }));
      if (!entry) return;
      const seconds = (performance.now() - entry.started) / 1000;
      entry.bar.setTotal(Math.max(event.total, 1));
      entry.bar.update(event.settled, { sync: event.sync, speed: seconds > 0 ? Math.round(event.settled / seconds) : 0 });
    },
    stop() {
      multi.stop();
    },
  };
}

function eventProgress(logger: Logger, intervalMs: number): SyncProgress {
  const last = new Map<string, { at: number; started: number }>();
  return {
    update(event) {
      const now = performance.now();
      const seen = last.get(event.sync);
      if (!seen) last.set(event.sync, { at: now, started: now });
      else if (event.phase === 'sending' && now - seen.at < intervalMs) return;
      else seen.at = now;
      const started = last.get(event.sync)!.started;
      const seconds = (now - started) / 1000;
      const rate = seconds > 0 ? Math.round(event.settled / seconds) : 0;
      const eta = rate > 0 ? Math.round((event.total - event.settled) / rate) : null;
      logger.info({ event: 'sync_progress', ...event, rate, eta_seconds: eta }, `${event.sync}: ${event.settled}/${event.total} records`);
    },
    stop() {},
  };
}
