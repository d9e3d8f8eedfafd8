import { InterByteTimeoutParser } from '@serialport/parser-inter-byte-timeout';
import ModbusRTU from 'modbus-serial';
import crc16 from 'modbus-serial/utils/crc16.js';
import { SerialPort } from 'serialport';
import { type LiveValues, registerWords } from './register-map.js';

/** Modbus exception 02: the register is not in the map (what a real meter answers for an unknown address). */
const ILLEGAL_DATA_ADDRESS = { modbusErrorCode: 0x02, msg: 'Illegal data address' };

/** The function-04 service vector over the live values: unknown registers answer exception 02. */
function vector(values: () => LiveValues) {
  const read = (addr: number) => {
    const w = registerWords(values()).get(addr);
    if (w === undefined) throw ILLEGAL_DATA_ADDRESS;
    return w;
  };
  return {
    getInputRegister: (addr: number) => read(addr),
    getMultipleInputRegisters: (addr: number, length: number) => Array.from({ length }, (_, k) => read(addr + k)),
    getHoldingRegister: (addr: number) => read(addr),
  };
}

export interface ModbusFace {
  close(): Promise<void>;
}

/** Modbus TCP server (port 502 on a real meter) over the meter's live values. */
export function serveModbusTcp(
  values: () => LiveValues,
  opts: { host: string; port: number; unitId?: number },
): Promise<ModbusFace> {
  return new Promise((resolve, reject) => {
    const server = new ModbusRTU.ServerTCP(vector(values), {
      host: opts.host,
      port: opts.port,
      unitID: opts.unitId ?? 1,
    });
    server.on('initialized', () => resolve({ close: () => new Promise((r) => server.close(() => r())) }));
    server.on('error', reject);
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
  const unit = opts.unitId ?? 1;
  const port = new SerialPort({ path: opts.path, baudRate: opts.baudRate ?? 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const stats: RtuStats = { requests: 0, answered: 0, badCrc: 0, malformed: 0, otherUnit: 0 };
  const frames = port.pipe(new InterByteTimeoutParser({ interval: 4 }));
  frames.on('data', (frame: Buffer) => {
    const reply = handleRtuFrame(frame, unit, values(), stats);
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
export function handleRtuFrame(frame: Buffer, unit: number, v: LiveValues, stats: RtuStats): Buffer | undefined {
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
  const reply = answer(frame.subarray(0, -2), v);
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

/** The PDU answer to a request PDU (unit id included, CRC excluded); exceptions per the Modbus spec. */
function answer(req: Buffer, v: LiveValues): Buffer | undefined {
  const unit = req[0]!;
  const fn = req[1]!;
  const exception = (code: number) => Buffer.from([unit, fn | 0x80, code]);
  if (fn !== 0x03 && fn !== 0x04) return exception(0x01);
  if (req.length !== 6) return undefined;
  const addr = req.readUInt16BE(2);
  const qty = req.readUInt16BE(4);
  if (qty < 1 || qty > 125) return exception(0x03);
  const words = registerWords(v);
  const body = Buffer.alloc(3 + qty * 2);
  body[0] = unit;
  body[1] = fn;
  body[2] = qty * 2;
  for (let k = 0; k < qty; k++) {
    const w = words.get(addr + k);
    if (w === undefined) return exception(0x02);
    body.writeUInt16BE(w, 3 + k * 2);
  }
  return body;
}
