/**
 * MID (2014/32/EU) Annex V, MI-003 table 2: maximum permissible errors in % for active electrical energy meters at
 * +5…+30 °C, applicable for cos φ from 0.5 inductive to 0.8 capacitive.
 */
export type MidClass = 'A' | 'B' | 'C';

const MPE: Record<MidClass, { belowItr: number; fromItr: number }> = {
  A: { belowItr: 3.5, fromItr: 3.5 },
  B: { belowItr: 2.5, fromItr: 2 },
  C: { belowItr: 1.5, fromItr: 1 },
};

export function midMaxPermissibleErrorPct(cls: MidClass, currentA: number, itrA: number): number {
  return currentA < itrA ? MPE[cls].belowItr : MPE[cls].fromItr;
}

export function parseMidClass(value: unknown): MidClass {
  if (value === 'A' || value === 'B' || value === 'C') return value;
  throw new Error(`MID class must be A, B or C, not ${String(value)}`);
}

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
