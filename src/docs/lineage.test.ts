import { describe, expect, it } from 'vitest';
import { largeManifest } from '../../test/support/large-manifest.js';
import { DAGRE_LIMIT, layoutLineage, lineageOf, type Layout, type PlacedNode } from './lineage.js';

/**
 * The lineage's layout, judged by geometry: every node placed inside the drawing, no two boxes overlapping, every
 * edge drawn from its parent's box to its child's, and parents left of children. The speed of large projects is
 * measured by tools/docs-bench.ts (figures in README "Docs"); here only that a large project's layout is right.
 */

const overlap = (a: PlacedNode, b: PlacedNode) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

function checkGeometry(layout: Layout): void {
  const byId = new Map(layout.nodes.map((n) => [n.id, n]));
  for (const node of layout.nodes) {
    expect(node.x).toBeGreaterThanOrEqual(0);
    expect(node.y).toBeGreaterThanOrEqual(0);
    expect(node.x + node.width).toBeLessThanOrEqual(layout.width + 0.1);
    expect(node.y + node.height).toBeLessThanOrEqual(layout.height + 0.1);
  }
  // Sorted by x, each box compared with those that start before it ends: no overlap.
  const sorted = [...layout.nodes].sort((a, b) => a.x - b.x);
  const overlapping: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j]!.x < sorted[i]!.x + sorted[i]!.width; j++) if (overlap(sorted[i]!, sorted[j]!)) overlapping.push(`${sorted[i]!.id} / ${sorted[j]!.id}`);
  }
  expect(overlapping).toEqual([]);
  for (const edge of layout.edges) {
    const from = byId.get(edge.from)!;
    const to = byId.get(edge.to)!;
    expect(edge.points.length, `${edge.from} -> ${edge.to}`).toBeGreaterThanOrEqual(2);
    // Left to right: the parent's box ends before the child's starts, and the edge runs between them.
    expect(from.x + from.width, `${edge.from} -> ${edge.to}`).toBeLessThan(to.x);
    const first = edge.points[0]!;
    const last = edge.points.at(-1)!;
    // dagre ends an edge on the box's border, toward its next point: the right half of the parent, the left of the child.
    expect(first.x).toBeGreaterThanOrEqual(from.x + from.width / 2 - 1);
    expect(last.x).toBeLessThanOrEqual(to.x + to.width / 2 + 1);
    expect(last.y).toBeGreaterThanOrEqual(to.y - 1);
    expect(last.y).toBeLessThanOrEqual(to.y + to.height + 1);
  }
}

describe('the lineage layout', () => {
  it('lays out a project too large for dagre in layers: every node placed once, none overlapping, edges left to right', () => {
    const manifest = largeManifest(600);
    const lineage = lineageOf(manifest);
    expect(lineage.nodes.length).toBeGreaterThan(DAGRE_LIMIT * 3);
    const layout = layoutLineage(lineage);
    expect(layout.nodes.map((n) => n.id).sort()).toEqual(lineage.nodes.map((n) => n.id).sort());
    expect(layout.edges).toHaveLength(lineage.edges.length);
    checkGeometry(layout);
  });

  it('stacks unconnected components, each laid out on its own, without overlap', () => {
    const layout = layoutLineage(lineageOf(largeManifest(40)));
    checkGeometry(layout);
    // The islands (a source and its model, unconnected to the rest) lie below the main component.
    const main = layout.nodes.filter((n) => !n.id.includes('island'));
    const islands = layout.nodes.filter((n) => n.id.includes('island'));
    expect(islands).toHaveLength(6);
    const bottom = Math.max(...main.map((n) => n.y + n.height));
    for (const island of islands) expect(island.y).toBeGreaterThan(bottom);
  });

  it('names a destination object by destination and object, and a sync\'s second line by its mode and audience', () => {
    const lineage = lineageOf(largeManifest(20));
    expect(lineage.nodes.find((n) => n.id === 'destination.d2.list:2')).toMatchObject({ name: 'd2 · list:2', detail: 'destination · brevo' });
    expect(lineage.nodes.find((n) => n.id === 'exposure.p.y2')).toMatchObject({ name: 'sync2', detail: 'sync · audience · a2' });
  });
});
