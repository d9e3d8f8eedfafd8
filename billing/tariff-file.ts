/**
 * The file forms of a tariff, each converted to the one Tariff (billing/tariff.ts): the tariff YAML file of
 * `bench ledger tariff set` (micro-units, 7 day rows of 24 bands, loaded through core/files/load-yaml.ts) and a
 * scenario's tariff (currency units per kWh, bands of hours); and the form `bench ledger tariff show` prints.
 */
import { z } from 'zod';
import { loadYamlFile } from '../core/files/load-yaml.js';
import { type Tariff, type TariffJson, tariffToJson } from './tariff.js';

const micro = z.union([z.number().int(), z.string().regex(/^-?\d+$/)]).transform((v) => BigInt(v));
const band = z.number().int().min(0).max(15);

/**
 * ```yaml
 * bandPrices: [150000, 250000, 400000]   # micro-units per kWh, one per band
 * schedule:                              # 7 rows (Monday first) of 24 band indexes (local hours 0..23)
 *   - [0,0,0,0,0,0,0,1,1,1,1,1,1,1,1,1,1,2,2,2,2,1,1,0]
 *   ...
 * evIncentive: 20000                     # discount per kWh of EV charging
 * marketPrice: 120000                    # credit per exported kWh (V2G)
 * utcOffsetSeconds: 3600
 * validFrom: 1767225600                  # unix seconds
 * ```
 */
export const tariffFileSchema = z
  .object({
    bandPrices: z.array(micro).min(1).max(16),
    schedule: z.array(z.array(band).length(24)).length(7),
    evIncentive: micro.default(0n),
    marketPrice: micro.default(0n),
    utcOffsetSeconds: z
      .number()
      .int()
      .min(-14 * 3600)
      .max(14 * 3600)
      .default(0),
    validFrom: micro.default(0n),
  })
  .strict();

export function loadTariffFile(file: string): Tariff {
  const t = loadYamlFile(file, tariffFileSchema);
  return {
    bandPrices: t.bandPrices,
    schedule: t.schedule.flat(),
    evIncentive: t.evIncentive,
    marketPrice: t.marketPrice,
    utcOffsetSeconds: t.utcOffsetSeconds,
    validFrom: t.validFrom,
  };
}

/**
 * A tariff version as `bench ledger tariff show` prints it: the JSON form (billing/tariff.ts TariffJson) with its
 * version, the schedule in 7 day rows of 24 as a tariff file writes it.
 */
export type TariffVersionJson = Omit<TariffJson, 'schedule'> & { version: number; schedule: number[][] };

export function tariffVersionToJson(version: number, t: Tariff): TariffVersionJson {
  return { version, ...tariffToJson(t), schedule: weekRows(t.schedule) };
}

/** A week's 168 hourly entries as 7 day rows of 24, Monday first. */
export function weekRows<T>(hours: readonly T[]): T[][] {
  return Array.from({ length: 7 }, (_, d) => hours.slice(d * 24, d * 24 + 24));
}

// --- a scenario's tariff --------------------------------------------------------------------------------------

/** The currency of a tariff that names none, and of the ledger's default tariff (defaultTariff). */
export const DEFAULT_CURRENCY = 'EUR';

/**
 * The TOU tariff in force during the scenario (prices per kWh in the currency's units): bands of hours on weekdays
 * and weekends, an EV-charging incentive subtracted from the band price, and the local-market price paid for
 * exported energy. Hours are local time at `utcOffsetHours`.
 */
export const scenarioTariffSchema = z
  .object({
    bands: z
      .array(
        z
          .object({
            name: z.string(),
            price: z.number().min(0).max(100),
            weekdays: z.array(z.number().int().min(0).max(23)).default([]),
            weekends: z.array(z.number().int().min(0).max(23)).default([]),
          })
          .strict(),
      )
      .min(1)
      .max(16),
    evIncentive: z.number().min(0).max(100).default(0),
    marketPrice: z.number().min(0).max(100).default(0),
    utcOffsetHours: z.number().min(-14).max(14).default(0),
    /** ISO 4217 code of the prices' currency (the ledger stores only micro-units; reports print this code). */
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR')
      .default(DEFAULT_CURRENCY),
  })
  .strict()
  .superRefine((t, ctx) => {
    for (const key of ['weekdays', 'weekends'] as const) {
      const hours = t.bands.flatMap((b) => b[key]);
      if (hours.length !== 24 || new Set(hours).size !== 24) {
        ctx.addIssue({
          code: 'custom',
          path: ['bands'],
          message: `every ${key.slice(0, -1)} hour 0..23 must be in exactly one band`,
        });
      }
    }
  });

export type ScenarioTariff = z.output<typeof scenarioTariffSchema>;

/** Band names of the ledger's default tariff (defaultTariff), in band-index order. */
export const DEFAULT_TARIFF_BANDS = ['off-peak', 'day', 'peak'] as const;

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
