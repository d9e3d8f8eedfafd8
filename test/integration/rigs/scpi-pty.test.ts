import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Modbus from 'modbus-serial';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveModbusRtu } from '../../../meter/faces/modbus.js';
import { SCPI_DIALECTS } from '../../../rigs/drivers/scpi-dialects.js';
import { ScpiLoadDriver } from '../../../rigs/drivers/scpi-load.js';
import { BenchPhysics } from '../../../rigs/emulators/physics.js';
import { openPtyPair, type PtyPair, requireSocat } from '../../../rigs/emulators/pty.js';
import { liveValuesFrom } from '../../../rigs/emulators/registry.js';
import { ScpiLoadEmulator } from '../../../rigs/emulators/scpi-load-emulator.js';
import { serveLinesOnSerial } from '../../../rigs/emulators/serve-line.js';
import { SerialTransport } from '../../../rigs/transports/serial.js';

const ModbusRTU = Modbus as unknown as new () => ModbusClient;

describe('SCPI load over a real PTY pair (socat)', () => {
  let dir: string;
  const pairs: PtyPair[] = [];
  const closers: Array<() => Promise<void>> = [];

  beforeAll(() => {
    requireSocat(); // fails with a clear message when socat is missing
    dir = mkdtempSync(join(tmpdir(), 'bench-pty-'));
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    for (const p of pairs) await p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('driver ↔ emulator: identity, setpoints, coupled measurement, latency recorded', async () => {
    const pair = await openPtyPair({ a: join(dir, 'emu'), b: join(dir, 'drv') });
    pairs.push(pair);
    const physics = new BenchPhysics();
    const server = await serveLinesOnSerial(pair.a, new ScpiLoadEmulator(physics));
    closers.push(server.close);
    const t = new SerialTransport({ device: 'load', path: pair.b, baudRate: 115200 });
    const d = new ScpiLoadDriver(t, 'chroma-63800');
    closers.push(() => d.deactivate());
    expect(await d.activate()).toMatch(/^CHROMA,63804/);
    await d.apply({ kind: 'power', watts: 1500, powerFactor: 0.95 });
    expect(await d.measurePower()).toBeCloseTo(1500);
    await expect(d.apply({ kind: 'current', amps: 99 })).rejects.toMatchObject({ code: 'RANGE', device: 'load' });
    const lat = t.latency.summary();
    expect(lat.count).toBeGreaterThanOrEqual(5);
    expect(lat.p99Ms).toBeGreaterThan(0);
  });

  it('a PTY closed mid-run → disconnect, reconnect with the gap reported, requests work again', async () => {
    const links = { a: join(dir, 'emu2'), b: join(dir, 'drv2') };
    let pair = await openPtyPair(links);
    const physics = new BenchPhysics();
    const emu = new ScpiLoadEmulator(physics);
    let server = await serveLinesOnSerial(pair.a, emu);
    const t = new SerialTransport({ device: 'load', path: pair.b, baudRate: 115200 });
    const d = new ScpiLoadDriver(t, 'chroma-63800');
    await d.activate();
    const events: string[] = [];
    t.on('disconnect', () => events.push('disconnect'));
    const reconnected = new Promise<number>((r) => t.once('reconnect', (gap: number) => r(gap)));

    await server.close();
    await pair.close(); // the kernel PTY goes away under the driver
    await expect(d.query('*IDN?')).rejects.toMatchObject({ device: 'load' });
    pair = await openPtyPair(links); // the bench comes back on the same link names
    pairs.push(pair);
    server = await serveLinesOnSerial(pair.a, emu);
    closers.push(server.close, () => d.deactivate());
    const gap = await reconnected;
    expect(events).toContain('disconnect');
    expect(gap).toBeGreaterThan(0);
    expect(await d.query('*IDN?')).toMatch(/^CHROMA/);
  });
});

describe('a three-phase SCPI load (three units as one, INST:NSEL per phase) over a real PTY, metered per phase', () => {
  it('per-phase setpoints reach each phase; the emulated SDM630 reads them back per phase over Modbus RTU', async () => {
    requireSocat();
    const dir = mkdtempSync(join(tmpdir(), 'bench-pty-3ph-'));
    const load = await openPtyPair({ a: join(dir, 'load-emu'), b: join(dir, 'load') });
    const meter = await openPtyPair({ a: join(dir, 'meter-emu'), b: join(dir, 'meter') });
    const physics = new BenchPhysics();
    const emulator = new ScpiLoadEmulator(physics, undefined, SCPI_DIALECTS['chroma-63804-3ph']);
    const server = await serveLinesOnSerial(load.a, emulator);
    const face = await serveModbusRtu(() => liveValuesFrom(physics), { path: meter.a });
    const d = new ScpiLoadDriver(
      new SerialTransport({ device: 'load', path: load.b, baudRate: 115200 }),
      'chroma-63804-3ph',
    );
    const client = new ModbusRTU();
    try {
      await d.activate();
      await d.applyPhases([
        { kind: 'power', watts: 3680, powerFactor: 1 },
        { kind: 'power', watts: 2300, powerFactor: 0.8 },
        { kind: 'off' },
      ]);
      expect(emulator.log).toEqual(
        expect.arrayContaining(['INST:NSEL 1', 'POW 3680.000', 'INST:NSEL 2', 'PFAC 0.800', 'INST:NSEL 3']),
      );
      // The settings are latched until *TRG: the three phases step together, as a three-phase charger's do.
      expect(emulator.log.slice(-2)).toEqual(['*TRG', 'SYST:ERR?']);
      const steps: number[] = [];
      physics.on('load', (at: number) => steps.push(at));
      await d.send('INST:NSEL 1');
      await d.send('POW 1000');
      await d.send('INST:NSEL 2');
      await d.send('POW 1000');
      // *OPC? answers once every command before it is done (the line is read in order).
      expect(await d.query('*OPC?')).toBe('1');
      expect(steps).toEqual([]);
      expect(physics.phases?.map((ph) => ph.powerW)).toEqual([3680, 2300, 0]);
      await d.send('*TRG');
      expect(await d.query('*OPC?')).toBe('1');
      expect(steps).toHaveLength(1);
      expect(physics.phases?.map((ph) => ph.powerW)).toEqual([1000, 1000, 0]);
      await d.applyPhases([
        { kind: 'power', watts: 3680, powerFactor: 1 },
        { kind: 'power', watts: 2300, powerFactor: 0.8 },
        { kind: 'off' },
      ]);
      // Ratings are per phase: 4.5 kW on one unit is refused before anything is sent.
      await expect(
        d.applyPhases([{ kind: 'power', watts: 5000 }, { kind: 'off' }, { kind: 'off' }]),
      ).rejects.toMatchObject({ code: 'RANGE' });
      await d.send('INST:NSEL 2');
      expect(await d.measurePower()).toBeCloseTo(2300, 3);
      await client.connectRTUBuffered(meter.b, { baudRate: 9600 });
      client.setID(1);
      client.setTimeout(1000);
      const words = (await client.readInputRegisters(0x0000, 0x24)).data;
      const f = (i: number) => {
        const b = Buffer.alloc(4);
        b.writeUInt16BE(words[2 * i]!, 0);
        b.writeUInt16BE(words[2 * i + 1]!, 2);
        return b.readFloatBE(0);
      };
      expect([f(6), f(7), f(8)]).toEqual([expect.closeTo(3680, 1), expect.closeTo(2300, 1), 0]); // W per phase
      expect([f(3), f(4), f(5)]).toEqual([expect.closeTo(16, 3), expect.closeTo(2300 / 0.8 / 230, 3), 0]); // A
      expect(f(16)).toBeCloseTo(0.8, 4); // L2 power factor
      // A single setpoint on the three-phase load from now on is L1's, with L2 and L3 off (never left to the phase
      // selected last): a single-phase case after a three-phase one, and the case's closing off.
      await d.apply({ kind: 'power', watts: 500, powerFactor: 1 });
      expect(physics.phases?.map((ph) => ph.powerW)).toEqual([500, 0, 0]);
      await d.apply({ kind: 'off' });
      expect(physics.phases?.map((ph) => ph.powerW)).toEqual([0, 0, 0]);
    } finally {
      await new Promise<void>((r) => (client.isOpen ? client.close(() => r()) : r()));
      await d.deactivate().catch(() => undefined);
      await face.close();
      await server.close();
      await load.close();
      await meter.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
