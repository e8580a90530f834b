import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Emulator } from '../../destinations/destination.js';
import type { Project } from '../project/loader.js';
import type { DestinationDef, SyncDef } from './load.js';

/**
 * The sandbox: the destinations' emulators on this machine, with the project's syncs pointed at them, so that syncs
 * can be tried offline (in CI) before they touch production. Sandbox runs keep their state in a schema of their own
 * (`<state_schema>_sandbox`): production snapshots are never read or written.
 *
 * `tideline sandbox` keeps emulators running and describes them in target/sandbox.json; `tideline sync --sandbox`
 * uses those when they run, and otherwise starts fresh ones for the duration of the command (with fresh state).
 */
export const SANDBOX_FILE = join('target', 'sandbox.json');

export interface SandboxFile {
  readonly pid: number;
  /** Changes whenever emulators start afresh: sandbox state from another session is reset. */
  readonly session: string;
  readonly started_at: string;
  readonly destinations: Readonly<Record<string, { readonly type: string; readonly endpoint: string; readonly config: unknown }>>;
}

export interface RunningEmulators {
  readonly session: string;
  readonly emulators: ReadonlyMap<string, Emulator>;
  readonly configs: ReadonlyMap<string, unknown>;
  close(): Promise<void>;
}

export function sandboxStateSchema(project: Project): string {
  return `${project.target.stateSchema}_sandbox`;
}

/** The destinations the given syncs use, once each. */
export function destinationsOf(syncs: readonly SyncDef[]): DestinationDef[] {
  return [...new Map(syncs.map((s) => [s.destination.name, s.destination])).values()];
}

/** Starts a fresh emulator for each destination (its folder under target/sandbox/ emptied first). */
export async function startEmulators(project: Project, destinations: readonly DestinationDef[]): Promise<RunningEmulators> {
  const emulators = new Map<string, Emulator>();
  const configs = new Map<string, unknown>();
  try {
    for (const destination of destinations) {
      const dir = join(project.root, 'target', 'sandbox', destination.name);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const emulator = await destination.type.emulator.start({ root: project.root, dir });
      emulators.set(destination.name, emulator);
      configs.set(destination.name, destination.type.emulator.sandboxConfig(destination.config, emulator));
    }
  } catch (error) {
    for (const emulator of emulators.values()) await emulator.close();
    throw error;
  }
  return {
    session: randomBytes(8).toString('hex'),
    emulators,
    configs,
    close: async () => {
      for (const emulator of emulators.values()) await emulator.close();
    },
  };
}

/** The sandbox started by `tideline sandbox`, if its process still runs. */
export async function runningSandbox(root: string): Promise<SandboxFile | undefined> {
  const path = join(root, SANDBOX_FILE);
  if (!existsSync(path)) return undefined;
  const file = JSON.parse(await readFile(path, 'utf8')) as SandboxFile;
  try {
    process.kill(file.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return file;
}
