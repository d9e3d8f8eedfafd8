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
