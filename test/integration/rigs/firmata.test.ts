import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirmataBoardDriver } from '../../../rigs/drivers/firmata-board.js';
import { FirmataEmulator } from '../../../rigs/emulators/firmata-emulator.js';
import { BenchPhysics } from '../../../rigs/emulators/physics.js';
import { openPtyPair, type PtyPair, requireSocat } from '../../../rigs/emulators/pty.js';

const until = (cond: () => boolean) =>
  new Promise<void>((resolve) => {
    const poll = () => (cond() ? resolve() : setTimeout(poll, 5));
    poll();
  });

describe('johnny-five ↔ Firmata emulator over a real PTY', () => {
  let pair: PtyPair;
  let emuPort: SerialPort;
  let emu: FirmataEmulator;
  const physics = new BenchPhysics(1000, 0);
  beforeAll(async () => {
    requireSocat();
    pair = await openPtyPair();
    emuPort = new SerialPort({ path: pair.a, baudRate: 57600, autoOpen: false });
    await new Promise<void>((r, j) => emuPort.open((e) => (e ? j(e) : r())));
    emu = new FirmataEmulator((b) => emuPort.write(b), 2, physics);
    emuPort.on('data', (b: Buffer) => emu.handle(b));
  });
  afterAll(async () => {
    await new Promise<void>((r) => (emuPort?.isOpen ? emuPort.close(() => r()) : r()));
    await pair?.close();
  });

  it('board gets ready, relay writes are seen, physics pulses are counted', async () => {
    const d = new FirmataBoardDriver('board', pair.b, { pulsePin: 2 });
    try {
      expect(await d.activate()).toMatch(/BenchFirmataEmu/);
      d.relay(8, true);
      d.relay(8, false);
      await until(() => emu.isReporting(2) && emu.writes.length >= 2);
      // 3.6 kW for 10 s = 10 Wh = 10 pulses at 1000 imp/kWh
      physics.setLoad(0, 3600);
      physics.advance(10_000);
      expect(physics.pulses).toBe(10);
      await until(() => d.pulses >= 10);
      expect(emu.writes).toEqual([
        [8, 1],
        [8, 0],
      ]);
      expect(d.pulses).toBe(10);
      expect(d.edges.map((e) => e.count)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    } finally {
      await d.deactivate();
    }
  });
});
