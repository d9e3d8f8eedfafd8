import { Wallet } from 'ethers';
import { beforeAll, describe, expect, it } from 'vitest';
import { midMpe } from '../../../analysis/standards/mid.js';
import {
  type BillingRecord,
  billingDomain,
  billingRecordHash,
  loadClassId,
  pseudonym,
  RECORD_VERSION_BANDS,
  type SignedBillingRecord,
  signBillingBatch,
  signBillingRecord,
} from '../../../billing/billing-record.js';
import type { LandedRecord } from '../../../billing/landed.js';
import { merkleLevels, merkleProof } from '../../../billing/merkle.js';
import { computeCostMicro, defaultTariff } from '../../../billing/tariff.js';
import { verifyBilling } from '../../../billing/verify.js';
import type { IssueKind, VerifyInput } from '../../../billing/verify-types.js';

const meter = new Wallet(`0x${'11'.repeat(32)}`);
const intruder = new Wallet(`0x${'22'.repeat(32)}`);
const domain = billingDomain(1337n, '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0');
const tariff = defaultTariff();
const host = pseudonym('house-1', 's');
const payer = pseudonym('ev-owner-1', 's');
const T0 = BigInt(Date.UTC(2026, 0, 5, 9) / 1000);

function record(seq: bigint, over: Partial<BillingRecord> = {}): BillingRecord {
  const r = {
    meter: meter.address,
    seq,
    payer,
    host,
    start: T0 + seq * 7200n,
    end: T0 + seq * 7200n + 3600n,
    importMilliWh: 7_000_000n + seq,
    exportMilliWh: 0n,
    costMicro: 0n,
    tariffVersion: 1n,
    loadClass: loadClassId('ev-1ph-7.4kw'),
    attributed: true,
    // The legacy form: records signed before per-band energy keep verifying.
    version: 1,
    bandMilliWh: [],
    ...over,
  };
  return { ...r, costMicro: over.costMicro ?? computeCostMicro(tariff, r) };
}

const landed = (s: SignedBillingRecord, block: number): LandedRecord => ({
  blockNumber: block,
  txHash: `0x${block.toString(16).padStart(64, '0')}`,
  logIndex: 0,
  record: s.record,
  signature: s.signature,
});

let good: SignedBillingRecord[];
beforeAll(async () => {
  good = [];
  for (let i = 1n; i <= 5n; i++) good.push(await signBillingRecord(meter, domain, record(i)));
});

/** Energy checked against expectations within a class B meter's MPE (Itr ≤ I ≤ Imax), from the MID table. */
const energyPpm = BigInt(midMpe({ midClass: 'B', current: 'itr-imax' }).mpePct * 10_000);

function run(over: Partial<VerifyInput>) {
  return verifyBilling({
    domain,
    landed: good.map((s, i) => landed(s, i + 10)),
    observed: good,
    meters: [{ meter: meter.address, status: 'Ok', host }],
    tariffs: new Map([[1, tariff]]),
    tolerances: { energyPpm },
    ...over,
  });
}
const kinds = (r: ReturnType<typeof verifyBilling>) => r.issues.map((i) => i.kind).sort();

describe('verifyBilling', () => {
  it('passes a clean ledger and counts every record verified', () => {
    const r = run({});
    expect(r.issues).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.counts).toMatchObject({ landed: 5, observed: 5, verified: 5, missing: 0 });
    expect(r.meters).toEqual([{ meter: meter.address, records: 5, firstSeq: '1', lastSeq: '5' }]);
  });

  it('flags a forged signature on the ledger and in what the meter emitted', async () => {
    const forged = await signBillingRecord(intruder, domain, record(3n));
    const landedList = good.map((s, i) => landed(i === 2 ? forged : s, i + 10));
    const r = run({ landed: landedList, observed: [good[0]!, good[1]!, forged, good[3]!, good[4]!] });
    expect(kinds(r)).toEqual(['forged', 'forged']);
    expect(r.counts.forged).toBe(2);
    expect(r.counts.verified).toBe(4);
  });

  it('flags duplicates, gaps and reordering', () => {
    const dup = run({ landed: [...good.map((s, i) => landed(s, i + 10)), landed(good[1]!, 30)] });
    expect(kinds(dup)).toEqual(['duplicate']);
    const gap = run({ landed: [good[0], good[1], good[3], good[4]].map((s, i) => landed(s!, i + 10)), observed: [] });
    expect(kinds(gap)).toEqual(['out-of-sequence']);
    expect(gap.issues[0]!.message).toMatch(/gap: expected 3, got 4/);
    const swapped = run({ landed: [good[0], good[2], good[1], good[3], good[4]].map((s, i) => landed(s!, i + 10)) });
    expect(kinds(swapped)).toContain('out-of-sequence');
  });

  it('checks a resumed (partial) range from the first sequence it sees', () => {
    const r = run({ landed: good.slice(2).map((s, i) => landed(s, i + 10)), observed: [], partialRange: true });
    expect(r.ok).toBe(true);
  });

  it('flags records the meter emitted that never landed, with the refusal reason', () => {
    const r = run({
      landed: good.slice(0, 4).map((s, i) => landed(s, i + 10)),
      submissions: [{ meter: meter.address, seq: 5n, status: 'rejected', reason: 'MeterIsRevoked(meter=…)' }],
    });
    expect(kinds(r)).toEqual(['missing', 'rejected']);
    expect(r.issues.find((i) => i.kind === 'rejected')!.message).toMatch(/MeterIsRevoked/);
  });

  it('flags a landed record that differs from the emitted one (tampered in transit)', async () => {
    const tampered = await signBillingRecord(meter, domain, record(2n, { importMilliWh: 1n, costMicro: 0n }));
    const r = run({ landed: good.map((s, i) => landed(i === 1 ? tampered : s, i + 10)) });
    expect(kinds(r)).toContain('tampered');
  });

  it('recomputes the cost from the tariff the record names', async () => {
    const wrong = await signBillingRecord(meter, domain, record(6n, { costMicro: 1n }));
    const unknownTariff = await signBillingRecord(meter, domain, record(7n, { tariffVersion: 9n }));
    const all = [...good, wrong, unknownTariff];
    const r = run({ landed: all.map((s, i) => landed(s, i + 10)), observed: all });
    expect(kinds(r)).toEqual(['cost-mismatch', 'cost-mismatch']);
    expect(r.issues.map((i) => i.message).join('\n')).toMatch(/tariff version 9 is not in the registry/);
  });

  it('reports the registry state of the meters', () => {
    const states = ['NotRegistered', 'Revoked', 'FirmwareNotAttested'] as const;
    const expected: IssueKind[] = ['unregistered', 'revoked', 'unattested'];
    states.forEach((status, i) => {
      const r = run({
        meters: [{ meter: meter.address, status, host: status === 'NotRegistered' ? undefined : host }],
      });
      expect(kinds(r)).toEqual([expected[i]]);
    });
    const wrongHost = run({ meters: [{ meter: meter.address, status: 'Ok', host: pseudonym('house-2', 's') }] });
    expect(wrongHost.counts.hostMismatch).toBe(5);
  });

  it('compares against expectations: payer, host, times, energy, V2G credit, missing', () => {
    const e = (seq: bigint) => {
      const r = record(seq);
      return { meter: meter.address, seq, payer, host, start: r.start, end: r.end, importMilliWh: r.importMilliWh };
    };
    const r = run({
      expected: [
        e(1n),
        { ...e(2n), payer: pseudonym('ev-owner-2', 's') },
        { ...e(3n), host: pseudonym('house-9', 's') },
        { ...e(4n), start: e(4n).start - 100n },
        { ...e(5n), importMilliWh: 9_000_000n, exportMilliWh: 500_000n },
        { ...e(6n), label: 'session-6' },
      ],
    });
    expect(kinds(r)).toEqual([
      'energy-mismatch',
      'host-mismatch',
      'missing',
      'payer-mismatch',
      'time-mismatch',
      'v2g-uncredited',
    ]);
    expect(r.issues.find((i) => i.kind === 'missing')!.message).toMatch(/session-6/);
  });

  it('refuses to check energy against expectations without the class tolerance', () => {
    expect(() => run({ tolerances: {}, expected: [{ meter: meter.address, importMilliWh: 1n }] })).toThrow(/energyPpm/);
  });

  it('matches expectations without a sequence by their times, within tolerances', () => {
    const r = run({
      expected: good.map((s) => ({
        meter: meter.address,
        start: s.record.start + 1n,
        importMilliWh: s.record.importMilliWh + 5n,
      })),
    });
    expect(r.ok).toBe(true);
  });

  it('verifies batched records through the batch signature and Merkle proof', async () => {
    const records = [1n, 2n, 3n].map((s) => record(s));
    const b = await signBillingBatch(meter, domain, records);
    const levels = merkleLevels(records.map(billingRecordHash));
    const ref = (index: number, signature = b.signature) => ({
      root: b.batch.root,
      index,
      firstSeq: 1n,
      count: 3,
      signature,
      proof: merkleProof(levels, index),
    });
    const landedBatch = records.map((record, i) => ({
      blockNumber: 5,
      txHash: '0x01',
      logIndex: 0,
      record,
      batch: ref(i),
    }));
    expect(run({ landed: landedBatch, observed: [] }).ok).toBe(true);
    const forgedBatch = await signBillingBatch(intruder, domain, records);
    const bad = records.map((record, i) => ({
      blockNumber: 5,
      txHash: '0x01',
      logIndex: 0,
      record,
      batch: ref(i, forgedBatch.signature),
    }));
    expect(run({ landed: bad, observed: [] }).counts.forged).toBe(3);
    const wrongProof = [
      { ...landedBatch[0]!, record: record(1n, { importMilliWh: 2n }) },
      landedBatch[1]!,
      landedBatch[2]!,
    ];
    expect(run({ landed: wrongProof, observed: [] }).counts.forged).toBe(1);
  });
});

describe('verifyBilling: records assigned to sessions one to one', () => {
  const visitor = pseudonym('ev-visitor', 's');
  /** A session's expectation and the record a correct meter signs for it. */
  const session = (seq: bigint, start: bigint, end: bigint, over: Partial<BillingRecord> = {}) => {
    const r = record(seq, { start: T0 + start, end: T0 + end, ...over });
    const e = {
      meter: meter.address,
      payer: r.payer,
      host,
      start: r.start,
      end: r.end,
      importMilliWh: r.importMilliWh,
      label: `s${seq}`,
    };
    return { r, e };
  };
  const verify = async (records: BillingRecord[], expected: VerifyInput['expected'], landedTwice: number[] = []) => {
    const signed = [];
    for (const r of records) signed.push(await signBillingRecord(meter, domain, r));
    const onChain = signed.map((s, i) => landed(s, i + 10));
    for (const i of landedTwice) onChain.push(landed(signed[i]!, 90 + i));
    return verifyBilling({
      domain,
      landed: onChain,
      observed: signed,
      expected,
      meters: [{ meter: meter.address, status: 'Ok', host }],
      tariffs: new Map([[1, tariff]]),
      tolerances: { energyPpm },
    });
  };

  it('two EVs charging at once on one meter, each billed once to its payer: no duplicate, nothing missing', async () => {
    // The host's EV plugs in first and charges longest; the visitor's starts later and is billed first (seq 1).
    const host = session(2n, 0n, 5000n, { importMilliWh: 9_000_000n });
    const guest = session(1n, 600n, 4200n, { payer: visitor, importMilliWh: 3_600_000n });
    const r = await verify([guest.r, host.r], [host.e, guest.e]);
    expect(r.issues).toEqual([]);
    expect(r.counts.duplicates).toBe(0);
    expect(r.assignment.map((a) => a.seq)).toEqual(['2', '1']);
  });

  it('two EVs plugged in the same second: the payer decides, not the nearest start', async () => {
    const a = session(1n, 100n, 3000n, { importMilliWh: 5_000_000n });
    const b = session(2n, 100n, 3100n, { payer: visitor, importMilliWh: 2_000_000n });
    // Expectations listed in the other order, and the records' times a second off: still matched by payer.
    const r = await verify([a.r, { ...b.r, start: b.r.start + 1n }], [b.e, a.e]);
    expect(r.issues).toEqual([]);
    expect(r.assignment.map((x) => x.seq)).toEqual(['2', '1']);
  });

  it('one payer with two EVs at once: matched by time, each record to its own session', async () => {
    const a = session(1n, 0n, 2000n, { importMilliWh: 4_000_000n });
    const b = session(2n, 900n, 4000n, { importMilliWh: 6_000_000n });
    const r = await verify([a.r, b.r], [b.e, a.e]);
    expect(r.issues).toEqual([]);
    expect(r.assignment.map((x) => x.seq)).toEqual(['2', '1']);
  });

  it('a session billed by two records (two sequence numbers): one duplicate, nothing missing', async () => {
    const s = session(1n, 0n, 3600n);
    const copy = { ...s.r, seq: 2n };
    const r = await verify([s.r, copy], [s.e]);
    expect(kinds(r)).toEqual(['duplicate']);
    expect(r.issues[0]!.seq).toBe('2');
    expect(r.issues[0]!.message).toMatch(/bills session s1 again \(already billed by sequence 1\)/);
  });

  it('a record landed twice: one duplicate, the session billed once', async () => {
    const a = session(1n, 0n, 3600n);
    const b = session(2n, 600n, 3000n, { payer: visitor });
    const r = await verify([a.r, b.r], [a.e, b.e], [1]);
    expect(kinds(r)).toEqual(['duplicate']);
    expect(r.counts.missing).toBe(0);
    expect(r.assignment.map((x) => x.seq)).toEqual(['1', '2']);
  });

  it('a smart session paused through the peak and billed once at the unplug: no duplicate', async () => {
    const s = session(1n, 0n, 14_400n);
    const r = await verify([s.r], [s.e]);
    expect(r.issues).toEqual([]);
    // The same session split at its pause into two records is billed twice.
    const first = { ...s.r, end: s.r.start + 3600n, importMilliWh: 3_000_000n };
    const second = { ...s.r, seq: 2n, start: s.r.start + 10_800n, importMilliWh: 4_000_000n };
    const split = await verify([first, second], [s.e]);
    expect(split.counts.duplicates).toBe(1);
    expect(split.counts.missing).toBe(0);
  });

  it('a record billed to the wrong payer still matches its session: a payer mismatch, not a missing record', async () => {
    const s = session(1n, 0n, 3600n);
    const r = await verify([{ ...s.r, payer: visitor }], [s.e]);
    expect(kinds(r)).toEqual(['payer-mismatch']);
  });
});

describe('verifyBilling: records with energy per tariff band (version 2)', () => {
  // 16:00–22:00 Monday: charging 16–17 (day) and 21–22 (day), paused through the peak 17–21.
  const start = T0 + 7n * 3600n;
  const v2 = (seq: bigint, bandMilliWh: bigint[], over: Partial<BillingRecord> = {}) =>
    record(seq, {
      start: start + seq * 86_400n,
      end: start + seq * 86_400n + 6n * 3600n,
      importMilliWh: bandMilliWh.reduce((a, b) => a + b, 0n),
      version: RECORD_VERSION_BANDS,
      bandMilliWh,
      ...over,
    });
  const signAll = (rs: BillingRecord[]) => Promise.all(rs.map((r) => signBillingRecord(meter, domain, r)));
  const runAll = (signed: SignedBillingRecord[], over: Partial<VerifyInput> = {}) =>
    run({ landed: signed.map((s, i) => landed(s, i + 10)), observed: signed, ...over });

  it('passes records priced from their band energies, legacy and new forms side by side', async () => {
    const signed = await signAll([v2(1n, [0n, 7_400_000n, 0n]), record(2n), v2(3n, [100n, 200n, 300n])]);
    const r = runAll(signed);
    expect(r.issues).toEqual([]);
    expect(r.counts.verified).toBe(3);
    // The paused session's cost is the day price only.
    expect(signed[0]!.record.costMicro).toBe((7_400_000n * (tariff.bandPrices[1]! - tariff.evIncentive)) / 1_000_000n);
  });

  it('flags band energies that do not add up to the import or do not match the tariff’s bands', async () => {
    const signed = await signAll([
      v2(1n, [0n, 7_400_000n, 0n], { importMilliWh: 7_500_000n, costMicro: 0n }),
      v2(2n, [0n, 7_400_000n], { costMicro: 0n }),
    ]);
    const r = runAll(signed);
    expect(kinds(r)).toEqual(['energy-mismatch', 'energy-mismatch']);
    expect(r.issues.map((i) => i.message)).toEqual([
      'band energies: band energies add up to 7400000 mWh, the import energy is 7500000 mWh',
      'band energies: 2 band energies, the tariff has 3 bands',
    ]);
  });

  it('a cost priced as if the energy were spread over [start, end) is a cost mismatch', async () => {
    const r0 = v2(1n, [0n, 7_400_000n, 0n]);
    const spreadCost = computeCostMicro(tariff, { ...r0, version: 1, bandMilliWh: [] });
    const r = runAll(await signAll([{ ...r0, costMicro: spreadCost }]));
    expect(kinds(r)).toEqual(['cost-mismatch']);
  });

  it('a band energy changed on the way to the ledger is tampered (and no longer the meter’s signature)', async () => {
    const [orig] = await signAll([v2(1n, [0n, 7_000_000n, 400_000n])]);
    const moved = { ...orig!.record, bandMilliWh: [0n, 7_400_000n, 0n] };
    const r = run({ landed: [landed({ record: moved, signature: orig!.signature }, 10)], observed: [orig!] });
    // ...and its stated cost no longer prices its band energies.
    expect(kinds(r)).toEqual(['cost-mismatch', 'forged', 'tampered']);
  });

  it('compares each band with the truth’s energy in that band, within the energy tolerance', async () => {
    const signed = await signAll([v2(1n, [0n, 7_400_000n, 0n])]);
    const rec = signed[0]!.record;
    const e = { meter: meter.address, seq: 1n, start: rec.start, end: rec.end, importMilliWh: 7_400_000n };
    expect(runAll(signed, { expected: [{ ...e, bandMilliWh: [0n, 7_390_000n, 10_000n] }] }).issues).toEqual([]);
    // Same total, but the truth drew 1.4 kWh of it in the peak: the meter booked it in the wrong band.
    const r = runAll(signed, { expected: [{ ...e, bandMilliWh: [0n, 6_000_000n, 1_400_000n], label: 's1' }] });
    expect(kinds(r)).toEqual(['energy-mismatch']);
    expect(r.issues[0]!.message).toBe('energy per tariff band 0/7400000/0 mWh, expected 0/6000000/1400000 (s1)');
  });
});
