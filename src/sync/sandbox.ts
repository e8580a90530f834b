import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
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
  /** Destinations whose emulator resumed the previous session's state: their syncs' sandbox state is kept. */
  readonly resumed: ReadonlySet<string>;
  /** Stops the emulators, first saving the state of those that can keep it for the next session. */
  close(): Promise<void>;
}

/** What a destination's emulator saved, in its folder: the destination type (a changed type starts afresh) and state. */
const SAVED_FILE = 'emulator-state.json';
interface SavedEmulator {
  readonly type: string;
  readonly state: unknown;
}

export function sandboxStateSchema(project: Project): string {
  return `${project.target.stateSchema}_sandbox`;
}

/** The destinations the given syncs use, once each. */
export function destinationsOf(syncs: readonly SyncDef[]): DestinationDef[] {
  return [...new Map(syncs.map((s) => [s.destination.name, s.destination])).values()];
}

/**
 * Starts an emulator for each destination. One whose previous session saved its state (in its folder under
 * target/sandbox/) resumes it, so a second run finds the destination as the first left it; the others start with
 * their folder emptied.
 */
export async function startEmulators(project: Project, destinations: readonly DestinationDef[]): Promise<RunningEmulators> {
  const emulators = new Map<string, Emulator>();
  const configs = new Map<string, unknown>();
  const resumed = new Set<string>();
  const dirs = new Map<string, string>();
  try {
    for (const destination of destinations) {
      const dir = join(project.root, 'target', 'sandbox', destination.name);
      dirs.set(destination.name, dir);
      const saved = await readSaved(join(dir, SAVED_FILE), destination.type.type);
      if (saved === undefined) await rm(dir, { recursive: true, force: true });
      else resumed.add(destination.name);
      await mkdir(dir, { recursive: true });
      // Saved state is consumed: a session that dies without saving must not be resumed from an older one.
      await rm(join(dir, SAVED_FILE), { force: true });
      const emulator = await destination.type.emulator.start({ root: project.root, dir, saved });
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
    resumed,
    close: async () => {
      for (const [name, emulator] of emulators) {
        const state = await emulator.save?.();
        const type = destinations.find((d) => d.name === name)!.type.type;
        if (state !== undefined) await writeFile(join(dirs.get(name)!, SAVED_FILE), JSON.stringify({ type, state } satisfies SavedEmulator));
        await emulator.close();
      }
    },
  };
}

async function readSaved(path: string, type: string): Promise<unknown> {
  if (!existsSync(path)) return undefined;
  try {
    const saved = JSON.parse(await readFile(path, 'utf8')) as SavedEmulator;
    return saved.type === type ? saved.state : undefined;
  } catch {
    return undefined;
  }
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
