import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import type { Manifest, RunResults, SyncResults } from '../docs/manifest.js';
import { renderSite } from '../docs/site.js';
import { writeManifest } from './artifacts.js';
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
  const { analysis, connection } = await analyse(context, project, options.offline === true, { readOnly: true });
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
