import type { InProcessEndpoint } from '../transports/sim.js';
import { closeTtyPort, openTtyPort } from '../transports/tty-port.js';

/** Serves a line-oriented emulator on one end of a PTY (or a real serial port). */
export async function serveLinesOnSerial(
  path: string,
  endpoint: InProcessEndpoint,
  opts: { baudRate?: number; terminator?: string } = {},
): Promise<{ close(): Promise<void> }> {
  const term = opts.terminator ?? '\n';
  const port = await openTtyPort(path, { baudRate: opts.baudRate ?? 115200 });
  let buf = '';
  // Lines are answered strictly in order, as an instrument on one line does, even when the endpoint is async.
  let answering: Promise<void> = Promise.resolve();
  port.on('data', (chunk: Buffer) => {
    buf += chunk.toString('latin1');
    let i = buf.indexOf(term);
    while (i >= 0) {
      const line = Buffer.from(buf.slice(0, i), 'latin1');
      buf = buf.slice(i + term.length);
      answering = answering.then(async () => {
        for (const r of await endpoint.handle(line)) {
          if (!port.destroyed) port.write(Buffer.concat([r, Buffer.from(term)]));
        }
      });
      i = buf.indexOf(term);
    }
  });
  // The far end going away (EIO) ends the stream; whoever runs the emulator decides about a restart.
  port.on('error', () => undefined);
  return { close: () => closeTtyPort(port) };
}
