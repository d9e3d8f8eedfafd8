import createDebug from 'debug';
import { RigError } from '../engine/errors.js';
import { ENTRY, type MeasurementData, type RigGapData, type TransportLatencyData } from '../engine/observations.js';
import type { Capability, CaseContext, CasePlan, InstrumentIdentity, Rig, RigIdentity } from '../engine/rig.js';
import { groundTruth } from '../profiles/scenario.js';
import type { Scenario } from '../profiles/scenario-schema.js';
import { transportFor } from './check.js';
import { FirmataBoardDriver } from './drivers/firmata-board.js';
import { ModbusMeterDriver } from './drivers/modbus-meter.js';
import { SCPI_DIALECTS } from './drivers/scpi-dialects.js';
import { ScpiLoadDriver } from './drivers/scpi-load.js';
import { type InstrumentConfig, type RigConfig, rigCapabilities } from './schema.js';
import { LatencyStats } from './transports/transport.js';

const log = createDebug('bench:rigs:hardware');

export interface SwitchStep {
  t: number;
  meterId: string;
  deltaP: number;
  deltaQ: number;
}

/** Knobs of a hardware run, from the suite/case parameters and `bench certify --time-scale`. */
export interface HardwarePlayback {
  /** Scenario seconds per wall second; 1 on real hardware, higher only for emulators running the same scale. */
  timeScale: number;
  /** Wall milliseconds between DUT polls. */
  pollMs: number;
  /** Scenario seconds played after the last switch so the final state is measured. */
  tailS: number;
}

export function playbackOf(params: Record<string, unknown>): HardwarePlayback {
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : d);
  const timeScale = num(params.timeScale, 1);
  // One poll per scenario second by default, but no faster than a Modbus meter at 9600 Bd can answer a full poll.
  return { timeScale, pollMs: num(params.pollMs, Math.max(50, 1000 / timeScale)), tailS: num(params.tailS, 2) };
}

/** Wall seconds a scenario takes to play on a hardware rig (the executor adds it to the case's time limit). */
export function realTimeSeconds(scenario: Scenario, params: Record<string, unknown>): number {
  return scenario.durationS / playbackOf(params).timeScale;
}

function endpointOf(inst: InstrumentConfig) {
  const t = inst.transport;
  if (t.kind === 'serial') return { kind: 'serial' as const, path: t.path, baudRate: t.baudRate, parity: t.parity };
  if (t.kind === 'tcp') return { kind: 'tcp' as const, host: t.host, port: t.port };
  throw new RigError('hardware rigs need serial or tcp transports', { device: inst.id, code: 'TRANSPORT' });
}

/**
 * A Rig over real drivers (sim-serial and real benches). Plays a scenario's switch events in (scaled) real time as
 * power setpoints on the load, polls the DUT's registers, counts the DUT's pulse output on the I/O board, and
 * records measurements, pulses, transport latency per instrument and every gap through ctx.observe. The bench has
 * one DUT, so a case's scenario must have exactly one meter (house); the measurements carry that house's id.
 */
export class HardwareRig implements Rig {
  readonly name: string;
  readonly capabilities: ReadonlySet<Capability>;
  private load?: ScpiLoadDriver;
  private meter?: ModbusMeterDriver;
  private board?: FirmataBoardDriver;
  private meterInstrument = 'dut';
  private boardInstrument = 'board';

  constructor(private readonly config: RigConfig) {
    this.name = config.name;
    this.capabilities = rigCapabilities(config);
  }

  async open(): Promise<RigIdentity> {
    const instruments: InstrumentIdentity[] = [];
    for (const inst of this.config.instruments) {
      const endpoint = endpointOf(inst);
      let identity: string;
      if (inst.role === 'load' && SCPI_DIALECTS[inst.dialect]) {
        this.load = new ScpiLoadDriver(transportFor(inst), inst.dialect);
        identity = await this.load.activate();
      } else if (inst.role === 'dut' && inst.dialect === 'sdm630') {
        const unitId = typeof inst.options?.unitId === 'number' ? inst.options.unitId : 1;
        this.meter = new ModbusMeterDriver(inst.id, endpoint, inst.dialect, unitId, inst.timeoutMs);
        this.meterInstrument = inst.id;
        await this.meter.activate();
        identity = `Modbus ${inst.dialect} unit ${unitId}`;
      } else if (inst.dialect === 'firmata' && endpoint.kind === 'serial') {
        const pulsePin = typeof inst.options?.pulsePin === 'number' ? inst.options.pulsePin : 2;
        this.board = new FirmataBoardDriver(inst.id, endpoint.path, {
          baudRate: endpoint.baudRate,
          pulsePin,
          timeoutMs: Math.max(inst.timeoutMs, 10_000),
        });
        this.boardInstrument = inst.id;
        identity = await this.board.activate();
      } else {
        throw new RigError(`no hardware driver for dialect ${inst.dialect} in role ${inst.role}`, {
          device: inst.id,
          code: 'DIALECT',
        });
      }
      instruments.push({
        id: inst.id,
        role: inst.role,
        identity,
        transport: inst.transport.kind,
        capabilities: inst.capabilities,
      });
    }
    return { name: this.name, instruments };
  }

  async runCase(plan: CasePlan, ctx: CaseContext): Promise<void> {
    const scenario = plan.scenario as Scenario;
    const houses = scenario.houses ?? [];
    if (houses.length !== 1) {
      throw new RigError(`scenario ${scenario.name} has ${houses.length} meters; rig ${this.name} has one DUT`, {
        device: this.meterInstrument,
        code: 'SCENARIO',
      });
    }
    const meterId = (houses[0] as { id: string }).id;
    const { timeScale, pollMs, tailS } = playbackOf(plan.params);
    const sorted: SwitchStep[] = groundTruth(scenario, ctx.seed).events.sort((a, b) => a.t - b.t);
    const endT = Math.max(scenario.durationS, (sorted.at(-1)?.t ?? 0) + tailS);
    const t0 = performance.now();
    const benchT = (wallMs = performance.now()) => ((wallMs - t0) / 1000) * timeScale;
    const sleep = (ms: number) =>
      new Promise<void>((r) => {
        const wake = () => {
          clearTimeout(timer);
          r();
        };
        const timer = setTimeout(
          () => {
            ctx.signal.removeEventListener('abort', wake);
            r();
          },
          Math.max(0, ms),
        );
        ctx.signal.addEventListener('abort', wake, { once: true });
      });
    const gap = (instrument: string, reason: string) => {
      const g: RigGapData = { caseId: plan.caseId, instrument, t: benchT(), reason };
      ctx.observe(ENTRY.rigGap, { ...g });
    };
    const onReconnect = (gapMs: number) => gap(this.load?.transport.device ?? 'load', `reconnected after ${gapMs} ms`);
    this.load?.transport.on('reconnect', onReconnect);
    const meterLatency = new LatencyStats();
    let pulsesSeen = this.board?.pulses ?? 0;
    let p = 0;
    let q = 0;
    let next = 0;
    let nextPoll = 0;
    try {
      for (let last = false; !last && !ctx.signal.aborted; ) {
        // One more pass after the end so the final state is measured.
        last = benchT() >= endT;
        const now = benchT();
        while (next < sorted.length && (sorted[next] as SwitchStep).t <= now) {
          const s = sorted[next++] as SwitchStep;
          if (s.meterId !== meterId) continue;
          p += s.deltaP;
          q += s.deltaQ;
          if (this.load) {
            const watts = Math.max(0, p);
            const va = Math.hypot(watts, q);
            await this.load.apply(
              watts < 1 ? { kind: 'off' } : { kind: 'power', watts, powerFactor: va > 0 ? Math.min(1, watts / va) : 1 },
            );
          }
        }
        if (now >= nextPoll || last) {
          nextPoll = now + (pollMs / 1000) * timeScale;
          if (this.meter) await this.pollMeter(meterId, plan.caseId, benchT, meterLatency, ctx, gap);
          if (this.board && this.board.pulses > pulsesSeen) {
            ctx.observe(ENTRY.pulse, {
              channel: `${this.boardInstrument}/s0`,
              meterId,
              t: benchT(),
              count: this.board.pulses - pulsesSeen,
            });
            pulsesSeen = this.board.pulses;
          }
        }
        ctx.progress(Math.min(endT, benchT()), endT, 'playing scenario');
        if (last) break;
        const nextStepT = next < sorted.length ? (sorted[next] as SwitchStep).t : endT;
        await sleep((Math.min(nextStepT, nextPoll, endT) - benchT()) * (1000 / timeScale));
      }
    } finally {
      this.load?.transport.off('reconnect', onReconnect);
      // A case always ends with the load off, whatever happened.
      await this.load?.apply({ kind: 'off' }).catch((e) => log('load off: %s', (e as Error).message));
    }
    const lat: Array<[string, LatencyStats]> = [[this.meterInstrument, meterLatency]];
    if (this.load) lat.push([this.load.transport.device, this.load.transport.latency]);
    for (const [instrument, stats] of lat) {
      if (!stats.count) continue;
      const d: TransportLatencyData = {
        instrument,
        samples: stats.count,
        p50Ms: stats.quantile(0.5) ?? 0,
        p99Ms: stats.quantile(0.99) ?? 0,
      };
      ctx.observe(ENTRY.transportLatency, { ...d });
    }
  }

  /** One DUT poll. The energy registers are read first and timestamped at their midpoint: energy is what metrology
   * interpolates in time, the instantaneous quantities tolerate the few ms the rest of the poll takes. */
  private async pollMeter(
    meterId: string,
    caseId: string,
    benchT: (wallMs?: number) => number,
    latency: LatencyStats,
    ctx: CaseContext,
    gap: (instrument: string, reason: string) => void,
  ): Promise<void> {
    const meter = this.meter as ModbusMeterDriver;
    const before = performance.now();
    try {
      const importKWh = await meter.readQuantity('importKWh');
      const exportKWh = await meter.readQuantity('exportKWh');
      const t = benchT((before + performance.now()) / 2);
      const read = (name: string) => meter.readQuantity(name);
      const m: MeasurementData = {
        caseId,
        meterId,
        t,
        p: await read('activePower'),
        q: await read('reactivePower'),
        vrms: await read('voltage'),
        irms: await read('current'),
        pf: await read('powerFactor'),
        importWh: importKWh * 1000,
        exportWh: exportKWh * 1000,
      };
      latency.add((performance.now() - before) / 7);
      ctx.observe(ENTRY.meterMeasurement, { ...m });
    } catch (e) {
      gap(this.meterInstrument, (e as Error).message);
    }
  }

  async close(): Promise<void> {
    await this.load?.deactivate().catch((e) => log('load deactivate: %s', (e as Error).message));
    await this.meter?.deactivate().catch(() => undefined);
    await this.board?.deactivate().catch(() => undefined);
  }
}
