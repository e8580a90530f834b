import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelScript } from '../../src/pipeline/script.js';
import { analyseWithSources } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import { seedSourceColumns } from '../fixtures/metrics-mini/seed.js';
import { expectGolden, GOLDEN_DIALECTS } from '../support/golden.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/metrics-mini');
const golden = (model: string, dialect: string) => join(import.meta.dirname, model, `${dialect}.sql`);

/**
 * Golden SQL of the customers, rfm and ltv kinds (metrics-mini fixture, plus a predictive LTV model) for the
 * dialects no test executes (see GOLDEN_DIALECTS); DuckDB and PostgreSQL build the same models against results
 * worked out by hand (test/metrics/mini.test.ts).
 */
for (const dialect of GOLDEN_DIALECTS) {
  describe(`golden SQL of metrics models: ${dialect}`, async () => {
    const project = await loadProject({ projectDir: FIXTURE, target: dialect, env: {} });
    const analysis = analyseWithSources(project, seedSourceColumns(), true);
    for (const model of project.order) {
      it(model, () => {
        const script = modelScript(project, analysis, project.models.get(model)!).script;
        expectGolden(golden(model, dialect), script);
      });
    }
  });
}

describe('golden SQL files exist for every metrics model and golden dialect', () => {
  it('has one file per model and dialect', () => {
    for (const model of ['metrics_customers', 'metrics_rfm', 'metrics_ltv', 'metrics_ltv_predictive'])
      for (const dialect of GOLDEN_DIALECTS) expect(readFileSync(golden(model, dialect), 'utf8')).toMatch(/CREATE TABLE/);
  });
});
