/**
 * The submit client: a relayer account pays gas and submits records the meters signed (single or Merkle batch),
 * plus the owner operations (register/revoke meters, firmware attestation, tariffs, report anchors) and reads.
 */
import createDebug from 'debug';
import { type AbstractSigner, getAddress, keccak256, toUtf8Bytes, ZeroHash, zeroPadValue } from 'ethers';
import {
  type BillingBatch,
  type BillingRecord,
  billingBatchOf,
  billingRecordHash,
  type SignedBillingBatch,
  type SignedBillingRecord,
} from '../billing/billing-record.js';
import { type Tariff, tariffProblems } from '../billing/tariff.js';
import { RigError } from '../core/errors.js';
import type { ContractName } from './artifacts.js';
import type { Chain } from './chain.js';
import {
  contractInterface,
  type DecodedRevert,
  type Deployment,
  decodeRevert,
  diagnoseFailure,
  LedgerRevertError,
  preflight,
  tariffFromAbi,
  tariffToAbi,
} from './contracts.js';
import { withTransportRetry } from './retry.js';
import { type Receipt, type TxRequest, TxSender } from './tx.js';

const debug = createDebug('bench:ledger:client');

/** Gas limits: generous above the measured use (single ≈ 50–70k, batch ≈ 5k/record + 50k). */
export const SINGLE_GAS_LIMIT = 250_000n;
export const batchGasLimit = (n: number): bigint => 120_000n + 12_000n * BigInt(n);

export interface SubmitResult {
  status: 'landed' | 'already-landed' | 'rejected';
  meter: string;
  seq: bigint;
  /** For batches: number of records. */
  count: number;
  txHash: string;
  blockNumber: number;
  gasUsed: bigint;
  /** Why the transaction reverted (rejected; or already-landed: the sequence guard refused the copy). */
  revert?: DecodedRevert;
}

export type MeterStatusName = 'Ok' | 'NotRegistered' | 'Revoked' | 'FirmwareNotAttested';
export const METER_STATUS: readonly MeterStatusName[] = ['Ok', 'NotRegistered', 'Revoked', 'FirmwareNotAttested'];

export interface MeterInfo {
  meter: string;
  status: MeterStatusName;
  host: string;
  firmwareHash: string;
  firmwareApproved: boolean;
  registeredAt: number;
  revokedAt: number;
  lastSeq: bigint;
}

/** Read-only access to the ledger contracts (no account needed). */
export class LedgerReader {
  constructor(
    readonly chain: Chain,
    readonly deployment: Deployment,
  ) {}

  protected addr(name: ContractName): string {
    return this.deployment.contracts[name];
  }

  // --- reads ---------------------------------------------------------------------------------------------------

  protected async read(name: ContractName, fn: string, args: unknown[]) {
    const iface = contractInterface(name);
    const data = iface.encodeFunctionData(fn, args);
    let out: string;
    try {
      out = await withTransportRetry(() =>
        this.chain.send<string>('eth_call', [{ to: this.addr(name), data }, 'latest']),
      );
    } catch (e) {
      const revert = decodeRevert((e as { revertData?: string }).revertData);
      if (revert) throw new LedgerRevertError(`${name}.${fn}`, revert);
      throw e;
    }
    return iface.decodeFunctionResult(fn, out);
  }

  async lastSeq(meter: string): Promise<bigint> {
    return BigInt((await this.read('BillingLedger', 'lastSeq', [meter]))[0]);
  }
  async currentTariffVersion(): Promise<number> {
    return Number((await this.read('TariffRegistry', 'currentVersion', []))[0]);
  }
  async tariff(version: number): Promise<Tariff> {
    const [t] = await this.read('TariffRegistry', 'tariff', [version]);
    return tariffFromAbi(t);
  }
  async meterInfo(meter: string): Promise<MeterInfo> {
    const [info] = await this.read('MeterRegistry', 'meterInfo', [meter]);
    const [status] = await this.read('MeterRegistry', 'status', [meter]);
    const [approved] = await this.read('MeterRegistry', 'firmwareApproved', [info.firmwareHash]);
    return {
      meter: getAddress(meter),
      status: METER_STATUS[Number(status)] ?? 'NotRegistered',
      host: info.host,
      firmwareHash: info.firmwareHash,
      firmwareApproved: Boolean(approved),
      registeredAt: Number(info.registeredAt),
      revokedAt: Number(info.revokedAt),
      lastSeq: await this.lastSeq(meter),
    };
  }
  async meterCount(): Promise<number> {
    return Number((await this.read('MeterRegistry', 'meterCount', []))[0]);
  }
  async anchorOf(runId: string): Promise<{ reportHash: string; verdict: number; anchoredAt: number }> {
    const [a] = await this.read('ReportAnchor', 'anchorOf', [runKey(runId)]);
    return { reportHash: a.reportHash, verdict: Number(a.verdict), anchoredAt: Number(a.anchoredAt) };
  }

  /** Number of the latest block. */
  async blockNumber(): Promise<number> {
    return Number(await withTransportRetry(() => this.chain.send<string>('eth_blockNumber', [])));
  }
}

export class LedgerClient extends LedgerReader {
  private constructor(
    chain: Chain,
    deployment: Deployment,
    private readonly sender: TxSender,
  ) {
    super(chain, deployment);
  }

  /** A client whose transactions are paid (and owner calls made) by `signer` (default: account 0). */
  static async create(chain: Chain, deployment: Deployment, signer?: AbstractSigner): Promise<LedgerClient> {
    const s = signer ?? (await chain.account(0));
    return new LedgerClient(chain, deployment, await TxSender.create(chain, s));
  }

  get relayer(): string {
    return this.sender.from;
  }

  // --- billing -------------------------------------------------------------------------------------------------

  /** Submits one signed record; throws LedgerRevertError (exit 3) when the ledger refuses it. */
  async submitRecord(signed: SignedBillingRecord): Promise<SubmitResult> {
    const [r] = await this.submitRecords([signed]);
    if (r!.status === 'rejected') throw new LedgerRevertError('submit', r!.revert!, r!.txHash);
    return r!;
  }

  /**
   * Submits many signed records pipelined (explicit nonces, all sent before any receipt is awaited), in order.
   * Never throws for a refused record: its result is `rejected` with the decoded custom error.
   */
  async submitRecords(list: readonly SignedBillingRecord[]): Promise<SubmitResult[]> {
    const ledger = this.addr('BillingLedger');
    const iface = contractInterface('BillingLedger');
    const sent: Array<{ signed: SignedBillingRecord; req: TxRequest; hash: string }> = [];
    for (const signed of list) {
      const req = {
        to: ledger,
        data: iface.encodeFunctionData('submit', [recordToAbi(signed.record), signed.signature]),
        gasLimit: SINGLE_GAS_LIMIT,
      };
      sent.push({ signed, req, hash: await this.sender.send(req) });
    }
    const out: SubmitResult[] = [];
    for (const s of sent) {
      const receipt = await this.sender.wait(s.hash);
      out.push(await this.result(receipt, s.req, s.signed.record, 1, [s.signed.record]));
    }
    return out;
  }

  /** Submits a meter-signed Merkle batch in one transaction. */
  async submitBatch(batch: SignedBillingBatch): Promise<SubmitResult> {
    const r = await this.sendBatch(batch);
    if (r.status === 'rejected') throw new LedgerRevertError('submitBatch', r.revert!, r.txHash);
    return r;
  }

  /** Like submitBatch, but returns a `rejected` result instead of throwing. */
  async sendBatch(batch: SignedBillingBatch): Promise<SubmitResult> {
    const n = batch.records.length;
    const req = {
      to: this.addr('BillingLedger'),
      data: contractInterface('BillingLedger').encodeFunctionData('submitBatch', batchCallArgs(batch)),
      gasLimit: batchGasLimit(n),
    };
    const receipt = await this.sender.sendAndWait(req);
    return this.result(receipt, req, batch.records[0]!, n, batch.records);
  }

  private async result(
    receipt: Receipt,
    req: TxRequest,
    first: BillingRecord,
    count: number,
    records: readonly BillingRecord[],
  ): Promise<SubmitResult> {
    const base = {
      meter: getAddress(first.meter),
      seq: first.seq,
      count,
      txHash: receipt.transactionHash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed,
    };
    if (receipt.status === 1) return { status: 'landed', ...base };
    const revert = await diagnoseFailure(this.chain, receipt, req);
    // A retry (or another relayer) may have landed the same record already: the sequence guard refused the copy.
    if (revert.name === 'SequenceMismatch' && (await this.alreadyLanded(records))) {
      debug('record %s#%s already on the ledger', base.meter, base.seq);
      return { status: 'already-landed', ...base, revert };
    }
    return { status: 'rejected', ...base, revert };
  }

  /** True when every record is on the ledger with the same content (looked up by meter and sequence). */
  async alreadyLanded(records: readonly BillingRecord[]): Promise<boolean> {
    const { findLandedRecord } = await import('./logs.js');
    for (const r of records) {
      const landed = await findLandedRecord(this.chain, this.deployment, r.meter, r.seq);
      if (!landed || billingRecordHash(landed) !== billingRecordHash(r)) return false;
    }
    return true;
  }

  /** The revert a signed record would meet now (eth_call), or undefined when it would land. */
  async preflightRecord(signed: SignedBillingRecord): Promise<DecodedRevert | undefined> {
    const data = contractInterface('BillingLedger').encodeFunctionData('submit', [
      recordToAbi(signed.record),
      signed.signature,
    ]);
    return preflight(this.chain, this.relayer, { to: this.addr('BillingLedger'), data });
  }

  // --- owner operations ----------------------------------------------------------------------------------------

  private async ownerCall(name: ContractName, fn: string, args: unknown[], gasLimit = 300_000n): Promise<Receipt> {
    const req = { to: this.addr(name), data: contractInterface(name).encodeFunctionData(fn, args), gasLimit };
    const receipt = await this.sender.sendAndWait(req);
    if (receipt.status !== 1) {
      throw new LedgerRevertError(
        `${name}.${fn}`,
        await diagnoseFailure(this.chain, receipt, req),
        receipt.transactionHash,
      );
    }
    return receipt;
  }

  async registerMeter(meter: string, host: string, firmwareHash: string): Promise<Receipt> {
    return this.ownerCall('MeterRegistry', 'registerMeter', [meter, host, firmwareHash]);
  }
  async revokeMeter(meter: string): Promise<Receipt> {
    return this.ownerCall('MeterRegistry', 'revokeMeter', [meter]);
  }
  async updateMeterFirmware(meter: string, firmwareHash: string): Promise<Receipt> {
    return this.ownerCall('MeterRegistry', 'updateMeterFirmware', [meter, firmwareHash]);
  }
  async setFirmwareApproval(firmwareHash: string, approved: boolean): Promise<Receipt> {
    return this.ownerCall('MeterRegistry', 'setFirmwareApproval', [firmwareHash, approved]);
  }
  /** Publishes a new tariff version; returns the version number. */
  async setTariff(t: Tariff): Promise<{ version: number; receipt: Receipt }> {
    const problems = tariffProblems(t);
    if (problems.length > 0) {
      const { InputError } = await import('../core/errors.js');
      throw new InputError(`invalid tariff:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    }
    const receipt = await this.ownerCall('TariffRegistry', 'setTariff', [tariffToAbi(t)], 2_000_000n);
    return { version: await this.currentTariffVersion(), receipt };
  }
  /** Anchors a report hash (bytes32) with its verdict (1 PASS … 5 NOT RUN) under the run id. */
  async anchorReport(runId: string, reportHash: string, verdict: number): Promise<Receipt> {
    return this.ownerCall('ReportAnchor', 'anchor', [runKey(runId), zeroPadValue(reportHash, 32), verdict]);
  }

  static batchOf(records: BillingRecord[]): BillingBatch {
    return billingBatchOf(records);
  }
}

/**
 * Arguments of BillingLedger.submitBatch: meter, first sequence and host once, then per record only what differs.
 * A batch whose records are not consecutive or mix meters or hosts cannot match its signature on chain.
 */
export function batchCallArgs(batch: SignedBillingBatch): unknown[] {
  const first = batch.records[0]!;
  const entries = batch.records.map((r) => ({
    payer: r.payer,
    start: r.start,
    end: r.end,
    importMilliWh: r.importMilliWh,
    exportMilliWh: r.exportMilliWh,
    costMicro: r.costMicro,
    tariffVersion: r.tariffVersion,
    loadClass: r.loadClass,
    attributed: r.attributed,
    version: r.version,
    bandMilliWh: r.bandMilliWh,
    stationKey: r.stationKey ?? ZeroHash,
    ocmfHash: r.ocmfHash ?? ZeroHash,
  }));
  return [first.meter, first.seq, first.host, entries, batch.signature];
}

/** The record as the contract's struct: versions 1 and 2 carry zero words for the station fields only version 3 has. */
export function recordToAbi(r: BillingRecord): BillingRecord {
  return { ...r, stationKey: r.stationKey ?? ZeroHash, ocmfHash: r.ocmfHash ?? ZeroHash };
}

/** bytes32 key of a run id in the ReportAnchor. */
export function runKey(runId: string): string {
  return keccak256(toUtf8Bytes(runId));
}

export function assertLanded(results: readonly SubmitResult[]): void {
  const bad = results.find((r) => r.status === 'rejected');
  if (bad)
    throw new RigError(`record ${bad.meter}#${bad.seq} rejected: ${bad.revert?.text}`, {
      code: 'TX_REVERTED',
      device: 'ledger',
    });
}
