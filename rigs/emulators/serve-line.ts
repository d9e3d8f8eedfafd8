import { SerialPort } from 'serialport';
import type { InProcessEndpoint } from '../transports/sim.js';

/** Serves a line-oriented emulator on one end of a PTY (or a real serial port). */
export async function serveLinesOnSerial(
  path: string,
  endpoint: InProcessEndpoint,
  opts: { baudRate?: number; terminator?: string } = {},
): Promise<{ close(): Promise<void>; port: SerialPort }> {
  const term = opts.terminator ?? '\n';
  const port = new SerialPort({ path, baudRate: opts.baudRate ?? 115200, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  let buf = '';
  port.on('data', async (chunk: Buffer) => {
    buf += chunk.toString('latin1');
    let i = buf.indexOf(term);
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + term.length);
      for (const r of await endpoint.handle(Buffer.from(line, 'latin1')))
        port.write(Buffer.concat([r, Buffer.from(term)]));
      i = buf.indexOf(term);
    }
  });
  port.on('error', () => undefined);
  return {
    port,
    close: () => new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r())),
  };
}
