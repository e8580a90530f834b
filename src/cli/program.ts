import { Command, CommanderError, Option } from 'commander';
import { MODEL_KINDS } from '../../models/index.js';
import type { CommandEngine, RegisteredCommands, RegisteredKind } from '../../models/model-kind.js';
import { registerBuild } from './build.js';
import { registerCompile } from './compile.js';
import { registerDocs } from './docs.js';
import { analyse, connect, EXIT, loadFor, runCommand, waitOption } from './context.js';
import { registerAudit } from './audit.js';
import { registerForget } from './forget.js';
import { registerInit } from './init.js';
import { registerPlan } from './plan.js';
import { registerRejected } from './rejected.js';
import { buildSelected, registerRun } from './run.js';
import { registerSandbox } from './sandbox.js';
import { registerShow } from './show.js';
import { registerSource } from './source.js';
import { registerStatus } from './status.js';
import { registerSync } from './sync.js';
import { registerTest } from './test.js';
import { registerValidate } from './validate.js';
import { VERSION } from './version.js';

/** The engine's own commands, in the order `tideline --help` lists them. */
const ENGINE_COMMANDS: readonly ((program: Command) => void)[] = [
  registerInit,
  registerValidate,
  registerCompile,
  registerDocs,
  registerRun,
  registerTest,
  registerBuild,
  registerShow,
  registerSource,
  registerPlan,
  registerSync,
  registerStatus,
  registerRejected,
  registerForget,
  registerAudit,
  registerSandbox,
];

/**
 * The `tideline` program: global options, the engine's commands, and the commands of each model kind that has some
 * (models/<kind>/cli.ts), each placed after the engine command it names or else at the end, in registry order.
 * `kinds` is the registry's by default; a test passes its own list to add a kind.
 */
export async function buildProgram(kinds: readonly RegisteredKind[] = MODEL_KINDS): Promise<Command> {
  const program = new Command('tideline')
    .description('Warehouse-native reverse ETL: customer models in YAML, compiled to SQL, synced to your tools')
    .version(VERSION)
    .option('--project <dir>', 'project folder (default: the nearest folder with tideline.yml, upwards)')
    .option('--target <name>', 'warehouse target from tideline.yml (default: its `target`)')
    .addOption(new Option('--log-format <format>', 'pretty on a terminal, json otherwise').choices(['pretty', 'json']))
    .addOption(new Option('--log-level <level>', 'log verbosity').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .addOption(waitOption())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const engine: CommandEngine = { run: runCommand, exit: EXIT, load: (context) => loadFor(context, kinds), analyse, connect, build: buildSelected };
  const waiting = new Set((await Promise.all(kinds.map((kind) => kind.cli?.()))).filter((commands): commands is RegisteredCommands => commands !== undefined));
  const registerKindCommands = (after?: string) => {
    for (const commands of waiting) {
      if (after !== undefined && commands.after !== after) continue;
      waiting.delete(commands);
      commands.register(program, engine);
    }
  };
  for (const register of ENGINE_COMMANDS) {
    register(program);
    registerKindCommands(program.commands.at(-1)!.name());
  }
  registerKindCommands();
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the CLI; usage errors (no command given too) exit 2, like configuration errors. */
export async function main(argv: readonly string[], kinds?: readonly RegisteredKind[]): Promise<number> {
  try {
    await (await buildProgram(kinds)).parseAsync([...argv], { from: 'user' });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    if (error instanceof CommanderError) {
      // `--help`, `help` and `--version` exit 0; help shown for want of a command (`tideline`, `tideline audience`)
      // is a usage error, which commander reports with a non-zero exit code.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || (error.code === 'commander.help' && error.exitCode === 0)) return EXIT.ok;
      return EXIT.config;
    }
    throw error;
  }
}
