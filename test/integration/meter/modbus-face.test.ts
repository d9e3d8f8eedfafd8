import Modbus from 'modbus-serial';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveModbusRtu, serveModbusTcp } from '../../../meter/faces/modbus.js';
import { newLiveValues } from '../../../meter/faces/register-map.js';
import { ptyPair } from '../../support/pty.js';

const values = { ...newLiveValues(), voltage: 230.4, current: 32.1, activePower: 7361.5, importKWh: 12.345, events: 7 };
/** modbus-serial's CommonJS export is the client class itself; its typings describe it as a namespace. */
const ModbusRTU = Modbus as unknown as new () => ModbusClient;
const float = (words: number[]) => {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(words[0]!, 0);
  b.writeUInt16BE(words[1]!, 2);
  return b.readFloatBE(0);
};

describe('reference meter Modbus face', () => {
  let pty: Awaited<ReturnType<typeof ptyPair>>;
  let face: Awaited<ReturnType<typeof serveModbusRtu>>;
  beforeAll(async () => {
    pty = await ptyPair();
    face = await serveModbusRtu(() => values, { path: pty.a, baudRate: 9600 });
  });
  afterAll(async () => {
    await face?.close();
    pty?.close();
  });

  it('serves SDM630 float32 input registers over Modbus RTU on a real PTY', async () => {
    const client = new ModbusRTU();
    await client.connectRTUBuffered(pty.b, { baudRate: 9600 });
    client.setID(1);
    client.setTimeout(1000);
    try {
      expect(float((await client.readInputRegisters(0x0000, 2)).data)).toBeCloseTo(230.4, 3);
      expect(float((await client.readInputRegisters(0x000c, 2)).data)).toBeCloseTo(7361.5, 2);
      expect(float((await client.readInputRegisters(0x0048, 2)).data)).toBeCloseTo(12.345, 3);
      expect(float((await client.readInputRegisters(0x0200, 2)).data)).toBe(7);
      await expect(client.readInputRegisters(0x0100, 2)).rejects.toMatchObject({ modbusCode: 2 });
    } finally {
      await new Promise<void>((r) => client.close(() => r()));
    }
  });

  it('drops frames with a bad CRC and truncated frames without crashing, then answers the next good request', async () => {
    const raw = new SerialPort({ path: pty.b, baudRate: 9600, autoOpen: false });
    await new Promise<void>((r, j) => raw.open((e) => (e ? j(e) : r())));
    const replies: Buffer[] = [];
    raw.on('data', (d: Buffer) => replies.push(d));
    // read input registers 0x0000 ×2 with a corrupted CRC, then a truncated frame
    raw.write(Buffer.from([0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0xde, 0xad]));
    await new Promise((r) => setTimeout(r, 100));
    raw.write(Buffer.from([0x01, 0x04, 0x00]));
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.concat(replies).length).toBe(0);
    expect(face.stats.badCrc).toBe(1);
    expect(face.stats.malformed).toBe(1);
    await new Promise<void>((r) => raw.close(() => r()));
    const client = new ModbusRTU();
    await client.connectRTUBuffered(pty.b, { baudRate: 9600 });
    client.setID(1);
    client.setTimeout(1000);
    expect(float((await client.readInputRegisters(0x0006, 2)).data)).toBeCloseTo(32.1, 3);
    await new Promise<void>((r) => client.close(() => r()));
  });

  it('serves the same map over Modbus TCP', async () => {
    const port = 15_000 + Math.floor(Math.random() * 20_000);
    const tcp = await serveModbusTcp(() => values, { host: '127.0.0.1', port });
    const client = new ModbusRTU();
    try {
      await client.connectTCP('127.0.0.1', { port });
      client.setID(1);
      expect(float((await client.readInputRegisters(0x0000, 2)).data)).toBeCloseTo(230.4, 3);
    } finally {
      await new Promise<void>((r) => client.close(() => r()));
      await tcp.close();
    }
  });
});
