import type { OutputColumn } from '../../models/model-kind.js';
import type { LogicalType } from '../../src/dialects/dialect.js';
import { analyseWithSources } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import { ConfigError, formatProblem } from '../../src/project/problems.js';
import { relative } from 'node:path';
import type { Problem } from '../../src/project/problems.js';
import { tempProject } from './cli.js';

/**
 * Problems of a project loaded and analysed offline with the given source columns; each as `file:line:col field
 * message`. A column is a timestamp when its name ends in `_at`, else text, unless written `name:type`.
 */
export async function problemsOf(files: Record<string, string>, columns: Record<string, readonly string[]> = {}): Promise<string[]> {
  const root = tempProject(files);
  try {
    const project = await loadProject({ projectDir: root, env: { HOOK_URL: 'http://127.0.0.1:9/hook' } });
    const column = (text: string): OutputColumn => {
      const [name = text, type] = text.split(':');
      return { name, type: (type as LogicalType | undefined) ?? (name.endsWith('_at') ? 'timestamp' : 'string') };
    };
    analyseWithSources(project, new Map(Object.entries(columns).map(([name, cols]) => [name, cols.map(column)])), false);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => formatProblem(p, root));
  }
}

/**
 * Problems of a project whose only model file is `models/people.yml` = `yaml`, on `target` (DuckDB or PostgreSQL
 * dialect), analysed offline with these source columns; each as `file:line:col  field  message`.
 */
export async function modelProblems(yaml: string, target: 'duckdb' | 'postgres', columns: Record<string, readonly OutputColumn[]>): Promise<string[]> {
  const root = tempProject({
    'tideline.yml': 'name: shop\ntarget: duckdb\ntargets:\n  duckdb: { type: duckdb, path: ":memory:" }\n  postgres: { type: postgres, url: "postgres://localhost/x" }\n',
    'models/people.yml': yaml,
  });
  try {
    const project = await loadProject({ projectDir: root, target, env: {} });
    analyseWithSources(project, new Map(Object.entries(columns)), true);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p: Problem) => formatProblem({ ...p, at: p.at && { ...p.at, file: relative(root, p.at.file) } }));
  }
}

/** `line:col` of the first occurrence of `text` in `yaml` (1-based), plus `offset` characters: where a problem points. */
export function at(yaml: string, text: string, offset = 0): string {
  const index = yaml.indexOf(text);
  if (index < 0) throw new Error(`"${text}" is not in the YAML`);
  const before = yaml.slice(0, index + offset).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}
