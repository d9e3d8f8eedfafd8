import { describe, expect, it } from 'vitest';
import { MeterClock } from '../../../meter/clock.js';

describe('MeterClock', () => {
  it('drifts by its ppm from power-up and from each setting', () => {
    const c = new MeterClock(1000, 0);
    expect(c.read(1000)).toBeCloseTo(1001, 9);
    expect(c.set(1000, 1000)).toBeCloseTo(1, 9);
    expect(c.read(1000)).toBeCloseTo(1000, 9);
    expect(c.read(2000)).toBeCloseTo(2001, 9);
    // Before the setting the clock reads as it did then.
    expect(c.offsetAt(500)).toBeCloseTo(0.5, 9);
  });

  it('a set takes the source time, whatever the drift', () => {
    const c = new MeterClock(-500, 0);
    expect(c.set(100, 102.5)).toBeCloseTo(100 - 0.05 - 102.5, 9);
    expect(c.read(100)).toBeCloseTo(102.5, 9);
    expect(c.read(1100)).toBeCloseTo(1102.5 - 0.5, 9);
  });

  it('keeps the last four anchors: a time before them reads from the oldest kept', () => {
    const c = new MeterClock(0, 0);
    for (let k = 1; k <= 5; k++) c.set(k * 10, k * 10 + k);
    // Anchors at 20, 30, 40, 50 remain (offsets 2, 3, 4, 5); t = 15 uses the oldest kept.
    expect(c.offsetAt(15)).toBe(2);
    expect(c.offsetAt(35)).toBe(3);
    expect(c.offsetAt(60)).toBe(5);
  });

  it('a periodic sync is due once per interval, at the first cycle at or past it', () => {
    const c = new MeterClock(0, 3600);
    expect(c.syncDue(0)).toBe(false);
    expect(c.syncDue(3599.98)).toBe(false);
    expect(c.syncDue(3600)).toBe(true);
    expect(c.syncDue(3600.02)).toBe(false);
    expect(c.syncDue(7200 - 1e-10)).toBe(true);
  });

  it('interval 0: never synced', () => {
    const c = new MeterClock(0, 0);
    expect(c.syncDue(1e9)).toBe(false);
  });
});
