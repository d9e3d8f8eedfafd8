import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import crc16 from 'modbus-serial/utils/crc16.js';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RigError } from '../../engine/errors.js';
import { type Random, seededRandom } from '../../engine/random.js';
import { FirmataBoardDriver } from '../../rigs/drivers/firmata-board.js';
import { readIec62056 } from '../../rigs/drivers/iec62056.js';
import { JsonlStreamDriver, type StreamLine } from '../../rigs/drivers/jsonl-stream.js';
import { REGISTER_MAPS } from '../../rigs/drivers/modbus-maps.js';
import { ModbusMeterDriver } from '../../rigs/drivers/modbus-meter.js';
import { ScpiLoadDriver } from '../../rigs/drivers/scpi-load.js';
import { FirmataEmulator } from '../../rigs/emulators/firmata-emulator.js';
import { BenchPhysics } from '../../rigs/emulators/physics.js';
import { openPtyPair, type PtyPair, requireSocat } from '../../rigs/emulators/pty.js';
import { type InProcessEndpoint, SimTransport } from '../../rigs/transports/sim.js';

/*
 * Fuzzes the bench's DRIVERS with garbage arriving as instrument answers (face-fuzz.test.ts does the other
 * direction). Every invalid answer must become a RigError with a code naming the instrument, valid answers must read
 * correctly, and a clean exchange must work after the fuzz. Outcomes are tallied per driver, kind and error code.
 */

/** driver → kind → outcome (a RigError code, 'ok', or 'UNTYPED <name>: <message>') → count. */
const tally = new Map<string, Map<string, Map<string, number>>>();
function count(driver: string, kind: string, outcome: string): void {
  const byKind = tally.get(driver) ?? new Map<string, Map<string, number>>();
  tally.set(driver, byKind);
  const byOutcome = byKind.get(kind) ?? new Map<string, number>();
  byKind.set(kind, byOutcome);
  byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
}
/** The outcome of a rejected driver call: its RigError code, or an UNTYPED marker the assertions catch. */
function codeOf(e: unknown, device: string): string {
  if (e instanceof RigError) return e.device === device ? e.code : `WRONG_DEVICE ${e.device}`;
  return `UNTYPED ${(e as Error)?.name}: ${(e as Error)?.message}`;
}
/** Runs a driver call to its end: its value, or the typed outcome of its rejection. */
async function settle<T>(p: Promise<T>, device: string): Promise<{ outcome: string; value?: T }> {
  try {
    return { outcome: 'ok', value: await p };
  } catch (e) {
    return { outcome: codeOf(e, device) };
  }
}
function untyped(driver: string): string[] {
  const out: string[] = [];
  for (const [kind, outcomes] of tally.get(driver) ?? [])
    for (const [o, n] of outcomes) if (/^(UNTYPED|WRONG_DEVICE)/.test(o)) out.push(`${kind}: ${o} ×${n}`);
  return out;
}
function total(driver: string): number {
  let n = 0;
  for (const outcomes of tally.get(driver)?.values() ?? []) for (const c of outcomes.values()) n += c;
  return n;
}

afterAll(() => {
  const lines: string[] = [];
  for (const [driver, byKind] of tally)
    for (const [kind, outcomes] of byKind)
      lines.push(
        `${driver.padEnd(12)} ${kind.padEnd(16)} ${[...outcomes]
          .sort()
          .map(([o, n]) => `${o}=${n}`)
          .join(' ')}`,
      );
  console.info(`driver fuzz outcomes:\n${lines.join('\n')}`);
});

const until = async (cond: () => boolean) => {
  while (!cond()) await sleep(5);
};
const pick = <T>(rnd: Random, xs: readonly T[]): T => xs[Math.floor(rnd.next() * xs.length)] as T;
const int = (rnd: Random, lo: number, hi: number) => lo + Math.floor(rnd.next() * (hi - lo + 1));
const bytes = (rnd: Random, n: number) => Buffer.from(Array.from({ length: n }, () => int(rnd, 0, 255)));

// ---------------------------------------------------------------------------------------------------------------
// SCPI load over the in-process transport
// ---------------------------------------------------------------------------------------------------------------

/** SimTransport with a short request timeout and a way to push bytes the instrument sends unasked. */
class FuzzSimTransport extends SimTransport {
  constructor(
    device: string,
    endpoint: InProcessEndpoint,
    private readonly timeoutMs: number,
  ) {
    super(device, endpoint);
  }
  override request(data: string | Buffer, timeoutMs = this.timeoutMs): Promise<Buffer> {
    return super.request(data, timeoutMs);
  }
  inject(chunk: Buffer): void {
    this.onBytes(chunk);
  }
}

/** An IEEE 488.2 numeric answer (NR1/NR2/NR3) as an instrument may send it. */
const SCPI_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

type ScpiKind =
  | 'valid'
  | 'empty'
  | 'garbage'
  | 'truncated'
  | 'oversized'
  | 'double'
  | 'wrong-answer'
  | 'instrument-err'
  | 'silent';
const SCPI_KINDS: ReadonlyArray<[ScpiKind, number]> = [
  ['valid', 30],
  ['empty', 6],
  ['garbage', 20],
  ['truncated', 10],
  ['oversized', 6],
  ['double', 8],
  ['wrong-answer', 10],
  ['instrument-err', 8],
  ['silent', 1],
];
function weighted<K>(rnd: Random, table: ReadonlyArray<[K, number]>): K {
  const sum = table.reduce((s, [, w]) => s + w, 0);
  let x = rnd.next() * sum;
  for (const [k, w] of table) {
    x -= w;
    if (x < 0) return k;
  }
  return table[table.length - 1]?.[0] as K;
}

/** A garbage line: random bytes without a line end, never blank, never a well-formed answer by accident. */
function garbageLine(rnd: Random, n: number): Buffer {
  const b = bytes(rnd, n);
  for (let i = 0; i < n; i++) if (b[i] === 0x0a) b[i] = 0x3f;
  b[int(rnd, 0, n - 1)] = pick(
    rnd,
    [...'#?xZ@!%'].map((c) => c.charCodeAt(0)),
  );
  return b;
}

describe('reliability: fuzzed answers to the SCPI load driver (in process)', () => {
  it('4,000 fuzzed answers: valid ones read correctly, every other one is a typed RigError, then a clean exchange', async () => {
    const rnd = seededRandom(20_901);
    const device = 'fuzz-load';
    let script: Buffer[] = [];
    const endpoint: InProcessEndpoint = { handle: () => script };
    const t = new FuzzSimTransport(device, endpoint, 15);
    const d = new ScpiLoadDriver(t, 'chroma-63800');
    await t.open();
    const ops = ['MEAS:POW?', 'SYST:ERR?', '*OPC?'] as const;
    for (let i = 0; i < 4000; i++) {
      const kind = weighted(rnd, SCPI_KINDS);
      const op = pick(rnd, ops);
      const watts = Math.round(rnd.uniform(0, 3600) * 1000) / 1000;
      const good = op === 'MEAS:POW?' ? watts.toFixed(3) : op === 'SYST:ERR?' ? '0,"No error"' : '1';
      let answer: string | Buffer;
      switch (kind) {
        case 'valid':
          answer = rnd.next() < 0.2 ? `${good}\r` : good; // CR LF line ends are fine too
          break;
        case 'empty':
          answer = pick(rnd, ['', ' ', '\r', '\t ']);
          break;
        case 'garbage':
          answer = garbageLine(rnd, int(rnd, 1, 60));
          break;
        case 'truncated':
          answer = good.slice(0, int(rnd, 0, good.length - 1));
          break;
        case 'oversized':
          answer = garbageLine(rnd, int(rnd, 2_000, 200_000));
          break;
        case 'double':
          answer = `${good}\n${pick(rnd, ['999.000', '0,"No error"', '1', '-350,"Queue overflow"'])}`;
          break;
        case 'wrong-answer':
          answer = pick(rnd, ['CHROMA,63804,EMU0001,1.00', 'ON', '"No error"', op === '*OPC?' ? '0' : '1,2,3']);
          break;
        case 'instrument-err':
          answer = pick(rnd, ['-222,"Data out of range"', '-113,"Undefined header"', '+350,Queue overflow']);
          break;
        case 'silent':
          answer = '';
          break;
      }
      script = kind === 'silent' ? [] : [typeof answer === 'string' ? Buffer.from(answer, 'latin1') : answer];
      const call =
        op === 'MEAS:POW?'
          ? d.measurePower()
          : op === 'SYST:ERR?'
            ? d.checkErrors().then(() => undefined)
            : d.opc().then(() => undefined);
      const r = await settle(call, device);
      count('scpi', kind, r.outcome);
      if (r.outcome === 'ok') {
        expect(['valid', 'double', 'truncated'], `${kind} ${op} accepted`).toContain(kind);
        if (op === 'MEAS:POW?') {
          // A cut number still looks like a number (SCPI has no checksum): it reads as its prefix, nothing else.
          if (kind === 'truncated') expect(String(answer).trim()).toMatch(SCPI_NUMBER);
          expect(r.value).toBe(kind === 'truncated' ? Number(String(answer)) : watts);
        }
      } else {
        expect(['valid', 'double'], `valid ${op} rejected: ${r.outcome}`).not.toContain(kind);
      }
    }
    expect(untyped('scpi')).toEqual([]);
    expect(total('scpi')).toBe(4000);
    // No poisoned state: a clean exchange reads correctly.
    script = [Buffer.from('1234.500')];
    expect(await d.measurePower()).toBe(1234.5);
    script = [Buffer.from('0,"No error"')];
    await d.checkErrors();
    await t.close();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// JSONL stream driver, bytes through the transport's framer in random chunk sizes
// ---------------------------------------------------------------------------------------------------------------

type JsonlKind = 'valid' | 'garbage' | 'truncated' | 'huge' | 'wrong-schema' | 'reserved-type' | 'blank';
const JSONL_KINDS: ReadonlyArray<[JsonlKind, number]> = [
  ['valid', 40],
  ['garbage', 20],
  ['truncated', 15],
  ['huge', 2],
  ['wrong-schema', 15],
  ['reserved-type', 4],
  ['blank', 4],
];
const STREAM_TYPES = ['event', 'measurement', 'billing', 'report', 'log', 'pulse', 'identity'];

function streamLine(rnd: Random): StreamLine {
  return {
    type: pick(rnd, STREAM_TYPES),
    seq: int(rnd, 0, 1e6),
    p: Math.round(rnd.uniform(-5000, 5000) * 10) / 10,
    note: pick(rnd, ['', 'ä€', 'line\\nbreak', '"quoted"', 'x'.repeat(int(rnd, 0, 200))]),
  };
}

describe('reliability: fuzzed lines to the JSONL stream driver (in process)', () => {
  it('4,000 fuzzed lines: valid ones dispatched intact, the rest typed bad-frames, no throw, still working', async () => {
    const rnd = seededRandom(30_17);
    const device = 'fuzz-stream';
    const t = new FuzzSimTransport(device, { handle: () => [] }, 50);
    const d = new JsonlStreamDriver(t);
    await d.activate();
    const got: StreamLine[] = [];
    const bad: unknown[] = [];
    /** What each non-blank line became, in order: 'line' or the bad-frame's code. */
    const outcomes: string[] = [];
    d.on('line', (l: StreamLine) => {
      got.push(l);
      outcomes.push('line');
    });
    d.on('bad-frame', (e: unknown) => {
      bad.push(e);
      outcomes.push(codeOf(e, device));
    });
    const expected: StreamLine[] = [];
    const kinds: JsonlKind[] = [];
    const chunks: Buffer[] = [];
    for (let i = 0; i < 4000; i++) {
      const kind = weighted(rnd, JSONL_KINDS);
      kinds.push(kind);
      let text: string | Buffer;
      switch (kind) {
        case 'valid': {
          const l = streamLine(rnd);
          expected.push(l);
          text = JSON.stringify(l);
          break;
        }
        case 'garbage':
          text = garbageLine(rnd, int(rnd, 1, 120));
          break;
        case 'truncated': {
          const s = JSON.stringify(streamLine(rnd));
          text = s.slice(0, int(rnd, 1, s.length - 1));
          break;
        }
        case 'huge': {
          // Long but well-formed lines are data; only the framer's 1 MiB bound may cut one.
          const l = { type: 'log', message: 'y'.repeat(int(rnd, 100_000, 400_000)) };
          expected.push(l);
          text = JSON.stringify(l);
          break;
        }
        case 'wrong-schema':
          text = pick(rnd, [
            '[]',
            '[{"type":"event"}]',
            'null',
            '42',
            '"event"',
            'true',
            '{}',
            '{"type":5}',
            '{"type":null}',
            '{"Type":"event"}',
            '{"type":["event"]}',
            '{"type":{"x":1}}',
          ]);
          break;
        case 'reserved-type':
          // A line whose type is one of the driver's own event names must not be re-emitted as that event.
          text = JSON.stringify({ type: pick(rnd, ['error', 'bad-frame', 'line', 'newListener', 'removeListener']) });
          break;
        case 'blank':
          text = pick(rnd, ['', ' ', '\r', '\t']);
          break;
      }
      chunks.push(typeof text === 'string' ? Buffer.from(text) : text, Buffer.from(rnd.next() < 0.3 ? '\r\n' : '\n'));
    }
    // The byte stream arrives in random chunk sizes, as from a serial line.
    const stream = Buffer.concat(chunks);
    for (let at = 0; at < stream.length; ) {
      const n = rnd.next() < 0.05 ? int(rnd, 10_000, 100_000) : int(rnd, 1, 600);
      t.inject(stream.subarray(at, at + n));
      at += n;
    }
    const n = (k: JsonlKind) => kinds.filter((x) => x === k).length;
    const nonBlank = kinds.filter((k) => k !== 'blank');
    expect(outcomes).toHaveLength(nonBlank.length);
    for (const [i, k] of nonBlank.entries()) count('jsonl', k, outcomes[i] as string);
    for (let i = 0; i < n('blank'); i++) count('jsonl', 'blank', 'ignored');
    expect(untyped('jsonl')).toEqual([]);
    for (const [i, k] of nonBlank.entries())
      expect(outcomes[i], k).toBe(['valid', 'huge'].includes(k) ? 'line' : 'BAD_FRAME');
    expect(got).toEqual(expected);
    expect(d.received).toBe(n('valid') + n('huge'));
    expect(d.badFrames).toBe(n('garbage') + n('truncated') + n('wrong-schema') + n('reserved-type'));
    expect(bad).toHaveLength(d.badFrames);
    // A line longer than the framer's 1 MiB bound is dropped; the stream carries on with the next line.
    const before = d.received;
    t.inject(Buffer.from(JSON.stringify({ type: 'log', message: 'z'.repeat(1_200_000) })));
    t.inject(Buffer.from('\n{"type":"event","after":"overflow"}\n'));
    expect(d.received).toBe(before + 1);
    expect(got.at(-1)).toEqual({ type: 'event', after: 'overflow' });
    await d.deactivate();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Modbus meter over TCP: a fuzzing server on 127.0.0.1 answers each request with one fuzzed frame
// ---------------------------------------------------------------------------------------------------------------

type ModbusKind =
  | 'valid'
  | 'exception'
  | 'wrong-function'
  | 'wrong-unit'
  | 'wrong-txid'
  | 'truncated'
  | 'short-stream'
  | 'oversized'
  | 'bad-count'
  | 'garbage';
const MODBUS_TCP_KINDS: ReadonlyArray<[ModbusKind, number]> = [
  ['valid', 40],
  ['exception', 10],
  ['wrong-function', 8],
  ['wrong-unit', 8],
  ['wrong-txid', 1],
  ['truncated', 10],
  ['short-stream', 1],
  ['oversized', 8],
  ['bad-count', 8],
  ['garbage', 2],
];

/** The PDU answer (unit id first, no CRC) of one kind to a read of two registers; `value` is the valid float. */
function modbusPdu(rnd: Random, kind: ModbusKind, unit: number, fc: number, value: number): Buffer {
  const data = Buffer.alloc(4);
  data.writeFloatBE(value);
  switch (kind) {
    case 'exception':
      return Buffer.from([unit, fc | 0x80, int(rnd, 1, 11)]);
    case 'wrong-function':
      return Buffer.concat([Buffer.from([unit, pick(rnd, [3, 1, 2, 0x2b, 0x83]), 4]), data]);
    case 'wrong-unit':
      return Buffer.concat([Buffer.from([(unit + int(rnd, 1, 246)) % 248, fc, 4]), data]);
    case 'truncated':
      return Buffer.concat([Buffer.from([unit, fc, 4]), data]).subarray(0, int(rnd, 1, 6));
    case 'oversized': {
      const n = int(rnd, 6, 250);
      return Buffer.concat([Buffer.from([unit, fc, n]), bytes(rnd, n)]);
    }
    case 'bad-count':
      return Buffer.concat([Buffer.from([unit, fc, pick(rnd, [0, 2, 3, 5, 6, 200, 255])]), data]);
    default:
      return Buffer.concat([Buffer.from([unit, fc, 4]), data]);
  }
}

interface FuzzServer {
  port: number;
  /** What the next requests get: a kind for each (shifted off as requests arrive). */
  plan: Array<{ kind: ModbusKind; value: number }>;
  requests: number;
  close(): Promise<void>;
}
async function modbusTcpFuzzServer(seed: number): Promise<FuzzServer> {
  const rnd = seededRandom(seed);
  const sockets = new Set<Socket>();
  const state: FuzzServer = { port: 0, plan: [], requests: 0, close: async () => undefined };
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    s.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 12) {
        const req = buf.subarray(0, 12);
        buf = buf.subarray(12);
        state.requests++;
        const txid = req.readUInt16BE(0);
        const unit = req[6] as number;
        const fc = req[7] as number;
        const step = state.plan.shift() ?? { kind: 'valid', value: 0 };
        if (step.kind === 'garbage') {
          s.write(bytes(rnd, int(rnd, 1, 40)));
          continue;
        }
        const pdu = modbusPdu(rnd, step.kind, unit, fc, step.value);
        const mbap = Buffer.alloc(6);
        mbap.writeUInt16BE(step.kind === 'wrong-txid' ? (txid + int(rnd, 1, 200)) & 0xffff : txid, 0);
        mbap.writeUInt16BE(0, 2);
        // short-stream: the header promises more bytes than ever come
        mbap.writeUInt16BE(step.kind === 'short-stream' ? pdu.length + int(rnd, 1, 20) : pdu.length, 4);
        s.write(Buffer.concat([mbap, pdu]));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  state.port = typeof addr === 'object' && addr ? addr.port : 0;
  state.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return state;
}

describe('reliability: fuzzed answers to the Modbus meter driver (TCP on 127.0.0.1)', () => {
  it('1,500 fuzzed frames: valid ones read correctly, the rest typed RigErrors, then a clean read', async () => {
    const rnd = seededRandom(4_502);
    const device = 'fuzz-meter-tcp';
    const server = await modbusTcpFuzzServer(4_503);
    const d = new ModbusMeterDriver(device, { kind: 'tcp', host: '127.0.0.1', port: server.port }, 'sdm630', 1, 60);
    const names = Object.keys(REGISTER_MAPS.sdm630?.registers ?? {});
    try {
      await d.activate();
      for (let i = 0; i < 1500; i++) {
        const kind = weighted(rnd, MODBUS_TCP_KINDS);
        const value = Math.fround(rnd.uniform(-1e4, 1e4));
        server.plan = [{ kind, value }];
        const r = await settle(d.readQuantity(pick(rnd, names)), device);
        count('modbus-tcp', kind, r.outcome);
        if (r.outcome === 'ok') {
          expect(kind, `${kind} accepted as ${r.value}`).toBe('valid');
          expect(r.value).toBe(value);
        } else expect(kind, `valid frame rejected: ${r.outcome}`).not.toBe('valid');
      }
      expect(untyped('modbus-tcp')).toEqual([]);
      expect(total('modbus-tcp')).toBe(1500);
      server.plan = names.map(() => ({ kind: 'valid', value: 230.5 }));
      expect(Object.values(await d.readAll())).toEqual(names.map(() => 230.5));
    } finally {
      await d.deactivate();
      await server.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Over real PTYs (socat): Modbus RTU, IEC 62056-21, Firmata
// ---------------------------------------------------------------------------------------------------------------

const openSerial = async (
  path: string,
  opts: { baudRate?: number; dataBits?: 7 | 8; parity?: 'none' | 'even' } = {},
) => {
  const port = new SerialPort({ path, baudRate: 9600, ...opts, autoOpen: false });
  await new Promise<void>((r, j) => port.open((e) => (e ? j(e) : r())));
  port.on('error', () => undefined);
  return port;
};
const closeSerial = (port?: SerialPort) => new Promise<void>((r) => (port?.isOpen ? port.close(() => r()) : r()));
const withCrc = (body: Buffer) => {
  const out = Buffer.alloc(body.length + 2);
  body.copy(out);
  out.writeUInt16LE(crc16(body), body.length);
  return out;
};

type RtuKind = ModbusKind | 'bad-crc';
const MODBUS_RTU_KINDS: ReadonlyArray<[RtuKind, number]> = [
  ['valid', 40],
  ['bad-crc', 12],
  ['exception', 8],
  ['wrong-function', 1],
  ['wrong-unit', 1],
  ['truncated', 2],
  ['oversized', 8],
  ['bad-count', 8],
  ['garbage', 4],
];

describe('reliability: fuzzed answers over real PTYs', () => {
  const pairs: PtyPair[] = [];
  beforeAll(() => {
    requireSocat(); // fails, never skips, without socat
  });
  afterAll(async () => {
    for (const p of pairs) await p.close();
  });

  it('Modbus RTU: 300 fuzzed frames on a PTY give typed RigErrors or correct values, then a clean read', async () => {
    const pair = await openPtyPair();
    pairs.push(pair);
    const rnd = seededRandom(7_301);
    const device = 'fuzz-meter-rtu';
    const meter = await openSerial(pair.a);
    let plan: { kind: RtuKind; value: number } = { kind: 'valid', value: 0 };
    let rx = Buffer.alloc(0);
    meter.on('data', (chunk: Buffer) => {
      rx = Buffer.concat([rx, chunk]);
      while (rx.length >= 8) {
        const req = rx.subarray(0, 8);
        rx = rx.subarray(8);
        const { kind, value } = plan;
        const unit = req[0] as number;
        const fc = req[1] as number;
        let out: Buffer;
        if (kind === 'garbage') out = bytes(rnd, int(rnd, 1, 60));
        else if (kind === 'bad-crc') {
          out = withCrc(modbusPdu(rnd, 'valid', unit, fc, value));
          out[int(rnd, 0, out.length - 1)] ^= 1 << int(rnd, 0, 7);
        } else if (kind === 'truncated') out = withCrc(modbusPdu(rnd, 'valid', unit, fc, value)).subarray(0, 8);
        else out = withCrc(modbusPdu(rnd, kind, unit, fc, value));
        meter.write(out);
      }
    });
    const d = new ModbusMeterDriver(device, { kind: 'serial', path: pair.b }, 'sdm630', 1, 100);
    const names = Object.keys(REGISTER_MAPS.sdm630?.registers ?? {});
    try {
      await d.activate();
      for (let i = 0; i < 300; i++) {
        const kind = weighted(rnd, MODBUS_RTU_KINDS);
        const value = Math.fround(rnd.uniform(-1e4, 1e4));
        plan = { kind, value };
        const r = await settle(d.readQuantity(pick(rnd, names)), device);
        count('modbus-rtu', kind, r.outcome);
        if (r.outcome === 'ok') {
          expect(kind, `${kind} accepted as ${r.value}`).toBe('valid');
          expect(r.value).toBe(value);
        } else {
          expect(kind, `valid frame rejected: ${r.outcome}`).not.toBe('valid');
          // RTU has no transaction id: a frame ends with the line's silence, which this gives the rest of the
          // fuzzed frame before the next request (the driver drops whatever is left when it sends).
          await sleep(5);
        }
      }
      expect(untyped('modbus-rtu')).toEqual([]);
      plan = { kind: 'valid', value: 229.75 };
      expect(await d.readQuantity('voltage')).toBe(229.75);
    } finally {
      await d.deactivate();
      await closeSerial(meter);
    }
  });

  type IecKind = 'valid' | 'bad-id' | 'bad-bcc' | 'no-end' | 'truncated' | 'garbage-block' | 'silent';
  const IEC_KINDS: ReadonlyArray<[IecKind, number]> = [
    ['valid', 10],
    ['bad-id', 8],
    ['bad-bcc', 8],
    ['no-end', 6],
    ['truncated', 2],
    ['garbage-block', 2],
    ['silent', 2],
  ];
  const STX = 0x02;
  const ETX = 0x03;

  it('IEC 62056-21: 60 readouts against a fake meter answering fuzzed sign-ons and blocks, then a clean readout', async () => {
    const pair = await openPtyPair();
    pairs.push(pair);
    const rnd = seededRandom(62_056);
    const device = 'fuzz-iec';
    const meter = await openSerial(pair.a, { baudRate: 300, dataBits: 7, parity: 'even' });
    let kind: IecKind = 'valid';
    let energy = '000000.000';
    let rx = '';
    const block = (body: string, bad: boolean) => {
      const framed = Buffer.concat([Buffer.from(body, 'latin1'), Buffer.from([ETX])]);
      let x = 0;
      for (const b of framed) x ^= b;
      return Buffer.concat([Buffer.from([STX]), framed, Buffer.from([bad ? x ^ (1 << int(rnd, 0, 6)) : x])]);
    };
    meter.on('data', (chunk: Buffer) => {
      rx += chunk.toString('latin1');
      for (;;) {
        const i = rx.indexOf('\r\n');
        if (i < 0) return;
        const line = rx.slice(0, i);
        rx = rx.slice(i + 2);
        if (line.endsWith('/?!')) {
          if (kind === 'silent') continue;
          const id =
            kind === 'bad-id'
              ? pick(rnd, [
                  '/BE5RM1',
                  'BEN5RM1',
                  '/B3N5RM1',
                  '/BENXRM1',
                  '',
                  `/${garbageLine(rnd, 12).toString('latin1')}`,
                ])
              : '/BEN5RM1';
          meter.write(Buffer.from(`${id.replace(/\r\n/g, '')}\r\n`, 'latin1'));
        } else if (line.startsWith('\x06')) {
          const body = `C.1.0(12345678)\r\n1.8.0(${energy}*kWh)\r\n${kind === 'no-end' ? '' : '!\r\n'}`;
          if (kind === 'truncated') meter.write(block(body, false).subarray(0, int(rnd, 1, body.length)));
          else if (kind === 'garbage-block') meter.write(garbageLine(rnd, 40).map((b) => (b === STX ? 0x20 : b)));
          else meter.write(block(body, kind === 'bad-bcc'));
        }
      }
    });
    try {
      for (let i = 0; i < 60; i++) {
        kind = weighted(rnd, IEC_KINDS);
        energy = rnd.uniform(0, 99_999).toFixed(3).padStart(10, '0');
        rx = '';
        const r = await settle(readIec62056(device, pair.b, { timeoutMs: 200 }), device);
        count('iec62056', kind, r.outcome);
        if (r.outcome === 'ok') {
          expect(kind).toBe('valid');
          expect(r.value?.items['1.8.0']).toEqual({ value: energy, unit: 'kWh', number: Number(energy) });
        } else expect(kind, `valid readout rejected: ${r.outcome}`).not.toBe('valid');
      }
      expect(untyped('iec62056')).toEqual([]);
      kind = 'valid';
      energy = '000042.000';
      expect((await readIec62056(device, pair.b, { timeoutMs: 500 })).items['1.8.0']?.number).toBe(42);
    } finally {
      await closeSerial(meter);
    }
  });

  it('Firmata: 200 bursts of random bytes into the board stream, then relays still switch and pulses still count', async () => {
    const pair = await openPtyPair();
    pairs.push(pair);
    const rnd = seededRandom(57_600);
    const emuPort = await openSerial(pair.a, { baudRate: 57600 });
    const physics = new BenchPhysics(1000, 0);
    const emu = new FirmataEmulator((b) => emuPort.write(b), 2, physics);
    emuPort.on('data', (b: Buffer) => emu.handle(b));
    const d = new FirmataBoardDriver('fuzz-board', pair.b, { pulsePin: 2 });
    const errors: unknown[] = [];
    try {
      expect(await d.activate()).toMatch(/BenchFirmataEmu/);
      (d.board as { on(ev: string, cb: (e: unknown) => void): void }).on('error', (e) => errors.push(e));
      await until(() => emu.isReporting(2));
      for (let i = 0; i < 200; i++) {
        emuPort.write(bytes(rnd, int(rnd, 1, 64)));
        count('firmata', 'garbage', 'no-crash');
        if (i % 20 === 0) await sleep(2);
      }
      // Resynchronise as a board's next message does: end any open sysex, report pin 2 low.
      emuPort.write(Buffer.from([0xf7, 0x90, 0x00, 0x00]));
      await new Promise<void>((r) => emuPort.drain(() => r()));
      await sleep(50);
      const before = d.pulses;
      d.relay(8, true);
      d.relay(8, false);
      await until(() => emu.writes.some(([p, v], i) => p === 8 && v === 0 && i > 0));
      physics.setLoad(0, 3600);
      physics.advance(5_000); // 5 Wh = 5 pulses at 1000 imp/kWh
      await until(() => d.pulses >= before + 5);
      await sleep(50);
      expect(d.pulses - before).toBe(5);
      expect(errors).toEqual([]);
      count('firmata', 'after-garbage', `pulses=${d.pulses - before}`);
    } finally {
      await d.deactivate();
      await closeSerial(emuPort);
    }
  });
});
