import { describe, expect, it } from 'vitest';
import { detectionMetrics, MISSED, SPURIOUS } from '../../../analysis/detection.js';
import { fractionEnergyAssigned, normalisedDisaggregationError, registerAt } from '../../../analysis/energy.js';
import { type DetectedEvent, matchEvents, type TrueEvent } from '../../../analysis/matching.js';

const T = (t: number, cls: string, direction: 'on' | 'off' = 'on', meterId = 'm1'): TrueEvent => ({
  t,
  class: cls,
  direction,
  meterId,
});
const D = (t: number, cls: string, direction: 'on' | 'off' = 'on', meterId = 'm1'): DetectedEvent => ({
  t,
  class: cls,
  direction,
  meterId,
});

describe('matchEvents', () => {
  it('matches one-to-one, nearest first, same meter and direction, within tolerance', () => {
    const truth = [T(10, 'kettle'), T(10.5, 'fridge'), T(20, 'ev', 'off'), T(30, 'ev', 'on', 'm2')];
    const detected = [
      D(10.4, 'fridge'),
      D(10.9, 'kettle'),
      D(20.2, 'ev', 'on'),
      D(30.1, 'ev', 'on', 'm1'),
      D(50, 'tv'),
    ];
    const m = matchEvents(truth, detected, 1);
    // 10.4 is nearest to 10.5 (0.1) so it takes the fridge; 10.9 then takes the kettle at 10 (0.9).
    expect(m.pairs.map((p) => [p.truth, p.detected])).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(m.unmatchedTruth).toEqual([2, 3]);
    expect(m.unmatchedDetected).toEqual([2, 3, 4]);
    expect(m.pairs[0]!.dt).toBeCloseTo(0.9);
  });

  it('does not match outside the tolerance', () => {
    expect(matchEvents([T(0, 'a')], [D(1.01, 'a')], 1).pairs).toHaveLength(0);
    expect(matchEvents([T(0, 'a')], [D(-1, 'a')], 1).pairs).toHaveLength(1);
  });
});

describe('detectionMetrics', () => {
  it('computes precision, recall, F1, identification, confusion and latency', () => {
    const truth = [T(0, 'ev'), T(100, 'kettle'), T(200, 'kettle'), T(300, 'fridge')];
    const detected = [D(0.5, 'ev'), D(100.2, 'kettle'), D(200.1, 'unknown'), D(500, 'tv')];
    const m = matchEvents(truth, detected, 1);
    const r = detectionMetrics(truth, detected, m);
    expect(r.precision).toBeCloseTo(3 / 4);
    expect(r.recall).toBeCloseTo(3 / 4);
    expect(r.f1).toBeCloseTo(0.75);
    expect(r.evRecall).toBe(1);
    expect(r.identificationAccuracy).toBeCloseTo(2 / 3);
    expect(r.confusion).toEqual({
      ev: { ev: 1 },
      kettle: { kettle: 1, unknown: 1 },
      fridge: { [MISSED]: 1 },
      [SPURIOUS]: { tv: 1 },
    });
    const kettle = r.perClass.find((c) => c.class === 'kettle')!;
    expect(kettle).toMatchObject({ precision: 1, recall: 0.5, support: 2 });
    expect(r.latency.max).toBeCloseTo(0.5);
    expect(r.latency.count).toBe(3);
  });

  it('gives NaN (not a fake number) when nothing can be measured', () => {
    const r = detectionMetrics([], [], matchEvents([], [], 1));
    expect(r.recall).toBeNaN();
    expect(r.latency.p99).toBeNaN();
  });
});

describe('energy and metrology', () => {
  it('fraction of energy assigned and NDE follow NILMTK', () => {
    const truth = { ev: 70, kettle: 30 };
    expect(fractionEnergyAssigned(truth, truth)).toBeCloseTo(1);
    expect(normalisedDisaggregationError(truth, truth)).toBe(0);
    expect(fractionEnergyAssigned(truth, { ev: 30, kettle: 70 })).toBeCloseTo(0.6);
    expect(normalisedDisaggregationError(truth, { ev: 60, kettle: 30 })).toBeCloseTo(10 / Math.sqrt(70 ** 2 + 30 ** 2));
  });
  it('interpolates registers', () => {
    const r = [
      { t: 0, importWh: 0, exportWh: 0 },
      { t: 10, importWh: 100, exportWh: 5 },
    ];
    expect(registerAt(r, 5, 'importWh')).toBe(50);
    expect(registerAt(r, 20, 'exportWh')).toBe(5);
  });
  it('holds the measured power between polls, so a load stepping between them is read exactly', () => {
    // 3.6 kW switched on at t = 12 s; polls at 10 s (idle) and 20 s (8 s × 3.6 kW = 8 Wh accrued).
    const r = [
      { t: 10, importWh: 100, exportWh: 0, p: 0 },
      { t: 20, importWh: 108, exportWh: 0, p: 3600 },
      { t: 30, importWh: 118, exportWh: 0, p: 3600 },
    ];
    expect(registerAt(r, 12, 'importWh')).toBe(100);
    expect(registerAt(r, 25, 'importWh')).toBe(113);
    // Held power that would overshoot the next reading is clamped to it.
    expect(registerAt([r[1]!, { t: 30, importWh: 110, exportWh: 0, p: 0 }], 29, 'importWh')).toBe(110);
  });
});
