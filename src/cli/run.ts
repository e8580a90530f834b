import { join } from 'node:path';
import type { Command } from 'commander';
import { reportRejectedLines } from '../pipeline/csv-sources.js';
import { blocks, BuildTests, testJson, testTally, type TestResult } from '../pipeline/data-tests.js';
import type { DataTest } from '../project/data-tests.js';
import { runModels } from '../pipeline/runner.js';
import { createProgress } from '../log/progress.js';
import { selectModels } from '../project/select.js';
import type { Project } from '../project/loader.js';
import type { ModelResult } from '../pipeline/runner.js';
import { failedSummary, notify, outcomeOf, type RunSummary } from '../notify/notify.js';
import type { NotifyCommand } from '../notify/schema.js';
import { newRunId } from '../state/run-id.js';
import { addUsage, type WarehouseUsage } from '../warehouses/connection.js';
import { analyse, EXIT, loadFor, runCommand, targetDir, writeJson, type CommandContext, type GlobalOptions } from './context.js';
import { VERSION } from './version.js';
import { runResultsArtifact, writeManifest } from './artifacts.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('build the selected models in dependency order, each swapped in atomically; writes target/run_results.json and target/manifest.json (dbt\'s shapes) and target/tideline_run_results.json')
    .option('-s, --select <selectors...>', 'models to build: names, tag:NAME, kind:KIND, source:NAME, +name (with upstream), name+ (with downstream), @name, a,b (both); see README')
    .option('--exclude <selectors...>', 'models to leave out, in the same grammar')
    .option('--full-refresh', 'rebuild models that keep state across runs from scratch')
    .action(async (options: { select?: string[]; exclude?: string[]; fullRefresh?: boolean }, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await loadFor(context);
        return (await buildSelected(context, project, selectModels(project, { select: options.select, exclude: options.exclude }), { fullRefresh: options.fullRefresh === true, command: 'run' })).code;
      });
    });
}

/**
 * Builds `selected` as `tideline run` does — checked against the warehouse, in order, with progress — writes
 * target/manifest.json, target/run_results.json (dbt's shape) and target/tideline_run_results.json (Tideline's own
 * record; `command` says which command built), and logs the outcome; the exit code and the results.
 * Kind commands that build (`tideline identity train`) call it too.
 */
export async function buildSelected(
  context: CommandContext,
  project: Project,
  selected: readonly string[],
  options: {
    readonly fullRefresh: boolean;
    readonly command: string;
    readonly fresh?: readonly string[];
    /** `tideline build`: the data tests to run as what they read is built, an error-severity failure holding back what depends on it. */
    readonly tests?: readonly DataTest[];
    /** `false`: the outcome is not alerted but returned (`tideline build` alerts once, with its syncs). */
    readonly notify?: boolean;
  },
): Promise<{ code: number; results: ModelResult[]; tests: TestResult[]; summary: RunSummary }> {
  const startedAt = new Date();
  const runId = newRunId();
  const family: NotifyCommand = options.command === 'build' ? 'build' : 'run';
  let analysed: Awaited<ReturnType<typeof analyse>>;
  try {
    analysed = await analyse(context, project, false);
  } catch (error) {
    await notify(project, failedSummary(project, options.command, family, startedAt, error), context.logger);
    throw error;
  }
  const { analysis, connection } = analysed;
  const progress = createProgress(context.format === 'pretty');
  try {
    await writeManifest(project, analysis, runId);
    const sources = await reportRejectedLines(project, connection!, selected, context.logger);
    const testing = options.tests
      ? new BuildTests(project, connection!, options.tests, selected, { log: context.logger, onTest: (test, i) => progress.update(`testing ${test.name} (${i + 1}/${options.tests!.length})`) })
      : undefined;
    await testing?.start();
    const results = await runModels(project, connection!, analysis, selected, {
      fullRefresh: options.fullRefresh,
      fresh: options.fresh,
      logger: context.logger,
      context: { command: options.command, run: runId },
      ...(testing ? { blocked: testing.blocked, afterModel: (r: ModelResult) => testing.after(r.model, r.status === 'success' || !project.models.get(r.model)!.enabled) } : {}),
      onModel: ({ model, index, total, phase }) => {
        if (phase === 'start') progress.update(`building ${model} (${index + 1}/${total})`);
      },
    });
    testing?.finish();
    const tests = testing?.results ?? [];
    progress.stop();
    const failed = results.filter((r) => r.status === 'error').length;
    const testsFailed = tests.filter(blocks).length;
    const skipped = results.filter((r) => r.status === 'skipped').length;
    const status = failed || testsFailed ? (results.some((r) => r.status === 'success') ? 'partial' : 'error') : 'success';
    await writeJson(
      join(targetDir(project), 'run_results.json'),
      runResultsArtifact(project, results, {
        invocationId: runId,
        startedAt,
        command: options.command,
        fullRefresh: options.fullRefresh,
        selected,
        adapterResponse: (r) => (r.usage ? adapterResponse(r.usage) : {}),
        tests,
      }),
    );
    // Tideline's own record, with what dbt's schema has no room for (kinds, summaries, rejected CSV lines).
    await writeJson(join(targetDir(project), 'tideline_run_results.json'), {
      tideline_version: VERSION,
      command: options.command,
      run_id: runId,
      project: project.name,
      target: project.target.name,
      warehouse: project.target.dialect.name,
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      status,
      results: results.map((r) => ({
        model: r.model,
        kind: r.kind,
        status: r.status,
        rows: r.rows,
        seconds: r.seconds,
        sql_hash: r.sqlHash,
        error: r.error,
        summary: r.summary?.data ?? null,
        ...(r.usage ? { adapter_response: adapterResponse(r.usage) } : {}),
      })),
      sources,
      ...(options.tests ? { tests: tests.map(testJson) } : {}),
    });
    const built = results.length - failed - skipped;
    const rejected = sources.reduce((sum, s) => sum + s.rejected, 0);
    const usages = results.flatMap((r) => (r.usage ? [r.usage] : []));
    const usage = usages.length ? usages.reduce(addUsage) : undefined;
    const summary = [
      `${built} built, ${failed} failed, ${skipped} skipped`,
      options.tests ? testTally(tests) : '',
      rejected ? `${rejected} CSV line${rejected === 1 ? '' : 's'} rejected` : '',
      usage ? describeUsage(usage) : '',
    ]
      .filter(Boolean)
      .join('; ');
    const fields = { built, failed, skipped, rejected, ...(usage ? adapterResponse(usage) : {}) };
    if (failed || testsFailed) context.logger.error(fields, summary);
    else context.logger.info(fields, summary);
    const alert: RunSummary = {
      command: options.command,
      family,
      outcome: outcomeOf(built, failed + testsFailed),
      project: project.name,
      target: project.target.name,
      runId,
      startedAt,
      finishedAt: new Date(),
      counts: { built, failed, skipped, ...(options.tests ? { 'tests failed': testsFailed } : {}) },
      failures: [
        ...results.filter((r) => r.status === 'error').map((r) => ({ type: 'model', name: r.model, message: r.error ?? 'failed' })),
        ...tests.filter(blocks).map((r) => ({ type: 'test', name: r.test.name, message: r.message })),
      ],
      warnings: tests.filter((r) => r.status === 'warn').map((r) => ({ type: 'test', name: r.test.name, message: r.message })),
    };
    if (options.notify !== false) await notify(project, alert, context.logger);
    return { code: failed || testsFailed ? EXIT.failed : EXIT.ok, results, tests, summary: alert };
  } catch (error) {
    await notify(project, failedSummary(project, options.command, family, startedAt, error), context.logger);
    throw error;
  } finally {
    progress.stop();
    await connection!.close();
  }
}

/**
 * A model's usage as run_results.json records it: under dbt's name for what the warehouse said of a model
 * (`adapter_response`), with dbt-bigquery's `bytes_processed` and `bytes_billed`, and Snowflake's `bytes_scanned`.
 * Only the figures the warehouse reports.
 */
function adapterResponse(usage: WarehouseUsage): Record<string, number> {
  return Object.fromEntries(
    [
      ['bytes_processed', usage.bytesProcessed],
      ['bytes_billed', usage.bytesBilled],
      ['bytes_scanned', usage.bytesScanned],
    ].filter((entry): entry is [string, number] => entry[1] !== undefined),
  );
}

/** `1.2 GiB processed, 1.3 GiB billed`: the figures the warehouse reports, in binary units (BigQuery bills per TiB). */
function describeUsage(usage: WarehouseUsage): string {
  return [
    usage.bytesProcessed === undefined ? '' : `${formatBytes(usage.bytesProcessed)} processed`,
    usage.bytesBilled === undefined ? '' : `${formatBytes(usage.bytesBilled)} billed`,
    usage.bytesScanned === undefined ? '' : `${formatBytes(usage.bytesScanned)} scanned`,
  ]
    .filter(Boolean)
    .join(', ');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}
