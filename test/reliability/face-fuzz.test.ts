import { setTimeout as sleep } from 'node:timers/promises';
import crc16 from 'modbus-serial/utils/crc16.js';
import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../engine/random.js';
import { serveIec62056 } from '../../meter/faces/iec62056.js';
import { handleRtuFrame, type RtuStats, serveModbusRtu } from '../../meter/faces/modbus.js';
import { newLiveValues } from '../../meter/faces/register-map.js';
import { ptyPair } from '../support/pty.js';

const values = { ...newLiveValues(), voltage: 230, current: 10, activePower: 2300 };
type Kind = 'valid' | 'bad-crc' | 'truncated' | 'garbage' | 'oversized' | 'other-unit' | 'bad-function';

/** Seeded fuzz frames of every kind a noisy RS-485 line or a broken master produces. */
function fuzzFrames(n: number, seed: number): Array<{ kind: Kind; frame: Buffer }> {
  const rnd = seededRandom(seed);
  const byte = () => Math.floor(rnd.next() * 256);
  const withCrc = (b: number[]) => {
    const body = Buffer.from(b);
    const out = Buffer.alloc(body.length + 2);
    body.copy(out);
    out.writeUInt16LE(crc16(body), body.length);
    return out;
  };
  const kinds: Kind[] = ['valid', 'bad-crc', 'truncated', 'garbage', 'oversized', 'other-unit', 'bad-function'];
  return Array.from({ length: n }, () => {
    const kind = kinds[Math.floor(rnd.next() * kinds.length)]!;
    const addr = [0x0000, 0x0006, 0x000c, 0x0048, 0x0100, byte() << 8][Math.floor(rnd.next() * 6)]!;
    const req = [1, 0x04, addr >> 8, addr & 0xff, 0, 2];
    switch (kind) {
      case 'valid':
        return { kind, frame: withCrc(req) };
      case 'bad-crc': {
        const f = withCrc(req);
        f[f.length - 1]! ^= 1 + Math.floor(rnd.next() * 255);
        return { kind, frame: f };
      }
      case 'truncated':
        return { kind, frame: withCrc(req).subarray(0, 1 + Math.floor(rnd.next() * 3)) };
      case 'garbage':
        return { kind, frame: Buffer.from(Array.from({ length: 4 + Math.floor(rnd.next() * 20) }, byte)) };
      case 'oversized':
        return { kind, frame: withCrc([1, 0x04, ...Array.from({ length: 300 }, byte)]) };
      case 'other-unit':
        return { kind, frame: withCrc([7, ...req.slice(1)]) };
      default:
        return { kind, frame: withCrc([1, 0x2b, 0, 0, 0, 1]) };
    }
  });
}

describe('reliability: fuzzed frames to the meter faces', () => {
  it('Modbus RTU: 10,000 fuzzed frames give typed outcomes, answers only to valid frames, no crash', () => {
    const stats: RtuStats = { requests: 0, answered: 0, badCrc: 0, malformed: 0, otherUnit: 0 };
    const frames = fuzzFrames(10_000, 42);
    let replies = 0;
    for (const { kind, frame } of frames) {
      const reply = handleRtuFrame(frame, 1, values, stats);
      if (reply) {
        replies++;
        expect(crc16(reply.subarray(0, -2))).toBe(reply.readUInt16LE(reply.length - 2));
        expect(['valid', 'bad-function', 'oversized']).toContain(kind);
      }
    }
    const count = (k: Kind) => frames.filter((f) => f.kind === k).length;
    expect(stats.requests).toBe(10_000);
    expect(stats.otherUnit).toBe(count('other-unit'));
    expect(stats.badCrc).toBeGreaterThanOrEqual(count('bad-crc'));
    expect(replies).toBe(stats.answered);
    expect(stats.answered).toBe(count('valid') + count('bad-function'));
  });

  it('Modbus RTU over a real PTY: a burst of fuzzed frames, then a valid request is still answered', async () => {
    const pty = await ptyPair();
    const face = await serveModbusRtu(() => values, { path: pty.a });
    const port = new SerialPort({ path: pty.b, baudRate: 9600, autoOpen: false });
    await new Promise<void>((r, j) => port.open((e) => (e ? j(e) : r())));
    try {
      for (const { frame } of fuzzFrames(300, 7)) {
        port.write(frame);
        await sleep(6); // longer than the 3.5-character gap that ends an RTU frame
      }
      expect(face.stats.requests).toBeGreaterThanOrEqual(250);
      let got = Buffer.alloc(0);
      port.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
      });
      await sleep(50);
      got = Buffer.alloc(0);
      const req = Buffer.from([1, 4, 0, 0, 0, 2]);
      const framed = Buffer.concat([req, Buffer.alloc(2)]);
      framed.writeUInt16LE(crc16(req), 6);
      port.write(framed);
      while (got.length < 9) await sleep(5);
      expect(got.subarray(0, 3)).toEqual(Buffer.from([1, 4, 4]));
      expect(got.readFloatBE(3)).toBeCloseTo(230, 3);
    } finally {
      await new Promise<void>((r) => port.close(() => r()));
      await face.close();
      pty.close();
    }
  });

  it('IEC 62056-21: 10,000 garbage lines are ignored, then a sign-on still gets the identification', async () => {
    const pty = await ptyPair();
    const face = await serveIec62056(
      () => values,
      { manufacturer: 'BEN', identification: 'RM1', serial: 'X', firmware: '1', maxBaud: '5' },
      { path: pty.a },
    );
    const port = new SerialPort({ path: pty.b, baudRate: 300, dataBits: 7, parity: 'even', autoOpen: false });
    await new Promise<void>((r, j) => port.open((e) => (e ? j(e) : r())));
    try {
      const rnd = seededRandom(9);
      const junk: string[] = [];
      for (let i = 0; i < 10_000; i++)
        junk.push(
          `${String.fromCharCode(...Array.from({ length: 1 + Math.floor(rnd.next() * 30) }, () => 33 + Math.floor(rnd.next() * 90)))}\r\n`,
        );
      port.write(junk.join(''));
      await new Promise<void>((r) => port.drain(() => r()));
      await sleep(200);
      let got = '';
      port.on('data', (d: Buffer) => {
        got += d.toString('latin1');
      });
      port.write('/?!\r\n');
      while (!got.includes('/BEN5RM1\r\n')) await sleep(10);
      expect(face.sessions()).toBe(0);
    } finally {
      await new Promise<void>((r) => port.close(() => r()));
      await face.close();
      pty.close();
    }
  });
});
