import { join } from 'node:path';
import type { RegisteredKind } from '../../models/model-kind.js';
import { createLogger, defaultLogFormat, type LogFormat, type Logger, type LogLevel } from '../log/logger.js';
import { redactor } from '../log/redact.js';
import { analyseProject, type Analysis } from '../project/analyse.js';
import { loadProject, type Project } from '../project/loader.js';
import { ConfigError, formatProblem, type Problem } from '../project/problems.js';
import { writeFileAtomically } from '../state/files.js';
import { WarehouseError, type Connection } from '../warehouses/connection.js';

/** Exit codes, as dbt users expect them. */
export const EXIT = { ok: 0, failed: 1, config: 2 } as const;

/** Options every command accepts (declared on the program, usable before or after the command name). */
export interface GlobalOptions {
  readonly project?: string;
  readonly target?: string;
  readonly logFormat?: LogFormat;
  readonly logLevel?: LogLevel;
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

/** Opens the project's target; the caller closes it. */
export async function connect(context: CommandContext, project: Project): Promise<Connection> {
  const { target } = project;
  context.logger.debug({ target: target.name, warehouse: target.dialect.name }, `connecting to ${target.name}`);
  return target.warehouse.open(target.config, { root: project.root });
}

/** Loads the project, connects unless offline, and checks it against the warehouse. */
export async function analyse(context: CommandContext, project: Project, offline: boolean): Promise<{ analysis: Analysis; connection: Connection | undefined }> {
  const connection = offline ? undefined : await connect(context, project);
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
