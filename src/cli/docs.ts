import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import type { Manifest, RunResults, SyncResults } from '../docs/manifest.js';
import { renderSite } from '../docs/site.js';
import { writeManifest } from './artifacts.js';
import { ConfigError } from '../project/problems.js';
import type { Project } from '../project/loader.js';
import { analyse, EXIT, loadFor, runCommand, targetDir, type CommandContext, type GlobalOptions } from './context.js';

interface DocsOptions {
  readonly out?: string;
  readonly offline?: boolean;
}

/**
 * `tideline docs generate` (or `tideline docs`): compiles the project, writes target/manifest.json as `compile` does,
 * and renders it — with the last run's target/run_results.json and target/sync_results.json when present — into one
 * self-contained page, target/docs/index.html, opened from disk: there is no `docs serve`, a file needs no server.
 */
export function registerDocs(program: Command): void {
  const docs = program.command('docs').description('write the project\'s documentation site, one static page: target/docs/index.html (`tideline docs` is `tideline docs generate`)');
  docs
    .command('generate', { isDefault: true })
    .description('write target/docs/index.html: every source, model, sync and destination with descriptions, columns, tests, the lineage graph and the last run\'s figures (one self-contained file, no network)')
    .option('-o, --out <dir>', 'the folder to write index.html in (default target/docs)')
    .option('--offline', 'do not connect to the warehouse (source columns unknown)')
    .action(async (options: DocsOptions, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), (context) => generateDocs(context, options));
    });
}

async function generateDocs(context: CommandContext, options: DocsOptions): Promise<number> {
  const project = await loadFor(context);
  const { analysis, connection } = await analyseOrStructure(context, project, options.offline === true);
  await connection?.close();
  const target = targetDir(project);
  // The site reads the manifest as written, as any reader of dbt's artifacts would.
  const manifestFile = await writeManifest(project, analysis, randomUUID());
  const manifest = (await readJson<Manifest>(context, manifestFile))!;
  const runResults = await readJson<RunResults>(context, join(target, 'run_results.json'));
  const syncResults = await readJson<SyncResults>(context, join(target, 'sync_results.json'));
  const dir = options.out === undefined ? join(target, 'docs') : resolve(options.out);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'index.html');
  await writeFile(file, renderSite({ manifest, runResults, syncResults }));
  context.logger.info({ file, runResults: runResults !== undefined, syncResults: syncResults !== undefined }, `wrote ${file}: open ${pathToFileURL(file).href} in a browser`);
  return EXIT.ok;
}

/**
 * The project analysed against the warehouse; before the first load or run, when the only problems are tables the
 * sources name that do not exist yet, the project analysed offline instead — its structure, without those columns —
 * with one warning naming the tables and `--offline`. Any other problem stops the command as elsewhere.
 */
async function analyseOrStructure(context: CommandContext, project: Project, offline: boolean): ReturnType<typeof analyse> {
  try {
    return await analyse(context, project, offline, { readOnly: true });
  } catch (error) {
    const errors = error instanceof ConfigError ? error.problems.filter((p) => p.severity === 'error') : [];
    if (offline || !errors.length || errors.some((p) => p.code !== 'missing-table')) throw error;
    const tables = errors.map((p) => /^table (\S+)/.exec(p.message)?.[1] ?? p.field);
    const named = tables.length > 5 ? `${tables.slice(0, 5).join(', ')} and ${tables.length - 5} more` : tables.join(', ');
    context.logger.warn(
      { missing: tables },
      `${tables.length} table${tables.length === 1 ? '' : 's'} the sources name ${tables.length === 1 ? 'does' : 'do'} not exist in target "${project.target.name}" yet (${named}): the docs show the project's structure without the warehouse's columns; load them and run \`tideline docs\` again, or pass --offline to skip the warehouse`,
    );
    return analyse(context, project, true, { readOnly: true });
  }
}

/** A JSON artifact under target/, or undefined when absent or unreadable (a warning: the site is made without it). */
async function readJson<T>(context: CommandContext, file: string): Promise<T | undefined> {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    context.logger.warn({ file }, `${file} is not readable JSON, left out of the docs: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}
