import { describe, expect, it } from 'vitest';
import type { MeasurementData, MeterLogData } from '../../../core/record/entries.js';
import { readoutItems } from '../../../meter/faces/iec62056.js';
import { LiveFaces } from '../../../meter/faces/live.js';
import { registerWords } from '../../../meter/faces/register-map.js';
import { offlineMeter } from '../../../meter/factory.js';
import type { MeterOutputs } from '../../../meter/outputs.js';
import { groundTruth } from '../../../profiles/ground-truth.js';
import { type Scenario, scenarioSchema } from '../../../profiles/scenario-schema.js';
import { meterRuns, synthesizeMeterSync } from '../../../profiles/synth.js';
import { SDM630_INPUT } from '../../../protocols/sdm630.js';

const SPC = 32;

type Measurement = Omit<MeasurementData, 'caseId'> & { importVarh: number; exportVarh: number };

function play(scenario: Scenario, config: Record<string, unknown> = {}) {
  const measurements: Measurement[] = [];
  const reports: Array<Parameters<MeterOutputs['report']>[0]> = [];
  const logs: Array<Omit<MeterLogData, 'caseId'>> = [];
  const { meter, store } = offlineMeter({
    meterId: 'h',
    seed: 1,
    config,
    samplesPerCycle: SPC,
    outputs: {
      measurement: (m) => measurements.push(m),
      report: (r) => reports.push(r),
      log: (l) => logs.push(l),
    },
  });
  for (const b of synthesizeMeterSync(scenario, 'h', { seed: 1, samplesPerCycle: SPC })) meter.processBlock(b);
  meter.finish();
  store.close();
  return { meter, measurements, reports, logs };
}

/** An inductive load, then a capacitive one (a PFC-overcompensated drive), each alone for ten minutes. */
const reactive = scenarioSchema.parse({
  name: 'kvarh',
  start: '2026-03-02T12:00:00Z',
  durationS: 1400,
  profiles: [
    {
      name: 'motor',
      class: 'motor',
      description: 'induction motor at part load',
      source: 'test load: pf 0.6 lagging, a known Q',
      states: [{ name: 'run', p: 800, pf: 0.6, harmonics: [{ order: 3, ratio: 0.05 }] }],
    },
    {
      name: 'capacitive',
      class: 'capacitive',
      description: 'drive with an over-sized PFC capacitor',
      source: 'test load: pf 0.8 leading, a known negative Q',
      states: [{ name: 'run', p: 600, pf: -0.8 }],
    },
  ],
  houses: [
    {
      id: 'h',
      contract: 'C',
      baseLoadW: 0,
      loads: [
        { id: 'm', profile: 'motor', on: 20, off: 620 },
        { id: 'c', profile: 'capacitive', on: 700, off: 1300 },
      ],
    },
  ],
});

describe('reactive energy registers', () => {
  it('import/export kvarh equal the integral of Q > 0 and Q < 0 within 0.5 %', () => {
    let qPos = 0;
    let qNeg = 0;
    for (const run of meterRuns(reactive, 'h', 1)) {
      for (const s of run.segments) {
        const varh = (((s.q0 + s.q1) / 2) * (s.to - s.from)) / 3600;
        if (varh > 0) qPos += varh;
        else qNeg -= varh;
      }
    }
    // 800 W at pf 0.6 for 600 s: 1066.7 var → 177.8 varh; 600 W at pf −0.8: −450 var → 75 varh exported.
    expect(qPos).toBeCloseTo(177.78, 1);
    expect(qNeg).toBeCloseTo(75, 1);
    const { measurements } = play(reactive);
    const last = measurements.at(-1)!;
    expect(Math.abs(last.importVarh - qPos) / qPos).toBeLessThan(0.005);
    expect(Math.abs(last.exportVarh - qNeg) / qNeg).toBeLessThan(0.005);
    // The active registers are unchanged by the reactive ones: both loads import.
    const wh = groundTruth(reactive, 1).energies.reduce((s, e) => s + e.energyWh, 0);
    expect(Math.abs(last.importWh - wh) / wh).toBeLessThan(0.005);
    expect(last.exportWh).toBe(0);
    // While only the motor ran, nothing was exported.
    expect(measurements.find((m) => m.t === 650)!.exportVarh).toBe(0);
  });

  it('are on the SDM630 registers 0x004C/0x004E and in the IEC 62056-21 readout as 3.8.0/4.8.0', () => {
    const faces = new LiveFaces();
    faces.outputs().measurement({
      meterId: 'h',
      t: 1,
      p: 0,
      q: 0,
      vrms: 230,
      irms: 0,
      pf: 1,
      importWh: 1000,
      exportWh: 0,
      importVarh: 12_345,
      exportVarh: 678,
    });
    const words = registerWords(faces.values);
    const float = (addr: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt16BE(words.get(addr)!, 0);
      b.writeUInt16BE(words.get(addr + 1)!, 2);
      return b.readFloatBE(0);
    };
    expect(float(0x004c)).toBeCloseTo(12.345, 4);
    expect(float(0x004e)).toBeCloseTo(0.678, 4);
    expect(SDM630_INPUT.find((r) => r.address === 0x004c)?.unit).toBe('kvarh');
    const items = Object.fromEntries(
      readoutItems(
        faces.values,
        { manufacturer: 'BEN', identification: 'RM1', serial: 'S', firmware: '1', maxBaud: '5' },
        new Date(0),
      ),
    );
    expect(items['3.8.0']).toBe('000012.345*kvarh');
    expect(items['4.8.0']).toBe('000000.678*kvarh');
  });
});

/** Four quiet hours: the clock is all there is to watch. */
const quiet = scenarioSchema.parse({
  name: 'clock',
  start: '2026-03-02T00:00:00Z',
  durationS: 4 * 3600,
  houses: [{ id: 'h', contract: 'C', baseLoadW: 100 }],
});

describe('meter clock', () => {
  const PPM = 100;
  const HOUR = 3600;

  it('drifts 100 ppm and, synced hourly from the bench clock, stays within drift × interval; each sync is logged', () => {
    const { reports, logs } = play(quiet, { faults: { clockDriftPpm: PPM }, clockSyncIntervalS: HOUR });
    const offsets = reports.map((r) => r.tMeter - r.t);
    expect(reports).toHaveLength(16);
    const bound = PPM * 1e-6 * HOUR;
    for (const o of offsets) expect(o).toBeLessThanOrEqual(bound + 1e-9);
    // The report just before each sync sees the whole interval's drift; the one a quarter hour after, a quarter.
    expect(offsets[3]).toBeCloseTo(bound, 3);
    expect(offsets[4]).toBeCloseTo(bound / 4, 3);
    const syncs = logs.filter((l) => l.code === 'clock-sync');
    expect(syncs.map((l) => l.t)).toEqual([HOUR, 2 * HOUR, 3 * HOUR]);
    for (const s of syncs) {
      expect(s.offsetS).toBeCloseTo(bound, 4);
      expect(s.message).toContain('from bench');
    }
  });

  it('with syncing disabled the offset grows linearly with the drift and nothing is logged', () => {
    const { reports, logs } = play(quiet, { faults: { clockDriftPpm: PPM }, clockSyncIntervalS: 0 });
    for (const r of reports) expect(r.tMeter - r.t).toBeCloseTo(r.t * PPM * 1e-6, 6);
    expect(reports.at(-1)!.tMeter - reports.at(-1)!.t).toBeCloseTo(1.44, 6);
    expect(logs.filter((l) => l.code === 'clock-sync')).toEqual([]);
  });

  it('a sync on demand sets the clock to the time source and logs the offset it removed', () => {
    const logs: Array<Omit<MeterLogData, 'caseId'>> = [];
    const { meter, store } = offlineMeter({
      meterId: 'h',
      seed: 1,
      config: { faults: { clockDriftPpm: -50 }, clockSyncIntervalS: 0 },
      outputs: { log: (l) => logs.push(l) },
    });
    expect(meter.clock(1000)).toBeCloseTo(1000 - 0.05, 9);
    // The bench says it is 2.5 s later than true time (its own clock is off): the meter follows its source.
    expect(meter.syncClock(1000, 1002.5, 'stream')).toBeCloseTo(-0.05 - 2.5, 9);
    expect(meter.clock(1000)).toBeCloseTo(1002.5, 9);
    expect(meter.clock(3000)).toBeCloseTo(3002.5 - 0.1, 9);
    expect(logs).toMatchObject([{ code: 'clock-sync', t: 1000, offsetS: expect.closeTo(-2.55, 9) }]);
    store.close();
  });

  it('a healthy meter (no drift) stays exact and still logs its hourly syncs with zero correction', () => {
    const { reports, logs } = play(quiet);
    for (const r of reports) expect(r.tMeter).toBe(r.t);
    expect(logs.filter((l) => l.code === 'clock-sync').map((l) => l.offsetS)).toEqual([0, 0, 0]);
  });
});
