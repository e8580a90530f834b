import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { Dialect } from '../src/dialects/dialect.js';
import { DIALECTS } from '../src/dialects/registry.js';
import { Sql, sql } from '../src/dialects/sql.js';
import { parse as parseYaml } from 'yaml';
import { dbtProjectsSchema, dbtRefSchema, manifestParses } from '../src/project/dbt.js';
import { loadProject } from '../src/project/loader.js';
import type { Connection } from '../src/warehouses/connection.js';
import { openTarget } from '../src/warehouses/registry.js';
import { MANIFEST_V12_SUBSET } from './fixtures/dbt-artifact-schemas.js';
import { runCli, tempProject } from './support/cli.js';
import { pgUrl, uniqueSchema } from './support/engines.js';
import { tidelineInProcess } from './support/in-process.js';
import { problemsOf } from './support/problems.js';

/**
 * dbt projects as input (README "Using dbt models as sources"): a source names a model of a dbt project, read from its
 * target/manifest.json. The dbt project is test/fixtures/dbt-project (its manifest: see the README there); its tables
 * are built here by running its seeds and models' SQL, refs resolved as dbt would, so that the oracle is dbt's own
 * relations: what Tideline builds from the model is compared with queries on them.
 */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const FIXTURE = join(import.meta.dirname, 'fixtures/dbt-project');
const MANIFEST = readFileSync(join(FIXTURE, 'target/manifest.json'), 'utf8');
const TIDELINE_YML = 'name: crm\ndbt:\n  manifest: analytics/target/manifest.json\n';

/** Problems of a project with the fixture's manifest at analytics/target/manifest.json and `models/m.yml` = yaml. */
const problems = (yaml: string, config = TIDELINE_YML, manifest = MANIFEST) =>
  problemsOf({ 'tideline.yml': config, 'analytics/target/manifest.json': manifest, 'models/m.yml': yaml });

async function load(yaml: string, config = TIDELINE_YML, manifest = MANIFEST) {
  const root = tempProject({ 'tideline.yml': config, 'analytics/target/manifest.json': manifest, 'models/m.yml': yaml });
  return loadProject({ projectDir: root, env: {} });
}

/** The fixture's manifest, edited. */
function manifestWith(edit: (manifest: Json) => void): string {
  const manifest = JSON.parse(MANIFEST) as Json;
  edit(manifest);
  return JSON.stringify(manifest, null, 2);
}

/** A copy of the fixture's `customers` model as `NAME` of dbt package `pkg` (an installed package's model). */
function packageModel(manifest: Json, pkg: string, name: string): void {
  const node = structuredClone(manifest['nodes']['model.jaffle.customers']) as Json;
  Object.assign(node, { unique_id: `model.${pkg}.${name}`, package_name: pkg, name, alias: name, schema: pkg, relation_name: `"jaffle"."${pkg}"."${name}"` });
  manifest['nodes'][node['unique_id']] = node;
}

describe('a source naming a dbt model', () => {
  it('reads its relation, description and columns from the manifest: models, versions, seeds, dbt sources', async () => {
    const project = await load(`sources:
  - { name: dbt_customers, dbt: customers }
  - { name: orders_latest, dbt: orders }
  - { name: orders_v1, dbt: { model: orders, version: 1 } }
  - { name: raw_customers, dbt: raw_customers, description: mine wins }
  - { name: shop_orders, dbt: 'source:shop.raw_orders' }
`);
    const customers = project.sources.get('dbt_customers')!;
    expect(customers.table).toEqual({ catalog: 'jaffle', schema: 'main', name: 'customers', exact: true });
    expect(customers.description).toBe('One row per customer, with their completed orders counted.');
    expect(customers.dbt).toMatchObject({ uniqueId: 'model.jaffle.customers', project: 'jaffle', manifest: 'analytics/target/manifest.json', relationName: '"jaffle"."main"."customers"' });
    expect(customers.dbt!.columns.map((c) => [c.name, c.description])).toEqual([
      ['customer_id', "The shop's customer id."],
      ['email', 'E-mail address, lower-cased.'],
      ['order_count', 'Completed orders.'],
    ]);
    // ref('orders') is the latest version; a version asked for is that one.
    expect(project.sources.get('orders_latest')!.table?.name).toBe('orders_v2');
    expect(project.sources.get('orders_v1')!.table?.name).toBe('orders_v1');
    expect(project.sources.get('orders_v1')!.dbt!.uniqueId).toBe('model.jaffle.orders.v1');
    expect(project.sources.get('raw_customers')).toMatchObject({ description: 'mine wins', dbt: { resourceType: 'seed' } });
    expect(project.sources.get('shop_orders')).toMatchObject({ table: { schema: 'main', name: 'raw_orders' }, dbt: { uniqueId: 'source.jaffle.shop.raw_orders' } });
  });

  it('maps the database and schemas when tideline.yml says so; names a project among several', async () => {
    const project = await load(
      `sources:\n  - { name: c, dbt: { model: customers, project: analytics } }\n`,
      'name: crm\ndbt:\n  analytics:\n    manifest: analytics/target/manifest.json\n    database: null\n    schemas: { main: dbt_prod }\n  other:\n    manifest: analytics/target/manifest.json\n',
    );
    expect(project.sources.get('c')!.table).toEqual({ catalog: undefined, schema: 'dbt_prod', name: 'customers', exact: true });
    // Two projects with the name: `project:` is needed, by the name in tideline.yml or the manifest's own.
    const two = 'name: crm\ndbt:\n  analytics: { manifest: analytics/target/manifest.json }\n  copy: { manifest: analytics/target/manifest.json }\n';
    expect(await problems('sources:\n  - { name: c, dbt: customers }\n', two)).toEqual([
      'models/m.yml:2:21  sources[0].dbt  "customers" is in several dbt projects (analytics, copy): add `project:`',
    ]);
    expect(await problems('sources:\n  - { name: c, dbt: { model: customers, project: jaffle } }\n', two)).toEqual([
      'models/m.yml:2:30  sources[0].dbt.model  "customers" is in several dbt projects (analytics, copy): "jaffle" names each of them: give `project:` their name in tideline.yml\'s `dbt:`',
    ]);
  });

  it('on Snowflake, reads a name as dbt-snowflake wrote it in relation_name: unquoted upper-cased, quoted exact (lower-case too)', async () => {
    /** The customers model on Snowflake, dbt having written its relation as `relation` (`node` edits the node more). */
    const snowflake = (relation: string, node: (n: Json) => void = () => {}) =>
      manifestWith((m) => {
        m['metadata']['adapter_type'] = 'snowflake';
        m['nodes']['model.jaffle.customers']['relation_name'] = relation;
        node(m['nodes']['model.jaffle.customers']);
      });
    const sf = `${TIDELINE_YML}targets:\n  sf: { type: snowflake, account: a, user: u, password: p, warehouse: w, database: d }\n`;
    const read = async (manifest: string) => {
      const project = await load('sources:\n  - { name: c, dbt: customers }\n', sf, manifest);
      const table = project.sources.get('c')!.table!;
      return { table, sql: project.target.dialect.table(table).text };
    };
    // dbt-snowflake's default: nothing quoted, so Snowflake upper-cases every part.
    expect(await read(snowflake('jaffle.main.customers'))).toEqual({ table: { catalog: 'JAFFLE', schema: 'MAIN', name: 'CUSTOMERS', exact: true }, sql: '"JAFFLE"."MAIN"."CUSTOMERS"' });
    // `quoting: {identifier: true}` on the model, alias in lower case: dbt built "customers", which is what is read
    // (Snowflake's id() would upper-case a simple lower-case name from YAML).
    const lower = snowflake('jaffle.main."customers"', (n) => (n['config']['quoting'] = { identifier: true }));
    expect((await read(lower)).sql).toBe('"JAFFLE"."MAIN"."customers"');
    const mixed = snowflake('jaffle.main."Customers"', (n) => Object.assign(n, { alias: 'Customers', config: { ...n['config'], quoting: { identifier: true } } }));
    expect((await read(mixed)).sql).toBe('"JAFFLE"."MAIN"."Customers"');
    // dbt 1.6 to 1.9 write no project-level quoting in the manifest (metadata.quoting is dbt 1.10's): the node's config
    // says nothing, yet relation_name shows what dbt emitted for dbt_project.yml's `quoting: {identifier: true}`.
    expect((await read(snowflake('jaffle.main."customers"'))).sql).toBe('"JAFFLE"."MAIN"."customers"');
    // A schema mapped in tideline.yml is a YAML name like any other.
    const mapped = await load('sources:\n  - { name: c, dbt: customers }\n', sf.replace('manifest: analytics/target/manifest.json', 'manifest: analytics/target/manifest.json\n  schemas: { main: analytics }'), snowflake('jaffle.main.customers'));
    expect(mapped.target.dialect.table(mapped.sources.get('c')!.table!).text).toBe('"JAFFLE"."ANALYTICS"."CUSTOMERS"');
  });

  it('tells a model of one name in two dbt packages apart by `package:`, as dbt\'s two-argument ref', async () => {
    const manifest = manifestWith((m) => {
      packageModel(m, 'dates_a', 'dim_dates');
      packageModel(m, 'dates_b', 'dim_dates');
      packageModel(m, 'dates_b', 'customers');
    });
    const project = await load('sources:\n  - { name: b, dbt: { model: dim_dates, package: dates_b } }\n  - { name: c, dbt: customers }\n  - { name: d, dbt: { model: customers, package: dates_b } }\n', TIDELINE_YML, manifest);
    expect(project.sources.get('b')!.table).toMatchObject({ schema: 'dates_b', name: 'dim_dates' });
    // The root project's model before a package's, as ref('customers') picks; ref('dates_b', 'customers') the package's.
    expect(project.sources.get('c')!.dbt!.uniqueId).toBe('model.jaffle.customers');
    expect(project.sources.get('d')!.dbt!.uniqueId).toBe('model.dates_b.customers');
    expect(await problems('sources:\n  - { name: a, dbt: dim_dates }\n  - { name: b, dbt: { model: dim_dates, package: dates_c } }\n', TIDELINE_YML, manifest)).toEqual([
      "models/m.yml:2:21  sources[0].dbt  \"dim_dates\" names several dbt nodes (model.dates_a.dim_dates, model.dates_b.dim_dates): give `package:`, one of dates_a, dates_b (as dbt's `ref('package', 'model')`)",
      'models/m.yml:3:50  sources[1].dbt.package  no dbt package "dates_c" has a model, seed or snapshot "dim_dates" (did you mean "dates_a"?); packages that do: dates_a, dates_b',
    ]);
  });

  it('parses a manifest once for every source naming it, and again only when the file changes', async () => {
    const root = tempProject({ 'tideline.yml': TIDELINE_YML, 'analytics/target/manifest.json': MANIFEST, 'models/m.yml': 'sources:\n  - { name: a, dbt: customers }\n  - { name: b, dbt: orders }\n' });
    const before = manifestParses;
    await loadProject({ projectDir: root, env: {} });
    await loadProject({ projectDir: root, env: {} });
    expect(manifestParses - before).toBe(1);
    writeFileSync(join(root, 'analytics/target/manifest.json'), MANIFEST.replace('One row per customer', 'Each customer'));
    expect((await loadProject({ projectDir: root, env: {} })).sources.get('a')!.description).toMatch(/^Each customer/);
    expect(manifestParses - before).toBe(2);
  });

  it('reports located problems: unknown names with suggestions, ephemeral, disabled, versions, projects', async () => {
    expect(
      await problems(`sources:
  - name: a
    dbt: customrs
  - { name: b, dbt: customer_ids }
  - { name: c, dbt: old_customers }
  - { name: d, dbt: { model: orders, version: 3 } }
  - { name: e, dbt: 'source:shop.raw_order' }
  - { name: f, dbt: { model: customers, project: analytic } }
  - { name: g, dbt: customers, table: main.customers }
  - { name: h, dbt: { source: shop } }
  - { name: i, dbt: raw_payments }
`,
        // raw_payments: a table of the dbt source "shop" only.
        TIDELINE_YML,
        MANIFEST.replace('"source.jaffle.shop.raw_orders": {', '"source.jaffle.shop.raw_payments": { "source_name": "shop", "name": "raw_payments", "resource_type": "source", "unique_id": "source.jaffle.shop.raw_payments" },\n    "source.jaffle.shop.raw_orders": {'),
      ),
    ).toEqual([
      'models/m.yml:3:10  sources[0].dbt  no dbt model, seed or snapshot "customrs" in analytics/target/manifest.json (did you mean "customers"?)',
      'models/m.yml:4:21  sources[1].dbt  dbt model "customer_ids" (model.jaffle.customer_ids) is ephemeral: dbt inlines it into the models that ref it and builds no table; read a model materialized as a table, view or incremental',
      'models/m.yml:5:21  sources[2].dbt  dbt model "old_customers" (model.jaffle.old_customers) is disabled in its dbt project: dbt builds no table for it; enable it there, or read another',
      'models/m.yml:6:47  sources[3].dbt.version  dbt model "orders" has no version 3; versions: 1, 2',
      'models/m.yml:7:21  sources[4].dbt  no dbt source table "shop.raw_order" in analytics/target/manifest.json (did you mean "shop.raw_orders"?)',
      'models/m.yml:8:50  sources[5].dbt.project  unknown dbt project "analytic"; dbt projects: jaffle',
      'models/m.yml:9:5  sources[6]  a source names either a warehouse `table`, a dbt model (`dbt`) or a local `file`, exactly one of them',
      'models/m.yml:10:31  sources[7].dbt.source  a dbt source table: SOURCE.TABLE',
      'models/m.yml:11:21  sources[8].dbt  no dbt model, seed or snapshot "raw_payments" in analytics/target/manifest.json (a dbt source has a table "raw_payments": write `dbt: source:shop.raw_payments`)',
    ]);
  });

  it('reports a missing, unreadable or unsupported manifest at the source naming it, with where tideline.yml declares it', async () => {
    const source = 'sources:\n  - { name: a, dbt: customers }\n';
    const missing = await problems(source, 'name: crm\ndbt: { manifest: "${env:DBT_DIR:-../nowhere}/manifest.json" }\n');
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatch(/^models\/m\.yml:2:21  sources\[0\]\.dbt  dbt manifest \.\.\/nowhere\/manifest\.json \(tideline\.yml:2:18\) does not exist \(resolved to \/.+\/nowhere\/manifest\.json; `dbt parse` writes it\)$/);
    // Not valid JSON: where, never the manifest's text (V8's messages quote it).
    expect(await problems(source, TIDELINE_YML, '{"metadata": ')).toEqual([
      'models/m.yml:2:21  sources[0].dbt  dbt manifest analytics/target/manifest.json (tideline.yml:3:13) is not valid JSON (it ends early: was it written completely?)',
    ]);
    expect(await problems(source, TIDELINE_YML, '{\n  "metadata": {"token": "hunter2" "x": 1}}')).toEqual([
      'models/m.yml:2:21  sources[0].dbt  dbt manifest analytics/target/manifest.json (tideline.yml:3:13) is not valid JSON (line 2, column 35)',
    ]);
    expect((await problems(source, TIDELINE_YML, '{"metadata": {"token": "hunter2", }}'))[0]).not.toContain('hunter2');
    expect(await problems(source, 'name: crm\ndbt: { manifest: analytics/target }\n')).toEqual([
      'models/m.yml:2:21  sources[0].dbt  dbt manifest analytics/target (tideline.yml:2:18) is a folder: name the manifest.json file in it (dbt writes target/manifest.json)',
    ]);
    expect(await problems(source, TIDELINE_YML, '{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"}, "results": []}')).toEqual([
      'models/m.yml:2:21  sources[0].dbt  dbt manifest analytics/target/manifest.json (tideline.yml:3:13) is not a dbt manifest (no metadata.dbt_schema_version naming a manifest schema, or no nodes and sources)',
    ]);
    const old = MANIFEST.replace('manifest/v12.json', 'manifest/v7.json').replace('"dbt_version": "1.9.4"', '"dbt_version": "1.3.2"');
    expect(await problems(source, TIDELINE_YML, old)).toEqual([
      'models/m.yml:2:21  sources[0].dbt  dbt manifest analytics/target/manifest.json (tideline.yml:3:13) is a manifest v7 (dbt 1.3.2); Tideline reads manifest v10 to v12 (dbt 1.6 and later): run `dbt parse` with dbt 1.6 or later',
    ]);
    expect(await problems(source, 'name: crm\n')).toEqual([
      'models/m.yml:2:21  sources[0].dbt  no dbt project is declared: add `dbt: { manifest: path/to/target/manifest.json }` to tideline.yml',
    ]);
    // `version` and `package` are a model's: with `source` they are refused where they stand.
    expect(await problems("sources:\n  - { name: a, dbt: { source: shop.raw_orders, version: 7 } }\n")).toEqual([
      'models/m.yml:2:57  sources[0].dbt.version  `version` applies to a dbt model (`model:`), not to a dbt `source`',
    ]);
  });

  it('reads no manifest that no source names: validate --offline, status and forget run without it', async () => {
    const root = tempProject({
      'tideline.yml': `name: crm\ndbt: { manifest: analytics/target/manifest.json }\ntargets:\n  dev: { type: duckdb, path: dev.duckdb }\n`,
      'models/m.yml': 'sources:\n  - { name: orders, file: orders.csv }\n',
      'orders.csv': 'id,email\n1,ann@example.org\n',
    });
    const before = manifestParses;
    const project = await loadProject({ projectDir: root, env: {} });
    expect([...project.sources.keys()]).toEqual(['orders']);
    expect(project.warnings).toEqual([]);
    for (const args of [['validate', '--offline'], ['status'], ['forget', '--email', 'ann@example.org', '--plan']]) {
      const result = await tidelineInProcess(['--project', root, ...args]);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stderr).not.toContain('manifest');
    }
    expect(manifestParses).toBe(before);
  });
});

describe('README "Using dbt models as sources"', () => {
  it('has YAML examples that parse and that the schemas accept', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Using dbt models as sources'), readme.indexOf('\n### ', readme.indexOf('### Using dbt models as sources') + 1));
    const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    let refs = 0;
    for (const block of blocks) {
      const doc = parseYaml(block) as { dbt?: unknown; sources?: { dbt?: unknown }[] };
      if (doc.dbt !== undefined) expect(dbtProjectsSchema.safeParse(doc.dbt).success, block).toBe(true);
      for (const source of doc.sources ?? []) {
        expect(dbtRefSchema.safeParse(source.dbt).success, JSON.stringify(source)).toBe(true);
        refs++;
      }
    }
    expect(refs).toBeGreaterThan(0);
  });
});

/** The fixture dbt project's seeds and models (its SQL, refs and sources resolved), built in `schema` as dbt would. */
async function buildDbtTables(connection: Connection, d: Dialect, catalog: string | undefined, schema: string): Promise<void> {
  const table = (name: string) => d.table({ catalog, schema, name });
  await connection.execute(sql`CREATE SCHEMA IF NOT EXISTS ${d.id(schema)}`);
  const seeds: Record<string, string> = { raw_customers: 'id INTEGER, first_name VARCHAR, email VARCHAR', raw_orders: 'id INTEGER, customer_id INTEGER, order_date DATE, status VARCHAR, amount DECIMAL(10, 2)' };
  for (const [name, columns] of Object.entries(seeds)) {
    await connection.execute(sql`CREATE TABLE ${table(name)} (${Sql.trusted(columns)})`);
    const [, ...lines] = readFileSync(join(FIXTURE, 'seeds', `${name}.csv`), 'utf8').trim().split('\n');
    const types = columns.split(', ').map((c) => c.split(' ')[1]!);
    for (const line of lines) {
      const values = line.split(',').map((v, i) => (types[i] === 'VARCHAR' ? d.string(v) : types[i] === 'DATE' ? sql`CAST(${d.string(v)} AS DATE)` : Sql.trusted(String(Number(v)))));
      await connection.execute(sql`INSERT INTO ${table(name)} VALUES (${Sql.trusted(values.map((v) => v.text).join(', '))})`);
    }
  }
  const models: [string, string, 'VIEW' | 'TABLE'][] = [
    ['stg_customers', 'staging/stg_customers.sql', 'VIEW'],
    ['stg_orders', 'staging/stg_orders.sql', 'VIEW'],
    ['orders_v1', 'orders_v1.sql', 'VIEW'],
    ['orders_v2', 'orders_v2.sql', 'VIEW'],
    ['customers', 'customers.sql', 'TABLE'],
  ];
  for (const [name, file, kind] of models) {
    const code = readFileSync(join(FIXTURE, 'models', file), 'utf8')
      .replace(/\{\{\s*config\([^)]*\)\s*\}\}/g, '')
      .replace(/\{\{\s*ref\('(\w+)'\)\s*\}\}/g, (_, ref: string) => table(ref).text)
      .replace(/\{\{\s*source\('shop', '(\w+)'\)\s*\}\}/g, (_, t: string) => table(t).text);
    await connection.execute(sql`CREATE ${Sql.trusted(kind)} ${table(name)} AS ${Sql.trusted(code)}`);
  }
}

/** A Tideline project on top of the dbt project: the customers kind over dbt's `orders`, a staging model over `customers`. */
const TIDELINE_MODELS = `sources:
  - { name: dbt_orders, dbt: orders }
  - { name: dbt_customers, dbt: customers }
models:
  - name: customer_metrics
    kind: customers
    orders: { from: dbt_orders, customer_id: customer_id, order_id: order_id, ordered_at: order_date, amount: amount, exclude: [{ column: status, in: [cancelled] }] }
    as_of: '2026-12-07'
    lifecycle:
      new: { first_order_within_days: 30 }
      active: { last_order_within_days: 90 }
      at_risk: { last_order_within_days: 365 }
      inactive: { last_order_after_days: 365 }
  - name: contacts
    kind: staging
    from: dbt_customers
    columns: { customer_id: { from: customer_id, type: string }, email: email, order_count: order_count }
`;

/** [customer_id, order_count, revenue] of Tideline's customer_metrics, and the same computed on dbt's relations. */
async function compare(connection: Connection, d: Dialect, tideline: string, dbt: { catalog?: string | undefined; schema: string }) {
  const built = await connection.query(sql`SELECT customer_id, order_count, revenue FROM ${d.table({ schema: tideline, name: 'customer_metrics' })} ORDER BY customer_id`);
  const oracle = await connection.query(
    sql`SELECT customer_id, COUNT(*) AS n, SUM(amount) AS revenue FROM ${d.table({ ...dbt, name: 'orders_v2' })} WHERE status <> 'cancelled' GROUP BY customer_id ORDER BY customer_id`,
  );
  const dbtCounts = await connection.query(sql`SELECT customer_id, order_count FROM ${d.table({ ...dbt, name: 'customers' })} WHERE order_count > 0 ORDER BY customer_id`);
  const rows = (list: readonly Record<string, unknown>[], keys: string[]) => list.map((r) => keys.map((k) => Number(r[k])));
  expect(rows(built, ['customer_id', 'order_count', 'revenue'])).toEqual(rows(oracle, ['customer_id', 'n', 'revenue']));
  expect(rows(built, ['customer_id', 'order_count'])).toEqual(rows(dbtCounts, ['customer_id', 'order_count']));
  expect(rows(built, ['customer_id', 'order_count', 'revenue'])).toEqual([
    [1, 3, 61.25],
    [2, 1, 12.25],
    [3, 1, 40],
  ]);
  const contacts = await connection.query(sql`SELECT customer_id, email, order_count FROM ${d.table({ schema: tideline, name: 'contacts' })} ORDER BY customer_id`);
  expect(contacts.map((r) => [r['customer_id'], r['email'], Number(r['order_count'])])).toEqual([
    ['1', 'ann@example.org', 3],
    ['2', 'bob@example.org', 1],
    ['3', 'cleo@example.org', 1],
    ['4', 'dan@example.org', 0],
  ]);
}

describe('tideline validate on a dbt project', () => {
  it('names the dbt node and the source\'s `dbt:` when dbt has not built its table in the target', async () => {
    const root = tempProject({
      'tideline.yml': `${TIDELINE_YML}targets:\n  dev: { type: duckdb, path: analytics/jaffle.duckdb }\n`,
      'analytics/target/manifest.json': MANIFEST,
      'models/m.yml': 'sources:\n  - name: dbt_customers\n    dbt: customers\n',
    });
    const result = await tidelineInProcess(['--project', root, 'validate']);
    expect(result.code).toBe(2);
    const problem = result.stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Json)
      .find((p) => p['code'] === 'missing-table');
    expect(problem).toMatchObject({ field: 'sources[0].dbt', line: 3, col: 10 });
    expect(problem!['msg']).toMatch(/table jaffle\.main\.customers \(dbt model model\.jaffle\.customers: has dbt built it for this target\?\) does not exist in target "dev" \(duckdb\)$/);
  });
});

describe('tideline run on top of a dbt project', () => {
  it('DuckDB: builds from the dbt models in dbt-duckdb\'s database file, and links them in target/manifest.json', async () => {
    const root = tempProject({ 'tideline.yml': `${TIDELINE_YML}targets:\n  dev: { type: duckdb, path: analytics/jaffle.duckdb }\n`, 'models/m.yml': TIDELINE_MODELS });
    cpSync(FIXTURE, join(root, 'analytics'), { recursive: true });
    const d = DIALECTS.duckdb;
    // dbt-duckdb's database is named after its file: jaffle.duckdb is catalog "jaffle", as the manifest says.
    let connection = await openTarget({ type: 'duckdb', path: 'analytics/jaffle.duckdb' }, { root });
    try {
      await buildDbtTables(connection, d, undefined, 'main');
    } finally {
      await connection.close();
    }
    const run = await tidelineInProcess(['--project', root, 'run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('2 built, 0 failed');
    connection = await openTarget({ type: 'duckdb', path: 'analytics/jaffle.duckdb' }, { root });
    try {
      await compare(connection, d, 'tideline', { schema: 'main' });
    } finally {
      await connection.close();
    }

    const manifest = JSON.parse(readFileSync(join(root, 'target/manifest.json'), 'utf8')) as Json;
    const ajv = new Ajv2020({ strict: false });
    expect(ajv.validate(MANIFEST_V12_SUBSET, manifest), JSON.stringify(ajv.errors)).toBe(true);
    const source = manifest['sources']['source.crm.crm.dbt_customers'];
    expect(source).toMatchObject({
      database: 'jaffle',
      schema: 'main',
      identifier: 'customers',
      relation_name: '"jaffle"."main"."customers"',
      description: 'One row per customer, with their completed orders counted.',
      meta: { tideline: { dbt: { unique_id: 'model.jaffle.customers', name: 'customers', resource_type: 'model', project_name: 'jaffle', manifest: 'analytics/target/manifest.json' } } },
    });
    expect(source.columns['email']).toEqual({ name: 'email', description: 'E-mail address, lower-cased.', data_type: null, meta: {}, tags: [] });
    expect(manifest['sources']['source.crm.crm.dbt_orders'].meta.tideline.dbt.unique_id).toBe('model.jaffle.orders.v2');
  });

  it.skipIf(!pgUrl())('PostgreSQL: the manifest\'s schema mapped to the one holding the dbt tables there', async () => {
    const url = pgUrl()!;
    const dbtSchema = uniqueSchema('dbt');
    const schema = uniqueSchema('crm');
    const d = DIALECTS.postgres;
    const connection = await openTarget({ type: 'postgres', url }, { root: '.' });
    try {
      await buildDbtTables(connection, d, undefined, dbtSchema);
      const root = tempProject({
        'tideline.yml': `name: crm\ndbt:\n  manifest: analytics/target/manifest.json\n  database: null\n  schemas: { main: ${dbtSchema} }\ntargets:\n  pg: { type: postgres, url: "\${env:CRM_PG_URL}", schema: ${schema} }\n`,
        'analytics/target/manifest.json': MANIFEST,
        'models/m.yml': TIDELINE_MODELS,
      });
      const run = await runCli(['run'], { cwd: root, env: { CRM_PG_URL: url } });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('2 built, 0 failed');
      await compare(connection, d, schema, { schema: dbtSchema });
    } finally {
      for (const s of [schema, dbtSchema]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(s)} CASCADE`);
      await connection.close();
    }
  });
});
