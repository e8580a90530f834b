import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempProject } from './support/cli.js';
import { tidelineInProcess } from './support/in-process.js';
import { MANIFEST_V12_SUBSET, RUN_RESULTS_V6_SUBSET } from './fixtures/dbt-artifact-schemas.js';

/**
 * target/manifest.json and target/run_results.json in dbt's shapes (manifest v12, run-results v6), checked against
 * those schemas (the parts that matter, see the fixture), in process on embedded DuckDB: two CSV sources, a staging
 * model on each, one reading the other model too, a disabled model, and a sync of a model to a webhook.
 */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let root: string;
const tideline = (...args: string[]) => tidelineInProcess(['--project', root, '--log-format', 'json', ...args]);
const read = (file: string): Json => JSON.parse(readFileSync(join(root, 'target', file), 'utf8')) as Json;

beforeAll(() => {
  root = tempProject({
    'tideline.yml': 'name: shop\n',
    'data/people.csv': 'id,email\n1,ann@example.org\n2,bob@example.org\n',
    'data/orders.csv': 'id,person_id,amount,loaded_at\n10,1,5,2026-12-01\n11,2,7,2026-12-02\n',
    'models/m.yml': `sources:
  - { name: people_raw, file: data/people.csv, description: the shop's customers }
  - { name: orders_raw, file: data/orders.csv, freshness: { loaded_at: loaded_at, warn_after: 1 day } }
models:
  - { name: people, kind: staging, from: people_raw, tags: [crm], description: one row per customer }
  - { name: orders, kind: staging, from: orders_raw }
  - { name: big_people, kind: staging, from: people, where: [{ column: id, equals: 2 }] }
  - { name: old, kind: staging, from: people_raw, enabled: false }
`,
    'syncs/crm.yml': `destinations:
  - { name: crm_hook, type: webhook, url: 'http://127.0.0.1:9/hook', secret: s3cr3t-value-long-enough }
syncs:
  - name: crm_contacts
    model: people
    destination: crm_hook
    object: contacts
    mode: upsert
    key: { from: id, field: external_id }
    fields: { email: email }
`,
  });
});

describe('dbt artifacts', () => {
  it('tideline compile writes target/manifest.json in the manifest v12 shape: models as nodes, sources, syncs as exposures', async () => {
    const result = await tideline('compile', '--offline');
    expect(result.code, result.stderr).toBe(0);
    const manifest = read('manifest.json');
    const validate = new Ajv2020({ strict: false }).compile(MANIFEST_V12_SUBSET);
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    expect(manifest['metadata']).toMatchObject({ dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json', project_name: 'shop', adapter_type: 'duckdb' });
    expect(Object.keys(manifest['nodes']).sort()).toEqual(['model.shop.big_people', 'model.shop.old', 'model.shop.orders', 'model.shop.people']);
    const people = manifest['nodes']['model.shop.people'];
    expect(people).toMatchObject({
      resource_type: 'model',
      name: 'people',
      package_name: 'shop',
      original_file_path: 'models/m.yml',
      fqn: ['shop', 'people'],
      config: { materialized: 'table', enabled: true, tags: ['crm'] },
      description: 'one row per customer',
      depends_on: { nodes: ['source.shop.shop.people_raw'] },
      meta: { tideline: { kind: 'staging' } },
      compiled: true,
    });
    expect(people.compiled_code).toContain('people.csv');
    expect(manifest['nodes']['model.shop.old'].config.enabled).toBe(false);
    expect(manifest['nodes']['model.shop.big_people'].depends_on.nodes).toEqual(['model.shop.people']);
    // The same ids as target/sources.json.
    expect(Object.keys(manifest['sources']).sort()).toEqual(['source.shop.shop.orders_raw', 'source.shop.shop.people_raw']);
    expect(manifest['sources']['source.shop.shop.orders_raw']).toMatchObject({ loaded_at_field: 'loaded_at', identifier: 'data/orders.csv', external: { file_format: 'csv' }, columns: {} });
    expect(manifest['exposures']).toEqual({
      'exposure.shop.crm_contacts': expect.objectContaining({
        type: 'application',
        depends_on: { macros: [], nodes: ['model.shop.people'] },
        meta: { tideline: { destination: 'crm_hook', destination_type: 'webhook', object: 'contacts', mode: 'upsert' } },
      }),
    });
    expect(manifest['parent_map']['exposure.shop.crm_contacts']).toEqual(['model.shop.people']);
    expect(manifest['child_map']['model.shop.people']).toEqual(['exposure.shop.crm_contacts', 'model.shop.big_people']);
    expect(manifest['child_map']['source.shop.shop.people_raw']).toEqual(['model.shop.old', 'model.shop.people']);
    // The destination's secret is configuration, never an artifact.
    expect(JSON.stringify(manifest)).not.toContain('s3cr3t');
  });

  it('tideline run writes run_results.json in the run-results v6 shape, its own record beside, and the manifest', async () => {
    const result = await tideline('run', '--exclude', 'orders');
    expect(result.code, result.stderr).toBe(0);
    const runResults = read('run_results.json');
    const validate = new Ajv2020({ strict: false }).compile(RUN_RESULTS_V6_SUBSET);
    expect(validate(runResults), JSON.stringify(validate.errors)).toBe(true);
    const own = read('tideline_run_results.json');
    expect(runResults['metadata']).toMatchObject({ dbt_schema_version: 'https://schemas.getdbt.com/dbt/run-results/v6.json', invocation_id: own['run_id'] });
    expect(runResults['args']).toEqual({ which: 'run', target: own['target'], full_refresh: false, select: ['people', 'big_people', 'old'] });
    const byId = new Map((runResults['results'] as Json[]).map((r) => [r['unique_id'], r]));
    expect([...byId.keys()]).toEqual(['model.shop.people', 'model.shop.big_people', 'model.shop.old']);
    expect(byId.get('model.shop.old')).toMatchObject({ status: 'skipped', compiled: false, compiled_code: null });
    expect(byId.get('model.shop.people')).toMatchObject({ status: 'success', adapter_response: { rows_affected: 2 }, compiled: true, failures: null });
    expect(byId.get('model.shop.big_people')!['adapter_response']).toEqual({ rows_affected: 1 });
    expect(byId.get('model.shop.people')!['relation_name']).toMatch(/people/);
    // The SQL is the manifest's: none in the run's record.
    const manifest = read('manifest.json');
    expect(byId.get('model.shop.people')!['compiled_code']).toBeNull();
    expect(manifest['nodes']['model.shop.people'].compiled_code).toContain('people.csv');
    expect(manifest['metadata']['invocation_id']).toBe(own['run_id']);
    // Read against the warehouse, a source's columns are known (offline, above, they are not).
    expect(manifest['sources']['source.shop.shop.people_raw'].columns).toEqual({
      id: { name: 'id', description: '', data_type: 'integer', meta: {}, tags: [] },
      email: { name: 'email', description: '', data_type: 'string', meta: {}, tags: [] },
    });
    // Tideline's own record keeps its shape.
    expect(own).toMatchObject({ command: 'run', project: 'shop', status: 'success' });
    expect((own['results'] as Json[]).map((r) => [r['model'], r['kind'], r['rows']])).toEqual([
      ['people', 'staging', 2],
      ['big_people', 'staging', 1],
      ['old', 'staging', null],
    ]);
  });

  it('a failed model is an error with its message, and what depends on it is skipped', async () => {
    const broken = tempProject({
      'tideline.yml': 'name: shop\n',
      'data/people.csv': 'id,email\n1,ann@example.org\n',
      'models/m.yml': `sources:
  - { name: people_raw, file: data/people.csv }
models:
  - { name: bad, kind: sql, sql: "SELECT CAST(email AS INTEGER) AS x FROM {{ ref('people_raw') }}" }
  - { name: after, kind: staging, from: bad }
`,
    });
    const result = await tidelineInProcess(['--project', broken, '--log-format', 'json', 'run']);
    expect(result.code).toBe(1);
    const runResults = JSON.parse(readFileSync(join(broken, 'target/run_results.json'), 'utf8')) as Json;
    const validate = new Ajv2020({ strict: false }).compile(RUN_RESULTS_V6_SUBSET);
    expect(validate(runResults), JSON.stringify(validate.errors)).toBe(true);
    const [bad, after] = runResults['results'] as Json[];
    expect(bad).toMatchObject({ unique_id: 'model.shop.bad', status: 'error' });
    expect(bad!['message']).toEqual(expect.any(String));
    expect(after).toMatchObject({ unique_id: 'model.shop.after', status: 'skipped', compiled: false });
  });
});
