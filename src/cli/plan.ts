import type { Command } from 'commander';
import type { PlanPreview } from '../sync/engine.js';
import { SyncEngine } from '../sync/engine.js';
import type { SyncDef } from '../sync/load.js';
import { OPS } from '../sync/planner.js';
import { sandboxStateSchema } from '../sync/sandbox.js';
import { selectSyncs } from '../sync/select.js';
import { analyse, EXIT, loadFor, runCommand, type GlobalOptions } from './context.js';

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('show what each sync would send (counts per operation, sample rows with personal data masked); writes nothing')
    .option('-s, --select <selectors...>', 'syncs: names, model:NAME, destination:NAME, tag:NAME, name+ (syncs of a model and of its descendants), a,b (both); see README')
    .option('--exclude <selectors...>', 'syncs to leave out, in the same grammar')
    .option('--samples <n>', 'sample rows per operation', (v) => Number.parseInt(v, 10), 3)
    .option('--json', 'print one JSON object per sync instead of text')
    .option('--sandbox', "plan against the sandbox's state (what `tideline sync --sandbox` sent), not the destinations'")
    .action(async (options: { select?: string[]; exclude?: string[]; samples: number; json?: boolean; sandbox?: boolean }, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await loadFor(context);
        const selected = selectSyncs(project, { select: options.select, exclude: options.exclude });
        const { connection } = await analyse(context, project, false, { readOnly: true });
        try {
          const sandbox = options.sandbox === true;
          const engine = new SyncEngine({ project, connection: connection!, logger: context.logger, sandbox, stateSchema: sandbox ? sandboxStateSchema(project) : undefined });
          let failed = 0;
          for (const sync of selected) {
            let preview: PlanPreview;
            try {
              preview = await engine.plan(sync, Number.isFinite(options.samples) ? options.samples : 3);
            } catch (error) {
              failed++;
              context.logger.error({ sync: sync.name }, `${sync.name}: ${error instanceof Error ? error.message : String(error)}`);
              continue;
            }
            process.stdout.write(options.json ? JSON.stringify({ ...preview, enabled: sync.enabled, mode: sync.mode, destination: sync.destination.name, object: sync.object }) + '\n' : render(sync, preview));
          }
          return failed ? EXIT.failed : EXIT.ok;
        } finally {
          await connection!.close();
        }
      });
    });
}

const LABELS: Record<(typeof OPS)[number], string> = {
  removed: 'removed',
  changed: 'changed',
  added: 'added',
  held_back: 'held back (rejected before, unchanged)',
  too_old: 'too old (events older than the destination accepts: not sent)',
  forgotten: 'forgotten (erased by `tideline forget`: never sent again)',
  suppressed: 'suppressed (suppressions, preferences)',
  no_consent: 'no consent (purposes not granted)',
  duplicate_key: 'invalid: duplicate key',
  null_key: 'invalid: null key',
};

function render(sync: SyncDef, preview: PlanPreview): string {
  const lines = [`${sync.name}${sync.enabled ? '' : ' (disabled)'}: ${sync.model} → ${sync.destination.name} (${sync.destination.type.type}) ${sync.object}, mode ${sync.mode}`];
  const verbs: Partial<Record<(typeof OPS)[number], string>> = sync.mode === 'mirror' ? { removed: 'delete' } : sync.mode === 'audience' ? { removed: 'remove', added: 'add', changed: 'add' } : sync.mode === 'events' ? { added: 'track' } : {};
  for (const op of OPS) {
    const count = preview.counts[op];
    if (count === 0 && !['added', 'changed', 'removed'].includes(op)) continue;
    if (op === 'removed' && sync.mode !== 'mirror' && sync.mode !== 'audience') continue;
    lines.push(`  ${LABELS[op].padEnd(40)} ${String(count).padStart(9)}${verbs[op] ? `  (${verbs[op]})` : ''}`);
    for (const sample of preview.samples[op] ?? []) lines.push(`      ${JSON.stringify(sample)}`);
  }
  if (preview.pendingJournal) lines.push(`  note: ${preview.pendingJournal} outcomes of an interrupted run are applied by the next sync; counts may be high by as many`);
  return lines.join('\n') + '\n\n';
}
