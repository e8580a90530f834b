import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Sql, sql } from '../src/dialects/sql.js';
import { openTarget } from '../src/warehouses/registry.js';
import { runCli, tempProject } from './support/cli.js';
import { pgUrl, uniqueSchema } from './support/engines.js';

interface RunResults {
  status: string;
  target: string;
  results: { model: string; status: string; rows: number | null; sql_hash: string; error: string | null }[];
}

// These tests run the CLI from its TypeScript sources through tsx (what a clone runs before `npm run build`, or after
// editing a source), rather than the bundle the rest of the suite uses.
delete process.env['TIDELINE_CLI_BUNDLE'];
process.env['TIDELINE_CLI'] = 'tsx';

const results = (root: string): RunResults => JSON.parse(readFileSync(join(root, 'target', 'tideline_run_results.json'), 'utf8')) as RunResults;

async function queryDuckDb(root: string, text: string) {
  const connection = await openTarget({ type: 'duckdb', path: '.tideline/warehouse.duckdb' }, { root });
  try {
    return await connection.query(Sql.trusted(text));
  } finally {
    await connection.close();
  }
}

describe('tideline CLI, end to end on embedded DuckDB', () => {
  it('lists its commands', async () => {
    const help = await runCli(['--help'], { cwd: tempProject({}) });
    expect(help.code).toBe(0);
    for (const command of ['init', 'validate', 'compile', 'run']) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('init scaffolds a project that validates, compiles and runs as it is', async () => {
    const root = join(tempProject({}), 'my-shop');
    expect((await runCli(['init', root], { cwd: tempProject({}) })).code).toBe(0);
    expect(readFileSync(join(root, 'tideline.yml'), 'utf8')).toContain('name: my_shop');
    expect((await runCli(['init', root], { cwd: root })).code).toBe(2);

    const validate = await runCli(['validate'], { cwd: root });
    expect(validate.code, validate.stderr).toBe(0);

    const compile = await runCli(['compile', '--print'], { cwd: root });
    expect(compile.code).toBe(0);
    expect(compile.stdout).toContain('CREATE TABLE "tideline"."customers__tl_build" AS');
    expect(readFileSync(join(root, 'target/compiled/dev/customers.sql'), 'utf8')).toBe(compile.stdout.trimEnd() + '\n');

    const run = await runCli(['run'], { cwd: root });
    expect(run.code, run.stderr).toBe(0);
    const first = results(root);
    expect(first.status).toBe('success');
    expect(first.results).toMatchObject([{ model: 'customers', status: 'success', rows: 3, error: null }]);
    // The sample has two accounts for alice (case and spaces differ), one without an e-mail.
    expect(await queryDuckDb(root, 'SELECT customer_id, email FROM tideline.customers ORDER BY email')).toEqual([
      { customer_id: '2', email: 'alice@example.com' },
      { customer_id: '3', email: 'bob@example.org' },
      { customer_id: '5', email: 'dan@example.net' },
    ]);
    const again = await runCli(['run'], { cwd: root });
    expect(again.code).toBe(0);
    expect(results(root).results[0]!.sql_hash).toBe(first.results[0]!.sql_hash);
  });

  it('logs JSON lines when not on a terminal, with level names', async () => {
    const root = join(tempProject({}), 'p');
    await runCli(['init', root], { cwd: root.replace(/\/p$/, '') });
    const run = await runCli(['run'], { cwd: root });
    const lines = run.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(lines.map((l) => l.level)).toEqual(['info', 'info']);
    expect(lines[1]!.msg).toBe('1 built, 0 failed, 0 skipped');
  });

  it('a failing model keeps its previous table, skips what reads it, builds the rest, and exits 1', async () => {
    const root = tempProject({
      'tideline.yml': 'name: shop\n',
      'data/people.csv': 'id,score\n1,10\n2,20\n',
      'models/all.yml': `sources:
  - name: people_raw
    file: data/people.csv
models:
  - name: people
    kind: staging
    from: people_raw
    columns:
      id: id
      score: { sql: "score * 2", type: integer }
  - name: top_people
    kind: staging
    from: people
    where:
      - { column: score, gt: 25 }
  - name: independent
    kind: staging
    from: people_raw
`,
    });
    expect((await runCli(['run'], { cwd: root })).code).toBe(0);
    expect(await queryDuckDb(root, 'SELECT id, score FROM tideline.people ORDER BY id')).toEqual([
      { id: 1, score: 20 },
      { id: 2, score: 40 },
    ]);

    const file = join(root, 'models/all.yml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"score * 2"', `"CAST('not a number' AS INTEGER)"`));
    const failed = await runCli(['run'], { cwd: root });
    expect(failed.code).toBe(1);
    const run = results(root);
    expect(run.status).toBe('partial');
    expect(run.results.map((r) => [r.model, r.status])).toEqual([
      ['people', 'error'],
      ['top_people', 'skipped'],
      ['independent', 'success'],
    ]);
    expect(run.results[0]!.error).toMatch(/not a number/i);
    expect(run.results[1]!.error).toBe('input failed: people');
    // The visible table is the previous build, and no work table is left behind.
    expect(await queryDuckDb(root, 'SELECT id, score FROM tideline.people ORDER BY id')).toEqual([
      { id: 1, score: 20 },
      { id: 2, score: 40 },
    ]);
    expect(await queryDuckDb(root, "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%__tl_%'")).toEqual([]);
  });

  it('--select builds only what is selected, with upstream models on +', async () => {
    const root = tempProject({
      'tideline.yml': 'name: shop\n',
      'data/x.csv': 'a\n1\n',
      'models/m.yml': `sources: [{ name: raw, file: data/x.csv }]
models:
  - { name: one, kind: staging, from: raw, tags: [nightly] }
  - { name: two, kind: staging, from: one }
  - { name: three, kind: staging, from: raw }
`,
    });
    await runCli(['run', '--select', '+two'], { cwd: root });
    expect(results(root).results.map((r) => r.model)).toEqual(['one', 'two']);
    await runCli(['run', '--select', 'tag:nightly+'], { cwd: root });
    expect(results(root).results.map((r) => r.model)).toEqual(['one', 'two']);
    await runCli(['run', '--select', 'three'], { cwd: root });
    expect(results(root).results.map((r) => r.model)).toEqual(['three']);
  });
});

describe.skipIf(!pgUrl())('tideline CLI on a PostgreSQL target', () => {
  it('builds the models in PostgreSQL, from a table source, with the connection from an environment variable', async () => {
    const url = pgUrl()!;
    const schema = uniqueSchema('e2e');
    const raw = uniqueSchema('raw');
    const connection = await openTarget({ type: 'postgres', url }, { root: '.' });
    const d = connection.dialect;
    await connection.execute(d.createSchema(raw));
    await connection.execute(sql`CREATE TABLE ${d.table({ schema: raw, name: 'people' })} AS SELECT 1 AS id, ' Ann@X.org ' AS email UNION ALL SELECT 2, NULL`);
    const root = tempProject({
      'tideline.yml': `name: shop\ntargets:\n  pg:\n    type: postgres\n    url: \${env:SHOP_PG_URL}\n    schema: ${schema}\n`,
      'models/m.yml': `sources: [{ name: people_raw, table: ${raw}.people }]
models:
  - name: people
    kind: staging
    from: people_raw
    columns:
      id: id
      email: { from: email, clean: [trim, lower] }
`,
    });
    try {
      const run = await runCli(['run'], { cwd: root, env: { SHOP_PG_URL: url } });
      expect(run.code, run.stderr).toBe(0);
      expect(results(root).target).toBe('pg');
      expect(await connection.query(sql`SELECT id, email FROM ${d.table({ schema, name: 'people' })} ORDER BY id`)).toEqual([
        { id: 1, email: 'ann@x.org' },
        { id: 2, email: null },
      ]);
    } finally {
      for (const s of [schema, raw]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(s)} CASCADE`);
      await connection.close();
    }
  });

  it('never prints the password, even when the connection fails', async () => {
    const url = new URL(pgUrl()!);
    url.password = 'Sup3r-Secret-Passw0rd';
    const root = tempProject({ 'tideline.yml': 'name: shop\ntargets:\n  pg:\n    type: postgres\n    url: ${env:SHOP_PG_URL}\n' });
    for (const format of ['json', 'pretty']) {
      const run = await runCli(['run', '--log-format', format, '--log-level', 'debug'], { cwd: root, env: { SHOP_PG_URL: url.toString() } });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/password authentication failed/);
      expect(run.stderr + run.stdout).not.toContain('Sup3r-Secret-Passw0rd');
    }
  });
});
