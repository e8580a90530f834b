/**
 * Training a Fellegi–Sunter model without labels, on small tables of counts computed in the warehouse (scoring.ts):
 * nothing here sees a record, only how many pairs showed each pattern of levels.
 *
 * - **u** (how often two records of different people agree at a level) from pairs of records drawn at random. A few
 *   of those pairs are the same person, and for identifiers as telling as an e-mail or a postcode they are most of
 *   the agreeing ones: so u counts each random pair by its probability of *not* being a match under the current
 *   model (its posterior), which a plain frequency, or subtracting λ·m from it, gets wrong by orders of magnitude.
 * - **m** (how often two records of one person agree at a level) and the share of matches among candidate pairs by
 *   expectation-maximisation with u fixed, once per blocking rule ("training session", as Splink does): the pairs
 *   agreeing on that rule, compared on every identifier the rule does not use — so no m is estimated from pairs
 *   chosen for agreeing on it. Sessions where matches are at least half the pairs give m (mean); the others — a block
 *   on a birth place alone, mostly neighbours — would have EM separate look-alike groups rather than people, and
 *   count only when no session has that many matches.
 * - **The prior** (the probability that two records drawn at random match) from each session's expected matches
 *   divided by that rule's recall (how often a match has both values and agrees on its key, from m): the median over
 *   sessions, over all N·(N−1)/2 pairs.
 * - Three passes: each re-estimates u, then m and the prior, from the previous pass's model.
 */

export interface TrainingComparison {
  readonly name: string;
  /** Gammas of its levels, strongest first (n … 1); 0 is `else`, −1 null. */
  readonly gammas: readonly number[];
  /** The gamma of the exact level, when there is one. */
  readonly exact: number | undefined;
}

export interface TrainingInput {
  readonly comparisons: readonly TrainingComparison[];
  /** Per blocking rule, the comparisons (by name) it agrees on exactly, and those it agrees on by prefix. */
  readonly blocking: readonly { readonly name: string; readonly exact: readonly string[]; readonly prefix: readonly string[] }[];
  /** Records compared. */
  readonly records: number;
  /** Random-pair patterns: gammas (one per comparison, in order), pairs. */
  readonly random: readonly { readonly gammas: readonly number[]; readonly pairs: number }[];
  /** Candidate-pair patterns: gammas (one per comparison, in order), blocking flags (one per rule), pairs. */
  readonly patterns: readonly { readonly gammas: readonly number[]; readonly flags: readonly number[]; readonly pairs: number }[];
  readonly maxIterations: number;
}

export interface LevelParameters {
  readonly gamma: number;
  readonly m: number;
  readonly u: number;
}

export interface Session {
  readonly rule: string;
  readonly pairs: number;
  readonly iterations: number;
  readonly converged: boolean;
  /** Share of matches among the session's pairs. */
  readonly lambda: number;
}

export interface TrainedModel {
  /** Probability that two records drawn at random are one person. */
  readonly prior: number;
  readonly comparisons: ReadonlyMap<string, readonly LevelParameters[]>;
  /** Comparisons whose m no counted session estimated (every rule blocks on them, or the blocks that compare them are mostly non-matches): left at their starting values. */
  readonly untrained: readonly string[];
  readonly sessions: readonly Session[];
  /** Smallest u allowed: less than one chance agreement among all pairs. */
  readonly uFloor: number;
}

const PASSES = 3;
/**
 * How much a training session's m counts: sessions where matches are at least half the pairs count fully; the others
 * (a block on a birth place alone: mostly neighbours) almost not at all — there EM separates look-alike groups, not
 * people. When no session has that many matches, each counts by its share of matches.
 */
const MAJORITY = 0.5;
const TOLERANCE = 1e-6;
const M_FLOOR = 1e-6;

/** Starting m: most matches agree exactly, fewer at each weaker level, a few disagree. */
function startingM(c: TrainingComparison): Map<number, number> {
  const weights = [...c.gammas.map((_, i) => (i === 0 ? 0.8 : 0.15 / 2 ** (i - 1))), 0.05];
  const sum = weights.reduce((a, b) => a + b, 0);
  return new Map([...c.gammas, 0].map((g, i) => [g, weights[i]! / sum]));
}

export function train(input: TrainingInput): TrainedModel {
  const n = input.records;
  // At least 3 pairs, so that the prior, kept within [1 / pairs, 1/2], is a probability below one even for a source
  // of one or two records (or none): such a model trains to neutral parameters instead of failing.
  const allPairs = Math.max(3, (n * (n - 1)) / 2);
  const uFloor = 1 / allPairs;
  const names = input.comparisons.map((c) => c.name);
  const randomPairs = input.random.reduce((a, p) => a + p.pairs, 0);
  // How often a comparison has both values, among random pairs.
  const bothPresent = new Map(
    input.comparisons.map((c, i) => [c.name, randomPairs > 0 ? input.random.reduce((a, p) => a + (p.gammas[i]! >= 0 ? p.pairs : 0), 0) / randomPairs : 1]),
  );

  let m = new Map(input.comparisons.map((c) => [c.name, startingM(c)]));
  let prior = 1 / allPairs;
  let u = estimateU(input, m, undefined, prior);
  let sessions: Session[] = [];
  const trained = new Set<string>();

  for (let pass = 0; pass < PASSES; pass++) {
    sessions = [];
    const fits: { fit: Fit; included: TrainingComparison[]; pairs: number; rule: (typeof input.blocking)[number] }[] = [];
    for (const [b, rule] of input.blocking.entries()) {
      const blocked = new Set([...rule.exact, ...rule.prefix]);
      const included = input.comparisons.map((c, i) => [c, i] as const).filter(([c]) => !blocked.has(c.name));
      // The session's patterns, over the comparisons it estimates.
      const grouped = new Map<string, { gammas: number[]; pairs: number }>();
      let pairs = 0;
      for (const pattern of input.patterns) {
        if (pattern.flags[b] !== 1) continue;
        const gammas = included.map(([, i]) => pattern.gammas[i]!);
        const key = gammas.join(',');
        const entry = grouped.get(key) ?? { gammas, pairs: 0 };
        entry.pairs += pattern.pairs;
        grouped.set(key, entry);
        pairs += pattern.pairs;
      }
      if (pairs === 0 || included.length === 0) continue;
      const fit = expectationMaximisation([...grouped.values()], included.map(([c]) => c), m, u, input.maxIterations);
      sessions.push({ rule: rule.name, pairs, iterations: fit.iterations, converged: fit.converged, lambda: fit.lambda });
      fits.push({ fit, included: included.map(([c]) => c), pairs, rule });
    }
    const majority = fits.some((f) => f.fit.lambda >= MAJORITY);
    const sums = new Map<string, Map<number, number>>();
    const weightOf = new Map<string, number>();
    const expected: number[] = [];
    for (const { fit, included, pairs, rule } of fits) {
      const weight = majority ? (fit.lambda >= MAJORITY ? 1 : 0) : fit.lambda;
      for (const c of included) {
        if (weight <= 0) continue;
        trained.add(c.name);
        const acc = sums.get(c.name) ?? new Map<number, number>();
        for (const [g, x] of fit.m.get(c.name)!) acc.set(g, (acc.get(g) ?? 0) + x * weight);
        sums.set(c.name, acc);
        weightOf.set(c.name, (weightOf.get(c.name) ?? 0) + weight);
      }
      // Recall of the rule: a match has both values and agrees on each part of its key.
      let recall = 1;
      for (const name of [...rule.exact, ...rule.prefix]) {
        const c = input.comparisons.find((x) => x.name === name);
        if (!c) continue;
        const mc = m.get(name)!;
        const agree = rule.exact.includes(name) ? (c.exact !== undefined ? mc.get(c.exact)! : mc.get(c.gammas[0]!)!) : c.gammas.reduce((a, g) => a + mc.get(g)!, 0);
        recall *= (bothPresent.get(name) ?? 1) * agree;
      }
      const matches = fit.lambda * pairs;
      if (matches >= 1 && recall > 0) expected.push(matches / recall);
    }
    const next = new Map(m);
    for (const [name, acc] of sums) {
      const w = weightOf.get(name)!;
      if (w > 0) next.set(name, new Map([...acc].map(([g, x]) => [g, Math.max(x / w, M_FLOOR)])));
    }
    m = next;
    if (expected.length) prior = median(expected) / allPairs;
    prior = Math.min(0.5, Math.max(1 / allPairs, prior));
    u = estimateU(input, m, u, prior);
  }

  const comparisons = new Map(
    input.comparisons.map((c) => [c.name, [...c.gammas, 0].map((gamma) => ({ gamma, m: m.get(c.name)!.get(gamma)!, u: u.get(c.name)!.get(gamma)! }))]),
  );
  return { prior, comparisons, untrained: names.filter((name) => !trained.has(name)), sessions, uFloor };
}

/**
 * u from the random pairs, each counted by its probability of not being a match under (prior, m, u) — or, before
 * any model (`u` undefined), counted fully. A level no pair showed gets half a pair: rarer than one in the sample,
 * not impossible.
 */
function estimateU(input: TrainingInput, m: ReadonlyMap<string, ReadonlyMap<number, number>>, u: ReadonlyMap<string, ReadonlyMap<number, number>> | undefined, prior: number): Map<string, Map<number, number>> {
  const logPrior = Math.log(prior) - Math.log(1 - prior);
  const sums = input.comparisons.map(() => new Map<number, number>());
  const present = input.comparisons.map(() => 0);
  for (const pattern of input.random) {
    let weight = 1;
    if (u) {
      let logit = logPrior;
      pattern.gammas.forEach((g, i) => {
        const name = input.comparisons[i]!.name;
        if (g >= 0) logit += Math.log(m.get(name)!.get(g)!) - Math.log(u.get(name)!.get(g)!);
      });
      weight = 1 - 1 / (1 + Math.exp(-logit));
    }
    pattern.gammas.forEach((g, i) => {
      if (g < 0) return;
      sums[i]!.set(g, (sums[i]!.get(g) ?? 0) + pattern.pairs * weight);
      present[i]! += pattern.pairs * weight;
    });
  }
  return new Map(
    input.comparisons.map((c, i) => {
      const levels = [...c.gammas, 0];
      // Half a pair for a level no pair showed, then normalised: with few random pairs the floor alone could
      // otherwise make the levels' u add up to more than one.
      const counts = levels.map((g) => (present[i]! > 0 ? Math.max(sums[i]!.get(g) ?? 0, 0.5) : 1));
      const total = counts.reduce((a, b) => a + b, 0);
      return [c.name, new Map(levels.map((g, j) => [g, counts[j]! / total]))];
    }),
  );
}

interface Fit {
  readonly lambda: number;
  readonly m: Map<string, Map<number, number>>;
  readonly iterations: number;
  readonly converged: boolean;
}

/** EM over grouped patterns with u fixed: the share of matches and m of each included comparison. */
export function expectationMaximisation(
  patterns: readonly { readonly gammas: readonly number[]; readonly pairs: number }[],
  comparisons: readonly TrainingComparison[],
  mStart: ReadonlyMap<string, ReadonlyMap<number, number>>,
  u: ReadonlyMap<string, ReadonlyMap<number, number>>,
  maxIterations: number,
): Fit {
  let lambda = 0.5;
  let m = new Map(comparisons.map((c) => [c.name, new Map(mStart.get(c.name)!)]));
  // Log Bayes factors per comparison and gamma, recomputed each iteration.
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    const factors = comparisons.map((c) => {
      const mc = m.get(c.name)!;
      const uc = u.get(c.name)!;
      return new Map([...mc].map(([g, x]) => [g, Math.log(x) - Math.log(uc.get(g)!)]));
    });
    let matched = 0;
    let total = 0;
    const sums = comparisons.map(() => new Map<number, number>());
    const present = comparisons.map(() => 0);
    const logPrior = Math.log(lambda) - Math.log(1 - lambda);
    for (const pattern of patterns) {
      let logit = logPrior;
      pattern.gammas.forEach((g, i) => {
        if (g >= 0) logit += factors[i]!.get(g)!;
      });
      const w = 1 / (1 + Math.exp(-logit));
      const expected = w * pattern.pairs;
      matched += expected;
      total += pattern.pairs;
      pattern.gammas.forEach((g, i) => {
        if (g < 0) return;
        sums[i]!.set(g, (sums[i]!.get(g) ?? 0) + expected);
        present[i]! += expected;
      });
    }
    const nextLambda = Math.min(1 - 1e-9, Math.max(1e-9, matched / total));
    const next = new Map(
      comparisons.map((c, i) => [c.name, new Map([...c.gammas, 0].map((g) => [g, present[i]! > 0 ? Math.max((sums[i]!.get(g) ?? 0) / present[i]!, M_FLOOR) : m.get(c.name)!.get(g)!]))]),
    );
    let change = Math.abs(nextLambda - lambda);
    for (const [name, mc] of next) for (const [g, x] of mc) change = Math.max(change, Math.abs(x - m.get(name)!.get(g)!));
    lambda = nextLambda;
    m = next;
    if (change < TOLERANCE) return { lambda, m, iterations: iteration, converged: true };
  }
  return { lambda, m, iterations: maxIterations, converged: false };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
