import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeCostMicro, defaultTariff, tariffFromJson, tariffToJson } from '../../../billing/tariff.js';
import {
  ledgerTariffOf,
  loadTariffFile,
  scenarioTariffSchema,
  tariffVersionToJson,
  weekRows,
} from '../../../billing/tariff-file.js';

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

describe('the JSON form of a tariff', () => {
  it('is decimal strings for bigints and the 168-slot schedule, and reads back to the same tariff', () => {
    const t = defaultTariff();
    const j = tariffToJson(t);
    expect(j).toEqual({
      bandPrices: ['150000', '250000', '400000'],
      schedule: t.schedule,
      evIncentive: '20000',
      marketPrice: '120000',
      utcOffsetSeconds: 0,
      validFrom: '0',
    });
    expect(j.schedule).toHaveLength(168);
    expect(tariffFromJson(JSON.parse(JSON.stringify(j)))).toEqual(t);
  });

  it('is what `ledger tariff show` prints, with the version first and the schedule in 7 day rows', () => {
    const t = { ...defaultTariff(), utcOffsetSeconds: 3600, validFrom: 1_767_225_600n };
    const shown = tariffVersionToJson(3, t);
    expect(Object.keys(shown)).toEqual([
      'version',
      'bandPrices',
      'schedule',
      'evIncentive',
      'marketPrice',
      'utcOffsetSeconds',
      'validFrom',
    ]);
    expect(shown.version).toBe(3);
    expect(shown.validFrom).toBe('1767225600');
    expect(shown.schedule).toHaveLength(7);
    expect(shown.schedule[0]).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 0]);
    expect(shown.schedule[6]).toEqual(Array(24).fill(0));
  });

  it('minus its version is a tariff file `ledger tariff set` reads back to the same tariff', () => {
    const t = { ...defaultTariff(), utcOffsetSeconds: -7200, validFrom: 42n };
    const { version: _v, ...file } = tariffVersionToJson(1, t);
    const path = join(mkdtempSync(join(tmpdir(), 'tariff-file-')), 'round-trip.yaml');
    writeFileSync(path, JSON.stringify(file));
    expect(loadTariffFile(path)).toEqual(t);
  });

  it('weekRows cuts 168 hours into 7 days of 24, Monday first', () => {
    const rows = weekRows([...Array(168).keys()]);
    expect(rows.map((r) => r.length)).toEqual([24, 24, 24, 24, 24, 24, 24]);
    expect(rows[1]![0]).toBe(24);
    expect(rows[6]![23]).toBe(167);
  });
});
