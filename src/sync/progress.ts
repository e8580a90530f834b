import type CliProgress from 'cli-progress';
import { lazyPackage } from '../lazy-package.js';
import type { Logger } from '../log/logger.js';
import { showLive, terminalOf } from '../log/terminal.js';
import type { ProgressEvent } from './engine.js';

export interface SyncProgress {
  update(event: ProgressEvent): void;
  stop(): void;
}

/**
 * Progress of running syncs: on an interactive terminal (see `terminalOf`), one bar per sync (records settled / to
 * send, rate, and an ETA once the rate is known), log lines written above the bars, ASCII bars unless the locale is
 * UTF-8; otherwise a JSON progress event per sync at most every `intervalMs`, and one when a sync finishes.
 * `pretty` says the logs are pretty (bars only then).
 */
export function createSyncProgress(options: { pretty: boolean; logger: Logger; intervalMs?: number; stream?: NodeJS.WriteStream; env?: NodeJS.ProcessEnv }): SyncProgress {
  const stream = options.stream ?? process.stderr;
  const terminal = terminalOf(stream, options.env);
  return options.pretty && terminal.interactive ? terminalProgress(stream, terminal.unicode) : eventProgress(options.logger, options.intervalMs ?? 1000);
}

/** The progress bars' package, loaded when bars are drawn (an interactive terminal): a scheduler's sync never needs it. */
const progressBars = lazyPackage<typeof CliProgress>('cli-progress');

function terminalProgress(stream: NodeJS.WriteStream, unicode: boolean): SyncProgress {
  const cliProgress = progressBars();
  const multi = new cliProgress.MultiBar(
    {
      format: ' {sync} [{bar}] {value}/{total} records | {rate_text}{eta_text}',
      hideCursor: true,
      clearOnComplete: false,
      stream,
    },
    unicode ? cliProgress.Presets.shades_classic : cliProgress.Presets.legacy,
  );
  const shown = new Map<string, { bar: CliProgress.SingleBar; started: number }>();
  let hide: (() => void) | undefined;
  let stopped = false;
  return {
    update(event) {
      if (stopped) return;
      let entry = shown.get(event.sync);
      if (!entry && event.total > 0) {
        shown.set(event.sync, (entry = { bar: multi.create(event.total, 0, { sync: event.sync, rate_text: '', eta_text: '' }), started: performance.now() }));
        // Log lines go through the bars' own log, which redraws the bars below them at once.
        hide ??= showLive({
          stream,
          write(line) {
            multi.log(line);
            multi.update();
          },
        });
      }
      if (!entry) return;
      entry.bar.setTotal(Math.max(event.total, 1));
      const { rate, eta } = rateAndEta(event, (performance.now() - entry.started) / 1000);
      // Not `rate` and `eta`: cli-progress fills its own `{eta}` (NULL or INF until it has measured a rate).
      entry.bar.update(event.settled, { sync: event.sync, rate_text: rate, eta_text: eta });
    },
    // Called after the run and again on the way out: the bars are drawn one last time once only.
    stop() {
      if (stopped) return;
      stopped = true;
      hide?.();
      multi.stop();
    },
  };
}

/** `120/s | ETA 42s` once records have settled for a second; before that the rate is unknown and no ETA is shown. */
export function rateAndEta(event: Pick<ProgressEvent, 'settled' | 'total'>, seconds: number): { rate: string; eta: string } {
  if (seconds < 1 || event.settled <= 0) return { rate: '-/s', eta: '' };
  const rate = event.settled / seconds;
  const left = Math.max(event.total - event.settled, 0);
  return { rate: `${Math.round(rate)}/s`, eta: left > 0 ? ` | ETA ${formatSeconds(left / rate)}` : '' };
}

function formatSeconds(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
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
