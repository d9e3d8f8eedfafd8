import { describe, expect, it } from 'vitest';
import { RigError } from '../../../core/errors.js';
import { readIec62056 } from '../../../rigs/drivers/iec62056.js';
import { type Exchange, ProtocolScript, scriptedBinding } from './expect-protocol.js';

// IEC 62056-21 mode C, byte for byte: sign-on at 300 Bd 7E1, identification, option select (ACK 0 Z 0), then the
// data block STX … ! CR LF ETX BCC at the baud the identification offered (BCC = XOR of every byte after STX up to
// and including ETX, worked out by hand below).
const SIGN_ON = '/?!\r\n';
const AT_300_7E1 = { sentAt: { baudRate: 300, dataBits: 7, parity: 'even', stopBits: 1 } };
const IDENT = '/BEN5EMU62056\r\n'; // manufacturer BEN, baud character 5 (9600 Bd), identification EMU62056
const BODY =
  'F.F(00000000)\r\n0.0.0(00000001)\r\n1.8.0(000012.345*kWh)\r\n2.8.0(000000.000*kWh)\r\n16.7.0(02.300*kW)\r\n!\r\n';
const BLOCK = `\x02${BODY}\x03\x37`;
const ACK_9600 = '\x06050\r\n';

async function readout(exchanges: Exchange[], opts: { maxBaud?: number; timeoutMs?: number } = {}) {
  const script = new ProtocolScript(exchanges);
  const binding = scriptedBinding(script);
  const result = await readIec62056('optical', '/dev/scripted-iec', { timeoutMs: 1000, ...opts, binding }).catch(
    (e: unknown) => e,
  );
  await script.assertDone();
  return { result, binding };
}

describe('IEC 62056-21 mode C driver against a scripted optical port', () => {
  it('signs on at 300 Bd 7E1, selects the offered 9600 Bd and reads the block only after switching', async () => {
    const { result, binding } = await readout([
      [SIGN_ON, IDENT, AT_300_7E1],
      // The meter answers at 9600 Bd: a driver that did not switch would never see the block.
      [ACK_9600, BLOCK, { ...AT_300_7E1, replyAt: { baudRate: 9600, dataBits: 7, parity: 'even' } }],
    ]);
    expect(result).toEqual({
      manufacturer: 'BEN',
      baud: 9600,
      identification: 'EMU62056',
      items: {
        'F.F': { value: '00000000', unit: undefined, number: 0 },
        '0.0.0': { value: '00000001', unit: undefined, number: 1 },
        '1.8.0': { value: '000012.345', unit: 'kWh', number: 12.345 },
        '2.8.0': { value: '000000.000', unit: 'kWh', number: 0 },
        '16.7.0': { value: '02.300', unit: 'kW', number: 2.3 },
      },
    });
    expect(binding.opens).toBe(1);
  });

  it('caps the baud at the rig’s maximum (ACK 0 3 0 for 2400 Bd)', async () => {
    const { result } = await readout(
      [
        [SIGN_ON, IDENT, AT_300_7E1],
        ['\x06030\r\n', BLOCK, { ...AT_300_7E1, replyAt: { baudRate: 2400 } }],
      ],
      { maxBaud: 2400 },
    );
    expect(result).toMatchObject({ baud: 2400, identification: 'EMU62056' });
  });

  it('a block whose BCC does not match is a BAD_FRAME naming the instrument', async () => {
    const { result } = await readout([
      [SIGN_ON, IDENT, AT_300_7E1],
      [ACK_9600, `\x02${BODY}\x03\x38`, { replyAt: { baudRate: 9600 } }],
    ]);
    expect(result).toBeInstanceOf(RigError);
    expect(result).toMatchObject({ code: 'BAD_FRAME', device: 'optical', exitCode: 3 });
    expect((result as Error).message).toMatch(/BCC mismatch/);
  });

  it('a block without the end "!" is a BAD_FRAME even with a good BCC', async () => {
    const { result } = await readout([
      [SIGN_ON, IDENT, AT_300_7E1],
      [ACK_9600, '\x021.8.0(000001.000*kWh)\r\n\x03\x5d', { replyAt: { baudRate: 9600 } }],
    ]);
    expect(result).toMatchObject({ code: 'BAD_FRAME', device: 'optical' });
    expect((result as Error).message).toMatch(/without end "!"/);
  });

  it('an identification that is not /XXXZ… is an IDENTITY error naming the instrument; nothing more is sent', async () => {
    const { result } = await readout([[SIGN_ON, 'HELLO METER\r\n', AT_300_7E1]]);
    expect(result).toMatchObject({ code: 'IDENTITY', device: 'optical', exitCode: 3 });
    expect((result as Error).message).toContain('bad identification "HELLO METER"');
  });

  it('resends a sign-on the meter missed (no identification within tr max + line time), then reads', async () => {
    const { result } = await readout(
      [
        [SIGN_ON, null, AT_300_7E1],
        [SIGN_ON, IDENT, AT_300_7E1],
        [ACK_9600, BLOCK, { replyAt: { baudRate: 9600 } }],
      ],
      { timeoutMs: 6000 },
    );
    expect(result).toMatchObject({ baud: 9600, items: { '1.8.0': { number: 12.345 } } });
  });
});
