/**
 * Rig transport benchmarks: SCPI round-trip latency over a real socat PTY pair (goal p99 ≤ 2 ms) and the Modbus RTU
 * poll rate against the SDM630 face on a PTY, both through the product's drivers and emulators.
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

export async function benchRigs(opts: { pings?: number; polls?: number } = {}) {
  const pings = opts.pings ?? 2000;
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
    for (let i = 0; i < 50; i++) await load.query('*IDN?'); // warm-up
    t.latency.reset();
    for (let i = 0; i < pings; i++) await load.query('*IDN?');
    const lat = t.latency.summary();
    await load.deactivate();
    console.log(
      `  PTY SCPI round trip (${pings} *IDN?): p50 ${lat.p50Ms?.toFixed(3)} ms, p99 ${lat.p99Ms?.toFixed(3)} ms (goal p99 ≤ 2 ms)`,
    );

    const meter = new ModbusMeterDriver('dut', { kind: 'serial', path: join(dir, 'dut') }, 'sdm630');
    await meter.activate();
    const t0 = performance.now();
    for (let i = 0; i < polls; i++) await meter.readQuantity('activePower');
    const pollsPerS = polls / ((performance.now() - t0) / 1000);
    await meter.deactivate();
    console.log(`  Modbus RTU poll rate (FC04 float32, PTY): ${pollsPerS.toFixed(0)} reads/s`);
    return { ptyP50Ms: lat.p50Ms, ptyP99Ms: lat.p99Ms, modbusPollsPerS: pollsPerS };
  } finally {
    await served.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchRigs();
