import { RigError } from '../core/errors.js';
import type { InstrumentConfig } from './schema.js';
import { SerialTransport } from './transports/serial.js';
import { TcpTransport } from './transports/tcp.js';
import type { Transport } from './transports/transport.js';

/** Where a hardware instrument is: a serial line (path, line settings) or a TCP socket. */
export type Endpoint =
  | { kind: 'serial'; path: string; baudRate: number; parity: 'none' | 'even' | 'odd' }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'listen'; host: string; port: number; tls?: { cert: string; key: string } };

/** An instrument's endpoint from its rig-file transport; the sim transport is in-process and has none. */
export function endpointOf(inst: InstrumentConfig): Endpoint {
  const t = inst.transport;
  if (t.kind === 'serial') return { kind: 'serial', path: t.path, baudRate: t.baudRate, parity: t.parity };
  if (t.kind === 'tcp') return { kind: 'tcp', host: t.host, port: t.port };
  if (t.kind === 'listen') return { kind: 'listen', host: t.host, port: t.port, tls: t.tls };
  throw new RigError('hardware rigs need serial, tcp or listen transports', { device: inst.id, code: 'TRANSPORT' });
}

/** Resource data → transport (labgrid: resource → protocol). Sim transports are built by the sim rig itself. */
export function transportFor(inst: InstrumentConfig, terminator: string | null = '\n'): Transport {
  const t = inst.transport;
  if (t.kind === 'serial') {
    return new SerialTransport({
      device: inst.id,
      path: t.path,
      baudRate: t.baudRate,
      parity: t.parity,
      dataBits: t.dataBits,
      stopBits: t.stopBits,
      terminator,
      timeoutMs: inst.timeoutMs,
    });
  }
  if (t.kind === 'tcp') return new TcpTransport(inst.id, t.host, t.port, { terminator, timeoutMs: inst.timeoutMs });
  throw new RigError(`a ${t.kind} transport has no request/answer line`, { device: inst.id, code: 'TRANSPORT' });
}

/** A Modbus instrument's unit id: `options.unitId`, else 1. */
export function unitIdOf(inst: InstrumentConfig): number {
  return typeof inst.options?.unitId === 'number' ? inst.options.unitId : 1;
}
