import type { HostIO, ModelSummary, Step } from '../../models/model-kind.js';
import type { Logger } from '../log/logger.js';
import { redactor } from '../log/redact.js';
import type { Analysis } from '../project/analyse.js';
import { owningModel, type Project } from '../project/loader.js';
import { WarehouseError, type Connection } from '../warehouses/connection.js';
import { compileModel, countRows, type CompiledModel } from './compile.js';

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
}

export interface RunOptions {
  readonly fullRefresh?: boolean;
  readonly logger: Logger;
  /** Called when a model starts and ends, for progress display. */
  readonly onModel?: (event: { model: string; index: number; total: number; phase: 'start' | 'end'; result?: ModelResult }) => void;
}

/**
 * Builds the selected models in dependency order. Each model is built into a separate table and swapped in for the
 * visible one only when the whole build succeeded, so a failed or killed run leaves the previous version in place.
 * A model whose input failed in this run is skipped; independent models still build.
 */
export async function runModels(project: Project, connection: Connection, analysis: Analysis, selected: readonly string[], options: RunOptions): Promise<ModelResult[]> {
  const d = project.target.dialect;
  const log = options.logger;
  for (const statement of d.setupStatements()) {
    await connection.execute(statement).catch((error: unknown) => log.warn({ err: message(error) }, `setup statement failed: ${statement.text}`));
  }
  await connection.execute(d.createSchema(project.target.schema));

  const failed = new Set<string>();
  const results: ModelResult[] = [];
  for (const [index, name] of selected.entries()) {
    const model = project.models.get(name)!;
    const compiled = compileModel(project, analysis, model, { fullRefresh: options.fullRefresh ?? false });
    options.onModel?.({ model: name, index, total: selected.length, phase: 'start' });
    const blocking = [...new Set(model.inputs.map((i) => owningModel(project, i.relation)).filter((r): r is string => r !== undefined && failed.has(r)))];
    let result: ModelResult;
    if (!model.enabled) {
      result = { model: name, kind: model.kind.kind, status: 'skipped', rows: null, seconds: 0, sqlHash: compiled.sqlHash, error: 'disabled (enabled: false)', summary: null };
    } else if (blocking.length) {
      failed.add(name);
      result = { model: name, kind: model.kind.kind, status: 'skipped', rows: null, seconds: 0, sqlHash: compiled.sqlHash, error: `input failed: ${blocking.join(', ')}`, summary: null };
      log.warn({ model: name, inputs: blocking }, `skipped ${name}: its input failed`);
    } else {
      result = await buildModel(project, connection, compiled, log);
      if (result.status === 'error') failed.add(name);
    }
    results.push(result);
    options.onModel?.({ model: name, index, total: selected.length, phase: 'end', result });
  }
  return results;
}

async function buildModel(project: Project, connection: Connection, compiled: CompiledModel, log: Logger): Promise<ModelResult> {
  const d = project.target.dialect;
  const { model } = compiled;
  const started = performance.now();
  const seconds = () => Math.round(performance.now() - started) / 1000;
  const dropWorkTables = async () => {
    for (const table of [compiled.build, ...compiled.companions.map((c) => c.build), ...compiled.scratch]) await connection.execute(d.dropTable(table));
  };
  const io = hostIO(connection);
  const rounds: Record<string, number> = {};
  try {
    // A build killed earlier may have left its work tables behind.
    await dropWorkTables();
    await runSteps(io, compiled.plan.steps, model.name, log, rounds);
    const counted = await connection.query(countRows(project, compiled.build));
    const rows = Number(Object.values(counted[0] ?? {})[0] ?? 0);
    // The swap holds the companions' replacements first and the model's own last: one transaction where DDL is
    // transactional; otherwise each replace is atomic and a failure part-way leaves the model's table as it was.
    if (d.capabilities.transactionalDdl) await connection.runAtomically(compiled.swap);
    else for (const statement of compiled.swap) await connection.execute(statement);
    for (const table of compiled.scratch) await connection.execute(d.dropTable(table));
    log.info({ model: model.name, rows, seconds: seconds() }, `built ${model.name}: ${rows} rows`);
    const summary = await summarise(compiled, io, rounds, log);
    return { model: model.name, kind: model.kind.kind, status: 'success', rows, seconds: seconds(), sqlHash: compiled.sqlHash, error: null, summary };
  } catch (error) {
    await dropWorkTables().catch(() => undefined);
    const text = describeError(error);
    log.error({ model: model.name, statement: error instanceof WarehouseError ? error.statement : undefined }, `failed to build ${model.name}: ${text}`);
    return { model: model.name, kind: model.kind.kind, status: 'error', rows: null, seconds: seconds(), sqlHash: compiled.sqlHash, error: text, summary: null };
  }
}

function hostIO(connection: Connection): HostIO {
  return {
    dialect: connection.dialect,
    execute: (statement) => connection.execute(statement),
    query: (statement) => connection.query(statement),
    stream: (statement, options) => connection.stream(statement, options),
    columns: async (table) => (await connection.columns(table))?.map((c) => ({ name: c.name, type: c.type })),
  };
}

/** The kind's own summary (if it has one) and the rounds of repeated steps; a failing summary is logged, not fatal. */
async function summarise(compiled: CompiledModel, io: HostIO, rounds: Readonly<Record<string, number>>, log: Logger): Promise<ModelSummary | null> {
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

async function runSteps(io: HostIO, steps: readonly Step[], model: string, log: Logger, rounds: Record<string, number>): Promise<void> {
  for (const step of steps) {
    if (step.kind === 'sql') {
      log.debug({ model, step: step.label }, step.sql.text);
      await io.execute(step.sql);
      continue;
    }
    if (step.kind === 'host') {
      log.debug({ model, step: step.label }, step.describe);
      await step.run(io);
      continue;
    }
    for (let round = 1; ; round++) {
      if (round > step.maxRounds) throw new Error(`"${step.label}" did not converge within ${step.maxRounds} rounds`);
      await runSteps(io, step.body, model, log, rounds);
      const rows = await io.query(step.until);
      const changed = Number(Object.values(rows[0] ?? {})[0] ?? 0);
      log.debug({ model, step: step.label, round, changed }, `${step.label}: round ${round}, ${changed} changed`);
      rounds[step.label] = round;
      if (changed === 0) break;
    }
  }
}

function describeError(error: unknown): string {
  const text = message(error);
  return redactor.scrub(error instanceof WarehouseError && error.hint ? `${text} (hint: ${error.hint})` : text);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
