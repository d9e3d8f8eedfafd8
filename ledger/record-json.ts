import { type BillingRecordJson, billingRecordFromJson, billingRecordToJson } from './billing-record.js';
import type { LandedRecord } from './logs.js';

export { type TariffJson, tariffFromJson, tariffToJson } from './tariff.js';

/**
 * JSON forms of ledger data as they are kept in the run record (bigints as decimal strings), so analysis can
 * rebuild the exact values the chain held and run the ledger's pure verifier on them.
 */
export interface LandedRecordJson {
  blockNumber: number;
  txHash: string;
  logIndex: number;
  record: BillingRecordJson;
  signature?: string;
  batch?: { root: string; index: number; firstSeq: string; count: number; signature: string; proof: string[] };
}

export function landedToJson(l: LandedRecord): LandedRecordJson {
  return {
    blockNumber: l.blockNumber,
    txHash: l.txHash,
    logIndex: l.logIndex,
    record: billingRecordToJson(l.record),
    signature: l.signature,
    batch: l.batch && { ...l.batch, firstSeq: l.batch.firstSeq.toString(), proof: [...l.batch.proof] },
  };
}

export function landedFromJson(j: LandedRecordJson): LandedRecord {
  return {
    blockNumber: j.blockNumber,
    txHash: j.txHash,
    logIndex: j.logIndex,
    record: billingRecordFromJson(j.record),
    signature: j.signature,
    batch: j.batch && { ...j.batch, firstSeq: BigInt(j.batch.firstSeq) },
  };
}
