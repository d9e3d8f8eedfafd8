import { RigError } from '../engine/errors.js';
import { loadYamlFile } from '../engine/files/load-yaml.js';
import { SCPI_DIALECTS } from './drivers/scpi-dialects.js';
import { ScpiLoadDriver } from './drivers/scpi-load.js';
import { type InstrumentConfig, type RigConfig, rigSchema } from './schema.js';
import { SerialTransport } from './transports/serial.js';
import { TcpTransport } from './transports/tcp.js';
import type { Transport } from './transports/transport.js';

export function loadRigFile(file: string): RigConfig {
  return loadYamlFile(file, rigSchema);
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
  throw new RigError('the sim transport is in-process; the sim rig builds it', { device: inst.id, code: 'TRANSPORT' });
}

export interface InstrumentCheck {
  id: string;
  role: InstrumentConfig['role'];
  dialect: string;
  transport: string;
  capabilities: string[];
  status: 'ok' | 'in-process' | 'no-driver';
  identity?: string;
  latency?: { count: number; p50Ms?: number; p99Ms?: number };
}

/** Pings every instrument of a rig: identity, declared capabilities and round-trip latency over `pings` queries. */
export async function checkRig(rig: RigConfig, pings = 20): Promise<InstrumentCheck[]> {
  const out: InstrumentCheck[] = [];
  for (const inst of rig.instruments) {
    const base = {
      id: inst.id,
      role: inst.role,
      dialect: inst.dialect,
      capabilities: inst.capabilities,
      transport:
        inst.transport.kind === 'serial'
          ? `serial:${inst.transport.path}@${inst.transport.baudRate}`
          : inst.transport.kind === 'tcp'
            ? `tcp:${inst.transport.host}:${inst.transport.port}`
            : 'sim',
    };
    if (inst.transport.kind === 'sim') {
      out.push({ ...base, status: 'in-process' });
      continue;
    }
    if (SCPI_DIALECTS[inst.dialect]) {
      const d = new ScpiLoadDriver(transportFor(inst), inst.dialect);
      try {
        await d.transport.open();
        const identity = await d.query('*IDN?');
        if (!new RegExp(d.dialect.idnPattern).test(identity)) {
          throw new RigError(`unexpected identity "${identity}" for dialect ${inst.dialect}`, {
            device: inst.id,
            code: 'IDENTITY',
          });
        }
        for (let i = 1; i < pings; i++) await d.query('*IDN?');
        out.push({ ...base, status: 'ok', identity, latency: d.transport.latency.summary() });
      } finally {
        await d.transport.close();
      }
      continue;
    }
    out.push({ ...base, status: 'no-driver' });
  }
  return out;
}
