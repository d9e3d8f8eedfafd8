/**
 * MID 2014/32/EU, Annex V (MI-003, active electrical energy meters), §3, Table 2: maximum permissible errors (MPE)
 * in percent by meter class, load current range and load. This module is the ONE place a MID number is written:
 * suite criteria take their limit from it (`limitFrom: { table: mid.mpe, … }`, resolved at suite load with the
 * suite's `midClass`), and the metrology and billing analyses look their tolerances up here, so a class limit can
 * never drift between a suite, an analysis and a test. Pure data and lookups (analysis does no I/O); the engine
 * imports it to resolve suites.
 *
 * Only the +5…+30 °C column is tabulated: the bench's rigs run at room temperature, and the other temperature
 * columns are keyed by the same `temperature` field when a climatic rig needs them.
 */
export const MID_CLASSES = ['A', 'B', 'C'] as const;
export type MidClass = (typeof MID_CLASSES)[number];

/** Load current ranges of Table 2 (Annex V definitions: Imin, Itr, Imax). */
export const MID_CURRENT_RANGES = ['imin-itr', 'itr-imax'] as const;
export type MidCurrentRange = (typeof MID_CURRENT_RANGES)[number];

/** Table 2's row groups: single-phase meters (and polyphase meters with balanced loads), polyphase with one phase loaded. */
export const MID_LOADS = ['single-phase', 'polyphase-single-phase-load'] as const;
export type MidLoad = (typeof MID_LOADS)[number];

export const MID_TEMPERATURES = ['+5..+30'] as const;
export type MidTemperature = (typeof MID_TEMPERATURES)[number];

export const MID_MPE_CLAUSE = 'MID 2014/32/EU Annex V (MI-003) §3 Table 2';

export interface MidMpeRow {
  load: MidLoad;
  current: MidCurrentRange;
  temperature: MidTemperature;
  mpePct: Readonly<Record<MidClass, number>>;
}

/** Table 2 as published (OJ L 96, 29.3.2014, p. 149), operating temperature +5 °C … +30 °C. */
export const MID_MPE_TABLE: readonly MidMpeRow[] = [
  { load: 'single-phase', current: 'imin-itr', temperature: '+5..+30', mpePct: { A: 3.5, B: 2, C: 1 } },
  { load: 'single-phase', current: 'itr-imax', temperature: '+5..+30', mpePct: { A: 2, B: 1, C: 0.5 } },
  {
    load: 'polyphase-single-phase-load',
    current: 'itr-imax',
    temperature: '+5..+30',
    mpePct: { A: 2.5, B: 1.5, C: 1 },
  },
];

export interface MidMpeKey {
  midClass: MidClass;
  current: MidCurrentRange;
  load?: MidLoad;
  temperature?: MidTemperature;
}

export interface MidMpe {
  mpePct: number;
  /** Where the number comes from, for reports: clause, class, current range, load and temperature. */
  citation: string;
}

const CURRENT_TEXT: Record<MidCurrentRange, string> = { 'imin-itr': 'Imin ≤ I < Itr', 'itr-imax': 'Itr ≤ I ≤ Imax' };
const LOAD_TEXT: Record<MidLoad, string> = {
  'single-phase': 'single-phase or balanced polyphase',
  'polyphase-single-phase-load': 'polyphase with single-phase load',
};

/** The MPE for one cell of Table 2; undefined when the table has no such cell (e.g. a single-phase load below Itr). */
export function findMidMpe(key: MidMpeKey): MidMpe | undefined {
  const load = key.load ?? 'single-phase';
  const temperature = key.temperature ?? '+5..+30';
  const row = MID_MPE_TABLE.find((r) => r.load === load && r.current === key.current && r.temperature === temperature);
  if (!row) return undefined;
  const mpePct = row.mpePct[key.midClass];
  return {
    mpePct,
    citation: `${MID_MPE_CLAUSE} (class ${key.midClass}, ${CURRENT_TEXT[key.current]}, ${LOAD_TEXT[load]}, ${temperature.replace('..', '…')} °C: MPE ${mpePct} %)`,
  };
}

export function midMpe(key: MidMpeKey): MidMpe {
  const m = findMidMpe(key);
  if (!m) throw new Error(`MID Table 2 has no MPE for ${key.load ?? 'single-phase'} load at ${key.current}`);
  return m;
}

/** The Table 2 current range a load current falls in, for a meter with transitional current itrA. */
export function midCurrentRange(currentA: number, itrA: number): MidCurrentRange {
  return currentA < itrA ? 'imin-itr' : 'itr-imax';
}

/** MPE in % of a single-phase meter of class `cls` at load current `currentA` (+5…+30 °C). */
export function midMaxPermissibleErrorPct(cls: MidClass, currentA: number, itrA: number): number {
  return midMpe({ midClass: cls, current: midCurrentRange(currentA, itrA) }).mpePct;
}

export function isMidClass(value: unknown): value is MidClass {
  return (MID_CLASSES as readonly unknown[]).includes(value);
}

export function parseMidClass(value: unknown): MidClass {
  if (isMidClass(value)) return value;
  throw new Error(`MID class must be A, B or C, not ${String(value)}`);
}

/**
 * MI-003 §2.1, Table 1: the current values a manufacturer declares must satisfy these bounds, relative to the
 * transitional current Itr, by class and connection (for transformer-operated meters In = 20 Itr and Imax ≥ 1.2 In).
 * A test plan that names Ist or Imin takes the class's bound here when the meter declares no smaller value.
 */
export const MID_CONNECTIONS = ['direct', 'transformer'] as const;
export type MidConnection = (typeof MID_CONNECTIONS)[number];

export const MID_CURRENTS_CLAUSE = 'MID 2014/32/EU Annex V (MI-003) §2.1 Table 1';

export interface MidCurrentBounds {
  /** Ist ≤ istMaxItr · Itr. */
  istMaxItr: number;
  /** Imin ≤ iminMaxItr · Itr. */
  iminMaxItr: number;
  /** Imax ≥ imaxMinItr · Itr (transformer-operated: 1.2 · In = 1.2 · 20 Itr). */
  imaxMinItr: number;
}

export const MID_CURRENT_TABLE: Readonly<Record<MidConnection, Readonly<Record<MidClass, MidCurrentBounds>>>> = {
  direct: {
    A: { istMaxItr: 0.05, iminMaxItr: 0.5, imaxMinItr: 50 },
    B: { istMaxItr: 0.04, iminMaxItr: 0.5, imaxMinItr: 50 },
    C: { istMaxItr: 0.04, iminMaxItr: 0.3, imaxMinItr: 50 },
  },
  // Table 1's footnote: class B electromechanical transformer-operated meters may have Imin ≤ 0.4 Itr (not tabulated:
  // the bench certifies static meters).
  transformer: {
    A: { istMaxItr: 0.06, iminMaxItr: 0.4, imaxMinItr: 24 },
    B: { istMaxItr: 0.04, iminMaxItr: 0.2, imaxMinItr: 24 },
    C: { istMaxItr: 0.02, iminMaxItr: 0.2, imaxMinItr: 24 },
  },
};

/**
 * MI-003 §2.2: the supply and load ranges within which Table 2's MPE applies, at least 0.9 Un … 1.1 Un,
 * 0.98 fn … 1.02 fn and cos φ from 0.5 inductive to 0.8 capacitive (capacitive written negative, as the bench does).
 */
export const MID_RATED_RANGES_CLAUSE = 'MID 2014/32/EU Annex V (MI-003) §2.2';
export const MID_RATED_RANGES = {
  voltage: { min: 0.9, max: 1.1 },
  frequency: { min: 0.98, max: 1.02 },
  powerFactor: { minInductive: 0.5, maxCapacitive: -0.8 },
} as const;

/**
 * MI-003 §4.2, Table 3: critical change values in % for long-term disturbances: how far the error at a test point
 * may move when the disturbance is applied, against the same point without it.
 */
export const MID_DISTURBANCES = [
  'reversed-phase-sequence',
  'voltage-unbalance',
  'harmonics',
  'dc-and-harmonics',
  'fast-transient-bursts',
  'magnetic-and-rf-fields',
] as const;
export type MidDisturbance = (typeof MID_DISTURBANCES)[number];

export const MID_CRITICAL_CHANGE_CLAUSE = 'MID 2014/32/EU Annex V (MI-003) §4.2 Table 3';

export const MID_CRITICAL_CHANGE_TABLE: Readonly<Record<MidDisturbance, Readonly<Record<MidClass, number>>>> = {
  'reversed-phase-sequence': { A: 1.5, B: 1.5, C: 0.3 },
  'voltage-unbalance': { A: 4, B: 2, C: 1 },
  harmonics: { A: 1, B: 0.8, C: 0.5 },
  'dc-and-harmonics': { A: 6, B: 3, C: 1.5 },
  'fast-transient-bursts': { A: 6, B: 4, C: 2 },
  'magnetic-and-rf-fields': { A: 3, B: 2, C: 1 },
};

const DISTURBANCE_TEXT: Record<MidDisturbance, string> = {
  'reversed-phase-sequence': 'reversed phase sequence',
  'voltage-unbalance': 'voltage unbalance',
  harmonics: 'harmonic contents in the current circuits',
  'dc-and-harmonics': 'DC and harmonics in the current circuit',
  'fast-transient-bursts': 'fast transient bursts',
  'magnetic-and-rf-fields': 'magnetic fields, RF fields, conducted RF and oscillatory waves',
};

/** The critical change value for one disturbance and class, with its citation. */
export function midCriticalChange(disturbance: MidDisturbance, midClass: MidClass): MidMpe {
  const pct = MID_CRITICAL_CHANGE_TABLE[disturbance][midClass];
  return {
    mpePct: pct,
    citation: `${MID_CRITICAL_CHANGE_CLAUSE} (class ${midClass}, ${DISTURBANCE_TEXT[disturbance]}: critical change ${pct} %)`,
  };
}

/** MI-003 §5.4 and §5.5: running with no load, and starting at Ist. */
export const MID_NO_LOAD_CLAUSE = 'MID 2014/32/EU Annex V (MI-003) §5.4 (running with no load)';
export const MID_STARTING_CLAUSE =
  'MID 2014/32/EU Annex V (MI-003) §5.5 (starting: the meter starts and continues to register at Ist)';
