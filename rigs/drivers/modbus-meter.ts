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

  /** Reads every register of the map (one request per quantity), float32 big-endian. */
  async readAll(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [name, r] of Object.entries(this.map.registers)) out[name] = await this.read(r.address);
    return out;
  }

  async readQuantity(name: string): Promise<number> {
    const r = this.map.registers[name];
    if (!r)
      throw new RigError(`register map ${this.map.name} has no ${name}`, { device: this.device, code: 'DIALECT' });
    return this.read(r.address);
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

  private async read(address: number): Promise<number> {
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
          ? await this.client.readInputRegisters(address, 2)
          : await this.client.readHoldingRegisters(address, 2);
      this.samples.push(performance.now() - t0);
      // modbus-serial checks the frame's length but not its byte count: [unit, fc, 6, 4 data bytes] passes.
      if (res.buffer.length !== 4) throw new Error(`byte count ${res.buffer.length}, expected 4`);
      return res.buffer.readFloatBE(0);
    } catch (e) {
      const code = modbusErrorCode(e as Error & { modbusCode?: number; errno?: string });
      if (code === 'TIMEOUT' && this.endpoint.kind === 'serial') this.resyncAfterTimeout = true;
      throw new RigError(`Modbus read 0x${address.toString(16)} failed: ${(e as Error).message}`, {
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
