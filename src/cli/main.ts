import { Command, CommanderError, Option } from 'commander';
import { registerAudience } from './audience.js';
import { EXIT } from './context.js';
import { registerCompile } from './compile.js';
import { registerIdentity } from './identity.js';
import { registerInit } from './init.js';
import { registerReport } from './report.js';
import { registerPlan } from './plan.js';
import { registerRejected } from './rejected.js';
import { registerRun } from './run.js';
import { registerSandbox } from './sandbox.js';
import { registerStatus } from './status.js';
import { registerSync } from './sync.js';
import { registerValidate } from './validate.js';
import { VERSION } from './version.js';

/** The `tideline` program: global options, then one registration per command file. */
export function buildProgram(): Command {
  const program = new Command('tideline')
    .description('Warehouse-native reverse ETL: customer models in YAML, compiled to SQL, synced to your tools')
    .version(VERSION)
    .option('--project <dir>', 'project folder (default: the nearest folder with tideline.yml, upwards)')
    .option('--target <name>', 'warehouse target from tideline.yml (default: its `target`)')
    .addOption(new Option('--log-format <format>', 'pretty on a terminal, json otherwise').choices(['pretty', 'json']))
    .addOption(new Option('--log-level <level>', 'log verbosity').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerInit(program);
  registerValidate(program);
  registerCompile(program);
  registerRun(program);
  registerReport(program);
  registerPlan(program);
  registerSync(program);
  registerStatus(program);
  registerRejected(program);
  registerSandbox(program);
  registerIdentity(program);
  registerAudience(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the CLI; usage errors exit 2, like configuration errors. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      return EXIT.config;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
