import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SerialPort } from 'serialport';
import { InputError } from '../core/errors.js';
import { LiveFaces } from '../meter/faces/live.js';
import type { LiveValues } from '../meter/faces/register-map.js';
import { IEC_DIALECT } from './drivers/iec62056.js';
import { SCPI_DIALECTS } from './drivers/scpi-dialects.js';
import { FirmataEmulator } from './emulators/firmata-emulator.js';
import { ReferenceMeterEmulator } from './emulators/meter-emulator.js';
import { BenchPhysics } from './emulators/physics.js';
import { openPtyPair, type PtyPair } from './emulators/pty.js';
import { ScpiLoadEmulator } from './emulators/scpi-load-emulator.js';
import { serveLinesOnSerial } from './emulators/serve-line.js';
import { unitIdOf } from './endpoints.js';
import { type CpPins, cpPinsOf, cpStateOf } from './ev-cp.js';
import type { RigConfig } from './schema.js';

export interface ServedInstrument {
  id: string;
  dialect: string;
  /** Path the driver opens (the rig file's path, a socat link). */
  path: string;
  /** The emulator's end of the PTY pair. */
  emulatorPath: string;
  status: 'served' | 'no-emulator';
}

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
    events: 0,
    billingRecords: 0,
  };
}

export interface SimUpOptions {
  /** Emulated seconds per wall second (see BenchPhysics); 1 for a bench that behaves like hardware. */
  timeScale?: number;
}

/** The rig with its serial devices moved under `dir` (same names), so emulated benches never share devices. */
export function withSerialPathsUnder(config: RigConfig, dir: string): RigConfig {
  return {
    ...config,
    instruments: config.instruments.map((i) =>
      i.transport.kind === 'serial'
        ? { ...i, transport: { ...i.transport, path: join(dir, basename(i.transport.path)) } }
        : i,
    ),
  };
}

/** How often the physics integrates on its own (ms) so pulses flow even when no instrument is asked. */
const PHYSICS_TICK_MS = 20;

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
  return {
    close: () => {
      emulator.close();
      return new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r()));
    },
  };
}

/**
 * Refuses a rig whose device paths are already live devices: another `bench sim up` (or its socat) serves them, and
 * serving again would re-link its paths to new PTYs, and stopping this one would leave that one with no devices.
 * A link left by a killed run points at a PTY that is gone, so it does not count.
 */
export function assertPathsFree(rig: RigConfig): void {
  const busy = rig.instruments.flatMap((i) =>
    i.transport.kind === 'serial' && existsSync(i.transport.path) ? [i.transport.path] : [],
  );
  if (busy.length)
    throw new InputError(
      `rig ${rig.name}: ${busy.join(', ')} ${busy.length > 1 ? 'are' : 'is'} already served (another \`bench sim up\` running?)`,
      busy.map((path) => ({ file: path, message: 'device path in use' })),
      ['Stop the other `bench sim up` (Ctrl-C), or serve this one elsewhere with `bench sim up --dir <new folder>`.'],
    );
}

/** Starts the coupled emulators of a serial rig on socat PTY pairs (link = the rig's path). */
export async function simUp(
  rig: RigConfig,
  opts: SimUpOptions = {},
): Promise<{
  physics: BenchPhysics;
  instruments: ServedInstrument[];
  close(): Promise<void>;
}> {
  assertPathsFree(rig);
  const physics = new BenchPhysics(1000, performance.now(), opts.timeScale ?? 1);
  const pairs: PtyPair[] = [];
  const closers: Array<() => Promise<void>> = [];
  const instruments: ServedInstrument[] = [];
  const meters: ReferenceMeterEmulator[] = [];
  const ticker = setInterval(() => {
    const now = performance.now();
    physics.advance(now);
    for (const m of meters) m.tick(now);
  }, PHYSICS_TICK_MS);
  ticker.unref();
  const close = async () => {
    clearInterval(ticker);
    for (const m of meters) m.close();
    for (const c of closers.reverse()) await c().catch(() => undefined);
    for (const p of pairs) await p.close();
  };
  try {
    for (const inst of rig.instruments) {
      if (inst.transport.kind !== 'serial') continue;
      const path = inst.transport.path;
      mkdirSync(dirname(path), { recursive: true });
      const emulatorPath = `${path}.emu`;
      let served = false;
      if (SCPI_DIALECTS[inst.dialect] || ['sdm630', 'firmata', 'jsonl', IEC_DIALECT].includes(inst.dialect)) {
        const pair = await openPtyPair({ a: emulatorPath, b: path });
        pairs.push(pair);
        if (SCPI_DIALECTS[inst.dialect]) {
          const s = await serveLinesOnSerial(
            emulatorPath,
            new ScpiLoadEmulator(physics, undefined, SCPI_DIALECTS[inst.dialect]),
            {
              baudRate: inst.transport.baudRate,
            },
          );
          closers.push(s.close);
        } else if (inst.dialect === IEC_DIALECT) {
          // The optical port of a meter measuring the load (registers from the shared physics).
          const { serveIec62056 } = await import('../meter/faces/iec62056.js');
          const s = await serveIec62056(
            () => liveValuesFrom(physics),
            { manufacturer: 'BEN', identification: 'EMU62056', serial: '00000001', firmware: '1.0.0', maxBaud: '5' },
            { path: emulatorPath },
          );
          closers.push(s.close);
        } else if (inst.dialect === 'jsonl') {
          // The reference meter itself behind its JSONL event/billing stream face, fed by the emulated load.
          const faces = new LiveFaces({ lossy: true });
          await faces.openStream(emulatorPath, inst.transport.baudRate);
          const workDir = mkdtempSync(join(tmpdir(), 'bench-meter-emu-'));
          const emulator = new ReferenceMeterEmulator(physics, { meterId: inst.id, outputs: faces.outputs(), workDir });
          faces.handlers = {
            authorize: (contractId) => emulator.authorize(contractId),
            identify: () => emulator.meter.identity(),
            commission: (c) => emulator.commission(c),
          };
          meters.push(emulator);
          closers.push(async () => {
            await faces.close();
            rmSync(workDir, { recursive: true, force: true });
          });
        } else if (inst.dialect === 'firmata') {
          const pulsePin = typeof inst.options?.pulsePin === 'number' ? inst.options.pulsePin : 2;
          const s = await serveFirmata(
            emulatorPath,
            inst.transport.baudRate,
            physics,
            pulsePin,
            cpPinsOf(inst.options),
          );
          closers.push(s.close);
        } else {
          const { serveModbusRtu } = await import('../meter/faces/modbus.js');
          const unitId = unitIdOf(inst);
          // `emulatedGainErrorPct` is read by the emulator only: a fault knob for sim rigs, ignored by drivers.
          const gain = typeof inst.options?.emulatedGainErrorPct === 'number' ? inst.options.emulatedGainErrorPct : 0;
          const s = await serveModbusRtu(() => liveValuesFrom(physics, performance.now(), gain), {
            path: emulatorPath,
            baudRate: inst.transport.baudRate,
            unitId,
          });
          closers.push(s.close);
        }
        served = true;
      }
      instruments.push({
        id: inst.id,
        dialect: inst.dialect,
        path,
        emulatorPath,
        status: served ? 'served' : 'no-emulator',
      });
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { physics, instruments, close };
}
