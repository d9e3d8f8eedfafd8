import createDebug from 'debug';
import Modbus from 'modbus-serial';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import { RigError } from '../../core/errors.js';
import type { SerialBinding } from '../transports/serial.js';
import { REGISTER_MAPS, type RegisterMap } from './modbus-maps.js';

const ModbusRTU = Modbus as unknown as new () => ModbusClient;
const log = createDebug('bench:rigs:modbus');

export type ModbusEndpoint =
  | {
      kind: 'serial';
      path: string;
      baudRate?: number;
      parity?: 'none' | 'even' | 'odd';
      binding?: SerialBinding;
    }
  | { kind: 'tcp'; host: string; port: number };

/**
 * The most unwanted registers a block read carries to save a request: a request costs its 8 bytes, the answer's
 * 5 bytes of header and CRC and two 3.5-character silences (about 20 characters), a register 2 characters.
 */
const MERGE_GAP_REGISTERS = 10;

/** Modbus RTU/TCP meter driver over modbus-serial's client; the register map is data. */
export class ModbusMeterDriver {
  readonly map: RegisterMap;
  private readonly client = new ModbusRTU();
  private readonly samples: number[] = [];
  /** Set after a timed-out RTU read: see read(). */
  private resyncAfterTimeout = false;

  constructor(
    readonly device: string,
    private readonly endpoint: ModbusEndpoint,
    map: string | RegisterMap = 'sdm630',
    private readonly unitId = 1,
    private readonly timeoutMs = 1000,
  ) {
    // modbus-serial re-emits its port's errors on the client: unheard, an EventEmitter 'error' would end the process.
    this.client.on('error', (e: unknown) => log('%s port error %s', device, (e as Error).message));
    const m = typeof map === 'string' ? REGISTER_MAPS[map] : map;
    if (!m) throw new RigError(`unknown register map ${String(map)}`, { device, code: 'DIALECT' });
    this.map = m;
  }

  async activate(): Promise<void> {
    try {
      if (this.endpoint.kind === 'serial') {
        // modbus-serial spreads these options into serialport's SerialPort, where a binding replaces the OS's.
        await this.client.connectRTUBuffered(this.endpoint.path, {
          baudRate: this.endpoint.baudRate ?? 9600,
          parity: this.endpoint.parity ?? 'none',
          ...(this.endpoint.binding && { binding: this.endpoint.binding }),
        });
      } else {
        await this.client.connectTCP(this.endpoint.host, { port: this.endpoint.port });
      }
    } catch (e) {
      throw new RigError(`cannot connect: ${(e as Error).message}`, { device: this.device, code: 'OPEN', cause: e });
    }
    this.client.setID(this.unitId);
    this.client.setTimeout(this.timeoutMs);
  }

  /** Reads every quantity of the map, in as few requests as the meter allows. */
  readAll(): Promise<Record<string, number>> {
    return this.readMany(Object.keys(this.map.registers));
  }

  /**
   * Reads the named quantities in blocks: spans of the map of up to `maxReadRegisters` registers, one request each
   * (an SDM630's L1 voltage, current, powers and PF are one 32-register read). Quantities further apart than
   * MERGE_GAP_REGISTERS go in separate requests: at 9600 Bd the registers between them would cost more time on the
   * wire than a request does.
   */
  async readMany(names: readonly string[]): Promise<Record<string, number>> {
    const wanted = names.map((name) => ({ name, address: this.addressOf(name) })).sort((a, b) => a.address - b.address);
    const out: Record<string, number> = {};
    for (let i = 0; i < wanted.length; ) {
      const first = wanted[i]!.address;
      let j = i;
      while (
        j + 1 < wanted.length &&
        wanted[j + 1]!.address + 2 - first <= this.map.maxReadRegisters &&
        wanted[j + 1]!.address - (wanted[j]!.address + 2) <= MERGE_GAP_REGISTERS
      )
        j++;
      const block = await this.read(first, wanted[j]!.address + 2 - first);
      for (const w of wanted.slice(i, j + 1)) out[w.name] = block.readFloatBE((w.address - first) * 2);
      i = j + 1;
    }
    return out;
  }

  async readQuantity(name: string): Promise<number> {
    return (await this.read(this.addressOf(name), 2)).readFloatBE(0);
  }

  /** Whether the meter's map has per-phase quantities (a polyphase meter). */
  get polyphase(): boolean {
    return this.map.phaseRegisters !== undefined;
  }

  private addressOf(name: string): number {
    const r = this.map.registers[name] ?? this.map.phaseRegisters?.[name];
    if (!r)
      throw new RigError(`register map ${this.map.name} has no ${name}`, { device: this.device, code: 'DIALECT' });
    return r.address;
  }

  /**
   * modbus-serial keeps received bytes that did not complete a frame across requests (TcpPort._clientRcvData,
   * RTUBufferedPort._buffer): after a garbage or cut answer (e.g. an MBAP length promising bytes that never come)
   * every later answer is appended to the stale bytes and each read times out or misreads. As an RTU master does,
   * drop whatever is left before sending the next request.
   */
  private flushInput(): void {
    const port = (this.client as unknown as { _port?: { _clientRcvData?: Buffer; _buffer?: Buffer } })._port;
    if (port?._clientRcvData) port._clientRcvData = Buffer.alloc(0);
    if (port?._buffer) port._buffer = Buffer.alloc(0);
  }

  /** One read of `count` registers from `address`: the answer's data bytes. */
  private async read(address: number, count: number): Promise<Buffer> {
    if (this.resyncAfterTimeout) {
      // RTU has no transaction id: an answer that arrives after its request timed out would be taken as the next
      // one's. Give the meter the time it had once more; flushInput then drops whatever came. (TCP frames carry a
      // transaction id, which modbus-serial checks.)
      this.resyncAfterTimeout = false;
      await new Promise((r) => setTimeout(r, this.timeoutMs));
    }
    if (!this.client.isOpen) {
      // A Modbus TCP gateway that closed the connection (or a serial adapter that came back): connect again.
      try {
        await this.activate();
      } catch (e) {
        throw new RigError(`not connected: ${(e as Error).message}`, { device: this.device, code: 'DISCONNECTED' });
      }
    }
    const t0 = performance.now();
    this.flushInput();
    try {
      const res =
        this.map.functionCode === 4
          ? await this.client.readInputRegisters(address, count)
          : await this.client.readHoldingRegisters(address, count);
      this.samples.push(performance.now() - t0);
      // modbus-serial checks the frame's length but not its byte count: [unit, fc, 6, 4 data bytes] passes.
      if (res.buffer.length !== count * 2) throw new Error(`byte count ${res.buffer.length}, expected ${count * 2}`);
      return res.buffer;
    } catch (e) {
      const code = modbusErrorCode(e as Error & { modbusCode?: number; errno?: string });
      if (code === 'TIMEOUT' && this.endpoint.kind === 'serial') this.resyncAfterTimeout = true;
      throw new RigError(`Modbus read 0x${address.toString(16)} ×${count} failed: ${(e as Error).message}`, {
        device: this.device,
        code,
        cause: e,
      });
    }
  }

  get latencySamplesMs(): readonly number[] {
    return this.samples;
  }

  async deactivate(): Promise<void> {
    await new Promise<void>((r) => (this.client.isOpen ? this.client.close(() => r()) : r()));
  }
}

/** The RigError code of a modbus-serial failure: an exception answer is the meter's own error, not a bad frame. */
function modbusErrorCode(e: Error & { modbusCode?: number; errno?: string }): string {
  if (typeof e.modbusCode === 'number') return 'INSTRUMENT_ERROR';
  if (e.errno === 'ETIMEDOUT' || /timed out/i.test(e.message)) return 'TIMEOUT';
  if (/port not open/i.test(e.message)) return 'DISCONNECTED';
  return 'BAD_FRAME';
}
