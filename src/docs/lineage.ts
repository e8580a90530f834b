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
  /** A second line: a model's kind, a sync's mode, a destination's type and object. */
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
      : type === 'exposure' ? (meta['mode'] !== undefined ? `sync · ${String(meta['mode'])}` : `exposure · ${node.type ?? ''}`)
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
      if (!nodes.has(id)) nodes.set(id, { id, type: 'destination', name: meta['destination'], detail: [meta['destination_type'], object].filter((x) => x !== undefined && x !== '').join(' · ') });
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

/** Positions every node and routes every edge, left to right in dependency order. */
export function layoutLineage(lineage: Lineage): Layout {
  const g = new Graph({ multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 12, ranksep: 70, edgesep: 8, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of lineage.nodes) {
    const chars = Math.max(Math.min(node.name.length, LABEL_CHARS), Math.min(node.detail.length, LABEL_CHARS + 6) * 0.85);
    g.setNode(node.id, { width: Math.round(24 + chars * CHAR_WIDTH), height: NODE_HEIGHT });
  }
  for (const edge of lineage.edges) g.setEdge(edge.from, edge.to);
  layout(g);
  const graph = g.graph();
  const nodes = lineage.nodes.map((node) => {
    const placed = g.node(node.id);
    return { ...node, x: round(placed.x! - placed.width / 2), y: round(placed.y! - placed.height / 2), width: placed.width, height: placed.height };
  });
  const edges = lineage.edges.map((edge) => ({ ...edge, points: (g.edge({ v: edge.from, w: edge.to })?.points ?? []).map((p: { x: number; y: number }) => ({ x: round(p.x), y: round(p.y) })) }));
  return { nodes, edges, width: Math.ceil(graph.width ?? 0), height: Math.ceil(graph.height ?? 0) };
}

const round = (n: number) => Math.round(n * 10) / 10;
