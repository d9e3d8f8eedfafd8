import { describe, expect, it } from 'vitest';
import { defaultTariff } from '../../../billing/tariff.js';
import { capRuns, cutAtEnergy, playEvSession } from '../../../profiles/ev-charging.js';
import { expandScenario } from '../../../profiles/expansion.js';
import { expectedCost, groundTruth } from '../../../profiles/ground-truth.js';
import { type PlayedRun, playProfile, segmentEnergyWh } from '../../../profiles/play.js';
import { profileFor, resolveScenarioPath } from '../../../profiles/scenario.js';
import { type Scenario, scenarioSchema } from '../../../profiles/scenario-schema.js';
import { type Profile, profileSchema } from '../../../profiles/schema.js';

const profile = (states: unknown[], cls = 'heater'): Profile =>
  profileSchema.parse({
    name: 'p',
    class: cls,
    description: 'test',
    source: 'test',
    states,
    noise: 0,
    ...(cls === 'ev' ? { ev: { charger: 'test', phases: 1, maxCurrentA: 16, control: 'uncontrolled' } } : {}),
  });

const HEATER = profile([{ name: 'on', p: 1000, q: 0 }]);
/** CC then CV: 3.6 kW for an hour, then a taper to 0.36 kW over 1800 s. */
const CCCV = profile(
  [
    { name: 'bulk', p: 3600, q: 0, durationS: 3600 },
    { name: 'cv', kind: 'taper', p: 3600, toP: 360, q: 0, durationS: 1800 },
  ],
  'ev',
);

const energy = (runs: PlayedRun[]) => runs.flatMap((r) => r.segments).reduce((e, s) => e + segmentEnergyWh(s), 0);

describe('play', () => {
  it('a steady profile is one run over the window; its energy is P × t', () => {
    const runs = playProfile(HEATER, 10, 3610);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ start: 10, end: 3610 });
    expect(energy(runs)).toBeCloseTo(1000, 9);
  });

  it('a cycling state is one run per on-period', () => {
    const fridge = profile([{ name: 'c', kind: 'cycling', p: 100, q: 0, onS: 60, offS: 240 }]);
    const runs = playProfile(fridge, 0, 900);
    expect(runs.map((r) => [r.start, r.end])).toEqual([
      [0, 60],
      [300, 360],
      [600, 660],
    ]);
  });

  it('a taper segment goes linearly from p to toP', () => {
    const [run] = playProfile(CCCV, 0, 1e6);
    expect(run!.segments.map((s) => [s.from, s.to, s.p0, s.p1])).toEqual([
      [0, 3600, 3600, 3600],
      [3600, 5400, 3600, 360],
    ]);
    expect(energy([run!])).toBeCloseTo(3600 + (((3600 + 360) / 2) * 1800) / 3600, 9);
  });
});

describe('EV charging', () => {
  it('a cap limits the power; a cap of 0 pauses the session (two runs)', () => {
    const runs = capRuns(playProfile(HEATER, 0, 300), [
      { t: 0, w: 400 },
      { t: 100, w: 0 },
      { t: 200, w: Number.POSITIVE_INFINITY },
    ]);
    expect(runs.map((r) => [r.start, r.end, r.segments[0]!.p0])).toEqual([
      [0, 100, 400],
      [200, 300, 1000],
    ]);
  });

  it('cutAtEnergy stops the runs where the energy reaches the target', () => {
    const runs = cutAtEnergy(playProfile(HEATER, 0, 7200), 500);
    expect(runs.at(-1)!.end).toBeCloseTo(1800, 9);
    expect(energy(runs)).toBeCloseTo(500, 9);
  });

  it('an energy target stretches a CC-CV bulk stage so the taper ends on the target', () => {
    const runs = playEvSession(CCCV, 0, 20_000, { energyWh: 8000 });
    expect(energy(runs)).toBeCloseTo(8000, 3);
    const last = runs.at(-1)!.segments.at(-1)!;
    expect(last.p1).toBeCloseTo(360, 6);
  });
});

describe('expansion and ground truth', () => {
  const scenario: Scenario = scenarioSchema.parse({
    name: 'tiny',
    start: '2026-01-05T00:00:00Z',
    durationS: 600,
    profiles: [
      { name: 'p', class: 'heater', description: 'test', source: 'test', states: [{ name: 'on', p: 1000, q: 0 }] },
    ],
    houses: [{ id: 'h1', contract: 'C-H1', baseLoadW: 36, loads: [{ id: 'k', profile: 'p', on: 60, off: 240 }] }],
  });

  it('expands a fixed load into one run at its meter, snapped to the mains cycle', () => {
    const runs = expandScenario(scenario, 1);
    expect(runs.map((r) => [r.meterId, r.loadId, r.start, r.end])).toEqual([['h1', 'k', 60, 240]]);
    expect(runs[0]!.profile).toBe(profileFor(scenario, 'p'));
  });

  it('ground truth: on and off events, the run energy and the base load', () => {
    const truth = groundTruth(scenario, 1);
    expect(truth.events.map((e) => [e.t, e.direction, e.loadId])).toEqual([
      [60, 'on', 'k'],
      [240, 'off', 'k'],
    ]);
    expect(truth.energies.find((e) => e.loadId === 'k')!.energyWh).toBeCloseTo(50, 9);
    const base = truth.energies.find((e) => e.loadId === 'base')!;
    expect(base.energyWh).toBeCloseTo(6, 9);
    expect(truth.sessions).toEqual([]);
  });

  it('expectedCost: the band energies priced by the tariff, in currency units', () => {
    // 1 kWh at night (band 0: 0.15/kWh) minus the EV incentive (0.02/kWh).
    const cost = expectedCost(defaultTariff(), Date.parse('2026-01-05T00:00:00Z') / 1000, {
      start: 0,
      end: 3600,
      bandWh: [1000, 0, 0],
      exportWh: 0,
    });
    expect(cost).toBeCloseTo(0.13, 9);
  });

  it('resolveScenarioPath: relative to the suite folder unless absolute', () => {
    expect(resolveScenarioPath('s.yaml', '/suites')).toBe('/suites/s.yaml');
    expect(resolveScenarioPath('/x/s.yaml', '/suites')).toBe('/x/s.yaml');
  });
});
