import { vi } from 'vitest';
import type { RegisteredKind } from '../../models/model-kind.js';
import { main } from '../../src/cli/program.js';

/**
 * `tideline …` run in this process (with the given model kinds, or the registry's), stdout and stderr captured; one
 * command at a time. Faster than spawning the CLI, and lets a test register kinds of its own.
 */
export async function tidelineInProcess(args: readonly string[], kinds?: readonly RegisteredKind[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const capture = (stream: 'stdout' | 'stderr') =>
    vi.spyOn(process[stream], 'write').mockImplementation(((chunk: string | Uint8Array) => {
      out[stream] += String(chunk);
      return true;
    }) as typeof process.stdout.write);
  const spies = [capture('stdout'), capture('stderr')];
  try {
    return { code: await main(args, kinds), ...out };
  } finally {
    for (const spy of spies) spy.mockRestore();
    process.exitCode = undefined;
  }
}
