import createDebug from 'debug';
import type { SignedBillingRecord } from '../billing/billing-record.js';
import { signedBillingRecordFromJson } from '../billing/record-json.js';
import { RigError } from '../core/errors.js';
import {
  ENTRY,
  type MeasurementData,
  type MeterEventData,
  type PulseData,
  type RigErrorData,
  type RigGapData,
  type TransportLatencyData,
} from '../core/record/entries.js';
import type { Capability, CaseContext, CasePlan, InstrumentIdentity, Rig, RigIdentity } from '../core/rig.js';
import type { Scenario } from '../profiles/scenario-schema.js';
import type { CommissionCommand, MeterIdentityLine } from '../protocols/stream-commands.js';
import type { FirmataBoardDriver } from './drivers/firmata-board.js';
import { readIec62056 } from './drivers/iec62056.js';
import type { JsonlStreamDriver, StreamLine } from './drivers/jsonl-stream.js';
import type { ModbusMeterDriver } from './drivers/modbus-meter.js';
import type { ScpiLoadDriver } from './drivers/scpi-load.js';
import { endpointOf } from './endpoints.js';
import type { CpPins } from './ev-cp.js';
import { type InstrumentHandle, runEntryFor } from './instrument-registry.js';
import { type EvSignal, scenarioEvSignals, scenarioSetpoints, type TotalSetpoint } from './scenario-setpoints.js';
import { type InstrumentConfig, type RigConfig, rigCapabilities } from './schema.js';
import { LatencyStats } from './transports/transport.js';

const log = createDebug('bench:rigs:hardware');

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

/**
 * Why a bench with one DUT and a load (that only sinks power) cannot play a scenario, if it cannot: the executor
 * reports such a case NOT RUN before it starts.
 */
export function whyUnplayable(scenario: Scenario, seed: number, rigName: string): string | undefined {
  if (scenario.houses.length !== 1) return `scenario has ${scenario.houses.length} meters; rig ${rigName} has one DUT`;
  const house = scenario.houses[0] as Scenario['houses'][number];
  const exporting = scenarioSetpoints(scenario, house.id, seed).find((s) => s.p < -0.5);
  if (exporting) return `scenario exports power (t=${exporting.t} s); rig ${rigName}'s load only sinks it`;
  // The bench presents an EV through one control-pilot simulator (one charge point): a second EV plugged in while
  // the first still is would need a second one.
  const plugIns = scenario.evs
    .flatMap((ev) => ev.sessions.filter((s) => s.at === house.id).map((s) => ({ ev: ev.id, ...s })))
    .sort((a, b) => a.plugIn - b.plugIn);
  for (let i = 1; i < plugIns.length; i++) {
    const earlier = plugIns.slice(0, i).find((p) => p.ev !== plugIns[i]!.ev && p.unplug > plugIns[i]!.plugIn);
    if (earlier) {
      return `scenario has 2 EVs plugged in at once (t=${plugIns[i]!.plugIn} s); rig ${rigName} has one EV simulator`;
    }
  }
  return undefined;
}

/**
 * A Rig over real drivers (sim-serial and real benches). Plays a scenario's loads in (scaled) real time as power
 * setpoints on the load (rigs/scenario-setpoints.ts), polls the DUT's registers, counts the DUT's pulse output on the I/O board, and
 * records measurements, pulses, transport latency per instrument and every gap through ctx.observe. The bench has
 * one DUT, so a case's scenario must have exactly one meter (house); the measurements carry that house's id.
 */
export class HardwareRig implements Rig {
  readonly name: string;
  readonly capabilities: ReadonlySet<Capability>;
  private load?: ScpiLoadDriver;
  private meter?: ModbusMeterDriver;
  private reference?: ModbusMeterDriver;
  private referenceInstrument = 'reference';
  /** An IEC 62056-21 optical port polled by readout (a path; each readout opens it afresh, as the protocol does). */
  private optical?: { path: string; timeoutMs: number };
  private board?: FirmataBoardDriver;
  private cpPins?: CpPins;
  private stream?: JsonlStreamDriver;
  private streamInstrument = 'dut-stream';
  private streamBills = false;
  private meterInstrument = 'dut';
  private boardInstrument = 'board';
  private boardWireMs = 0;

  private dutIdentity?: MeterIdentityLine;

  constructor(
    private readonly config: RigConfig,
    private readonly opts: HardwareRigOptions = {},
  ) {
    this.name = config.name;
    this.capabilities = rigCapabilities(config);
  }

  async open(): Promise<RigIdentity> {
    const instruments: InstrumentIdentity[] = [];
    for (const inst of this.config.instruments) {
      const endpoint = endpointOf(inst);
      const entry = runEntryFor(inst);
      const handle = entry.driver(inst, endpoint);
      // Held before it talks, so close() also closes a driver whose identify failed.
      this.hold(inst, handle);
      const identity = await entry.identify(handle, inst);
      if (handle.kind === 'stream') this.dutIdentity = handle.dut;
      instruments.push({
        id: inst.id,
        role: inst.role,
        identity,
        transport: inst.transport.kind,
        capabilities: inst.capabilities,
      });
    }
    return { name: this.name, instruments, dut: this.dutIdentity ? { ...this.dutIdentity } : undefined };
  }

  /** Keeps a run's driver in the slot the case loops use it from. */
  private hold(inst: InstrumentConfig, h: InstrumentHandle): void {
    switch (h.kind) {
      case 'load':
        this.load = h.driver;
        return;
      case 'modbus-meter':
        if (inst.role === 'reference') {
          this.reference = h.driver;
          this.referenceInstrument = inst.id;
        } else {
          this.meter = h.driver;
          this.meterInstrument = inst.id;
        }
        return;
      case 'optical':
        this.optical = { path: h.path, timeoutMs: h.timeoutMs };
        this.meterInstrument = inst.id;
        return;
      case 'stream':
        this.stream = h.driver;
        this.streamInstrument = inst.id;
        this.streamBills = h.bills;
        return;
      case 'board':
        this.board = h.driver;
        this.cpPins = h.cpPins;
        this.boardInstrument = inst.id;
        this.boardWireMs = h.wireMs;
        return;
    }
  }

  /** The DUT's identity from its stream face (signing address, firmware, host pseudonym), once open. */
  get dut(): MeterIdentityLine | undefined {
    return this.dutIdentity;
  }

  async runCase(plan: CasePlan, ctx: CaseContext): Promise<void> {
    const scenario = plan.scenario as Scenario;
    const unplayable = whyUnplayable(scenario, ctx.seed, this.name);
    if (unplayable) throw new RigError(unplayable, { device: this.meterInstrument, code: 'SCENARIO' });
    const house = scenario.houses[0] as Scenario['houses'][number];
    const meterId = house.id;
    const { timeScale, pollMs, tailS } = playbackOf(plan.params);
    const commission = plan.params.commission as Omit<CommissionCommand, 'type'> | undefined;
    const schedule = scenarioSetpoints(scenario, meterId, ctx.seed);
    const signals = scenarioEvSignals(scenario, meterId, ctx.seed);
    const endT = Math.max(scenario.durationS, (schedule.at(-1)?.t ?? 0) + tailS);
    let t0 = performance.now();
    const benchT = (wallMs = performance.now()) => ((wallMs - t0) / 1000) * timeScale;
    // Ends every wait of this case: the run's abort, or one of its two loops failing.
    const halt = new AbortController();
    const onAbort = () => halt.abort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    if (ctx.signal.aborted) halt.abort();
    const sleep = (ms: number) =>
      new Promise<void>((r) => {
        const wake = () => {
          clearTimeout(timer);
          r();
        };
        const timer = setTimeout(
          () => {
            halt.signal.removeEventListener('abort', wake);
            r();
          },
          Math.max(0, ms),
        );
        halt.signal.addEventListener('abort', wake, { once: true });
      });
    const gap = (instrument: string, reason: string, code?: string) => {
      const g: RigGapData = { caseId: plan.caseId, instrument, t: benchT(), reason, ...(code && { code }) };
      ctx.observe(ENTRY.rigGap, { ...g });
    };
    const onReconnect = (gapMs: number) => gap(this.load?.transport.device ?? 'load', `reconnected after ${gapMs} ms`);
    const rigError = (instrument: string, code: string, message: string) => {
      const d: RigErrorData = { caseId: plan.caseId, instrument, t: benchT(), code, message };
      ctx.observe(ENTRY.rigError, { ...d });
    };
    const onStreamEvent = (l: StreamLine) => {
      const e = meterEventOf(l, plan.caseId, meterId, benchT(), commission !== undefined);
      if (e) ctx.observe(ENTRY.meterEvent, { ...e });
      else
        rigError(
          this.streamInstrument,
          'BAD_FRAME',
          `event line without direction/class/deltaP: ${JSON.stringify(l).slice(0, 120)}`,
        );
    };
    const onBadFrame = (e: RigError) => rigError(this.streamInstrument, e.code, e.message);
    // The bench is the meter's gateway: records it streams are relayed to the ledger in order, exactly as signed.
    const relay = this.opts.relayFor?.(ctx.observe);
    let relayed: Promise<void> = Promise.resolve();
    const onStreamBilling = (l: StreamLine) => {
      let signed: SignedBillingRecord;
      try {
        signed = signedBillingRecordFromJson(l.signed);
      } catch (e) {
        rigError(
          this.streamInstrument,
          'BAD_FRAME',
          `billing line without a valid signed record: ${(e as Error).message}`,
        );
        return;
      }
      ctx.observe(ENTRY.meterBilling, { meterId, tObserved: benchT(), signed: l.signed as Record<string, unknown> });
      if (relay) {
        relayed = relayed.then(() =>
          relay.submit(signed).then(
            () => undefined,
            (e) => rigError(this.streamInstrument, 'LEDGER', `relay failed: ${(e as Error).message}`),
          ),
        );
      }
    };
    const meterLatency = new LatencyStats();
    const referenceLatency = new LatencyStats();
    const scope: PollScope = { meterId, caseId: plan.caseId, benchT, ctx, gap };
    // A setpoint the load could not take because its line was down is retried until it is taken: the case goes on
    // with a gap in the record instead of ending.
    let unapplied: TotalSetpoint | undefined;
    const apply = async (sp: TotalSetpoint) => {
      const watts = Math.max(0, sp.p);
      const va = Math.hypot(watts, sp.q);
      try {
        await this.load?.apply(
          watts < 1 ? { kind: 'off' } : { kind: 'power', watts, powerFactor: va > 0 ? Math.min(1, watts / va) : 1 },
        );
        unapplied = undefined;
      } catch (e) {
        const code = (e as RigError).code;
        if (code !== 'DISCONNECTED' && code !== 'TIMEOUT' && code !== 'CLOSED') throw e;
        if (!unapplied) gap(this.load?.transport.device ?? 'load', `setpoint not taken: ${(e as Error).message}`, code);
        unapplied = sp;
      }
    };
    let next = 0;
    let nextSignal = 0;
    const signal = async (sg: EvSignal) => {
      if (sg.kind === 'cp' && this.board && this.cpPins) {
        this.board.setCp(sg.state, this.cpPins);
        ctx.observe(ENTRY.rigCp, { meterId, evId: sg.evId, t: benchT(), state: sg.state });
      } else if (sg.kind === 'authorize' && this.stream) {
        await this.stream.send({ type: 'authorize', contractId: sg.contractId });
        ctx.observe(ENTRY.rigAuth, { meterId, evId: sg.evId, t: benchT(), contractId: sg.contractId });
      }
    };
    // What is on at t = 0 (the standby base) is on before the case's clock starts, as in the scenario, and the DUT
    // settles on it unobserved.
    const first = schedule[0];
    if (first && first.t === 0) {
      next = 1;
      await apply(first);
      if (first.p >= 1) await sleep((SETTLE_S / timeScale) * 1000);
    }
    if (commission && this.stream) await this.stream.send({ type: 'commission', ...commission });
    t0 = performance.now();
    let pulsesSeen = this.board?.pulses ?? 0;
    this.load?.transport.on('reconnect', onReconnect);
    this.stream?.on('event', onStreamEvent);
    this.stream?.on('bad-frame', onBadFrame);
    if (this.streamBills) this.stream?.on('billing', onStreamBilling);
    // Playback and polling run side by side: a slow meter read (an optical readout takes about a second at 300 Bd)
    // must not hold back a load step, or the DUT's detection latency would be measured against a late switch.
    const playback = async () => {
      while (!halt.signal.aborted) {
        const now = benchT();
        // Charge-point signals first: the pilot goes to C before the EV's current flows.
        while (nextSignal < signals.length && (signals[nextSignal] as EvSignal).t <= now) {
          await signal(signals[nextSignal++] as EvSignal);
        }
        if (unapplied && (next >= schedule.length || (schedule[next] as TotalSetpoint).t > now)) await apply(unapplied);
        while (next < schedule.length && (schedule[next] as TotalSetpoint).t <= now) {
          await apply(schedule[next++] as TotalSetpoint);
        }
        if (now >= endT) return;
        const nextStepT = Math.min(
          next < schedule.length ? (schedule[next] as TotalSetpoint).t : endT,
          nextSignal < signals.length ? (signals[nextSignal] as EvSignal).t : endT,
          // A setpoint the load has not taken yet is retried at the poll cadence.
          unapplied ? now + (pollMs / 1000) * timeScale : endT,
        );
        await sleep((nextStepT - benchT()) * (1000 / timeScale));
      }
    };
    const polling = async () => {
      for (let last = false; !last && !halt.signal.aborted; ) {
        // One more poll after the end so the final state is measured.
        last = benchT() >= endT;
        const nextPoll = benchT() + (pollMs / 1000) * timeScale;
        if (this.meter) await this.pollModbus(this.meter, ENTRY.meterMeasurement, meterLatency, scope);
        else if (this.optical) await this.readOptical(meterLatency, scope);
        if (this.reference) await this.pollModbus(this.reference, ENTRY.referenceMeasurement, referenceLatency, scope);
        if (this.board && this.board.pulses > pulsesSeen) {
          const p: PulseData = {
            caseId: plan.caseId,
            channel: `${this.boardInstrument}/s0`,
            // When the latest of these edges' reports reached the bench: host time, the board sends none.
            t: benchT(this.board.edges.at(-1)?.t),
            count: this.board.pulses - pulsesSeen,
            timeSource: 'host-receive',
            minDelayMs: this.boardWireMs,
          };
          ctx.observe(ENTRY.pulse, { ...p, meterId });
          pulsesSeen = this.board.pulses;
        }
        ctx.progress(Math.min(endT, benchT()), endT, 'playing scenario');
        if (!last) await sleep((Math.min(nextPoll, endT) - benchT()) * (1000 / timeScale));
      }
    };
    const stopOnError = (loop: () => Promise<void>) =>
      loop().catch((e) => {
        halt.abort();
        throw e;
      });
    try {
      const ended = await Promise.allSettled([stopOnError(playback), stopOnError(polling)]);
      const failed = ended.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      this.load?.transport.off('reconnect', onReconnect);
      this.stream?.off('event', onStreamEvent);
      this.stream?.off('bad-frame', onBadFrame);
      this.stream?.off('billing', onStreamBilling);
      await relayed;
      // A case always ends with the load off and no EV on the pilot, whatever happened.
      await this.load?.apply({ kind: 'off' }).catch((e) => log('load off: %s', (e as Error).message));
      if (this.board && this.cpPins) {
        try {
          this.board.setCp('A', this.cpPins);
        } catch (e) {
          log('pilot to A: %s', (e as Error).message);
        }
      }
    }
    const lat: Array<[string, LatencyStats]> = [
      [this.meterInstrument, meterLatency],
      [this.referenceInstrument, referenceLatency],
    ];
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

  /**
   * One Modbus meter poll (the DUT or the reference). The energy registers are read first and timestamped at their
   * midpoint: energy is what metrology interpolates in time; the instantaneous quantities tolerate the few ms the
   * rest of the poll takes.
   */
  private async pollModbus(
    meter: ModbusMeterDriver,
    kind: string,
    latency: LatencyStats,
    at: PollScope,
  ): Promise<void> {
    const { meterId, caseId, benchT, ctx, gap } = at;
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
      ctx.observe(kind, { ...m });
    } catch (e) {
      gap(meter.device, (e as Error).message, rigErrorCode(e));
    }
  }

  /** One optical readout: energy (1.8.0/2.8.0, 1 Wh resolution), power, voltage and current from the OBIS block. */
  private async readOptical(latency: LatencyStats, at: PollScope): Promise<void> {
    const { meterId, caseId, benchT, ctx, gap } = at;
    const optical = this.optical as { path: string; timeoutMs: number };
    const before = performance.now();
    try {
      const r = await readIec62056(this.meterInstrument, optical.path, { timeoutMs: optical.timeoutMs });
      const num = (code: string) => r.items[code]?.number ?? Number.NaN;
      latency.add(performance.now() - before);
      const p = num('1.7.0') * 1000;
      const vrms = num('32.7.0');
      const irms = num('31.7.0');
      const m: MeasurementData = {
        caseId,
        meterId,
        // The data block is formed when the readout is agreed: near its end, not its 300 Bd sign-on.
        t: benchT(),
        p,
        q: 0,
        vrms,
        irms,
        pf: vrms * irms > 0 ? Math.min(1, Math.abs(p) / (vrms * irms)) : 1,
        importWh: num('1.8.0') * 1000,
        exportWh: num('2.8.0') * 1000,
      };
      ctx.observe(ENTRY.meterMeasurement, { ...m });
    } catch (e) {
      gap(this.meterInstrument, (e as Error).message, rigErrorCode(e));
    }
  }

  async close(): Promise<void> {
    await this.load?.deactivate().catch((e) => log('load deactivate: %s', (e as Error).message));
    await this.meter?.deactivate().catch(() => undefined);
    await this.reference?.deactivate().catch(() => undefined);
    await this.board?.deactivate().catch(() => undefined);
    await this.stream?.deactivate().catch(() => undefined);
  }
}

/** Where one poll's readings go: the case, its clock and the record. */
interface PollScope {
  meterId: string;
  caseId: string;
  benchT: (wallMs?: number) => number;
  ctx: CaseContext;
  gap: (instrument: string, reason: string, code?: string) => void;
}

export interface HardwareRigOptions {
  /** Where billing records streamed by the DUT go (the run's ledger); records are observed into the record either way. */
  relayFor?: (observe: CaseContext['observe']) => { submit(signed: SignedBillingRecord): Promise<unknown> };
}

const rigErrorCode = (e: unknown) => (e instanceof RigError ? e.code : undefined);

/** Scenario seconds the DUT gets to settle on the standby load before a case's clock starts. */
const SETTLE_S = 5;

/**
 * A stream `event` line as a meter event observed by the bench at `tObserved`; undefined when malformed. The
 * meter's own timestamp (`tMeter`, seconds on its clock) is kept only when the bench set that clock for the case
 * (commissioning), so it reads in case time.
 */
export function meterEventOf(
  l: StreamLine,
  caseId: string,
  meterId: string,
  tObserved: number,
  meterClockSet = false,
): MeterEventData | undefined {
  if ((l.direction !== 'on' && l.direction !== 'off') || typeof l.class !== 'string') return undefined;
  if (typeof l.deltaP !== 'number' || !Number.isFinite(l.deltaP)) return undefined;
  const transient = l.transient as MeterEventData['transient'] | undefined;
  return {
    caseId,
    meterId,
    ...(meterClockSet && typeof l.tMeter === 'number' && Number.isFinite(l.tMeter) ? { tMeter: l.tMeter } : {}),
    tObserved,
    direction: l.direction,
    class: l.class,
    profile: typeof l.profile === 'string' ? l.profile : undefined,
    deltaP: l.deltaP,
    deltaQ: typeof l.deltaQ === 'number' ? l.deltaQ : 0,
    ...(transient && typeof transient.peakA === 'number' ? { transient } : {}),
    ...(typeof l.energyWh === 'number' && Number.isFinite(l.energyWh) ? { energyWh: l.energyWh } : {}),
  };
}
