import type { Command } from 'commander';
import { holds, testOrder } from '../pipeline/data-tests.js';
import { upstreamOf } from '../pipeline/checks.js';
import { owningModel } from '../project/loader.js';
import { selectAll } from '../project/select.js';
import type { SyncDef } from '../sync/load.js';
import { syncPolicyInputs } from '../sync/suppressions.js';
import { EXIT, loadFor, runCommand, type CommandContext, type GlobalOptions } from './context.js';
import { buildSelected } from './run.js';
import { syncSelected, type HeldSync } from './sync.js';
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
  const built = await buildSelected(context, project, testOrder(project, models, tests), { fullRefresh: options.fullRefresh === true, command: 'build', tests, notify: syncs.length === 0 });
  if (tests.length) process.stdout.write(printResults(built.tests, false));
  if (!syncs.length) return built.code;

  // What holds a sync back: a model of this build that failed or was skipped, or a source or model whose
  // error-severity tests failed or could not run.
  const held = new Map<string, string>();
  for (const r of built.results) {
    if (r.status === 'error') held.set(r.model, `model ${r.model} failed`);
    if (r.status === 'skipped' && project.models.get(r.model)?.enabled) held.set(r.model, `model ${r.model} was skipped (${r.error})`);
  }
  for (const r of built.tests.filter(holds)) {
    const owner = owningModel(project, r.test.on) ?? r.test.on;
    const what = `${r.test.name}${r.status === 'skipped' ? ' (skipped)' : ''}`;
    held.set(owner, held.has(owner) ? `${held.get(owner)}, ${what}` : `${project.sources.has(owner) ? 'source' : 'model'} ${owner} failed test ${what}`);
  }
  const ready: SyncDef[] = [];
  const skipped: HeldSync[] = [];
  for (const sync of syncs) {
    // Its model and what it reads when sent (policies, pressure), each with what they are built from.
    const inputs = new Set<string>();
    for (const name of [sync.model, ...syncPolicyInputs(project, sync)]) {
      if (project.sources.has(name)) inputs.add(name);
      const upstream = upstreamOf(project, owningModel(project, name) ?? name);
      [...upstream.sources, ...upstream.models].forEach((n) => inputs.add(n));
    }
    const reasons = [...inputs].filter((n) => held.has(n)).map((n) => held.get(n)!);
    if (!reasons.length) {
      ready.push(sync);
      continue;
    }
    context.logger.error({ sync: sync.name, status: 'skipped' }, `${sync.name}: skipped, nothing sent (${reasons.join('; ')})`);
    skipped.push({ sync, reason: reasons.join('; ') });
  }
  if (skipped.length) context.logger.error({ skipped: skipped.length }, `${skipped.length} sync${skipped.length === 1 ? '' : 's'} skipped: an input failed`);
  const synced = await syncSelected(context, project, ready, { parallel: options.parallel, sandbox: options.sandbox }, 'build', { held: skipped, summary: built.summary });
  return Math.max(built.code, synced, skipped.length ? EXIT.failed : EXIT.ok);
}
