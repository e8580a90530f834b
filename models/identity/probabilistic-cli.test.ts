import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dialect } from '../../src/dialects/dialect.js';
import { joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import { openTarget } from '../../src/warehouses/registry.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { tempProject } from '../../test/support/cli.js';
import { engines, uniqueSchema, type Engine } from '../../test/support/engines.js';
import { percent, signedWeight } from './report.js';
import { tidelineInProcess } from '../../test/support/in-process.js';

/**
 * The user-facing commands of probabilistic identity, on a small generated project: `tideline run` prints the
 * probabilistic report, `tideline identity explain` the waterfall of a customer's probabilistic links and of one
 * pair, `tideline identity train` retrains the parameters. In this process (main), on DuckDB and PostgreSQL.
 */

/** A deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['anna', 'bruno', 'clara', 'david', 'elena', 'felix', 'greta', 'hugo', 'irene', 'jonas', 'karla', 'louis', 'marta', 'nils', 'olga', 'pablo', 'rosa', 'simon', 'tanja', 'victor'];
const LAST = [
  'albrecht', 'bergmann', 'castillo', 'dufresne', 'eriksen', 'fontaine', 'gallagher', 'hoffmann', 'ivanova', 'jankowski', 'kowalczyk', 'lindqvist', 'moreau',
  'novak', 'oliveira', 'petersen', 'quintero', 'rossetti', 'schneider', 'tanaka', 'ulrich', 'vasquez', 'weber', 'yilmaz', 'zimmermann', 'brennan',
  'carvalho', 'delacroix', 'esposito', 'fischer',
];

interface Person {
  readonly id: number;
  readonly first: string;
  readonly last: string;
  readonly birth: string;
  readonly email: string;
}

/**
 * 300 people in the CRM; 120 of them also in the shop, typed again: half without their e-mail (only names and birth
 * date can link those), some with a typo in the surname or day and month swapped. The shop also has 40 people of its
 * own. Truth: shop `s<i>` is crm `c<i>` for i < 120. Some shop records have neither e-mail nor birth date: their names
 * alone leave them in the review band, with the namesakes of other people.
 */
function generate(): { crm: Person[]; shop: (Omit<Person, 'email' | 'birth'> & { email: string | null; birth: string | null })[] } {
  const r = random(21);
  const pick = <T,>(list: readonly T[]) => list[Math.floor(r() * list.length)]!;
  const date = () => `${1950 + Math.floor(r() * 50)}-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`;
  const person = (id: number): Person => {
    const first = pick(FIRST);
    const last = pick(LAST);
    const token = Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join('');
    return { id, first, last, birth: date(), email: `${token}@example.org` };
  };
  const crm = Array.from({ length: 300 }, (_, i) => person(i));
  const typo = (s: string) => {
    const at = 1 + Math.floor(r() * (s.length - 2));
    return s.slice(0, at) + (s[at] === 'e' ? 'a' : 'e') + s.slice(at + 1);
  };
  const shop: ReturnType<typeof generate>['shop'] = crm.slice(0, 120).map((p) => {
    const roll = r();
    const [y, m, day] = p.birth.split('-');
    return {
      id: p.id,
      first: p.first,
      last: roll < 0.25 ? typo(p.last) : p.last,
      birth: roll >= 0.25 && roll < 0.4 ? null : roll > 0.85 && Number(day) <= 12 ? `${y}-${day}-${m}` : p.birth,
      email: (roll >= 0.25 && roll < 0.4) || r() < 0.5 ? null : p.email,
    };
  });
  for (let i = 300; i < 340; i++) shop.push(person(i));
  return { crm, shop };
}

const MODEL = `sources:
  - name: crm
    table: RAW.crm
  - name: shop
    table: RAW.shop
models:
  - name: people
    kind: identity
    identifiers:
      email: email
      first_name: name
      surname: name
      birth_date: date
    sources:
      - from: crm
        id: contact_id
        identifiers: { email: email, first_name: first_name, surname: surname, birth_date: birth_date }
      - from: shop
        id: account_id
        identifiers: { email: email, first_name: first_name, surname: surname, birth_date: birth_date }
    rules:
      - name: same_email
        match: [email]
    probabilistic: { review: 0.05 }
  - name: by_email
    kind: identity
    identifiers:
      email: email
    sources:
      - from: crm
        id: contact_id
        identifiers: { email: email }
    rules:
      - name: same_email
        match: [email]
`;

function seed(d: Dialect, raw: string): Sql[] {
  const { crm, shop } = generate();
  const value = (v: string | null) => (v === null ? sql`NULL` : d.string(v));
  const table = (name: string, prefix: string, rows: readonly { id: number; first: string; last: string; birth: string | null; email: string | null }[]) => {
    const ref = d.table({ schema: raw, name });
    return [
      sql`CREATE TABLE ${ref} (${d.id(`${name === 'crm' ? 'contact' : 'account'}_id`)} ${d.type('string')}, ${d.id('email')} ${d.type('string')}, ${d.id('first_name')} ${d.type('string')}, ${d.id('surname')} ${d.type('string')}, ${d.id('birth_date')} ${d.type('date')})`,
      sql`INSERT INTO ${ref} VALUES\n${joinSql(
        rows.map((p) => sql`(${d.string(`${prefix}${p.id}`)}, ${value(p.email)}, ${d.string(p.first)}, ${d.string(p.last)}, ${p.birth === null ? sql`NULL` : d.dateLiteral(p.birth)})`),
        sql`,\n`,
      )}`,
    ];
  };
  return [d.createSchema(raw), ...table('crm', 'c', crm), ...table('shop', 's', shop)];
}

const tideline = (args: readonly string[]) => tidelineInProcess(args);

type Row = Readonly<Record<string, unknown>>;

for (const engine of engines()) {
  describe(`probabilistic identity commands on ${engine.name}`, () => {
    const d = engine.dialect;
    const schema = uniqueSchema('idprob');
    const raw = `${schema}_raw`;
    let root: string;
    let connection: Connection;
    const run = (...args: string[]) => tideline(['--project', root, '--target', engine.name, '--log-format', 'json', ...args]);
    const q = (statement: Sql) => connection.query(statement);
    const t = (name: string) => d.table({ schema, name });
    const str = (row: Row, name: string) => String(row[name]);
    const withConnection = async <T,>(body: () => Promise<T>): Promise<T> => {
      connection = await open(engine, root);
      try {
        return await body();
      } finally {
        await connection.close();
      }
    };

    beforeAll(async () => {
      root = tempProject({
        'tideline.yml': `name: prob\ntarget: ${engine.name}\nschema: ${schema}\ntargets:\n  duckdb:\n    type: duckdb\n  postgres:\n    type: postgres\n    url: \${env:TIDELINE_TEST_PG_URL:-postgres://localhost/none}\n`,
        'models/people.yml': MODEL.replaceAll('RAW.', `${raw}.`),
      });
      if (engine.name === 'postgres') process.env['TIDELINE_TEST_PG_URL'] = (engine.target as { url: string }).url;
      await withConnection(async () => {
        for (const statement of seed(d, raw)) await connection.execute(statement);
      });
    });
    afterAll(async () => {
      if (engine.name === 'postgres')
        await withConnection(async () => {
          for (const s of [schema, raw]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(s)} CASCADE`);
        });
    });

    it('run reports the prior, pairs, links, review and weights; explain shows waterfalls; train retrains', async () => {
      // ---- run: the probabilistic lines of the report, checked against the tables themselves ----
      const first = await run('run', '--select', 'people');
      expect(first.code, first.stderr).toBe(0);
      const checks = await withConnection(async () => ({
        params: await q(sql`SELECT * FROM ${t('people_parameters')}`),
        pairs: await q(sql`SELECT * FROM ${t('people_pairs')}`),
        links: await q(sql`SELECT * FROM ${t('people_links')} WHERE ${d.id('rule')} = 'probabilistic' AND ${d.id('used')} ORDER BY ${d.id('source_id')}, ${d.id('linked_source_id')}`),
        map: await q(sql`SELECT * FROM ${t('people_map')}`),
      }));
      const prior = checks.params.find((r) => r['comparison'] === '(prior)')!;
      const decided = (decision: string) => checks.pairs.filter((r) => r['decision'] === decision).length;
      expect(decided('link')).toBeGreaterThan(0);
      expect(decided('review')).toBeGreaterThan(0);
      expect(first.stderr).toContain(`Probabilistic: prior 1 in ${Math.round(1 / Number(prior['m'])).toLocaleString('en-US')} pairs;`);
      expect(first.stderr).toContain(`${decided('link')} linked (probability ≥ 98%), ${decided('review')} in the review band (≥ 5%, in people_pairs).`);
      expect(first.stderr).toContain('Parameters trained by this build at ');
      const weightOf = (comparison: string, gamma: number) => checks.params.find((r) => r['comparison'] === comparison && Number(r['gamma']) === gamma)!;
      // Strongest level of a name: exact (gamma 4 of 4 default levels); else: gamma 0.
      expect(first.stderr).toContain(
        `surname exact ${signedWeight(Number(weightOf('surname', 4)['weight']))} / ${signedWeight(Number(weightOf('surname', 0)['weight']))}`,
      );
      const results = JSON.parse(readFileSync(join(root, 'target/tideline_run_results.json'), 'utf8'));
      const summary = results.results[0].summary.probabilistic;
      expect(summary).toMatchObject({ links: decided('link'), review: decided('review'), parameters_trained: true, prior: Number(prior['m']) });
      expect(summary.parameters).toHaveLength(checks.params.length);
      expect(summary.candidate_pairs).toBeGreaterThanOrEqual(checks.pairs.length);
      // Nothing personal in the report.
      for (const pii of ['@example.org', 'bergmann', 'schneider']) expect(first.stderr + JSON.stringify(results)).not.toContain(pii);

      const again = await run('run', '--select', 'people');
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain(`Parameters re-used from the training of `);
      expect(JSON.parse(readFileSync(join(root, 'target/tideline_run_results.json'), 'utf8')).results[0].summary.probabilistic.parameters_trained).toBe(false);

      // ---- explain a customer: its probabilistic links' waterfalls, each line from <name>_pairs ----
      // A link only the score made (no e-mail to share), so that the path drawn goes through it.
      const key = (r: Row, side: '' | 'linked_') => `${str(r, `${side}source`)}:${str(r, `${side}source_id`)}`;
      const emailless = new Set(checks.pairs.filter((r) => r['email_level'] === 'null').map((r) => [key(r, ''), key(r, 'linked_')].sort().join(' ')));
      const link = checks.links.find((l) => emailless.has([key(l, ''), key(l, 'linked_')].sort().join(' ')))!;
      expect(link).toBeDefined();
      const from = key(link, '');
      const to = key(link, 'linked_');
      const explained = await run('identity', 'explain', from, '--model', 'people');
      expect(explained.code, explained.stderr).toBe(0);
      expect(explained.stdout).toMatch(/^Customer [0-9a-f]{16} \(model people\): \d+ records from /);
      expect(explained.stdout).toContain(`probabilistic [match probability `);
      const section = explained.stdout.slice(explained.stdout.indexOf('Probabilistic links (from people_pairs; weights in log2 odds):'));
      expect(section.length).toBeLessThan(explained.stdout.length);
      const pairRow = checks.pairs.find((r) => [key(r, ''), key(r, 'linked_')].sort().join(' ') === [from, to].sort().join(' '))!;
      expect(pairRow['decision']).toBe('link');
      const waterfall = expectWaterfall(section, pairRow, checks.params);
      // No identifier value in the waterfall: levels and weights only.
      const people = generate();
      const values = [...people.crm, ...people.shop].flatMap((p) => [p.first, p.last, p.birth ?? '', p.email ?? '']).filter((v) => v.length > 3);
      for (const v of values) expect(waterfall).not.toContain(v);

      // ---- explain one pair: linked, given in the other order ----
      const pair = await run('identity', 'explain', to, '--with', from, '--model', 'people');
      expect(pair.code, pair.stderr).toBe(0);
      expect(pair.stdout).toMatch(new RegExp(`^Pair ${key(pairRow, '')} ↔ ${key(pairRow, 'linked_')} \\(model people\\): linked — match probability ${escape(percent(Number(pairRow['match_probability'])))}, at or above the threshold 98%\\.\n`));
      expect(pair.stdout).toContain('  Both records belong to customer ');
      expectWaterfall(pair.stdout, pairRow, checks.params);

      // ---- a pair in the review band ----
      const review = checks.pairs.find((r) => r['decision'] === 'review')!;
      const [ra, rb] = [key(review, ''), key(review, 'linked_')];
      const reviewed = await run('identity', 'explain', ra, '--with', rb, '--model', 'people');
      expect(reviewed.code, reviewed.stderr).toBe(0);
      expect(reviewed.stdout).toContain(`(model people): in the review band — match probability ${percent(Number(review['match_probability']))}, from 5% up to the threshold 98%; not linked by its score.`);
      expectWaterfall(reviewed.stdout, review, checks.params);

      // ---- a pair never scored: two records no pair row holds ----
      const scored = new Set(checks.pairs.map((r) => [key(r, ''), key(r, 'linked_')].sort().join(' ')));
      const records = checks.map.map((r) => `${str(r, 'source')}:${str(r, 'source_id')}`).sort();
      const [na, nb] = records.flatMap((a) => records.filter((b) => a < b && !scored.has(`${a} ${b}`)).map((b) => [a, b] as const))[0]!;
      const never = await run('identity', 'explain', na, '--with', nb, '--model', 'people');
      expect(never.code, never.stderr).toBe(0);
      expect(never.stdout.split('\n').slice(0, 2)).toEqual([
        `Pair ${na} ↔ ${nb} (model people): not in people_pairs.`,
        '  It was not a candidate pair (no blocking rule put the two records together), or it scored below the review band (match probability under 5%).',
      ]);
      expect(never.stdout.split('\n')[2]).toMatch(/^ {2}(Both records belong to customer [0-9a-f]{16}|\S+ belongs to customer [0-9a-f]{16}, \S+ to customer [0-9a-f]{16})\.$/);

      const unknown = await run('identity', 'explain', 'crm:nobody', '--with', na, '--model', 'people');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('no record crm:nobody in people_map');
      const notKeys = await run('identity', 'explain', 'someone@example.org', '--with', na, '--model', 'people');
      expect(notKeys.code).toBe(2);
      expect(notKeys.stderr).toContain('with --with, both records are written source:id');
      expect(notKeys.stderr).not.toContain('someone@');

      // ---- train: the rows are written again, trained now; the parameters printed ----
      const before = await withConnection(() => q(sql`SELECT * FROM ${t('people_parameters')}`));
      const trainedBefore = Math.max(...before.map((r) => new Date(r['trained_at'] as Date).getTime()));
      const trained = await run('identity', 'train', '--model', 'people');
      expect(trained.code, trained.stderr).toBe(0);
      expect(trained.stderr).toContain('Parameters trained by this build at ');
      const after = await withConnection(() => q(sql`SELECT * FROM ${t('people_parameters')}`));
      expect(after.map((r) => `${r['comparison']}/${r['gamma']}`).sort()).toEqual(before.map((r) => `${r['comparison']}/${r['gamma']}`).sort());
      for (const r of after) expect(new Date(r['trained_at'] as Date).getTime()).toBeGreaterThan(trainedBefore);
      const newPrior = after.find((r) => r['comparison'] === '(prior)')!;
      expect(trained.stdout).toContain(`  prior: 1 in ${Math.round(1 / Number(newPrior['m'])).toLocaleString('en-US')} pairs are one person`);
      expect(trained.stdout).toMatch(/^ {2}comparison +level +m +u +weight$/m);
      for (const r of after.filter((p) => p['comparison'] !== '(prior)'))
        expect(trained.stdout).toMatch(new RegExp(`^ {2}${r['comparison']} +${escape(String(r['label']))} +\\S+ +\\S+ +${escape(signedWeight(Number(r['weight'])))}$`, 'm'));
      expect(JSON.parse(readFileSync(join(root, 'target/tideline_run_results.json'), 'utf8')).command).toBe('identity train');

      const rulesOnly = await run('identity', 'train', '--model', 'by_email');
      expect(rulesOnly.code).toBe(2);
      expect(rulesOnly.stderr).toContain('model by_email has no `probabilistic` block: it has no parameters to train');
    });
  });
}

/**
 * The waterfall printed for a pair in `text`: one line per comparison with the level and weight `<name>_pairs` holds,
 * each weight also the trained weight of that level (or, for an exact match adjusted by term frequency, at least that
 * of the exact level's u floor), summing with the prior to the total, whose probability is 1 / (1 + 2^−weight).
 */
function expectWaterfall(text: string, row: Row, params: readonly Row[]): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^\s+prior\s+[+-]?\d/.test(l) && l.trim().endsWith(signedWeight(Number(row['prior_weight']))));
  expect(start, text).toBeGreaterThanOrEqual(0);
  const block = lines.slice(start, start + 7);
  let sum = Number(row['prior_weight']);
  for (const [i, comparison] of ['email', 'first_name', 'surname', 'birth_date'].entries()) {
    const level = String(row[`${comparison}_level`]);
    const weight = Number(row[`${comparison}_weight`]);
    sum += weight;
    expect(block[i + 1]).toMatch(new RegExp(`^\\s+${comparison}\\s+${escape(level)}\\s+${escape(signedWeight(weight))}$`));
    const trained = params.find((p) => p['comparison'] === comparison && p['label'] === level);
    if (level === 'null') expect(weight).toBe(0);
    else if (!(level === 'exact' && (comparison === 'first_name' || comparison === 'surname'))) expect(weight).toBeCloseTo(Number(trained!['weight']), 6);
  }
  expect(sum).toBeCloseTo(Number(row['match_weight']), 6);
  expect(1 / (1 + 2 ** -sum)).toBeCloseTo(Number(row['match_probability']), 9);
  expect(block[6]).toMatch(new RegExp(`^\\s+total\\s+${escape(signedWeight(sum))}  → match probability ${escape(percent(Number(row['match_probability'])))}$`));
  return block.join('\n');
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function open(engine: Engine, root: string): Promise<Connection> {
  return engine.name === 'duckdb' ? openTarget({ type: 'duckdb', path: '.tideline/warehouse.duckdb' }, { root }) : engine.open(root);
}
