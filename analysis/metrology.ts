import type { ConformityStatement, DecisionRule } from './standards/decision-rules.js';

/** One input of an energy error's uncertainty budget: a standard uncertainty in % of the reading. */
export interface UncertaintyComponent {
  source: 'reference' | 'repeatability' | 'gate timing';
  uPct: number;
  /** How it was evaluated: type A (statistics of repeated gates) or type B (a certificate, a class, a resolution). */
  type: 'A' | 'B';
  basis: string;
}

/**
 * One MID test point's result: the meter's energy error against the reference over the point's window, the class
 * MPE for its current (from `standards/mid.ts`, MID 2014/32/EU Annex V MI-003 Table 2), its expanded uncertainty
 * (GUM, k = 2) and what the suite's decision rule makes of them (ILAC-G8).
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
  /** The point's error in each of its consecutive gates (the repeatability's readings). */
  gateErrorsPct?: number[];
  /** What the DUT's energy was read from: its pulse output (gated on pulse edges) or its registers (by duration). */
  source?: 'pulses' | 'registers';
  /** The pulse gate: opening and closing edge (case time) and the pulses between. */
  gate?: { t0: number; t1: number; pulses: number };
  budget?: UncertaintyComponent[];
  /** Combined standard and expanded uncertainty (k), % of the reading. */
  combinedPct?: number;
  expandedPct?: number;
  coverageFactor?: number;
  statement?: ConformityStatement;
  /** Whether the suite's decision rule accepts the result. */
  accepted?: boolean;
}

export interface MetrologySection {
  midClass: string;
  points: TestPointResult[];
  creepPulses?: number;
  /** A disturbance test's change of error at each disturbed point against its undisturbed reference point. */
  shifts?: Array<{ id: string; referenceId: string; shiftPct: number }>;
  /** The starting test at Ist: what the meter registered in each half of the run, and the halves without any. */
  starting?: {
    currentA: number;
    source: 'pulses' | 'registers';
    halves: Array<{ from: number; to: number; registeredWh: number; pulses: number }>;
    gaps: number;
  };
  decisionRule?: DecisionRule;
  /** The reference standard the errors were measured against, as the rig declared it. */
  reference?: { instrument: string; description: string; certificate?: string; due?: string };
}
