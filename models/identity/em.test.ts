import { describe, expect, it } from 'vitest';
import { seededRandom } from '../ltv/simulate.js';
import { train, type TrainedModel, type TrainingInput } from './em.js';

/**
 * Parameter recovery for the unsupervised training (em.ts), against a Fellegi–Sunter model whose parameters are
 * chosen here: the counts train() receives are generated from known λ, m, u per level, and the estimates are compared
 * with them. The oracle is the generative model itself, not em.ts: pairs are matches with probability λ; a comparison
 * has both values with probability `present` whoever the pair is (missing at random), and then takes each level with
 * probability m (matches) or u (non-matches), independently of the other comparisons (the model's assumption); a
 * blocking rule flags a pair when every comparison in its key is at its exact level (for a prefix part: at any level
 * above `else`, how em.ts reads a prefix agreement); candidate pairs are those some rule flags; random pairs are
 * drawn from all pairs.
 */

interface TrueComparison {
  readonly name: string;
  /** Strongest first, as scoring.ts numbers them (n … 1); 0 is `else`. */
  readonly gammas: readonly number[];
  readonly exact: number;
  /** Probability that both records of a pair have a value. */
  readonly present: number;
  /** Per gamma (levels and 0), given both values: how often matches / non-matches are at that level. */
  readonly m: Readonly<Record<number, number>>;
  readonly u: Readonly<Record<number, number>>;
  /** Among look-alike neighbours (see Population.neighbours), when they differ from strangers. */
  readonly n?: Readonly<Record<number, number>>;
}

interface Rule {
  readonly name: string;
  readonly exact: readonly string[];
  readonly prefix: readonly string[];
}

interface Population {
  readonly comparisons: readonly TrueComparison[];
  readonly blocking: readonly Rule[];
  /** Records, so N·(N−1)/2 pairs. */
  readonly records: number;
  /** Matching pairs among them. */
  readonly matches: number;
  /** Random pairs drawn for u. */
  readonly sample: number;
  /**
   * Non-matching pairs that are not strangers: neighbours born in one place, sharing a postcode and often a surname
   * (levels drawn from `n`) — dependence between comparisons among non-matches, which the model does not represent.
   */
  readonly neighbours?: number;
}

const rest = (levels: Record<number, number>) => ({ ...levels, 0: 1 - Object.values(levels).reduce((a, b) => a + b, 0) });

/**
 * An e-mail agreeing by chance for two in a million pairs of strangers, while 85% of matches share it: with one match
 * in 20,000 pairs, 95% of random pairs agreeing on it are matches. Names and dates are shared by strangers far more.
 */
const EMAIL: TrueComparison = { name: 'email', gammas: [2, 1], exact: 2, present: 0.7, m: rest({ 2: 0.85, 1: 0.1 }), u: rest({ 2: 2e-6, 1: 1e-5 }) };
const FIRST_NAME: TrueComparison = { name: 'first_name', gammas: [4, 3, 2, 1], exact: 4, present: 0.95, m: rest({ 4: 0.8, 3: 0.08, 2: 0.04, 1: 0.03 }), u: rest({ 4: 0.01, 3: 0.005, 2: 0.01, 1: 0.003 }) };
const SURNAME: TrueComparison = { name: 'surname', gammas: [4, 3, 2, 1], exact: 4, present: 0.98, m: rest({ 4: 0.85, 3: 0.07, 2: 0.03, 1: 0.01 }), u: rest({ 4: 0.005, 3: 0.003, 2: 0.006, 1: 0.002 }) };
const BIRTH_DATE: TrueComparison = { name: 'birth_date', gammas: [4, 3, 2, 1], exact: 4, present: 0.9, m: rest({ 4: 0.9, 3: 0.04, 2: 0.01, 1: 0.02 }), u: rest({ 4: 5e-5, 3: 5e-4, 2: 1e-5, 1: 0.015 }) };
const POSTCODE: TrueComparison = { name: 'postcode', gammas: [3, 2, 1], exact: 3, present: 0.85, m: rest({ 3: 0.88, 2: 0.05, 1: 0.04 }), u: rest({ 3: 1e-3, 2: 3e-3, 1: 0.02 }) };

const POPULATION: Population = {
  comparisons: [EMAIL, FIRST_NAME, SURNAME, BIRTH_DATE, POSTCODE],
  blocking: [
    { name: 'email', exact: ['email'], prefix: [] },
    { name: 'surname+birth_date', exact: ['surname', 'birth_date'], prefix: [] },
    { name: 'first_name+postcode', exact: ['first_name', 'postcode'], prefix: [] },
    // Mostly strangers (a surname in a district): about one pair in four a match, so EM on it is not used for m.
    { name: 'surname+postcode_3', exact: ['surname'], prefix: ['postcode'] },
  ],
  records: 20_000,
  matches: 10_000,
  sample: 10_000_000,
};

const pairsOf = (p: Population) => (p.records * (p.records - 1)) / 2;
const priorOf = (p: Population) => p.matches / pairsOf(p);

/** Every pattern of gammas (−1 included) with its probability among matches, strangers and neighbours. */
function patterns(p: Population): { gammas: number[]; pm: number; pu: number; pn: number }[] {
  let all = [{ gammas: [] as number[], pm: 1, pu: 1, pn: 1 }];
  for (const c of p.comparisons)
    all = all.flatMap((x) => [
      { gammas: [...x.gammas, -1], pm: x.pm * (1 - c.present), pu: x.pu * (1 - c.present), pn: x.pn * (1 - c.present) },
      ...[...c.gammas, 0].map((g) => ({ gammas: [...x.gammas, g], pm: x.pm * c.present * c.m[g]!, pu: x.pu * c.present * c.u[g]!, pn: x.pn * c.present * (c.n ?? c.u)[g]! })),
    ]);
  return all;
}

/** Expected pairs of a pattern among all N·(N−1)/2. */
function pairsWith(p: Population, x: { pm: number; pu: number; pn: number }): number {
  const neighbours = p.neighbours ?? 0;
  return p.matches * x.pm + neighbours * x.pn + (pairsOf(p) - p.matches - neighbours) * x.pu;
}

function flagsOf(p: Population, gammas: readonly number[]): number[] {
  const at = (name: string) => p.comparisons.findIndex((c) => c.name === name);
  return p.blocking.map((rule) =>
    rule.exact.every((name) => gammas[at(name)] === p.comparisons[at(name)]!.exact) && rule.prefix.every((name) => gammas[at(name)]! >= 1) ? 1 : 0,
  );
}

/** The counts expected from the population: fractional, without sampling noise. */
function expectedInput(p: Population, maxIterations = 100): TrainingInput {
  const all = patterns(p);
  return {
    comparisons: p.comparisons.map((c) => ({ name: c.name, gammas: c.gammas, exact: c.exact })),
    blocking: p.blocking,
    records: p.records,
    random: all.map((x) => ({ gammas: x.gammas, pairs: (p.sample * pairsWith(p, x)) / pairsOf(p) })),
    patterns: all
      .map((x) => ({ gammas: x.gammas, flags: flagsOf(p, x.gammas), pairs: pairsWith(p, x) }))
      .filter((x) => x.flags.some((f) => f === 1)),
    maxIterations,
  };
}

/** Poisson by Knuth's product of uniforms, in chunks of mean 30 (a sum of Poisson variables is Poisson). */
function poisson(random: () => number, mean: number): number {
  let k = 0;
  for (let left = mean; left > 0; left -= 30) {
    const limit = Math.exp(-Math.min(left, 30));
    for (let u = random(); u > limit; u *= random()) k++;
  }
  return k;
}

/**
 * Counts drawn at random around the expected ones: each pattern's count Poisson with the expected count as mean (the
 * law of multinomial counts when the number of pairs is itself Poisson; each count's variance np instead of np(1−p),
 * a little more noise, never less). Patterns no pair showed are left out, as the warehouse's GROUP BY leaves them.
 */
function sampledInput(p: Population, seed: number): TrainingInput {
  const random = seededRandom(seed);
  const expected = expectedInput(p);
  return {
    ...expected,
    random: expected.random.map((x) => ({ ...x, pairs: poisson(random, x.pairs) })).filter((x) => x.pairs > 0),
    patterns: expected.patterns.map((x) => ({ ...x, pairs: poisson(random, x.pairs) })).filter((x) => x.pairs > 0),
  };
}

const level = (model: TrainedModel, name: string, gamma: number) => model.comparisons.get(name)!.find((l) => l.gamma === gamma)!;
/** How far an estimate is from the truth, as a factor: |ln(estimate / truth)|. */
const logError = (estimate: number, truth: number) => Math.abs(Math.log(estimate / truth));

/** The raw frequency of a level among random pairs with both values: what u would be without the posterior. */
function rawFrequency(input: TrainingInput, index: number, gamma: number): number {
  const present = input.random.filter((x) => x.gammas[index]! >= 0);
  return present.filter((x) => x.gammas[index] === gamma).reduce((a, x) => a + x.pairs, 0) / present.reduce((a, x) => a + x.pairs, 0);
}

describe('em.ts recovers a known Fellegi–Sunter model', () => {
  it('from the expected counts: m, u and the prior within 1%', () => {
    // Without sampling noise the model train() fits is the one that generated the counts (independent comparisons
    // given match status, nulls at random, flags functions of the key's levels): what is left is EM stopping at a
    // change below 1e-6 and the three passes. 1% is far above that and far below any bias: raw frequencies put the
    // e-mail's u 20× too high; a rule's recall left out of the prior would move it by 15% to 40%.
    const model = train(expectedInput(POPULATION));
    expect(model.untrained).toEqual([]);
    expect(model.sessions.map((s) => s.rule)).toEqual(POPULATION.blocking.map((b) => b.name));
    for (const session of model.sessions) expect(session.converged, session.rule).toBe(true);
    for (const c of POPULATION.comparisons) {
      expect(model.comparisons.get(c.name)!.map((l) => l.gamma)).toEqual([...c.gammas, 0]);
      for (const g of [...c.gammas, 0]) {
        const { m, u } = level(model, c.name, g);
        expect(Math.abs(m - c.m[g]!), `m of ${c.name} at ${g}: ${m} for ${c.m[g]}`).toBeLessThan(0.01 * c.m[g]!);
        expect(logError(u, c.u[g]!), `u of ${c.name} at ${g}: ${u} for ${c.u[g]}`).toBeLessThan(0.01);
      }
    }
    expect(logError(model.prior, priorOf(POPULATION))).toBeLessThan(0.01);
    expect(model.uFloor).toBeCloseTo(1 / pairsOf(POPULATION), 15);
  });

  it('from seeded random counts: each estimate within six standard errors of the truth, the prior within 15%', () => {
    const model = train(sampledInput(POPULATION, 21));
    const prior = priorOf(POPULATION);
    // Expected matches per training session: each m is a proportion among them, its standard error √(m(1−m)/n) per
    // session, averaged over the sessions that count (matches the majority). EM does not see which pairs match, so
    // its estimates vary more than a plain proportion: over 40 seeds the largest deviation was 4.5 such errors among
    // 880 estimates (a normal law would give about 3.4), hence six.
    const all = patterns(POPULATION);
    const sessions = POPULATION.blocking.map((rule, b) => {
      const flagged = all.filter((x) => flagsOf(POPULATION, x.gammas)[b] === 1);
      const matches = flagged.reduce((a, x) => a + POPULATION.matches * x.pm, 0);
      const pairs = flagged.reduce((a, x) => a + pairsWith(POPULATION, x), 0);
      return { rule, matches, lambda: matches / pairs };
    });
    expect(sessions.filter((s) => s.lambda < 0.5).map((s) => s.rule.name)).toEqual(['surname+postcode_3']);
    for (const [b, s] of model.sessions.entries()) expect(Math.abs(s.lambda - sessions[b]!.lambda), s.rule).toBeLessThan(0.02);
    for (const c of POPULATION.comparisons) {
      const counted = sessions.filter((s) => s.lambda >= 0.5 && ![...s.rule.exact, ...s.rule.prefix].includes(c.name));
      for (const g of [...c.gammas, 0]) {
        const truth = c.m[g]!;
        const variance = counted.reduce((a, s) => a + (truth * (1 - truth)) / (s.matches * c.present), 0) / counted.length ** 2;
        const { m, u } = level(model, c.name, g);
        expect(Math.abs(m - truth), `m of ${c.name} at ${g}: ${m} for ${truth}`).toBeLessThan(6 * Math.sqrt(variance));
        // u: a count of n non-matching random pairs, ln(û/u) with standard error 1/√n.
        const n = POPULATION.sample * (1 - prior) * c.present * c.u[g]!;
        expect(logError(u, c.u[g]!), `u of ${c.name} at ${g}: ${u} for ${c.u[g]} (${n.toFixed(0)} pairs expected)`).toBeLessThan(6 / Math.sqrt(n));
      }
    }
    // The prior: a session's matches (≈ 6,000, 1.3% standard error) over its rule's recall, a product of two m of about
    // 0.85 (1% each): about 3% together, 15% is five times that.
    expect(logError(model.prior, prior)).toBeLessThan(Math.log(1.15));
  });

  it('u of an e-mail, which random pairs mostly share because they are one person: closer than the raw frequency', () => {
    const index = POPULATION.comparisons.indexOf(EMAIL);
    const truth = EMAIL.u[EMAIL.exact]!;
    // 10 million random pairs, and Tideline's default of 1 million (where about 1.4 strangers share an e-mail).
    for (const [input, what] of [
      [expectedInput(POPULATION), 'expected counts'],
      [sampledInput(POPULATION, 7), 'seeded sample of 10M pairs'],
      [sampledInput({ ...POPULATION, sample: 1_000_000 }, 8), 'seeded sample of 1M pairs'],
    ] as const) {
      const raw = rawFrequency(input, index, EMAIL.exact);
      // The case is the one meant: the raw frequency is off by more than ten times, since most agreeing pairs match.
      expect(raw / truth, what).toBeGreaterThan(10);
      const u = level(train(input), EMAIL.name, EMAIL.exact).u;
      expect(logError(u, truth), `${what}: u ${u}, raw ${raw}, truth ${truth}`).toBeLessThan(logError(raw, truth) / 2);
    }
  });

  it('a comparison every blocking rule uses is reported untrained, its m left where it started; the others are trained', () => {
    const population: Population = {
      ...POPULATION,
      blocking: [
        { name: 'surname+birth_date', exact: ['surname', 'birth_date'], prefix: [] },
        { name: 'surname+postcode', exact: ['surname', 'postcode'], prefix: [] },
      ],
    };
    const model = train(expectedInput(population));
    expect(model.untrained).toEqual(['surname']);
    // Left at its starting values: whatever the data, the same m; here not the truth.
    const other = train(expectedInput({ ...population, comparisons: population.comparisons.map((c) => (c === SURNAME ? { ...c, m: rest({ 4: 0.5, 3: 0.2, 2: 0.1, 1: 0.1 }) } : c)) }));
    expect(other.comparisons.get('surname')!.map((l) => l.m)).toEqual(model.comparisons.get('surname')!.map((l) => l.m));
    expect(Math.abs(level(model, 'surname', 4).m - SURNAME.m[4]!)).toBeGreaterThan(0.01);
    // The comparisons some session leaves out are recovered (birth date by the postcode rule, postcode by the other).
    for (const c of [EMAIL, FIRST_NAME, BIRTH_DATE, POSTCODE])
      for (const g of [...c.gammas, 0]) expect(Math.abs(level(model, c.name, g).m - c.m[g]!), `${c.name} at ${g}`).toBeLessThan(0.01 * c.m[g]!);
  });

  /**
   * Look-alikes: a birth place shared by one pair in a thousand strangers, and by `neighbours` pairs who also share a
   * postcode (70%) and often a surname (30%). Blocking on the birth place alone gives EM a session where such groups,
   * not people, are the tightest class. em.ts leaves out of m the sessions where EM finds fewer than half matches.
   */
  const BIRTH_PLACE: TrueComparison = { name: 'birth_place', gammas: [1], exact: 1, present: 0.9, m: rest({ 1: 0.95 }), u: rest({ 1: 0.001 }), n: rest({ 1: 1 - 1e-12 }) };
  const lookAlikes = (neighbours: number): Population => ({
    ...POPULATION,
    comparisons: [
      EMAIL,
      FIRST_NAME,
      { ...SURNAME, n: rest({ 4: 0.3, 3: 0.02, 2: 0.02, 1: 0.01 }) },
      BIRTH_DATE,
      { ...POSTCODE, n: rest({ 3: 0.7, 2: 0.1, 1: 0.15 }) },
      BIRTH_PLACE,
    ],
    blocking: [...POPULATION.blocking.slice(0, 3), { name: 'birth_place', exact: ['birth_place'], prefix: [] }],
    neighbours,
  });
  /**
   * m within 0.05 and the prior within 15%. The other sessions meet neighbours too (they share postcodes), a dependence
   * the model cannot represent: a bias of up to 0.04 on m. Counting the look-alike session in m puts the e-mail's m at
   * about 0.55 instead of 0.85, and the prior at about twice the truth.
   */
  const expectRecovered = (population: Population) => {
    const model = train(expectedInput(population));
    for (const c of population.comparisons)
      for (const g of [...c.gammas, 0]) expect(Math.abs(level(model, c.name, g).m - c.m[g]!), `m of ${c.name} at ${g}`).toBeLessThan(0.05);
    expect(logError(model.prior, priorOf(population)), `prior ${model.prior} for ${priorOf(population)}`).toBeLessThan(Math.log(1.15));
    return model;
  };

  it('look-alike neighbours in a birth-place block (10 per record): that session finds under half matches and does not count for m', () => {
    const model = expectRecovered(lookAlikes(100_000));
    expect(model.sessions.find((s) => s.rule === 'birth_place')!.lambda).toBeLessThan(0.5);
  });

  // Known weakness, for the lead: whether a session counts is judged by its own λ, which in a look-alike session
  // measures the look-alikes. From about 20 neighbours per record EM finds them a majority there, the session counts,
  // and m collapses (e-mail exact 0.51 for 0.85) while the prior doubles. Sessions could instead be judged by how
  // well their implied number of matches (λ·pairs / recall) agrees with the other sessions'.
  it.fails('look-alike neighbours outnumbering matches in their block (30 per record): still not counted for m', () => {
    expectRecovered(lookAlikes(300_000));
  });

  it('EM cut short by max_iterations is reported per session, not thrown; the parameters are still probabilities', () => {
    const input = expectedInput(POPULATION, 1);
    let model: TrainedModel | undefined;
    expect(() => (model = train(input))).not.toThrow();
    expect(model!.sessions.length).toBe(POPULATION.blocking.length);
    for (const s of model!.sessions) expect([s.rule, s.converged, s.iterations]).toEqual([s.rule, false, 1]);
    expect(model!.prior).toBeGreaterThan(0);
    expect(model!.prior).toBeLessThanOrEqual(0.5);
    for (const [name, levels] of model!.comparisons) {
      for (const l of levels) {
        expect(l.m, name).toBeGreaterThan(0);
        expect(l.u, name).toBeGreaterThan(0);
        expect(l.m, name).toBeLessThanOrEqual(1);
        expect(l.u, name).toBeLessThanOrEqual(1);
      }
      expect(levels.reduce((a, l) => a + l.m, 0), name).toBeCloseTo(1, 4);
    }
    // Given enough iterations, the same input converges.
    for (const s of train(expectedInput(POPULATION, 100)).sessions) expect(s.converged, s.rule).toBe(true);
  });
});
