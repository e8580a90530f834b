import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Project } from '../project/loader.js';
import { ConfigError } from '../project/problems.js';
import type { SyncDef } from '../sync/load.js';
import { SyncCommand, SyncLockedError, type SandboxReport } from '../sync/command.js';
import { skippedResult, type SyncResult } from '../sync/engine.js';
import { createSyncProgress } from '../sync/progress.js';
import type { JournalOptions } from '../sync/journal.js';
import type { Threshold } from '../sync/schema.js';
import { selectSyncs } from '../sync/select.js';
import { failedSummary, notify, type RunSummary } from '../notify/notify.js';
import { connectOnce, EXIT, loadFor, runCommand, targetDir, writeJson, type CommandContext, type GlobalOptions, waitSeconds } from './context.js';
import { VERSION } from './version.js';

interface SyncOptions {
  select?: string[];
  exclude?: string[];
  dryRun?: boolean;
  fullResync?: boolean;
  force?: boolean;
  sandbox?: boolean;
  maxRejected?: string;
  parallel: number;
}

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('send what changed in each model to its destinations; writes target/sync_results.json')
    .option('-s, --select <selectors...>', 'syncs: names, model:NAME, destination:NAME, tag:NAME, name+ (syncs of a model and of its descendants), a,b (both); see README')
    .option('--exclude <selectors...>', 'syncs to leave out, in the same grammar')
    .option('--dry-run', 'plan and count, check nothing is wrong, send nothing, write no state')
    .option('--full-resync', 'forget what was sent (snapshot and rejections) and send every record again')
    .option('--force', 'let syncs remove more records than their max_removals allows, this once (stale sources and models out of bounds still stop them)')
    .option('--sandbox', 'send to local emulators of the destinations (see `tideline sandbox`), with sandbox state')
    .option('--max-rejected <threshold>', 'fail a sync whose rejected records exceed a count (10) or share (1%) of those sent')
    .option('--parallel <n>', 'syncs running at once (syncs writing the same destination object run one after the other)', (v) => Number.parseInt(v, 10), 4)
    .action(async (options: SyncOptions, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), (context) => runSyncs(context, options));
    });
}

async function runSyncs(context: CommandContext, options: SyncOptions): Promise<number> {
  const project = await loadFor(context);
  const selected = selectSyncs(project, { select: options.select, exclude: options.exclude });
  return syncSelected(context, project, selected, options);
}

/** A sync `tideline build` holds back (an input failed or was not checked), with why. */
export interface HeldSync {
  readonly sync: SyncDef;
  readonly reason: string;
}

/**
 * Runs `selected` as `tideline sync` does — locks, progress, interruption, target/sync_results.json, the summary
 * line and the alert — and returns the exit code. `tideline build` calls it for the syncs whose inputs passed, as
 * `command` (its notifications answer to that command's `commands:` filter), with `build`: the syncs it held back
 * (listed as skipped in sync_results.json) and the summary of its models and tests, which the one alert of the
 * command carries with the syncs'.
 */
export async function syncSelected(
  context: CommandContext,
  project: Project,
  selected: readonly SyncDef[],
  options: Omit<SyncOptions, 'select' | 'exclude'>,
  command: 'sync' | 'build' = 'sync',
  build: { readonly held: readonly HeldSync[]; readonly summary: RunSummary } | undefined = undefined,
): Promise<number> {
  const startedAt = new Date();
  const held = (build?.held ?? []).map((h) => skippedResult(h.sync, `${h.reason}; nothing was sent`));
  const maxRejected = parseThreshold(options.maxRejected);
  const journal = journalOptions(process.env);
  const diffPartRows = wholeNumberEnv(process.env, 'TIDELINE_DIFF_PART_ROWS', 'snapshot rows');
  // `--wait` is a global option (src/cli/context.ts): here it covers the warehouse and the destination locks.
  const wait = waitSeconds(context.options);
  const waitMs = wait === undefined ? undefined : wait * 1000;
  // Try-outs alert nobody: a sandbox run or a dry run is someone at a terminal.
  const alert = async (summary: RunSummary) => {
    if (!options.sandbox && !options.dryRun) await notify(project, build ? withBuild(build.summary, summary) : summary, context.logger);
    else if (build) await notify(project, build.summary, context.logger);
  };
  const failure = (error: unknown) => alert(failedSummary(project, command, command, startedAt, error));
  if (build && !selected.length) {
    await writeResults(project, command, options, startedAt, held, held.length);
    logLine(context, held, options.dryRun === true);
    await alert(syncSummary(project, command, startedAt, held));
    return EXIT.ok;
  }
  let syncs: SyncCommand;
  try {
    syncs = await SyncCommand.open({
      project,
      syncs: [...selected],
      logger: context.logger,
      connect: () => connectOnce(context, project),
      dryRun: options.dryRun,
      fullResync: options.fullResync,
      force: options.force,
      maxRejected,
      sandbox: options.sandbox,
      parallel: options.parallel,
      waitMs,
      journal,
      diffPartRows,
    });
  } catch (error) {
    await failure(error);
    return locked(context, error);
  }
  const abort = new AbortController();
  // Each batch waiting for its turn listens to this signal; see stopController in src/sync/run/run.ts.
  setMaxListeners(1024, abort.signal);
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    context.logger.warn('interrupted: finishing the requests in flight and recording them (Ctrl-C again to quit at once)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = createSyncProgress({ pretty: context.format === 'pretty', logger: context.logger });
  try {
    const run = await syncs.run({ onProgress: (event) => progress.update(event), signal: abort.signal });
    progress.stop();
    for (const result of run.results) summarise(context, result, options.sandbox === true);
    if (run.sandbox) describeSandbox(context, run.sandbox);
    const results = [...run.results, ...held];
    const failed = results.filter((r) => r.status === 'failed').length;
    await writeResults(project, command, options, startedAt, results, held.length);
    logLine(context, results, options.dryRun === true);
    await alert(syncSummary(project, command, startedAt, results));
    return failed ? EXIT.failed : EXIT.ok;
  } catch (error) {
    await failure(error);
    return locked(context, error);
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await syncs.close();
  }
}

/**
 * target/sync_results.json: every sync of the command, the `held` ones (held back by `tideline build`, last) as
 * skipped; the status counts them as failed.
 */
async function writeResults(project: Project, command: string, options: Omit<SyncOptions, 'select' | 'exclude'>, startedAt: Date, results: readonly SyncResult[], held: number): Promise<void> {
  const failed = count(results, 'failed') + held;
  await writeJson(join(targetDir(project), 'sync_results.json'), {
    tideline_version: VERSION,
    command,
    project: project.name,
    target: project.target.name,
    sandbox: options.sandbox === true,
    dry_run: options.dryRun === true,
    full_resync: options.fullResync === true,
    force: options.force === true,
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    status: failed ? (failed === results.length ? 'error' : 'partial') : results.some((r) => r.status === 'partial') ? 'partial' : 'success',
    results: results.map(toJson),
  });
}

/** `3 syncs: 1 succeeded, 0 with rejections, 1 failed, 1 skipped`, as an error when one failed. */
function logLine(context: CommandContext, results: readonly SyncResult[], dryRun: boolean): void {
  const failed = count(results, 'failed');
  const line = `${results.length} sync${results.length === 1 ? '' : 's'}: ${count(results, 'success')} succeeded, ${count(results, 'partial')} with rejections, ${failed} failed, ${count(results, 'skipped')} skipped${dryRun ? `, ${count(results, 'dry_run')} planned (dry run)` : ''}`;
  if (failed) context.logger.error(line);
  else context.logger.info(line);
}

function syncSummary(project: Project, command: 'sync' | 'build', startedAt: Date, results: readonly SyncResult[]): RunSummary {
  const failed = count(results, 'failed');
  const rejected = results.filter((r) => r.status === 'partial');
  return {
    command,
    family: command,
    outcome: failed ? (failed === results.length ? 'failure' : 'partial') : rejected.length ? 'partial' : 'success',
    project: project.name,
    target: project.target.name,
    startedAt,
    finishedAt: new Date(),
    counts: { succeeded: count(results, 'success'), 'with rejections': rejected.length, failed, skipped: count(results, 'skipped') },
    failures: results.filter((r) => r.status === 'failed').map((r) => ({ type: 'sync', name: r.sync, message: r.error ?? 'failed' })),
    warnings: rejected.map((r) => ({ type: 'sync', name: r.sync, message: `${r.rejected} of ${r.settled} records rejected by ${r.destination} (\`tideline rejected ${r.sync}\`)` })),
  };
}

/**
 * One alert for `tideline build`: its models and tests (`build`), then its syncs, their counts named as such; held
 * syncs are counted skipped. The outcome is the two parts' when they agree, else `partial`.
 */
function withBuild(build: RunSummary, syncs: RunSummary): RunSummary {
  return {
    ...build,
    outcome: build.outcome === syncs.outcome ? build.outcome : 'partial',
    finishedAt: syncs.finishedAt,
    counts: { ...build.counts, ...Object.fromEntries(Object.entries(syncs.counts).map(([k, v]) => [SYNC_COUNTS[k] ?? `syncs ${k}`, v])) },
    failures: [...build.failures, ...syncs.failures],
    warnings: [...(build.warnings ?? []), ...(syncs.warnings ?? [])],
  };
}

/** The sync counts of a build's alert, named apart from its models'. */
const SYNC_COUNTS: Record<string, string> = { succeeded: 'synced', 'with rejections': 'synced with rejections', failed: 'syncs failed', skipped: 'syncs skipped' };

/** Another runner holds the warehouse or a destination object: exit 1 naming it; any other error goes on up. */
function locked(context: CommandContext, error: unknown): number {
  if (!(error instanceof SyncLockedError)) throw error;
  context.logger.error({ runId: error.holderRunId }, error.message);
  return EXIT.failed;
}

function describeSandbox(context: CommandContext, sandbox: SandboxReport): void {
  for (const [name, objects] of sandbox.started) {
    const held = Object.entries(objects).map(([object, records]) => `${object}: ${records}`);
    context.logger.info({ destination: name, objects }, `sandbox ${name} now holds ${held.join(', ') || 'nothing'}`);
  }
  for (const [name, endpoint] of sandbox.external) context.logger.info({ destination: name }, `sandbox ${name}: inspect it at ${endpoint}`);
}

/** One line per sync; a sync with rejections names the command that lists them (with `--sandbox` after a sandbox run). */
function summarise(context: CommandContext, r: SyncResult, sandbox: boolean): void {
  const fields = { sync: r.sync, status: r.status, runId: r.runId, ...r.counts, accepted: r.accepted, rejected: r.rejected, requests: r.requests, seconds: r.seconds };
  if (r.status === 'skipped') return context.logger.info(fields, `${r.sync}: skipped (${r.error})`);
  const counts = r.mode === 'events' ? `${r.counts.added} new events` : `added ${r.counts.added}, changed ${r.counts.changed}${r.mode === 'mirror' || r.mode === 'audience' ? `, removed ${r.counts.removed}` : ''}`;
  const extra = [
    r.counts.held_back ? `${r.counts.held_back} held back` : '',
    r.counts.too_old ? `${r.counts.too_old} too old for the destination (not sent)` : '',
    r.counts.forgotten ? `${r.counts.forgotten} forgotten (erased by tideline forget: not sent)` : '',
    r.counts.suppressed ? `${r.counts.suppressed} suppressed (not sent: suppressions or preferences)` : '',
    r.counts.no_consent ? `${r.counts.no_consent} without consent (not sent: purposes not granted)` : '',
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
    counts: { added: r.counts.added, changed: r.counts.changed, removed: r.counts.removed, held_back: r.counts.held_back, ...(r.mode === 'events' ? { too_old: r.counts.too_old } : {}), suppressed: r.counts.suppressed, forgotten: r.counts.forgotten, no_consent: r.counts.no_consent, invalid: r.counts.duplicate_key + r.counts.null_key },
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

function parseThreshold(text: string | undefined): Threshold | undefined {
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  if (/^\d+(\.\d+)?%$/.test(text)) return text;
  throw new ConfigError([{ code: 'bad-option', severity: 'error', message: `--max-rejected: expected a count (10) or a percentage (1%), got "${text}"` }]);
}

/**
 * `TIDELINE_FOLD_ROWS`: settled records a run folds at a time while it sends (JournalOptions.foldRows), a tuning
 * knob; unset, the run chooses from its size. The crash suites set it low so that their small runs fold in parts.
 */
function journalOptions(env: NodeJS.ProcessEnv): JournalOptions | undefined {
  const rows = wholeNumberEnv(env, 'TIDELINE_FOLD_ROWS', 'records');
  return rows === undefined ? undefined : { foldRows: rows };
}

/**
 * `TIDELINE_DIFF_PART_ROWS` (EngineOptions.diffPartRows) and the like: a tuning knob's whole number (of `what`), at
 * least 1, or undefined when unset.
 */
function wholeNumberEnv(env: NodeJS.ProcessEnv, name: string, what: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new ConfigError([{ code: 'bad-option', severity: 'error', message: `${name}: expected a whole number of ${what}, at least 1, got "${value}"` }]);
  return n;
}
