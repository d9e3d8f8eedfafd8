import {
  concat,
  getAddress,
  isAddress,
  isHexString,
  keccak256,
  type TypedDataDomain,
  TypedDataEncoder,
  type TypedDataField,
  toUtf8Bytes,
  verifyTypedData,
} from 'ethers';

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
}

/** The record form the meter signs now: per-band import energy. */
export const RECORD_VERSION_BANDS = 2;
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

// --- Merkle tree of the batched path: the same reduction as BillingLedger.merkleRoot -------------------------

/** Pairs hashed with OpenZeppelin's commutative keccak256 (sorted pair); an odd last node moves up unchanged. */
export function hashPair(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

export function merkleRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) throw new RangeError('merkleRoot: no leaves');
  let level = [...leaves];
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? hashPair(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

/** Every level of the tree, leaves first, root last. */
export function merkleLevels(leaves: readonly string[]): string[][] {
  if (leaves.length === 0) throw new RangeError('merkleLevels: no leaves');
  const levels = [[...leaves]];
  while (levels.at(-1)!.length > 1) {
    const level = levels.at(-1)!;
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? hashPair(level[i]!, level[i + 1]!) : level[i]!);
    levels.push(next);
  }
  return levels;
}

/** Sibling hashes from leaf `index` up to the root (OpenZeppelin MerkleProof.verify compatible). */
export function merkleProof(leaves: readonly string[] | string[][], index: number): string[] {
  const levels = Array.isArray(leaves[0]) ? (leaves as string[][]) : merkleLevels(leaves as string[]);
  if (index < 0 || index >= levels[0]!.length) throw new RangeError(`merkleProof: index ${index} out of range`);
  const proof: string[] = [];
  let i = index;
  for (const level of levels.slice(0, -1)) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling < level.length) proof.push(level[sibling]!);
    i = Math.floor(i / 2);
  }
  return proof;
}

export function verifyMerkleProof(leaf: string, proof: readonly string[], root: string): boolean {
  let h = leaf;
  for (const p of proof) h = hashPair(h, p);
  return h.toLowerCase() === root.toLowerCase();
}

// --- JSON form: bigints as decimal strings ------------------------------------------------------------------

/** Version 1 keeps its original JSON form (no version or band fields), so records stored before still parse. */
export type BillingRecordJson = {
  [K in Exclude<keyof BillingRecord, 'version' | 'bandMilliWh'>]: BillingRecord[K] extends bigint
    ? string
    : BillingRecord[K];
} & { version?: number; bandMilliWh?: string[] };

export interface SignedBillingRecordJson {
  record: BillingRecordJson;
  signature: string;
}

const BIGINT_FIELDS = [
  'seq',
  'start',
  'end',
  'importMilliWh',
  'exportMilliWh',
  'costMicro',
  'tariffVersion',
] as const satisfies ReadonlyArray<keyof BillingRecord>;
const BYTES32_FIELDS = ['payer', 'host', 'loadClass'] as const satisfies ReadonlyArray<keyof BillingRecord>;
const UINT_BITS: Record<(typeof BIGINT_FIELDS)[number], number> = {
  seq: 64,
  start: 64,
  end: 64,
  importMilliWh: 64,
  exportMilliWh: 64,
  costMicro: 128,
  tariffVersion: 32,
};

export function billingRecordToJson(record: BillingRecord): BillingRecordJson {
  return {
    meter: record.meter,
    seq: record.seq.toString(),
    payer: record.payer,
    host: record.host,
    start: record.start.toString(),
    end: record.end.toString(),
    importMilliWh: record.importMilliWh.toString(),
    exportMilliWh: record.exportMilliWh.toString(),
    costMicro: record.costMicro.toString(),
    tariffVersion: record.tariffVersion.toString(),
    loadClass: record.loadClass,
    attributed: record.attributed,
    ...(record.version === 1 ? {} : { version: record.version, bandMilliWh: record.bandMilliWh.map(String) }),
  };
}

/** Parses and range-checks the JSON form; throws a TypeError naming the field on any problem. */
export function billingRecordFromJson(json: unknown): BillingRecord {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new TypeError('billing record: not an object');
  const o = json as Record<string, unknown>;
  const known = new Set(BILLING_RECORD_V2_EIP712_TYPES.BillingRecord.map((f) => f.name as string));
  for (const k of Object.keys(o)) if (!known.has(k)) throw new TypeError(`billing record: unknown field "${k}"`);
  if (typeof o.meter !== 'string' || !isAddress(o.meter))
    throw new TypeError('billing record: meter is not an address');
  for (const f of BYTES32_FIELDS) {
    const v = o[f];
    if (typeof v !== 'string' || !isHexString(v, 32)) throw new TypeError(`billing record: ${f} is not a bytes32 hex`);
  }
  if (typeof o.attributed !== 'boolean') throw new TypeError('billing record: attributed is not a boolean');
  const ints = {} as Record<(typeof BIGINT_FIELDS)[number], bigint>;
  for (const f of BIGINT_FIELDS) {
    const v = o[f];
    const text = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
    if (typeof text !== 'string' || !/^-?\d+$/.test(text))
      throw new TypeError(`billing record: ${f} is not a decimal integer`);
    const n = BigInt(text);
    const bits = UINT_BITS[f];
    const ok = f === 'costMicro' ? n >= -(1n << 127n) && n < 1n << 127n : n >= 0n && n < 1n << BigInt(bits);
    if (!ok) throw new TypeError(`billing record: ${f} ${text} is out of range`);
    ints[f] = n;
  }
  const version = o.version ?? 1;
  if (version !== 1 && version !== RECORD_VERSION_BANDS)
    throw new TypeError(`billing record: version ${String(version)} is unknown (1 or ${RECORD_VERSION_BANDS})`);
  const bands = o.bandMilliWh ?? [];
  if (!Array.isArray(bands)) throw new TypeError('billing record: bandMilliWh is not an array');
  if (version === 1 && bands.length > 0) throw new TypeError('billing record: version 1 has no bandMilliWh');
  if (version === RECORD_VERSION_BANDS && (bands.length === 0 || bands.length > MAX_RECORD_BANDS))
    throw new TypeError(`billing record: bandMilliWh needs 1 to ${MAX_RECORD_BANDS} band energies`);
  const bandMilliWh = bands.map((v, i) => {
    const text = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
    if (typeof text !== 'string' || !/^\d+$/.test(text) || BigInt(text) >= 1n << 64n)
      throw new TypeError(`billing record: bandMilliWh[${i}] is not a uint64 decimal`);
    return BigInt(text);
  });
  return {
    meter: getAddress(o.meter),
    seq: ints.seq,
    payer: (o.payer as string).toLowerCase(),
    host: (o.host as string).toLowerCase(),
    start: ints.start,
    end: ints.end,
    importMilliWh: ints.importMilliWh,
    exportMilliWh: ints.exportMilliWh,
    costMicro: ints.costMicro,
    tariffVersion: ints.tariffVersion,
    loadClass: (o.loadClass as string).toLowerCase(),
    attributed: o.attributed,
    version,
    bandMilliWh,
  };
}

export function signedBillingRecordToJson(signed: SignedBillingRecord): SignedBillingRecordJson {
  return { record: billingRecordToJson(signed.record), signature: signed.signature };
}

/** Accepts `{ record, signature }` or the flat form `{ ...record, signature }`. */
export function signedBillingRecordFromJson(json: unknown): SignedBillingRecord {
  if (typeof json !== 'object' || json === null) throw new TypeError('signed billing record: not an object');
  const { signature, record, ...rest } = json as Record<string, unknown>;
  if (typeof signature !== 'string' || !isHexString(signature)) {
    throw new TypeError('signed billing record: signature is not a hex string');
  }
  return { record: billingRecordFromJson(record ?? rest), signature };
}

/** The EIP-712 types of the record's form; throws a RangeError for a version that has none. */
function recordTypes(record: BillingRecord): Record<string, TypedDataField[]> {
  if (record.version === 1) return RECORD_TYPES_V1;
  if (record.version === RECORD_VERSION_BANDS) return RECORD_TYPES_V2;
  throw new RangeError(`billing record: unknown version ${record.version}`);
}

/** The value signed: version 1 has neither the version nor band fields (ethers rejects fields not in the type). */
function recordValue(record: BillingRecord): Record<string, unknown> {
  if (record.version !== 1) return { ...record };
  if (record.bandMilliWh.length > 0) throw new RangeError('billing record: a version-1 record has no band energies');
  const { version: _v, bandMilliWh: _b, ...v1 } = record;
  return v1;
}
