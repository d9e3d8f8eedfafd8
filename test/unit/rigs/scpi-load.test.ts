import { describe, expect, it } from 'vitest';
import { RigError } from '../../../core/errors.js';
import { ScpiLoadDriver } from '../../../rigs/drivers/scpi-load.js';
import { BenchPhysics } from '../../../rigs/emulators/physics.js';
import { ScpiLoadEmulator } from '../../../rigs/emulators/scpi-load-emulator.js';
import { SimTransport } from '../../../rigs/transports/sim.js';
import { expectProtocol } from './expect-protocol.js';

const IDN = 'CHROMA,63804,123,1.0';
const activate: [string, string | null][] = [
  ['*IDN?', IDN],
  ['*RST', null],
  ['*OPC?', '1'],
  ['SYST:ERR?', '0,"No error"'],
];

describe('SCPI load driver (chroma-63800 dialect)', () => {
  it('activates and applies a power setpoint, checking the error queue', async () => {
    await expectProtocol(
      (t) => new ScpiLoadDriver(t, 'chroma-63800'),
      [
        ...activate,
        ['MODE CP', null],
        ['POW 2000.000', null],
        ['PFAC 0.900', null],
        ['LOAD ON', null],
        ['SYST:ERR?', '0,"No error"'],
      ],
      async (d) => {
        expect(await d.activate()).toBe(IDN);
        await d.apply({ kind: 'power', watts: 2000, powerFactor: 0.9 });
      },
    );
  });

  it('rejects an out-of-range setpoint without sending anything', async () => {
    await expectProtocol(
      (t) => new ScpiLoadDriver(t, 'chroma-63800'),
      activate,
      async (d) => {
        await d.activate();
        await expect(d.apply({ kind: 'power', watts: 9000 })).rejects.toMatchObject({ code: 'RANGE', device: 'load' });
      },
      'load',
    );
  });

  it('a wrong identity string is a RigError naming the instrument', async () => {
    await expectProtocol(
      (t) => new ScpiLoadDriver(t, 'chroma-63800'),
      [['*IDN?', 'KEYSIGHT,N6705C,1,2']],
      async (d) => {
        const e = await d.activate().catch((x: unknown) => x);
        expect(e).toBeInstanceOf(RigError);
        expect(e).toMatchObject({ code: 'IDENTITY', device: 'load', exitCode: 3 });
      },
      'load',
    );
  });

  it('an instrument error after a setpoint is raised', async () => {
    await expectProtocol(
      (t) => new ScpiLoadDriver(t, 'chroma-63800'),
      [
        ['MODE CC', null],
        ['CURR:PEAK:MAX 1.000', null],
        ['LOAD ON', null],
        ['SYST:ERR?', '-222,"Data out of range"'],
      ],
      async (d) => {
        await expect(d.apply({ kind: 'current', amps: 1 })).rejects.toMatchObject({ code: 'INSTRUMENT_ERROR' });
      },
      'load',
    );
  });

  it('an instrument that stops answering times out with a typed error', async () => {
    await expectProtocol(
      (t) => new ScpiLoadDriver(t, 'chroma-63800'),
      [['*IDN?', null]],
      async (d) => {
        await expect(d.activate()).rejects.toMatchObject({ code: 'TIMEOUT', device: 'load' });
      },
      'load',
    );
  });

  it('drives the coupled physics through the in-process sim transport', async () => {
    let now = 0;
    const physics = new BenchPhysics(1000, 0);
    const emu = new ScpiLoadEmulator(physics, () => now);
    const d = new ScpiLoadDriver(new SimTransport('load', emu), 'chroma-63800');
    await d.activate();
    await d.apply({ kind: 'power', watts: 3600 });
    now = 3_600_000 / 3.6; // 1000 s at 3.6 kW = 1 kWh
    expect(await d.measurePower()).toBeCloseTo(3600);
    expect(physics.importWh).toBeCloseTo(1000);
    expect(physics.pulses).toBe(1000);
    await d.deactivate();
    expect(physics.powerW).toBe(0);
  });
});
