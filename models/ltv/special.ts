import { lazyPackage } from '../../src/lazy-package.js';

/** stdlib's special functions, loaded when a fit first needs them (src/lazy-package.ts says why). */
type Special = (x: number) => number;
const digammaOf = lazyPackage<Special>('@stdlib/math-base-special-digamma');
const gammalnOf = lazyPackage<Special>('@stdlib/math-base-special-gammaln');
const hyp2f1Of = lazyPackage<(a: number, b: number, c: number, z: number) => number>('@stdlib/math-base-special-hyp2f1');

export const digamma = (x: number): number => digammaOf()(x);
export const gammaln = (x: number): number => gammalnOf()(x);
export const stdlibHyp2f1 = (a: number, b: number, c: number, z: number): number => hyp2f1Of()(a, b, c, z);
