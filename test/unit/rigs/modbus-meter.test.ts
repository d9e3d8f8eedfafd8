import { describe, expect, it } from 'vitest';
import { RigError } from '../../../core/errors.js';
import { ModbusMeterDriver } from '../../../rigs/drivers/modbus-meter.js';
import { type Exchange, hex, ProtocolScript, scriptedBinding, scriptedTcpServer } from './expect-protocol.js';

// Frames written out byte by byte, CRC-16/MODBUS included (computed apart from modbus-serial, so its CRC is checked
// too): FC04 "read input registers", two registers (one float32) per quantity of the SDM630 map.
const READ_VOLTAGE = hex('01 04 00 00 00 02 71 cb'); // 0x0000, the textbook SDM630 voltage request
const READ_POWER = hex('01 04 00 0c 00 02 b1 c8'); // 0x000c active power
const READ_IMPORT = hex('01 04 00 48 00 02 f1 dd'); // 0x0048 import kWh
const VOLTS_230 = hex('01 04 04 43 66 00 00 0e 1f'); // 230.0 (0x43660000)
const WATTS_2000 = hex('01 04 04 44 fa 00 00 cf 45'); // 2000.0
const KWH_12_5 = hex('01 04 04 41 48 00 00 6f ae'); // 12.5

async function rtu(
  exchanges: Exchange[],
  use: (d: ModbusMeterDriver) => Promise<void>,
  opts: { unitId?: number; baudRate?: number; parity?: 'none' | 'even' | 'odd'; timeoutMs?: number } = {},
): Promise<void> {
  const script = new ProtocolScript(exchanges);
  const d = new ModbusMeterDriver(
    'dut',
    {
      kind: 'serial',
      path: '/dev/scripted-modbus',
      baudRate: opts.baudRate,
      parity: opts.parity,
      binding: scriptedBinding(script),
    },
    'sdm630',
    opts.unitId ?? 1,
    opts.timeoutMs ?? 200,
  );
  await d.activate();
  try {
    await use(d);
  } finally {
    await d.deactivate();
  }
  await script.assertDone();
}

describe('Modbus meter driver (sdm630 map) against a scripted RTU line', () => {
  it('reads voltage, power and energy with the exact request and answer frames', async () => {
    await rtu(
      [
        [READ_VOLTAGE, VOLTS_230, { sentAt: { baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1 } }],
        [READ_POWER, WATTS_2000],
        [READ_IMPORT, KWH_12_5],
      ],
      async (d) => {
        expect(await d.readQuantity('voltage')).toBe(230);
        expect(await d.readQuantity('activePower')).toBe(2000);
        expect(await d.readQuantity('importKWh')).toBe(12.5);
        expect(d.latencySamplesMs).toHaveLength(3);
      },
    );
  });

  it("addresses the rig's unit id at the rig's line settings", async () => {
    await rtu(
      [
        [
          hex('07 04 00 00 00 02 71 ad'),
          hex('07 04 04 43 65 80 00 f9 df'),
          { sentAt: { baudRate: 19200, parity: 'even' } },
        ],
      ],
      async (d) => expect(await d.readQuantity('voltage')).toBe(229.5),
      { unitId: 7, baudRate: 19200, parity: 'even' },
    );
  });

  it('an exception answer is the meter’s own error (INSTRUMENT_ERROR naming it); the next read is clean', async () => {
    await rtu(
      [
        [READ_VOLTAGE, hex('01 84 02 c2 c1')], // exception 02: illegal data address
        [READ_VOLTAGE, VOLTS_230],
      ],
      async (d) => {
        const e = await d.readQuantity('voltage').catch((x: unknown) => x);
        expect(e).toBeInstanceOf(RigError);
        expect(e).toMatchObject({ code: 'INSTRUMENT_ERROR', device: 'dut', exitCode: 3 });
        expect(await d.readQuantity('voltage')).toBe(230);
      },
    );
  });

  it('a frame whose byte count is not 4 is a BAD_FRAME, even with a good CRC', async () => {
    await rtu([[READ_VOLTAGE, hex('01 04 06 43 66 00 00 77 df')]], async (d) => {
      await expect(d.readQuantity('voltage')).rejects.toMatchObject({ code: 'BAD_FRAME', device: 'dut' });
    });
  });

  it('a meter that does not answer times out naming it; the late answer is waited out, then reads resume', async () => {
    await rtu(
      [
        [READ_VOLTAGE, null],
        [READ_POWER, WATTS_2000],
      ],
      async (d) => {
        await expect(d.readQuantity('voltage')).rejects.toMatchObject({ code: 'TIMEOUT', device: 'dut' });
        expect(await d.readQuantity('activePower')).toBe(2000);
      },
      { timeoutMs: 100 },
    );
  });

  it('a name the register map does not have is a DIALECT error, nothing sent', async () => {
    await rtu([], async (d) => {
      await expect(d.readQuantity('cosmicRays')).rejects.toMatchObject({ code: 'DIALECT', device: 'dut' });
    });
  });
});

describe('Modbus meter driver against a scripted Modbus TCP server', () => {
  it('sends MBAP frames with increasing transaction ids and reads the answers', async () => {
    const script = new ProtocolScript([
      [hex('00 01 00 00 00 06 01 04 00 00 00 02'), hex('00 01 00 00 00 07 01 04 04 43 66 00 00')],
      [hex('00 02 00 00 00 06 01 04 00 0c 00 02'), hex('00 02 00 00 00 07 01 04 04 44 fa 00 00')],
      // Exception 04 (server device failure).
      [hex('00 03 00 00 00 06 01 04 00 48 00 02'), hex('00 03 00 00 00 03 01 84 04')],
    ]);
    const server = await scriptedTcpServer(script);
    const d = new ModbusMeterDriver('gateway-meter', { kind: 'tcp', host: '127.0.0.1', port: server.port }, 'sdm630');
    try {
      await d.activate();
      expect(await d.readQuantity('voltage')).toBe(230);
      expect(await d.readQuantity('activePower')).toBe(2000);
      await expect(d.readQuantity('importKWh')).rejects.toMatchObject({
        code: 'INSTRUMENT_ERROR',
        device: 'gateway-meter',
      });
    } finally {
      await d.deactivate();
      await server.close();
    }
    await script.assertDone();
  });
});
