import { describe, expect, it } from 'vitest';
import { JsonlStreamDriver, type StreamLine } from '../../../rigs/drivers/jsonl-stream.js';
import { SimTransport } from '../../../rigs/transports/sim.js';

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
