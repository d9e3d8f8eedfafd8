import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusMeterDriver } from '../../../rigs/drivers/modbus-meter.js';
import { ScpiLoadDriver } from '../../../rigs/drivers/scpi-load.js';
import { requireSocat } from '../../../rigs/emulators/pty.js';
import { checkRig } from '../../../rigs/rig-check.js';
import { type RigConfig, rigSchema } from '../../../rigs/schema.js';
import { simUp } from '../../../rigs/sim-up.js';
import { SerialTransport } from '../../../rigs/transports/serial.js';

describe('sim-serial: coupled emulators on PTYs', () => {
  let dir: string;
  let rig: RigConfig;
  let served: Awaited<ReturnType<typeof simUp>>;

  beforeAll(async () => {
    requireSocat();
    dir = mkdtempSync(join(tmpdir(), 'bench-simup-'));
    rig = rigSchema.parse({
      name: 'test-serial',
      instruments: [
        {
          id: 'load',
          role: 'load',
          dialect: 'chroma-63800',
          transport: { kind: 'serial', path: join(dir, 'load'), baudRate: 115200 },
          capabilities: ['load.setpoints'],
        },
        {
          id: 'dut',
          role: 'dut',
          dialect: 'sdm630',
          transport: { kind: 'serial', path: join(dir, 'dut'), baudRate: 9600 },
          capabilities: ['meter.measurements'],
        },
        {
          id: 'board',
          role: 'io',
          dialect: 'firmata',
          transport: { kind: 'serial', path: join(dir, 'board'), baudRate: 57600 },
          capabilities: ['pulse.count', 'relay.switch'],
        },
      ],
    });
    served = await simUp(rig);
  });
  afterAll(async () => {
    await served?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('what the load draws is what the Modbus meter measures', async () => {
    expect(served.instruments.map((i) => i.status)).toEqual(['served', 'served', 'served']);
    const load = new ScpiLoadDriver(new SerialTransport({ device: 'load', path: join(dir, 'load') }), 'chroma-63800');
    const meter = new ModbusMeterDriver('dut', { kind: 'serial', path: join(dir, 'dut') }, 'sdm630');
    try {
      await load.activate();
      await meter.activate();
      await load.apply({ kind: 'power', watts: 2300, powerFactor: 1 });
      const v = await meter.readAll();
      expect(v.activePower).toBeCloseTo(2300, 1);
      expect(v.current).toBeCloseTo(10, 3);
      expect(v.voltage).toBeCloseTo(230, 3);
      await load.apply({ kind: 'off' });
      expect(await meter.readQuantity('activePower')).toBe(0);
    } finally {
      await load.deactivate();
      await meter.deactivate();
    }
  });

  it('a meter address with nothing behind it → typed timeout naming the instrument', async () => {
    const meter = new ModbusMeterDriver('dut', { kind: 'serial', path: join(dir, 'dut') }, 'sdm630', 7, 200);
    try {
      await meter.activate();
      await expect(meter.readQuantity('voltage')).rejects.toMatchObject({ device: 'dut', exitCode: 3 });
    } finally {
      await meter.deactivate();
    }
  });

  it('rig check pings the load and reports identity and latency', async () => {
    const checks = await checkRig(rig, 10);
    const load = checks.find((c) => c.id === 'load');
    expect(load).toMatchObject({ status: 'ok', capabilities: ['load.setpoints'] });
    expect(load?.identity).toMatch(/^CHROMA/);
    expect(load?.latency?.count).toBe(10);
    const dut = checks.find((c) => c.id === 'dut');
    expect(dut).toMatchObject({ status: 'ok', identity: 'Modbus sdm630 unit 1, 230.0 V' });
    expect(dut?.latency?.count).toBe(10);
    expect(checks.find((c) => c.id === 'board')).toMatchObject({
      status: 'ok',
      identity: expect.stringMatching(/Firmata/),
    });
  });
});
