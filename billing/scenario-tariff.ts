import type { ScenarioTariff } from '../profiles/scenario-schema.js';
import type { Tariff } from './tariff.js';

const MICRO = 1_000_000;

/** A scenario's tariff (currency per kWh, bands of hours) as the TariffRegistry stores it (micro-units, 168 slots). */
export function ledgerTariffOf(t: ScenarioTariff): Tariff {
  const schedule: number[] = [];
  for (let day = 0; day < 7; day++) {
    for (let hour = 0; hour < 24; hour++) {
      const key = day >= 5 ? 'weekends' : 'weekdays';
      schedule.push(t.bands.findIndex((b) => b[key].includes(hour)));
    }
  }
  return {
    bandPrices: t.bands.map((b) => BigInt(Math.round(b.price * MICRO))),
    schedule,
    evIncentive: BigInt(Math.round(t.evIncentive * MICRO)),
    marketPrice: BigInt(Math.round(t.marketPrice * MICRO)),
    utcOffsetSeconds: Math.round(t.utcOffsetHours * 3600),
    validFrom: 0n,
  };
}
