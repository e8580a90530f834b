import ora, { type Ora } from 'ora';

export interface Progress {
  /** Shows `text`; on a terminal a spinner appears if the work lasts more than a second. */
  update(text: string): void;
  stop(): void;
}

/** A spinner on a terminal (stderr) in pretty mode; nothing otherwise, where logs already say what happens. */
export function createProgress(enabled: boolean, delayMs = 1000): Progress {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  let spinner: Ora | undefined;
  let text = '';
  const timer = setTimeout(() => {
    spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
  }, delayMs);
  return {
    update(next) {
      text = next;
      if (spinner) spinner.text = next;
    },
    stop() {
      clearTimeout(timer);
      spinner?.stop();
    },
  };
}
