import type { Ora } from 'ora';
import { showLive, terminalOf } from './terminal.js';

export interface Progress {
  /** Shows `text`; on a terminal a spinner appears if the work lasts more than a second. */
  update(text: string): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Where the spinner draws (stderr). */
  readonly stream?: NodeJS.WriteStream;
  readonly env?: NodeJS.ProcessEnv;
  /** How long work goes on before the spinner appears; `TIDELINE_PROGRESS_DELAY_MS` overrides the default second. */
  readonly delayMs?: number;
}

/**
 * A spinner on an interactive terminal (see `terminalOf`: not on 0 columns nor `TERM=dumb`) in pretty mode, ASCII
 * frames unless the locale is UTF-8; nothing otherwise, where logs already say what happens. Log lines written while
 * it spins go above it.
 */
export function createProgress(pretty: boolean, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const env = options.env ?? process.env;
  const terminal = terminalOf(stream, env);
  if (!pretty || !terminal.interactive) return { update: () => undefined, stop: () => undefined };
  const delayMs = options.delayMs ?? (env['TIDELINE_PROGRESS_DELAY_MS'] ? Number(env['TIDELINE_PROGRESS_DELAY_MS']) : 1000);
  let spinner: Ora | undefined;
  let hide: (() => void) | undefined;
  let text = '';
  let stopped = false;
  // ora is loaded only where a spinner may show (an interactive terminal), while the delay runs: every other command
  // starts without it.
  const loading = import('ora');
  const timer = setTimeout(() => void loading.then(({ default: ora }) => {
    if (stopped) return;
    // terminalOf decided, from the options' environment: ora must not judge again from process.env (it would print a
    // static "- text" line where CI is set in the process but not in `env`).
    const started = ora({ text, stream, discardStdin: false, isEnabled: true, spinner: terminal.unicode ? 'dots' : 'line' }).start();
    spinner = started;
    hide = showLive({
      stream,
      write(line) {
        started.clear();
        stream.write(line);
        if (started.isSpinning) started.render();
      },
    });
  }), delayMs);
  return {
    update(next) {
      text = next;
      if (spinner) spinner.text = next;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      hide?.();
      spinner?.stop();
    },
  };
}
