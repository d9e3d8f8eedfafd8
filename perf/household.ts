import { type Scenario, scenarioSchema } from '../profiles/scenario-schema.js';

/**
 * The benchmark house: an EV and 10 appliances, cycling and switching all day, for `days` days. `threePhase`: the
 * same house on a three-phase supply, its appliances spread over L1, L2 and L3 and its EV an 11 kW three-phase one.
 */
export function benchmarkHouse(days: number, opts: { threePhase?: boolean } = {}): Scenario {
  const durationS = days * 86400;
  const scenario = scenarioSchema.parse({
    name: `bench-house-${days}d`,
    start: '2026-03-02T00:00:00Z',
    durationS,
    houses: [
      {
        id: 'house-1',
        contract: 'C-HOUSE-1',
        loads: [{ id: 'fridge', profile: 'fridge', on: 10 }],
        randomLoads: [
          { profile: 'kettle', count: 4 * days, minDurationS: 90, maxDurationS: 200 },
          { profile: 'microwave', count: 3 * days, minDurationS: 60, maxDurationS: 300 },
          { profile: 'led-tv', count: 2 * days, minDurationS: 1800, maxDurationS: 7200 },
          { profile: 'washing-machine', count: days, minDurationS: 3600, maxDurationS: 5400 },
          { profile: 'heat-pump', count: 4 * days, minDurationS: 1200, maxDurationS: 3600 },
          { profile: 'induction-hob', count: 2 * days, minDurationS: 300, maxDurationS: 1500 },
          { profile: 'hair-dryer', count: days, minDurationS: 120, maxDurationS: 400 },
          { profile: 'laptop-charger', count: 2 * days, minDurationS: 1800, maxDurationS: 10800 },
          { profile: 'vacuum-cleaner', count: days, minDurationS: 300, maxDurationS: 900 },
          { profile: 'microwave', count: days, minDurationS: 60, maxDurationS: 120 },
        ],
      },
    ],
    evs: [
      {
        id: 'ev-1',
        owner: 'C-HOUSE-1',
        home: 'house-1',
        profile: 'ev-1ph-7.4kw',
        sessions: Array.from({ length: days }, (_, d) => ({
          at: 'house-1',
          plugIn: d * 86400 + 64800,
          unplug: d * 86400 + 79200,
        })),
      },
    ],
  });
  if (!opts.threePhase) return scenario;
  const phase = (i: number) => (['L1', 'L2', 'L3'] as const)[i % 3];
  const [house] = scenario.houses;
  return scenarioSchema.parse({
    ...scenario,
    name: `${scenario.name}-3ph`,
    phases: 3,
    houses: [
      {
        ...house,
        loads: house!.loads.map((l) => ({ ...l, phase: 'L3' })),
        randomLoads: house!.randomLoads.map((r, i) => ({ ...r, phase: phase(i) })),
      },
    ],
    evs: scenario.evs.map((ev) => ({ ...ev, profile: 'ev-3ph-11kw' })),
  });
}

/**
 * A street of `houses` benchmark houses for `days` days, each with its own EV charging at home in the evening: the
 * neighbourhood whose meters the sim rig may run in parallel.
 */
export function benchmarkStreet(houses: number, days: number): Scenario {
  const one = benchmarkHouse(days);
  const [house] = one.houses;
  const [ev] = one.evs;
  return scenarioSchema.parse({
    ...one,
    name: `bench-street-${houses}x${days}d`,
    houses: Array.from({ length: houses }, (_, i) => ({
      ...house,
      id: `house-${i + 1}`,
      contract: `C-HOUSE-${i + 1}`,
    })),
    evs: Array.from({ length: houses }, (_, i) => ({
      ...ev,
      id: `ev-${i + 1}`,
      owner: `C-HOUSE-${i + 1}`,
      home: `house-${i + 1}`,
      sessions: ev!.sessions.map((s) => ({ ...s, at: `house-${i + 1}` })),
    })),
  });
}
