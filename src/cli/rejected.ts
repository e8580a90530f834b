import type { Command } from 'commander';
import { ConfigError } from '../project/problems.js';
import { didYouMean } from '../project/suggest.js';
import { StateStore } from '../state/store.js';
import { maskValue } from '../sync/mask.js';
import { sandboxStateSchema } from '../sync/sandbox.js';
import { analyse, EXIT, loadFor, runCommand, type GlobalOptions } from './context.js';

export function registerRejected(program: Command): void {
  program
    .command('rejected')
    .description('show the records a destination rejected for a sync, with its messages')
    .argument('<sync>', 'the sync')
    .option('--limit <n>', 'rows to show, most recent first', (v) => Number.parseInt(v, 10), 50)
    .option('--show-keys', 'print record keys in full (they may be personal data such as e-mails)')
    .option('--sandbox', 'the sandbox state instead of production')
    .option('--json', 'one JSON object per record')
    .action(async (name: string, options: { limit: number; showKeys?: boolean; sandbox?: boolean; json?: boolean }, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await loadFor(context);
        if (!project.syncs.has(name)) {
          throw new ConfigError([{ code: 'unknown-sync', severity: 'error', message: `unknown sync "${name}"${didYouMean(name, project.syncs.keys())}; syncs: ${[...project.syncs.keys()].join(', ') || 'none'}` }]);
        }
        const { connection } = await analyse(context, project, false, { readOnly: true });
        try {
          const store = new StateStore(connection!, options.sandbox ? sandboxStateSchema(project) : project.target.stateSchema);
          const rows = (await store.exists(store.table('rejected'))) ? await store.rejectedRows(name, Number.isFinite(options.limit) ? options.limit : 50) : [];
          const key = (value: unknown) => (options.showKeys ? value : maskValue(value));
          for (const row of rows) {
            const entry = {
              key: key(row['record_key']),
              operation: row['operation'],
              code: row['error_code'],
              message: row['error_message'],
              retryable: row['retryable'],
              attempts: row['attempts'],
              run_id: row['run_id'],
              first_rejected_at: row['first_rejected_at'],
              last_rejected_at: row['last_rejected_at'],
            };
            process.stdout.write(
              options.json
                ? JSON.stringify(entry) + '\n'
                : `${String(entry.key)}  ${String(entry.code)}${entry.retryable ? ' (retried next run)' : ''}  ×${String(entry.attempts)}  ${String(entry.message ?? '')}\n`,
            );
          }
          if (!rows.length && !options.json) process.stdout.write(`no rejected records for ${name}\n`);
          return EXIT.ok;
        } finally {
          await connection!.close();
        }
      });
    });
}
