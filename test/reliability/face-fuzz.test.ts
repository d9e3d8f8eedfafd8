import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import crc16 from 'modbus-serial/utils/crc16.js';
import { afterAll, describe, expect, it } from 'vitest';
import { type Random, seededRandom } from '../../core/random.js';
import { bcc, serveIec62056 } from '../../meter/faces/iec62056.js';
import { LiveFaces } from '../../meter/faces/live.js';
import { handleRtuFrame, type RtuStats, serveModbusRtu, serveModbusTcp } from '../../meter/faces/modbus.js';
import { newLiveValues } from '../../meter/faces/register-map.js';
import type { CommissionCommand, MeterIdentityLine } from '../../protocols/stream-commands.js';
import { FirmataBoardDriver } from '../../rigs/drivers/firmata-board.js';
import {
  FirmataEmulator,
  type FirmataFirmware,
  STANDARD_FIRMATA_2_4,
  STANDARD_FIRMATA_2_5,
} from '../../rigs/emulators/firmata-emulator.js';
import { BenchPhysics } from '../../rigs/emulators/physics.js';
import { SCPI_ERROR_QUEUE_SIZE, ScpiLoadEmulator } from '../../rigs/emulators/scpi-load-emulator.js';
import { serveLinesOnSerial } from '../../rigs/emulators/serve-line.js';
import type { TtyPort } from '../../rigs/transports/tty-port.js';
import { freePort } from '../support/ledger-node.js';
import {
  bytes,
  closeSerial,
  garbageLine,
  int,
  openSerial,
  pick,
  ptyPool,
  Tally,
  until,
  weighted,
  withCrc,
  writeAll,
} from './fuzz-support.js';

/*
 * Fuzzes the EMULATOR FACES with garbage arriving as commands from a host (driver-fuzz.test.ts does the other
 * direction). Each face gets 10,000 fuzzed frames; what it answers is checked frame by frame against what its
 * protocol says it must answer (nothing, an error, an exception), and after every burst a valid exchange must be
 * answered correctly. Outcomes are tallied per face and kind and printed.
 */

const tally = new Tally();
afterAll(() => console.info(tally.format('face fuzz outcomes')));

const values = { ...newLiveValues(), voltage: 230, current: 10, activePower: 2300 };
const ID = { manufacturer: 'BEN', identification: 'RM1', serial: 'X', firmware: '1', maxBaud: '5' as const };

const pty = ptyPool();
/** Everything a port receives, from now on. */
function collect(port: TtyPort): { bytes: () => Buffer; clear: () => void } {
  let acc: Buffer[] = [];
  port.on('data', (d: Buffer) => acc.push(d));
  return {
    bytes: () => {
      if (acc.length > 1) acc = [Buffer.concat(acc)];
      return acc[0] ?? Buffer.alloc(0);
    },
    clear: () => {
      acc = [];
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Modbus RTU face
// ---------------------------------------------------------------------------------------------------------------

type RtuKind = 'valid' | 'bad-crc' | 'truncated' | 'garbage' | 'oversized' | 'other-unit' | 'bad-function';

/** Seeded fuzz frames of every kind a noisy RS-485 line or a broken master produces. */
function rtuFrames(n: number, seed: number): Array<{ kind: RtuKind; frame: Buffer }> {
  const rnd = seededRandom(seed);
  const byte = () => Math.floor(rnd.next() * 256);
  const kinds: RtuKind[] = ['valid', 'bad-crc', 'truncated', 'garbage', 'oversized', 'other-unit', 'bad-function'];
  return Array.from({ length: n }, () => {
    const kind = pick(rnd, kinds);
    const addr = pick(rnd, [0x0000, 0x0006, 0x000c, 0x0048, 0x0100, byte() << 8]);
    const req = [1, 0x04, addr >> 8, addr & 0xff, 0, 2];
    switch (kind) {
      case 'valid':
        return { kind, frame: withCrc(req) };
      case 'bad-crc': {
        const f = withCrc(req);
        f[f.length - 1] = (f[f.length - 1] as number) ^ (1 + Math.floor(rnd.next() * 255));
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

describe('reliability: fuzzed frames to the Modbus RTU face', () => {
  it('10,000 fuzzed frames give typed outcomes, answers only to valid frames, no crash', () => {
    const stats: RtuStats = { requests: 0, answered: 0, badCrc: 0, malformed: 0, otherUnit: 0 };
    const frames = rtuFrames(10_000, 42);
    let replies = 0;
    for (const { kind, frame } of frames) {
      const reply = handleRtuFrame(frame, 1, values, stats);
      tally.count('modbus-rtu', kind, reply ? `answer fc=0x${reply[1]?.toString(16)}` : 'silent');
      if (reply) {
        replies++;
        expect(crc16(reply.subarray(0, -2))).toBe(reply.readUInt16LE(reply.length - 2));
        expect(['valid', 'bad-function', 'oversized']).toContain(kind);
      }
    }
    const count = (k: RtuKind) => frames.filter((f) => f.kind === k).length;
    expect(stats.requests).toBe(10_000);
    expect(stats.otherUnit).toBe(count('other-unit'));
    expect(stats.badCrc).toBeGreaterThanOrEqual(count('bad-crc'));
    expect(replies).toBe(stats.answered);
    expect(stats.answered).toBe(count('valid') + count('bad-function'));
  });

  it('over a real PTY: a burst of 300 fuzzed frames, then a valid request is still answered', async () => {
    const pair = await pty();
    const face = await serveModbusRtu(() => values, { path: pair.a });
    const port = await openSerial(pair.b);
    try {
      for (const { kind, frame } of rtuFrames(300, 7)) {
        port.write(frame);
        tally.count('modbus-rtu/pty', kind, 'sent');
        await sleep(6); // longer than the 3.5-character gap that ends an RTU frame
      }
      expect(face.stats.requests).toBeGreaterThanOrEqual(250);
      const rx = collect(port);
      await sleep(50);
      rx.clear();
      port.write(withCrc([1, 4, 0, 0, 0, 2]));
      await until(() => rx.bytes().length >= 9);
      expect(rx.bytes().subarray(0, 3)).toEqual(Buffer.from([1, 4, 4]));
      expect(rx.bytes().readFloatBE(3)).toBeCloseTo(230, 3);
    } finally {
      await closeSerial(port);
      await face.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Modbus TCP face: real sockets on 127.0.0.1
// ---------------------------------------------------------------------------------------------------------------

/** Request frames that keep the MBAP framing intact: each has an exact expected answer (or none). */
type TcpFramed =
  | 'valid'
  | 'unknown-address'
  | 'bad-quantity'
  | 'bad-function'
  | 'short-pdu'
  | 'long-pdu'
  | 'other-unit'
  | 'bad-protocol';
/** Frames that break the stream: after one, the connection is not used again. */
type TcpBreaking = 'length-too-big' | 'length-too-small' | 'truncated' | 'garbage';
const TCP_FRAMED: ReadonlyArray<[TcpFramed, number]> = [
  ['valid', 40],
  ['unknown-address', 8],
  ['bad-quantity', 8],
  ['bad-function', 10],
  ['short-pdu', 6],
  ['long-pdu', 6],
  ['other-unit', 6],
  ['bad-protocol', 6],
];
const TCP_BREAKING: ReadonlyArray<[TcpBreaking, number]> = [
  ['length-too-big', 3],
  ['length-too-small', 2],
  ['truncated', 3],
  ['garbage', 2],
];
/**
 * Registers of the face's maps and the value each reads (float32 over two registers): function 04 the input map,
 * 03 the settings (demand period, system type); the addresses outside each map.
 */
const TCP_REGISTERS: Record<3 | 4, ReadonlyArray<[number, number]>> = {
  4: [
    [0x0000, values.voltage],
    [0x0006, values.current],
    [0x000c, values.activePower],
    [0x0046, values.frequency],
    [0x0002, 0],
    [0x0100, 0],
  ],
  3: [
    [0x0002, 60],
    [0x000a, 3],
  ],
};
const TCP_OUTSIDE: Record<3 | 4, readonly number[]> = {
  4: [0x017e, 0x0300, 0x7fff, 0xffff],
  3: [0x0058, 0x7fff, 0xffff],
};

const mbap = (txid: number, pdu: Buffer, opts: { protocol?: number; length?: number } = {}) => {
  const h = Buffer.alloc(6);
  h.writeUInt16BE(txid, 0);
  h.writeUInt16BE(opts.protocol ?? 0, 2);
  h.writeUInt16BE(opts.length ?? pdu.length, 4);
  return Buffer.concat([h, pdu]);
};
const readPdu = (unit: number, fc: number, addr: number, qty: number) => {
  const b = Buffer.from([unit, fc, 0, 0, 0, 0]);
  b.writeUInt16BE(addr, 2);
  b.writeUInt16BE(qty, 4);
  return b;
};

/** One framed request and the PDU it must be answered with (unit id first), or undefined for silence. */
function tcpFramed(rnd: Random, kind: TcpFramed, txid: number): { frame: Buffer; answer?: Buffer } {
  const fc = pick(rnd, [3, 4] as const);
  const [addr, value] = pick(rnd, TCP_REGISTERS[fc]);
  const exception = (f: number, code: number) => Buffer.from([1, f | 0x80, code]);
  switch (kind) {
    case 'valid': {
      const answer = Buffer.from([1, fc, 4, 0, 0, 0, 0]);
      answer.writeFloatBE(value, 3);
      return { frame: mbap(txid, readPdu(1, fc, addr, 2)), answer };
    }
    case 'unknown-address':
      return {
        frame: mbap(txid, readPdu(1, fc, pick(rnd, TCP_OUTSIDE[fc]), 2)),
        answer: exception(fc, 2),
      };
    case 'bad-quantity':
      return {
        // More than Eastron's 40 parameters (80 registers) in one read, or none.
        frame: mbap(txid, readPdu(1, fc, addr, pick(rnd, [0, 81, 126, 200, 0x7d00, 0xffff]))),
        answer: exception(fc, 3),
      };
    case 'bad-function': {
      // Functions the face does not serve (16, write multiple registers, it does: the settings).
      const f = pick(rnd, [0, 1, 2, 5, 6, 7, 8, 15, 17, 23, 43, 0x41, 0x64, 0x7f, int(rnd, 0x44, 0x7f)]);
      const pdu = Buffer.concat([Buffer.from([1, f]), bytes(rnd, int(rnd, 0, 8))]);
      return { frame: mbap(txid, pdu), answer: exception(f, 1) };
    }
    case 'short-pdu':
      return { frame: mbap(txid, readPdu(1, fc, addr, 2).subarray(0, int(rnd, 2, 5))), answer: exception(fc, 3) };
    case 'long-pdu':
      return {
        frame: mbap(txid, Buffer.concat([readPdu(1, fc, addr, 2), bytes(rnd, int(rnd, 1, 200))])),
        answer: exception(fc, 3),
      };
    case 'other-unit':
      return { frame: mbap(txid, readPdu(int(rnd, 2, 247), fc, addr, 2)) };
    case 'bad-protocol':
      return { frame: mbap(txid, readPdu(1, fc, addr, 2), { protocol: int(rnd, 1, 0xffff) }) };
  }
}

/** A frame that breaks the MBAP stream; `closes`: the face must close the connection (the header is invalid). */
function tcpBreaking(rnd: Random, kind: TcpBreaking, txid: number): { frame: Buffer; closes: boolean } {
  const pdu = readPdu(1, 4, 0, 2);
  switch (kind) {
    case 'length-too-big':
      return { frame: mbap(txid, pdu, { length: int(rnd, 255, 0xffff) }), closes: true };
    case 'length-too-small':
      return { frame: mbap(txid, pdu, { length: int(rnd, 0, 1) }), closes: true };
    case 'truncated':
      return { frame: mbap(txid, pdu).subarray(0, int(rnd, 1, 11)), closes: false };
    case 'garbage':
      return { frame: bytes(rnd, int(rnd, 1, 300)), closes: false };
  }
}

/** A client connection that splits what the face sends into MBAP frames (txid → PDU) and notes a close. */
async function tcpClient(port: number) {
  const s: Socket = connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await once(s, 'connect');
  let buf = Buffer.alloc(0);
  const answers: Array<{ txid: number; protocol: number; pdu: Buffer }> = [];
  let closed = false;
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 6 && buf.length >= 6 + buf.readUInt16BE(4)) {
      const len = buf.readUInt16BE(4);
      answers.push({ txid: buf.readUInt16BE(0), protocol: buf.readUInt16BE(2), pdu: buf.subarray(6, 6 + len) });
      buf = buf.subarray(6 + len);
    }
  });
  s.on('close', () => {
    closed = true;
  });
  return { socket: s, answers, closed: () => closed, leftover: () => buf.length };
}

describe('reliability: fuzzed frames to the Modbus TCP face (127.0.0.1)', () => {
  it('10,000 fuzzed frames: exact answers or silence per frame, bad headers close the connection, a valid read after each burst', async () => {
    const rnd = seededRandom(502);
    const port = await freePort();
    const face = await serveModbusTcp(() => values, { host: '127.0.0.1', port });
    let sent = 0;
    let txid = 0;
    try {
      while (sent < 10_000) {
        const c = await tcpClient(port);
        // A burst of framed requests, each with its expected answer (or silence), written in random chunks.
        const burst = int(rnd, 1, 120);
        const expected = new Map<number, Buffer | undefined>();
        const out: Buffer[] = [];
        for (let i = 0; i < burst; i++) {
          const kind = weighted(rnd, TCP_FRAMED);
          txid = (txid + 1) & 0xffff;
          const f = tcpFramed(rnd, kind, txid);
          expected.set(txid, f.answer);
          out.push(f.frame);
          tally.count('modbus-tcp', kind, f.answer ? `answer fc=0x${f.answer[1]?.toString(16)}` : 'silent');
        }
        // The valid exchange that ends the burst, on the same connection.
        txid = (txid + 1) & 0xffff;
        const probe = txid;
        out.push(mbap(probe, readPdu(1, 4, 0x0000, 2)));
        const stream = Buffer.concat(out);
        for (let at = 0; at < stream.length; ) {
          const n = int(rnd, 1, 400);
          c.socket.write(stream.subarray(at, at + n));
          at += n;
        }
        await until(() => c.answers.some((a) => a.txid === probe) || c.closed());
        expect(c.closed(), 'face closed a connection that sent only well-framed requests').toBe(false);
        const answered = new Map(c.answers.map((a) => [a.txid, a]));
        for (const [id, answer] of expected) {
          const got = answered.get(id);
          if (!answer) expect(got, `txid ${id} answered, expected silence`).toBeUndefined();
          else expect(got?.pdu.toString('hex'), `txid ${id}`).toBe(answer.toString('hex'));
        }
        expect(answered.get(probe)?.pdu.readFloatBE(3)).toBeCloseTo(values.voltage, 3);
        tally.count('modbus-tcp', 'probe', 'answer fc=0x4');
        expect(c.answers.every((a) => a.protocol === 0)).toBe(true);
        expect(c.answers.length).toBe([...expected.values()].filter(Boolean).length + 1);
        sent += burst + 1;
        // Most connections then get a frame that breaks the stream.
        if (rnd.next() < 0.7) {
          const kind = weighted(rnd, TCP_BREAKING);
          txid = (txid + 1) & 0xffff;
          const b = tcpBreaking(rnd, kind, txid);
          c.socket.write(b.frame);
          sent++;
          if (b.closes) await until(c.closed);
          tally.count('modbus-tcp', kind, b.closes ? 'closed by face' : 'closed by client');
        }
        c.socket.destroy();
      }
      // The face is still serving: a fresh connection reads correctly.
      const c = await tcpClient(port);
      c.socket.write(mbap(1, readPdu(1, 4, 0x000c, 2)));
      await until(() => c.answers.length > 0);
      expect(c.answers[0]?.pdu.readFloatBE(3)).toBe(2300);
      c.socket.destroy();
      expect(tally.total('modbus-tcp')).toBe(sent);
    } finally {
      await face.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// SCPI load emulator: in process, then over a PTY
// ---------------------------------------------------------------------------------------------------------------

/** An IEEE 488.2 numeric answer (NR1/NR2/NR3). */
const SCPI_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const UNDEFINED_HEADER = '-113,"Undefined header"';
const OUT_OF_RANGE = '-222,"Data out of range"';
const QUEUE_OVERFLOW = '-350,"Queue overflow"';
/** A SCPI command error (-100..-199): the line could not be parsed as the command it names. */
const COMMAND_ERROR = /^-1\d\d,"[^"]+"$/;

type ScpiKind =
  | 'query'
  | 'setpoint'
  | 'blank'
  | 'garbage'
  | 'oversized'
  | 'unknown'
  | 'bad-number'
  | 'out-of-range'
  | 'error-query';
const SCPI_KINDS: ReadonlyArray<[ScpiKind, number]> = [
  ['query', 18],
  ['setpoint', 18],
  ['blank', 4],
  ['garbage', 14],
  ['oversized', 2],
  ['unknown', 12],
  ['bad-number', 12],
  ['out-of-range', 8],
  ['error-query', 12],
];
const SCPI_SETTERS = [
  ['POW', 0, 3600],
  ['CURR:PEAK:MAX', 0, 36],
  ['PFAC', 0, 1],
  ['CFAC', 1.41, 5],
] as const;

/** What a line must produce: an answer (matched), an error pushed to the queue, or neither. */
interface ScpiExpect {
  kind: ScpiKind;
  line: Buffer;
  answer?: string | RegExp | 'pop';
  error?: string | RegExp;
}

function scpiLine(rnd: Random, maxOversized: number): ScpiExpect {
  const kind = weighted(rnd, SCPI_KINDS);
  const text = (s: string) => Buffer.from(s, 'latin1');
  const cased = (s: string) => (rnd.next() < 0.2 ? s.toLowerCase() : s);
  const padded = (s: string) => `${pick(rnd, ['', ' ', '\t'])}${s}${pick(rnd, ['', ' ', '\r'])}`;
  const number = (lo: number, hi: number) => {
    const v = rnd.uniform(lo, hi);
    return pick(rnd, [v.toFixed(3), v.toFixed(0), v.toExponential(4), `+${v.toFixed(2)}`]);
  };
  switch (kind) {
    case 'query': {
      const [q, a] = pick(rnd, [
        ['*IDN?', /^CHROMA,63804,/],
        ['*OPC?', '1'],
        ['MEAS:POW?', SCPI_NUMBER],
        ['MEAS:CURR?', SCPI_NUMBER],
      ] as const);
      return { kind, line: text(padded(cased(q))), answer: a };
    }
    case 'setpoint': {
      if (rnd.next() < 0.3)
        return { kind, line: text(cased(pick(rnd, ['MODE CP', 'MODE CC', 'MODE CR', 'LOAD ON', 'LOAD OFF']))) };
      const [cmd, lo, hi] = pick(rnd, SCPI_SETTERS);
      const v = number(lo, hi);
      // Rounding to the printed digits must not leave the range.
      const inRange = Number(v) >= lo && Number(v) <= hi;
      return { kind, line: text(padded(`${cased(cmd)} ${v}`)), error: inRange ? undefined : OUT_OF_RANGE };
    }
    case 'blank':
      return { kind, line: text(pick(rnd, ['', ' ', '\r', '\t', ' \t\r'])) };
    case 'garbage':
      return { kind, line: garbageLine(rnd, int(rnd, 1, 60)), error: UNDEFINED_HEADER };
    case 'oversized':
      return { kind, line: garbageLine(rnd, int(rnd, 2_000, maxOversized)), error: UNDEFINED_HEADER };
    case 'unknown':
      return {
        kind,
        line: text(
          pick(rnd, [
            'VOLT 230',
            'SYST:ERR',
            'SYST:ERR??',
            '*TRG',
            'MEAS:FREQ?',
            'MEAS:POW',
            'FETC:POW?',
            'POW:LIM 5',
            'POW5',
            'POWER 5',
            'LOAD',
            'LOAD ONN',
            'MODE XX',
            '*IDN',
            `${garbageLine(rnd, 4).toString('latin1')}?`,
          ]),
        ),
        error: UNDEFINED_HEADER,
      };
    case 'bad-number': {
      const [cmd] = pick(rnd, SCPI_SETTERS);
      const bad = pick(rnd, [
        'abc',
        '0x10',
        '0b1',
        '0o7',
        '1,5',
        '1 2',
        'NaN',
        'Infinity',
        '-Infinity',
        '--5',
        '5e',
        '.',
        '+',
        '1_0',
        '١٢',
        '"5"',
      ]);
      return { kind, line: text(`${cmd} ${bad}`), error: COMMAND_ERROR };
    }
    case 'out-of-range': {
      const [cmd, lo, hi] = pick(rnd, SCPI_SETTERS);
      // 1e999 is a well-formed number too large for any range (it reads as Infinity).
      const v = pick(rnd, [String(lo - 0.5), String(hi + 0.5), String(hi * 10), '-1e6', '1e999']);
      return { kind, line: text(`${cmd} ${v}`), error: OUT_OF_RANGE };
    }
    case 'error-query':
      return { kind, line: text(cased('SYST:ERR?')), answer: 'pop' };
  }
}

/** The SCPI-99 error queue as a host sees it: bounded, its last entry replaced by -350 when it overflows. */
class ErrorQueueModel {
  readonly q: Array<string | RegExp> = [];
  push(e: string | RegExp): void {
    if (this.q.length < SCPI_ERROR_QUEUE_SIZE) this.q.push(e);
    else this.q[SCPI_ERROR_QUEUE_SIZE - 1] = QUEUE_OVERFLOW;
  }
  pop(): string | RegExp {
    return this.q.shift() ?? '0,"No error"';
  }
}

const matches = (got: string | undefined, want: string | RegExp) =>
  typeof want === 'string' ? got === want : want.test(got ?? '');

/** The exchange after a burst: a power setpoint takes effect and reads back, then the error queue is empty. */
const SCPI_PROBE = ['MODE CP', 'POW 1234.5', 'LOAD ON', 'MEAS:POW?', 'SYST:ERR?', 'LOAD OFF'];
const SCPI_PROBE_ANSWERS = ['1234.500', '0,"No error"'];

describe('reliability: fuzzed lines to the SCPI load emulator', () => {
  it('10,000 fuzzed lines in process: every answer and every queued error as SCPI says, a valid exchange after each burst', () => {
    const rnd = seededRandom(63_800);
    const emu = new ScpiLoadEmulator(new BenchPhysics(1000, 0), () => 0);
    const model = new ErrorQueueModel();
    let lines = 0;
    while (lines < 10_000) {
      const burst = int(rnd, 1, 150);
      for (let i = 0; i < burst; i++) {
        const l = scpiLine(rnd, 200_000);
        const answers = emu.handle(l.line).map((b) => b.toString('latin1'));
        const want = l.answer === 'pop' ? model.pop() : l.answer;
        if (l.error) model.push(l.error);
        const outcome = want
          ? answers.length === 1 && matches(answers[0], want)
            ? 'answered'
            : 'WRONG'
          : answers.length
            ? 'WRONG'
            : l.error
              ? 'queued error'
              : 'taken';
        tally.count('scpi-load', l.kind, outcome);
        expect(answers, `${l.kind} ${JSON.stringify(l.line.toString('latin1').slice(0, 40))}`).toHaveLength(
          want ? 1 : 0,
        );
        if (want)
          expect(matches(answers[0], want), `${answers[0]} for ${l.line.toString('latin1').slice(0, 40)}`).toBe(true);
      }
      lines += burst;
      // Drain the queue as the host does, then the valid exchange.
      for (;;) {
        const want = model.pop();
        const [got] = emu.handle(Buffer.from('SYST:ERR?')).map((b) => b.toString());
        expect(matches(got, want), `queued ${got}, expected ${want}`).toBe(true);
        if (got === '0,"No error"') break;
      }
      const probe = SCPI_PROBE.flatMap((c) => emu.handle(Buffer.from(c)).map((b) => b.toString()));
      expect(probe).toEqual(SCPI_PROBE_ANSWERS);
    }
    expect(tally.total('scpi-load')).toBe(lines);
    expect(tally.untyped('scpi-load')).toEqual([]);
  });

  it('over a real PTY: 300 fuzzed lines through the line server, the same answers, then a valid exchange', async () => {
    const rnd = seededRandom(63_801);
    const pair = await pty();
    const emu = new ScpiLoadEmulator(new BenchPhysics(1000, 0), () => 0);
    // Counts what the emulator handled and answered, so the test waits for exactly that, never for a time.
    let handled = 0;
    let replied = 0;
    const served = await serveLinesOnSerial(pair.a, {
      handle: (f) => {
        const r = emu.handle(f);
        handled++;
        replied += r.length;
        return r;
      },
    });
    const port = await openSerial(pair.b, { baudRate: 115200 });
    const rx = collect(port);
    const model = new ErrorQueueModel();
    const wanted: Array<string | RegExp> = [];
    const out: Buffer[] = [];
    try {
      for (let i = 0; i < 300; i++) {
        const l = scpiLine(rnd, 20_000);
        const want = l.answer === 'pop' ? model.pop() : l.answer;
        if (l.error) model.push(l.error);
        if (want) wanted.push(want);
        out.push(l.line, Buffer.from('\n'));
        tally.count('scpi-load/pty', l.kind, want ? 'answered' : l.error ? 'queued error' : 'taken');
      }
      for (let want = model.pop(); ; want = model.pop()) {
        out.push(Buffer.from('SYST:ERR?\n'));
        wanted.push(want);
        if (want === '0,"No error"') break;
      }
      out.push(Buffer.from(`${SCPI_PROBE.join('\n')}\n`));
      wanted.push(...SCPI_PROBE_ANSWERS);
      await writeAll(port, Buffer.concat(out));
      const answers = () => rx.bytes().toString('latin1').split('\n').slice(0, -1);
      const lines = Buffer.concat(out).toString('latin1').split('\n').length - 1;
      await until(() => handled >= lines && answers().length >= replied);
      const got = answers();
      expect(got).toHaveLength(wanted.length);
      for (const [i, w] of wanted.entries()) expect(matches(got[i], w), `answer ${i}: ${got[i]} vs ${w}`).toBe(true);
    } finally {
      await closeSerial(port);
      await served.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Firmata board emulator: in process against a reference parser, then over a PTY under the real driver
// ---------------------------------------------------------------------------------------------------------------

const PINS = 20;
/**
 * What StandardFirmata's parser (FirmataParser.cpp) does with a byte stream, for the commands the emulator
 * implements: a status byte (>= 0x80) always starts a new message and drops an unfinished one; data bytes without a
 * pending message are ignored; a sysex collects every byte up to END_SYSEX; pins the board does not have are ignored;
 * any non-zero digital value is HIGH. SYSTEM_RESET (0xFF) is not implemented by the emulator: it only ends a message.
 * What the pins do follows the firmware release (StandardFirmata.ino): the board starts as its boot left it (pins
 * 0..13 OUTPUT LOW, 14..19 analog); a pin drives its latch only as an OUTPUT; up to 2.5.3 any SET_PIN_MODE clears the
 * latch (`digitalWrite(pin, LOW)`), from 2.5.4 OUTPUT keeps it; SET_DIGITAL_PIN_VALUE exists from 2.5, OUTPUT pins only.
 */
class FirmataReference {
  readonly modes: number[] = Array.from({ length: PINS }, (_, pin) => (pin >= 14 ? 2 : 1));
  readonly outputs: number[] = new Array(PINS).fill(0);
  private readonly latch: number[] = new Array(PINS).fill(0);
  readonly writes: Array<[number, number]> = [];
  readonly reporting = new Set<number>();
  /** A booted board announced itself: version, then firmware. */
  readonly answers: string[] = ['version', 'firmware'];
  private cmd = 0;
  private data: number[] = [];
  private need = 0;
  private sysex?: number[];

  constructor(private readonly firmware: FirmataFirmware) {}

  private get is25(): boolean {
    return this.firmware.minor >= 5;
  }

  feed(chunk: Buffer): void {
    for (const b of chunk) this.byte(b);
  }

  private byte(b: number): void {
    if (this.sysex) {
      if (b === 0xf7) {
        const body = this.sysex;
        this.sysex = undefined;
        const answer = { 121: 'firmware', 107: 'capability', 105: 'mapping' }[body[0] ?? -1];
        if (answer) this.answers.push(answer);
      } else this.sysex.push(b);
      return;
    }
    if (b < 0x80) {
      if (this.need === 0) return;
      this.data.push(b);
      if (this.data.length === this.need) {
        this.need = 0;
        this.exec(this.cmd, this.data[0] as number, this.data[1] ?? 0);
      }
      return;
    }
    this.need = 0;
    if (b === 0xf0) this.sysex = [];
    else if (b === 0xf9) this.answers.push('version');
    else {
      const hi = b < 0xf0 ? b & 0xf0 : b;
      this.cmd = b;
      this.data = [];
      const two = [0x90, 0xe0, 0xf4].includes(hi) || (hi === 0xf5 && this.is25);
      this.need = two ? 2 : [0xc0, 0xd0].includes(hi) ? 1 : 0;
    }
  }

  private exec(cmd: number, a: number, c: number): void {
    const hi = cmd < 0xf0 ? cmd & 0xf0 : cmd;
    if (cmd === 0xf4) {
      if (a < PINS) {
        if (!(this.is25 && this.firmware.bugfix >= 4 && c === 1)) this.latch[a] = 0;
        this.modes[a] = c;
        this.level(a);
      }
    } else if (cmd === 0xf5) {
      if (a < PINS && this.modes[a] === 1) {
        this.latch[a] = c ? 1 : 0;
        this.level(a);
      }
    } else if (hi === 0x90) {
      const v = a | (c << 7);
      for (let i = 0; i < 8; i++) {
        const pin = (cmd & 0x0f) * 8 + i;
        if (pin < PINS && this.modes[pin] === 1) {
          this.latch[pin] = (v >> i) & 1;
          this.level(pin);
        }
      }
    } else if (hi === 0xd0) {
      if (a) this.reporting.add(cmd & 0x0f);
      else this.reporting.delete(cmd & 0x0f);
    }
  }

  private level(pin: number): void {
    const v = this.modes[pin] === 1 ? (this.latch[pin] as number) : 0;
    if (this.outputs[pin] === v) return;
    this.outputs[pin] = v;
    this.writes.push([pin, v]);
  }
}

type FirmataKind = 'valid' | 'bad-pin' | 'random-sysex' | 'truncated' | 'unterminated-sysex' | 'garbage' | 'stray-data';
const FIRMATA_KINDS: ReadonlyArray<[FirmataKind, number]> = [
  ['valid', 40],
  ['bad-pin', 15],
  ['random-sysex', 12],
  ['truncated', 15],
  ['unterminated-sysex', 2],
  ['garbage', 6],
  ['stray-data', 5],
];
const d7 = (rnd: Random) => int(rnd, 0, 127);

function firmataValid(rnd: Random): number[] {
  switch (int(rnd, 0, 9)) {
    case 0:
      return [0xf4, int(rnd, 0, PINS - 1), pick(rnd, [0, 1, 1, 1, 2, 3, 4, 11, d7(rnd)])];
    case 1:
      return [0xf5, int(rnd, 0, PINS - 1), pick(rnd, [0, 1, d7(rnd)])];
    case 2:
      return [0x90 | int(rnd, 0, 2), d7(rnd), int(rnd, 0, 1)];
    case 3:
      return [0xd0 | int(rnd, 0, 2), int(rnd, 0, 1)];
    case 4:
      return [0xc0 | int(rnd, 0, 5), int(rnd, 0, 1)];
    case 5:
      return [0xe0 | int(rnd, 0, 15), d7(rnd), d7(rnd)];
    case 6:
      return [0xf9];
    case 7:
      return [0xf0, 0x79, 0xf7];
    case 8:
      return [0xf0, 0x6b, 0xf7];
    default:
      return [0xf0, 0x69, 0xf7];
  }
}

function firmataMessage(rnd: Random, kind: FirmataKind): number[] {
  switch (kind) {
    case 'valid':
      return firmataValid(rnd);
    case 'bad-pin':
      return pick(rnd, [
        [0xf4, int(rnd, PINS, 127), 1],
        [0xf5, int(rnd, PINS, 127), int(rnd, 0, 1)],
        [0x90 | int(rnd, 3, 15), d7(rnd), d7(rnd)],
        [0xd0 | int(rnd, 3, 15), 1],
      ]);
    case 'random-sysex':
      return [0xf0, ...Array.from({ length: int(rnd, 0, 80) }, () => d7(rnd)), 0xf7];
    case 'truncated': {
      const m = firmataValid(rnd);
      return m.length > 1 ? m.slice(0, int(rnd, 1, m.length - 1)) : m;
    }
    case 'unterminated-sysex':
      return [0xf0, ...Array.from({ length: int(rnd, 0, 40) }, () => d7(rnd))];
    case 'garbage':
      return [...bytes(rnd, int(rnd, 1, 32))];
    case 'stray-data':
      return Array.from({ length: int(rnd, 1, 8) }, () => d7(rnd));
  }
}

/** What the emulator sent, by kind of message (it answers queries with whole messages, one per send). */
function firmataAnswerKind(b: Buffer): string {
  if (b[0] === 0xf9) return 'version';
  if (b[0] === 0xf0) return { 121: 'firmware', 108: 'capability', 106: 'mapping' }[b[1] ?? -1] ?? 'sysex?';
  return `0x${b[0]?.toString(16)}`;
}

describe('reliability: fuzzed messages to the Firmata board emulator', () => {
  it.each([
    ['2.4.4', STANDARD_FIRMATA_2_4],
    ['2.5.9', STANDARD_FIRMATA_2_5],
  ] as const)(
    '10,000 fuzzed messages in process to StandardFirmata %s: pin modes, outputs, reporting and answers as its parser gives them',
    (_name, firmware) => {
      const rnd = seededRandom(5_760);
      const sent: Buffer[] = [];
      // Booted at once (no blink): this is about the parser; the boot's announcement is the first two answers.
      const emu = new FirmataEmulator((b) => sent.push(Buffer.from(b)), 2, undefined, { firmware, bootMs: 0 });
      const ref = new FirmataReference(firmware);
      let messages = 0;
      while (messages < 10_000) {
        const burst = int(rnd, 1, 100);
        for (let i = 0; i < burst; i++) {
          const kind = weighted(rnd, FIRMATA_KINDS);
          const m = Buffer.from(firmataMessage(rnd, kind));
          emu.handle(m);
          ref.feed(m);
          tally.count(`firmata ${_name}`, kind, 'sent');
        }
        messages += burst;
        // The host's exchange after the burst: end any sysex, ask for the version, make pin 13 an output and set it
        // high with a port write (pin 13 is bit 5 of port 1), report port 0.
        const probe = Buffer.from([0xf7, 0xf9, 0xf4, 13, 1, 0x91, 0x20, 0x00, 0xd0, 1]);
        emu.handle(probe);
        ref.feed(probe);
        expect(emu.modes).toEqual(ref.modes);
        expect(emu.outputs).toEqual(ref.outputs);
        expect(emu.writes).toEqual(ref.writes);
        for (let port = 0; port < 3; port++)
          expect(emu.isReporting(port * 8), `port ${port}`).toBe(ref.reporting.has(port));
        expect(sent.map(firmataAnswerKind)).toEqual(ref.answers);
        expect(emu.outputs[13]).toBe(1);
        expect(sent.at(-1)).toEqual(Buffer.from([0xf9, firmware.major, firmware.minor]));
      }
      expect(tally.total(`firmata ${_name}`)).toBe(messages);
    },
  );

  it('over a real PTY: 300 fuzzed messages, then the real driver gets the board ready, switches relays, counts pulses', async () => {
    const rnd = seededRandom(5_761);
    const pair = await pty();
    const emuPort = await openSerial(pair.a, { baudRate: 57600 });
    const physics = new BenchPhysics(1000, 0);
    const emu = new FirmataEmulator((b) => emuPort.write(b), 2, physics);
    // The fuzz goes to a running sketch: during its boot blink only 63 bytes would be kept.
    await emu.booted;
    let received = 0;
    emuPort.on('data', (b: Buffer) => {
      emu.handle(b);
      received += b.length;
    });
    const host = await openSerial(pair.b, { baudRate: 57600 });
    const ref = new FirmataReference(emu.firmware);
    const out: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const kind = weighted(rnd, FIRMATA_KINDS);
      out.push(Buffer.from(firmataMessage(rnd, kind)));
      tally.count('firmata/pty', kind, 'sent');
    }
    out.push(Buffer.from([0xf7]));
    const stream = Buffer.concat(out);
    ref.feed(stream);
    await writeAll(host, stream);
    await until(() => received >= stream.length);
    expect(emu.writes).toEqual(ref.writes);
    await closeSerial(host);
    const d = new FirmataBoardDriver('fuzzed-board', pair.b, { pulsePin: 2 });
    try {
      expect(await d.activate()).toMatch(/BenchFirmataEmu/);
      // Whatever the fuzz left on the relay pin, the driver's writes now switch it.
      for (const on of [true, false, true]) {
        d.relay(9, on);
        await until(() => emu.outputs[9] === (on ? 1 : 0));
      }
      await until(() => emu.isReporting(2));
      physics.setLoad(0, 3600);
      physics.advance(3_000); // 3 Wh = 3 pulses at 1000 imp/kWh
      await until(() => d.pulses >= 3);
      await sleep(50);
      expect(d.pulses).toBe(3);
    } finally {
      await d.deactivate();
      await closeSerial(emuPort);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The meter's JSONL stream face (commands in, answers out) over a PTY
// ---------------------------------------------------------------------------------------------------------------

type StreamKind =
  | 'identify'
  | 'authorize'
  | 'commission'
  | 'sync'
  | 'blank'
  | 'malformed'
  | 'truncated'
  | 'unknown-type'
  | 'wrong-types'
  | 'oversized'
  | 'padded';
const STREAM_KINDS: ReadonlyArray<[StreamKind, number]> = [
  ['identify', 10],
  ['authorize', 20],
  ['commission', 6],
  ['sync', 5],
  ['blank', 4],
  ['malformed', 15],
  ['truncated', 12],
  ['unknown-type', 10],
  ['wrong-types', 15],
  ['oversized', 0.4],
  ['padded', 0.4],
];
const IDENTITY: MeterIdentityLine = {
  model: 'fuzz-meter',
  firmwareVersion: '1.0.0',
  firmwareHash: `0x${'ab'.repeat(32)}`,
  address: `0x${'cd'.repeat(20)}`,
  host: 'h',
};
const COMMISSION: Omit<CommissionCommand, 'type'> = {
  clockUnix: 1_764_000_000,
  chainId: '1337',
  verifyingContract: `0x${'5f'.repeat(20)}`,
  tariffVersion: 3,
  lastSeq: '17',
  tariff: {
    bandPrices: ['100', '200'],
    schedule: [0, 1],
    evIncentive: '5',
    marketPrice: '90',
    utcOffsetSeconds: 3600,
    validFrom: '0',
  },
};
/** Contract ids as charge points present them, many with characters UTF-8 spreads over several bytes. */
const contractId = (rnd: Random) =>
  `${pick(rnd, ['DE', 'ÄÖ', '€', 'Ω', '中国', '🚗', 'C'])}-${Array.from({ length: int(rnd, 1, 30) }, () =>
    pick(rnd, [...'ABC123ÄéßΩ€中🔋-*']),
  ).join('')}`;

interface StreamExpect {
  kind: StreamKind;
  line: Buffer;
  /** What the face must do with the line. */
  effect: 'identity' | 'authorize' | 'commissioned' | 'sync' | 'bad' | 'none';
  contractId?: string;
}

function streamLine(rnd: Random): StreamExpect {
  const kind = weighted(rnd, STREAM_KINDS);
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  switch (kind) {
    case 'identify':
      return {
        kind,
        line: Buffer.from(pick(rnd, ['{"type":"identify"}', ' { "type" : "identify" } ', '{"type":"identify"}\r'])),
        effect: 'identity',
      };
    case 'authorize': {
      const id = contractId(rnd);
      return { kind, line: json({ type: 'authorize', contractId: id }), effect: 'authorize', contractId: id };
    }
    case 'commission':
      return {
        kind,
        line: json({ type: 'commission', ...COMMISSION, clockUnix: int(rnd, 0, 2e9) }),
        effect: 'commissioned',
      };
    case 'sync':
      return { kind, line: json({ type: 'sync', clockUnix: rnd.uniform(0, 2e9) }), effect: 'sync' };
    case 'blank':
      return { kind, line: Buffer.from(pick(rnd, ['', ' ', '\r', '\t '])), effect: 'none' };
    case 'malformed':
      return { kind, line: garbageLine(rnd, int(rnd, 1, 200)), effect: 'bad' };
    case 'truncated': {
      const s = JSON.stringify(
        pick(rnd, [
          { type: 'identify' },
          { type: 'authorize', contractId: contractId(rnd) },
          { type: 'commission', ...COMMISSION },
        ]),
      );
      return { kind, line: Buffer.from(s).subarray(0, int(rnd, 1, Buffer.byteLength(s) - 1)), effect: 'bad' };
    }
    case 'unknown-type':
      return {
        kind,
        line: json(
          pick(rnd, [
            { type: 'reboot' },
            { type: 'event' },
            { type: 'IDENTIFY' },
            { type: '' },
            { type: 'authorise', contractId: 'x' },
            { kind: 'identify' },
          ]),
        ),
        effect: 'bad',
      };
    case 'wrong-types':
      return {
        kind,
        line: Buffer.from(
          pick(rnd, [
            'null',
            '[]',
            '42',
            '"identify"',
            'true',
            '{}',
            '{"type":5}',
            '{"type":null}',
            '{"type":["identify"]}',
            '{"type":"authorize"}',
            '{"type":"authorize","contractId":""}',
            '{"type":"authorize","contractId":42}',
            '{"type":"authorize","contractId":["x"]}',
            '{"type":"sync"}',
            '{"type":"sync","clockUnix":-1}',
            '{"type":"sync","clockUnix":"1764000000"}',
            JSON.stringify({ type: 'commission', ...COMMISSION, clockUnix: '1764000000' }),
            JSON.stringify({ type: 'commission', ...COMMISSION, chainId: 1337 }),
            JSON.stringify({ type: 'commission', ...COMMISSION, verifyingContract: '0x1234' }),
            JSON.stringify({ type: 'commission', ...COMMISSION, tariffVersion: 0 }),
            JSON.stringify({ type: 'commission', ...COMMISSION, tariff: { ...COMMISSION.tariff, bandPrices: [1, 2] } }),
            JSON.stringify({ type: 'commission', ...COMMISSION, lastSeq: -1 }),
          ]),
        ),
        effect: 'bad',
      };
    case 'oversized':
      // Longer than the face's 64 KiB line bound: garbage however it ends, and one bad command however it arrives.
      return { kind, line: garbageLine(rnd, int(rnd, 70_000, 300_000)), effect: 'bad' };
    case 'padded':
      // A command behind more than 64 KiB of white space: valid JSON, but over the bound, so garbage too.
      return {
        kind,
        line: Buffer.concat([Buffer.alloc(int(rnd, 70_000, 140_000), 0x20), Buffer.from('{"type":"identify"}')]),
        effect: 'bad',
      };
  }
}

describe('reliability: fuzzed command lines to the meter JSONL stream face (PTY)', () => {
  it('10,000 fuzzed lines: valid commands obeyed exactly, every other line one BAD_COMMAND, identify answered after each burst', async () => {
    const rnd = seededRandom(1_152);
    const pair = await pty();
    const faces = new LiveFaces();
    await faces.openStream(pair.a);
    const authorized: string[] = [];
    let commissioned = 0;
    let synced = 0;
    faces.handlers = {
      sync: () => {
        synced++;
      },
      authorize: (id) => authorized.push(id),
      identify: () => IDENTITY,
      commission: () => {
        commissioned++;
      },
    };
    const port = await openSerial(pair.b, { baudRate: 115200 });
    const rx = collect(port);
    const answers = () =>
      rx
        .bytes()
        .toString('utf8')
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const wantAuthorized: string[] = [];
    let wantIdentity = 0;
    let wantBad = 0;
    let wantCommissioned = 0;
    let wantSynced = 0;
    let lines = 0;
    try {
      while (lines < 10_000) {
        const burst = int(rnd, 1, 250);
        const out: Buffer[] = [];
        for (let i = 0; i < burst; i++) {
          const l = streamLine(rnd);
          out.push(l.line, Buffer.from('\n'));
          if (l.effect === 'identity') wantIdentity++;
          else if (l.effect === 'bad') wantBad++;
          else if (l.effect === 'commissioned') wantCommissioned++;
          else if (l.effect === 'sync') wantSynced++;
          else if (l.effect === 'authorize') wantAuthorized.push(l.contractId as string);
          tally.count('jsonl-stream', l.kind, l.effect);
        }
        lines += burst;
        out.push(Buffer.from('{"type":"identify"}\n'));
        wantIdentity++;
        // Written in random pieces, as a serial line delivers them.
        const stream = Buffer.concat(out);
        for (let at = 0; at < stream.length; ) {
          const n = rnd.next() < 0.05 ? int(rnd, 10_000, 100_000) : int(rnd, 1, 700);
          port.write(stream.subarray(at, at + n));
          at += n;
        }
        await writeAll(port, '');
        // The face answers in order: once the burst's last identify is answered, every line before it was.
        const expected = wantIdentity + wantBad + wantCommissioned;
        await until(() => answers().filter((a) => a.type === 'identity').length >= wantIdentity);
        const got = answers();
        const of = (pred: (a: Record<string, unknown>) => boolean) => got.filter(pred).length;
        expect(of((a) => a.type === 'identity')).toBe(wantIdentity);
        expect(of((a) => a.type === 'log' && a.code === 'BAD_COMMAND')).toBe(wantBad);
        expect(of((a) => a.type === 'log' && a.code === 'COMMISSIONED')).toBe(wantCommissioned);
        expect(got).toHaveLength(expected);
        expect(got.at(-1)).toEqual({ type: 'identity', ...IDENTITY });
        expect(faces.badCommands).toBe(wantBad);
        expect(commissioned).toBe(wantCommissioned);
        expect(synced).toBe(wantSynced);
        expect(authorized).toEqual(wantAuthorized);
      }
      expect(tally.total('jsonl-stream')).toBe(lines);
    } finally {
      await closeSerial(port);
      await faces.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// IEC 62056-21 optical face over a PTY
// ---------------------------------------------------------------------------------------------------------------

type IecKind =
  | 'sign-on'
  | 'unoffered-rate'
  | 'bad-option'
  | 'garbage'
  | 'truncated'
  | 'oversized'
  | 'long-address'
  | 'bad-bcc'
  | 'programming';
const IEC_KINDS: ReadonlyArray<[IecKind, number]> = [
  ['sign-on', 8],
  ['unoffered-rate', 6],
  ['bad-option', 6],
  ['garbage', 25],
  ['truncated', 15],
  ['oversized', 1],
  ['long-address', 6],
  ['bad-bcc', 12],
  ['programming', 6],
];
const ACK = '\x06';
const SOH = '\x01';
const STX = '\x02';
const ETX = '\x03';
const NAK = 0x15;
/** A programming-mode command frame (SOH C D STX data ETX BCC), with its BCC right or wrong: no line end. */
function commandFrame(rnd: Random, badBcc: boolean): string {
  const body = `${pick(rnd, ['P1', 'W1', 'R1', 'B0', 'E2'])}${STX}${pick(rnd, ['(12345678)', '1.8.0()', 'C.1.0(00000001)', ''])}${ETX}`;
  const x = bcc(Buffer.from(body, 'latin1'));
  return `${SOH}${body}${String.fromCharCode(badBcc ? x ^ (1 << int(rnd, 0, 6)) : x)}`;
}
/** 7-bit junk (the optical port is 7E1) with no CR LF of its own. */
const junk = (rnd: Random, n: number) =>
  Buffer.from(bytes(rnd, n).map((b) => b & 0x7f))
    .toString('latin1')
    .replace(/\r\n/g, '\r.');

function iecFrame(rnd: Random, kind: IecKind): string {
  switch (kind) {
    case 'sign-on':
      return pick(rnd, ['/?!\r\n', '\0\0/?!\r\n', ' /?!\r\n']);
    case 'unoffered-rate':
      // The meter offers up to 9600 Bd ('5'): 19200 Bd is refused (NAK). Accepted rates are the probe's part.
      return `${ACK}060\r\n`;
    case 'bad-option':
      return pick(rnd, [
        `${ACK}0${pick(rnd, ['7', '9', 'Z', ':'])}0\r\n`,
        `${ACK}050\r\n`.replace('0\r', '1\r'),
        `${ACK}15 0\r\n`,
        `${ACK}0501\r\n`,
        `${ACK}\r\n`,
      ]);
    case 'garbage':
      return `${junk(rnd, int(rnd, 1, 40))}\r\n`;
    case 'truncated':
      return pick(rnd, ['/?', '/?!\r', '/', `${ACK}0`, `${ACK}05`, `${ACK}050\r`, '/?12']).concat(
        pick(rnd, ['\r\n', '']),
      );
    case 'oversized':
      return `${junk(rnd, int(rnd, 10_000, 200_000))}${pick(rnd, ['\r\n', ''])}`;
    case 'long-address':
      // The device address of a sign-on is at most 32 characters.
      return `/?${Array.from({ length: int(rnd, 33, 300) }, () => pick(rnd, [...'0123456789ABCDEF '])).join('')}!\r\n`;
    case 'bad-bcc':
      return commandFrame(rnd, true);
    case 'programming':
      return commandFrame(rnd, false);
  }
}

/**
 * What a mode C readout meter answers to a byte stream, line by line (CR LF): a line ending in a sign-on
 * `/?[address]!` (at most 32 address characters; line noise in front of it is not part of it) gets the
 * identification; a line that is exactly an option select `ACK 0 Z 0` right after one gets the data block, or NAK
 * for a rate the meter did not offer; everything else gets nothing and changes nothing.
 */
class IecReference {
  private pending = '';
  private offered = false;
  readonly answers: string[] = [];
  feed(s: string): void {
    const lines = (this.pending + s).split('\r\n');
    this.pending = lines.pop() as string;
    for (const line of lines) {
      if (/\/\?[A-Za-z0-9 ]{0,32}!$/.test(line)) {
        this.offered = true;
        this.answers.push('identification');
      } else if (this.offered && line.length === 4 && line[0] === ACK && line[1] === '0' && line[3] === '0') {
        this.offered = false;
        this.answers.push(line[2] !== undefined && line[2] >= '0' && line[2] <= ID.maxBaud ? 'block' : 'nak');
      }
    }
  }
}

/** The face's answers in order: identification lines, data blocks (BCC checked), NAKs; the unparsed rest. */
function iecAnswers(b: Buffer): { answers: string[]; rest: number } {
  const answers: string[] = [];
  let at = 0;
  while (at < b.length) {
    if (b[at] === NAK) {
      answers.push('nak');
      at++;
    } else if (b[at] === 0x2f) {
      const end = b.indexOf('\r\n', at);
      if (end < 0) break;
      expect(b.subarray(at, end).toString('latin1')).toBe('/BEN5RM1');
      answers.push('identification');
      at = end + 2;
    } else if (b[at] === 0x02) {
      const etx = b.indexOf(0x03, at);
      if (etx < 0 || etx + 1 >= b.length) break;
      expect(b[etx + 1], 'data block BCC').toBe(bcc(b.subarray(at + 1, etx + 1)));
      expect(b.subarray(at + 1, etx).toString('latin1')).toMatch(
        /^C\.1\.0\(X\)\r\n[\s\S]*32\.7\.0\(230\.0\*V\)\r\n[\s\S]*!\r\n$/,
      );
      answers.push('block');
      at = etx + 2;
    } else throw new Error(`unexpected byte 0x${b[at]?.toString(16)} in the face's answers at ${at}`);
  }
  return { answers, rest: b.length - at };
}

describe('reliability: fuzzed frames to the IEC 62056-21 optical face (PTY)', () => {
  it('10,000 fuzzed frames (garbage, truncated, oversized, bad BCC): answers exactly as mode C says, a readout after each burst', async () => {
    const rnd = seededRandom(62_056);
    const pair = await pty();
    const face = await serveIec62056(() => values, ID, { path: pair.a, reactionMs: 0 });
    const port = await openSerial(pair.b, { baudRate: 300, dataBits: 7, parity: 'even' });
    const rx = collect(port);
    const ref = new IecReference();
    let frames = 0;
    let bursts = 0;
    try {
      while (frames < 10_000) {
        const burst = int(rnd, 1, 150);
        let text = '';
        for (let i = 0; i < burst; i++) {
          const kind = weighted(rnd, IEC_KINDS);
          text += iecFrame(rnd, kind);
          tally.count('iec62056', kind, 'sent');
        }
        frames += burst;
        // The valid readout after the burst: CR LF ends whatever the burst left unfinished, then sign-on and option
        // select. Its data block is the burst's only one, so once it is out every frame before it was handled.
        text += `\r\n/?!\r\n${ACK}050\r\n`;
        ref.feed(text);
        await writeAll(port, Buffer.from(text, 'latin1'));
        bursts++;
        await until(() => face.sessions() >= bursts && iecAnswers(rx.bytes()).answers.at(-1) === 'block');
        const got = iecAnswers(rx.bytes());
        expect(got.rest).toBe(0);
        expect(got.answers).toEqual(ref.answers);
        expect(got.answers.slice(-2)).toEqual(['identification', 'block']);
      }
      expect(face.sessions()).toBe(bursts);
      expect(tally.total('iec62056')).toBe(frames);
    } finally {
      await closeSerial(port);
      await face.close();
    }
  });
});
