import { createServer, type Socket } from 'node:net';
import { InterByteTimeoutParser } from '@serialport/parser-inter-byte-timeout';
import crc16 from 'modbus-serial/utils/crc16.js';
import { SerialPort } from 'serialport';
import { SDM630_MAX_READ_REGISTERS } from '../../protocols/sdm630.js';
import { type LiveValues, registerWords, Sdm630Settings } from './register-map.js';

export interface ModbusFace {
  close(): Promise<void>;
}

/** MBAP length field bounds: the unit id plus a PDU of 1 to 253 bytes (Modbus Messaging on TCP/IP, 4.1). */
const MBAP_MIN_LENGTH = 2;
const MBAP_MAX_LENGTH = 254;

/**
 * Modbus TCP server (port 502 on a real meter) over the meter's live values, answering with the same register map
 * and exceptions as the RTU face. The MBAP framing is done here rather than by modbus-serial's ServerTCP because
 * that server, fuzzed, answered a protocol id other than Modbus's, stayed silent to functions it does not serve and
 * to cut requests (a client waits out its timeout instead of getting an exception), and kept a connection whose
 * length field no request can have, so every later request on it went unanswered.
 */
export function serveModbusTcp(
  values: () => LiveValues,
  opts: { host: string; port: number; unitId?: number },
): Promise<ModbusFace> {
  const settings = new Sdm630Settings({ nodeAddress: opts.unitId ?? 1 });
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 6) {
        const length = buf.readUInt16BE(4);
        // No request has this length: where the next frame starts is lost, so the connection is closed and the
        // client connects afresh rather than waiting for answers that cannot come.
        if (length < MBAP_MIN_LENGTH || length > MBAP_MAX_LENGTH) {
          sock.destroy();
          return;
        }
        if (buf.length < 6 + length) return;
        const header = buf.subarray(0, 6);
        const req = buf.subarray(6, 6 + length);
        buf = buf.subarray(6 + length);
        // Another protocol id is not Modbus, another unit is not this meter: discarded, as the spec says.
        if (header.readUInt16BE(2) !== 0 || req[0] !== settings.unit) continue;
        // A read whose PDU is cut or too long is answered ILLEGAL DATA VALUE (the RTU face stays silent instead).
        const reply = answer(req, values(), settings) ?? Buffer.from([req[0]!, (req[1] as number) | 0x80, 0x03]);
        const out = Buffer.alloc(6 + reply.length);
        header.copy(out, 0, 0, 4);
        out.writeUInt16BE(reply.length, 4);
        reply.copy(out, 6);
        sock.write(out);
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      resolve({
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

/**
 * Modbus RTU slave on a serial port (a PTY in tests). Framing is done here rather than by modbus-serial's
 * ServerSerial because that server overwrites every request's CRC with a freshly computed one
 * (servers/serverserial.js) and so answers corrupted frames, which the RTU spec forbids. Frames are cut by the
 * inter-byte silence (@serialport/parser-inter-byte-timeout) and checked with modbus-serial's own crc16.
 */
export async function serveModbusRtu(
  values: () => LiveValues,
  opts: { path: string; baudRate?: number; unitId?: number },
): Promise<ModbusFace & { stats: RtuStats }> {
  const port = new SerialPort({ path: opts.path, baudRate: opts.baudRate ?? 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const stats: RtuStats = { requests: 0, answered: 0, badCrc: 0, malformed: 0, otherUnit: 0 };
  const settings = new Sdm630Settings({ nodeAddress: opts.unitId ?? 1 });
  const frames = port.pipe(new InterByteTimeoutParser({ interval: 4 }));
  frames.on('data', (frame: Buffer) => {
    const reply = handleRtuFrame(frame, settings.unit, values(), stats, settings);
    if (reply) port.write(reply);
  });
  return {
    stats,
    close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}

/**
 * One received RTU frame → the framed reply, or undefined when the spec says to stay silent (bad CRC, too short,
 * another unit, an unparseable request). Counts what it saw in `stats`.
 */
export function handleRtuFrame(
  frame: Buffer,
  unit: number,
  v: LiveValues,
  stats: RtuStats,
  settings = new Sdm630Settings(),
): Buffer | undefined {
  stats.requests++;
  if (frame.length < 4) {
    stats.malformed++;
    return undefined;
  }
  if (crc16(frame.subarray(0, -2)) !== frame.readUInt16LE(frame.length - 2)) {
    stats.badCrc++;
    return undefined;
  }
  if (frame[0] !== unit) {
    stats.otherUnit++;
    return undefined;
  }
  const reply = answer(frame.subarray(0, -2), v, settings);
  if (!reply) {
    stats.malformed++;
    return undefined;
  }
  const out = Buffer.alloc(reply.length + 2);
  reply.copy(out);
  out.writeUInt16LE(crc16(reply), reply.length);
  stats.answered++;
  return out;
}

export interface RtuStats {
  requests: number;
  answered: number;
  badCrc: number;
  malformed: number;
  otherUnit: number;
}

/**
 * The PDU answer to a request PDU (unit id included, CRC excluded), as an SDM630 answers: function 04 reads the
 * input map, 03 the settings, 16 writes settings; exceptions per the Modbus spec (01 another function, 02 an address
 * outside the map, 03 a count or value it does not take). Undefined: a request cut short or too long.
 */
export function answer(req: Buffer, v: LiveValues, settings: Sdm630Settings): Buffer | undefined {
  const unit = req[0]!;
  const fn = req[1]!;
  const exception = (code: number) => Buffer.from([unit, fn | 0x80, code]);
  if (fn === 0x10) return writeSettings(req, settings, exception);
  if (fn !== 0x03 && fn !== 0x04) return exception(0x01);
  if (req.length !== 6) return undefined;
  const addr = req.readUInt16BE(2);
  const qty = req.readUInt16BE(4);
  if (qty < 1 || qty > SDM630_MAX_READ_REGISTERS) return exception(0x03);
  const words = fn === 0x04 ? registerWords(v) : undefined;
  const body = Buffer.alloc(3 + qty * 2);
  body[0] = unit;
  body[1] = fn;
  body[2] = qty * 2;
  for (let k = 0; k < qty; k++) {
    const w = words ? words.get(addr + k) : settings.word(addr + k);
    if (w === undefined) return exception(0x02);
    body.writeUInt16BE(w, 3 + k * 2);
  }
  return body;
}

/** Function 16 (write multiple registers): [unit, 16, address, count, byte count, words…] → [unit, 16, address, count]. */
function writeSettings(req: Buffer, settings: Sdm630Settings, exception: (code: number) => Buffer): Buffer | undefined {
  if (req.length < 7) return undefined;
  const addr = req.readUInt16BE(2);
  const qty = req.readUInt16BE(4);
  const bytes = req[6]!;
  if (req.length !== 7 + bytes) return undefined;
  // Modbus Application Protocol 6.12: 1 to 123 registers, the byte count twice that.
  if (qty < 1 || qty > 123 || bytes !== qty * 2) return exception(0x03);
  const words = Array.from({ length: qty }, (_, k) => req.readUInt16BE(7 + 2 * k));
  const refused = settings.write(addr, words);
  if (refused) return exception(refused);
  return Buffer.from(req.subarray(0, 6));
}
