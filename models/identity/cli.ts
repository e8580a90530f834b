import type { Command } from 'commander';
import type { GlobalOptions } from '../../src/cli/context.js';
import { sourceRelation } from '../../src/project/analyse.js';
import type { Project } from '../../src/project/loader.js';
import { ConfigError } from '../../src/project/problems.js';
import { didYouMean } from '../../src/project/suggest.js';
import type { KindCommandEngine, KindCommands, KindModel } from '../model-kind.js';
import { explainCustomer, findCustomers, renderExplanation, type ExplainContext } from './explain.js';
import { maskValue } from './mask.js';
import type { IdentitySpec } from './schema.js';

/** `tideline identity explain`. */
export const identityCommands: KindCommands<IdentitySpec> = { register };

function register(program: Command, engine: KindCommandEngine<IdentitySpec>): void {
  const { run, exit: EXIT, load, connect } = engine;
  const identity = program.command('identity').description('inspect identity models (who was linked to whom, and why)');
  identity
    .command('explain')
    .argument('<who>', 'a customer id, an e-mail address, or a source record as source:id')
    .description('show the records of a customer and the rules, values and path that linked them')
    .option('-m, --model <name>', 'the identity model to read (needed when the project has several)')
    .exitOverride()
    .action(async (who: string, options: { model?: string }, command: Command) => {
      process.exitCode = await run(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await load(context);
        const model = identityModel(engine.models(project), options.model);
        const connection = await connect(context, project);
        try {
          const explain: ExplainContext = {
            dialect: project.target.dialect,
            io: connection,
            spec: model.spec,
            table: { schema: project.target.schema, name: model.name },
            relation: (name) => {
              const source = project.sources.get(name);
              return source ? sourceRelation(project, source) : project.target.dialect.table({ schema: project.target.schema, name });
            },
          };
          const ids = await findCustomers(explain, who);
          if (!ids.length) {
            // The argument may be an e-mail: logs carry it masked.
            const shown = who.includes('@') ? maskValue('email', who) : who;
            context.logger.error({ model: model.name }, `no customer of ${model.name} matches ${shown} (a customer id, an e-mail or source:id); was the model built?`);
            return EXIT.failed;
          }
          for (const [i, id] of ids.entries()) {
            const explanation = await explainCustomer(explain, id);
            if (explanation) process.stdout.write((i ? '\n' : '') + renderExplanation(explanation, model.name));
          }
          return EXIT.ok;
        } finally {
          await connection.close();
        }
      });
    });
}

/** The identity model named by --model, or the project's only one. */
function identityModel(models: readonly KindModel<IdentitySpec>[], name: string | undefined): KindModel<IdentitySpec> {
  const names = models.map((m) => m.name);
  const problem = (message: string) => new ConfigError([{ code: 'bad-option', severity: 'error', message }]);
  if (name !== undefined) {
    const found = models.find((m) => m.name === name);
    if (!found) throw problem(`--model: no identity model named "${name}"${didYouMean(name, names)}; identity models: ${names.join(', ') || 'none'}`);
    return found;
  }
  if (models.length === 1) return models[0]!;
  throw problem(models.length ? `this project has several identity models (${names.join(', ')}): choose one with --model` : 'this project has no identity model (kind: identity)');
}
