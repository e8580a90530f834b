import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sql } from '../src/dialects/sql.js';
import { openTarget, type TargetConfig } from '../src/warehouses/registry.js';
import { runCli, tempProject } from './support/cli.js';
import { pgUrl, uniqueSchema } from './support/engines.js';

/**
 * A warehouse refusing a row's value must not print the value: a model casting e-mails to integers fails, and the
 * e-mail appears neither in the logs (pretty or JSON) nor in target/run_results.json, while the failure still says
 * which model, which type and, where the warehouse gives it, which column.
 */
const EMAIL = 'jane.doe@example.com';

interface Case {
  readonly name: 'duckdb' | 'postgres';
  readonly targets: string;
  readonly env: Record<string, string>;
  readonly config: TargetConfig;
  /** What the failure must still say. */
  readonly says: readonly RegExp[];
}

const url = pgUrl();
const cases: Case[] = [
  { name: 'duckdb', targets: '', env: {}, config: { type: 'duckdb', path: '.tideline/warehouse.duckdb' }, says: [/INT32/, /column email/] },
  ...(url
    ? [{ name: 'postgres' as const, targets: 'targets:\n  pg:\n    type: postgres\n    url: ${env:ERRORS_PG_URL}\n', env: { ERRORS_PG_URL: url }, config: { type: 'postgres' as const, url }, says: [/type integer/] }]
    : []),
];
if (!url) console.warn('[tideline tests] WARNING: PostgreSQL unavailable — the postgres half of warehouse-errors is SKIPPED');

describe('warehouse errors name the model, type and column, never the row value', () => {
  for (const c of cases) {
    it(`${c.name}: a cast of an e-mail to an integer, with pretty and JSON logs`, async () => {
      const schema = uniqueSchema('errs');
      const raw = uniqueSchema('errsraw');
      const root = tempProject({
        'tideline.yml': `name: errors\nschema: ${schema}\n${c.targets}`,
        'models/models.yml': `sources: [{ name: contacts, table: ${raw}.contacts }]
models:
  - name: contact_numbers
    kind: sql
    sql: "SELECT id, CAST(email AS INTEGER) AS email_number FROM {{ ref('contacts') }}"
`,
      });
      const connection = await openTarget(c.config, { root });
      const d = connection.dialect;
      try {
        await connection.execute(d.createSchema(raw));
        await connection.execute(sql`CREATE TABLE ${d.table({ schema: raw, name: 'contacts' })} AS SELECT 1 AS id, ${d.string(EMAIL)} AS email`);
      } finally {
        // Embedded DuckDB admits one process at a time.
        if (c.name === 'duckdb') await connection.close();
      }
      try {
        for (const format of ['pretty', 'json']) {
          const run = await runCli(['run', '--log-format', format], { cwd: root, env: c.env });
          expect(run.code, run.stderr).toBe(1);
          const results = readFileSync(join(root, 'target', 'tideline_run_results.json'), 'utf8');
          const dbtResults = readFileSync(join(root, 'target', 'run_results.json'), 'utf8');
          for (const text of [run.stdout, run.stderr, results, dbtResults]) {
            expect(text).not.toContain(EMAIL);
            expect(text).not.toContain('jane.doe');
          }
          expect(run.stderr).toContain('failed to build contact_numbers');
          const [result] = (JSON.parse(results) as { results: { model: string; error: string }[] }).results;
          expect(result!.model).toBe('contact_numbers');
          for (const pattern of c.says) {
            expect(result!.error).toMatch(pattern);
            expect(run.stderr).toMatch(pattern);
          }
        }
      } finally {
        if (c.name === 'postgres') {
          for (const s of [schema, `${schema}__tl_work`, raw]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(s)} CASCADE`);
          await connection.close();
        }
      }
    });
  }
});
