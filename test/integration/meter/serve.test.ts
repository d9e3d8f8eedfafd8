import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReadlineParser } from '@serialport/parser-readline';
import Modbus from 'modbus-serial';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import { macroSeries } from '../../../profiles/synth.js';
import { readIec62056 } from '../../../rigs/drivers/iec62056.js';
import { bench, REPO_ROOT } from '../../support/cli.js';
import { ptyPair } from '../../support/pty.js';

const ModbusRTU = Modbus as unknown as new () => ModbusClient;

/** `bench meter serve` with these arguments, as a child process. */
const serveMeter = (args: string[]) =>
  spawn(process.execPath, [join(REPO_ROOT, 'bin/run.js'), 'meter', 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });

describe('bench meter serve', () => {
  it('plays a scenario and serves Modbus TCP registers and the JSONL stream on a PTY', async () => {
    const pty = await ptyPair();
    const reader = new SerialPort({ path: pty.b, baudRate: 115200, autoOpen: false });
    await new Promise<void>((r, j) => reader.open((e) => (e ? j(e) : r())));
    const lines: Array<{ type: string; class?: string }> = [];
    reader.pipe(new ReadlineParser({ delimiter: '\n' })).on('data', (l: string) => lines.push(JSON.parse(l)));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = serveMeter([
      '--scenario',
      join(REPO_ROOT, 'suites/scenarios/smoke.yaml'),
      '--modbus-tcp',
      `127.0.0.1:${port}`,
      '--stream',
      pty.a,
      '--baud',
      '115200',
      '--speed',
      '50',
    ]);
    const exit = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      // Wait until the meter has seen the EV switch on (t = 120 s of scenario ≈ 2.4 s at 50×).
      while (!lines.some((l) => l.type === 'event' && l.class === 'ev')) {
        if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
        await sleep(50);
      }
      const client = new ModbusRTU();
      await client.connectTCP('127.0.0.1', { port });
      client.setID(1);
      const read = async (addr: number) => {
        const b = Buffer.alloc(4);
        const { data } = await client.readInputRegisters(addr, 2);
        b.writeUInt16BE(data[0]!, 0);
        b.writeUInt16BE(data[1]!, 2);
        return b.readFloatBE(0);
      };
      expect(await read(0x0000)).toBeGreaterThan(225);
      expect(await read(0x000c)).toBeGreaterThan(7000);
      expect(await read(0x0200)).toBeGreaterThanOrEqual(1);
      await new Promise<void>((r) => client.close(() => r()));
      expect(lines.some((l) => l.type === 'measurement')).toBe(true);
      // The stream never carries raw samples.
      expect(JSON.stringify(lines).length / lines.length).toBeLessThan(1000);
      child.kill('SIGINT');
      expect(await exit).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await new Promise<void>((r) => reader.close(() => r()));
      pty.close();
    }
  });

  it('a three-phase scenario: a Modbus master reads each phase and the per-phase energies in blocks', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = serveMeter([
      '--scenario',
      join(REPO_ROOT, 'suites/scenarios/ev-three-phase.yaml'),
      '--meter',
      'house-bob',
      '--modbus-tcp',
      `127.0.0.1:${port}`,
      '--speed',
      '200',
    ]);
    const exit = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const client = new ModbusRTU();
    const floats = (words: number[]) =>
      Array.from({ length: words.length / 2 }, (_, i) => {
        const b = Buffer.alloc(4);
        b.writeUInt16BE(words[2 * i]!, 0);
        b.writeUInt16BE(words[2 * i + 1]!, 2);
        return b.readFloatBE(0);
      });
    try {
      for (let tries = 0; ; tries++) {
        try {
          await client.connectTCP('127.0.0.1', { port });
          break;
        } catch (e) {
          if (tries > 100 || child.exitCode !== null) throw e;
          await sleep(100);
        }
      }
      client.setID(1);
      // The EV (11 kW on three phases) plugs in at 600 s and the kettle (L2) runs 1500–1680 s: wait for the kettle.
      let block: number[] = [];
      for (;;) {
        block = floats((await client.readInputRegisters(0x0000, 0x12)).data);
        if (block[7]! > block[6]! + 5) break;
        if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
        await sleep(50);
      }
      const [v1, v2, v3, , i2, i3, p1, p2, p3] = block;
      expect([v1, v2, v3].every((v) => v! > 225 && v! < 235)).toBe(true);
      // Each phase carries a third of the EV; L2 the kettle besides (2.2 kW, about 9.6 A more).
      expect(p2! - p3!).toBeCloseTo(2200, -2);
      expect(i2! - i3!).toBeCloseTo(2200 / 230, 0);
      expect(p3).toBeGreaterThan(3500);
      expect(p1! + p2! + p3!).toBeCloseTo(floats((await client.readInputRegisters(0x0034, 2)).data)[0]!, -2);
      // Total kWh and the per-phase import energies: the phases add up to the total import.
      const energy = floats((await client.readInputRegisters(0x0156, 0x0a)).data);
      const imports = energy.slice(2, 5);
      expect(imports.every((e) => e > 0)).toBe(true);
      expect(imports.reduce((a, b) => a + b, 0)).toBeCloseTo(energy[0]!, 2);
      // L3 carries the charger's third alone: its current THD is the charger's (5th 4 %, 7th 2.5 %: 4.7 %).
      const thd = floats((await client.readInputRegisters(0x00f0, 6)).data);
      expect(thd[2]).toBeGreaterThan(3.5);
      expect(thd[2]).toBeLessThan(6);
      // Each phase's voltage THD is its supply's: 1 % third and 0.6 % fifth harmonic (the scenario default), 1.17 %.
      const vthd = floats((await client.readInputRegisters(0x00ea, 6)).data);
      for (const v of vthd) expect(v).toBeCloseTo(100 * Math.hypot(0.01, 0.006), 2);
      // Line-to-line voltage of a three-phase supply: √3 · 230 V.
      expect(floats((await client.readInputRegisters(0x00c8, 2)).data)[0]).toBeCloseTo(230 * Math.sqrt(3), -1);
      child.kill('SIGINT');
      expect(await exit).toBe(0);
    } finally {
      await new Promise<void>((r) => (client.isOpen ? client.close(() => r()) : r()));
      child.kill('SIGKILL');
    }
  });

  it('--config (a +10 % gain fault) shows in Modbus RTU and optical readings; the stream syncs the clock on demand', async () => {
    const rtu = await ptyPair();
    const optical = await ptyPair();
    const stream = await ptyPair();
    const dir = mkdtempSync(join(tmpdir(), 'bench-serve-'));
    const config = join(dir, 'meter.yaml');
    writeFileSync(config, 'faults:\n  gainErrorPct: 10\n');
    const reader = new SerialPort({ path: stream.b, baudRate: 9600, autoOpen: false });
    await new Promise<void>((r, j) => reader.open((e) => (e ? j(e) : r())));
    type Line = { type: string; class?: string; code?: string; t?: number; offsetS?: number; tMeter?: number };
    const lines: Line[] = [];
    reader.pipe(new ReadlineParser({ delimiter: '\n' })).on('data', (l: string) => lines.push(JSON.parse(l)));
    const smoke = join(REPO_ROOT, 'suites/scenarios/smoke.yaml');
    const child = serveMeter([
      '--scenario',
      smoke,
      '--config',
      config,
      '--modbus-rtu',
      rtu.a,
      '--optical',
      optical.a,
      '--stream',
      stream.a,
      '--speed',
      '50',
    ]);
    const exit = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const client = new ModbusRTU();
    const waitFor = async (what: (l: Line) => boolean) => {
      for (;;) {
        const hit = lines.find(what);
        if (hit) return hit;
        if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
        await sleep(20);
      }
    };
    try {
      // The EV switches on at 120 s and charges alone over the base load until the kettle at 400 s.
      await waitFor((l) => l.type === 'event' && l.class === 'ev');
      await sleep(200);
      const scenario = loadScenarioFile(smoke);
      const truthP = [...macroSeries(scenario, 'house-1', 1)][200]!.p;
      await client.connectRTUBuffered(rtu.b, { baudRate: 9600 });
      client.setID(1);
      const read = async (addr: number) => {
        const b = Buffer.alloc(4);
        const { data } = await client.readInputRegisters(addr, 2);
        b.writeUInt16BE(data[0]!, 0);
        b.writeUInt16BE(data[1]!, 2);
        return b.readFloatBE(0);
      };
      // The gain fault is on the current channel: power reads 10 % high, the voltage does not move.
      expect(Math.abs((await read(0x000c)) / (1.1 * truthP) - 1)).toBeLessThan(0.005);
      expect(Math.abs((await read(0x0000)) / 230 - 1)).toBeLessThan(0.005);
      expect(await read(0x0048)).toBeGreaterThan(0);
      expect(await read(0x004c)).toBeGreaterThan(0);
      expect(await read(0x004e)).toBe(0);

      const readout = await readIec62056('optical', optical.b);
      expect(readout.items['C.1.0']?.value).toBe('RM-house-1');
      expect(Math.abs(readout.items['1.7.0']!.number! / (1.1 * truthP * 1e-3) - 1)).toBeLessThan(0.005);
      expect(readout.items['3.8.0']).toMatchObject({ unit: 'kvarh' });
      expect(readout.items['3.8.0']!.number).toBeGreaterThan(0);
      expect(readout.items['4.8.0']).toMatchObject({ unit: 'kvarh', number: 0 });

      // Sync on demand: the bench says it is 10,000 s into the scenario; the meter logs what it corrected.
      const epochS = Date.parse(scenario.start) / 1000;
      reader.write(`${JSON.stringify({ type: 'sync', clockUnix: epochS + 10_000 })}\n`);
      const sync = await waitFor((l) => l.type === 'log' && l.code === 'clock-sync');
      expect(sync.t).toBeGreaterThan(120);
      expect(sync.t).toBeLessThan(400);
      expect(sync.offsetS).toBeCloseTo(sync.t! - 10_000, 6);
      // The kettle (400 s) is stamped by the synced clock.
      const kettle = await waitFor((l) => l.type === 'event' && l.class === 'kettle');
      expect(Math.abs(kettle.tMeter! - (400 + 10_000 - sync.t!))).toBeLessThan(0.5);
      child.kill('SIGINT');
      expect(await exit).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await new Promise<void>((r) => (client.isOpen ? client.close(() => r()) : r()));
      await new Promise<void>((r) => reader.close(() => r()));
      for (const p of [rtu, optical, stream]) p.close();
    }
  });

  it('refuses to start with no face (exit 2) and names the flag and path of a port it cannot open (exit 3)', () => {
    const smoke = join(REPO_ROOT, 'suites/scenarios/smoke.yaml');
    const none = bench(['meter', 'serve', '--scenario', smoke]);
    expect(none.code, none.stderr).toBe(2);
    expect(none.stderr).toContain('no face to serve');
    expect(none.stderr).toContain('--modbus-tcp');
    const missing = join(mkdtempSync(join(tmpdir(), 'serve-')), 'ttyX');
    const bad = bench(['meter', 'serve', '--scenario', smoke, '--modbus-rtu', missing]);
    expect(bad.code, bad.stderr).toBe(3);
    expect(bad.stderr).toContain(`--modbus-rtu: ${missing}: cannot open the port`);
    expect(bad.stderr).not.toMatch(/Error: Error/);
    expect(bad.stderr).toContain('socat');
  });
});
