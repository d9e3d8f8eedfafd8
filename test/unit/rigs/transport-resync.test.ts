import { describe, expect, it } from 'vitest';
import { RigError } from '../../../core/errors.js';
import { BaseTransport } from '../../../rigs/transports/transport.js';

/** A line instrument that answers each request with its running count after `answerMs` (a slow or late answer). */
class CountingLine extends BaseTransport {
  answered = 0;
  constructor(public answerMs: number) {
    super('counter', '\n', 50);
  }
  get description(): string {
    return 'counting line';
  }
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  inject(bytes: string): void {
    this.onBytes(Buffer.from(bytes));
  }
  protected async sendRaw(): Promise<void> {
    const n = ++this.answered;
    setTimeout(() => this.onBytes(Buffer.from(`${n}\n`)), this.answerMs);
  }
}

describe('BaseTransport request/answer pairing', () => {
  it('a half line left from earlier is not glued onto the next answer', async () => {
    const line = new CountingLine(1);
    line.inject('12');
    expect((await line.request('MEAS?\n')).toString()).toBe('1');
  });

  it('an answer that comes after its request timed out is not taken as the next answer', async () => {
    const line = new CountingLine(80);
    const first = await line.request('MEAS?\n').catch((e: RigError) => e);
    expect(first).toBeInstanceOf(RigError);
    expect((first as RigError).code).toBe('TIMEOUT');
    expect((first as RigError).device).toBe('counter');
    // The next request allows the instrument's pace: it gets its own answer (2), not the late one (1) that arrives
    // while it waits.
    expect((await line.request('MEAS?\n', 200)).toString()).toBe('2');
    expect((await line.request('MEAS?\n', 200)).toString()).toBe('3');
  });
});
