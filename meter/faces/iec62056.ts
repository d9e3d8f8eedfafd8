import { setTimeout as sleep } from 'node:timers/promises';
import { SerialPort } from 'serialport';
import { switchBaudRate } from '../../protocols/baud-switch.js';
import { type LiveValues, phasesOf } from './register-map.js';

/** Baud-rate characters of IEC 62056-21 mode C: '0'..'6' → 300..19200 baud. */
export const BAUD_CHARS: Record<string, number> = {
  '0': 300,
  '1': 600,
  '2': 1200,
  '3': 2400,
  '4': 4800,
  '5': 9600,
  '6': 19200,
};
const STX = 0x02;
const ETX = 0x03;
const ACK = 0x06;
/**
 * IEC 62056-21 §6.3.14: the meter answers a message no sooner than tr = 200 ms after it. The client relies on
 * it, e.g. to switch its own baud rate after the option select before the data block starts.
 */
export const MIN_REACTION_MS = 200;
/** A sign-on `/?[device address]!` (the address: at most 32 letters, digits or spaces) at the end of a line. */
const SIGN_ON = /\/\?[A-Za-z0-9 ]{0,32}!$/;
/** Characters kept of a line that has not ended (longer than any message). */
const LINE_TAIL = 256;

/** Block check character: XOR of every byte after STX up to and including ETX. */
export function bcc(bytes: Uint8Array): number {
  let x = 0;
  for (const b of bytes) x ^= b;
  return x;
}

export interface ReadoutIdentity {
  manufacturer: string;
  identification: string;
  serial: string;
  firmware: string;
  /** Highest baud character the meter offers. */
  maxBaud: keyof typeof BAUD_CHARS;
}

/** OBIS data items of the readout (value formatted, unit), from the live values. */
export function readoutItems(v: LiveValues, id: ReadoutIdentity, now: Date): Array<[string, string]> {
  const n = (x: number, w: number, d: number) => x.toFixed(d).padStart(w + d + 1, '0');
  const iso = now.toISOString();
  return [
    ['C.1.0', id.serial],
    ['0.2.0', id.firmware],
    ['0.9.1', iso.slice(11, 19).replaceAll(':', '')],
    ['0.9.2', iso.slice(2, 10).replaceAll('-', '')],
    ['1.8.0', `${n(v.importKWh, 6, 3)}*kWh`],
    ['2.8.0', `${n(v.exportKWh, 6, 3)}*kWh`],
    ['3.8.0', `${n(v.importKVarh, 6, 3)}*kvarh`],
    ['4.8.0', `${n(v.exportKVarh, 6, 3)}*kvarh`],
    ['1.7.0', `${n(v.activePower / 1000, 3, 3)}*kW`],
    ['32.7.0', `${n(v.voltage, 3, 1)}*V`],
    ['31.7.0', `${n(v.current, 3, 2)}*A`],
    ['14.7.0', `${n(v.frequency, 2, 2)}*Hz`],
    ...phaseItems(v, n),
  ];
}

/**
 * Per-phase OBIS codes (IEC 62056-61, value group C = 20 × phase + quantity): voltage 32/52/72, current 31/51/71,
 * power factor 33/53/73, active power import 21/41/61 and export 22/42/62 (.7.0, kW), their energies (.8.0, kWh).
 * Phases the meter has: L1 alone on a single-phase meter. L1's voltage and current are the 32.7.0 and 31.7.0 above.
 */
function phaseItems(v: LiveValues, n: (x: number, w: number, d: number) => string): Array<[string, string]> {
  const phases = phasesOf(v).slice(0, v.phases ? 3 : 1);
  return phases.flatMap((p, i) => {
    const c = (q: number) => 20 * i + q;
    const perPhase: Array<[string, string]> = [
      [`${c(21)}.7.0`, `${n(Math.max(0, p.activePower) / 1000, 3, 3)}*kW`],
      [`${c(22)}.7.0`, `${n(Math.max(0, -p.activePower) / 1000, 3, 3)}*kW`],
      [`${c(33)}.7.0`, `${n(p.powerFactor, 1, 3)}`],
      [`${c(21)}.8.0`, `${n(p.importKWh, 6, 3)}*kWh`],
      [`${c(22)}.8.0`, `${n(p.exportKWh, 6, 3)}*kWh`],
    ];
    if (i === 0) return perPhase;
    return [
      [`${c(32)}.7.0`, `${n(p.voltage, 3, 1)}*V`] as [string, string],
      [`${c(31)}.7.0`, `${n(p.current, 3, 2)}*A`] as [string, string],
      ...perPhase,
    ];
  });
}

/** The data block: STX, `OBIS(value)` lines, `!`, ETX, BCC. */
export function dataBlock(items: ReadonlyArray<[string, string]>): Buffer {
  const body = Buffer.from(`${items.map(([o, val]) => `${o}(${val})\r\n`).join('')}!\r\n`, 'latin1');
  const framed = Buffer.concat([body, Buffer.from([ETX])]);
  return Buffer.concat([Buffer.from([STX]), framed, Buffer.from([bcc(framed)])]);
}

/**
 * IEC 62056-21 mode C optical readout: sign-on `/?!` at 300 baud 7E1, identification `/XXXZident`, the
 * client's option select `ACK 0 Z 0`, a switch to the agreed baud rate, then the data block with its BCC.
 */
export async function serveIec62056(
  values: () => LiveValues,
  id: ReadoutIdentity,
  opts: { path: string; reactionMs?: number },
): Promise<{ close(): Promise<void>; sessions: () => number }> {
  const reactionMs = opts.reactionMs ?? MIN_REACTION_MS;
  const port = new SerialPort({
    path: opts.path,
    baudRate: 300,
    dataBits: 7,
    parity: 'even',
    stopBits: 1,
    autoOpen: false,
  });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  let sessions = 0;
  let offered = false;
  const write = (data: Buffer | string) =>
    new Promise<void>((resolve) => port.write(data, () => port.drain(() => resolve())));
  // Answers go out one after another, each after the reaction time, in the order of the messages they answer (a NAK
  // must not overtake the identification sent before it).
  let answering: Promise<void> = Promise.resolve();
  const answer = (send: () => Promise<void>) => {
    answering = answering
      .then(async () => {
        await sleep(reactionMs);
        await send();
      })
      .catch(() => undefined);
  };
  const onLine = (line: string) => {
    // A sign-on may come after line noise (ambient light on the optical head): only its own characters count.
    if (SIGN_ON.test(line)) {
      offered = true;
      answer(() => write(`/${id.manufacturer}${id.maxBaud}${id.identification}\r\n`));
      return;
    }
    const text = line.replace(/^[\s\0]+/, '');
    if (offered && text.charCodeAt(0) === ACK && text.length === 4 && text[1] === '0' && text[3] === '0') {
      offered = false;
      const z = text[2] as string;
      const baud = BAUD_CHARS[z];
      if (baud === undefined || z > id.maxBaud) {
        answer(() => write(Buffer.from([0x15]))); // NAK: a rate the meter did not offer
        return;
      }
      answer(async () => {
        await switchBaudRate(port, baud);
        await write(dataBlock(readoutItems(values(), id, new Date())));
        // A readout is complete once its block is out; the switch back to 300 Bd only readies the next sign-on.
        sessions++;
        await switchBaudRate(port, 300);
      });
    }
  };
  // Lines end in CR LF. Only a line's last characters can make it a message (a sign-on is at most 36, an option
  // select 4), so a line that never ends keeps just those: babble on the port cannot grow the buffer.
  let pending = '';
  port.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('latin1')).split('\r\n');
    pending = (lines.pop() as string).slice(-LINE_TAIL);
    for (const line of lines) onLine(line.slice(-LINE_TAIL));
  });
  port.on('error', () => undefined);
  return {
    sessions: () => sessions,
    close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}
