import { describe, expect, it } from 'vitest';
import { CycleAnalyzer, CycleFeatures } from '../../../dsp/cycle.js';
import { listBuiltinProfiles } from '../../../profiles/library.js';
import type { Segment } from '../../../profiles/play.js';
import { type Scenario, scenarioSchema } from '../../../profiles/scenario-schema.js';
import type { Profile } from '../../../profiles/schema.js';
import { meterRuns, synthesizeMeterSync } from '../../../profiles/synth.js';

const SEED = 1;
/** A supply with no distortion: Irms and PF then have a closed form from the declared P, Q and harmonics. */
const CLEAN = { nominal: 230, h3: 0, h5: 0 };
/** The scenarios' default supply (3rd and 5th harmonic distortion): P and Q then include harmonic products. */
const DISTORTED = { nominal: 230, h3: 0.01, h5: 0.006 };
/**
 * Harmonic phase tolerance (degrees). A relative tolerance means nothing for an angle (0° would have to be exact,
 * ±180° wraps); a phasor known to 0.5 % of its magnitude has its angle known to atan(0.005) ≈ 0.29°, the same
 * budget as the magnitudes. The compared quantity, φ_h − h·φ_1, carries h times the fundamental's angle error.
 */
const PHASE_TOL_DEG = 0.3;

/** The load alone (no base load), noise off so each cycle's truth is exactly the declared state. */
function alone(profile: Profile, voltage: typeof CLEAN): Scenario {
  const durationS = profile.states.reduce((s, st) => s + (st.durationS ?? 120), 0);
  return scenarioSchema.parse({
    name: `features-${profile.name}`,
    start: '2026-03-02T12:00:00Z',
    durationS,
    voltage,
    profiles: [{ ...profile, name: 'under-test', noise: 0 }],
    houses: [{ id: 'h', contract: 'C', baseLoadW: 0, loads: [{ id: 'l', profile: 'under-test', on: 0 }] }],
  });
}

/**
 * Cycles to check in a state: three spread over its first segment, past the switch-on inrush and ringing (the
 * load's steady behaviour is what its declaration describes). Ramps and tapers are checked too: the synthesis
 * holds each cycle's coefficients at the value of the cycle's midpoint, so every cycle is steady in itself and
 * its truth is the segment interpolated there.
 */
function cyclesOf(profile: Profile, scenario: Scenario, state: string): Array<{ cycle: number; seg: Segment }> {
  const f = scenario.frequency;
  for (const run of meterRuns(scenario, 'h', SEED)) {
    const seg = run.segments.find((s) => s.state.name === state);
    if (!seg) continue;
    const settle = Math.max(profile.inrush?.decayMs ?? 0, profile.transient?.decayMs ?? 0) * 6e-3 + 0.1;
    const from = Math.max(seg.from, run.start + settle);
    expect(seg.to - from).toBeGreaterThan(3 / f);
    return [0.2, 0.5, 0.8].map((x) => ({ cycle: Math.floor((from + (seg.to - from) * x) * f), seg }));
  }
  throw new Error(`${profile.name}: no segment of state ${state}`);
}

function measure(scenario: Scenario, cycle: number, spc: number): CycleFeatures {
  const f = scenario.frequency;
  const blocks = [
    ...synthesizeMeterSync(scenario, 'h', { seed: SEED, samplesPerCycle: spc, from: cycle / f, to: (cycle + 1) / f }),
  ];
  expect(blocks).toHaveLength(1);
  expect(blocks[0]!.cycles).toBe(1);
  return new CycleAnalyzer(spc).analyze(blocks[0]!.voltage, blocks[0]!.current, 0, new CycleFeatures());
}

const wrap = (deg: number) => deg - 360 * Math.round(deg / 360);
const rel = (measured: number, truth: number, scale = Math.abs(truth)) => Math.abs(measured - truth) / scale;

const CASES = listBuiltinProfiles().flatMap((profile) =>
  profile.states.flatMap((state) =>
    [32, 128].map((spc) => ({ name: `${profile.name} / ${state.name} @ ${spc} samples/cycle`, profile, state, spc })),
  ),
);

describe('meter DSP against the synthesized truth, every library profile and state', () => {
  it('covers every profile and state, heat pump ramps included', () => {
    expect(new Set(CASES.map((c) => c.profile.name)).size).toBe(listBuiltinProfiles().length);
    expect(CASES.some((c) => c.profile.name === 'heat-pump' && c.state.kind === 'ramp')).toBe(true);
  });

  it.each(CASES)(
    '$name: Vrms, Irms, P, Q, PF, THD, I3/I1, I5/I1 within 0.5 %, harmonic phases within 0.3°',
    ({ profile, state, spc }) => {
      const declared = (o: number) => state.harmonics.find((h) => h.order === o)?.ratio ?? 0;
      const sumSq = state.harmonics.reduce((s, h) => s + h.ratio * h.ratio, 0);
      for (const supply of [CLEAN, DISTORTED]) {
        const scenario = alone(profile, supply);
        for (const { cycle, seg } of cyclesOf(profile, scenario, state.name)) {
          const mid = (cycle + 0.5) / scenario.frequency;
          const x = (mid - seg.from) / (seg.to - seg.from);
          const p = seg.p0 + (seg.p1 - seg.p0) * x;
          const q = seg.q0 + (seg.q1 - seg.q0) * x;
          const m = measure(scenario, cycle, spc);
          const where = `${supply === CLEAN ? 'clean' : 'distorted'} supply, cycle ${cycle}`;
          // The synthesis draws exactly (P, Q) from either supply, harmonic products included.
          expect(rel(m.p, p), `P ${where}`).toBeLessThan(0.005);
          expect(rel(m.q, q, Math.hypot(p, q)), `Q ${where}`).toBeLessThan(0.005);
          expect(rel(m.vrms, supply.nominal * Math.hypot(1, supply.h3, supply.h5)), `Vrms ${where}`).toBeLessThan(
            0.005,
          );
          // Ratios and THD are the load's own spectrum, whatever the supply; an absent order must read ~0.
          expect(rel(m.thd, Math.sqrt(sumSq), Math.max(Math.sqrt(sumSq), 0.01)), `THD ${where}`).toBeLessThan(0.005);
          for (const o of [3, 5])
            expect(rel(m.ratio(o), declared(o), Math.max(declared(o), 0.01)), `I${o}/I1 ${where}`).toBeLessThan(0.005);
          // Each declared harmonic's phase is relative to the load's fundamental (scaled by its order).
          for (const h of state.harmonics) {
            expect(
              Math.abs(wrap(m.phaseDeg(h.order) - h.order * m.phaseDeg(1) - h.phaseDeg)),
              `φ${h.order} ${where}`,
            ).toBeLessThan(PHASE_TOL_DEG);
          }
          if (supply === CLEAN) {
            const irms = (Math.hypot(p, q) / supply.nominal) * Math.sqrt(1 + sumSq);
            expect(rel(m.irms, irms), `Irms ${where}`).toBeLessThan(0.005);
            expect(rel(m.pf, p / (supply.nominal * irms)), `PF ${where}`).toBeLessThan(0.005);
            expect(Math.abs(wrap(m.phaseDeg(1) + (Math.atan2(q, p) * 180) / Math.PI)), `φ1 ${where}`).toBeLessThan(
              PHASE_TOL_DEG,
            );
          }
        }
      }
    },
  );
});

describe('the supply voltage', () => {
  const n = 128;
  const cycle = (h3: number) =>
    Float64Array.from({ length: n }, (_, k) => {
      const w = (2 * Math.PI * k) / n;
      return 230 * Math.SQRT2 * (Math.sin(w) + h3 * Math.sin(3 * w));
    });
  const current = new Float64Array(n).fill(0);

  it('its THD is the harmonics over the fundamental; a repeated cycle is not transformed again, a changed one is', () => {
    const analyzer = new CycleAnalyzer(n);
    const f = new CycleFeatures();
    expect(analyzer.analyze(cycle(0.03), current, 0, f).vthd).toBeCloseTo(0.03, 10);
    // The same cycle again (as a steady supply gives): the same spectrum, phase and THD.
    const phase = f.v1Phase;
    expect(analyzer.analyze(cycle(0.03), current, 0, f).vthd).toBeCloseTo(0.03, 10);
    expect(f.v1Phase).toBe(phase);
    expect(analyzer.analyze(cycle(0.05), current, 0, f).vthd).toBeCloseTo(0.05, 10);
    expect(analyzer.analyze(cycle(0), current, 0, f).vthd).toBeCloseTo(0, 10);
  });
});
