import type { Command } from 'commander';
import { blocks } from '../pipeline/data-tests.js';
import { upstreamOf } from '../pipeline/checks.js';
import { owningModel } from '../project/loader.js';
import { selectAll } from '../project/select.js';
import type { SyncDef } from '../sync/load.js';
import { EXIT, loadFor, runCommand, type CommandContext, type GlobalOptions } from './context.js';
import { buildSelected } from './run.js';
import { syncSelected } from './sync.js';
import { printResults, selectedTests } from './test.js';

interface BuildOptions {
  readonly select?: string[];
  readonly exclude?: string[];
  readonly fullRefresh?: boolean;
  readonly sandbox?: boolean;
  readonly parallel: number;
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description(
      "in dependency order: the selected sources' data tests, then each selected model built and tested; a failing test of severity error skips every model and sync downstream; then the selected syncs whose inputs all passed. Exit 1 on any failure; writes run_results.json, manifest.json and sync_results.json",
    )
    .option('-s, --select <selectors...>', 'sources, models and syncs, in the grammar of `tideline run` (`customers+` adds what reads customers, its syncs too); see README')
    .option('--exclude <selectors...>', 'nodes to leave out, in the same grammar')
    .option('--full-refresh', 'rebuild models that keep state across runs from scratch')
    .option('--sandbox', 'syncs send to local emulators of the destinations (see `tideline sandbox`), with sandbox state')
    .option('--parallel <n>', 'syncs running at once', (v) => Number.parseInt(v, 10), 4)
    .action(async (options: BuildOptions, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), (context) => build(context, options));
    });
}

async function build(context: CommandContext, options: BuildOptions): Promise<number> {
  const project = await loadFor(context);
  const selection = { select: options.select, exclude: options.exclude };
  const { models, syncs } = selectAll(project, selection);
  const tests = selectedTests(project, selection);
  const built = await buildSelected(context, project, models, { fullRefresh: options.fullRefresh === true, command: 'build', tests });
  if (tests.length) process.stdout.write(printResults(built.tests, false));
  if (!syncs.length) return built.code;

  // What holds a sync back: a model of this build that failed or was skipped, or a source or model whose tests failed.
  const held = new Map<string, string>();
  for (const r of built.results) {
    if (r.status === 'error') held.set(r.model, `model ${r.model} failed`);
    if (r.status === 'skipped' && project.models.get(r.model)?.enabled) held.set(r.model, `model ${r.model} was skipped (${r.error})`);
  }
  for (const r of built.tests.filter(blocks)) {
    const owner = owningModel(project, r.test.on) ?? r.test.on;
    held.set(owner, held.has(owner) ? `${held.get(owner)}, ${r.test.name}` : `${project.sources.has(owner) ? 'source' : 'model'} ${owner} failed test ${r.test.name}`);
  }
  const ready: SyncDef[] = [];
  for (const sync of syncs) {
    const upstream = upstreamOf(project, sync.model);
    const reasons = [...upstream.sources, ...upstream.models].filter((n) => held.has(n)).map((n) => held.get(n)!);
    if (!reasons.length) {
      ready.push(sync);
      continue;
    }
    context.logger.error({ sync: sync.name, status: 'skipped' }, `${sync.name}: skipped, nothing sent (${reasons.join('; ')})`);
  }
  const skipped = syncs.length - ready.length;
  if (skipped) context.logger.error({ skipped }, `${skipped} sync${skipped === 1 ? '' : 's'} skipped: an input failed`);
  const synced = ready.length ? await syncSelected(context, project, ready, { parallel: options.parallel, sandbox: options.sandbox }, 'build') : EXIT.ok;
  return Math.max(built.code, synced, skipped ? EXIT.failed : EXIT.ok);
}
