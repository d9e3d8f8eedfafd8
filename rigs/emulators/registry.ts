import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { LiveFaces } from '../../meter/faces/live.js';
import type { LiveValues } from '../../meter/faces/register-map.js';
import type { OcppVersion } from '../../protocols/ocpp-meter-values.js';
import { IEC_DIALECT } from '../drivers/iec62056.js';
import { REGISTER_MAPS } from '../drivers/modbus-maps.js';
import { SCPI_DIALECTS } from '../drivers/scpi-dialects.js';
import { unitIdOf } from '../endpoints.js';
import { type CpPins, cpPinsOf, cpStateOf } from '../ev-cp.js';
import { ocppStationOptions } from '../instrument-registry.js';
import type { InstrumentConfig } from '../schema.js';
import { serveBenchStation } from './bench-station.js';
import { FirmataEmulator } from './firmata-emulator.js';
import { ReferenceMeterEmulator } from './meter-emulator.js';
import { type BenchPhysics, reactiveOf } from './physics.js';
import { ScpiLoadEmulator } from './scpi-load-emulator.js';
import { serveLinesOnSerial } from './serve-line.js';

/**
 * Live meter values from the shared physics: the emulated meter measures what the emulated load draws, with an
 * optional gain error (a fault knob, so the hardware path can be shown to fail a bad meter).
 */
export function liveValuesFrom(p: BenchPhysics, now = performance.now(), gainErrorPct = 0): LiveValues {
  p.advance(now);
  const g = 1 + gainErrorPct / 100;
  return {
    voltage: p.voltage,
    current: p.currentA * g,
    activePower: p.powerW * g,
    reactivePower: p.reactiveVar * g,
    powerFactor: p.powerW === 0 ? 1 : p.powerFactor,
    frequency: p.frequency,
    importKWh: (p.importWh * g) / 1000,
    exportKWh: (p.exportWh * g) / 1000,
    importKVarh: (p.importVarh * g) / 1000,
    exportKVarh: (p.exportVarh * g) / 1000,
    ...(p.phases && {
      phases: p.phases.map((ph, k) => ({
        voltage: p.voltage,
        current: p.phaseCurrentA(k) * g,
        activePower: ph.powerW * g,
        reactivePower: reactiveOf(ph.powerW, ph.powerFactor) * g,
        powerFactor: ph.powerW === 0 ? 1 : ph.powerFactor,
        voltageThd: 0,
        currentThd: 0,
        importKWh: (ph.importWh * g) / 1000,
        exportKWh: (ph.exportWh * g) / 1000,
        importKVarh: (ph.importVarh * g) / 1000,
        exportKVarh: (ph.exportVarh * g) / 1000,
      })),
      current: p.phaseCurrentA(0) * g,
    }),
    events: 0,
    billingRecords: 0,
  };
}

/** What an emulator shares with the others of its bench. */
export interface EmulatorBench {
  physics: BenchPhysics;
  /** A reference meter the bench's ticker must advance. */
  addMeter(meter: ReferenceMeterEmulator): void;
}

/** Serves one instrument's emulator on `emulatorPath` (its end of a PTY pair) and returns how to stop it. */
type ServeEmulator = (
  inst: InstrumentConfig,
  emulatorPath: string,
  baudRate: number,
  bench: EmulatorBench,
) => Promise<() => Promise<void>>;

/**
 * One emulator per protocol family, beside the instrument registry's drivers: the family a dialect belongs to is
 * read from the same data tables (SCPI dialects, Modbus register maps), so a new dialect row is served too.
 */
const EMULATORS: ReadonlyArray<{ speaks(dialect: string): boolean; serve: ServeEmulator }> = [
  {
    speaks: (d) => Object.hasOwn(SCPI_DIALECTS, d),
    serve: async (inst, path, baudRate, { physics }) =>
      (
        await serveLinesOnSerial(path, new ScpiLoadEmulator(physics, undefined, SCPI_DIALECTS[inst.dialect]), {
          baudRate,
        })
      ).close,
  },
  {
    speaks: (d) => Object.hasOwn(REGISTER_MAPS, d),
    serve: async (inst, path, baudRate, { physics }) => {
      const { serveModbusRtu } = await import('../../meter/faces/modbus.js');
      // `emulatedGainErrorPct` is read by the emulator only: a fault knob for sim rigs, ignored by drivers.
      const gain = typeof inst.options?.emulatedGainErrorPct === 'number' ? inst.options.emulatedGainErrorPct : 0;
      const live = () => liveValuesFrom(physics, performance.now(), gain);
      return (await serveModbusRtu(live, { path, baudRate, unitId: unitIdOf(inst) })).close;
    },
  },
  {
    // The optical port of a meter measuring the load (registers from the shared physics).
    speaks: (d) => d === IEC_DIALECT,
    serve: async (_inst, path, _baudRate, { physics }) => {
      const { serveIec62056 } = await import('../../meter/faces/iec62056.js');
      const identity = { manufacturer: 'BEN', identification: 'EMU62056', serial: '00000001', firmware: '1.0.0' };
      return (await serveIec62056(() => liveValuesFrom(physics), { ...identity, maxBaud: '5' }, { path })).close;
    },
  },
  {
    // The reference meter itself behind its JSONL event/billing stream face, fed by the emulated load.
    speaks: (d) => d === 'jsonl',
    serve: async (inst, path, baudRate, bench) => {
      const faces = new LiveFaces({ lossy: true });
      await faces.openStream(path, baudRate);
      const workDir = mkdtempSync(join(tmpdir(), 'bench-meter-emu-'));
      const emulator = new ReferenceMeterEmulator(bench.physics, {
        meterId: inst.id,
        outputs: faces.outputs(),
        workDir,
      });
      faces.handlers = {
        authorize: (contractId) => emulator.authorize(contractId),
        identify: () => emulator.meter.identity(),
        commission: (c) => emulator.commission(c),
      };
      bench.addMeter(emulator);
      return async () => {
        emulator.close();
        await faces.close();
        rmSync(workDir, { recursive: true, force: true });
      };
    },
  },
  {
    speaks: (d) => d === 'firmata',
    serve: async (inst, path, baudRate, { physics }) => {
      const pulsePin = typeof inst.options?.pulsePin === 'number' ? inst.options.pulsePin : 2;
      return serveFirmata(path, baudRate, physics, pulsePin, cpPinsOf(inst.options));
    },
  },
];

/** The emulator of a dialect, if the bench has one. */
export function emulatorFor(dialect: string): ServeEmulator | undefined {
  return EMULATORS.find((e) => e.speaks(dialect))?.serve;
}

/** Starts the emulator of an instrument that dials the bench at `url` (a charging station), returning how to stop it. */
type DialBench = (inst: InstrumentConfig, url: string, bench: EmulatorBench) => () => Promise<void>;

/** Emulators of instruments that dial the bench instead of waiting on a line: charging stations, by OCPP version. */
const DIALLING: ReadonlyArray<{ speaks(dialect: string): boolean; serve: DialBench }> = [
  {
    speaks: (d) => d === 'ocpp1.6' || d === 'ocpp2.0.1',
    serve: (inst, url, { physics }) => {
      const o = ocppStationOptions(inst);
      return serveBenchStation({
        url,
        identity: o.identity,
        version: inst.dialect as OcppVersion,
        password: o.password,
        physics,
        gainErrorPct: o.emulatedGainErrorPct,
        sampleIntervalS: o.emulatedSampleIntervalS,
        faults: o.emulatedFaults,
      });
    },
  },
];

/** The emulator of a dialect whose instrument dials the bench, if the bench has one. */
export function diallingEmulatorFor(dialect: string): DialBench | undefined {
  return DIALLING.find((e) => e.speaks(dialect))?.serve;
}

/** Serves a Firmata board emulator whose pulse pin follows the physics, on one end of a PTY. */
async function serveFirmata(path: string, baudRate: number, physics: BenchPhysics, pulsePin: number, cp?: CpPins) {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  // Powered up now: it blinks its version (StandardFirmata 2.4, as Unos ship) before it answers. A PTY carries no
  // DTR, so the reset a real Uno does when the driver opens its port is not seen; the boot at start stands for it.
  const emulator = new FirmataEmulator((b) => port.write(b), pulsePin, physics);
  // The EV simulator: the pilot state follows the two relays.
  if (cp) emulator.onWrite = () => physics.setCp(cpStateOf(emulator.outputs[cp.b] === 1, emulator.outputs[cp.c] === 1));
  port.on('data', (b: Buffer) => emulator.handle(b));
  port.on('error', () => undefined);
  return () => {
    emulator.close();
    return new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r()));
  };
}
