import { describe, expect, it } from 'vitest';
import { computeCostMicro, defaultTariff, hourOfWeek, type Tariff, tariffProblems } from '../../../ledger/tariff.js';

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
