import { EventEmitter } from 'node:events';
import { RigError } from '../../core/errors.js';
import type { MeterIdentityLine } from '../../protocols/stream-commands.js';
import type { Transport } from '../transports/transport.js';

/** Event names of the driver itself (and of EventEmitter): not valid as a line's type. */
const RESERVED_TYPES = new Set(['error', 'bad-frame', 'line', 'newListener', 'removeListener']);

export type StreamLine = { type: string } & Record<string, unknown>;

/**
 * JSONL event/billing stream driver: one JSON object per line with a `type` (event, measurement, billing, report,
 * log, pulse), as the reference meter's stream face writes. Emits each by its type; malformed lines are counted
 * and emitted as 'bad-frame' (a RigError naming the instrument), never thrown into the run.
 */
export class JsonlStreamDriver extends EventEmitter {
  badFrames = 0;
  received = 0;
  private readonly onFrame = (f: Buffer) => this.handle(f.toString('utf8'));

  constructor(readonly transport: Transport) {
    super();
  }

  handle(line: string): StreamLine | undefined {
    const text = line.trim();
    if (!text) return undefined;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      v = undefined;
    }
    if (
      !v ||
      typeof v !== 'object' ||
      typeof (v as StreamLine).type !== 'string' ||
      // The line's type becomes an event name: a meter's {"type":"error"} with no 'error' listener would throw
      // out of the transport's data handler (an uncaught exception), and 'bad-frame'/'line' would be misread.
      RESERVED_TYPES.has((v as StreamLine).type)
    ) {
      this.badFrames++;
      this.emit(
        'bad-frame',
        new RigError(`malformed stream line ${JSON.stringify(text.slice(0, 80))}`, {
          device: this.transport.device,
          code: 'BAD_FRAME',
        }),
      );
      return undefined;
    }
    this.received++;
    const l = v as StreamLine;
    this.emit(l.type, l);
    this.emit('line', l);
    return l;
  }

  /** Writes one command line to the meter (e.g. an authorisation token presented at the charge point). */
  async send(line: StreamLine): Promise<void> {
    await this.transport.write(`${JSON.stringify(line)}\n`);
  }

  /**
   * Asks the meter who it is (`{"type":"identify"}`): the fields of its "identity" line (signing address, firmware,
   * host pseudonym), or undefined when none comes within `timeoutMs` (a plain event stream need not answer).
   */
  async identify(timeoutMs: number): Promise<MeterIdentityLine | undefined> {
    let timer: NodeJS.Timeout | undefined;
    let onIdentity: ((l: StreamLine) => void) | undefined;
    const answer = new Promise<MeterIdentityLine | undefined>((resolve) => {
      onIdentity = (l: StreamLine) => {
        clearTimeout(timer);
        const { type: _type, ...rest } = l;
        resolve(rest as unknown as MeterIdentityLine);
      };
      // The wait is the meter's time, not ours: when this process was busy (an embedded chain starting, a run's
      // set-up) the timer fires late, before the poll phase reads an answer that may already be waiting, so a timer
      // that fired well past its time waits once more before calling the meter silent.
      let due = performance.now() + timeoutMs;
      let extended = false;
      const expire = () => {
        const lateMs = performance.now() - due;
        if (!extended && lateMs > Math.max(50, timeoutMs / 4)) {
          extended = true;
          due = performance.now() + timeoutMs;
          timer = setTimeout(expire, timeoutMs);
          return;
        }
        if (onIdentity) this.off('identity', onIdentity);
        resolve(undefined);
      };
      timer = setTimeout(expire, timeoutMs);
      this.once('identity', onIdentity);
    });
    try {
      await this.send({ type: 'identify' });
    } catch (e) {
      clearTimeout(timer);
      if (onIdentity) this.off('identity', onIdentity);
      throw e;
    }
    return answer;
  }

  async activate(): Promise<void> {
    await this.transport.open();
    this.transport.on('frame', this.onFrame);
  }

  async deactivate(): Promise<void> {
    this.transport.off('frame', this.onFrame);
    await this.transport.close();
  }
}

/**
 * The rule for a stream DUT, in `bench rig check` and in a run alike: a meter that bills must answer identify,
 * because its billing records are verified against its signing address.
 */
export function requireBillingIdentity(device: string, bills: boolean, id: MeterIdentityLine | undefined): void {
  if (id || !bills) return;
  throw new RigError('the meter did not answer identify: its signing address is needed to verify billing', {
    device,
    code: 'IDENTITY',
    actions: [
      'Emulated rig (`bench sim up`)? Use the --time-scale it was started with; a high scale needs free CPU to answer in time.',
      "Real meter? Check the stream's wiring, baud rate and that it speaks the JSONL stream protocol.",
    ],
  });
}
