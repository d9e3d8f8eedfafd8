/**
 * Ledger benchmark, all on one embedded Ganache in one run, so the ratio compares like with like:
 * - raw value transfers: signed locally with explicit nonces, pipelined, until every receipt is in → tx/s;
 * - verified billing records: the same relayer machinery submits meter-signed records in Merkle batches of 100
 *   (the ledger's high-volume path), waits for every receipt, reads them back with eth_getLogs and the batch
 *   calldata and verifies every record (batch signature, Merkle proof, sequence, registry, tariff cost)
 *   → records/s; the ratio records/s ÷ transfers/s (goal ≥ 0.7). The two are measured in alternating rounds (100
 *   transfers, one batch of 100) so that changes in machine load hit both alike;
 * - the same on the single-record path (one transaction per record), printed with its own ratio: Ganache's EVM
 *   runs a ~58k-gas contract call several times slower than a plain transfer, so this path cannot reach 0.7;
 * - gas per single record (steady state, goal ≤ 60,000) and amortised per record in a Merkle batch of 100
 *   (goal ≤ 8,000).
 * Record signing is the meter's work and happens before the clock starts.
 * Run alone: `node dist/perf/ledger.js [records]`.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type HDNodeWallet, Wallet } from 'ethers';
import {
  type BillingRecord,
  billingDomain,
  loadClassId,
  pseudonym,
  RECORD_VERSION_BANDS,
  type SignedBillingRecord,
  signBillingBatch,
  signBillingRecord,
} from '../billing/billing-record.js';
import { computeCostMicro, defaultTariff } from '../billing/tariff.js';
import { startEmbeddedChain } from '../ledger/chain.js';
import { LedgerClient } from '../ledger/client.js';
import { deployLedger } from '../ledger/contracts.js';
import { scanLedger } from '../ledger/logs.js';
import { TxSender } from '../ledger/tx.js';
import { verifyScan } from '../ledger/verify-chain.js';

export interface LedgerBenchResult {
  transfers: number;
  transferTxPerSec: number;
  records: number;
  verifiedRecordsPerSec: number;
  ratio: number;
  gasFirstRecord: number;
  gasPerRecord: number;
  gasPerRecordBatch100: number;
  singleRecords: number;
  singleVerifiedRecordsPerSec: number;
  singleRatio: number;
  goals: { ratio: boolean; gasPerRecord: boolean; gasPerRecordBatch100: boolean };
}

const FIRMWARE = `0x${'ab'.repeat(32)}`;

export async function benchLedger(
  opts: { records?: number; transfers?: number; singleRecords?: number } = {},
): Promise<LedgerBenchResult> {
  const n = Math.max(100, Math.round((opts.records ?? 300) / 100) * 100);
  const nSingle = opts.singleRecords ?? 100;
  const nTransfers = opts.transfers ?? n;
  const chain = await startEmbeddedChain();
  try {
    const deployment = await deployLedger(chain);
    const client = await LedgerClient.create(chain, deployment);
    const domain = billingDomain(chain.chainId, deployment.contracts.BillingLedger);
    const tariff = defaultTariff();
    const salt = 'bench-perf';
    const host = pseudonym('host-1', salt);
    await client.setFirmwareApproval(FIRMWARE, true);
    const meters = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()];
    for (const m of meters) await client.registerMeter(m.address, host, FIRMWARE);
    const record = (meter: string, seq: number): BillingRecord => {
      const start = 1_767_225_600n + BigInt(seq) * 5400n;
      const importMilliWh = 7_400_000n + BigInt(seq) * 1000n;
      // Version-2 records with energy in every band of the default tariff (the largest record it can give).
      const offPeak = 1_850_000n + BigInt(seq % 11) * 1000n;
      const day = 3_700_000n;
      const r = {
        meter,
        seq: BigInt(seq),
        payer: pseudonym(`ev-owner-${seq % 7}`, salt),
        host,
        start,
        end: start + 3600n + BigInt(seq % 13) * 60n,
        importMilliWh,
        exportMilliWh: seq % 5 === 0 ? 500_000n : 0n,
        costMicro: 0n,
        tariffVersion: 1n,
        loadClass: loadClassId('ev-1ph-7.4kw'),
        attributed: seq % 3 !== 0,
        version: RECORD_VERSION_BANDS,
        bandMilliWh: [offPeak, day, importMilliWh - offPeak - day],
      };
      return { ...r, costMicro: computeCostMicro(tariff, r) };
    };

    // Gas: a meter's first record (sequence slot written from zero), then the steady state.
    const [gasMeter, batchMeter, rateMeter, singleMeter] = meters as [
      HDNodeWallet,
      HDNodeWallet,
      HDNodeWallet,
      HDNodeWallet,
    ];
    const first = await client.submitRecord(await signBillingRecord(gasMeter, domain, record(gasMeter.address, 1)));
    const second = await client.submitRecord(await signBillingRecord(gasMeter, domain, record(gasMeter.address, 2)));
    const third = await client.submitRecord(await signBillingRecord(gasMeter, domain, record(gasMeter.address, 3)));
    const gasPerRecord = Number((second.gasUsed + third.gasUsed) / 2n);
    // Batch: the meter's first record goes single (so the batch pays the steady-state sequence write), then 100.
    await client.submitRecord(await signBillingRecord(batchMeter, domain, record(batchMeter.address, 1)));
    const batchRecords = Array.from({ length: 100 }, (_, i) => record(batchMeter.address, i + 2));
    const batchSigned = await signBillingBatch(batchMeter, domain, batchRecords);
    const batch = await client.submitBatch(batchSigned);
    const batchScan = await scanLedger(chain, deployment, { fromBlock: batch.blockNumber, toBlock: batch.blockNumber });
    const batchCheck = await verifyScan(chain, deployment, batchScan, {});
    if (!batchCheck.ok || batchCheck.counts.landed !== 100)
      throw new Error('batch verification failed in the benchmark');
    const gasPerRecordBatch100 = Number(batch.gasUsed) / 100;

    // Raw value transfers (from account 1) and verified batched records, measured in alternating rounds so that
    // drift in machine load affects both sides alike.
    const payer = await TxSender.create(chain, await chain.account(1));
    const to = await chain.address(2);
    const rounds = n / 100;
    const perRound = Math.max(1, Math.round(nTransfers / rounds));
    let transferSecs = 0;
    let recordSecs = 0;
    let verified = 0;
    for (let round = 0; round < rounds; round++) {
      const t0 = performance.now();
      const hashes: string[] = [];
      for (let i = 0; i < perRound; i++)
        hashes.push(await payer.send({ to, data: '0x', gasLimit: 21_000n, value: 1n }));
      for (const h of hashes) {
        const r = await payer.wait(h);
        if (r.status !== 1) throw new Error('a value transfer failed');
      }
      transferSecs += (performance.now() - t0) / 1000;

      // Signing is the meter's job and happens before the clock starts.
      const recs = Array.from({ length: 100 }, (_, i) => record(rateMeter.address, round * 100 + i + 1));
      const signedBatch = await signBillingBatch(rateMeter, domain, recs);
      const t1 = performance.now();
      const landed = await client.submitBatch(signedBatch);
      const scan = await scanLedger(chain, deployment, { fromBlock: landed.blockNumber, meter: rateMeter.address });
      const check = await verifyScan(chain, deployment, scan, { observed: [] });
      recordSecs += (performance.now() - t1) / 1000;
      if (!check.ok || check.counts.verified !== 100) {
        throw new Error(`batched billing verification failed in the benchmark: ${JSON.stringify(check.counts)}`);
      }
      verified += check.counts.verified;
    }

    // The same on the single-record path (one transaction per record, pipelined).
    const signed: SignedBillingRecord[] = [];
    for (let i = 1; i <= nSingle; i++)
      signed.push(await signBillingRecord(singleMeter, domain, record(singleMeter.address, i)));
    const fromBlock2 = (await client.blockNumber()) + 1;
    const t2 = performance.now();
    const results = await client.submitRecords(signed);
    const scan2 = await scanLedger(chain, deployment, { fromBlock: fromBlock2, meter: singleMeter.address });
    const check2 = await verifyScan(chain, deployment, scan2, { observed: signed });
    const singleSecs = (performance.now() - t2) / 1000;
    if (results.some((r) => r.status !== 'landed') || !check2.ok || check2.counts.verified !== nSingle) {
      throw new Error(`single-path billing verification failed in the benchmark: ${JSON.stringify(check2.counts)}`);
    }

    const transferTxPerSec = (perRound * rounds) / transferSecs;
    const verifiedRecordsPerSec = verified / recordSecs;
    const ratio = verifiedRecordsPerSec / transferTxPerSec;
    const out: LedgerBenchResult = {
      transfers: perRound * rounds,
      transferTxPerSec: round(transferTxPerSec),
      records: n,
      verifiedRecordsPerSec: round(verifiedRecordsPerSec),
      ratio: round(ratio, 3),
      gasFirstRecord: Number(first.gasUsed),
      gasPerRecord,
      gasPerRecordBatch100,
      singleRecords: nSingle,
      singleVerifiedRecordsPerSec: round(nSingle / singleSecs),
      singleRatio: round(nSingle / singleSecs / transferTxPerSec, 3),
      goals: {
        ratio: ratio >= 0.7,
        gasPerRecord: gasPerRecord <= 60_000,
        gasPerRecordBatch100: gasPerRecordBatch100 <= 8_000,
      },
    };
    const mark = (ok: boolean) => (ok ? 'ok' : 'MISSED');
    console.log(
      `raw value transfers        ${out.transferTxPerSec} tx/s (${out.transfers} pipelined, ${rounds} rounds)`,
    );
    console.log(
      `verified billing records   ${out.verifiedRecordsPerSec} records/s (${n} in Merkle batches of 100: submit + mine + read back + verify)`,
    );
    console.log(`ratio records/transfers    ${out.ratio} (goal >= 0.7: ${mark(out.goals.ratio)})`);
    console.log(
      `gas per single record      ${gasPerRecord} (first record of a meter ${out.gasFirstRecord}; goal <= 60000: ${mark(out.goals.gasPerRecord)})`,
    );
    console.log(
      `gas per record, batch 100  ${gasPerRecordBatch100} (goal <= 8000: ${mark(out.goals.gasPerRecordBatch100)})`,
    );
    console.log(
      `single-record path         ${out.singleVerifiedRecordsPerSec} records/s (${nSingle}, one tx each), ratio ${out.singleRatio}`,
    );
    return out;
  } finally {
    await chain.close();
  }
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const records = process.argv[2] ? Number(process.argv[2]) : undefined;
  await benchLedger({ records });
}
