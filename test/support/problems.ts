import type { OutputColumn } from '../../models/model-kind.js';
import type { LogicalType } from '../../src/dialects/dialect.js';
import { analyseWithSources } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import { ConfigError, formatProblem } from '../../src/project/problems.js';
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
