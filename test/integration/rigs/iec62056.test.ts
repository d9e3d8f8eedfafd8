import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveIec62056 } from '../../../meter/faces/iec62056.js';
import { parseObis, readIec62056 } from '../../../rigs/drivers/iec62056.js';
import { BenchPhysics } from '../../../rigs/emulators/physics.js';
import { openPtyPair, type PtyPair, requireSocat } from '../../../rigs/emulators/pty.js';
import { liveValuesFrom } from '../../../rigs/emulators/registry.js';

describe('IEC 62056-21 mode C driver against the meter face on a PTY', () => {
  let dir: string;
  let pair: PtyPair;
  let face: { close(): Promise<void> };
  const physics = new BenchPhysics();
  beforeAll(async () => {
    requireSocat();
    dir = mkdtempSync(join(tmpdir(), 'bench-iec-'));
    pair = await openPtyPair();
    physics.setLoad(performance.now(), 1840);
    face = await serveIec62056(
      () => liveValuesFrom(physics),
      { manufacturer: 'BEN', identification: 'REF1', serial: '12345678', firmware: '1.0.0', maxBaud: '5' },
      { path: pair.a },
    );
  });
  afterAll(async () => {
    await face?.close();
    await pair?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sign-on, identification, baud switch, BCC-checked OBIS block with the coupled power', async () => {
    const r = await readIec62056('dut', pair.b);
    expect(r).toMatchObject({ manufacturer: 'BEN', baud: 9600, identification: 'REF1' });
    expect(r.items['C.1.0']?.value).toBe('12345678');
    expect(r.items['1.7.0']).toMatchObject({ number: 1.84, unit: 'kW' });
    expect(r.items['32.7.0']?.number).toBeCloseTo(230, 1);
  });

  it('OBIS parsing of a scripted block', () => {
    expect(parseObis('1.8.0(000012.345*kWh)\r\n0.9.1(123456)\r\n!\r\n')).toEqual({
      '1.8.0': { value: '000012.345', unit: 'kWh', number: 12.345 },
      '0.9.1': { value: '123456', unit: undefined, number: 123456 },
    });
  });
});
