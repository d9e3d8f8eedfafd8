import { setTimeout as sleep } from 'node:timers/promises';
import { SerialPort } from 'serialport';
import { describe, expect, it, vi } from 'vitest';
import { bcc, serveIec62056 } from '../../../meter/faces/iec62056.js';
import { newLiveValues } from '../../../meter/faces/register-map.js';
import { ptyPair } from '../../support/pty.js';

const values = {
  ...newLiveValues(),
  voltage: 231.2,
  current: 16.05,
  activePower: 3680,
  importKWh: 12.345,
  exportKWh: 0.5,
};
const id = {
  manufacturer: 'BEN',
  identification: 'RM1',
  serial: 'RM-000042',
  firmware: '1.0.0',
  maxBaud: '5' as const,
};

async function readUntil(port: SerialPort, done: (b: Buffer) => boolean): Promise<Buffer> {
  let acc = Buffer.alloc(0);
  const onData = (d: Buffer) => {
    acc = Buffer.concat([acc, d]);
  };
  port.on('data', onData);
  while (!done(acc)) await sleep(10);
  port.off('data', onData);
  return acc;
}

describe('reference meter IEC 62056-21 mode C optical face', () => {
  it('sign-on at 300 baud 7E1, identification, ACK option select, baud switch, data block with a valid BCC', async () => {
    const pty = await ptyPair();
    const face = await serveIec62056(() => values, id, { path: pty.a });
    const client = new SerialPort({
      path: pty.b,
      baudRate: 300,
      dataBits: 7,
      parity: 'even',
      stopBits: 1,
      autoOpen: false,
    });
    await new Promise<void>((r, j) => client.open((e) => (e ? j(e) : r())));
    try {
      client.write('/?!\r\n');
      const ident = (await readUntil(client, (b) => b.includes('\r\n'))).toString('latin1');
      expect(ident).toBe('/BEN5RM1\r\n');
      const z = ident[4]!;
      client.write(Buffer.from(`\x060${z}0\r\n`, 'latin1'));
      await new Promise<void>((r) => client.drain(() => r()));
      await new Promise<void>((r) => client.update({ baudRate: 9600 }, () => r()));
      const block = await readUntil(client, (b) => b.indexOf(0x03) >= 0 && b.indexOf(0x03) < b.length - 1);
      expect(block[0]).toBe(0x02);
      const etx = block.indexOf(0x03);
      expect(block[etx + 1]).toBe(bcc(block.subarray(1, etx + 1)));
      const text = block.subarray(1, etx).toString('latin1');
      expect(text).toContain('1.8.0(000012.345*kWh)\r\n');
      expect(text).toContain('32.7.0(231.2*V)\r\n');
      expect(text).toContain('C.1.0(RM-000042)\r\n');
      expect(text.endsWith('!\r\n')).toBe(true);
      // The client can hold the whole block before the face's write has settled: wait for the face to count it.
      await vi.waitFor(() => expect(face.sessions()).toBe(1));
    } finally {
      await new Promise<void>((r) => client.close(() => r()));
      await face.close();
      pty.close();
    }
  });
});
