import { setTimeout as sleep } from 'node:timers/promises';
import crc16 from 'modbus-serial/utils/crc16.js';
import { SerialPortMock } from 'serialport';
import { afterAll, beforeAll } from 'vitest';
import { RigError } from '../../core/errors.js';
import type { Random } from '../../core/random.js';
import { openPtyPair, type PtyPair, requireSocat } from '../../rigs/emulators/pty.js';
import type { SerialBinding } from '../../rigs/transports/serial.js';
import { closeTtyPort, openTtyPort, type TtyPort } from '../../rigs/transports/tty-port.js';

/** Shared pieces of the fuzz tests (driver-fuzz, face-fuzz): seeded generators and an outcome tally. */

export const pick = <T>(rnd: Random, xs: readonly T[]): T => xs[Math.floor(rnd.next() * xs.length)] as T;
export const int = (rnd: Random, lo: number, hi: number) => lo + Math.floor(rnd.next() * (hi - lo + 1));
export const bytes = (rnd: Random, n: number) => Buffer.from(Array.from({ length: n }, () => int(rnd, 0, 255)));

export function weighted<K>(rnd: Random, table: ReadonlyArray<readonly [K, number]>): K {
  const sum = table.reduce((s, [, w]) => s + w, 0);
  let x = rnd.next() * sum;
  for (const [k, w] of table) {
    x -= w;
    if (x < 0) return k;
  }
  return table[table.length - 1]?.[0] as K;
}

/** A garbage line: random bytes without a line end, never blank, never a well-formed answer by accident. */
export function garbageLine(rnd: Random, n: number): Buffer {
  const b = bytes(rnd, n);
  for (let i = 0; i < n; i++) if (b[i] === 0x0a) b[i] = 0x3f;
  b[int(rnd, 0, n - 1)] = pick(
    rnd,
    [...'#?xZ@!%'].map((c) => c.charCodeAt(0)),
  );
  return b;
}

export const withCrc = (body: Buffer | number[]) => {
  const b = Buffer.from(body);
  const out = Buffer.alloc(b.length + 2);
  b.copy(out);
  out.writeUInt16LE(crc16(b), b.length);
  return out;
};

export const until = async (cond: () => boolean) => {
  while (!cond()) await sleep(5);
};

/** The outcome of a rejected driver call: its RigError code, or an UNTYPED marker the assertions catch. */
export function codeOf(e: unknown, device: string): string {
  if (e instanceof RigError) return e.device === device ? e.code : `WRONG_DEVICE ${e.device}`;
  return `UNTYPED ${(e as Error)?.name}: ${(e as Error)?.message}`;
}

/** Runs a driver call to its end: its value, or the typed outcome of its rejection. */
export async function settle<T>(p: Promise<T>, device: string): Promise<{ outcome: string; value?: T }> {
  try {
    return { outcome: 'ok', value: await p };
  } catch (e) {
    return { outcome: codeOf(e, device) };
  }
}

/** target (a driver or face) → kind of fuzzed frame → outcome → count; printed after the file's tests. */
export class Tally {
  private readonly byTarget = new Map<string, Map<string, Map<string, number>>>();

  count(target: string, kind: string, outcome: string, n = 1): void {
    const byKind = this.byTarget.get(target) ?? new Map<string, Map<string, number>>();
    this.byTarget.set(target, byKind);
    const byOutcome = byKind.get(kind) ?? new Map<string, number>();
    byKind.set(kind, byOutcome);
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + n);
  }

  /** Outcomes that are not typed (a plain Error, a RigError naming another device). */
  untyped(target: string): string[] {
    const out: string[] = [];
    for (const [kind, outcomes] of this.byTarget.get(target) ?? [])
      for (const [o, n] of outcomes) if (/^(UNTYPED|WRONG_DEVICE)/.test(o)) out.push(`${kind}: ${o} ×${n}`);
    return out;
  }

  /** Frames counted for a target, optionally only the kinds `where` accepts. */
  total(target: string, where: (kind: string) => boolean = () => true): number {
    let n = 0;
    for (const [kind, outcomes] of this.byTarget.get(target) ?? [])
      if (where(kind)) for (const c of outcomes.values()) n += c;
    return n;
  }

  format(title: string): string {
    const lines: string[] = [];
    for (const [target, byKind] of this.byTarget) {
      lines.push(`${target}: ${this.total(target)}`);
      for (const [kind, outcomes] of byKind)
        lines.push(
          `  ${kind.padEnd(16)} ${[...outcomes]
            .sort()
            .map(([o, n]) => `${o}=${n}`)
            .join(' ')}`,
        );
    }
    return `${title}:\n${lines.join('\n')}`;
  }
}

/**
 * The test's own end of a PTY, on a libuv tty handle like the bench's transports (rigs/transports/tty-port.ts).
 * Not serialport's stream: a port of it that reads while a large write waits for room stops writing for good (its
 * poller never reports "writable" again), which stalls a fuzz burst instead of testing the face.
 */
export async function openSerial(
  path: string,
  opts: { baudRate?: number; dataBits?: 7 | 8; parity?: 'none' | 'even' } = {},
): Promise<TtyPort> {
  const port = await openTtyPort(path, { baudRate: 9600, ...opts });
  port.on('error', () => undefined);
  return port;
}

export const closeSerial = (port?: TtyPort) => (port ? closeTtyPort(port) : Promise.resolve());

/** Writes and waits until the bytes left this end (the peer may not have read them yet). */
export const writeAll = (port: TtyPort, data: Buffer | string) => new Promise<void>((r) => port.write(data, () => r()));

let fuzzPorts = 0;

/**
 * An instrument in process behind serialport's own mock binding (what SerialPortMock uses), for drivers that own
 * their port through a library (modbus-serial, IEC 62056-21): every layer above the OS is the real one. `onSent`
 * gets each write of the driver and answers through `reply`, one macrotask later, as from the far end of a wire.
 */
export function fuzzBinding(onSent: (sent: Buffer, reply: (b: Buffer) => void) => void): SerialBinding {
  const mock = SerialPortMock.binding;
  return {
    list: async () => [],
    async open(options) {
      // The mock keeps its ports in one registry by path: each open gets a line of its own.
      const key = `${options.path}#${fuzzPorts++}`;
      mock.createPort(key, { echo: false, record: false, maxReadSize: 65_536 });
      const port = await mock.open({ ...options, path: key });
      const reply = (b: Buffer) =>
        setImmediate(() => {
          if (port.isOpen) port.emitData(b);
        });
      const write = port.write.bind(port);
      port.write = async (buffer: Buffer) => {
        await write(buffer);
        onSent(Buffer.from(buffer), reply);
      };
      return port;
    },
  };
}

/**
 * PTY pairs for a fuzz file: the file fails (never skips) without socat, and every pair it opened is closed after
 * it. Call at the top level of a test file; the returned function opens one more pair.
 */
export function ptyPool(): () => Promise<PtyPair> {
  const pairs: PtyPair[] = [];
  beforeAll(() => {
    requireSocat();
  });
  afterAll(async () => {
    for (const p of pairs) await p.close();
  });
  return async () => {
    const p = await openPtyPair();
    pairs.push(p);
    return p;
  };
}
