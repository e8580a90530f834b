import { spawn } from 'node:child_process';
import { BIN } from './cli.js';

/** When to kill a run: so many ms after it started, or after it logged its plan (sending begins then). */
export type KillPoint = { readonly afterStartMs: number } | { readonly afterPlanMs: number };

export interface KilledRun {
  /** Whether SIGKILL ended it (false: it finished first, with `code`). */
  readonly killed: boolean;
  readonly code: number | null;
  /** What it was doing when it died, from its last log line. */
  readonly phase: string;
}

/**
 * Runs the real `tideline` CLI with JSON logs and kills it with SIGKILL at the kill point — no chance to clean up,
 * as when a machine or a container dies.
 */
export function runAndKill(args: readonly string[], cwd: string, env: Record<string, string>, kill: KillPoint): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--log-format', 'json'], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let last = 'starting';
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      timer ??= setTimeout(() => child.kill('SIGKILL'), ms);
    };
    if ('afterStartMs' in kill) arm(kill.afterStartMs);
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        try {
          const entry = JSON.parse(line) as { msg?: string; event?: string; phase?: string; settled?: number };
          last = entry.event === 'sync_progress' ? `${entry.phase}, ${entry.settled} settled` : (entry.msg ?? last);
          if ('afterPlanMs' in kill && entry.event === 'sync_progress' && entry.phase === 'planned') arm(kill.afterPlanMs);
        } catch {
          last = line.slice(0, 60);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const killed = signal === 'SIGKILL';
      const when = 'afterPlanMs' in kill ? `${kill.afterPlanMs} ms after planning` : `${kill.afterStartMs} ms after starting`;
      resolve({ killed, code, phase: killed ? `killed ${when}, last log: ${last}` : `finished before the kill (exit ${code})` });
    });
  });
}
