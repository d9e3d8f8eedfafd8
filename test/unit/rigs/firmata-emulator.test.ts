import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  blinkVersionMs,
  FirmataEmulator,
  STANDARD_FIRMATA_2_4,
  STANDARD_FIRMATA_2_5,
} from '../../../rigs/emulators/firmata-emulator.js';

const FIRMWARE_NAME = [...Buffer.from('BenchFirmataEmu.ino')].flatMap((c) => [c & 0x7f, c >> 7]);
const announce = (minor: number) => [
  Buffer.from([0xf9, 2, minor]),
  Buffer.from([0xf0, 0x79, 2, minor, ...FIRMWARE_NAME, 0xf7]),
];

/** An emulator whose boot timer runs on vitest's fake clock; `sent` holds what it said. */
function emulator(firmware = STANDARD_FIRMATA_2_4) {
  const sent: Buffer[] = [];
  let now = 0;
  const emu = new FirmataEmulator((b) => sent.push(Buffer.from(b)), 2, undefined, { firmware, now: () => now });
  const advance = (ms: number) => {
    now += ms;
    vi.advanceTimersByTime(ms);
  };
  return { emu, sent, advance };
}

describe('Firmata emulator as StandardFirmata (firmata/arduino v2.4.4 and 2.5.9 sources)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('boots as 2.4 does: silent for the version blink (1875 ms), then announces version and firmware unasked', () => {
    vi.useFakeTimers();
    expect(blinkVersionMs(STANDARD_FIRMATA_2_4)).toBe(1875);
    const { emu, sent, advance } = emulator();
    // A query during the blink waits in the UART buffer.
    emu.handle(Buffer.from([0xf9]));
    advance(1874);
    expect(sent).toEqual([]);
    advance(1);
    expect(sent).toEqual([...announce(4), Buffer.from([0xf9, 2, 4])]);
    // systemResetCallback: digital pins OUTPUT (LOW), analog pins 14..19 analog inputs.
    expect(emu.modes).toEqual([...new Array(14).fill(1), ...new Array(6).fill(2)]);
    expect(emu.outputs.every((v) => v === 0)).toBe(true);
  });

  it('keeps only what its 64-byte UART buffer holds of what arrives during the blink', () => {
    vi.useFakeTimers();
    const { emu, sent, advance } = emulator();
    // 21 three-byte DIGITAL_MESSAGEs fill 63 bytes (the ring buffer holds one less than its size); the query after
    // them is lost.
    for (let i = 0; i < 21; i++) emu.handle(Buffer.from([0x91, 0x01, 0x00]));
    emu.handle(Buffer.from([0xf9]));
    advance(blinkVersionMs(STANDARD_FIRMATA_2_4));
    expect(sent).toEqual(announce(4));
    expect(emu.outputs[8]).toBe(1);
  });

  it('2.4 drives an OUTPUT LOW when told its mode again (the pilot glitch); 2.5.9 keeps its level', async () => {
    const levels = async (firmware: typeof STANDARD_FIRMATA_2_4) => {
      let now = 0;
      const emu = new FirmataEmulator(() => undefined, 2, undefined, { firmware, bootMs: 0, now: () => now });
      await emu.booted;
      // Relay on pin 8 closed, then the mode message a driver used to send before every write, then the write.
      for (const m of [
        [0xf4, 8, 1],
        [0x91, 0x01, 0x00],
        [0xf4, 8, 1],
        [0x91, 0x01, 0x00],
      ]) {
        now += 1;
        emu.handle(Buffer.from(m));
      }
      return emu.levels.filter((l) => l.pin === 8);
    };
    expect(await levels(STANDARD_FIRMATA_2_4)).toEqual([
      { t: 2, pin: 8, value: 1 },
      { t: 3, pin: 8, value: 0 },
      { t: 4, pin: 8, value: 1 },
    ]);
    expect(await levels(STANDARD_FIRMATA_2_5)).toEqual([{ t: 2, pin: 8, value: 1 }]);
  });

  it('SET_DIGITAL_PIN_VALUE is 2.5 only, and only on OUTPUT pins', async () => {
    const pinsAfter = async (firmware: typeof STANDARD_FIRMATA_2_4, bytes: number[]) => {
      const emu = new FirmataEmulator(() => undefined, 2, undefined, { firmware, bootMs: 0 });
      await emu.booted;
      emu.handle(Buffer.from(bytes));
      return emu.outputs;
    };
    expect((await pinsAfter(STANDARD_FIRMATA_2_4, [0xf5, 9, 1]))[9]).toBe(0);
    expect((await pinsAfter(STANDARD_FIRMATA_2_5, [0xf5, 9, 1]))[9]).toBe(1);
    // Pin 9 made an INPUT first: no level to set.
    expect((await pinsAfter(STANDARD_FIRMATA_2_5, [0xf4, 9, 0, 0xf5, 9, 1]))[9]).toBe(0);
  });

  it('a reset releases every output and boots again', async () => {
    vi.useFakeTimers();
    const { emu, sent, advance } = emulator();
    advance(blinkVersionMs(STANDARD_FIRMATA_2_4));
    emu.handle(Buffer.from([0x91, 0x03, 0x00]));
    expect(emu.outputs.slice(8, 10)).toEqual([1, 1]);
    sent.length = 0;
    const booted = emu.reset();
    expect(emu.outputs.slice(8, 10)).toEqual([0, 0]);
    advance(blinkVersionMs(STANDARD_FIRMATA_2_4));
    await booted;
    expect(sent).toEqual(announce(4));
  });
});
