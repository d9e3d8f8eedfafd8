import { createServer, type Socket } from 'node:net';
import { SerialPortMock } from 'serialport';
import { assert } from 'vitest';
import type { SerialBinding } from '../../../rigs/transports/serial.js';
import { BaseTransport, type Transport } from '../../../rigs/transports/transport.js';

type OpenOptions = Parameters<SerialBinding['open']>[0];

/**
 * pymeasure-style expected_protocol: the instrument is a script of exchanges, each [what the driver sends, what the
 * instrument answers]. A byte out of order fails the test; at the end every exchange must have been used, no frame
 * may be half sent and no answer may be left unread.
 *
 * One script serves three kinds of line: a `Transport` (line drivers: SCPI, JSONL), a serialport binding (drivers
 * that own their port through a library: modbus-serial, IEC 62056-21, firmata-io) and a loopback TCP server
 * (Modbus TCP). The binding is serialport's own mock (SerialPortMock's), so every layer above the OS is the real one.
 */

/** Bytes as text (latin1) or as numbers; `hex('01 04 00 00')` for frames written out byte by byte. */
export type Bytes = string | readonly number[] | Uint8Array;

export interface LineSettings {
  baudRate: number;
  dataBits: number;
  parity: string;
  stopBits: number;
}

export interface ExchangeOptions {
  /** The line the driver must have set when it sends the frame (IEC 62056-21's sign-on is 300 Bd 7E1). */
  sentAt?: Partial<LineSettings>;
  /** The instrument answers only once the line has these settings (mode C's data block after the baud switch). */
  replyAt?: Partial<LineSettings>;
}

/** [sent (null: the instrument speaks unasked, right after the exchange before), reply (null: none), line]. */
export type Exchange = readonly [sent: Bytes | null, reply: Bytes | null, line?: ExchangeOptions];

export function hex(s: string): number[] {
  return s
    .trim()
    .split(/\s+/)
    .map((b) => Number.parseInt(b, 16));
}

function bytesOf(b: Bytes): Buffer {
  return typeof b === 'string' ? Buffer.from(b, 'latin1') : Buffer.from(b as Uint8Array);
}

const TEXT_BYTES = new Set([0x02, 0x03, 0x06, 0x09, 0x0a, 0x0d]);
/** Text protocols read as JSON strings, binary ones as hex. */
export function describeBytes(b: Buffer): string {
  const printable = b.filter((x) => x >= 0x20 && x < 0x7f).length;
  if (printable * 2 > b.length && b.every((x) => (x >= 0x20 && x < 0x7f) || TEXT_BYTES.has(x))) {
    return JSON.stringify(b.toString('latin1'));
  }
  return `[${[...b].map((x) => x.toString(16).padStart(2, '0')).join(' ')}]`;
}

function lineMatches(line: LineSettings | undefined, want: Partial<LineSettings> | undefined): boolean {
  if (!want) return true;
  if (!line) return false;
  return Object.entries(want).every(([k, v]) => line[k as keyof LineSettings] === v);
}

/** The instrument's side of a line: where answers go, and the line's settings when the line has any. */
export interface ScriptEndpoint {
  deliver(bytes: Buffer): boolean;
  line?(): LineSettings;
  /** Bytes delivered but not taken off the line by the driver. */
  unread?(): Promise<string | undefined>;
}

export class ProtocolScript {
  private i = 0;
  private got: number[] = [];
  private readonly problems: string[] = [];
  private readonly outbox: Array<{ bytes: Buffer; at?: Partial<LineSettings>; exchange: number }> = [];
  private endpoint?: ScriptEndpoint;
  private flushing = false;
  /** Every byte the driver sent, in order, for a failing test's message. */
  readonly sentLog: Buffer[] = [];

  constructor(readonly exchanges: readonly Exchange[]) {}

  /** The instrument is connected (its port opened): what it says unasked at the start goes out now. */
  connect(endpoint: ScriptEndpoint): void {
    this.endpoint = endpoint;
    this.speakUnasked();
    this.flush();
  }

  /** Bytes the driver sent. Returns the first problem, if any (the script stops matching after one). */
  sent(chunk: Buffer): string | undefined {
    this.sentLog.push(Buffer.from(chunk));
    if (this.problems.length) return this.problems[0];
    for (let k = 0; k < chunk.length; k++) {
      const ex = this.exchanges[this.i];
      if (!ex || ex[0] === null) {
        return this.problem(
          `driver sent ${describeBytes(chunk.subarray(k))} after exchange ${this.i} of ${this.exchanges.length}, where the script expects nothing`,
        );
      }
      const want = bytesOf(ex[0]);
      const byte = chunk[k] as number;
      if (want[this.got.length] !== byte) {
        return this.problem(
          `exchange ${this.i + 1}: driver sent ${describeBytes(Buffer.from([...this.got, ...chunk.subarray(k)]))}, the script expects ${describeBytes(want)}`,
        );
      }
      this.got.push(byte);
      if (this.got.length < want.length) continue;
      this.got = [];
      const line = this.endpoint?.line?.();
      if (!lineMatches(line, ex[2]?.sentAt)) {
        return this.problem(
          `exchange ${this.i + 1}: sent at ${JSON.stringify(line ?? 'a line without settings')}, the script expects ${JSON.stringify(ex[2]?.sentAt)}`,
        );
      }
      this.i++;
      if (ex[1] !== null) this.outbox.push({ bytes: bytesOf(ex[1]), at: ex[2]?.replyAt, exchange: this.i });
      this.speakUnasked();
    }
    this.flush();
    return undefined;
  }

  /** The line's settings changed (a baud switch): a held answer may go out now. */
  lineChanged(): void {
    this.flush();
  }

  private problem(p: string): string {
    this.problems.push(p);
    return p;
  }

  private speakUnasked(): void {
    for (let ex = this.exchanges[this.i]; ex && ex[0] === null; ex = this.exchanges[this.i]) {
      this.i++;
      if (ex[1] !== null) this.outbox.push({ bytes: bytesOf(ex[1]), at: ex[2]?.replyAt, exchange: this.i });
    }
  }

  /** Answers go out one per macrotask, after the driver's write has returned, as from an instrument on a wire. */
  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      const next = this.outbox[0];
      if (!next || !this.endpoint || !lineMatches(this.endpoint.line?.(), next.at)) return;
      if (!this.endpoint.deliver(next.bytes)) return;
      this.outbox.shift();
      if (this.outbox.length) this.flush();
    });
  }

  /** Everything a pymeasure expected_protocol checks at the end; all problems are reported together. */
  async assertDone(): Promise<void> {
    const left: string[] = [...this.problems];
    const ex = this.exchanges[this.i];
    if (ex) {
      left.push(
        `exchange ${this.i + 1} of ${this.exchanges.length} never happened: the script expects the driver to send ${describeBytes(bytesOf(ex[0] ?? ''))}`,
      );
    }
    if (this.got.length) left.push(`a frame was left half sent: ${describeBytes(Buffer.from(this.got))}`);
    for (const o of this.outbox) {
      left.push(
        `the answer of exchange ${o.exchange} never went out (waiting for the line at ${JSON.stringify(o.at)}, line is ${JSON.stringify(this.endpoint?.line?.())}): ${describeBytes(o.bytes)}`,
      );
    }
    const unread = await this.endpoint?.unread?.();
    if (unread) left.push(unread);
    if (left.length) {
      assert.fail(
        `the driver strayed from the script:\n  - ${left.join('\n  - ')}\nall it sent: ${describeBytes(Buffer.concat(this.sentLog))}`,
      );
    }
  }
}

/** A line driver's Transport whose far end is the script (frames are lines ending in the terminator). */
export class ScriptedTransport extends BaseTransport {
  private connected = false;
  constructor(
    private readonly script: ProtocolScript,
    device = 'scripted',
    terminator = '\n',
    timeoutMs = 50,
  ) {
    super(device, terminator, timeoutMs);
  }
  get description(): string {
    return 'scripted';
  }
  private connectOnce(): void {
    if (this.connected) return;
    this.connected = true;
    this.script.connect({
      deliver: (b) => {
        this.onBytes(b);
        return true;
      },
      // A frame nobody listened for and nobody read is an answer the driver ignored.
      unread: async () => {
        if (this.listenerCount('frame') > 0) return undefined;
        const f = await this.read(0).catch(() => undefined);
        return f && `an answer was left unread: ${describeBytes(f)}`;
      },
    });
  }
  async open(): Promise<void> {
    this.connectOnce();
  }
  async close(): Promise<void> {}
  protected async sendRaw(data: Buffer): Promise<void> {
    this.connectOnce();
    const problem = this.script.sent(data);
    if (problem) throw new Error(problem);
  }
}

/**
 * A serialport binding whose line is the script: serialport's mock binding (what SerialPortMock uses) with its
 * writes fed to the script, its baud switches followed, and the answers emitted as received data.
 */
let mockPorts = 0;

export function scriptedBinding(script: ProtocolScript): SerialBinding & { opens: number } {
  const mock = SerialPortMock.binding;
  let unreadAtClose = 0;
  let current: { isOpen: boolean; port: { data: Buffer } } | undefined;
  const binding = {
    opens: 0,
    list: async () => [],
    async open(options: OpenOptions) {
      // The mock keeps its ports in one registry by path: each open gets a line of its own.
      binding.opens++;
      const key = `${options.path}#${mockPorts++}`;
      mock.createPort(key, { echo: false, record: false });
      const port = await mock.open({ ...options, path: key });
      current = port;
      const line: LineSettings = {
        baudRate: port.openOptions.baudRate,
        dataBits: port.openOptions.dataBits,
        parity: port.openOptions.parity,
        stopBits: port.openOptions.stopBits,
      };
      const write = port.write.bind(port);
      port.write = async (buffer: Buffer) => {
        await write(buffer);
        // A wrong byte is the test's failure (reported by assertDone); the driver carries on and times out.
        script.sent(Buffer.from(buffer));
      };
      const update = port.update.bind(port);
      port.update = async (o) => {
        await update(o);
        line.baudRate = o.baudRate;
        script.lineChanged();
      };
      // Answered bytes still in the mock's receive buffer when the port closes were never read by the driver.
      const close = port.close.bind(port);
      port.close = async () => {
        unreadAtClose += port.port.data.length;
        await close();
      };
      script.connect({
        deliver: (b) => {
          if (!port.isOpen) return false;
          port.emitData(b);
          return true;
        },
        line: () => ({ ...line }),
        unread: async () => {
          const n = unreadAtClose + (current?.isOpen ? current.port.data.length : 0);
          return n ? `${n} answered bytes were never read off the line` : undefined;
        },
      });
      return port;
    },
  };
  return binding;
}

/** A loopback TCP server whose connections are the script (Modbus TCP, one connection at a time). */
export async function scriptedTcpServer(script: ProtocolScript): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    script.connect({ deliver: (b) => !socket.destroyed && socket.write(b) !== undefined });
    socket.on('data', (b: Buffer) => script.sent(b));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** pymeasure's expected_protocol for line drivers: pairs of [line sent, line answered | null], no terminators. */
export async function expectProtocol<D>(
  driverFactory: (t: Transport) => D,
  pairs: ReadonlyArray<readonly [string | null, string | null]>,
  use: (driver: D) => Promise<void>,
  device = 'scripted',
  terminator = '\n',
): Promise<void> {
  const script = new ProtocolScript(
    pairs.map(([s, r]) => [s === null ? null : `${s}${terminator}`, r === null ? null : `${r}${terminator}`] as const),
  );
  const t = new ScriptedTransport(script, device, terminator);
  const d = driverFactory(t);
  await use(d);
  await script.assertDone();
}
