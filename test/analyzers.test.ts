/**
 * Every statement Tideline sends to BigQuery or Snowflake, analysed by that warehouse's own SQL frontend (ZetaSQL,
 * and its Snowflake build: test/support/analyzers.ts) instead of only compared with golden files.
 *
 * The commands run for real, in this process, with the target's connection replaced by one whose warehouse is the
 * analyzer (test/support/analysing-connection.ts): its catalog starts empty and follows the statements, so every
 * statement is checked against the tables and columns the statements before it created — the seeded sources, the
 * state schema, the models' tables with the types their SELECTs resolve to. Queries return no rows.
 *
 * Zero analysis errors, apart from the exceptions listed with their reasons in test/analyzers/exceptions.ts.
 * `npm ci --prefix tools/analyzers` installs the analyzers; without them the suite is skipped loudly, and fails
 * when TIDELINE_ANALYZERS=1 (CI).
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SHOP, generateShop } from '../examples/shop/generate.js';
import { Sql, sql } from '../src/dialects/sql.js';
import { DIALECTS } from '../src/dialects/registry.js';
import { StateStore } from '../src/state/store.js';
import { bigquery } from '../src/warehouses/bigquery/warehouse.js';
import { snowflake } from '../src/warehouses/snowflake/warehouse.js';
import { ANSWERS } from './analyzers/answers.js';
import { DECLARED, EXAMPLE_SQL, REWRITES } from './analyzers/exceptions.js';
import { LINTS } from './analyzers/lints.js';
import * as identityShop from './fixtures/identity-shop/seed.js';
import * as metricsMini from './fixtures/metrics-mini/seed.js';
import * as shopMini from './fixtures/shop-mini/seed.js';
import { AnalysingConnection, type Analysed } from './support/analysing-connection.js';
import { analysisError, ANALYZERS_REQUIRED, analyzersInstalled, functionProtos, INSTALL_ANALYZERS, startAnalyzer, T, type AnalysedDialect, type Analyzer } from './support/analyzers.js';
import { GOLDEN_TARGETS } from './support/golden.js';
import { tidelineInProcess } from './support/in-process.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const SHOP = join(import.meta.dirname, '../examples/shop');
const DIALECT_NAMES: readonly AnalysedDialect[] = ['bigquery', 'snowflake'];
const WAREHOUSE = { bigquery, snowflake } as const;

const installed = analyzersInstalled();
if (!installed) {
  const message = `the SQL analyzers are not installed: ${INSTALL_ANALYZERS} installs them (about 220 MB)`;
  if (ANALYZERS_REQUIRED) throw new Error(`TIDELINE_ANALYZERS=1 but ${message}`);
  console.warn(`\n*** SKIPPED: BigQuery and Snowflake SQL analysis — ${message}. ***\n`);
}

/** A project and what its warehouse holds before the commands: seed statements, or the example's generator. */
interface Flow {
  readonly name: string;
  /** The project folder (examples/shop is copied, with warehouse targets and its hand-written SQL translated). */
  readonly project: (dialect: AnalysedDialect) => string;
  readonly seed: (connection: AnalysingConnection) => Promise<void>;
  readonly commands: readonly (readonly string[])[];
  /** Statements sent after the commands, straight through Tideline's own code (what the commands only send with rows). */
  readonly after?: (connection: AnalysingConnection) => Promise<void>;
}

const seeded = (statements: (d: AnalysingConnection['dialect']) => Sql[]) => async (c: AnalysingConnection) => {
  for (const statement of statements(c.dialect)) await c.execute(statement);
};

const scratch: string[] = [];

/** examples/shop with the golden targets, its `sql` models in the dialect's SQL (EXAMPLE_SQL), each translation used. */
function shopProject(dialect: AnalysedDialect): string {
  const dir = mkdtempSync(join(tmpdir(), `tideline-analysed-shop-${dialect}-`));
  scratch.push(dir);
  for (const entry of ['tideline.yml', 'models', 'syncs']) cpSync(join(SHOP, entry), join(dir, entry), { recursive: true });
  const config = readFileSync(join(dir, 'tideline.yml'), 'utf8');
  const targets = GOLDEN_TARGETS.slice(0, GOLDEN_TARGETS.indexOf('\ntarget:') + 1);
  writeFileSync(join(dir, 'tideline.yml'), config.replace(/^targets:\n/m, targets).replace(/^target: dev\n/m, ''));
  // A source with freshness and data tests, so that its checks (run, sync, source freshness, test) are analysed too.
  const sources = join(dir, 'models/sources.yml');
  const declared = readFileSync(sources, 'utf8').replace('    table: raw.orders\n', '    table: raw.orders\n    freshness: { loaded_at: ordered_at, warn_after: 1 day, error_after: 30 days }\n');
  if (!declared.includes('freshness:')) throw new Error("examples/shop's orders source moved: the suite adds freshness to it");
  writeFileSync(sources, declared.replace('    freshness: { loaded_at: ordered_at', '    tests: [{ not_null: order_id }, { unique: order_id }, { row_count: { min: 1 } }, { expression: "order_id IS NOT NULL" }]\n    freshness: { loaded_at: ordered_at'));
  // Data tests of every kind, so that `tideline test` and `build` are analysed too.
  const staging = join(dir, 'models/staging.yml');
  const tested = readFileSync(staging, 'utf8').replace(
    '    from: eshop_accounts\n',
    '    from: eshop_accounts\n    tests:\n      - unique: [account_id, email]\n      - accepted_values: { column: country, values: [FR, BE], severity: warn }\n      - relationships: { column: account_id, to: eshop_accounts }\n',
  );
  if (!tested.includes('relationships:')) throw new Error("examples/shop's eshop_customers moved: the suite adds data tests to it");
  writeFileSync(staging, tested);
  const unused = new Set(EXAMPLE_SQL[dialect].map((t) => t.name));
  for (const file of readdirSync(join(dir, 'models'))) {
    const path = join(dir, 'models', file);
    let text = readFileSync(path, 'utf8');
    for (const translation of EXAMPLE_SQL[dialect]) {
      const next = text.replace(translation.from, translation.to);
      if (next !== text) unused.delete(translation.name);
      text = next;
    }
    writeFileSync(path, text);
  }
  if (unused.size) throw new Error(`translations of the example's SQL that match nothing any more: ${[...unused].join(', ')}`);
  return dir;
}

/**
 * identity-shop with probabilistic scoring beside its rules, every kind of level and setting written out (as the
 * golden identity_people_probabilistic_levels; Jaro-Winkler only where the warehouse has it).
 */
function probabilisticProject(dialect: AnalysedDialect): string {
  const dir = mkdtempSync(join(tmpdir(), `tideline-analysed-identity-${dialect}-`));
  scratch.push(dir);
  cpSync(join(FIXTURES, 'identity-shop'), dir, { recursive: true });
  const jaroWinkler = DIALECTS[dialect].functions.jaroWinkler !== null ? '{ jaro_winkler: 0.92 }, ' : '';
  const block = `    probabilistic:
      threshold: 0.95
      review: 0.6
      max_block: 50
      comparisons:
        email: { levels: [exact, { edit_distance: 1 }], term_frequency: true }
        first_name: { levels: [exact, ${jaroWinkler}{ edit_distance: 1 }, { swapped_with: last_name }, initial] }
        last_name: { levels: [exact, { swapped_with: first_name }, { prefix: 4 }], term_frequency: false }
        birth_date: { levels: [exact, swapped_day_month, { within_days: 31 }] }
        postcode: { levels: [exact, { prefix: 2 }] }
      blocking:
        - [email]
        - [last_name, { identifier: first_name, prefix: 1 }]
        - [postcode, birth_date]
    golden:
`;
  const path = join(dir, 'models/people.yml');
  const model = readFileSync(path, 'utf8');
  if (!model.includes('    golden:\n')) throw new Error('identity-shop has no `golden:` block to put `probabilistic:` before');
  writeFileSync(path, model.replace('    golden:\n', block));
  return dir;
}

const FLOWS: readonly Flow[] = [
  {
    name: 'shop-mini (staging, sql)',
    project: () => join(FIXTURES, 'shop-mini'),
    seed: seeded(shopMini.seedStatements),
    commands: [['run'], ['run', '--full-refresh'], ['compile']],
  },
  {
    name: 'metrics-mini (customers, rfm, ltv)',
    project: () => join(FIXTURES, 'metrics-mini'),
    seed: seeded(metricsMini.seedStatements),
    commands: [['run'], ['run', '--full-refresh']],
  },
  {
    name: 'identity-shop (identity rounds)',
    project: () => join(FIXTURES, 'identity-shop'),
    seed: seeded((d) => identityShop.seedStatements(d)),
    commands: [['run'], ['run', '--full-refresh'], ['identity', 'explain', 'eshop:1']],
  },
  {
    name: 'identity-shop with probabilistic scoring (training, pairs)',
    project: probabilisticProject,
    seed: seeded((d) => identityShop.seedStatements(d)),
    commands: [['run'], ['run'], ['identity', 'train'], ['identity', 'explain', 'eshop:1', '--with', 'tills:1']],
  },
  {
    name: 'examples/shop (every kind, syncs, audiences, events, report, privacy)',
    project: shopProject,
    seed: async (c) => void (await generateShop(c, { ...DEFAULT_SHOP, customers: 40, anchor: '2026-06-30' })),
    commands: [
      ['run'],
      ['plan'],
      ['sync', '--sandbox'],
      ['sync', '--sandbox'],
      ['run'],
      ['run', '--full-refresh'],
      ['identity', 'explain', 'eshop:1'],
      ['audience', 'preview', 'newsletter'],
      ['audience', 'list'],
      ['report'],
      ['status', '--sandbox'],
      ['rejected', 'hubspot_contacts', '--sandbox'],
      ['audit', '--sandbox'],
      ['forget', '--email', 'someone@example.com', '--sandbox'],
      ['audit', '--erasures', '--sandbox'],
      ['source', 'freshness'],
      ['test'],
      // build's statements are run's, test's and sync's (the same code paths, analysed above): one model and its tests
      // show its own order of them without building the whole shop a fourth time.
      ['build', '--select', 'eshop_customers', '--sandbox'],
    ],
    // What a sync writes only when it sends records (queries return no rows here): the journal's dispatch marks and
    // outcomes, accepted, rejected with a message, and in doubt, through the state store the engine writes with.
    after: async (c) => {
      const store = new StateStore(c, 'tideline_state_sandbox');
      c.during = 'journal of a sync that sent records';
      await store.markDispatched('hubspot_contacts', [{ seq: 1, retained: null }, { seq: 2, retained: 'kept' }]);
      await store.appendJournal('hubspot_contacts', [
        { seq: 1, accepted: true, destinationId: '1001', retained: null, code: null, message: null, retryable: null },
        { seq: 2, accepted: false, destinationId: null, retained: 'kept', code: 'INVALID_EMAIL', message: "l'adresse n'est pas valide", retryable: false },
        { seq: 3, accepted: null, destinationId: null, retained: null, code: 'in_doubt', message: null, retryable: true },
      ]);
      // A part of a run's journal folded while it sends (its keys' range asked of the change set), then the rest.
      c.during = 'journal folded in parts';
      const audit = { destination: 'hubspot', type: 'hubspot', object: 'contacts', mode: 'upsert', fields: ['email'] };
      // The change set the folds read (a run drops its own when it ends): the columns they read.
      const text = (name: string) => ({ name, type: 'string' as const });
      await c.execute(c.dialect.createTable(store.changes('hubspot_contacts'), [{ name: 'seq', type: 'integer' }, text('op'), text('record_key'), text('record_hash')]));
      const range = await store.foldKeys('hubspot_contacts', { after: 0, upTo: 2 });
      await store.applyJournal('hubspot_contacts', 'run-1', { through: { ...range, keys: { low: 'a@example.com', high: 'z@example.com' } }, audit });
      await store.applyJournal('hubspot_contacts', 'run-1', { deadRun: true, audit });
    },
  },
];

describe.skipIf(!installed)('BigQuery and Snowflake statements, analysed by their SQL frontends', () => {
  const analyzers = new Map<AnalysedDialect, Analyzer>();
  const results = new Map<AnalysedDialect, { analysed: Analysed[]; rewrites: Set<string>; declared: Set<string>; functions: Set<string> }>();

  beforeAll(async () => {
    process.env['SHOP_AS_OF'] = '2026-06-30';
    for (const dialect of DIALECT_NAMES) analyzers.set(dialect, await startAnalyzer(dialect));
  });
  afterAll(() => {
    for (const analyzer of analyzers.values()) analyzer.close();
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
    vi.restoreAllMocks();
  });

  /** Seeds an analysing connection, runs the flow's commands on it, and returns it with the commands that failed. */
  async function runFlow(dialect: AnalysedDialect, flow: Flow, mutate?: () => { mockRestore(): void }): Promise<{ connection: AnalysingConnection; failed: string[] }> {
    const connection = new AnalysingConnection(DIALECTS[dialect], analyzers.get(dialect)!, DECLARED[dialect], REWRITES[dialect], ANSWERS, LINTS);
    connection.during = 'seed';
    await flow.seed(connection);
    // A mutation of the dialect applies to the commands, not to the seed (the warehouse as it was).
    const mutation = mutate?.();
    const open = vi.spyOn(WAREHOUSE[dialect], 'open').mockResolvedValue(connection);
    const project = flow.project(dialect);
    const failed: string[] = [];
    try {
      for (const args of flow.commands) {
        connection.during = args.join(' ');
        const before = connection.analysed.length;
        const out = await tidelineInProcess([...args, '--project', project, '--target', dialect, '--log-format', 'json']);
        if (out.code !== 0) {
          const lines = `${out.stdout}\n${out.stderr}`.split('\n');
          const errors = lines.filter((l) => /"level":"(error|fatal)"|^error/.test(l));
          failed.push(`tideline ${args.join(' ')} exited ${out.code}: ${(errors.length ? errors : lines.slice(-10)).join('\n')}`);
        }
        // `compile` writes files and sends nothing.
        if (connection.analysed.length === before && args[0] !== 'compile') failed.push(`tideline ${args.join(' ')} sent no statement`);
      }
      await flow.after?.(connection);
    } finally {
      open.mockRestore();
      mutation?.mockRestore();
    }
    return { connection, failed };
  }

  for (const dialect of DIALECT_NAMES) {
    describe(dialect, () => {
      for (const flow of FLOWS) {
        // A flow runs every command of a project: minutes on a loaded machine, seconds on an idle one.
        it(`${flow.name}: every statement analyses`, { timeout: 300_000 }, async () => {
          const { connection, failed } = await runFlow(dialect, flow);
          const entry = results.get(dialect) ?? { analysed: [], rewrites: new Set<string>(), declared: new Set<string>(), functions: new Set<string>() };
          entry.analysed.push(...connection.analysed);
          for (const name of connection.rewritesUsed) entry.rewrites.add(name);
          for (const name of connection.declaredUsed) entry.declared.add(name);
          for (const name of connection.functionsUsed) entry.functions.add(name);
          results.set(dialect, entry);
          expect(report(connection.analysed.filter((a) => a.error))).toBe('');
          expect(failed).toEqual([]);
        });
      }

      it('every exception is still needed, and the count is printed', () => {
        const entry = results.get(dialect)!;
        console.log(`${dialect}: ${entry.analysed.length} statements analysed (${new Set(entry.analysed.map((a) => a.text)).size} distinct), 0 errors; functions: ${[...entry.functions].sort().join(' ')}`);
        expect(entry.analysed.length).toBeGreaterThan(2500);
        expect([...entry.declared].sort()).toEqual(DECLARED[dialect].map((f) => f.name).sort());
        expect([...entry.rewrites].sort()).toEqual(REWRITES[dialect].map((r) => r.name).sort());
      });

      it('every exception is still an exception: the analyzer still lacks each declared function and rejects each rewritten form', async () => {
        const analyzer = analyzers.get(dialect)!;
        const table = { name: 'A', table: [{ name: 'C', column: [{ name: 'X', type: T.string }] }] };
        const catalog = (declared: boolean) => () => ({ name: 'exceptions', catalog: [table], ...(declared ? { customFunction: functionProtos(DECLARED[dialect]) } : {}) });
        const verdict = async (text: string, declared: boolean) => {
          try {
            await analyzer.analyze(text, catalog(declared), `exceptions.${declared}`);
            return 'accepted';
          } catch (error) {
            return analysisError(error);
          }
        };
        for (const f of DECLARED[dialect]) {
          const call = `SELECT ${f.name}(${f.signatures[0]!.args.map((t) => (t === T.string ? "'a'" : '1')).join(', ')})`;
          expect(await verdict(call, false), call).toMatch(/not found/i);
          expect(await verdict(call, true), call).toBe('accepted');
        }
        for (const rewrite of REWRITES[dialect]) {
          expect(await verdict(rewrite.sample, true), rewrite.sample).not.toBe('accepted');
          expect(await verdict(rewrite.apply(rewrite.sample), true), rewrite.apply(rewrite.sample)).toBe('accepted');
        }
      });

      // Mistakes in a dialect the suite must catch: a wrong signature (the analyzer), and on Snowflake a BigQuery
      // function, a quoted name in the wrong case (the lints); on BigQuery a dataset in the wrong case.
      const d = DIALECTS[dialect];
      const mutations: readonly { name: string; apply: () => { mockRestore(): void }; error: RegExp; flow?: number }[] = [
        { name: 'LOWER given a second argument', apply: () => vi.spyOn(d.functions, 'lower').mockImplementation((a) => sql`LOWER(${a}, 1)`), error: /LOWER/i },
        ...(dialect === 'snowflake'
          ? [
              // The identity flow matches patterns (junk values, phone numbers).
              { name: "BigQuery's REGEXP_CONTAINS", apply: () => vi.spyOn(d.functions, 'regexpContains').mockImplementation((a, p) => sql`REGEXP_CONTAINS(${a}, ${p})`), error: /not a Snowflake function.*regexp_contains/, flow: 2 },
              { name: "BigQuery's TO_HEX(SHA256(…))", apply: () => vi.spyOn(d.functions, 'sha256Hex').mockImplementation((a) => sql`TO_HEX(SHA256(${a}))`), error: /not a Snowflake function/ },
              { name: 'a column quoted in lower case', apply: () => vi.spyOn(d, 'id').mockImplementation((name) => Sql.trusted(`"${name === 'email' ? name : d.storedName(name)}"`)), error: /"email" is quoted in lower case/ },
            ]
          : [{ name: 'a dataset in upper case', apply: () => vi.spyOn(d, 'table').mockImplementation((t) => Sql.trusted(`\`${(t.schema ?? '').toUpperCase()}\`.\`${t.name}\``)), error: /matches .* only in another case/ }]),
      ];
      for (const mutation of mutations) {
        it(`fails on a broken dialect: ${mutation.name}`, async () => {
          const { connection } = await runFlow(dialect, FLOWS[mutation.flow ?? 0]!, mutation.apply);
          const errors = connection.analysed.filter((a) => a.error);
          expect(errors.length).toBeGreaterThan(0);
          expect(errors.map((e) => e.error).join('\n')).toMatch(mutation.error);
        });
      }
    });
  }
});

/** The errors, one block each: command, message, and the statement's lines around the reported position. */
function report(errors: readonly Analysed[]): string {
  return errors
    .map((e) => {
      const text = e.sent ?? e.text;
      const at = /\[at (\d+):(\d+)\]/.exec(e.error ?? '');
      const lines = text.split('\n');
      const line = at ? Number(at[1]) : 1;
      const excerpt = lines.slice(Math.max(0, line - 3), line + 2).join('\n');
      return `during \`${e.during}\`: ${e.error}\n${excerpt}\n`;
    })
    .join('\n');
}
