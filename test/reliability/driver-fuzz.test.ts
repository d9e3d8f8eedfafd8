import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { type Random, seededRandom } from '../../core/random.js';
import { FirmataBoardDriver } from '../../rigs/drivers/firmata-board.js';
import { readIec62056 } from '../../rigs/drivers/iec62056.js';
import { JsonlStreamDriver, type StreamLine } from '../../rigs/drivers/jsonl-stream.js';
import { REGISTER_MAPS } from '../../rigs/drivers/modbus-maps.js';
import { type ModbusEndpoint, ModbusMeterDriver } from '../../rigs/drivers/modbus-meter.js';
import { ScpiLoadDriver } from '../../rigs/drivers/scpi-load.js';
import { FirmataEmulator } from '../../rigs/emulators/firmata-emulator.js';
import { BenchPhysics } from '../../rigs/emulators/physics.js';
import { SerialTransport } from '../../rigs/transports/serial.js';
import { type InProcessEndpoint, SimTransport } from '../../rigs/transports/sim.js';
import type { TtyPort } from '../../rigs/transports/tty-port.js';
import {
  bytes,
  closeSerial,
  codeOf,
  fuzzBinding,
  garbageLine,
  int,
  openSerial,
  pick,
  ptyPool,
  settle,
  Tally,
  until,
  weighted,
  withCrc,
  writeAll,
} from './fuzz-support.js';

/*
 * Fuzzes the bench's DRIVERS with garbage arriving as instrument answers (face-fuzz.test.ts does the other
 * direction): 10,000 fuzzed frames per driver. Line drivers get theirs in process through the same Transport
 * interface, drivers that own their port through a library (modbus-serial, IEC 62056-21) through serialport's mock
 * binding under the real library, Modbus TCP over real sockets on 127.0.0.1, and every driver a few hundred more
 * over a real PTY. Every invalid answer must become a RigError with a code naming the instrument, valid answers must
 * read correctly, and a clean exchange must work after the fuzz. Outcomes are tallied per driver, kind and code.
 */

const tally = new Tally();
afterAll(() => console.info(tally.format('driver fuzz outcomes')));

const pty = ptyPool();

/** Runs `lanes` copies of a fuzz loop side by side (each its own instrument and seed): timeouts overlap. */
const inLanes = (lanes: number, lane: (i: number) => Promise<void>) =>
  Promise.all(Array.from({ length: lanes }, (_, i) => lane(i)));

// ---------------------------------------------------------------------------------------------------------------
// SCPI load
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
const SCPI_OPS = ['MEAS:POW?', 'SYST:ERR?', '*OPC?'] as const;
type ScpiOp = (typeof SCPI_OPS)[number];

/** One fuzzed SCPI answer: the lines the instrument sends (none: silent) and what a valid one reads as. */
function scpiCase(rnd: Random, maxOversized: number) {
  const kind = weighted(rnd, SCPI_KINDS);
  const op = pick(rnd, SCPI_OPS);
  const watts = Math.round(rnd.uniform(0, 3600) * 1000) / 1000;
  const good = op === 'MEAS:POW?' ? watts.toFixed(3) : op === 'SYST:ERR?' ? '0,"No error"' : '1';
  let answer: string | Buffer = '';
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
      answer = garbageLine(rnd, int(rnd, 2_000, maxOversized));
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
      break;
  }
  const lines = kind === 'silent' ? [] : [typeof answer === 'string' ? Buffer.from(answer, 'latin1') : answer];
  return { kind, op, watts, answer: String(answer), lines };
}

const scpiCall = (d: ScpiLoadDriver, op: ScpiOp) =>
  op === 'MEAS:POW?'
    ? d.measurePower()
    : op === 'SYST:ERR?'
      ? d.checkErrors().then(() => undefined)
      : d.opc().then(() => undefined);

/** Valid answers read correctly, everything else is typed; a cut number still reads as its prefix (no checksum). */
function checkScpi(c: ReturnType<typeof scpiCase>, r: { outcome: string; value?: number | undefined }): void {
  if (r.outcome === 'ok') {
    expect(['valid', 'double', 'truncated'], `${c.kind} ${c.op} accepted`).toContain(c.kind);
    if (c.op === 'MEAS:POW?') {
      if (c.kind === 'truncated') expect(c.answer.trim()).toMatch(SCPI_NUMBER);
      expect(r.value).toBe(c.kind === 'truncated' ? Number(c.answer) : c.watts);
    }
  } else expect(['valid', 'double'], `valid ${c.op} rejected: ${r.outcome}`).not.toContain(c.kind);
}

async function scpiCleanExchange(d: ScpiLoadDriver, answer: (lines: Buffer[]) => void): Promise<void> {
  answer([Buffer.from('1234.500')]);
  expect(await d.measurePower()).toBe(1234.5);
  answer([Buffer.from('0,"No error"')]);
  await d.checkErrors();
}

describe('reliability: fuzzed answers to the SCPI load driver', () => {
  it('10,000 fuzzed answers in process: valid ones read correctly, every other one a typed RigError, then a clean exchange', async () => {
    const rnd = seededRandom(20_901);
    const device = 'fuzz-load';
    let script: Buffer[] = [];
    // In process the answer is there at once: a short timeout only shortens the silent cases.
    const t = new FuzzSimTransport(device, { handle: () => script }, 10);
    const d = new ScpiLoadDriver(t, 'chroma-63800');
    await t.open();
    for (let i = 0; i < 10_000; i++) {
      const c = scpiCase(rnd, 100_000);
      script = c.lines;
      const r = await settle(scpiCall(d, c.op), device);
      tally.count('scpi', c.kind, r.outcome);
      checkScpi(c, r);
    }
    expect(tally.untyped('scpi')).toEqual([]);
    expect(tally.total('scpi')).toBe(10_000);
    await scpiCleanExchange(d, (lines) => {
      script = lines;
    });
    await t.close();
  });

  it('300 fuzzed answers over a real PTY (SerialTransport), then a clean exchange', async () => {
    const rnd = seededRandom(20_902);
    const device = 'fuzz-load-pty';
    const pair = await pty();
    const instrument = await openSerial(pair.a, { baudRate: 115200 });
    let next: Buffer[] = [];
    let rx = '';
    instrument.on('data', (chunk: Buffer) => {
      rx += chunk.toString('latin1');
      for (let i = rx.indexOf('\n'); i >= 0; i = rx.indexOf('\n')) {
        rx = rx.slice(i + 1);
        // One write per answer: a double answer's two lines reach the driver together, as from one instrument.
        if (next.length) instrument.write(Buffer.concat(next.flatMap((l) => [l, Buffer.from('\n')])));
      }
    });
    const t = new SerialTransport({ device, path: pair.b, baudRate: 115200, timeoutMs: 200, reconnect: false });
    const d = new ScpiLoadDriver(t, 'chroma-63800');
    await t.open();
    try {
      for (let i = 0; i < 300; i++) {
        const c = scpiCase(rnd, 20_000);
        next = c.lines;
        const r = await settle(scpiCall(d, c.op), device);
        tally.count('scpi/pty', c.kind, r.outcome);
        checkScpi(c, r);
      }
      expect(tally.untyped('scpi/pty')).toEqual([]);
      await scpiCleanExchange(d, (lines) => {
        next = lines;
      });
    } finally {
      await t.close();
      await closeSerial(instrument);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// JSONL stream driver: bytes through the transport's framer in random chunk sizes
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
    note: pick(rnd, ['', 'ä€', 'line\\nbreak', '"quoted"', '中🔋', 'x'.repeat(int(rnd, 0, 200))]),
  };
}

/** `n` fuzzed lines as one byte stream, with the lines a driver must dispatch and each line's kind. */
function jsonlStream(rnd: Random, n: number, maxHuge: number) {
  const expected: StreamLine[] = [];
  const kinds: JsonlKind[] = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const kind = weighted(rnd, JSONL_KINDS);
    kinds.push(kind);
    let text: string | Buffer = '';
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
        const l = { type: 'log', message: 'y'.repeat(int(rnd, 100_000, maxHuge)) };
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
  return { stream: Buffer.concat(chunks), kinds, expected };
}

/** Listens to a stream driver: what each non-blank line became, in order ('line' or the bad-frame's code). */
function jsonlListener(d: JsonlStreamDriver, device: string) {
  const got: StreamLine[] = [];
  const outcomes: string[] = [];
  d.on('line', (l: StreamLine) => {
    got.push(l);
    outcomes.push('line');
  });
  d.on('bad-frame', (e: unknown) => outcomes.push(codeOf(e, device)));
  return { got, outcomes };
}

function checkJsonl(
  target: string,
  d: JsonlStreamDriver,
  fuzz: ReturnType<typeof jsonlStream>,
  seen: ReturnType<typeof jsonlListener>,
  /** Lines received after the fuzz (a fence), not in `seen`. */
  after = 0,
): void {
  const n = (k: JsonlKind) => fuzz.kinds.filter((x) => x === k).length;
  const nonBlank = fuzz.kinds.filter((k) => k !== 'blank');
  expect(seen.outcomes).toHaveLength(nonBlank.length);
  for (const [i, k] of nonBlank.entries()) tally.count(target, k, seen.outcomes[i] as string);
  tally.count(target, 'blank', 'ignored', n('blank'));
  expect(tally.untyped(target)).toEqual([]);
  for (const [i, k] of nonBlank.entries())
    expect(seen.outcomes[i], k).toBe(['valid', 'huge'].includes(k) ? 'line' : 'BAD_FRAME');
  expect(seen.got).toEqual(fuzz.expected);
  expect(d.received).toBe(n('valid') + n('huge') + after);
  expect(d.badFrames).toBe(n('garbage') + n('truncated') + n('wrong-schema') + n('reserved-type'));
}

/** Writes a byte stream in random chunk sizes, as from a serial line. */
function inChunks(rnd: Random, stream: Buffer, send: (chunk: Buffer) => void): void {
  for (let at = 0; at < stream.length; ) {
    const n = rnd.next() < 0.05 ? int(rnd, 10_000, 100_000) : int(rnd, 1, 600);
    send(stream.subarray(at, at + n));
    at += n;
  }
}

describe('reliability: fuzzed lines to the JSONL stream driver', () => {
  it('10,000 fuzzed lines in process: valid ones dispatched intact, the rest typed bad-frames, no throw, still working', async () => {
    const rnd = seededRandom(30_17);
    const device = 'fuzz-stream';
    const t = new FuzzSimTransport(device, { handle: () => [] }, 50);
    const d = new JsonlStreamDriver(t);
    await d.activate();
    const seen = jsonlListener(d, device);
    const fuzz = jsonlStream(rnd, 10_000, 400_000);
    inChunks(rnd, fuzz.stream, (c) => t.inject(c));
    checkJsonl('jsonl', d, fuzz, seen);
    // A line longer than the framer's 1 MiB bound is dropped; the stream carries on with the next line.
    const before = d.received;
    t.inject(Buffer.from(JSON.stringify({ type: 'log', message: 'z'.repeat(1_200_000) })));
    t.inject(Buffer.from('\n{"type":"event","after":"overflow"}\n'));
    expect(d.received).toBe(before + 1);
    expect(seen.got.at(-1)).toEqual({ type: 'event', after: 'overflow' });
    await d.deactivate();
  });

  it('300 fuzzed lines over a real PTY (SerialTransport): the same outcomes, then a clean line', async () => {
    const rnd = seededRandom(30_18);
    const device = 'fuzz-stream-pty';
    const pair = await pty();
    const meter = await openSerial(pair.a, { baudRate: 115200 });
    const d = new JsonlStreamDriver(new SerialTransport({ device, path: pair.b, baudRate: 115200, reconnect: false }));
    await d.activate();
    const seen = jsonlListener(d, device);
    try {
      const fuzz = jsonlStream(rnd, 300, 200_000);
      inChunks(rnd, fuzz.stream, (c) => meter.write(c));
      await writeAll(meter, '{"type":"event","after":"fuzz"}\n');
      await until(() => seen.got.at(-1)?.after === 'fuzz');
      seen.got.pop();
      seen.outcomes.pop();
      checkJsonl('jsonl/pty', d, fuzz, seen, 1);
    } finally {
      await d.deactivate();
      await closeSerial(meter);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Modbus meter: TCP on 127.0.0.1, RTU through serialport's mock binding and over a PTY
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
// Kinds that can only end in a timeout are rare: each costs the driver's whole timeout.
const MODBUS_TCP_KINDS: ReadonlyArray<[ModbusKind, number]> = [
  ['valid', 40],
  ['exception', 10],
  ['wrong-function', 8],
  ['wrong-unit', 8],
  ['wrong-txid', 1],
  ['truncated', 10],
  ['short-stream', 0.7],
  ['oversized', 8],
  ['bad-count', 8],
  ['garbage', 1.3],
];
const NAMES = Object.keys(REGISTER_MAPS.sdm630?.registers ?? {});

/**
 * The PDU answer (unit id first, no CRC) of one kind to a read of `registers` registers (2: one quantity; more: a
 * block, every float of it `value`); `value` is the valid float.
 */
function modbusPdu(rnd: Random, kind: ModbusKind, unit: number, fc: number, value: number, registers = 2): Buffer {
  const data = Buffer.alloc(Math.max(4, registers * 2));
  for (let k = 0; k + 4 <= data.length; k += 4) data.writeFloatBE(value, k);
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
      return Buffer.concat([Buffer.from([unit, fc, data.length]), data]);
  }
}

interface FuzzServer {
  port: number;
  /** What the next request gets. */
  plan: { kind: ModbusKind; value: number };
  close(): Promise<void>;
}
async function modbusTcpFuzzServer(seed: number): Promise<FuzzServer> {
  const rnd = seededRandom(seed);
  const sockets = new Set<Socket>();
  const state: FuzzServer = { port: 0, plan: { kind: 'valid', value: 0 }, close: async () => undefined };
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
        const txid = req.readUInt16BE(0);
        const { kind, value } = state.plan;
        if (kind === 'garbage') {
          s.write(bytes(rnd, int(rnd, 1, 40)));
          continue;
        }
        const pdu = modbusPdu(rnd, kind, req[6] as number, req[7] as number, value, req.readUInt16BE(10));
        const mbap = Buffer.alloc(6);
        mbap.writeUInt16BE(kind === 'wrong-txid' ? (txid + int(rnd, 1, 200)) & 0xffff : txid, 0);
        mbap.writeUInt16BE(0, 2);
        // short-stream: the header promises more bytes than ever come
        mbap.writeUInt16BE(kind === 'short-stream' ? pdu.length + int(rnd, 1, 20) : pdu.length, 4);
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

/** One fuzzed read: a valid one reads the planned value, every other one is a typed RigError naming the meter. */
async function fuzzRead(
  d: ModbusMeterDriver,
  target: string,
  kind: string,
  value: number,
  rnd: Random,
): Promise<string> {
  const r = await settle(d.readQuantity(pick(rnd, NAMES)), d.device);
  tally.count(target, kind, r.outcome);
  if (r.outcome === 'ok') {
    expect(kind, `${kind} accepted as ${r.value}`).toBe('valid');
    expect(r.value).toBe(value);
  } else expect(kind, `valid frame rejected: ${r.outcome}`).not.toBe('valid');
  return r.outcome;
}

describe('reliability: fuzzed answers to the Modbus meter driver', () => {
  it('TCP on 127.0.0.1: 10,000 fuzzed frames in 4 connections side by side, valid ones correct, the rest typed, then a clean read', async () => {
    await inLanes(4, async (lane) => {
      const rnd = seededRandom(4_502 + lane);
      const device = `fuzz-meter-tcp-${lane}`;
      const server = await modbusTcpFuzzServer(4_600 + lane);
      const d = new ModbusMeterDriver(device, { kind: 'tcp', host: '127.0.0.1', port: server.port }, 'sdm630', 1, 100);
      try {
        await d.activate();
        for (let i = 0; i < 2_500; i++) {
          const kind = weighted(rnd, MODBUS_TCP_KINDS);
          const value = Math.fround(rnd.uniform(-1e4, 1e4));
          server.plan = { kind, value };
          await fuzzRead(d, 'modbus-tcp', kind, value, rnd);
        }
        server.plan = { kind: 'valid', value: 230.5 };
        expect(Object.values(await d.readAll())).toEqual(NAMES.map(() => 230.5));
      } finally {
        await d.deactivate();
        await server.close();
      }
    });
    expect(tally.untyped('modbus-tcp')).toEqual([]);
    expect(tally.total('modbus-tcp')).toBe(10_000);
  });

  type RtuKind = ModbusKind | 'bad-crc' | 'bad-header';
  const MODBUS_RTU_KINDS: ReadonlyArray<[RtuKind, number]> = [
    ['valid', 40],
    ['bad-crc', 12],
    ['bad-header', 1],
    ['exception', 8],
    ['wrong-function', 0.5],
    ['wrong-unit', 0.5],
    ['truncated', 0.7],
    ['oversized', 8],
    ['bad-count', 8],
    ['garbage', 1],
  ];

  /** A fuzzing RTU meter: answers each 8-byte request with one frame of the planned kind. */
  function rtuMeter(rnd: Random) {
    let rx = Buffer.alloc(0);
    const meter = {
      plan: { kind: 'valid' as RtuKind, value: 0 },
      feed(chunk: Buffer, write: (b: Buffer) => void): void {
        rx = Buffer.concat([rx, chunk]);
        while (rx.length >= 8) {
          const req = rx.subarray(0, 8);
          rx = rx.subarray(8);
          const { kind, value } = meter.plan;
          const unit = req[0] as number;
          const fc = req[1] as number;
          let out: Buffer;
          if (kind === 'garbage') out = bytes(rnd, int(rnd, 1, 60));
          else if (kind === 'bad-crc' || kind === 'bad-header') {
            // A bit flipped in the data or CRC (the frame is recognised, its CRC fails) or in the unit/function/count.
            out = withCrc(modbusPdu(rnd, 'valid', unit, fc, value));
            const at = kind === 'bad-crc' ? int(rnd, 3, out.length - 1) : int(rnd, 0, 2);
            out[at] = (out[at] as number) ^ (1 << int(rnd, 0, 7));
          } else if (kind === 'truncated') out = withCrc(modbusPdu(rnd, 'valid', unit, fc, value)).subarray(0, 8);
          else out = withCrc(modbusPdu(rnd, kind, unit, fc, value));
          write(out);
        }
      },
    };
    return meter;
  }

  async function rtuLane(
    rnd: Random,
    target: string,
    d: ModbusMeterDriver,
    meter: ReturnType<typeof rtuMeter>,
    n: number,
  ) {
    await d.activate();
    for (let i = 0; i < n; i++) {
      const kind = weighted(rnd, MODBUS_RTU_KINDS);
      const value = Math.fround(rnd.uniform(-1e4, 1e4));
      meter.plan = { kind, value };
      const outcome = await fuzzRead(d, target, kind, value, rnd);
      // RTU has no transaction id: a frame ends with the line's silence, which this gives the rest of a long fuzzed
      // frame before the next request (the driver drops whatever is left when it sends).
      if (outcome !== 'ok') await sleep(3);
    }
    meter.plan = { kind: 'valid', value: 229.75 };
    expect(await d.readQuantity('voltage')).toBe(229.75);
  }

  it('RTU through serialport’s mock binding under modbus-serial: 9,700 fuzzed frames in 6 lanes, then a clean read', async () => {
    await inLanes(6, async (lane) => {
      const rnd = seededRandom(7_400 + lane);
      const meter = rtuMeter(rnd);
      const binding = fuzzBinding((sent, reply) => meter.feed(sent, reply));
      const endpoint: ModbusEndpoint = { kind: 'serial', path: `/dev/fuzz-rtu-${lane}`, binding };
      const d = new ModbusMeterDriver(`fuzz-meter-rtu-${lane}`, endpoint, 'sdm630', 1, 40);
      try {
        await rtuLane(rnd, 'modbus-rtu', d, meter, lane < 4 ? 1_617 : 1_616);
      } finally {
        await d.deactivate();
      }
    });
    expect(tally.untyped('modbus-rtu')).toEqual([]);
    expect(tally.total('modbus-rtu')).toBe(9_700);
  });

  it('RTU over a real PTY: 300 fuzzed frames, then a clean read', async () => {
    const pair = await pty();
    const rnd = seededRandom(7_301);
    const meter = rtuMeter(rnd);
    const port = await openSerial(pair.a);
    port.on('data', (chunk: Buffer) => meter.feed(chunk, (b) => port.write(b)));
    const d = new ModbusMeterDriver('fuzz-meter-rtu-pty', { kind: 'serial', path: pair.b }, 'sdm630', 1, 100);
    try {
      await rtuLane(rnd, 'modbus-rtu/pty', d, meter, 300);
      expect(tally.untyped('modbus-rtu/pty')).toEqual([]);
    } finally {
      await d.deactivate();
      await closeSerial(port);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// IEC 62056-21: a fake meter answering fuzzed identifications and data blocks
// ---------------------------------------------------------------------------------------------------------------

type IecKind = 'valid' | 'bad-id' | 'bad-bcc' | 'no-end' | 'truncated' | 'garbage-block' | 'silent';
const IEC_KINDS: ReadonlyArray<[IecKind, number]> = [
  ['valid', 12],
  ['bad-id', 8],
  ['bad-bcc', 8],
  ['no-end', 6],
  ['truncated', 0.4],
  ['garbage-block', 0.4],
  ['silent', 0.4],
];
const STX = 0x02;
const ETX = 0x03;

/** A fake mode C meter: answers a sign-on with an identification and an option select with a block, per `kind`. */
function iecMeter(rnd: Random) {
  let rx = '';
  const block = (body: string, bad: boolean) => {
    const framed = Buffer.concat([Buffer.from(body, 'latin1'), Buffer.from([ETX])]);
    let x = 0;
    for (const b of framed) x ^= b;
    return Buffer.concat([Buffer.from([STX]), framed, Buffer.from([bad ? x ^ (1 << int(rnd, 0, 6)) : x])]);
  };
  const meter = {
    kind: 'valid' as IecKind,
    energy: '000000.000',
    /** Frames written (identifications and blocks, fuzzed or not). */
    frames: 0,
    reset(): void {
      rx = '';
    },
    feed(chunk: Buffer, write: (b: Buffer) => void): void {
      rx += chunk.toString('latin1');
      for (let i = rx.indexOf('\r\n'); i >= 0; i = rx.indexOf('\r\n')) {
        const line = rx.slice(0, i);
        rx = rx.slice(i + 2);
        const kind = meter.kind;
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
          meter.frames++;
          write(Buffer.from(`${id.replace(/\r\n/g, '')}\r\n`, 'latin1'));
        } else if (line.startsWith('\x06')) {
          const body = `C.1.0(12345678)\r\n1.8.0(${meter.energy}*kWh)\r\n${kind === 'no-end' ? '' : '!\r\n'}`;
          meter.frames++;
          if (kind === 'truncated') write(block(body, false).subarray(0, int(rnd, 1, body.length)));
          else if (kind === 'garbage-block')
            write(Buffer.from(garbageLine(rnd, 40).map((b) => (b === STX ? 0x20 : b))));
          else write(block(body, kind === 'bad-bcc'));
        }
      }
    },
  };
  return meter;
}

async function iecLane(
  rnd: Random,
  target: string,
  meter: ReturnType<typeof iecMeter>,
  read: (timeoutMs: number) => ReturnType<typeof readIec62056>,
  device: string,
  frames: number,
  timeoutMs: number,
): Promise<void> {
  while (meter.frames < frames) {
    meter.kind = weighted(rnd, IEC_KINDS);
    meter.energy = rnd.uniform(0, 99_999).toFixed(3).padStart(10, '0');
    meter.reset();
    let r = await settle(read(timeoutMs), device);
    if (r.outcome === 'TIMEOUT' && meter.kind === 'valid') {
      // The short timeout keeps 9,700 frames quick, but a loaded machine (the whole test suite on two cores) can
      // take longer than it over a valid exchange: asked again with time to spare, the same answer must read.
      meter.reset();
      r = await settle(read(timeoutMs * 25), device);
    }
    tally.count(target, meter.kind, r.outcome);
    if (r.outcome === 'ok') {
      expect(meter.kind).toBe('valid');
      expect(r.value?.items['1.8.0']).toEqual({ value: meter.energy, unit: 'kWh', number: Number(meter.energy) });
    } else expect(meter.kind, `valid readout rejected: ${r.outcome}`).not.toBe('valid');
  }
  meter.kind = 'valid';
  meter.energy = '000042.000';
  meter.reset();
  expect((await read(timeoutMs * 5)).items['1.8.0']?.number).toBe(42);
}

describe('reliability: fuzzed identifications and data blocks to the IEC 62056-21 driver', () => {
  it('through serialport’s mock binding: 9,700 fuzzed frames in 6 lanes, typed RigErrors or correct values, then a clean readout', async () => {
    let frames = 0;
    await inLanes(6, async (lane) => {
      const rnd = seededRandom(62_100 + lane);
      const meter = iecMeter(rnd);
      const binding = fuzzBinding((sent, reply) => meter.feed(sent, reply));
      const device = `fuzz-iec-${lane}`;
      await iecLane(
        rnd,
        'iec62056',
        meter,
        (timeoutMs) => readIec62056(device, `/dev/fuzz-iec-${lane}`, { timeoutMs, binding }),
        device,
        Math.ceil(9_700 / 6),
        40,
      );
      frames += meter.frames;
    });
    expect(tally.untyped('iec62056')).toEqual([]);
    tally.count('iec62056', 'frames written', String(frames), 0);
    expect(frames).toBeGreaterThanOrEqual(9_700);
  });

  it('over a real PTY: 300 fuzzed frames, then a clean readout', async () => {
    const pair = await pty();
    const rnd = seededRandom(62_056);
    const meter = iecMeter(rnd);
    const port = await openSerial(pair.a, { baudRate: 300, dataBits: 7, parity: 'even' });
    port.on('data', (chunk: Buffer) => meter.feed(chunk, (b) => port.write(b)));
    try {
      await iecLane(
        rnd,
        'iec62056/pty',
        meter,
        (timeoutMs) => readIec62056('fuzz-iec-pty', pair.b, { timeoutMs }),
        'fuzz-iec-pty',
        300,
        200,
      );
      expect(tally.untyped('iec62056/pty')).toEqual([]);
      tally.count('iec62056/pty', 'frames written', String(meter.frames), 0);
    } finally {
      await closeSerial(port);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Firmata board: fuzzed board messages into the stream johnny-five/firmata-io parses
// ---------------------------------------------------------------------------------------------------------------

type FirmataKind =
  | 'digital'
  | 'analog'
  | 'version'
  | 'firmware'
  | 'string'
  | 'pin-state'
  | 'bad-pin-state'
  | 'short-firmware'
  | 'long-analog-mapping'
  | 'onewire'
  | 'random-sysex'
  | 'truncated'
  | 'garbage'
  | 'stray-data';
const FIRMATA_KINDS: ReadonlyArray<[FirmataKind, number]> = [
  ['digital', 30],
  ['analog', 10],
  ['version', 3],
  ['firmware', 3],
  ['string', 5],
  ['pin-state', 5],
  ['bad-pin-state', 4],
  ['short-firmware', 3],
  ['long-analog-mapping', 3],
  ['onewire', 3],
  ['random-sysex', 8],
  ['truncated', 10],
  ['garbage', 5],
  ['stray-data', 3],
];
/** Messages firmata-io cannot take from a 20-pin board (they threw out of its parser before the driver caught them). */
const FIRMATA_UNTAKEABLE: readonly FirmataKind[] = ['bad-pin-state', 'short-firmware', 'long-analog-mapping'];
const d7 = (rnd: Random) => int(rnd, 0, 127);
const sysex = (...body: number[]) => [0xf0, ...body, 0xf7];

function boardMessage(rnd: Random, kind: FirmataKind): number[] {
  switch (kind) {
    case 'digital':
      return [0x90 | int(rnd, 0, 2), d7(rnd), int(rnd, 0, 1)];
    case 'analog':
      return [0xe0 | int(rnd, 0, 15), d7(rnd), d7(rnd)];
    case 'version':
      return [0xf9, 2, int(rnd, 0, 9)];
    case 'firmware':
      return sysex(0x79, 2, 5, ...[...Buffer.from('FuzzFirmata')].flatMap((c) => [c & 0x7f, c >> 7]));
    case 'string':
      return sysex(0x71, ...Array.from({ length: int(rnd, 0, 30) }, () => int(rnd, 0x20, 0x7e)));
    case 'pin-state':
      // Pins the driver does not use (the pulse input 2 and the relays keep the modes it set).
      return sysex(0x6e, pick(rnd, [0, 1, 3, 4, 5, 6, 7, 14, 15]), int(rnd, 0, 1), d7(rnd));
    case 'bad-pin-state':
      return sysex(0x6e, int(rnd, 20, 127), int(rnd, 0, 11), d7(rnd));
    case 'short-firmware':
      return sysex(0x79, ...Array.from({ length: int(rnd, 0, 1) }, () => d7(rnd)));
    case 'long-analog-mapping':
      return sysex(0x6a, ...Array.from({ length: int(rnd, 21, 60) }, () => pick(rnd, [0x7f, d7(rnd)])));
    case 'onewire':
      // Not the search replies (0x42, 0x45): firmata-io prints "ROM invalid!" for each bad one.
      return sysex(
        0x73,
        pick(rnd, [0x43, 0x44, 0x73, int(rnd, 0x46, 0x72)]),
        ...Array.from({ length: int(rnd, 0, 20) }, () => d7(rnd)),
      );
    case 'random-sysex':
      return sysex(...Array.from({ length: int(rnd, 0, 60) }, () => d7(rnd)));
    case 'truncated': {
      const m = boardMessage(rnd, pick(rnd, ['digital', 'analog', 'version', 'firmware', 'string'] as const));
      return m.slice(0, int(rnd, 1, m.length - 1));
    }
    case 'garbage':
      return [...bytes(rnd, int(rnd, 1, 32))];
    case 'stray-data':
      return Array.from({ length: int(rnd, 1, 8) }, () => d7(rnd));
  }
}

/**
 * The pin-2 levels a host takes from a board's byte stream under Firmata's framing: a status byte starts a message
 * and ends an unfinished one (a sysex too: its data bytes are 7-bit), DIGITAL_MESSAGE, ANALOG_MESSAGE and
 * REPORT_VERSION carry two data bytes, a sysex ends at END_SYSEX. Rising edges of pin 2 are the pulses.
 */
function pulsesIn(stream: Buffer, startLevel: number): { pulses: number; level: number } {
  let msg: number[] = [];
  let level = startLevel;
  let pulses = 0;
  for (const b of stream) {
    if (b >= 0x80) {
      msg = b === 0xf0 || (b & 0xf0) === 0x90 || (b & 0xf0) === 0xe0 || b === 0xf9 ? [b] : [];
      continue;
    }
    if (!msg.length) continue;
    msg.push(b);
    if (msg[0] !== 0xf0 && msg.length === 3) {
      if (msg[0] === 0x90) {
        const v = (((msg[1] as number) | ((msg[2] as number) << 7)) >> 2) & 1;
        if (v && !level) pulses++;
        level = v;
      }
      msg = [];
    }
  }
  return { pulses, level };
}

describe('reliability: fuzzed board messages to the Firmata driver (PTY)', () => {
  it('10,000 fuzzed messages: no throw out of the parser, pulses exactly as the framing gives them, then relays switch and pulses count', async () => {
    const pair = await pty();
    const rnd = seededRandom(57_600);
    const emuPort: TtyPort = await openSerial(pair.a, { baudRate: 57600 });
    const physics = new BenchPhysics(1000, 0);
    const emu = new FirmataEmulator((b) => emuPort.write(b), 2, physics);
    emuPort.on('data', (b: Buffer) => emu.handle(b));
    const d = new FirmataBoardDriver('fuzz-board', pair.b, { pulsePin: 2 });
    const errors: unknown[] = [];
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      expect(await d.activate()).toMatch(/BenchFirmataEmu/);
      (d.board as { on(ev: string, cb: (e: unknown) => void): void }).on('error', (e) => errors.push(e));
      await until(() => emu.isReporting(2));
      const messages: Buffer[] = [];
      let untakeable = 0;
      for (let i = 0; i < 10_000; i++) {
        const kind = weighted(rnd, FIRMATA_KINDS);
        messages.push(Buffer.from(boardMessage(rnd, kind)));
        if (FIRMATA_UNTAKEABLE.includes(kind)) untakeable++;
        tally.count('firmata', kind, 'sent');
      }
      // Pin 2 low at the end, then a string as the fence: once it is out, every byte before it was parsed.
      const fence = `fence-${rnd.next().toString(36).slice(2)}`;
      messages.push(Buffer.from([0x90, 0, 0]), Buffer.from(sysex(0x71, ...Buffer.from(fence))));
      const stream = Buffer.concat(messages);
      const expected = pulsesIn(stream, 0);
      const strings: string[] = [];
      d.io?.on('string', (s) => strings.push(String(s)));
      for (let at = 0; at < stream.length; ) {
        const n = int(rnd, 1, 2_000);
        emuPort.write(stream.subarray(at, at + n));
        at += n;
      }
      await until(() => strings.includes(fence));
      expect(uncaught).toEqual([]);
      expect(errors).toEqual([]);
      expect(d.pulses).toBe(expected.pulses);
      expect(d.badFrames).toBeGreaterThanOrEqual(untakeable);
      tally.count('firmata', 'pulses', `${d.pulses} (as framed: ${expected.pulses})`, 0);
      tally.count('firmata', 'bad frames', `${d.badFrames} (untakeable sent: ${untakeable})`, 0);
      // The board still works: relays switch, physics pulses count one for one.
      for (const on of [true, false, true]) {
        d.relay(9, on);
        await until(() => emu.outputs[9] === (on ? 1 : 0));
      }
      const before = d.pulses;
      physics.setLoad(0, 3600);
      physics.advance(5_000); // 5 Wh = 5 pulses at 1000 imp/kWh
      await until(() => d.pulses >= before + 5);
      await sleep(50);
      expect(d.pulses - before).toBe(5);
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await d.deactivate();
      await closeSerial(emuPort);
    }
  });
});
