import type { Command } from 'commander';
import type { Row } from '../warehouses/connection.js';
import { StateStore, watermarkName } from '../state/store.js';
import { sandboxStateSchema } from '../sync/sandbox.js';
import { analyse, EXIT, loadFor, runCommand, type GlobalOptions } from './context.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('list the syncs with their last run, its counts, and the rejected records waiting')
    .option('--sandbox', 'the sandbox state instead of production')
    .option('--json', 'one JSON object per sync')
    .action(async (options: { sandbox?: boolean; json?: boolean }, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await loadFor(context);
        const { connection } = await analyse(context, project, false, { readOnly: true });
        try {
          const store = new StateStore(connection!, options.sandbox ? sandboxStateSchema(project) : project.target.stateSchema);
          const known = await store.exists(store.table('runs'));
          const runs = new Map<string, Row>();
          const rejected = new Map<string, Row>();
          if (known) {
            for (const row of await store.latestRuns()) runs.set(String(row['sync_name']), row);
            for (const row of await store.rejectedCounts()) rejected.set(String(row['sync_name']), row);
          }
          const lines: string[] = [];
          const meta = known && (await store.exists(store.table('meta')));
          for (const sync of project.syncs.values()) {
            const run = runs.get(sync.name);
            const waiting = rejected.get(sync.name);
            // An events sync's next run reads the events after this mark, minus its look-back (src/sync/events.ts).
            const mark = sync.mode === 'events' && meta ? ((await store.getMeta(watermarkName(sync.name))) ?? null) : null;
            const entry = {
              sync: sync.name,
              enabled: sync.enabled,
              model: sync.model,
              destination: sync.destination.name,
              object: sync.object,
              mode: sync.mode,
              schedule: sync.options.schedule ?? null,
              last_run: run
                ? {
                    run_id: run['run_id'],
                    status: run['status'],
                    started_at: run['started_at'],
                    finished_at: run['finished_at'],
                    added: run['added'],
                    changed: run['changed'],
                    removed: run['removed'],
                    accepted: run['accepted'],
                    rejected: run['rejected'],
                    error: run['error'],
                  }
                : null,
              rejected: Number(waiting?.['rejected'] ?? 0),
              rejected_retryable: Number(waiting?.['retryable'] ?? 0),
              ...(sync.mode === 'events' ? { events_read_up_to: mark } : {}),
            };
            if (options.json) {
              lines.push(JSON.stringify(entry));
              continue;
            }
            const last = run
              ? `last run ${iso(run['started_at'])} ${String(run['status'])}: +${run['added']} ~${run['changed']} -${run['removed']}, ${run['accepted']} accepted, ${run['rejected']} rejected${run['error'] ? ` (${String(run['error'])})` : ''}`
              : 'never run';
            const flags = [sync.enabled ? '' : 'disabled', sync.options.schedule ? `schedule ${sync.options.schedule}` : ''].filter(Boolean).join(', ');
            const events = sync.mode === 'events' ? `\n  events read up to ${mark ?? 'nothing yet'} (the next run reads from there, minus its look-back)` : '';
            lines.push(`${sync.name}${flags ? ` (${flags})` : ''}: ${sync.model} → ${sync.destination.name} ${sync.object} [${sync.mode}]\n  ${last}${events}\n  rejected records waiting: ${entry.rejected} (${entry.rejected_retryable} retried by the next run)`);
          }
          process.stdout.write(lines.length ? lines.join(options.json ? '\n' : '\n\n') + '\n' : 'no syncs in this project (add them under syncs/)\n');
          return EXIT.ok;
        } finally {
          await connection!.close();
        }
      });
    });
}

function iso(value: unknown): string {
  return value instanceof Date ? value.toISOString().replace('.000Z', 'Z') : String(value);
}
