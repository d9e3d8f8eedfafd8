import type { BenchPhysics } from './physics.js';

const REPORT_VERSION = 0xf9;
const START_SYSEX = 0xf0;
const END_SYSEX = 0xf7;
const QUERY_FIRMWARE = 0x79;
const CAPABILITY_QUERY = 0x6b;
const CAPABILITY_RESPONSE = 0x6c;
const ANALOG_MAPPING_QUERY = 0x69;
const ANALOG_MAPPING_RESPONSE = 0x6a;
const SET_PIN_MODE = 0xf4;
const SET_DIGITAL_PIN_VALUE = 0xf5;
const DIGITAL_MESSAGE = 0x90;
const REPORT_DIGITAL = 0xd0;
const REPORT_ANALOG = 0xc0;
const ANALOG_MESSAGE = 0xe0;
/** StandardFirmata's input buffer: a longer sysex keeps its first bytes only. */
const MAX_SYSEX_BYTES = 64;

/** Data bytes that follow a status byte (0 for commands the emulator ignores). */
function dataBytes(cmd: number): number {
  const hi = cmd & 0xf0;
  if (cmd === SET_PIN_MODE || cmd === SET_DIGITAL_PIN_VALUE || hi === DIGITAL_MESSAGE || hi === ANALOG_MESSAGE)
    return 2;
  if (hi === REPORT_DIGITAL || hi === REPORT_ANALOG) return 1;
  return 0;
}

/**
 * Enough of the Firmata protocol (2.x) for johnny-five through firmata-io: version, firmware query, capability and
 * analog-mapping queries, pin modes, digital write (port and pin), digital reporting. A pulse output pin toggles
 * once per physics pulse (1000 imp/kWh by default), reported as DIGITAL_MESSAGE on its port.
 */
export class FirmataEmulator {
  readonly pinCount = 20;
  readonly modes: number[] = new Array(20).fill(0);
  readonly outputs: number[] = new Array(20).fill(0);
  private readonly inputs: number[] = new Array(20).fill(0);
  private readonly reporting = new Set<number>();
  private buf: number[] = [];
  private inSysex = false;
  /** Every digital write seen: [pin, value]. */
  readonly writes: Array<[number, number]> = [];
  /** Called on every output change (e.g. relays wired to an EV control-pilot simulator). */
  onWrite?: (pin: number, value: number) => void;

  constructor(
    private readonly send: (bytes: Buffer) => void,
    readonly pulsePin = 2,
    physics?: BenchPhysics,
  ) {
    physics?.on('pulse', () => this.pulse());
  }

  /** True once the host asked for digital reports of the pin's port (pulses before that are not reported). */
  isReporting(pin: number): boolean {
    return this.reporting.has(pin >> 3);
  }

  /** One pulse on the pulse pin: high then low, each reported when the port reports. */
  pulse(): void {
    this.setInput(this.pulsePin, 1);
    this.setInput(this.pulsePin, 0);
  }

  setInput(pin: number, value: number): void {
    this.inputs[pin] = value ? 1 : 0;
    const port = pin >> 3;
    if (!this.reporting.has(port)) return;
    let v = 0;
    for (let i = 0; i < 8; i++) if (this.inputs[port * 8 + i]) v |= 1 << i;
    this.send(Buffer.from([DIGITAL_MESSAGE | port, v & 0x7f, (v >> 7) & 0x7f]));
  }

  private version(): void {
    this.send(Buffer.from([REPORT_VERSION, 2, 5]));
  }

  private firmware(): void {
    const name = Buffer.from('BenchFirmataEmu.ino', 'ascii');
    const bytes = [START_SYSEX, QUERY_FIRMWARE, 2, 5];
    for (const c of name) bytes.push(c & 0x7f, c >> 7);
    bytes.push(END_SYSEX);
    this.send(Buffer.from(bytes));
  }

  handle(chunk: Buffer): void {
    for (const b of chunk) this.byte(b);
  }

  /**
   * Parses as StandardFirmata's FirmataParser does: a status byte (>= 0x80) always starts a new message and drops an
   * unfinished one (so a cut message cannot swallow the next), data bytes with no message pending are ignored, a
   * sysex takes every byte up to END_SYSEX (keeping at most a firmware buffer's worth).
   */
  private byte(b: number): void {
    if (this.inSysex) {
      if (b === END_SYSEX) {
        this.inSysex = false;
        this.sysex(this.buf);
        this.buf = [];
      } else if (this.buf.length < MAX_SYSEX_BYTES) this.buf.push(b);
      return;
    }
    if (b >= 0x80) {
      this.buf = [];
      if (b === START_SYSEX) this.inSysex = true;
      else if (b === REPORT_VERSION) this.version();
      else if (dataBytes(b) > 0) this.buf.push(b);
      return;
    }
    const msg = this.buf;
    const cmd = msg[0];
    if (cmd === undefined) return; // stray data byte
    msg.push(b);
    if (msg.length < 1 + dataBytes(cmd)) return;
    this.buf = [];
    const [, a = 0, c = 0] = msg;
    // Pins the board does not have are ignored, as the firmware does (IS_PIN_DIGITAL); any non-zero level is HIGH.
    if (cmd === SET_PIN_MODE) {
      if (a < this.pinCount) this.modes[a] = c;
    } else if (cmd === SET_DIGITAL_PIN_VALUE) {
      if (a < this.pinCount) this.write(a, c ? 1 : 0);
    } else if ((cmd & 0xf0) === DIGITAL_MESSAGE) {
      const port = cmd & 0x0f;
      const v = a | (c << 7);
      for (let i = 0; i < 8; i++) {
        const pin = port * 8 + i;
        if (pin < this.pinCount && this.modes[pin] === 1) this.write(pin, (v >> i) & 1);
      }
    } else if ((cmd & 0xf0) === REPORT_DIGITAL) {
      if (a) this.reporting.add(cmd & 0x0f);
      else this.reporting.delete(cmd & 0x0f);
    }
  }

  private write(pin: number, value: number): void {
    if (this.outputs[pin] === value) return;
    this.outputs[pin] = value;
    this.writes.push([pin, value]);
    this.onWrite?.(pin, value);
  }

  private sysex(body: number[]): void {
    const cmd = body[0];
    if (cmd === QUERY_FIRMWARE) this.firmware();
    else if (cmd === CAPABILITY_QUERY) {
      const out = [START_SYSEX, CAPABILITY_RESPONSE];
      for (let pin = 0; pin < this.pinCount; pin++) {
        out.push(0, 1, 1, 1); // INPUT, OUTPUT
        if (pin >= 14) out.push(2, 10); // ANALOG
        out.push(0x7f);
      }
      out.push(END_SYSEX);
      this.send(Buffer.from(out));
    } else if (cmd === ANALOG_MAPPING_QUERY) {
      const out = [START_SYSEX, ANALOG_MAPPING_RESPONSE];
      for (let pin = 0; pin < this.pinCount; pin++) out.push(pin >= 14 ? pin - 14 : 0x7f);
      out.push(END_SYSEX);
      this.send(Buffer.from(out));
    }
  }
}
