/**
 * A charging station in a rig file, as a lab sets one up: `bench rig check` through the built CLI listens on the
 * rig's port, the (emulated) station dials in and boots, and the check reports who it is; a station that never
 * calls and a wrong password are refused with what to do (runs at a station: test/integration/certify/ocpp-charging.test.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EmulatedStation } from '../../../rigs/emulators/ocpp-station.js';
import { rigSchema } from '../../../rigs/schema.js';
import { benchAsync } from '../../support/cli.js';
import { freePort } from '../../support/ledger-node.js';

const KEY = 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721';
const dir = mkdtempSync(join(tmpdir(), 'ocpp-rig-'));
const stations: EmulatedStation[] = [];
afterEach(async () => {
  for (const s of stations.splice(0)) await s.close();
});

function rigFile(port: number, dialect: 'ocpp1.6' | 'ocpp2.0.1', options: Record<string, unknown>): string {
  const rig = {
    name: `station-${dialect}`,
    instruments: [
      {
        id: 'station',
        role: 'dut',
        dialect,
        transport: { kind: 'listen', host: '127.0.0.1', port },
        capabilities: ['meter.billing', 'meter.measurements'],
        options,
      },
    ],
  };
  rigSchema.parse(rig);
  const file = join(dir, `${dialect}-${port}.yaml`);
  writeFileSync(file, stringify(rig));
  return file;
}

/** Dials the bench until it listens, then boots. */
async function dialIn(port: number, version: 'ocpp1.6' | 'ocpp2.0.1', password: string, identity = 'CP-7') {
  for (;;) {
    const s = new EmulatedStation({
      url: `ws://127.0.0.1:${port}/`,
      identity,
      version,
      password,
      vendor: 'Acme',
      model: 'Wallbox 22',
      serial: 'ACM-0042',
      firmware: '3.1.4',
      ocmfKeyHex: KEY,
      energyWh: () => 0,
    });
    stations.push(s);
    try {
      return await s.connect();
    } catch (e) {
      if (!/ECONNREFUSED/.test(String((e as Error).message) + String((e as { cause?: Error }).cause?.message))) throw e;
      await sleep(50);
    }
  }
}

describe('bench rig check with an OCPP charging station', () => {
  it.each(['ocpp1.6', 'ocpp2.0.1'] as const)(
    '%s: waits for the BootNotification and names the station',
    async (dialect) => {
      const port = await freePort();
      const file = rigFile(port, dialect, { identity: 'CP-7', password: 'pw-1' });
      const check = benchAsync(['rig', 'check', file, '--json']);
      expect((await dialIn(port, dialect, 'pw-1')).status).toBe('Accepted');
      const r = await check;
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const [station] = r.json<{ instruments: Array<Record<string, unknown>> }>().instruments;
      expect(station).toMatchObject({
        id: 'station',
        status: 'ok',
        transport: `listen:127.0.0.1:${port}`,
        identity: `Acme Wallbox 22 serial ACM-0042 firmware 3.1.4 (${dialect})`,
      });
    },
  );

  it('says where to point a station that never calls (exit 3), and refuses a wrong password', async () => {
    const port = await freePort();
    const file = rigFile(port, 'ocpp2.0.1', { identity: 'CP-7', password: 'pw-1', bootTimeoutS: 2 });
    const check = benchAsync(['rig', 'check', file]);
    await expect(dialIn(port, 'ocpp2.0.1', 'wrong')).rejects.toThrow(/Unauthorized/);
    const r = await check;
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no BootNotification from station CP-7 within 2 s');
    expect(r.stderr).toContain(`ws://127.0.0.1:${port}/CP-7`);
  });

  it('refuses a bad option naming it', async () => {
    const port = await freePort();
    const bad = await benchAsync(['rig', 'check', rigFile(port, 'ocpp1.6', { identity: 'CP-7', evse: 0 })]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('options.evse');
  });
});
