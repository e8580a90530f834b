import { Graph, layout } from '@dagrejs/dagre';
import { manifestNodes, tidelineMeta, type Manifest } from './manifest.js';

/**
 * The lineage graph of the docs site, from the manifest: sources → models → syncs (dbt's exposures) → the
 * destination objects they write to. Tests are left out (they hang off the node they test, on its page), as dbt's
 * docs leave them out of its graph. The layout is computed here, once, with dagre (layered, left to right), so
 * that the page only draws.
 */

export type LineageType = 'source' | 'model' | 'exposure' | 'destination' | 'other';

export interface LineageNode {
  readonly id: string;
  readonly type: LineageType;
  readonly name: string;
  /** A second line: a model's kind, a sync's mode and audience, a destination's type. */
  readonly detail: string;
}

export interface LineageEdge {
  readonly from: string;
  readonly to: string;
}

export interface Lineage {
  readonly nodes: readonly LineageNode[];
  readonly edges: readonly LineageEdge[];
}

/** `destination.<destination>.<object>`: one node per destination object (a list, an audience, a table). */
export function destinationId(destination: string, object: string): string {
  return `destination.${destination}.${object}`;
}

/** A destination object's name: `brevo · list:2` (the destination alone when the sync names no object). */
export function destinationName(destination: string, object: string): string {
  return object === '' ? destination : `${destination} · ${object}`;
}

export function lineageOf(manifest: Manifest): Lineage {
  const nodes = new Map<string, LineageNode>();
  const edges: LineageEdge[] = [];
  const all = manifestNodes(manifest);
  for (const node of all.values()) {
    if (node.resource_type === 'test' || node.resource_type === 'unit_test') continue;
    const meta = tidelineMeta(node);
    const type: LineageType = node.resource_type === 'source' || node.resource_type === 'model' || node.resource_type === 'exposure' ? node.resource_type : 'other';
    const detail =
      type === 'model' ? String(meta['kind'] ?? node.config?.materialized ?? 'model')
      : type === 'exposure' ? (meta['mode'] !== undefined ? ['sync', meta['mode'], meta['audience']].filter((x) => x !== undefined && x !== null && x !== '').map(String).join(' · ') : `exposure · ${node.type ?? ''}`)
      : type === 'source' ? 'source'
      : node.resource_type;
    nodes.set(node.unique_id, { id: node.unique_id, type, name: node.name, detail });
  }
  for (const node of all.values()) {
    if (!nodes.has(node.unique_id)) continue;
    for (const parent of new Set(node.depends_on?.nodes ?? [])) if (nodes.has(parent) && parent !== node.unique_id) edges.push({ from: parent, to: node.unique_id });
    const meta = tidelineMeta(node);
    if (node.resource_type === 'exposure' && typeof meta['destination'] === 'string') {
      const object = meta['object'] === undefined ? '' : String(meta['object']);
      const id = destinationId(meta['destination'], object);
      if (!nodes.has(id)) nodes.set(id, { id, type: 'destination', name: destinationName(meta['destination'], object), detail: meta['destination_type'] === undefined ? 'destination' : `destination · ${String(meta['destination_type'])}` });
      edges.push({ from: node.unique_id, to: id });
    }
  }
  return { nodes: [...nodes.values()], edges };
}

export interface PlacedNode extends LineageNode {
  /** Top-left corner and size, in SVG units. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PlacedEdge extends LineageEdge {
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

export interface Layout {
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
  readonly width: number;
  readonly height: number;
}

/** Characters of a name a box shows; longer names are cut (the whole name is the box's tooltip and page). */
export const LABEL_CHARS = 30;
const CHAR_WIDTH = 7.2;
const NODE_HEIGHT = 40;
const MARGIN = 16;
const NODE_SEP = 12;
const RANK_SEP = 70;
/** Vertical space between two connected components stacked. */
const COMPONENT_SEP = 24;

/**
 * The most nodes dagre lays out on one page, over all its connected components (the largest first). dagre's crossing
 * minimisation grows faster than the graph (a 1,000-model project took over a minute); the components past that are
 * laid out in layers of linear cost instead (fastLayers): the same left-to-right ranks, fewer crossings avoided,
 * straight edges.
 */
export const DAGRE_LIMIT = 250;

interface Box {
  readonly id: string;
  readonly width: number;
  readonly height: number;
}

interface Placed {
  /** Top-left corners by id. */
  readonly at: Map<string, { x: number; y: number }>;
  /** Edge routes by `from\u0000to`. */
  readonly routes: Map<string, { x: number; y: number }[]>;
  readonly width: number;
  readonly height: number;
}

const edgeKey = (from: string, to: string) => `${from}\u0000${to}`;

/**
 * Positions every node and routes every edge, left to right in dependency order. Each weakly connected component is
 * laid out on its own (dagre while the page's DAGRE_LIMIT nodes last, fastLayers beyond) and the components are stacked top to
 * bottom, the largest first, so that the cost is that of the components, not of the whole project.
 */
export function layoutLineage(lineage: Lineage): Layout {
  const boxes = new Map<string, Box>();
  for (const node of lineage.nodes) {
    const chars = Math.max(Math.min(node.name.length, LABEL_CHARS), Math.min(node.detail.length, LABEL_CHARS + 6) * 0.85);
    boxes.set(node.id, { id: node.id, width: Math.round(24 + chars * CHAR_WIDTH), height: NODE_HEIGHT });
  }
  const edges = lineage.edges.filter((edge) => boxes.has(edge.from) && boxes.has(edge.to) && edge.from !== edge.to);
  const at = new Map<string, { x: number; y: number }>();
  const routes = new Map<string, { x: number; y: number }[]>();
  let width = 0;
  let height = MARGIN;
  // dagre's budget is for the whole page, not per component: several components just under the limit would cost as
  // much as one large one. Once spent, the rest is laid out in fast layers.
  let dagreBudget = DAGRE_LIMIT;
  for (const component of components([...boxes.values()], edges)) {
    const dagre = component.boxes.length <= dagreBudget;
    if (dagre) dagreBudget -= component.boxes.length;
    const placed = dagre ? dagreLayers(component.boxes, component.edges) : fastLayers(component.boxes, component.edges);
    const dy = height - MARGIN;
    for (const [id, p] of placed.at) at.set(id, { x: p.x, y: p.y + dy });
    for (const [key, points] of placed.routes) routes.set(key, points.map((p) => ({ x: p.x, y: p.y + dy })));
    width = Math.max(width, placed.width);
    height += placed.height - MARGIN + COMPONENT_SEP;
  }
  height = lineage.nodes.length ? height - COMPONENT_SEP : 2 * MARGIN;
  const nodes = lineage.nodes.map((node) => {
    const box = boxes.get(node.id)!;
    const p = at.get(node.id)!;
    return { ...node, x: round(p.x), y: round(p.y), width: box.width, height: box.height };
  });
  const placedEdges = lineage.edges.map((edge) => ({ ...edge, points: (routes.get(edgeKey(edge.from, edge.to)) ?? []).map((p) => ({ x: round(p.x), y: round(p.y) })) }));
  return { nodes, edges: placedEdges, width: Math.ceil(Math.max(width, 2 * MARGIN)), height: Math.ceil(height) };
}

/** The weakly connected components (union-find), the largest first, each with its nodes in the lineage's order. */
function components(boxes: readonly Box[], edges: readonly LineageEdge[]): { boxes: Box[]; edges: LineageEdge[] }[] {
  const index = new Map(boxes.map((b, i) => [b.id, i]));
  const parent = boxes.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  for (const edge of edges) {
    const a = find(index.get(edge.from)!);
    const b = find(index.get(edge.to)!);
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
  }
  const groups = new Map<number, { boxes: Box[]; edges: LineageEdge[] }>();
  boxes.forEach((box, i) => {
    const root = find(i);
    if (!groups.has(root)) groups.set(root, { boxes: [], edges: [] });
    groups.get(root)!.boxes.push(box);
  });
  for (const edge of edges) groups.get(find(index.get(edge.from)!))!.edges.push(edge);
  // Stable: equal sizes keep the lineage's order (Map iteration follows the first node of each).
  return [...groups.values()].sort((a, b) => b.boxes.length - a.boxes.length);
}

/** dagre's layered layout (network simplex ranks, crossing minimisation, routed edges) of one component. */
function dagreLayers(boxes: readonly Box[], edges: readonly LineageEdge[]): Placed {
  const g = new Graph({ multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: NODE_SEP, ranksep: RANK_SEP, edgesep: 8, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));
  for (const box of boxes) g.setNode(box.id, { width: box.width, height: box.height });
  for (const edge of edges) g.setEdge(edge.from, edge.to);
  layout(g);
  const graph = g.graph();
  const at = new Map<string, { x: number; y: number }>();
  for (const box of boxes) {
    const placed = g.node(box.id);
    at.set(box.id, { x: placed.x! - placed.width / 2, y: placed.y! - placed.height / 2 });
  }
  const routes = new Map<string, { x: number; y: number }[]>();
  for (const edge of edges) routes.set(edgeKey(edge.from, edge.to), (g.edge({ v: edge.from, w: edge.to })?.points ?? []).map((p: { x: number; y: number }) => ({ x: p.x, y: p.y })));
  return { at, routes, width: graph.width ?? 0, height: graph.height ?? 0 };
}

/**
 * A layered layout of cost linear in nodes and edges (but for sorting each layer): each node in the column of its
 * longest path from a root (dagre's ranks, left to right), each column ordered by a few barycentre sweeps (the mean
 * position of its parents, then of its children) to keep related nodes level, and each edge a straight line from
 * the right side of its parent to the left side of its child. A cycle (a manifest dbt did not write) is broken by
 * placing what remains in the order given.
 */
function fastLayers(boxes: readonly Box[], edges: readonly LineageEdge[]): Placed {
  const parents = new Map<string, string[]>(boxes.map((b) => [b.id, []]));
  const children = new Map<string, string[]>(boxes.map((b) => [b.id, []]));
  for (const edge of edges) {
    parents.get(edge.to)!.push(edge.from);
    children.get(edge.from)!.push(edge.to);
  }
  // Ranks: Kahn's order, each node one column right of its furthest parent.
  const rank = new Map<string, number>();
  const waiting = new Map(boxes.map((b) => [b.id, parents.get(b.id)!.length]));
  const queue = boxes.filter((b) => waiting.get(b.id) === 0).map((b) => b.id);
  const settle = (id: string) => {
    rank.set(id, Math.max(0, ...parents.get(id)!.map((p) => (rank.get(p) ?? -1) + 1)));
    for (const child of children.get(id)!) {
      const left = waiting.get(child)! - 1;
      waiting.set(child, left);
      if (left === 0) queue.push(child);
    }
  };
  for (let i = 0; i < queue.length; i++) settle(queue[i]!);
  for (const box of boxes) if (!rank.has(box.id)) settle(box.id);
  const layers: string[][] = [];
  for (const box of boxes) (layers[rank.get(box.id)!] ??= []).push(box.id);
  // Order within each layer: barycentre sweeps, down then up.
  const position = new Map<string, number>();
  const number = () => layers.forEach((layer) => layer.forEach((id, i) => position.set(id, i)));
  number();
  const sweep = (layer: string[], by: Map<string, string[]>) => {
    const key = new Map(layer.map((id) => {
      const ns = by.get(id)!.filter((n) => rank.get(n) !== rank.get(id));
      return [id, ns.length ? ns.reduce((sum, n) => sum + position.get(n)!, 0) / ns.length : position.get(id)!] as const;
    }));
    layer.sort((a, b) => key.get(a)! - key.get(b)! || position.get(a)! - position.get(b)!);
    layer.forEach((id, i) => position.set(id, i));
  };
  for (let pass = 0; pass < 4; pass++) {
    for (let r = 1; r < layers.length; r++) sweep(layers[r]!, parents);
    for (let r = layers.length - 2; r >= 0; r--) sweep(layers[r]!, children);
  }
  const box = new Map(boxes.map((b) => [b.id, b]));
  const at = new Map<string, { x: number; y: number }>();
  let x = MARGIN;
  let height = 0;
  for (const layer of layers) {
    const columnWidth = Math.max(...layer.map((id) => box.get(id)!.width));
    let y = MARGIN;
    for (const id of layer) {
      const b = box.get(id)!;
      at.set(id, { x: x + (columnWidth - b.width) / 2, y });
      y += b.height + NODE_SEP;
    }
    height = Math.max(height, y - NODE_SEP);
    x += columnWidth + RANK_SEP;
  }
  const routes = new Map<string, { x: number; y: number }[]>();
  for (const edge of edges) {
    const from = at.get(edge.from)!;
    const to = at.get(edge.to)!;
    const a = box.get(edge.from)!;
    const b = box.get(edge.to)!;
    routes.set(edgeKey(edge.from, edge.to), [{ x: from.x + a.width, y: from.y + a.height / 2 }, { x: to.x, y: to.y + b.height / 2 }]);
  }
  return { at, routes, width: x - RANK_SEP + MARGIN, height: height + MARGIN };
}

const round = (n: number) => Math.round(n * 10) / 10;
