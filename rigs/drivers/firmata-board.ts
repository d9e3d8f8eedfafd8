import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import createDebug from 'debug';
import { SerialPort, type SerialPortOpenOptions } from 'serialport';
import { RigError } from '../../core/errors.js';
import { type CpPins, type CpState, cpRelays } from '../ev-cp.js';
import type { SerialBinding } from '../transports/serial.js';

const log = createDebug('bench:rigs:firmata');

const require = createRequire(import.meta.url);

interface FirmataIo {
  on(ev: string, cb: (...a: unknown[]) => void): void;
  once(ev: string, cb: (...a: unknown[]) => void): void;
  pinMode(pin: number, mode: number): void;
  digitalWrite(pin: number, value: number): void;
  digitalRead(pin: number, cb: (value: number) => void): void;
  reportDigitalPin(pin: number, value: number): void;
  firmware: { name?: string; version?: { major: number; minor: number } };
  MODES: { INPUT: number; OUTPUT: number };
  /** firmata-io's parse buffer (bytes of the message it is reading). */
  buffer: number[];
}

/** Longest sysex taken from a board (a 128-pin capability response is under 2 KiB). */
const MAX_SYSEX_BYTES = 8192;

/**
 * The port as firmata-io sees it: bytes reach its parser one whole Firmata message at a time. firmata-io parses
 * inside the port's 'data' handler and, fuzzed, both misread and threw there: a cut message took the next message's
 * status byte as data (a cut DIGITAL_MESSAGE then read pin 2 high, a pulse that never was), and a PIN_STATE_RESPONSE
 * for a pin the board does not have, a short QUERY_FIRMWARE reply or a long ANALOG_MAPPING_RESPONSE threw a
 * TypeError/RangeError out of the handler, an uncaught exception that ended the run. So messages are framed here
 * (a status byte starts one and ends an unfinished one; a sysex runs to END_SYSEX), and one that throws is counted
 * and dropped.
 */
class FramedBoardLink extends EventEmitter {
  badFrames = 0;
  private msg: number[] = [];
  /** Set when firmata-io threw: its half-parsed buffer is cleared. */
  onThrow?: () => void;

  constructor(
    private readonly port: SerialPort,
    private readonly device: string,
  ) {
    super();
    port.on('open', () => this.emit('open'));
    port.on('close', (e: unknown) => this.emit('close', e));
    port.on('error', (e: Error) => this.emit('error', e));
    port.on('data', (chunk: Buffer) => {
      for (const b of chunk) this.byte(b);
    });
  }

  write(data: Buffer, cb?: (e?: Error | null) => void): boolean {
    return this.port.write(data, cb);
  }

  private byte(b: number): void {
    const first = this.msg[0];
    if (b === END_SYSEX && first === START_SYSEX) {
      this.msg.push(b);
      this.deliver();
    } else if (b >= 0x80) {
      if (this.msg.length) this.bad('cut message');
      this.msg = b === START_SYSEX || twoDataBytes(b) ? [b] : [];
    } else if (first !== undefined) {
      this.msg.push(b);
      if (first !== START_SYSEX && this.msg.length === 3) this.deliver();
      else if (this.msg.length > MAX_SYSEX_BYTES) {
        this.msg = [];
        this.bad('sysex too long');
      }
    }
  }

  private deliver(): void {
    const m = Buffer.from(this.msg);
    this.msg = [];
    try {
      this.emit('data', m);
    } catch (e) {
      this.onThrow?.();
      this.bad(`message firmata-io could not take (${(e as Error).message})`);
    }
  }

  private bad(why: string): void {
    this.badFrames++;
    log('%s bad frame: %s', this.device, why);
  }
}

const START_SYSEX = 0xf0;
const END_SYSEX = 0xf7;
/** Board messages with two data bytes: DIGITAL_MESSAGE, ANALOG_MESSAGE, REPORT_VERSION. */
const twoDataBytes = (b: number) => (b & 0xf0) === 0x90 || (b & 0xf0) === 0xe0 || b === 0xf9;

export interface PulseEdge {
  /** performance.now() when the bench received the board's report of the edge (Firmata carries no board time). */
  t: number;
  count: number;
}

/**
 * Least time between a pulse edge on the board and the bench receiving its report: one DIGITAL_MESSAGE (3 bytes of
 * 10 bits with start and stop) on the wire at `baudRate`. USB framing and host scheduling add to it, unbounded.
 */
export function edgeReportWireMs(baudRate: number): number {
  return (3 * 10 * 1000) / baudRate;
}

/**
 * A Firmata board (StandardFirmata) through firmata-io's Firmata class over a serialport 13 port, handed to
 * johnny-five as its `io`. Relays are digital outputs; the pulse counter counts rising edges from io.digitalRead
 * callbacks (johnny-five's Button debounce misses short pulses), each timestamped with the bench clock when its
 * report arrives (host-side: the board sends no time).
 *
 * Each output pin's mode is set once, never before each write: StandardFirmata up to 2.5.3 (2.4 is what Unos ship
 * with) drives a pin LOW whenever it is told its mode, so a mode message before a relay write that keeps a relay
 * closed opens it for the few ms until the write lands — on the EV pilot, B to C passed through A ("unplugged").
 * An Uno resets when its port is opened and blinks its version for about 1.9 s before answering; johnny-five's
 * wait for REPORT_VERSION (the board announces it after the blink) rides that out within `timeoutMs`.
 */
export class FirmataBoardDriver {
  io?: FirmataIo;
  board?: unknown;
  private port?: SerialPort;
  private link?: FramedBoardLink;
  pulses = 0;
  readonly edges: PulseEdge[] = [];
  private last = 0;
  /** Pins this driver has made OUTPUTs since the board got ready: their mode is never sent again. */
  private readonly outputPins = new Set<number>();

  constructor(
    readonly device: string,
    private readonly path: string,
    private readonly opts: {
      baudRate?: number;
      pulsePin?: number;
      /** Output pins (relays) set to OUTPUT, driven LOW, when the board is activated (others on first use). */
      outputPins?: readonly number[];
      timeoutMs?: number;
      binding?: SerialBinding;
    } = {},
  ) {}

  async activate(): Promise<string> {
    const { Firmata } = require('firmata-io') as { Firmata: new (port: unknown, opts: object) => FirmataIo };
    const five = require('johnny-five') as {
      Board: new (opts: object) => { on(ev: string, cb: (e?: unknown) => void): void };
    };
    const port = new SerialPort({
      path: this.path,
      baudRate: this.opts.baudRate ?? 57600,
      autoOpen: false,
      // SerialPort's options type leaves `binding` out, yet its constructor takes one over the detected binding.
      ...(this.opts.binding && { binding: this.opts.binding }),
    } as SerialPortOpenOptions<never>);
    this.port = port;
    const link = new FramedBoardLink(port, this.device);
    this.link = link;
    // Firmata must see the port's 'open' (it emits 'connect', which johnny-five waits for): open after.
    const io = new Firmata(link, { reportVersionTimeout: 50 });
    this.io = io;
    link.onThrow = () => {
      io.buffer.length = 0;
    };
    // sigint: false — johnny-five's own SIGINT handler ends the process at once (exit 0, no record closed, no
    // reports, the emulators' socat processes orphaned); the command owns Ctrl-C and closes the run itself.
    const board = new five.Board({
      io,
      repl: false,
      debug: false,
      sigint: false,
      timeout: this.opts.timeoutMs ?? 10_000,
    });
    this.board = board;
    const ready = new Promise<void>((resolve, reject) => {
      board.on('ready', () => resolve());
      board.on('error', (e) =>
        reject(new RigError(`board did not get ready: ${String((e as Error)?.message ?? e)}`, { device: this.device })),
      );
    });
    await new Promise<void>((res, rej) =>
      port.open((e) =>
        e ? rej(new RigError(`cannot open ${this.path}: ${e.message}`, { device: this.device, code: 'OPEN' })) : res(),
      ),
    );
    await ready;
    const pin = this.opts.pulsePin ?? 2;
    io.pinMode(pin, io.MODES.INPUT);
    io.reportDigitalPin(pin, 1);
    io.digitalRead(pin, (v) => {
      if (v && !this.last) {
        this.pulses++;
        this.edges.push({ t: performance.now(), count: this.pulses });
      }
      this.last = v;
    });
    // The relays are made outputs now, while they are open anyway (the firmware's reset left them OUTPUT LOW).
    for (const p of this.opts.outputPins ?? []) this.output(p);
    const v = io.firmware.version;
    return `${io.firmware.name ?? 'Firmata'} ${v ? `${v.major}.${v.minor}` : ''}`.trim();
  }

  /** Board messages dropped: cut, overlong, or not takeable by firmata-io (see FramedBoardLink). */
  get badFrames(): number {
    return this.link?.badFrames ?? 0;
  }

  relay(pin: number, on: boolean): void {
    const io = this.output(pin);
    io.digitalWrite(pin, on ? 1 : 0);
  }

  /** Makes `pin` an OUTPUT the first time only (see the class comment: a mode message drives the pin LOW). */
  private output(pin: number): FirmataIo {
    if (!this.io) throw new RigError('board not active', { device: this.device, code: 'CLOSED' });
    if (!this.outputPins.has(pin)) {
      this.io.pinMode(pin, this.io.MODES.OUTPUT);
      this.outputPins.add(pin);
    }
    return this.io;
  }

  /** Presents an IEC 61851 control-pilot state through the EV simulator's two relays (B first, C second). */
  setCp(state: CpState, pins: CpPins): void {
    const r = cpRelays(state);
    // Order matters on a real pilot: C's resistor only ever parallels B's, never stands alone.
    if (r.b) {
      this.relay(pins.b, true);
      this.relay(pins.c, r.c);
    } else {
      this.relay(pins.c, false);
      this.relay(pins.b, false);
    }
  }

  async deactivate(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    this.outputPins.clear();
    if (!port?.isOpen) return;
    // relay() writes without waiting: closing at once would drop the last relay commands still queued (a bench
    // left with the load switched on or the pilot in state C).
    await new Promise<void>((r) => port.drain(() => r()));
    await new Promise<void>((r) => port.close(() => r()));
  }
}
