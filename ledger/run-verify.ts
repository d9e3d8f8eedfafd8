/**
 * `bench ledger verify <run-id>`: verifies the billing records a run observed.
 *
 * Input: the run record's entries of kind `obs.meter.billing`, whose data is
 *   `{ meterId, tObserved?, caseId?, signed: { record: billingRecordToJson(record), signature } }`
 * (the flat form `{ ...billingRecordToJson(record), signature }` is accepted too). The header may name the ledger
 * the run used in `identities.ledger = { chainId, url?, contracts: { BillingLedger, ... }, deployedAtBlock }`.
 *
 * Two modes:
 * - `--ledger URL`: the records are looked up on that chain (contracts from --deployment, else from the header)
 *   and compared with what the meters emitted: missing, duplicate, forged, out-of-sequence, tampered records,
 *   registry state, recomputed tariff cost.
 * - default (embedded): a replay. A fresh embedded chain gets the contracts (same deployer, same addresses as any
 *   other fresh embedded deployment, hence the same EIP-712 domain), every meter is registered with the host of
 *   its first record and an attested firmware, the observed records are submitted in the order observed, and the
 *   chain is read back and verified. Refused submissions are reported with the contract's reason.
 */
import { getAddress, keccak256, toUtf8Bytes } from 'ethers';
import { InputError } from '../engine/errors.js';
import { type SignedBillingRecord, signedBillingRecordFromJson } from './billing-record.js';
import { type Chain, openChain } from './chain.js';
import { LedgerClient } from './client.js';
import {
  checkDeployment,
  DEPLOYMENT_FORMAT,
  type Deployment,
  defaultDeploymentPath,
  deployLedger,
  loadDeployment,
} from './contracts.js';
import { type LedgerVerificationResult, verifyLedger } from './verifier.js';
import type { SubmissionOutcome } from './verify.js';

export const BILLING_ENTRY_KIND = 'obs.meter.billing';

export interface RunEntryLike {
  seq: number;
  kind: string;
  data: unknown;
}

export interface ObservedBilling {
  observed: SignedBillingRecord[];
  /** Entries whose data could not be parsed: line (entry seq) and reason. */
  malformed: Array<{ entry: number; reason: string }>;
}

export function billingObservations(entries: readonly RunEntryLike[]): ObservedBilling {
  const observed: SignedBillingRecord[] = [];
  const malformed: ObservedBilling['malformed'] = [];
  for (const e of entries) {
    if (e.kind !== BILLING_ENTRY_KIND) continue;
    try {
      const data = e.data as { signed?: unknown };
      observed.push(signedBillingRecordFromJson(data?.signed ?? data));
    } catch (err) {
      malformed.push({ entry: e.seq, reason: (err as Error).message });
    }
  }
  return { observed, malformed };
}

export interface RunLedgerIdentity {
  chainId?: string;
  url?: string;
  contracts?: Partial<Deployment['contracts']>;
  deployedAtBlock?: number;
}

export interface VerifyRunOptions {
  runId: string;
  entries: readonly RunEntryLike[];
  header?: { identities?: Record<string, unknown> };
  /** External JSON-RPC URL; omitted = replay on an embedded chain. */
  ledger?: string;
  deploymentFile?: string;
  fromBlock?: number;
  mnemonic?: string;
  relayerKey?: string;
}

export interface VerifyRunResult extends LedgerVerificationResult {
  runId: string;
  mode: 'external' | 'replay';
  malformed: ObservedBilling['malformed'];
  submissions?: Array<{ meter: string; seq: string; status: string; reason?: string }>;
}

/** Firmware hash the replay registers meters with (attested on the replay chain). */
export const REPLAY_FIRMWARE = keccak256(toUtf8Bytes('bench.replay-firmware'));

export async function verifyRunLedger(opts: VerifyRunOptions): Promise<VerifyRunResult> {
  const { observed, malformed } = billingObservations(opts.entries);
  if (observed.length === 0 && malformed.length === 0) {
    throw new InputError(`run ${opts.runId} has no billing observations (entries of kind ${BILLING_ENTRY_KIND})`);
  }
  const chain = await openChain({ ledger: opts.ledger, mnemonic: opts.mnemonic, relayerKey: opts.relayerKey });
  try {
    if (opts.ledger) {
      const deployment = externalDeployment(chain, opts);
      await checkDeployment(chain, deployment);
      const result = await verifyLedger(chain, deployment, { observed, fromBlock: opts.fromBlock });
      return { runId: opts.runId, mode: 'external', malformed, ...result };
    }
    return await replay(chain, opts.runId, observed, malformed);
  } finally {
    await chain.close();
  }
}

function externalDeployment(chain: Chain, opts: VerifyRunOptions): Deployment {
  if (opts.deploymentFile) return loadDeployment(opts.deploymentFile);
  const id = opts.header?.identities?.ledger as RunLedgerIdentity | undefined;
  const c = id?.contracts;
  if (c?.BillingLedger && c.MeterRegistry && c.TariffRegistry && c.ReportAnchor) {
    return {
      format: DEPLOYMENT_FORMAT,
      chainId: id?.chainId ?? chain.chainId.toString(),
      contracts: {
        BillingLedger: c.BillingLedger,
        MeterRegistry: c.MeterRegistry,
        TariffRegistry: c.TariffRegistry,
        ReportAnchor: c.ReportAnchor,
      },
      owner: '',
      deployedAtBlock: id?.deployedAtBlock ?? 0,
      deployedAt: '',
      sourceHash: '',
    };
  }
  return loadDeployment(defaultDeploymentPath(chain.chainId));
}

async function replay(
  chain: Chain,
  runId: string,
  observed: SignedBillingRecord[],
  malformed: ObservedBilling['malformed'],
): Promise<VerifyRunResult> {
  const deployment = await deployLedger(chain);
  const client = await LedgerClient.create(chain, deployment);
  await client.setFirmwareApproval(REPLAY_FIRMWARE, true);
  const registered = new Set<string>();
  for (const o of observed) {
    const m = getAddress(o.record.meter);
    if (registered.has(m)) continue;
    registered.add(m);
    await client.registerMeter(m, o.record.host, REPLAY_FIRMWARE);
  }
  const results = await client.submitRecords(observed);
  const submissions: SubmissionOutcome[] = results.map((r) => ({
    meter: r.meter,
    seq: r.seq,
    status: r.status,
    reason: r.revert?.text,
  }));
  const result = await verifyLedger(chain, deployment, { observed, submissions });
  return {
    runId,
    mode: 'replay',
    malformed,
    submissions: submissions.map((s) => ({
      meter: s.meter,
      seq: s.seq.toString(),
      status: s.status,
      reason: s.reason,
    })),
    ...result,
  };
}
