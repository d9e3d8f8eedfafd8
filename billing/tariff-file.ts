/** Tariff YAML files for `bench ledger tariff set`, loaded through core/files/load-yaml.ts. */
import { z } from 'zod';
import { loadYamlFile } from '../core/files/load-yaml.js';
import type { Tariff } from './tariff.js';

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
