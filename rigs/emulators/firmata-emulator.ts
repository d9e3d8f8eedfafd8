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
const OUTPUT = 1;
const ANALOG = 2;
/** StandardFirmata's input buffer: a longer sysex keeps its first bytes only. */
const MAX_SYSEX_BYTES = 64;

/** The Arduino core's serial receive buffer (HardwareSerial on an ATmega328P): bytes beyond it are lost. */
const UART_RX_BUFFER = 64;

/** A StandardFirmata release (the sketch reports major.minor; bugfix decides a few behaviours). */
export interface FirmataFirmware {
  major: number;
  minor: number;
  bugfix: number;
}

/**
 * StandardFirmata 2.4.4, as the Arduino IDE shipped it for the Uno (firmata/arduino tag v2.4.4): what real benches
 * run unless someone reflashed them.
 */
export const STANDARD_FIRMATA_2_4: FirmataFirmware = { major: 2, minor: 4, bugfix: 4 };
/** StandardFirmata 2.5.9, the current release (SET_DIGITAL_PIN_VALUE, no LOW on a mode message). */
export const STANDARD_FIRMATA_2_5: FirmataFirmware = { major: 2, minor: 5, bugfix: 9 };

const atLeast = (f: FirmataFirmware, major: number, minor: number, bugfix: number) =>
  f.major * 1e6 + f.minor * 1e3 + f.bugfix >= major * 1e6 + minor * 1e3 + bugfix;

/**
 * Milliseconds Firmata's `blinkVersion()` keeps the sketch in `setup()` after a reset, before it says anything:
 * `strobeBlinkPin(major, 40, 210)`, `delay(250)`, `strobeBlinkPin(minor, 40, 210)`, `delay(125)`, each strobe
 * 250 ms per blink. 1875 ms for 2.4.
 */
export function blinkVersionMs(f: FirmataFirmware): number {
  return f.major * 250 + 250 + f.minor * 250 + 125;
}

export interface FirmataEmulatorOptions {
  /** The StandardFirmata release to behave as; default 2.4.4 (see STANDARD_FIRMATA_2_4). */
  firmware?: FirmataFirmware;
  /** Clock of the recorded pin levels (ms); performance.now by default. */
  now?: () => number;
  /**
   * Boot delay in ms (the version blink); default blinkVersionMs(firmware). 0 boots at once (for tests of the
   * parser alone); the announcement and pin reset still happen.
   */
  bootMs?: number;
}

/** One change of an output pin's electrical level, at `t` ms of the emulator's clock. */
export interface PinLevel {
  t: number;
  pin: number;
  value: number;
}

/** Data bytes that follow a status byte (0 for commands the firmware ignores). */
function dataBytes(cmd: number, f: FirmataFirmware): number {
  const hi = cmd & 0xf0;
  if (cmd === SET_PIN_MODE || hi === DIGITAL_MESSAGE || hi === ANALOG_MESSAGE) return 2;
  // SET_DIGITAL_PIN_VALUE arrived with Firmata 2.5; 2.4 does not know it (its data bytes are strays there).
  if (cmd === SET_DIGITAL_PIN_VALUE) return atLeast(f, 2, 5, 0) ? 2 : 0;
  if (hi === REPORT_DIGITAL || hi === REPORT_ANALOG) return 1;
  return 0;
}

/**
 * A StandardFirmata board (Arduino Uno, 20 pins) for johnny-five through firmata-io: version, firmware query,
 * capability and analog-mapping queries, pin modes, digital write (port, and pin on 2.5), digital reporting. A pulse
 * output pin toggles once per physics pulse (1000 imp/kWh by default), reported as DIGITAL_MESSAGE on its port.
 *
 * It behaves as the firmware release it is given (2.4.4 by default, what Unos ship with), read from the firmware's
 * source (StandardFirmata.ino, Firmata.cpp):
 * - after a reset (power-on; a real Uno also resets when the host opens its port and raises DTR) `setup()` blinks
 *   the version on the LED before anything else (1.875 s on 2.4): host bytes wait in the 64-byte UART buffer, the
 *   rest are lost. Then it announces itself unasked (REPORT_VERSION, then REPORT_FIRMWARE with its name) and
 *   `systemResetCallback()` makes every digital pin an OUTPUT driven LOW (analog pins 14..19 analog inputs);
 * - SET_PIN_MODE to OUTPUT (or INPUT) first does `digitalWrite(pin, LOW)` on 2.4 up to 2.5.3: a pin that was HIGH
 *   drops LOW until the next write. 2.5.4 stopped that for OUTPUT.
 * Every change of an output pin's level is kept with its time in `levels`.
 */
export class FirmataEmulator {
  readonly pinCount = 20;
  readonly firmware: FirmataFirmware;
  readonly modes: number[] = new Array(20).fill(0);
  /** Electrical level of each pin as an output (0 while it is not an OUTPUT: the driver is off). */
  readonly outputs: number[] = new Array(20).fill(0);
  /** Each pin's output latch (the PORT register bit): what it drives when it is an OUTPUT. */
  private readonly latch: number[] = new Array(20).fill(0);
  private readonly inputs: number[] = new Array(20).fill(0);
  private readonly reporting = new Set<number>();
  private buf: number[] = [];
  private inSysex = false;
  /** Every change of an output level: [pin, value]. */
  readonly writes: Array<[number, number]> = [];
  /** Every change of an output level with its time (ms on the emulator's clock). */
  readonly levels: PinLevel[] = [];
  /** Called on every output change (e.g. relays wired to an EV control-pilot simulator). */
  onWrite?: (pin: number, value: number) => void;
  private readonly now: () => number;
  private readonly bootMs: number;
  /** Bytes received while the sketch is still in setup() (the UART buffer), undefined once it runs. */
  private rx?: number[];
  private bootTimer?: NodeJS.Timeout;
  /** Resolves when the sketch has booted (announced itself, pins reset) after the last reset. */
  booted: Promise<void> = Promise.resolve();

  constructor(
    private readonly send: (bytes: Buffer) => void,
    readonly pulsePin = 2,
    physics?: BenchPhysics,
    opts: FirmataEmulatorOptions = {},
  ) {
    this.firmware = opts.firmware ?? STANDARD_FIRMATA_2_4;
    this.now = opts.now ?? (() => performance.now());
    this.bootMs = opts.bootMs ?? blinkVersionMs(this.firmware);
    physics?.on('pulse', () => this.pulse());
    this.reset();
  }

  /**
   * A reset (power-on, the reset button, DTR on a port open): every pin an input (relays released), the sketch
   * blinks its version, then announces itself and sets the pins up. Resolves once it runs.
   */
  reset(): Promise<void> {
    clearTimeout(this.bootTimer);
    for (let pin = 0; pin < this.pinCount; pin++) {
      this.modes[pin] = 0;
      this.latch[pin] = 0;
      this.level(pin);
    }
    this.reporting.clear();
    this.buf = [];
    this.inSysex = false;
    this.rx = [];
    this.booted = new Promise<void>((resolve) => {
      const boot = () => {
        this.version();
        this.firmwareReport();
        this.systemReset();
        const pending = this.rx ?? [];
        this.rx = undefined;
        for (const b of pending) this.byte(b);
        resolve();
      };
      if (this.bootMs > 0) this.bootTimer = setTimeout(boot, this.bootMs);
      else boot();
    });
    return this.booted;
  }

  /** Stops a boot still under way (the board unplugged). */
  close(): void {
    clearTimeout(this.bootTimer);
  }

  /** StandardFirmata's systemResetCallback(): reporting off, analog pins analog inputs, the rest OUTPUT LOW. */
  private systemReset(): void {
    this.reporting.clear();
    for (let pin = 0; pin < this.pinCount; pin++) this.setPinMode(pin, pin >= 14 ? ANALOG : OUTPUT);
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
    this.send(Buffer.from([REPORT_VERSION, this.firmware.major, this.firmware.minor]));
  }

  private firmwareReport(): void {
    const name = Buffer.from('BenchFirmataEmu.ino', 'ascii');
    const bytes = [START_SYSEX, QUERY_FIRMWARE, this.firmware.major, this.firmware.minor];
    for (const c of name) bytes.push(c & 0x7f, c >> 7);
    bytes.push(END_SYSEX);
    this.send(Buffer.from(bytes));
  }

  handle(chunk: Buffer): void {
    for (const b of chunk) {
      if (!this.rx) this.byte(b);
      else if (this.rx.length < UART_RX_BUFFER - 1) this.rx.push(b); // the ring buffer holds one byte less
    }
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
      else if (dataBytes(b, this.firmware) > 0) this.buf.push(b);
      return;
    }
    const msg = this.buf;
    const cmd = msg[0];
    if (cmd === undefined) return; // stray data byte
    msg.push(b);
    if (msg.length < 1 + dataBytes(cmd, this.firmware)) return;
    this.buf = [];
    const [, a = 0, c = 0] = msg;
    // Pins the board does not have are ignored, as the firmware does (IS_PIN_DIGITAL); any non-zero level is HIGH.
    if (cmd === SET_PIN_MODE) {
      if (a < this.pinCount) this.setPinMode(a, c);
    } else if (cmd === SET_DIGITAL_PIN_VALUE) {
      // setPinValueCallback (2.5): OUTPUT pins only.
      if (a < this.pinCount && this.modes[a] === OUTPUT) this.write(a, c ? 1 : 0);
    } else if ((cmd & 0xf0) === DIGITAL_MESSAGE) {
      const port = cmd & 0x0f;
      const v = a | (c << 7);
      for (let i = 0; i < 8; i++) {
        const pin = port * 8 + i;
        if (pin < this.pinCount && this.modes[pin] === OUTPUT) this.write(pin, (v >> i) & 1);
      }
    } else if ((cmd & 0xf0) === REPORT_DIGITAL) {
      if (a) this.reporting.add(cmd & 0x0f);
      else this.reporting.delete(cmd & 0x0f);
    }
  }

  /**
   * setPinModeCallback: up to 2.5.3 a digital mode first writes the pin LOW (`digitalWrite(pin, LOW); // disable
   * PWM`), so an OUTPUT that was HIGH drops; from 2.5.4 an OUTPUT keeps its latch.
   */
  private setPinMode(pin: number, mode: number): void {
    if (!atLeast(this.firmware, 2, 5, 4) || mode !== OUTPUT) this.latch[pin] = 0;
    this.modes[pin] = mode;
    this.level(pin);
  }

  private write(pin: number, value: number): void {
    this.latch[pin] = value;
    this.level(pin);
  }

  /** Sets the pin's electrical level from its mode and latch, recording a change. */
  private level(pin: number): void {
    const value = this.modes[pin] === OUTPUT ? (this.latch[pin] as number) : 0;
    if (this.outputs[pin] === value) return;
    this.outputs[pin] = value;
    this.writes.push([pin, value]);
    this.levels.push({ t: this.now(), pin, value });
    this.onWrite?.(pin, value);
  }

  private sysex(body: number[]): void {
    const cmd = body[0];
    if (cmd === QUERY_FIRMWARE) this.firmwareReport();
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
