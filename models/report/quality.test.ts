import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinSql, sql } from '../../src/dialects/sql.js';
import type { LogicalType } from '../../src/dialects/dialect.js';
import { createLogger } from '../../src/log/logger.js';
import { analyseProject, analyseWithSources } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import { ConfigError } from '../../src/project/problems.js';
import { runModels } from '../../src/pipeline/runner.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { tempProject } from '../../test/support/cli.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';
import { join } from 'node:path';
import { modelScript } from '../../src/pipeline/script.js';
import { expectGolden, GOLDEN_DIALECTS } from '../../test/support/golden.js';
import { readReport, reportTables, type ReportData } from './read.js';
import { renderTerminal } from './terminal.js';

/**
 * Data-quality shares (`quality:`): completion of fields and opt-in shares over a population, as rows of `<name>_kpis`
 * under the channel `quality`, with their thresholds. Expected values are counted by hand from PROFILES.
 */
const COLUMNS: [string, LogicalType][] = [
  ['customer_id', 'string'],
  ['email', 'string'],
  ['phone', 'string'],
  ['postcode', 'string'],
  ['consent_sms', 'boolean'],
  ['is_test', 'boolean'],
];
// Six real customers and one test record (left out by `where`). E-mail: 4 of 6; phone: 3 of 6; postcode: 5 of 6;
// SMS opt-in: 2 of 6 (NULL is not an opt-in).
const PROFILES: (string | boolean | null)[][] = [
  ['c1', 'a@x.fr', '+33600000001', '75001', true, false],
  ['c2', 'b@x.fr', null, '75002', false, false],
  ['c3', null, '+33600000003', '75003', null, false],
  ['c4', 'd@x.fr', '+33600000004', null, true, false],
  ['c5', 'e@x.fr', null, '75005', false, false],
  ['c6', null, null, '75006', null, false],
  ['t1', 'test@test.com', '+33600000000', '00000', true, true],
];

const REPORT = (raw: string) => `sources:
  - { name: profiles, table: ${raw}.profiles }
models:
  - name: quality_report
    kind: report
    as_of: '2026-06-30'
    quality:
      from: profiles
      where: [{ column: is_test, equals: false }]
      shares:
        email_completion: { where: [{ column: email, is_null: false }], good: "60%", bad: "50%" }
        phone_completion: { where: [{ column: phone, is_null: false }], good: "80%", bad: "60%" }
        contact_completion: { where: [{ column: email, is_null: false }, { column: phone, is_null: false }] }
        address_completion: { where: [{ column: postcode, is_null: false }], bad: "90%" }
        sms_opt_in: { where: [{ column: consent_sms, equals: true }] }
`;

for (const engine of engines()) {
  describe(`report quality shares on ${engine.name}`, () => {
    let connection: Connection;
    let data: ReportData;
    const raw = uniqueSchema('q_raw');
    const models = uniqueSchema('q');

    beforeAll(async () => {
      connection = await engine.open();
      const d = connection.dialect;
      await connection.execute(d.createSchema(raw));
      const ref = { schema: raw, name: 'profiles' };
      await connection.execute(sql`CREATE TABLE ${d.table(ref)} (${joinSql(COLUMNS.map(([c, type]) => sql`${d.id(c)} ${d.type(type)}`))})`);
      await connection.insertRows(ref, COLUMNS.map(([name, type]) => ({ name, type })), [PROFILES]);
      const root = tempProject({
        'tideline.yml': `name: shop\nschema: ${models}\ntargets:\n  test: ${JSON.stringify(engine.target)}\n`,
        'models/report.yml': REPORT(raw),
      });
      const project = await loadProject({ projectDir: root });
      const analysis = await analyseProject(project, connection);
      const results = await runModels(project, connection, analysis, project.order, { logger: createLogger({ level: 'silent' }) });
      expect(results.map((r) => [r.model, r.status, r.error])).toEqual([['quality_report', 'success', null]]);
      data = await readReport(connection, d, 'quality_report', reportTables({ schema: models, name: 'quality_report' }));
    });
    afterAll(async () => {
      for (const schema of [raw, models]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${connection.dialect.id(schema)} CASCADE`);
      await connection.close();
    });

    it('counts each share over the population, as of the build, with its thresholds', () => {
      const shares = data.kpis.filter((k) => k.channel === 'quality').map((k) => ({ kpi: k.kpi, n: k.numerator, of: k.denominator, value: k.value, status: k.status, campaign: k.campaign, period: k.periodStart }));
      const row = (kpi: string, n: number, status: string | null) => ({ kpi, n, of: 6, value: n / 6, status, campaign: null, period: null });
      expect(shares.sort((a, b) => a.kpi.localeCompare(b.kpi))).toEqual([
        // 5/6 = 83 % is below the bad bound of 90 %.
        row('address_completion', 5, 'bad'),
        // c1 and c4 have both.
        row('contact_completion', 2, null),
        // 4/6 = 67 % is above the good bound of 60 %.
        row('email_completion', 4, 'good'),
        // 3/6 = 50 % is below the bad bound of 60 %.
        row('phone_completion', 3, 'bad'),
        row('sms_opt_in', 2, null),
      ]);
    });

    it("reads as of the warehouse's date when the project's vars.as_of is today", async () => {
      const schema = uniqueSchema('q_today');
      const root = tempProject({
        'tideline.yml': `name: shop\nschema: ${schema}\nvars: { as_of: today }\ntargets:\n  test: ${JSON.stringify(engine.target)}\n`,
        'models/report.yml': REPORT(raw).replace("    as_of: '2026-06-30'\n", ''),
      });
      const project = await loadProject({ projectDir: root });
      const results = await runModels(project, connection, await analyseProject(project, connection), project.order, { logger: createLogger({ level: 'silent' }) });
      expect(results.map((r) => [r.model, r.status, r.error])).toEqual([['quality_report', 'success', null]]);
      const today = await readReport(connection, connection.dialect, 'quality_report', reportTables({ schema, name: 'quality_report' }));
      expect(today.asOf).toBe(new Date().toISOString().slice(0, 10));
      expect(today.kpis.find((k) => k.kpi === 'email_completion')?.numerator).toBe(4);
      await connection.execute(sql`DROP SCHEMA IF EXISTS ${connection.dialect.id(schema)} CASCADE`);
    });

    it('shows the shares in the scorecard and the terminal report, labelled by their names', () => {
      const flagged = data.scorecard.filter((r) => r.subject === 'quality' && r.flagged).map((r) => r.kpi).sort();
      expect(flagged).toEqual(['address_completion', 'phone_completion']);
      const text = renderTerminal(data);
      expect(text).toMatch(/quality\s+email completion\s+66\.7 %/);
      expect(text).toMatch(/quality\s+phone completion\s+50\.0 %/);
    });
  });
}

describe('report quality shares: configuration problems are located', () => {
  async function problems(quality: string): Promise<string[]> {
    const root = tempProject({
      'tideline.yml': 'name: shop\n',
      'models/r.yml': `sources:\n  - { name: profiles, table: raw.profiles }\nmodels:\n  - name: r\n    kind: report\n    quality:\n${quality}`,
    });
    try {
      analyseWithSources(await loadProject({ projectDir: root }), new Map([['profiles', COLUMNS.map(([name, type]) => ({ name, type }))]]), true);
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems.map((p) => `${p.field}: ${p.message}`);
    }
  }

  it('a report with only quality shares is enough to build', async () => {
    expect(await problems('      from: profiles\n      shares: { email_completion: { where: [{ column: email, is_null: false }] } }\n')).toEqual([]);
  });

  it('names the share, the condition and the threshold that are wrong', async () => {
    expect(
      await problems(`      from: profiles
      shares:
        email_completion: { where: [{ column: emial, is_null: false }] }
        sms_opt_in: { where: [{ column: consent_sms, equals: "yes" }], good: "50%", bad: "70%" }
        phone_completion: { where: [{ column: phone, is_null: false }], good: 0.8 }
`),
    ).toEqual([
      'models[0].quality.shares.email_completion.where[0].column: unknown column "emial" in source "profiles" (did you mean "email"?)',
      'models[0].quality.shares.sms_opt_in.where[0].equals: column "consent_sms" of profiles is true/false: compare it with true or false, not "yes"',
      'models[0].quality.shares.sms_opt_in.good: thresholds out of order: quality share sms_opt_in is better higher, so good (50 %) must be at or above bad (70 %)',
      'models[0].quality.shares.phone_completion.good: write a rate as a percentage such as "0.2%", not 0.8',
    ]);
    expect(await problems('      from: profiles\n      shares: {}\n')).toEqual(['models[0].quality.shares: name at least one share']);
  });
});

describe('report quality shares: golden SQL', () => {
  const targets = `targets:
  duckdb: { type: duckdb }
  bigquery: { type: bigquery, project: acme-data, dataset: analytics }
  snowflake: { type: snowflake, account: acme, user: TIDELINE, password: x, warehouse: W, database: ANALYTICS, schema: analytics }
target: duckdb
schema: analytics
`;
  const root = tempProject({ 'tideline.yml': `name: shop\n${targets}`, 'models/report.yml': REPORT('raw') });
  // The dialects no test executes; DuckDB and PostgreSQL build the same model above.
  for (const dialect of GOLDEN_DIALECTS) {
    it(dialect, async () => {
      const project = await loadProject({ projectDir: root, target: dialect });
      const analysis = analyseWithSources(project, new Map([['profiles', COLUMNS.map(([name, type]) => ({ name, type }))]]), true);
      expectGolden(join(import.meta.dirname, '../../test/golden/report_quality', `${dialect}.sql`), modelScript(project, analysis, project.models.get('quality_report')!).script);
    });
  }
});
