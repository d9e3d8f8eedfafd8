import { describe, expect, it } from 'vitest';
import { type OcppSection, ocppAnalyser } from '../../../analysis/analysers/ocpp.js';
import type { Entry } from '../../../analysis/case-analysis.js';
import { CaseEntries } from '../../../analysis/case-entries.js';
import { analyseCase } from '../../../analysis/registry.js';
import { ENTRY, type OcppTransactionData, type TruthSessionData } from '../../../core/record/entries.js';
import { ocaPublicKey, ocmfPublicKey, ocmfReading, p256PublicKeyHex, signOcmf } from '../../../protocols/ocmf.js';

const KEY = 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721';
const STATION_KEY = ocaPublicKey(ocmfPublicKey(p256PublicKeyHex(KEY)));
const T0 = 1_772_438_400;
let page = 1;

function session(over: Partial<TruthSessionData> = {}): Entry {
  const s = {
    caseId: 'c',
    sessionId: 'ev-1-s0',
    meterId: 'station-1',
    evId: 'ev-1',
    ownerContractId: 'TOKEN-A',
    hostContractId: 'SITE',
    payerContractId: 'TOKEN-A',
    authorised: true,
    roaming: true,
    plugIn: 30,
    unplug: 900,
    start: 30,
    end: 600,
    importWh: 1000,
    exportWh: 0,
    bandWh: [1000],
    cost: 0,
    currency: 'EUR',
    meterAddress: '0x0',
    startUnix: T0 + 30,
    endUnix: T0 + 600,
    payerPseudonym: '0x0',
    hostPseudonym: '0x0',
    ...over,
  } satisfies TruthSessionData;
  return { kind: ENTRY.truthSession, data: { ...s } };
}

/** A transaction the station reported with signed begin and end readings of `wh` Wh between t = 31 and t = 901. */
function transaction(idToken: string, wh: number, over: Partial<OcppTransactionData> = {}): Entry {
  const sign = (rd: ReturnType<typeof ocmfReading>[]) =>
    signOcmf(
      {
        FV: '1.0',
        GI: 'test station',
        GS: 'S1',
        PG: `T${page++}`,
        MS: 'M-1',
        IS: true,
        IL: 'VERIFIED',
        IT: 'EMAID',
        ID: idToken,
        RD: rd,
      },
      KEY,
    );
  const begin = ocmfReading(T0 + 31, 'B', 0);
  const end = ocmfReading(T0 + 901, 'E', wh / 1000);
  const tx = {
    caseId: 'c',
    meterId: 'station-1',
    station: 'CS-1',
    version: 'ocpp2.0.1',
    transactionId: `tx-${page}`,
    idToken,
    tStart: 31,
    tEnd: 901,
    stationStart: T0 + 31,
    stationEnd: T0 + 901,
    meterStartWh: 0,
    meterStopWh: wh,
    stopReason: 'EVDisconnected',
    samples: [],
    signed: [
      { data: sign([begin]), publicKey: STATION_KEY },
      { data: sign([begin, end]), publicKey: STATION_KEY },
    ],
    duplicates: 0,
    offlineMessages: 0,
    ...over,
  } satisfies OcppTransactionData;
  return { kind: ENTRY.ocppTransaction, data: { ...tx } };
}

const frame = (direction: 'in' | 'out', text: string): Entry => ({
  kind: ENTRY.ocppFrame,
  data: { caseId: 'c', station: 'CS-1', t: 1, direction, frame: text },
});

function analyse(entries: Entry[]) {
  const a = analyseCase(entries, { midClass: 'B' });
  return { metrics: a.metrics, section: a.sections.ocpp as OcppSection };
}

describe('OCPP analysis: a station’s transactions against the scenario’s sessions', () => {
  it('one transaction for the session, signed and within the class: every count 0, the energy error measured', () => {
    const { metrics, section } = analyse([session(), transaction('TOKEN-A', 1004)]);
    expect(metrics).toMatchObject({
      'ocpp.transactions': 1,
      'ocpp.sessions_missing': 0,
      'ocpp.sessions_double': 0,
      'ocpp.unexpected_transactions': 0,
      'ocpp.refused_token_charged': 0,
      'ocpp.not_ended': 0,
      'ocpp.ocmf_conformance_failures': 0,
      'ocpp.ocmf_compatibility_failures': 0,
      'ocpp.call_errors': 0,
    });
    // No reference meter in the record: the session's true energy is the reference.
    expect(metrics['ocpp.energy_error_pct_max']).toBeCloseTo(0.4, 6);
    expect(section.rows[0]).toMatchObject({ session: 'ev-1-s0', signedEnergy: true, energyWh: 1004 });
    expect(section.rows[0]!.records.every((r) => r.keyFingerprint)).toBe(true);
  });

  it('the reference meter, when the rig has one, is the reference over the transaction’s own span', () => {
    const ref = (t: number, importWh: number): Entry => ({
      kind: ENTRY.referenceMeasurement,
      data: { caseId: 'c', meterId: 'station-1', t, p: 0, q: 0, vrms: 230, irms: 0, pf: 1, importWh, exportWh: 0 },
    });
    // The truth says 1000 Wh; the reference measured 990 Wh between the readings; the station signed 990 Wh.
    const { metrics } = analyse([session(), ref(0, 10), ref(31, 10), ref(901, 1000), transaction('TOKEN-A', 990)]);
    expect(metrics['ocpp.energy_error_pct_max']).toBeCloseTo(0, 6);
  });

  it('counts a missing session, a second transaction for one session, an unknown token and one never ended', () => {
    expect(analyse([session()]).metrics['ocpp.sessions_missing']).toBeUndefined();
    expect(analyse([session(), frame('in', '[2,"1","Heartbeat",{}]')]).metrics['ocpp.sessions_missing']).toBe(1);
    const double = analyse([session(), transaction('TOKEN-A', 500), transaction('TOKEN-A', 500)]);
    expect(double.metrics['ocpp.sessions_double']).toBe(1);
    expect(double.metrics['ocpp.sessions_missing']).toBe(0);
    expect(analyse([session(), transaction('TOKEN-A', 1000), transaction('STRANGER', 10)]).metrics).toMatchObject({
      'ocpp.unexpected_transactions': 1,
      'ocpp.sessions_double': 0,
    });
    const open = transaction('TOKEN-A', 1000);
    delete open.data.tEnd;
    expect(analyse([session(), open]).metrics['ocpp.not_ended']).toBe(1);
  });

  it('a transaction for a token the back office blocked counts as charged on a refused token, not as billed', () => {
    const { metrics } = analyse([session({ tokenStatus: 'Blocked' }), transaction('TOKEN-A', 1000)]);
    expect(metrics['ocpp.refused_token_charged']).toBe(1);
    expect(metrics['ocpp.sessions_missing']).toBe(0);
    expect(metrics['ocpp.energy_error_pct_max']).toBeUndefined();
  });

  it('a tampered end record fails conformance and compatibility; CALLERRORs the bench sent are counted by code', () => {
    const tx = transaction('TOKEN-A', 1000);
    const signed = tx.data.signed as Array<{ data: string; publicKey: string }>;
    signed[1]!.data = signed[1]!.data.replace('"RV":1', '"RV":2');
    const { metrics, section } = analyse([
      session(),
      tx,
      frame('out', '[4,"7","FormatViolation","bad",{}]'),
      frame('out', '[4,"8","FormatViolation","bad",{}]'),
      frame('out', '[4,"9","NotImplemented","no",{}]'),
    ]);
    expect(metrics['ocpp.ocmf_conformance_failures']).toBe(1);
    expect(metrics['ocpp.ocmf_compatibility_failures']).toBe(1);
    expect(metrics['ocpp.call_errors']).toBe(3);
    expect(section.callErrors).toEqual({ FormatViolation: 2, NotImplemented: 1 });
  });

  it('meter values against the interval the bench set, and the outages and reconnections of the case', () => {
    const tx = transaction('TOKEN-A', 1000, {
      samples: [0, 60, 120, 200, 260].map((t) => ({ t: T0 + 31 + t, energyWh: t })),
    });
    const link = (event: string, t: number): Entry => ({
      kind: ENTRY.ocppLink,
      data: { caseId: 'c', station: 'CS-1', t, event },
    });
    const a = analyseCase([session(), tx, link('cut', 200), link('disconnected', 200), link('connected', 500)], {
      midClass: 'B',
      meterValuesIntervalS: 60,
    });
    // The longest gap is 80 s of a 60 s interval.
    expect(a.metrics['ocpp.meter_values_interval_ratio_max']).toBeCloseTo(80 / 60, 9);
    expect(a.metrics).toMatchObject({ 'ocpp.outages': 1, 'ocpp.reconnections': 1, 'ocpp.register_not_monotonic': 0 });
    // No interval set: nothing to hold the station to.
    expect(analyse([session(), tx]).metrics['ocpp.meter_values_interval_ratio_max']).toBeUndefined();
  });

  it('adds nothing to a case with no station', () => {
    const out = { metrics: {}, timeline: { power: [], truth: [], detected: [] }, sections: {} };
    ocppAnalyser(CaseEntries.of([session()]), {}, out);
    expect(out).toEqual({ metrics: {}, timeline: { power: [], truth: [], detected: [] }, sections: {} });
  });
});
