import type { Command } from 'commander';
import type { GlobalOptions } from '../../src/cli/context.js';
import { sql, type Sql } from '../../src/dialects/sql.js';
import { asOfSql } from '../../src/expressions/as-of.js';
import { missingStateTables } from '../../src/pipeline/runner.js';
import { modelPlanContext } from '../../src/pipeline/script.js';
import { SHARED_TABLES } from '../../src/state/tables.js';
import type { Analysis } from '../../src/project/analyse.js';
import { owningModel, type Project } from '../../src/project/loader.js';
import { ConfigError } from '../../src/project/problems.js';
import { didYouMean } from '../../src/project/suggest.js';
import { maskIfPersonal, maskValue, personalName } from '../../src/sync/mask.js';
import type { Connection } from '../../src/warehouses/connection.js';
import type { KindCommandEngine, KindCommands, KindModel, PlanContext } from '../model-kind.js';
import { explainPressure, renderExplanation, type PressureExplanation } from './explain.js';
import { effectiveAsOf } from './fields.js';
import { appliesTo, currentMembers } from './pressure.js';
import { membershipSelect } from './membership.js';
import { readStanding, type ModelStanding } from './listing.js';
import { previewAudience, type AudiencePreview, type AudiencesQuery } from './preview.js';
import type { AudiencesSpec } from './schema.js';

type AudiencesModel = KindModel<AudiencesSpec>;

/** `tideline audience preview|list`. */
export const audienceCommands: KindCommands<AudiencesSpec> = { register };

function register(program: Command, engine: KindCommandEngine<AudiencesSpec>): void {
  const { run, exit: EXIT, load, analyse, connect } = engine;
  const audience = program.command('audience').description('preview and list the audiences of audiences models');
  audience
    .command('preview')
    .argument('<name>', 'the audience')
    .description('show what an audience would hold if built now (size, groups, overlaps, drops, sample members); creates nothing')
    .option('-m, --model <name>', 'the audiences model holding it (needed when several have an audience of that name)')
    .option('--samples <n>', 'sample members to show', (v) => Number.parseInt(v, 10), 10)
    .option('--show-pii', 'print sample members unmasked (they are personal data)')
    .option('--customer <key>', "explain marketing pressure for one customer: the caps, the messages counted, the entries that took the room")
    .option('--json', 'print one JSON object instead of text')
    .exitOverride()
    .action(async (name: string, options: { model?: string; samples: number; showPii?: boolean; json?: boolean; customer?: string }, command: Command) => {
      process.exitCode = await run(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await load(context);
        const model = audiencesModelOf(engine, project, name, options.model);
        const { analysis, connection } = await analyse(context, project, false, { readOnly: true });
        try {
          const missing = await unbuiltInputs(project, connection!, model);
          if (missing.length) {
            const which = missing.length === 1 ? `${missing[0]}, which is` : `${missing.join(', ')}, which are`;
            context.logger.error(
              { model: model.name, missing },
              `audience ${name} (model ${model.name}) reads ${which} not built in target ${project.target.name}: run \`tideline run --select +${model.name}\` first (or \`tideline run --select ${missing.map((m) => `+${m}`).join(' ')}\` to build only what the preview reads)`,
            );
            return EXIT.failed;
          }
          const others: AudiencesQuery[] = [];
          const skipped: string[] = [];
          for (const other of audiencesModels(engine, project)) {
            if (other.name === model.name) continue;
            if ((await unbuiltInputs(project, connection!, other)).length) skipped.push(other.name);
            else others.push(await audiencesQuery(project, analysis, other, connection!));
          }
          for (const other of skipped) context.logger.warn({ model: other }, `no overlap with the audiences of ${other}: its inputs are not built in target ${project.target.name}`);
          const samples = Number.isFinite(options.samples) && options.samples >= 0 ? options.samples : 10;
          const own = await audiencesQuery(project, analysis, model, connection!);
          const preview = await previewAudience(connection!, project.target.dialect, own, name, others, samples);
          const shown: AudiencePreview = options.showPii ? preview : { ...preview, samples: preview.samples.map((row) => maskSample(row, own.spec.key)) };
          const explained = options.customer === undefined ? undefined : await explainCustomer(project, own, name, options.customer, connection!);
          if (options.json) process.stdout.write(JSON.stringify({ ...shown, overlap_skipped: skipped, pii_masked: !options.showPii, ...(explained === undefined ? {} : { pressure: explained }) }) + '\n');
          else {
            process.stdout.write(renderPreview(shown, skipped, !options.showPii));
            if (options.customer !== undefined) process.stdout.write(explained ? renderExplanation(explained) : 'marketing pressure: this project declares no pressure policy (tideline.yml `pressure:`)\n');
          }
          return EXIT.ok;
        } finally {
          await connection!.close();
        }
      });
    });
  audience
    .command('list')
    .description('list every audience with its size after the last `tideline run` and how it changed in that run')
    .option('--json', 'one JSON object per audience')
    .exitOverride()
    .action(async (options: { json?: boolean }, command: Command) => {
      process.exitCode = await run(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await load(context);
        const models = audiencesModels(engine, project);
        if (!models.length) {
          process.stdout.write('this project has no audiences model (kind: audiences)\n');
          return EXIT.ok;
        }
        const connection = await connect(context, project, { readOnly: true });
        try {
          const d = project.target.dialect;
          const schema = project.target.schema;
          const standings: ModelStanding[] = [];
          for (const model of models) {
            const tables = { report: { schema, name: `${model.name}_report` }, history: { schema, name: `${model.name}_history` } };
            standings.push(await readStanding(connection, d, model.name, model.spec, tables));
          }
          process.stdout.write(options.json ? standings.flatMap(listJson).join('\n') + '\n' : standings.map((s) => renderStanding(s, project.target.name)).join('\n'));
          return EXIT.ok;
        } finally {
          await connection.close();
        }
      });
    });
}

/** The audiences models, each after the models it reads. */
function audiencesModels(engine: KindCommandEngine<AudiencesSpec>, project: Project): AudiencesModel[] {
  return project.order.flatMap((name) => engine.model(project.models.get(name)!) ?? []);
}

/** The audiences model defining audience `name` (the one named by --model, when given). */
function audiencesModelOf(engine: KindCommandEngine<AudiencesSpec>, project: Project, name: string, modelName: string | undefined): AudiencesModel {
  const problem = (code: string, message: string) => new ConfigError([{ code, severity: 'error', message }]);
  const models = audiencesModels(engine, project);
  if (!models.length) throw problem('no-audiences', 'this project has no audiences model (kind: audiences); see the audiences section of README.md');
  let candidates = models;
  if (modelName !== undefined) {
    const model = models.find((m) => m.name === modelName);
    if (!model) throw problem('bad-option', `--model: no audiences model named "${modelName}"${didYouMean(modelName, models.map((m) => m.name))}; audiences models: ${models.map((m) => m.name).join(', ')}`);
    candidates = [model];
  }
  const names = (m: AudiencesModel) => m.spec.audiences.map((a) => a.name);
  const holding = candidates.filter((m) => names(m).includes(name));
  if (holding.length === 1) return holding[0]!;
  if (holding.length > 1) throw problem('ambiguous-audience', `audience "${name}" is in several audiences models (${holding.map((m) => m.name).join(', ')}): choose one with --model`);
  const known = candidates.flatMap(names);
  const where = modelName === undefined ? '' : ` in model ${modelName}`;
  throw problem('unknown-audience', `unknown audience "${name}"${where}${didYouMean(name, known)}; audiences: ${known.join(', ')}`);
}

/** Models (or their companion tables) a model reads that do not exist in the target yet. */
async function unbuiltInputs(project: Project, connection: Connection, model: AudiencesModel): Promise<string[]> {
  const missing: string[] = [];
  for (const relation of new Set(model.inputs.map((i) => i.relation))) {
    if (owningModel(project, relation) === undefined) continue;
    if (!(await connection.columns({ schema: project.target.schema, name: relation }))) missing.push(relation);
  }
  return missing;
}

/**
 * The model's membership SELECT as its build would run it now: the sent history read as empty before any sync, and
 * the current members read from the history table when the project's pressure policy applies to the model.
 */
export async function audiencesQuery(project: Project, analysis: Analysis, model: AudiencesModel, connection: Connection): Promise<AudiencesQuery & { context: PlanContext; previous: Sql }> {
  const d = project.target.dialect;
  const { context } = modelPlanContext(project, analysis, model, { missingState: await missingStateTables(project, connection) });
  const history = { schema: project.target.schema, name: `${model.name}_history` };
  const built = appliesTo(project.pressure, model.spec) && (await connection.columns(history)) !== undefined;
  const previous = sql`(${currentMembers(d, model.spec, context.relation(model.spec.customers), built ? d.table(history) : undefined)})`;
  return { model: model.name, spec: model.spec, select: membershipSelect(model.spec, context, previous), context, previous };
}

/** The pressure explanation for one customer, or undefined when the project has no policy. */
export async function explainCustomer(project: Project, own: Awaited<ReturnType<typeof audiencesQuery>>, audience: string, customer: string, connection: Connection): Promise<PressureExplanation | undefined> {
  const policy = project.pressure;
  if (!policy) return undefined;
  const d = project.target.dialect;
  const { context } = own;
  return explainPressure(connection, d, {
    model: own.model,
    spec: own.spec,
    audience,
    customer,
    policy,
    asOf: asOfSql(d, effectiveAsOf(own.spec, project.vars), project.vars),
    select: own.select,
    previous: own.previous,
    relations: { sent: context.stateRelation(SHARED_TABLES.messages), runs: context.stateRelation(SHARED_TABLES.runs), relation: context.relation, columnsOf: context.columnsOf },
  });
}

/**
 * A member's personal data masked (src/sync/mask.ts): the customer key, and the columns personal by name or value;
 * the group, segments, channels, scores and counts shown.
 */
function maskSample(row: Readonly<Record<string, unknown>>, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([column, value]) => [column, column === key ? maskValue(value) : column === 'audience_group' ? value : maskIfPersonal(value, personalName(column))]));
}

const count = (n: number) => n.toLocaleString('en');
const share = (n: number, of: number) => (of ? ` (${((100 * n) / of).toFixed(1)} %)` : '');

function renderPreview(p: AudiencePreview, skipped: readonly string[], masked: boolean): string {
  const row = (label: string, value: string, depth = 1) => `${'  '.repeat(depth)}${label.padEnd(40 - 2 * depth)} ${value}`;
  const lines = [
    `${p.audience} (model ${p.model}, channel ${p.channel}): preview, nothing built`,
    row('size', `${count(p.size)} members (${count(p.qualified)} qualified)`),
    row('per group', ''),
    ...p.groups.map((g) => row(g.group, `${count(g.members)}${share(g.members, p.size)}`, 2)),
    row('dropped', ''),
    row(`no ${p.channel} consent`, count(p.dropped.noConsent), 2),
    row('marketing pressure', count(p.dropped.capped), 2),
    ...p.cappedBy.map((c) => row(c.by, count(c.members), 3)),
    row('suppressed', count(p.dropped.suppressed), 2),
    row('overlap (members of both)', ''),
    ...p.overlap.map((o) => row(`${o.audience} (${o.model})`, `${count(o.members)}${share(o.members, p.size)}`, 2)),
    ...skipped.map((m) => row(`audiences of ${m}`, 'not computed: its inputs are not built', 2)),
    row(`sample members${masked ? ' (personal data masked; --show-pii to show)' : ''}`, p.samples.length ? '' : 'none'),
    ...p.samples.map((s) => `    ${JSON.stringify(s)}`),
  ];
  return lines.map((l) => l.trimEnd()).join('\n') + '\n';
}

function iso(date: Date | null): string | null {
  return date ? date.toISOString().replace('.000Z', 'Z') : null;
}

function renderStanding(s: ModelStanding, target: string): string {
  const lines = [s.builtAt ? `${s.model}: last built ${iso(s.builtAt)}` : `${s.model}: never built in target ${target}; run \`tideline run --select +${s.model}\``];
  const width = Math.max(...s.audiences.map((a) => a.audience.length));
  for (const a of s.audiences) {
    const head = `  ${a.audience.padEnd(width)}  ${a.channel.padEnd(5)}`;
    const r = a.last;
    if (!r) {
      lines.push(`${head}  ${s.builtAt ? 'not built yet (added since the last build)' : 'never built'}`);
      continue;
    }
    const change = a.previous === null ? `first build: ${count(r.entered)} entered` : `${signed(r.members - a.previous)} since the previous build: ${count(r.entered)} entered, ${count(r.exited)} left`;
    const extra = [r.holdout ? `${count(r.holdout)} held out` : '', r.noConsent ? `${count(r.noConsent)} without consent` : '', r.capped ? `${count(r.capped)} capped by pressure` : '', r.suppressed ? `${count(r.suppressed)} suppressed` : ''].filter(Boolean);
    lines.push(`${head}  ${count(r.members)} members; ${change}${extra.length ? ` (${extra.join(', ')})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

function signed(n: number): string {
  return n > 0 ? `+${count(n)}` : n < 0 ? `-${count(-n)}` : '±0';
}

function listJson(s: ModelStanding): string[] {
  return s.audiences.map((a) =>
    JSON.stringify({
      model: a.model,
      audience: a.audience,
      channel: a.channel,
      built_at: iso(a.last?.builtAt ?? null),
      members: a.last?.members ?? null,
      holdout: a.last?.holdout ?? null,
      no_consent: a.last?.noConsent ?? null,
      capped: a.last?.capped ?? null,
      suppressed: a.last?.suppressed ?? null,
      entered: a.last?.entered ?? null,
      exited: a.last?.exited ?? null,
      previous_members: a.previous,
      change: a.last && a.previous !== null ? a.last.members - a.previous : null,
    }),
  );
}
