import type { SyncDef } from '../sync/load.js';
import { owningModel, type Project } from './loader.js';
import { ConfigError, type Problem } from './problems.js';
import { didYouMean } from './suggest.js';

/**
 * Node selection, as dbt's `--select` / `--exclude`, over one graph of the project: sources → models → syncs (a
 * model reads sources and models; a sync reads one model). `tideline run`, `compile` and `report` keep the models of
 * the selection, `plan` and `sync` its syncs, so one grammar serves both:
 *
 * - a selector is a method and a value: `NAME` (the model or sync of that name), `model:NAME` (the model and the
 *   syncs that read it), `sync:NAME`, `source:NAME`, `tag:NAME` (sources, models and syncs tagged so),
 *   `kind:KIND` (models), `destination:NAME` (the syncs to it); `*` in a value matches any characters;
 * - graph operators: `+sel` adds all its ancestors (what it reads), `sel+` all its descendants (what reads it),
 *   `2+sel` / `sel+1` only that many generations, `@sel` its descendants and all their ancestors (everything a
 *   build of its descendants needs);
 * - set operators: selectors apart (two arguments, or spaces in one) are a union; joined by commas an
 *   intersection (`tag:nightly,+customers`); `--exclude` takes the same grammar and removes its union.
 *
 * No `--select` means every node; unknown names and selectors that select nothing of the wanted kind are
 * configuration errors that name the closest name or the selector that would have worked.
 */
export interface Selection {
  readonly select?: readonly string[] | undefined;
  readonly exclude?: readonly string[] | undefined;
}

type NodeType = 'source' | 'model' | 'sync';
/** What a selection keeps: nodes of one type, or of every type (`tideline test`, `tideline build`). */
type Want = NodeType | 'any';

interface Node {
  readonly id: string;
  readonly type: NodeType;
  readonly name: string;
  readonly tags: readonly string[];
  /** Model kind, for models. */
  readonly kind?: string;
  /** For syncs: their model and destination. */
  readonly model?: string;
  readonly destination?: string;
}

interface Graph {
  readonly nodes: ReadonlyMap<string, Node>;
  readonly parents: ReadonlyMap<string, readonly string[]>;
  readonly children: ReadonlyMap<string, readonly string[]>;
}

const METHODS = ['model', 'sync', 'source', 'tag', 'kind', 'destination'] as const;
type Method = (typeof METHODS)[number];

interface Atom {
  readonly raw: string;
  readonly method: Method | '';
  readonly value: string;
  readonly at: boolean;
  /** Generations of ancestors / descendants to add: undefined for none, Infinity for all. */
  readonly up: number | undefined;
  readonly down: number | undefined;
}

const id = (type: NodeType, name: string) => `${type}:${name}`;

/** The project's graph: each source, model and sync a node; edges from what is read to what reads it. */
function projectGraph(project: Project): Graph {
  const nodes = new Map<string, Node>();
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  const edge = (from: string, to: string) => {
    if (!nodes.has(from) || from === to) return;
    const p = parents.get(to) ?? [];
    if (!p.includes(from)) parents.set(to, [...p, from]);
    const c = children.get(from) ?? [];
    if (!c.includes(to)) children.set(from, [...c, to]);
  };
  for (const s of project.sources.values()) nodes.set(id('source', s.name), { id: id('source', s.name), type: 'source', name: s.name, tags: s.tags });
  for (const m of project.models.values()) nodes.set(id('model', m.name), { id: id('model', m.name), type: 'model', name: m.name, tags: m.tags, kind: m.kind.kind });
  for (const s of project.syncs.values()) {
    nodes.set(id('sync', s.name), { id: id('sync', s.name), type: 'sync', name: s.name, tags: s.tags, model: s.model, destination: s.destination.name });
  }
  for (const m of project.models.values()) {
    for (const input of m.inputs) {
      const owner = owningModel(project, input.relation);
      edge(owner !== undefined ? id('model', owner) : id('source', input.relation), id('model', m.name));
    }
  }
  for (const s of project.syncs.values()) edge(id('model', s.model), id('sync', s.name));
  return { nodes, parents, children };
}

function parseAtom(raw: string): Atom {
  let body = raw;
  const at = body.startsWith('@');
  if (at) body = body.slice(1);
  let up: number | undefined;
  let down: number | undefined;
  const lead = /^(\d*)\+/.exec(body);
  if (lead && !at) {
    up = lead[1] ? Number(lead[1]) : Infinity;
    body = body.slice(lead[0].length);
  }
  const trail = /\+(\d*)$/.exec(body);
  if (trail && trail.index > 0 && at) throw new ConfigError([problem(`"${raw}": @ already adds the descendants; it does not combine with +`)]);
  if (trail && trail.index > 0) {
    down = trail[1] ? Number(trail[1]) : Infinity;
    body = body.slice(0, trail.index);
  }
  const colon = body.indexOf(':');
  const method = colon >= 0 ? body.slice(0, colon) : '';
  const value = colon >= 0 ? body.slice(colon + 1) : body;
  if (method !== '' && !(METHODS as readonly string[]).includes(method)) {
    throw new ConfigError([problem(`"${raw}": unknown selector method "${method}:" (${METHODS.map((m) => `${m}:`).join(', ')})`)]);
  }
  if (value === '') throw new ConfigError([problem(`"${raw}": nothing to select`)]);
  return { raw, method: method as Method | '', value, at, up, down };
}

function problem(message: string): Problem {
  return { code: 'unknown-selector', severity: 'error', message };
}

function pattern(value: string): (name: string) => boolean {
  if (!value.includes('*')) return (name) => name === value;
  const re = new RegExp(`^${value.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (name) => re.test(name);
}

/** The nodes an atom's method and value name, before graph operators; a bare name names sources too when sources are wanted. */
function matchAtom(graph: Graph, atom: Atom, want?: Want): Node[] {
  const is = pattern(atom.value);
  return [...graph.nodes.values()].filter((n) => {
    switch (atom.method) {
      case '':
        return (n.type === 'model' || n.type === 'sync' || ((want === 'source' || want === 'any') && n.type === 'source')) && is(n.name);
      case 'model':
        return (n.type === 'model' && is(n.name)) || (n.type === 'sync' && is(n.model!));
      case 'sync':
      case 'source':
        return n.type === atom.method && is(n.name);
      case 'tag':
        return n.tags.some(is);
      case 'kind':
        return n.type === 'model' && is(n.kind!);
      case 'destination':
        return n.type === 'sync' && is(n.destination!);
    }
  });
}

/** Adds to `into` what `edges` reach from `start` within `depth` generations. */
function walk(start: readonly string[], edges: ReadonlyMap<string, readonly string[]>, depth: number, into: Set<string>): void {
  let frontier = [...start];
  for (let generation = 0; generation < depth && frontier.length; generation++) {
    const next: string[] = [];
    for (const node of frontier) {
      for (const n of edges.get(node) ?? []) {
        if (into.has(n)) continue;
        into.add(n);
        next.push(n);
      }
    }
    frontier = next;
  }
}

function expandAtom(graph: Graph, atom: Atom, want: Want): Set<string> {
  const base = matchAtom(graph, atom, want).map((n) => n.id);
  const out = new Set(base);
  if (atom.at) {
    walk(base, graph.children, Infinity, out);
    walk([...out], graph.parents, Infinity, out);
    return out;
  }
  // Each direction from the matched nodes alone: `+x+` is x's ancestors and descendants, not its descendants' ancestors.
  if (atom.up !== undefined) walk(base, graph.parents, atom.up, out);
  if (atom.down !== undefined) walk(base, graph.children, atom.down, out);
  return out;
}

/** What a named value is closest to, for an atom that matched nothing. */
function known(graph: Graph, method: Method | '', want: Want): string[] {
  const nodes = [...graph.nodes.values()];
  switch (method) {
    case '':
      return nodes.filter((n) => n.type !== 'source' || want === 'source' || want === 'any').map((n) => n.name);
    case 'model':
    case 'sync':
    case 'source':
      return nodes.filter((n) => n.type === method).map((n) => n.name);
    case 'tag':
      return [...new Set(nodes.flatMap((n) => n.tags))];
    case 'kind':
      return [...new Set(nodes.flatMap((n) => (n.kind ? [n.kind] : [])))];
    case 'destination':
      return [...new Set(nodes.flatMap((n) => (n.destination ? [n.destination] : [])))];
  }
}

/** How to select `want` from a node of another type that was named: the hint for a selector that selects none. */
function hint(graph: Graph, atom: Atom, want: Want): string {
  const named = matchAtom(graph, atom);
  if (want === 'sync' && named.some((n) => n.type === 'model')) return ` (it names a model: \`model:${atom.value}\` selects the syncs that read it, \`${atom.value}+\` those of its descendants too)`;
  if (want === 'model' && named.some((n) => n.type === 'sync')) return ` (it names a sync: \`+${atom.raw}\` selects the models it reads)`;
  if (want === 'source' && named.some((n) => n.type !== 'source')) return ` (\`+${atom.raw}\` selects the sources it reads)`;
  return '';
}

function resolve(graph: Graph, selectors: readonly string[], want: Want, flag: '--select' | '--exclude', problems: Problem[]): Set<string> {
  const union = new Set<string>();
  for (const term of selectors.flatMap((s) => s.split(/\s+/)).filter(Boolean)) {
    let atoms: Atom[];
    try {
      atoms = term.split(',').filter(Boolean).map(parseAtom);
    } catch (error) {
      if (error instanceof ConfigError) problems.push(...error.problems.map((p) => ({ ...p, message: `${flag}: ${p.message}` })));
      else throw error;
      continue;
    }
    let set: Set<string> | undefined;
    let unmatched = false;
    for (const atom of atoms) {
      if (matchAtom(graph, atom, want).length === 0) {
        unmatched = true;
        const what = atom.method === '' ? (want === 'source' || want === 'any' ? 'source, model or sync' : 'model or sync') : atom.method === 'kind' || atom.method === 'destination' || atom.method === 'tag' ? `node with ${atom.method}` : atom.method;
        problems.push(problem(`${flag}: no ${what} matches "${atom.raw}"${atom.value.includes('*') ? '' : didYouMean(atom.value, known(graph, atom.method, want))}`));
        continue;
      }
      const expanded = expandAtom(graph, atom, want);
      set = set === undefined ? expanded : new Set([...set].filter((n) => expanded.has(n)));
    }
    if (unmatched || set === undefined) continue;
    const wanted = [...set].filter((n) => want === 'any' || graph.nodes.get(n)!.type === want);
    if (wanted.length === 0 && flag === '--select') {
      // Until 0.1 a comma meant either; it means both now, as in dbt.
      const comma = atoms.length > 1 ? ` (a comma selects what matches every part, as in dbt: separate selectors with a space to select what matches any: ${atoms.map((a) => a.raw).join(' ')})` : '';
      problems.push(problem(`${flag}: "${term}" selects no ${want === 'any' ? 'node' : want}${atoms.length === 1 ? hint(graph, atoms[0]!, want) : comma}`));
    }
    for (const n of wanted) union.add(n);
  }
  return union;
}

function selectNames(project: Project, selection: Selection, want: NodeType, all: readonly string[]): string[] {
  const kept = selectIds(project, selection, want);
  return kept ? all.filter((name) => kept.has(id(want, name))) : [...all];
}

/** The ids of the nodes a selection keeps, or undefined for all (no --select, no --exclude). */
function selectIds(project: Project, selection: Selection, want: Want): Set<string> | undefined {
  const select = selection.select?.length ? selection.select : undefined;
  const exclude = selection.exclude?.length ? selection.exclude : undefined;
  if (!select && !exclude) return undefined;
  const graph = projectGraph(project);
  const problems: Problem[] = [];
  const all = [...graph.nodes.values()].filter((n) => want === 'any' || n.type === want).map((n) => n.id);
  const chosen = select ? resolve(graph, select, want, '--select', problems) : new Set(all);
  const removed = exclude ? resolve(graph, exclude, want, '--exclude', problems) : new Set<string>();
  if (problems.length) throw new ConfigError(problems);
  return new Set(all.filter((n) => chosen.has(n) && !removed.has(n)));
}

/**
 * Every node of a selection, whatever its type (`tideline test`, `tideline build`): its sources in declaration order,
 * its models in build order, its syncs in declaration order. A bare name names a source too.
 */
export function selectAll(project: Project, selection: Selection): { sources: string[]; models: string[]; syncs: SyncDef[] } {
  const kept = selectIds(project, selection, 'any');
  const keep = (type: NodeType) => (name: string) => !kept || kept.has(id(type, name));
  return {
    sources: [...project.sources.keys()].filter(keep('source')),
    models: project.order.filter(keep('model')),
    syncs: [...project.syncs.values()].filter((s) => keep('sync')(s.name)),
  };
}

/** The models of a selection (see Selection), in build order. A bare array is `--select` alone. */
export function selectModels(project: Project, selection: Selection | readonly string[] | undefined): string[] {
  return selectNames(project, asSelection(selection), 'model', project.order);
}

/**
 * The sources of a selection (see Selection), in the order the model files declare them: `tideline source freshness`.
 * A bare name names a source too here (`raw_orders` as well as `source:raw_orders`); `+customers` selects the sources
 * a model reads.
 */
export function selectSources(project: Project, selection: Selection | readonly string[] | undefined): string[] {
  return selectNames(project, asSelection(selection), 'source', [...project.sources.keys()]);
}

/** The syncs of a selection (see Selection), in the order the sync files declare them. */
export function selectSyncs(project: Project, selection: Selection | readonly string[] | undefined): SyncDef[] {
  const names = selectNames(project, asSelection(selection), 'sync', [...project.syncs.keys()]);
  return names.map((name) => project.syncs.get(name)!);
}

function asSelection(selection: Selection | readonly string[] | undefined): Selection {
  return selection === undefined ? {} : Array.isArray(selection) ? { select: selection as readonly string[] } : (selection as Selection);
}
