import { existsSync, mkdirSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../core/errors.js';
import type { ReferenceMeterEmulator } from './emulators/meter-emulator.js';
import { BenchPhysics } from './emulators/physics.js';
import { openPtyPair, type PtyPair } from './emulators/pty.js';
import { diallingEmulatorFor, type EmulatorBench, emulatorFor } from './emulators/registry.js';
import type { RigConfig } from './schema.js';

export interface ServedInstrument {
  id: string;
  dialect: string;
  /** Path the driver opens (the rig file's path, a socat link). */
  path: string;
  /** The emulator's end of the PTY pair; for an instrument that dials the bench (a station), the URL it dials. */
  emulatorPath: string;
  status: 'served' | 'no-emulator';
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

/** The rig with each listening instrument on a port free now, so emulated benches never share a port. */
export async function withFreeListenPorts(config: RigConfig): Promise<RigConfig> {
  const instruments = [];
  for (const i of config.instruments)
    instruments.push(
      i.transport.kind === 'listen' ? { ...i, transport: { ...i.transport, port: await freePort() } } : i,
    );
  return { ...config, instruments };
}

/** A TCP port the OS has free now (it gives one for port 0; the listener is closed again at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** How often the physics integrates on its own (ms) so pulses flow even when no instrument is asked. */
const PHYSICS_TICK_MS = 20;

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
  const bench: EmulatorBench = { physics, addMeter: (m) => meters.push(m) };
  const close = async () => {
    clearInterval(ticker);
    for (const c of closers.reverse()) await c().catch(() => undefined);
    for (const p of pairs) await p.close();
  };
  try {
    for (const inst of rig.instruments) {
      if (inst.transport.kind === 'listen') {
        // A charging station dials the bench's central system, which listens once a run opens the rig.
        const t = inst.transport;
        const url = `${t.tls ? 'wss' : 'ws'}://${t.host === '0.0.0.0' ? '127.0.0.1' : t.host}:${t.port}/`;
        const dial = diallingEmulatorFor(inst.dialect);
        if (dial) closers.push(dial(inst, url, bench));
        instruments.push({
          id: inst.id,
          dialect: inst.dialect,
          path: `${t.host}:${t.port}`,
          emulatorPath: url,
          status: dial ? 'served' : 'no-emulator',
        });
        continue;
      }
      if (inst.transport.kind !== 'serial') continue;
      const path = inst.transport.path;
      mkdirSync(dirname(path), { recursive: true });
      const emulatorPath = `${path}.emu`;
      const serve = emulatorFor(inst.dialect);
      if (serve) {
        pairs.push(await openPtyPair({ a: emulatorPath, b: path }));
        closers.push(await serve(inst, emulatorPath, inst.transport.baudRate, bench));
      }
      instruments.push({
        id: inst.id,
        dialect: inst.dialect,
        path,
        emulatorPath,
        status: serve ? 'served' : 'no-emulator',
      });
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { physics, instruments, close };
}
