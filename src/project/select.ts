import { owningModel, type Project } from './loader.js';
import { ConfigError } from './problems.js';
import { didYouMean } from './suggest.js';

/**
 * Resolves `--select` arguments to model names in build order. A selector is a model name, `tag:NAME`, `kind:KIND`,
 * with `+` before it to add everything it reads (upstream) and/or after it to add everything that reads it
 * (downstream): `+customers`, `orders+`. No selector selects every model. Unknown names are configuration errors.
 */
export function selectModels(project: Project, selectors: readonly string[] | undefined): string[] {
  if (!selectors || selectors.length === 0) return [...project.order];
  const chosen = new Set<string>();
  const unknown: string[] = [];
  for (const raw of selectors.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean)) {
    const upstream = raw.startsWith('+');
    const downstream = raw.endsWith('+') && raw.length > 1;
    const body = raw.slice(upstream ? 1 : 0, downstream ? -1 : undefined);
    const base = match(project, body);
    if (base.length === 0) {
      unknown.push(`--select: nothing matches "${raw}"${body.includes(':') ? '' : didYouMean(body, project.models.keys())}`);
      continue;
    }
    for (const name of base) {
      chosen.add(name);
      if (upstream) for (const n of closure(name, (m) => inputsOf(project, m))) chosen.add(n);
      if (downstream) for (const n of closure(name, (m) => readersOf(project, m))) chosen.add(n);
    }
  }
  if (unknown.length) throw new ConfigError(unknown.map((message) => ({ code: 'unknown-selector', severity: 'error', message })));
  return project.order.filter((name) => chosen.has(name));
}

function match(project: Project, body: string): string[] {
  const [prefix, value] = body.includes(':') ? (body.split(':', 2) as [string, string]) : ['', body];
  const models = [...project.models.values()];
  if (prefix === 'tag') return models.filter((m) => m.tags.includes(value)).map((m) => m.name);
  if (prefix === 'kind') return models.filter((m) => m.kind.kind === value).map((m) => m.name);
  if (prefix === '') return project.models.has(value) ? [value] : [];
  return [];
}

function inputsOf(project: Project, name: string): string[] {
  return (project.models.get(name)?.inputs ?? []).map((i) => owningModel(project, i.relation)).filter((r): r is string => r !== undefined);
}

function readersOf(project: Project, name: string): string[] {
  return [...project.models.values()].filter((m) => m.inputs.some((i) => owningModel(project, i.relation) === name)).map((m) => m.name);
}

function closure(start: string, next: (name: string) => string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length) {
    for (const n of next(queue.pop()!)) {
      if (!seen.has(n)) {
        seen.add(n);
        queue.push(n);
      }
    }
  }
  return seen;
}
