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
      // Inside the map's range an address without a parameter reads 0, as the SDM630 answers; outside it, 02.
      expect(float((await client.readInputRegisters(0x0100, 2)).data)).toBe(0);
      await expect(client.readInputRegisters(0x017e, 2)).rejects.toMatchObject({ modbusCode: 2 });
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

describe('the SDM630 map as Eastron publishes it, read by a Modbus master in blocks', () => {
  // A single-phase meter's values: L1 carries them, L2 and L3 read 0; the system values are its totals.
  const live = {
    ...newLiveValues(),
    voltage: 231.2,
    current: 10.5,
    activePower: 2184.8,
    reactivePower: 728.3,
    powerFactor: 0.9,
    frequency: 49.98,
    importKWh: 123.456,
    exportKWh: 1.5,
    importKVarh: 7.25,
    exportKVarh: 0.5,
    currentThd: 12.5,
  };
  let pty: Awaited<ReturnType<typeof ptyPair>>;
  let face: Awaited<ReturnType<typeof serveModbusRtu>>;
  let client: ModbusClient;
  beforeAll(async () => {
    pty = await ptyPair();
    face = await serveModbusRtu(() => live, { path: pty.a, baudRate: 9600 });
    client = new ModbusRTU();
    await client.connectRTUBuffered(pty.b, { baudRate: 9600 });
    client.setID(1);
    client.setTimeout(1000);
  });
  afterAll(async () => {
    await new Promise<void>((r) => client.close(() => r()));
    await face?.close();
    pty?.close();
  });
  const floats = (words: number[]) => Array.from({ length: words.length / 2 }, (_, i) => float(words.slice(2 * i)));

  it('answers a block of the phase voltages, currents and powers with the values the meter computed', async () => {
    const block = floats((await client.readInputRegisters(0x0000, 0x2a)).data);
    const [v1, v2, v3, i1, i2, i3, p1, p2, p3, s1, , , q1, , , pf1, , , a1] = block;
    expect([v1, v2, v3]).toEqual([expect.closeTo(231.2, 3), 0, 0]);
    expect([i1, i2, i3]).toEqual([expect.closeTo(10.5, 4), 0, 0]);
    expect([p1, p2, p3]).toEqual([expect.closeTo(2184.8, 2), 0, 0]);
    expect(s1).toBeCloseTo(231.2 * 10.5, 1);
    expect(q1).toBeCloseTo(728.3, 2);
    expect(pf1).toBeCloseTo(0.9, 5);
    expect(a1).toBeCloseTo((Math.atan2(728.3, 2184.8) * 180) / Math.PI, 3);
  });

  it('answers the totals, frequency and energies, total kWh at 0x0156 and the per-phase energies', async () => {
    const sys = floats((await client.readInputRegisters(0x0034, 0x1c)).data);
    expect(sys[0]).toBeCloseTo(2184.8, 2); // 0x0034 total system power
    expect(sys[9]).toBeCloseTo(49.98, 4); // 0x0046 frequency
    expect(sys.slice(10, 14)).toEqual([
      expect.closeTo(123.456, 3),
      expect.closeTo(1.5, 5),
      expect.closeTo(7.25, 5),
      expect.closeTo(0.5, 5),
    ]);
    const energies = floats((await client.readInputRegisters(0x0156, 0x28)).data);
    expect(energies[0]).toBeCloseTo(124.956, 3); // total kWh = import + export
    expect(energies[1]).toBeCloseTo(7.75, 4); // total kvarh
    expect(energies.slice(2, 5)).toEqual([expect.closeTo(123.456, 3), 0, 0]); // L1–L3 import kWh
    expect(floats((await client.readInputRegisters(0x00f0, 2)).data)[0]).toBeCloseTo(12.5, 4); // L1 current THD
    // Neutral current of a single-phase meter: the phase current.
    expect(floats((await client.readInputRegisters(0x00e0, 2)).data)[0]).toBeCloseTo(10.5, 4);
  });

  it('reads across gaps as 0, refuses more than 40 parameters (03) and any address past the map (02)', async () => {
    expect(floats((await client.readInputRegisters(0x0000, 80)).data)).toHaveLength(40);
    await expect(client.readInputRegisters(0x0000, 81)).rejects.toMatchObject({ modbusCode: 3 });
    expect(floats((await client.readInputRegisters(0x0140, 0x3e)).data).slice(0, 7)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    await expect(client.readInputRegisters(0x0170, 0x10)).rejects.toMatchObject({ modbusCode: 2 });
  });

  it('keeps its settings in holding registers: read with 03, written with 16 where the meter allows it', async () => {
    const setting = async (address: number) => float((await client.readHoldingRegisters(address, 2)).data);
    const words = (x: number) => {
      const b = Buffer.alloc(4);
      b.writeFloatBE(x);
      return [b.readUInt16BE(0), b.readUInt16BE(2)];
    };
    expect(await setting(0x0002)).toBe(60); // demand period, minutes
    expect(await setting(0x000a)).toBe(3); // system type 3P4W
    await client.writeRegisters(0x0002, words(15));
    expect(await setting(0x0002)).toBe(15);
    await expect(client.writeRegisters(0x0002, words(7))).rejects.toMatchObject({ modbusCode: 3 });
    await expect(client.writeRegisters(0x0000, words(5))).rejects.toMatchObject({ modbusCode: 2 });
    expect(await setting(0x0002)).toBe(15);
    await expect(client.readHoldingRegisters(0x0058, 2)).rejects.toMatchObject({ modbusCode: 2 });
  });

  it('follows a new node address: from the next request it answers there and no longer at the old one', async () => {
    const words = (x: number) => {
      const b = Buffer.alloc(4);
      b.writeFloatBE(x);
      return [b.readUInt16BE(0), b.readUInt16BE(2)];
    };
    await client.writeRegisters(0x0014, words(7));
    const before = face.stats.otherUnit;
    await expect(client.readInputRegisters(0x0000, 2)).rejects.toThrow(/timed out/i);
    expect(face.stats.otherUnit).toBe(before + 1);
    client.setID(7);
    try {
      expect(float((await client.readInputRegisters(0x0000, 2)).data)).toBeGreaterThan(0);
      expect(float((await client.readHoldingRegisters(0x0014, 2)).data)).toBe(7);
    } finally {
      // Back to 1 for whatever runs after.
      await client.writeRegisters(0x0014, words(1));
      client.setID(1);
    }
  });
});
