import { createHash } from 'node:crypto';
import { escapeHtml as e, pageHead, scriptJson } from './html.js';
import { LABEL_CHARS, layoutLineage, lineageOf, type Layout, type Lineage, type LineageNode } from './lineage.js';
import { manifestNodes, tidelineMeta, type Manifest, type ManifestNode, type RunResult, type RunResults, type SyncResults } from './manifest.js';

/**
 * `tideline docs`: the project as one self-contained HTML page — every source, model, sync and destination object
 * with its description, columns, tests and last run, and the lineage graph between them — built from the artifacts
 * in dbt's shapes (manifest.json, run_results.json) and Tideline's sync_results.json. Whatever node types the
 * manifest holds are shown (tests on the page of the node they test), so a manifest dbt wrote renders too.
 *
 * Everything is rendered here, as escaped HTML: descriptions, names and meta are user text and never reach the page
 * as markup. The page's script only shows and hides what is there (the page of the node in the URL's fragment, the
 * search's matches, a node's lineage), reads no text as HTML, and is the only script a Content-Security-Policy lets
 * run (by its hash); the policy forbids every network request, so the file works the same from file://, offline.
 * Only structure, figures and what the YAML says go in — names, types, descriptions, counts, durations, a test's
 * arguments as written (an expression, accepted values: the analyst's, as a description is) — never a row of data,
 * nor the SQL Tideline compiles (whose literals a kind takes from its configuration, e.g. identity's junk values,
 * and may name people).
 */

export interface SiteInput {
  readonly manifest: Manifest;
  readonly runResults?: RunResults | undefined;
  readonly syncResults?: SyncResults | undefined;
  readonly generatedAt?: Date;
}

type SyncResult = NonNullable<SyncResults['results']>[number];

interface Context {
  readonly nodes: ReadonlyMap<string, ManifestNode>;
  readonly lineage: Lineage;
  /** The lineage's nodes (destination objects included) by id. */
  readonly lineageNodes: ReadonlyMap<string, LineageNode>;
  readonly layout: Layout;
  /** Parents and children of every node, tests and destination objects included. */
  readonly parents: ReadonlyMap<string, readonly string[]>;
  readonly children: ReadonlyMap<string, readonly string[]>;
  /** Tests by the node they test. */
  readonly tests: ReadonlyMap<string, readonly ManifestNode[]>;
  readonly results: ReadonlyMap<string, RunResult>;
  readonly syncs: ReadonlyMap<string, SyncResult>;
  readonly input: SiteInput;
}

const GROUPS: readonly { readonly type: string; readonly title: string }[] = [
  { type: 'source', title: 'Sources' },
  { type: 'model', title: 'Models' },
  { type: 'exposure', title: 'Syncs' },
  { type: 'destination', title: 'Destinations' },
  { type: 'test', title: 'Tests' },
];

const TYPE_LABEL: Readonly<Record<string, string>> = { source: 'source', model: 'model', exposure: 'sync', destination: 'destination', test: 'test' };

const isTest = (node: ManifestNode) => node.resource_type === 'test';

export function renderSite(input: SiteInput): string {
  const nodes = manifestNodes(input.manifest);
  const lineage = lineageOf(input.manifest);
  const parents = new Map<string, Set<string>>();
  const children = new Map<string, Set<string>>();
  const link = (from: string, to: string) => {
    if (!parents.has(to)) parents.set(to, new Set());
    if (!children.has(from)) children.set(from, new Set());
    parents.get(to)!.add(from);
    children.get(from)!.add(to);
  };
  for (const node of nodes.values()) for (const parent of node.depends_on?.nodes ?? []) if (nodes.has(parent)) link(parent, node.unique_id);
  for (const edge of lineage.edges) link(edge.from, edge.to);
  const tests = new Map<string, ManifestNode[]>();
  for (const node of nodes.values()) {
    if (!isTest(node)) continue;
    const owner = node.attached_node ?? node.depends_on?.nodes?.find((id) => nodes.has(id) && !isTest(nodes.get(id)!));
    if (owner) tests.set(owner, [...(tests.get(owner) ?? []), node]);
  }
  const context: Context = {
    nodes,
    lineage,
    lineageNodes: new Map(lineage.nodes.map((n) => [n.id, n])),
    layout: layoutLineage(lineage),
    parents: new Map([...parents].map(([id, set]) => [id, [...set]])),
    children: new Map([...children].map(([id, set]) => [id, [...set]])),
    tests,
    results: new Map((input.runResults?.results ?? []).map((r) => [r.unique_id, r])),
    syncs: new Map((input.syncResults?.results ?? []).map((r) => [r.sync, r])),
    input,
  };
  const project = input.manifest.metadata?.project_name ?? 'project';
  // The graph's own edges by node, for the script's lighting (tests are not in the graph).
  const graphParents = new Map<string, string[]>(lineage.nodes.map((n) => [n.id, []]));
  const graphChildren = new Map<string, string[]>(lineage.nodes.map((n) => [n.id, []]));
  for (const edge of lineage.edges) {
    graphParents.get(edge.to)?.push(edge.from);
    graphChildren.get(edge.from)?.push(edge.to);
  }
  const data = { parents: Object.fromEntries(graphParents), children: Object.fromEntries(graphChildren) };
  const hash = createHash('sha256').update(SCRIPT).digest('base64');
  return `${pageHead({ title: `${project} · Tideline docs`, style: STYLE, scriptSrc: `'sha256-${hash}'` })}
<body>
<header>
<h1><a href="#overview">${e(project)}</a> <small>Tideline docs</small></h1>
<input id="search" type="search" placeholder="Search names, descriptions, columns, tags…" aria-label="search" autocomplete="off">
<span id="matches" aria-live="polite"></span>
</header>
<div class="layout">
<nav id="nav">${navigation(context)}</nav>
<main>
<div class="graph-wrap"><button id="zoom" type="button">actual size</button><div id="graph" class="graph fit">${svg(context)}</div></div>
${overview(context, project)}
${[...pageIds(context)].map((id) => page(context, id)).join('\n')}
</main>
</div>
<script type="application/json" id="docs-data">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** Every page's id: the manifest's nodes, then the destination objects of the lineage. */
function pageIds(context: Context): string[] {
  return [...context.nodes.keys(), ...context.lineage.nodes.filter((n) => n.type === 'destination').map((n) => n.id)];
}

/** `#<id>` for an href: the id percent-encoded, as the page's script decodes it. */
const href = (id: string) => `#${encodeURIComponent(id)}`;

function typeOf(context: Context, id: string): string {
  const node = context.nodes.get(id);
  if (node) return node.resource_type;
  return context.lineageNodes.get(id)?.type ?? 'other';
}

function nameOf(context: Context, id: string): string {
  return context.nodes.get(id)?.name ?? context.lineageNodes.get(id)?.name ?? id;
}

function searchText(context: Context, id: string): string {
  const node = context.nodes.get(id);
  const lineageNode = context.lineageNodes.get(id);
  const parts = [id, nameOf(context, id), TYPE_LABEL[typeOf(context, id)] ?? typeOf(context, id), lineageNode?.detail ?? ''];
  if (node) parts.push(node.description ?? '', ...(node.tags ?? []), ...Object.keys(node.columns ?? {}), String(tidelineMeta(node)['kind'] ?? ''));
  return parts.join(' ').toLowerCase();
}

function navigation(context: Context): string {
  const ids = pageIds(context);
  const known = new Set(GROUPS.map((g) => g.type));
  const groups = [...GROUPS, { type: 'other', title: 'Other' }];
  return groups
    .map((group) => {
      const members = ids
        .filter((id) => (group.type === 'other' ? !known.has(typeOf(context, id)) : typeOf(context, id) === group.type))
        .sort((a, b) => nameOf(context, a).localeCompare(nameOf(context, b)) || a.localeCompare(b));
      if (!members.length) return '';
      const items = members.map((id) => `<li data-search="${e(searchText(context, id))}"><a href="${e(href(id))}" data-id="${e(id)}">${e(nameOf(context, id))}${statusDot(context, id)}</a></li>`);
      return `<div class="group"><h3>${e(group.title)} <span class="count">${members.length}</span></h3><ul>${items.join('')}</ul></div>`;
    })
    .join('');
}

function statusDot(context: Context, id: string): string {
  const status = lastStatus(context, id);
  return status ? ` <span class="dot ${e(statusClass(status))}" title="last run: ${e(status)}"></span>` : '';
}

function lastStatus(context: Context, id: string): string | undefined {
  const node = context.nodes.get(id);
  if (node?.resource_type === 'exposure') return context.syncs.get(node.name)?.status;
  return context.results.get(id)?.status;
}

function statusClass(status: string): string {
  if (['success', 'pass'].includes(status)) return 'ok';
  if (['error', 'fail', 'failed', 'runtime error'].includes(status)) return 'bad';
  if (['warn', 'partial'].includes(status)) return 'warn';
  return 'neutral';
}

const badge = (status: string) => `<span class="badge ${e(statusClass(status))}">${e(status)}</span>`;

function truncate(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}

/** The lineage as SVG: one link per node (to its page), one path per edge; data-* attributes name both ends. */
function svg(context: Context): string {
  const { layout } = context;
  const edges = layout.edges.map((edge) => {
    const d = edge.points.map((p, i) => `${i ? 'L' : 'M'}${p.x} ${p.y}`).join(' ');
    return `<path class="edge" data-from="${e(edge.from)}" data-to="${e(edge.to)}" d="${d}" marker-end="url(#arrow)"/>`;
  });
  const nodes = layout.nodes.map((node) => {
    const label = truncate(node.name, LABEL_CHARS);
    return `<a href="${e(href(node.id))}" class="node-link"><g class="node ${e(node.type)}" data-id="${e(node.id)}" data-search="${e(searchText(context, node.id))}" transform="translate(${node.x} ${node.y})">`
      + `<title>${e(`${node.name} (${node.detail})`)}</title>`
      + `<rect width="${node.width}" height="${node.height}" rx="6"/>`
      + `<text x="10" y="16" class="name">${e(label)}</text><text x="10" y="31" class="detail">${e(truncate(node.detail, LABEL_CHARS + 6))}</text></g></a>`;
  });
  return `<svg id="lineage" xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" role="img" aria-label="lineage graph">`
    + '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z"/></marker></defs>'
    + `<g class="edges">${edges.join('')}</g><g class="nodes">${nodes.join('')}</g></svg>`;
}

function when(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const number = (n: number | undefined | null) => (n === undefined || n === null ? '' : n.toLocaleString('en'));
const seconds = (n: number | undefined) => (n === undefined ? '' : `${n < 10 ? n.toFixed(2) : n.toFixed(1)} s`);

function overview(context: Context, project: string): string {
  const { input } = context;
  const count = (type: string) => pageIds(context).filter((id) => typeOf(context, id) === type).length;
  const figures = GROUPS.map((g) => `<li><strong>${count(g.type)}</strong> ${e(g.title.toLowerCase())}</li>`).join('');
  const run = input.runResults;
  const models = [...context.nodes.values()].filter((n) => n.resource_type === 'model').sort((a, b) => a.name.localeCompare(b.name));
  const runTable = run
    ? `<p class="note">Last run: <code>${e(run.args?.which ?? 'run')}</code>${run.args?.target ? ` on target ${e(run.args.target)}` : ''}, ${e(when(run.metadata?.generated_at))}. Models it did not build show no figures.</p>`
      + table(
          'models',
          ['model', 'kind', 'status', 'rows', 'duration'],
          models.map((m) => {
            const r = context.results.get(m.unique_id);
            return [nodeLink(context, m.unique_id), e(String(tidelineMeta(m)['kind'] ?? '')), r ? badge(r.status) : '', e(number(r?.adapter_response?.rows_affected)), e(seconds(r?.execution_time))];
          }),
          [3, 4],
        )
    : '<p class="empty">No run results in target/: run <code>tideline run</code>, then <code>tideline docs</code> again, for the figures of the last run.</p>';
  const syncs = [...context.nodes.values()].filter((n) => n.resource_type === 'exposure').sort((a, b) => a.name.localeCompare(b.name));
  const sync = input.syncResults;
  const syncTable = sync
    ? `<p class="note">Last sync: ${e(when(sync.finished_at))}${sync.target ? ` on target ${e(sync.target)}` : ''}${sync.sandbox ? ' (sandbox)' : ''}${sync.dry_run ? ' (dry run)' : ''}.</p>`
      + table(
          'syncs',
          ['sync', 'destination', 'status', 'added', 'changed', 'removed', 'sent', 'accepted', 'rejected'],
          syncs.map((s) => {
            const r = context.syncs.get(s.name);
            return [nodeLink(context, s.unique_id), e(destinationText(s)), r ? badge(r.status) : '', e(number(r?.counts?.['added'])), e(number(r?.counts?.['changed'])), e(number(r?.counts?.['removed'])), e(number(r?.sent)), e(number(r?.accepted)), e(number(r?.rejected))];
          }),
          [3, 4, 5, 6, 7, 8],
        )
    : syncs.length ? '<p class="empty">No sync results in target/: <code>tideline sync</code> writes them.</p>' : '';
  return `<section class="page" data-id="overview">
<h2>${e(project)}</h2>
<ul class="figures">${figures}</ul>
<p class="note">Manifest generated ${e(when(input.manifest.metadata?.generated_at))}${input.manifest.metadata?.adapter_type ? ` for ${e(input.manifest.metadata.adapter_type)}` : ''}. Click a node of the graph, or a name on the left, for its page; the graph then shows what it reads and what reads it.</p>
<p class="legend"><span class="key source">source</span> <span class="key model">model</span> <span class="key exposure">sync</span> <span class="key destination">destination</span></p>
<h3>Models</h3>
${runTable}
${syncs.length ? `<h3>Syncs</h3>${syncTable}` : ''}
</section>`;
}

function destinationText(node: ManifestNode): string {
  const meta = tidelineMeta(node);
  return [meta['destination'], meta['destination_type'] ? `(${String(meta['destination_type'])})` : undefined, meta['object']].filter((x) => x !== undefined && x !== '').map(String).join(' ');
}

function nodeLink(context: Context, id: string): string {
  return `<a href="${e(href(id))}">${e(nameOf(context, id))}</a>`;
}

function table(className: string, header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly number[] = []): string {
  const th = header.map((h, i) => `<th${numeric.includes(i) ? ' class="num"' : ''}>${e(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((cell, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${cell}</td>`).join('')}</tr>`).join('');
  return `<table class="${className}"><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

function description(text: string | undefined): string {
  return text?.trim() ? `<div class="description">${e(text.trim())}</div>` : '<p class="empty">No description.</p>';
}

function details(rows: readonly (readonly [string, string | undefined | null])[], className = 'details'): string {
  const shown = rows.filter(([, value]) => value !== undefined && value !== null && value !== '');
  return shown.length ? `<dl class="${className}">${shown.map(([k, v]) => `<dt>${e(k)}</dt><dd>${v}</dd>`).join('')}</dl>` : '';
}

const code = (text: string | undefined | null) => (text === undefined || text === null || text === '' ? undefined : `<code>${e(text)}</code>`);

function page(context: Context, id: string): string {
  const node = context.nodes.get(id);
  const type = typeOf(context, id);
  const name = nameOf(context, id);
  const parts = [`<section class="page" data-id="${e(id)}" hidden>`, `<h2>${e(name)} <span class="type ${e(type)}">${e(TYPE_LABEL[type] ?? type)}</span></h2>`];
  if (node) {
    const meta = tidelineMeta(node);
    if (node.config?.enabled === false) parts.push('<p class="note">Disabled: not built, not synced.</p>');
    parts.push(description(node.description));
    parts.push(
      details([
        ['id', code(node.unique_id)],
        ['kind', code(meta['kind'] === undefined ? undefined : String(meta['kind']))],
        ['table', code(node.relation_name)],
        ['file', node.resource_type === 'source' && !node.relation_name ? code(node.identifier) : undefined],
        ['loaded at', code(node.loaded_at_field)],
        ['destination', node.resource_type === 'exposure' ? e(destinationText(node)) : undefined],
        ['mode', code(meta['mode'] === undefined ? undefined : String(meta['mode']))],
        ['audience', code(meta['audience'] === undefined || meta['audience'] === null ? undefined : String(meta['audience']))],
        ['tested node', node.attached_node ? nodeLink(context, node.attached_node) : undefined],
        ['column', code(node.column_name)],
        ['test', code(node.test_metadata?.name)],
        ['arguments', node.test_metadata?.kwargs && Object.keys(node.test_metadata.kwargs).length ? code(JSON.stringify(withoutModel(node.test_metadata.kwargs))) : undefined],
        ['severity', code(node.config?.severity)],
        ['tags', (node.tags ?? []).length ? (node.tags ?? []).map((t) => code(t)).join(' ') : undefined],
        ['defined in', code(node.original_file_path)],
      ]),
    );
    parts.push(lastRun(context, node));
    parts.push(columns(context, node));
    const tests = context.tests.get(id) ?? [];
    if (tests.length) {
      parts.push(
        '<h3>Tests</h3>',
        table(
          'tests',
          ['test', 'column', 'kind', 'last run', 'failures'],
          tests.map((t) => {
            const r = context.results.get(t.unique_id);
            return [nodeLink(context, t.unique_id), e(t.column_name ?? ''), e(t.test_metadata?.name ?? 'sql'), r ? badge(r.status) : '', e(number(r?.failures))];
          }),
          [4],
        ),
      );
    }
    const rest = unshownMeta(node);
    if (Object.keys(rest).length) parts.push('<h3>Meta</h3>', `<pre class="meta">${e(JSON.stringify(rest, null, 2))}</pre>`);
  } else {
    const lineageNode = context.lineageNodes.get(id);
    parts.push(`<p>${e(lineageNode?.detail ?? '')}: the destination object these syncs write to.</p>`);
  }
  const neighbours = (ids: readonly string[] | undefined) => (ids ?? []).filter((n) => !isTestId(context, n));
  const up = neighbours(context.parents.get(id));
  const down = neighbours(context.children.get(id));
  parts.push('<div class="pair">');
  parts.push(`<div><h3>Reads</h3>${listOf(context, up, 'Nothing upstream.', true)}</div>`);
  parts.push(`<div><h3>Read by</h3>${listOf(context, down, 'Nothing downstream.', false)}</div>`);
  parts.push('</div></section>');
  return parts.join('\n');
}

/** Tideline's facts the page shows in its details (a model's kind; a sync's destination, object, mode and audience). */
const SHOWN_META = new Set(['kind', 'destination', 'destination_type', 'object', 'mode', 'audience']);

/** A node's meta but what the details show already: the user's own meta, and any other fact of Tideline's (a source's dbt model). */
function unshownMeta(node: ManifestNode): Record<string, unknown> {
  const rest: Record<string, unknown> = Object.fromEntries(Object.entries(node.meta ?? {}).filter(([k]) => k !== 'tideline'));
  const own = Object.fromEntries(Object.entries(tidelineMeta(node)).filter(([k]) => !SHOWN_META.has(k)));
  if (Object.keys(own).length) rest['tideline'] = own;
  return rest;
}

/** dbt's test arguments name the model tested (`model: "{{ get_where_subquery(ref('x')) }}"`), which the page shows already. */
function withoutModel(kwargs: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(kwargs).filter(([k]) => k !== 'model'));
}

function isTestId(context: Context, id: string): boolean {
  const node = context.nodes.get(id);
  return node !== undefined && isTest(node);
}

function listOf(context: Context, ids: readonly string[], empty: string, up: boolean): string {
  if (!ids.length) return `<p class="empty">${e(empty)}</p>`;
  return `<ul class="links ${up ? 'reads' : 'read-by'}">${ids.map((id) => `<li>${nodeLink(context, id)} <span class="type ${e(typeOf(context, id))}">${e(TYPE_LABEL[typeOf(context, id)] ?? typeOf(context, id))}</span></li>`).join('')}</ul>`;
}

function lastRun(context: Context, node: ManifestNode): string {
  if (node.resource_type === 'exposure') {
    const r = context.syncs.get(node.name);
    if (!r) return '';
    const sync = context.input.syncResults!;
    const counts = Object.entries(r.counts ?? {}).filter(([, n]) => n > 0).map(([op, n]) => `${op} ${number(n)}`).join(', ') || 'nothing to send';
    return '<h3>Last sync</h3>' + details([
      ['status', badge(r.status) + (sync.sandbox ? ' <span class="note">sandbox</span>' : '') + (sync.dry_run ? ' <span class="note">dry run</span>' : '')],
      ['when', e(when(sync.finished_at))],
      ['changes', e(counts)],
      ['records', r.sent === undefined ? undefined : e(`${number(r.sent)} sent, ${number(r.accepted)} accepted, ${number(r.rejected)} rejected`)],
      ['duration', e(seconds(r.seconds))],
      ['error', r.error ? e(r.error) : undefined],
    ], 'last-run');
  }
  const r = context.results.get(node.unique_id);
  if (!r) return '';
  return '<h3>Last run</h3>' + details([
    ['status', badge(r.status)],
    ['when', e(when(context.input.runResults?.metadata?.generated_at))],
    ['rows', r.adapter_response?.rows_affected === undefined ? undefined : e(number(r.adapter_response.rows_affected))],
    ['failures', r.failures === undefined || r.failures === null ? undefined : e(number(r.failures))],
    ['duration', e(seconds(r.execution_time))],
    ['message', r.status !== 'success' && r.status !== 'pass' && r.message ? e(r.message) : undefined],
  ], 'last-run');
}

function columns(context: Context, node: ManifestNode): string {
  const list = Object.entries(node.columns ?? {});
  if (!list.length) return node.resource_type === 'model' || node.resource_type === 'source' ? '<h3>Columns</h3><p class="empty">Not known before the warehouse is read (run <code>tideline docs</code> without <code>--offline</code>).</p>' : '';
  const tests = context.tests.get(node.unique_id) ?? [];
  return '<h3>Columns</h3>' + table(
    'columns',
    ['column', 'type', 'description', 'tests'],
    list.map(([key, column]) => {
      const name = column.name ?? key;
      const on = tests.filter((t) => t.column_name === name);
      return [`<code>${e(name)}</code>`, e(column.data_type ?? ''), column.description ? e(column.description) : '', on.map((t) => `<a href="${e(href(t.unique_id))}">${e(t.test_metadata?.name ?? t.name)}</a>`).join(' ')];
    }),
  );
}

const STYLE = `
:root { --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --source: #0e7490; --model: #1d4ed8; --exposure: #7c3aed; --destination: #b45309; --other: #475569; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f8fafc; }
header { display: flex; gap: 16px; align-items: center; padding: 10px 20px; background: #0f172a; color: #fff; position: sticky; top: 0; z-index: 2; }
header h1 { font-size: 18px; margin: 0; white-space: nowrap; }
header h1 a { color: #fff; text-decoration: none; }
header small { color: #94a3b8; font-weight: normal; margin-left: 6px; }
#search { flex: 1; max-width: 480px; padding: 6px 10px; border-radius: 6px; border: 0; font: inherit; }
#matches { color: #cbd5e1; font-size: 12px; }
.layout { display: grid; grid-template-columns: 260px 1fr; min-height: calc(100vh - 50px); }
nav { border-right: 1px solid var(--line); padding: 8px 12px; overflow-y: auto; max-height: calc(100vh - 50px); position: sticky; top: 50px; background: #fff; }
nav h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 14px 0 4px; }
nav ul { list-style: none; margin: 0; padding: 0; }
nav li a { display: block; padding: 2px 6px; border-radius: 4px; color: var(--ink); text-decoration: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
nav li a:hover { background: #f1f5f9; }
nav li a.current { background: #dbeafe; font-weight: 600; }
.count { font-weight: normal; }
main { padding: 16px 24px; min-width: 0; }
.graph { height: 34vh; overflow: auto; border: 1px solid var(--line); border-radius: 8px; background: #fff; position: relative; }
.graph.fit { height: auto; max-height: 72vh; }
.graph.fit svg { max-width: 100%; height: auto; }
.graph-wrap { position: relative; }
#zoom { position: absolute; top: 8px; right: 8px; z-index: 1; font: inherit; font-size: 12px; padding: 2px 10px; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; }
#lineage .edge { fill: none; stroke: #94a3b8; stroke-width: 1.2; }
#lineage marker path { fill: #94a3b8; }
#lineage .node rect { fill: #fff; stroke-width: 1.5; }
#lineage .node .name { font-size: 12px; font-weight: 600; fill: var(--ink); }
#lineage .node .detail { font-size: 10.5px; fill: var(--muted); }
#lineage .node.source rect { stroke: var(--source); fill: #ecfeff; }
#lineage .node.model rect { stroke: var(--model); fill: #eff6ff; }
#lineage .node.exposure rect { stroke: var(--exposure); fill: #f5f3ff; }
#lineage .node.destination rect { stroke: var(--destination); fill: #fffbeb; }
#lineage .node.other rect { stroke: var(--other); }
#lineage .node-link { cursor: pointer; }
#lineage .node:hover rect { stroke-width: 3; }
#lineage .node.selected rect { stroke-width: 3.5; }
#lineage .faded, #lineage .miss { opacity: .18; }
#lineage .edge.lit { stroke: #0f172a; stroke-width: 2; }
section.page { margin-top: 18px; max-width: 1100px; }
section.page h2 { margin: 0 0 8px; font-size: 22px; }
h3 { margin: 20px 0 6px; font-size: 15px; }
.type { font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px; color: #fff; background: var(--other); vertical-align: middle; }
.type.source { background: var(--source); } .type.model { background: var(--model); } .type.exposure { background: var(--exposure); } .type.destination { background: var(--destination); }
.description { white-space: pre-wrap; background: #fff; border-left: 3px solid var(--line); padding: 6px 12px; margin: 8px 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dt { color: var(--muted); }
dd { margin: 0; }
table { border-collapse: collapse; margin: 6px 0 12px; background: #fff; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e2e8f0; }
.badge.ok { background: #dcfce7; color: #166534; } .badge.bad { background: #fee2e2; color: #991b1b; } .badge.warn { background: #fef3c7; color: #92400e; }
.dot { display: inline-block; width: 7px; height: 7px; border-radius: 50%; background: #cbd5e1; vertical-align: middle; }
.dot.ok { background: #16a34a; } .dot.bad { background: #dc2626; } .dot.warn { background: #d97706; }
.empty, .note { color: var(--muted); }
.figures { display: flex; gap: 24px; list-style: none; padding: 0; }
.legend .key { border: 1.5px solid; border-radius: 4px; padding: 0 8px; font-size: 12px; }
.key.source { border-color: var(--source); } .key.model { border-color: var(--model); } .key.exposure { border-color: var(--exposure); } .key.destination { border-color: var(--destination); }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
ul.links { padding-left: 18px; margin: 4px 0; }
pre.meta { background: #fff; border: 1px solid var(--line); padding: 8px 12px; overflow: auto; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
`;

/**
 * The page's behaviour: show the page the URL's fragment names (the overview without one), light that node's
 * ancestors and descendants in the graph, and filter the list and the graph as the search box is typed in. It reads
 * ids and precomputed lower-case search texts from attributes, and never writes HTML.
 */
const SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('docs-data').textContent);
  var pages = Array.prototype.slice.call(document.querySelectorAll('section.page'));
  var navLinks = Array.prototype.slice.call(document.querySelectorAll('#nav a[data-id]'));
  var navItems = Array.prototype.slice.call(document.querySelectorAll('#nav li[data-search]'));
  var graphNodes = Array.prototype.slice.call(document.querySelectorAll('#lineage g.node'));
  var graphEdges = Array.prototype.slice.call(document.querySelectorAll('#lineage path.edge'));
  var groups = Array.prototype.slice.call(document.querySelectorAll('#nav .group'));
  var graphBox = document.getElementById('graph');
  var search = document.getElementById('search');
  var matches = document.getElementById('matches');
  var zoom = document.getElementById('zoom');
  var fitted = null;

  function fragment() {
    var raw = location.hash.slice(1);
    try { return decodeURIComponent(raw); } catch (error) { return raw; }
  }
  function closure(start, map) {
    var seen = {}, stack = [start];
    while (stack.length) {
      (map[stack.pop()] || []).forEach(function (next) { if (!seen[next]) { seen[next] = true; stack.push(next); } });
    }
    return seen;
  }
  function show() {
    var id = fragment();
    // Pages are found by data-id, not id, so that the browser does not scroll to the fragment past the graph.
    var page = pages.filter(function (p) { return p.getAttribute('data-id') === id; })[0];
    if (!page) { id = 'overview'; page = pages.filter(function (p) { return p.getAttribute('data-id') === id; })[0]; }
    pages.forEach(function (p) { p.hidden = p !== page; });
    navLinks.forEach(function (a) { a.classList.toggle('current', a.getAttribute('data-id') === id); });
    var focus = Object.prototype.hasOwnProperty.call(data.parents, id);
    var up = focus ? closure(id, data.parents) : {}, down = focus ? closure(id, data.children) : {};
    var inUp = function (n) { return n === id || up[n] === true; };
    var inDown = function (n) { return n === id || down[n] === true; };
    var selected = null;
    graphNodes.forEach(function (g) {
      var n = g.getAttribute('data-id');
      var lit = focus && (inUp(n) || inDown(n));
      g.classList.toggle('selected', n === id);
      g.classList.toggle('lit', lit);
      g.classList.toggle('faded', focus && !lit);
      if (n === id) selected = g;
    });
    graphEdges.forEach(function (path) {
      var from = path.getAttribute('data-from'), to = path.getAttribute('data-to');
      var lit = focus && ((inUp(from) && inUp(to)) || (inDown(from) && inDown(to)));
      path.classList.toggle('lit', lit);
      path.classList.toggle('faded', focus && !lit);
    });
    graphBox.classList.toggle('fit', fitted === null ? !selected : fitted);
    zoom.textContent = graphBox.classList.contains('fit') ? 'actual size' : 'whole graph';
    if (selected && !graphBox.classList.contains('fit')) {
      var box = selected.getBBox(), matrix = selected.transform.baseVal.consolidate().matrix;
      graphBox.scrollTo({ left: Math.max(0, matrix.e + box.width / 2 - graphBox.clientWidth / 2), top: Math.max(0, matrix.f + box.height / 2 - graphBox.clientHeight / 2) });
    }
  }
  zoom.addEventListener('click', function () {
    fitted = !graphBox.classList.contains('fit');
    show();
  });
  function filter() {
    var query = search.value.trim().toLowerCase();
    var shown = 0;
    navItems.forEach(function (li) {
      var hit = !query || li.getAttribute('data-search').indexOf(query) >= 0;
      li.hidden = !hit;
      if (hit) shown++;
    });
    graphNodes.forEach(function (g) { g.classList.toggle('miss', !!query && g.getAttribute('data-search').indexOf(query) < 0); });
    groups.forEach(function (group) { group.hidden = !group.querySelector('li:not([hidden])'); });
    matches.textContent = query ? shown + (shown === 1 ? ' match' : ' matches') : '';
  }
  search.addEventListener('input', filter);
  search.addEventListener('keydown', function (event) {
    if (event.key !== 'Enter') return;
    var first = navItems.filter(function (li) { return !li.hidden; })[0];
    if (first) location.hash = first.querySelector('a').getAttribute('href');
  });
  window.addEventListener('hashchange', function () { show(); window.scrollTo(0, 0); });
  show();
  filter();
  window.__tidelineDocs = true;
})();
`;
