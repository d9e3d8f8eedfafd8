import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../core/errors.js';
import { seededRandom } from '../../../core/random.js';
import {
  drawSessionKWh,
  type GenerateOptions,
  generateScenario,
  SESSION_ENERGY,
  scenarioToYaml,
} from '../../../profiles/generate.js';
import { groundTruth, truthCounts } from '../../../profiles/ground-truth.js';

/** sha256 of the YAML generated for BASE before the default-off options existed. */
const GOLDEN_BASE_SHA = '484a08d5becc03f74b67dcbaedc05ca06bafb2ca319045d81e70feb1d5fd7d68';
const BASE: GenerateOptions = { houses: 3, evVisits: 2, days: 2, seed: 7 };
const sha = (o: GenerateOptions) =>
  createHash('sha256')
    .update(scenarioToYaml(generateScenario(o)))
    .digest('hex');

describe('scenario generator options', () => {
  it('options left off give the scenario the generator always gave', () => {
    const off = { ...BASE, sessionEnergy: false, unauthorised: 0, pv: 0, heatPumps: 0, v2g: 0, smart: 0 };
    expect(sha(off)).toBe(sha(BASE));
    expect(sha(BASE)).toBe(GOLDEN_BASE_SHA);
  });

  it('session energies: log-normal with the declared median and spread, seeded', () => {
    const rnd = seededRandom(42);
    const draws = Array.from({ length: 4000 }, () => drawSessionKWh(rnd)).sort((a, b) => a - b);
    expect(Math.abs(draws[2000]! / SESSION_ENERGY.medianKWh - 1)).toBeLessThan(0.05);
    const logs = draws.map((x) => Math.log(x));
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / logs.length);
    expect(Math.abs(sd - SESSION_ENERGY.sigma)).toBeLessThan(0.05);
    expect(draws[0]).toBeGreaterThanOrEqual(SESSION_ENERGY.minKWh);
    expect(draws.at(-1)).toBeLessThanOrEqual(SESSION_ENERGY.maxKWh);
  });

  it('with session energies each session ends when its energy is delivered; plug-in times are unchanged', () => {
    const o = { ...BASE, sessionEnergy: true };
    expect(sha(o)).toBe(sha(o));
    const plain = generateScenario(BASE);
    const s = generateScenario(o);
    expect(s.evs.map((e) => e.sessions.map(({ plugIn, unplug }) => ({ plugIn, unplug })))).toEqual(
      plain.evs.map((e) => e.sessions.map(({ plugIn, unplug }) => ({ plugIn, unplug }))),
    );
    const truth = groundTruth(s, o.seed);
    const wanted = s.evs.flatMap((e) => e.sessions.map((x, i) => ({ id: `${e.id}-s${i}`, kWh: x.energyKWh! })));
    expect(wanted.every((w) => w.kWh > 0)).toBe(true);
    let delivered = 0;
    for (const w of wanted) {
      const t = truth.sessions.find((x) => x.sessionId === w.id)!;
      if (t.end < t.unplug) {
        // It stopped before leaving: it has its energy.
        expect(Math.abs(t.importWh / (w.kWh * 1000) - 1)).toBeLessThan(0.001);
        delivered++;
      } else {
        // Unplugged first: it took less.
        expect(t.importWh).toBeLessThan(w.kWh * 1000);
      }
    }
    expect(delivered).toBeGreaterThan(wanted.length / 2);
  });

  it('--unauthorised K: K visits present no token and are billed to their host', () => {
    const s = generateScenario({ ...BASE, evVisits: 3, unauthorised: 2 });
    const visits = groundTruth(s, 7).sessions.filter((x) => x.roaming);
    expect(visits).toHaveLength(3);
    const unauth = visits.filter((v) => !v.authorised);
    expect(unauth).toHaveLength(2);
    for (const v of unauth) expect(v.payerContractId).toBe(v.hostContractId);
    expect(() => generateScenario({ ...BASE, unauthorised: 3 })).toThrow(InputError);
  });

  it('PV, heat pumps, V2G and tariff-following smart EVs where asked', () => {
    const s = generateScenario({ ...BASE, pv: 1, heatPumps: 2, v2g: 1, smart: 1 });
    expect(s.houses[0]!.loads.filter((l) => l.profile === 'pv-inverter-3kw')).toHaveLength(BASE.days);
    expect(s.houses.filter((h) => h.randomLoads.some((r) => r.profile === 'heat-pump'))).toHaveLength(2);
    expect(s.evs.at(-1)!.profile).toBe('ev-v2g-7.4kw');
    expect(s.evs[0]!.smart).toEqual({ tariff: { bands: ['peak'], kW: 0 } });
    const truth = groundTruth(s, 7);
    expect(truth.sessions.filter((x) => x.evId === s.evs.at(-1)!.id).every((x) => x.exportWh > 0)).toBe(true);
    // The default tariff's peak is 17–21 h on weekdays (2026-03-02 is a Monday): the smart EV never draws then.
    for (const r of truth.runs.filter((x) => x.ev?.evId === s.evs[0]!.id)) {
      for (let day = 0; day < BASE.days; day++) {
        const [a, b] = [day * 86400 + 17 * 3600, day * 86400 + 21 * 3600];
        expect(r.end <= a || r.start >= b, `${r.start}–${r.end}`).toBe(true);
      }
    }
    expect(truth.energies.some((e) => e.class === 'pv' && e.energyWh < 0)).toBe(true);
  });

  it("truthCounts (what scenario generate prints, one run at a time) equals the full ground truth's counts", () => {
    for (const o of [BASE, { houses: 4, evVisits: 3, days: 2, seed: 5, pv: 1, heatPumps: 2, v2g: 1, smart: 1 }]) {
      const s = generateScenario(o);
      const truth = groundTruth(s, o.seed);
      expect(truthCounts(s, o.seed)).toEqual({ events: truth.events.length, sessions: truth.sessions.length });
    }
  });
});
