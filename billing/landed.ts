import type { BillingRecord } from './billing-record.js';
import { type BillingRecordJson, billingRecordFromJson, billingRecordToJson } from './record-json.js';

export interface LogPosition {
  blockNumber: number;
  txHash: string;
  logIndex: number;
}

export interface LandedBatchRef {
  root: string;
  /** Position of the record in the batch (0-based). */
  index: number;
  firstSeq: bigint;
  count: number;
  /** The meter's signature over the BillingBatch. */
  signature: string;
  proof: string[];
}

/** One record as it stands on the chain. */
export interface LandedRecord extends LogPosition {
  record: BillingRecord;
  /** Single path: the record's own signature; batch path: see `batch`. */
  signature?: string;
  batch?: LandedBatchRef;
}

export interface LandedBatch extends LogPosition {
  meter: string;
  firstSeq: bigint;
  count: number;
  root: string;
  signature: string;
  /** Why the batch's records could not be rebuilt (calldata not a direct submitBatch call, root differs). */
  problem?: string;
}

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
