import { createHash } from 'node:crypto';
import { keccak256, toUtf8Bytes, Wallet } from 'ethers';
import type { BillingDomain } from '../billing/billing-record.js';
import type { Tariff } from '../billing/tariff.js';

export interface MeterIdentity {
  meterId: string;
  /** The household's contract id (host account). */
  hostContractId: string;
  /** Unix seconds of scenario time 0. */
  epochS: number;
  /** The meter's Ethereum signing key. */
  key: Wallet;
  domain: BillingDomain;
  tariff: Tariff;
  tariffVersion: number;
  seed: number;
  /** The last sequence number this key signed (a meter recommissioned keeps counting); 0 for a new key. */
  lastSeq?: bigint;
}

export const FIRMWARE_NAME = 'bench-reference-meter';

/** The firmware image hash the meter reports (and the ledger attests for a healthy meter). */
export function firmwareHash(version: string, tampered = false): string {
  return keccak256(toUtf8Bytes(`${FIRMWARE_NAME}/${version}${tampered ? '+unattested-build' : ''}`));
}

/** A deterministic signing key per (seed, meter): the simulated meter's secure element. */
export function meterKey(seed: number, meterId: string): Wallet {
  const digest = createHash('sha256').update(`bench-meter-key:${seed}:${meterId}`).digest('hex');
  return new Wallet(`0x${digest}`);
}
