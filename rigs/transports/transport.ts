import { EventEmitter } from 'node:events';
import { RigError } from '../../core/errors.js';

/** Round-trip latency samples of one instrument (ms, bounded ring). */
export class LatencyStats {
  private readonly samples: number[] = [];
  constructor(private readonly max = 10_000) {}
  add(ms: number): void {
    if (this.samples.length >= this.max) this.samples.shift();
    this.samples.push(ms);
  }
  reset(): void {
    this.samples.length = 0;
  }
  get count(): number {
    return this.samples.length;
  }
  quantile(q: number): number | undefined {
    if (this.samples.length === 0) return undefined;
    const s = [...this.samples].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  }
  summary(): { count: number; p50Ms?: number; p99Ms?: number } {
    return { count: this.count, p50Ms: this.quantile(0.5), p99Ms: this.quantile(0.99) };
  }
}

/**
 * The one interface under every driver (labgrid's protocol layer). Messages are framed by the transport's framer
 * (a line terminator by default); `request` writes one frame and resolves with the next received frame.
 * Events: 'disconnect' (err?), 'reconnect', 'frame' (unsolicited frames when no request is pending).
 */
export interface Transport extends EventEmitter {
  readonly device: string;
  readonly description: string;
  readonly latency: LatencyStats;
  open(): Promise<void>;
  close(): Promise<void>;
  write(data: string | Buffer): Promise<void>;
  read(timeoutMs?: number): Promise<Buffer>;
  request(data: string | Buffer, timeoutMs?: number): Promise<Buffer>;
}

/**
 * Framing on top of a byte stream: a terminator (e.g. "\n") or none (each chunk is a frame).
 * Written here rather than using @serialport/parser-delimiter because a frame must be bounded: a line that never
 * ends (a wrong baud rate, a babbling instrument) has to become a typed BAD_FRAME, not a buffer that grows forever,
 * and the same framer serves the serial, TCP and in-process transports, which are not all streams.
 */
export class LineFramer {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly terminator: Buffer | null) {}
  push(chunk: Buffer): Buffer[] {
    if (!this.terminator) return [chunk];
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    let idx = this.buf.indexOf(this.terminator);
    while (idx >= 0) {
      out.push(this.buf.subarray(0, idx));
      this.buf = this.buf.subarray(idx + this.terminator.length);
      idx = this.buf.indexOf(this.terminator);
    }
    if (this.buf.length > 1 << 20) {
      this.buf = Buffer.alloc(0);
      throw new Error('frame longer than 1 MiB without a terminator');
    }
    return out;
  }
  reset(): void {
    this.buf = Buffer.alloc(0);
  }
}

interface Waiter {
  resolve(b: Buffer): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Shared request/response machinery: subclasses deliver frames via `onFrame`, bytes via `sendRaw`.
 * Requests are serialised (one outstanding at a time), as instruments on one line answer in order.
 */
export abstract class BaseTransport extends EventEmitter implements Transport {
  readonly latency = new LatencyStats();
  private readonly queue: Buffer[] = [];
  private readonly waiters: Waiter[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private resyncAfterTimeout = false;
  protected readonly framer: LineFramer;

  constructor(
    readonly device: string,
    terminator: string | null,
    protected readonly defaultTimeoutMs: number,
  ) {
    super();
    this.framer = new LineFramer(terminator === null ? null : Buffer.from(terminator));
  }
  abstract get description(): string;
  abstract open(): Promise<void>;
  abstract close(): Promise<void>;
  protected abstract sendRaw(data: Buffer): Promise<void>;

  protected onBytes(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (e) {
      this.failWaiters(new RigError((e as Error).message, { device: this.device, code: 'BAD_FRAME' }));
      return;
    }
    for (const f of frames) {
      const w = this.waiters.shift();
      if (w) {
        clearTimeout(w.timer);
        w.resolve(f);
      } else {
        this.queue.push(f);
        if (this.queue.length > 1000) this.queue.shift();
        this.emit('frame', f);
      }
    }
  }

  protected failWaiters(err: Error): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  async write(data: string | Buffer): Promise<void> {
    await this.sendRaw(typeof data === 'string' ? Buffer.from(data) : data);
  }

  read(timeoutMs = this.defaultTimeoutMs): Promise<Buffer> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new RigError(`no answer within ${timeoutMs} ms`, { device: this.device, code: 'TIMEOUT' }));
      }, timeoutMs);
      const w: Waiter = { resolve, reject, timer };
      this.waiters.push(w);
    });
  }

  request(data: string | Buffer, timeoutMs = this.defaultTimeoutMs): Promise<Buffer> {
    const run = async (): Promise<Buffer> => {
      if (this.resyncAfterTimeout) {
        // Answers are matched to requests by order only (a line protocol has no transaction id), so an answer that
        // comes after its request timed out would be taken as the next request's answer. Give the instrument the
        // time it had once more, then drop whatever came.
        this.resyncAfterTimeout = false;
        await new Promise((r) => setTimeout(r, timeoutMs));
      }
      // A frame cut earlier (a half line) must not be glued onto this answer.
      this.queue.length = 0;
      this.framer.reset();
      const t0 = performance.now();
      const p = this.read(timeoutMs);
      try {
        await this.write(data);
      } catch (e) {
        p.catch(() => undefined);
        this.failWaiters(e as Error);
        throw e;
      }
      let reply: Buffer;
      try {
        reply = await p;
      } catch (e) {
        if ((e as RigError).code === 'TIMEOUT') this.resyncAfterTimeout = true;
        throw e;
      }
      this.latency.add(performance.now() - t0);
      return reply;
    };
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => undefined);
    return result;
  }
}
