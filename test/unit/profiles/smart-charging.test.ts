import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeCostMicro, defaultTariff, milliWhPerBand } from '../../../billing/tariff.js';
import { ledgerTariffOf } from '../../../billing/tariff-file.js';
import { groundTruth } from '../../../profiles/ground-truth.js';
import { getBuiltinProfile } from '../../../profiles/library.js';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import { type Scenario, scenarioSchema } from '../../../profiles/scenario-schema.js';
import { synthesizeMeterSync } from '../../../profiles/synth.js';

const REPO = join(import.meta.dirname, '../../..');

/** One house, no base load, one EV plugged in from `plugIn` to `unplug` (seconds after start). */
function evScenario(o: {
  profile: string;
  start?: string;
  durationS: number;
  plugIn: number;
  unplug: number;
  smart?: unknown;
  energyKWh?: number;
  tariff?: unknown;
}): Scenario {
  return scenarioSchema.parse({
    name: 'smart-test',
    start: o.start ?? '2026-03-02T16:00:00Z',
    durationS: o.durationS,
    tariff: o.tariff,
    houses: [{ id: 'h', contract: 'C-H', baseLoadW: 0 }],
    evs: [
      {
        id: 'ev',
        owner: 'C-EV',
        home: 'h',
        profile: o.profile,
        smart: o.smart,
        sessions: [{ at: 'h', plugIn: o.plugIn, unplug: o.unplug, energyKWh: o.energyKWh }],
      },
    ],
  });
}

function synthesizedWh(s: Scenario): number {
  let wh = 0;
  for (const b of synthesizeMeterSync(s, 'h', { seed: 1 })) {
    const n = b.samplesPerCycle;
    for (let k = 0; k < b.cycles * n; k++) wh += (b.voltage[k]! * b.current[k]!) / n / b.frequency / 3600;
  }
  return wh;
}

const evEvents = (s: Scenario) =>
  groundTruth(s, 1).events.map((e) => ({ t: e.t, direction: e.direction, deltaP: Math.round(e.deltaP) }));

describe('smart charging follows a setpoint signal', () => {
  const s = evScenario({
    profile: 'ev-smart-7.4kw',
    durationS: 4000,
    plugIn: 100,
    unplug: 3700,
    smart: {
      setpoints: [
        { t: 0, kW: 11 },
        { t: 1000, kW: 3.68 },
        { t: 2000, kW: 3.66 },
        { t: 2500, kW: 7.36 },
      ],
    },
  });
  const truth = groundTruth(s, 1);

  it('a switch event at every setpoint change beyond the event threshold, none for a smaller one', () => {
    expect(evEvents(s)).toEqual([
      { t: 100, direction: 'on', deltaP: 7360 },
      { t: 1000, direction: 'off', deltaP: -3680 },
      // 3.68 → 3.66 kW is 20 W, under STEP_EVENT_W (50 W): no event at 2000 s.
      { t: 2500, direction: 'on', deltaP: 3700 },
      { t: 3700, direction: 'off', deltaP: -7360 },
    ]);
  });

  it('the signal replaces the smart profile’s own schedule; energy is exact and equals the synthesized integral', () => {
    const wh = (7360 * 900 + 3680 * 1000 + 3660 * 500 + 7360 * 1200) / 3600;
    expect(truth.sessions).toHaveLength(1);
    expect(truth.sessions[0]!.importWh).toBeCloseTo(wh, 6);
    expect(Math.abs(synthesizedWh(s) - wh) / wh).toBeLessThan(0.001);
  });

  it('without a signal, ev-smart-7.4kw keeps its built-in schedule (the ev-billing smart case)', () => {
    const plain = loadScenarioFile(join(REPO, 'suites/scenarios/ev-smart-charging.yaml'));
    const run = groundTruth(plain, 1).runs.find((r) => r.ev)!;
    expect(run.segments.map((g) => g.state.name)).toEqual(
      getBuiltinProfile('ev-smart-7.4kw').states.map((x) => x.name),
    );
  });

  it('a cap crossing a taper splits it where they meet: no event there, power continuous, energy exact', () => {
    // ev-1ph-7.4kw: bulk 7360 W for 2700 s, then a taper to 2400 W over 1800 s; a 5 kW cap from t = 0.
    const capped = evScenario({
      profile: 'ev-1ph-7.4kw',
      durationS: 6000,
      plugIn: 0,
      unplug: 5000,
      smart: { setpoints: [{ t: 0, kW: 5 }] },
    });
    expect(evEvents(capped)).toEqual([
      { t: 0, direction: 'on', deltaP: 5000 },
      { t: 4500, direction: 'off', deltaP: -2400 },
    ]);
    const cross = 2700 + ((7360 - 5000) / (7360 - 2400)) * 1800;
    const wh = (5000 * cross + ((5000 + 2400) / 2) * (4500 - cross)) / 3600;
    // The crossing instant is snapped to a cycle boundary like every switching instant (≤ 10 ms off).
    expect(Math.abs(groundTruth(capped, 1).sessions[0]!.importWh - wh) / wh).toBeLessThan(1e-6);
    expect(Math.abs(synthesizedWh(capped) - wh) / wh).toBeLessThan(0.001);
  });

  it('export (V2G) is not capped', () => {
    const v2g = evScenario({
      profile: 'ev-v2g-7.4kw',
      durationS: 2000,
      plugIn: 0,
      unplug: 1800,
      smart: { setpoints: [{ t: 0, kW: 0 }] },
    });
    expect(groundTruth(v2g, 1).sessions[0]!.exportWh).toBeCloseTo((5000 * 1800) / 3600, 6);
  });
});

describe('smart charging follows the TOU tariff', () => {
  // Monday 2026-03-02 from 16:00 UTC; the default tariff's peak band is 17–21 h on weekdays.
  const paused = evScenario({
    profile: 'ev-1ph-3.7kw',
    durationS: 8 * 3600,
    plugIn: 1800,
    unplug: 7 * 3600,
    smart: { tariff: { bands: ['peak'], kW: 0 } },
  });
  const truth = groundTruth(paused, 1);

  it('pauses in the peak band: off at 17:00, on at 21:00, one session (one plug-in) billed', () => {
    expect(evEvents(paused)).toEqual([
      { t: 1800, direction: 'on', deltaP: 3680 },
      { t: 3600, direction: 'off', deltaP: -3680 },
      { t: 5 * 3600, direction: 'on', deltaP: 3680 },
      { t: 7 * 3600, direction: 'off', deltaP: -3680 },
    ]);
    expect(truth.runs.filter((r) => r.ev)).toHaveLength(2);
    expect(truth.sessions).toHaveLength(1);
    expect(truth.sessions[0]).toMatchObject({ start: 1800, end: 7 * 3600, plugIn: 1800, unplug: 7 * 3600 });
    const wh = (3680 * (1800 + 2 * 3600)) / 3600;
    expect(truth.sessions[0]!.importWh).toBeCloseTo(wh, 6);
    expect(Math.abs(synthesizedWh(paused) - wh) / wh).toBeLessThan(0.001);
  });

  it('the expected cost prices the energy of each band: paused through the whole peak, no peak price', () => {
    const s = truth.sessions[0]!;
    // 3.68 kW over 16:30–17:00 and 21:00–23:00: all in the day band (index 1), nothing in the peak (index 2).
    const dayWh = (3680 * (1800 + 2 * 3600)) / 3600;
    expect(s.bandWh[0]).toBe(0);
    expect(s.bandWh[1]).toBeCloseTo(dayWh, 6);
    expect(s.bandWh[2]).toBe(0);
    // 9.2 kWh at the day price 0.25 less the EV incentive 0.02 per kWh.
    expect(s.cost).toBe(2.116);
    // The version-1 reading (energy spread evenly over 16:30–23:00) would have priced 4 of the 6.5 hours at peak.
    const spread = computeCostMicro(defaultTariff(), {
      start: BigInt(truth.epochS + s.start),
      end: BigInt(truth.epochS + s.end),
      importMilliWh: BigInt(Math.round(s.importWh * 1000)),
      exportMilliWh: 0n,
    });
    expect(Number(spread) / 1e6).toBeGreaterThan(s.cost + 0.8);
  });

  it('with an energy target, the taper still ends on it after the pause (bulk stretched through the peak)', () => {
    const s = evScenario({
      profile: 'ev-1ph-7.4kw',
      durationS: 8 * 3600,
      plugIn: 1800,
      unplug: 8 * 3600 - 60,
      energyKWh: 12,
      smart: { tariff: { bands: ['peak'], kW: 0 } },
    });
    const t = groundTruth(s, 1);
    expect(t.sessions[0]!.importWh).toBeCloseTo(12_000, 0);
    const last = t.runs.filter((r) => r.ev).at(-1)!;
    expect(last.start).toBe(5 * 3600);
    expect(last.segments.at(-1)!.p1).toBeCloseTo(2400, 3);
    expect(last.segments.at(-1)!.state.kind).toBe('taper');
  });

  it('a rule on the scenario’s own bands (or a price threshold) reduces power in those hours', () => {
    const tariff = loadScenarioFile(join(REPO, 'suites/scenarios/ev-tou-boundary.yaml')).tariff;
    const byBand = evScenario({
      profile: 'ev-1ph-7.4kw',
      durationS: 4 * 3600,
      plugIn: 1200,
      unplug: 3 * 3600,
      tariff,
      smart: { tariff: { bands: ['peak'], kW: 3.68 } },
    });
    const byPrice = evScenario({
      profile: 'ev-1ph-7.4kw',
      durationS: 4 * 3600,
      plugIn: 1200,
      unplug: 3 * 3600,
      tariff,
      smart: { tariff: { abovePrice: 0.3, kW: 3.68 } },
    });
    for (const s of [byBand, byPrice]) {
      expect(evEvents(s).slice(0, 2)).toEqual([
        { t: 1200, direction: 'on', deltaP: 7360 },
        { t: 3600, direction: 'off', deltaP: -3680 },
      ]);
      const session = groundTruth(s, 1).sessions[0]!;
      // Reduced in the peak, priced by band: the cost is the truth's energy in each band at that band's price.
      const t = ledgerTariffOf(tariff!);
      const bandMilliWh = milliWhPerBand(session.bandWh);
      const micro = computeCostMicro(t, {
        start: BigInt(Date.parse(s.start) / 1000 + session.start),
        end: BigInt(Date.parse(s.start) / 1000 + session.end),
        importMilliWh: bandMilliWh.reduce((a, b) => a + b, 0n),
        exportMilliWh: 0n,
        version: 2,
        bandMilliWh,
      });
      expect(session.cost).toBe(Number(micro) / 1e6);
      const byHand = session.bandWh.reduce(
        (sum, wh, b) => sum + (wh / 1000) * (Number(t.bandPrices[b]! - t.evIncentive) / 1e6),
        0,
      );
      expect(session.cost).toBeCloseTo(byHand, 5);
    }
    expect(groundTruth(byBand, 1).sessions[0]!.importWh).toBeCloseTo(groundTruth(byPrice, 1).sessions[0]!.importWh, 9);
  });

  it('a band the tariff does not have is a validation error naming the field', () => {
    const r = scenarioSchema.safeParse({
      name: 'x',
      start: '2026-03-02T16:00:00Z',
      durationS: 100,
      houses: [{ id: 'h', contract: 'C' }],
      evs: [
        {
          id: 'ev',
          owner: 'C',
          profile: 'ev-1ph-3.7kw',
          smart: { tariff: { bands: ['shoulder'], kW: 0 } },
          sessions: [{ at: 'h', plugIn: 0, unplug: 50 }],
        },
      ],
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['evs', 0, 'smart', 'tariff', 'bands', 0] });
  });
});
