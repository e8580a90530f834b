import type { BgNbdParams, RfmGroup } from './bgnbd.js';
import type { GammaGammaParams, SpendGroup } from './gamma-gamma.js';

/** Seeded PRNG (mulberry32): reproducible simulations for parameter-recovery tests and examples. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Gamma(shape, rate) by Marsaglia & Tsang, with the usual boost for shape < 1. */
export function gammaSample(random: () => number, shape: number, rate: number): number {
  if (shape < 1) return gammaSample(random, shape + 1, rate) * Math.pow(random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(random);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = random();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return (d * v) / rate;
  }
}

/**
 * Customers drawn from BG/NBD with known parameters, first purchase at a random whole day of the first
 * `acquisitionDays`, observed until `calibrationDays`; times in units of `daysPerUnit` days.
 */
export function simulateBgNbd(params: BgNbdParams, customers: number, options: { seed: number; acquisitionDays: number; calibrationDays: number; daysPerUnit: number }): RfmGroup[] {
  const random = seededRandom(options.seed);
  const groups = new Map<string, { x: number; tx: number; T: number; n: number }>();
  for (let i = 0; i < customers; i++) {
    const lambda = gammaSample(random, params.r, params.alpha);
    const g1 = gammaSample(random, params.a, 1);
    const p = g1 / (g1 + gammaSample(random, params.b, 1));
    const firstDay = Math.floor(random() * options.acquisitionDays);
    const T = (options.calibrationDays - firstDay) / options.daysPerUnit;
    let t = 0;
    let tx = 0;
    let x = 0;
    for (;;) {
      t += -Math.log(1 - random()) / lambda;
      if (t > T) break;
      x++;
      // Recorded as the warehouse records it: the day of the purchase.
      tx = Math.floor(t * options.daysPerUnit) / options.daysPerUnit;
      // Dropout happens after a repeat purchase, never after the first (FHL 2005).
      if (random() < p) break;
    }
    const key = `${x}|${tx}|${T}`;
    const group = groups.get(key);
    if (group) group.n++;
    else groups.set(key, { x, tx, T, n: 1 });
  }
  return [...groups.values()];
}

/** Customers drawn from Gamma-Gamma: `x` transactions (uniform in 1..maxTransactions) and their mean value. */
export function simulateGammaGamma(params: GammaGammaParams, customers: number, options: { seed: number; maxTransactions: number }): SpendGroup[] {
  const random = seededRandom(options.seed);
  const out: SpendGroup[] = [];
  for (let i = 0; i < customers; i++) {
    const nu = gammaSample(random, params.q, params.v);
    const x = 1 + Math.floor(random() * options.maxTransactions);
    let sum = 0;
    for (let k = 0; k < x; k++) sum += gammaSample(random, params.p, nu);
    out.push({ x, m: sum / x, n: 1 });
  }
  return out;
}
