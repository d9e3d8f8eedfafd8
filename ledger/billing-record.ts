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
}

export interface SignedBillingRecord {
  record: BillingRecord;
  /** 65-byte EIP-712 signature (0x…) by the meter's key over `record`. */
  signature: string;
}

/** EIP-712 struct of a billing record; the Solidity BillingLedger hashes the same fields in the same order. */
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

export interface BillingDomain {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: string;
}

export function billingDomain(chainId: bigint, verifyingContract: string): BillingDomain {
  return { name: 'BenchBillingLedger', version: '1', chainId, verifyingContract };
}
