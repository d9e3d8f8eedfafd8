import { RigError } from '../engine/errors.js';
import { loadYamlFile } from '../engine/files/load-yaml.js';
import { FirmataBoardDriver } from './drivers/firmata-board.js';
import { IEC_DIALECT, readIec62056 } from './drivers/iec62056.js';
import { ModbusMeterDriver } from './drivers/modbus-meter.js';
import { SCPI_DIALECTS } from './drivers/scpi-dialects.js';
import { ScpiLoadDriver } from './drivers/scpi-load.js';
import { type InstrumentConfig, type RigConfig, rigSchema } from './schema.js';
import { SerialTransport } from './transports/serial.js';
import { TcpTransport } from './transports/tcp.js';
import { LatencyStats, type Transport } from './transports/transport.js';

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

/** A Modbus meter driver for an instrument: endpoint from its transport, unit id from `options.unitId` (1). */
export function modbusMeterFor(inst: InstrumentConfig): ModbusMeterDriver {
  const t = inst.transport;
  if (t.kind === 'sim') {
    throw new RigError('the sim transport is in-process; the sim rig builds it', {
      device: inst.id,
      code: 'TRANSPORT',
    });
  }
  const endpoint =
    t.kind === 'serial'
      ? { kind: 'serial' as const, path: t.path, baudRate: t.baudRate, parity: t.parity }
      : { kind: 'tcp' as const, host: t.host, port: t.port };
  return new ModbusMeterDriver(inst.id, endpoint, inst.dialect, unitIdOf(inst), inst.timeoutMs);
}

export function unitIdOf(inst: InstrumentConfig): number {
  return typeof inst.options?.unitId === 'number' ? inst.options.unitId : 1;
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
    const t = inst.transport;
    if (inst.dialect === 'sdm630') {
      const meter = modbusMeterFor(inst);
      const latency = new LatencyStats();
      try {
        await meter.activate();
        let volts = 0;
        for (let i = 0; i < pings; i++) {
          const t0 = performance.now();
          volts = await meter.readQuantity('voltage');
          latency.add(performance.now() - t0);
        }
        const identity = `Modbus ${inst.dialect} unit ${unitIdOf(inst)}, ${volts.toFixed(1)} V`;
        out.push({ ...base, status: 'ok', identity, latency: latency.summary() });
      } finally {
        await meter.deactivate();
      }
      continue;
    }
    if (inst.dialect === IEC_DIALECT && t.kind === 'serial') {
      // Each readout is a full sign-on (300 Bd): a few are enough for the latency figures.
      const latency = new LatencyStats();
      let identity = '';
      for (let i = 0; i < Math.min(pings, 3); i++) {
        const t0 = performance.now();
        const r = await readIec62056(inst.id, t.path, { timeoutMs: Math.max(inst.timeoutMs, 3000) });
        latency.add(performance.now() - t0);
        identity = `IEC 62056-21 ${r.manufacturer} ${r.identification} @ ${r.baud} Bd, 1.8.0 = ${r.items['1.8.0']?.value ?? '?'} kWh`;
      }
      out.push({ ...base, status: 'ok', identity, latency: latency.summary() });
      continue;
    }
    if (inst.dialect === 'firmata' && t.kind === 'serial') {
      const board = new FirmataBoardDriver(inst.id, t.path, {
        baudRate: t.baudRate,
        timeoutMs: Math.max(inst.timeoutMs, 10_000),
      });
      try {
        out.push({ ...base, status: 'ok', identity: await board.activate() });
      } finally {
        await board.deactivate();
      }
      continue;
    }
    out.push({ ...base, status: 'no-driver' });
  }
  return out;
}
