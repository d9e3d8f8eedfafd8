import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScpiLoadDriver } from '../../../rigs/drivers/scpi-load.js';
import { BenchPhysics } from '../../../rigs/emulators/physics.js';
import { openPtyPair, type PtyPair, requireSocat } from '../../../rigs/emulators/pty.js';
import { ScpiLoadEmulator } from '../../../rigs/emulators/scpi-load-emulator.js';
import { serveLinesOnSerial } from '../../../rigs/emulators/serve-line.js';
import { SerialTransport } from '../../../rigs/transports/serial.js';

describe('SCPI load over a real PTY pair (socat)', () => {
  let dir: string;
  const pairs: PtyPair[] = [];
  const closers: Array<() => Promise<void>> = [];

  beforeAll(() => {
    requireSocat(); // fails with a clear message when socat is missing
    dir = mkdtempSync(join(tmpdir(), 'bench-pty-'));
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    for (const p of pairs) await p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('driver ↔ emulator: identity, setpoints, coupled measurement, latency recorded', async () => {
    const pair = await openPtyPair({ a: join(dir, 'emu'), b: join(dir, 'drv') });
    pairs.push(pair);
    const physics = new BenchPhysics();
    const server = await serveLinesOnSerial(pair.a, new ScpiLoadEmulator(physics));
    closers.push(server.close);
    const t = new SerialTransport({ device: 'load', path: pair.b, baudRate: 115200 });
    const d = new ScpiLoadDriver(t, 'chroma-63800');
    closers.push(() => d.deactivate());
    expect(await d.activate()).toMatch(/^CHROMA,63804/);
    await d.apply({ kind: 'power', watts: 1500, powerFactor: 0.95 });
    expect(await d.measurePower()).toBeCloseTo(1500);
    await expect(d.apply({ kind: 'current', amps: 99 })).rejects.toMatchObject({ code: 'RANGE', device: 'load' });
    const lat = t.latency.summary();
    expect(lat.count).toBeGreaterThanOrEqual(5);
    expect(lat.p99Ms).toBeGreaterThan(0);
  });

  it('a PTY closed mid-run → disconnect, reconnect with the gap reported, requests work again', async () => {
    const links = { a: join(dir, 'emu2'), b: join(dir, 'drv2') };
    let pair = await openPtyPair(links);
    const physics = new BenchPhysics();
    const emu = new ScpiLoadEmulator(physics);
    let server = await serveLinesOnSerial(pair.a, emu);
    const t = new SerialTransport({ device: 'load', path: pair.b, baudRate: 115200 });
    const d = new ScpiLoadDriver(t, 'chroma-63800');
    await d.activate();
    const events: string[] = [];
    t.on('disconnect', () => events.push('disconnect'));
    const reconnected = new Promise<number>((r) => t.once('reconnect', (gap: number) => r(gap)));

    await server.close();
    await pair.close(); // the kernel PTY goes away under the driver
    await expect(d.query('*IDN?')).rejects.toMatchObject({ device: 'load' });
    pair = await openPtyPair(links); // the bench comes back on the same link names
    pairs.push(pair);
    server = await serveLinesOnSerial(pair.a, emu);
    closers.push(server.close, () => d.deactivate());
    const gap = await reconnected;
    expect(events).toContain('disconnect');
    expect(gap).toBeGreaterThan(0);
    expect(await d.query('*IDN?')).toMatch(/^CHROMA/);
  });
});
