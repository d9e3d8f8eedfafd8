import { existsSync } from 'node:fs';
import { RigError } from '../core/errors.js';
import { loadYamlFile } from '../core/files/load-yaml.js';
import type { MeterIdentityLine } from '../protocols/stream-commands.js';
import { FirmataBoardDriver } from './drivers/firmata-board.js';
import { IEC_DIALECT, readIec62056 } from './drivers/iec62056.js';
import { JsonlStreamDriver, requireBillingIdentity } from './drivers/jsonl-stream.js';
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
  /** `unidentified`: a JSONL stream that did not answer identify (a plain event stream need not). */
  status: 'ok' | 'unidentified' | 'in-process' | 'no-driver' | 'failed';
  identity?: string;
  latency?: { count: number; p50Ms?: number; p99Ms?: number };
  /** Why the instrument failed the check (status `failed`), naming it; `--json` shows its toJSON(). */
  error?: RigError;
}

type Probe = Pick<InstrumentCheck, 'status' | 'identity' | 'latency'>;

/** Talks to one instrument the way its driver will in a run; errors are RigErrors naming it. */
async function probe(inst: InstrumentConfig, pings: number): Promise<Probe> {
  const t = inst.transport;
  if (SCPI_DIALECTS[inst.dialect]) {
    const d = new ScpiLoadDriver(transportFor(inst), inst.dialect);
    try {
      await d.transport.open();
      const identity = await d.query('*IDN?');
      if (!new RegExp(d.dialect.idnPattern).test(identity)) {
        throw new RigError(`unexpected identity "${identity}" for dialect ${inst.dialect}`, {
          device: inst.id,
          code: 'IDENTITY',
          actions: [`Is ${inst.id} the instrument the rig file means? Its *IDN? must match /${d.dialect.idnPattern}/.`],
        });
      }
      for (let i = 1; i < pings; i++) await d.query('*IDN?');
      return { status: 'ok', identity, latency: d.transport.latency.summary() };
    } finally {
      await d.transport.close();
    }
  }
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
      return {
        status: 'ok',
        identity: `Modbus ${inst.dialect} unit ${unitIdOf(inst)}, ${volts.toFixed(1)} V`,
        latency: latency.summary(),
      };
    } finally {
      await meter.deactivate();
    }
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
    return { status: 'ok', identity, latency: latency.summary() };
  }
  if (inst.dialect === 'jsonl') {
    const stream = new JsonlStreamDriver(transportFor(inst));
    const latency = new LatencyStats();
    try {
      await stream.activate();
      let id: MeterIdentityLine | undefined;
      // Each identify is one round trip; a stream that does not answer the first will not answer the rest.
      for (let i = 0; i < Math.min(pings, 5); i++) {
        const t0 = performance.now();
        id = await stream.identify(inst.timeoutMs);
        if (!id) break;
        latency.add(performance.now() - t0);
      }
      if (!id) {
        requireBillingIdentity(inst.id, inst.capabilities.includes('meter.billing'), id);
        return { status: 'unidentified', identity: 'JSONL stream, no answer to identify' };
      }
      if (typeof id.address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(id.address)) {
        throw new RigError(`identity line without a signing address: ${JSON.stringify(id).slice(0, 120)}`, {
          device: inst.id,
          code: 'IDENTITY',
        });
      }
      return {
        status: 'ok',
        identity: `${id.model} ${id.firmwareVersion} (${id.address})`,
        latency: latency.summary(),
      };
    } finally {
      await stream.deactivate();
    }
  }
  if (inst.dialect === 'firmata' && t.kind === 'serial') {
    const board = new FirmataBoardDriver(inst.id, t.path, {
      baudRate: t.baudRate,
      timeoutMs: Math.max(inst.timeoutMs, 10_000),
    });
    try {
      return { status: 'ok', identity: await board.activate() };
    } finally {
      await board.deactivate();
    }
  }
  return { status: 'no-driver' };
}

/**
 * Pings every instrument of a rig: identity, declared capabilities and round-trip latency over `pings` queries.
 * Every instrument is checked even when one fails (a bench with two loose cables shows both); `checkFailure`
 * turns the failures into the error the command exits with.
 */
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
    if (inst.transport.kind === 'serial' && !existsSync(inst.transport.path)) {
      // Nothing plugged in (or served) there: say so once, instead of the driver's raw ENOENT.
      const error = new RigError(`no device at ${inst.transport.path}`, { device: inst.id, code: 'NO_DEVICE' });
      out.push({ ...base, status: 'failed', error });
      continue;
    }
    try {
      out.push({ ...base, ...(await probe(inst, pings)) });
    } catch (e) {
      const err =
        e instanceof RigError && e.device === inst.id
          ? e
          : new RigError((e as Error).message, { device: inst.id, code: (e as RigError).code ?? 'RIG', cause: e });
      out.push({ ...base, status: 'failed', error: err });
    }
  }
  return out;
}

/**
 * The error a rig check ends with (exit 3), or undefined when every instrument answered: the instrument's own
 * RigError when one failed, else one naming each failed instrument.
 */
export function checkFailure(checks: readonly InstrumentCheck[], rigRef?: string): RigError | undefined {
  const failed = checks.flatMap((c) => (c.error ? [c.error] : []));
  const missing = failed.filter((e) => e.code === 'NO_DEVICE');
  // Missing device paths are what an emulated bench looks like before `bench sim up`: say what to run.
  const actions = missing.length
    ? [
        `Emulated rig? Start its emulators first, in another terminal: bench sim up${rigRef ? ` --rig ${rigRef}` : ''} (with --dir, check the rig.yaml it writes there).`,
        'Real instruments? Check that they are plugged in and the paths in the rig file.',
      ]
    : [];
  if (failed.length === 0) return undefined;
  if (failed.length === 1 && !missing.length) return failed[0];
  if (failed.length === 1) {
    const only = failed[0]!;
    return new RigError(only.message.slice(`${only.device}: `.length), {
      device: only.device,
      code: only.code,
      actions,
    });
  }
  const message =
    missing.length === failed.length
      ? `${failed.length} instruments have no device: ${missing.map((e) => e.message).join('; ')}`
      : `${failed.length} instruments failed the check: ${failed.map((e) => `${e.message} [${e.code}]`).join('; ')}`;
  return new RigError(message, {
    device: failed.map((e) => e.device).join(', '),
    code: missing.length === failed.length ? 'NO_DEVICE' : 'CHECK',
    actions,
  });
}
