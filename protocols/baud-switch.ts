import { realpathSync } from 'node:fs';
import type { SerialPort } from 'serialport';

/** True for a pseudo-terminal (Linux /dev/pts/N, macOS /dev/ttysN), e.g. one end of a socat pair. */
export function isPseudoTerminal(path: string): boolean {
  try {
    return /^\/dev\/(pts\/|ttys)/.test(realpathSync(path));
  } catch {
    return false;
  }
}

/**
 * Switches a port's baud rate mid-session (IEC 62056-21 mode C after the option select).
 * serialport's update() flushes both queues (tcflush TCIOFLUSH). On a UART that is harmless after a drain, but a
 * PTY has no baud rate and its "sent" bytes still sit in the peer's buffer, where that flush would drop the
 * message just sent. So on a PTY the switch is agreed in the protocol and the line is left as it is.
 */
export function switchBaudRate(port: SerialPort, baudRate: number): Promise<void> {
  if (isPseudoTerminal(port.path)) return Promise.resolve();
  return new Promise((resolve, reject) => port.update({ baudRate }, (e) => (e ? reject(e) : resolve())));
}
