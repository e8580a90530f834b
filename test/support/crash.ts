import { spawn } from 'node:child_process';
import { BIN } from './cli.js';

/**
 * The webhook destination of the crash suites: to the receiver at HOOK_URL, 20 records a batch, 4 at once, a
 * timeout short enough that the receiver's hangs become lost answers, and retries quick enough for a trial's time.
 */
export const CRASH_HOOK = {
  name: 'hook',
  type: 'webhook',
  url: '${env:HOOK_URL}',
  batch_size: 20,
  concurrency: 4,
  requests_per_second: 150,
  timeout_seconds: 0.3,
  retries: { attempts: 12, base_ms: 10, max_ms: 200 },
} as const;

/** A log entry of the CLI's JSON logs. */
export type LogEntry = Readonly<Record<string, unknown>>;

/**
 * When to kill a run: so many ms after it started, so many ms after it logged its plan (sending begins then), or as
 * soon as it logs an entry matching `onLog`.
 */
export type KillPoint = { readonly afterStartMs: number } | { readonly afterPlanMs: number } | { readonly onLog: (entry: LogEntry) => boolean };

export interface KilledRun {
  /** Whether SIGKILL ended it (false: it finished first, with `code`). */
  readonly killed: boolean;
  readonly code: number | null;
  /** What it was doing when it died, from its last log line; or how it finished, with the end of its output. */
  readonly phase: string;
}

/**
 * Runs the real `tideline` CLI with JSON logs and kills it with SIGKILL at the kill point — no chance to clean up,
 * as when a machine or a container dies. Log lines are read whole, however the output is chunked.
 */
export function runAndKill(args: readonly string[], cwd: string, env: Record<string, string>, kill: KillPoint): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--log-format', 'json'], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let last = 'starting';
    let pending = '';
    let output = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      timer ??= setTimeout(() => child.kill('SIGKILL'), ms);
    };
    if ('afterStartMs' in kill) arm(kill.afterStartMs);
    const read = (line: string) => {
      let entry: LogEntry;
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        last = line.slice(0, 60);
        return;
      }
      last = entry['event'] === 'sync_progress' ? `${String(entry['phase'])}, ${String(entry['settled'])} settled` : typeof entry['msg'] === 'string' ? entry['msg'] : last;
      if ('afterPlanMs' in kill && entry['event'] === 'sync_progress' && entry['phase'] === 'planned') arm(kill.afterPlanMs);
      if ('onLog' in kill && kill.onLog(entry)) child.kill('SIGKILL');
    };
    child.stderr.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line) read(line);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const killed = signal === 'SIGKILL';
      const when = 'afterPlanMs' in kill ? `${kill.afterPlanMs} ms after planning` : 'afterStartMs' in kill ? `${kill.afterStartMs} ms after starting` : 'at the log line awaited';
      resolve({ killed, code, phase: killed ? `killed ${when}, last log: ${last}` : `finished before the kill (exit ${code}): ${output.slice(-2000)}` });
    });
  });
}
