import type { HostIO, ModelSummary, Step } from '../../models/model-kind.js';
import type { TableRef } from '../dialects/dialect.js';
import type { Logger } from '../log/logger.js';
import type { Analysis } from '../project/analyse.js';
import { owningModel, type Project } from '../project/loader.js';
import { newRunId } from '../state/run-id.js';
import { describeFailure, inContext, WarehouseError, type Connection, type WarehouseUsage } from '../warehouses/connection.js';
import { boundsProblem, countTable, InputChecks } from './checks.js';
import { READABLE_STATE_TABLES, stateTable } from '../state/tables.js';
import { modelScript, countRows, type ModelScript } from './script.js';

export type ModelStatus = 'success' | 'error' | 'skipped';

export interface ModelResult {
  readonly model: string;
  readonly kind: string;
  readonly status: ModelStatus;
  readonly rows: number | null;
  readonly seconds: number;
  readonly sqlHash: string;
  readonly error: string | null;
  /** What the model kind reported after building (see ModelKind.summarise), plus rounds of repeated steps. */
  readonly summary: ModelSummary | null;
  /** What the build cost, where the warehouse reports it (Connection.usage); absent where it reports nothing. */
  readonly usage?: WarehouseUsage;
}

export interface RunOptions {
  readonly fullRefresh?: boolean;
  /**
   * Labels of `carry` steps to run fresh in this build, as a full refresh would, leaving the rest carried over
   * (`tideline identity train`: the trained parameters start afresh, the customer ids do not).
   */
  readonly fresh?: readonly string[];
  readonly logger: Logger;
  /**
   * The command and run the builds belong to, with which each model's statements are labelled in the warehouse
   * (Connection.withContext). Default: `run`, with a new run id.
   */
  readonly context?: { readonly command: string; readonly run: string };
  /**
   * Called after each model's build, built or not (`tideline build`: the data tests it completes, or those it leaves
   * unrun), before the next model starts.
   */
  readonly afterModel?: (result: ModelResult) => Promise<void>;
  /**
   * Sources and models held back (`tideline build`: their data tests failed), with why, consulted before each model
   * (it may grow during the run, as afterModel runs tests): the models reading them are skipped as if they had failed.
   */
  readonly blocked?: ReadonlyMap<string, string>;
  /** Called when a model starts and ends, for progress display. */
  readonly onModel?: (event: { model: string; index: number; total: number; phase: 'start' | 'end'; result?: ModelResult }) => void;
}

/**
 * Builds the selected models in dependency order. Each model is built into a separate table and swapped in for the
 * visible one only when the whole build succeeded, so a failed or killed run leaves the previous version in place.
 * A model whose input failed in this run is skipped; independent models still build.
 *
 * Work tables hold personal data (identity's copies of raw e-mails, say) and are never left in the model schema:
 * they are built in the target's work schema, which the run empties when it starts and when it ends — or, where the
 * dialect `buildsInTransaction`, inside the build's transaction, which a killed run never commits (the model's new
 * tables may then be built beside it: capabilities.buildsBesideModel).
 */
export async function runModels(project: Project, connection: Connection, analysis: Analysis, selected: readonly string[], options: RunOptions): Promise<ModelResult[]> {
  const d = project.target.dialect;
  const log = options.logger;
  for (const statement of d.setupStatements()) {
    await connection.execute(statement).catch((error: unknown) => log.warn({ err: message(error) }, `setup statement failed: ${statement.text}`));
  }
  await connection.execute(d.createSchema(project.target.schema));
  const empties = emptiesWorkSchema(project, connection);
  await openWorkSchema(project, connection, empties);
  try {
    return await buildSelected(project, connection, analysis, selected, options);
  } finally {
    if (empties) await closeWorkSchema(project, connection, log);
  }
}

/**
 * Whether this run empties the work schema when it starts and ends. Where builds commit as they go, a killed run may
 * have left work tables there: yes, whatever models this run builds. Where each build is one transaction nothing can
 * be left there, and emptying it would break the builds of a run going on at the same time: no — unless the
 * connection keeps the warehouse to this process (embedded DuckDB on a file: one writing process), so no other run
 * can be going on. DuckDB's work schema is still emptied so: a run killed before DuckDB built inside transactions may
 * have left tables there.
 */
function emptiesWorkSchema(project: Project, connection: Connection): boolean {
  return !project.target.dialect.capabilities.buildsInTransaction || connection.exclusive === true;
}

async function openWorkSchema(project: Project, connection: Connection, empty: boolean): Promise<void> {
  const d = project.target.dialect;
  if (empty) await connection.execute(d.dropSchema(project.target.workSchema));
  await connection.execute(d.createSchema(project.target.workSchema));
}

/** Drops the work schema (see emptiesWorkSchema); if that fails, the next run's start drops it. */
async function closeWorkSchema(project: Project, connection: Connection, log: Logger): Promise<void> {
  const d = project.target.dialect;
  await connection
    .execute(d.dropSchema(project.target.workSchema))
    .catch((error: unknown) => log.warn({ err: message(error) }, `could not drop the work schema ${project.target.workSchema}; the next run will`));
}

async function buildSelected(project: Project, connection: Connection, analysis: Analysis, selected: readonly string[], options: RunOptions): Promise<ModelResult[]> {
  const log = options.logger;
  const failed = new Set<string>();
  const results: ModelResult[] = [];
  const inputs = new InputChecks(project, connection, log);
  const missingState = await missingStateTables(project, connection);
  const context = options.context ?? { command: 'run', run: newRunId() };
  for (const [index, name] of selected.entries()) {
    const model = project.models.get(name)!;
    const compiled = modelScript(project, analysis, model, { fullRefresh: options.fullRefresh ?? false, missingState });
    options.onModel?.({ model: name, index, total: selected.length, phase: 'start' });
    const blocked = options.blocked;
    const blocking = [
      ...new Set(
        model.inputs.flatMap((i) => {
          const owner = owningModel(project, i.relation);
          if (owner !== undefined && (failed.has(owner) || blocked?.has(owner))) return [owner];
          return blocked?.has(i.relation) ? [i.relation] : [];
        }),
      ),
    ];
    let result: ModelResult;
    if (!model.enabled) {
      result = { model: name, kind: model.kind.kind, status: 'skipped', rows: null, seconds: 0, sqlHash: compiled.sqlHash, error: 'disabled (enabled: false)', summary: null };
    } else if (blocking.length) {
      failed.add(name);
      const reasons = blocking.map((b) => (!failed.has(b) && blocked?.has(b) ? `${b} (${blocked.get(b)})` : b));
      result = { model: name, kind: model.kind.kind, status: 'skipped', rows: null, seconds: 0, sqlHash: compiled.sqlHash, error: `input failed: ${reasons.join(', ')}`, summary: null };
      log.warn({ model: name, inputs: blocking }, `skipped ${name}: its input failed`);
    } else {
      // A source past its error_after keeps the models reading it from building, and their dependents through them.
      const stale = (await inputs.staleSources(model.inputs.map((i) => i.relation))).join('; ');
      if (stale) {
        log.error({ model: name }, `not building ${name}: ${stale}; its previous table stays in place`);
        result = { model: name, kind: model.kind.kind, status: 'error', rows: null, seconds: 0, sqlHash: compiled.sqlHash, error: stale, summary: null };
      } else {
        const labelled = inContext(connection, { ...context, model: name });
        result = await buildModel(project, labelled, compiled, log, options.fresh ?? []);
        const usage = await usageOf(labelled, name, log);
        if (usage) result = { ...result, usage };
      }
      if (result.status === 'error') failed.add(name);
    }
    await options.afterModel?.(result);
    results.push(result);
    options.onModel?.({ model: name, index, total: selected.length, phase: 'end', result });
  }
  return results;
}

/** What a model's build cost, where the warehouse reports it; a failure to read it is logged, not fatal. */
async function usageOf(connection: Connection, model: string, log: Logger): Promise<WarehouseUsage | undefined> {
  if (!connection.usage) return undefined;
  try {
    return await connection.usage();
  } catch (error) {
    log.warn({ model, err: describeFailure(error) }, `could not read what building ${model} cost`);
    return undefined;
  }
}

/**
 * The state tables models may read that the warehouse does not hold yet (no sync ran): they plan as empty. Checked
 * only when the project has a pressure policy, the one reader of state there is.
 */
export async function missingStateTables(project: Project, connection: Connection): Promise<Set<string>> {
  const missing = new Set<string>();
  if (!project.pressure) return missing;
  for (const name of Object.keys(READABLE_STATE_TABLES)) {
    if (!(await connection.columns(stateTable(project.target.stateSchema, name)))) missing.add(name);
  }
  return missing;
}

async function buildModel(project: Project, connection: Connection, compiled: ModelScript, log: Logger, fresh: readonly string[]): Promise<ModelResult> {
  const d = project.target.dialect;
  const { model } = compiled;
  const started = performance.now();
  const seconds = () => Math.round(performance.now() - started) / 1000;
  const rounds: Record<string, number> = {};
  try {
    let rows: number;
    if (d.capabilities.buildsInTransaction) {
      if (!connection.transaction) throw new Error(`the ${d.name} connection lacks transaction(), which builds on ${d.name} need`);
      rows = await connection.transaction(async (session) => {
        await dropTables(session, earlierWorkTables(project, compiled));
        return buildAndSwap(project, session, compiled, log, rounds, fresh);
      });
    } else {
      try {
        await dropTables(connection, earlierWorkTables(project, compiled));
        rows = await buildAndSwap(project, connection, compiled, log, rounds, fresh);
      } catch (error) {
        await dropTables(connection, workTables(compiled)).catch(() => undefined);
        throw error;
      }
    }
    log.info({ model: model.name, rows, seconds: seconds() }, `built ${model.name}: ${rows} rows`);
    const summary = await summarise(compiled, hostIO(connection), rounds, log);
    return { model: model.name, kind: model.kind.kind, status: 'success', rows, seconds: seconds(), sqlHash: compiled.sqlHash, error: null, summary };
  } catch (error) {
    const text = describeFailure(error);
    log.error({ model: model.name, statement: error instanceof WarehouseError ? error.statement : undefined }, `failed to build ${model.name}: ${text}`);
    return { model: model.name, kind: model.kind.kind, status: 'error', rows: null, seconds: seconds(), sqlHash: compiled.sqlHash, error: text, summary: null };
  }
}

/** Runs the plan, counts the new table's rows, swaps it in with its companions and drops the scratch tables. */
async function buildAndSwap(project: Project, connection: Connection, compiled: ModelScript, log: Logger, rounds: Record<string, number>, fresh: readonly string[]): Promise<number> {
  const d = project.target.dialect;
  await runSteps({ io: hostIO(connection), model: compiled.model.name, log, fullRefresh: compiled.fullRefresh, fresh: new Set(fresh), rounds }, compiled.plan.steps);
  const counted = await connection.query(countRows(project, compiled.build));
  const rows = Number(Object.values(counted[0] ?? {})[0] ?? 0);
  // The bounds are checked while the previous table is still the visible one: a build outside them fails here, and
  // the failure's clean-up (a rollback, or dropping the work tables) leaves that table as it was. Its row count is
  // the previous build's, which `max_change` compares with: no state of its own to keep.
  if (compiled.model.checks) {
    const previous = await countTable(connection, compiled.table);
    const problem = boundsProblem(compiled.model, rows, previous);
    if (problem) throw new Error(`${problem}; ${previous === undefined ? 'no table was created' : 'the previous table stays in place'}`);
  }
  // The swap holds the companions' replacements first and the model's own last: one transaction where DDL is
  // transactional (inside a build's transaction, a savepoint on PostgreSQL; on DuckDB, which has none, a failure
  // rolls the whole build back); otherwise each replace is atomic and a failure part-way leaves the model's table as
  // it was.
  if (d.capabilities.transactionalDdl) await connection.runAtomically(compiled.swap);
  else for (const statement of compiled.swap) await connection.execute(statement);
  await dropTables(connection, compiled.scratch);
  return rows;
}

/** The tables a build works in: the model's and its companions' new tables, then its scratch tables. */
function workTables(compiled: ModelScript): TableRef[] {
  return [compiled.build, ...compiled.companions.map((c) => c.build), ...compiled.scratch];
}

/**
 * The work tables' names in the model schema, where Tideline built before it had a work schema: a build killed then
 * may have left them there, readable, so every build drops them first.
 */
function earlierWorkTables(project: Project, compiled: ModelScript): TableRef[] {
  return workTables(compiled).map((table) => ({ ...table, schema: project.target.schema }));
}

async function dropTables(connection: Connection, tables: readonly TableRef[]): Promise<void> {
  for (const table of tables) await connection.execute(connection.dialect.dropTable(table));
}

function hostIO(connection: Connection): HostIO {
  return {
    dialect: connection.dialect,
    execute: (statement) => connection.execute(statement),
    query: (statement) => connection.query(statement),
    stream: (statement, options) => connection.stream(statement, options),
    columns: async (table) => (await connection.columns(table))?.map((c) => ({ name: c.name, type: c.type })),
    insertRows: (table, columns, rows) => connection.insertRows(table, columns, [rows]),
  };
}

/** The kind's own summary (if it has one) and the rounds of repeated steps; a failing summary is logged, not fatal. */
async function summarise(compiled: ModelScript, io: HostIO, rounds: Readonly<Record<string, number>>, log: Logger): Promise<ModelSummary | null> {
  const { model, table } = compiled;
  let summary: ModelSummary | null = null;
  if (model.kind.summarise) {
    try {
      summary = await model.kind.summarise(model.spec, {
        dialect: io.dialect,
        name: model.name,
        table,
        companion: (suffix) => ({ ...table, name: `${table.name}_${suffix}` }),
        io,
      });
      for (const line of summary.lines) log.info({ model: model.name }, line);
    } catch (error) {
      log.warn({ model: model.name, err: message(error) }, `could not summarise ${model.name}`);
    }
  }
  if (Object.keys(rounds).length === 0) return summary;
  return { lines: summary?.lines ?? [], data: { ...(summary?.data ?? {}), rounds } };
}

/** What the steps of one build run with. */
interface StepRun {
  readonly io: HostIO;
  readonly model: string;
  readonly log: Logger;
  readonly fullRefresh: boolean;
  /** Labels of carry steps run fresh (RunOptions.fresh). */
  readonly fresh: ReadonlySet<string>;
  /** Rounds of each repeated step, filled in as they run. */
  readonly rounds: Record<string, number>;
}

async function runSteps(run: StepRun, steps: readonly Step[]): Promise<void> {
  const { io, model, log } = run;
  for (const step of steps) {
    if (step.kind === 'sql') {
      log.debug({ model, step: step.label }, step.sql.text);
      await io.execute(step.sql);
      continue;
    }
    if (step.kind === 'carry') {
      await runCarry(run, step);
      continue;
    }
    if (step.kind === 'timed') {
      await runSteps(run, step.body(io.dialect.timestampLiteral(new Date())));
      continue;
    }
    if (step.kind === 'host') {
      log.debug({ model, step: step.label }, step.describe);
      await step.run(io);
      continue;
    }
    for (let round = 1; ; round++) {
      if (round > step.maxRounds) throw new Error(`"${step.label}" did not converge within ${step.maxRounds} rounds`);
      await runSteps(run, step.body);
      const rows = await io.query(step.until);
      const changed = Number(Object.values(rows[0] ?? {})[0] ?? 0);
      log.debug({ model, step: step.label, round, changed }, `${step.label}: round ${round}, ${changed} changed`);
      // A repeat inside another runs more than once: its most rounds are reported (identity's caps re-run the
      // components over the few customers a cap changed, in fewer rounds than the whole graph took).
      run.rounds[step.label] = Math.max(run.rounds[step.label] ?? 0, round);
      if (changed === 0) break;
    }
  }
}

/** A `carry` step, as its documentation in models/model-kind.ts says: one behaviour for every kind. */
async function runCarry(run: StepRun, step: Extract<Step, { kind: 'carry' }>): Promise<void> {
  const { io, model, log } = run;
  const d = io.dialect;
  const columns = run.fullRefresh || run.fresh.has(step.label) ? undefined : await io.columns(step.from);
  if (!columns) {
    log.debug({ model, step: step.label }, step.fresh.text);
    return io.execute(step.fresh);
  }
  const present = new Set(columns.map((c) => d.identifierKey(c.name)));
  const missing = step.columns.filter((name) => !present.has(d.identifierKey(name)));
  if (missing.length) {
    const table = d.table(step.from).text;
    throw new Error(
      `${step.label}: ${table} lacks ${missing.length > 1 ? 'the columns' : 'the column'} ${missing.join(', ')}, which this build carries over from the previous one ` +
        `(an older Tideline, or another tool, wrote that table). Nothing was changed. Rebuild with --full-refresh to start afresh without it (what it holds is then dropped)`,
    );
  }
  log.debug({ model, step: step.label }, step.carried.text);
  await io.execute(step.carried);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
