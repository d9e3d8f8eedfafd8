import { Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import {
  type BillingRecord,
  billingDomain,
  pseudonym,
  RECORD_VERSION_STATION,
  signBillingRecord,
} from '../../../billing/billing-record.js';
import type { LandedRecord } from '../../../billing/landed.js';
import {
  type StationTransactionLike,
  stationBillingRecord,
  stationEvidence,
  stationRegisters,
} from '../../../billing/station-record.js';
import { defaultTariff } from '../../../billing/tariff.js';
import { verifyBilling } from '../../../billing/verify.js';
import {
  keyFingerprint,
  ocaPublicKey,
  ocmfEvidence,
  ocmfPublicKey,
  ocmfReading,
  ocmfTransactionDigest,
  p256PublicKeyHex,
  parseOcmf,
  signOcmf,
} from '../../../protocols/ocmf.js';

const KEY = 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721';
const OTHER_KEY = '0f'.repeat(32);
const STATION_KEY = ocaPublicKey(ocmfPublicKey(p256PublicKeyHex(KEY)));
/** Monday 2026-01-05 16:30 UTC: band 1 of the default tariff until 17:00, then the peak band 2. */
const BEGIN = Date.UTC(2026, 0, 5, 16, 30) / 1000;
const END = BEGIN + 3600;
const tariff = defaultTariff();
const bench = new Wallet(`0x${'33'.repeat(32)}`);
const domain = billingDomain(1337n, '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0');
const host = pseudonym('STATION-1', 's');
const payer = pseudonym('DE-BEN-C12345678-9', 's');

function signed(pg: number, tx: 'B' | 'E', unix: number, kwh: number, key = KEY) {
  return signOcmf(
    {
      FV: '1.0',
      GI: 'test station',
      PG: `T${pg}`,
      MS: 'M-1',
      IS: true,
      IT: 'EMAID',
      ID: 'DE-BEN-C12345678-9',
      RD: [ocmfReading(unix, tx, kwh)],
    },
    key,
  );
}

/** A transaction 16:30–17:30 at 7.2 kW: signed begin 100 kWh and end 107.2 kWh, meter values every 10 minutes. */
function transaction(over: Partial<StationTransactionLike> = {}): StationTransactionLike {
  return {
    transactionId: 'tx-1',
    station: 'STATION-1',
    stationKey: STATION_KEY,
    signed: [{ data: signed(1, 'B', BEGIN, 100) }, { data: signed(2, 'E', END, 107.2) }],
    samples: Array.from({ length: 7 }, (_, i) => ({ t: BEGIN + i * 600, energyWh: 100_000 + i * 1200 })),
    ...over,
  };
}

function billed(tx: StationTransactionLike, seq = 1n): BillingRecord {
  const evidence = ocmfEvidence(tx.signed, tx.stationKey);
  if (!('digest' in evidence)) throw new Error(evidence.problem);
  return stationBillingRecord({
    meter: bench.address,
    seq,
    payer,
    host,
    tariff,
    tariffVersion: 1,
    evidence,
    registers: stationRegisters(tx.samples),
  });
}

async function verify(records: BillingRecord[], txs: StationTransactionLike[]) {
  const landed: LandedRecord[] = [];
  for (const [i, r] of records.entries()) {
    const s = await signBillingRecord(bench, domain, r);
    landed.push({ blockNumber: i + 1, txHash: `0x${(i + 1).toString(16).padStart(64, '0')}`, logIndex: 0, ...s });
  }
  return verifyBilling({
    domain,
    landed,
    tariffs: new Map([[1, tariff]]),
    stationEvidence: stationEvidence(txs),
  });
}

describe("a charging station's transaction as a billing record (version 3)", () => {
  it('bills the signed energy, split at the tariff change by the station register, naming key and OCMF digest', () => {
    const tx = transaction();
    const r = billed(tx);
    expect(r.version).toBe(RECORD_VERSION_STATION);
    expect(r.importMilliWh).toBe(7_200_000n);
    expect(r.bandMilliWh).toEqual([0n, 3_600_000n, 3_600_000n]);
    expect([r.start, r.end]).toEqual([BigInt(BEGIN), BigInt(END)]);
    expect(r.stationKey).toBe(`0x${keyFingerprint(ocmfPublicKey(STATION_KEY))}`);
    const hashes = tx.signed.map((s) => ({ pg: parseOcmf(s.data).payload.PG, sha256: parseOcmf(s.data).sha256 }));
    expect(r.ocmfHash).toBe(ocmfTransactionDigest(hashes));
    // The digest is the records' in pagination order, however they arrived (an offline queue sends late).
    expect(ocmfTransactionDigest([...hashes].reverse())).toBe(r.ocmfHash);
    // Peak energy at the peak price less the EV incentive: 3.6 kWh × 0.23 + 3.6 kWh × 0.38.
    expect(r.costMicro).toBe(2_196_000n);
  });

  it('keeps the total the signed one when unsigned readings stray outside it', () => {
    const tx = transaction({ samples: [{ t: BEGIN + 1800, energyWh: 250_000 }] });
    const r = billed(tx);
    expect(r.importMilliWh).toBe(7_200_000n);
    expect(r.bandMilliWh).toEqual([0n, 7_200_000n, 0n]);
  });

  it('is no evidence without a valid signature under one key, a begin and an end', () => {
    const bad = (tx: StationTransactionLike) => {
      const e = ocmfEvidence(tx.signed, tx.stationKey);
      return 'problem' in e ? e.problem : undefined;
    };
    const tampered = signed(2, 'E', END, 107.2).replace('107.2', '117.2');
    expect(bad(transaction({ signed: [{ data: signed(1, 'B', BEGIN, 100) }, { data: tampered }] }))).toMatch(
      /record T2: /,
    );
    expect(bad(transaction({ signed: [{ data: signed(1, 'B', BEGIN, 100) }] }))).toMatch(/0 end readings/);
    expect(bad(transaction({ stationKey: undefined }))).toMatch(/no key/);
    const twoKeys = [
      { data: signed(1, 'B', BEGIN, 100), publicKey: STATION_KEY },
      {
        data: signed(2, 'E', END, 107.2, OTHER_KEY),
        publicKey: ocaPublicKey(ocmfPublicKey(p256PublicKeyHex(OTHER_KEY))),
      },
    ];
    expect(bad(transaction({ stationKey: undefined, signed: twoKeys }))).toMatch(/2 different keys/);
    expect(
      bad(transaction({ signed: [{ data: signed(1, 'B', BEGIN, 100) }, { data: signed(2, 'E', END, 99) }] })),
    ).toMatch(/went back/);
  });
});

describe('the ledger verifier checks a station record against the OCMF of the run', () => {
  it('verifies a record billed as signed', async () => {
    const tx = transaction();
    const v = await verify([billed(tx)], [tx]);
    expect(v.issues).toEqual([]);
    expect(v.counts.verified).toBe(1);
  });

  it('flags energy, times, key and band split that are not what the station signed', async () => {
    const tx = transaction();
    const r = billed(tx);
    const kinds = async (over: Partial<BillingRecord>) =>
      (await verify([{ ...r, ...over }], [tx])).issues.map((i) => `${i.kind}: ${i.message}`);
    const moreEnergy = { importMilliWh: 7_300_000n, bandMilliWh: [0n, 3_700_000n, 3_600_000n] };
    expect(await kinds(moreEnergy)).toEqual([
      // The cost of the altered record no longer follows from its bands.
      expect.stringMatching(/cost-mismatch/),
      expect.stringMatching(/evidence-mismatch: .*bills 7300000 mWh, the station signed 7200000 mWh/),
      expect.stringMatching(/evidence-mismatch: .*splits 0\/3700000\/3600000 mWh/),
    ]);
    expect(await kinds({ end: r.end + 60n })).toEqual([expect.stringMatching(/runs .*, the signed readings/)]);
    expect(await kinds({ stationKey: `0x${'00'.repeat(31)}01` })).toEqual([
      expect.stringMatching(/names station key 0x0+1, the records are signed under/),
    ]);
    // Energy moved into the cheaper band, total and cost consistent: only the evidence shows it.
    const cheaper = { bandMilliWh: [0n, 7_200_000n, 0n], costMicro: 1_656_000n };
    expect(await kinds(cheaper)).toEqual([expect.stringMatching(/splits 0\/7200000\/0 mWh over the bands/)]);
    expect(await kinds({ ocmfHash: `0x${'ab'.repeat(32)}` })).toEqual([
      expect.stringMatching(/cites OCMF digest 0xabab.*which no verified transaction of the run has/),
    ]);
  });

  it('counts one transaction billed twice as a duplicate', async () => {
    const tx = transaction();
    const v = await verify([billed(tx, 1n), billed(tx, 2n)], [tx]);
    expect(v.issues.map((i) => [i.kind, i.seq])).toEqual([['duplicate', '2']]);
  });

  it("bills a driver's session once: a second transaction billed for it is a duplicate (no times: the station's clock)", async () => {
    const first = transaction();
    const second = transaction({
      transactionId: 'tx-2',
      signed: [{ data: signed(3, 'B', BEGIN + 5, 100.001) }, { data: signed(4, 'E', END + 5, 107.201) }],
    });
    const landed: LandedRecord[] = [];
    for (const [i, r] of [billed(first, 1n), billed(second, 2n)].entries())
      landed.push({
        blockNumber: i + 1,
        txHash: `0x${i + 1}`,
        logIndex: 0,
        ...(await signBillingRecord(bench, domain, r)),
      });
    const v = verifyBilling({
      domain,
      landed,
      tariffs: new Map([[1, tariff]]),
      stationEvidence: stationEvidence([first, second]),
      expected: [{ meter: bench.address, payer, host, importMilliWh: 7_200_000n, label: 'ev-1-s0' }],
      tolerances: { energyPpm: 10_000n },
    });
    expect(v.issues.map((i) => [i.kind, i.seq, i.message])).toEqual([
      ['duplicate', '2', expect.stringMatching(/bills session ev-1-s0 again \(already billed by sequence 1\)/)],
    ]);
  });

  it('does not take a transaction whose signatures fail as evidence', async () => {
    const tx = transaction();
    const r = billed(tx);
    const forged = { ...tx, signed: [tx.signed[0]!, { data: tx.signed[1]!.data.replace('107.2', '117.2') }] };
    const v = await verify([r], [forged]);
    expect(v.issues.map((i) => i.kind)).toEqual(['evidence-mismatch']);
  });
});
