/**
 * The ledger on an embedded (in-process) Ganache: contracts agree with the TypeScript side, records land and read
 * back, gas goals hold, and every attack is a real transaction that reverts with the contract's custom error and
 * is flagged by the verifier.
 */
import { format } from 'node:util';
import createDebug from 'debug';
import { HDNodeWallet, TypedDataEncoder, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BillingRecord,
  billingDomain,
  billingRecordHash,
  loadClassId,
  pseudonym,
  RECORD_VERSION_BANDS,
  RECORD_VERSION_STATION,
  type SignedBillingRecord,
  signBillingBatch,
  signBillingRecord,
} from '../../../billing/billing-record.js';
import { merkleRoot } from '../../../billing/merkle.js';
import { computeCostMicro, defaultTariff, spreadBandMilliWh } from '../../../billing/tariff.js';
import { RigError } from '../../../core/errors.js';
import { type Chain, connectChain, DEFAULT_MNEMONIC, startEmbeddedChain } from '../../../ledger/chain.js';
import { LedgerClient, recordToAbi, type SubmitResult } from '../../../ledger/client.js';
import { contractInterface, type Deployment, deployLedger, LedgerRevertError } from '../../../ledger/contracts.js';
import { scanLedger } from '../../../ledger/logs.js';
import { verifyLedger } from '../../../ledger/verify-chain.js';

// Everything the ledger code logs goes here, to be scanned for secrets at the end.
const logs: string[] = [];
createDebug.enable('bench:*');
createDebug.log = (...args: unknown[]) => logs.push(format(...args));
const outputs: string[] = [];
const keep = (x: unknown) =>
  outputs.push(typeof x === 'string' ? x : JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));

const FIRMWARE = `0x${'f1'.repeat(32)}`;
const BAD_FIRMWARE = `0x${'0b'.repeat(32)}`;
const salt = 'integration-salt';
const host = pseudonym('house-1', salt);
const T0 = BigInt(Date.UTC(2026, 0, 5, 9) / 1000);
const tariff = defaultTariff();
const STATION_FIELDS = { stationKey: `0x${'5a'.repeat(32)}`, ocmfHash: `0x${'0c'.repeat(32)}` };

let chain: Chain;
let deployment: Deployment;
let client: LedgerClient;
let domain: ReturnType<typeof billingDomain>;
const meterKeys: string[] = [];

function newMeter(): HDNodeWallet {
  const w = Wallet.createRandom();
  meterKeys.push(w.privateKey);
  return w;
}

function record(meter: string, seq: bigint, over: Partial<BillingRecord> = {}): BillingRecord {
  const r = {
    meter,
    seq,
    payer: pseudonym('ev-owner-1', salt),
    host,
    start: T0 + seq * 7200n,
    end: T0 + seq * 7200n + 3600n,
    importMilliWh: 7_000_000n + seq,
    exportMilliWh: seq % 4n === 0n ? 250_000n : 0n,
    costMicro: 0n,
    tariffVersion: 1n,
    loadClass: loadClassId('ev-1ph-7.4kw'),
    attributed: true,
    ...over,
  };
  // The current form (version 2): the energy in each band as if drawn evenly over the session.
  const bands = { version: RECORD_VERSION_BANDS, bandMilliWh: spreadBandMilliWh(tariff, r) };
  const full = { ...r, ...bands, ...over };
  return { ...full, costMicro: over.costMicro ?? computeCostMicro(tariff, full) };
}

async function registered(opts: { firmware?: string } = {}): Promise<HDNodeWallet> {
  const m = newMeter();
  await client.registerMeter(m.address, host, opts.firmware ?? FIRMWARE);
  return m;
}

async function submitOne(signed: SignedBillingRecord): Promise<SubmitResult> {
  const [r] = await client.submitRecords([signed]);
  keep(r);
  return r!;
}

/** A registered meter with `singles` records landed one by one, then `batched` more in one Merkle batch. */
async function landedSinglesAndBatch(singles: number, batched: number): Promise<HDNodeWallet> {
  const m = await registered();
  const signed = [];
  for (let i = 1n; i <= BigInt(singles); i++) signed.push(await signBillingRecord(m, domain, record(m.address, i)));
  const results = await client.submitRecords(signed);
  const batch = Array.from({ length: batched }, (_, i) => record(m.address, BigInt(singles + i + 1)));
  results.push(await client.submitBatch(await signBillingBatch(m, domain, batch)));
  expect(results.every((r) => r.status === 'landed')).toBe(true);
  return m;
}

async function receiptStatus(txHash: string): Promise<number> {
  const r = await chain.send<{ status: string }>('eth_getTransactionReceipt', [txHash]);
  return Number(r.status);
}

beforeAll(async () => {
  chain = await startEmbeddedChain();
  deployment = await deployLedger(chain);
  client = await LedgerClient.create(chain, deployment);
  domain = billingDomain(chain.chainId, deployment.contracts.BillingLedger);
  await client.setFirmwareApproval(FIRMWARE, true);
});

afterAll(async () => {
  await chain?.close();
});

describe('embedded Ganache', () => {
  it('runs chainId 1337 with deterministic accounts from the mnemonic', async () => {
    expect(chain.chainId).toBe(1337n);
    expect(await chain.address(0)).toBe(HDNodeWallet.fromPhrase(DEFAULT_MNEMONIC).address);
    expect(deployment.owner).toBe(await chain.address(0));
  });

  it('hashes records and the domain exactly like the TypeScript side', async () => {
    const iface = contractInterface('BillingLedger');
    const r = record(Wallet.createRandom().address, 7n, { costMicro: -5n });
    const call = async (fn: string, args: unknown[]) =>
      iface.decodeFunctionResult(
        fn,
        await chain.send<string>('eth_call', [
          {
            to: deployment.contracts.BillingLedger,
            data: iface.encodeFunctionData(
              fn,
              args.map((a) => (typeof a === 'object' && a && 'seq' in a ? recordToAbi(a as BillingRecord) : a)),
            ),
          },
          'latest',
        ]),
      )[0];
    expect(await call('hashRecord', [r])).toBe(billingRecordHash(r));
    expect(await call('domainSeparator', [])).toBe(TypedDataEncoder.hashDomain(domain));
    // Both record forms, and band arrays of every length a tariff can have.
    const v1 = record(r.meter, 8n, { version: 1, bandMilliWh: [] });
    expect(await call('hashRecord', [v1])).toBe(billingRecordHash(v1));
    for (const n of [1, 2, 16]) {
      const bands = Array.from({ length: n }, (_, i) => BigInt(i * 1_000_003 + 1));
      const importMilliWh = bands.reduce((a, b) => a + b, 0n);
      // Not priced: the default tariff has 3 bands; the hash is what is compared.
      const rn = record(r.meter, 9n, { bandMilliWh: bands, importMilliWh, costMicro: 0n });
      expect(await call('hashRecord', [rn])).toBe(billingRecordHash(rn));
    }
    // Version 3, a station's transaction: the station key fingerprint and OCMF digest are hashed too.
    const v3 = record(r.meter, 10n, { version: RECORD_VERSION_STATION, ...STATION_FIELDS });
    expect(await call('hashRecord', [v3])).toBe(billingRecordHash(v3));
    expect(billingRecordHash(v3)).not.toBe(billingRecordHash({ ...v3, ocmfHash: `0x${'77'.repeat(32)}` }));
    // Station fields on another form would reach the log unsigned; an unknown form has no hash.
    await expect(call('hashRecord', [{ ...r, ...STATION_FIELDS }])).rejects.toThrow();
    await expect(call('hashRecord', [{ ...r, version: 4 }])).rejects.toThrow();
  });
});

// Each test registers its own meter, so its counts hold whatever ran before it (or with -t, alone).
describe('billing records land and read back', () => {
  it("a station's records (version 3) land singly and batched and read back with their station fields", async () => {
    const m = await registered();
    const station = (seq: bigint) =>
      record(m.address, seq, {
        version: RECORD_VERSION_STATION,
        stationKey: `0x${seq.toString(16).padStart(64, '5')}`,
        ocmfHash: `0x${seq.toString(16).padStart(64, 'c')}`,
      });
    const single = await submitOne(await signBillingRecord(m, domain, station(1n)));
    expect(single.status).toBe('landed');
    // A relayer cannot move the OCMF digest: it is signed.
    const moved = await signBillingRecord(m, domain, station(2n));
    const refused = await submitOne({ ...moved, record: { ...moved.record, ocmfHash: `0x${'99'.repeat(32)}` } });
    expect(refused.revert?.name).toBe('InvalidSignature');
    const batch = await client.submitBatch(await signBillingBatch(m, domain, [station(2n), station(3n), station(4n)]));
    expect(batch.status).toBe('landed');
    const scan = await scanLedger(chain, deployment, { fromBlock: single.blockNumber });
    const mine = scan.records.filter((l) => l.record.meter === m.address);
    expect(mine.map((l) => billingRecordHash(l.record))).toEqual(
      [1n, 2n, 3n, 4n].map((s) => billingRecordHash(station(s))),
    );
    expect(mine[3]!.record.ocmfHash).toBe(station(4n).ocmfHash);
    const v = verifyLedger(chain, deployment, { fromBlock: single.blockNumber });
    expect((await v).issues.filter((i) => i.meter.toLowerCase() === m.address.toLowerCase())).toEqual([]);
  });

  it('single records: landed, steady-state gas <= 60,000', async () => {
    const meter = await registered();
    const results: SubmitResult[] = [];
    const signed = [];
    for (let i = 1n; i <= 4n; i++) signed.push(await signBillingRecord(meter, domain, record(meter.address, i)));
    results.push(...(await client.submitRecords(signed)));
    expect(results.map((r) => r.status)).toEqual(['landed', 'landed', 'landed', 'landed']);
    for (const r of results.slice(1)) expect(r.gasUsed).toBeLessThanOrEqual(60_000n);
    expect(await client.lastSeq(meter.address)).toBe(4n);
  });

  it('a Merkle batch of 100: one transaction, <= 8,000 gas per record, root equal to the TypeScript root', async () => {
    const meter = await registered();
    const records = Array.from({ length: 100 }, (_, i) => record(meter.address, BigInt(i + 1)));
    const batch = await signBillingBatch(meter, domain, records);
    const r = await client.submitBatch(batch);
    expect(r.status).toBe('landed');
    expect(Number(r.gasUsed) / 100).toBeLessThanOrEqual(8_000);
    const scan = await scanLedger(chain, deployment, { fromBlock: r.blockNumber, toBlock: r.blockNumber });
    expect(scan.batches).toHaveLength(1);
    expect(scan.batches[0]!.root).toBe(merkleRoot(records.map(billingRecordHash)));
    expect(scan.records.map((l) => l.record)).toEqual(records);
  });

  it('batches of 1, 2, 3 and 7 records give the same root on chain', async () => {
    const m = await registered();
    let seq = 1n;
    for (const n of [1, 2, 3, 7]) {
      const records = Array.from({ length: n }, () => record(m.address, seq++));
      const r = await client.submitBatch(await signBillingBatch(m, domain, records));
      const scan = await scanLedger(chain, deployment, { fromBlock: r.blockNumber, toBlock: r.blockNumber });
      expect(scan.batches[0]!.root).toBe(merkleRoot(records.map(billingRecordHash)));
    }
  });

  it('the verifier reads everything back by block range and finds it all genuine', async () => {
    const meter = await landedSinglesAndBatch(4, 20);
    const v = await verifyLedger(chain, deployment, { meter: meter.address });
    keep(v);
    expect(v.issues).toEqual([]);
    expect(v.counts.verified).toBe(24);
    // Resumable: two halves give the same records as one pass.
    const all = await scanLedger(chain, deployment, {});
    const mid = Math.floor((all.fromBlock + all.toBlock) / 2);
    const a = await scanLedger(chain, deployment, { toBlock: mid, chunkSize: 3 });
    const b = await scanLedger(chain, deployment, { fromBlock: a.nextBlock });
    expect([...a.records, ...b.records].map((l) => l.record)).toEqual(all.records.map((l) => l.record));
  });

  it('a resubmitted record is refused by the sequence guard and reported as already landed, never twice', async () => {
    const meter = await landedSinglesAndBatch(4, 20);
    const again = await signBillingRecord(meter, domain, record(meter.address, 2n));
    const r = await submitOne(again);
    expect(r.status).toBe('already-landed');
    expect(r.revert?.name).toBe('SequenceMismatch');
    expect(await receiptStatus(r.txHash)).toBe(0);
    const v = await verifyLedger(chain, deployment, { meter: meter.address });
    expect(v.counts.duplicates).toBe(0);
    expect(v.counts.landed).toBe(24);
  });

  it('a lost response is retried with the same signed bytes: the record lands exactly once', async () => {
    const m = await registered();
    let dropped = false;
    const flaky: Chain = {
      ...chain,
      send: async <T>(method: string, params: unknown[]): Promise<T> => {
        const out = await chain.send<T>(method, params);
        if (method === 'eth_sendRawTransaction' && !dropped) {
          dropped = true;
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        }
        return out;
      },
    };
    const flakyClient = await LedgerClient.create(flaky, deployment);
    const r1 = await flakyClient.submitRecord(await signBillingRecord(m, domain, record(m.address, 1n)));
    expect(dropped).toBe(true);
    expect(r1.status).toBe('landed');
    const r2 = await flakyClient.submitRecord(await signBillingRecord(m, domain, record(m.address, 2n)));
    expect(r2.status).toBe('landed');
    const scan = await scanLedger(chain, deployment, { meter: m.address });
    expect(scan.records.map((l) => l.record.seq)).toEqual([1n, 2n]);
  });
});

describe('security: every attack is a real transaction that reverts, and the verifier flags it', () => {
  it('forged signature', async () => {
    const m = await registered();
    const forger = newMeter();
    const forged = await signBillingRecord(forger, domain, record(m.address, 1n));
    const r = await submitOne(forged);
    expect(r.status).toBe('rejected');
    expect(r.revert?.name).toBe('InvalidSignature');
    expect(r.revert?.args.recovered).toBe(forger.address);
    expect(await receiptStatus(r.txHash)).toBe(0);
    const v = await verifyLedger(chain, deployment, {
      meter: m.address,
      observed: [forged],
      submissions: [{ ...r, reason: r.revert?.text }],
    });
    expect(v.counts).toMatchObject({ forged: 1, missing: 1, rejected: 1, landed: 0 });
  });

  it('replayed record (the same signed record submitted again)', async () => {
    const m = await registered();
    const s1 = await signBillingRecord(m, domain, record(m.address, 1n));
    expect((await submitOne(s1)).status).toBe('landed');
    const replay = await submitOne(s1);
    expect(replay.revert?.name).toBe('SequenceMismatch');
    expect(replay.revert?.args).toMatchObject({ expected: '2', seq: '1' });
    expect(await receiptStatus(replay.txHash)).toBe(0);
    // A second, different record under the same sequence number is refused too; the verifier flags the meter.
    const clash = await signBillingRecord(m, domain, record(m.address, 1n, { importMilliWh: 1n, costMicro: 0n }));
    const rc = await submitOne(clash);
    expect(rc.status).toBe('rejected');
    expect(rc.revert?.name).toBe('SequenceMismatch');
    const v = await verifyLedger(chain, deployment, { meter: m.address, observed: [s1, s1, clash] });
    expect(v.counts.landed).toBe(1);
    expect(v.counts.duplicates).toBe(1);
  });

  it('sequence gap', async () => {
    const m = await registered();
    const s1 = await signBillingRecord(m, domain, record(m.address, 1n));
    const s3 = await signBillingRecord(m, domain, record(m.address, 3n));
    expect((await submitOne(s1)).status).toBe('landed');
    const r = await submitOne(s3);
    expect(r.status).toBe('rejected');
    expect(r.revert).toMatchObject({ name: 'SequenceMismatch', args: { expected: '2', seq: '3' } });
    const v = await verifyLedger(chain, deployment, {
      meter: m.address,
      observed: [s1, s3],
      submissions: [{ meter: m.address, seq: 3n, status: 'rejected', reason: r.revert?.text }],
    });
    expect(v.counts).toMatchObject({ missing: 1, rejected: 1, landed: 1, verified: 1 });
  });

  it('tampered energy (the relayer changes a signed record)', async () => {
    const m = await registered();
    const genuine = await signBillingRecord(m, domain, record(m.address, 1n));
    const tampered = {
      record: { ...genuine.record, importMilliWh: genuine.record.importMilliWh / 2n },
      signature: genuine.signature,
    };
    const r = await submitOne(tampered);
    expect(r.status).toBe('rejected');
    expect(r.revert?.name).toBe('InvalidSignature');
    const v = await verifyLedger(chain, deployment, { meter: m.address, observed: [genuine] });
    expect(v.counts).toMatchObject({ missing: 1, landed: 0 });
    const asSubmitted = await verifyLedger(chain, deployment, { meter: m.address, observed: [tampered] });
    expect(asSubmitted.counts.forged).toBe(1);
  });

  it('tampered band energy (the relayer moves energy out of the peak band, same total)', async () => {
    const m = await registered();
    // 16:00–18:00 on a Monday: half in the day band, half in the evening peak.
    const start = T0 + 7n * 3600n;
    const genuine = await signBillingRecord(
      m,
      domain,
      record(m.address, 1n, {
        start,
        end: start + 7200n,
        importMilliWh: 7_400_001n,
        bandMilliWh: [0n, 3_700_000n, 3_700_001n],
      }),
    );
    const cheaper = { ...genuine.record, bandMilliWh: [0n, 7_400_001n, 0n] };
    const tampered = {
      record: { ...cheaper, costMicro: computeCostMicro(tariff, cheaper) },
      signature: genuine.signature,
    };
    const r = await submitOne(tampered);
    expect(r.status).toBe('rejected');
    expect(r.revert?.name).toBe('InvalidSignature');
    const asSubmitted = await verifyLedger(chain, deployment, { meter: m.address, observed: [tampered] });
    expect(asSubmitted.counts.forged).toBe(1);
    // The genuine record lands and verifies, its cost priced from its own bands.
    expect((await submitOne(genuine)).status).toBe('landed');
    const v = await verifyLedger(chain, deployment, { meter: m.address, observed: [genuine] });
    expect(v.issues).toEqual([]);
    expect(v.counts.verified).toBe(1);
  });

  it('band energies that do not add up to the import are refused on chain, single and batched', async () => {
    const m = await registered();
    const bad = record(m.address, 1n, { bandMilliWh: [1n, 2n, 3n], costMicro: 0n });
    const r = await submitOne(await signBillingRecord(m, domain, bad));
    expect(r.revert).toMatchObject({
      name: 'BandEnergy',
      args: { sum: '6', importMilliWh: bad.importMilliWh.toString() },
    });
    const legacy = record(m.address, 1n, { version: 1, bandMilliWh: [] });
    // A version-2 record with no band energies at all, batched after a legacy one.
    const batch = await signBillingBatch(m, domain, [
      legacy,
      record(m.address, 2n, { bandMilliWh: [], costMicro: 0n }),
    ]);
    expect((await client.sendBatch(batch)).revert?.name).toBe('BandEnergy');
    expect(await client.lastSeq(m.address)).toBe(0n);
  });

  it('legacy version-1 records still land and verify, single and in a batch beside version 2', async () => {
    const m = await registered();
    const v1 = (seq: bigint) => record(m.address, seq, { version: 1, bandMilliWh: [] });
    expect((await submitOne(await signBillingRecord(m, domain, v1(1n)))).status).toBe('landed');
    const mixed = await signBillingBatch(m, domain, [v1(2n), record(m.address, 3n), v1(4n)]);
    expect((await client.sendBatch(mixed)).status).toBe('landed');
    const v = await verifyLedger(chain, deployment, { meter: m.address });
    expect(v.issues).toEqual([]);
    expect(v.counts.verified).toBe(4);
    const scan = await scanLedger(chain, deployment, { meter: m.address });
    expect(scan.records.map((l) => l.record.version)).toEqual([1, 1, 2, 1]);
  });

  it('unregistered meter', async () => {
    const m = newMeter();
    const s = await signBillingRecord(m, domain, record(m.address, 1n));
    const r = await submitOne(s);
    expect(r.revert?.name).toBe('MeterNotRegistered');
    const v = await verifyLedger(chain, deployment, { meter: m.address, observed: [s] });
    expect(v.counts).toMatchObject({ unregistered: 1, missing: 1 });
  });

  it('revoked meter', async () => {
    const m = await registered();
    const s1 = await signBillingRecord(m, domain, record(m.address, 1n));
    const s2 = await signBillingRecord(m, domain, record(m.address, 2n));
    expect((await submitOne(s1)).status).toBe('landed');
    await client.revokeMeter(m.address);
    const r = await submitOne(s2);
    expect(r.revert?.name).toBe('MeterIsRevoked');
    const v = await verifyLedger(chain, deployment, { meter: m.address, observed: [s1, s2] });
    expect(v.counts).toMatchObject({ revoked: 1, missing: 1, landed: 1 });
    await expect(client.revokeMeter(m.address)).rejects.toMatchObject({ revert: { name: 'MeterAlreadyRevoked' } });
  });

  it('unattested firmware (and a withdrawn attestation)', async () => {
    const m = await registered({ firmware: BAD_FIRMWARE });
    const s1 = await signBillingRecord(m, domain, record(m.address, 1n));
    const r = await submitOne(s1);
    expect(r.revert?.name).toBe('FirmwareNotAttested');
    const v = await verifyLedger(chain, deployment, { meter: m.address, observed: [s1] });
    expect(v.counts).toMatchObject({ unattested: 1, missing: 1 });
    const fw = `0x${'5a'.repeat(32)}`;
    const m2 = await registered({ firmware: fw });
    await client.setFirmwareApproval(fw, true);
    expect((await submitOne(await signBillingRecord(m2, domain, record(m2.address, 1n)))).status).toBe('landed');
    await client.setFirmwareApproval(fw, false);
    const r2 = await submitOne(await signBillingRecord(m2, domain, record(m2.address, 2n)));
    expect(r2.revert?.name).toBe('FirmwareNotAttested');
  });

  it('a record naming another host than the one registered', async () => {
    const m = await registered();
    const r = await submitOne(
      await signBillingRecord(m, domain, record(m.address, 1n, { host: pseudonym('house-2', salt) })),
    );
    expect(r.revert?.name).toBe('HostMismatch');
  });

  it('non-owner registering a meter, revoking, attesting firmware or changing a tariff', async () => {
    const tariffVersion = await client.currentTariffVersion();
    const outsider = await LedgerClient.create(chain, deployment, await chain.account(3));
    const attempts: Array<Promise<unknown>> = [
      outsider.registerMeter(Wallet.createRandom().address, host, FIRMWARE),
      outsider.setFirmwareApproval(BAD_FIRMWARE, true),
      outsider.setTariff({ ...tariff, bandPrices: [1n, 1n, 1n] }),
      outsider.anchorReport('run-x', `0x${'aa'.repeat(32)}`, 1),
    ];
    for (const a of attempts) {
      const err = await a.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LedgerRevertError);
      expect(err).toBeInstanceOf(RigError);
      expect((err as LedgerRevertError).exitCode).toBe(3);
      expect((err as LedgerRevertError).revert.name).toBe('OwnableUnauthorizedAccount');
      expect(await receiptStatus((err as LedgerRevertError).txHash!)).toBe(0);
      keep((err as LedgerRevertError).toJSON());
      keep((err as Error).message);
    }
    expect(await client.currentTariffVersion()).toBe(tariffVersion);
  });

  it('batches: forged signature, a foreign record, a gap inside, a replayed batch', async () => {
    const m = await registered();
    const other = await registered();
    const recs = [1n, 2n, 3n].map((s) => record(m.address, s));
    const forged = await signBillingBatch(newMeter(), domain, recs);
    const r1 = await client.sendBatch(forged);
    expect(r1.revert?.name).toBe('InvalidSignature');
    expect(await receiptStatus(r1.txHash)).toBe(0);
    // Meter, host and first sequence are stated once per batch: a record of another meter or a gap inside the
    // batch changes the leaves the contract rebuilds, so the meter's signature no longer matches.
    const mixed = await signBillingBatch(m, domain, [recs[0]!, record(other.address, 2n)]);
    expect((await client.sendBatch(mixed)).revert?.name).toBe('InvalidSignature');
    const gap = await signBillingBatch(m, domain, [recs[0]!, recs[2]!]);
    expect((await client.sendBatch(gap)).revert?.name).toBe('InvalidSignature');
    await expect(client.submitBatch(forged)).rejects.toBeInstanceOf(LedgerRevertError);
    expect(await client.lastSeq(m.address)).toBe(0n);
    const good = await signBillingBatch(m, domain, recs);
    expect((await client.sendBatch(good)).status).toBe('landed');
    const replay = await client.sendBatch(good);
    expect(replay.status).toBe('already-landed');
    expect(replay.revert).toMatchObject({ name: 'SequenceMismatch', args: { expected: '4', seq: '1' } });
    const v = await verifyLedger(chain, deployment, { meter: m.address });
    expect(v.counts).toMatchObject({ landed: 3, verified: 3, duplicates: 0 });
  });
});

describe('tariffs and report anchors', () => {
  it('publishes tariff versions; the verifier recomputes costs with the version a record names', async () => {
    const t2 = { ...tariff, bandPrices: [100_000n, 200_000n, 300_000n], utcOffsetSeconds: 3600 };
    const before = await client.currentTariffVersion();
    const { version } = await client.setTariff(t2);
    expect(version).toBe(before + 1);
    expect(await client.tariff(version)).toEqual(t2);
    expect(await client.tariff(1)).toEqual(tariff);
    await expect(client.setTariff({ ...t2, schedule: [0] })).rejects.toThrow(/schedule: 1 entries/);
    const m = await registered();
    const ok = record(m.address, 1n, { tariffVersion: BigInt(version), costMicro: 0n });
    const good = await signBillingRecord(m, domain, { ...ok, costMicro: computeCostMicro(t2, ok) });
    const wrong = await signBillingRecord(m, domain, record(m.address, 2n, { tariffVersion: BigInt(version) }));
    await client.submitRecords([good, wrong]);
    const v = await verifyLedger(chain, deployment, { meter: m.address });
    expect(v.issues.map((i) => [i.kind, i.seq])).toEqual([['cost-mismatch', '2']]);
  });

  it('anchors a report hash once per run', async () => {
    const hash = `0x${'c3'.repeat(32)}`;
    await client.anchorReport('20261124-120000-abcdef', hash, 1);
    expect(await client.anchorOf('20261124-120000-abcdef')).toMatchObject({ reportHash: hash, verdict: 1 });
    await expect(client.anchorReport('20261124-120000-abcdef', hash, 1)).rejects.toMatchObject({
      revert: { name: 'AlreadyAnchored' },
    });
  });
});

describe('errors', () => {
  it('an unreachable chain is a RigError (exit 3) naming the endpoint', async () => {
    const err = await connectChain('http://127.0.0.1:9/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RigError);
    expect(err).toMatchObject({ code: 'CHAIN_UNREACHABLE', exitCode: 3 });
    keep((err as Error).message);
  });

  it('no private key or mnemonic appears in logs, results or error messages', async () => {
    // Traffic of its own (a landed record, a revert, a failed connection) beside whatever the other tests logged.
    const m = await landedSinglesAndBatch(1, 2);
    keep(await submitOne(await signBillingRecord(newMeter(), domain, record(m.address, 4n))));
    keep(((await connectChain('http://127.0.0.1:9/').catch((e: unknown) => e)) as Error).message);
    const outsider = await LedgerClient.create(chain, deployment, await chain.account(3));
    const revert = await outsider.setFirmwareApproval(BAD_FIRMWARE, true).catch((e: unknown) => e);
    keep((revert as LedgerRevertError).toJSON());
    keep((revert as Error).message);
    const relayerKeys = [0, 1, 2, 3].map(
      (i) => HDNodeWallet.fromPhrase(DEFAULT_MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).privateKey,
    );
    const secrets = [...relayerKeys, ...meterKeys, DEFAULT_MNEMONIC];
    const text = [...logs, ...outputs].join('\n');
    expect(logs.length).toBeGreaterThan(0);
    expect(outputs.length).toBeGreaterThanOrEqual(4);
    for (const s of secrets) {
      expect(text).not.toContain(s);
      expect(text).not.toContain(s.replace(/^0x/, ''));
    }
  });
});
