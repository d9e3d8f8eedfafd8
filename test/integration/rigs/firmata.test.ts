import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirmataBoardDriver } from '../../../rigs/drivers/firmata-board.js';
import { FirmataEmulator, type PinLevel } from '../../../rigs/emulators/firmata-emulator.js';
import { BenchPhysics } from '../../../rigs/emulators/physics.js';
import { openPtyPair, requireSocat } from '../../../rigs/emulators/pty.js';
import { type CpState, cpStateOf } from '../../../rigs/ev-cp.js';

const until = (cond: () => boolean) =>
  new Promise<void>((resolve) => {
    const poll = () => (cond() ? resolve() : setTimeout(poll, 5));
    poll();
  });

/** A StandardFirmata 2.4 board (what Unos ship) on one end of a real PTY, booting (version blink) from the start. */
async function boardOnPty(physics?: BenchPhysics) {
  const pair = await openPtyPair();
  const emuPort = new SerialPort({ path: pair.a, baudRate: 57600, autoOpen: false });
  await new Promise<void>((r, j) => emuPort.open((e) => (e ? j(e) : r())));
  const emu = new FirmataEmulator((b) => emuPort.write(b), 2, physics);
  emuPort.on('data', (b: Buffer) => emu.handle(b));
  return {
    pair,
    emu,
    close: async () => {
      emu.close();
      await new Promise<void>((r) => (emuPort.isOpen ? emuPort.close(() => r()) : r()));
      await pair.close();
    },
  };
}

/** The pilot states the two relays presented, in order, from the board's recorded pin levels (repeats merged). */
function pilotStates(levels: readonly PinLevel[], pins: { b: number; c: number }): CpState[] {
  const out: number[] = [];
  out[pins.b] = 0;
  out[pins.c] = 0;
  const states: CpState[] = ['A'];
  for (const l of levels) {
    if (l.pin !== pins.b && l.pin !== pins.c) continue;
    out[l.pin] = l.value;
    const s = cpStateOf(out[pins.b] === 1, out[pins.c] === 1);
    if (s !== states.at(-1)) states.push(s);
  }
  return states;
}

describe('johnny-five ↔ Firmata emulator over a real PTY', () => {
  let board: Awaited<ReturnType<typeof boardOnPty>>;
  const physics = new BenchPhysics(1000, 0);
  beforeAll(async () => {
    requireSocat();
    board = await boardOnPty(physics);
  });
  afterAll(async () => {
    await board?.close();
  });

  it('board gets ready through its boot blink, relay writes are seen, physics pulses are counted', async () => {
    const { emu, pair } = board;
    // The driver opens while the board still blinks its version (1.875 s on 2.4): it waits for the announcement.
    const d = new FirmataBoardDriver('board', pair.b, { pulsePin: 2 });
    try {
      expect(await d.activate()).toBe('BenchFirmataEmu.ino 2.4');
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

describe('the EV pilot on a StandardFirmata 2.4 board (issue 20.7)', () => {
  it('B to C and back never passes through A: the relay pins are made outputs once, not before every write', async () => {
    requireSocat();
    const { emu, pair, close } = await boardOnPty();
    const pins = { b: 8, c: 9 };
    const d = new FirmataBoardDriver('board', pair.b, { pulsePin: 2, outputPins: [pins.b, pins.c] });
    try {
      await d.activate();
      // Until here the pins only went through the firmware's own reset (OUTPUT LOW: pilot A).
      const from = emu.levels.length;
      for (const s of ['B', 'C', 'B', 'C', 'B', 'A', 'B', 'C', 'A'] as const) d.setCp(s, pins);
      // C to A opens c first (C's resistor never stands alone), so A comes through B.
      const expected = ['A', 'B', 'C', 'B', 'C', 'B', 'A', 'B', 'C', 'B', 'A'];
      await until(() => pilotStates(emu.levels.slice(from), pins).length >= expected.length);
      expect(pilotStates(emu.levels.slice(from), pins)).toEqual(expected);
      // Pin b fell exactly twice, both times to present A, never on the way from B to C.
      const bFalls = emu.levels.slice(from).filter((l) => l.pin === pins.b && l.value === 0);
      expect(bFalls).toHaveLength(2);
      expect(emu.modes[pins.b]).toBe(1);
    } finally {
      await d.deactivate();
      await close();
    }
  });
});
