import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelScript } from '../../src/pipeline/script.js';
import type { DialectName } from '../../src/dialects/dialect.js';
import { DIALECTS } from '../../src/dialects/registry.js';
import { analyseWithSources } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import { seedSourceColumns } from '../fixtures/metrics-mini/seed.js';
import { expectGolden } from '../support/golden.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/metrics-mini');
const golden = (model: string, dialect: string) => join(import.meta.dirname, model, `${dialect}.sql`);

/**
 * Golden SQL of the customers, rfm and ltv kinds (metrics-mini fixture, plus a predictive LTV model) for every
 * registered dialect. BigQuery and Snowflake are checked only this way; DuckDB and PostgreSQL also execute it
 * (test/metrics/mini.test.ts), and the DuckDB/PostgreSQL files are checked against what those runs compile.
 */
for (const dialect of Object.keys(DIALECTS) as DialectName[]) {
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

describe('golden SQL files exist for every metrics model and dialect', () => {
  it('has one file per model and dialect', () => {
    for (const model of ['metrics_customers', 'metrics_rfm', 'metrics_ltv', 'metrics_ltv_predictive'])
      for (const dialect of Object.keys(DIALECTS)) expect(readFileSync(golden(model, dialect), 'utf8')).toMatch(/CREATE TABLE/);
  });
});
