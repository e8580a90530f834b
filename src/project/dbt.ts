import { readFileSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { z } from 'zod';
import type { Dialect, TableRef } from '../dialects/dialect.js';
import { objectName } from './names.js';
import type { FieldPath, Problems } from './problems.js';
import { didYouMean } from './suggest.js';
import type { YamlFile } from './yaml-file.js';

/**
 * dbt projects as input: tideline.yml declares the `target/manifest.json` of one or more dbt projects, and a source
 * names a model (or seed, snapshot, dbt source) of one of them with `dbt:` instead of `table:`. The manifest tells
 * the relation dbt built (database, schema, alias), its description and its columns' descriptions.
 */

type IdentifierCase = Dialect['capabilities']['identifierCase'];

/** Manifest schema versions read: v10 (dbt 1.6), v11 (dbt 1.7), v12 (dbt 1.8 and later, dbt Fusion). */
export const DBT_MANIFEST_VERSIONS = [10, 11, 12] as const;

const dbtProjectEntry = z.strictObject({
  manifest: z
    .string()
    .min(1)
    .describe("The dbt project's `target/manifest.json` (written by `dbt parse`, `dbt run`, `dbt build`…), relative to the project root; `${env:VAR}` allowed."),
  database: z
    .string()
    .min(1)
    .nullable()
    .optional()
    .describe("Catalog (database; BigQuery: project) to read the dbt project's tables from instead of the manifest's; `null`: none, the connection's own."),
  schemas: z
    .record(z.string().min(1), z.string().min(1))
    .default({})
    .describe("Schemas of the manifest mapped to those to read instead (`{ dbt_prod: analytics }`), for a manifest written for another target."),
});
export type DbtProjectEntry = z.infer<typeof dbtProjectEntry>;

/** `dbt:` of tideline.yml: one project (`{manifest: …}`), or several by name (`{analytics: {manifest: …}, …}`). */
export const dbtProjectsSchema = z
  .union([dbtProjectEntry, z.record(objectName, dbtProjectEntry)])
  .describe(
    'dbt projects whose models sources may name (`dbt:` on a source, README "Using dbt models as sources"): `{manifest: PATH}` for one, or several by name, `{NAME: {manifest: PATH}, …}`.',
  );

/** `dbt:` of a source. */
export const dbtRefSchema = z
  .union([
    z.string().min(1),
    z
      .strictObject({
        model: z.string().min(1).optional().describe("A model, seed or snapshot, by name (what dbt's `ref()` takes)."),
        source: z.string().regex(/^[^.]+\.[^.]+$/, 'a dbt source table: SOURCE.TABLE').optional().describe("A dbt source's table, `SOURCE.TABLE` (what dbt's `source()` takes)."),
        version: z.union([z.string().min(1), z.number()]).optional().describe("A versioned model's version; by default its `latest_version`, as `ref()` does."),
        package: z
          .string()
          .min(1)
          .optional()
          .describe("The dbt package holding the model (its `package_name`, as dbt's two-argument `ref('package', 'model')` takes); needed only when several packages of one manifest have a model of the name and the root project has none."),
        project: z.string().min(1).optional().describe("The dbt project (which manifest), by its name in tideline.yml's `dbt:` (or the manifest's project name); needed only when several have the name."),
      })
      .superRefine((ref, context) => {
        for (const key of ['version', 'package'] as const) {
          if (ref.source !== undefined && ref[key] !== undefined) context.addIssue({ code: 'custom', path: [key], message: `\`${key}\` applies to a dbt model (\`model:\`), not to a dbt \`source\`` });
        }
      }),
  ])
  .describe(
    'A model, seed or snapshot of a dbt project declared in tideline.yml (`dbt: orders`), or a dbt source (`dbt: source:shop.orders`), instead of `table`: its table, description and column descriptions are read from the manifest. `{model, version, package, project}` or `{source, project}` for more.',
  );
export type DbtRefEntry = z.infer<typeof dbtRefSchema>;

/** What a manifest says of a node, as Tideline reads it (every field optional or nullable, as across versions). */
export interface DbtNode {
  readonly unique_id: string;
  readonly name: string;
  readonly resource_type: string;
  readonly package_name?: string;
  readonly database?: string | null;
  readonly schema?: string | null;
  readonly alias?: string | null;
  readonly identifier?: string | null;
  readonly source_name?: string;
  readonly relation_name?: string | null;
  readonly description?: string;
  readonly columns?: Readonly<Record<string, { readonly name?: string; readonly description?: string; readonly data_type?: string | null }>>;
  readonly config?: { readonly enabled?: boolean; readonly materialized?: string; readonly quoting?: Quoting };
  /** A dbt source's quoting (models have theirs in `config`). */
  readonly quoting?: Quoting;
  readonly version?: string | number | null;
  readonly latest_version?: string | number | null;
}

/** Whether dbt quotes each part of a relation's name (dbt's `quoting` config); unset: the adapter's default. */
export interface Quoting {
  readonly database?: boolean | null;
  readonly schema?: boolean | null;
  readonly identifier?: boolean | null;
}

/** A manifest, indexed by what sources look up. */
export interface DbtManifest {
  /** Absolute path. */
  readonly path: string;
  readonly version: number;
  readonly dbtVersion: string;
  readonly projectName: string | undefined;
  /** dbt's adapter (`duckdb`, `snowflake`…): its default quoting. */
  readonly adapterType: string | undefined;
  /** The project's quoting (manifest v12 of dbt 1.10 and later), under each node's own. */
  readonly quoting: Quoting;
  /** Models, seeds and snapshots (what `ref()` reaches), by name: several for versions or packages. */
  readonly relations: ReadonlyMap<string, readonly DbtNode[]>;
  /** dbt sources' tables by `SOURCE.TABLE`. */
  readonly sources: ReadonlyMap<string, DbtNode>;
  /** Disabled nodes: `NAME` for what `ref()` reaches, `source:SOURCE.TABLE` for sources. */
  readonly disabled: ReadonlyMap<string, DbtNode>;
}

const REF_TYPES = new Set(['model', 'seed', 'snapshot']);

/** Manifests read, by path: read again only when the file changed, so a command parses a manifest once. */
const cache = new Map<string, { readonly mtimeMs: number; readonly size: number; readonly manifest: DbtManifest }>();

/** How many times a manifest was parsed (tests check that a command parses it once). */
export let manifestParses = 0;

/** Reads and indexes a manifest; a string saying why not (missing, not JSON, not a manifest, unsupported version). */
export function readManifest(path: string): DbtManifest | string {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 'does not exist';
  }
  if (stat.isDirectory()) return 'is a folder: name the manifest.json file in it (dbt writes target/manifest.json)';
  const cached = cache.get(path);
  if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.manifest;
  let raw: unknown;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  try {
    manifestParses++;
    raw = JSON.parse(text);
  } catch (error) {
    return `is not valid JSON${jsonErrorPlace(text, error)}`;
  }
  const manifest = indexManifest(path, raw);
  if (typeof manifest !== 'string') cache.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, manifest });
  return manifest;
}

/**
 * Where JSON.parse failed, as ` (line L, column C)`: where, never what, as V8's messages may quote the text around the
 * fault (`Unexpected token '}', "{"a": }" is not valid JSON`), and a manifest holds anything its SQL and docs hold.
 */
function jsonErrorPlace(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (/end of JSON input/.test(message)) return ' (it ends early: was it written completely?)';
  const position = /at position (\d+)/.exec(message);
  if (!position) return '';
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  return ` (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
}

function indexManifest(path: string, raw: unknown): DbtManifest | string {
  const json = (raw && typeof raw === 'object' ? raw : {}) as { metadata?: Record<string, unknown>; nodes?: unknown; sources?: unknown; disabled?: unknown };
  const schemaVersion = json.metadata?.['dbt_schema_version'];
  const match = typeof schemaVersion === 'string' ? /\/manifest\/v(\d+)\.json$/.exec(schemaVersion) : null;
  if (!match || !isRecord(json.nodes) || !isRecord(json.sources)) {
    return 'is not a dbt manifest (no metadata.dbt_schema_version naming a manifest schema, or no nodes and sources)';
  }
  const version = Number(match[1]);
  const dbtVersion = typeof json.metadata?.['dbt_version'] === 'string' ? json.metadata['dbt_version'] : 'unknown';
  if (!(DBT_MANIFEST_VERSIONS as readonly number[]).includes(version)) {
    const first = DBT_MANIFEST_VERSIONS[0];
    const last = DBT_MANIFEST_VERSIONS[DBT_MANIFEST_VERSIONS.length - 1];
    const advice = version < first ? 'run `dbt parse` with dbt 1.6 or later' : 'this Tideline is older than that dbt; upgrade Tideline';
    return `is a manifest v${version} (dbt ${dbtVersion}); Tideline reads manifest v${first} to v${last} (dbt 1.6 and later): ${advice}`;
  }
  const relations = new Map<string, DbtNode[]>();
  const sources = new Map<string, DbtNode>();
  const disabled = new Map<string, DbtNode>();
  for (const node of Object.values(json.nodes) as DbtNode[]) {
    if (!node || !REF_TYPES.has(node.resource_type) || typeof node.name !== 'string') continue;
    const list = relations.get(node.name);
    if (list) list.push(slim(node));
    else relations.set(node.name, [slim(node)]);
  }
  for (const node of Object.values(json.sources) as DbtNode[]) if (node?.source_name !== undefined) sources.set(`${node.source_name}.${node.name}`, slim(node));
  for (const nodes of Object.values(isRecord(json.disabled) ? json.disabled : {})) {
    for (const node of (Array.isArray(nodes) ? nodes : []) as DbtNode[]) {
      if (node?.resource_type === 'source') disabled.set(`source:${node.source_name}.${node.name}`, slim(node));
      else if (node && REF_TYPES.has(node.resource_type)) disabled.set(node.name, slim(node));
    }
  }
  const projectName = typeof json.metadata?.['project_name'] === 'string' ? json.metadata['project_name'] : undefined;
  const adapterType = typeof json.metadata?.['adapter_type'] === 'string' ? json.metadata['adapter_type'] : undefined;
  const quoting = isRecord(json.metadata?.['quoting']) ? (json.metadata['quoting'] as Quoting) : {};
  return { path, version, dbtVersion, projectName, adapterType, quoting, relations, sources, disabled };
}

/**
 * The fields Tideline reads of a node, so that the cache keeps them and not the rest of the manifest (its SQL, macros,
 * tests: most of a large manifest's bytes).
 */
function slim(node: DbtNode): DbtNode {
  const { unique_id, name, resource_type, package_name, database, schema, alias, identifier, source_name, relation_name, description, version, latest_version, quoting } = node;
  const config = node.config ? { enabled: node.config.enabled, materialized: node.config.materialized, quoting: node.config.quoting } : undefined;
  const columns = node.columns
    ? Object.fromEntries(Object.entries(node.columns).map(([key, c]) => [key, { name: c?.name, description: c?.description, data_type: c?.data_type }]))
    : undefined;
  return { unique_id, name, resource_type, package_name, database, schema, alias, identifier, source_name, relation_name, description, version, latest_version, quoting, config, columns };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A dbt project declared in tideline.yml. Its manifest is read when a source first names it, so that a manifest not
 * yet written (`dbt parse` not run) stops only what reads its models: never `status`, `forget` or a project with no
 * source naming it.
 */
export interface DbtProject {
  /** Its name in tideline.yml (undefined for the single-project form, named by its manifest's project name). */
  readonly name: string | undefined;
  readonly entry: DbtProjectEntry;
  /** Where tideline.yml declares the manifest (`tideline.yml:3:13`), for errors reading it. */
  readonly declaredAt: string;
  /** The manifest, read on first call; a string saying why it cannot be. */
  manifest(): DbtManifest | string;
}

/** The dbt projects tideline.yml declares; their manifests are not read yet. */
export function loadDbtProjects(root: string, declared: z.infer<typeof dbtProjectsSchema> | undefined, file: YamlFile): DbtProject[] {
  if (declared === undefined) return [];
  const entries: [string | undefined, DbtProjectEntry, FieldPath][] =
    typeof declared.manifest === 'string'
      ? [[undefined, declared as DbtProjectEntry, ['dbt']]]
      : Object.entries(declared as Record<string, DbtProjectEntry>).map(([name, entry]) => [name, entry, ['dbt', name]]);
  return entries.map(([name, entry, path]) => {
    const where = file.locate([...path, 'manifest']);
    let read: DbtManifest | string | undefined;
    return {
      name,
      entry,
      declaredAt: `${relative(root, where.file).split('\\').join('/')}:${where.line}:${where.col}`,
      manifest: () => (read ??= readManifest(resolve(root, entry.manifest))),
    };
  });
}

/** A project's name for messages: its name in tideline.yml, or its manifest's project name. */
function projectName(project: DbtProject): string | undefined {
  const manifest = project.manifest();
  return project.name ?? (typeof manifest === 'string' ? undefined : manifest.projectName);
}

/** The dbt node a source reads, as its SourceDef carries it (artifacts and docs show the link). */
export interface DbtLink {
  readonly uniqueId: string;
  readonly name: string;
  readonly resourceType: string;
  /** The dbt project's name (the manifest's), when it has one. */
  readonly project: string | undefined;
  /** The manifest, relative to the Tideline project root. */
  readonly manifest: string;
  /** dbt's own `relation_name` (in the dbt target's quoting). */
  readonly relationName: string | null;
  readonly description: string;
  readonly columns: readonly { readonly name: string; readonly description: string; readonly dataType: string | null }[];
}

export interface ResolvedDbt {
  readonly table: TableRef;
  readonly link: DbtLink;
}

/**
 * The table a source's `dbt:` names; undefined after reporting why not (unknown name, disabled, ephemeral,
 * ambiguous, no project declared), located at `at` (the source's `dbt` field).
 */
export function resolveDbtRef(
  root: string,
  ref: DbtRefEntry,
  projects: readonly DbtProject[],
  dialect: Pick<Dialect, 'capabilities' | 'storedName'>,
  file: YamlFile,
  at: FieldPath,
  problems: Problems,
): ResolvedDbt | undefined {
  const report = (message: string, field: FieldPath = []) => problems.error('bad-dbt-reference', message, file.locate([...at, ...field]), [...at, ...field]);
  const wanted = typeof ref === 'string' ? (ref.startsWith('source:') ? { source: ref.slice('source:'.length) } : { model: ref }) : ref;
  if ((wanted.model === undefined) === (wanted.source === undefined)) {
    report('name either a dbt `model` (or seed, snapshot) or a dbt `source`, exactly one of them');
    return undefined;
  }
  if (wanted.source !== undefined && !/^[^.]+\.[^.]+$/.test(wanted.source)) {
    report(`"${wanted.source}" is not a dbt source table: write source:SOURCE.TABLE`);
    return undefined;
  }
  if (projects.length === 0) {
    report('no dbt project is declared: add `dbt: { manifest: path/to/target/manifest.json }` to tideline.yml');
    return undefined;
  }
  const project = 'project' in wanted ? wanted.project : undefined;
  // The manifests this source reads: a manifest that cannot be read is this source's problem, located at its `dbt:`.
  const unreadable = (candidates: readonly DbtProject[]) => {
    for (const p of candidates) {
      const why = p.manifest();
      if (typeof why !== 'string') continue;
      const absolute = resolve(root, p.entry.manifest);
      problems.error(
        'bad-dbt-manifest',
        `dbt manifest ${p.entry.manifest} (${p.declaredAt}) ${why}${why === 'does not exist' ? ` (resolved to ${absolute}; \`dbt parse\` writes it)` : ''}`,
        file.locate(at),
        at,
      );
    }
    return candidates.some((p) => typeof p.manifest() === 'string');
  };
  let candidates = projects;
  if (project !== undefined) {
    candidates = projects.filter((p) => p.name === project);
    // Not a name in tideline.yml: a manifest's project name, which reading them tells.
    if (!candidates.length && unreadable(projects)) return undefined;
    if (!candidates.length) candidates = projects.filter((p) => (p.manifest() as DbtManifest).projectName === project);
    if (!candidates.length) {
      const names = projects.map(projectName).filter((n): n is string => n !== undefined);
      report(`unknown dbt project "${project}"${didYouMean(project, names)}; dbt projects: ${names.join(', ') || 'none named'}`, typeof ref === 'string' ? [] : ['project']);
      return undefined;
    }
  }
  if (unreadable(candidates)) return undefined;
  const readable = candidates.map((p) => ({ ...p, name: projectName(p), manifest: p.manifest() as DbtManifest }));
  const key = wanted.source !== undefined ? `source:${wanted.source}` : wanted.model!;
  const field: FieldPath = typeof ref === 'string' ? [] : [wanted.source !== undefined ? 'source' : 'model'];
  const found = readable.map((p) => ({ project: p, nodes: lookUp(p.manifest, wanted) })).filter((f) => f.nodes.length);
  if (found.length > 1) {
    const names = found.map((f) => f.project.name).join(', ');
    const advice = project === undefined ? 'add `project:`' : `"${project}" names each of them: give \`project:\` their name in tideline.yml's \`dbt:\``;
    report(`"${key}" is in several dbt projects (${names}): ${advice}`, field);
    return undefined;
  }
  if (!found.length) {
    const disabled = readable.map((p) => p.manifest.disabled.get(key)).find((n) => n !== undefined);
    if (disabled) {
      report(`dbt ${disabled.resource_type} "${key.replace(/^source:/, '')}" (${disabled.unique_id}) is disabled in its dbt project: dbt builds no table for it; enable it there, or read another`, field);
    } else {
      const known = readable.flatMap((p) => (wanted.source !== undefined ? [...p.manifest.sources.keys()] : [...p.manifest.relations.keys()]));
      const kind = wanted.source !== undefined ? 'source table' : 'model, seed or snapshot';
      const where = readable.map((p) => relative(root, p.manifest.path)).join(', ');
      // A dbt source's table named as a model: say how to name it.
      const asSource = wanted.model === undefined ? undefined : readable.flatMap((p) => [...p.manifest.sources.keys()]).find((k) => k.endsWith(`.${wanted.model}`));
      const hint = asSource ? ` (a dbt source has a table "${wanted.model}": write \`dbt: source:${asSource}\`)` : didYouMean(key.replace(/^source:/, ''), known);
      report(`no dbt ${kind} "${key.replace(/^source:/, '')}" in ${where}${hint}`, field);
    }
    return undefined;
  }
  const [{ project: chosen, nodes }] = found as [(typeof found)[number]];
  const asked = typeof ref === 'string' ? {} : ref;
  const node = pickNode(nodes, chosen.manifest.projectName, asked, (message, key) => report(message, key && asked[key] !== undefined ? [key] : field));
  if (!node) return undefined;
  if (node.config?.materialized === 'ephemeral' || !node.relation_name) {
    const why = node.config?.materialized === 'ephemeral' ? 'is ephemeral: dbt inlines it into the models that ref it and builds no table' : 'has no relation in the manifest (no table or view)';
    report(`dbt ${node.resource_type} "${node.name}" (${node.unique_id}) ${why}; read a model materialized as a table, view or incremental`, field);
    return undefined;
  }
  const { entry } = chosen;
  // The names the warehouse stores: dbt's, folded where dbt wrote them unquoted; tideline.yml's, as any YAML name.
  const as = (part: keyof Quoting, text: string) => (quoted(chosen.manifest, node, part) ? text : folded(text, dialect.capabilities.identifierCase));
  const mapped = (text: string) => dialect.storedName(text);
  const name = as('identifier', node.alias ?? node.identifier ?? node.name);
  const mappedSchema = node.schema ? entry.schemas[node.schema] : undefined;
  const schema = node.schema ? (mappedSchema !== undefined ? mapped(mappedSchema) : as('schema', node.schema)) : undefined;
  const catalog = entry.database !== undefined ? (entry.database === null ? undefined : mapped(entry.database)) : node.database ? as('database', node.database) : undefined;
  return {
    table: { catalog, schema, name, exact: true },
    link: {
      uniqueId: node.unique_id,
      name: node.name,
      resourceType: node.resource_type,
      project: chosen.manifest.projectName,
      manifest: relative(root, chosen.manifest.path).split('\\').join('/'),
      relationName: node.relation_name ?? null,
      description: node.description ?? '',
      columns: Object.entries(node.columns ?? {}).map(([column, info]) => ({ name: info.name ?? column, description: info.description ?? '', dataType: info.data_type ?? null })),
    },
  };
}

/** Adapters whose relation names dbt writes unquoted unless told otherwise (dbt-snowflake's `quoting` defaults). */
const UNQUOTED_BY_DEFAULT = new Set(['snowflake']);

/**
 * Whether dbt quoted this part of the node's relation name. Its `relation_name` says what dbt emitted (a part in
 * quotes is exact); without one: the node's config, the project's (in the manifest since dbt 1.10 only), the
 * adapter's default.
 */
function quoted(manifest: DbtManifest, node: DbtNode, part: keyof Quoting): boolean {
  const emitted = node.relation_name ? relationQuoting(node.relation_name) : undefined;
  const index = part === 'identifier' ? 0 : part === 'schema' ? 1 : 2;
  return emitted?.[index] ?? node.config?.quoting?.[part] ?? node.quoting?.[part] ?? manifest.quoting[part] ?? !UNQUOTED_BY_DEFAULT.has(manifest.adapterType ?? '');
}

/**
 * Whether each part of a relation name dbt wrote is quoted ("…" or `…`), right to left: identifier, schema, database.
 * Undefined when the text is not such a name.
 */
export function relationQuoting(relationName: string): boolean[] | undefined {
  const part = /"(?:[^"]|"")*"|`(?:[^`\\]|\\.)*`|[^."`]+/y;
  const quoted: boolean[] = [];
  let i = 0;
  for (;;) {
    part.lastIndex = i;
    const match = part.exec(relationName);
    if (!match) return undefined;
    quoted.unshift(match[0].startsWith('"') || match[0].startsWith('`'));
    i = part.lastIndex;
    if (i === relationName.length) return quoted;
    if (relationName[i] !== '.') return undefined;
    i++;
  }
}

/**
 * A name dbt writes unquoted, as the warehouse resolves it: upper-cased on Snowflake, lower-cased on PostgreSQL, as
 * is where case does not matter. Tideline's dialect then quotes the result, finding what dbt's unquoted name finds.
 */
function folded(name: string, identifierCase: IdentifierCase): string {
  return identifierCase === 'upper-unless-quoted' ? name.toUpperCase() : identifierCase === 'exact' ? name.toLowerCase() : name;
}

function lookUp(manifest: DbtManifest, wanted: { model?: string | undefined; source?: string | undefined }): readonly DbtNode[] {
  if (wanted.source !== undefined) {
    const node = manifest.sources.get(wanted.source);
    return node ? [node] : [];
  }
  return manifest.relations.get(wanted.model!) ?? [];
}

/**
 * The node `ref()` would pick among those of one name: the package asked for (two-argument `ref`), else the root
 * project's before a package's; then the version asked for, or the latest version.
 */
function pickNode(
  nodes: readonly DbtNode[],
  rootProject: string | undefined,
  { version, package: pkg }: { readonly version?: string | number | undefined; readonly package?: string | undefined },
  report: (message: string, key?: 'version' | 'package') => void,
): DbtNode | undefined {
  const packages = [...new Set(nodes.map((n) => n.package_name ?? ''))].sort();
  if (pkg !== undefined && !packages.includes(pkg)) {
    report(`no dbt package "${pkg}" has a model, seed or snapshot "${nodes[0]!.name}"${didYouMean(pkg, packages)}; packages that do: ${packages.join(', ')}`, 'package');
    return undefined;
  }
  const own = nodes.filter((n) => n.package_name === (pkg ?? rootProject));
  const pool = own.length ? own : nodes;
  const versioned = pool.filter((n) => n.version !== null && n.version !== undefined);
  if (version !== undefined) {
    const node = pool.find((n) => n.version !== null && n.version !== undefined && String(n.version) === String(version));
    if (!node) report(`dbt model "${pool[0]!.name}" has no version ${version}; versions: ${versioned.map((n) => String(n.version)).join(', ') || 'none (it is not versioned)'}`, 'version');
    return node;
  }
  if (pool.length === 1) return pool[0];
  const latest = pool.find((n) => n.latest_version !== null && n.latest_version !== undefined && String(n.version) === String(n.latest_version));
  if (latest) return latest;
  const inPool = [...new Set(pool.map((n) => n.package_name ?? ''))].sort();
  const advice = inPool.length > 1 ? `give \`package:\`, one of ${inPool.join(', ')} (as dbt's \`ref('package', 'model')\`)` : 'give `version:`';
  report(`"${pool[0]!.name}" names several dbt nodes (${pool.map((n) => n.unique_id).join(', ')}): ${advice}`);
  return undefined;
}
