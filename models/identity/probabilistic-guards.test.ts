import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import { createLogger } from '../../src/log/logger.js';
import { runModels } from '../../src/pipeline/runner.js';
import { analyseProject } from '../../src/project/analyse.js';
import type { Project } from '../../src/project/loader.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { openTarget } from '../../src/warehouses/registry.js';
import { tempProject } from '../../test/support/cli.js';
import { engines, uniqueSchema, type Engine } from '../../test/support/engines.js';
import { build, identityProject } from '../../test/support/identity-project.js';
import { at, modelProblems } from '../../test/support/problems.js';
import { FIELDS, FIRST, LAST, population, type Row } from '../../test/support/identity-population.js';
import { seededRandom } from '../ltv/simulate.js';
import type { OutputColumn } from '../model-kind.js';
import { PARAMETERS_CARRY } from './train.js';
import { tidelineInProcess } from '../../test/support/in-process.js';

/**
 * Regression tests for the defects an independent review found in probabilistic identity: a shop's e-mail on many
 * records ignored by scoring as by the rules; tiny sources training to finite parameters; parameters carried (re-used,
 * retrained by a full refresh or by running their carry step fresh with customer ids kept, kept when a build fails,
 * through the runner and through `tideline identity train`); located problems for identifiers named `match`, a
 * comparison left out that no source provides, a model that cannot block; and the random sample independent of how
 * records are numbered. On DuckDB and PostgreSQL. Every test here fails on the code before the fixes (94db161).
 */

// ---- a generated population (the generator of probabilistic.test.ts) --------------------------------------------

const ROWS = population(2021, 212, 'p');

/**
 * 60 different people typed at a shop's till: its e-mail and postcode on every one, no birth date, names of the same
 * common lists (no two with both names alike; some share a first name or a surname, as strangers do).
 */
function tillCustomers(seed: number): Row[] {
  const random = seededRandom(seed);
  const names = new Set<string>();
  while (names.size < 60) names.add(`${FIRST[Math.floor(random() * FIRST.length)]} ${LAST[Math.floor(random() * LAST.length)]}`);
  return [...names].map((name, i) => {
    const [first, surname] = name.split(' ') as [string, string];
    return { id: `till-${i}`, person: 1000 + i, email: 'orders@shop.example', first_name: first, surname, dob: null, postcode: '75001' };
  });
}
const TILL = tillCustomers(75);

const NULLS = (id: string): Row => ({ id, person: -1, email: null, first_name: null, surname: null, dob: null, postcode: null });
const TINY: Record<string, Row[]> = {
  none: [],
  one: [ROWS[0]!],
  twins: [ROWS[0]!, { ...ROWS[0]!, id: 'twin' }],
  blank: [NULLS('b1'), NULLS('b2'), NULLS('b3')],
};

/** The identity model `name` reading `table`, scoring alone with every setting from the identifier types. */
const MODEL = (name: string, table: string, probabilistic = '{}', extra = '') => `  - name: ${name}
    kind: identity
    identifiers:
      email: email
      first_name: name
      surname: name
      birth_date: date
      postcode: postcode
    sources:
      - from: ${table}
        id: id
        identifiers: { email: email, first_name: first_name, surname: surname, birth_date: dob, postcode: postcode }
    probabilistic: ${probabilistic}
${extra}`;
const SOURCES = (schema: string, tables: readonly string[]) => `sources:\n${tables.map((t) => `  - name: ${t}\n    table: ${schema}.${t}\n`).join('')}models:\n`;

// ---- problems, located --------------------------------------------------------------------------------------------

const COLUMNS: Record<string, OutputColumn[]> = {
  accounts: ['id', 'email', 'first_name', 'surname', 'dob', 'postcode', 'note', 'ref'].map((name): OutputColumn => ({ name, type: 'string' })),
};

const problems = (yaml: string, target: 'duckdb' | 'postgres') => modelProblems(yaml, target, COLUMNS);

const PROBLEM_MODEL = (identifiers: string, mapped: string, probabilistic: string) => `sources:
  - name: accounts
    table: raw.accounts
models:
  - name: people
    kind: identity
    identifiers:
${identifiers}    sources:
      - from: accounts
        id: id
        identifiers: { ${mapped} }
    probabilistic: ${probabilistic}
`;

for (const target of ['duckdb', 'postgres'] as const) {
  describe(`identity probabilistic guards: problems (${target})`, () => {
    it('an identifier named `match` compared by scoring', async () => {
      const yaml = PROBLEM_MODEL('      email: email\n      match: code\n', 'email: email, match: ref', '{}');
      expect(await problems(yaml, target)).toEqual([
        `models/people.yml:${at(yaml, 'match: code')}  models[0].identifiers.match  an identifier compared by \`probabilistic\` cannot be named "match" (its weight column would clash with match_weight in <model>_pairs); rename it`,
      ]);
      // Left out of the comparisons, it clashes with nothing.
      expect(await problems(PROBLEM_MODEL('      email: email\n      match: code\n', 'email: email, match: ref', '{ comparisons: { match: false } }'), target)).toEqual([]);
    });

    it('a comparison set to false for an identifier no source provides', async () => {
      expect(await problems(PROBLEM_MODEL('      email: email\n      phone: phone\n', 'email: email', '{ comparisons: { phone: false } }'), target)).toEqual([]);
    });

    it('only free text compared, no blocking', async () => {
      const yaml = PROBLEM_MODEL('      note: text\n', 'note: note', '{}');
      expect(await problems(yaml, target)).toEqual([
        `models/people.yml:${at(yaml, '{}')}  models[0].probabilistic  no blocking rule: the compared identifiers are all free text, which is not blocked on by default; give \`blocking\` (e.g. \`blocking: [[surname, birth_date]]\`)`,
      ]);
      // With a blocking rule it builds.
      expect(await problems(PROBLEM_MODEL('      note: text\n', 'note: note', '{ blocking: [[note]] }'), target)).toEqual([]);
    });
  });
}

// ---- builds ---------------------------------------------------------------------------------------------------

for (const engine of engines()) {
  describe(`identity probabilistic guards on ${engine.name}`, () => {
    const d = engine.dialect;
    const schema = uniqueSchema('idguard');
    let connection: Connection;
    const table = (name: string) => d.table({ schema, name });
    const rows = async (query: Sql) => connection.query(query);
    const columns = ['id', ...FIELDS].map((name) => ({ name, type: 'string' as const }));

    const createTable = async (name: string, data: readonly Row[]) => {
      await connection.execute(sql`CREATE TABLE ${table(name)} (${joinSql(columns.map((c) => sql`${d.id(c.name)} ${d.type('string')}`))})`);
      if (data.length) await connection.insertRows({ schema, name }, columns, [data.map((r) => [r.id, ...FIELDS.map((f) => r[f])])]);
    };

    beforeAll(async () => {
      connection = await engine.open();
      for (const statement of d.setupStatements()) await connection.execute(statement).catch(() => undefined);
      await connection.execute(d.createSchema(schema));
      await createTable('shared', [...ROWS, ...TILL]);
      await createTable('accounts', ROWS);
      // The same records and one with no identifier whose id sorts first: records are numbered by source and id, so
      // every number moves by one; a record without identifiers is neither sampled nor compared.
      await createTable('shifted', [NULLS('a-first'), ...ROWS]);
      for (const [name, data] of Object.entries(TINY)) await createTable(`tiny_${name}`, data);
    });
    afterAll(async () => {
      await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(schema)} CASCADE`);
      await connection.close();
    });

    const parameters = async (model: string) =>
      (await rows(sql`SELECT * FROM ${table(`${model}_parameters`)} ORDER BY ${d.id('comparison')}, ${d.id('gamma')}`)).map((r) => ({
        comparison: String(r['comparison']),
        gamma: Number(r['gamma']),
        m: Number(r['m']),
        u: Number(r['u']),
        weight: Number(r['weight']),
        trainedAt: new Date(r['trained_at'] as string | Date).getTime(),
      }));
    const trainedAt = async (model: string) => {
      const times = new Set((await parameters(model)).map((p) => p.trainedAt));
      expect(times.size).toBe(1);
      return [...times][0]!;
    };
    const map = async (model: string) =>
      new Map((await rows(sql`SELECT ${d.id('source_id')}, ${d.id('customer_id')} FROM ${table(`${model}_map`)}`)).map((r) => [String(r['source_id']), String(r['customer_id'])]));
    /** Builds with `fresh` carry steps; the result, not thrown. */
    const buildFresh = async (project: Project, model: string, fresh: readonly string[]) => {
      const analysis = await analyseProject(project, connection);
      const [result] = await runModels(project, connection, analysis, [model], { logger: createLogger({ level: 'silent' }), fresh });
      return result!;
    };
    /** Lets the clock move on, so that a retraining is seen in trained_at. */
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

    it("a shop's e-mail on 60 people's records links none of them; the report and the summary say it was ignored", async () => {
      const project = await identityProject(engine, schema, `${SOURCES(schema, ['shared'])}${MODEL('shop', 'shared')}`);
      const result = await build(project, connection, 'shop');
      const built = await map('shop');
      expect(built.size).toBe(ROWS.length + TILL.length);
      expect(new Set(TILL.map((r) => built.get(r.id))).size).toBe(TILL.length);
      // Nor with anyone else: no customer holding a till record holds another record.
      const holders = new Map<string, number>();
      for (const customer of built.values()) holders.set(customer, (holders.get(customer) ?? 0) + 1);
      for (const r of TILL) expect(holders.get(built.get(r.id)!), r.id).toBe(1);
      const ignored = await rows(sql`SELECT ${d.id('item')}, ${d.id('value')} FROM ${table('shop_report')} WHERE ${d.id('metric')} = 'scoring_ignored_values'`);
      expect(ignored.map((r) => [String(r['item']), Number(r['value'])])).toEqual([['email', 1]]);
      expect(result.summary?.lines).toContain('Scoring ignored values shared by more than 50 records: 1 of email.');
      // The rest is still resolved by scoring: some of the generated people's records are linked.
      expect(holders.size).toBeLessThan(ROWS.length + TILL.length - 50);
    });

    it('a source of 0, 1, 2 identical or 3 identifier-less records builds, with finite parameters', async () => {
      const names = Object.keys(TINY);
      const project = await identityProject(engine, schema, `${SOURCES(schema, names.map((n) => `tiny_${n}`))}${names.map((n) => MODEL(`tiny_${n}_people`, `tiny_${n}`)).join('')}`);
      for (const name of names) {
        await build(project, connection, `tiny_${name}_people`);
        const params = await parameters(`tiny_${name}_people`);
        expect(params.length, name).toBeGreaterThan(0);
        for (const p of params) {
          const where = `${name} ${p.comparison}:${p.gamma}`;
          expect([p.m, p.u, p.weight].every(Number.isFinite), `${where} m ${p.m} u ${p.u} weight ${p.weight}`).toBe(true);
          expect(p.u, where).toBeGreaterThan(0);
          expect(p.u, where).toBeLessThanOrEqual(1);
        }
        expect((await map(`tiny_${name}_people`)).size).toBe(TINY[name]!.length);
      }
    });

    it('parameters are re-used, retrained by a full refresh or a fresh carry step (customer ids carried), kept when the build fails', async () => {
      await connection.execute(sql`CREATE TABLE ${table('carry')} AS SELECT * FROM ${table('accounts')}`);
      const yaml = (extra = '') => `${SOURCES(schema, ['carry'])}${MODEL('carried', 'carry', '{}', extra)}`;
      const project = await identityProject(engine, schema, yaml());
      await build(project, connection, 'carried');
      const first = await trainedAt('carried');
      await tick();
      await build(project, connection, 'carried');
      expect(await trainedAt('carried')).toBe(first);

      await tick();
      await build(project, connection, 'carried', { fullRefresh: true });
      const refreshed = await trainedAt('carried');
      expect(refreshed).toBeGreaterThan(first);

      // A copy of one person's record whose id sorts first: the customer it joins would take its id from it if ids
      // were started afresh; carried, the customer keeps its id.
      const person = ROWS[0]!;
      await connection.insertRows({ schema, name: 'carry' }, columns, [[['a-copy', ...FIELDS.map((f) => person[f])]]]);
      const before = await map('carried');
      await tick();
      const fresh = await buildFresh(project, 'carried', [PARAMETERS_CARRY]);
      expect(fresh.status, fresh.error ?? '').toBe('success');
      const retrained = await trainedAt('carried');
      expect(retrained).toBeGreaterThan(refreshed);
      const after = await map('carried');
      for (const [id, customer] of before) expect(after.get(id), id).toBe(customer);
      expect(after.get('a-copy')).toBe(before.get(person.id));

      // A build that fails after training (its table over `max_rows`), run with the parameters fresh: the parameters
      // are those of the last build that succeeded, as is the map.
      const kept = await parameters('carried');
      await tick();
      const failing = await identityProject(engine, schema, yaml('    checks: { max_rows: 1 }\n'));
      const failed = await buildFresh(failing, 'carried', [PARAMETERS_CARRY]);
      expect(failed.status).toBe('error');
      expect(failed.error).toContain('max_rows');
      expect(await parameters('carried')).toEqual(kept);
      expect(await map('carried')).toEqual(after);
    });

    it('the random sample does not depend on how records are numbered', async () => {
      // sample_pairs at its least draws 46 records of ~370: a sample that would change with the numbering.
      const settings = '{ sample_pairs: 1000 }';
      // The source is named `accounts` in both projects: the records are the same `accounts:<id>`.
      const source = (table: string) => `sources:\n  - name: accounts\n    table: ${schema}.${table}\nmodels:\n`;
      await build(await identityProject(engine, schema, `${source('accounts')}${MODEL('plain', 'accounts', settings)}`), connection, 'plain');
      await build(await identityProject(engine, schema, `${source('shifted')}${MODEL('renumbered', 'accounts', settings)}`), connection, 'renumbered');
      const [plain, shifted] = [await parameters('plain'), await parameters('renumbered')];
      expect(shifted.map((p) => `${p.comparison}:${p.gamma}`)).toEqual(plain.map((p) => `${p.comparison}:${p.gamma}`));
      for (const [i, p] of plain.entries()) {
        const where = `${p.comparison}:${p.gamma}`;
        expect(Math.abs(shifted[i]!.m - p.m), `m ${where}`).toBeLessThan(1e-12);
        expect(Math.abs(shifted[i]!.u - p.u), `u ${where}`).toBeLessThan(1e-12);
      }
    });
  });
}

// ---- `tideline identity train` on a build that fails ------------------------------------------------------------

const tideline = (args: readonly string[]) => tidelineInProcess(args);

/** The project's warehouse: its DuckDB file, or the test PostgreSQL database. */
const openWarehouse = (engine: Engine, root: string) => (engine.name === 'duckdb' ? openTarget({ type: 'duckdb', path: '.tideline/warehouse.duckdb' }, { root }) : engine.open(root));

for (const engine of engines()) {
  describe(`tideline identity train on ${engine.name}`, () => {
    const d = engine.dialect;
    const schema = uniqueSchema('idguard');
    const raw = `${schema}_raw`;
    let root: string;
    const models = (extra = '') => `sources:\n  - name: accounts\n    table: ${raw}.accounts\nmodels:\n${MODEL('people', 'accounts', '{}', extra)}`;
    const run = (...args: string[]) => tideline(['--project', root, '--target', engine.name, '--log-format', 'json', ...args]);
    const withWarehouse = async <T>(body: (connection: Connection) => Promise<T>): Promise<T> => {
      const connection = await openWarehouse(engine, root);
      try {
        return await body(connection);
      } finally {
        await connection.close();
      }
    };
    const parameters = () => withWarehouse((c) => c.query(sql`SELECT * FROM ${d.table({ schema, name: 'people_parameters' })} ORDER BY ${d.id('comparison')}, ${d.id('gamma')}`));

    beforeAll(async () => {
      root = tempProject({
        'tideline.yml': `name: guards\ntarget: ${engine.name}\nschema: ${schema}\ntargets:\n  duckdb:\n    type: duckdb\n  postgres:\n    type: postgres\n    url: \${env:TIDELINE_TEST_PG_URL:-postgres://localhost/none}\n`,
        'models/people.yml': models(),
      });
      if (engine.name === 'postgres') process.env['TIDELINE_TEST_PG_URL'] = (engine.target as { url: string }).url;
      const columns = ['id', ...FIELDS].map((name) => ({ name, type: 'string' as const }));
      await withWarehouse(async (c) => {
        await c.execute(d.createSchema(raw));
        await c.execute(sql`CREATE TABLE ${d.table({ schema: raw, name: 'accounts' })} (${joinSql(columns.map((col) => sql`${d.id(col.name)} ${d.type('string')}`))})`);
        await c.insertRows({ schema: raw, name: 'accounts' }, columns, [ROWS.map((r) => [r.id, ...FIELDS.map((f) => r[f])])]);
      });
    });
    afterAll(async () => {
      if (engine.name === 'postgres')
        await withWarehouse(async (c) => {
          for (const s of [schema, raw]) await c.execute(sql`DROP SCHEMA IF EXISTS ${d.id(s)} CASCADE`);
        });
    });

    it('a build that fails after training leaves the parameters as they were', async () => {
      const first = await run('run', '--select', 'people');
      expect(first.code, first.stderr).toBe(0);
      const before = await parameters();
      expect(before.length).toBeGreaterThan(0);
      // Retraining, then failing after the training step: the customers table is over `max_rows`.
      writeFileSync(join(root, 'models/people.yml'), models('    checks: { max_rows: 1 }\n'));
      const failed = await run('identity', 'train', '--model', 'people');
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('max_rows');
      expect(await parameters()).toEqual(before);
    });
  });
}
