import { Wallet } from 'ethers';
import {
  type BillingRecord,
  billingDomain,
  loadClassId,
  RECORD_VERSION_BANDS,
  signBillingRecord,
} from '../../billing/billing-record.js';
import { landedToJson } from '../../billing/landed.js';
import { billingRecordToJson } from '../../billing/record-json.js';
import { computeCostMicro, defaultTariff, tariffToJson } from '../../billing/tariff.js';
import { createRun } from '../../core/record/store.js';
import type { RunRecordWriter } from '../../core/record/writer.js';
import { testHeader } from './header.js';

const PAYER = `0x${'a1'.repeat(32)}`;
const HOST = `0x${'b2'.repeat(32)}`;
const EPOCH = 1_764_000_000;

/**
 * Writes a small but realistic record: an EV billing case that passes, a detection case that fails, a case the
 * rig cannot run. Used for golden report files and the browser test. Deterministic given the fake clock.
 */
export async function writeSampleRun(runsDir: string): Promise<{ runId: string; writer: RunRecordWriter }> {
  const meterKey = new Wallet(`0x${'11'.repeat(32)}`);
  const domain = billingDomain(1337n, '0x5FbDB2315678afecb367f032d93F642f64180aa3');
  const { runId, writer } = createRun(runsDir, {
    ...testHeader(42),
    suite: { name: 'sample', title: 'Sample suite', version: 1, file: 'suites/sample.yaml', sha256: 'f'.repeat(64) },
    rig: { name: 'sim', sha256: 'e'.repeat(64) },
    identities: { dut: { model: 'reference-meter', firmware: '1.0.0' }, ledger: { chainId: 1337 } },
  });
  // case 1: EV at home, billed right
  writer.append('case.start', {
    caseId: 'ev-home',
    title: 'EV charging at home',
    seed: 1,
    params: { matchToleranceS: 1 },
  });
  const truth = [
    { t: 10, class: 'kettle', direction: 'on', loadId: 'k1', profile: 'kettle', deltaP: 2000, deltaQ: 0 },
    { t: 100, class: 'ev', direction: 'on', loadId: 'ev1', profile: 'ev-1ph-7.4kw', deltaP: 7400, deltaQ: 300 },
    { t: 130, class: 'kettle', direction: 'off', loadId: 'k1', profile: 'kettle', deltaP: -2000, deltaQ: 0 },
    { t: 3700, class: 'ev', direction: 'off', loadId: 'ev1', profile: 'ev-1ph-7.4kw', deltaP: -7400, deltaQ: -300 },
  ];
  writer.appendBatch(
    truth.map((e) => ({ kind: 'truth.event', data: { caseId: 'ev-home', meterId: 'house-1', ...e } })),
  );
  writer.appendBatch([
    {
      kind: 'truth.energy',
      data: {
        caseId: 'ev-home',
        meterId: 'house-1',
        loadId: 'k1',
        class: 'kettle',
        profile: 'kettle',
        start: 10,
        end: 130,
        energyWh: 66.67,
        currentA: 8.7,
        pf: 1,
      },
    },
    {
      kind: 'truth.energy',
      data: {
        caseId: 'ev-home',
        meterId: 'house-1',
        loadId: 'ev1',
        class: 'ev',
        profile: 'ev-1ph-7.4kw',
        start: 100,
        end: 3700,
        energyWh: 7400,
        currentA: 32.2,
        pf: 0.999,
      },
    },
    {
      kind: 'truth.session',
      data: {
        caseId: 'ev-home',
        sessionId: 's1',
        meterId: 'house-1',
        evId: 'ev1',
        payerContractId: 'C-OWNER',
        hostContractId: 'C-HOST',
        authorised: true,
        roaming: false,
        start: 100,
        end: 3700,
        importWh: 7400,
        exportWh: 0,
        bandWh: [0, (7400 * 3500) / 3600, (7400 * 100) / 3600],
        cost: 1.85,
        meterAddress: meterKey.address,
        startUnix: EPOCH + 100,
        endUnix: EPOCH + 3700,
        payerPseudonym: PAYER,
        hostPseudonym: HOST,
      },
    },
  ]);
  const detected = [
    { tMeter: 10.4, class: 'kettle', direction: 'on', deltaP: 1990, deltaQ: 0 },
    { tMeter: 100.6, class: 'ev', direction: 'on', deltaP: 7390, deltaQ: 310 },
    { tMeter: 130.3, class: 'kettle', direction: 'off', deltaP: -1995, deltaQ: 0 },
    { tMeter: 3700.5, class: 'ev', direction: 'off', deltaP: -7395, deltaQ: -305 },
  ];
  writer.appendBatch(
    detected.map((e) => ({
      kind: 'obs.meter.event',
      data: { caseId: 'ev-home', meterId: 'house-1', tObserved: e.tMeter, ...e },
    })),
  );
  const measurements = [];
  for (let t = 0; t <= 3800; t += 100) {
    const p = (t >= 10 && t < 130 ? 2000 : 0) + (t >= 100 && t < 3700 ? 7400 : 0) + 150;
    measurements.push({
      kind: 'obs.meter.measurement',
      data: {
        caseId: 'ev-home',
        meterId: 'house-1',
        t,
        p,
        q: 0,
        vrms: 230,
        irms: p / 230,
        pf: 1,
        importWh: (t * 150) / 3600 + (t >= 100 ? ((Math.min(t, 3700) - 100) * 7400) / 3600 : 0),
        exportWh: 0,
      },
    });
  }
  writer.appendBatch(measurements);
  const tariff = defaultTariff();
  // 16:01:40–17:01:40 on a Monday: 3,500 s in the day band, the last 100 s in the evening peak (bands off-peak,
  // day, peak of the default tariff).
  const base = {
    start: BigInt(EPOCH + 100),
    end: BigInt(EPOCH + 3700),
    importMilliWh: 7_401_000n,
    exportMilliWh: 0n,
    version: RECORD_VERSION_BANDS,
    bandMilliWh: [0n, 7_195_400n, 205_600n],
  };
  const record: BillingRecord = {
    meter: meterKey.address,
    seq: 1n,
    payer: PAYER,
    host: HOST,
    ...base,
    costMicro: computeCostMicro(tariff, base),
    tariffVersion: 1n,
    loadClass: loadClassId('ev-1ph-7.4kw'),
    attributed: true,
  };
  const signed = await signBillingRecord(meterKey, domain, record);
  writer.append('obs.meter.billing', {
    caseId: 'ev-home',
    meterId: 'house-1',
    tObserved: 3701,
    signed: { record: billingRecordToJson(record), signature: signed.signature },
  });
  writer.append('obs.ledger.submission', { caseId: 'ev-home', meter: meterKey.address, seq: '1', status: 'landed' });
  writer.append('obs.ledger.landed', {
    caseId: 'ev-home',
    ...landedToJson({
      blockNumber: 5,
      txHash: `0x${'c3'.repeat(32)}`,
      logIndex: 0,
      record,
      signature: signed.signature,
    }),
  });
  writer.append('obs.ledger.state', {
    caseId: 'ev-home',
    domain: { ...domain, chainId: '1337' },
    meters: [{ meter: meterKey.address, status: 'Ok', host: HOST }],
    tariffs: { 1: tariffToJson(tariff) },
  });
  writer.append('case.verdict', {
    caseId: 'ev-home',
    title: 'EV charging at home',
    status: 'RAN',
    verdict: 'PASS',
    metrics: { 'detection.f1': 1, 'billing.missing': 0 },
    criteria: [
      {
        metric: 'detection.f1',
        op: '>=',
        limit: 0.95,
        marginal: 0.98,
        unit: '1',
        clause: 'bench NILM-1',
        verdict: 'PASS',
        measured: 1,
      },
      {
        metric: 'billing.missing',
        op: '==',
        limit: 0,
        unit: 'count',
        clause: 'bench BILL-1',
        verdict: 'PASS',
        measured: 0,
      },
    ],
  });
  // case 2: detection fails
  writer.append('case.start', { caseId: 'nilm', title: 'Appliance detection', seed: 2, params: {} });
  writer.append('case.verdict', {
    caseId: 'nilm',
    title: 'Appliance detection',
    status: 'RAN',
    verdict: 'FAIL',
    metrics: { 'detection.f1': 0.8, 'latency.p99_s': 1.7 },
    criteria: [
      {
        metric: 'detection.f1',
        op: '>=',
        limit: 0.95,
        unit: '1',
        clause: 'bench NILM-1',
        verdict: 'FAIL',
        measured: 0.8,
      },
      {
        metric: 'latency.p99_s',
        op: '<=',
        limit: 2,
        marginal: 1.5,
        unit: 's',
        clause: 'bench NILM-2',
        verdict: 'MARGINAL',
        measured: 1.7,
      },
    ],
  });
  // case 3: not run
  writer.append('case.start', { caseId: 'ev-cp', title: 'EV control pilot', seed: 3, params: {} });
  writer.append('case.verdict', {
    caseId: 'ev-cp',
    title: 'EV control pilot',
    status: 'NOT RUN',
    verdict: 'NOT RUN',
    reason: 'rig sim lacks ev.cp',
    metrics: {},
    criteria: [
      {
        metric: 'billing.missing',
        op: '==',
        limit: 0,
        unit: 'count',
        verdict: 'NOT RUN',
        reason: 'rig sim lacks ev.cp',
      },
    ],
  });
  return { runId, writer };
}
