import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudonym } from '../../../billing/billing-record.js';
import { ENTRY } from '../../../core/record/entries.js';
import type { CaseContext } from '../../../core/rig.js';
import { parseMeterConfig } from '../../../meter/config.js';
import { serveModbusRtu } from '../../../meter/faces/modbus.js';
import { scenarioSchema } from '../../../profiles/scenario-schema.js';
import { BenchPhysics } from '../../../rigs/emulators/physics.js';
import { openPtyPair, requireSocat } from '../../../rigs/emulators/pty.js';
import { liveValuesFrom } from '../../../rigs/emulators/registry.js';
import { ScpiLoadEmulator } from '../../../rigs/emulators/scpi-load-emulator.js';
import { serveLinesOnSerial } from '../../../rigs/emulators/serve-line.js';
import { HardwareRig } from '../../../rigs/hardware-rig.js';
import { checkRig } from '../../../rigs/rig-check.js';
import { type RigConfig, rigSchema } from '../../../rigs/schema.js';
import { simUp } from '../../../rigs/sim-up.js';

/** A rig instrument on a PTY link `dir/<id>` (the emulators serve the other end). */
function serial(
  dir: string,
  id: string,
  role: string,
  dialect: string,
  capabilities: string[],
  extra: { transport?: Record<string, unknown>; options?: Record<string, unknown> } = {},
) {
  return {
    id,
    role,
    dialect,
    transport: { kind: 'serial', path: join(dir, id), ...extra.transport },
    capabilities,
    ...(extra.options ? { options: extra.options } : {}),
  };
}

/** The context of one case run straight on the rig (no executor): seed 1, never aborted, no progress bar. */
function caseContext(caseId: string, observe: CaseContext['observe']): CaseContext {
  return { caseId, seed: 1, signal: new AbortController().signal, observe, progress: () => undefined };
}

/** One resistive heater at the lab's meter, on and off at the given scenario seconds. */
function heaterScenario(name: string, durationS: number, watts: number, on: number, off: number) {
  return scenarioSchema.parse({
    name,
    start: '2026-03-11T10:00:00Z',
    durationS,
    profiles: [
      {
        name: 'heater',
        class: 'test-point',
        description: 'resistive',
        source: 'test',
        noise: 0,
        states: [{ name: 'on', p: watts, pf: 1 }],
      },
    ],
    houses: [{ id: 'lab', contract: 'C-LAB', baseLoadW: 0, loads: [{ id: 'h', profile: 'heater', on, off }] }],
  });
}

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
        serial(dir, 'load', 'load', 'chroma-63800', ['load.setpoints']),
        serial(dir, 'dut', 'dut', 'sdm630', ['meter.measurements']),
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
          scenario: heaterScenario('heater-on-off', 8, 2000, 1, 5),
          params: { timeScale: 20, pollMs: 20, tailS: 2 },
        },
        caseContext('c1', (kind, data) => observed.push([kind, data])),
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

describe('EV simulator and token over the emulated charge point', () => {
  let dir: string;
  let rig: RigConfig;
  let served: Awaited<ReturnType<typeof simUp>>;
  beforeAll(async () => {
    requireSocat();
    dir = mkdtempSync(join(tmpdir(), 'bench-hwrig-ev-'));
    rig = rigSchema.parse({
      name: 'hw-ev',
      instruments: [
        serial(dir, 'load', 'load', 'chroma-63804x3', ['load.setpoints']),
        serial(dir, 'stream', 'dut', 'jsonl', ['meter.events', 'meter.billing'], { transport: { baudRate: 115200 } }),
        serial(dir, 'board', 'io', 'firmata', ['ev.cp'], {
          transport: { baudRate: 57600 },
          options: { cpPins: { b: 8, c: 9 } },
        }),
      ],
    });
    served = await simUp(rig, { timeScale: 10 });
  });
  afterAll(async () => {
    await served?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pilot A→B→C→B→A around the session, the token reaches the meter, the session is billed to its owner', async () => {
    const hw = new HardwareRig(rig);
    const observed: Array<[string, Record<string, unknown>]> = [];
    const pilot: string[] = [];
    served.physics.on('cp', (s: string) => pilot.push(s));
    try {
      await hw.open();
      await hw.runCase(
        {
          caseId: 'ev',
          scenario: scenarioSchema.parse({
            name: 'ev-at-home',
            start: '2026-03-11T10:00:00Z',
            durationS: 120,
            houses: [{ id: 'lab', contract: 'C-LAB', baseLoadW: 0, loads: [] }],
            evs: [
              {
                id: 'ev-1',
                owner: 'C-OWNER-1',
                home: 'lab',
                profile: 'ev-1ph-7.4kw',
                sessions: [{ at: 'lab', plugIn: 20, unplug: 90, authorise: true }],
              },
            ],
          }),
          params: { timeScale: 10 },
        },
        caseContext('ev', (kind, data) => observed.push([kind, data])),
      );
    } finally {
      await hw.close();
    }
    const of = (k: string) => observed.filter(([kind]) => kind === k).map(([, d]) => d);
    expect(of(ENTRY.rigCp).map((d) => d.state)).toEqual(['B', 'C', 'B', 'A']);
    // The emulated pilot saw the same states through the relays (and the final safe A).
    expect(pilot).toEqual(['B', 'C', 'B', 'A']);
    expect(of(ENTRY.rigAuth)).toEqual([expect.objectContaining({ contractId: 'C-OWNER-1', evId: 'ev-1' })]);
    const events = of(ENTRY.meterEvent);
    expect(events.map((e) => [e.direction, e.class])).toEqual([
      ['on', 'ev'],
      ['off', 'ev'],
    ]);
    const bills = of(ENTRY.meterBilling);
    expect(bills).toHaveLength(1);
    const record = (bills[0]?.signed as { record: { payer: string } } | undefined)?.record;
    expect(record?.payer).toBe(pseudonym('C-OWNER-1', parseMeterConfig({}).pseudonymSalt));
  });
});

describe('HardwareRig with an IEC 62056-21 optical DUT', () => {
  it('polls energy and power by readout while the load plays the scenario; rig check identifies it', async () => {
    requireSocat();
    const dir = mkdtempSync(join(tmpdir(), 'bench-hwrig-iec-'));
    const rig = rigSchema.parse({
      name: 'hw-iec',
      instruments: [
        serial(dir, 'load', 'load', 'chroma-63800', ['load.setpoints']),
        serial(dir, 'optical', 'dut', 'iec62056-21', ['meter.measurements'], {
          transport: { baudRate: 300, parity: 'even', dataBits: 7 },
        }),
      ],
    });
    const served = await simUp(rig, { timeScale: 60 });
    const hw = new HardwareRig(rig);
    const observed: Array<[string, Record<string, unknown>]> = [];
    try {
      const checks = await checkRig(rig, 2);
      expect(checks.find((c) => c.id === 'optical')).toMatchObject({
        status: 'ok',
        identity: expect.stringMatching(/^IEC 62056-21 BEN EMU62056 @ 9600 Bd/),
      });
      await hw.open();
      await hw.runCase(
        {
          caseId: 'iec',
          scenario: heaterScenario('heater-hour', 600, 3000, 60, 540),
          params: { timeScale: 60, pollMs: 1000 },
        },
        caseContext('iec', (kind, data) => observed.push([kind, data])),
      );
    } finally {
      await hw.close();
      await served.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const m = observed.filter(([k]) => k === ENTRY.meterMeasurement).map(([, d]) => d);
    expect(m.length).toBeGreaterThan(3);
    expect(m.some((x) => Math.abs((x.p as number) - 3000) < 1)).toBe(true);
    // 3 kW for 480 s = 400 Wh, read at 1 Wh resolution.
    const energy = (m.at(-1)?.importWh as number) - (m[0]?.importWh as number);
    expect(energy).toBeGreaterThan(380);
    expect(energy).toBeLessThan(420);
  });
});

describe('HardwareRig when the load line goes away mid-case', () => {
  it('records the setpoint it missed, reconnects, and plays the rest of the scenario on the same PTY path', async () => {
    requireSocat();
    const dir = mkdtempSync(join(tmpdir(), 'bench-hwrig-drop-'));
    const loadPath = join(dir, 'load');
    const physics = new BenchPhysics();
    const serveLoad = async () => {
      const pair = await openPtyPair({ a: `${loadPath}.emu`, b: loadPath });
      const emulator = new ScpiLoadEmulator(physics);
      const served = await serveLinesOnSerial(`${loadPath}.emu`, emulator);
      const close = async () => {
        await served.close();
        await pair.close();
      };
      return { emulator, close };
    };
    const line = await serveLoad();
    const rig = rigSchema.parse({
      name: 'hw-drop',
      instruments: [
        serial(dir, 'load', 'load', 'chroma-63800', ['load.setpoints'], { transport: { baudRate: 115200 } }),
      ],
    });
    const hw = new HardwareRig(rig);
    const observed: Array<[string, Record<string, unknown>]> = [];
    const gaps = () => observed.filter(([k]) => k === ENTRY.rigGap).map(([, d]) => String(d.reason));
    let second: Awaited<ReturnType<typeof serveLoad>> | undefined;
    try {
      await hw.open();
      // Heater on at scenario 2 s, off at 8 s; the case plays to 20 s, so the off has time to be retried.
      const run = hw.runCase(
        { caseId: 'drop', scenario: heaterScenario('drop', 20, 2000, 2, 8), params: { timeScale: 2, pollMs: 100 } },
        caseContext('drop', (kind, data) => observed.push([kind, data])),
      );
      // The line drops once the heater is on, and comes back once the heater's off has been missed.
      await until('the heater went on', () => line.emulator.log.includes('LOAD ON'), run);
      await line.close();
      await until('a setpoint was missed', () => gaps().some((g) => /setpoint not taken/.test(g)), run);
      second = await serveLoad();
      await run;
    } finally {
      await hw.close();
      await (second ?? line).close();
      rmSync(dir, { recursive: true, force: true });
    }
    // In the record: the missed setpoint, then the reconnection.
    const missed = gaps().findIndex((g) => /setpoint not taken/.test(g));
    const back = gaps().findIndex((g) => /reconnected after/.test(g));
    expect(missed).toBeGreaterThanOrEqual(0);
    expect(back).toBeGreaterThan(missed);
    // The heater's off reached the load through the new line (the old one saw only the standby off before the on).
    expect(second?.emulator.log).toContain('LOAD OFF');
    expect(line.emulator.log.lastIndexOf('LOAD OFF')).toBeLessThan(line.emulator.log.indexOf('LOAD ON'));
  });
});

describe('HardwareRig when the meter under test goes silent mid-case', () => {
  it('records timeouts naming the meter, keeps the load on schedule, and reads the meter again when it answers', async () => {
    requireSocat();
    const dir = mkdtempSync(join(tmpdir(), 'bench-hwrig-silent-'));
    const physics = new BenchPhysics();
    const loadPair = await openPtyPair({ a: join(dir, 'load.emu'), b: join(dir, 'load') });
    const load = new ScpiLoadEmulator(physics);
    const loadServed = await serveLinesOnSerial(join(dir, 'load.emu'), load);
    const dutPair = await openPtyPair({ a: join(dir, 'dut.emu'), b: join(dir, 'dut') });
    // The meter's face closed = a meter that still has its line but answers nothing.
    const serveDut = () => serveModbusRtu(() => liveValuesFrom(physics), { path: join(dir, 'dut.emu') });
    let dut = await serveDut();
    const rig = rigSchema.parse({
      name: 'hw-silent',
      instruments: [
        serial(dir, 'load', 'load', 'chroma-63800', ['load.setpoints'], { transport: { baudRate: 115200 } }),
        { ...serial(dir, 'dut', 'dut', 'sdm630', ['meter.measurements']), timeoutMs: 200 },
      ],
    });
    const hw = new HardwareRig(rig);
    const observed: Array<[string, Record<string, unknown>]> = [];
    const timedOut = ([k, d]: [string, Record<string, unknown>]) =>
      k === ENTRY.rigGap && d.instrument === 'dut' && /timed out|time ?out|no answer/i.test(String(d.reason));
    try {
      await hw.open();
      const run = hw.runCase(
        {
          caseId: 'silent',
          scenario: heaterScenario('silent', 16, 2000, 4, 12),
          params: { timeScale: 2, pollMs: 100 },
        },
        caseContext('silent', (kind, data) => observed.push([kind, data])),
      );
      // The meter goes silent once it has been read, and answers again once the load took the heater's on (scenario
      // 4 s) and a poll timed out: the load's step happens inside the silence.
      await until('the meter was read', () => observed.some(([k]) => k === ENTRY.meterMeasurement), run);
      await dut.close();
      await until('the heater went on', () => load.log.includes('LOAD ON'), run);
      await until('a poll timed out', () => observed.some(timedOut), run);
      const silentTo = observed.length;
      dut = await serveDut();
      await run;
      // Record order: readings, then the timeouts of the silence, then readings again.
      const measured = observed.flatMap(([k], i) => (k === ENTRY.meterMeasurement ? [i] : []));
      const firstTimeout = observed.findIndex(timedOut);
      expect(measured[0]).toBeLessThan(firstTimeout);
      // Readings resume after the meter answers again and show the heater the load switched on during the silence.
      const after = observed.slice(silentTo).filter(([k]) => k === ENTRY.meterMeasurement);
      expect(after.length).toBeGreaterThan(3);
      expect(after.some(([, d]) => Math.abs((d.p as number) - 2000) < 50)).toBe(true);
      expect(load.log).toContain('LOAD OFF');
    } finally {
      await hw.close();
      await dut.close();
      await loadServed.close();
      await dutPair.close();
      await loadPair.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Waits until `what` holds, checking every few ms: the test acts on what the case did (an entry in the record, a
 * command at an emulator), never on elapsed time. Fails when the case ends first.
 */
async function until(what: string, holds: () => boolean, run: Promise<unknown>): Promise<void> {
  let ended = false;
  run.then(
    () => {
      ended = true;
    },
    () => {
      ended = true;
    },
  );
  while (!holds()) {
    if (ended) throw new Error(`the case ended before ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
