import { runModels, type ModelResult } from '../../src/pipeline/runner.js';
import { createLogger } from '../../src/log/logger.js';
import { analyseProject } from '../../src/project/analyse.js';
import { loadProject, type Project } from '../../src/project/loader.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { tempProject } from './cli.js';
import { pgUrl, type Engine } from './engines.js';

/**
 * A throwaway project for identity tests: `schema` is where models are built (unique per test), `yaml` the model
 * file (sources and models). The project's targets are the test engines.
 */
export async function identityProject(engine: Engine, schema: string, yaml: string): Promise<Project> {
  const root = tempProject({
    'tideline.yml': `name: identity_test\ntarget: ${engine.name}\nschema: ${schema}\ntargets:\n  duckdb:\n    type: duckdb\n    path: ':memory:'\n  postgres:\n    type: postgres\n    url: \${env:TIDELINE_TEST_PG_URL:-postgres://localhost/none}\n`,
    'models/identity.yml': yaml,
  });
  return loadProject({ projectDir: root, target: engine.name, env: { TIDELINE_TEST_PG_URL: pgUrl() ?? undefined } });
}

/** Analyses the project against the connection and builds one model; throws when the build fails. */
export async function build(project: Project, connection: Connection, model: string, options: { fullRefresh?: boolean } = {}): Promise<ModelResult> {
  const analysis = await analyseProject(project, connection);
  const [result] = await runModels(project, connection, analysis, [model], { logger: createLogger({ level: 'silent' }), fullRefresh: options.fullRefresh ?? false });
  if (!result || result.status !== 'success') throw new Error(`build of ${model} failed: ${result?.error}`);
  return result;
}
