import { describe, expect, it } from 'vitest';
import { detectionMetrics, isEvClass, latencyStats, MISSED, SPURIOUS } from '../../../analysis/detection.js';
import {
  energyAssignedAccuracy,
  errorPct,
  fractionEnergyAssigned,
  normalisedDisaggregationError,
  registerAt,
} from '../../../analysis/energy.js';
import { type DetectedEvent, matchEvents, type TrueEvent } from '../../../analysis/matching.js';

const T = (t: number, cls: string, over: Partial<TrueEvent> = {}): TrueEvent => ({
  t,
  class: cls,
  direction: 'on',
  meterId: 'm1',
  ...over,
});
const D = (t: number, cls: string, over: Partial<DetectedEvent> = {}): DetectedEvent => ({
  t,
  class: cls,
  direction: 'on',
  meterId: 'm1',
  ...over,
});

describe('matchEvents on hand-made events', () => {
  it('a detected event between two true ones goes to the nearer; the other true event stays unmatched', () => {
    const m = matchEvents([T(10, 'a'), T(11, 'a')], [D(10.6, 'a')], 1);
    expect(m.pairs).toEqual([{ truth: 1, detected: 0, dt: expect.closeTo(-0.4, 12) }]);
    expect(m.unmatchedTruth).toEqual([0]);
    expect(m.unmatchedDetected).toEqual([]);
  });

  it('equal distances are broken by truth order, then by detected order', () => {
    const m = matchEvents([T(10, 'a'), T(12, 'a')], [D(11, 'a'), D(11, 'b')], 1);
    expect(m.pairs.map((p) => [p.truth, p.detected, p.dt])).toEqual([
      [0, 0, 1],
      [1, 1, -1],
    ]);
  });

  it('never matches across meters or directions, whatever the time', () => {
    const truth = [T(5, 'a', { meterId: 'm2' }), T(6, 'a', { direction: 'off' })];
    const m = matchEvents(truth, [D(5, 'a'), D(6, 'a')], 10);
    expect(m.pairs).toEqual([]);
    expect(m.unmatchedTruth).toEqual([0, 1]);
    expect(m.unmatchedDetected).toEqual([0, 1]);
  });

  it('takes the events in any order and reports pairs by truth index', () => {
    const truth = [T(300, 'c'), T(100, 'a'), T(200, 'b')];
    const detected = [D(200.3, 'b'), D(299.8, 'c'), D(100.1, 'a')];
    const m = matchEvents(truth, detected, 0.5);
    expect(m.pairs.map((p) => [p.truth, p.detected])).toEqual([
      [0, 1],
      [1, 2],
      [2, 0],
    ]);
  });
});

describe('latencyStats', () => {
  it('quantiles of 1..20 s interpolate between ranks (x[(n−1)p]): p50 10.5, p95 19.05, p99 19.81, max 20', () => {
    const values = Array.from({ length: 20 }, (_, i) => 20 - i);
    const s = latencyStats(values);
    expect(s).toMatchObject({ count: 20, p50: 10.5, max: 20 });
    expect(s.p95).toBeCloseTo(19.05, 12);
    expect(s.p99).toBeCloseTo(19.81, 12);
    // The values are kept as given (for histograms), not sorted in place.
    expect(s.values[0]).toBe(20);
  });

  it('a single latency is every quantile', () => {
    expect(latencyStats([0.25])).toMatchObject({ count: 1, p50: 0.25, p95: 0.25, p99: 0.25, max: 0.25 });
  });
});

describe('detectionMetrics on hand-made events', () => {
  it('EV identification needs the right profile when both sides name one; latency runs to when the bench saw it', () => {
    const truth = [
      T(0, 'ev', { profile: 'ev-1ph-7.4kw' }),
      T(100, 'ev', { profile: 'ev-3ph-11kw' }),
      T(200, 'kettle'),
      T(300, 'ev'),
    ];
    const detected = [
      D(0.2, 'ev', { profile: 'ev-1ph-7.4kw', tReported: 1.5 }),
      D(100.4, 'ev', { profile: 'ev-1ph-7.4kw' }),
      D(200.1, 'kettle', { tReported: 200.6 }),
      D(300.3, 'ev', { profile: 'ev-1ph-7.4kw' }),
    ];
    const r = detectionMetrics(truth, detected, matchEvents(truth, detected, 1));
    expect(r).toMatchObject({ truthCount: 4, detectedCount: 4, matched: 4, precision: 1, recall: 1, f1: 1 });
    expect(r.identificationAccuracy).toBe(1);
    expect(r.evRecall).toBe(1);
    // The 11 kW EV taken for the 7.4 kW one is a wrong EV identification; a truth with no profile is not checked.
    expect(r.evIdentificationAccuracy).toBeCloseTo(2 / 3, 12);
    expect(r.latency.values.map((v) => Math.round(v * 1000) / 1000)).toEqual([1.5, 0.4, 0.6, 0.3]);
    expect(r.latency.max).toBeCloseTo(1.5, 12);
  });

  it('per-class scores and their macro F1; a class never predicted has NaN precision and F1 0', () => {
    const truth = [T(0, 'a'), T(10, 'a'), T(20, 'b'), T(30, 'c')];
    const detected = [D(0, 'a'), D(10, 'b'), D(20, 'b'), D(40, 'a')];
    const r = detectionMetrics(truth, detected, matchEvents(truth, detected, 1));
    const score = Object.fromEntries(r.perClass.map((c) => [c.class, c]));
    // a: 1 right of 2 predicted (one spurious), 1 of 2 found → P 0.5, R 0.5, F1 0.5.
    expect(score.a).toMatchObject({ precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
    // b: 1 right of 2 predicted, 1 of 1 found → P 0.5, R 1, F1 2/3.
    expect(score.b!.precision).toBe(0.5);
    expect(score.b!.recall).toBe(1);
    expect(score.b!.f1).toBeCloseTo(2 / 3, 12);
    // c: never predicted, missed.
    expect(score.c!.precision).toBeNaN();
    expect(score.c).toMatchObject({ recall: 0, f1: 0, support: 1 });
    expect(r.macroF1).toBeCloseTo((0.5 + 2 / 3 + 0) / 3, 12);
    expect(r.confusion).toEqual({ a: { a: 1, b: 1 }, b: { b: 1 }, c: { [MISSED]: 1 }, [SPURIOUS]: { a: 1 } });
    expect(r.precision).toBe(0.75);
    expect(r.recall).toBe(0.75);
    expect(r.identificationAccuracy).toBeCloseTo(2 / 3, 12);
    // No EV in the truth: EV figures cannot be measured.
    expect(r.evRecall).toBeNaN();
    expect(r.evIdentificationAccuracy).toBeNaN();
  });

  it('knows the EV class names', () => {
    expect(['ev', 'ev-1ph-7.4kw', 'ev.v2g', 'eve', 'kettle'].map(isEvClass)).toEqual([true, true, true, false, false]);
  });
});

describe('energy metrics on hand-made totals', () => {
  it('errorPct is signed and relative to the reference; NaN without a reference', () => {
    expect(errorPct(1010, 1000)).toBeCloseTo(1, 12);
    expect(errorPct(990, 1000)).toBeCloseTo(-1, 12);
    expect(errorPct(5, 0)).toBeNaN();
  });

  it('fraction of energy assigned: 0 when the meter assigns nothing, NaN when nothing was drawn', () => {
    expect(fractionEnergyAssigned({ a: 10 }, {})).toBe(0);
    expect(fractionEnergyAssigned({}, { a: 10 })).toBeNaN();
    // Shares 0.5/0.5 against 0.75/0.25: half the share difference (0.25 + 0.25) / 2 is misassigned.
    expect(fractionEnergyAssigned({ a: 50, b: 50 }, { a: 30, b: 10 })).toBeCloseTo(0.75, 12);
  });

  it('energy assigned accuracy counts absolute energy, so a meter reading everything low loses accuracy', () => {
    // Same shares as the truth, but 40 Wh of 100 missing: 1 − 60 / 200.
    expect(energyAssignedAccuracy({ a: 50, b: 50 }, { a: 30, b: 10 })).toBeCloseTo(0.7, 12);
    expect(energyAssignedAccuracy({ a: 50, b: 50 }, { a: 25, b: 25 })).toBeCloseTo(0.75, 12);
  });

  it('normalised disaggregation error counts a class only the meter saw; NaN when the truth is all zero', () => {
    // sqrt(((40 − 30)² + 10²) / 30²)
    expect(normalisedDisaggregationError({ a: 30 }, { a: 40, b: 10 })).toBeCloseTo(Math.sqrt(200) / 30, 12);
    expect(normalisedDisaggregationError({ a: 0 }, { a: 1 })).toBeNaN();
  });

  it('registerAt reads the export register from negative power, and gives NaN with no readings', () => {
    // Exporting 1.8 kW from t = 0: after 10 s, 5 Wh more exported; the import register does not move.
    const r = [
      { t: 0, importWh: 50, exportWh: 20, p: -1800 },
      { t: 20, importWh: 50, exportWh: 30, p: -1800 },
    ];
    expect(registerAt(r, 10, 'exportWh')).toBeCloseTo(25, 12);
    expect(registerAt(r, 10, 'importWh')).toBe(50);
    expect(registerAt(r, -5, 'exportWh')).toBe(20);
    expect(registerAt([], 1, 'importWh')).toBeNaN();
  });
});
