import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RigError } from '../core/errors.js';
import type { OcppVersion } from '../protocols/ocpp-meter-values.js';
import type { MeterIdentityLine } from '../protocols/stream-commands.js';
import { edgeReportWireMs, FirmataBoardDriver } from './drivers/firmata-board.js';
import { IEC_DIALECT, readIec62056 } from './drivers/iec62056.js';
import { JsonlStreamDriver, requireBillingIdentity } from './drivers/jsonl-stream.js';
import { REGISTER_MAPS } from './drivers/modbus-maps.js';
import { ModbusMeterDriver } from './drivers/modbus-meter.js';
import { type BootInfo, CentralSystem } from './drivers/ocpp-central.js';
import { SCPI_DIALECTS } from './drivers/scpi-dialects.js';
import { ScpiLoadDriver } from './drivers/scpi-load.js';
import { STATION_FAULTS } from './emulators/ocpp-station.js';
import { type Endpoint, transportFor, unitIdOf } from './endpoints.js';
import { type CpPins, cpPinsOf } from './ev-cp.js';
import type { InstrumentConfig } from './schema.js';
import { LatencyStats } from './transports/transport.js';

/**
 * The instrument registry: one entry per protocol family, naming the dialects it speaks (its data table's rows),
 * the transports and roles it takes, the driver a run uses, how that driver says who it is, and the probe of
 * `bench rig check`. The hardware rig and rig check both look instruments up here; a new dialect of a known family is
 * a row in that family's table (SCPI dialects, Modbus register maps), a new family is one entry.
 */
export interface InstrumentEntry<H extends InstrumentHandle = InstrumentHandle> {
  /** Rig-file `dialect:` values this entry speaks. */
  readonly dialects: readonly string[];
  /** Transports its driver works over (an optical port or an Arduino's USB line is serial only). */
  readonly transports: readonly Endpoint['kind'][];
  /** Roles a run opens it in; another role is refused (DIALECT). rig check probes it in any role. */
  readonly roles: readonly InstrumentConfig['role'][];
  /** Driver factory: the run's driver, not yet talking (a missing option is a CONFIG error here). */
  driver(inst: InstrumentConfig, endpoint: Endpoint): H;
  /** Opens the run's driver and asks who is there: the identity recorded in the run header. */
  identify(handle: H, inst: InstrumentConfig): Promise<string>;
  /** Talks to the instrument the way its driver will in a run, `pings` times, and closes it again. */
  probe(inst: InstrumentConfig, endpoint: Endpoint, pings: number): Promise<ProbeResult>;
}

/** A run's driver for one instrument, by what the hardware rig does with it. */
export type InstrumentHandle =
  | { kind: 'load'; driver: ScpiLoadDriver }
  | { kind: 'modbus-meter'; driver: ModbusMeterDriver }
  /** An IEC 62056-21 optical port polled by readout (a path; each readout opens it afresh, as the protocol does). */
  | { kind: 'optical'; path: string; timeoutMs: number }
  /** A JSONL stream; `dut` is its identify answer once identified. */
  | { kind: 'stream'; driver: JsonlStreamDriver; bills: boolean; dut?: MeterIdentityLine }
  /** A Firmata I/O board: S0 pulse input, and the EV simulator's pilot relays when it offers ev.cp. */
  | { kind: 'board'; driver: FirmataBoardDriver; cpPins?: CpPins; wireMs: number; impPerKWh?: number }
  /** A charging station that dials the bench's OCPP central system. */
  | { kind: 'ocpp'; central: CentralSystem; station: OcppStationOptions; url: string };

/** What a probe found. `unidentified`: a JSONL stream that did not answer identify (a plain event stream need not). */
export interface ProbeResult {
  status: 'ok' | 'unidentified';
  identity: string;
  latency?: { count: number; p50Ms?: number; p99Ms?: number };
}

type Handle<K extends InstrumentHandle['kind']> = Extract<InstrumentHandle, { kind: K }>;

/** The endpoint of an instrument the bench dials (serial or TCP); a listening one is for stations that dial in. */
const dialledEndpointOf = (inst: InstrumentConfig, endpoint: Endpoint): Exclude<Endpoint, { kind: 'listen' }> => {
  if (endpoint.kind !== 'listen') return endpoint;
  throw new RigError(`dialect ${inst.dialect} is dialled by the bench: a serial or tcp transport`, {
    device: inst.id,
    code: 'TRANSPORT',
  });
};

const serialPathOf = (inst: InstrumentConfig, endpoint: Endpoint): Extract<Endpoint, { kind: 'serial' }> => {
  if (endpoint.kind === 'serial') return endpoint;
  throw new RigError(`dialect ${inst.dialect} needs a serial transport`, { device: inst.id, code: 'TRANSPORT' });
};

const ALL_ROLES: readonly InstrumentConfig['role'][] = ['load', 'dut', 'reference', 'io'];

/** SCPI programmable AC loads (dialects: rigs/drivers/scpi-dialects.ts). */
const scpiLoad: InstrumentEntry<Handle<'load'>> = {
  dialects: Object.keys(SCPI_DIALECTS),
  transports: ['serial', 'tcp'],
  roles: ['load'],
  driver: (inst) => ({ kind: 'load', driver: new ScpiLoadDriver(transportFor(inst), inst.dialect) }),
  identify: (h) => h.driver.activate(),
  async probe(inst, _endpoint, pings) {
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
  },
};

/** Modbus RTU/TCP meters, the DUT or the reference (dialects: the register maps of rigs/drivers/modbus-maps.ts). */
const modbusMeter: InstrumentEntry<Handle<'modbus-meter'>> = {
  dialects: Object.keys(REGISTER_MAPS),
  transports: ['serial', 'tcp'],
  roles: ['dut', 'reference'],
  driver: (inst, endpoint) => ({
    kind: 'modbus-meter',
    driver: new ModbusMeterDriver(
      inst.id,
      dialledEndpointOf(inst, endpoint),
      inst.dialect,
      unitIdOf(inst),
      inst.timeoutMs,
    ),
  }),
  async identify(h, inst) {
    await h.driver.activate();
    return `${inst.role === 'reference' ? 'reference ' : ''}Modbus ${inst.dialect} unit ${unitIdOf(inst)}`;
  },
  async probe(inst, endpoint, pings) {
    const meter = new ModbusMeterDriver(
      inst.id,
      dialledEndpointOf(inst, endpoint),
      inst.dialect,
      unitIdOf(inst),
      inst.timeoutMs,
    );
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
  },
};

/** The IEC 62056-21 optical readout of a DUT (mode C: sign-on at 300 Bd, switch to the meter's rate). */
const iecOptical: InstrumentEntry<Handle<'optical'>> = {
  dialects: [IEC_DIALECT],
  transports: ['serial'],
  roles: ['dut'],
  driver: (inst, endpoint) => ({
    kind: 'optical',
    path: serialPathOf(inst, endpoint).path,
    timeoutMs: Math.max(inst.timeoutMs, 3000),
  }),
  async identify(h, inst) {
    const r = await readIec62056(inst.id, h.path, { timeoutMs: h.timeoutMs });
    return `IEC 62056-21 ${r.manufacturer} ${r.identification} @ ${r.baud} Bd`;
  },
  async probe(inst, endpoint, pings) {
    const { path } = serialPathOf(inst, endpoint);
    // Each readout is a full sign-on (300 Bd): a few are enough for the latency figures.
    const latency = new LatencyStats();
    let identity = '';
    for (let i = 0; i < Math.min(pings, 3); i++) {
      const t0 = performance.now();
      const r = await readIec62056(inst.id, path, { timeoutMs: Math.max(inst.timeoutMs, 3000) });
      latency.add(performance.now() - t0);
      identity = `IEC 62056-21 ${r.manufacturer} ${r.identification} @ ${r.baud} Bd, 1.8.0 = ${r.items['1.8.0']?.value ?? '?'} kWh`;
    }
    return { status: 'ok', identity, latency: latency.summary() };
  },
};

/** The DUT's JSONL event/billing stream (the reference meter's stream face; commands in protocols/stream-commands.ts). */
const jsonlStream: InstrumentEntry<Handle<'stream'>> = {
  dialects: ['jsonl'],
  transports: ['serial', 'tcp'],
  roles: ['dut'],
  driver: (inst) => ({
    kind: 'stream',
    driver: new JsonlStreamDriver(transportFor(inst)),
    bills: inst.capabilities.includes('meter.billing'),
  }),
  async identify(h, inst) {
    await h.driver.activate();
    h.dut = await h.driver.identify(inst.timeoutMs);
    const identity = h.dut
      ? `${h.dut.model} ${h.dut.firmwareVersion} (${h.dut.address})`
      : 'JSONL event/billing stream';
    requireBillingIdentity(inst.id, h.bills, h.dut);
    return identity;
  },
  async probe(inst, _endpoint, pings) {
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
  },
};

/**
 * A Firmata I/O board (johnny-five): S0 pulse counting on `options.pulsePin` (the DUT's constant in
 * `options.meterConstant`, imp/kWh), EV pilot relays on `options.cpPins`.
 */
const firmataBoard: InstrumentEntry<Handle<'board'>> = {
  dialects: ['firmata'],
  transports: ['serial'],
  roles: ALL_ROLES,
  driver(inst, endpoint) {
    const { path, baudRate } = serialPathOf(inst, endpoint);
    const pulsePin = typeof inst.options?.pulsePin === 'number' ? inst.options.pulsePin : 2;
    let cpPins: CpPins | undefined;
    if (inst.capabilities.includes('ev.cp')) {
      cpPins = cpPinsOf(inst.options);
      if (!cpPins) {
        throw new RigError('ev.cp needs options.cpPins { b, c }: the relay pins of the control-pilot resistors', {
          device: inst.id,
          code: 'CONFIG',
        });
      }
    }
    const driver = new FirmataBoardDriver(inst.id, path, {
      baudRate,
      pulsePin,
      // The pilot relays become outputs once, at open (pilot in A), never again before a switch.
      outputPins: cpPins ? [cpPins.b, cpPins.c] : [],
      // An Uno resets on open and blinks its version ~1.9 s before it answers.
      timeoutMs: Math.max(inst.timeoutMs, 10_000),
    });
    // options.meterConstant: the imp/kWh of the DUT output wired to pulsePin (its nameplate), for the error calculator.
    const constant = inst.options?.meterConstant;
    return {
      kind: 'board',
      driver,
      cpPins,
      wireMs: edgeReportWireMs(baudRate),
      ...(typeof constant === 'number' && constant > 0 && { impPerKWh: constant }),
    };
  },
  identify: (h) => h.driver.activate(),
  async probe(inst, endpoint) {
    const { path, baudRate } = serialPathOf(inst, endpoint);
    const board = new FirmataBoardDriver(inst.id, path, { baudRate, timeoutMs: Math.max(inst.timeoutMs, 10_000) });
    try {
      return { status: 'ok', identity: await board.activate() };
    } finally {
      await board.deactivate();
    }
  },
};

/** A charging station under test, speaking OCPP 1.6-J or 2.0.1 to the bench's central system (rigs/drivers/ocpp-central.ts). */
const ocppStation: InstrumentEntry<Handle<'ocpp'>> = {
  dialects: ['ocpp1.6', 'ocpp2.0.1'],
  transports: ['listen'],
  // The station is the DUT: its meter signs what it bills (OCMF) and the bench's central system takes it.
  roles: ['dut'],
  driver(inst, endpoint) {
    const station = ocppStationOptions(inst);
    const listen = endpoint as Extract<Endpoint, { kind: 'listen' }>;
    const central = new CentralSystem({
      host: listen.host,
      port: listen.port,
      tls: listen.tls && { cert: readFileSync(listen.tls.cert, 'utf8'), key: readFileSync(listen.tls.key, 'utf8') },
      stations: [{ identity: station.identity, version: inst.dialect as OcppVersion, password: station.password }],
    });
    const url = `${listen.tls ? 'wss' : 'ws'}://${listen.host}:${listen.port}/${station.identity}`;
    return { kind: 'ocpp', central, station, url };
  },
  async identify(h, inst) {
    await h.central.start();
    return bootIdentity(await waitForStationBoot(h, inst), inst.dialect);
  },
  async probe(inst, endpoint) {
    const h = ocppStation.driver(inst, endpoint);
    try {
      await h.central.start();
      return { status: 'ok', identity: bootIdentity(await waitForStationBoot(h, inst), inst.dialect) };
    } finally {
      await h.central.close();
    }
  },
};

const ocppOptionsSchema = z
  .object({
    /** The station's OCPP identity (the last segment of the URL it dials); default the instrument id. */
    identity: z.string().min(1).optional(),
    /** Basic Auth password (security profiles 1 and 2). */
    password: z.string().min(1).optional(),
    /** The station meter's OCMF public key (oca:base16:asn1:…, SPKI hex/Base64 or PEM); without it, the key the station sends. */
    stationKey: z.string().min(1).optional(),
    meterSerial: z.string().min(1).optional(),
    evse: z.number().int().min(1).default(1),
    /** How long rig check and a run wait for the station's BootNotification. */
    bootTimeoutS: z.number().positive().default(120),
    /** Read by the emulated station only (`sim-ocpp`): its meter's gain error, a fault knob; ignored by the bench. */
    emulatedGainErrorPct: z.number().min(-50).max(50).optional(),
    /** Read by the emulated station only: scenario seconds between its periodic meter values. */
    emulatedSampleIntervalS: z.number().positive().optional(),
    /** Read by the emulated station only: the faults it has (fault knobs, to show the bench catches each). */
    emulatedFaults: z.array(z.enum(STATION_FAULTS)).optional(),
  })
  .strict();
export type OcppStationOptions = z.output<typeof ocppOptionsSchema> & { identity: string };

export function ocppStationOptions(inst: InstrumentConfig): OcppStationOptions {
  const parsed = ocppOptionsSchema.safeParse(inst.options ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RigError(`options.${issue.path.join('.')}: ${issue.message}`, { device: inst.id, code: 'CONFIG' });
  }
  return { ...parsed.data, identity: parsed.data.identity ?? inst.id };
}

async function waitForStationBoot(h: Handle<'ocpp'>, inst: InstrumentConfig): Promise<BootInfo> {
  const seconds = h.station.bootTimeoutS;
  try {
    return await h.central.waitForBoot(h.station.identity, AbortSignal.timeout(seconds * 1000));
  } catch {
    throw new RigError(`no BootNotification from station ${h.station.identity} within ${seconds} s`, {
      device: inst.id,
      code: 'NO_DEVICE',
      actions: [
        `Point the station's central-system URL at ${h.url} (${inst.dialect}) and power it up, or raise options.bootTimeoutS.`,
      ],
    });
  }
}

const bootIdentity = (b: BootInfo, dialect: string) =>
  [b.vendor, b.model, b.serial && `serial ${b.serial}`, b.firmware && `firmware ${b.firmware}`, `(${dialect})`]
    .filter(Boolean)
    .join(' ');

/** Every instrument family the bench drives. */
export const INSTRUMENTS: readonly InstrumentEntry[] = [
  scpiLoad,
  modbusMeter,
  iecOptical,
  jsonlStream,
  firmataBoard,
  ocppStation,
];

/** The entry that speaks an instrument's dialect over its transport, if any (rig check: `no-driver` without one). */
export function instrumentEntryFor(inst: InstrumentConfig): InstrumentEntry | undefined {
  const kind = inst.transport.kind;
  return INSTRUMENTS.find((e) => e.dialects.includes(inst.dialect) && e.transports.some((t) => t === kind));
}

/** The entry a run opens an instrument with: its dialect, transport and role must all be served (else DIALECT). */
export function runEntryFor(inst: InstrumentConfig): InstrumentEntry {
  const entry = instrumentEntryFor(inst);
  if (entry?.roles.includes(inst.role)) return entry;
  if (entry && entry.roles.length === 0)
    throw new RigError(
      `dialect ${inst.dialect} is checked with \`bench rig check\`; this version of bench plays no case at it`,
      {
        device: inst.id,
        code: 'DIALECT',
      },
    );
  throw new RigError(`no hardware driver for dialect ${inst.dialect} in role ${inst.role}`, {
    device: inst.id,
    code: 'DIALECT',
  });
}
