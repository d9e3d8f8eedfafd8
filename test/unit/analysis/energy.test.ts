import { describe, expect, it } from 'vitest';
import { meterAssignedEnergy } from '../../../analysis/analysers/energy.js';
import { energyAssignedAccuracy, fractionEnergyAssigned } from '../../../analysis/energy.js';
import type { MeterEventData } from '../../../core/record/entries.js';

const ev = (t: number, direction: 'on' | 'off', cls: string, deltaP: number, energyWh?: number): MeterEventData => ({
  caseId: 'c',
  meterId: 'm',
  tObserved: t,
  direction,
  class: cls,
  deltaP,
  deltaQ: 0,
  ...(energyWh !== undefined ? { energyWh } : {}),
});

describe('energy assigned per class', () => {
  it('accuracy drops with an over-assigned class that the shares barely show (Kolter & Johnson)', () => {
    // ev-at-home before the fix: the EV +15.6 %, the small loads right.
    const truth = { ev: 7960, fridge: 80, tv: 105, kettle: 110 };
    const estimate = { ev: 9200, fridge: 79.2, tv: 105, kettle: 110 };
    expect(fractionEnergyAssigned(truth, estimate)).toBeGreaterThan(0.99);
    expect(energyAssignedAccuracy(truth, estimate)).toBeCloseTo(1 - (1240 + 0.8) / (2 * 8255), 6);
    expect(energyAssignedAccuracy(truth, truth)).toBe(1);
    // Energy assigned to "unknown" is misassigned; a class never assigned counts whole.
    expect(energyAssignedAccuracy({ a: 100 }, { unknown: 100 })).toBe(0);
    expect(energyAssignedAccuracy({}, {})).toBeNaN();
  });

  it("takes the meter's own energy per event when it reports it, else holds each on-step's ΔP until the off", () => {
    const taper = [ev(0, 'on', 'ev', 7000), ev(3600, 'off', 'ev', -2000, 5000)];
    expect(meterAssignedEnergy(taper)).toEqual({ ev: 5000 });
    // Without energyWh: 7000 W held for an hour.
    expect(meterAssignedEnergy(taper.map(({ energyWh: _, ...e }) => e))).toEqual({ ev: 7000 });
    // A setpoint change reported as an event of the same load carries the energy up to it.
    const changes = [
      ev(0, 'on', 'ev', 7000),
      ev(1800, 'off', 'ev', -3500, 3500),
      ev(3600, 'off', 'ev', -3500, 1750),
      ev(100, 'on', 'kettle', 2000),
      ev(280, 'off', 'kettle', -2000, 100),
    ];
    expect(meterAssignedEnergy(changes)).toEqual({ ev: 5250, kettle: 100 });
  });
});
