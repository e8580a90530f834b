import { joinSql, sql, Sql } from '../dialects/sql.js';
import type { Logger } from '../log/logger.js';
import { sourceRelation } from '../project/analyse.js';
import type { DataTest } from '../project/data-tests.js';
import { locate, owningModel, type Project } from '../project/loader.js';
import { ConfigError, formatField, type Problem } from '../project/problems.js';
import { maskRecord } from '../sync/mask.js';
import { describeFailure, type Connection, type Row } from '../warehouses/connection.js';
import { rowCountProblem } from './checks.js';

/** Failing rows a test shows (masked unless asked otherwise). */
export const SAMPLE_ROWS = 5;

/** dbt's test statuses, plus `skipped` (`tideline build`: what the test reads was not built). */
export type TestStatus = 'pass' | 'fail' | 'warn' | 'error' | 'skipped';

export interface TestResult {
  readonly test: DataTest;
  readonly status: TestStatus;
  /** Failing rows (or, for `unique`, values held more than once; for `row_count`, 1 when outside its bounds). */
  readonly failures: number | null;
  /** Up to SAMPLE_ROWS failing rows, personal values masked unless `showPii`. */
  readonly sample: readonly Row[];
  /** What was found: `3 rows where email is null`, the failure of the query, or why it was skipped. */
  readonly message: string;
  readonly seconds: number;
}

/** A source or model as a test reads it: a source where models read it, a model (or companion) in the target schema. */
function relation(project: Project, name: string): Sql {
  const source = project.sources.get(name);
  return source ? sourceRelation(project, source) : project.target.dialect.table({ schema: project.target.schema, name });
}

/**
 * The query returning what breaks a test, in the target's dialect: the failing rows whole (not_null,
 * accepted_values, relationships, expression), the values held more than once with their count (unique), or the
 * row count when it is outside its bounds (row_count).
 */
export function testQuery(project: Project, test: DataTest): Sql {
  const d = project.target.dialect;
  const from = relation(project, test.on);
  const col = (name: string) => d.id(name);
  switch (test.type) {
    case 'not_null':
      return sql`SELECT * FROM ${from} WHERE ${col(test.columns[0]!)} IS NULL`;
    case 'unique': {
      // One column: dbt's `unique`, NULLs left out. Several: dbt_utils.unique_combination_of_columns, which groups
      // every row, NULLs as equal to one another (GROUP BY does): two rows (1, NULL) break the combination.
      const keys = joinSql(test.columns.map(col));
      const present = test.columns.length === 1 ? sql` WHERE ${col(test.columns[0]!)} IS NOT NULL` : sql``;
      return sql`SELECT ${keys}, COUNT(*) AS ${d.id('n_records')} FROM ${from}${present} GROUP BY ${keys} HAVING COUNT(*) > 1`;
    }
    case 'accepted_values': {
      const c = col(test.columns[0]!);
      return sql`SELECT * FROM ${from} WHERE ${c} IS NOT NULL AND ${c} NOT IN (${joinSql(test.values!.map((v) => d.literal(v)))})`;
    }
    case 'relationships': {
      const [child, parent] = [d.id('child'), d.id('parent')];
      const c = col(test.columns[0]!);
      return sql`SELECT ${child}.* FROM ${from} AS ${child} WHERE ${child}.${c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${relation(project, test.to!)} AS ${parent} WHERE ${parent}.${col(test.field!)} = ${child}.${c})`;
    }
    case 'expression':
      return sql`SELECT * FROM ${from} WHERE NOT ${Sql.userExpression(test.sql!)}`;
    case 'row_count': {
      const n = d.id('row_count');
      const outside = [
        ...(test.min !== undefined ? [sql`${n} < ${d.literal(test.min)}`] : []),
        ...(test.max !== undefined ? [sql`${n} > ${d.literal(test.max)}`] : []),
      ];
      return sql`SELECT ${n} FROM (SELECT COUNT(*) AS ${n} FROM ${from}) AS ${d.id('counted')} WHERE ${joinSql(outside, sql` OR `)}`;
    }
  }
}

/** The query counting what breaks a test. */
export function countQuery(project: Project, test: DataTest): Sql {
  const d = project.target.dialect;
  return sql`SELECT COUNT(*) AS ${d.id('failures')} FROM (${testQuery(project, test)}) AS ${d.id('failing')}`;
}

/**
 * Runs one test: counts what breaks it and, when something does, reads a sample of it (masked unless `showPii`). A
 * test of a model not built yet, or whose query fails, is an `error`, never a failure of the command itself.
 */
export async function runDataTest(project: Project, connection: Connection, test: DataTest, options: { readonly showPii?: boolean; readonly log?: Logger } = {}): Promise<TestResult> {
  const started = performance.now();
  const seconds = () => Math.round(performance.now() - started) / 1000;
  const d = project.target.dialect;
  const done = (status: TestStatus, failures: number | null, message: string, sample: readonly Row[] = []): TestResult => ({ test, status, failures, sample, message, seconds: seconds() });
  try {
    for (const name of [test.on, ...(test.to ? [test.to] : [])]) {
      const model = owningModel(project, name);
      if (model !== undefined && !(await connection.columns({ schema: project.target.schema, name }))) {
        return done('error', null, `${name} is not built in target ${project.target.name}: run \`tideline run --select +${model}\` first`);
      }
    }
    const counted = await connection.query(countQuery(project, test));
    const failures = Number(counted[0]?.['failures'] ?? 0);
    if (failures === 0) return done('pass', 0, 'pass');
    const rows = await connection.query(sql`${testQuery(project, test)} LIMIT ${d.literal(SAMPLE_ROWS)}`);
    const sample = options.showPii ? rows : rows.map((row) => maskRecord(row) as Row);
    return done(test.severity === 'warn' ? 'warn' : 'fail', failures, describeFailures(test, failures, rows), sample);
  } catch (error) {
    const message = `test ${test.name} could not run: ${describeFailure(error)}`;
    options.log?.debug({ test: test.name, statement: testQuery(project, test).text }, message);
    return done('error', null, message);
  }
}

/** `3 rows of customers where email is null`: what the failures are, naming no value (the sample shows them, masked). */
function describeFailures(test: DataTest, failures: number, sample: readonly Row[]): string {
  const rows = `${failures} row${failures === 1 ? '' : 's'} of ${test.on}`;
  const column = test.columns[0];
  switch (test.type) {
    case 'not_null':
      return `${rows} where ${column} is null`;
    case 'unique':
      return `${failures} value${failures === 1 ? '' : 's'} of ${test.columns.join(', ')} held by more than one row of ${test.on}`;
    case 'accepted_values':
      return `${rows} where ${column} is not one of the ${test.values!.length} accepted values`;
    case 'relationships':
      return `${rows} whose ${column} is not found in ${test.to}.${test.field}`;
    case 'expression':
      return `${rows} where the expression is false`;
    case 'row_count':
      return rowCountProblem(test.on, Number(sample[0]?.['row_count'] ?? NaN), test, { min: 'row_count.min', max: 'row_count.max' }) ?? `${test.on} has a row count outside its bounds`;
  }
}

/**
 * Runs tests one after another against one connection; each test's outcome is logged (a failure as an error or a
 * warning by its severity, naming no value).
 */
export async function runDataTests(project: Project, connection: Connection, tests: readonly DataTest[], options: { readonly showPii?: boolean; readonly log: Logger; readonly onTest?: (test: DataTest, index: number) => void }): Promise<TestResult[]> {
  const results: TestResult[] = [];
  for (const [index, test] of tests.entries()) {
    options.onTest?.(test, index);
    const result = await runDataTest(project, connection, test, options);
    logResult(options.log, result);
    results.push(result);
  }
  return results;
}

function logResult(log: Logger, r: TestResult): void {
  const fields = { test: r.test.name, status: r.status, failures: r.failures, seconds: r.seconds };
  if (r.status === 'pass') log.debug(fields, `${r.test.name}: pass`);
  else if (r.status === 'warn') log.warn(fields, `${r.test.name} (warn): ${r.message}`);
  else if (r.status === 'skipped') log.info(fields, `${r.test.name}: skipped (${r.message})`);
  else log.error(fields, `${r.test.name} ${r.status === 'fail' ? 'failed' : 'errored'}: ${r.message}`);
}

/** Whether a result fails the command: an error-severity test that failed or could not run. */
export function blocks(result: TestResult): boolean {
  return result.status === 'fail' || result.status === 'error';
}

/**
 * Whether a result holds back what depends on its relation (`tideline build`): a failure, as `blocks`, or an
 * error-severity test that could not be run at all (skipped): what it guards was not checked.
 */
export function holds(result: TestResult): boolean {
  return blocks(result) || (result.status === 'skipped' && result.test.severity === 'error');
}

/** The relations a test reads: what it tests and, for `relationships`, what it points at. */
function readsOf(test: DataTest): string[] {
  return [test.on, ...(test.to ? [test.to] : [])];
}

/**
 * The data tests of a `tideline build`, each run as soon as what it reads is built: at the start those reading only
 * sources and models outside the selection, then each model's after its build (a `relationships` test pointing at a
 * model built later waits for it: see testOrder). A test whose relation was not built (failed, skipped) is reported
 * `skipped` as soon as that is known. `blocked` holds the sources and models whose tests hold them back (see
 * `holds`), with why: the runner consults it before each model.
 */
export class BuildTests {
  readonly results: TestResult[] = [];
  readonly blocked = new Map<string, string>();
  readonly #waiting: Set<string>;
  readonly #unbuilt = new Set<string>();
  readonly #held = new Map<string, { failed: string[]; skipped: string[] }>();
  #pending: DataTest[];

  constructor(
    private readonly project: Project,
    private readonly connection: Connection,
    tests: readonly DataTest[],
    models: readonly string[],
    private readonly options: { readonly showPii?: boolean; readonly log: Logger; readonly onTest?: (test: DataTest, index: number) => void },
  ) {
    this.#pending = [...tests];
    this.#waiting = new Set(models);
  }

  /** Runs the tests that read nothing this build makes. */
  async start(): Promise<void> {
    await this.#runReady();
  }

  /**
   * After `model` was built (`built`: or disabled, its table kept as it stands), or failed or was skipped for a failed
   * input: runs the tests it completes, or skips those it cannot.
   */
  async after(model: string, built: boolean): Promise<void> {
    this.#waiting.delete(model);
    if (!built) this.#unbuilt.add(model);
    await this.#runReady();
  }

  /** The tests left: their relation was not built in this build. */
  finish(): void {
    for (const test of this.#pending) {
      const missing = readsOf(test).map((n) => owningModel(this.project, n)).find((m) => m !== undefined && (this.#waiting.has(m) || this.#unbuilt.has(m)));
      this.#skip(test, `${missing ?? test.on} was not built`);
    }
    this.#pending = [];
  }

  #skip(test: DataTest, message: string): void {
    const result: TestResult = { test, status: 'skipped', failures: null, sample: [], message, seconds: 0 };
    logResult(this.options.log, result);
    this.results.push(result);
    this.#hold(result);
  }

  /** Records what a result holds back: the source or model it tests. */
  #hold(r: TestResult): void {
    if (!holds(r)) return;
    const relation = owningModel(this.project, r.test.on) ?? r.test.on;
    const held = this.#held.get(relation) ?? { failed: [], skipped: [] };
    (r.status === 'skipped' ? held.skipped : held.failed).push(r.test.name);
    this.#held.set(relation, held);
    const list = (names: string[], verb: string) => (names.length ? `${names.length === 1 ? 'test' : 'tests'} ${verb}: ${names.join(', ')}` : '');
    this.blocked.set(relation, [list(held.failed, 'failed'), list(held.skipped, 'skipped')].filter(Boolean).join('; '));
  }

  /** Skips the pending tests reading a model not built; runs those whose relations are all built. */
  async #runReady(): Promise<void> {
    const modelOf = (n: string) => owningModel(this.project, n) ?? '';
    for (const test of this.#pending) {
      const missing = readsOf(test).map(modelOf).find((m) => this.#unbuilt.has(m));
      if (missing) this.#skip(test, `${missing} was not built`);
    }
    this.#pending = this.#pending.filter((test) => !readsOf(test).some((n) => this.#unbuilt.has(modelOf(n))));
    const ready = this.#pending.filter((test) => readsOf(test).every((n) => !this.#waiting.has(modelOf(n))));
    this.#pending = this.#pending.filter((test) => !ready.includes(test));
    const results = await runDataTests(this.project, this.connection, ready, {
      ...this.options,
      onTest: (test, i) => this.options.onTest?.(test, this.results.length + i),
    });
    this.results.push(...results);
    results.forEach((r) => this.#hold(r));
  }
}

/**
 * The selected models (in build order) reordered for `tideline build`: every model reading what a `relationships`
 * test of severity `error` checks comes after the model the test points at, so that the test runs, and can hold them
 * back, before they read what it checks. Otherwise the order is kept. A reader the `to` model is itself built from
 * (`customers` built from `orders`, whose `customer_id` is tested against `customers`) cannot wait: it is built
 * before the test, as dbt builds a test's parents first, and only the readers `to` does not depend on wait.
 */
export function testOrder(project: Project, models: readonly string[], tests: readonly DataTest[]): string[] {
  const selected = new Set(models);
  const owner = (relation: string) => owningModel(project, relation) ?? relation;
  const after = new Map(models.map((m) => [m, new Set(project.models.get(m)!.inputs.map((i) => owner(i.relation)).filter((r) => selected.has(r)))]));
  /** Whether `from` is built after `target`, through the order as it stands. */
  const dependsOn = (from: string, target: string): boolean => {
    const seen = new Set<string>();
    const stack = [from];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      if (next === target) return true;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...after.get(next)!);
    }
    return false;
  };
  for (const test of tests) {
    const to = test.to === undefined ? undefined : owningModel(project, test.to);
    if (test.type !== 'relationships' || test.severity !== 'error' || to === undefined || !selected.has(to)) continue;
    for (const reader of models.filter((m) => project.models.get(m)!.inputs.some((i) => owner(i.relation) === owner(test.on)))) {
      // Only an edge that keeps the order acyclic: the order stays total, whatever the tests.
      if (!dependsOn(to, reader)) after.get(reader)!.add(to);
    }
  }
  const order: string[] = [];
  const placed = new Set<string>();
  const ready = (m: string) => !placed.has(m) && [...after.get(m)!].every((d) => placed.has(d));
  for (let next = models.find(ready); next !== undefined; next = models.find(ready)) {
    order.push(next);
    placed.add(next);
  }
  if (order.length !== models.length) throw new Error(`internal: the build order of ${models.filter((m) => !placed.has(m)).join(', ')} has a cycle`);
  return order;
}

/** `5 tests: 3 pass, 1 warn, 1 fail, 0 error, 0 skipped` */
export function testTally(results: readonly TestResult[]): string {
  const n = (status: TestStatus) => results.filter((r) => r.status === status).length;
  return `${results.length} test${results.length === 1 ? '' : 's'}: ${n('pass')} pass, ${n('warn')} warn, ${n('fail')} fail, ${n('error')} error, ${n('skipped')} skipped`;
}

/** A result as Tideline's own records write it: no sample (it may hold personal values), the failures counted. */
export function testJson(r: TestResult) {
  return { test: r.test.name, type: r.test.type, on: r.test.on, columns: r.test.columns, severity: r.test.severity, status: r.status, failures: r.failures, seconds: r.seconds, message: r.status === 'pass' ? null : r.message };
}
