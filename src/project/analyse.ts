import type { OutputColumn } from '../../models/model-kind.js';
import { sql } from '../dialects/sql.js';
import type { Connection } from '../warehouses/connection.js';
import { locatedLine, rejectedLines } from './csv-rejects.js';
import { locate, type Project, type SourceDef } from './loader.js';
import { isKeyOf, keyOf, pathOf, Problems } from './problems.js';
import { didYouMean } from './suggest.js';
import { checkSyncColumns } from '../sync/analyse.js';
import { analysePolicies } from './policies.js';
import { checkSyncContacts } from '../sync/suppressions.js';
import { checkComparison } from '../expressions/conditions.js';

/** What the project looks like once checked against the warehouse: the columns of every source and model. */
export interface Analysis {
  /** Columns per source or model name; undefined when not known (offline, or the relation is not reachable). */
  readonly columns: ReadonlyMap<string, readonly OutputColumn[] | undefined>;
  /** True when sources were introspected in the warehouse. */
  readonly online: boolean;
}

export function sourceRelation(project: Project, source: SourceDef) {
  const d = project.target.dialect;
  return source.table ? d.table(source.table) : d.readFile(source.file!.path, source.file!.format, { types: source.file!.types, strict: source.file!.strict });
}

/**
 * Introspects every source (when a connection is given), checks every column a model references, and runs each
 * model kind's own analysis in build order. Throws a ConfigError with every problem found.
 */
export async function analyseProject(project: Project, connection: Connection | undefined): Promise<Analysis> {
  const problems = new Problems();
  const sources = new Map<string, readonly OutputColumn[] | undefined>();
  for (const source of project.sources.values()) {
    sources.set(source.name, connection ? await introspect(project, source, connection, problems) : undefined);
  }
  return analyseWithSources(project, sources, connection !== undefined, problems);
}

/**
 * The analysis given the columns of each source (from introspection, or declared by a test): column references
 * checked, each model kind's own checks run, output columns derived.
 */
export function analyseWithSources(
  project: Project,
  sourceColumns: ReadonlyMap<string, readonly OutputColumn[] | undefined>,
  online: boolean,
  problems: Problems = new Problems(),
): Analysis {
  const d = project.target.dialect;
  const columns = new Map<string, readonly OutputColumn[] | undefined>(sourceColumns);
  for (const source of project.sources.values()) checkFreshnessColumn(source, columns.get(source.name), d.identifierKey.bind(d), problems);

  for (const name of project.order) {
    const model = project.models.get(name)!;
    for (const input of model.inputs) {
      const available = columns.get(input.relation);
      if (!available) continue;
      const keys = new Set(available.map((c) => d.identifierKey(c.name)));
      for (const ref of input.columns) {
        if (!keys.has(d.identifierKey(ref.name))) {
          const kind = project.sources.has(input.relation) ? 'source' : project.companions.has(input.relation) ? 'table' : 'model';
          problems.error(
            'unknown-column',
            `unknown column "${ref.name}" in ${kind} "${input.relation}"${didYouMean(ref.name, available.map((c) => c.name))}`,
            locate(model.origin, ref.at),
            [...model.origin.path, ...ref.at],
          );
        }
      }
    }
    const outputs = model.kind.analyse(model.spec, {
      dialect: d,
      policies: project.policies,
      vars: project.vars,
      pressure: project.pressure,
      columnsOf: (relation) => columns.get(relation),
      problem: (at, message, code = 'invalid-model') => {
        const path = [...model.origin.path, ...pathOf(at)];
        problems.error(code, message, model.origin.file.place(isKeyOf(at) ? keyOf(path) : path), path);
      },
    });
    columns.set(name, outputs);
    for (const companion of model.kind.companions?.(model.spec) ?? []) columns.set(`${name}_${companion.suffix}`, companion.columns);
  }
  checkDeliveredColumns(project, columns, problems);
  checkDataTestColumns(project, columns, problems);
  checkSyncColumns(project.syncs.values(), (model) => columns.get(model), d, problems);
  analysePolicies(project.policies, (relation) => columns.get(relation), d, problems);
  checkSyncContacts(project.syncs.values(), project.policies, (model) => columns.get(model), d, problems);
  problems.throwIfErrors();
  return { columns, online };
}

/**
 * A source's `freshness.loaded_at` must be one of its columns, holding a timestamp or a date, or text (a CSV export
 * emptied down to its header has only text columns, and must read as stale rather than as a broken project).
 */
function checkFreshnessColumn(source: SourceDef, available: readonly OutputColumn[] | undefined, key: (name: string) => string, problems: Problems): void {
  const column = source.freshness?.loaded_at;
  if (column === undefined || !available) return;
  const at = [...source.origin.path, 'freshness', 'loaded_at'];
  const found = available.find((c) => key(c.name) === key(column));
  if (!found) {
    problems.error('unknown-column', `unknown column "${column}" in source "${source.name}"${didYouMean(column, available.map((c) => c.name))}`, locate(source.origin, ['freshness', 'loaded_at']), at);
  } else if (found.type !== undefined && found.type !== 'timestamp' && found.type !== 'date' && found.type !== 'string') {
    problems.error('bad-type', `column "${column}" of source "${source.name}" is ${found.type}: freshness needs a timestamp or a date`, locate(source.origin, ['freshness', 'loaded_at']), at);
  }
}

/**
 * The columns data tests name, in the relation they test and, for `relationships`, in the one they point `to` (where
 * the columns are known: sources introspected, models whose kind says what it outputs).
 */
function checkDataTestColumns(project: Project, columns: ReadonlyMap<string, readonly OutputColumn[] | undefined>, problems: Problems): void {
  const d = project.target.dialect;
  const kindOf = (relation: string) => (project.sources.has(relation) ? 'source' : project.companions.has(relation) ? 'table' : 'model');
  const check = (origin: SourceDef['origin'], relation: string, column: string, at: readonly (string | number)[]) => {
    const available = columns.get(relation);
    if (!available || available.some((c) => d.identifierKey(c.name) === d.identifierKey(column))) return;
    const path = [...origin.path, ...at];
    problems.error('unknown-column', `unknown column "${column}" in ${kindOf(relation)} "${relation}"${didYouMean(column, available.map((c) => c.name))}`, origin.file.locate(path), path);
  };
  for (const def of [...project.sources.values(), ...project.models.values()]) {
    for (const test of def.tests) {
      test.columns.forEach((column, n) => check(def.origin, def.name, column, test.columnsAt[n]!));
      if (test.type === 'relationships') check(def.origin, test.to!, test.field!, [...test.at, 'relationships', test.field === test.columns[0] ? 'column' : 'field']);
    }
  }
}

/** The columns the pressure policy's delivered events name, in their sources (when introspected). */
function checkDeliveredColumns(project: Project, columns: ReadonlyMap<string, readonly OutputColumn[] | undefined>, problems: Problems): void {
  const pressure = project.pressure;
  if (!pressure) return;
  const d = project.target.dialect;
  pressure.delivered.forEach((delivered, i) => {
    const available = columns.get(delivered.from);
    if (!available) return;
    const report = (at: readonly (string | number)[], message: string, code: string) => {
      const path = [...pressure.origin.path, 'delivered', i, ...at];
      problems.error(code, message, pressure.origin.file.locate(path), path);
    };
    const find = (name: string) => available.find((c) => d.identifierKey(c.name) === d.identifierKey(name));
    const named = [
      { name: delivered.customer, at: ['customer'] },
      { name: delivered.time, at: ['time'] },
      ...delivered.where.map((w, j) => ({ name: w.column, at: ['where', j, 'column'] })),
    ];
    for (const ref of named) {
      if (!find(ref.name)) report(ref.at, `unknown column "${ref.name}" in ${project.sources.has(delivered.from) ? 'source' : 'model'} "${delivered.from}"${didYouMean(ref.name, available.map((c) => c.name))}`, 'unknown-column');
    }
    const time = find(delivered.time)?.type;
    if (time && time !== 'date' && time !== 'timestamp') report(['time'], `delivered time "${delivered.time}" must be a date or timestamp, not ${time}`, 'wrong-type');
    delivered.where.forEach((w, j) => checkComparison(w, `column "${w.column}" of ${delivered.from}`, find(w.column)?.type, ['where', j], report));
  });
}

/** The field of a source's YAML item naming what it reads. */
function sourceField(source: SourceDef): 'table' | 'file' | 'dbt' {
  return source.dbt ? 'dbt' : source.table ? 'table' : 'file';
}

async function introspect(project: Project, source: SourceDef, connection: Connection, problems: Problems): Promise<OutputColumn[] | undefined> {
  const d = project.target.dialect;
  try {
    if (source.table) {
      const found = await connection.columns(source.table);
      if (!found) {
        const name = [source.table.catalog, source.table.schema, source.table.name].filter(Boolean).join('.');
        const dbt = source.dbt ? ` (dbt ${source.dbt.resourceType} ${source.dbt.uniqueId}: has dbt built it for this target?)` : '';
        const field = sourceField(source);
        problems.error('missing-table', `table ${name}${dbt} does not exist in target "${project.target.name}" (${d.name})`, locate(source.origin, [field]), [...source.origin.path, field]);
        return undefined;
      }
      return found.map((c) => ({ name: c.name, type: c.type }));
    }
    if (source.file?.strict) {
      const { count, first: [first] } = await rejectedLines(project, source, connection, 1);
      if (first) {
        const more = count - 1;
        const others = more ? ` (and ${more} more broken line${more === 1 ? '' : 's'})` : '';
        problems.error('broken-line', `${locatedLine(source, first)}${others}; strict: true refuses a file with broken lines`, locate(source.origin, ['file']), [...source.origin.path, 'file']);
        return undefined;
      }
    }
    const found = await connection.columnsOfQuery(sql`SELECT * FROM ${sourceRelation(project, source)}`);
    return found.map((c) => ({ name: c.name, type: c.type }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const field = sourceField(source);
    problems.error('unreadable-source', `cannot read source "${source.name}": ${message}`, locate(source.origin, [field]), [...source.origin.path, field]);
    return undefined;
  }
}
