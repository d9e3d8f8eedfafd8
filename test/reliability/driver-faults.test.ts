import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import crc16 from 'modbus-serial/utils/crc16.js';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RigError } from '../../core/errors.js';
import { JsonlStreamDriver, type StreamLine } from '../../rigs/drivers/jsonl-stream.js';
import { ModbusMeterDriver } from '../../rigs/drivers/modbus-meter.js';
import { ScpiLoadDriver } from '../../rigs/drivers/scpi-load.js';
import { BenchPhysics } from '../../rigs/emulators/physics.js';
import { openPtyPair, type PtyPair, requireSocat } from '../../rigs/emulators/pty.js';
import { ScpiLoadEmulator } from '../../rigs/emulators/scpi-load-emulator.js';
import { serveLinesOnSerial } from '../../rigs/emulators/serve-line.js';
import { SerialTransport } from '../../rigs/transports/serial.js';
import { closeTtyPort, openTtyPort } from '../../rigs/transports/tty-port.js';

/*
 * Instrument faults the bench must ride through at the driver/transport level: an instrument that goes silent
 * mid-run and comes back, and a serial line whose PTY disappears and reappears on the same path.
 */

/** The outcome of a driver call: 'ok' or the RigError code (anything untyped is returned as such to fail the test). */
async function outcome(p: Promise<unknown>, device: string): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof RigError) return e.device === device ? e.code : `WRONG_DEVICE ${e.device}`;
    return `UNTYPED ${(e as Error)?.name}: ${(e as Error)?.message}`;
  }
}
const until = async (cond: () => boolean) => {
  while (!cond()) await sleep(5);
};

describe('reliability: an instrument that goes silent mid-run', () => {
  let dir: string;
  const pairs: PtyPair[] = [];
  beforeAll(() => {
    requireSocat(); // fails, never skips, without socat
    dir = mkdtempSync(join(tmpdir(), 'bench-driver-faults-'));
  });
  afterAll(async () => {
    for (const p of pairs) await p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SCPI load on a PTY: silent after 20 requests → TIMEOUT naming the load; answering again → reads resume', async () => {
    const pair = await openPtyPair();
    pairs.push(pair);
    const physics = new BenchPhysics();
    const emu = new ScpiLoadEmulator(physics);
    let silent = false;
    let answered = 0;
    const served = await serveLinesOnSerial(pair.a, {
      handle: (frame) => {
        if (silent) return [];
        answered++;
        return emu.handle(frame);
      },
    });
    const t = new SerialTransport({ device: 'load', path: pair.b, baudRate: 115200, timeoutMs: 150 });
    const d = new ScpiLoadDriver(t, 'chroma-63800');
    try {
      await d.activate();
      await d.apply({ kind: 'power', watts: 1200 });
      while (answered < 20) expect(await d.measurePower()).toBeCloseTo(1200, 3);
      silent = true;
      for (let i = 0; i < 3; i++) {
        const err = await d.measurePower().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(RigError);
        expect(err).toMatchObject({ code: 'TIMEOUT', device: 'load' });
        expect(String((err as Error).message)).toMatch(/^load: /);
      }
      await expect(d.apply({ kind: 'power', watts: 800 })).rejects.toMatchObject({ code: 'TIMEOUT', device: 'load' });
      silent = false;
      // A silent instrument is off the line: the setpoint it missed is still 1200 W until it is sent again.
      expect(await d.measurePower()).toBeCloseTo(1200, 3);
      await d.apply({ kind: 'power', watts: 800 });
      expect(await d.measurePower()).toBeCloseTo(800, 3);
    } finally {
      await d.deactivate();
      await served.close();
    }
  });

  it('Modbus meter over TCP: silent after 10 requests → TIMEOUT naming the meter; answering again → reads resume', async () => {
    let silent = false;
    let answered = 0;
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('data', (req) => {
        for (let at = 0; at + 12 <= req.length; at += 12) {
          if (silent) continue;
          answered++;
          // Every float of the block reads 230 (the driver reads the map in blocks).
          const registers = req.readUInt16BE(at + 10);
          const out = Buffer.alloc(9 + registers * 2);
          req.copy(out, 0, at, at + 4); // transaction and protocol id
          out.writeUInt16BE(3 + registers * 2, 4);
          out.writeUInt8(req[at + 6] as number, 6);
          out.writeUInt8(req[at + 7] as number, 7);
          out.writeUInt8(registers * 2, 8);
          for (let k = 0; k + 1 < registers; k += 2) out.writeFloatBE(230, 9 + k * 2);
          s.write(out);
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const d = new ModbusMeterDriver('dut-meter', { kind: 'tcp', host: '127.0.0.1', port }, 'sdm630', 1, 150);
    try {
      await d.activate();
      while (answered < 10) expect(await d.readQuantity('voltage')).toBe(230);
      silent = true;
      for (let i = 0; i < 3; i++) {
        await expect(d.readQuantity('voltage')).rejects.toMatchObject({ code: 'TIMEOUT', device: 'dut-meter' });
      }
      silent = false;
      expect(await d.readQuantity('voltage')).toBe(230);
      expect(Object.keys(await d.readAll())).toHaveLength(11);
    } finally {
      await d.deactivate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('Modbus meter over RTU on a PTY: silent after 10 requests, a late answer before the next poll discarded, reads resume', async () => {
    const pair = await openPtyPair();
    pairs.push(pair);
    const meter = new SerialPort({ path: pair.a, baudRate: 9600, autoOpen: false });
    await new Promise<void>((r, j) => meter.open((e) => (e ? j(e) : r())));
    let mode: 'answer' | 'silent' | 'late' = 'answer';
    let answered = 0;
    let rx = Buffer.alloc(0);
    const answer = (req: Buffer, value: number) => {
      const body = Buffer.alloc(7);
      body.writeUInt8(req[0] as number, 0);
      body.writeUInt8(req[1] as number, 1);
      body.writeUInt8(4, 2);
      body.writeFloatBE(value, 3);
      const out = Buffer.alloc(9);
      body.copy(out);
      out.writeUInt16LE(crc16(body), 7);
      return out;
    };
    meter.on('data', (chunk: Buffer) => {
      rx = Buffer.concat([rx, chunk]);
      while (rx.length >= 8) {
        const req = Buffer.from(rx.subarray(0, 8));
        rx = rx.subarray(8);
        if (mode === 'silent') continue;
        answered++;
        // A late meter answers after the master gave up (timeout 150 ms), with a value that must never be read.
        if (mode === 'late') setTimeout(() => meter.write(answer(req, -1)), 200);
        else meter.write(answer(req, 231.5));
      }
    });
    const d = new ModbusMeterDriver('dut-rtu', { kind: 'serial', path: pair.b }, 'sdm630', 1, 150);
    try {
      await d.activate();
      while (answered < 10) expect(await d.readQuantity('voltage')).toBe(231.5);
      mode = 'silent';
      for (let i = 0; i < 2; i++) {
        await expect(d.readQuantity('voltage')).rejects.toMatchObject({ code: 'TIMEOUT', device: 'dut-rtu' });
      }
      mode = 'late';
      await expect(d.readQuantity('voltage')).rejects.toMatchObject({ code: 'TIMEOUT', device: 'dut-rtu' });
      mode = 'answer';
      await sleep(100); // the late answer arrives in the gap before the next poll, as on a real bus
      expect(await d.readQuantity('voltage')).toBe(231.5);
      expect(await d.readQuantity('current')).toBe(231.5);
    } finally {
      await d.deactivate();
      await new Promise<void>((r) => meter.close(() => r()));
    }
  });
});

describe('reliability: a serial line whose PTY goes away and comes back on the same path', () => {
  let dir: string;
  const closers: Array<() => Promise<void>> = [];
  beforeAll(() => {
    requireSocat();
    dir = mkdtempSync(join(tmpdir(), 'bench-driver-replug-'));
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('SCPI load polled every 20 ms through a socat SIGKILL: disconnect, typed rejections in the gap, reconnect, reads resume', async () => {
    const links = { a: join(dir, 'load.emu'), b: join(dir, 'load') };
    const physics = new BenchPhysics();
    const emu = new ScpiLoadEmulator(physics);
    const up = async () => {
      const pair = await openPtyPair(links);
      const served = await serveLinesOnSerial(links.a, emu);
      return { pair, served };
    };
    let line = await up();
    closers.push(async () => {
      await line.served.close();
      await line.pair.close();
    });
    const t = new SerialTransport({ device: 'load', path: links.b, baudRate: 115200, timeoutMs: 100 });
    const d = new ScpiLoadDriver(t, 'chroma-63800');
    closers.push(() => d.deactivate());
    const events: string[] = [];
    t.on('disconnect', (e: RigError) => events.push(`disconnect ${e.code}`));
    t.on('reconnect', () => events.push('reconnect'));
    await d.activate();
    await d.apply({ kind: 'power', watts: 1500 });

    const phase = { name: 'before' as 'before' | 'gap' | 'after' };
    const seen: Record<string, Record<string, number>> = { before: {}, gap: {}, after: {} };
    let stop = false;
    const poller = (async () => {
      while (!stop) {
        const p = phase.name;
        const o = await outcome(d.measurePower(), 'load');
        const bucket = seen[p] as Record<string, number>;
        bucket[o] = (bucket[o] ?? 0) + 1;
        await sleep(20);
      }
    })();

    await until(() => (seen.before?.ok ?? 0) >= 5);
    phase.name = 'gap';
    line.pair.process.kill('SIGKILL'); // the USB adapter is pulled: no orderly close
    await once(line.pair.process, 'exit');
    await line.served.close();
    await until(() => events.length > 0);
    await sleep(300); // requests keep coming while the line is down
    line = await up(); // plugged back in: the same link path, a new PTY behind it
    await until(() => events.includes('reconnect'));
    phase.name = 'after';
    await until(() => (seen.after?.ok ?? 0) >= 5);
    stop = true;
    await poller;

    console.info(`SCPI poll outcomes around the replug: ${JSON.stringify(seen)}; events ${events.join(', ')}`);
    expect(events[0]).toBe('disconnect DISCONNECTED');
    expect(events.at(-1)).toBe('reconnect');
    expect(seen.before).toEqual({ ok: expect.any(Number) });
    const gapCodes = Object.keys(seen.gap ?? {});
    expect(gapCodes.length).toBeGreaterThan(0);
    for (const c of gapCodes) expect(['DISCONNECTED', 'TIMEOUT', 'CLOSED', 'ok']).toContain(c);
    expect(Object.keys(seen.after ?? {})).toEqual(['ok']);
    expect(await d.measurePower()).toBeCloseTo(1500, 3);
  });

  it('JSONL stream: lines before and after a replug arrive intact, a command sent in the gap rejects DISCONNECTED', async () => {
    const links = { a: join(dir, 'stream.emu'), b: join(dir, 'stream') };
    let pair = await openPtyPair(links);
    let meter = await openTtyPort(links.a, { baudRate: 115200 });
    meter.on('error', () => undefined);
    const commands: string[] = [];
    const listen = () =>
      meter.on('data', (b: Buffer) => {
        for (const l of b.toString().split('\n')) if (l) commands.push(l);
      });
    listen();
    closers.push(async () => {
      await closeTtyPort(meter);
      await pair.close();
    });
    const t = new SerialTransport({ device: 'dut-stream', path: links.b, baudRate: 115200 });
    const d = new JsonlStreamDriver(t);
    closers.push(() => d.deactivate());
    const got: StreamLine[] = [];
    const bad: unknown[] = [];
    d.on('line', (l: StreamLine) => got.push(l));
    d.on('bad-frame', (e: unknown) => bad.push(e));
    const events: string[] = [];
    t.on('disconnect', () => events.push('disconnect'));
    t.on('reconnect', () => events.push('reconnect'));
    await d.activate();
    for (let seq = 0; seq < 5; seq++) meter.write(`{"type":"measurement","seq":${seq}}\n`);
    await until(() => got.length === 5);
    await d.send({ type: 'authorize', token: 'before' });
    await until(() => commands.length === 1);

    pair.process.kill('SIGKILL');
    await once(pair.process, 'exit');
    await closeTtyPort(meter);
    await until(() => events.includes('disconnect'));
    await expect(d.send({ type: 'authorize', token: 'gap' })).rejects.toMatchObject({
      code: 'DISCONNECTED',
      device: 'dut-stream',
    });
    pair = await openPtyPair(links);
    meter = await openTtyPort(links.a, { baudRate: 115200 });
    meter.on('error', () => undefined);
    listen();
    await until(() => events.includes('reconnect'));
    for (let seq = 5; seq < 10; seq++) meter.write(`{"type":"measurement","seq":${seq}}\n`);
    await until(() => got.length === 10);
    await d.send({ type: 'authorize', token: 'after' });
    await until(() => commands.length === 2);

    expect(events).toEqual(['disconnect', 'reconnect']);
    expect(got.map((l) => l.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(bad).toEqual([]);
    expect(commands.map((c) => JSON.parse(c).token)).toEqual(['before', 'after']);
  });
});

describe('reliability: a Modbus TCP gateway that drops the connection', () => {
  it('the driver connects again on the next read; failures in between are typed and name the meter', async () => {
    const { serveModbusTcp } = await import('../../meter/faces/modbus.js');
    const { newLiveValues } = await import('../../meter/faces/register-map.js');
    const { freePort } = await import('../support/ledger-node.js');
    const facePort = await freePort();
    const face = await serveModbusTcp(() => ({ ...newLiveValues(), voltage: 231.5 }), {
      host: '127.0.0.1',
      port: facePort,
    });
    // A gateway in front of the meter whose connections can be cut.
    const links = new Set<Socket>();
    const gateway = createServer((client) => {
      const upstream = connect(facePort, '127.0.0.1');
      for (const s of [client, upstream]) {
        links.add(s);
        s.on('error', () => undefined);
        s.on('close', () => links.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    gateway.listen(0, '127.0.0.1');
    await once(gateway, 'listening');
    const gatewayPort = (gateway.address() as { port: number }).port;
    const meter = new ModbusMeterDriver(
      'tcp-meter',
      { kind: 'tcp', host: '127.0.0.1', port: gatewayPort },
      'sdm630',
      1,
      300,
    );
    try {
      await meter.activate();
      expect(await meter.readQuantity('voltage')).toBeCloseTo(231.5, 3);
      for (const s of links) s.destroy();
      await sleep(50);
      const outcomes: string[] = [];
      let volts: number | undefined;
      for (let i = 0; i < 3 && volts === undefined; i++) {
        try {
          volts = await meter.readQuantity('voltage');
        } catch (e) {
          expect(e).toBeInstanceOf(RigError);
          expect((e as RigError).device).toBe('tcp-meter');
          outcomes.push((e as RigError).code);
        }
      }
      expect(volts).toBeCloseTo(231.5, 3);
      expect(outcomes.length).toBeLessThan(3);
    } finally {
      await meter.deactivate();
      for (const s of links) s.destroy();
      await new Promise<void>((r) => gateway.close(() => r()));
      await face.close();
    }
  });
});
