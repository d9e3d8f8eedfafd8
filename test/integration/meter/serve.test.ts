import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReadlineParser } from '@serialport/parser-readline';
import Modbus from 'modbus-serial';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/cli.js';
import { ptyPair } from '../../support/pty.js';

const ModbusRTU = Modbus as unknown as new () => ModbusClient;

describe('bench meter serve', () => {
  it('plays a scenario and serves Modbus TCP registers and the JSONL stream on a PTY', async () => {
    const pty = await ptyPair();
    const reader = new SerialPort({ path: pty.b, baudRate: 115200, autoOpen: false });
    await new Promise<void>((r, j) => reader.open((e) => (e ? j(e) : r())));
    const lines: Array<{ type: string; class?: string }> = [];
    reader.pipe(new ReadlineParser({ delimiter: '\n' })).on('data', (l: string) => lines.push(JSON.parse(l)));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/run.js'),
        'meter',
        'serve',
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
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
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
});
