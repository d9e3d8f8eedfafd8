import { describe, expect, it } from 'vitest';
import { defaultTariff } from '../../../billing/tariff.js';
import { evChangeDistance, nearest, StepAttribution, softStarting } from '../../../meter/attribution.js';
import { TariffBands } from '../../../meter/billing.js';
import { MeterClock } from '../../../meter/clock.js';
import { type MeterConfigInput, parseMeterConfig } from '../../../meter/config.js';
import { StepDetector, type StepEvent } from '../../../meter/detector.js';
import { EvSessions } from '../../../meter/ev-sessions.js';
import { MeterFaults } from '../../../meter/faults.js';
import type { DecidedEvent } from '../../../meter/outputs.js';
import type { Signature } from '../../../meter/signatures.js';
import type { ActiveLoad } from '../../../meter/tracked-load.js';

const KETTLE: Signature = { id: 'kettle-2kw', class: 'kettle', p: 2000, q: 0, r3: 0, r5: 0, r7: 0 };
const EV: Signature = { id: 'ev-7kw', class: 'ev', p: 7000, q: 140, r3: 0.03, r5: 0.02, r7: 0.01 };

function attribution(config: MeterConfigInput = {}) {
  const parsed = parseMeterConfig(config);
  const clock = new MeterClock(0, 0);
  const bands = new TariffBands(defaultTariff(), 0, clock);
  const billed: Array<{ end: number; now: number }> = [];
  const sessions = new EvSessions(0, clock, bands, (_l, end, now) => billed.push({ end, now }));
  const events: Array<{ at: number; e: DecidedEvent }> = [];
  const a = new StepAttribution(new StepDetector(40, 0.02), {
    signatures: [KETTLE, EV],
    sessions,
    bands,
    clock,
    faults: new MeterFaults(parsed, 1, () => {}),
    eventThresholdW: 40,
    emit: (at, e) => events.push({ at, e }),
  });
  return { a, sessions, events, billed };
}

/** A step like `sig` (scaled by k: k < 0 is the load switching off) that began at t. */
const step = (sig: Signature, k: number, t: number): StepEvent => ({
  t,
  dp: sig.p * k,
  dq: sig.q * k,
  r3: sig.r3,
  r5: sig.r5,
  r7: sig.r7,
  peakA: 10,
  durationMs: 40,
});

describe('StepAttribution', () => {
  it('a kettle on and off: identified, tracked, its energy on the off-event', () => {
    const { a, events } = attribution();
    a.onStep(step(KETTLE, 1, 10), 10.2, 10.22);
    expect(a.active.map((l) => l.cls)).toEqual(['kettle']);
    a.integrate(11, 180); // 2 kW for 3 minutes: 100 Wh
    a.onStep(step(KETTLE, -1, 190), 190.2, 190.22);
    expect(a.active).toEqual([]);
    expect(events.map(({ at, e }) => [at, e.direction, e.class, e.profile, e.energyWh])).toEqual([
      [10.2, 'on', 'kettle', 'kettle-2kw', undefined],
      [190.2, 'off', 'kettle', 'kettle-2kw', 100],
    ]);
    expect(events[0]!.e.tMeter).toBe(10);
  });

  it('a step nothing explains is an unknown event; nothing is tracked', () => {
    const { a, events } = attribution();
    a.onStep({ ...step(KETTLE, 1, 5), dp: 500, dq: 400, r3: 0.4 }, 5.2, 5.22);
    expect(events.map(({ e }) => [e.direction, e.class])).toEqual([['on', 'unknown']]);
    expect(a.active).toEqual([]);
  });

  it('an EV: a session opens, a setpoint step is a power change, the stop bills it', () => {
    const { a, events, billed } = attribution();
    a.onStep(step(EV, 1, 100), 100.2, 100.22);
    expect(a.active[0]!.session).toBeDefined();
    a.onStep(step(EV, -3 / 7, 200), 200.2, 200.22);
    expect(a.active).toHaveLength(1);
    expect(a.active[0]!.p).toBeCloseTo(4000, 9);
    a.onStep(step(EV, -4 / 7, 300), 300.2, 300.22);
    expect(a.active).toEqual([]);
    expect(events.map(({ e }) => [e.direction, e.class])).toEqual([
      ['on', 'ev'],
      ['off', 'ev'],
      ['off', 'ev'],
    ]);
    expect(billed).toEqual([{ end: 300, now: 300.2 }]);
  });

  it('the session books the detection delay at the new power (rebook)', () => {
    const { a } = attribution();
    a.onStep(step(EV, 1, 100), 100.2, 136);
    // 36 s between the step's start and its recognition, booked at 7 kW: 70 Wh.
    expect(a.active[0]!.session!.importWh).toBeCloseTo(70, 9);
  });

  it('missed-event fault at rate 1: no step is seen', () => {
    const { a, events } = attribution({ faults: { missedEventRate: 1 } });
    a.onStep(step(KETTLE, 1, 10), 10.2, 10.22);
    expect(events).toEqual([]);
    expect(a.active).toEqual([]);
  });

  it('added latency: the event goes out and is stamped that much later', () => {
    const { a, events } = attribution({ faults: { addedLatencyMs: 1500 } });
    a.onStep(step(KETTLE, 1, 10), 10.2, 10.22);
    expect(events[0]!.at).toBeCloseTo(11.7, 9);
    expect(events[0]!.e.tMeter).toBeCloseTo(11.5, 9);
  });
});

describe('attribution helpers', () => {
  const load = (p: number, sig?: Signature): ActiveLoad => ({
    sig,
    cls: 'ev',
    p,
    q: p * 0.02,
    r3: 0.03,
    r5: 0.02,
    r7: 0.01,
    wh: 0,
  });

  it('nearest: index and distance of the closest item, -1 and ∞ for none', () => {
    expect(nearest([5, 1, 3], (x) => x)).toEqual({ index: 1, d: 1 });
    expect(nearest([], () => 0)).toEqual({ index: -1, d: Number.POSITIVE_INFINITY });
  });

  it("evChangeDistance: 0 for a step of the EV's own character, ∞ outside the charger's range", () => {
    const ev = load(7000, EV);
    const f = { dp: -3000, dq: -60, r3: 0.03, r5: 0.02, r7: 0.01 };
    expect(evChangeDistance(f, ev, 4000)).toBeCloseTo(0, 9);
    expect(evChangeDistance({ ...f, r3: 0.05 }, ev, 4000)).toBeCloseTo(1, 9);
    expect(evChangeDistance(f, ev, 100)).toBe(Number.POSITIVE_INFINITY);
    expect(evChangeDistance(f, ev, 8000)).toBe(Number.POSITIVE_INFINITY);
  });

  it('softStarting: short of its signature ramp power', () => {
    const pump: Signature = { id: 'hp', class: 'heat-pump', p: 300, q: 50, r3: 0, r5: 0, r7: 0, rampToP: 2000 };
    expect(softStarting(load(1500, pump))).toBe(true);
    expect(softStarting(load(1990, pump))).toBe(false);
    expect(softStarting(load(1500, KETTLE))).toBe(false);
  });
});
