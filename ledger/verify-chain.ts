/**
 * The ledger verifier (I/O side): reads the chain by block range, the registry state of every meter seen and the
 * tariff versions the records name, then hands everything to the pure verifyBilling().
 */
import { getAddress } from 'ethers';
import { billingDomain, type SignedBillingRecord } from '../billing/billing-record.js';
import type { StationEvidence } from '../billing/station-record.js';
import type { Tariff } from '../billing/tariff.js';
import { verifyBilling } from '../billing/verify.js';
import type {
  ExpectedRecord,
  LedgerVerification,
  MeterState,
  SubmissionOutcome,
  Tolerances,
} from '../billing/verify-types.js';
import type { Chain } from './chain.js';
import { LedgerReader } from './client.js';
import type { Deployment } from './contracts.js';
import { type LedgerScan, type ScanOptions, scanLedger } from './logs.js';

export interface VerifyLedgerOptions extends ScanOptions {
  observed?: readonly SignedBillingRecord[];
  submissions?: readonly SubmissionOutcome[];
  expected?: readonly ExpectedRecord[];
  tolerances?: Partial<Tolerances>;
  /** The OCMF evidence of a run's station transactions (billing/station-record.ts), for its version-3 records. */
  stationEvidence?: StationEvidence;
}

export interface LedgerVerificationResult extends LedgerVerification {
  chainId: string;
  ledger: string;
  fromBlock: number;
  toBlock: number;
  /** Pass as --from-block to continue where this verification stopped. */
  nextBlock: number;
}

export async function verifyLedger(
  chain: Chain,
  deployment: Deployment,
  opts: VerifyLedgerOptions = {},
): Promise<LedgerVerificationResult> {
  const scan = await scanLedger(chain, deployment, opts);
  return verifyScan(chain, deployment, scan, opts);
}

/** Verification of an existing scan (e.g. one resumed chunk by chunk). */
export async function verifyScan(
  chain: Chain,
  deployment: Deployment,
  scan: LedgerScan,
  opts: VerifyLedgerOptions = {},
): Promise<LedgerVerificationResult> {
  const reader = new LedgerReader(chain, deployment);
  const meters = new Set<string>();
  for (const l of scan.records) meters.add(getAddress(l.record.meter));
  for (const o of opts.observed ?? []) meters.add(getAddress(o.record.meter));
  for (const e of opts.expected ?? []) meters.add(getAddress(e.meter));
  const states: MeterState[] = [];
  for (const m of meters) {
    const info = await reader.meterInfo(m);
    states.push({ meter: m, status: info.status, host: info.status === 'NotRegistered' ? undefined : info.host });
  }
  const versions = new Set(scan.records.map((l) => Number(l.record.tariffVersion)));
  const current = await reader.currentTariffVersion();
  const tariffs = new Map<number, Tariff>();
  for (const v of versions) if (v >= 1 && v <= current) tariffs.set(v, await reader.tariff(v));
  const result = verifyBilling({
    domain: billingDomain(chain.chainId, deployment.contracts.BillingLedger),
    landed: scan.records,
    batches: scan.batches,
    observed: opts.observed,
    submissions: opts.submissions,
    expected: opts.expected,
    meters: states,
    tariffs,
    tolerances: opts.tolerances,
    stationEvidence: opts.stationEvidence,
    partialRange: scan.fromBlock > deployment.deployedAtBlock,
  });
  return {
    chainId: chain.chainId.toString(),
    ledger: deployment.contracts.BillingLedger,
    fromBlock: scan.fromBlock,
    toBlock: scan.toBlock,
    nextBlock: scan.nextBlock,
    ...result,
  };
}
