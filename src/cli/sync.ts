import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import pLimit from 'p-limit';
import { ConfigError } from '../project/problems.js';
import type { Project } from '../project/loader.js';
import { newRunId, SyncEngine, type SyncResult } from '../sync/engine.js';
import type { SyncDef } from '../sync/load.js';
import { createSyncProgress } from '../sync/progress.js';
import { destinationsOf, runningSandbox, sandboxStateSchema, startEmulators, type RunningEmulators } from '../sync/sandbox.js';
import type { Threshold } from '../sync/schema.js';
import { selectSyncs } from '../sync/select.js';
import { LockHeldError, type LockSet } from '../state/lock.js';
import { lockNotePath, readLockNote, removeLockNote } from '../state/lock-note.js';
import { StateStore } from '../state/store.js';
import { WarehouseBusyError, type Connection } from '../warehouses/connection.js';
import { analyseProject } from '../project/analyse.js';
import { connect, EXIT, loadFor, runCommand, targetDir, writeJson, type CommandContext, type GlobalOptions } from './context.js';
import { VERSION } from './version.js';

interface SyncOptions {
  select?: string[];
  dryRun?: boolean;
  fullResync?: boolean;
  sandbox?: boolean;
  maxRejected?: string;
  parallel: number;
  /** `--wait` alone: true; `--wait 30`: "30". */
  wait?: true | string;
}

/** `--wait` without a number: ten minutes. */
const DEFAULT_WAIT_SECONDS = 600;

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('send what changed in each model to its destinations; writes target/sync_results.json')
    .option('-s, --select <selectors...>', 'syncs: names, tag:NAME, model:NAME, destination:NAME')
    .option('--dry-run', 'plan and count, check nothing is wrong, send nothing, write no state')
    .option('--full-resync', 'forget what was sent (snapshot and rejections) and send every record again')
    .option('--sandbox', 'send to local emulators of the destinations (see `tideline sandbox`), with sandbox state')
    .option('--max-rejected <threshold>', 'fail a sync whose rejected records exceed a count (10) or share (1%) of those sent')
    .option('--parallel <n>', 'syncs running at once (syncs writing the same destination object run one after the other)', (v) => Number.parseInt(v, 10), 4)
    .option('--wait [seconds]', `when another run holds a destination object (or the embedded warehouse), wait for it up to this long (default ${DEFAULT_WAIT_SECONDS}) instead of exiting with code 1`)
    .action(async (options: SyncOptions, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), (context) => runSyncs(context, options));
    });
}

async function runSyncs(context: CommandContext, options: SyncOptions): Promise<number> {
  const startedAt = new Date();
  const maxRejected = parseThreshold(options.maxRejected);
  const deadline = startedAt.getTime() + parseWait(options.wait) * 1000;
  const project = await loadFor(context);
  const selected = selectSyncs(project, options.select);
  const opened = await openWaiting(context, project, deadline, options.wait !== undefined);
  if (typeof opened === 'string') {
    context.logger.error(opened);
    return EXIT.failed;
  }
  const connection = opened;
  // Chosen now so that, on a warehouse only this process can open, a second command learns at once who holds it.
  const runIds = new Map(selected.map((s) => [s.name, newRunId()]));
  let noted = false;
  try {
    if (connection.exclusive && !options.dryRun) noted = await noteHolder(project, runIds, selected);
    await analyseProject(project, connection);
  } catch (error) {
    if (noted) await removeLockNote(targetDir(project));
    await connection.close();
    throw error;
  }
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    context.logger.warn('interrupted: finishing the requests in flight and recording them (Ctrl-C again to quit at once)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let sandbox: RunningEmulators | undefined;
  const progress = createSyncProgress({ tty: context.format === 'pretty' && process.stderr.isTTY === true, logger: context.logger });
  let locks: LockSet | undefined;
  try {
    const sandboxed = options.sandbox ? await prepareSandbox(context, project, connection!, selected) : undefined;
    sandbox = sandboxed?.running;
    const engine = new SyncEngine({
      project,
      connection: connection!,
      logger: context.logger,
      stateSchema: sandboxed ? sandboxStateSchema(project) : undefined,
      configFor: sandboxed ? (destination) => sandboxed.configs.get(destination.name) : undefined,
      sandbox: sandboxed !== undefined,
      onProgress: (event) => progress.update(event),
      signal: abort.signal,
    });
    if (!options.dryRun) {
      try {
        locks = await engine.lock(selected, {
          waitMs: Math.max(0, deadline - Date.now()),
          runIds,
          onWait: (holder) => context.logger.info({ runId: holder.runId }, `waiting: sync ${holder.sync} is locked by run ${holder.runId} since ${holder.acquiredAt.toISOString()}`),
        });
      } catch (error) {
        if (!(error instanceof LockHeldError)) throw error;
        context.logger.error({ runId: error.holder?.runId }, `${error.message}; nothing was sent${options.wait === undefined ? ' (--wait waits for it)' : ' (gave up waiting)'}`);
        return EXIT.failed;
      }
    }
    const results = await runGrouped(engine, selected, options, maxRejected, locks);
    progress.stop();
    for (const result of results) summarise(context, result, options.sandbox === true);
    if (sandboxed) await describeSandbox(context, sandboxed.running, sandboxed.external);
    const failed = results.filter((r) => r.status === 'failed').length;
    await writeJson(join(targetDir(project), 'sync_results.json'), {
      tideline_version: VERSION,
      command: 'sync',
      project: project.name,
      target: project.target.name,
      sandbox: options.sandbox === true,
      dry_run: options.dryRun === true,
      full_resync: options.fullResync === true,
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      status: failed ? (failed === results.length ? 'error' : 'partial') : results.some((r) => r.status === 'partial') ? 'partial' : 'success',
      results: results.map(toJson),
    });
    const line = `${results.length} sync${results.length === 1 ? '' : 's'}: ${count(results, 'success')} succeeded, ${count(results, 'partial')} with rejections, ${failed} failed, ${count(results, 'skipped')} skipped${options.dryRun ? `, ${count(results, 'dry_run')} planned (dry run)` : ''}`;
    if (failed) context.logger.error(line);
    else context.logger.info(line);
    return failed ? EXIT.failed : EXIT.ok;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await locks?.release().catch((error: unknown) => context.logger.warn({ err: String(error) }, 'releasing the sync locks failed; they expire with their lease'));
    if (noted) await removeLockNote(targetDir(project));
    await sandbox?.close();
    await connection.close();
  }
}

/**
 * Connects to the project's target. An embedded warehouse held by another process (WarehouseBusyError) is waited
 * for until `deadline`; past it, the answer is the message to print (which run holds it, when the holder's note
 * says so).
 */
async function openWaiting(context: CommandContext, project: Project, deadline: number, waiting: boolean): Promise<Connection | string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await connect(context, project);
    } catch (error) {
      if (!(error instanceof WarehouseBusyError)) throw error;
      // The holder writes its note just after opening: a command started at the same instant looks twice.
      const note = (await readLockNote(targetDir(project))) ?? (await sleep(200).then(() => readLockNote(targetDir(project))));
      const holder =
        note && note.pid === error.holderPid
          ? `the warehouse is locked by run ${note.runId} since ${note.since} (syncs ${note.syncs.join(', ')}, ${note.host} pid ${note.pid})`
          : `the warehouse is in use by another process${error.holderPid === undefined ? '' : ` (pid ${error.holderPid})`}: ${error.hint ?? error.message}`;
      const pause = Math.min(5000, 250 * 1.6 ** attempt);
      if (Date.now() + pause > deadline) return `${holder}; nothing was sent${waiting ? ' (gave up waiting)' : ' (--wait waits for it)'}`;
      if (attempt === 0) context.logger.info({ pid: error.holderPid }, `waiting: ${holder}`);
      await sleep(pause);
    }
  }
}

/** On an exclusive warehouse, tells a second command which run holds it (see lock-note.ts). */
async function noteHolder(project: Project, runIds: ReadonlyMap<string, string>, syncs: readonly SyncDef[]): Promise<boolean> {
  const enabled = syncs.filter((s) => s.enabled);
  if (enabled.length === 0) return false;
  await writeJson(lockNotePath(targetDir(project)), {
    runId: runIds.get(enabled[0]!.name),
    syncs: enabled.map((s) => s.name),
    host: hostname(),
    pid: process.pid,
    since: new Date().toISOString(),
  });
  return true;
}

/**
 * Syncs that write the same destination object run one after the other (they share its lock); other syncs run
 * `--parallel` at a time. Results keep the order of the selection.
 */
async function runGrouped(engine: SyncEngine, syncs: readonly SyncDef[], options: SyncOptions, maxRejected: Threshold | undefined, locks: LockSet | undefined): Promise<SyncResult[]> {
  const groups = new Map<string, SyncDef[]>();
  for (const sync of syncs) {
    const scope = engine.lockScope(sync);
    groups.set(scope, [...(groups.get(scope) ?? []), sync]);
  }
  const limit = pLimit(Math.max(1, Number.isFinite(options.parallel) ? options.parallel : 4));
  const results = new Map<string, SyncResult>();
  await Promise.all(
    [...groups.values()].map((group) =>
      limit(async () => {
        for (const sync of group) results.set(sync.name, await engine.run(sync, { dryRun: options.dryRun, fullResync: options.fullResync, maxRejected, locks }));
      }),
    ),
  );
  return syncs.map((s) => results.get(s.name)!);
}

async function prepareSandbox(context: CommandContext, project: Project, connection: Connection, syncs: readonly SyncDef[]) {
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
    context.logger.info({ pid: running.pid }, `sandbox: using the emulators of \`tideline sandbox\` (pid ${running.pid})`);
    return { configs, running: undefined, external: running.destinations };
  }
  // Emulators resume what the previous session left, even on --full-resync: an emulator is shared by every sync of
  // its destination, and a full resync of the selected syncs (their state, cleared by the engine) must not empty
  // the lists and objects of the others, whose state says they were sent — as a full resync never empties the real
  // destination either.
  const started = await startEmulators(project, destinationsOf(syncs));
  // Fresh emulators hold nothing: the sandbox state of every sync writing to them — selected or not — starts over
  // with them. Resumed ones hold what the previous session sent, which their syncs' sandbox state describes.
  for (const sync of project.syncs.values()) if (started.emulators.has(sync.destination.name) && !started.resumed.has(sync.destination.name)) await store.reset(sync.name);
  await store.setMeta('sandbox_session', started.session);
  for (const [name, emulator] of started.emulators) context.logger.info({ destination: name, endpoint: emulator.endpoint }, `sandbox: ${name} → ${emulator.endpoint}`);
  return { configs: started.configs, running: started, external: undefined };
}

async function describeSandbox(context: CommandContext, running: RunningEmulators | undefined, external: Readonly<Record<string, { endpoint: string }>> | undefined): Promise<void> {
  if (running) {
    for (const [name, emulator] of running.emulators) {
      const state = await emulator.state();
      const objects = Object.entries(state.objects).map(([object, records]) => `${object}: ${Object.keys(records).length}`);
      context.logger.info({ destination: name, objects: Object.fromEntries(Object.entries(state.objects).map(([o, r]) => [o, Object.keys(r).length])) }, `sandbox ${name} now holds ${objects.join(', ') || 'nothing'}`);
    }
  }
  if (external) for (const [name, d] of Object.entries(external)) context.logger.info({ destination: name }, `sandbox ${name}: inspect it at ${d.endpoint}`);
}

/** One line per sync; a sync with rejections names the command that lists them (with `--sandbox` after a sandbox run). */
function summarise(context: CommandContext, r: SyncResult, sandbox: boolean): void {
  const fields = { sync: r.sync, status: r.status, runId: r.runId, ...r.counts, accepted: r.accepted, rejected: r.rejected, requests: r.requests, seconds: r.seconds };
  if (r.status === 'skipped') return context.logger.info(fields, `${r.sync}: skipped (${r.error})`);
  const counts = `added ${r.counts.added}, changed ${r.counts.changed}${r.mode === 'mirror' || r.mode === 'audience' ? `, removed ${r.counts.removed}` : ''}`;
  const extra = [
    r.counts.held_back ? `${r.counts.held_back} held back` : '',
    r.counts.duplicate_key + r.counts.null_key ? `${r.counts.duplicate_key + r.counts.null_key} invalid (null or duplicate key)` : '',
    r.recovered ? `${r.recovered} outcomes of an interrupted run recovered` : '',
  ].filter(Boolean);
  const tail = extra.length ? `; ${extra.join('; ')}` : '';
  if (r.status === 'dry_run') return context.logger.info(fields, `${r.sync}: would send ${r.counts.added + r.counts.changed + r.counts.removed} (${counts})${tail}`);
  const sent = `${r.settled} sent (${r.accepted} accepted, ${r.rejected} rejected) in ${r.requests} requests, ${r.seconds} s — ${counts}${tail}`;
  if (r.status === 'failed') context.logger.error(fields, `${r.sync} failed: ${r.error}; ${sent}`);
  else if (r.status === 'partial') context.logger.warn(fields, `${r.sync}: ${sent}; see \`tideline rejected ${r.sync}${sandbox ? ' --sandbox' : ''}\``);
  else context.logger.info(fields, `${r.sync}: ${sent}`);
}

function toJson(r: SyncResult) {
  return {
    sync: r.sync,
    model: r.model,
    destination: r.destination,
    type: r.type,
    object: r.object,
    mode: r.mode,
    run_id: r.runId,
    status: r.status,
    counts: { added: r.counts.added, changed: r.counts.changed, removed: r.counts.removed, held_back: r.counts.held_back, invalid: r.counts.duplicate_key + r.counts.null_key },
    sent: r.settled,
    accepted: r.accepted,
    rejected: r.rejected,
    requests: r.requests,
    rate_limited: r.rateLimited,
    retries: r.retries,
    splits: r.splits,
    already_delivered: r.alreadyDelivered,
    recovered: r.recovered,
    seconds: r.seconds,
    error: r.error,
    details: r.details,
  };
}

function count(results: readonly SyncResult[], status: SyncResult['status']): number {
  return results.filter((r) => r.status === status).length;
}

function parseWait(wait: true | string | undefined): number {
  if (wait === undefined) return 0;
  if (wait === true) return DEFAULT_WAIT_SECONDS;
  if (/^\d+(\.\d+)?$/.test(wait)) return Number(wait);
  throw new ConfigError([{ code: 'bad-option', severity: 'error', message: `--wait: expected a number of seconds, got "${wait}"` }]);
}

function parseThreshold(text: string | undefined): Threshold | undefined {
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  if (/^\d+(\.\d+)?%$/.test(text)) return text;
  throw new ConfigError([{ code: 'bad-option', severity: 'error', message: `--max-rejected: expected a count (10) or a percentage (1%), got "${text}"` }]);
}
