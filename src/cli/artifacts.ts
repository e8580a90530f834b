import { createHash } from 'node:crypto';
import { join, relative, sep } from 'node:path';
import type { ModelResult } from '../pipeline/runner.js';
import { testQuery, type TestResult } from '../pipeline/data-tests.js';
import type { DataTest } from '../project/data-tests.js';
import { modelScript } from '../pipeline/script.js';
import type { Analysis } from '../project/analyse.js';
import type { DbtLink } from '../project/dbt.js';
import type { ModelDef, Origin, Project, SourceDef } from '../project/loader.js';
import type { SyncDef } from '../sync/load.js';
import { syncPolicyInputs } from '../sync/suppressions.js';
import { sourceUniqueId } from './source.js';
import { targetDir, writeJson } from './context.js';
import { VERSION } from './version.js';

/**
 * The dbt artifact schemas target/run_results.json and target/manifest.json follow, so that tools reading dbt's
 * artifacts (dbt-artifacts-parser, Elementary, data catalogues) read Tideline's. Both schemas admit no field of
 * their own at the top, in `metadata` or in a result; Tideline's own run record is target/tideline_run_results.json,
 * and its own facts on a model or sync sit under `meta.tideline`, which the manifest schema leaves open.
 */
export const RUN_RESULTS_SCHEMA_VERSION = 'https://schemas.getdbt.com/dbt/run-results/v6.json';
export const MANIFEST_SCHEMA_VERSION = 'https://schemas.getdbt.com/dbt/manifest/v12.json';

/** `model.<project>.<model>`: dbt's `model.<package>.<name>`, the project standing for the package. */
export function modelUniqueId(project: Pick<Project, 'name'>, model: string): string {
  return `model.${project.name}.${model}`;
}

/** `exposure.<project>.<sync>`: a sync is what dbt calls an exposure, something downstream that uses a model. */
export function exposureUniqueId(project: Pick<Project, 'name'>, sync: string): string {
  return `exposure.${project.name}.${sync}`;
}

/** `test.<project>.<test>`: dbt's `test.<package>.<name>` (dbt appends a hash; a Tideline test's name is unique already). */
export function testUniqueId(project: Pick<Project, 'name'>, test: Pick<DataTest, 'name'>): string {
  return `test.${project.name}.${test.name}`;
}

/** dbt's `relation_name`: the model's table, as the target's dialect writes it. */
function relationName(project: Project, model: string): string {
  return project.target.dialect.table({ schema: project.target.schema, name: model }).text;
}

/** The ids of what a model reads: sources, and models (a companion table stands for the model that builds it). */
function parentsOf(project: Project, model: ModelDef): string[] {
  const ids = new Set<string>();
  for (const input of model.inputs) {
    const source = project.sources.get(input.relation);
    if (source) ids.add(sourceUniqueId(project, source));
    else if (project.models.has(input.relation)) ids.add(modelUniqueId(project, input.relation));
    else {
      const companion = project.companions.get(input.relation);
      if (companion) ids.add(modelUniqueId(project, companion.model));
    }
  }
  return [...ids].sort();
}

function projectPath(project: Project, absolute: string): string {
  return relative(project.root, absolute).split(sep).join('/');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Each model's compiled script, where it compiles without the warehouse's help (null where it does not). */
export function compiledScripts(project: Project, analysis: Analysis): Map<string, string | null> {
  const scripts = new Map<string, string | null>();
  for (const model of project.models.values()) {
    try {
      scripts.set(model.name, model.enabled ? modelScript(project, analysis, model).script : null);
    } catch {
      scripts.set(model.name, null);
    }
  }
  return scripts;
}

/** dbt's `columns` of a node: a source's or model's columns as the analysis knows them (none it does not know). */
function manifestColumns(analysis: Analysis, relation: string) {
  const columns = analysis.columns.get(relation) ?? [];
  return Object.fromEntries(columns.map((c) => [c.name, { name: c.name, description: '', data_type: c.type ?? null, meta: {}, tags: [] }]));
}

function modelNode(project: Project, analysis: Analysis, model: ModelDef, compiled: string | null) {
  const file = projectPath(project, model.origin.file.path);
  return {
    database: null,
    schema: project.target.schema,
    name: model.name,
    resource_type: 'model' as const,
    package_name: project.name,
    path: file,
    original_file_path: file,
    unique_id: modelUniqueId(project, model.name),
    fqn: [project.name, model.name],
    alias: model.name,
    // The model's YAML item, as loaded: changes when its definition does.
    checksum: { name: 'sha256', checksum: sha256(JSON.stringify(model.spec) ?? '') },
    config: { enabled: model.enabled, materialized: 'table', tags: [...model.tags], meta: {} },
    tags: [...model.tags],
    description: model.description ?? '',
    columns: manifestColumns(analysis, model.name),
    meta: { tideline: { kind: model.kind.kind } },
    relation_name: relationName(project, model.name),
    raw_code: '',
    language: 'sql',
    refs: model.inputs.filter((i) => project.models.has(i.relation)).map((i) => ({ name: i.relation, package: null, version: null })),
    sources: model.inputs.filter((i) => project.sources.has(i.relation)).map((i) => [project.name, i.relation]),
    depends_on: { macros: [], nodes: parentsOf(project, model) },
    compiled: compiled !== null,
    compiled_code: compiled,
  };
}

/** The unique id of the source or model (a companion table: its model) a test reads. */
function relationId(project: Project, name: string): string | undefined {
  const source = project.sources.get(name);
  if (source) return sourceUniqueId(project, source);
  const model = project.models.has(name) ? name : project.companions.get(name)?.model;
  return model === undefined ? undefined : modelUniqueId(project, model);
}

/**
 * dbt's spelling of a test's arguments (`test_metadata`): its generic tests (not_null, unique, accepted_values,
 * relationships) by their own names; a unique combination, an expression and row-count bounds by the names of the
 * dbt_utils and dbt_expectations tests that do the same. `model` and `to` as dbt renders them.
 */
function testMetadata(project: Project, test: DataTest): { name: string; kwargs: Record<string, unknown>; namespace: string | null } {
  const ref = (name: string) => (project.sources.has(name) ? `source('${project.name}', '${name}')` : `ref('${name}')`);
  const model = `{{ get_where_subquery(${ref(test.on)}) }}`;
  switch (test.type) {
    case 'not_null':
      return { name: 'not_null', kwargs: { column_name: test.columns[0], model }, namespace: null };
    case 'unique':
      return test.columns.length === 1
        ? { name: 'unique', kwargs: { column_name: test.columns[0], model }, namespace: null }
        : { name: 'unique_combination_of_columns', kwargs: { combination_of_columns: [...test.columns], model }, namespace: 'dbt_utils' };
    case 'accepted_values':
      return { name: 'accepted_values', kwargs: { values: [...test.values!], column_name: test.columns[0], model }, namespace: null };
    case 'relationships':
      return { name: 'relationships', kwargs: { to: ref(test.to!), field: test.field, column_name: test.columns[0], model }, namespace: null };
    case 'expression':
      return { name: 'expression_is_true', kwargs: { expression: test.sql, model }, namespace: 'dbt_utils' };
    case 'row_count':
      return { name: 'expect_table_row_count_to_be_between', kwargs: { min_value: test.min ?? null, max_value: test.max ?? null, model }, namespace: 'dbt_expectations' };
  }
}

/** A data test as dbt's generic test node (manifest v12 `GenericTest`), attached to the source or model it tests. */
function testNode(project: Project, test: DataTest, origin: Origin) {
  const file = projectPath(project, origin.file.path);
  const attached = relationId(project, test.on)!;
  const parents = [attached, ...(test.to !== undefined && relationId(project, test.to) !== undefined ? [relationId(project, test.to)!] : [])];
  const named = [test.on, ...(test.to !== undefined ? [test.to] : [])];
  let compiled: string | null;
  try {
    compiled = testQuery(project, test).text;
  } catch {
    compiled = null;
  }
  return {
    database: null,
    schema: project.target.schema,
    name: test.name,
    resource_type: 'test' as const,
    package_name: project.name,
    path: file,
    original_file_path: file,
    unique_id: testUniqueId(project, test),
    fqn: [project.name, test.name],
    alias: test.name,
    checksum: { name: 'none', checksum: '' },
    config: { enabled: true, materialized: 'test', severity: test.severity === 'warn' ? 'WARN' : 'ERROR', tags: [], meta: {}, fail_calc: 'count(*)', warn_if: '!= 0', error_if: '!= 0' },
    tags: [],
    description: '',
    columns: {},
    meta: { tideline: { test: test.type } },
    relation_name: null,
    raw_code: '',
    language: 'sql',
    refs: named.filter((n) => !project.sources.has(n)).map((name) => ({ name, package: null, version: null })),
    sources: named.filter((n) => project.sources.has(n)).map((n) => [project.name, n]),
    depends_on: { macros: [], nodes: [...new Set(parents)] },
    compiled: compiled !== null,
    compiled_code: compiled,
    column_name: test.columns.length === 1 ? test.columns[0]! : null,
    file_key_name: project.sources.has(test.on) ? `sources.${project.name}` : `models.${test.on}`,
    attached_node: attached,
    test_metadata: testMetadata(project, test),
  };
}

function sourceNode(project: Project, analysis: Analysis, source: SourceDef) {
  const file = projectPath(project, source.origin.file.path);
  const identifier = source.table?.name ?? source.file!.path;
  return {
    database: source.table?.catalog ?? null,
    schema: source.table?.schema ?? project.target.schema,
    name: source.name,
    resource_type: 'source' as const,
    package_name: project.name,
    path: file,
    original_file_path: file,
    unique_id: sourceUniqueId(project, source),
    fqn: [project.name, project.name, source.name],
    source_name: project.name,
    source_description: '',
    loader: source.file ? source.file.format : '',
    identifier,
    loaded_at_field: source.freshness?.loaded_at ?? null,
    description: source.description ?? '',
    // A source read from a dbt project's model: the model's columns and descriptions, and under meta the dbt node it
    // is (`tideline docs` shows it on the source's page; a tool reading both manifests can join them on its
    // unique_id). Any other source: its columns as the analysis read them from the warehouse (none offline).
    ...(source.dbt
      ? { columns: Object.fromEntries(source.dbt.columns.map((c) => [c.name, { name: c.name, description: c.description, data_type: c.dataType, meta: {}, tags: [] }])) }
      : { columns: manifestColumns(analysis, source.name) }),
    tags: [...source.tags],
    meta: source.dbt ? { tideline: { dbt: dbtMeta(source.dbt) } } : {},
    config: { enabled: true },
    relation_name: source.table ? project.target.dialect.table(source.table).text : null,
    ...(source.file ? { external: { location: source.file.path, file_format: source.file.format } } : {}),
  };
}

/** The dbt node a source reads, under `meta.tideline.dbt` of its source node. */
function dbtMeta(link: DbtLink) {
  return { unique_id: link.uniqueId, name: link.name, resource_type: link.resourceType, project_name: link.project ?? null, manifest: link.manifest, relation_name: link.relationName };
}

/**
 * A sync's exposure depends on its model and on what the contact policies reaching it read (suppressions,
 * preferences, consent, delivered messages: syncPolicyInputs), so that lineage shows every relation it reads.
 */
function exposureNode(project: Project, sync: SyncDef) {
  const file = projectPath(project, sync.origin.file.path);
  const policies = syncPolicyInputs(project, sync).filter((name) => relationId(project, name) !== undefined);
  const read = [sync.model, ...policies.filter((name) => name !== sync.model)];
  return {
    name: sync.name,
    resource_type: 'exposure' as const,
    package_name: project.name,
    path: file,
    original_file_path: file,
    unique_id: exposureUniqueId(project, sync.name),
    fqn: [project.name, sync.name],
    type: 'application' as const,
    owner: { name: null, email: null },
    description: sync.description ?? '',
    label: null,
    tags: [...sync.tags],
    meta: { tideline: { destination: sync.destination.name, destination_type: sync.destination.type.type, object: sync.object, mode: sync.mode, ...(sync.audience ? { audience: sync.audience.name } : {}) } },
    config: { enabled: sync.enabled, tags: [...sync.tags], meta: {} },
    // dbt's refs name models (a companion table: its model); sources are in depends_on only, as v12 exposures have no `sources`.
    refs: [...new Set(read.filter((name) => !project.sources.has(name)).map((name) => project.companions.get(name)?.model ?? name))].map((name) => ({ name, package: null, version: null })),
    depends_on: { macros: [], nodes: [...new Set(read.map((name) => relationId(project, name)!))] },
  };
}

/** target/manifest.json in dbt's manifest v12 shape (MANIFEST_SCHEMA_VERSION): every model, source and sync. */
export function manifestArtifact(project: Project, analysis: Analysis, invocationId: string, scripts: ReadonlyMap<string, string | null> = compiledScripts(project, analysis)) {
  const tests = [...project.sources.values(), ...project.models.values()].flatMap((def) => def.tests.map((t) => [testUniqueId(project, t), testNode(project, t, def.origin)] as const));
  const nodes: Record<string, ReturnType<typeof modelNode> | ReturnType<typeof testNode>> = Object.fromEntries([
    ...[...project.models.values()].map((m) => [modelUniqueId(project, m.name), modelNode(project, analysis, m, scripts.get(m.name) ?? null)] as const),
    ...tests,
  ]);
  const sources = Object.fromEntries([...project.sources.values()].map((s) => [sourceUniqueId(project, s), sourceNode(project, analysis, s)]));
  const exposures = Object.fromEntries([...project.syncs.values()].map((s) => [exposureUniqueId(project, s.name), exposureNode(project, s)]));
  const parent_map: Record<string, string[]> = {};
  const child_map: Record<string, string[]> = {};
  for (const id of [...Object.keys(nodes), ...Object.keys(sources), ...Object.keys(exposures)]) child_map[id] = [];
  for (const [id, node] of [...Object.entries(nodes), ...Object.entries(exposures)]) {
    parent_map[id] = [...node.depends_on.nodes];
    for (const parent of node.depends_on.nodes) child_map[parent]?.push(id);
  }
  for (const id of Object.keys(sources)) parent_map[id] = [];
  for (const children of Object.values(child_map)) children.sort();
  return {
    metadata: {
      dbt_schema_version: MANIFEST_SCHEMA_VERSION,
      dbt_version: `tideline ${VERSION}`,
      generated_at: new Date().toISOString(),
      invocation_id: invocationId,
      env: {},
      project_name: project.name,
      adapter_type: project.target.dialect.name,
    },
    nodes,
    sources,
    macros: {},
    docs: {},
    exposures,
    metrics: {},
    groups: {},
    selectors: {},
    disabled: {},
    parent_map,
    child_map,
    group_map: {},
    saved_queries: {},
    semantic_models: {},
    unit_tests: {},
  };
}

/** Writes target/manifest.json; its path. */
export async function writeManifest(project: Project, analysis: Analysis, invocationId: string, scripts?: ReadonlyMap<string, string | null>): Promise<string> {
  const file = join(targetDir(project), 'manifest.json');
  await writeJson(file, manifestArtifact(project, analysis, invocationId, scripts));
  return file;
}

/**
 * target/run_results.json in dbt's run-results v6 shape (RUN_RESULTS_SCHEMA_VERSION). The rows a model wrote are
 * dbt's `adapter_response.rows_affected`, beside the bytes the warehouse reports. `compiled_code` is null: the SQL
 * is in target/manifest.json, and a run's record holds no literal of the project's YAML (which may name people,
 * e.g. identity's junk values). `args.select` is the models selected, not the selectors as written.
 */
export function runResultsArtifact(
  project: Project,
  results: readonly ModelResult[],
  options: {
    readonly invocationId: string;
    readonly startedAt: Date;
    readonly command: string;
    readonly fullRefresh: boolean;
    readonly selected: readonly string[];
    readonly adapterResponse: (result: ModelResult) => Record<string, number>;
    /** Data tests run (`tideline test`, `tideline build`), after the models: their failures counted. */
    readonly tests?: readonly TestResult[];
  },
) {
  return {
    metadata: {
      dbt_schema_version: RUN_RESULTS_SCHEMA_VERSION,
      dbt_version: `tideline ${VERSION}`,
      generated_at: new Date().toISOString(),
      invocation_id: options.invocationId,
      env: {},
    },
    results: [
      ...results.map((r) => ({
        status: r.status,
        timing: [],
        thread_id: 'Thread-1',
        execution_time: r.seconds,
        adapter_response: { ...(r.rows === null ? {} : { rows_affected: r.rows }), ...options.adapterResponse(r) },
        message: r.status === 'error' ? r.error : r.status === 'skipped' ? (r.error ?? 'skipped') : r.rows === null ? 'OK' : `OK ${r.rows}`,
        failures: null,
        unique_id: modelUniqueId(project, r.model),
        compiled: r.status !== 'skipped',
        compiled_code: null,
        relation_name: relationName(project, r.model),
      })),
      ...(options.tests ?? []).map((r) => testResultEntry(project, r)),
    ],
    elapsed_time: (Date.now() - options.startedAt.getTime()) / 1000,
    args: { which: options.command, target: project.target.name, full_refresh: options.fullRefresh, select: [...options.selected] },
  };
}

/** A data test's result as dbt's run-results entry: pass, fail, warn, error or skipped, with its failures counted. */
function testResultEntry(project: Project, r: TestResult) {
  return {
    status: r.status,
    timing: [],
    thread_id: 'Thread-1',
    execution_time: r.seconds,
    adapter_response: {},
    message: r.status === 'pass' ? null : r.message,
    failures: r.failures,
    unique_id: testUniqueId(project, r.test),
    compiled: r.status !== 'skipped',
    compiled_code: null,
    relation_name: null,
  };
}
