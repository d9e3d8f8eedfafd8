import { describe, expect, it } from 'vitest';
import { RigError } from '../../../core/errors.js';
import { FirmataBoardDriver } from '../../../rigs/drivers/firmata-board.js';
import { type Exchange, hex, ProtocolScript, scriptedBinding } from './expect-protocol.js';

// A StandardFirmata 2.4 board as Unos ship (20 pins: digital I/O everywhere, analog on 14..19), byte for byte as
// johnny-five over firmata-io talks to it.
const sysex = (...body: number[]) => [0xf0, ...body, 0xf7];
const VERSION = hex('f9 02 04');
const FIRMWARE = sysex(0x79, 2, 4, ...[...Buffer.from('StandardFirmata.ino')].flatMap((c) => [c & 0x7f, c >> 7]));
const PINS = Array.from({ length: 20 }, (_, pin) => pin);
// Per pin: (mode, resolution) pairs ending in 0x7f: INPUT 1, OUTPUT 1, and ANALOG 10 bits on 14..19.
const CAPABILITIES = sysex(0x6c, ...PINS.flatMap((pin) => [0, 1, 1, 1, ...(pin >= 14 ? [2, 10] : []), 0x7f]));
const ANALOG_MAPPING = sysex(0x6a, ...PINS.map((pin) => (pin >= 14 ? pin - 14 : 0x7f)));
/** DIGITAL_MESSAGE for port 0 (pins 0..7): pin 2, the S0 pulse input, high or low. */
const PULSE_PIN = (high: boolean) => hex(`90 ${high ? '04' : '00'} 00`);

/** What follows once the board said who it is: pin capabilities, then the pulse input and its reports. */
const AFTER_FIRMWARE: Exchange[] = [
  [sysex(0x6b), CAPABILITIES], // CAPABILITY_QUERY
  [sysex(0x69), ANALOG_MAPPING], // ANALOG_MAPPING_QUERY
  [hex('f4 02 00'), null], // SET_PIN_MODE 2 INPUT
  // REPORT_DIGITAL port 0 on (once by the driver, once by digitalRead); StandardFirmata answers each with the
  // port's state.
  [hex('d0 01'), PULSE_PIN(false)],
  [hex('d0 01'), PULSE_PIN(false)],
];

const HANDSHAKE: Exchange[] = [
  [hex('f9'), VERSION], // REPORT_VERSION (firmata-io asks after 50 ms of silence)
  [sysex(0x79), FIRMWARE], // QUERY_FIRMWARE
  ...AFTER_FIRMWARE,
];

async function board(
  exchanges: Exchange[],
  use: (d: FirmataBoardDriver) => Promise<void>,
  opts: { outputPins?: number[] } = {},
): Promise<void> {
  const script = new ProtocolScript(exchanges);
  const d = new FirmataBoardDriver('board', '/dev/scripted-firmata', { binding: scriptedBinding(script), ...opts });
  try {
    expect(await d.activate()).toBe('StandardFirmata.ino 2.4');
    await use(d);
  } finally {
    await d.deactivate();
  }
  await script.assertDone();
}

/** Resolves once the board has reported pin 2 `n` times (firmata-io emits one digital-read per port message). */
function reports(d: FirmataBoardDriver, n: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    d.io?.on('digital-read-2', () => {
      if (++seen === n) resolve();
    });
  });
}

describe('Firmata board driver (johnny-five over firmata-io) against a scripted StandardFirmata', () => {
  it('handshakes, then switches a relay: its pin mode once, then port writes only', async () => {
    await board(
      [
        ...HANDSHAKE,
        [hex('f4 08 01'), null], // SET_PIN_MODE 8 OUTPUT, first use only (2.4 drives the pin LOW on it)
        [hex('91 01 00'), null], // DIGITAL_MESSAGE port 1 (pins 8..15): pin 8 high
        [hex('91 00 00'), null], // pin 8 low
        [hex('91 01 00'), null], // high again: no mode message that would drop it first
      ],
      async (d) => {
        const answered = reports(d, 2);
        d.relay(8, true);
        d.relay(8, false);
        d.relay(8, true);
        await answered;
        expect(d.pulses).toBe(0);
      },
    );
  });

  it('counts rising edges of the pulse input, not levels, each with a timestamp', async () => {
    await board(
      [
        ...HANDSHAKE,
        // Relay on, then the meter's S0 output pulses three times (one level repeated).
        [hex('f4 0d 01'), null],
        [hex('91 20 00'), null], // pin 13 (bit 5 of port 1) high
        [null, PULSE_PIN(true)],
        [null, PULSE_PIN(true)],
        [null, PULSE_PIN(false)],
        [null, PULSE_PIN(true)],
        [null, PULSE_PIN(false)],
        [null, PULSE_PIN(true)],
        [null, PULSE_PIN(false)],
      ],
      async (d) => {
        // Two answers to REPORT_DIGITAL, then the seven levels.
        const seen = reports(d, 9);
        d.relay(13, true);
        await seen;
        expect(d.pulses).toBe(3);
        expect(d.edges.map((e) => e.count)).toEqual([1, 2, 3]);
        const t = d.edges.map((e) => e.t);
        expect([...t].sort((a, b) => a - b)).toEqual(t);
      },
    );
  });

  it('presents control-pilot states B, C and A with the relays in the safe order, pin modes set once at open', async () => {
    await board(
      [
        ...HANDSHAKE,
        // The pilot relays become outputs at open, while the pilot is in A anyway; never again.
        [hex('f4 08 01'), null],
        [hex('f4 09 01'), null],
        // B: relay b (pin 8) closed, c (pin 9) open.
        [hex('91 01 00'), null],
        [hex('91 01 00'), null],
        // C: b stays closed first, then c closes (C's resistor never stands alone).
        [hex('91 01 00'), null],
        [hex('91 03 00'), null],
        // B again (c opens), then C: no mode message drops b on the way (that would be A, "unplugged").
        [hex('91 03 00'), null],
        [hex('91 01 00'), null],
        [hex('91 01 00'), null],
        [hex('91 03 00'), null],
        // A: c opens before b.
        [hex('91 01 00'), null],
        [hex('91 00 00'), null],
      ],
      async (d) => {
        const answered = reports(d, 2);
        const pins = { b: 8, c: 9 };
        d.setCp('B', pins);
        d.setCp('C', pins);
        d.setCp('B', pins);
        d.setCp('C', pins);
        d.setCp('A', pins);
        await answered;
      },
      { outputPins: [8, 9] },
    );
  });

  it('a board still blinking its version after the reset on open: queries unanswered, then it announces itself', async () => {
    await board(
      [
        // firmata-io asks after 50 ms; a 2.4 board is still in its ~1.9 s version blink and says nothing yet.
        [hex('f9'), null],
        [sysex(0x79), null],
        // Boot done: it announces itself unasked, then answers the two queries its UART buffer kept.
        [null, [...VERSION, ...FIRMWARE]],
        [null, [...VERSION, ...FIRMWARE]],
        ...AFTER_FIRMWARE,
      ],
      async (d) => {
        await reports(d, 2);
        expect(d.io?.firmware.version).toEqual({ major: 2, minor: 4 });
      },
    );
  });

  it('a relay on a board that is not active is a typed error naming it, nothing sent', () => {
    const d = new FirmataBoardDriver('board', '/dev/scripted-firmata', {
      binding: scriptedBinding(new ProtocolScript([])),
    });
    const e = (() => {
      try {
        d.relay(8, true);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(RigError);
    expect(e).toMatchObject({ code: 'CLOSED', device: 'board', exitCode: 3 });
  });
});
