import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LiveValues } from '../meter/faces/register-map.js';
import { SCPI_DIALECTS } from './drivers/scpi-dialects.js';
import { BenchPhysics } from './emulators/physics.js';
import { openPtyPair, type PtyPair } from './emulators/pty.js';
import { ScpiLoadEmulator } from './emulators/scpi-load-emulator.js';
import { serveLinesOnSerial } from './emulators/serve-line.js';
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

/** Live meter values from the shared physics: the emulated meter measures what the emulated load draws. */
export function liveValuesFrom(p: BenchPhysics, now = performance.now()): LiveValues {
  p.advance(now);
  return {
    voltage: p.voltage,
    current: p.currentA,
    activePower: p.powerW,
    reactivePower: p.reactiveVar,
    powerFactor: p.powerW === 0 ? 1 : p.powerFactor,
    frequency: p.frequency,
    importKWh: p.importWh / 1000,
    exportKWh: p.exportWh / 1000,
    events: 0,
    billingRecords: 0,
  };
}

/** Starts the coupled emulators of a serial rig on socat PTY pairs (link = the rig's path). */
export async function simUp(rig: RigConfig): Promise<{
  physics: BenchPhysics;
  instruments: ServedInstrument[];
  close(): Promise<void>;
}> {
  const physics = new BenchPhysics(1000, performance.now());
  const pairs: PtyPair[] = [];
  const closers: Array<() => Promise<void>> = [];
  const instruments: ServedInstrument[] = [];
  const close = async () => {
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
      if (SCPI_DIALECTS[inst.dialect] || inst.dialect === 'sdm630') {
        const pair = await openPtyPair({ a: emulatorPath, b: path });
        pairs.push(pair);
        if (SCPI_DIALECTS[inst.dialect]) {
          const s = await serveLinesOnSerial(emulatorPath, new ScpiLoadEmulator(physics), {
            baudRate: inst.transport.baudRate,
          });
          closers.push(s.close);
        } else {
          const { serveModbusRtu } = await import('../meter/faces/modbus.js');
          const unitId = typeof inst.options?.unitId === 'number' ? inst.options.unitId : 1;
          const s = await serveModbusRtu(() => liveValuesFrom(physics), {
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
