import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODEL_KINDS } from '../models/index.js';
import { runCli, tempProject } from './support/cli.js';

const SOURCES = `sources:
  - name: raw_customers
    file: data/customers.csv
`;
const CSV = 'id,email,created_at\n1,a@example.com,2024-01-01 10:00:00\n';
const MODEL = `models:
  - name: customers
    kind: staging
    from: raw_customers
    columns:
      customer_id: { from: id, type: string }
      email: { from: email, clean: [trim, lower] }
`;

function project(files: Record<string, string>): string {
  return tempProject({ 'tideline.yml': 'name: shop\n', 'data/customers.csv': CSV, 'models/sources.yml': SOURCES, 'models/customers.yml': MODEL, ...files });
}

async function validate(root: string, env: Record<string, string | undefined> = {}) {
  const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: root, env });
  return { ...result, lines: result.stderr.split('\n').filter((l) => l.startsWith('error: ')) };
}

/** Every kind of broken YAML exits 2 and names file:line:col, the field and what was expected. */
describe('configuration errors are located and exit 2', () => {
  it('a valid project passes (the baseline the broken cases are made from)', async () => {
    const result = await validate(project({}));
    expect(result.code, result.stderr).toBe(0);
    expect(result.lines).toEqual([]);
  });

  it('bad indentation', async () => {
    const result = await validate(project({ 'models/customers.yml': MODEL.replace('    from: raw_customers', '   from: raw_customers') }));
    expect(result.code).toBe(2);
    // The YAML parser words it; what matters is that it is located on the mis-indented line.
    expect(result.lines.length).toBeGreaterThan(0);
    for (const line of result.lines) expect(line).toMatch(/^error: models\/customers\.yml:4:\d+  \S/);
  });

  it('unknown key, with a suggestion', async () => {
    const result = await validate(project({ 'models/customers.yml': MODEL.replace('    columns:', '    colums:') }));
    expect(result.code).toBe(2);
    expect(result.lines).toEqual(['error: models/customers.yml:5:5  models[0].colums  unknown key "colums" (did you mean "columns"?)']);
  });

  it('wrong type', async () => {
    const result = await validate(project({ 'tideline.yml': 'name: shop\ntargets:\n  pg:\n    type: postgres\n    port: fifty\n' }));
    expect(result.code).toBe(2);
    expect(result.lines).toEqual(['error: tideline.yml:5:11  targets.pg.port  expected a number, got "fifty"']);
  });

  it('unknown model reference', async () => {
    const result = await validate(project({ 'models/customers.yml': MODEL.replace('from: raw_customers', 'from: raw_customer') }));
    expect(result.code).toBe(2);
    expect(result.lines).toEqual(['error: models/customers.yml:4:11  models[0].from  unknown source or model "raw_customer" (did you mean "raw_customers"?)']);
  });

  it('missing environment variable', async () => {
    const root = project({ 'tideline.yml': 'name: shop\ntargets:\n  pg:\n    type: postgres\n    url: ${env:SHOP_PG_URL}\n' });
    const result = await validate(root, { SHOP_PG_URL: undefined });
    expect(result.code).toBe(2);
    expect(result.lines).toEqual([
      'error: tideline.yml:5:10  targets.pg.url  environment variable SHOP_PG_URL is not set (referenced as ${env:SHOP_PG_URL}); set it, add it to .env, or give a default: ${env:SHOP_PG_URL:-value}',
    ]);
  });

  it('a malformed PostgreSQL URL is located at its value, written or from the environment, and never printed', async () => {
    const URL_PROBLEM = 'not a connection URL the driver can read: the port must be a number, and the user and password must percent-encode their special characters (%40 for @, %3A for :, %2F for /, %25 for %)';
    const sources = { 'models/sources.yml': 'sources:\n  - name: raw_customers\n    table: raw.customers\n', 'models/customers.yml': MODEL };
    const written = await validate(project({ 'tideline.yml': 'name: shop\ntargets:\n  pg:\n    type: postgres\n    url: postgres://user:pa ss@host:xx/db\ntarget: pg\n', ...sources }));
    expect(written.code, written.stderr).toBe(2);
    expect(written.lines).toEqual([`error: tideline.yml:5:10  targets.pg.url  ${URL_PROBLEM}`]);
    const fromEnv = await validate(project({ 'tideline.yml': 'name: shop\ntargets:\n  pg:\n    type: postgres\n    url: ${env:SHOP_PG_URL}\ntarget: pg\n', ...sources }), { SHOP_PG_URL: 'postgres://ann:s3cr3t-pw@db.internal:54x2/shop' });
    expect(fromEnv.code, fromEnv.stderr).toBe(2);
    expect(fromEnv.lines).toEqual([`error: tideline.yml:5:10  targets.pg.url  ${URL_PROBLEM}`]);
    for (const result of [written, fromEnv]) {
      for (const leak of ['pa ss', 's3cr3t-pw', 'Invalid URL']) expect(result.stderr + result.stdout).not.toContain(leak);
    }
  });

  it('a .env file beside tideline.yml provides the variable', async () => {
    const root = project({ 'tideline.yml': 'name: shop\nschema: ${env:SHOP_SCHEMA}\n', '.env': 'SHOP_SCHEMA=marts\n' });
    const result = await validate(root, { SHOP_SCHEMA: undefined });
    expect(result.code, result.stderr).toBe(0);
  });

  it('unknown source column, found by introspecting the source', async () => {
    const result = await validate(project({ 'models/customers.yml': MODEL.replace('from: email', 'from: emial') }));
    expect(result.code).toBe(2);
    expect(result.lines).toEqual(['error: models/customers.yml:7:22  models[0].columns.email.from  unknown column "emial" in source "raw_customers" (did you mean "email"?)']);
  });

  it('sql models: unknown references, variables and placeholders', async () => {
    const result = await validate(
      project({
        'tideline.yml': 'name: shop\nvars:\n  country: FR\n',
        'models/report.yml': `models:
  - name: report
    kind: sql
    sql: SELECT * FROM {{ ref('custmers') }}
`,
      }),
    );
    expect(result.code).toBe(2);
    expect(result.lines).toEqual(['error: models/report.yml:4:10  models[0].sql  unknown source or model "custmers" (did you mean "customers"?)']);

    // Once references resolve, the model's own checks run: every placeholder problem at once.
    const checked = await validate(
      project({
        'tideline.yml': 'name: shop\nvars:\n  country: FR\n',
        'models/report.yml': `models:
  - name: report
    kind: sql
    sql: SELECT * FROM {{ ref('customers') }} WHERE c = {{ var('contry') }} AND {{ oops }}
`,
      }),
    );
    expect(checked.code).toBe(2);
    expect(checked.lines).toEqual([
      'error: models/report.yml:4:10  models[0].sql  cannot read {{ oops }}: write {{ ref(\'model_or_source\') }} or {{ var(\'name\') }}',
      "error: models/report.yml:4:10  models[0].sql  {{ var('contry') }}: no variable \"contry\" in tideline.yml vars (did you mean \"country\"?)",
    ]);
  });

  it('reports every problem at once, across files, in file order', async () => {
    const result = await validate(
      project({
        'tideline.yml': 'name: shop\nschema: 42\n',
        'models/customers.yml': MODEL.replace('    columns:', '    colums:'),
        'models/more.yml':
          'models:\n  - name: a\n    kind: staging\n    from: b\n  - name: b\n    kind: staging\n    from: a\n  - name: c\n    kind: stagin\n  - name: d\n    kind: staging\n    from: nowhere\n',
      }),
    );
    expect(result.code).toBe(2);
    expect(result.lines).toEqual([
      'error: models/customers.yml:5:5  models[0].colums  unknown key "colums" (did you mean "columns"?)',
      'error: models/more.yml:7:11  models[1].from  models read each other in a cycle: a → b → a',
      `error: models/more.yml:9:11  models[2].kind  unknown model kind "stagin" (did you mean "staging"?); kinds: ${MODEL_KINDS.map((k) => k.kind).join(', ')}`,
      'error: models/more.yml:12:11  models[3].from  unknown source or model "nowhere"',
      'error: tideline.yml:2:9  schema  expected a string, got number 42',
    ]);
  });

  it('changes nothing: a broken project run creates no warehouse and no results', async () => {
    const root = project({ 'models/customers.yml': MODEL.replace('from: raw_customers', 'from: raw_customer') });
    const result = await runCli(['run'], { cwd: root });
    expect(result.code).toBe(2);
    expect(existsSync(join(root, '.tideline', 'warehouse.duckdb'))).toBe(false);
    expect(existsSync(join(root, 'target', 'run_results.json'))).toBe(false);
  });

  it('usage errors exit 2 too', async () => {
    const root = project({});
    expect((await runCli(['run', '--no-such-flag'], { cwd: root })).code).toBe(2);
    expect((await runCli(['frobnicate'], { cwd: root })).code).toBe(2);
    const selected = await runCli(['run', '--select', 'custmers', '--log-format', 'pretty'], { cwd: root });
    expect(selected.code).toBe(2);
    expect(selected.stderr).toContain('--select: no model or sync matches "custmers" (did you mean "customers"?)');
  });

  it('outside a project, says how to make one', async () => {
    const result = await runCli(['validate', '--log-format', 'pretty'], { cwd: tempProject({}) });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no tideline\.yml in .* or any folder above it; create one with `tideline init`/);
  });
});
