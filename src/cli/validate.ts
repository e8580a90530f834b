import type { Command } from 'commander';
import { modelScript } from '../pipeline/script.js';
import { ConfigError, Problems } from '../project/problems.js';
import { checkApiVersions, parseDay, utcToday } from '../sync/api-versions.js';
import { checkRemoteFields } from '../sync/remote.js';
import { destinationsOf, startEmulators } from '../sync/sandbox.js';
import { analyse, EXIT, loadFor, reportProblems, runCommand, type GlobalOptions } from './context.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check every YAML file, reference and source column; exit 2 listing every problem')
    .option('--offline', 'do not connect to the warehouse: skip the checks that need source columns')
    .option('--remote', "ask each sync's destination which fields its object has: unknown or read-only mapped fields are errors")
    .option('--sandbox', 'with --remote: ask fresh local emulators of the destinations instead of the real APIs')
    .option('--today <YYYY-MM-DD>', "the day to check destinations' API versions against their sunsets (default: today, UTC)")
    .action(async (options: { offline?: boolean; remote?: boolean; sandbox?: boolean; today?: string }, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        if (options.today !== undefined && parseDay(options.today) === undefined) {
          throw new ConfigError([{ code: 'bad-option', severity: 'error', message: `--today takes a day written YYYY-MM-DD, not "${options.today}"` }]);
        }
        const project = await loadFor(context);
        // Each destination's API version against its vendor's published sunset: a warning within 90 days, an error past it.
        const versions = new Problems();
        checkApiVersions(project.destinations.values(), options.today ?? utcToday(), versions);
        if (versions.hasErrors) throw new ConfigError(versions.sorted());
        reportProblems(context, versions.all, project.root);
        const { analysis, connection } = await analyse(context, project, options.offline === true, { readOnly: true });
        await connection?.close();
        // Compiling every model catches what only the compiler sees, before anything runs.
        for (const name of project.order) modelScript(project, analysis, project.models.get(name)!);
        if (options.remote) {
          const syncs = [...project.syncs.values()].filter((s) => s.enabled && s.destination.type.remoteFields);
          const sandbox = options.sandbox ? await startEmulators(project, destinationsOf(syncs)) : undefined;
          try {
            const remote = await checkRemoteFields(syncs, {
              logger: context.logger,
              root: project.root,
              configFor: sandbox ? (d) => sandbox.configs.get(d.name) : undefined,
              columnType: (model, column) => analysis.columns.get(model)?.find((c) => c.name === column)?.type,
            });
            remote.problems.throwIfErrors();
            context.logger.info({ checked: remote.checked, created: remote.created }, `${remote.checked} sync${remote.checked === 1 ? '' : 's'} checked against ${sandbox ? 'sandbox emulators' : 'their destinations'}${remote.created.length ? `; created ${remote.created.join(', ')}` : ''}`);
          } finally {
            await sandbox?.close();
          }
        } else if (options.sandbox) {
          throw new ConfigError([{ code: 'bad-option', severity: 'error', message: '--sandbox goes with --remote (validate asks destinations only with --remote)' }]);
        }
        const sources = project.sources.size;
        const models = project.models.size;
        context.logger.info(
          { project: project.name, target: project.target.name, sources, models, online: analysis.online },
          `${project.name}: ${sources} source${sources === 1 ? '' : 's'} and ${models} model${models === 1 ? '' : 's'} are valid` +
            (analysis.online ? ` against target ${project.target.name}` : ' (offline: source columns not checked)'),
        );
        return EXIT.ok;
      });
    });
}
