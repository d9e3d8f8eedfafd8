import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeCostMicro, defaultTariff, milliWhPerBand } from '../../../billing/tariff.js';
import { ledgerTariffOf } from '../../../billing/tariff-file.js';
import { FileValidationError } from '../../../core/errors.js';
import { ENTRY } from '../../../core/record/entries.js';
import { CycleAnalyzer, CycleFeatures } from '../../../dsp/cycle.js';
import { loadCaseScenario, truthEntries } from '../../../engine/rig-provider.js';
import { resolveSuite } from '../../../engine/suite.js';
import { nearestSignature, signaturesFromProfiles } from '../../../meter/signatures.js';
import { groundTruth } from '../../../profiles/ground-truth.js';
import { listBuiltinProfiles, loadProfileFile } from '../../../profiles/library.js';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import { type Scenario, scenarioSchema } from '../../../profiles/scenario-schema.js';
import { type Profile, stateQ } from '../../../profiles/schema.js';
import { synthesizeMeterSync } from '../../../profiles/synth.js';

const REPO = join(import.meta.dirname, '../../..');

/** A scenario with one load of `profile` (noise off, no base load) running for `seconds`. */
function alone(profile: Profile, seconds = 3): Scenario {
  return scenarioSchema.parse({
    name: `alone-${profile.name}`,
    start: '2026-03-02T12:00:00Z',
    durationS: seconds,
    profiles: [{ ...profile, name: 'under-test', noise: 0 }],
    houses: [{ id: 'h', contract: 'C', baseLoadW: 0, loads: [{ id: 'l', profile: 'under-test', on: 0 }] }],
  });
}

function lastCycleFeatures(s: Scenario): CycleFeatures {
  const analyzer = new CycleAnalyzer(128);
  const f = new CycleFeatures();
  let last: { v: Float64Array; i: Float64Array; c: number } | undefined;
  for (const b of synthesizeMeterSync(s, 'h', { seed: 1 }))
    last = { v: Float64Array.from(b.voltage), i: Float64Array.from(b.current), c: b.cycles };
  return analyzer.analyze(last!.v, last!.i, (last!.c - 1) * 128, f);
}

describe('profile library', () => {
  const profiles = listBuiltinProfiles();

  it('has at least 14 profiles, every one with a source, including the EV chargers of the issue', () => {
    expect(profiles.length).toBeGreaterThanOrEqual(14);
    for (const p of profiles) expect(p.source.length).toBeGreaterThan(20);
    const names = profiles.map((p) => p.name);
    for (const n of [
      'ev-l1-1.44kw',
      'ev-1ph-3.7kw',
      'ev-1ph-7.4kw',
      'ev-3ph-11kw',
      'ev-smart-7.4kw',
      'ev-v2g-7.4kw',
      'pv-inverter-3kw',
      'fridge',
      'kettle',
    ]) {
      expect(names).toContain(n);
    }
  });

  it.each(listBuiltinProfiles().filter((p) => p.states[0]!.kind === 'steady' || p.states[0]!.kind === 'cycling'))(
    'FFT of synthesized $name returns its declared P, Q and harmonic ratios within 0.5 %',
    (profile) => {
      const s = profile.states[0]!;
      const f = lastCycleFeatures(alone(profile));
      const scale = Math.abs(s.p) + Math.abs(stateQ(s));
      expect(Math.abs(f.p - s.p) / scale).toBeLessThan(0.005);
      expect(Math.abs(f.q - stateQ(s)) / scale).toBeLessThan(0.005);
      for (const h of s.harmonics)
        expect(Math.abs(f.ratio(h.order) - h.ratio)).toBeLessThan(0.005 * Math.max(h.ratio, 0.1));
    },
  );

  it('led-tv draws below the 75 W IEC 61000-3-2 threshold its no-PFC rationale relies on', () => {
    const tv = profiles.find((p) => p.name === 'led-tv')!;
    expect(tv.source).toMatch(/below 75 W/);
    for (const s of tv.states) expect(s.p).toBeLessThan(75);
  });

  it('ev-l1-1.44kw draws the currents its rationale states: ≈ 6.5 A at 230 V, ≈ 12.4 A at 120 V / 60 Hz', () => {
    const l1 = profiles.find((p) => p.name === 'ev-l1-1.44kw')!;
    for (const [nominal, frequency, amps] of [
      [230, 50, 6.5],
      [120, 60, 12.4],
    ] as const) {
      const s = scenarioSchema.parse({
        ...alone(l1),
        frequency,
        voltage: { nominal, h3: 0.01, h5: 0.006 },
      });
      const f = new CycleAnalyzer(128);
      let last: CycleFeatures | undefined;
      for (const b of synthesizeMeterSync(s, 'h', { seed: 1 }))
        last = f.analyze(b.voltage, b.current, (b.cycles - 1) * 128, new CycleFeatures());
      expect(last!.p).toBeCloseTo(1440, -1);
      expect(Math.abs(last!.irms - amps) / amps).toBeLessThan(0.01);
    }
  });

  it('tells every EV charger apart by its signature', () => {
    const evs = signaturesFromProfiles().filter((s) => s.class === 'ev');
    expect(evs.length).toBeGreaterThanOrEqual(5);
    for (const s of evs) {
      const found = nearestSignature({ dp: s.p, dq: s.q, r3: s.r3, r5: s.r5, r7: s.r7 }, evs);
      expect(found.sig?.id).toBe(s.id);
    }
  });

  it('reports malformed profiles with file, line and field', () => {
    const file = join(REPO, 'test/fixtures/profiles/bad-profile.yaml');
    let err: FileValidationError | undefined;
    try {
      loadProfileFile(file);
    } catch (e) {
      err = e as FileValidationError;
    }
    expect(err).toBeInstanceOf(FileValidationError);
    const fields = Object.fromEntries(err!.problems.map((p) => [p.field, p]));
    expect(fields['states[0].pf']).toMatchObject({ line: 8 });
    expect(fields['states[0].harmonics[0].order']).toMatchObject({ line: 10 });
    expect(fields['states[1].p']).toMatchObject({ line: 11, message: expect.stringMatching(/number/i) });
  });
});

describe('synthesis and ground truth', () => {
  const smoke = loadScenarioFile(join(REPO, 'suites/scenarios/smoke.yaml'));
  const digest = (seed: number) => {
    const h = createHash('sha256');
    for (const b of synthesizeMeterSync(smoke, 'house-1', { seed, to: 200 }))
      h.update(new Uint8Array(b.current.buffer, b.current.byteOffset, b.current.byteLength));
    return h.digest('hex');
  };

  it('is byte-identical for the same seed and differs for another', () => {
    expect(digest(5)).toBe(digest(5));
    expect(digest(5)).not.toBe(digest(6));
  });

  it('ground-truth energies equal the integral of the synthesized power within 0.1 %', () => {
    const truth = groundTruth(smoke, 1);
    let wh = 0;
    for (const b of synthesizeMeterSync(smoke, 'house-1', { seed: 1 })) {
      const n = b.samplesPerCycle;
      for (let k = 0; k < b.cycles * n; k++) wh += (b.voltage[k]! * b.current[k]!) / n / b.frequency / 3600;
    }
    const truthWh = truth.energies.filter((e) => e.meterId === 'house-1').reduce((s, e) => s + e.energyWh, 0);
    expect(Math.abs(wh - truthWh) / truthWh).toBeLessThan(0.001);
  });

  it('expects the neighbour-charging session to be billed to the EV owner, hosted by the neighbour', () => {
    const s = loadScenarioFile(join(REPO, 'suites/scenarios/ev-at-neighbour.yaml'));
    const [session] = groundTruth(s, 1).sessions;
    expect(session).toMatchObject({
      meterId: 'house-bob',
      payerContractId: 'C-ALICE',
      hostContractId: 'C-BOB',
      roaming: true,
      authorised: true,
    });
  });

  it('every ev-billing session expects the cost the run record carries for it (one tariff formula)', () => {
    const suite = resolveSuite('ev-billing');
    let sessions = 0;
    for (const c of suite.suite.cases) {
      const scenario = loadCaseScenario(c, suite.file);
      const tariff = scenario.tariff ? ledgerTariffOf(scenario.tariff) : defaultTariff();
      const truth = groundTruth(scenario, 11);
      const recorded = truthEntries(c, scenario, 11, 'salt').truth.filter((e) => e.kind === ENTRY.truthSession);
      expect(recorded.map((e) => e.data.cost)).toEqual(truth.sessions.map((s) => s.cost));
      // ...and that cost is the ledger's formula on the record's own fields, as the verifier recomputes it.
      for (const e of recorded) {
        const d = e.data as {
          startUnix: number;
          endUnix: number;
          importWh: number;
          exportWh: number;
          bandWh: number[];
          cost: number;
        };
        // The truth's import energy in each tariff band adds up to its import energy; the cost prices each band.
        expect(d.bandWh.reduce((a, b) => a + b, 0)).toBeCloseTo(d.importWh, 6);
        const bandMilliWh = milliWhPerBand(d.bandWh);
        const micro = computeCostMicro(tariff, {
          start: BigInt(Math.round(d.startUnix)),
          end: BigInt(Math.round(d.endUnix)),
          importMilliWh: bandMilliWh.reduce((a, b) => a + b, 0n),
          exportMilliWh: BigInt(Math.round(d.exportWh * 1000)),
          version: 2,
          bandMilliWh,
        });
        expect(d.cost).toBe(Number(micro) / 1e6);
      }
      sessions += truth.sessions.length;
      // V2G export is credited at the market price: its expected cost is negative.
      for (const s of truth.sessions) if (s.exportWh > 0 && s.importWh === 0) expect(s.cost).toBeLessThan(0);
    }
    expect(sessions).toBeGreaterThanOrEqual(suite.suite.cases.length);
  });

  it('a visitor from outside the scenario (no home) is roaming on the one meter it charges at', () => {
    const s = loadScenarioFile(join(REPO, 'suites/scenarios/ev-visiting.yaml'));
    expect(s.houses).toHaveLength(1);
    const [session] = groundTruth(s, 1).sessions;
    expect(session).toMatchObject({
      meterId: 'house-1',
      payerContractId: 'C-CAROL',
      hostContractId: 'C-HOUSE-1',
      roaming: true,
    });
  });

  it('a home that names no house of the scenario is still an error', () => {
    const bad = { ...loadScenarioFile(join(REPO, 'suites/scenarios/ev-visiting.yaml')) };
    bad.evs = bad.evs.map((ev) => ({ ...ev, home: 'house-typo' }));
    const r = scenarioSchema.safeParse(bad);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/no house house-typo/);
  });
});
