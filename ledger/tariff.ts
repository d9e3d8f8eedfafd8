/**
 * Tariffs as the TariffRegistry stores them, and the one cost formula both the meter (when it bills) and the
 * verifier (when it recomputes) use. Pure integer arithmetic on bigints; no imports.
 *
 * Cost of a record, in micro-units of the currency:
 * - the session's import energy is spread evenly over [start, end) and split at local hour boundaries
 *   (local = UTC + utcOffsetSeconds); the share of each hour is floor(E·(t−start)/(end−start)) differences, so the
 *   shares add up to E exactly; a session with end == start puts all energy in the hour of `start`;
 * - each share is priced at max(0, bandPrice[schedule[weekday·24 + hour]] − evIncentive) per kWh
 *   (weekday 0 = Monday); every billing record is an EV charging session, so the EV incentive always applies;
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

export interface CostInput {
  start: bigint;
  end: bigint;
  importMilliWh: bigint;
  exportMilliWh: bigint;
}

export function computeCostMicro(t: Tariff, r: CostInput): bigint {
  if (r.end < r.start) throw new RangeError('computeCostMicro: end before start');
  const offset = BigInt(t.utcOffsetSeconds);
  const price = (at: bigint): bigint => {
    const band = t.schedule[hourOfWeek(at, t.utcOffsetSeconds)];
    if (band === undefined || t.bandPrices[band] === undefined)
      throw new RangeError('tariff: schedule names an unknown band');
    const p = t.bandPrices[band]! - t.evIncentive;
    return p > 0n ? p : 0n;
  };
  let weighted = 0n;
  const duration = r.end - r.start;
  if (duration === 0n) {
    weighted = r.importMilliWh * price(r.start);
  } else {
    let segStart = r.start;
    let cumBefore = 0n;
    while (segStart < r.end) {
      const nextBoundary = (floorDiv(segStart + offset, 3600n) + 1n) * 3600n - offset;
      const segEnd = nextBoundary < r.end ? nextBoundary : r.end;
      const cum = (r.importMilliWh * (segEnd - r.start)) / duration;
      weighted += (cum - cumBefore) * price(segStart);
      cumBefore = cum;
      segStart = segEnd;
    }
  }
  return roundDiv(weighted, MICRO) - roundDiv(r.exportMilliWh * t.marketPrice, MICRO);
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
