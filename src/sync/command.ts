import { join } from 'node:path';
import type { JournalOptions } from './journal.js';
import type { Logger } from '../log/logger.js';
import { analyseProject } from '../project/analyse.js';
import type { Project } from '../project/loader.js';
import { LockHeldError, type LockSet } from '../state/lock.js';
import { removeLockNote } from '../state/lock-note.js';
import { StateStore } from '../state/store.js';
import type { Connection } from '../warehouses/connection.js';
import { newRunId, SyncEngine, type ProgressEvent, type SyncResult } from './engine.js';
import type { SyncDef } from './load.js';
import { connectWaiting, lockedMessage, noteHolder, SyncLockedError, type Wait } from './run/lock.js';
import { destinationsOf, runningSandbox, sandboxStateSchema, startEmulators, type RunningEmulators } from './sandbox.js';
import type { Threshold } from './schema.js';
import { applyRetention } from '../privacy/retention.js';

export { SyncLockedError } from './run/lock.js';

export interface SyncCommandOptions {
  readonly project: Project;
  /** The selected syncs, in the order results are reported. */
  readonly syncs: readonly SyncDef[];
  readonly logger: Logger;
  /** Opens the project's target; the command closes it. */
  readonly connect: () => Promise<Connection>;
  readonly dryRun?: boolean;
  readonly fullResync?: boolean;
  /** Lets plans past the removal guard (`max_removals`); input checks (freshness, model bounds) still apply. */
  readonly force?: boolean;
  /** Overrides every sync's `max_rejected`. */
  readonly maxRejected?: Threshold;
  /** Send to the destinations' emulators (a running `tideline sandbox`'s, or ones started for the command). */
  readonly sandbox?: boolean;
  /** Syncs running at once (default 4); syncs writing the same destination object run one after the other. */
  readonly parallel?: number;
  /**
   * How long to wait, in milliseconds from `open`, for what another runner holds: the embedded warehouse, then the
   * destination objects' locks. Unset: fail at once (SyncLockedError naming the holder and `--wait`).
   */
  readonly waitMs?: number;
  /** How the runs journal their outcomes and fold them while sending (see JournalOptions). */
  readonly journal?: JournalOptions;
  /** Snapshot rows a part of a run's diff joins at most (EngineOptions.diffPartRows). */
  readonly diffPartRows?: number;
}

/** What a command's emulators hold after its syncs ran (`--sandbox`). */
export interface SandboxReport {
  /** Emulators started for this command: records per object, by destination. */
  readonly started: ReadonlyMap<string, Readonly<Record<string, number>>>;
  /** Emulators of a running `tideline sandbox`: where to inspect them, by destination. */
  readonly external: ReadonlyMap<string, string>;
}

/**
 * One `tideline sync`: `open` connects (waiting for an embedded warehouse another command holds), notes this command
 * as the warehouse's holder and analyses the project; `run` prepares the sandbox, takes the locks of every sync at
 * once (waiting up to the same deadline), and runs the syncs; `close` releases all of it. Another runner's hold ends
 * the command with SyncLockedError before anything is sent.
 */
export class SyncCommand {
  #locks: LockSet | undefined;
  #sandbox: RunningEmulators | undefined;

  private constructor(
    private readonly options: SyncCommandOptions,
    private readonly connection: Connection,
    private readonly wait: Wait,
    /** Chosen at once so that, on a warehouse only this process can open, a second command learns who holds it. */
    private readonly runIds: ReadonlyMap<string, string>,
    private readonly noted: boolean,
  ) {}

  static async open(options: SyncCommandOptions): Promise<SyncCommand> {
    const { project, syncs } = options;
    const wait: Wait = { until: Date.now() + (options.waitMs ?? 0), asked: options.waitMs !== undefined };
    const targetDir = targetDirOf(project);
    const connection = await connectWaiting(options.connect, targetDir, wait, options.logger);
    const runIds = new Map(syncs.map((s) => [s.name, newRunId()]));
    let noted = false;
    try {
      if (connection.exclusive && !options.dryRun) noted = await noteHolder(targetDir, runIds, syncs);
      await analyseProject(project, connection);
    } catch (error) {
      if (noted) await removeLockNote(targetDir);
      await connection.close();
      throw error;
    }
    return new SyncCommand(options, connection, wait, runIds, noted);
  }

  /** Runs the syncs; each one's failure is in its result. */
  async run(hooks: { readonly onProgress?: (event: ProgressEvent) => void; readonly signal?: AbortSignal } = {}): Promise<{ results: SyncResult[]; sandbox: SandboxReport | undefined }> {
    const { syncs } = this.options;
    const { engine, sandboxed } = await this.#prepare(hooks);
    const { dryRun, fullResync, force, maxRejected, parallel } = this.options;
    // The state's rows naming people are kept only as long as privacy.retention says (under the syncs' locks).
    if (!dryRun) await applyRetention(engine.store, this.options.project, this.options.logger);
    const results = await engine.runAll(syncs, { dryRun, fullResync, force, maxRejected, parallel, locks: this.#locks });
    return { results, sandbox: sandboxed && (await sandboxReport(sandboxed.running, sandboxed.external)) };
  }

  /**
   * Runs `body` with the syncs' state, their destinations' configs (the sandbox's emulators with `--sandbox`) and
   * their locks held (unless a dry run): `tideline forget` erases under the same locks a sync takes, so that no run
   * folds a record back into a snapshot while it is being purged.
   */
  async withState<T>(body: (state: { readonly store: StateStore; configOf(sync: SyncDef): unknown }) => Promise<T>): Promise<T> {
    const { engine, sandboxed } = await this.#prepare({});
    return body({ store: engine.store, configOf: (sync) => sandboxed?.configs.get(sync.destination.name) ?? sync.destination.config });
  }

  async #prepare(hooks: { readonly onProgress?: (event: ProgressEvent) => void; readonly signal?: AbortSignal }) {
    const { project, syncs, logger } = this.options;
    const sandboxed = this.options.sandbox ? await prepareSandbox(logger, project, this.connection, syncs) : undefined;
    this.#sandbox = sandboxed?.running;
    const engine = new SyncEngine({
      project,
      connection: this.connection,
      logger,
      stateSchema: sandboxed ? sandboxStateSchema(project) : undefined,
      configFor: sandboxed ? (destination) => sandboxed.configs.get(destination.name) : undefined,
      sandbox: sandboxed !== undefined,
      onProgress: hooks.onProgress,
      signal: hooks.signal,
      journal: this.options.journal,
      diffPartRows: this.options.diffPartRows,
    });
    if (!this.options.dryRun) {
      try {
        this.#locks = await engine.lock(syncs, {
          waitMs: Math.max(0, this.wait.until - Date.now()),
          runIds: this.runIds,
          onWait: (holder) => logger.info({ runId: holder.runId }, `waiting: sync ${holder.sync} is locked by run ${holder.runId} since ${holder.acquiredAt.toISOString()}`),
        });
      } catch (error) {
        if (!(error instanceof LockHeldError)) throw error;
        throw new SyncLockedError(lockedMessage(error.message, this.wait), error.holder?.runId);
      }
    }
    return { engine, sandboxed };
  }

  /** Releases the locks, the holder's note, the emulators started for the command and the connection. */
  async close(): Promise<void> {
    await this.#locks?.release().catch((error: unknown) => this.options.logger.warn({ err: String(error) }, 'releasing the sync locks failed; they expire with their lease'));
    if (this.noted) await removeLockNote(targetDirOf(this.options.project));
    await this.#sandbox?.close();
    await this.connection.close();
  }
}

function targetDirOf(project: Project): string {
  return join(project.root, 'target');
}

/**
 * The emulators the syncs send to, and their sandbox state: a running `tideline sandbox`'s (state reset when its
 * session is new), or ones started for the command, resuming what the previous session saved.
 */
async function prepareSandbox(logger: Logger, project: Project, connection: Connection, syncs: readonly SyncDef[]) {
  const running = await runningSandbox(project.root);
  const store = new StateStore(connection, sandboxStateSchema(project));
  await store.setup();
  if (running) {
    const configs = new Map(Object.entries(running.destinations).map(([name, d]) => [name, d.config]));
    const missing = destinationsOf(syncs).filter((d) => !configs.has(d.name));
    if (missing.length) throw new Error(`the running sandbox (pid ${running.pid}) has no emulator for ${missing.map((d) => d.name).join(', ')}: restart \`tideline sandbox\``);
    if ((await store.getMeta('sandbox_session')) !== running.session) {
      for (const sync of project.syncs.values()) await store.reset(sync.name);
      await store.setMeta('sandbox_session', running.session);
    }
    logger.info({ pid: running.pid }, `sandbox: using the emulators of \`tideline sandbox\` (pid ${running.pid})`);
    return { configs, running: undefined, external: running.destinations };
  }
  // A --full-resync of some syncs resumes the emulators like any run: it sends those syncs' records again, as it
  // would to the real destination, and leaves what the other syncs sent where it is.
  const started = await startEmulators(project, destinationsOf(syncs));
  // Fresh emulators hold nothing: the sandbox state of every sync to them starts over, the selected syncs and the
  // others alike. Resumed ones hold what the previous session sent, which their syncs' sandbox state describes.
  for (const sync of project.syncs.values()) if (started.emulators.has(sync.destination.name) && !started.resumed.has(sync.destination.name)) await store.reset(sync.name);
  await store.setMeta('sandbox_session', started.session);
  for (const [name, emulator] of started.emulators) logger.info({ destination: name, endpoint: emulator.endpoint }, `sandbox: ${name} → ${emulator.endpoint}`);
  return { configs: started.configs, running: started, external: undefined };
}

async function sandboxReport(running: RunningEmulators | undefined, external: Readonly<Record<string, { endpoint: string }>> | undefined): Promise<SandboxReport> {
  const started = new Map<string, Record<string, number>>();
  if (running) {
    for (const [name, emulator] of running.emulators) {
      const state = await emulator.state();
      started.set(name, Object.fromEntries(Object.entries(state.objects).map(([object, records]) => [object, Object.keys(records).length])));
    }
  }
  return { started, external: new Map(Object.entries(external ?? {}).map(([name, d]) => [name, d.endpoint])) };
}
