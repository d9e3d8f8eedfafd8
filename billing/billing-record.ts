import {
  concat,
  getAddress,
  keccak256,
  type TypedDataDomain,
  TypedDataEncoder,
  type TypedDataField,
  toUtf8Bytes,
  verifyTypedData,
} from 'ethers';
import { merkleRoot } from './merkle.js';

/**
 * The billing record: the one type the meter signs and the ledger verifies. Both sides import it from here.
 * Integer units keep it exact on chain: energy in milli-watt-hours, money in micro-units of the tariff currency,
 * times in unix seconds. Payer and host are pseudonyms (salted keccak256), never names or contract ids.
 */
export interface BillingRecord {
  /** Meter signing address (EIP-55 checksummed 0x…). */
  meter: string;
  /** Per-meter sequence number, starting at 1, contiguous. */
  seq: bigint;
  /** bytes32 pseudonym of the paying contract (the EV owner, or the host when unattributed). */
  payer: string;
  /** bytes32 pseudonym of the host account (the household whose meter the EV charged at). */
  host: string;
  /** Session start and end, unix seconds from the meter's clock. */
  start: bigint;
  end: bigint;
  /** Energy imported for the session (milli-Wh). */
  importMilliWh: bigint;
  /** Energy exported for the session (V2G/V2H, milli-Wh). */
  exportMilliWh: bigint;
  /** Cost in micro-units; negative when export credit exceeds import cost. */
  costMicro: bigint;
  /** Tariff registry version the cost was computed with. */
  tariffVersion: bigint;
  /** bytes32 keccak256 of the identified load class, e.g. keccak256("ev-1ph-7.4kw"). */
  loadClass: string;
  /** 1 when the payer came from an authorisation token, 0 when unattributed and billed to the host. */
  attributed: boolean;
  /**
   * Which form the record has: 1 = import energy only (the cost spreads it evenly over [start, end)); 2 = import
   * energy per tariff band in `bandMilliWh`, the cost priced from that (billing/tariff.ts computeCostMicro).
   */
  version: number;
  /** Version 2: import energy drawn in each band of tariff `tariffVersion` (index = band), adding up to
   * importMilliWh; version 1: empty. */
  bandMilliWh: bigint[];
  /**
   * Version 3 only (a charging station's transaction, billed by the bench as its central system once the station's
   * signed meter values verified): SHA-256 of the station key's SPKI DER (protocols/ocmf.ts keyFingerprint) and the
   * transaction's OCMF digest (protocols/ocmf.ts ocmfTransactionDigest), each as bytes32. Whoever holds the run's
   * OCMF records can check that the billed energy is the one the station signed.
   */
  stationKey?: string;
  ocmfHash?: string;
}

/** The record form the meter signs now: per-band import energy. */
export const RECORD_VERSION_BANDS = 2;
/** The record form for a charging station's transaction: version 2 plus the station key and OCMF digest it bills. */
export const RECORD_VERSION_STATION = 3;
/** At most this many band energies in a record (the TariffRegistry's band limit). */
export const MAX_RECORD_BANDS = 16;

export interface SignedBillingRecord {
  record: BillingRecord;
  /** 65-byte EIP-712 signature (0x…) by the meter's key over `record`. */
  signature: string;
}

/**
 * EIP-712 struct of a version-1 billing record; the Solidity BillingLedger hashes the same fields in the same
 * order. Records signed before per-band energy keep verifying under it.
 */
export const BILLING_RECORD_EIP712_TYPES = {
  BillingRecord: [
    { name: 'meter', type: 'address' },
    { name: 'seq', type: 'uint64' },
    { name: 'payer', type: 'bytes32' },
    { name: 'host', type: 'bytes32' },
    { name: 'start', type: 'uint64' },
    { name: 'end', type: 'uint64' },
    { name: 'importMilliWh', type: 'uint64' },
    { name: 'exportMilliWh', type: 'uint64' },
    { name: 'costMicro', type: 'int128' },
    { name: 'tariffVersion', type: 'uint32' },
    { name: 'loadClass', type: 'bytes32' },
    { name: 'attributed', type: 'bool' },
  ],
} as const;

/**
 * EIP-712 struct of a version-2 record: the version-1 fields, then the version and the import energy per tariff
 * band (an EIP-712 array: keccak256 of the 32-byte encoded elements). The version is signed, so a record cannot be
 * passed off as the other form.
 */
export const BILLING_RECORD_V2_EIP712_TYPES = {
  BillingRecord: [
    ...BILLING_RECORD_EIP712_TYPES.BillingRecord,
    { name: 'version', type: 'uint8' },
    { name: 'bandMilliWh', type: 'uint64[]' },
  ],
} as const;

/** EIP-712 struct of a version-3 record: the version-2 fields, then the station key fingerprint and OCMF digest. */
export const BILLING_RECORD_V3_EIP712_TYPES = {
  BillingRecord: [
    ...BILLING_RECORD_V2_EIP712_TYPES.BillingRecord,
    { name: 'stationKey', type: 'bytes32' },
    { name: 'ocmfHash', type: 'bytes32' },
  ],
} as const;

/** Whether a record form carries band energies (versions 2 and 3). */
export function hasBands(version: number): boolean {
  return version === RECORD_VERSION_BANDS || version === RECORD_VERSION_STATION;
}

export interface BillingDomain {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: string;
}

export function billingDomain(chainId: bigint, verifyingContract: string): BillingDomain {
  return { name: 'BenchBillingLedger', version: '1', chainId, verifyingContract };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers shared by the meter (signing) and the ledger (submission, verification). Only ethers is imported here.
// ---------------------------------------------------------------------------------------------------------------

/** EIP-712 struct a meter signs for the Merkle-batched path: the root over its records' struct hashes. */
export const BILLING_BATCH_EIP712_TYPES = {
  BillingBatch: [
    { name: 'meter', type: 'address' },
    { name: 'firstSeq', type: 'uint64' },
    { name: 'count', type: 'uint32' },
    { name: 'root', type: 'bytes32' },
  ],
} as const;

export interface BillingBatch {
  meter: string;
  firstSeq: bigint;
  count: bigint;
  root: string;
}

export interface SignedBillingBatch {
  batch: BillingBatch;
  records: BillingRecord[];
  /** 65-byte EIP-712 signature by the meter's key over `batch`. */
  signature: string;
}

/** Anything that signs EIP-712 typed data: an ethers Wallet, HDNodeWallet or JsonRpcSigner. */
export interface TypedDataSigner {
  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string>;
}

const RECORD_TYPES_V1 = BILLING_RECORD_EIP712_TYPES as unknown as Record<string, TypedDataField[]>;
const RECORD_TYPES_V2 = BILLING_RECORD_V2_EIP712_TYPES as unknown as Record<string, TypedDataField[]>;
const RECORD_TYPES_V3 = BILLING_RECORD_V3_EIP712_TYPES as unknown as Record<string, TypedDataField[]>;
const BATCH_TYPES = BILLING_BATCH_EIP712_TYPES as unknown as Record<string, TypedDataField[]>;
const PSEUDONYM_TAG = keccak256(toUtf8Bytes('bench.pseudonym/1'));
const recordEncoders = new Map<number, TypedDataEncoder>();

/**
 * bytes32 pseudonym of an account id (payer contract id, host account): keccak256 over a domain tag, the
 * keccak256 of the salt and the UTF-8 id. Without the salt the id cannot be confirmed by guessing.
 */
export function pseudonym(id: string, salt: string): string {
  if (id.length === 0) throw new RangeError('pseudonym: empty id');
  if (salt.length === 0) throw new RangeError('pseudonym: empty salt');
  return keccak256(concat([PSEUDONYM_TAG, keccak256(toUtf8Bytes(salt)), toUtf8Bytes(id)]));
}

/** bytes32 id of a load class name, e.g. loadClassId('ev-1ph-7.4kw') = keccak256("ev-1ph-7.4kw"). */
export function loadClassId(name: string): string {
  return keccak256(toUtf8Bytes(name));
}

/** EIP-712 struct hash of a record: the Merkle leaf of the batched path. */
export function billingRecordHash(record: BillingRecord): string {
  let encoder = recordEncoders.get(record.version);
  if (!encoder) {
    encoder = TypedDataEncoder.from(recordTypes(record));
    recordEncoders.set(record.version, encoder);
  }
  return encoder.hashStruct('BillingRecord', recordValue(record));
}

/** The digest the meter signs (EIP-712 `\x19\x01 ‖ domainSeparator ‖ structHash`). */
export function billingRecordDigest(domain: BillingDomain, record: BillingRecord): string {
  return TypedDataEncoder.hash(domain, recordTypes(record), recordValue(record));
}

export async function signBillingRecord(
  signer: TypedDataSigner,
  domain: BillingDomain,
  record: BillingRecord,
): Promise<SignedBillingRecord> {
  const signature = await signer.signTypedData(domain, recordTypes(record), recordValue(record));
  return { record, signature };
}

/** Address that signed `record` under `domain`; throws on a malformed signature. */
export function recoverBillingSigner(domain: BillingDomain, record: BillingRecord, signature: string): string {
  return verifyTypedData(domain, recordTypes(record), recordValue(record), signature);
}

/** Like recoverBillingSigner, but undefined for a signature that cannot be parsed. */
export function tryRecoverBillingSigner(
  domain: BillingDomain,
  record: BillingRecord,
  signature: string,
): string | undefined {
  try {
    return recoverBillingSigner(domain, record, signature);
  } catch {
    return undefined;
  }
}

/** Signs a batch of consecutive records of one meter: one signature over the Merkle root of their struct hashes. */
export async function signBillingBatch(
  signer: TypedDataSigner,
  domain: BillingDomain,
  records: BillingRecord[],
): Promise<SignedBillingBatch> {
  const batch = billingBatchOf(records);
  const signature = await signer.signTypedData(domain, BATCH_TYPES, { ...batch });
  return { batch, records, signature };
}

export function billingBatchOf(records: BillingRecord[]): BillingBatch {
  if (records.length === 0) throw new RangeError('billing batch: no records');
  return {
    meter: getAddress(records[0]!.meter),
    firstSeq: records[0]!.seq,
    count: BigInt(records.length),
    root: merkleRoot(records.map(billingRecordHash)),
  };
}

export function recoverBatchSigner(domain: BillingDomain, batch: BillingBatch, signature: string): string {
  return verifyTypedData(domain, BATCH_TYPES, { ...batch }, signature);
}

/** The EIP-712 types of the record's form; throws a RangeError for a version that has none. */
function recordTypes(record: BillingRecord): Record<string, TypedDataField[]> {
  if (record.version === 1) return RECORD_TYPES_V1;
  if (record.version === RECORD_VERSION_BANDS) return RECORD_TYPES_V2;
  if (record.version === RECORD_VERSION_STATION) return RECORD_TYPES_V3;
  throw new RangeError(`billing record: unknown version ${record.version}`);
}

/**
 * The value signed: each version has exactly the fields of its type (ethers rejects others): version 1 neither the
 * version nor band fields, only version 3 the station key and OCMF digest.
 */
function recordValue(record: BillingRecord): Record<string, unknown> {
  const { stationKey, ocmfHash, ...common } = record;
  const station = record.version === RECORD_VERSION_STATION;
  if (station !== (stationKey !== undefined && ocmfHash !== undefined))
    throw new RangeError('billing record: the station key and OCMF digest belong to version 3, and only there');
  if (station) return { ...common, stationKey, ocmfHash };
  if (record.version !== 1) return common;
  if (record.bandMilliWh.length > 0) throw new RangeError('billing record: a version-1 record has no band energies');
  const { version: _v, bandMilliWh: _b, ...v1 } = common;
  return v1;
}
