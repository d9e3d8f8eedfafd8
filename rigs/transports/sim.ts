import { BaseTransport } from './transport.js';

/** An emulator object reachable in process: it receives a frame and answers zero or more frames. */
export interface InProcessEndpoint {
  handle(frame: Buffer): Buffer[] | Promise<Buffer[]>;
}

/** In-process transport: frames go straight to an emulator object, no OS I/O. */
export class SimTransport extends BaseTransport {
  private opened = false;
  constructor(
    device: string,
    private readonly endpoint: InProcessEndpoint,
    private readonly terminator = '\n',
  ) {
    super(device, terminator, 1000);
  }
  get description(): string {
    return 'sim';
  }
  async open(): Promise<void> {
    this.opened = true;
  }
  async close(): Promise<void> {
    this.opened = false;
  }
  protected async sendRaw(data: Buffer): Promise<void> {
    if (!this.opened) throw new Error('sim transport not open');
    const term = Buffer.from(this.terminator);
    let start = 0;
    let idx = data.indexOf(term);
    while (idx >= 0) {
      const frame = data.subarray(start, idx);
      const replies = await this.endpoint.handle(frame);
      for (const r of replies) queueMicrotask(() => this.onBytes(Buffer.concat([r, term])));
      start = idx + term.length;
      idx = data.indexOf(term, start);
    }
  }
}
