import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { modelScript } from '../pipeline/script.js';
import { selectModels } from '../project/select.js';
import { writeManifest } from './artifacts.js';
import { analyse, EXIT, loadFor, runCommand, targetDir, type GlobalOptions } from './context.js';

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('write the SQL of each model to target/compiled/<target>/<model>.sql, and target/manifest.json (dbt\'s shape), without running it')
    .option('-s, --select <selectors...>', 'models to compile: names, tag:NAME, kind:KIND, source:NAME, +name (with upstream), name+ (with downstream), @name, a,b (both); see README')
    .option('--exclude <selectors...>', 'models to leave out, in the same grammar')
    .option('--print', 'also print the SQL on stdout')
    .option('--offline', 'do not connect to the warehouse (source column types unknown)')
    .action(async (options: { select?: string[]; exclude?: string[]; print?: boolean; offline?: boolean }, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await loadFor(context);
        const selected = selectModels(project, { select: options.select, exclude: options.exclude });
        const { analysis, connection } = await analyse(context, project, options.offline === true, { readOnly: true });
        await connection?.close();
        const dir = join(targetDir(project), 'compiled', project.target.name);
        await mkdir(dir, { recursive: true });
        for (const name of selected) {
          const compiled = modelScript(project, analysis, project.models.get(name)!);
          const file = join(dir, `${name}.sql`);
          await writeFile(file, compiled.script);
          if (options.print) process.stdout.write(compiled.script + '\n');
          context.logger.info({ model: name, file, sqlHash: compiled.sqlHash }, `compiled ${name} → ${file}`);
        }
        const manifest = await writeManifest(project, analysis, randomUUID());
        context.logger.info({ file: manifest }, `wrote ${manifest}`);
        return EXIT.ok;
      });
    });
}
