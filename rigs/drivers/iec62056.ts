import { SerialPort, type SerialPortOpenOptions } from 'serialport';
import { RigError } from '../../core/errors.js';
import { switchBaudRate } from '../../protocols/baud-switch.js';
import type { SerialBinding } from '../transports/serial.js';

/** The rig-file dialect name of an IEC 62056-21 (mode C) optical port. */
export const IEC_DIALECT = 'iec62056-21';

const BAUDS = [300, 600, 1200, 2400, 4800, 9600, 19200];
/** tr max (1500 ms, IEC 62056-21 §6.3.14) plus an identification line's time at 300 Bd. */
const SIGN_ON_WAIT_MS = 2500;
const STX = 0x02;
const ETX = 0x03;

export interface ReadoutResult {
  /** Identification line without the leading '/': manufacturer (3), baud char, identification. */
  manufacturer: string;
  baud: number;
  identification: string;
  /** OBIS code → { value, unit }. */
  items: Record<string, { value: string; unit?: string; number?: number }>;
}

/** Parses an OBIS data block body ("1.8.0(000012.345*kWh)\r\n ... !"). */
export function parseObis(body: string): ReadoutResult['items'] {
  const items: ReadoutResult['items'] = {};
  for (const m of body.matchAll(/([0-9A-Z.:*-]+)\(([^)*]*)(?:\*([^)]*))?\)/g)) {
    const value = m[2] as string;
    const n = Number(value);
    items[m[1] as string] = { value, unit: m[3], number: value !== '' && Number.isFinite(n) ? n : undefined };
  }
  return items;
}

/**
 * IEC 62056-21 mode C readout: sign-on `/?!` at 300 baud 7E1, identification, option select ACK 0 Z 0, switch to
 * the offered baud, data block STX … ETX BCC with the BCC checked. Errors are RigErrors naming the instrument.
 */
export async function readIec62056(
  device: string,
  path: string,
  opts: { timeoutMs?: number; maxBaud?: number; binding?: SerialBinding } = {},
): Promise<ReadoutResult> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const port = new SerialPort({
    path,
    baudRate: 300,
    dataBits: 7,
    parity: 'even',
    stopBits: 1,
    autoOpen: false,
    // SerialPort's options type leaves `binding` out, yet its constructor takes one over the detected binding.
    ...(opts.binding && { binding: opts.binding }),
  } as SerialPortOpenOptions<never>);
  const fail = (message: string, code: string) => new RigError(message, { device, code });
  /** Every step of the readout is bounded: a line that stops mid-step must end the readout, not the poll loop. */
  const bounded = <T>(what: string, step: (done: (value: T) => void, failed: (e: Error) => void) => void) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(fail(`${what} not done within ${timeoutMs} ms`, 'TIMEOUT')), timeoutMs);
      step(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  await bounded<void>('open', (done, failed) =>
    port.open((e) =>
      e ? failed(new RigError(`cannot open ${path}: ${e.message}`, { device, code: 'OPEN' })) : done(),
    ),
  );
  let buf = Buffer.alloc(0);
  let notify: (() => void) | undefined;
  port.on('data', (b: Buffer) => {
    buf = Buffer.concat([buf, b]);
    notify?.();
  });
  port.on('error', () => undefined);
  const waitFor = async (pred: (b: Buffer) => number, what: string, waitMs = timeoutMs): Promise<Buffer> => {
    // A flag, not a clock comparison: a timer may fire a fraction of a millisecond before performance.now() says
    // the time is up, and a comparison would then wait for bytes that never come.
    let expired = false;
    const deadline = setTimeout(() => {
      expired = true;
      notify?.();
    }, waitMs);
    try {
      for (;;) {
        const n = pred(buf);
        if (n > 0) {
          const out = buf.subarray(0, n);
          buf = buf.subarray(n);
          return out;
        }
        if (expired) throw fail(`no ${what} within ${waitMs} ms`, 'TIMEOUT');
        await new Promise<void>((r) => {
          notify = r;
        });
      }
    } finally {
      clearTimeout(deadline);
      notify = undefined;
    }
  };
  const write = (data: string | Buffer) =>
    bounded<void>('write', (done, failed) =>
      port.write(data, (e) => (e ? failed(fail(`write failed: ${e.message}`, 'WRITE')) : port.drain(() => done()))),
    );
  try {
    // A meter may miss a sign-on (it was still switching back to 300 Bd after the last readout, which flushes its
    // input); it answers within tr ≤ 1500 ms plus the identification's line time, so no answer by then means resend.
    const signOnWaitMs = Math.min(timeoutMs, SIGN_ON_WAIT_MS);
    let idLine = '';
    for (let attempt = 1; ; attempt++) {
      await write('/?!\r\n');
      try {
        const line = await waitFor(
          (b) => (b.indexOf('\r\n') >= 0 ? b.indexOf('\r\n') + 2 : 0),
          'identification',
          signOnWaitMs,
        );
        idLine = line
          .toString('latin1')
          .replace(/^[\s\0]+/, '')
          .trimEnd();
        break;
      } catch (e) {
        if ((e as RigError).code !== 'TIMEOUT' || attempt * signOnWaitMs >= timeoutMs) throw e;
      }
    }
    const m = /^\/([A-Za-z]{3})(\d)(.*)$/.exec(idLine);
    if (!m) throw fail(`bad identification "${idLine}"`, 'IDENTITY');
    const offered = Number(m[2]);
    const z = Math.min(offered, opts.maxBaud === undefined ? 6 : BAUDS.indexOf(opts.maxBaud));
    const baud = BAUDS[z];
    if (baud === undefined) throw fail(`identification offers unknown baud character ${m[2]}`, 'IDENTITY');
    await write(Buffer.from([0x06, 0x30, 0x30 + z, 0x30, 0x0d, 0x0a]));
    await bounded<void>('baud switch', (done, failed) => switchBaudRate(port, baud).then(done, failed));
    const block = await waitFor((b) => {
      const s = b.indexOf(STX);
      const e = b.indexOf(ETX, s + 1);
      return s >= 0 && e >= 0 && b.length > e + 1 ? e + 2 : 0;
    }, 'data block');
    const s = block.indexOf(STX);
    const framed = block.subarray(s + 1, block.length - 1);
    let x = 0;
    for (const b of framed) x ^= b;
    if (x !== block[block.length - 1]) throw fail('data block BCC mismatch', 'BAD_FRAME');
    const body = framed.subarray(0, framed.length - 1).toString('latin1');
    if (!body.trimEnd().endsWith('!')) throw fail('data block without end "!"', 'BAD_FRAME');
    return { manufacturer: m[1] as string, baud, identification: m[3] as string, items: parseObis(body) };
  } finally {
    if (port.isOpen) await bounded<void>('close', (done) => port.close(() => done())).catch(() => undefined);
  }
}
