import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogicalType, TableRef } from '../src/dialects/dialect.js';
import { Sql } from '../src/dialects/sql.js';
import { openTarget } from '../src/warehouses/registry.js';
import { tempProject } from './support/cli.js';
import { projectSetups, uniqueSchema } from './support/engines.js';
import { tidelineInProcess } from './support/in-process.js';
import { PlainReceiver } from './support/plain-receiver.js';
import { MANIFEST_V12_SUBSET, RUN_RESULTS_V6_SUBSET } from './fixtures/dbt-artifact-schemas.js';

/**
 * `tideline test` and `tideline build` on DuckDB and PostgreSQL, in process. Two raw tables, every test kind on them
 * or on the models built from them, each passing or failing on rows written for it; the expected failures are
 * counted here in JavaScript from the rows themselves, not by Tideline. What a sync sent is judged by a plain HTTP
 * receiver sharing no code with the engine.
 */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CUSTOMER_COLUMNS: { name: string; type: LogicalType }[] = [
  { name: 'id', type: 'string' },
  { name: 'email', type: 'string' },
  { name: 'status', type: 'string' },
];
const CUSTOMERS: (string | null)[][] = [
  ['c1', 'ann@example.org', 'active'],
  ['c2', 'bob@example.org', 'active'],
  ['c3', 'ann@example.org', 'churned'],
  ['c4', null, 'zombie'],
  ['c5', 'eve@example.org', 'zombie'],
  ['c6', 'dan@example.org', null],
];
const ORDER_COLUMNS: { name: string; type: LogicalType }[] = [
  { name: 'id', type: 'integer' },
  { name: 'customer_id', type: 'string' },
  { name: 'amount', type: 'integer' },
];
const ORDERS: (string | number | null)[][] = [
  [1, 'c1', 10],
  [2, 'c2', -5],
  [3, 'c9', 7],
  [4, null, 3],
  [5, 'c8', -1],
];

// The oracle: each test's failures counted from the rows above.
const emails = CUSTOMERS.map((c) => c[1]).filter((e): e is string => e !== null);
const EXPECTED: Record<string, { status: string; failures: number }> = {
  not_null_raw_customers_email: { status: 'warn', failures: CUSTOMERS.filter((c) => c[1] === null).length },
  unique_raw_customers_id: { status: 'pass', failures: 0 },
  row_count_raw_customers: { status: 'pass', failures: 0 },
  unique_customers_email: { status: 'fail', failures: new Set(emails.filter((e, i) => emails.indexOf(e) !== i)).size },
  status_known: { status: 'warn', failures: CUSTOMERS.filter((c) => c[2] !== null && !['active', 'churned'].includes(c[2]!)).length },
  relationships_orders_customer_id__customers: { status: 'fail', failures: ORDERS.filter((o) => o[1] !== null && !CUSTOMERS.some((c) => c[0] === o[1])).length },
  expression_orders_2: { status: 'fail', failures: ORDERS.filter((o) => !((o[2] as number) >= 0)).length },
  unique_orders_id_customer_id: { status: 'pass', failures: 0 },
  too_many_orders: { status: 'fail', failures: ORDERS.length > 3 ? 1 : 0 },
  accepted_values_customers_status: { status: 'pass', failures: 0 },
  relationships_customers_customer_id__raw_customers: { status: 'pass', failures: 0 },
  not_null_orders_id: { status: 'pass', failures: 0 },
  expression_orders_6: { status: 'pass', failures: 0 },
};

const models = (raw: string) => `sources:
  - name: raw_customers
    table: ${raw}.customers
    tests:
      - not_null: { column: email, severity: warn }
      - unique: id
      - row_count: { min: 1 }
  - name: raw_orders
    table: ${raw}.orders
  - name: raw_regions
    table: ${raw}.regions
models:
  - name: customers
    kind: staging
    from: raw_customers
    columns:
      customer_id: { from: id, type: string }
      email: { from: email, type: string }
      status: { from: status, type: string }
    tests:
      - unique: email
      - accepted_values: { column: status, values: [active, churned], severity: warn, name: status_known }
      - accepted_values: { column: status, values: [active, churned, zombie] }
      - relationships: { column: customer_id, to: raw_customers, field: id }
  - name: orders
    kind: staging
    from: raw_orders
    tests:
      - relationships: { column: customer_id, to: customers, field: customer_id }
      - expression: "amount >= 0"
      - unique: [id, customer_id]
      - row_count: { max: 3, name: too_many_orders }
      - not_null: id
      - expression: "id > 0"
  - name: vip
    kind: staging
    from: customers
  - name: regions
    kind: staging
    from: raw_regions
`;

const SYNCS = `destinations:
  - name: hook
    type: webhook
    url: \${env:DATA_TESTS_HOOK_URL}
syncs:
  - { name: vip_list, model: vip, destination: hook, object: vip, mode: upsert, key: customer_id, fields: { email: email } }
  - { name: order_list, model: orders, destination: hook, object: orders, mode: upsert, key: id }
  - { name: region_list, model: regions, destination: hook, object: regions, mode: upsert, key: region }
`;

const setups = projectSetups('data tests');

describe.each(setups)('data tests ($name)', (setup) => {
  let root: string;
  let receiver: PlainReceiver;
  const raw = uniqueSchema('raw');
  const tideline = (...args: string[]) => tidelineInProcess(['--project', root, '--log-format', 'json', ...args]);
  const read = (file: string): Json => JSON.parse(readFileSync(join(root, 'target', file), 'utf8')) as Json;

  beforeAll(async () => {
    receiver = await PlainReceiver.start();
    process.env['DATA_TESTS_HOOK_URL'] = receiver.url;
    root = tempProject({ 'tideline.yml': `name: shop\n${setup.tideline}`, 'models/m.yml': models(raw), 'syncs/s.yml': SYNCS });
    const connection = await openTarget(setup.target, { root });
    try {
      const d = connection.dialect;
      await connection.execute(d.createSchema(raw));
      const load = async (name: string, columns: { name: string; type: LogicalType }[], rows: unknown[][]) => {
        const table: TableRef = { schema: raw, name };
        await connection.execute(d.createTable(table, columns));
        await connection.insertRows(table, columns, (async function* () {
          yield rows as never;
        })());
      };
      await load('customers', CUSTOMER_COLUMNS, CUSTOMERS);
      await load('orders', ORDER_COLUMNS, ORDERS);
      await load('regions', [{ name: 'region', type: 'string' }], [['north'], ['south']]);
    } finally {
      await connection.close();
    }
  }, 60_000);
  afterAll(() => receiver?.close());

  it('tideline build: sources tested first, each model built then tested; a failure skips the models and syncs downstream, which send nothing', async () => {
    const result = await tideline('build');
    expect(result.code, result.stderr).toBe(1);
    const logged = result.stderr;
    // customers is built, its unique email test fails: vip (reading it) is skipped, and so is the sync of vip.
    expect(logged).toContain('input failed: customers (test failed: unique_customers_email)');
    expect(logged).toMatch(/vip_list: skipped, nothing sent \(.*model customers failed test unique_customers_email/);
    expect(logged).toMatch(/vip_list: skipped, nothing sent \(.*model vip was skipped \(input failed: customers \(test failed: unique_customers_email\)\)/);
    // orders waits for customers before its relationships test; its failures hold its sync back.
    expect(logged).toContain('order_list: skipped, nothing sent (model orders failed test relationships_orders_customer_id__customers, expression_orders_2, too_many_orders)');
    // The sync whose inputs passed runs: the receiver saw regions, and nothing of vip or orders.
    expect([...receiver.records('regions').keys()].sort()).toEqual(['north', 'south']);
    expect(receiver.arrivals.filter((a) => a.object !== 'regions')).toEqual([]);

    const runResults = read('run_results.json');
    const validate = new Ajv2020({ strict: false }).compile(RUN_RESULTS_V6_SUBSET);
    expect(validate(runResults), JSON.stringify(validate.errors)).toBe(true);
    const byId = new Map((runResults['results'] as Json[]).map((r) => [r['unique_id'], r]));
    expect(byId.get('model.shop.customers')).toMatchObject({ status: 'success' });
    expect(byId.get('model.shop.vip')).toMatchObject({ status: 'skipped' });
    expect(byId.get('model.shop.regions')).toMatchObject({ status: 'success' });
    for (const [name, expected] of Object.entries(EXPECTED)) expect(byId.get(`test.shop.${name}`), name).toMatchObject(expected);
    expect(JSON.stringify(runResults)).not.toContain('@example.org');
  }, 120_000);

  it('tideline build: what reads a relation waits for its relationships test; a test not run, or failing on what a sync reads when sent, holds the sync; sync_results.json lists every sync', async () => {
    // a_orders points at z_cust, built after it in declaration order: c_orders (reading a_orders) must wait for the
    // test, which fails (orders of c9 and c8). k_orders points at big, which fails its bounds: its test cannot run,
    // and the sync of k_orders must not send. ticket_facts, read by the suppressions of mail_list, fails not_null.
    // A copy of the project (DuckDB's database file with it), its YAML replaced.
    const holds = tempProject({
      'tideline.yml': `name: holds\n${setup.tideline}suppressions:\n  - { name: complained, from: ticket_facts, key: customer_id }\n`,
      'models/m.yml': `sources:
  - { name: raw_customers, table: ${raw}.customers }
  - { name: raw_orders, table: ${raw}.orders }
models:
  - name: a_orders
    kind: staging
    from: raw_orders
    tests:
      - relationships: { column: customer_id, to: z_cust, field: customer_id }
  - { name: c_orders, kind: staging, from: a_orders }
  - name: z_cust
    kind: staging
    from: raw_customers
    columns: { customer_id: { from: id, type: string }, email: { from: email, type: string } }
  - name: big
    kind: staging
    from: raw_customers
    columns: { customer_id: { from: id, type: string } }
    checks: { min_rows: 100 }
  - name: k_orders
    kind: staging
    from: raw_orders
    tests:
      - relationships: { column: customer_id, to: big, field: customer_id }
  - name: ticket_facts
    kind: staging
    from: raw_orders
    tests:
      - not_null: customer_id
`,
      'syncs/s.yml': `destinations:
  - { name: hook, type: webhook, url: "\${env:DATA_TESTS_HOOK_URL}" }
syncs:
  - { name: plain_list, model: z_cust, destination: hook, object: holds_plain, mode: upsert, key: customer_id }
  - { name: mail_list, model: z_cust, destination: hook, object: holds_mail, mode: upsert, key: customer_id, channel: email, fields: { email: email } }
  - { name: c_list, model: c_orders, destination: hook, object: holds_c, mode: upsert, key: id }
  - { name: k_list, model: k_orders, destination: hook, object: holds_k, mode: upsert, key: id }
`,
    }, root);
    const result = await tidelineInProcess(['--project', holds, '--log-format', 'json', 'build']);
    expect(result.code, result.stderr).toBe(1);
    const runResults = JSON.parse(readFileSync(join(holds, 'target', 'run_results.json'), 'utf8')) as Json;
    const status = Object.fromEntries((runResults['results'] as Json[]).map((r) => [r['unique_id'], r['status']]));
    expect(status).toMatchObject({
      'model.holds.a_orders': 'success',
      'test.holds.relationships_a_orders_customer_id__z_cust': 'fail',
      'model.holds.c_orders': 'skipped',
      'model.holds.big': 'error',
      'test.holds.relationships_k_orders_customer_id__big': 'skipped',
      'model.holds.ticket_facts': 'success',
      'test.holds.not_null_ticket_facts_customer_id': 'fail',
    });
    expect(result.stderr).toContain('input failed: a_orders (test failed: relationships_a_orders_customer_id__z_cust)');
    // Only plain_list sent: every customer, nothing else.
    expect([...receiver.records('holds_plain').keys()].sort()).toEqual(CUSTOMERS.map((c) => c[0]).sort());
    expect(receiver.arrivals.filter((a) => a.object.startsWith('holds_') && a.object !== 'holds_plain')).toEqual([]);
    const syncResults = JSON.parse(readFileSync(join(holds, 'target', 'sync_results.json'), 'utf8')) as Json;
    expect(syncResults['command']).toBe('build');
    expect(Object.fromEntries((syncResults['results'] as Json[]).map((r) => [r['sync'], r['status']]))).toEqual({ plain_list: 'success', mail_list: 'skipped', c_list: 'skipped', k_list: 'skipped' });
    const error = (sync: string) => (syncResults['results'] as Json[]).find((r) => r['sync'] === sync)!['error'] as string;
    expect(error('mail_list')).toContain('model ticket_facts failed test not_null_ticket_facts_customer_id');
    expect(error('k_list')).toContain('model k_orders failed test relationships_k_orders_customer_id__big (skipped)');
    expect(error('c_list')).toContain('model c_orders was skipped');
  }, 120_000);

  it('tideline build: a source test waiting for a model holds the models reading the source; sync_results.json is written when every sync is held', async () => {
    const waits = tempProject({
      'tideline.yml': `name: waits\n${setup.tideline}`,
      'models/m.yml': `sources:
  - name: raw_customers
    table: ${raw}.customers
    tests:
      - relationships: { column: id, to: z_ord, field: customer_id }
  - { name: raw_orders, table: ${raw}.orders }
models:
  - name: m_cust
    kind: staging
    from: raw_customers
    columns: { customer_id: { from: id, type: string } }
  - { name: z_ord, kind: staging, from: raw_orders }
`,
      'syncs/s.yml': `destinations:
  - { name: hook, type: webhook, url: "\${env:DATA_TESTS_HOOK_URL}" }
syncs:
  - { name: m_list, model: m_cust, destination: hook, object: waits_m, mode: upsert, key: customer_id }
`,
    }, root);
    const result = await tidelineInProcess(['--project', waits, '--log-format', 'json', 'build']);
    expect(result.code, result.stderr).toBe(1);
    const runResults = JSON.parse(readFileSync(join(waits, 'target', 'run_results.json'), 'utf8')) as Json;
    const status = Object.fromEntries((runResults['results'] as Json[]).map((r) => [r['unique_id'], r['status']]));
    // Customers without an order: c3 to c6.
    expect(status).toEqual({ 'model.waits.z_ord': 'success', 'test.waits.relationships_raw_customers_id__z_ord': 'fail', 'model.waits.m_cust': 'skipped' });
    expect(receiver.arrivals.filter((a) => a.object === 'waits_m')).toEqual([]);
    const syncResults = JSON.parse(readFileSync(join(waits, 'target', 'sync_results.json'), 'utf8')) as Json;
    expect(syncResults['status']).toBe('error');
    expect(syncResults['results']).toMatchObject([{ sync: 'm_list', status: 'skipped', sent: 0 }]);
  }, 120_000);

  it('tideline test: failures counted as the rows say, samples masked, exit 1 on an error-severity failure', async () => {
    const result = await tideline('test');
    expect(result.code, result.stderr).toBe(1);
    const json = await tideline('test', '--json');
    expect(json.code).toBe(1);
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Json);
    expect(Object.fromEntries(lines.map((l) => [l['test'], { status: l['status'], failures: l['failures'] }]))).toEqual(EXPECTED);
    expect(lines.find((l) => l['test'] === 'expression_orders_2')!['sample']).toHaveLength(EXPECTED['expression_orders_2']!.failures);
    // The duplicated e-mail is shown masked, with its count; no address appears whole.
    expect(result.stdout).toMatch(/unique_customers_email \(FAIL\): 1 value of email held by more than one row of customers\n\| email +\| n_records \|\n\|-+\|-+\|\n\| a\*\*@e\*{6}\.org +\| 2 +\|/);
    expect(result.stdout).not.toContain('@example.org');
    expect(result.stdout).toContain('relationships_orders_customer_id__customers (FAIL): 2 rows of orders whose customer_id is not found in customers.customer_id');
    expect(result.stdout).toContain('too_many_orders (FAIL): orders has 5 rows, more than row_count.max (3)');
    const messages = result.stderr.trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages.at(-1)).toBe('13 tests: 7 pass, 2 warn, 4 fail, 0 error, 0 skipped');

    const shown = await tideline('test', '--select', 'customers', '--show-pii', '--json');
    const shownLines = shown.stdout.trim().split('\n').map((l) => JSON.parse(l) as Json);
    expect(shownLines.map((l) => l['test'])).toEqual(['unique_customers_email', 'status_known', 'accepted_values_customers_status', 'relationships_customers_customer_id__raw_customers']);
    expect(shownLines[0]!['sample']).toEqual([{ email: 'ann@example.org', n_records: 2 }]);
    expect(shown.code).toBe(1);
  }, 60_000);

  it('selection picks the tests of the selected sources and models; warnings alone exit 0', async () => {
    const sources = await tideline('test', '--select', 'source:raw_customers', '--json');
    expect(sources.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Json)['test'])).toEqual(['not_null_raw_customers_email', 'unique_raw_customers_id', 'row_count_raw_customers']);
    writeFileSync(join(root, 'models/m.yml'), models(raw).replace('      - unique: email\n', ''));
    const warn = await tideline('test', '--select', 'customers');
    expect(warn.code, warn.stderr).toBe(0);
    expect(warn.stdout).toContain('status_known (WARN): 2 rows of customers where status is not one of the 2 accepted values');
    writeFileSync(join(root, 'models/m.yml'), models(raw));
  }, 60_000);

  it('manifest.json holds each test as a dbt generic test node attached to what it tests', async () => {
    await tideline('test', '--select', 'orders');
    const manifest = read('manifest.json');
    const validate = new Ajv2020({ strict: false }).compile(MANIFEST_V12_SUBSET);
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    const relationships = manifest['nodes']['test.shop.relationships_orders_customer_id__customers'];
    expect(relationships).toMatchObject({
      resource_type: 'test',
      column_name: 'customer_id',
      attached_node: 'model.shop.orders',
      depends_on: { nodes: ['model.shop.orders', 'model.shop.customers'] },
      test_metadata: { name: 'relationships', kwargs: { to: "ref('customers')", field: 'customer_id', column_name: 'customer_id' }, namespace: null },
      config: { severity: 'ERROR' },
    });
    expect(manifest['nodes']['test.shop.status_known']).toMatchObject({ config: { severity: 'WARN' }, test_metadata: { name: 'accepted_values', kwargs: { values: ['active', 'churned'] } } });
    expect(manifest['nodes']['test.shop.not_null_raw_customers_email']).toMatchObject({ attached_node: 'source.shop.shop.raw_customers', sources: [['shop', 'raw_customers']] });
    expect(manifest['child_map']['model.shop.customers']).toContain('test.shop.relationships_orders_customer_id__customers');
    // The compiled query, run as it stands, returns the failing rows the oracle counts.
    const connection = await openTarget(setup.target, { root });
    try {
      const rows = await connection.query(Sql.trusted(relationships.compiled_code as string));
      expect(rows.map((r) => Number(r['id'])).sort()).toEqual(ORDERS.filter((o) => o[1] !== null && !CUSTOMERS.some((c) => c[0] === o[1])).map((o) => o[0]));
    } finally {
      await connection.close();
    }
  }, 60_000);
});

describe('data tests in YAML', () => {
  const project = (tests: string, sourceTests = '') =>
    tempProject({
      'tideline.yml': 'name: shop\n',
      'data/people.csv': 'id,email\n1,a@example.org\n',
      'models/m.yml': `sources:
  - name: raw_people
    file: data/people.csv
${sourceTests}models:
  - name: people
    kind: staging
    from: raw_people
    tests:
${tests}`,
    });
  const errors = async (root: string, offline = false) => {
    const result = await tidelineInProcess(['--project', root, '--log-format', 'pretty', ...(offline ? ['validate'] : ['test'])]);
    return { code: result.code, text: result.stderr };
  };

  it('an unknown test type, or two in one entry, is a located error, and nothing runs', async () => {
    const root = project('      - uniqe: id\n      - { not_null: id, unique: id }\n');
    const result = await errors(root, true);
    expect(result.code).toBe(2);
    expect(result.text).toMatch(/models\/m\.yml:9:9 +models\[0\]\.tests\[0\]\.uniqe +unknown key "uniqe" \(did you mean "unique"\?\)/);
    expect(result.text).toMatch(/models\/m\.yml:10:9 +models\[0\]\.tests\[1\] +a test is one of not_null, unique, accepted_values, relationships, expression, row_count; this one gives not_null and unique/);
  });

  it('an invalid test entry does not hide an unknown `to` in another: both are reported at once', async () => {
    const result = await errors(project('      - uniqe: id\n      - relationships: { column: id, to: peple }\n'), true);
    expect(result.code).toBe(2);
    expect(result.text).toMatch(/models\/m\.yml:9:9 +models\[0\]\.tests\[0\]\.uniqe +unknown key "uniqe"/);
    // (people itself is invalid here: not among the names suggested.)
    expect(result.text).toMatch(/models\/m\.yml:10:42 +models\[0\]\.tests\[1\]\.relationships\.to +unknown source or model "peple"/);
  });

  it('an unknown column or relation is a located error with a suggestion', async () => {
    const unknownTo = await errors(project('      - relationships: { column: id, to: peple }\n'), true);
    expect(unknownTo.code).toBe(2);
    expect(unknownTo.text).toMatch(/models\/m\.yml:9:42 +models\[0\]\.tests\[0\]\.relationships\.to +unknown source or model "peple" \(did you mean "people"\?\)/);
    const columns = await errors(project('      - not_null: emial\n      - relationships: { column: id, to: raw_people, field: idd }\n', '    tests:\n      - unique: [id, mail]\n'));
    expect(columns.code).toBe(2);
    expect(columns.text).toMatch(/models\/m\.yml:5:22 +sources\[0\]\.tests\[0\]\.unique\[1\] +unknown column "mail" in source "raw_people" \(did you mean "email"\?\)/);
    expect(columns.text).toMatch(/models\/m\.yml:11:19 +models\[0\]\.tests\[0\]\.not_null +unknown column "emial" in model "people" \(did you mean "email"\?\)/);
    expect(columns.text).toMatch(/models\/m\.yml:12:61 +models\[0\]\.tests\[1\]\.relationships\.field +unknown column "idd" in source "raw_people" \(did you mean "id"\?\)/);
  }, 60_000);

  it('a test of a model not built yet is an error naming the command that builds it; names made up twice are numbered', async () => {
    const root = project('      - not_null: id\n      - not_null: id\n');
    const result = await tidelineInProcess(['--project', root, '--log-format', 'pretty', 'test', '--json']);
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines.map((l) => [l['test'], l['status'], l['message']])).toEqual([
      ['not_null_people_id', 'error', 'people is not built in target dev: run `tideline run --select +people` first'],
      ['not_null_people_id_2', 'error', 'people is not built in target dev: run `tideline run --select +people` first'],
    ]);
  }, 60_000);

  it('tideline build: a relationships test whose `to` is built from what it tests runs after both, as dbt orders a test after its parents; a warn test reorders nothing', async () => {
    // people's ids tested against twin, which is built from people: twin cannot wait for the test. And a warn test
    // against late (built last in file order) must not pull late ahead of anything.
    const root = project(
      '      - relationships: { column: id, to: twin, field: id }\n      - relationships: { column: id, to: late, field: id, severity: warn }\n  - { name: reader, kind: staging, from: people }\n  - { name: twin, kind: staging, from: people }\n  - { name: late, kind: staging, from: raw_people }\n',
    );
    const result = await tidelineInProcess(['--project', root, '--log-format', 'json', 'build']);
    expect(result.code, result.stderr).toBe(0);
    const runResults = JSON.parse(readFileSync(join(root, 'target', 'run_results.json'), 'utf8')) as Json;
    const order = (runResults['results'] as Json[]).map((r) => [r['unique_id'], r['status']]);
    // Models in build order, then the tests (run_results lists them so). reader, which twin is not built from, waits
    // for twin (and so for the test); late stays last: the warn test pulled it ahead of nothing.
    expect(order).toEqual([
      ['model.shop.people', 'success'],
      ['model.shop.twin', 'success'],
      ['model.shop.reader', 'success'],
      ['model.shop.late', 'success'],
      ['test.shop.relationships_people_id__twin', 'pass'],
      ['test.shop.relationships_people_id__late', 'pass'],
    ]);
  }, 60_000);

  it('unique on several columns counts NULLs as equal, as dbt_utils.unique_combination_of_columns does; on one column it leaves them out', async () => {
    const rows = [['1', null], ['1', null], ['2', 'x'], ['3', 'y'], [null, 'z'], [null, 'w']];
    const csv = `id,email\n${rows.map((r) => r.map((v) => v ?? '').join(',')).join('\n')}\n`;
    const root = tempProject({
      'tideline.yml': 'name: shop\n',
      'data/people.csv': csv,
      'models/m.yml': 'sources:\n  - name: raw_people\n    file: data/people.csv\n    tests:\n      - unique: [id, email]\n      - unique: id\n',
    });
    // The oracle: groups of equal rows (NULLs equal) held more than once; single values, NULLs left out.
    const groups = new Map<string, number>();
    for (const r of rows) groups.set(JSON.stringify(r), (groups.get(JSON.stringify(r)) ?? 0) + 1);
    const ids = rows.map((r) => r[0]).filter((id) => id !== null);
    const result = await tidelineInProcess(['--project', root, '--log-format', 'json', 'test', '--json']);
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines.map((l) => [l['test'], l['failures']])).toEqual([
      ['unique_raw_people_id_email', [...groups.values()].filter((n) => n > 1).length],
      ['unique_raw_people_id', new Set(ids.filter((id, i) => ids.indexOf(id) !== i)).size],
    ]);
  });

  it('two tests given one name is an error', async () => {
    const root = project('      - { not_null: { column: id, name: check_id } }\n      - { unique: { columns: id, name: check_id } }\n');
    const result = await errors(root, true);
    expect(result.code).toBe(2);
    expect(result.text).toMatch(/models\/m\.yml:10:40 +models\[0\]\.tests\[1\]\.unique\.name +test "check_id" is already defined at models\/m\.yml:9:9/);
  });
});
