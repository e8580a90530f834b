import type { Manifest, ManifestNode } from '../../src/docs/manifest.js';

/**
 * A synthetic manifest of `models` models (after the reviewer's bench): a fifth as many sources, a third as many
 * syncs to seven destinations, each model reading one to three earlier models or sources, chosen by a seeded
 * generator — one large connected project, as a real one is, plus a few unconnected islands (a source and its
 * staging model) that test the stacking of components.
 */
export function largeManifest(models: number, seed = 1): Manifest {
  const s = Math.max(1, Math.round(models / 5));
  const y = Math.round(models / 3);
  let state = seed;
  const random = () => (state = (state * 16807) % 2147483647) / 2147483647;
  const sources: Record<string, ManifestNode> = {};
  const nodes: Record<string, ManifestNode> = {};
  const exposures: Record<string, ManifestNode> = {};
  const columns = (n: number, prefix: string) => Object.fromEntries(Array.from({ length: n }, (_, c) => [`${prefix}${c}`, { name: `${prefix}${c}`, data_type: 'varchar' }]));
  for (let i = 0; i < s; i++) sources[`source.p.p.s${i}`] = { unique_id: `source.p.p.s${i}`, resource_type: 'source', name: `s${i}`, description: 'a source', columns: columns(20, 'c') };
  for (let i = 0; i < models; i++) {
    const deps = new Set<string>();
    const k = 1 + Math.floor(random() * 3);
    for (let j = 0; j < k; j++) deps.add(i > 5 && random() < 0.7 ? `model.p.m${Math.floor(random() * i)}` : `source.p.p.s${Math.floor(random() * s)}`);
    nodes[`model.p.m${i}`] = { unique_id: `model.p.m${i}`, resource_type: 'model', name: `model_number_${i}`, description: 'desc '.repeat(20), depends_on: { nodes: [...deps] }, meta: { tideline: { kind: 'sql' } }, columns: columns(15, 'col') };
  }
  for (let i = 0; i < y; i++) {
    exposures[`exposure.p.y${i}`] = { unique_id: `exposure.p.y${i}`, resource_type: 'exposure', name: `sync${i}`, depends_on: { nodes: [`model.p.m${Math.floor(random() * models)}`] }, meta: { tideline: { destination: `d${i % 7}`, destination_type: 'brevo', object: `list:${i}`, mode: 'audience', audience: `a${i}` } } };
  }
  for (let i = 0; i < 3; i++) {
    sources[`source.p.p.island${i}`] = { unique_id: `source.p.p.island${i}`, resource_type: 'source', name: `island${i}` };
    nodes[`model.p.island${i}`] = { unique_id: `model.p.island${i}`, resource_type: 'model', name: `island_model_${i}`, depends_on: { nodes: [`source.p.p.island${i}`] } };
  }
  return { metadata: { project_name: 'p' }, sources, nodes, exposures };
}
