import { createHash } from 'node:crypto';
import type { BillingRow, BillingSection } from '../analysis/billing.js';
import { ocmfReading, p256PublicKeyHex, signOcmf } from '../protocols/ocmf.js';
import type { ReportModel } from './model.js';

/**
 * OCMF export of billing records (the format in protocols/ocmf.ts), signed ECDSA-secp256r1-SHA256 with the meter's
 * P-256 key (separate from its Ethereum key), deterministically, so the export of a record is reproducible.
 */
export interface OcmfMeterIdentity {
  vendor: string;
  model: string;
  serial: string;
  firmware: string;
}

export function ocmfPayload(row: BillingRow, meter: OcmfMeterIdentity, pagination: number): Record<string, unknown> {
  const begin = row.registerBeginKWh ?? 0;
  const end = row.registerEndKWh ?? begin + row.importWh / 1000;
  return {
    FV: '1.0',
    GI: `${meter.vendor} ${meter.model}`,
    GS: meter.serial,
    GV: meter.firmware,
    PG: `T${pagination}`,
    MV: meter.vendor,
    MM: meter.model,
    MS: meter.serial,
    MF: meter.firmware,
    IS: row.payer !== undefined,
    IT: 'UNDEFINED',
    ID: row.payer,
    RD: [
      // TX per the OCMF spec (readings table): B begin, T tariff change, E end of the transaction.
      ocmfReading(row.start, 'B', begin),
      // A reading at each tariff change the session crosses, so the energy of each band can be read off the file.
      ...(row.tariffChanges ?? []).map((c) => ocmfReading(c.t, 'T', c.registerKWh)),
      ocmfReading(row.end, 'E', end),
    ],
  };
}

/**
 * The P-256 key the export is signed with: derived from the run's seed, so the same record always exports the
 * same signed file (the simulated meter's OCMF key; a real meter's OCMF data comes signed from the meter).
 * The public key is written on the first line as a comment for transparency software.
 */
export function ocmfKeyFor(model: ReportModel): string {
  const seed = model.header?.seeds.run ?? 0;
  return createHash('sha256').update(`bench-ocmf-key:${seed}`).digest('hex');
}

/** One OCMF line per billing record on the ledger (not duplicates or forgeries), in run order. */
export function renderOcmf(model: ReportModel, meter: OcmfMeterIdentity, privateKeyHex: string): string {
  const lines: string[] = [];
  let page = 1;
  for (const c of model.cases) {
    const section = c.analysis?.sections.billing as BillingSection | undefined;
    for (const row of section?.rows ?? []) {
      if (row.problems.some((p) => p.startsWith('duplicate') || p.startsWith('forged'))) continue;
      lines.push(signOcmf(ocmfPayload(row, meter, page++), privateKeyHex));
    }
  }
  return `# OCMF export of run ${model.runId}; ECDSA-secp256r1 public key ${p256PublicKeyHex(privateKeyHex)}\n${lines.map((l) => `${l}\n`).join('')}`;
}
