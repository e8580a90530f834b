import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { PROJECT_FILE } from '../project/loader.js';
import { ConfigError } from '../project/problems.js';
import { EXIT, runCommand, type GlobalOptions } from './context.js';

const TEMPLATE = new URL('./templates/init/', import.meta.url);

/** A project name from a folder name: letters, digits and underscores. */
export function projectNameFor(dir: string): string {
  const name = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[a-z_]/.test(name) ? name.slice(0, 48) : `project_${name}`.slice(0, 48);
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .argument('[dir]', 'folder to create the project in', '.')
    .description('create a project that validates and runs as it is, on embedded DuckDB with sample data')
    .action(async (dir: string, _options: unknown, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const root = resolve(dir);
        if (existsSync(join(root, PROJECT_FILE))) {
          throw new ConfigError([{ code: 'exists', severity: 'error', message: `${join(root, PROJECT_FILE)} already exists; nothing was changed` }]);
        }
        await mkdir(root, { recursive: true });
        await cp(TEMPLATE, root, { recursive: true, errorOnExist: true, force: false });
        await rename(join(root, 'gitignore'), join(root, '.gitignore'));
        const projectFile = join(root, PROJECT_FILE);
        await writeFile(projectFile, (await readFile(projectFile, 'utf8')).replace('__NAME__', projectNameFor(root)));
        context.logger.info({ dir: root }, `created a Tideline project in ${root}; next: cd ${dir} && tideline validate && tideline run`);
        return EXIT.ok;
      });
    });
}
