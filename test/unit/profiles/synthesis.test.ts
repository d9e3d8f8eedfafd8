import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CycleAnalyzer, CycleFeatures } from '../../../dsp/cycle.js';
import { generateScenario } from '../../../profiles/generate.js';
import { groundTruth } from '../../../profiles/ground-truth.js';
import { listBuiltinProfiles } from '../../../profiles/library.js';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import { type Scenario, scenarioSchema } from '../../../profiles/scenario-schema.js';
import { type Profile, stateQ } from '../../../profiles/schema.js';
import { macroSeries, synthesizeMeter, synthesizeMeterSync } from '../../../profiles/synth.js';
import type { CycleBlock } from '../../../profiles/waveform.js';

/** One load of `profile` alone (noise off, no base load) for `seconds`, at `frequency`. */
function alone(profile: Profile, frequency: 50 | 60, seconds = 2): Scenario {
  return scenarioSchema.parse({
    name: `alone-${profile.name}`,
    start: '2026-03-02T12:00:00Z',
    durationS: seconds,
    frequency,
    profiles: [{ ...profile, name: 'under-test', noise: 0 }],
    houses: [{ id: 'h', contract: 'C', baseLoadW: 0, loads: [{ id: 'l', profile: 'under-test', on: 0 }] }],
  });
}

function lastCycle(s: Scenario, samplesPerCycle: number): CycleFeatures {
  let last: { v: Float64Array; i: Float64Array; c: number } | undefined;
  for (const b of synthesizeMeterSync(s, 'h', { seed: 1, samplesPerCycle }))
    last = { v: Float64Array.from(b.voltage), i: Float64Array.from(b.current), c: b.cycles };
  return new CycleAnalyzer(samplesPerCycle).analyze(
    last!.v,
    last!.i,
    (last!.c - 1) * samplesPerCycle,
    new CycleFeatures(),
  );
}

const steadyProfiles = listBuiltinProfiles().filter((p) => p.states[0]!.kind !== 'ramp');
const configs = [
  { frequency: 60 as const, samplesPerCycle: 128 },
  { frequency: 50 as const, samplesPerCycle: 256 },
  { frequency: 60 as const, samplesPerCycle: 256 },
];

describe.each(configs)(
  'synthesis at $frequency Hz × $samplesPerCycle samples per cycle',
  ({ frequency, samplesPerCycle }) => {
    it.each(steadyProfiles)(
      'the FFT of $name returns its declared P, Q and harmonic ratios within 0.5 %',
      (profile) => {
        const s = profile.states[0]!;
        const f = lastCycle(alone(profile, frequency), samplesPerCycle);
        const scale = Math.abs(s.p) + Math.abs(stateQ(s));
        expect(Math.abs(f.p - s.p) / scale).toBeLessThan(0.005);
        expect(Math.abs(f.q - stateQ(s)) / scale).toBeLessThan(0.005);
        for (const h of s.harmonics)
          expect(Math.abs(f.ratio(h.order) - h.ratio)).toBeLessThan(0.005 * Math.max(h.ratio, 0.1));
      },
    );

    it('blocks are whole cycles at the chosen rate', () => {
      const [b] = synthesizeMeterSync(alone(steadyProfiles[0]!, frequency), 'h', { seed: 1, samplesPerCycle });
      expect(b).toMatchObject({ frequency, samplesPerCycle, cycles: frequency });
      expect(b!.current).toHaveLength(frequency * samplesPerCycle);
    });
  },
);

/**
 * A generated day with every kind of segment: taper (ev-3ph-11kw), ramp (heat-pump soft start), cycling (fridge),
 * export (PV and a V2G car), steps of a tariff-following smart EV, random appliances, session energies.
 */
const SEED = 5;
const generated = generateScenario({
  houses: 4,
  evVisits: 2,
  days: 1,
  seed: SEED,
  pv: 1,
  heatPumps: 2,
  v2g: 1,
  smart: 1,
  sessionEnergy: true,
  unauthorised: 1,
});
const truth = groundTruth(generated, SEED);

describe('a generated day with taper, ramp, cycling, export, smart steps and random loads', () => {
  it('has every kind of segment the test is about', () => {
    const kinds = new Set(truth.runs.flatMap((r) => r.segments.map((g) => `${r.profile.class}:${g.state.kind}`)));
    for (const k of ['ev:taper', 'heat-pump:ramp', 'fridge:cycling', 'pv:steady']) expect([...kinds], k).toContain(k);
    expect(truth.sessions.some((s) => s.exportWh > 0)).toBe(true);
    expect(truth.runs.some((r) => r.loadId.includes('-r'))).toBe(true);
  });

  it.each(generated.houses.map((h) => h.id))(
    '%s: ground-truth energy equals the integral of the synthesized power within 0.1 %, in total and every hour',
    (meterId) => {
      const hourly = new Float64Array(24);
      for (const b of synthesizeMeterSync(generated, meterId, { seed: SEED })) {
        const n = b.samplesPerCycle;
        let wh = 0;
        for (let k = 0; k < b.cycles * n; k++) wh += (b.voltage[k]! * b.current[k]!) / n / b.frequency / 3600;
        hourly[Math.floor(b.t0 / 3600)]! += wh;
      }
      const truthWh = truth.energies.filter((e) => e.meterId === meterId).reduce((s, e) => s + e.energyWh, 0);
      const synthWh = hourly.reduce((a, b) => a + b, 0);
      expect(Math.abs(synthWh - truthWh) / Math.abs(truthWh)).toBeLessThan(0.001);
      // Hour by hour against the 1 s macro series (the runs' segments integrated independently of the waveforms).
      const macro = new Float64Array(24);
      for (const m of macroSeries(generated, meterId, SEED)) macro[Math.floor(m.t / 3600)]! += m.energyWh;
      for (let h = 0; h < 24; h++)
        expect(Math.abs(hourly[h]! - macro[h]!), `hour ${h}`).toBeLessThan(0.001 * Math.abs(macro[h]!) + 0.01);
    },
  );

  it('macroSeries (1 s P/Q/energy) integrates to the ground-truth energy of every meter within 0.1 %', () => {
    for (const h of generated.houses) {
      let wh = 0;
      let seconds = 0;
      for (const m of macroSeries(generated, h.id, SEED)) {
        wh += m.energyWh;
        seconds++;
        expect(m.energyWh).toBeCloseTo(m.p / 3600, 12);
      }
      const truthWh = truth.energies.filter((e) => e.meterId === h.id).reduce((s, e) => s + e.energyWh, 0);
      expect(seconds).toBe(generated.durationS);
      expect(Math.abs(wh - truthWh) / Math.abs(truthWh)).toBeLessThan(0.001);
    }
  });
});

describe('the async iterator of cycle blocks', () => {
  const digest = (h: ReturnType<typeof createHash>, b: CycleBlock) => {
    h.update(`${b.meterId} ${b.t0} ${b.cycles} ${b.samplesPerCycle}|`);
    h.update(new Uint8Array(b.voltage.buffer, b.voltage.byteOffset, b.voltage.byteLength));
    h.update(new Uint8Array(b.current.buffer, b.current.byteOffset, b.current.byteLength));
  };

  it('yields the same blocks, sample for sample, as the sync path', async () => {
    const opts = { seed: 9, from: 33_000, to: 33_600, blockCycles: 37 };
    const sync = createHash('sha256');
    let syncBlocks = 0;
    for (const b of synthesizeMeterSync(generated, 'house-1', opts)) {
      digest(sync, b);
      syncBlocks++;
    }
    const async = createHash('sha256');
    let asyncBlocks = 0;
    for await (const b of synthesizeMeter(generated, 'house-1', opts)) {
      digest(async, b);
      asyncBlocks++;
    }
    expect(asyncBlocks).toBe(syncBlocks);
    expect(syncBlocks).toBe(Math.ceil((600 * 50) / 37));
    expect(async.digest('hex')).toBe(sync.digest('hex'));
  });
});

describe('cycles that repeat the last one', () => {
  /** Every sample array of every block, the three-phase supply's lines and neutral included. */
  const samples = (scenario: Scenario, meterId: string, opts: Parameters<typeof synthesizeMeterSync>[2]) => {
    const h = createHash('sha256');
    const put = (a: Float64Array) => h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    for (const b of synthesizeMeterSync(scenario, meterId, opts)) {
      h.update(`${b.t0} ${b.cycles}|`);
      put(b.voltage);
      put(b.current);
      for (const l of b.lines ?? []) {
        put(l.voltage);
        put(l.current);
      }
      if (b.neutral) put(b.neutral);
    }
    return h.digest('hex');
  };
  const threePhase = loadScenarioFile(join(import.meta.dirname, '../../../suites/scenarios/ev-three-phase.yaml'));
  // A transient that rings for a dozen cycles, alone (the library's come with a longer inrush), switched on and off.
  const ringer = listBuiltinProfiles().find((p) => p.transient)!;
  const ringing = scenarioSchema.parse({
    name: 'ringing',
    start: '2026-03-02T12:00:00Z',
    durationS: 20,
    frequency: 50,
    profiles: [{ ...ringer, name: 'ringer', inrush: undefined, transient: { ...ringer.transient, decayMs: 40 } }],
    houses: [
      {
        id: 'h',
        contract: 'C',
        loads: [
          { id: 'a', profile: 'ringer', on: 2, off: 9 },
          { id: 'b', profile: 'ringer', on: 12 },
        ],
      },
    ],
  });
  // Two hours of the generated day with EVs plugging in at home and at a neighbour's, the three-phase hour, and
  // the ringing load.
  const scenarios = {
    generated: [generated, 32_400, 39_600],
    'ev-three-phase': [threePhase, 0, 3600],
    ringing: [ringing, 0, 20],
  } as const;
  const cases = Object.entries(scenarios).flatMap(([name, [scenario]]) =>
    scenario.houses.map((h) => [name as keyof typeof scenarios, h.id] as const),
  );

  it.each(cases)(
    '%s, %s: the shortcut gives the samples of summing every cycle afresh (inrush, transients, ramps, steps)',
    (name, meterId) => {
      const [scenario, from, to] = scenarios[name];
      // What the shortcut must not skip is there: a load with inrush or a transient starting in the window.
      const runs = groundTruth(scenario, SEED).runs.filter((r) => r.meterId === meterId);
      expect(runs.some((r) => r.start >= from && r.start < to && (r.profile.inrush || r.profile.transient))).toBe(true);
      const opts = { seed: SEED, from, to };
      expect(samples(scenario, meterId, opts)).toBe(samples(scenario, meterId, { ...opts, everyCycle: true }));
    },
  );
});
