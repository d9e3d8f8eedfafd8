/**
 * Measurement uncertainty as JCGM 100:2008 (GUM) states it, and the coverage factor accredited laboratories report
 * with (ILAC P14:09/2020: k = 2, about 95 % coverage for a normal distribution). The one place these numbers are
 * written; analysis/uncertainty.ts builds budgets from them.
 */
export const GUM_CLAUSE = 'JCGM 100:2008 (GUM)';

/** Coverage factor of an expanded uncertainty U = k·u_c (ILAC P14: k = 2). */
export const COVERAGE_FACTOR = 2;
export const COVERAGE_CLAUSE = 'ILAC P14:09/2020 (expanded uncertainty with k = 2, ≈ 95 % coverage)';

/** Standard uncertainty of a rectangular distribution of half-width a: a/√3 (GUM §4.3.7). */
export function rectangularU(halfWidth: number): number {
  return halfWidth / Math.sqrt(3);
}

/** Standard uncertainty of the mean of n readings with experimental standard deviation s: s/√n (GUM §4.2.3). */
export function typeAU(s: number, n: number): number {
  return n > 0 ? s / Math.sqrt(n) : 0;
}

/** Combined standard uncertainty of uncorrelated inputs with unit sensitivity: √Σu² (GUM §5.1.2). */
export function combinedU(us: readonly number[]): number {
  return Math.sqrt(us.reduce((a, u) => a + u * u, 0));
}
