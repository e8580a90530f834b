import type { Command } from 'commander';
import type { CommandContext, GlobalOptions } from '../../src/cli/context.js';
import { sql } from '../../src/dialects/sql.js';
import { sourceRelation } from '../../src/project/analyse.js';
import type { Project } from '../../src/project/loader.js';
import { ConfigError } from '../../src/project/problems.js';
import { didYouMean } from '../../src/project/suggest.js';
import type { Connection } from '../../src/warehouses/connection.js';
import type { KindCommandEngine, KindCommands, KindModel } from '../model-kind.js';
import {
  customerOfRecord,
  explainCustomer,
  explainProbabilisticLinks,
  findCustomers,
  pairKey,
  readPairs,
  recordKey,
  renderExplanation,
  renderPair,
  renderProbabilisticLinks,
  type ExplainContext,
} from './explain.js';
import { maskValue } from './mask.js';
import { resolvePlan } from './plan.js';
import { oneIn, readParameters, signedWeight, type ParameterReading } from './report.js';
import type { IdentitySpec } from './schema.js';
import { PRIOR, resolveScoring, type ScoringPlan } from './scoring.js';
import { PARAMETERS_CARRY } from './train.js';

/** `tideline identity explain` and `tideline identity train`. */
export const identityCommands: KindCommands<IdentitySpec> = { register };

function register(program: Command, engine: KindCommandEngine<IdentitySpec>): void {
  const { run, exit: EXIT, load, connect } = engine;
  const identity = program.command('identity').description('inspect identity models (who was linked to whom, and why) and retrain their probabilistic scoring');
  identity
    .command('explain')
    .argument('<who>', 'a customer id, an e-mail address, or a source record as source:id')
    .summary('show who was linked to whom and why: a customer, or with --with a pair of records (probabilistic score)')
    .description(
      'show the records of a customer and the rules, values and path that linked them; a probabilistic link also shows its ' +
        'waterfall (the weight of the prior and of each comparison\'s level, the total and the match probability). With ' +
        '--with, explain one pair of records instead: `tideline identity explain crm:C2 --with eshop:1` prints its ' +
        'waterfall and whether it was linked or is in the review band, or says that it was not scored.',
    )
    .option('-m, --model <name>', 'the identity model to read (needed when the project has several)')
    .option('-w, --with <source:id>', 'a second record: explain the probabilistic score of the pair <who> (a source:id too) and this one')
    .exitOverride()
    .action(async (who: string, options: { model?: string; with?: string }, command: Command) => {
      process.exitCode = await run(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await load(context);
        const model = identityModel(engine.models(project), options.model);
        const scoring = resolveScoring(model.spec, resolvePlan(model.spec));
        if (options.with !== undefined) pairProblems(model, scoring, who, options.with);
        const connection = await connect(context, project, { readOnly: true });
        try {
          const explain = explainContext(project, model, connection);
          if (options.with !== undefined) return await explainPair(context, explain, model, scoring!, who, options.with, connection, EXIT);
          const ids = await findCustomers(explain, who);
          if (!ids.length) {
            // The argument may be an e-mail: logs carry it masked.
            const shown = who.includes('@') ? maskValue('email', who) : who;
            context.logger.error({ model: model.name }, `no customer of ${model.name} matches ${shown} (a customer id, an e-mail or source:id); was the model built?`);
            return EXIT.failed;
          }
          for (const [i, id] of ids.entries()) {
            const explanation = await explainCustomer(explain, id);
            if (!explanation) continue;
            let text = (i ? '\n' : '') + renderExplanation(explanation, model.name);
            if (scoring) text += renderProbabilisticLinks(await explainProbabilisticLinks(explain, scoring, explanation), model.name);
            process.stdout.write(text);
          }
          return EXIT.ok;
        } finally {
          await connection.close();
        }
      });
    });

  identity
    .command('train')
    .summary('retrain the probabilistic parameters of an identity model, build it, and print them')
    .description(
      'retrain the probabilistic parameters of an identity model: empties <model>_parameters, so that the build it then ' +
        'runs (as `tideline run --select <model>`) trains m, u and the prior afresh instead of re-using them; prints them',
    )
    .option('-m, --model <name>', 'the identity model to train (needed when the project has several)')
    .exitOverride()
    .action(async (options: { model?: string }, command: Command) => {
      process.exitCode = await run(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await load(context);
        const model = identityModel(engine.models(project), options.model);
        const scoring = resolveScoring(model.spec, resolvePlan(model.spec));
        if (!scoring) {
          throw problem(`model ${model.name} has no \`probabilistic\` block: it has no parameters to train (add \`probabilistic: {}\` to score pairs of records)`);
        }
        const table = { schema: project.target.schema, name: `${model.name}_parameters` };
        // The parameters' carry step runs fresh, so the build trains them again; they replace the old ones only when
        // the whole build succeeds.
        const { code, results } = await engine.build(context, project, [model.name], { fullRefresh: false, command: 'identity train', fresh: [PARAMETERS_CARRY] });
        const result = results.find((r) => r.model === model.name);
        if (code !== EXIT.ok || result?.status !== 'success') {
          context.logger.error({ model: model.name }, `${model.name} was not built, so its parameters were not trained; ${table.name} is as it was`);
          return EXIT.failed;
        }
        const connection = await connect(context, project, { readOnly: true });
        try {
          const parameters = await readParameters(connection, table, scoring);
          process.stdout.write(renderParameters(model.name, parameters));
        } finally {
          await connection.close();
        }
        return EXIT.ok;
      });
    });
}

function explainContext(project: Project, model: KindModel<IdentitySpec>, connection: Connection): ExplainContext {
  return {
    dialect: project.target.dialect,
    io: connection,
    spec: model.spec,
    table: { schema: project.target.schema, name: model.name },
    relation: (name) => {
      const source = project.sources.get(name);
      return source ? sourceRelation(project, source) : project.target.dialect.table({ schema: project.target.schema, name });
    },
  };
}

const problem = (message: string) => new ConfigError([{ code: 'bad-option', severity: 'error', message }]);

/** The pair form needs a probabilistic model and two `source:id` records. */
function pairProblems(model: KindModel<IdentitySpec>, scoring: ScoringPlan | undefined, a: string, b: string): void {
  if (!scoring) throw problem(`--with: model ${model.name} has no \`probabilistic\` block, so no pair of records was scored`);
  for (const [name, key] of [['<who>', a], ['--with', b]] as const) {
    if (!recordKey(key) || key.includes('@')) throw problem(`${name}: with --with, both records are written source:id (e.g. crm:C2)`);
  }
}

/** `explain <a> --with <b>`: the pair's row of `<name>_pairs`, or why there is none. */
async function explainPair(
  context: CommandContext,
  explain: ExplainContext,
  model: KindModel<IdentitySpec>,
  scoring: ScoringPlan,
  a: string,
  b: string,
  connection: Connection,
  exit: KindCommandEngine<IdentitySpec>['exit'],
): Promise<number> {
  const customers = { a: await customerOfRecord(explain, a), b: await customerOfRecord(explain, b) };
  const unknown = [a, b].filter((key, i) => (i ? customers.b : customers.a) === undefined);
  if (unknown.length) {
    context.logger.error({ model: model.name }, `no record ${unknown.join(' nor ')} in ${model.name}_map (records are source:id, as the map lists them); was the model built?`);
    return exit.failed;
  }
  if (!(await connection.columns({ ...explain.table, name: `${model.name}_pairs` }))) {
    context.logger.error({ model: model.name }, `${model.name}_pairs does not exist: build the model with its probabilistic block first (tideline run --select ${model.name})`);
    return exit.failed;
  }
  const found = await readPairs(explain, scoring, [[a, b]]);
  process.stdout.write(renderPair(a, b, found.get(pairKey(a, b)), scoring, model.name, customers));
  return exit.ok;
}

/** The trained parameters as a table: the prior, then per comparison each level's m, u and weight. */
export function renderParameters(model: string, parameters: readonly ParameterReading[]): string {
  const prior = parameters.find((p) => p.comparison === PRIOR);
  const levels = parameters.filter((p) => p.comparison !== PRIOR);
  const num = (x: number) => (x === 0 ? '0' : x >= 0.001 ? x.toFixed(4) : x.toExponential(2));
  const header = ['comparison', 'level', 'm', 'u', 'weight'];
  const rows = levels.map((p) => [p.comparison, p.label, num(p.m), num(p.u), signedWeight(p.weight)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => '  ' + cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const lines = [
    `Parameters of ${model}${prior?.trainedAt ? `, trained at ${prior.trainedAt}` : ''} (weights in log2 odds; m: share of matches at the level, u: share of non-matches):`,
    `  prior: ${prior ? `${oneIn(prior.m)} are one person (${num(prior.m)}), weight ${signedWeight(prior.weight)}` : 'none'}`,
    '',
    line(header),
    ...rows.map(line),
  ];
  return lines.join('\n') + '\n';
}

/** The identity model named by --model, or the project's only one. */
function identityModel(models: readonly KindModel<IdentitySpec>[], name: string | undefined): KindModel<IdentitySpec> {
  const names = models.map((m) => m.name);
  if (name !== undefined) {
    const found = models.find((m) => m.name === name);
    if (!found) throw problem(`--model: no identity model named "${name}"${didYouMean(name, names)}; identity models: ${names.join(', ') || 'none'}`);
    return found;
  }
  if (models.length === 1) return models[0]!;
  throw problem(models.length ? `this project has several identity models (${names.join(', ')}): choose one with --model` : 'this project has no identity model (kind: identity)');
}
