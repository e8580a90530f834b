import { existsSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { z } from 'zod';
import { DESTINATIONS } from '../../destinations/index.js';
import type { RegisteredDestination } from '../../destinations/destination.js';
import { modelKind, MODEL_KINDS } from '../../models/index.js';
import type { InputRef, RegisteredKind } from '../../models/model-kind.js';
import type { Dialect, LogicalType, TableRef } from '../dialects/dialect.js';
import { redactor } from '../log/redact.js';
import { loadSyncFiles, type DestinationDef, type SyncDef } from '../sync/load.js';
import { sendsMessages } from '../sync/messages.js';
import { targetSchema, targetSchemaOf, warehouseOf, WAREHOUSES, type AnyWarehouse, type TargetConfig } from '../warehouses/registry.js';
import { loadDbtProjects, resolveDbtRef, type DbtLink, type DbtProject } from './dbt.js';
import { projectEnv, type EnvLookup } from './env.js';
import { ConfigError, Problems, type FieldPath, type Location, type Problem } from './problems.js';
import { checkPolicyReferences, policyRelations, type Policies } from './policies.js';
import { pressurePolicy, type PressurePolicy, type PressurePolicyEntry } from './pressure.js';
import { modelCommonShape, modelFileSchema, projectFileSchema, projectFileSchemaWith, sourceSchema, type Freshness, type ModelChecks, type ProjectFile } from './schema.js';
import { dataTests, validDataTests, type DataTest } from './data-tests.js';
import { didYouMean } from './suggest.js';
import { validateAt } from './validate.js';
import { YamlFile } from './yaml-file.js';

export const PROJECT_FILE = 'tideline.yml';

/** Where something was written: a YAML file and the path of the item inside it. */
export interface Origin {
  readonly file: YamlFile;
  readonly path: FieldPath;
}

export function locate(origin: Origin, relativePath: FieldPath = []): Location {
  return origin.file.locate([...origin.path, ...relativePath]);
}

export interface SourceDef {
  readonly name: string;
  readonly description: string | undefined;
  readonly tags: readonly string[];
  readonly table: TableRef | undefined;
  /** A file read in place: the path as written (relative to the root), its format, and how to read a CSV file. */
  readonly file: FileSource | undefined;
  /** The dbt model (seed, snapshot, dbt source) it names with `dbt:`: its `table` is the relation dbt built. */
  readonly dbt?: DbtLink | undefined;
  /** How recent its rows must be (see `freshness` in YAML). */
  readonly freshness: Freshness | undefined;
  /** Its data tests (see `tests` in YAML). */
  readonly tests: readonly DataTest[];
  readonly origin: Origin;
}

export interface FileSource {
  readonly path: string;
  readonly format: 'csv' | 'parquet';
  /** CSV: declared column types, overriding detection. */
  readonly types: Readonly<Record<string, LogicalType>>;
  /** CSV: a broken line makes the file unreadable, instead of being skipped and reported (see `strict` in YAML). */
  readonly strict: boolean;
}

export interface ModelDef {
  readonly name: string;
  readonly kind: RegisteredKind;
  readonly spec: unknown;
  readonly description: string | undefined;
  readonly tags: readonly string[];
  readonly enabled: boolean;
  readonly inputs: readonly InputRef[];
  /** Row-count bounds (see `checks` in YAML). */
  readonly checks: ModelChecks | undefined;
  /** Its data tests (see `tests` in YAML). */
  readonly tests: readonly DataTest[];
  readonly origin: Origin;
}

export interface Target {
  readonly name: string;
  readonly config: TargetConfig;
  /** The registration of its warehouse (its `type`): how to open it, what not to print. */
  readonly warehouse: AnyWarehouse;
  readonly dialect: Dialect;
  /** Schema (dataset) where models are built. */
  readonly schema: string;
  /**
   * Schema (dataset) of the tables a build works in before it swaps its result in: `<schema>__tl_work`, so that they
   * are never where the models' readers look (see capabilities.buildsInTransaction for how it is kept empty).
   */
  readonly workSchema: string;
  readonly stateSchema: string;
  /** True when no target is configured and the embedded DuckDB default is used. */
  readonly implicit: boolean;
}

export interface Project {
  readonly root: string;
  readonly name: string;
  readonly config: ProjectFile;
  readonly target: Target;
  readonly sources: ReadonlyMap<string, SourceDef>;
  readonly models: ReadonlyMap<string, ModelDef>;
  /** Model names, each after every model it reads. */
  readonly order: readonly string[];
  /** Companion tables readable as relations: `<model>_<suffix>` → its model and suffix. */
  readonly companions: ReadonlyMap<string, CompanionRef>;
  readonly vars: Readonly<Record<string, string | number | boolean>>;
  /** Contact policies from tideline.yml: suppressions and the preference centre. */
  readonly policies: Policies;
  /** The marketing pressure policy of tideline.yml, when it declares one. */
  readonly pressure: ProjectPressure | undefined;
  /** Warnings found while loading (errors throw). */
  readonly warnings: readonly Problem[];
  /** Destinations and syncs from the sync files (paths.syncs), by name. */
  readonly destinations: ReadonlyMap<string, DestinationDef>;
  readonly syncs: ReadonlyMap<string, SyncDef>;
}

/** The pressure policy, and where tideline.yml declares it (for problems found against the warehouse). */
export interface ProjectPressure extends PressurePolicy {
  readonly origin: Origin;
}

/** The policy, its delivered sources checked: each must name a source (a raw table of events, built by no model). */
function checkedPressure(entry: PressurePolicyEntry, file: YamlFile, loaded: Loaded, syncs: ReadonlyMap<string, SyncDef> | undefined, problems: Problems): ProjectPressure {
  entry.delivered.forEach((delivered, i) => {
    if (loaded.sources.has(delivered.from) || loaded.models.has(delivered.from) || loaded.invalid.has(delivered.from)) return;
    const path = ['pressure', 'delivered', i, 'from'];
    const known = [...loaded.sources.keys(), ...loaded.models.keys()];
    problems.error('unknown-reference', `unknown source or model "${delivered.from}"${didYouMean(delivered.from, known)}`, file.locate(path), path);
  });
  // Audiences whose entries syncs send as messages (src/sync/messages.ts: audience syncs on a message channel, not of
  // an exclusion audience; their contact is the audiences model's key), and the syncs sending each.
  const synced: Record<string, string[]> = {};
  const senders: Record<string, Record<string, string[]>> = {};
  for (const sync of syncs?.values() ?? []) {
    if (sync.mode !== 'audience' || !sync.audience || !sync.enabled || !sendsMessages(sync)) continue;
    const audiences = (synced[sync.model] ??= []);
    if (!audiences.includes(sync.audience.name)) audiences.push(sync.audience.name);
    ((senders[sync.model] ??= {})[sync.audience.name] ??= []).push(sync.name);
  }
  return { ...pressurePolicy(entry, synced, senders), origin: { file, path: ['pressure'] } };
}

/**
 * Models whose kind applies the pressure policy read its delivered events: a model named there becomes their input,
 * so that they are built after it (and a model reading them back is a cycle).
 */
function readDelivered(loaded: Loaded, entry: PressurePolicyEntry): void {
  const delivered = [...new Set(entry.delivered.map((d) => d.from))].filter((from) => loaded.models.has(from));
  if (!delivered.length) return;
  for (const [name, model] of loaded.models) {
    if (!model.kind.appliesPressure) continue;
    const extra = delivered.filter((from) => from !== name && !model.inputs.some((i) => i.relation === from));
    loaded.models.set(name, { ...model, inputs: [...model.inputs, ...extra.map((relation) => ({ relation, at: ['kind'], columns: [] }))] });
  }
}

export interface CompanionRef {
  readonly model: string;
  readonly suffix: string;
}

/** The model a relation belongs to: itself for a model, the owner for a companion table, undefined for a source. */
export function owningModel(project: Pick<Project, 'models' | 'companions'>, relation: string): string | undefined {
  return project.models.has(relation) ? relation : project.companions.get(relation)?.model;
}

export interface LoadOptions {
  /** The project folder; by default the nearest folder holding tideline.yml, from `cwd` upwards. */
  readonly projectDir?: string | undefined;
  readonly cwd?: string | undefined;
  /** Target name; by default the project's `target`. */
  readonly target?: string | undefined;
  /** The process environment (tests pass their own). */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /**
   * The registries model kinds, targets and destinations are read against; the registered ones (models/index.ts,
   * src/warehouses/registry.ts, destinations/index.ts) by default. A test that adds a throwaway kind, warehouse or
   * destination passes registries that hold it (test/checklists.test.ts, test/kind-plugin.test.ts): the documented way
   * to show that a registry line is all an addition needs.
   */
  readonly registries?: Partial<Registries> | undefined;
}

export interface Registries {
  readonly kinds: readonly RegisteredKind[];
  readonly warehouses: readonly AnyWarehouse[];
  readonly destinations: readonly RegisteredDestination[];
}

/** The folder holding tideline.yml: `start` or its nearest ancestor. */
export function findProjectRoot(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, PROJECT_FILE))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Loads and checks a project without touching the warehouse: every YAML file parsed and validated, names and
 * references resolved, models ordered. All problems are collected; any error throws a ConfigError carrying them all.
 * Column checks against the warehouse come after, in `analyseProject`.
 */
export async function loadProject(options: LoadOptions = {}): Promise<Project> {
  const cwd = options.cwd ?? process.cwd();
  const root = options.projectDir ? resolve(cwd, options.projectDir) : findProjectRoot(cwd);
  if (!root || !existsSync(join(root, PROJECT_FILE))) {
    const where = options.projectDir ? resolve(cwd, options.projectDir) : cwd;
    throw new ConfigError([
      {
        code: 'no-project',
        severity: 'error',
        message: `no ${PROJECT_FILE} in ${where}${options.projectDir ? '' : ' or any folder above it'}; create one with \`tideline init\` or point to it with --project DIR`,
      },
    ]);
  }
  const problems = new Problems();
  const env = projectEnv(root, options.env ?? process.env);
  const configFile = await YamlFile.read(join(root, PROJECT_FILE), problems, env);
  if (!configFile) {
    problems.throwIfErrors();
    throw new Error('unreachable: unparsable project file without problems');
  }
  const registries: Registries = {
    kinds: options.registries?.kinds ?? MODEL_KINDS,
    warehouses: options.registries?.warehouses ?? WAREHOUSES,
    destinations: options.registries?.destinations ?? DESTINATIONS,
  };
  // A test's added warehouse is read as a registered one: its targets stand among the TargetConfigs, as registering it
  // would make them.
  const targets = options.registries?.warehouses ? (targetSchemaOf(registries.warehouses) as z.ZodType<TargetConfig>) : targetSchema;
  const fileSchema = options.registries?.warehouses ? projectFileSchemaWith(targets) : projectFileSchema;
  // With problems in tideline.yml, carry on with its valid parts so model files are checked in the same run.
  const config = validateAt(fileSchema, configFile.value() ?? {}, configFile, [], problems) ?? lenientConfig(configFile.value(), fileSchema, targets);

  for (const target of Object.values(config.targets ?? {})) for (const secret of warehouseOf(target, registries.warehouses).secrets(target)) redactor.add(secret);
  for (const entry of config.notify) registerWebhookSecret(entry.webhook);
  const target = chooseTarget(config, configFile, options.target, registries.warehouses, problems);
  if (target) checkWorkSchema(target, configFile, problems);
  const policies: Policies = { suppressions: config.suppressions, preferences: config.preferences, consent: config.consent, file: configFile };
  // A manifest is read when a source first names one of its models, not before.
  const dbt = loadDbtProjects(root, config.dbt, configFile);
  const loaded = target ? await loadModelFiles(root, config, configFile, target, env, registries.kinds, dbt, problems) : undefined;
  if (loaded) applyPolicyInputs(loaded, policies, problems);
  if (loaded && config.pressure) readDelivered(loaded, config.pressure);
  // References are checked even when some items were invalid, so one run reports both kinds of problem.
  const order = loaded ? resolveReferences(loaded, problems) : [];
  if (loaded) checkDataTests(root, loaded, problems);
  const synced =
    target && loaded
      ? await loadSyncFiles(
          {
            root,
            config,
            configFile,
            env,
            dialect: target.dialect,
            destinationTypes: registries.destinations,
            models: new Set(loaded.models.keys()),
            invalidModels: loaded.invalid,
            targets: Object.keys(config.targets ?? {}),
            syncParts: (name) => {
              const model = loaded.models.get(name);
              return model?.kind.syncParts?.(model.spec);
            },
          },
          problems,
        )
      : undefined;
  const pressure = config.pressure && loaded ? checkedPressure(config.pressure, configFile, loaded, synced?.syncs, problems) : undefined;
  problems.throwIfErrors();
  if (!target || !loaded) throw new Error('unreachable: missing target without problems');
  return {
    root,
    name: config.name,
    config,
    target,
    sources: loaded.sources,
    models: loaded.models,
    companions: loaded.companions,
    destinations: synced?.destinations ?? new Map(),
    syncs: synced?.syncs ?? new Map(),
    order,
    vars: config.vars,
    policies,
    pressure,
    warnings: problems.all.filter((p) => p.severity === 'warning'),
  };
}

/** A notification webhook is a secret, whole and by its path (Slack's token is the path: `/services/T…/B…/…`). */
function registerWebhookSecret(webhook: string): void {
  if (!webhook) return;
  redactor.add(webhook);
  const path = URL.canParse(webhook) ? new URL(webhook).pathname : '';
  if (path.length > 1) redactor.add(path);
}

/** The valid parts of a project file that failed validation; the invalid ones fall back to defaults. */
function lenientConfig(raw: unknown, fileSchema: typeof projectFileSchema, targets: z.ZodType<TargetConfig>): ProjectFile {
  const value: Record<string, unknown> = raw && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : {};
  const shape = fileSchema.shape as Record<string, z.ZodType>;
  if (value['targets'] && typeof value['targets'] === 'object') {
    value['targets'] = Object.fromEntries(Object.entries(value['targets'] as Record<string, unknown>).filter(([, t]) => targets.safeParse(t).success));
  }
  for (const key of Object.keys(value)) if (!shape[key]?.safeParse(value[key]).success) delete value[key];
  return fileSchema.parse({ name: 'project', ...value });
}

function chooseTarget(config: ProjectFile, file: YamlFile, requested: string | undefined, warehouses: readonly AnyWarehouse[], problems: Problems): Target | undefined {
  const targets = config.targets ?? {};
  const names = Object.keys(targets);
  const wanted = requested ?? config.target ?? (names.length === 1 ? names[0] : undefined);
  if (names.length === 0 && wanted === undefined) {
    return makeTarget('dev', { type: 'duckdb', path: '.tideline/warehouse.duckdb' }, config, true, warehouses);
  }
  if (wanted === undefined) {
    problems.error('no-default-target', `${names.length} targets and no default: add \`target: <name>\` (one of ${names.join(', ')}) or pass --target`, file.locate(['targets']), ['targets']);
    return undefined;
  }
  const chosen = targets[wanted];
  if (!chosen && problems.hasErrors && Object.hasOwn((file.value() as { targets?: object } | null)?.targets ?? {}, wanted)) return undefined;
  if (!chosen) {
    const message = `unknown target "${wanted}"${didYouMean(wanted, names)}; targets: ${names.length ? names.join(', ') : 'none (add a `targets:` section)'}`;
    if (requested !== undefined) problems.error('unknown-target', `--target: ${message}`);
    else problems.error('unknown-target', message, file.locate(['target']), ['target']);
    return undefined;
  }
  return makeTarget(wanted, chosen, config, false, warehouses);
}

/** Suffix of the work schema's name, after the model schema's. */
export const WORK_SCHEMA_SUFFIX = '__tl_work';

function makeTarget(name: string, config: TargetConfig, project: ProjectFile, implicit: boolean, warehouses: readonly AnyWarehouse[]): Target {
  const warehouse = warehouseOf(config, warehouses);
  const schema = warehouse.modelSchema(config) ?? project.schema;
  return {
    name,
    config,
    warehouse,
    dialect: warehouse.dialect,
    schema,
    workSchema: `${schema}${WORK_SCHEMA_SUFFIX}`,
    stateSchema: project.state_schema,
    implicit,
  };
}

/** The work schema's name must hold in the warehouse: a schema name near its length limit leaves no room for it. */
function checkWorkSchema(target: Target, file: YamlFile, problems: Problems): void {
  const problem = target.dialect.identifierProblem(target.workSchema);
  if (!problem) return;
  const path = target.warehouse.modelSchema(target.config) === undefined ? ['schema'] : ['targets', target.name];
  problems.error('bad-schema', `schema "${target.schema}" leaves no room for its work schema "${target.workSchema}": ${problem}; choose a shorter schema`, file.locate(path), path);
}

interface Loaded {
  sources: Map<string, SourceDef>;
  models: Map<string, ModelDef>;
  companions: Map<string, CompanionRef>;
  /** Names of items that failed validation: known to exist, so references to them are not reported again. */
  invalid: Set<string>;
  /** The valid data tests of items that failed validation, whose references are still checked (checkDataTests). */
  invalidTests: { tests: readonly DataTest[]; origin: Origin }[];
}

async function loadModelFiles(
  root: string,
  config: ProjectFile,
  configFile: YamlFile,
  target: Target,
  env: EnvLookup,
  kinds: readonly RegisteredKind[],
  dbt: readonly DbtProject[],
  problems: Problems,
): Promise<Loaded> {
  const sources = new Map<string, SourceDef>();
  const models = new Map<string, ModelDef>();
  const invalid = new Set<string>();
  const invalidTests: Loaded['invalidTests'] = [];
  const seen = new Map<string, Origin>();
  const nameOf = (item: unknown) => (item && typeof item === 'object' && typeof (item as { name?: unknown }).name === 'string' ? (item as { name: string }).name : undefined);
  const files: string[] = [];
  for (const [i, dir] of config.paths.models.entries()) {
    const abs = resolve(root, dir);
    if (!existsSync(abs)) {
      if (dir !== 'models') problems.error('missing-path', `folder ${dir} does not exist`, configFile.locate(['paths', 'models', i]), ['paths', 'models', i]);
      continue;
    }
    files.push(...(await glob(['**/*.yml', '**/*.yaml'], { cwd: abs, absolute: true })).sort());
  }

  const claim = (name: string, origin: Origin): boolean => {
    const key = name.toLowerCase();
    const previous = seen.get(key);
    if (previous) {
      const p = locate(previous, ['name']);
      problems.error('duplicate-name', `"${name}" is already defined at ${relative(root, p.file)}:${p.line}:${p.col}; sources and models share one namespace`, locate(origin, ['name']), [...origin.path, 'name']);
      return false;
    }
    seen.set(key, origin);
    return true;
  };

  for (const path of [...new Set(files)]) {
    const file = await YamlFile.read(path, problems, env);
    if (!file) continue;
    const content = file.value() ?? {};
    const parsed = validateAt(modelFileSchema, content, file, [], problems);
    if (!parsed) continue;

    for (const [i, item] of (parsed.sources ?? []).entries()) {
      const origin: Origin = { file, path: ['sources', i] };
      const source = validateAt(sourceSchema, item, file, origin.path, problems);
      const def = source && makeSource(root, source, origin, target, dbt, problems);
      if (def && claim(def.name, origin)) sources.set(def.name, def);
      else if (!def && nameOf(item)) {
        invalid.add(nameOf(item)!);
        invalidTests.push({ tests: validDataTests(item, nameOf(item)!, 'source'), origin });
      }
    }

    for (const [i, item] of (parsed.models ?? []).entries()) {
      const origin: Origin = { file, path: ['models', i] };
      const def = makeModel(item, origin, kinds, problems);
      if (def && claim(def.name, origin)) models.set(def.name, def);
      else if (!def && nameOf(item)) {
        invalid.add(nameOf(item)!);
        invalidTests.push({ tests: validDataTests(item, nameOf(item)!, 'model'), origin });
      }
    }
  }
  // Companion tables are relations too; their names share the namespace of sources and models.
  const companions = new Map<string, CompanionRef>();
  for (const model of models.values()) {
    for (const declared of model.kind.companions?.(model.spec) ?? []) {
      const name = `${model.name}_${declared.suffix}`;
      if (claim(name, model.origin)) companions.set(name, { model: model.name, suffix: declared.suffix });
    }
  }
  return { sources, models, invalid, invalidTests, companions };
}

function makeSource(root: string, source: z.infer<typeof sourceSchema>, origin: Origin, target: Target, dbtProjects: readonly DbtProject[], problems: Problems): SourceDef | undefined {
  const at = (field: string) => [...origin.path, field];
  if ([source.table, source.file, source.dbt].filter((x) => x !== undefined).length !== 1) {
    problems.error('bad-source', 'a source names either a warehouse `table`, a dbt model (`dbt`) or a local `file`, exactly one of them', locate(origin), origin.path);
    return undefined;
  }
  let file: SourceDef['file'];
  if (source.file !== undefined) {
    if (!target.dialect.capabilities.readsLocalFiles) {
      problems.error(
        'unsupported',
        `target "${target.name}" (${target.dialect.name}) cannot read local files; load ${source.file} into a table and name it with \`table:\``,
        locate(origin, ['file']),
        at('file'),
      );
      return undefined;
    }
    const format = source.format ?? (extname(source.file).toLowerCase() === '.parquet' ? 'parquet' : extname(source.file).toLowerCase() === '.csv' ? 'csv' : undefined);
    if (!format) {
      problems.error('bad-source', `cannot tell the format of ${source.file} from its extension; add \`format: csv\` or \`format: parquet\``, locate(origin, ['file']), at('file'));
      return undefined;
    }
    if (!existsSync(resolve(root, source.file))) {
      problems.error('missing-file', `file ${source.file} does not exist (paths are relative to the project root ${root})`, locate(origin, ['file']), at('file'));
      return undefined;
    }
    // An empty file has no header: the warehouse would invent a column and fail on the first one a model names.
    if (statSync(resolve(root, source.file)).size === 0) {
      problems.error('empty-file', `${source.file} is empty (0 bytes)`, locate(origin, ['file']), at('file'));
      return undefined;
    }
    if (source.types && format !== 'csv') problems.error('bad-source', '`types` applies to CSV files only', locate(origin, ['types']), at('types'));
    if (source.strict && format !== 'csv') problems.error('bad-source', '`strict` applies to CSV files only', locate(origin, ['strict']), at('strict'));
    file = { path: source.file, format, types: source.types ?? {}, strict: source.strict };
  } else if (source.types) {
    problems.error('bad-source', '`types` applies to CSV files only; a table has its own column types', locate(origin, ['types']), at('types'));
  } else if (source.strict) {
    problems.error('bad-source', '`strict` applies to CSV files only', locate(origin, ['strict']), at('strict'));
  }
  const dbt = source.dbt === undefined ? undefined : resolveDbtRef(root, source.dbt, dbtProjects, target.dialect, origin.file, at('dbt'), problems);
  if (source.dbt !== undefined && !dbt) return undefined;
  const table: TableRef | undefined =
    dbt?.table ??
    (source.table === undefined
      ? undefined
      : typeof source.table === 'string'
        ? parseTableName(source.table)
        : source.table);
  const description = source.description ?? (dbt?.link.description || undefined);
  return { name: source.name, description, tags: source.tags, table, file, dbt: dbt?.link, freshness: source.freshness, tests: dataTests(source.tests, source.name, 'source'), origin };
}

export function parseTableName(text: string): TableRef {
  const parts = text.split('.');
  if (parts.length === 3) return { catalog: parts[0]!, schema: parts[1]!, name: parts[2]! };
  if (parts.length === 2) return { schema: parts[0]!, name: parts[1]! };
  return { name: parts[0]! };
}

function makeModel(item: unknown, origin: Origin, kinds: readonly RegisteredKind[], problems: Problems): ModelDef | undefined {
  const { file, path } = origin;
  const kindValue = item && typeof item === 'object' ? (item as Record<string, unknown>)['kind'] : undefined;
  if (typeof kindValue !== 'string') {
    validateAt(z.strictObject(modelCommonShape).partial().required({ kind: true }).loose(), item, file, path, problems);
    return undefined;
  }
  const kind = modelKind(kindValue, kinds);
  if (!kind) {
    const known = kinds.map((k) => k.kind);
    problems.error('unknown-kind', `unknown model kind "${kindValue}"${didYouMean(kindValue, known)}; kinds: ${known.join(', ')}`, file.locate([...path, 'kind']), [...path, 'kind']);
    return undefined;
  }
  // The whole item at once, strictly, so that every problem is located and an unknown key is matched against every
  // field it could have meant, common or the kind's own.
  const valid = validateAt(z.strictObject({ ...modelCommonShape, ...kind.schema.shape }), item, file, path, problems);
  if (!valid) return undefined;
  // Then each part by its own schema, typed: the common fields here, the kind's own into its spec, which only the kind
  // can read.
  const { name, description, tags, enabled, checks, tests } = modelCommonSchema.parse(valid);
  const written: object = item !== null && typeof item === 'object' ? item : {};
  const fields = Object.fromEntries(Object.entries(written).filter(([key]) => !Object.hasOwn(modelCommonShape, key)));
  const spec = kind.parse(fields, (schema, data) => validateAt(schema, data, file, path, problems));
  if (!spec) return undefined;
  return { name, kind, spec, description, tags, enabled, inputs: kind.inputs(spec), checks, tests: dataTests(tests, name, 'model'), origin };
}

/** The common fields of a model item, the kind's own left out. */
const modelCommonSchema = z.object(modelCommonShape);

/**
 * Checks the relations the policies read, and makes every model applying them (audiences) read them too, so that a
 * suppression drawn from a model is built before the audiences. A policy reading such a model would make it read
 * itself: reported in tideline.yml.
 */
function applyPolicyInputs(loaded: Loaded, policies: Policies, problems: Problems): void {
  const known = new Set([...loaded.sources.keys(), ...loaded.models.keys(), ...loaded.companions.keys()]);
  checkPolicyReferences(policies, known, loaded.invalid, problems);
  const owner = (relation: string) => loaded.companions.get(relation)?.model ?? relation;
  const inputs = policyRelations(policies).filter(({ relation, at }) => {
    if (!known.has(relation)) return false;
    const model = loaded.models.get(owner(relation));
    if (!model?.kind.appliesPolicies) return true;
    problems.error('cycle', `"${relation}" belongs to ${model.kind.kind} model "${model.name}", which applies the project's suppressions and preferences itself; read a model it does not depend on`, policies.file?.locate(at), at);
    return false;
  });
  if (!inputs.length) return;
  for (const [name, model] of loaded.models) {
    if (!model.kind.appliesPolicies) continue;
    loaded.models.set(name, { ...model, inputs: [...model.inputs, ...inputs.map(({ relation }) => ({ relation, at: [], columns: [] }))] });
  }
}

/** Checks that every input exists and that models do not read each other in a cycle; returns the build order. */
function resolveReferences({ sources, models, invalid, companions }: Loaded, problems: Problems): string[] {
  const known = [...sources.keys(), ...models.keys(), ...companions.keys()];
  const owner = (relation: string) => companions.get(relation)?.model ?? relation;
  for (const model of models.values()) {
    for (const input of model.inputs) {
      if (owner(input.relation) === model.name) {
        problems.error('cycle', `model "${model.name}" reads itself`, locate(model.origin, input.at), [...model.origin.path, ...input.at]);
      } else if (!sources.has(input.relation) && !models.has(input.relation) && !companions.has(input.relation) && !invalid.has(input.relation)) {
        problems.error(
          'unknown-reference',
          `unknown source or model "${input.relation}"${didYouMean(input.relation, known)}`,
          locate(model.origin, input.at),
          [...model.origin.path, ...input.at],
        );
      } else if (model.enabled && models.get(owner(input.relation))?.enabled === false) {
        problems.warning('disabled-input', `reads model "${input.relation}", which is disabled: its table may be missing or stale`, locate(model.origin, input.at), [...model.origin.path, ...input.at]);
      }
    }
  }

  // Depth-first topological order; a back edge is a cycle, reported once at the model that closes it.
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, stack: string[]): void => {
    const model = models.get(name);
    if (!model || state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      const closing = models.get(stack[stack.length - 1]!)!;
      const input = closing.inputs.find((i) => owner(i.relation) === name)!;
      problems.error('cycle', `models read each other in a cycle: ${cycle.join(' → ')}`, locate(closing.origin, input.at), [...closing.origin.path, ...input.at]);
      return;
    }
    state.set(name, 'visiting');
    for (const input of model.inputs) if (owner(input.relation) !== name) visit(owner(input.relation), [...stack, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of models.keys()) visit(name, []);
  return order;
}

/**
 * Data tests: a `relationships` test names a source, model or companion table; names are unique in the project. A
 * name made up from a test's contents that two tests share (two expressions, say) is numbered; a name written twice
 * is an error.
 */
function checkDataTests(root: string, { sources, models, companions, invalid, invalidTests }: Loaded, problems: Problems): void {
  const known = [...sources.keys(), ...models.keys(), ...companions.keys()];
  const seen = new Map<string, Origin>();
  const checkTo = (test: DataTest, origin: Origin) => {
    if (test.type === 'relationships' && !known.includes(test.to!) && !invalid.has(test.to!)) {
      const at = [...origin.path, ...test.at, 'relationships', 'to'];
      problems.error('unknown-reference', `unknown source or model "${test.to}"${didYouMean(test.to!, known)}`, origin.file.locate(at), at);
    }
  };
  for (const { tests, origin } of invalidTests) tests.forEach((test) => checkTo(test, origin));
  const renumber = <T extends { tests: readonly DataTest[]; origin: Origin }>(def: T): T => {
    const tests = def.tests.map((test) => {
      checkTo(test, def.origin);
      let name = test.name;
      const previous = seen.get(name.toLowerCase());
      if (previous && test.named) {
        const p = previous.file.locate(previous.path);
        const at = [...def.origin.path, ...test.at];
        problems.error('duplicate-name', `test "${name}" is already defined at ${relative(root, p.file)}:${p.line}:${p.col}`, def.origin.file.locate([...at, test.type, 'name']), [...at, test.type, 'name']);
      }
      for (let n = 2; seen.has(name.toLowerCase()); n++) name = `${test.name}_${n}`;
      seen.set(name.toLowerCase(), { file: def.origin.file, path: [...def.origin.path, ...test.at] });
      return name === test.name ? test : { ...test, name };
    });
    return { ...def, tests };
  };
  for (const [name, source] of sources) sources.set(name, renumber(source));
  for (const [name, model] of models) models.set(name, renumber(model));
}
