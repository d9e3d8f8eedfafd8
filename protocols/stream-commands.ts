import { z } from 'zod';

/**
 * Commands the meter's JSONL stream face accepts, one JSON object per line. Answers and outputs go back on the same
 * stream (`identity`, `event`, `billing`, `log`, …).
 * - authorize: a contract token at the charge point (RFID / ISO 15118 contract id).
 * - identify: asks for the meter's identity (model, firmware version and hash, signing address, host pseudonym).
 * - commission: what a utility sets before the meter bills: its clock, the ledger it signs for (EIP-712 domain)
 *   with the sequence that ledger has for it, and the tariff in force with its registry version.
 * - sync: the bench's (or ledger's) time now; the meter sets its clock to it and logs the offset it removed.
 */
export const streamCommandSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('authorize'), contractId: z.string().min(1) }),
  z.object({ type: z.literal('identify') }),
  z.object({ type: z.literal('sync'), clockUnix: z.number().nonnegative() }),
  z.object({
    type: z.literal('commission'),
    clockUnix: z.number().nonnegative(),
    chainId: z.string().regex(/^\d+$/),
    verifyingContract: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    tariffVersion: z.number().int().positive(),
    /** The ledger's last landed sequence of this meter: billing continues from it on this ledger. */
    lastSeq: z.string().regex(/^\d+$/).optional(),
    tariff: z.object({
      bandPrices: z.array(z.string().regex(/^\d+$/)),
      schedule: z.array(z.number().int()),
      evIncentive: z.string().regex(/^\d+$/),
      marketPrice: z.string().regex(/^\d+$/),
      utcOffsetSeconds: z.number().int(),
      validFrom: z.string().regex(/^\d+$/),
    }),
  }),
]);
export type StreamCommand = z.infer<typeof streamCommandSchema>;
export type CommissionCommand = Extract<StreamCommand, { type: 'commission' }>;

export interface MeterIdentityLine {
  model: string;
  firmwareVersion: string;
  firmwareHash: string;
  address: string;
  /** Pseudonym of the host account the meter is installed for (never the contract id itself). */
  host: string;
}
