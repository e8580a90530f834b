import type { TableRef } from '../dialects/dialect.js';
import { sql } from '../dialects/sql.js';
import { ageBefore, describeElapsed } from '../expressions/age.js';
import { sourceRelation } from '../project/analyse.js';
import type { Logger } from '../log/logger.js';
import type { ModelDef, Project, SourceDef } from '../project/loader.js';
import { describeFailure, type Connection, type Value } from '../warehouses/connection.js';

/** How recent a source is against its `freshness`: fresh, stale past `warn_after` (go on), or past `error_after` (stop). */
export interface FreshnessVerdict {
  readonly source: string;
  readonly level: 'fresh' | 'warn' | 'error';
  /** What was found, naming the source and its table: `source orders (shop.orders) is stale: …`. */
  readonly message: string;
  /** The latest `loaded_at`; undefined when the source has no row, or the column holds no instant (`unreadable`). */
  readonly latest?: Date;
  /** `loaded_at` holds values that are not instants: its age cannot be told at all (dbt's "runtime error"). */
  readonly unreadable?: boolean;
}

/**
 * Reads the latest `loaded_at` of a source that declares `freshness` and judges it at `now`. A source without rows
 * has no age: it is as stale as its strictest declared level. Only the latest value is read, never a row.
 */
export async function checkFreshness(project: Project, connection: Connection, source: SourceDef, now: Date): Promise<FreshnessVerdict | undefined> {
  const freshness = source.freshness;
  if (!freshness) return undefined;
  const d = connection.dialect;
  const rows = await connection.query(sql`SELECT MAX(${d.id(freshness.loaded_at)}) AS ${d.id('latest')} FROM ${sourceRelation(project, source)}`);
  const raw = rows[0]?.['latest'] ?? null;
  const latest = instant(raw);
  const name = sourceName(source);
  if (raw === null) return { source: source.name, level: freshness.error_after ? 'error' : 'warn', message: `source ${name} is stale: ${freshness.loaded_at} has no value (no rows)` };
  if (latest === undefined) return { source: source.name, level: 'error', unreadable: true, message: `source ${name}: ${freshness.loaded_at} is not a timestamp or a date, so its freshness cannot be told` };
  const age = `${freshness.loaded_at} max ${formatInstant(latest)}, ${describeElapsed(now.getTime() - latest.getTime())} ago`;
  if (freshness.error_after && latest < ageBefore(now, freshness.error_after)) {
    return { source: source.name, level: 'error', latest, message: `source ${name} is stale: ${age}, error_after ${freshness.error_after.text}` };
  }
  if (freshness.warn_after && latest < ageBefore(now, freshness.warn_after)) {
    return { source: source.name, level: 'warn', latest, message: `source ${name} is getting stale: ${age}, warn_after ${freshness.warn_after.text}` };
  }
  return { source: source.name, level: 'fresh', latest, message: `source ${name} is fresh: ${age}` };
}

/** `orders (shop.orders)`, or `orders (data/orders.csv)`: the source and where it is read. */
export function sourceName(source: SourceDef): string {
  const where = source.table ? [source.table.catalog, source.table.schema, source.table.name].filter(Boolean).join('.') : source.file!.path;
  return where === source.name ? source.name : `${source.name} (${where})`;
}

/** A warehouse value as an instant: timestamps arrive as Date; dates as `YYYY-MM-DD` text (midnight UTC). */
function instant(value: Value): Date | undefined {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(/^\d{4}-\d\d-\d\d$/.test(value) ? `${value}T00:00:00Z` : value) : undefined;
  return date && Number.isFinite(date.getTime()) ? date : undefined;
}

/** `2026-12-01 10:00 UTC` */
export function formatInstant(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Rows of a table, or undefined when it does not exist. */
export async function countTable(connection: Connection, table: TableRef): Promise<number | undefined> {
  if (!(await connection.columns(table))) return undefined;
  const d = connection.dialect;
  const rows = await connection.query(sql`SELECT COUNT(*) AS ${d.id('n')} FROM ${d.table(table)}`);
  return Number(rows[0]?.['n'] ?? 0);
}

/**
 * Why a model's `rows` break its `checks`, or undefined when they keep to them. `previous` is the row count of the
 * table a build is about to replace (undefined on a first build, or where only the table as it stands is checked).
 */
export function boundsProblem(model: Pick<ModelDef, 'name' | 'checks'>, rows: number, previous?: number): string | undefined {
  const checks = model.checks;
  if (!checks) return undefined;
  const outside = rowCountProblem(`model ${model.name}`, rows, { min: checks.min_rows, max: checks.max_rows }, { min: 'checks.min_rows', max: 'checks.max_rows' });
  if (outside) return outside;
  if (checks.max_change !== undefined && previous !== undefined && previous > 0) {
    const change = (Math.abs(rows - previous) / previous) * 100;
    if (change > checks.max_change) {
      const sign = rows >= previous ? '+' : '-';
      return `model ${model.name} went from ${previous} to ${rows} rows (${sign}${round(change)}%), more than checks.max_change (${checks.max_change}%)`;
    }
  }
  return undefined;
}

/**
 * Why `rows` are outside `bounds`, or undefined: one judgement for a model's `checks:` (at build) and a data test's
 * `row_count` (the table as it stands). `fields` names the bounds as the YAML writes them.
 */
export function rowCountProblem(subject: string, rows: number, bounds: { readonly min?: number | undefined; readonly max?: number | undefined }, fields: { readonly min: string; readonly max: string }): string | undefined {
  if (bounds.min !== undefined && rows < bounds.min) return `${subject} has ${rows} rows, fewer than ${fields.min} (${bounds.min})`;
  if (bounds.max !== undefined && rows > bounds.max) return `${subject} has ${rows} rows, more than ${fields.max} (${bounds.max})`;
  return undefined;
}

function round(n: number): string {
  return n >= 10 ? String(Math.round(n)) : n.toFixed(1).replace(/\.0$/, '');
}

/** What `upstreamOf` reads of a project: which relations are sources, what each model reads, whose companions are whose. */
export interface Lineage {
  readonly sources: ReadonlyMap<string, unknown>;
  readonly models: ReadonlyMap<string, { readonly inputs: readonly { readonly relation: string }[] }>;
  readonly companions: ReadonlyMap<string, { readonly model: string }>;
}

/** The sources and models a model reads, directly or through other models, the model itself included. */
export function upstreamOf(project: Lineage, model: string): { sources: string[]; models: string[] } {
  const sources = new Set<string>();
  const models = new Set<string>();
  const visit = (name: string) => {
    const def = project.models.get(name);
    if (!def || models.has(name)) return;
    models.add(name);
    for (const { relation } of def.inputs) {
      if (project.sources.has(relation)) sources.add(relation);
      else visit(project.companions.get(relation)?.model ?? relation);
    }
  };
  visit(model);
  return { sources: [...sources], models: [...models] };
}

/**
 * The checks of a command's inputs, each source and model read once per command however many models or syncs
 * depend on it: freshness of sources (past `warn_after` logged once, past `error_after` blocking) and row-count
 * bounds of models' tables as they stand.
 */
export class InputChecks {
  readonly #freshness = new Map<string, Promise<FreshnessVerdict | undefined>>();
  readonly #bounds = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly project: Project,
    private readonly connection: Connection,
    private readonly log: Logger,
    private readonly now = new Date(),
  ) {}

  /** The messages of the sources among `relations` that are past their `error_after` (or cannot be read). */
  async staleSources(relations: readonly string[]): Promise<string[]> {
    const errors: string[] = [];
    for (const relation of new Set(relations)) {
      const source = this.project.sources.get(relation);
      if (!source?.freshness) continue;
      let verdict = this.#freshness.get(relation);
      if (!verdict) {
        verdict = checkFreshness(this.project, this.connection, source, this.now).then((v) => {
          if (v?.level === 'warn') this.log.warn({ source: relation }, v.message);
          return v;
        });
        this.#freshness.set(relation, verdict);
      }
      const found = await verdict.catch((error: unknown) => ({ level: 'error' as const, message: `cannot tell the freshness of source ${relation}: ${describeFailure(error)}` }));
      if (found?.level === 'error') errors.push(found.message);
    }
    return errors;
  }

  /** The messages of the models among `models` whose tables, as they stand, break `min_rows` or `max_rows`. */
  async outOfBounds(models: readonly string[]): Promise<string[]> {
    const errors: string[] = [];
    for (const name of new Set(models)) {
      const model = this.project.models.get(name);
      if (model?.checks?.min_rows === undefined && model?.checks?.max_rows === undefined) continue;
      let problem = this.#bounds.get(name);
      if (!problem) {
        // A table not built yet has nothing to check here: the sync of it says so, and a build checks its own bounds.
        problem = countTable(this.connection, { schema: this.project.target.schema, name }).then((rows) => (rows === undefined ? undefined : boundsProblem(model!, rows)));
        this.#bounds.set(name, problem);
      }
      const found = await problem.catch((error: unknown) => `cannot count the rows of model ${name}: ${describeFailure(error)}`);
      if (found) errors.push(found);
    }
    return errors;
  }

  /**
   * Why the inputs of `model` (upstream sources' freshness, its own and upstream models' bounds) stop its use, or
   * undefined. `also`: more relations it depends on, sources or models (a sync's suppressions and preferences).
   */
  async blocking(model: string, also: readonly string[] = []): Promise<string | undefined> {
    const sources = new Set<string>();
    const models = new Set<string>();
    for (const name of [model, ...also]) {
      if (this.project.sources.has(name)) sources.add(name);
      const upstream = upstreamOf(this.project, name);
      upstream.sources.forEach((x) => sources.add(x));
      upstream.models.forEach((x) => models.add(x));
    }
    const errors = [...(await this.staleSources([...sources])), ...(await this.outOfBounds([...models]))];
    return errors.length ? errors.join('; ') : undefined;
  }
}
