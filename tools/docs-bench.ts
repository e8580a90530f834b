/**
 * Times `tideline docs`' rendering of a synthetic project (test/support/large-manifest.ts):
 * `nice npx tsx tools/docs-bench.ts 1000 [500 …]` prints, per size, the lineage's nodes and edges, the milliseconds
 * of the layout alone and of the whole page, and the page's size.
 */
import { layoutLineage, lineageOf } from '../src/docs/lineage.js';
import { renderSite } from '../src/docs/site.js';
import { largeManifest } from '../test/support/large-manifest.js';

for (const size of (process.argv.slice(2).length ? process.argv.slice(2) : ['1000']).map(Number)) {
  const manifest = largeManifest(size);
  const lineage = lineageOf(manifest);
  let start = performance.now();
  layoutLineage(lineage);
  const layoutMs = Math.round(performance.now() - start);
  start = performance.now();
  const html = renderSite({ manifest });
  const pageMs = Math.round(performance.now() - start);
  console.log(JSON.stringify({ models: size, nodes: lineage.nodes.length, edges: lineage.edges.length, layoutMs, pageMs, bytes: html.length }));
}
