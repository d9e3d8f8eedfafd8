import { expect } from 'vitest';
import { BaseTransport, type Transport } from '../../../rigs/transports/transport.js';

/**
 * pymeasure-style expected_protocol: a scripted transport. Each pair is [sent frame, reply frame | null].
 * A frame sent out of order fails the test; at the end every pair must have been used.
 */
class ScriptedTransport extends BaseTransport {
  private i = 0;
  constructor(
    private readonly pairs: ReadonlyArray<readonly [string, string | null]>,
    device: string,
  ) {
    super(device, '\n', 50);
  }
  get description(): string {
    return 'scripted';
  }
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  protected async sendRaw(data: Buffer): Promise<void> {
    for (const line of data.toString('latin1').split('\n').slice(0, -1)) {
      const pair = this.pairs[this.i++];
      expect(pair, `unexpected extra frame ${JSON.stringify(line)}`).toBeDefined();
      expect(line).toBe(pair?.[0]);
      if (pair?.[1] != null) {
        const reply = pair[1];
        queueMicrotask(() => this.onBytes(Buffer.from(`${reply}\n`)));
      }
    }
  }
  assertDone(): void {
    expect(this.i, 'not every scripted frame was sent').toBe(this.pairs.length);
  }
}

export async function expectProtocol<D>(
  driverFactory: (t: Transport) => D,
  pairs: ReadonlyArray<readonly [string, string | null]>,
  use: (driver: D) => Promise<void>,
  device = 'scripted',
): Promise<void> {
  const t = new ScriptedTransport(pairs, device);
  const d = driverFactory(t);
  await use(d);
  t.assertDone();
}
