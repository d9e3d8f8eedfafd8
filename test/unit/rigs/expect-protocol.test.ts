import { SerialPort, type SerialPortOpenOptions } from 'serialport';
import { describe, expect, it } from 'vitest';
import { type Exchange, hex, ProtocolScript, scriptedBinding } from './expect-protocol.js';

/** The helper is the oracle of every driver's scripted test: it must fail each way a driver can stray. */
async function withPort(script: ProtocolScript, use: (port: SerialPort) => Promise<void>): Promise<void> {
  const port = new SerialPort({
    path: '/dev/scripted',
    baudRate: 9600,
    autoOpen: false,
    binding: scriptedBinding(script),
  } as SerialPortOpenOptions<never>);
  await new Promise<void>((r, j) => port.open((e) => (e ? j(e) : r())));
  try {
    await use(port);
  } finally {
    await new Promise<void>((r) => port.close(() => r()));
  }
}

const write = (port: SerialPort, b: number[]) =>
  new Promise<void>((r, j) => port.write(Buffer.from(b), (e) => (e ? j(e) : port.drain(() => r()))));
const nextData = (port: SerialPort) => new Promise<Buffer>((r) => port.once('data', r));

async function failure(exchanges: Exchange[], use: (port: SerialPort) => Promise<void>): Promise<string> {
  const script = new ProtocolScript(exchanges);
  await withPort(script, use);
  return script.assertDone().then(
    () => 'passed',
    (e: Error) => e.message,
  );
}

describe('expect-protocol (byte scripts over serialport’s mock binding)', () => {
  it('passes a driver that follows the script, frames split or merged across writes', async () => {
    const script = new ProtocolScript([
      [hex('01 02'), hex('aa')],
      [hex('03'), null],
      [null, hex('bb')],
    ]);
    await withPort(script, async (port) => {
      const a = nextData(port);
      await write(port, [0x01]);
      await write(port, [0x02]);
      expect([...(await a)]).toEqual([0xaa]);
      const b = nextData(port);
      await write(port, [0x03]);
      expect([...(await b)]).toEqual([0xbb]);
    });
    await script.assertDone();
  });

  it('fails a wrong byte, naming the exchange', async () => {
    expect(await failure([[hex('01 02'), null]], (port) => write(port, [0x01, 0x09]))).toMatch(
      /exchange 1: driver sent \[01 09\], the script expects \[01 02\]/,
    );
  });

  it('fails bytes beyond the script', async () => {
    expect(await failure([[hex('01'), null]], (port) => write(port, [0x01, 0x02]))).toMatch(
      /driver sent \[02\] after exchange 1 of 1/,
    );
  });

  it('fails an exchange that never happened and a half-sent frame', async () => {
    const m = await failure([[hex('01 02'), null]], (port) => write(port, [0x01]));
    expect(m).toMatch(/exchange 1 of 1 never happened/);
    expect(m).toMatch(/a frame was left half sent: \[01\]/);
  });

  it('fails an answer the driver never read off the line', async () => {
    // The port is closed before its pending read can take the answer.
    const m = await failure([[hex('01'), hex('aa bb')]], async (port) => {
      port.pause();
      await write(port, [0x01]);
      await new Promise((r) => setImmediate(r));
    });
    expect(m).toMatch(/2 answered bytes were never read off the line/);
  });

  it('holds an answer until the line has the settings it is sent at, and fails when it never gets there', async () => {
    const m = await failure(
      [[hex('01'), hex('aa'), { sentAt: { baudRate: 9600 }, replyAt: { baudRate: 19200 } }]],
      (port) => write(port, [0x01]),
    );
    expect(m).toMatch(/the answer of exchange 1 never went out \(waiting for the line at \{"baudRate":19200\}/);
    expect(await failure([[hex('01'), null, { sentAt: { baudRate: 300 } }]], (port) => write(port, [0x01]))).toMatch(
      /exchange 1: sent at \{"baudRate":9600,.*the script expects \{"baudRate":300\}/,
    );
  });
});
