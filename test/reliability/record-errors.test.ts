import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Random, seededRandom } from '../../core/random.js';
import { ENTRY } from '../../core/record/entries.js';
import { readRunRecord } from '../../core/record/reader.js';
import { createRun } from '../../core/record/store.js';
import { measureCase } from '../../engine/certify.js';
import { runSuite } from '../../engine/executor.js';
import { loadCaseScenario, truthEntries } from '../../engine/rig-provider.js';
import { suiteSchema } from '../../engine/suite.js';
import { REGISTER_MAPS } from '../../rigs/drivers/modbus-maps.js';
import { BenchPhysics } from '../../rigs/emulators/physics.js';
import { openPtyPair, type PtyPair, requireSocat } from '../../rigs/emulators/pty.js';
import { ScpiLoadEmulator } from '../../rigs/emulators/scpi-load-emulator.js';
import { serveLinesOnSerial } from '../../rigs/emulators/serve-line.js';
import { realTimeSeconds } from '../../rigs/hardware/playback.js';
import { HardwareRig } from '../../rigs/hardware-rig.js';
import { rigSchema } from '../../rigs/schema.js';
import type { TtyPort } from '../../rigs/transports/tty-port.js';
import { testHeader } from '../support/header.js';
import { closeSerial, garbageLine, int, openSerial, pick, weighted, withCrc } from './fuzz-support.js';

/*
 * "Typed errors counted in the record": a garbage-spewing meter under a real HardwareRig case, run by the executor
 * into a real RunRecord. The DUT's Modbus face answers a seeded share of the polls with a bad CRC, an exception or
 * nothing; its JSONL stream spews malformed lines among valid events. Every failed poll must land as a rig.gap and
 * every bad line as a rig.error, each with its RigError code, in exactly the numbers the instruments produced; the
 * case runs to its end and the record verifies.
 */

type PollKind = 'valid' | 'bad-crc' | 'exception' | 'silent';
const POLL_KINDS: ReadonlyArray<[PollKind, number]> = [
  ['valid', 80],
  ['bad-crc', 8],
  ['exception', 7],
  ['silent', 5],
];
/** The RigError code each failed poll must be recorded with. */
const POLL_CODE: Record<Exclude<PollKind, 'valid'>, string> = {
  'bad-crc': 'BAD_FRAME',
  exception: 'INSTRUMENT_ERROR',
  silent: 'TIMEOUT',
};

type LineKind = 'event' | 'bad-event' | 'garbage' | 'truncated' | 'reserved-type' | 'other-type';
const LINE_KINDS: ReadonlyArray<[LineKind, number]> = [
  ['event', 20],
  ['bad-event', 10],
  ['garbage', 30],
  ['truncated', 15],
  ['reserved-type', 5],
  ['other-type', 20],
];

/** An SDM630 whose answers are fuzzed: each 8-byte request gets one frame of a seeded kind, tallied. */
function fuzzingMeter(rnd: Random, port: TtyPort, onFirstPoll: () => void) {
  const byAddress = new Map(Object.values(REGISTER_MAPS.sdm630?.registers ?? {}).map((r) => [r.address, r]));
  const sent: Record<PollKind, number> = { valid: 0, 'bad-crc': 0, exception: 0, silent: 0 };
  let rx = Buffer.alloc(0);
  let polled = false;
  port.on('data', (chunk: Buffer) => {
    rx = Buffer.concat([rx, chunk]);
    while (rx.length >= 8) {
      const req = rx.subarray(0, 8);
      rx = rx.subarray(8);
      if (!polled) {
        polled = true;
        onFirstPoll();
      }
      const kind = weighted(rnd, POLL_KINDS);
      sent[kind]++;
      if (kind === 'silent') continue;
      const unit = req[0] as number;
      const fc = req[1] as number;
      if (kind === 'exception') {
        port.write(withCrc([unit, fc | 0x80, pick(rnd, [2, 4, 6])]));
        continue;
      }
      // A block read: each quantity of the map in it reads 230, every other register 0.
      const first = req.readUInt16BE(2);
      const data = Buffer.alloc(req.readUInt16BE(4) * 2);
      for (let k = 0; k + 4 <= data.length; k += 2) if (byAddress.has(first + k / 2)) data.writeFloatBE(230, k);
      const frame = withCrc(Buffer.concat([Buffer.from([unit, fc, data.length]), data]));
      // bad-crc: a bit flipped in the data or the CRC, so the frame is recognised and its CRC fails.
      if (kind === 'bad-crc') {
        const at = int(rnd, 3, frame.length - 1);
        frame[at] = (frame[at] as number) ^ (1 << int(rnd, 0, 7));
      }
      port.write(frame);
    }
  });
  return sent;
}

/** A JSONL stream that answers identify and, once the case polls, spews `n` fuzzed lines. */
function spewingStream(rnd: Random, port: TtyPort) {
  const sent: Record<LineKind, number> = {
    event: 0,
    'bad-event': 0,
    garbage: 0,
    truncated: 0,
    'reserved-type': 0,
    'other-type': 0,
  };
  let rx = '';
  port.on('data', (chunk: Buffer) => {
    rx += chunk.toString('utf8');
    for (let i = rx.indexOf('\n'); i >= 0; i = rx.indexOf('\n')) {
      const line = rx.slice(0, i);
      rx = rx.slice(i + 1);
      if (line.includes('"identify"')) {
        port.write(
          `${JSON.stringify({ type: 'identity', model: 'spewer', firmwareVersion: '0.0.1', firmwareHash: '0x00', address: `0x${'ab'.repeat(20)}`, host: 'h' })}\n`,
        );
      }
    }
  });
  const event = () => ({
    type: 'event',
    direction: pick(rnd, ['on', 'off']),
    class: 'test-point',
    deltaP: Math.round(rnd.uniform(-3000, 3000)),
  });
  return {
    sent,
    spew(n: number): void {
      const out: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const kind = weighted(rnd, LINE_KINDS);
        sent[kind]++;
        let line: string | Buffer;
        if (kind === 'event') line = JSON.stringify(event());
        else if (kind === 'bad-event')
          line = JSON.stringify(
            pick(rnd, [{ type: 'event' }, { ...event(), direction: 'up' }, { ...event(), deltaP: 'x' }]),
          );
        else if (kind === 'garbage') line = garbageLine(rnd, int(rnd, 1, 200));
        else if (kind === 'truncated') {
          const s = JSON.stringify(event());
          line = s.slice(0, int(rnd, 1, s.length - 1));
        } else if (kind === 'reserved-type') line = JSON.stringify({ type: pick(rnd, ['error', 'bad-frame', 'line']) });
        else line = JSON.stringify({ type: pick(rnd, ['log', 'report', 'measurement']), n: i });
        out.push(typeof line === 'string' ? Buffer.from(line) : line, Buffer.from('\n'));
      }
      port.write(Buffer.concat(out));
    },
  };
}

describe('reliability: typed instrument errors in the run record', () => {
  const pairs: PtyPair[] = [];
  const ports: TtyPort[] = [];
  let dir: string;
  beforeAll(() => {
    requireSocat(); // fails, never skips, without socat
    dir = mkdtempSync(join(tmpdir(), 'bench-record-errors-'));
  });
  afterAll(async () => {
    for (const p of ports) await closeSerial(p);
    for (const p of pairs) await p.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const link = async (id: string) => {
    const pair = await openPtyPair({ a: join(dir, `${id}.emu`), b: join(dir, id) });
    pairs.push(pair);
    return pair;
  };

  it('a fuzzing meter under a HardwareRig case: every failed poll a rig.gap and every bad line a rig.error, counted by code exactly', async () => {
    const rnd = seededRandom(9_001);
    const physics = new BenchPhysics();
    await link('load');
    const load = await serveLinesOnSerial(join(dir, 'load.emu'), new ScpiLoadEmulator(physics), { baudRate: 115200 });
    await link('meter');
    await link('stream');
    const meterPort = await openSerial(join(dir, 'meter.emu'));
    const streamPort = await openSerial(join(dir, 'stream.emu'), { baudRate: 115200 });
    ports.push(meterPort, streamPort);
    const stream = spewingStream(rnd, streamPort);
    // The stream spews once the case is polling: its listeners are on, so every line it sends is the case's.
    const polls = fuzzingMeter(rnd, meterPort, () => stream.spew(400));
    const serial = (id: string, role: string, dialect: string, capabilities: string[], baudRate = 9600) => ({
      id,
      role,
      dialect,
      transport: { kind: 'serial', path: join(dir, id), baudRate },
      capabilities,
      timeoutMs: 200,
    });
    const rig = new HardwareRig(
      rigSchema.parse({
        name: 'fuzzed-dut',
        instruments: [
          serial('load', 'load', 'chroma-63800', ['load.setpoints'], 115200),
          serial('meter', 'dut', 'sdm630', ['meter.measurements']),
          serial('stream', 'dut', 'jsonl', ['meter.events'], 115200),
        ],
      }),
    );
    const suite = suiteSchema.parse({
      name: 'fuzzed-dut',
      version: 1,
      title: 'A garbage-spewing DUT',
      cases: [
        {
          id: 'spew',
          title: 'heater on and off under a fuzzing meter',
          requires: ['meter.measurements', 'meter.events'],
          params: { timeScale: 4, pollMs: 20 },
          criteria: [{ metric: 'detection.recall', op: '>=', limit: 0.9, unit: '1' }],
          scenario: {
            name: 'spew',
            start: '2026-03-11T10:00:00Z',
            durationS: 12,
            profiles: [
              {
                name: 'heater',
                class: 'test-point',
                description: 'resistive',
                source: 'test',
                noise: 0,
                states: [{ name: 'on', p: 2000, pf: 1 }],
              },
            ],
            houses: [
              { id: 'lab', contract: 'C-LAB', baseLoadW: 0, loads: [{ id: 'h', profile: 'heater', on: 2, off: 8 }] },
            ],
          },
        },
      ],
    });
    const { writer } = createRun(join(dir, 'runs'), testHeader(9_001));
    await rig.open();
    let outcome: Awaited<ReturnType<typeof runSuite>>;
    try {
      outcome = await runSuite({
        suite: { suite, file: join(dir, 'suite.yaml'), sha256: 'f'.repeat(64) },
        rig,
        writer,
        seed: 9_001,
        signal: new AbortController().signal,
        prepareCase: async (c, caseSeed, params) => {
          const scenario = loadCaseScenario(c, join(dir, 'suite.yaml'));
          const prepared = truthEntries(c, scenario, caseSeed, 'salt');
          prepared.plan.params = params;
          prepared.realTimeS = realTimeSeconds(scenario, params);
          return prepared;
        },
        measure: measureCase,
      });
    } finally {
      await rig.close();
      await load.close();
    }
    // Nothing crashed: the case ran to its end and was judged; the record is complete and verifies.
    expect(outcome.status).toBe('COMPLETE');
    expect(outcome.cases.map((c) => c.status)).toEqual(['RAN']);
    const record = readRunRecord(writer.file);
    expect(record.integrity).toBe('OK');
    const of = (kind: string, instrument: string) =>
      record.entries
        .map((e) => ({ kind: e.kind, data: e.data as Record<string, unknown> }))
        .filter((e) => e.kind === kind && e.data.instrument === instrument)
        .map((e) => e.data);
    const byCode = (entries: Array<Record<string, unknown>>) => {
      const counts: Record<string, number> = {};
      for (const e of entries) counts[String(e.code)] = (counts[String(e.code)] ?? 0) + 1;
      return counts;
    };
    // Every failed poll ended that poll: one gap per failed request, with the code of its failure.
    const wantGaps: Record<string, number> = {};
    for (const [kind, code] of Object.entries(POLL_CODE))
      if (polls[kind as PollKind]) wantGaps[code] = polls[kind as PollKind];
    expect(byCode(of(ENTRY.rigGap, 'meter'))).toEqual(wantGaps);
    expect(record.entries.filter((e) => e.kind === ENTRY.meterMeasurement).length).toBeGreaterThan(3);
    // Every malformed stream line is one BAD_FRAME; valid events are events; other types are not errors.
    const sent = stream.sent;
    expect(byCode(of(ENTRY.rigError, 'stream'))).toEqual({
      BAD_FRAME: sent['bad-event'] + sent.garbage + sent.truncated + sent['reserved-type'],
    });
    expect(record.entries.filter((e) => e.kind === ENTRY.meterEvent)).toHaveLength(sent.event);
    console.info(
      `record-errors: ${Object.values(polls).reduce((a, b) => a + b, 0)} polls ${JSON.stringify(polls)} → gaps ${JSON.stringify(byCode(of(ENTRY.rigGap, 'meter')))}; ` +
        `400 stream lines ${JSON.stringify(sent)} → errors ${JSON.stringify(byCode(of(ENTRY.rigError, 'stream')))}`,
    );
  });
});
