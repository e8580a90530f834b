import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { runModels } from '../src/pipeline/runner.js';
import { joinSql, sql } from '../src/dialects/sql.js';
import { createLogger } from '../src/log/logger.js';
import { analyseProject } from '../src/project/analyse.js';
import { loadProject } from '../src/project/loader.js';
import { selectModels } from '../src/project/select.js';
import type { LogicalType } from '../src/dialects/dialect.js';
import type { Connection, Value } from '../src/warehouses/connection.js';
import { openTarget, type TargetConfig } from '../src/warehouses/registry.js';
import { buildProgram } from '../src/cli/program.js';
import { runCli, tempProject, type CliResult } from './support/cli.js';
import { engines } from './support/engines.js';

/**
 * `tideline audience preview` and `tideline audience list`, end to end through the real executable, on DuckDB and
 * PostgreSQL. Ten customers; every figure below was worked out by hand from these rows.
 */

const COLUMNS: [string, LogicalType][] = [
  ['customer_id', 'string'],
  ['email', 'string'],
  ['first_name', 'string'],
  ['orders', 'integer'],
  ['consent_email', 'boolean'],
  ['consent_sms', 'boolean'],
  ['tier', 'string'],
];
const CUSTOMERS: Value[][] = [
  ['c01', 'ann@x.org', 'Ann', 5, true, true, 'gold'],
  ['c02', 'bob@x.org', 'Bob', 3, true, false, 'gold'],
  ['c03', 'cat@x.org', 'Cat', 1, true, true, 'silver'],
  ['c04', 'dan@x.org', 'Dan', 0, true, true, 'bronze'],
  ['c05', 'eve@x.org', 'Eve', 2, false, true, 'silver'],
  ['c06', 'fay@x.org', 'Fay', 4, false, false, 'gold'],
  ['c07', 'gus@x.org', 'Gus', 1, true, false, 'bronze'],
  ['c08', 'hal@x.org', 'Hal', 2, true, true, 'silver'],
  ['c09', 'ida@x.org', 'Ida', 0, false, false, 'bronze'],
  ['c10', 'jon@x.org', 'Jon', 6, true, true, 'gold'],
];

/**
 * buyers (orders ≥ 1): c01 c02 c03 c05 c06 c07 c08 c10 qualify (8). c05 and c06 have no e-mail consent (2). The
 * e-mail cap is 1 and vip (orders ≥ 3, priority 5) outranks buyers (priority 1): c01 c02 c10 stay in vip, their
 * buyers rows are capped (3); c06 is in neither, for want of consent. Members: c03 c07 c08 (3).
 * vip: c01 c02 c10 (c06 lacks consent). sms_fans (orders ≥ 2, sms consent): c01 c05 c08 c10 (c02, c06 lack it).
 * newsletter (model promos, e-mail consent): c01 c02 c03 c04 c07 c08 c10 (7).
 * Overlap of buyers with vip: 0 (the cap); with sms_fans: c08; with newsletter: c03 c07 c08.
 */
function audiencesYaml(from: string, customers: string): string {
  return `${from}
  - name: segs
    kind: audiences
    customers: ${customers}
    salt: preview-test
    pressure:
      email: { max: 1 }
    audiences:
      - name: buyers
        channel: email
        priority: 1
        holdout: 20%
        splits: { subject_a: 50%, subject_b: 50% }
        where: { field: orders, gte: 1 }
      - name: vip
        channel: email
        priority: 5
        where: { field: orders, gte: 3 }
      - name: sms_fans
        channel: sms
        where: { field: orders, gte: 2 }
  - name: promos
    kind: audiences
    customers: ${customers}
    audiences:
      - name: newsletter
        channel: email
        where: { field: first_name, is_null: false }
`;
}

interface Warehouse {
  readonly config: TargetConfig;
  readonly tag: string;
  readonly root: string;
  /** Opens the warehouse (never while a CLI process holds a DuckDB file). */
  use<T>(body: (connection: Connection) => Promise<T>): Promise<T>;
}

function warehouse(config: TargetConfig, root: string, tag: string): Warehouse {
  return {
    config,
    tag,
    root,
    use: async (body) => {
      const connection = await openTarget(config, { root });
      try {
        return await body(connection);
      } finally {
        await connection.close();
      }
    },
  };
}

/** Every schema and table of this test (Postgres is shared by parallel test files: only those with our tag). */
async function tablesOf(w: Warehouse): Promise<string[]> {
  return w.use(async (connection) => {
    const d = connection.dialect;
    const mine = d.string(`${w.tag}%`);
    const tables = await connection.query(sql`SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE ${mine}`);
    const schemas = await connection.query(sql`SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ${mine}`);
    return [...schemas.map((r) => `schema ${String(r['schema_name'])}`), ...tables.map((r) => `${String(r['table_schema'])}.${String(r['table_name'])}`)].sort();
  });
}

async function seed(w: Warehouse): Promise<void> {
  await w.use(async (connection) => {
    const d = connection.dialect;
    const raw = { schema: `${w.tag}_raw`, name: 'customers' };
    await connection.execute(d.createSchema(raw.schema));
    await connection.execute(sql`CREATE TABLE ${d.table(raw)} (${joinSql(COLUMNS.map(([c, type]) => sql`${d.id(c)} ${d.type(type)}`))})`);
    await connection.insertRows(raw, COLUMNS.map(([name, type]) => ({ name, type })), [CUSTOMERS]);
  });
}

/** A project whose default target is a DuckDB file that holds nothing: every command must honour --target test. */
function project(config: TargetConfig, tag: string, models: string): string {
  return tempProject({
    'tideline.yml': `name: shop\nschema: ${tag}\ntarget: elsewhere\ntargets:\n  elsewhere: { type: duckdb, path: elsewhere.duckdb }\n  test: ${JSON.stringify(config)}\n`,
    'models/all.yml': models,
  });
}

const tagFor = (engine: string) => `aud_${engine.slice(0, 2)}_${randomBytes(3).toString('hex')}`;
const configFor = (engine: { name: string; target: TargetConfig }): TargetConfig => (engine.name === 'duckdb' ? { type: 'duckdb', path: 'warehouse.duckdb' } : engine.target);

const SOURCE = (tag: string) => `sources:\n  - { name: raw_customers, table: ${tag}_raw.customers }\nmodels:`;
const PREVIEW_TEXT = [
  /^buyers \(model segs, channel email\): preview, nothing built$/m,
  /^ {2}size +3 members \(8 qualified\)$/m,
  /^ {4}holdout +2 \(66\.7 %\)\n {4}subject_a +1 \(33\.3 %\)\n {4}subject_b +0 \(0\.0 %\)$/m,
  /^ {4}no email consent +2\n {4}marketing pressure +3$/m,
  /^ {4}vip \(segs\) +0 \(0\.0 %\)\n {4}sms_fans \(segs\) +1 \(33\.3 %\)\n {4}newsletter \(promos\) +3 \(100\.0 %\)$/m,
];

/** The preview of buyers as text: hand-checked figures, and three sample members in key order with PII masked. */
function expectBuyersPreview(result: CliResult): void {
  expect(result.code, result.stderr).toBe(0);
  for (const line of PREVIEW_TEXT) expect(result.stdout).toMatch(line);
  const samples = result.stdout
    .split('\n')
    .filter((l) => l.startsWith('    {'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  // Personal data masked (the key, the e-mail, the name); the group, the count and the tier are not personal.
  expect(samples.map((s) => [s['audience_group'], s['customer_id'], s['email'], s['first_name'], s['orders'], s['tier']])).toEqual([
    ['holdout', 'c**', 'c**@x.org', 'C**', 1, 'silver'],
    ['subject_a', 'c**', 'g**@x.org', 'G**', 1, 'bronze'],
    ['holdout', 'c**', 'h**@x.org', 'H**', 2, 'silver'],
  ]);
  for (const pii of ['cat@x.org', 'gus@x.org', 'hal@x.org', 'Cat', 'c03']) expect(result.stdout).not.toContain(pii);
}

/** `tideline audience list --json` after the second run: c03 reaches 4 orders, c04 buys twice, c08 is refunded. */
function expectChanges(result: CliResult): void {
  expect(result.code, result.stderr).toBe(0);
  const rows = result.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  // buyers loses c03 (now capped: it joined vip) and c08, gains c04; vip gains c03; sms_fans gains c03 and c04, loses c08.
  expect(rows.map((r) => [r['model'], r['audience'], r['members'], r['previous_members'], r['change'], r['entered'], r['exited']])).toEqual([
    ['segs', 'buyers', 2, 3, -1, 1, 2],
    ['segs', 'vip', 4, 3, 1, 1, 0],
    ['segs', 'sms_fans', 5, 4, 1, 2, 1],
    ['promos', 'newsletter', 7, 7, 0, 0, 0],
  ]);
  for (const row of rows) expect(row['built_at']).toMatch(/^\d{4}-\d\d-\d\dT/);
}

/**
 * `tideline run` in this process (building is not what this file tests, and each start of the executable costs
 * seconds): the selected models, as the command builds them.
 */
async function build(w: Warehouse, select?: string[]): Promise<void> {
  const project = await loadProject({ projectDir: w.root, target: 'test' });
  await w.use(async (connection) => {
    const results = await runModels(project, connection, await analyseProject(project, connection), selectModels(project, select), { logger: createLogger({ level: 'silent' }) });
    expect(results.map((r) => [r.model, r.status, r.error])).toEqual(results.map((r) => [r.model, 'success', null]));
  });
}

let inProcess: Promise<unknown> = Promise.resolve();

/**
 * `tideline audience …` in this process, for the commands whose output only is checked: the program main.ts runs,
 * with stdout captured. One at a time (stdout is shared).
 * The real executable runs the rest, so that registration, exit codes and logged errors are covered end to end.
 */
function audienceCommand(root: string, ...args: string[]): Promise<CliResult> {
  const run = async (): Promise<CliResult> => {
    const program = await buildProgram();
    let stdout = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    }) as typeof process.stdout.write);
    try {
      await program.parseAsync(['audience', ...args, '--project', root, '--target', 'test', '--log-level', 'error'], { from: 'user' });
      return { code: Number(process.exitCode ?? 0), stdout, stderr: '' };
    } finally {
      write.mockRestore();
      process.exitCode = undefined;
    }
  };
  const result = inProcess.then(run);
  inProcess = result.catch(() => undefined);
  return result;
}

async function changeOrders(w: Warehouse): Promise<void> {
  await w.use((connection) =>
    connection.execute(
      sql`UPDATE ${connection.dialect.table({ schema: `${w.tag}_raw`, name: 'customers' })} SET orders = CASE customer_id WHEN 'c03' THEN 4 WHEN 'c04' THEN 2 WHEN 'c08' THEN 0 ELSE orders END`,
    ),
  );
}

/**
 * Each engine runs one flow, the two side by side: DuckDB with the audiences reading a model (built first, as users
 * do), PostgreSQL reading a source. Commands holding a DuckDB file run one at a time (it admits one process).
 */
describe('tideline audience preview and list', () => {
  const [duckdb, postgres] = engines();

  it.concurrent('on duckdb: unknown audience, upstream not built, preview without building, list across two runs', async () => {
    const tag = tagFor('duckdb');
    const config = configFor(duckdb!);
    const root = project(config, tag, audiencesYaml(`${SOURCE(tag)}\n  - { name: people, kind: staging, from: raw_customers }`, 'people'));
    const w = warehouse(config, root, tag);
    await seed(w);
    const cli = (...args: string[]) => runCli([...args, '--target', 'test', '--log-format', 'pretty'], { cwd: root });

    // The unknown name is found before connecting, so it may run beside a command holding the DuckDB file.
    const [unknown, early] = await Promise.all([cli('audience', 'preview', 'byers'), cli('audience', 'preview', 'buyers')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error: unknown audience "byers" (did you mean "buyers"?); audiences: buyers, vip, sms_fans, newsletter');
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('audience buyers (model segs) reads people, which is not built in target test: run `tideline run --select +segs` first');

    await build(w, ['people']);
    const before = await tablesOf(w);
    expect(before).toEqual([`${tag}.people`, `${tag}_raw.customers`, `schema ${tag}`, `schema ${tag}_raw`]);
    expectBuyersPreview(await audienceCommand(root, 'preview', 'buyers'));
    // Nothing was materialised: not the model's table, nor its companions.
    expect(await tablesOf(w)).toEqual(before);
    const never = await audienceCommand(root, 'list');
    expect(never.code).toBe(0);
    expect(never.stdout).toContain('segs: never built in target test; run `tideline run --select +segs`\n  buyers    email  never built\n');

    await build(w);
    // What the build stored agrees with the preview's groups.
    const built = await w.use((connection) =>
      connection.query(
        sql`SELECT audience_group, COUNT(*) AS n FROM ${connection.dialect.table({ schema: tag, name: 'segs' })} WHERE audience = 'buyers' AND audience_status = 'member' GROUP BY audience_group`,
      ),
    );
    expect(Object.fromEntries(built.map((r) => [r['audience_group'], Number(r['n'])]))).toEqual({ holdout: 2, subject_a: 1 });
    const listed = await audienceCommand(root, 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^segs: last built \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/m);
    expect(listed.stdout).toMatch(/^ {2}buyers +email +3 members; first build: 3 entered \(2 held out, 2 without consent, 3 capped by pressure\)$/m);
    expect(listed.stdout).toMatch(/^ {2}sms_fans +sms +4 members; first build: 4 entered \(2 without consent\)$/m);
    expect(listed.stdout).toMatch(/^ {2}newsletter +email +7 members; first build: 7 entered \(3 without consent\)$/m);

    await changeOrders(w);
    await build(w);
    const changed = await audienceCommand(root, 'list');
    expect(changed.stdout).toMatch(/^ {2}buyers +email +2 members; -1 since the previous build: 1 entered, 2 left \(2 without consent, 4 capped by pressure\)$/m);
    expect(changed.stdout).toMatch(/^ {2}newsletter +email +7 members; ±0 since the previous build: 0 entered, 0 left \(3 without consent\)$/m);
    expectChanges(await audienceCommand(root, 'list', '--json'));
  });

  (postgres ? it.concurrent : it.skip)('on postgres: preview without building, masked and with --show-pii; list across two runs', async () => {
    const tag = tagFor('postgres');
    const config = configFor(postgres!);
    const root = project(config, tag, audiencesYaml(SOURCE(tag), 'raw_customers'));
    const w = warehouse(config, root, tag);
    await seed(w);
    const cli = (...args: string[]) => runCli([...args, '--target', 'test', '--log-format', 'pretty'], { cwd: root });
    const before = await tablesOf(w);
    expect(before).toEqual([`${tag}_raw.customers`, `schema ${tag}_raw`]);

    const [text, json] = await Promise.all([cli('audience', 'preview', 'buyers'), cli('audience', 'preview', 'sms_fans', '--show-pii', '--json')]);
    expectBuyersPreview(text);
    expect(json.code, json.stderr).toBe(0);
    const preview = JSON.parse(json.stdout) as Record<string, unknown>;
    // sms_fans: c01 c05 c08 c10; c02 and c06 lack sms consent; it shares c01 and c10 with vip, c08 with buyers.
    expect(preview).toMatchObject({
      model: 'segs',
      audience: 'sms_fans',
      channel: 'sms',
      qualified: 6,
      size: 4,
      groups: [{ group: 'treatment', members: 4 }],
      dropped: { noConsent: 2, capped: 0 },
      overlap: [
        { model: 'segs', audience: 'buyers', members: 1 },
        { model: 'segs', audience: 'vip', members: 2 },
        { model: 'promos', audience: 'newsletter', members: 3 },
      ],
      pii_masked: false,
    });
    expect((preview['samples'] as Record<string, unknown>[]).map((s) => [s['customer_id'], s['email'], s['audience_group']])).toEqual([
      ['c01', 'ann@x.org', 'treatment'],
      ['c05', 'eve@x.org', 'treatment'],
      ['c08', 'hal@x.org', 'treatment'],
      ['c10', 'jon@x.org', 'treatment'],
    ]);
    // Nothing was materialised: not the model schema, table or companions.
    expect(await tablesOf(w)).toEqual(before);
    const never = await audienceCommand(root, 'list');
    expect(never.stdout).toContain('promos: never built in target test; run `tideline run --select +promos`\n  newsletter  email  never built\n');

    await build(w);
    await changeOrders(w);
    await build(w);
    expectChanges(await audienceCommand(root, 'list', '--json'));
  });
});
