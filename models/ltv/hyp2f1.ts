import { stdlibHyp2f1 } from './special.js';

/**
 * The Gauss hypergeometric function 2F1(a, b; c; z) for real arguments and z < 1, as BG/NBD's conditional
 * expectation needs it.
 *
 * On 0 ≤ z < 1, stdlib's implementation (Cephes: power series near 0, the linear transformations in 1 − z near 1,
 * including the integer c − a − b cases) agrees with 40-digit references to ~1e-13 (hyp2f1.test.ts). On z < 0 it does
 * not: with large parameters, as a customer with many purchases gives, it returns values off by orders of magnitude
 * or of the wrong sign. There the Pfaff transformation
 *     2F1(a, b; c; z) = (1 − z)^(−a) · 2F1(a, c − b; c; z / (z − 1))
 * moves the argument into [0, 1), where the series is well behaved.
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (![a, b, c, z].every(Number.isFinite)) return Number.NaN;
  if (z >= 1) throw new RangeError(`hyp2f1 is only evaluated for z < 1 (got ${z})`);
  if (z < 0) return Math.pow(1 - z, -a) * stdlibHyp2f1(a, c - b, c, z / (z - 1));
  return stdlibHyp2f1(a, b, c, z);
}
