import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { destinationsOf, SANDBOX_FILE, startEmulators, type SandboxFile } from '../sync/sandbox.js';
import { EXIT, loadFor, runCommand, writeJson, type GlobalOptions } from './context.js';

export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description('run local emulators of the destinations the syncs use, until interrupted; `tideline sync --sandbox` then sends to them')
    .action(async (_options: object, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await loadFor(context);
        const destinations = destinationsOf([...project.syncs.values()].filter((s) => s.enabled));
        if (!destinations.length) {
          context.logger.warn('no enabled sync uses a destination: nothing to emulate');
          return EXIT.ok;
        }
        const running = await startEmulators(project, destinations);
        const file: SandboxFile = {
          pid: process.pid,
          session: running.session,
          started_at: new Date().toISOString(),
          destinations: Object.fromEntries(
            destinations.map((d) => [d.name, { type: d.type.type, endpoint: running.emulators.get(d.name)!.endpoint, config: running.configs.get(d.name) }]),
          ),
        };
        const path = join(project.root, SANDBOX_FILE);
        await writeJson(path, file);
        for (const [name, entry] of Object.entries(file.destinations)) {
          process.stdout.write(`${name} (${entry.type}): ${entry.endpoint}${entry.endpoint.startsWith('http') ? `  (state: ${entry.endpoint}/_emulator/state)` : ''}\n`);
        }
        context.logger.info({ file: path }, 'sandbox running: `tideline sync --sandbox` sends to these emulators; Ctrl-C stops them');
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await running.close();
        await rm(path, { force: true });
        context.logger.info('sandbox stopped');
        return EXIT.ok;
      });
    });
}
