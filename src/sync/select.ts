import type { Project } from '../project/loader.js';
import { ConfigError } from '../project/problems.js';
import { didYouMean } from '../project/suggest.js';
import type { SyncDef } from './load.js';

/**
 * Resolves `--select` for sync commands: sync names, `tag:NAME`, `model:NAME` (syncs of a model) and
 * `destination:NAME`; several at once are combined. No selector selects every sync. Unknown names are configuration
 * errors, as for models.
 */
export function selectSyncs(project: Project, selectors: readonly string[] | undefined): SyncDef[] {
  const all = [...project.syncs.values()];
  if (!selectors || selectors.length === 0) return all;
  const chosen = new Set<string>();
  const unknown: string[] = [];
  for (const raw of selectors.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean)) {
    const [prefix, value] = raw.includes(':') ? (raw.split(':', 2) as [string, string]) : ['', raw];
    const matches = all.filter((s) =>
      prefix === '' ? s.name === value : prefix === 'tag' ? s.tags.includes(value) : prefix === 'model' ? s.model === value : prefix === 'destination' ? s.destination.name === value : false,
    );
    if (!matches.length) {
      const known = prefix === '' ? all.map((s) => s.name) : prefix === 'model' ? all.map((s) => s.model) : prefix === 'destination' ? all.map((s) => s.destination.name) : [];
      unknown.push(`--select: no sync matches "${raw}"${didYouMean(value, known)}`);
    }
    for (const sync of matches) chosen.add(sync.name);
  }
  if (unknown.length) throw new ConfigError(unknown.map((message) => ({ code: 'unknown-selector', severity: 'error', message })));
  return all.filter((s) => chosen.has(s.name));
}
