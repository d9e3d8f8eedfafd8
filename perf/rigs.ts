/**
 * Rig transport benchmarks: SCPI round-trip latency over a real socat PTY pair (goal p99 ≤ 2 ms) through the
 * product's SerialTransport, side by side with the same round trip through serialport's own stream (the baseline the
 * transport replaced), and the Modbus RTU poll rate against the SDM630 face on a PTY.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModbusMeterDriver } from '../rigs/drivers/modbus-meter.js';
import { ScpiLoadDriver } from '../rigs/drivers/scpi-load.js';
import { rigSchema } from '../rigs/schema.js';
import { simUp } from '../rigs/sim-up.js';
import { SerialTransport } from '../rigs/transports/serial.js';
import { LatencyStats } from '../rigs/transports/transport.js';

/** The same `*IDN?` round trip through serialport's stream (reads queued on the libuv thread pool). */
async function serialportRoundTrips(path: string, pings: number, warmUp: number) {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  let buf = '';
  let answered: (() => void) | undefined;
  port.on('data', (b: Buffer) => {
    buf += b.toString('latin1');
    const i = buf.indexOf('\n');
    if (i >= 0) {
      buf = buf.slice(i + 1);
      answered?.();
    }
  });
  const stats = new LatencyStats();
  for (let i = 0; i < pings + warmUp; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      answered = r;
      port.write('*IDN?\n');
    });
    if (i >= warmUp) stats.add(performance.now() - t0);
  }
  await new Promise<void>((r) => port.close(() => r()));
  return stats.summary();
}

/** Points/s written through the InfluxDB sink to a real VictoriaMetrics, then read back complete. */
async function benchInflux(dir: string, n = 50_000) {
  const { spawn } = await import('node:child_process');
  const { createServer } = await import('node:net');
  const { InfluxSink } = await import('../engine/sinks/influx.js');
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const vm = spawn(
    'victoria-metrics',
    ['-storageDataPath', join(dir, 'vm'), '-httpListenAddr', `127.0.0.1:${port}`, '-search.latencyOffset=0s'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((r) => vm.once('exit', () => r()));
  vm.once('error', (e) => console.error(`  victoria-metrics: ${e.message} (apt-get install victoria-metrics)`));
  try {
    while (
      !(await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (vm.exitCode !== null) throw new Error('victoria-metrics exited');
      await new Promise((r) => setTimeout(r, 50));
    }
    const sink = new InfluxSink({ url: `http://127.0.0.1:${port}`, spoolFile: join(dir, 'spool.lp') });
    const t0ms = Math.floor(Date.now() / 1000) * 1000 - 2 * 3_600_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      sink.measurement('meter', { instrument: 'dut' }, { p: i }, t0ms + i * 100);
      if (i % 5000 === 4999) await sink.flush();
    }
    await sink.close();
    const pointsPerS = n / ((performance.now() - t0) / 1000);
    await fetch(`http://127.0.0.1:${port}/internal/force_flush`);
    const text = await (await fetch(`http://127.0.0.1:${port}/api/v1/export?match[]=meter_p`)).text();
    let back = 0;
    for (const line of text.split('\n').filter(Boolean))
      back += (JSON.parse(line) as { values: unknown[] }).values.length;
    console.log(`  InfluxDB sink → VictoriaMetrics: ${pointsPerS.toFixed(0)} points/s written; read back ${back}/${n}`);
    return { influxPointsPerS: pointsPerS, influxReadBack: back, influxWritten: n };
  } finally {
    vm.kill('SIGTERM');
    await exited;
  }
}

export async function benchRigs(opts: { pings?: number; polls?: number } = {}) {
  const pings = opts.pings ?? 5000;
  const warmUp = 3000;
  const polls = opts.polls ?? 300;
  const dir = mkdtempSync(join(tmpdir(), 'bench-perf-rigs-'));
  const rig = rigSchema.parse({
    name: 'perf',
    instruments: [
      { id: 'load', role: 'load', dialect: 'chroma-63800', transport: { kind: 'serial', path: join(dir, 'load') } },
      { id: 'dut', role: 'dut', dialect: 'sdm630', transport: { kind: 'serial', path: join(dir, 'dut') } },
    ],
  });
  const served = await simUp(rig);
  try {
    const t = new SerialTransport({ device: 'load', path: join(dir, 'load'), baudRate: 115200 });
    const load = new ScpiLoadDriver(t, 'chroma-63800');
    await load.activate();
    // Until V8 has compiled the hot path, the JIT's own work shows up in the tail: warm up before measuring.
    for (let i = 0; i < warmUp; i++) await load.query('*IDN?');
    t.latency.reset();
    for (let i = 0; i < pings; i++) await load.query('*IDN?');
    const lat = t.latency.summary();
    await load.deactivate();
    const base = await serialportRoundTrips(join(dir, 'load'), pings, warmUp);
    console.log(
      `  PTY SCPI round trip (${pings} *IDN?), SerialTransport: p50 ${lat.p50Ms?.toFixed(3)} ms, p99 ${lat.p99Ms?.toFixed(3)} ms (goal p99 ≤ 2 ms)`,
    );
    console.log(
      `  same round trip through serialport's stream: p50 ${base.p50Ms?.toFixed(3)} ms, p99 ${base.p99Ms?.toFixed(3)} ms; p99 ratio transport ÷ serialport ${((lat.p99Ms ?? 0) / (base.p99Ms ?? 1)).toFixed(2)}`,
    );

    const meter = new ModbusMeterDriver('dut', { kind: 'serial', path: join(dir, 'dut') }, 'sdm630');
    await meter.activate();
    const rate = async (poll: () => Promise<unknown>) => {
      const t0 = performance.now();
      for (let i = 0; i < polls; i++) await poll();
      return polls / ((performance.now() - t0) / 1000);
    };
    const pollsPerS = await rate(() => meter.readQuantity('activePower'));
    console.log(`  Modbus RTU poll rate (FC04 float32, PTY): ${pollsPerS.toFixed(0)} reads/s`);
    // A bench's meter poll (energy, P, Q, V, I, PF) as it was, one request per quantity, and as the driver now
    // reads it, in blocks of the SDM630 map (energy, then the instantaneous block), side by side.
    const energy = ['importKWh', 'exportKWh'];
    const instantaneous = ['activePower', 'reactivePower', 'voltage', 'current', 'powerFactor'];
    const perQuantity = await rate(async () => {
      for (const q of [...energy, ...instantaneous]) await meter.readQuantity(q);
    });
    const inBlocks = await rate(async () => {
      await meter.readMany(energy);
      await meter.readMany(instantaneous);
    });
    await meter.deactivate();
    console.log(
      `  Modbus RTU meter poll (7 quantities, PTY): one request per quantity ${perQuantity.toFixed(0)} polls/s, in blocks ${inBlocks.toFixed(0)} polls/s (blocks ÷ per quantity ${(inBlocks / perQuantity).toFixed(2)})`,
    );
    const influx = await benchInflux(dir);
    return {
      ptyP50Ms: lat.p50Ms,
      ptyP99Ms: lat.p99Ms,
      serialportP99Ms: base.p99Ms,
      modbusPollsPerS: pollsPerS,
      modbusMeterPollsPerS: { perQuantity, inBlocks },
      ...influx,
    };
  } finally {
    await served.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchRigs();
