/**
 * One MID test point's result: the meter's energy error against the reference over the point's window, and the
 * class MPE for its current (from `standards/mid.ts`, MID 2014/32/EU Annex V MI-003 Table 2).
 */
export interface TestPointResult {
  id: string;
  currentA: number;
  pf: number;
  referenceWh: number;
  meterWh: number;
  errorPct: number;
  mpePct: number;
  /** |error| / MPE: ≤ 1 is within the class limit. */
  ratio: number;
}
