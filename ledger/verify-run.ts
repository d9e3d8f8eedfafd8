/**
 * `bench ledger verify <run-id>`: verifies the billing records a run observed.
 *
 * Input: the run record's entries of kind `obs.meter.billing`, whose data is
 *   `{ meterId, tObserved?, caseId?, signed: { record: billingRecordToJson(record), signature } }`
 * (the flat form `{ ...billingRecordToJson(record), signature }` is accepted too). The header may name the ledger
 * the run used in `identities.ledger = { chainId, url?, contracts: { BillingLedger, ... }, deployedAtBlock }`.
 *
 * Two modes:
 * - `--ledger URL` (or none, for a run that used an external ledger: its recorded URL): the records are looked up
 *   on that chain (contracts from --deployment, else the run's, else the saved deployment) and compared with what
 *   the meters emitted: missing, duplicate, forged, out-of-sequence, tampered records, registry state, recomputed
 *   tariff cost.
 * - a run on the embedded chain: a replay. A fresh embedded chain gets the contracts (same deployer, same
 *   addresses as any other fresh embedded deployment, hence the same EIP-712 domain) and the registry the run
 *   had: every tariff version the run published, in order (a record names the version it was billed under), and
 *   every meter with the status and host the run recorded (attested, unattested or not registered; a run without
 *   registry entries: the host of its first record, attested). The observed records are submitted in the order
 *   observed, and the chain is read back and verified. Refused submissions are reported with the contract's reason.
 */

import { getAddress, keccak256, toUtf8Bytes } from 'ethers';
import type { SignedBillingRecord } from '../billing/billing-record.js';
import { signedBillingRecordFromJson } from '../billing/record-json.js';
import { type StationEvidence, type StationTransactionLike, stationEvidence } from '../billing/station-record.js';
import { type Tariff, type TariffJson, tariffFromJson } from '../billing/tariff.js';
import type { SubmissionOutcome } from '../billing/verify-types.js';
import { InputError } from '../core/errors.js';
import { ENTRY } from '../core/record/entries.js';
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
import { type LedgerVerificationResult, verifyLedger } from './verify-chain.js';

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
    if (e.kind !== ENTRY.meterBilling) continue;
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
  kind?: 'embedded' | 'external';
  chainId?: string;
  url?: string;
  contracts?: Partial<Deployment['contracts']>;
  deployedAtBlock?: number;
  /** The latest block when the run began. */
  runFromBlock?: number;
}

export interface VerifyRunOptions {
  runId: string;
  entries: readonly RunEntryLike[];
  header?: { identities?: Record<string, unknown> };
  /** External JSON-RPC URL; omitted = replay on an embedded chain. */
  ledger?: string;
  deploymentFile?: string;
  fromBlock?: number;
  toBlock?: number;
  mnemonic?: string;
  relayerKey?: string;
}

export interface VerifyRunResult extends LedgerVerificationResult {
  runId: string;
  mode: 'external' | 'replay';
  /** The JSON-RPC URL read in external mode (the flag's, else the one the run recorded). */
  url?: string;
  malformed: ObservedBilling['malformed'];
  submissions?: Array<{ meter: string; seq: string; status: string; reason?: string }>;
}

/** Firmware hash the replay registers meters with (attested on the replay chain). */
export const REPLAY_FIRMWARE = keccak256(toUtf8Bytes('bench.replay-firmware'));

/** The ledger the run used, from its `identity` entries (older records: the header's identities). */
export function runLedgerIdentity(
  entries: readonly RunEntryLike[],
  header?: VerifyRunOptions['header'],
): RunLedgerIdentity | undefined {
  let id = header?.identities?.ledger as RunLedgerIdentity | undefined;
  for (const e of entries) {
    const l = (e.kind === ENTRY.identity ? (e.data as { ledger?: RunLedgerIdentity }) : undefined)?.ledger;
    if (l) id = l;
  }
  return id;
}

/** The last block the run read back from the ledger (its `obs.ledger.state` entries), if it read any. */
export function runLastBlock(entries: readonly RunEntryLike[]): number | undefined {
  let last: number | undefined;
  for (const e of entries) {
    const toBlock = e.kind === ENTRY.ledgerState ? (e.data as { toBlock?: unknown }).toBlock : undefined;
    if (typeof toBlock === 'number') last = Math.max(last ?? toBlock, toBlock);
  }
  return last;
}

export interface RunRegistry {
  /** Every tariff version the run published, by version number. */
  tariffs: Map<number, Tariff>;
  /** Each meter's registry state as last recorded (address checksummed). */
  meters: Map<string, { status: string; host?: string }>;
}

/** The registry as the run left it, from its `obs.ledger.state` entries (later entries win). */
export function runRegistry(entries: readonly RunEntryLike[]): RunRegistry {
  const tariffs = new Map<number, Tariff>();
  const meters: RunRegistry['meters'] = new Map();
  for (const e of entries) {
    if (e.kind !== ENTRY.ledgerState) continue;
    const d = e.data as {
      tariffs?: Record<string, TariffJson>;
      meters?: Array<{ meter: string; status: string; host?: string }>;
    };
    for (const [v, t] of Object.entries(d.tariffs ?? {})) tariffs.set(Number(v), tariffFromJson(t));
    for (const m of d.meters ?? []) meters.set(getAddress(m.meter), { status: m.status, host: m.host });
  }
  return { tariffs, meters };
}

export async function verifyRunLedger(opts: VerifyRunOptions): Promise<VerifyRunResult> {
  const { observed, malformed } = billingObservations(opts.entries);
  if (observed.length === 0 && malformed.length === 0) {
    throw new InputError(`run ${opts.runId} has no billing observations (entries of kind ${ENTRY.meterBilling})`);
  }
  const identity = runLedgerIdentity(opts.entries, opts.header);
  // A station's records cite its signed meter values: the run's transactions are the evidence they are checked on.
  const transactions = opts.entries.filter((e) => e.kind === ENTRY.ocppTransaction);
  const evidence = transactions.length
    ? stationEvidence(transactions.map((e) => e.data as unknown as StationTransactionLike))
    : undefined;
  if (opts.ledger && identity?.kind === 'embedded') {
    // Meter keys and contract addresses repeat from chain to chain (same seed, same deployer nonce), so another
    // ledger would look like the run's own and its records would read as tampered.
    throw new InputError(
      `run ${opts.runId} ran on the embedded chain, which ended with the run: --ledger ${opts.ledger} never held its records`,
      [],
      [
        `Run \`bench ledger verify ${opts.runId}\` without --ledger: its records are replayed on a fresh embedded chain.`,
      ],
    );
  }
  // A run on an external chain is verified on that chain: a replay would sign nothing the run's records were
  // signed for (another chain id or contract address, so every signature would read as forged).
  const url = opts.ledger ?? (identity?.kind === 'external' ? identity.url : undefined);
  const chain = await openChain({ ledger: url, mnemonic: opts.mnemonic, relayerKey: opts.relayerKey });
  try {
    if (url) {
      const deployment = externalDeployment(chain, opts, identity);
      await checkDeployment(chain, deployment);
      // By default only this run's blocks: a saved deployment also holds other runs' records.
      const ownRun = identity?.contracts?.BillingLedger === deployment.contracts.BillingLedger;
      const fromBlock =
        opts.fromBlock ?? (ownRun && identity?.runFromBlock !== undefined ? identity.runFromBlock + 1 : undefined);
      // …and up to the last block the run read back: later runs' records on the same contracts are not this run's.
      const toBlock = opts.toBlock ?? (ownRun ? runLastBlock(opts.entries) : undefined);
      const result = await verifyLedger(chain, deployment, {
        observed,
        fromBlock,
        toBlock,
        stationEvidence: evidence,
      });
      return { runId: opts.runId, mode: 'external', url, malformed, ...result };
    }
    return await replay(chain, opts.runId, observed, malformed, runRegistry(opts.entries), evidence);
  } finally {
    await chain.close();
  }
}

function externalDeployment(chain: Chain, opts: VerifyRunOptions, id: RunLedgerIdentity | undefined): Deployment {
  if (opts.deploymentFile) return loadDeployment(opts.deploymentFile);
  const c = id?.contracts;
  // The run's own contracts, when it ran on this chain.
  if (
    c?.BillingLedger &&
    c.MeterRegistry &&
    c.TariffRegistry &&
    c.ReportAnchor &&
    id?.chainId === chain.chainId.toString()
  ) {
    return {
      format: DEPLOYMENT_FORMAT,
      chainId: id.chainId,
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

/** Firmware hash the replay registers a meter the run recorded as unattested with (never approved). */
const REPLAY_UNATTESTED_FIRMWARE = keccak256(toUtf8Bytes('bench.replay-unattested-firmware'));

async function replay(
  chain: Chain,
  runId: string,
  observed: SignedBillingRecord[],
  malformed: ObservedBilling['malformed'],
  registry: RunRegistry,
  stationEvidence?: StationEvidence,
): Promise<VerifyRunResult> {
  // The run's tariff versions are published in order, so version n here is the run's version n.
  const versions = [...registry.tariffs.keys()].sort((a, b) => a - b);
  const deployment = await deployLedger(chain, { tariff: versions[0] === 1 ? registry.tariffs.get(1) : undefined });
  const client = await LedgerClient.create(chain, deployment);
  for (const v of versions) {
    if (v === 1) continue;
    const { version } = await client.setTariff(registry.tariffs.get(v) as Tariff);
    if (version !== v) throw new InputError(`run ${runId} records tariff version ${v} but not every version before it`);
  }
  await client.setFirmwareApproval(REPLAY_FIRMWARE, true);
  const registered = new Set<string>();
  for (const o of observed) {
    const m = getAddress(o.record.meter);
    if (registered.has(m)) continue;
    registered.add(m);
    const state = registry.meters.get(m);
    if (!state) {
      await client.registerMeter(m, o.record.host, REPLAY_FIRMWARE);
      continue;
    }
    if (state.status === 'NotRegistered' || !state.host) continue;
    await client.registerMeter(
      m,
      state.host,
      state.status === 'FirmwareNotAttested' ? REPLAY_UNATTESTED_FIRMWARE : REPLAY_FIRMWARE,
    );
    if (state.status === 'Revoked') await client.revokeMeter(m);
  }
  const results = await client.submitRecords(observed);
  const submissions: SubmissionOutcome[] = results.map((r) => ({
    meter: r.meter,
    seq: r.seq,
    status: r.status,
    reason: r.revert?.text,
  }));
  const result = await verifyLedger(chain, deployment, { observed, submissions, stationEvidence });
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
