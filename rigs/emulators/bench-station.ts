import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import createDebug from 'debug';
import type { OcppVersion } from '../../protocols/ocpp-meter-values.js';
import { EmulatedStation, type StationFault } from './ocpp-station.js';
import type { BenchPhysics } from './physics.js';

const debug = createDebug('bench:bench-station');

/** The emulated station's own meter-values interval, until the central system sets one (a common factory value). */
const DEFAULT_SAMPLE_INTERVAL_S = 300;

/**
 * The emulated charging station of an emulated bench (`sim-ocpp`): an OCPP client (rigs/emulators/ocpp-station.ts)
 * whose meter measures what the emulated load draws, whose cable is the EV simulator's control pilot, and which
 * dials the bench's central system until it answers. A transaction starts when the central system starts one
 * remotely for a token and an EV is plugged in (pilot B or C), in either order, and ends when the EV unplugs
 * (pilot A) or the central system stops it.
 */
export interface BenchStationOptions {
  /** The central system's URL (ws:// or wss://, without the identity). */
  url: string;
  identity: string;
  version: OcppVersion;
  password?: string;
  physics: BenchPhysics;
  /** Fault knob: the station meter's gain error (%). */
  gainErrorPct?: number;
  /** Scenario seconds between periodic meter values during a transaction until the bench sets them (default 300). */
  sampleIntervalS?: number;
  /** The CA of a wss:// bench's certificate. */
  ca?: string;
  faults?: readonly StationFault[];
}

/** The emulated station's OCMF signing key: fixed by its identity, so its public key is the same in every run. */
export function benchStationKeyHex(identity: string): string {
  return createHash('sha256').update(`bench emulated station OCMF key: ${identity}`).digest('hex');
}

/** Starts the station dialling the bench; resolves at once (it keeps dialling until closed) with how to stop it. */
export function serveBenchStation(o: BenchStationOptions): () => Promise<void> {
  const { physics } = o;
  const gain = 1 + (o.gainErrorPct ?? 0) / 100;
  // The station's clock runs at the bench's pace, so a scaled bench's signed times span the scenario's hours.
  const t0Unix = Date.now() / 1000;
  const t0Wall = performance.now();
  const now = () => t0Unix + ((performance.now() - t0Wall) / 1000) * physics.timeScale;
  const station = new EmulatedStation({
    url: o.url,
    identity: o.identity,
    version: o.version,
    password: o.password,
    ocmfKeyHex: benchStationKeyHex(o.identity),
    // The identity is the station's own name (EMU-STATION-1 on the built-in rigs): it is the serial too.
    serial: o.identity,
    meterSerial: `M-${o.identity}`,
    model: 'bench-emu-station',
    energyWh: () => {
      physics.advance(performance.now());
      return physics.importWh * gain;
    },
    powerW: () => Math.max(0, physics.powerW * gain),
    now,
    reconnect: true,
    tls: o.ca ? { ca: o.ca } : undefined,
    faults: o.faults,
  });
  let closed = false;
  let pendingToken: string | undefined;
  /** One station action at a time, in order: a stop never overtakes the start it ends. */
  let queue: Promise<unknown> = Promise.resolve();
  const act = (what: string, fn: () => Promise<unknown>) => {
    queue = queue.then(fn).catch((e) => debug('%s %s: %s', o.identity, what, (e as Error).message));
  };
  const plugged = () => physics.cp !== 'A';
  const start = () => {
    const token = pendingToken;
    if (!token || !plugged() || station.transaction) return;
    pendingToken = undefined;
    act('start', () => station.startTransaction(token));
  };
  station.onRemoteStart = (token) => {
    pendingToken = token;
    start();
  };
  station.onRemoteStop = () => act('remote stop', () => station.stopTransaction('Remote'));
  const onCp = (state: string) => {
    if (state === 'A') {
      pendingToken = undefined;
      act('stop', () => station.stopTransaction('EVDisconnected'));
    } else start();
  };
  physics.on('cp', onCp);
  const sample = () => {
    // Read now, send in order: while the station is offline its samples queue with their own times and registers.
    if (station.transaction) {
      const sent = station.sample();
      act('sample', () => sent);
    }
  };
  const every = (seconds: number) => {
    const timer = setInterval(sample, (seconds / physics.timeScale) * 1000);
    timer.unref();
    return timer;
  };
  let sampler = every(o.sampleIntervalS ?? DEFAULT_SAMPLE_INTERVAL_S);
  station.onSampleInterval = (seconds) => {
    clearInterval(sampler);
    sampler = every(seconds);
  };
  const dial = (async () => {
    while (!closed) {
      try {
        await station.connect();
        debug('%s booted at %s', o.identity, o.url);
        return;
      } catch (e) {
        debug('%s dialling %s: %s', o.identity, o.url, (e as Error).message);
        await sleep(200);
      }
    }
  })();
  return async () => {
    closed = true;
    clearInterval(sampler);
    physics.off('cp', onCp);
    await station.close();
    await dial.catch(() => undefined);
  };
}
