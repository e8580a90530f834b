import { createHash } from 'node:crypto';
import type { PlanContext, ModelPlan, Step } from '../../models/model-kind.js';
import type { Dialect, TableRef } from '../dialects/dialect.js';
import { Sql, sql } from '../dialects/sql.js';
import { noRows, READABLE_STATE_TABLES, stateTable } from '../state/tables.js';
import type { Analysis } from '../project/analyse.js';
import { sourceRelation } from '../project/analyse.js';
import type { ModelDef, Project } from '../project/loader.js';

/**
 * Names of the tables a build works in: `<model>__tl_build` for the model's new table, `<model>__tl_<suffix>` for its
 * companions' and its scratch tables. They are in the target's work schema, never the model schema, where a killed
 * build would leave them readable; except the new tables of a build inside a transaction, which no reader sees, built
 * beside the model where the warehouse cannot move them (capabilities.buildsBesideModel).
 */
export const BUILD_SUFFIX = '__tl_build';
export const SCRATCH_PREFIX = '__tl_';

/** A model compiled for one target: its plan, the tables it touches, and the full script for `tideline compile`. */
export interface ModelScript {
  readonly model: ModelDef;
  readonly plan: ModelPlan;
  /** The model's visible table. */
  readonly table: TableRef;
  /** Where the build writes before the swap: in the work schema, or beside `table` (capabilities.buildsBesideModel). */
  readonly build: TableRef;
  /** Intermediate tables the plan uses, in the work schema. */
  readonly scratch: readonly TableRef[];
  /** Tables kept beside the model's own (see PlanContext.companion), swapped in with it. */
  readonly companions: readonly ScriptCompanion[];
  /** Statements that replace `table` with `build`, after replacing each companion: the model's own table last. */
  readonly swap: readonly Sql[];
  /** Compiled for `--full-refresh`: `carry` steps start afresh without reading the previous build. */
  readonly fullRefresh: boolean;
  /** The whole build as one readable script. */
  readonly script: string;
  /** SHA-256 of the script: changes exactly when the SQL does. */
  readonly sqlHash: string;
}

export interface ScriptCompanion {
  readonly suffix: string;
  /** The visible table, `<model>_<suffix>`. */
  readonly table: TableRef;
  /** Where the build writes it, `<model>__tl_<suffix>` beside `build`: the same name budget as a scratch table. */
  readonly build: TableRef;
}

export interface ScriptOptions {
  readonly fullRefresh?: boolean;
  /**
   * Shared state tables the warehouse does not hold yet (see PlanContext.stateRelation): they read as empty. Left
   * out, every state table is read as a table (what `tideline compile` shows).
   */
  readonly missingState?: ReadonlySet<string>;
}

/** A model's compile context with the scratch and companion tables it handed out, by suffix. */
export interface ModelPlanContext {
  readonly context: PlanContext;
  readonly scratch: ReadonlyMap<string, TableRef>;
  readonly companions: ReadonlyMap<string, ScriptCompanion>;
}

/**
 * The context a model kind compiles in for this project and target: relations resolved to sources and models,
 * scratch and companion tables named after the model. Building it touches no warehouse, so commands that only read
 * (e.g. `tideline audience preview`, which runs an audience's SELECT as a query) compile with the same context as
 * `tideline run`.
 */
export function modelPlanContext(project: Project, analysis: Analysis, model: ModelDef, options: Pick<ScriptOptions, 'missingState'> = {}): ModelPlanContext {
  const d = project.target.dialect;
  const { schema, workSchema } = project.target;
  const table: TableRef = { schema, name: model.name };
  // The new tables are swapped in by renaming them where they were built: a move between schemas is a copy on DuckDB.
  // Beside the model only inside the build's transaction, which no reader sees and a killed run never commits.
  if (d.capabilities.buildsBesideModel && !d.capabilities.buildsInTransaction) throw new Error(`the ${d.name} dialect builds beside the model without building in a transaction: work tables would be left readable`);
  const buildSchema = d.capabilities.buildsBesideModel ? schema : workSchema;
  const build: TableRef = { schema: buildSchema, name: `${model.name}${BUILD_SUFFIX}` };
  const scratch = new Map<string, TableRef>();
  const companions = new Map<string, ScriptCompanion>();
  const context: PlanContext = {
    dialect: d,
    name: model.name,
    output: build,
    current: table,
    vars: project.vars,
    policies: project.policies,
    pressure: project.pressure,
    stateRelation: (name) => stateRelation(d, project.target.stateSchema, name, options.missingState?.has(name) ?? false),
    columnsOf: (relation) => analysis.columns.get(relation),
    relation: (name) => {
      const source = project.sources.get(name);
      if (source) return sourceRelation(project, source);
      if (project.models.has(name) || project.companions.has(name)) return d.table({ schema, name });
      throw new Error(`model ${model.name} compiled a reference to ${name}, which its inputs() did not declare`);
    },
    scratch: (suffix) => {
      if (!/^[a-z0-9_]+$/.test(suffix)) throw new Error(`scratch table suffix must be lower-case snake_case: ${suffix}`);
      if (companions.has(suffix)) throw new Error(`"${suffix}" names a companion table of ${model.name}; a scratch table needs another suffix`);
      const ref = { schema: workSchema, name: `${model.name}${SCRATCH_PREFIX}${suffix}` };
      scratch.set(suffix, ref);
      return ref;
    },
    companion: (suffix) => {
      if (!/^[a-z0-9_]+$/.test(suffix)) throw new Error(`companion table suffix must be lower-case snake_case: ${suffix}`);
      if (scratch.has(suffix)) throw new Error(`"${suffix}" names a scratch table of ${model.name}; a companion table needs another suffix`);
      const companion = companions.get(suffix) ?? { suffix, table: { schema, name: `${model.name}_${suffix}` }, build: { schema: buildSchema, name: `${model.name}${SCRATCH_PREFIX}${suffix}` } };
      companions.set(suffix, companion);
      return { build: companion.build, current: companion.table };
    },
  };
  return { context, scratch, companions };
}

export function modelScript(project: Project, analysis: Analysis, model: ModelDef, options: ScriptOptions = {}): ModelScript {
  const d = project.target.dialect;
  const { context, scratch, companions } = modelPlanContext(project, analysis, model, options);
  const table = context.current;
  const build = context.output;
  const plan = model.kind.plan(model.spec, context);
  // `--full-refresh` is the runner's to apply, to every carry step alike: a kind's plan does not see it.
  const fullRefresh = options.fullRefresh ?? false;
  const swap = [...[...companions.values()].flatMap((c) => d.replaceTable(c.build, c.table)), ...d.replaceTable(build, table)];
  const script = renderScript(project, model, [build, ...[...companions.values()].map((c) => c.build)], [...scratch.values()], plan, swap, fullRefresh);
  return {
    model,
    plan,
    table,
    build,
    scratch: [...scratch.values()],
    companions: [...companions.values()],
    swap,
    fullRefresh,
    script,
    sqlHash: createHash('sha256').update(script).digest('hex'),
  };
}

/** A readable state table, or an empty relation with its columns when the warehouse does not hold it yet. */
function stateRelation(d: Dialect, schema: string, name: string, missing: boolean): Sql {
  const columns = READABLE_STATE_TABLES[name];
  if (!columns) throw new Error(`models may not read the state table ${name}`);
  return missing ? noRows(d, columns) : d.table(stateTable(schema, name));
}

/** Stands for the time of the build in compiled scripts (see the `timed` step); the runner puts a literal there. */
const RUN_TIME = sql`:run_time`;

/** `builds` is the model's build table followed by its companions' build tables. */
function renderScript(project: Project, model: ModelDef, builds: readonly TableRef[], scratch: readonly TableRef[], plan: ModelPlan, swap: readonly Sql[], fullRefresh: boolean): string {
  const d = project.target.dialect;
  const [build, ...companions] = builds;
  const into = [build!, ...companions].map((t) => d.table(t).text).join(', ');
  const swapped = d.capabilities.transactionalDdl ? ' inside one transaction' : companions.length ? ' by atomic replaces, the model last' : ' by an atomic replace';
  const parts: string[] = [
    `-- ${model.name} (${model.kind.kind}) for target ${project.target.name} (${d.name})`,
    d.capabilities.buildsInTransaction
      ? `-- Built inside one transaction, into ${into}, then swapped in before it commits.`
      : `-- Built into ${into}, then swapped in${swapped}.`,
    '',
    ...[...builds, ...scratch].map((t) => `${d.dropTable(t).text};`),
    '',
  ];
  const render = (steps: readonly Step[], depth: number): void => {
    const pad = '  '.repeat(depth);
    for (const step of steps) {
      if (step.kind === 'sql') {
        parts.push(`${pad}-- ${step.label}`, indent(step.sql.text, pad) + ';', '');
      } else if (step.kind === 'carry') {
        // The branch the runner takes depends on the warehouse, so both are printed; a full refresh takes one.
        const from = d.table(step.from).text;
        if (fullRefresh) {
          parts.push(`${pad}-- ${step.label}: full refresh, ${from} is not read`, indent(step.fresh.text, pad) + ';', '');
        } else {
          parts.push(
            `${pad}-- ${step.label}, when the previous build left ${from} (the build fails if it lacks any of ${step.columns.join(', ')}):`,
            indent(step.carried.text, pad) + ';',
            '',
            `${pad}-- ${step.label}, on the first build or a full refresh:`,
            indent(step.fresh.text, pad) + ';',
            '',
          );
        }
      } else if (step.kind === 'timed') {
        parts.push(`${pad}-- "${step.label}": :run_time below stands for the time the build reaches this step (UTC)`, '');
        render(step.body(RUN_TIME), depth + 1);
        parts.push(`${pad}-- end "${step.label}"`, '');
      } else if (step.kind === 'host') {
        parts.push(`${pad}-- ${step.label}: computed by Tideline, not SQL`, indent(step.describe, `${pad}--   `), '');
      } else {
        parts.push(`${pad}-- repeat "${step.label}" (at most ${step.maxRounds} rounds) until this returns 0:`, indent(step.until.text, `${pad}--   `), '');
        render(step.body, depth + 1);
        parts.push(`${pad}-- end repeat "${step.label}"`, '');
      }
    }
  };
  render(plan.steps, 0);
  parts.push('-- swap in', ...swap.map((s) => `${s.text};`));
  if (scratch.length) parts.push('', '-- clean up', ...scratch.map((t) => `${d.dropTable(t).text};`));
  return parts.join('\n') + '\n';
}

function indent(text: string, pad: string): string {
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

/** `SELECT COUNT(*)` of a table, for run results. */
export function countRows(project: Project, table: TableRef): Sql {
  return sql`SELECT COUNT(*) AS ${project.target.dialect.id('n')} FROM ${project.target.dialect.table(table)}`;
}
