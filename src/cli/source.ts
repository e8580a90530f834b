import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ageBefore, describeElapsed, type Age } from '../expressions/age.js';
import { failedSummary, notify, outcomeOf } from '../notify/notify.js';
import { checkFreshness, formatInstant, type FreshnessVerdict } from '../pipeline/checks.js';
import type { Project, SourceDef } from '../project/loader.js';
import { selectSources } from '../project/select.js';
import { describeFailure } from '../warehouses/connection.js';
import { connect, EXIT, loadFor, runCommand, targetDir, writeJson, type CommandContext, type GlobalOptions } from './context.js';
import { table } from './show.js';
import { VERSION } from './version.js';

/** dbt's freshness statuses: `runtime error` when the age cannot be told (the query failed, no row, not a time). */
export type FreshnessStatus = 'pass' | 'warn' | 'error' | 'runtime error';

/** One source checked by `tideline source freshness`. */
export interface SourceFreshness {
  readonly source: SourceDef;
  readonly status: FreshnessStatus;
  readonly latest: Date | undefined;
  /** Why, for every status but `pass`: the verdict's message, or the failure reading the source. */
  readonly message: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
}

/**
 * The dbt artifact schema target/sources.json follows (what `dbt source freshness` writes): `metadata`,
 * `results` (each a SourceFreshnessOutput, or a SourceFreshnessRuntimeError when the age could not be told) and
 * `elapsed_time`, nothing more, since that schema admits no other field.
 */
export const SOURCES_SCHEMA_VERSION = 'https://schemas.getdbt.com/dbt/sources/v3.json';

interface FreshnessOptions {
  readonly select?: string[];
  readonly exclude?: string[];
  readonly json?: boolean;
  readonly output?: string;
}

export function registerSource(program: Command): void {
  const source = program.command('source').description('commands on sources: `tideline source freshness`');
  source
    .command('freshness')
    .description('how old each source with `freshness` is, against its warn_after and error_after (exit 1 past an error_after); writes target/sources.json')
    .option('-s, --select <selectors...>', 'sources: names, source:NAME, tag:NAME, +model (the sources a model reads); see README')
    .option('--exclude <selectors...>', 'sources to leave out, in the same grammar')
    .option('--json', 'print one JSON object per source instead of a table')
    .option('-o, --output <path>', 'where to write the dbt-shaped results (default target/sources.json)')
    .action(async (options: FreshnessOptions, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), (context) => sourceFreshness(context, options));
    });
}

async function sourceFreshness(context: CommandContext, options: FreshnessOptions): Promise<number> {
  const startedAt = new Date();
  const project = await loadFor(context);
  let checked: SourceFreshness[];
  try {
    const selected = selectSources(project, { select: options.select, exclude: options.exclude }).map((name) => project.sources.get(name)!);
    const declared = selected.filter((s) => s.freshness);
    if (!declared.length) {
      context.logger.warn(`no ${options.select?.length || options.exclude?.length ? 'selected ' : ''}source declares \`freshness\`: nothing to check`);
      return EXIT.ok;
    }
    const connection = await connect(context, project, { readOnly: true });
    try {
      checked = [];
      for (const source of declared) checked.push(await checkSource(project, connection, source, startedAt));
    } finally {
      await connection.close();
    }
  } catch (error) {
    await notify(project, failedSummary(project, 'source freshness', 'source freshness', startedAt, error), context.logger);
    throw error;
  }
  if (options.json) {
    for (const c of checked) process.stdout.write(JSON.stringify(jsonLine(c, startedAt)) + '\n');
  } else {
    process.stdout.write(
      table(
        ['source', 'table', 'loaded_at', 'max loaded_at', 'age', 'warn_after', 'error_after', 'status'],
        checked.map((c) => ({
          source: c.source.name,
          table: where(c.source),
          loaded_at: c.source.freshness!.loaded_at,
          'max loaded_at': c.latest ? formatInstant(c.latest) : '',
          age: c.latest ? describeElapsed(startedAt.getTime() - c.latest.getTime()) : '',
          warn_after: c.source.freshness!.warn_after?.text ?? '',
          error_after: c.source.freshness!.error_after?.text ?? '',
          status: c.status.toUpperCase(),
        })),
      ),
    );
  }
  for (const c of checked) {
    if (c.status === 'warn') context.logger.warn({ source: c.source.name, status: c.status }, c.message);
    if (c.status === 'error' || c.status === 'runtime error') context.logger.error({ source: c.source.name, status: c.status }, c.message);
  }
  const output = options.output ? resolve(options.output) : join(targetDir(project), 'sources.json');
  await writeJson(output, sourcesArtifact(project, checked, startedAt));
  const tally = (...statuses: FreshnessStatus[]) => checked.filter((c) => statuses.includes(c.status)).length;
  const [pass, warn, error] = [tally('pass'), tally('warn'), tally('error', 'runtime error')];
  const line = `${checked.length} source${checked.length === 1 ? '' : 's'}: ${pass} pass, ${warn} warn, ${error} error`;
  if (error) context.logger.error({ pass, warn, error }, line);
  else context.logger.info({ pass, warn, error }, line);
  await notify(
    project,
    {
      command: 'source freshness',
      family: 'source freshness',
      outcome: outcomeOf(pass + warn, error),
      project: project.name,
      target: project.target.name,
      startedAt,
      finishedAt: new Date(),
      counts: { pass, warn, error },
      failures: checked.filter((c) => c.status === 'error' || c.status === 'runtime error').map((c) => ({ type: 'source', name: c.source.name, message: c.message })),
      warnings: checked.filter((c) => c.status === 'warn').map((c) => ({ type: 'source', name: c.source.name, message: c.message })),
    },
    context.logger,
  );
  return error ? EXIT.failed : EXIT.ok;
}

/** Checks one source at `now`; a failure to read it is its `runtime error`, never the command's. */
async function checkSource(project: Project, connection: Parameters<typeof checkFreshness>[1], source: SourceDef, now: Date): Promise<SourceFreshness> {
  const startedAt = new Date();
  let verdict: FreshnessVerdict | undefined;
  try {
    verdict = await checkFreshness(project, connection, source, now);
  } catch (error) {
    return { source, status: 'runtime error', latest: undefined, message: `cannot tell the freshness of source ${source.name}: ${describeFailure(error)}`, startedAt, finishedAt: new Date() };
  }
  const status: FreshnessStatus = !verdict || verdict.unreadable || !verdict.latest ? 'runtime error' : verdict.level === 'fresh' ? 'pass' : verdict.level;
  // A source without rows has no age: Tideline's guards hold it as stale as its strictest level; here it is the
  // runtime error dbt reports, since no max_loaded_at can be written.
  return { source, status, latest: verdict?.latest, message: verdict?.message ?? '', startedAt, finishedAt: new Date() };
}

function where(source: SourceDef): string {
  return source.table ? [source.table.catalog, source.table.schema, source.table.name].filter(Boolean).join('.') : source.file!.path;
}

function jsonLine(c: SourceFreshness, now: Date) {
  const freshness = c.source.freshness!;
  return {
    source: c.source.name,
    table: where(c.source),
    loaded_at: freshness.loaded_at,
    max_loaded_at: c.latest?.toISOString() ?? null,
    age_seconds: c.latest ? Math.round((now.getTime() - c.latest.getTime()) / 1000) : null,
    warn_after: freshness.warn_after?.text ?? null,
    error_after: freshness.error_after?.text ?? null,
    status: c.status,
    message: c.status === 'pass' ? null : c.message,
  };
}

/** `source.<project>.<project>.<source>`: dbt's `source.<package>.<source name>.<table name>`, the project standing for both. */
export function sourceUniqueId(project: Pick<Project, 'name'>, source: Pick<SourceDef, 'name'>): string {
  return `source.${project.name}.${project.name}.${source.name}`;
}

/** target/sources.json in dbt's sources v3 shape (SOURCES_SCHEMA_VERSION). */
function sourcesArtifact(project: Project, checked: readonly SourceFreshness[], snapshottedAt: Date) {
  return {
    metadata: { dbt_schema_version: SOURCES_SCHEMA_VERSION, dbt_version: `tideline ${VERSION}`, generated_at: new Date().toISOString(), invocation_id: randomUUID(), env: {} },
    results: checked.map((c) => {
      const unique_id = sourceUniqueId(project, c.source);
      if (c.status === 'runtime error' || !c.latest) return { unique_id, error: c.message, status: 'runtime error' as const };
      const freshness = c.source.freshness!;
      // Nothing is compiled ahead: the query is built as it runs, so all the time is dbt's `execute`.
      const timing = (name: string, end: Date) => ({ name, started_at: c.startedAt.toISOString(), completed_at: end.toISOString() });
      return {
        unique_id,
        max_loaded_at: c.latest.toISOString(),
        snapshotted_at: snapshottedAt.toISOString(),
        max_loaded_at_time_ago_in_s: (snapshottedAt.getTime() - c.latest.getTime()) / 1000,
        status: c.status,
        criteria: { warn_after: dbtTime(freshness.warn_after, snapshottedAt), error_after: dbtTime(freshness.error_after, snapshottedAt), filter: null },
        adapter_response: {},
        timing: [timing('compile', c.startedAt), timing('execute', c.finishedAt)],
        thread_id: 'Thread-1',
        execution_time: (c.finishedAt.getTime() - c.startedAt.getTime()) / 1000,
      };
    }),
    elapsed_time: (Date.now() - snapshottedAt.getTime()) / 1000,
  };
}

/**
 * An age as dbt's `{count, period}` (periods: minute, hour, day): weeks as days; months and years, whose length
 * varies, as the days they span before `at`.
 */
function dbtTime(age: Age | undefined, at: Date): { count: number; period: 'minute' | 'hour' | 'day' } | { count: null; period: null } {
  if (!age) return { count: null, period: null };
  if (age.unit === 'minute' || age.unit === 'hour' || age.unit === 'day') return { count: age.amount, period: age.unit };
  if (age.unit === 'week') return { count: 7 * age.amount, period: 'day' };
  return { count: Math.round((at.getTime() - ageBefore(at, age).getTime()) / 86_400_000), period: 'day' };
}
