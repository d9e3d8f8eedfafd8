import { describe, expect, it } from 'vitest';
import { pseudonym, RECORD_VERSION_BANDS } from '../../../billing/billing-record.js';
import type { SignedBillingRecordJson } from '../../../billing/record-json.js';
import { computeCostMicro, defaultTariff } from '../../../billing/tariff.js';
import type { MeterConfigInput } from '../../../meter/config.js';
import { parseMeterConfig } from '../../../meter/config.js';
import { offlineMeter } from '../../../meter/factory.js';
import type { MeterEvent } from '../../../meter/outputs.js';
import { groundTruth } from '../../../profiles/ground-truth.js';
import { type Scenario, scenarioSchema } from '../../../profiles/scenario-schema.js';
import { scenarioEvSignals } from '../../../rigs/scenario-setpoints.js';
import { playIntoMeter } from '../../support/meter-play.js';

const SALT = parseMeterConfig({}).pseudonymSalt;
const SPC = 64;

/** One house with a fridge and a kettle beside a smart EV (owner C-EV) plugged in once. */
function smartScenario(o: {
  start: string;
  durationS: number;
  profile: string;
  plugIn: number;
  unplug: number;
  smart: unknown;
  energyKWh?: number;
  kettle?: { on: number; off: number };
  /** A 1 kW resistive heater no signature knows (so "unknown"): no harmonics, PF 1. */
  heater?: { on: number; off: number };
}): Scenario {
  return scenarioSchema.parse({
    name: 'smart-ev',
    start: o.start,
    durationS: o.durationS,
    profiles: [
      {
        name: 'space-heater',
        class: 'heater',
        description: 'resistive space heater',
        source: 'test load: a resistive element, PF 1',
        states: [{ name: 'on', p: 1000 }],
      },
    ],
    houses: [
      {
        id: 'h',
        contract: 'C-HOST',
        baseLoadW: 150,
        loads: [
          { id: 'fridge', profile: 'fridge', on: 20 },
          ...(o.kettle ? [{ id: 'kettle', profile: 'kettle', ...o.kettle }] : []),
          ...(o.heater ? [{ id: 'heater', profile: 'space-heater', ...o.heater }] : []),
        ],
      },
    ],
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

/**
 * Plays the scenario into a meter as the sim rig does: the charge point's token and pilot states (when `pilot`)
 * are delivered before the block in which they happen, then the block; the run's end ends what is paused.
 */
function play(scenario: Scenario, o: { pilot?: boolean; config?: MeterConfigInput; seed?: number } = {}) {
  const seed = o.seed ?? 5;
  const events: MeterEvent[] = [];
  const billing: SignedBillingRecordJson[] = [];
  const { meter, store } = offlineMeter({
    meterId: 'h',
    hostContractId: 'C-HOST',
    epochS: Date.parse(scenario.start) / 1000,
    seed,
    config: o.config,
    samplesPerCycle: SPC,
    outputs: { event: (e) => events.push(e), billing: (b) => billing.push(b.signed) },
  });
  const signals = scenarioEvSignals(scenario, 'h', seed).filter((s) => o.pilot !== false || s.kind === 'authorize');
  playIntoMeter(meter, scenario, 'h', { seed, samplesPerCycle: SPC, signals });
  store.close();
  return { events, billing, truth: groundTruth(scenario, seed) };
}

/** The one record of the one session, checked against the ground truth the way the certification does. */
function expectBilledOnce(r: ReturnType<typeof play>) {
  expect(r.truth.sessions).toHaveLength(1);
  const truth = r.truth.sessions[0]!;
  expect(r.billing).toHaveLength(1);
  const rec = r.billing[0]!.record;
  expect(rec.payer).toBe(pseudonym('C-EV', SALT));
  expect(rec.attributed).toBe(true);
  const epoch = r.truth.epochS;
  expect(Math.abs(Number(rec.start) - (epoch + truth.start))).toBeLessThanOrEqual(1);
  expect(Math.abs(Number(rec.end) - (epoch + truth.end))).toBeLessThanOrEqual(1);
  const billedWh = Number(rec.importMilliWh) / 1000;
  expect(Math.abs(billedWh - truth.importWh) / truth.importWh).toBeLessThan(0.01);
  // The record carries the import energy of each tariff band (version 2), adding up to the import; each band's
  // energy is the truth's within the metering error, and the cost is those energies priced by the tariff.
  const tariff = defaultTariff();
  expect(rec.version).toBe(RECORD_VERSION_BANDS);
  const bands = rec.bandMilliWh!.map((e) => BigInt(e));
  expect(bands.reduce((a, b) => a + b, 0n)).toBe(BigInt(rec.importMilliWh));
  bands.forEach((e, b) => {
    expect(Math.abs(Number(e) / 1000 - truth.bandWh[b]!)).toBeLessThan(0.01 * truth.importWh);
  });
  const priced = computeCostMicro(tariff, {
    start: BigInt(rec.start),
    end: BigInt(rec.end),
    importMilliWh: BigInt(rec.importMilliWh),
    exportMilliWh: 0n,
    version: RECORD_VERSION_BANDS,
    bandMilliWh: bands,
  });
  expect(BigInt(rec.costMicro)).toBe(priced);
  // The truth's cost: its energy in each band at that band's price less the EV incentive (micro-units per kWh).
  const truthCost = truth.bandWh.reduce(
    (sum, wh, b) => sum + (wh / 1000) * (Number(tariff.bandPrices[b]! - tariff.evIncentive) / 1e6),
    0,
  );
  expect(truth.cost).toBeCloseTo(truthCost, 5);
  const cost = Number(rec.costMicro) / 1e6;
  expect(Math.abs(cost - truthCost) / truthCost).toBeLessThan(
    Math.abs(billedWh - truth.importWh) / truth.importWh + 1e-3,
  );
  return { rec, truth, billedWh };
}

/** Every true EV switch event has a detected EV event of the same direction within 1 s, with the charger's id. */
function expectEvEventsFollowed(r: ReturnType<typeof play>) {
  const truthEv = r.truth.events.filter((e) => e.class === 'ev');
  const detected = r.events.filter((e) => e.class === 'ev');
  expect(detected.map((e) => e.direction)).toEqual(truthEv.map((e) => e.direction));
  detected.forEach((e, i) => {
    expect(Math.abs(e.tMeter - truthEv[i]!.t)).toBeLessThan(1);
    expect(e.profile).toBe(truthEv[i]!.profile);
    expect(e.deltaP).toBeCloseTo(truthEv[i]!.deltaP, -2);
  });
}

describe('a smart EV following a setpoint signal', () => {
  // 7.4 kW charger: full rate, halved, 5.5 kW, a 20 W trim (no event), a pause, full rate again, 2.3 kW, unplug.
  const setpoints = {
    setpoints: [
      { t: 0, kW: 7.36 },
      { t: 900, kW: 3.68 },
      { t: 1500, kW: 5.5 },
      { t: 1800, kW: 5.48 },
      { t: 2100, kW: 0 },
      { t: 2700, kW: 7.36 },
      { t: 3300, kW: 2.3 },
    ],
  };
  const scenario = smartScenario({
    start: '2026-03-03T09:00:00Z',
    durationS: 4200,
    profile: 'ev-smart-7.4kw',
    plugIn: 300,
    unplug: 3900,
    smart: setpoints,
    kettle: { on: 1000, off: 1150 },
    heater: { on: 1550, off: 2050 },
  });
  const r = play(scenario);

  it('each setpoint step is a power change of the open session (class ev, its charger), not a new EV', () => {
    expect(r.truth.events.filter((e) => e.class === 'ev').map((e) => [e.t, e.direction, Math.round(e.deltaP)])).toEqual(
      [
        [300, 'on', 7360],
        [900, 'off', -3680],
        [1500, 'on', 1820],
        [2100, 'off', -5480],
        [2700, 'on', 7360],
        [3300, 'off', -5060],
        [3900, 'off', -2300],
      ],
    );
    expectEvEventsFollowed(r);
    // The kettle beside the charging EV is still a kettle, and a heater no signature knows is unknown: a resistive
    // step has neither the charger's harmonics nor its PF, so it is no power change of the EV (the heater's 139 Wh
    // would show in the billed energy).
    expect(r.events.filter((e) => e.class === 'kettle').map((e) => e.direction)).toEqual(['on', 'off']);
    expect(r.events.filter((e) => e.class === 'unknown').map((e) => [Math.round(e.tMeter), e.direction])).toEqual([
      [1550, 'on'],
      [2050, 'off'],
    ]);
    expect(r.events.filter((e) => !['ev', 'kettle', 'fridge', 'unknown'].includes(e.class))).toEqual([]);
  });

  it('one billing record for the plug-in, across the pause, to the token’s contract; energy and cost right', () => {
    const { billedWh, truth } = expectBilledOnce(r);
    expect(truth.importWh).toBeCloseTo(
      (7360 * 600 + 3680 * 600 + 5500 * 300 + 5480 * 300 + 7360 * 600 + 2300 * 600) / 3600,
      0,
    );
    expect(billedWh).toBeGreaterThan(0);
  });

  it('without pilot reports the steps are still power changes; a pause ends the session unless held long enough', () => {
    const tokensOnly = play(scenario, { pilot: false });
    expectEvEventsFollowed(tokensOnly);
    // evPauseHoldS 0 (default): the stop at 2100 s ends the session; the resume starts a second, unattributed.
    expect(tokensOnly.billing.map((b) => b.record.attributed)).toEqual([true, false]);
    const held = play(scenario, { pilot: false, config: { evPauseHoldS: 900 } });
    expectBilledOnce(held);
    const tooShort = play(scenario, { pilot: false, config: { evPauseHoldS: 300 } });
    expect(tooShort.billing).toHaveLength(2);
    expect(Number(tooShort.billing[0]!.record.end) - tooShort.truth.epochS).toBeCloseTo(2100, -1);
  });
});

describe('a smart EV following the TOU tariff', () => {
  // Monday 16:40 UTC, default tariff: peak 17–21 h. The EV charges from 16:50, pauses through the peak, resumes at
  // 21:00 and stops at its 4 kWh target at 21:55; it stays plugged in until 22:00 and is billed once, at the unplug.
  const scenario = smartScenario({
    start: '2026-03-02T16:40:00Z',
    durationS: 5.5 * 3600,
    profile: 'ev-1ph-3.7kw',
    plugIn: 600,
    unplug: 5 * 3600 + 1200,
    energyKWh: 4,
    smart: { tariff: { bands: ['peak'], kW: 0 } },
  });
  const r = play(scenario);

  it('pauses at 17:00, resumes at 21:00, stops at the target: one record, billed to the token', () => {
    expect(r.truth.events.filter((e) => e.class === 'ev').map((e) => [e.t, e.direction])).toEqual([
      [600, 'on'],
      [1200, 'off'],
      [1200 + 4 * 3600, 'on'],
      [expect.any(Number), 'off'],
    ]);
    expectEvEventsFollowed(r);
    const { rec, truth } = expectBilledOnce(r);
    expect(truth.importWh).toBeCloseTo(4000, 0);
    // Paused through the whole peak: no peak energy in the truth, none billed, so no peak price paid (under the
    // even spread of a version-1 record, 4 of the 5.25 h between start and end would have been priced at peak).
    const PEAK = 2;
    expect(truth.bandWh[PEAK]).toBe(0);
    expect(rec.bandMilliWh![PEAK]).toBe('0');
    const spreadCost = computeCostMicro(defaultTariff(), {
      start: BigInt(rec.start),
      end: BigInt(rec.end),
      importMilliWh: BigInt(rec.importMilliWh),
      exportMilliWh: 0n,
    });
    expect(BigInt(rec.costMicro)).toBeLessThan(spreadCost);
    expect(truth.end).toBeLessThan(truth.unplug - 240);
    expect(rec.attributed).toBe(true);
  });

  it('an EV plugged in during the peak draws first at 21:00, still billed to the token given at plug-in', () => {
    const waiting = play(
      smartScenario({
        start: '2026-03-02T16:40:00Z',
        durationS: 5.5 * 3600,
        profile: 'ev-1ph-3.7kw',
        plugIn: 3000,
        unplug: 5 * 3600 + 1200,
        energyKWh: 3,
        smart: { tariff: { bands: ['peak'], kW: 0 } },
      }),
    );
    expect(waiting.truth.sessions[0]!.start).toBe(1200 + 4 * 3600);
    expectBilledOnce(waiting);
  });
});
