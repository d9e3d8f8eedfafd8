import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRY } from '../../../engine/observations.js';
import { scenarioSchema } from '../../../profiles/scenario-schema.js';
import { requireSocat } from '../../../rigs/emulators/pty.js';
import { HardwareRig } from '../../../rigs/hardware-rig.js';
import { type RigConfig, rigSchema } from '../../../rigs/schema.js';
import { simUp } from '../../../rigs/sim-up.js';

describe('HardwareRig over the coupled emulators on PTYs', () => {
  let dir: string;
  let rig: RigConfig;
  let served: Awaited<ReturnType<typeof simUp>>;
  beforeAll(async () => {
    requireSocat();
    dir = mkdtempSync(join(tmpdir(), 'bench-hwrig-'));
    rig = rigSchema.parse({
      name: 'hw-test',
      instruments: [
        {
          id: 'load',
          role: 'load',
          dialect: 'chroma-63800',
          transport: { kind: 'serial', path: join(dir, 'load') },
          capabilities: ['load.setpoints'],
        },
        {
          id: 'dut',
          role: 'dut',
          dialect: 'sdm630',
          transport: { kind: 'serial', path: join(dir, 'dut') },
          capabilities: ['meter.measurements'],
        },
      ],
    });
    served = await simUp(rig);
  });
  afterAll(async () => {
    await served?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plays switch steps as load setpoints and records the meter measurements and transport latency', async () => {
    const hw = new HardwareRig(rig);
    const observed: Array<[string, Record<string, unknown>]> = [];
    try {
      const id = await hw.open();
      expect(id.instruments.map((i) => i.identity)).toEqual([expect.stringMatching(/^CHROMA/), 'Modbus sdm630 unit 1']);
      await hw.runCase(
        {
          caseId: 'c1',
          scenario: scenarioSchema.parse({
            name: 'heater-on-off',
            start: '2026-03-11T10:00:00Z',
            durationS: 8,
            profiles: [
              {
                name: 'heater',
                class: 'test-point',
                description: 'resistive',
                source: 'test',
                noise: 0,
                states: [{ name: 'on', p: 2000, pf: 1 }],
              },
            ],
            houses: [
              { id: 'lab', contract: 'C-LAB', baseLoadW: 0, loads: [{ id: 'h', profile: 'heater', on: 1, off: 5 }] },
            ],
          }),
          params: { timeScale: 20, pollMs: 20, tailS: 2 },
        },
        {
          caseId: 'c1',
          seed: 1,
          signal: new AbortController().signal,
          observe: (kind, data) => observed.push([kind, data]),
          progress: () => undefined,
        },
      );
    } finally {
      await hw.close();
    }
    const powers = observed.filter(([k]) => k === ENTRY.meterMeasurement).map(([, d]) => d.p as number);
    expect(powers.some((p) => Math.abs(p - 2000) < 1)).toBe(true);
    expect(powers.at(-1)).toBe(0);
    const meters = new Set(observed.filter(([k]) => k === ENTRY.meterMeasurement).map(([, d]) => d.meterId));
    expect([...meters]).toEqual(['lab']);
    const lat = observed.filter(([k]) => k === ENTRY.transportLatency).map(([, d]) => d.instrument);
    expect(lat.sort()).toEqual(['dut', 'load']);
  });
});
