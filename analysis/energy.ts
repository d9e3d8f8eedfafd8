/**
 * Energy disaggregation metrics (NILMTK definitions) over per-class energies: `truth[k]` the true energy of
 * class k, `estimate[k]` what the meter's events attribute to it. Both in Wh.
 */
export function fractionEnergyAssigned(truth: Record<string, number>, estimate: Record<string, number>): number {
  const classes = new Set([...Object.keys(truth), ...Object.keys(estimate)]);
  const sumT = Object.values(truth).reduce((a, b) => a + b, 0);
  const sumE = Object.values(estimate).reduce((a, b) => a + b, 0);
  if (sumT <= 0) return Number.NaN;
  if (sumE <= 0) return 0;
  let diff = 0;
  for (const k of classes) diff += Math.abs((estimate[k] ?? 0) / sumE - (truth[k] ?? 0) / sumT);
  return 1 - diff / 2;
}

/**
 * Disaggregation accuracy over per-class energies (Kolter & Johnson, "REDD", 2011, eq. 1, taken over a case's class
 * totals): 1 − Σ_k |ŷ_k − y_k| / (2 Σ_k y_k). Unlike the fraction of energy assigned correctly, which compares
 * shares, it drops when the meter assigns a class more (or less) energy than it drew even if the shares barely move
 * (an EV over-assigned 15 % in a house where it draws most of the energy). 1 is perfect; energy assigned to
 * "unknown" counts as misassigned.
 */
export function energyAssignedAccuracy(truth: Record<string, number>, estimate: Record<string, number>): number {
  const classes = new Set([...Object.keys(truth), ...Object.keys(estimate)]);
  const sumT = Object.values(truth).reduce((a, b) => a + b, 0);
  if (sumT <= 0) return Number.NaN;
  let diff = 0;
  for (const k of classes) diff += Math.abs((estimate[k] ?? 0) - (truth[k] ?? 0));
  return 1 - diff / (2 * sumT);
}

export function normalisedDisaggregationError(truth: Record<string, number>, estimate: Record<string, number>): number {
  const classes = new Set([...Object.keys(truth), ...Object.keys(estimate)]);
  let num = 0;
  let den = 0;
  for (const k of classes) {
    const y = truth[k] ?? 0;
    num += ((estimate[k] ?? 0) - y) ** 2;
    den += y ** 2;
  }
  return den === 0 ? Number.NaN : Math.sqrt(num / den);
}

export function errorPct(measured: number, reference: number): number {
  return reference === 0 ? Number.NaN : ((measured - reference) / reference) * 100;
}

/** Readings sorted by time: an array, or a register track read by index (analysis/case-entries.ts). */
export type RegisterSeries =
  | readonly RegisterReading[]
  | { readonly length: number; reading(i: number): RegisterReading };

export interface RegisterReading {
  t: number;
  importWh: number;
  exportWh: number;
  /** Active power (W, negative when exporting) at the reading, when the meter reports it. */
  p?: number;
}

/**
 * Register value at time t between two readings (sorted by t). With the readings' active power known, the value is
 * the earlier reading plus its power held until t, as a meter integrates: exact when the load steps between polls
 * (a MID test point switching on or off), where straight interpolation would smear the step over the poll
 * interval. Clamped to the two readings; plain linear interpolation when power is not reported.
 */
export function registerAt(readings: RegisterSeries, t: number, key: 'importWh' | 'exportWh'): number {
  const at = 'reading' in readings ? (i: number) => readings.reading(i) : (i: number) => readings[i]!;
  if (readings.length === 0) return Number.NaN;
  const first = at(0);
  if (t <= first.t) return first[key];
  let lo = 0;
  let hi = readings.length - 1;
  const final = at(hi);
  if (t >= final.t) return final[key];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (at(mid).t <= t) lo = mid;
    else hi = mid;
  }
  const a = at(lo);
  const b = at(hi);
  if (typeof a.p === 'number' && Number.isFinite(a.p)) {
    const rateW = key === 'importWh' ? Math.max(0, a.p) : Math.max(0, -a.p);
    const held = a[key] + (rateW * (t - a.t)) / 3600;
    return Math.min(Math.max(held, Math.min(a[key], b[key])), Math.max(a[key], b[key]));
  }
  const f = (t - a.t) / (b.t - a.t);
  return a[key] + f * (b[key] - a[key]);
}
