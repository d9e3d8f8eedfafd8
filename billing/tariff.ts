/**
 * Tariffs as the TariffRegistry stores them, and the one cost formula both the meter (when it bills) and the
 * verifier (when it recomputes) use. Pure integer arithmetic on bigints; no imports.
 *
 * Cost of a record, in micro-units of the currency:
 * - a version-2 or -3 record carries its import energy per tariff band (`bandMilliWh[b]`, measured by the meter as it
 *   drew it): band b's energy is priced at max(0, bandPrice[b] − evIncentive) per kWh. So a smart EV that pauses
 *   through the peak pays no peak price. The band energies must add up to the import energy and there is one per
 *   band of the tariff;
 * - a version-1 record (no band energies) has its import energy spread evenly over [start, end) and split at
 *   local hour boundaries (local = UTC + utcOffsetSeconds); the share of each hour is floor(E·(t−start)/(end−start))
 *   differences, so the shares add up to E exactly; a session with end == start puts all energy in the hour of
 *   `start`; each share is priced at the band of its hour (schedule[weekday·24 + hour], weekday 0 = Monday);
 * - every billing record is an EV charging session, so the EV incentive always applies;
 * - export energy (V2G/V2H) is credited at marketPrice per kWh;
 * - cost = round(Σ share·price / 10⁶) − round(export·marketPrice / 10⁶), rounding half away from zero
 *   (milli-Wh × micro/kWh = 10⁻⁶ micro).
 */
export interface Tariff {
  /** Price per band, micro-units per kWh (≥ 0). */
  bandPrices: bigint[];
  /** 168 band indexes: weekday·24 + local hour, weekday 0 = Monday. */
  schedule: number[];
  /** Discount per kWh of EV charging energy, micro-units per kWh. */
  evIncentive: bigint;
  /** Local-market price per kWh credited for exported energy, micro-units per kWh. */
  marketPrice: bigint;
  /** Local time offset from UTC, seconds. */
  utcOffsetSeconds: number;
  /** First unix second the tariff applies. */
  validFrom: bigint;
}

export const HOURS_PER_WEEK = 168;
const MICRO = 1_000_000n;

/** A three-band tariff: off-peak nights and weekends, a day rate, an evening peak (17–21 h on weekdays). */
export function defaultTariff(): Tariff {
  const schedule: number[] = [];
  for (let day = 0; day < 7; day++) {
    for (let hour = 0; hour < 24; hour++) {
      const weekend = day >= 5;
      if (hour < 7 || hour >= 23) schedule.push(0);
      else if (!weekend && hour >= 17 && hour < 21) schedule.push(2);
      else schedule.push(weekend ? 0 : 1);
    }
  }
  return {
    bandPrices: [150_000n, 250_000n, 400_000n],
    schedule,
    evIncentive: 20_000n,
    marketPrice: 120_000n,
    utcOffsetSeconds: 0,
    validFrom: 0n,
  };
}

/** Problems that the TariffRegistry would reject (same rules), or [] when the tariff is valid. */
export function tariffProblems(t: Tariff): string[] {
  const problems: string[] = [];
  if (t.bandPrices.length === 0) problems.push('bandPrices: at least one band is needed');
  if (t.bandPrices.length > 16) problems.push('bandPrices: at most 16 bands');
  t.bandPrices.forEach((p, i) => {
    if (p < 0n) problems.push(`bandPrices[${i}]: negative price`);
  });
  if (t.schedule.length !== HOURS_PER_WEEK) problems.push(`schedule: ${t.schedule.length} entries, expected 168`);
  t.schedule.forEach((b, i) => {
    if (!Number.isInteger(b) || b < 0 || b >= t.bandPrices.length) problems.push(`schedule[${i}]: unknown band ${b}`);
  });
  if (!Number.isInteger(t.utcOffsetSeconds) || Math.abs(t.utcOffsetSeconds) > 14 * 3600) {
    problems.push('utcOffsetSeconds: out of range');
  }
  return problems;
}

/** weekday·24 + hour of local time for a unix second; weekday 0 = Monday (1970-01-01 was a Thursday). */
export function hourOfWeek(unixSeconds: bigint, utcOffsetSeconds: number): number {
  const local = unixSeconds + BigInt(utcOffsetSeconds);
  const hours = floorDiv(local, 3600n);
  const days = floorDiv(hours, 24n);
  const weekday = mod(days + 3n, 7n);
  return Number(weekday * 24n + mod(hours, 24n));
}

/** Band index in force at a unix second (the schedule entry of its local hour of the week). */
export function bandAt(t: Tariff, unixSeconds: bigint): number {
  const band = t.schedule[hourOfWeek(unixSeconds, t.utcOffsetSeconds)];
  if (band === undefined || t.bandPrices[band] === undefined)
    throw new RangeError('tariff: schedule names an unknown band');
  return band;
}

/**
 * The tariff changes inside (start, end): each local hour boundary where the band differs from the hour before,
 * with the band that starts there. A session inside one band has none.
 */
export function bandChanges(t: Tariff, start: bigint, end: bigint): Array<{ at: bigint; band: number }> {
  const offset = BigInt(t.utcOffsetSeconds);
  const out: Array<{ at: bigint; band: number }> = [];
  let band = bandAt(t, start);
  for (let at = (floorDiv(start + offset, 3600n) + 1n) * 3600n - offset; at < end; at += 3600n) {
    const next = bandAt(t, at);
    if (next !== band) out.push({ at, band: next });
    band = next;
  }
  return out;
}

/** Why a record's band energies cannot be priced with tariff `t`, or undefined when they can. */
export function bandEnergyProblem(
  t: Tariff,
  bandMilliWh: readonly bigint[],
  importMilliWh: bigint,
): string | undefined {
  if (bandMilliWh.length !== t.bandPrices.length)
    return `${bandMilliWh.length} band energies, the tariff has ${t.bandPrices.length} bands`;
  let sum = 0n;
  for (const e of bandMilliWh) {
    if (e < 0n) return 'a band energy is negative';
    sum += e;
  }
  if (sum !== importMilliWh) return `band energies add up to ${sum} mWh, the import energy is ${importMilliWh} mWh`;
  return undefined;
}

/**
 * Watt-hours per band to whole milli-watt-hours that add up to the rounded total: each band gets the difference of
 * the rounded running sums, so no band's rounding is lost or counted twice.
 */
export function milliWhPerBand(bandWh: readonly number[]): bigint[] {
  let cum = 0;
  let prev = 0;
  return bandWh.map((wh) => {
    cum += Math.max(0, wh) * 1000;
    const next = Math.round(cum);
    const share = BigInt(next - prev);
    prev = next;
    return share;
  });
}

export interface CostInput {
  start: bigint;
  end: bigint;
  importMilliWh: bigint;
  exportMilliWh: bigint;
  /** Version-2/3 records: import energy per tariff band (index = band), adding up to importMilliWh. */
  bandMilliWh?: readonly bigint[];
  /** 2 or 3 = priced from bandMilliWh; 1 (or absent with no bandMilliWh) = energy spread over [start, end). */
  version?: number;
}

export function computeCostMicro(t: Tariff, r: CostInput): bigint {
  if (r.end < r.start) throw new RangeError('computeCostMicro: end before start');
  const version = r.version ?? (r.bandMilliWh?.length ? 2 : 1);
  let bands: readonly bigint[];
  // Versions 2 and 3 (a station's record) carry band energies (billing-record.ts hasBands; this file imports nothing).
  if (version === 2 || version === 3) {
    const problem = bandEnergyProblem(t, r.bandMilliWh ?? [], r.importMilliWh);
    if (problem) throw new RangeError(problem);
    bands = r.bandMilliWh!;
  } else if (version !== 1) {
    throw new RangeError(`record version ${version} is unknown`);
  } else if (r.bandMilliWh?.length) {
    throw new RangeError('a version-1 record carries no band energies');
  } else bands = spreadBandMilliWh(t, r);
  let weighted = 0n;
  bands.forEach((e, band) => {
    const p = t.bandPrices[band]! - t.evIncentive;
    weighted += e * (p > 0n ? p : 0n);
  });
  return roundDiv(weighted, MICRO) - roundDiv(r.exportMilliWh * t.marketPrice, MICRO);
}

/**
 * The version-1 reading of a record: its import energy spread evenly over [start, end), split at local hour
 * boundaries, each hour's share (floor(E·(t−start)/(end−start)) differences, adding up to E exactly) given to the
 * band of that hour; a record with end == start puts it all in the band of `start`.
 */
export function spreadBandMilliWh(t: Tariff, r: Pick<CostInput, 'start' | 'end' | 'importMilliWh'>): bigint[] {
  if (r.end < r.start) throw new RangeError('spreadBandMilliWh: end before start');
  const bands = t.bandPrices.map(() => 0n);
  const duration = r.end - r.start;
  if (duration === 0n) {
    bands[bandAt(t, r.start)]! += r.importMilliWh;
    return bands;
  }
  const offset = BigInt(t.utcOffsetSeconds);
  let segStart = r.start;
  let cumBefore = 0n;
  while (segStart < r.end) {
    const nextBoundary = (floorDiv(segStart + offset, 3600n) + 1n) * 3600n - offset;
    const segEnd = nextBoundary < r.end ? nextBoundary : r.end;
    const cum = (r.importMilliWh * (segEnd - r.start)) / duration;
    bands[bandAt(t, segStart)]! += cum - cumBefore;
    cumBefore = cum;
    segStart = segEnd;
  }
  return bands;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function mod(a: bigint, b: bigint): bigint {
  return ((a % b) + b) % b;
}

/** Division rounding half away from zero. */
function roundDiv(n: bigint, d: bigint): bigint {
  return n >= 0n ? (n + d / 2n) / d : -((-n + d / 2n) / d);
}

/** The JSON form of a tariff (bigints as decimal strings): run records, stream commands, CLI output. */
export interface TariffJson {
  bandPrices: string[];
  schedule: number[];
  evIncentive: string;
  marketPrice: string;
  utcOffsetSeconds: number;
  validFrom: string;
}

export function tariffToJson(t: Tariff): TariffJson {
  return {
    bandPrices: t.bandPrices.map(String),
    schedule: [...t.schedule],
    evIncentive: t.evIncentive.toString(),
    marketPrice: t.marketPrice.toString(),
    utcOffsetSeconds: t.utcOffsetSeconds,
    validFrom: t.validFrom.toString(),
  };
}

export function tariffFromJson(j: TariffJson): Tariff {
  return {
    bandPrices: j.bandPrices.map((p) => BigInt(p)),
    schedule: [...j.schedule],
    evIncentive: BigInt(j.evIncentive),
    marketPrice: BigInt(j.marketPrice),
    utcOffsetSeconds: j.utcOffsetSeconds,
    validFrom: BigInt(j.validFrom),
  };
}
