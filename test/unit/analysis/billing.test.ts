import { Wallet } from 'ethers';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BillingSection, billingAnalyser } from '../../../analysis/billing.js';
import type { CaseAnalysis, Entry } from '../../../analysis/case-analysis.js';
import { CaseEntries } from '../../../analysis/case-entries.js';
import {
  type BillingRecord,
  billingDomain,
  loadClassId,
  pseudonym,
  RECORD_VERSION_BANDS,
  type SignedBillingRecord,
  signBillingRecord,
} from '../../../billing/billing-record.js';
import { landedToJson } from '../../../billing/landed.js';
import { billingRecordToJson } from '../../../billing/record-json.js';
import { computeCostMicro, defaultTariff, spreadBandMilliWh, tariffToJson } from '../../../billing/tariff.js';
import { ENTRY, type MeasurementData, type TruthSessionData } from '../../../core/record/entries.js';

/*
 * The billing analyser on small hand-made records: one meter at house-1, the default three-band tariff, two EVs
 * charging at once on that meter (A 16:10–17:10 into the evening peak, B 16:20–16:50), each owner paying for its
 * own. Case time 0 is Monday 2026-01-05 16:00 UTC.
 */
const meter = new Wallet(`0x${'11'.repeat(32)}`);
const domain = billingDomain(1337n, '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0');
const tariff = defaultTariff();
const EPOCH = Date.UTC(2026, 0, 5, 16) / 1000;
const HOST = pseudonym('C-HOST', 'salt');
const PAYER_A = pseudonym('C-OWNER-A', 'salt');
const PAYER_B = pseudonym('C-OWNER-B', 'salt');
const PAYER_X = pseudonym('C-SOMEONE-ELSE', 'salt');

interface SessionSpec {
  id: string;
  payer: string;
  start: number;
  end: number;
  importWh: number;
}
const A: SessionSpec = { id: 'A', payer: PAYER_A, start: 600, end: 4200, importWh: 7000 };
const B: SessionSpec = { id: 'B', payer: PAYER_B, start: 1200, end: 3000, importWh: 3500 };

const bandsOf = (s: SessionSpec) =>
  spreadBandMilliWh(tariff, {
    start: BigInt(EPOCH + s.start),
    end: BigInt(EPOCH + s.end),
    importMilliWh: BigInt(s.importWh * 1000),
  });

function truthSession(s: SessionSpec): Entry {
  const data: TruthSessionData = {
    caseId: 'c',
    sessionId: s.id,
    meterId: 'house-1',
    evId: `ev-${s.id}`,
    ownerContractId: `C-OWNER-${s.id}`,
    hostContractId: 'C-HOST',
    payerContractId: `C-OWNER-${s.id}`,
    authorised: true,
    roaming: false,
    plugIn: s.start,
    unplug: s.end,
    start: s.start,
    end: s.end,
    importWh: s.importWh,
    exportWh: 0,
    bandWh: bandsOf(s).map((e) => Number(e) / 1000),
    cost: 0,
    currency: 'EUR',
    meterAddress: meter.address,
    startUnix: EPOCH + s.start,
    endUnix: EPOCH + s.end,
    payerPseudonym: s.payer,
    hostPseudonym: HOST,
  };
  return { kind: ENTRY.truthSession, data: data as unknown as Record<string, unknown> };
}

/** The record a healthy meter signs for session `s` as sequence `seq`; `over` changes fields before signing. */
function recordFor(s: SessionSpec, seq: bigint, over: Partial<BillingRecord> = {}): BillingRecord {
  const base = {
    start: BigInt(EPOCH + s.start),
    end: BigInt(EPOCH + s.end),
    importMilliWh: BigInt(s.importWh * 1000),
    exportMilliWh: 0n,
    version: RECORD_VERSION_BANDS,
    bandMilliWh: bandsOf(s),
  };
  const r: BillingRecord = {
    meter: meter.address,
    seq,
    payer: s.payer,
    host: HOST,
    ...base,
    costMicro: computeCostMicro(tariff, base),
    tariffVersion: 1n,
    loadClass: loadClassId('ev-1ph-7.4kw'),
    attributed: true,
    ...over,
  };
  return r;
}

const emitted = (signed: SignedBillingRecord): Entry => ({
  kind: ENTRY.meterBilling,
  data: {
    caseId: 'c',
    meterId: 'house-1',
    tObserved: 0,
    signed: { record: billingRecordToJson(signed.record), signature: signed.signature },
  },
});

const landed = (signed: SignedBillingRecord, block: number): Entry => ({
  kind: ENTRY.ledgerLanded,
  data: {
    caseId: 'c',
    ...landedToJson({
      blockNumber: block,
      txHash: `0x${block.toString(16).padStart(64, '0')}`,
      logIndex: 0,
      record: signed.record,
      signature: signed.signature,
    }),
  } as unknown as Record<string, unknown>,
});

const submission = (seq: bigint, status: 'landed' | 'rejected', reason?: string): Entry => ({
  kind: ENTRY.ledgerSubmission,
  data: { caseId: 'c', meter: meter.address, seq: seq.toString(), status, ...(reason ? { reason } : {}) },
});

const state: Entry = {
  kind: ENTRY.ledgerState,
  data: {
    caseId: 'c',
    domain: { ...domain, chainId: '1337' },
    meters: [{ meter: meter.address, status: 'Ok', host: HOST }],
    tariffs: { 1: tariffToJson(tariff) },
    currencies: { 1: 'EUR' },
  },
};

/** The import register of house-1 read every 60 s: 150 W base load plus both EVs at constant power. */
function registers(): Entry[] {
  const out: Entry[] = [];
  let wh = 0;
  for (let t = 0; t <= 4800; t += 60) {
    const evW = (s: SessionSpec) => (t >= s.start && t < s.end ? (s.importWh * 3600) / (s.end - s.start) : 0);
    const p = 150 + evW(A) + evW(B);
    const data: MeasurementData = {
      caseId: 'c',
      meterId: 'house-1',
      t,
      p,
      q: 0,
      vrms: 230,
      irms: p / 230,
      pf: 1,
      importWh: wh,
      exportWh: 0,
    };
    out.push({ kind: ENTRY.meterMeasurement, data: data as unknown as Record<string, unknown> });
    wh += (p * 60) / 3600;
  }
  return out;
}

function analyse(entries: Entry[], params: Record<string, unknown> = {}): CaseAnalysis {
  const out: CaseAnalysis = { metrics: {}, timeline: { power: [], truth: [], detected: [] }, sections: {} };
  billingAnalyser(CaseEntries.of(entries, params), params, out);
  return out;
}

const billingMetrics = (a: CaseAnalysis) =>
  Object.fromEntries(Object.entries(a.metrics).filter(([k, v]) => k.startsWith('billing.') && v !== 0));

// B unplugs first, so the meter bills B as sequence 1 and A as sequence 2.
let signedB: SignedBillingRecord;
let signedA: SignedBillingRecord;
beforeAll(async () => {
  signedB = await signBillingRecord(meter, domain, recordFor(B, 1n));
  signedA = await signBillingRecord(meter, domain, recordFor(A, 2n));
});

/** The healthy case: both sessions' truth, both records emitted, submitted and landed, the ledger state. */
const healthy = (): Entry[] => [
  truthSession(A),
  truthSession(B),
  emitted(signedB),
  emitted(signedA),
  submission(1n, 'landed'),
  submission(2n, 'landed'),
  landed(signedB, 10),
  landed(signedA, 11),
  state,
];

describe('billing analyser: two EVs at once on one meter, each billed to its owner', () => {
  it('assigns the records one-to-one (B to sequence 1, A to sequence 2): nothing missing, nothing twice', () => {
    const a = analyse(healthy());
    expect(a.metrics['billing.expected']).toBe(2);
    expect(billingMetrics(a)).toEqual({ 'billing.expected': 2 });
    const section = a.sections.billing as BillingSection;
    expect(section.verification.ok).toBe(true);
    expect(section.verification.counts.verified).toBe(2);
    expect(section.verification.assignment).toEqual([
      { label: 'A', meter: meter.address, seq: '2' },
      { label: 'B', meter: meter.address, seq: '1' },
    ]);
    expect(section.rows.map((r) => [r.seq, r.sessionId, r.status, r.meterId])).toEqual([
      ['1', 'B', 'ok', 'house-1'],
      ['2', 'A', 'ok', 'house-1'],
    ]);
    // The billed energy equals the truth: the worst EV energy error is 0 %.
    expect(a.metrics['energy.ev_error_pct_max']).toBe(0);
  });

  it('prices each row from the tariff (A crosses into the 17:00 peak) in the currency the run recorded', () => {
    const rows = (analyse(healthy()).sections.billing as BillingSection).rows;
    // B: 3.5 kWh in the day band at 0.25 − 0.02 EV incentive = 0.805.
    expect(rows[0]).toMatchObject({ importWh: 3500, exportWh: 0, cost: 0.805, currency: 'EUR' });
    // A: 50 min day (5833.333 Wh at 0.23) + 10 min peak (1166.667 Wh at 0.38) = 1.341667 + 0.443333 = 1.785.
    expect(rows[1]).toMatchObject({ importWh: 7000, cost: 1.785, currency: 'EUR' });
    expect(rows[1]!.start).toBe(EPOCH + 600);
    expect(rows[1]!.end).toBe(EPOCH + 4200);
  });

  it('reads the host register at each record’s start, end and tariff change (for OCMF readings)', () => {
    const rows = (analyse([...healthy(), ...registers()]).sections.billing as BillingSection).rows;
    const [b, a] = rows;
    // Base load only before A plugs in: 150 W × 600 s = 25 Wh.
    expect(a!.registerBeginKWh).toBeCloseTo(0.025, 9);
    // 17:00 is case time 3600: 150 W × 3600 s + A for 3000 s (7 kW) + B for 1800 s (7 kW) = 150 + 5833.33 + 3500 Wh.
    expect(a!.tariffChanges).toHaveLength(1);
    expect(a!.tariffChanges![0]!.t).toBe(EPOCH + 3600);
    expect(a!.tariffChanges![0]!.registerKWh).toBeCloseTo((150 + 17_500 / 3 + 3500) / 1000, 9);
    // A ends at 4200: 150 W × 4200 s + 7000 + 3500 Wh.
    expect(a!.registerEndKWh).toBeCloseTo((175 + 7000 + 3500) / 1000, 9);
    // B stays in the day band: no tariff change inside it.
    expect(b!.tariffChanges).toEqual([]);
  });
});

describe('billing analyser: what goes wrong, counted', () => {
  it('a record that never landed: missing twice (the emitted record, the expected session), B still billed', () => {
    const a = analyse(healthy().filter((e) => !(e.kind === ENTRY.ledgerLanded && e.data.blockNumber === 11)));
    expect(billingMetrics(a)).toEqual({ 'billing.expected': 2, 'billing.missing': 2 });
    const section = a.sections.billing as BillingSection;
    expect(section.rows.map((r) => [r.seq, r.sessionId, r.status])).toEqual([['1', 'B', 'ok']]);
    expect(section.verification.assignment.map((x) => x.seq)).toEqual([undefined, '1']);
  });

  it('a record the ledger refused: rejected, with the reason, and missing', () => {
    const entries = healthy()
      .filter((e) => !(e.kind === ENTRY.ledgerLanded && e.data.blockNumber === 11))
      .map((e) =>
        e.kind === ENTRY.ledgerSubmission && e.data.seq === '2' ? submission(2n, 'rejected', 'SequenceGap') : e,
      );
    const a = analyse(entries);
    expect(billingMetrics(a)).toEqual({ 'billing.expected': 2, 'billing.missing': 2, 'billing.rejected': 1 });
    const issues = (a.sections.billing as BillingSection).verification.issues;
    expect(issues.find((i) => i.kind === 'rejected')!.message).toBe('the ledger refused the record: SequenceGap');
  });

  it('the same record landed twice: one duplicate, its row flagged, the session billed once', () => {
    const a = analyse([...healthy(), landed(signedA, 12)]);
    expect(billingMetrics(a)).toEqual({ 'billing.expected': 2, 'billing.duplicates': 1 });
    const rows = (a.sections.billing as BillingSection).rows;
    expect(rows.map((r) => [r.seq, r.status])).toEqual([
      ['1', 'ok'],
      ['2', 'issues'],
      ['2', 'issues'],
    ]);
    expect(rows[2]!.problems).toEqual(['duplicate: sequence 2 landed more than once']);
  });

  it('a session billed again under a new sequence number: a duplicate, not a missing session', async () => {
    const again = await signBillingRecord(meter, domain, recordFor(A, 3n));
    const a = analyse([...healthy(), emitted(again), landed(again, 12)]);
    expect(billingMetrics(a)).toEqual({ 'billing.expected': 2, 'billing.duplicates': 1 });
    const dup = (a.sections.billing as BillingSection).verification.issues[0]!;
    expect(dup).toMatchObject({ kind: 'duplicate', seq: '3' });
    expect(dup.message).toBe('bills session A again (already billed by sequence 2)');
  });

  it('a record billed to the wrong payer still matches its session by time: a payer mismatch', async () => {
    const wrong = await signBillingRecord(meter, domain, recordFor(A, 2n, { payer: PAYER_X }));
    const a = analyse([truthSession(A), truthSession(B), landed(signedB, 10), landed(wrong, 11), state]);
    expect(billingMetrics(a)).toEqual({ 'billing.expected': 2, 'billing.payer_mismatch': 1 });
    const section = a.sections.billing as BillingSection;
    expect(section.verification.assignment.map((x) => [x.label, x.seq])).toEqual([
      ['A', '2'],
      ['B', '1'],
    ]);
    expect(section.rows[1]!.problems).toEqual(['payer-mismatch: billed to the wrong payer (A)']);
  });

  it('two sessions started the same second: the payer decides which record is whose', async () => {
    const A2 = { ...A, start: B.start };
    const rA = await signBillingRecord(meter, domain, recordFor(A2, 1n));
    const rB = await signBillingRecord(meter, domain, recordFor(B, 2n));
    const a = analyse([truthSession(A2), truthSession(B), landed(rA, 10), landed(rB, 11), state]);
    expect(billingMetrics(a)).toEqual({ 'billing.expected': 2 });
    expect((a.sections.billing as BillingSection).rows.map((r) => [r.seq, r.sessionId])).toEqual([
      ['1', 'A'],
      ['2', 'B'],
    ]);
  });

  it('energy 5 % over the truth: beyond class B’s 1 % MPE, an energy mismatch and a 5 % EV energy error', async () => {
    const importMilliWh = 7_350_000n;
    const base = { start: BigInt(EPOCH + A.start), end: BigInt(EPOCH + A.end), importMilliWh, exportMilliWh: 0n };
    const bandMilliWh = spreadBandMilliWh(tariff, base);
    const over = await signBillingRecord(
      meter,
      domain,
      recordFor(A, 2n, {
        importMilliWh,
        bandMilliWh,
        costMicro: computeCostMicro(tariff, { ...base, bandMilliWh, version: 2 }),
      }),
    );
    const a = analyse([truthSession(A), truthSession(B), landed(signedB, 10), landed(over, 11), state]);
    // The import and each band energy are off: one issue each, both energy mismatches on the same record.
    expect(billingMetrics(a)).toEqual({ 'billing.expected': 2, 'billing.energy_mismatch': 2 });
    expect(a.metrics['energy.ev_error_pct_max']).toBeCloseTo(5, 9);
    // Within class A's 2 % MPE? No: 5 % is beyond every class.
    expect(
      analyse([truthSession(A), landed(over, 11), state], { midClass: 'A' }).metrics['billing.energy_mismatch'],
    ).toBe(2);
  });

  it('energy 0.5 % over the truth is within the class B MPE: no mismatch, the error still reported', async () => {
    const importMilliWh = 7_035_000n;
    const base = { start: BigInt(EPOCH + A.start), end: BigInt(EPOCH + A.end), importMilliWh, exportMilliWh: 0n };
    const bandMilliWh = spreadBandMilliWh(tariff, base);
    const near = await signBillingRecord(
      meter,
      domain,
      recordFor(A, 2n, {
        importMilliWh,
        bandMilliWh,
        costMicro: computeCostMicro(tariff, { ...base, bandMilliWh, version: 2 }),
      }),
    );
    const a = analyse([truthSession(A), truthSession(B), landed(signedB, 10), landed(near, 11), state]);
    expect(billingMetrics(a)).toEqual({ 'billing.expected': 2 });
    expect(a.metrics['energy.ev_error_pct_max']).toBeCloseTo(0.5, 9);
  });

  it('a cost one micro-unit off the tariff: a cost mismatch naming both figures', async () => {
    const want = computeCostMicro(tariff, recordFor(A, 2n));
    const off = await signBillingRecord(meter, domain, recordFor(A, 2n, { costMicro: want + 1n }));
    const a = analyse([truthSession(A), truthSession(B), landed(signedB, 10), landed(off, 11), state]);
    expect(billingMetrics(a)).toEqual({ 'billing.expected': 2, 'billing.cost_mismatch': 1 });
    expect((a.sections.billing as BillingSection).rows[1]!.problems).toEqual([
      `cost-mismatch: cost ${want + 1n}, tariff v1 gives ${want}`,
    ]);
  });

  it('a record signed by another key: an invalid signature', async () => {
    const intruder = new Wallet(`0x${'22'.repeat(32)}`);
    const forged = await signBillingRecord(intruder, domain, recordFor(A, 2n));
    const a = analyse([truthSession(A), truthSession(B), landed(signedB, 10), landed(forged, 11), state]);
    expect(billingMetrics(a)).toEqual({ 'billing.expected': 2, 'billing.invalid_signature': 1 });
  });

  it('adds nothing when the case has no ledger state (a case without billing)', () => {
    const a = analyse([truthSession(A), landed(signedA, 11)]);
    expect(a.metrics).toEqual({});
    expect(a.sections).toEqual({});
  });
});
