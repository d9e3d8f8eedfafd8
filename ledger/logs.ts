/**
 * Reading the ledger back: eth_getLogs over block ranges (no long-lived filters, so a node restart loses nothing),
 * resumable from any block. Batch events are expanded into their records from the transaction's calldata, with
 * the Merkle proof of each record against the batch root.
 */
import { getAddress, type LogDescription, toQuantity, zeroPadValue } from 'ethers';
import { type BillingRecord, billingRecordHash, RECORD_VERSION_STATION } from '../billing/billing-record.js';
import type { LandedBatch, LandedRecord } from '../billing/landed.js';
import { merkleLevels, merkleProof } from '../billing/merkle.js';
import { RigError } from '../core/errors.js';
import type { Chain } from './chain.js';
import { contractInterface, type Deployment } from './contracts.js';
import { withTransportRetry } from './retry.js';

export interface LedgerScan {
  fromBlock: number;
  toBlock: number;
  /** Resume point: pass as fromBlock next time. */
  nextBlock: number;
  records: LandedRecord[];
  batches: LandedBatch[];
}

export interface ScanOptions {
  fromBlock?: number;
  /** Inclusive; default the latest block at the start of the scan. */
  toBlock?: number;
  meter?: string;
  /** Blocks per eth_getLogs request. */
  chunkSize?: number;
  retries?: number;
  retryDelayMs?: number;
  onChunk?: (done: { toBlock: number; records: number }) => void;
}

interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  transactionHash: string;
  logIndex: string;
}

export function recordFromAbi(r: BillingRecord | Record<string, unknown>): BillingRecord {
  const o = r as Record<string, unknown>;
  return {
    meter: getAddress(String(o.meter)),
    seq: BigInt(o.seq as bigint),
    payer: String(o.payer).toLowerCase(),
    host: String(o.host).toLowerCase(),
    start: BigInt(o.start as bigint),
    end: BigInt(o.end as bigint),
    importMilliWh: BigInt(o.importMilliWh as bigint),
    exportMilliWh: BigInt(o.exportMilliWh as bigint),
    costMicro: BigInt(o.costMicro as bigint),
    tariffVersion: BigInt(o.tariffVersion as bigint),
    loadClass: String(o.loadClass).toLowerCase(),
    attributed: Boolean(o.attributed),
    version: Number(o.version),
    bandMilliWh: Array.from(o.bandMilliWh as ArrayLike<bigint>, (e) => BigInt(e)),
    // Versions 1 and 2 carry zero words here (the contract refuses anything else); only version 3 names them.
    ...(Number(o.version) === RECORD_VERSION_STATION
      ? { stationKey: String(o.stationKey).toLowerCase(), ocmfHash: String(o.ocmfHash).toLowerCase() }
      : {}),
  };
}

/** Reads every BillingRecorded and BatchRecorded event in [fromBlock, toBlock]. */
export async function scanLedger(chain: Chain, deployment: Deployment, opts: ScanOptions = {}): Promise<LedgerScan> {
  const retries = opts.retries ?? 20;
  const delay = opts.retryDelayMs ?? 250;
  const rpc = <T>(method: string, params: unknown[]) =>
    withTransportRetry(() => chain.send<T>(method, params), retries, delay);
  const iface = contractInterface('BillingLedger');
  const recorded = iface.getEvent('BillingRecorded')!.topicHash;
  const batched = iface.getEvent('BatchRecorded')!.topicHash;
  const fromBlock = opts.fromBlock ?? deployment.deployedAtBlock;
  const toBlock = opts.toBlock ?? Number(await rpc<string>('eth_blockNumber', []));
  const chunk = Math.max(1, opts.chunkSize ?? 5000);
  const topics: Array<string | string[] | null> = [[recorded, batched]];
  if (opts.meter) topics.push(zeroPadValue(getAddress(opts.meter), 32).toLowerCase());
  const records: LandedRecord[] = [];
  const batches: LandedBatch[] = [];
  for (let start = fromBlock; start <= toBlock; start += chunk) {
    const end = Math.min(toBlock, start + chunk - 1);
    const logs = await rpc<RawLog[]>('eth_getLogs', [
      { address: deployment.contracts.BillingLedger, fromBlock: toQuantity(start), toBlock: toQuantity(end), topics },
    ]);
    for (const log of logs) {
      const pos = { blockNumber: Number(log.blockNumber), txHash: log.transactionHash, logIndex: Number(log.logIndex) };
      let parsed: LogDescription | null;
      try {
        parsed = iface.parseLog({ topics: log.topics, data: log.data });
      } catch {
        parsed = null;
      }
      if (!parsed) continue;
      if (parsed.name === 'BillingRecorded') {
        records.push({ ...pos, record: recordFromAbi(parsed.args.record), signature: String(parsed.args.signature) });
      } else {
        const batch: LandedBatch = {
          ...pos,
          meter: getAddress(parsed.args.meter),
          firstSeq: BigInt(parsed.args.firstSeq),
          count: Number(parsed.args.count),
          root: String(parsed.args.root),
          signature: String(parsed.args.signature),
        };
        batches.push(batch);
        records.push(...(await expandBatch(rpc, deployment, batch)));
      }
    }
    opts.onChunk?.({ toBlock: end, records: records.length });
  }
  return { fromBlock, toBlock, nextBlock: toBlock + 1, records, batches };
}

async function expandBatch(
  rpc: <T>(method: string, params: unknown[]) => Promise<T>,
  deployment: Deployment,
  batch: LandedBatch,
): Promise<LandedRecord[]> {
  const tx = await rpc<{ to: string | null; input: string } | null>('eth_getTransactionByHash', [batch.txHash]);
  const iface = contractInterface('BillingLedger');
  let records: BillingRecord[];
  try {
    if (!tx?.to || getAddress(tx.to) !== getAddress(deployment.contracts.BillingLedger))
      throw new Error('not a direct call');
    const [meter, firstSeq, host, entries] = iface.decodeFunctionData('submitBatch', tx.input);
    records = (entries as Array<{ toObject(): Record<string, unknown> }>).map((e, i) =>
      recordFromAbi({ ...e.toObject(), meter, seq: BigInt(firstSeq) + BigInt(i), host }),
    );
  } catch {
    batch.problem = 'the batch transaction is not a direct submitBatch call; its records cannot be read from calldata';
    return [];
  }
  const leaves = records.map(billingRecordHash);
  const levels = merkleLevels(leaves);
  if (records.length !== batch.count || levels.at(-1)![0]!.toLowerCase() !== batch.root.toLowerCase()) {
    batch.problem = 'the records in the calldata do not hash to the batch root';
    return [];
  }
  return records.map((record, index) => ({
    blockNumber: batch.blockNumber,
    txHash: batch.txHash,
    logIndex: batch.logIndex,
    record,
    batch: {
      root: batch.root,
      index,
      firstSeq: batch.firstSeq,
      count: batch.count,
      signature: batch.signature,
      proof: merkleProof(levels, index),
    },
  }));
}

/** The landed record of `meter` with sequence `seq` (single or batched), if any. */
export async function findLandedRecord(
  chain: Chain,
  deployment: Deployment,
  meter: string,
  seq: bigint,
): Promise<BillingRecord | undefined> {
  const scan = await scanLedger(chain, deployment, { meter });
  return scan.records.find((r) => r.record.seq === seq)?.record;
}

export function assertScanComplete(scan: LedgerScan): void {
  const bad = scan.batches.find((b) => b.problem);
  if (bad) throw new RigError(`batch at ${bad.txHash}: ${bad.problem}`, { code: 'LEDGER_DATA', device: 'ledger' });
}
