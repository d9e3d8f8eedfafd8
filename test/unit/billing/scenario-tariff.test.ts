import { describe, expect, it } from 'vitest';
import { ledgerTariffOf } from '../../../billing/scenario-tariff.js';
import { computeCostMicro } from '../../../billing/tariff.js';
import { scenarioTariffSchema } from '../../../profiles/scenario-schema.js';

const tariff = scenarioTariffSchema.parse({
  bands: [
    {
      name: 'off-peak',
      price: 0.1,
      weekdays: [...Array(17).keys()].concat([21, 22, 23]),
      weekends: [...Array(24).keys()],
    },
    { name: 'peak', price: 0.4, weekdays: [17, 18, 19, 20] },
  ],
  evIncentive: 0.02,
  marketPrice: 0.08,
});

describe('scenario tariffs on the ledger', () => {
  it('maps bands to the 168-slot schedule in micro-units', () => {
    const t = ledgerTariffOf(tariff);
    expect(t.bandPrices).toEqual([100_000n, 400_000n]);
    expect(t.schedule).toHaveLength(168);
    expect(t.schedule[17]).toBe(1); // Monday 17:00
    expect(t.schedule[5 * 24 + 17]).toBe(0); // Saturday 17:00
    expect(t.evIncentive).toBe(20_000n);
  });

  it('prices a session crossing into the peak band by band', () => {
    const t = ledgerTariffOf(tariff);
    // Monday 2026-03-02 16:30–17:30 UTC, 2 kWh spread evenly: 1 kWh at 0.08, 1 kWh at 0.38.
    const start = BigInt(Date.parse('2026-03-02T16:30:00Z') / 1000);
    const cost = computeCostMicro(t, { start, end: start + 3600n, importMilliWh: 2_000_000n, exportMilliWh: 0n });
    expect(cost).toBe(460_000n);
  });

  it('rejects bands that leave an hour uncovered', () => {
    const r = scenarioTariffSchema.safeParse({
      bands: [{ name: 'x', price: 0.1, weekdays: [0, 1], weekends: [...Array(24).keys()] }],
    });
    expect(r.success).toBe(false);
  });
});
