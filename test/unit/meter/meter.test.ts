import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SignedBillingRecordJson } from '../../../billing/record-json.js';
import { CycleAnalyzer, CycleFeatures } from '../../../dsp/cycle.js';
import { offlineMeter } from '../../../meter/factory.js';
import type { MeterOutputs } from '../../../meter/outputs.js';
import { BillingStore } from '../../../meter/store.js';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import { synthesizeMeterSync } from '../../../profiles/synth.js';

const REPO = join(import.meta.dirname, '../../..');

describe('meter DSP', () => {
  it('measures a pure sine exactly', () => {
    const n = 128;
    const v = new Float64Array(n);
    const i = new Float64Array(n);
    const theta = Math.acos(0.8);
    for (let k = 0; k < n; k++) {
      v[k] = 230 * Math.SQRT2 * Math.sin((2 * Math.PI * k) / n);
      i[k] = 10 * Math.SQRT2 * Math.sin((2 * Math.PI * k) / n - theta);
    }
    const f = new CycleAnalyzer(n).analyze(v, i, 0, new CycleFeatures());
    expect(f.vrms).toBeCloseTo(230, 9);
    expect(f.irms).toBeCloseTo(10, 9);
    expect(f.p).toBeCloseTo(2300 * 0.8, 6);
    expect(f.q).toBeCloseTo(2300 * 0.6, 6);
    expect(f.pf).toBeCloseTo(0.8, 9);
    expect(f.thd).toBeLessThan(1e-9);
  });
});

interface Captured {
  events: Array<{ direction: string; class: string }>;
  billing: SignedBillingRecordJson[];
  logs: Array<{ level: string; code: string }>;
  last?: { importWh: number };
}

function runMeter(faults: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const scenario = loadScenarioFile(join(REPO, 'suites/scenarios/smoke.yaml'));
  const cap: Captured = { events: [], billing: [], logs: [] };
  const out: Partial<MeterOutputs> = {
    event: (e) => cap.events.push(e),
    measurement: (m) => {
      cap.last = m;
    },
    billing: (b) => cap.billing.push(b.signed),
    log: (l) => cap.logs.push(l),
  };
  const { meter, store } = offlineMeter({
    meterId: 'house-1',
    hostContractId: 'C-HOUSE-1',
    epochS: Date.parse(scenario.start) / 1000,
    seed: 1,
    config: { ...extra, faults },
    outputs: out,
  });
  meter.authorize('C-ALICE', 118);
  for (const b of synthesizeMeterSync(scenario, 'house-1', { seed: 1 })) meter.processBlock(b);
  return { cap, meter, store };
}

describe('reference meter', () => {
  it('detects and identifies the EV and the kettle and bills the EV once', () => {
    const { cap } = runMeter({});
    expect(cap.events.map((e) => `${e.direction} ${e.class}`)).toEqual(['on ev', 'on kettle', 'off kettle', 'off ev']);
    expect(cap.billing).toHaveLength(1);
    expect(cap.billing[0]!.record.attributed).toBe(true);
  });

  it('gain +3 % reads energy 3 % high', () => {
    const healthy = runMeter({}).cap.last!.importWh;
    const high = runMeter({ gainErrorPct: 3 }).cap.last!.importWh;
    expect(high / healthy).toBeCloseTo(1.03, 3);
  });

  it('store-and-forward: a ledger outage loses and duplicates nothing, in order, across a restart', async () => {
    const { meter, store } = runMeter({ duplicateSubmission: true }, { ledgerOutage: { fromS: 0, toS: 5000 } });
    const landed: string[] = [];
    let calls = 0;
    const flaky = {
      submit: async (s: SignedBillingRecordJson) => {
        calls++;
        if (calls % 2 === 1) throw new Error('connection reset');
        landed.push(String(s.record.seq));
        return { status: 'landed' as const };
      },
    };
    await meter.forward(flaky, 100); // inside the outage: nothing is sent
    expect(landed).toEqual([]);
    expect(meter.backlog).toBe(2);
    // Power cycle: a new store on the same file queues what was never acknowledged.
    const reopened = new BillingStore(store.file);
    expect(reopened.backlog).toBe(2);
    reopened.close();
    for (let t = 6000; meter.backlog > 0 && t < 6100; t++) await meter.forward(flaky, t);
    expect(landed).toEqual(['1', '2']);
    expect(new BillingStore(store.file).backlog).toBe(0);
  });

  it('an offline meter removes its temporary store when closed, so `bench meter replay` and `serve` leave nothing', () => {
    const { store, close } = offlineMeter({ meterId: 'h', seed: 1 });
    expect(existsSync(store.file)).toBe(true);
    close();
    expect(existsSync(dirname(store.file))).toBe(false);
  });

  it('reports a measurement fault as a failure message', () => {
    const { cap } = runMeter({}, { injectMeasurementFaultAtS: 300 });
    expect(cap.logs.filter((l) => l.level === 'error').map((l) => l.code)).toEqual(['measurement-fault']);
  });
});
