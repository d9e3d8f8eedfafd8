import { describe, expect, it } from 'vitest';
import { offlineMeter } from '../../../meter/factory.js';
import type { MeterEvent } from '../../../meter/outputs.js';
import { groundTruth } from '../../../profiles/ground-truth.js';
import { type Scenario, scenarioSchema } from '../../../profiles/scenario-schema.js';
import { scenarioEvSignals } from '../../../rigs/scenario-setpoints.js';
import { playIntoMeter } from '../../support/meter-play.js';

const SPC = 64;

function play(scenario: Scenario, seed = 2) {
  const events: MeterEvent[] = [];
  const { meter, store } = offlineMeter({
    meterId: 'h',
    hostContractId: 'C-H',
    epochS: Date.parse(scenario.start) / 1000,
    seed,
    samplesPerCycle: SPC,
    outputs: { event: (e) => events.push(e) },
  });
  const signals = scenarioEvSignals(scenario, 'h', seed);
  playIntoMeter(meter, scenario, 'h', { seed, samplesPerCycle: SPC, signals });
  store.close();
  return { events, truth: groundTruth(scenario, seed) };
}

const house = (loads: unknown[], evs: unknown[] = [], durationS = 600) =>
  scenarioSchema.parse({
    name: 't',
    start: '2026-03-07T08:00:00Z',
    durationS,
    houses: [{ id: 'h', contract: 'C-H', baseLoadW: 80, loads }],
    evs,
  });

describe('the reference meter assigns energy per load', () => {
  it("a heat pump's soft start: one on and one off event, both the heat pump, its whole energy assigned to it", () => {
    // Before: the ramp went to the base, its end (a PF change, ΔP ≈ 2 W, ΔQ ≈ −120 var) came out as a spurious
    // "unknown" event, and the off-step (−1800 W against the 400 W the meter tracked) as "unknown" too.
    const r = play(house([{ id: 'hp', profile: 'heat-pump', on: 100, off: 400 }]));
    expect(r.events.map((e) => [e.direction, e.class])).toEqual([
      ['on', 'heat-pump'],
      ['off', 'heat-pump'],
    ]);
    const trueWh = r.truth.energies.find((e) => e.loadId === 'hp')!.energyWh;
    // Within 1 %: the meter tracks the ramp through its 10-cycle steady window, a little behind.
    expect(Math.abs(r.events[1]!.energyWh! / trueWh - 1)).toBeLessThan(0.01);
  });

  it("a tapering EV's off-event carries the energy it drew (not its switch-on power held)", () => {
    const r = play(
      house(
        [],
        [
          {
            id: 'ev',
            owner: 'C-EV',
            home: 'h',
            profile: 'ev-1ph-7.4kw',
            sessions: [{ at: 'h', plugIn: 100, unplug: 4700, authorise: true }],
          },
        ],
        4800,
      ),
    );
    const off = r.events.filter((e) => e.class === 'ev' && e.direction === 'off');
    expect(off).toHaveLength(1);
    const trueWh = r.truth.sessions[0]!.importWh;
    expect(Math.abs(off[0]!.energyWh! - trueWh) / trueWh).toBeLessThan(0.005);
  });
});
