import type { OpenOptions as StreamOpenOptions } from '@serialport/stream';
import createDebug from 'debug';
import { RigError } from '../../core/errors.js';
import { BaseTransport } from './transport.js';
import { closeTtyPort, openTtyPort, type TtyPort } from './tty-port.js';

const log = createDebug('bench:rigs:serial');

/**
 * A serialport binding: the OS's by default, serialport's mock one in tests. Drivers that own their port through a
 * library (modbus-serial, the IEC 62056-21 readout, Firmata) take one.
 */
export type SerialBinding = NonNullable<StreamOpenOptions['binding']>;

export interface SerialOptions {
  device: string;
  path: string;
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  dataBits?: 7 | 8;
  stopBits?: 1 | 2;
  terminator?: string | null;
  timeoutMs?: number;
  /** Reconnect attempts after an unexpected close (backoff 50 ms doubling to 1 s). */
  reconnect?: boolean;
}

/**
 * Serial transport (line settings by serialport, I/O on a tty handle: see tty-port.ts) with framing and
 * reconnect-with-backoff; emits 'disconnect' and 'reconnect' (gapMs).
 */
export class SerialTransport extends BaseTransport {
  private port?: TtyPort;
  private closing = false;
  private downSince?: number;

  constructor(private readonly opts: SerialOptions) {
    super(opts.device, opts.terminator === undefined ? '\n' : opts.terminator, opts.timeoutMs ?? 1000);
  }
  get description(): string {
    return `serial:${this.opts.path}@${this.opts.baudRate ?? 9600}`;
  }

  async open(): Promise<void> {
    this.closing = false;
    await this.openPort();
  }

  private async openPort(): Promise<void> {
    let port: TtyPort;
    try {
      port = await openTtyPort(this.opts.path, {
        baudRate: this.opts.baudRate ?? 9600,
        parity: this.opts.parity ?? 'none',
        dataBits: this.opts.dataBits ?? 8,
        stopBits: this.opts.stopBits ?? 1,
      });
    } catch (err) {
      throw new RigError(`cannot open ${this.opts.path}: ${(err as Error).message}`, {
        device: this.device,
        code: 'OPEN',
        cause: err,
      });
    }
    this.port = port;
    this.framer.reset();
    port.on('data', (b: Buffer) => this.onBytes(b));
    port.once('close', () => {
      if (this.port === port) this.onClose();
    });
    // A read or write error (EIO when the line goes away) destroys the stream; 'close' follows and reconnects.
    port.on('error', (e) => log('%s error %s', this.device, e.message));
  }

  private onClose(): void {
    this.port = undefined;
    if (this.closing) return;
    this.downSince = performance.now();
    const err = new RigError('serial port closed', { device: this.device, code: 'DISCONNECTED' });
    this.failWaiters(err);
    this.emit('disconnect', err);
    if (this.opts.reconnect !== false) void this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    let delay = 50;
    while (!this.closing) {
      await new Promise((r) => setTimeout(r, delay));
      if (this.closing) return;
      try {
        await this.openPort();
        const gapMs = performance.now() - (this.downSince ?? performance.now());
        log('%s reconnected after %d ms', this.device, gapMs);
        this.emit('reconnect', gapMs);
        return;
      } catch {
        delay = Math.min(1000, delay * 2);
      }
    }
  }

  protected sendRaw(data: Buffer): Promise<void> {
    const port = this.port;
    if (!port || port.destroyed) {
      return Promise.reject(new RigError('serial port not open', { device: this.device, code: 'DISCONNECTED' }));
    }
    return new Promise((resolve, reject) => {
      port.write(data, (err) => {
        if (!err) return resolve();
        // A write that fails (EIO) means the line went away: the stream is destroyed and the reconnect loop takes over.
        reject(new RigError(err.message, { device: this.device, code: 'WRITE', cause: err }));
      });
    });
  }

  get isOpen(): boolean {
    return this.port !== undefined && !this.port.destroyed;
  }

  async close(): Promise<void> {
    this.closing = true;
    const port = this.port;
    this.port = undefined;
    this.failWaiters(new RigError('transport closed', { device: this.device, code: 'CLOSED' }));
    if (port) await closeTtyPort(port);
  }
}
