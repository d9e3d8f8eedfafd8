import { describe, expect, it } from 'vitest';
import type { RigError } from '../../../core/errors.js';
import { JsonlStreamDriver, type StreamLine } from '../../../rigs/drivers/jsonl-stream.js';
import { SimTransport } from '../../../rigs/transports/sim.js';
import { expectProtocol } from './expect-protocol.js';

describe('JSONL stream driver', () => {
  it('dispatches lines by type and counts bad frames with a typed error naming the instrument', async () => {
    const d = new JsonlStreamDriver(new SimTransport('dut-stream', { handle: () => [] }));
    const events: StreamLine[] = [];
    const bad: unknown[] = [];
    d.on('event', (l: StreamLine) => events.push(l));
    d.on('bad-frame', (e: unknown) => bad.push(e));
    d.handle('{"type":"event","direction":"on","deltaP":2000}');
    d.handle('{"type":"billing","seq":1}');
    d.handle('{not json');
    d.handle('{"no":"type"}');
    expect(events).toEqual([{ type: 'event', direction: 'on', deltaP: 2000 }]);
    expect(d.received).toBe(2);
    expect(d.badFrames).toBe(2);
    expect(bad[0]).toMatchObject({ device: 'dut-stream', code: 'BAD_FRAME', exitCode: 3 });
  });
});

const IDENTITY = {
  model: 'BenchMeter',
  firmwareVersion: '1.2.0',
  firmwareHash: `0x${'ab'.repeat(32)}`,
  address: `0x${'12'.repeat(20)}`,
  host: 'h-7f3a',
};

/** Resolves once the driver has taken `n` lines off the stream, good or bad. */
function taken(d: JsonlStreamDriver, n: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    const one = () => {
      if (++seen === n) resolve();
    };
    d.on('line', one);
    d.on('bad-frame', one);
  });
}

describe('JSONL stream driver against a scripted meter', () => {
  it('identifies the meter, relays commands and dispatches what the meter streams, counting bad lines', async () => {
    await expectProtocol(
      (t) => new JsonlStreamDriver(t),
      [
        ['{"type":"identify"}', JSON.stringify({ type: 'identity', ...IDENTITY })],
        ['{"type":"authorize","contractId":"EV-CONTRACT-1"}', null],
        [null, '{"type":"event","direction":"on","deltaP":7400,"class":"ev"}'],
        [null, '{"type":"measurement","p":7400.5,"u":230.1}'],
        [null, '{"type":"event","direction":'], // cut mid-line by a glitch, then the rest of the line lost
        [null, '{"type":"error","message":"EEPROM"}'], // a type the driver reserves: a bad frame, never thrown
        [null, '{"type":"billing","seq":1,"signed":{}}'],
      ],
      async (d) => {
        const events: StreamLine[] = [];
        const measurements: StreamLine[] = [];
        const billing: StreamLine[] = [];
        const bad: RigError[] = [];
        d.on('event', (l: StreamLine) => events.push(l));
        d.on('measurement', (l: StreamLine) => measurements.push(l));
        d.on('billing', (l: StreamLine) => billing.push(l));
        d.on('bad-frame', (e: RigError) => bad.push(e));
        await d.activate();
        expect(await d.identify(1000)).toEqual(IDENTITY);
        const streamed = taken(d, 5);
        await d.send({ type: 'authorize', contractId: 'EV-CONTRACT-1' });
        await streamed;
        expect(events).toEqual([{ type: 'event', direction: 'on', deltaP: 7400, class: 'ev' }]);
        expect(measurements).toEqual([{ type: 'measurement', p: 7400.5, u: 230.1 }]);
        expect(billing).toEqual([{ type: 'billing', seq: 1, signed: {} }]);
        expect(bad.map((e) => [e.code, e.device])).toEqual([
          ['BAD_FRAME', 'dut-stream'],
          ['BAD_FRAME', 'dut-stream'],
        ]);
        expect(d.received).toBe(4);
        expect(d.badFrames).toBe(2);
      },
      'dut-stream',
    );
  });

  it('a meter that does not answer identify gives no identity (the caller decides whether that is fatal)', async () => {
    await expectProtocol(
      (t) => new JsonlStreamDriver(t),
      [['{"type":"identify"}', null]],
      async (d) => {
        await d.activate();
        expect(await d.identify(30)).toBeUndefined();
        expect(d.listenerCount('identity')).toBe(0);
      },
      'dut-stream',
    );
  });
});
