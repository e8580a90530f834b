import type { Command } from 'commander';
import { compileModel } from '../build/compile.js';
import { analyse, EXIT, loadFor, runCommand, type GlobalOptions } from './context.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check every YAML file, reference and source column; exit 2 listing every problem')
    .option('--offline', 'do not connect to the warehouse: skip the checks that need source columns')
    .action(async (options: { offline?: boolean }, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await loadFor(context);
        const { analysis, connection } = await analyse(context, project, options.offline === true);
        await connection?.close();
        // Compiling every model catches what only the compiler sees, before anything runs.
        for (const name of project.order) compileModel(project, analysis, project.models.get(name)!);
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
