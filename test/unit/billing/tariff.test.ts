import { describe, expect, it } from 'vitest';
import {
  bandChanges,
  bandEnergyProblem,
  computeCostMicro,
  defaultTariff,
  hourOfWeek,
  milliWhPerBand,
  spreadBandMilliWh,
  type Tariff,
  tariffProblems,
} from '../../../billing/tariff.js';

// 2026-01-05 was a Monday.
const MONDAY = BigInt(Date.UTC(2026, 0, 5) / 1000);
const H = 3600n;

function flat(price: bigint, over: Partial<Tariff> = {}): Tariff {
  return {
    bandPrices: [price],
    schedule: Array(168).fill(0),
    evIncentive: 0n,
    marketPrice: 0n,
    utcOffsetSeconds: 0,
    validFrom: 0n,
    ...over,
  };
}

describe('hourOfWeek', () => {
  it('Monday 00:00 UTC is 0, Sunday 23:00 is 167, the epoch (a Thursday) is 72', () => {
    expect(hourOfWeek(MONDAY, 0)).toBe(0);
    expect(hourOfWeek(MONDAY + 6n * 24n * H + 23n * H, 0)).toBe(167);
    expect(hourOfWeek(0n, 0)).toBe(72);
    expect(hourOfWeek(MONDAY + 17n * H + 59n * 60n, 0)).toBe(17);
  });

  it('applies the UTC offset', () => {
    expect(hourOfWeek(MONDAY, 3600)).toBe(1);
    expect(hourOfWeek(MONDAY, -3600)).toBe(167);
  });
});

describe('computeCostMicro', () => {
  it('prices energy in one band: 7.4 kWh at 0.25/kWh = 1.85', () => {
    const cost = computeCostMicro(flat(250_000n), {
      start: MONDAY + 10n * H,
      end: MONDAY + 11n * H,
      importMilliWh: 7_400_000n,
      exportMilliWh: 0n,
    });
    expect(cost).toBe(1_850_000n);
  });

  it('splits a session evenly at hour boundaries across bands', () => {
    const t = defaultTariff(); // Monday 16h day rate 250000, 17h peak 400000, incentive 20000
    const cost = computeCostMicro(t, {
      start: MONDAY + 16n * H + 1800n,
      end: MONDAY + 17n * H + 1800n,
      importMilliWh: 2_000_000n,
      exportMilliWh: 0n,
    });
    // 1 kWh at 230000 + 1 kWh at 380000
    expect(cost).toBe(610_000n);
  });

  it('credits export at the market price and can go negative', () => {
    const t = flat(100_000n, { marketPrice: 120_000n });
    const cost = computeCostMicro(t, {
      start: MONDAY,
      end: MONDAY + H,
      importMilliWh: 1_000_000n,
      exportMilliWh: 2_000_000n,
    });
    expect(cost).toBe(100_000n - 240_000n);
  });

  it('never prices below zero when the incentive exceeds the band price', () => {
    const cost = computeCostMicro(flat(10_000n, { evIncentive: 20_000n }), {
      start: MONDAY,
      end: MONDAY + H,
      importMilliWh: 5_000_000n,
      exportMilliWh: 0n,
    });
    expect(cost).toBe(0n);
  });

  it('conserves energy exactly over awkward splits and rounds half away from zero', () => {
    const t = flat(1_000_000n);
    // 1 mWh at 1.000000/kWh = 1 micro-unit; 3 mWh spread over 3 hours.
    expect(
      computeCostMicro(t, {
        start: MONDAY + 1200n,
        end: MONDAY + 3n * H + 1200n,
        importMilliWh: 3n,
        exportMilliWh: 0n,
      }),
    ).toBe(3n);
    expect(computeCostMicro(flat(500_000n), { start: MONDAY, end: MONDAY, importMilliWh: 1n, exportMilliWh: 0n })).toBe(
      1n,
    );
    expect(computeCostMicro(flat(499_999n), { start: MONDAY, end: MONDAY, importMilliWh: 1n, exportMilliWh: 0n })).toBe(
      0n,
    );
  });

  it('refuses end before start', () => {
    expect(() => computeCostMicro(flat(1n), { start: 10n, end: 9n, importMilliWh: 0n, exportMilliWh: 0n })).toThrow(
      RangeError,
    );
  });
});

describe('tariffProblems', () => {
  it('accepts the default tariff and names each problem of a bad one', () => {
    expect(tariffProblems(defaultTariff())).toEqual([]);
    const bad = { ...defaultTariff(), bandPrices: [-1n], schedule: [0, 3] };
    const problems = tariffProblems(bad);
    expect(problems).toContain('bandPrices[0]: negative price');
    expect(problems).toContain('schedule: 2 entries, expected 168');
    expect(problems).toContain('schedule[1]: unknown band 3');
  });
});

describe('energy per tariff band (record version 2)', () => {
  // Default tariff on a Monday: off-peak (0) before 07:00, day (1) 07–17, peak (2) 17–21, day 21–23, off-peak after.
  const t = defaultTariff();
  const price = (band: number) => t.bandPrices[band]! - t.evIncentive;

  it('prices each band’s energy at its price less the EV incentive', () => {
    const bandMilliWh = [1_000_000n, 2_000_000n, 500_000n];
    const cost = computeCostMicro(t, {
      start: MONDAY + 16n * H,
      end: MONDAY + 22n * H,
      importMilliWh: 3_500_000n,
      exportMilliWh: 0n,
      version: 2,
      bandMilliWh,
    });
    // 1 kWh × 0.13 + 2 kWh × 0.23 + 0.5 kWh × 0.38 = 0.78
    expect(cost).toBe((1_000_000n * price(0) + 2_000_000n * price(1) + 500_000n * price(2)) / 1_000_000n);
    expect(cost).toBe(780_000n);
  });

  it('a session paused through the whole peak pays no peak price; the even spread would have', () => {
    // 16:00–22:00, charging only 16–17 and 21–22 (day band): 3.7 kWh each hour.
    const r = { start: MONDAY + 16n * H, end: MONDAY + 22n * H, importMilliWh: 7_400_000n, exportMilliWh: 0n };
    const bands = computeCostMicro(t, { ...r, version: 2, bandMilliWh: [0n, 7_400_000n, 0n] });
    expect(bands).toBe((7_400_000n * price(1)) / 1_000_000n);
    const spread = computeCostMicro(t, r);
    expect(spread).toBe((7_400_000n * 2n * price(1) + 7_400_000n * 4n * price(2)) / 6n / 1_000_000n);
    expect(spread).toBeGreaterThan(bands);
  });

  it('refuses band energies that do not fit the tariff or the import energy', () => {
    const r = { start: MONDAY + 10n * H, end: MONDAY + 11n * H, importMilliWh: 3n, exportMilliWh: 0n, version: 2 };
    expect(bandEnergyProblem(t, [1n, 2n], 3n)).toBe('2 band energies, the tariff has 3 bands');
    expect(bandEnergyProblem(t, [1n, 1n, 0n], 3n)).toBe('band energies add up to 2 mWh, the import energy is 3 mWh');
    expect(bandEnergyProblem(t, [0n, 3n, 0n], 3n)).toBeUndefined();
    expect(() => computeCostMicro(t, { ...r, bandMilliWh: [1n, 1n, 0n] })).toThrow(/add up to 2 mWh/);
    expect(() => computeCostMicro(t, { ...r, version: 1, bandMilliWh: [0n, 3n, 0n] })).toThrow(/version-1/);
    expect(() => computeCostMicro(t, { ...r, version: 4, bandMilliWh: [0n, 3n, 0n] })).toThrow(/version 4/);
  });

  it('the version-1 spread gives each hour’s share to its band and adds up to the energy exactly', () => {
    const r = { start: MONDAY + 16n * H + 1800n, end: MONDAY + 17n * H + 1800n, importMilliWh: 7_400_001n };
    const bands = spreadBandMilliWh(t, r);
    expect(bands).toEqual([0n, 3_700_000n, 3_700_001n]);
    // Pricing the spread as band energies is the version-1 cost.
    expect(computeCostMicro(t, { ...r, exportMilliWh: 0n, version: 2, bandMilliWh: bands })).toBe(
      computeCostMicro(t, { ...r, exportMilliWh: 0n }),
    );
  });

  it('bandChanges lists each hour boundary where the band changes, across midnight and the weekend', () => {
    expect(bandChanges(t, MONDAY + 16n * H + 1800n, MONDAY + 22n * H)).toEqual([
      { at: MONDAY + 17n * H, band: 2 },
      { at: MONDAY + 21n * H, band: 1 },
    ]);
    // 22:30 Monday to 08:00 Tuesday: off-peak from 23:00 (no change at midnight), day from 07:00.
    expect(bandChanges(t, MONDAY + 22n * H + 1800n, MONDAY + 32n * H)).toEqual([
      { at: MONDAY + 23n * H, band: 0 },
      { at: MONDAY + 31n * H, band: 1 },
    ]);
    // Friday 20:00 to Saturday 10:00: day at 21:00, off-peak at 23:00, and Saturday has no day band.
    const friday = MONDAY + 4n * 24n * H;
    expect(bandChanges(t, friday + 20n * H, friday + 34n * H)).toEqual([
      { at: friday + 21n * H, band: 1 },
      { at: friday + 23n * H, band: 0 },
    ]);
    expect(bandChanges(t, MONDAY + 10n * H, MONDAY + 11n * H)).toEqual([]);
    // A change exactly at the end is not inside the session.
    expect(bandChanges(t, MONDAY + 16n * H, MONDAY + 17n * H)).toEqual([]);
  });

  it('milliWhPerBand rounds running sums, so the bands add up to the rounded total', () => {
    const wh = [0.0004, 1.0004, 2.0004, 0.0004];
    const bands = milliWhPerBand(wh);
    expect(bands.reduce((a, b) => a + b, 0n)).toBe(BigInt(Math.round(wh.reduce((a, b) => a + b) * 1000)));
    // Running sums 0.4, 1000.8, 3001.2, 3001.6 mWh round to 0, 1001, 3001, 3002.
    expect(bands).toEqual([0n, 1001n, 2000n, 1n]);
    expect(milliWhPerBand([-0.5, 2])).toEqual([0n, 2000n]);
  });
});
