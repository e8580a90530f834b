import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import { ConfigError } from '../../src/project/problems.js';
import type { Connection, Value } from '../../src/warehouses/connection.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';
import { build, identityProject } from '../../test/support/identity-project.js';
import { at, modelProblems } from '../../test/support/problems.js';
import { FIELDS, population } from '../../test/support/identity-population.js';
import type { OutputColumn } from '../model-kind.js';

/**
 * The `probabilistic` block of the identity model end to end, on a small generated population whose truth is known:
 * its YAML checked where it is written, its parameters re-used or retrained, deterministic rules winning where they
 * apply, the review band, and a model with no rule at all. The scoring is judged by an oracle written here: with
 * exact-only comparisons, a pair's level is equality of its values, so its probability follows from the trained
 * weights in `<name>_parameters` alone, and the expected pairs, decisions and customers are computed in TypeScript.
 */

// ---- bad YAML, located ------------------------------------------------------------------------------------------

const COLUMNS: Record<string, OutputColumn[]> = {
  accounts: ['id', 'email', 'first_name', 'surname', 'dob', 'postcode', 'city'].map((name): OutputColumn => ({ name, type: 'string' })),
};

const VALID = `sources:
  - name: accounts
    table: raw.accounts
models:
  - name: people
    kind: identity
    identifiers:
      email: email
      first_name: name
      surname: name
      birth_date: date
      postcode: postcode
    sources:
      - from: accounts
        id: id
        identifiers: { email: email, first_name: first_name, surname: surname, birth_date: dob, postcode: postcode }
        attributes: { city: city }
    probabilistic:
      threshold: 0.95
      review: 0.1
      comparisons:
        email: { levels: [exact, { edit_distance: 2 }] }
        first_name: { levels: [exact, { swapped_with: surname }, initial] }
        birth_date: { levels: [exact, swapped_day_month, { within_days: 30 }] }
      blocking:
        - [email]
        - [surname, birth_date]
`;

const problems = (yaml: string, target: 'duckdb' | 'postgres') => modelProblems(yaml, target, COLUMNS);

for (const target of ['duckdb', 'postgres'] as const) {
  describe(`identity probabilistic: bad YAML is reported where it is written (${target})`, () => {
    it('accepts the valid model every case below breaks', async () => {
      expect(await problems(VALID, target)).toEqual([]);
    });

    it('an identifier that is not declared, in comparisons, blocking and swapped_with; an attribute compared', async () => {
      const yaml = VALID.replace('        email: { levels', '        emial: { levels')
        .replace('- [surname, birth_date]', '- [surname, birthdate]')
        .replace('swapped_with: surname', 'swapped_with: surnam')
        .replace('      blocking:', '      blocking:\n        - [city]');
      expect(await problems(yaml, target)).toEqual([
        `models/people.yml:${at(yaml, 'emial:')}  models[0].probabilistic.comparisons.emial  a comparison names identifier "emial", which is not declared under \`identifiers\` (did you mean "email"?)`,
        `models/people.yml:${at(yaml, '{ swapped_with')}  models[0].probabilistic.comparisons.first_name.levels[1]  a level is swapped with identifier "surnam", which is not declared under \`identifiers\` (did you mean "surname"?)`,
        `models/people.yml:${at(yaml, '[city]', 1)}  models[0].probabilistic.blocking[0][0]  a blocking rule uses identifier "city", which is not declared under \`identifiers\` ("city" is an attribute: attributes are kept, not matched)`,
        `models/people.yml:${at(yaml, 'birthdate]')}  models[0].probabilistic.blocking[2][1]  a blocking rule uses identifier "birthdate", which is not declared under \`identifiers\` (did you mean "birth_date"?)`,
      ]);
    });

    it('an identifier declared that no source provides, compared and blocked on', async () => {
      const yaml = VALID.replace('      postcode: postcode\n    sources', '      postcode: postcode\n      phone: phone\n    sources')
        .replace('    probabilistic:', '    phone_country: FR\n    probabilistic:')
        .replace('      comparisons:\n', '      comparisons:\n        phone: { levels: [exact] }\n')
        .replace('        - [email]', '        - [phone]');
      expect(await problems(yaml, target)).toEqual([
        `models/people.yml:${at(yaml, 'phone: { levels')}  models[0].probabilistic.comparisons.phone  a comparison names identifier "phone", which no source provides: map a column to it under a source's \`identifiers\``,
        `models/people.yml:${at(yaml, '[phone]', 1)}  models[0].probabilistic.blocking[0][0]  a blocking rule uses identifier "phone", which no source provides: map a column to it under a source's \`identifiers\``,
      ]);
    });

    it('levels for dates on an identifier that is not one', async () => {
      const yaml = VALID.replace('      comparisons:\n', '      comparisons:\n        postcode: { levels: [exact, { within_days: 3 }] }\n        surname: { levels: [swapped_day_month] }\n');
      expect(await problems(yaml, target)).toEqual([
        `models/people.yml:${at(yaml, '{ within_days: 3 }')}  models[0].probabilistic.comparisons.postcode.levels[1]  \`within_days\` compares dates; "postcode" is postcode`,
        `models/people.yml:${at(yaml, '[swapped_day_month]', 1)}  models[0].probabilistic.comparisons.surname.levels[0]  \`swapped_day_month\` compares dates; "surname" is name`,
      ]);
    });

    it('a review band above the threshold', async () => {
      const yaml = VALID.replace('review: 0.1', 'review: 0.99');
      expect(await problems(yaml, target)).toEqual([
        `models/people.yml:${at(yaml, '0.99')}  models[0].probabilistic.review  the review band starts at 0.99, above the threshold (0.95): it must be lower`,
      ]);
    });

    it('a rule named `probabilistic`', async () => {
      const yaml = VALID.replace('    probabilistic:', '    rules:\n      - name: probabilistic\n        match: [email]\n    probabilistic:');
      expect(await problems(yaml, target)).toEqual([
        `models/people.yml:${at(yaml, 'probabilistic\n', 0)}  models[0].rules[0].name  "probabilistic" names the links of the \`probabilistic\` block; give the rule another name`,
      ]);
    });

    it('neither rules nor a probabilistic block; a block comparing nothing', async () => {
      const none = VALID.slice(0, VALID.indexOf('    probabilistic:'));
      expect(await problems(none, target)).toEqual([
        `models/people.yml:${at(none, 'name: people')}  models[0].rules  give at least one rule under \`rules\`, or a \`probabilistic\` block (scoring trained from the data)`,
      ]);
      const nothing = VALID.replace(/ {6}comparisons:\n(?: {8}.*\n)*/, '      comparisons: { email: false, first_name: false, surname: false, birth_date: false, postcode: false }\n').replace(/ {6}blocking:\n(?: {8}.*\n)*/, '');
      expect(await problems(nothing, target)).toEqual([`models/people.yml:${at(nothing, '{ email: false')}  models[0].probabilistic.comparisons  no identifier is compared: leave at least one comparison in`]);
    });
  });
}

// ---- a generated population -------------------------------------------------------------------------------------

const ROWS = population(2021, 220);

const sourcesYaml = (schema: string) => `sources:
  - name: accounts
    table: ${schema}.accounts
models:
`;
const IDENTIFIERS = `    identifiers:
      email: email
      first_name: name
      surname: name
      birth_date: date
      postcode: postcode
    sources:
      - from: accounts
        id: id
        identifiers: { email: email, first_name: first_name, surname: surname, birth_date: dob, postcode: postcode }
`;
/** Scoring alone, every setting from the identifier types. */
const PEOPLE = (comparisons = '') => `  - name: people
    kind: identity
${IDENTIFIERS}    probabilistic:${comparisons ? `\n      comparisons:\n${comparisons}` : ' {}'}
`;
const EXACT = ['email', 'first_name', 'surname', 'birth_date', 'postcode'] as const;
const THRESHOLD = 0.99;
const REVIEW = 0.01;
/** A rule on the e-mail beside scoring on exact-only comparisons: what the oracle below can score by itself. */
const RULED = `  - name: ruled
    kind: identity
${IDENTIFIERS}    rules:
      - name: same_email
        match: [email]
    probabilistic:
      threshold: ${THRESHOLD}
      review: ${REVIEW}
      comparisons:
${EXACT.map((c) => `        ${c}: { levels: [exact], term_frequency: false }`).join('\n')}
      blocking:
        - [email]
        - [surname]
        - [birth_date]
`;

type Pair = readonly [string, string];
const key = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);
const FIELD_OF: Record<(typeof EXACT)[number], (typeof FIELDS)[number]> = { email: 'email', first_name: 'first_name', surname: 'surname', birth_date: 'dob', postcode: 'postcode' };

for (const engine of engines()) {
  describe(`identity probabilistic on ${engine.name}`, () => {
    const d = engine.dialect;
    const schema = uniqueSchema('idprob');
    let connection: Connection;
    const table = (name: string) => d.table({ schema, name });
    const rows = async (query: Sql) => connection.query(query);
    const text = (v: Value | undefined) => (v === null || v === undefined ? null : String(v));

    beforeAll(async () => {
      connection = await engine.open();
      for (const statement of d.setupStatements()) await connection.execute(statement).catch(() => undefined);
      await connection.execute(d.createSchema(schema));
      const columns = ['id', ...FIELDS].map((name) => ({ name, type: 'string' as const }));
      await connection.execute(sql`CREATE TABLE ${table('accounts')} (${joinSql(columns.map((c) => sql`${d.id(c.name)} ${d.type('string')}`))})`);
      await connection.insertRows({ schema, name: 'accounts' }, columns, [ROWS.map((r) => [r.id, ...FIELDS.map((f) => r[f])])]);
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
        fingerprint: String(r['fingerprint']),
        trainedAt: new Date(r['trained_at'] as string | Date).getTime(),
      }));
    const report = async (model: string, metric: string) =>
      (await rows(sql`SELECT ${d.id('item')}, ${d.id('value')} FROM ${table(`${model}_report`)} WHERE ${d.id('metric')} = ${d.string(metric)}`)).map((r) => [text(r['item']), Number(r['value'])] as const);
    const map = async (model: string) =>
      new Map(
        (await rows(sql`SELECT ${d.id('source_id')}, ${d.id('customer_id')}, ${d.id('rule')} FROM ${table(`${model}_map`)}`)).map((r) => [
          String(r['source_id']),
          { customer: String(r['customer_id']), rule: text(r['rule']) },
        ]),
      );

    it('the report says which comparisons no block could train and which blocks EM left unconverged', async () => {
      // Every blocking rule uses the surname: no session can estimate its m.
      const model = (name: string, iterations: string) => `  - name: ${name}
    kind: identity
${IDENTIFIERS}    probabilistic:${iterations}
      blocking:
        - [surname, birth_date]
        - [surname, postcode]
`;
      const project = await identityProject(engine, schema, `${sourcesYaml(schema)}${model('untrained', '')}${model('hurried', '\n      max_iterations: 1')}`);
      const built = await build(project, connection, 'untrained');
      // (A block where matches are not the majority trains nothing either: here households share surname and postcode.)
      expect((await report('untrained', 'comparison_untrained')).map(([item]) => item)).toContain('surname');
      expect(await report('untrained', 'training_not_converged')).toEqual([]);
      expect(built.summary?.lines.join('\n')).toMatch(/Not trained, no training block compares them with matches the majority of its pairs: .*surname/);
      // Re-used parameters (nothing trained this build): nothing to say.
      await build(project, connection, 'untrained');
      expect(await report('untrained', 'comparison_untrained')).toEqual([]);
      // One iteration: no block converges.
      const hurried = await build(project, connection, 'hurried');
      expect((await report('hurried', 'training_not_converged')).map(([item]) => item).sort()).toEqual(['surname+birth_date', 'surname+postcode']);
      expect(hurried.summary?.lines.join('\n')).toContain('Training did not converge within 1 iterations');
    });

    it('scoring alone builds with default comparisons; its parameters are re-used while nothing changes, retrained when a comparison does; bad YAML changes nothing', async () => {
      let project = await identityProject(engine, schema, `${sourcesYaml(schema)}${PEOPLE()}`);
      await build(project, connection, 'people');
      const first = await parameters('people');
      expect(new Set(first.map((p) => p.fingerprint)).size).toBe(1);
      expect(new Set(first.map((p) => p.trainedAt)).size).toBe(1);
      expect(first.map((p) => p.comparison)).toEqual(expect.arrayContaining(['(prior)', 'email', 'first_name', 'surname', 'birth_date', 'postcode']));
      // Default levels from the types: a postcode has exact, one edit and its first three characters, then else.
      expect(first.filter((p) => p.comparison === 'postcode').map((p) => p.gamma)).toEqual([0, 1, 2, 3]);
      // Default blocking: every identifier alone (and pairs of the weaker ones, which add no pair), no value here held
      // by more than 200 records: the candidates are the pairs sharing a value.
      const sharing = ROWS.flatMap((a, i) => ROWS.slice(i + 1).filter((b) => FIELDS.some((f) => a[f] !== null && a[f] === b[f]))).length;
      expect(await report('people', 'candidate_pairs')).toEqual([[null, sharing]]);
      // Scoring alone found people. The data is easy (a later record changes at most a few fields), the bar modest.
      const quality = pairwise(await map('people'));
      expect(quality.recall).toBeGreaterThan(0.9);
      expect(quality.precision).toBeGreaterThan(0.98);
      const rules = new Set([...(await map('people')).values()].map((r) => r.rule));
      expect([...rules].sort()).toEqual(['probabilistic', null].sort());

      // Built again unchanged: the same rows, trained at the same time.
      await build(project, connection, 'people');
      expect(await parameters('people')).toEqual(first);

      // Bad YAML: located problems, and no table touched.
      const mapBefore = await map('people');
      const badYaml = `${sourcesYaml(schema)}${PEOPLE('        emial: { levels: [exact] }\n')}`;
      const bad = await identityProject(engine, schema, badYaml);
      const error = await build(bad, connection, 'people').then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => [p.field, `${p.at?.line}:${p.at?.col}`, p.code])).toEqual([['models[0].probabilistic.comparisons.emial', at(badYaml, 'emial:'), 'unknown-identifier']]);
      expect(await parameters('people')).toEqual(first);
      expect(await map('people')).toEqual(mapBefore);

      // A comparison changes: another fingerprint, trained anew.
      project = await identityProject(engine, schema, `${sourcesYaml(schema)}${PEOPLE('        postcode: { levels: [exact] }\n')}`);
      await build(project, connection, 'people');
      const retrained = await parameters('people');
      expect(new Set(retrained.map((p) => p.fingerprint)).size).toBe(1);
      expect(retrained[0]!.fingerprint).not.toBe(first[0]!.fingerprint);
      expect(retrained[0]!.trainedAt).toBeGreaterThan(first[0]!.trainedAt);
      expect(retrained.filter((p) => p.comparison === 'postcode').map((p) => p.gamma)).toEqual([0, 1]);
    });

    it('with a rule beside scoring: the rule is credited where it applies, scoring elsewhere; the review band holds what the oracle says', async () => {
      const project = await identityProject(engine, schema, `${sourcesYaml(schema)}${RULED}`);
      await build(project, connection, 'ruled');
      const params = await parameters('ruled');
      const weight = new Map(params.map((p) => [`${p.comparison}:${p.gamma}`, p.weight]));
      const prior = weight.get('(prior):0')!;
      expect(Number.isFinite(prior)).toBe(true);

      // The oracle: candidate pairs agree exactly on a blocking key; a level is equality (1), difference (0) or a
      // missing value (no weight); the probability is 1 / (1 + 2^−weight).
      const scored = new Map<string, { pair: Pair; probability: number }>();
      for (let i = 0; i < ROWS.length; i++)
        for (let j = i + 1; j < ROWS.length; j++) {
          const [a, b] = [ROWS[i]!, ROWS[j]!];
          if (!(['email', 'surname', 'dob'] as const).some((f) => a[f] !== null && a[f] === b[f])) continue;
          let w = prior;
          for (const c of EXACT) {
            const [x, y] = [a[FIELD_OF[c]], b[FIELD_OF[c]]];
            if (x !== null && y !== null) w += weight.get(`${c}:${x === y ? 1 : 0}`)!;
          }
          scored.set(key(a.id, b.id), { pair: [a.id, b.id], probability: 1 / (1 + 2 ** -w) });
        }
      const [candidates] = await report('ruled', 'candidate_pairs');
      expect(candidates?.[1]).toBe(scored.size);

      // <name>_pairs: every candidate pair from the review band up, `link` from the threshold, `review` below it.
      const kept = new Map(
        (await rows(sql`SELECT * FROM ${table('ruled_pairs')}`)).map((r) => [
          key(String(r['source_id']), String(r['linked_source_id'])),
          { probability: Number(r['match_probability']), decision: String(r['decision']) },
        ]),
      );
      const near = (p: number, bound: number) => Math.abs(p - bound) < 1e-9;
      const expected = [...scored].filter(([, s]) => s.probability >= REVIEW && !near(s.probability, REVIEW));
      for (const [k, s] of expected) {
        expect(kept.get(k), k).toBeDefined();
        expect(kept.get(k)!.probability).toBeCloseTo(s.probability, 9);
        if (!near(s.probability, THRESHOLD)) expect(kept.get(k)!.decision, k).toBe(s.probability >= THRESHOLD ? 'link' : 'review');
      }
      for (const [k, r] of kept) {
        expect(scored.has(k), k).toBe(true);
        expect(r.probability, k).toBeGreaterThanOrEqual(REVIEW);
      }
      const decisions = [...kept.values()].map((r) => r.decision);
      expect(decisions).toContain('review');
      expect(decisions).toContain('link');
      // Candidate pairs below the band exist and are left out.
      expect([...scored.values()].filter((s) => s.probability < REVIEW).length).toBeGreaterThan(0);
      expect(kept.size).toBe(expected.length);
      expect(Object.fromEntries(await report('ruled', 'scored_pairs'))).toEqual({
        link: decisions.filter((x) => x === 'link').length,
        review: decisions.filter((x) => x === 'review').length,
      });

      // Customers: the components of the rule's links (a shared e-mail) and the pairs scored at the threshold or more.
      const emails = new Map<string, number>();
      for (const r of ROWS) if (r.email) emails.set(r.email, (emails.get(r.email) ?? 0) + 1);
      const linked: Pair[] = [...scored.values()].filter((s) => s.probability >= THRESHOLD).map((s) => s.pair);
      const byEmail = new Map<string, string>();
      for (const r of ROWS)
        if (r.email) {
          const other = byEmail.get(r.email);
          if (other) linked.push([other, r.id]);
          else byEmail.set(r.email, r.id);
        }
      const component = components(ROWS.map((r) => r.id), linked);
      const built = await map('ruled');
      expect(built.size).toBe(ROWS.length);
      const sameCustomer = (a: string, b: string) => built.get(a)!.customer === built.get(b)!.customer;
      for (const a of ROWS) for (const b of ROWS) if (a.id < b.id) expect(sameCustomer(a.id, b.id), `${a.id} ${b.id}`).toBe(component.get(a.id) === component.get(b.id));

      // map.rule: a record sharing its e-mail with another is credited to the rule, even where scoring links the same
      // pair; one linked otherwise, to `probabilistic`; one alone, to nothing.
      const size = new Map<string, number>();
      for (const c of component.values()) size.set(c, (size.get(c) ?? 0) + 1);
      let both = 0;
      for (const r of ROWS) {
        const expectedRule = r.email && emails.get(r.email)! > 1 ? 'same_email' : size.get(component.get(r.id)!)! > 1 ? 'probabilistic' : null;
        expect(built.get(r.id)!.rule, r.id).toBe(expectedRule);
      }
      for (const [, s] of scored) {
        const [a, b] = s.pair.map((id) => ROWS.find((r) => r.id === id)!);
        if (a!.email && a!.email === b!.email && s.probability >= THRESHOLD) both++;
      }
      const rules = [...built.values()].map((r) => r.rule);
      expect(both, 'pairs both the rule and scoring link').toBeGreaterThan(10);
      expect(rules.filter((r) => r === 'probabilistic').length, 'records linked by scoring alone').toBeGreaterThan(10);
      expect(Object.fromEntries(await report('ruled', 'records_linked'))).toEqual({
        same_email: rules.filter((r) => r === 'same_email').length,
        probabilistic: rules.filter((r) => r === 'probabilistic').length,
      });
    });
  });
}

/** Pairwise precision and recall of a map against the generator's truth (a record's person). */
function pairwise(built: ReadonlyMap<string, { customer: string }>): { precision: number; recall: number } {
  let truePairs = 0;
  let predicted = 0;
  let actual = 0;
  for (let i = 0; i < ROWS.length; i++)
    for (let j = i + 1; j < ROWS.length; j++) {
      const same = ROWS[i]!.person === ROWS[j]!.person;
      const together = built.get(ROWS[i]!.id)!.customer === built.get(ROWS[j]!.id)!.customer;
      if (same) actual++;
      if (together) predicted++;
      if (same && together) truePairs++;
    }
  return { precision: predicted ? truePairs / predicted : 1, recall: actual ? truePairs / actual : 1 };
}

/** Connected components by union-find: record id → a representative. */
function components(ids: readonly string[], edges: readonly Pair[]): Map<string, string> {
  const parent = new Map(ids.map((id) => [id, id]));
  const find = (x: string): string => {
    const p = parent.get(x)!;
    if (p === x) return x;
    const root = find(p);
    parent.set(x, root);
    return root;
  };
  for (const [a, b] of edges) parent.set(find(a), find(b));
  return new Map(ids.map((id) => [id, find(id)]));
}
