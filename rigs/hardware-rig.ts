import createDebug from 'debug';
import { RigError } from '../engine/errors.js';
import { ENTRY, type MeasurementData, type TransportLatencyData } from '../engine/observations.js';
import type { Capability, CaseContext, CasePlan, InstrumentIdentity, Rig, RigIdentity } from '../engine/rig.js';
import { groundTruth } from '../profiles/scenario.js';
import type { Scenario } from '../profiles/scenario-schema.js';
import { transportFor } from './check.js';
import { ModbusMeterDriver } from './drivers/modbus-meter.js';
import { SCPI_DIALECTS } from './drivers/scpi-dialects.js';
import { ScpiLoadDriver } from './drivers/scpi-load.js';
import { type RigConfig, rigCapabilities } from './schema.js';
import { LatencyStats } from './transports/transport.js';

const log = createDebug('bench:rigs:hardware');

export interface SwitchStep {
  t: number;
  meterId: string;
  deltaP: number;
  deltaQ: number;
}

/**
 * A Rig over real drivers (sim-serial and real benches). Plays a scenario's switch events in real time (scaled by
 * `params.timeScale`, default 1) as power setpoints on the load, polls the DUT's measurements (`params.pollMs`,
 * default 1000), and records them, the transport latency per instrument and any gap through ctx.observe.
 * Supported now: SCPI loads and Modbus meters; relays/EV CP/JSONL/IEC instruments are not yet wired here.
 */
export class HardwareRig implements Rig {
  readonly name: string;
  readonly capabilities: ReadonlySet<Capability>;
  private load?: ScpiLoadDriver;
  private meter?: ModbusMeterDriver;
  private meterId = 'dut';

  constructor(private readonly config: RigConfig) {
    this.name = config.name;
    this.capabilities = rigCapabilities(config);
  }

  async open(): Promise<RigIdentity> {
    const instruments: InstrumentIdentity[] = [];
    for (const inst of this.config.instruments) {
      if (inst.transport.kind === 'sim') {
        throw new RigError('hardware rigs need serial or tcp transports', { device: inst.id, code: 'TRANSPORT' });
      }
      let identity = '';
      if (inst.role === 'load' && SCPI_DIALECTS[inst.dialect]) {
        this.load = new ScpiLoadDriver(transportFor(inst), inst.dialect);
        identity = await this.load.activate();
      } else if (inst.role === 'dut' && inst.dialect === 'sdm630') {
        const t = inst.transport;
        const endpoint =
          t.kind === 'serial'
            ? { kind: 'serial' as const, path: t.path, baudRate: t.baudRate, parity: t.parity }
            : { kind: 'tcp' as const, host: t.host, port: t.port };
        const unitId = typeof inst.options?.unitId === 'number' ? inst.options.unitId : 1;
        this.meter = new ModbusMeterDriver(inst.id, endpoint, inst.dialect, unitId, inst.timeoutMs);
        this.meterId = inst.id;
        await this.meter.activate();
        identity = `Modbus ${inst.dialect} unit ${unitId}`;
      } else {
        log('%s: no driver for dialect %s in the hardware rig yet', inst.id, inst.dialect);
        identity = `(no driver for ${inst.dialect})`;
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
    const timeScale = typeof plan.params.timeScale === 'number' ? plan.params.timeScale : 1;
    const pollMs = typeof plan.params.pollMs === 'number' ? plan.params.pollMs : 1000;
    const steps: SwitchStep[] = Array.isArray(plan.params.steps)
      ? (plan.params.steps as SwitchStep[])
      : groundTruth(plan.scenario as Scenario, ctx.seed).events;
    const sorted = [...steps].sort((a, b) => a.t - b.t);
    const endT = (sorted.at(-1)?.t ?? 0) + (typeof plan.params.tailS === 'number' ? plan.params.tailS : 2);
    const t0 = performance.now();
    const benchT = () => ((performance.now() - t0) / 1000) * timeScale;
    const sleep = (ms: number) =>
      new Promise<void>((r) => {
        const timer = setTimeout(r, Math.max(0, ms));
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          r();
        });
      });
    const meterLatency = new LatencyStats();
    let p = 0;
    let q = 0;
    let next = 0;
    let nextPoll = 0;
    for (let last = false; !last && !ctx.signal.aborted; ) {
      // One more pass after the end so the final state is measured.
      last = benchT() >= endT;
      const now = benchT();
      while (next < sorted.length && (sorted[next] as SwitchStep).t <= now) {
        const s = sorted[next++] as SwitchStep;
        p += s.deltaP;
        q += s.deltaQ;
        if (this.load) {
          const watts = Math.max(0, p);
          const s2 = Math.hypot(watts, q);
          await this.load.apply(
            watts < 1 ? { kind: 'off' } : { kind: 'power', watts, powerFactor: s2 > 0 ? Math.min(1, watts / s2) : 1 },
          );
        }
      }
      if (this.meter && (now >= nextPoll || last)) {
        nextPoll = now + (pollMs / 1000) * timeScale;
        const before = performance.now();
        try {
          const v = await this.meter.readAll();
          meterLatency.add(performance.now() - before);
          const m: MeasurementData = {
            caseId: plan.caseId,
            meterId: this.meterId,
            t: benchT(),
            p: v.activePower ?? 0,
            q: v.reactivePower ?? 0,
            vrms: v.voltage ?? 0,
            irms: v.current ?? 0,
            pf: v.powerFactor ?? 1,
            importWh: (v.importKWh ?? 0) * 1000,
            exportWh: (v.exportKWh ?? 0) * 1000,
          };
          ctx.observe(ENTRY.meterMeasurement, { ...m });
        } catch (e) {
          ctx.observe(ENTRY.rigGap, {
            caseId: plan.caseId,
            instrument: this.meterId,
            t: benchT(),
            reason: (e as Error).message,
          });
        }
      }
      ctx.progress(Math.min(endT, benchT()), endT, 'playing scenario');
      if (last) break;
      const nextStepT = next < sorted.length ? (sorted[next] as SwitchStep).t : endT;
      await sleep((Math.min(nextStepT, this.meter ? nextPoll : endT) - benchT()) * (1000 / timeScale));
    }
    const lat: Array<[string, LatencyStats]> = [[this.meterId, meterLatency]];
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

  async close(): Promise<void> {
    await this.load?.deactivate().catch((e) => log('load deactivate: %s', (e as Error).message));
    await this.meter?.deactivate().catch(() => undefined);
  }
}
