/**
 * The OCPP central system under abuse, over real WebSockets on 127.0.0.1: 10,000 seeded fuzzed frames (garbage,
 * oversized, wrong types, wrong call ids, unknown actions, schema violations), 100 stations at once, a station
 * reconnecting in a loop and a client that opens its upgrade one byte at a time. None of them crashes the bench or
 * costs another station's transaction.
 */
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Random, seededRandom } from '../../core/random.js';
import { OCPP_VERSIONS, type OcppVersion } from '../../protocols/ocpp-meter-values.js';
import { CentralSystem } from '../../rigs/drivers/ocpp-central.js';
import { EmulatedStation } from '../../rigs/emulators/ocpp-station.js';
import { bytes, int, pick, until, weighted } from './fuzz-support.js';

const KEY = 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721';
const T0 = Date.UTC(2026, 10, 24, 9) / 1000;
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function centralFor(identities: Array<{ identity: string; version: OcppVersion }>) {
  const central = new CentralSystem({ stations: identities });
  const url = await central.start();
  open.push(central);
  return { central, url };
}

/** A station with its own register, running one transaction of `wh` Wh. */
async function chargeOnce(url: string, identity: string, version: OcppVersion, wh: number) {
  const meter = { t: T0, wh: 5_000 };
  const station = new EmulatedStation({
    url,
    identity,
    version,
    ocmfKeyHex: KEY,
    energyWh: () => meter.wh,
    now: () => meter.t,
  });
  open.push(station);
  await station.connect();
  await station.startTransaction(`EMA-${identity}`);
  meter.t += 600;
  meter.wh += wh;
  await station.sample();
  await station.stopTransaction();
  await station.close();
}

type FrameKind =
  | 'garbage'
  | 'oversized'
  | 'not-array'
  | 'wrong-types'
  | 'unknown-action'
  | 'bad-params'
  | 'stray-result'
  | 'good';

/** A fuzzed frame and whether the bench must answer it (a CALL, or a frame that is not a result/error). */
function fuzzFrame(rnd: Random, i: number): { kind: FrameKind; frame: string | Buffer; answered: boolean } {
  const kind = weighted<FrameKind>(rnd, [
    ['garbage', 3],
    ['oversized', 0.05],
    ['not-array', 1],
    ['wrong-types', 2],
    ['unknown-action', 1],
    ['bad-params', 2],
    ['stray-result', 1],
    ['good', 1],
  ]);
  const id = `f${i}`;
  switch (kind) {
    case 'garbage':
      return { kind, frame: bytes(rnd, int(rnd, 1, 200)).toString('latin1'), answered: true };
    case 'oversized':
      return {
        kind,
        frame: `[2,"${id}","Heartbeat",{"x":"${'A'.repeat(int(rnd, 256_000, 1_000_000))}"}]`,
        answered: true,
      };
    case 'not-array':
      return { kind, frame: pick(rnd, ['{}', '42', '"OCPP"', 'null', '{"2":"x"}']), answered: true };
    case 'wrong-types':
      // A type or id of the wrong type: the id cannot be read, so the answer carries '-1'.
      return {
        kind,
        frame: pick(rnd, [`["2","${id}","Heartbeat",{}]`, `[2,${i},"Heartbeat",{}]`, `[2,"${id}",7,{}]`, '[]']),
        answered: true,
      };
    case 'unknown-action':
      return { kind, frame: `[2,"${id}","Act${int(rnd, 0, 999)}",{}]`, answered: true };
    case 'bad-params':
      return {
        kind,
        frame: pick(rnd, [
          `[2,"${id}","BootNotification",{"reason":${int(rnd, 0, 9)}}]`,
          `[2,"${id}","Authorize",{"idToken":"${'x'.repeat(int(rnd, 1, 40))}"}]`,
          `[2,"${id}","TransactionEvent",{"eventType":"Maybe"}]`,
          `[2,"${id}","Heartbeat",[]]`,
        ]),
        answered: true,
      };
    case 'stray-result':
      // Results and errors for calls the bench never made: never answered (an answer to an answer loops).
      return { kind, frame: pick(rnd, [`[3,"${id}",{}]`, `[4,"${id}","GenericError","",{}]`]), answered: false };
    case 'good':
      return { kind, frame: `[2,"${id}","Heartbeat",{}]`, answered: true };
  }
}

describe('OCPP central system under abuse', () => {
  it('answers 10,000 fuzzed frames, stays up, and still takes a transaction', async () => {
    const { central, url } = await centralFor([
      { identity: 'FUZZ', version: 'ocpp2.0.1' },
      { identity: 'HONEST', version: 'ocpp1.6' },
    ]);
    const ws = new WebSocket(`${url}FUZZ`, ['ocpp2.0.1']);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const answers: unknown[][] = [];
    ws.on('message', (m) => answers.push(JSON.parse(m.toString())));
    const rnd = seededRandom(20261206);
    const kinds = new Map<FrameKind, number>();
    let expected = 0;
    let goodAnswers = 0;
    for (let i = 0; i < 10_000; i++) {
      const f = fuzzFrame(rnd, i);
      kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
      if (f.answered) expected++;
      if (f.kind === 'good') goodAnswers++;
      ws.send(f.frame);
      // Let the answers flow back every so often, as a real link would.
      if (i % 500 === 499) await until(() => answers.length >= expected);
    }
    await until(() => answers.length >= expected);
    await sleep(50);
    expect(answers).toHaveLength(expected);
    expect(answers.filter((a) => a[0] === 3)).toHaveLength(goodAnswers);
    const errors = answers.filter((a) => a[0] === 4);
    expect(errors).toHaveLength(expected - goodAnswers);
    const sent = [...central.errorsSent.values()].reduce((s, n) => s + n, 0);
    expect(sent).toBe(errors.length);
    // Every code sent is one OCPP 2.0.1 (part 4, RPC framework) names, spelt as it spells them.
    const OCPP201_CODES = [
      'FormatViolation',
      'GenericError',
      'InternalError',
      'MessageTypeNotSupported',
      'NotImplemented',
      'NotSupported',
      'OccurenceConstraintViolation',
      'PropertyConstraintViolation',
      'ProtocolError',
      'RpcFrameworkError',
      'SecurityError',
      'TypeConstraintViolation',
    ];
    expect([...central.errorsSent.keys()].filter((c) => !OCPP201_CODES.includes(c))).toEqual([]);
    expect(kinds.get('oversized')).toBeGreaterThan(0);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();

    await chargeOnce(url, 'HONEST', 'ocpp1.6', 1234);
    expect(central.transactions('HONEST')).toMatchObject([{ meterStartWh: 5000, meterStopWh: 6234 }]);
  });

  it('takes 100 stations at once, each transaction once with its own energy', async () => {
    const stations = Array.from({ length: 100 }, (_, i) => ({ identity: `CS-${i}`, version: OCPP_VERSIONS[i % 2]! }));
    const { central, url } = await centralFor(stations);
    await Promise.all(stations.map((s, i) => chargeOnce(url, s.identity, s.version, 1000 + i)));
    const txs = central.transactions();
    expect(txs).toHaveLength(100);
    for (const [i, s] of stations.entries()) {
      const [tx, ...more] = central.transactions(s.identity);
      expect(more).toEqual([]);
      expect(tx).toMatchObject({
        idToken: `EMA-${s.identity}`,
        meterStartWh: 5000,
        meterStopWh: 6000 + i,
        duplicates: 0,
      });
    }
  });

  it('keeps serving while one station reconnects in a loop and another opens its upgrade a byte at a time', async () => {
    const { central, url } = await centralFor([
      { identity: 'LOOP', version: 'ocpp2.0.1' },
      { identity: 'STEADY', version: 'ocpp2.0.1' },
    ]);
    const port = Number(new URL(url).port);
    const meter = { t: T0, wh: 5_000 };
    const steady = new EmulatedStation({
      url,
      identity: 'STEADY',
      version: 'ocpp2.0.1',
      ocmfKeyHex: KEY,
      energyWh: () => meter.wh,
      now: () => meter.t,
    });
    open.push(steady);
    await steady.connect();
    await steady.startTransaction('EMA-STEADY');
    const loop = (async () => {
      for (let n = 0; n < 50; n++) {
        const ws = new WebSocket(`${url}LOOP`, ['ocpp2.0.1']);
        await new Promise((resolve) => ws.once('open', resolve).once('error', resolve));
        ws.terminate();
      }
    })();
    // A slow client: the upgrade request dribbles in; the server waits for it without blocking anyone.
    const slow = connect(port, '127.0.0.1');
    const request = `GET /LOOP HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n`;
    const dribble = (async () => {
      for (const ch of request) {
        if (slow.destroyed) break;
        slow.write(ch);
        await sleep(5);
      }
    })();
    // The steady station reports all along, and ends its transaction while the others are still at it.
    while (central.connections('LOOP') < 25) {
      meter.t += 60;
      meter.wh += 100;
      await steady.sample();
      await sleep(5);
    }
    meter.wh += 21;
    await steady.stopTransaction();
    await Promise.all([loop, dribble]);
    slow.destroy();
    const reconnects = central.connections('LOOP');
    expect(reconnects).toBeGreaterThanOrEqual(50);
    const [tx] = central.transactions('STEADY');
    expect(tx).toMatchObject({ meterStartWh: 5000, meterStopWh: meter.wh, duplicates: 0, end: meter.t });
    expect(tx!.samples.length).toBeGreaterThan(2);
  });
});
