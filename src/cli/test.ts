import { join } from 'node:path';
import type { Command } from 'commander';
import { failedSummary, notify, outcomeOf } from '../notify/notify.js';
import { blocks, runDataTests, testTally, type TestResult } from '../pipeline/data-tests.js';
import type { DataTest } from '../project/data-tests.js';
import type { Project } from '../project/loader.js';
import { selectAll, type Selection } from '../project/select.js';
import { newRunId } from '../state/run-id.js';
import { runResultsArtifact, writeManifest } from './artifacts.js';
import { analyse, EXIT, loadFor, runCommand, targetDir, writeJson, type CommandContext, type GlobalOptions } from './context.js';
import { table } from './show.js';

interface TestOptions {
  readonly select?: string[];
  readonly exclude?: string[];
  readonly showPii?: boolean;
  readonly json?: boolean;
}

export function registerTest(program: Command): void {
  program
    .command('test')
    .description(
      'run the data tests (`tests:`) of the selected sources and models on the tables as they stand: failures counted, a few failing rows shown with personal data masked; exit 1 when a test of severity error fails; writes target/run_results.json and target/manifest.json',
    )
    .option('-s, --select <selectors...>', 'the sources and models whose tests run, in the grammar of `tideline run` (a bare name names a source too); see README')
    .option('--exclude <selectors...>', 'sources and models to leave out, in the same grammar')
    .option('--show-pii', 'print failing rows unmasked')
    .option('--json', 'print one JSON object per test (with its failing rows) instead of tables')
    .action(async (options: TestOptions, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), (context) => testCommand(context, options));
    });
}

/** The data tests of the sources and models a selection keeps: sources' first, then models' in build order. */
export function selectedTests(project: Project, selection: Selection): DataTest[] {
  const { sources, models } = selectAll(project, selection);
  return [...sources.flatMap((name) => project.sources.get(name)!.tests), ...models.flatMap((name) => project.models.get(name)!.tests)];
}

async function testCommand(context: CommandContext, options: TestOptions): Promise<number> {
  const startedAt = new Date();
  const runId = newRunId();
  const project = await loadFor(context);
  const tests = selectedTests(project, { select: options.select, exclude: options.exclude });
  if (!tests.length) {
    context.logger.warn(`no ${options.select?.length || options.exclude?.length ? 'selected ' : ''}source or model declares \`tests\`: nothing to test`);
    return EXIT.ok;
  }
  let results: TestResult[];
  try {
    const { analysis, connection } = await analyse(context, project, false, { readOnly: true });
    try {
      await writeManifest(project, analysis, runId);
      results = await runDataTests(project, connection!, tests, { showPii: options.showPii, log: context.logger });
    } finally {
      await connection!.close();
    }
  } catch (error) {
    await notify(project, failedSummary(project, 'test', 'test', startedAt, error), context.logger);
    throw error;
  }
  if (options.json) {
    for (const r of results) {
      process.stdout.write(JSON.stringify({ test: r.test.name, type: r.test.type, on: r.test.on, severity: r.test.severity, status: r.status, failures: r.failures, message: r.status === 'pass' ? null : r.message, sample: r.sample }) + '\n');
    }
  } else {
    process.stdout.write(printResults(results, options.showPii === true));
  }
  await writeJson(
    join(targetDir(project), 'run_results.json'),
    runResultsArtifact(project, [], { invocationId: runId, startedAt, command: 'test', fullRefresh: false, selected: [...new Set(tests.map((t) => t.on))], adapterResponse: () => ({}), tests: results }),
  );
  const failed = results.filter(blocks);
  const line = testTally(results);
  if (failed.length) context.logger.error(line);
  else context.logger.info(line);
  await notify(
    project,
    {
      command: 'test',
      family: 'test',
      outcome: outcomeOf(results.length - failed.length, failed.length),
      project: project.name,
      target: project.target.name,
      runId,
      startedAt,
      finishedAt: new Date(),
      counts: Object.fromEntries((['pass', 'warn', 'fail', 'error'] as const).map((s) => [s, results.filter((r) => r.status === s).length])),
      failures: failed.map((r) => ({ type: 'test', name: r.test.name, message: r.message })),
      warnings: results.filter((r) => r.status === 'warn').map((r) => ({ type: 'test', name: r.test.name, message: r.message })),
    },
    context.logger,
  );
  return failed.length ? EXIT.failed : EXIT.ok;
}

/** A table of every test, then each failing one's message and sample. */
export function printResults(results: readonly TestResult[], showPii: boolean): string {
  let out = table(
    ['test', 'on', 'type', 'severity', 'status', 'failures'],
    results.map((r) => ({ test: r.test.name, on: r.test.on, type: r.test.type, severity: r.test.severity, status: r.status.toUpperCase(), failures: r.failures ?? '' })),
  );
  for (const r of results.filter((r) => r.status !== 'pass')) {
    out += `\n${r.test.name} (${r.status.toUpperCase()}): ${r.message}\n`;
    if (r.sample.length) {
      out += table(Object.keys(r.sample[0]!), r.sample);
      out += `${r.sample.length} of ${r.failures} shown${showPii ? '' : '; personal data masked (--show-pii to show)'}\n`;
    }
  }
  return out;
}
