import { join } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import type { RegisteredKind } from '../../models/model-kind.js';
import { createLogger, defaultLogFormat, type LogFormat, type Logger, type LogLevel } from '../log/logger.js';
import { redactor } from '../log/redact.js';
import { analyseProject, type Analysis } from '../project/analyse.js';
import { loadProject, type Project } from '../project/loader.js';
import { ConfigError, formatProblem, type Problem } from '../project/problems.js';
import { writeFileAtomically } from '../state/files.js';
import { openWaiting, waitFor } from '../state/warehouse-wait.js';
import { WarehouseError, type Connection } from '../warehouses/connection.js';

/** Exit codes, as dbt users expect them. */
export const EXIT = { ok: 0, failed: 1, config: 2 } as const;

/** Options every command accepts (declared on the program, usable before or after the command name). */
export interface GlobalOptions {
  readonly project?: string;
  readonly target?: string;
  readonly logFormat?: LogFormat;
  readonly logLevel?: LogLevel;
  /** `--wait` alone: true (DEFAULT_WAIT_SECONDS); `--wait 30`: 30. */
  readonly wait?: true | number;
}

/** `--wait` without a number: ten minutes. */
export const DEFAULT_WAIT_SECONDS = 600;

/**
 * `--wait [seconds]`, a global option: a command that opens a warehouse another process holds (embedded DuckDB) waits
 * for it up to this long; `sync` and `forget` wait as long for the destination locks another run holds.
 */
export function waitOption(): Option {
  return new Option('--wait [seconds]', `when another process holds the embedded warehouse (or a sync's destination lock), wait for it up to this long (default ${DEFAULT_WAIT_SECONDS}) instead of exiting with code 1`).argParser(
    (value: string) => {
      if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError(`a number of seconds (\`tideline run --wait 30\`)`);
      return Number(value);
    },
  );
}

/** The seconds `--wait` asks for; undefined without it (give up at once). */
export function waitSeconds(options: GlobalOptions): number | undefined {
  return options.wait === true ? DEFAULT_WAIT_SECONDS : options.wait;
}

/** How a command uses the warehouse: commands that only read open it read-only, so that several run at once. */
export interface Access {
  readonly readOnly?: boolean;
}

export interface CommandContext {
  readonly options: GlobalOptions;
  readonly logger: Logger;
  readonly format: LogFormat;
}

export function commandContext(options: GlobalOptions): CommandContext {
  const format = options.logFormat ?? defaultLogFormat();
  return { options, format, logger: createLogger({ format, level: options.logLevel ?? 'info' }) };
}

/** Loads the project named by the options, printing its warnings; `kinds` by default the registry's. */
export async function loadFor(context: CommandContext, kinds?: readonly RegisteredKind[]): Promise<Project> {
  const project = await loadProject({ projectDir: context.options.project, target: context.options.target, registries: { kinds } });
  reportProblems(context, project.warnings, project.root);
  return project;
}

/**
 * Opens the project's target; the caller closes it. An embedded warehouse another process holds is waited for as
 * long as `--wait` says (openWaiting); without it, the error names the holder and `--wait`.
 */
export async function connect(context: CommandContext, project: Project, access: Access = {}): Promise<Connection> {
  return openWaiting(() => connectOnce(context, project, access), targetDir(project), waitFor(waitSeconds(context.options)), context.logger);
}

/** Opens the project's target, failing at once if another process holds it (WarehouseBusyError). */
export async function connectOnce(context: CommandContext, project: Project, access: Access = {}): Promise<Connection> {
  const { target } = project;
  context.logger.debug({ target: target.name, warehouse: target.dialect.name, readOnly: access.readOnly === true }, `connecting to ${target.name}`);
  return target.warehouse.open(target.config, { root: project.root, readOnly: access.readOnly, notice: (message) => context.logger.info({ target: target.name }, message) });
}

/** Loads the project, connects unless offline, and checks it against the warehouse. */
export async function analyse(context: CommandContext, project: Project, offline: boolean, access: Access = {}): Promise<{ analysis: Analysis; connection: Connection | undefined }> {
  const connection = offline ? undefined : await connect(context, project, access);
  try {
    return { analysis: await analyseProject(project, connection), connection };
  } catch (error) {
    await connection?.close();
    throw error;
  }
}

/** Prints problems: plain `file:line:col  field  message` lines on a terminal, one JSON line each otherwise. */
export function reportProblems(context: CommandContext, problems: readonly Problem[], root?: string): void {
  for (const problem of problems) {
    const line = formatProblem(problem, root);
    if (context.format === 'json') {
      const fields = { code: problem.code, field: problem.field, ...(problem.at ?? {}) };
      if (problem.severity === 'error') context.logger.error(fields, line);
      else context.logger.warn(fields, line);
    } else {
      process.stderr.write(redactor.scrub(`${problem.severity === 'error' ? 'error' : 'warning'}: ${line}\n`));
    }
  }
}

/**
 * Runs a command body and turns its outcome into an exit code: configuration problems → 2 (all printed), warehouse
 * or other failures → 1 with a message that names the failing statement and carries no secret.
 */
export async function runCommand(options: GlobalOptions, body: (context: CommandContext) => Promise<number>): Promise<number> {
  const context = commandContext(options);
  try {
    return await body(context);
  } catch (error) {
    if (error instanceof ConfigError) {
      reportProblems(context, error.problems, process.cwd());
      const count = error.problems.filter((p) => p.severity === 'error').length;
      context.logger.error(`${count} configuration problem${count === 1 ? '' : 's'}; nothing was run`);
      return EXIT.config;
    }
    if (error instanceof WarehouseError) {
      context.logger.error({ statement: error.statement, hint: error.hint }, error.hint ? `${error.message} (hint: ${error.hint})` : error.message);
      return EXIT.failed;
    }
    context.logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error) }, error instanceof Error ? error.message : String(error));
    return EXIT.failed;
  } finally {
    context.logger.flush();
  }
}

/** Writes a JSON file under target/ whole (see writeFileAtomically), scrubbed of secrets. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomically(path, redactor.scrub(JSON.stringify(value, null, 2)) + '\n');
}

export function targetDir(project: Project): string {
  return join(project.root, 'target');
}
