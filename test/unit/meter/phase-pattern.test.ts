import { describe, expect, it } from 'vitest';
import { offlineMeter } from '../../../meter/factory.js';
import type { MeterEvent } from '../../../meter/outputs.js';
import {
  nearestPair,
  nearestSignature,
  phaseCount,
  phaseMask,
  phasesFit,
  signaturesFromProfiles,
  trainSignatures,
} from '../../../meter/signatures.js';
import { scenarioSchema } from '../../../profiles/scenario-schema.js';
import { synthesizeMeterSync } from '../../../profiles/synth.js';

const library = signaturesFromProfiles();
const sig = (id: string) => library.find((s) => s.id === id)!;

describe('the per-phase step pattern', () => {
  it('a phase takes part in a step when its ΔP is a real share of the largest one', () => {
    expect(phaseMask([3650, 3680, 3670])).toBe(0b111);
    expect(phaseMask([2, 2200, -3])).toBe(0b010);
    expect(phaseMask([0.5, 2200, 1200])).toBe(0b110);
    expect(phaseMask([-2200, 1, 0])).toBe(0b001);
    // A small step is not spread over every phase by noise of a few watts.
    expect(phaseMask([4, 60, 3])).toBe(0b010);
    expect(phaseCount(0b101)).toBe(2);
  });

  it('library signatures carry their phases: appliances and single-phase chargers 1, three-phase chargers 3', () => {
    expect(sig('kettle').phases).toBe(1);
    expect(sig('obc-1ph-16a').phases).toBe(1);
    expect(sig('obc-3ph-16a').phases).toBe(3);
    expect(phasesFit({ phaseDp: [3700, 3650, 3660] }, 3)).toBe(true);
    expect(phasesFit({ phaseDp: [3700, 3650, 3660] }, 1)).toBe(false);
    // A single-phase meter has no pattern: everything fits.
    expect(phasesFit({}, 3)).toBe(true);
  });

  it('a 3.4 kW step on L2 and L3 is no single-phase charger but two appliances, one on each phase', () => {
    const step = { dp: 3400, dq: 390, r3: 0.09, r5: 0.035, r7: 0, phaseDp: [1, 2200, 1200] };
    // Without the pattern the charger is the nearest single load.
    expect(nearestSignature({ ...step, phaseDp: undefined }, library).sig?.id).toBe('obc-1ph-16a');
    expect(nearestSignature(step, library).sig).toBeUndefined();
    const pair = nearestPair(step, library).pair?.map((s) => s.id);
    expect(pair?.sort()).toEqual(['kettle', 'microwave']);
    // Three phases stepping at once are no pair of single-phase loads.
    expect(nearestPair({ ...step, phaseDp: [1100, 1150, 1150] }, library).pair).toBeUndefined();
  });
});

describe('training learns the phases a load switches on with', () => {
  const features = { dp: 9000, dq: 300, r3: 0.01, r5: 0.04, r7: 0.02 };
  it('one count in every example is learnt; mixed or unseen ones keep the library', () => {
    const trained = trainSignatures(library, [
      { id: 'heat-pump-3ph', class: 'heat-pump', features, phases: 'L1L2L3' },
      { id: 'heat-pump-3ph', class: 'heat-pump', features, phases: 'L1L2L3' },
      { id: 'kettle', class: 'kettle', features: { ...features, dp: 2200 }, phases: 'L2' },
      { id: 'odd', class: 'odd', features, phases: 'L1' },
      { id: 'odd', class: 'odd', features, phases: 'L1L2L3' },
      { id: 'obc-3ph-16a', class: 'ev', features },
    ]);
    const of = (id: string) => trained.find((s) => s.id === id)?.phases;
    expect(of('heat-pump-3ph')).toBe(3);
    expect(of('kettle')).toBe(1);
    expect(of('odd')).toBeUndefined();
    expect(of('obc-3ph-16a')).toBe(3);
  });
});

describe('a three-phase meter identifies by the pattern', () => {
  function events(loads: Array<Record<string, unknown>>, durationS: number) {
    const scenario = scenarioSchema.parse({
      name: 'phase-pattern',
      start: '2026-03-02T12:00:00Z',
      durationS,
      phases: 3,
      houses: [{ id: 'h', contract: 'C', baseLoadW: 100, loads }],
    });
    const out: MeterEvent[] = [];
    const { meter, store } = offlineMeter({ meterId: 'h', seed: 3, outputs: { event: (e) => out.push(e) } });
    for (const b of synthesizeMeterSync(scenario, 'h', { seed: 3 })) meter.processBlock(b);
    meter.finish();
    store.close();
    return out.map(
      (e) => [Math.round(e.tObserved), e.direction, e.class, Math.round(e.deltaP), e.energyWh ?? 0, e.phases] as const,
    );
  }

  it('a kettle on L2 and a microwave on L3 switched on in one cycle are both appliances, each off on its own', () => {
    const got = events(
      [
        { id: 'k', profile: 'kettle', on: 20, off: 80, phase: 'L2' },
        { id: 'm', profile: 'microwave', on: 20, off: 60, phase: 'L3' },
      ],
      100,
    );
    expect(got.map(([, dir, cls, , , phases]) => [dir, cls, phases])).toEqual([
      ['on', 'kettle', 'L2'],
      ['on', 'microwave', 'L3'],
      ['off', 'microwave', 'L3'],
      ['off', 'kettle', 'L2'],
    ]);
    // Observed within the detection latency of the switching (20, 20, 60 and 80 s).
    for (const [i, [t]] of got.entries()) expect(t - [20, 20, 60, 80][i]!).toBeLessThanOrEqual(1.5);
    // Each took its own phase's step as its power.
    expect(Math.abs(got[0]![3] - 2200)).toBeLessThan(60);
    expect(Math.abs(got[1]![3] - 1200)).toBeLessThan(60);
  });

  it('of two kettles on L1 and L3, the one on L3 switching off is the one that was on L3', () => {
    const got = events(
      [
        { id: 'k1', profile: 'kettle', on: 20, off: 90, phase: 'L1' },
        { id: 'k3', profile: 'kettle', on: 40, off: 60, phase: 'L3' },
      ],
      100,
    );
    const offs = got.filter(([, dir]) => dir === 'off');
    expect(offs.map(([, , cls]) => cls)).toEqual(['kettle', 'kettle']);
    // The energy on each off-event is that kettle's own run: 20 s and 70 s at 2.2 kW (the other way round would
    // give the L1 kettle's 40 s at 60 s).
    expect(offs[0]![4]).toBeCloseTo((2200 * 20) / 3600, 0);
    expect(offs[1]![4]).toBeCloseTo((2200 * 70) / 3600, 0);
  });
});
