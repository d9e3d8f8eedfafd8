import { pseudonym } from '../billing/billing-record.js';
import { CycleAnalyzer, CycleFeatures } from '../dsp/cycle.js';
import type { CycleBlock } from '../profiles/waveform.js';
import type { MeterIdentityLine } from '../protocols/stream-commands.js';
import { StepAttribution } from './attribution.js';
import { type LedgerForwarder, MeterBilling, TariffBands } from './billing.js';
import { MeterClock, type TimeSource } from './clock.js';
import type { MeterConfig } from './config.js';
import { StepDetector } from './detector.js';
import { EvSessions, type PilotState } from './ev-sessions.js';
import { MeterFaults } from './faults.js';
import { firmwareHash, type MeterIdentity } from './identity.js';
import type { DecidedEvent, MeterOutputs } from './outputs.js';
import { EnergyRegisters } from './registers.js';
import type { Signature } from './signatures.js';
import type { BillingStore } from './store.js';

/** cos and sin of m · 120° (m = h · k mod 3): the turn that brings phase k's harmonic h into L1's frame. */
const PHASE_ROTATION_COS = [0, 1, 2].map((m) => Math.cos((2 * Math.PI * m) / 3));
const PHASE_ROTATION_SIN = [0, 1, 2].map((m) => Math.sin((2 * Math.PI * m) / 3));

/**
 * The reference smart meter: the survey's load-identifying, EV-billing meter. Cycle by cycle: DSP (dsp/cycle.ts),
 * energy registers (registers.ts), step detection (detector.ts), identification against a signature library and
 * load tracking (attribution.ts), EV sessions (ev-sessions.ts), TOU billing with EIP-712 signed records and
 * store-and-forward to the ledger (billing.ts), periodic reports, log, clock (clock.ts), fault knobs (faults.ts).
 * This class wires the parts and runs the cycle loop; build one with meter/factory.ts.
 */
export class ReferenceMeter {
  private readonly analyzer: CycleAnalyzer;
  private readonly f = new CycleFeatures();
  private readonly detector: StepDetector;
  private readonly meterClock: MeterClock;
  private readonly registers: EnergyRegisters;
  /** A three-phase supply's phases (L1, L2, L3): each one's features and registers; empty on a single phase. */
  private readonly lines: Array<{
    analyzer: CycleAnalyzer;
    features: CycleFeatures;
    registers: EnergyRegisters;
    thd: { sum: number; n: number };
    vthd: { sum: number; n: number };
  }> = [];
  private readonly faults: MeterFaults;
  private readonly billing: MeterBilling;
  private readonly sessions: EvSessions;
  private readonly attribution: StepAttribution;
  private reportSeq = 0;
  private nextReport: number;
  private nextMeasurement: number;
  /** Scenario time of the end of the last cycle processed. */
  private lastT = 0;
  readonly firmwareHash: string;

  constructor(
    readonly config: MeterConfig,
    readonly id: MeterIdentity,
    signatures: readonly Signature[],
    private readonly out: MeterOutputs,
    store: BillingStore,
    samplesPerCycle: number,
    frequency: number,
  ) {
    const log = this.log.bind(this);
    this.analyzer = new CycleAnalyzer(samplesPerCycle);
    this.registers = new EnergyRegisters(config.startThresholdW);
    this.detector = new StepDetector(config.eventThresholdW, 1 / frequency);
    this.meterClock = new MeterClock(config.faults.clockDriftPpm, config.clockSyncIntervalS);
    this.faults = new MeterFaults(config, id.seed, log);
    this.billing = new MeterBilling(config, id, this.faults, this.meterClock, store, out, log);
    const bands = new TariffBands(id.tariff, id.epochS, this.meterClock);
    this.sessions = new EvSessions(config.evPauseHoldS, this.meterClock, bands, (load, end, now) =>
      this.billing.bill(load, end, now),
    );
    this.attribution = new StepAttribution(this.detector, {
      signatures: [...signatures],
      sessions: this.sessions,
      bands,
      clock: this.meterClock,
      faults: this.faults,
      eventThresholdW: config.eventThresholdW,
      emit: (at, e) => this.emitEvent(at, e),
    });
    this.nextReport = config.reportIntervalS;
    this.nextMeasurement = config.measurementIntervalS;
    this.firmwareHash = firmwareHash(config.firmwareVersion, config.faults.unattestedFirmware);
  }

  /** The last sequence number signed. */
  get lastSeq(): bigint {
    return this.billing.lastSeq;
  }

  get address(): string {
    return this.billing.address;
  }

  get backlog(): number {
    return this.billing.backlog;
  }

  /** Where periodic syncs take the time from (the bench's clock unless set otherwise, e.g. the ledger's). */
  get timeSource(): TimeSource {
    return this.meterClock.source;
  }

  set timeSource(source: TimeSource) {
    this.meterClock.source = source;
  }

  /** Who the meter is, as its stream face answers `identify`: the host only as its pseudonym. */
  identity(): MeterIdentityLine {
    return {
      model: this.config.model,
      firmwareVersion: this.config.firmwareVersion,
      firmwareHash: this.firmwareHash,
      address: this.address,
      host: pseudonym(this.id.hostContractId, this.config.pseudonymSalt),
    };
  }

  /** The meter clock's reading (scenario seconds) at true time t: drift accumulates from the last sync before t. */
  clock(t: number): number {
    return this.meterClock.read(t);
  }

  /** Meter clock minus true time at t. */
  offsetAt(t: number): number {
    return this.meterClock.offsetAt(t);
  }

  /**
   * Sets the clock at true time t to `sourceT` (the time source's reading) and logs the offset removed. Periodic
   * syncs call it with the time source; the stream face's `sync` command calls it on demand.
   */
  syncClock(t: number, sourceT: number, source: string): number {
    const corrected = this.meterClock.set(t, sourceT);
    this.out.log({
      meterId: this.id.meterId,
      t,
      level: 'info',
      code: 'clock-sync',
      message: `clock synchronised from ${source}: corrected ${corrected >= 0 ? '+' : ''}${corrected.toFixed(6)} s`,
      offsetS: corrected,
    });
    return corrected;
  }

  /** A contract token on the authorisation channel (RFID / ISO 15118 contract id). */
  authorize(contractId: string, t: number): void {
    this.sessions.authorize(contractId, t, this.attribution.active);
  }

  /** The charge point's control-pilot state at a connector (see EvSessions.pilot). */
  pilot(connector: string, state: PilotState, t: number): void {
    this.sessions.pilot(connector, state, t);
  }

  processBlock(block: CycleBlock): void {
    const n = block.samplesPerCycle;
    const dt = 1 / block.frequency;
    const gain = this.faults.gain;
    for (let c = 0; c < block.cycles; c++) {
      const t = block.t0 + c * dt;
      this.lastT = t + dt;
      if (this.meterClock.syncDue(t)) this.syncClock(t, this.timeSource.now(t), this.timeSource.name);
      this.faults.flush(t);
      this.sessions.expire(t);
      if (this.faults.channelDead(t, dt)) continue;
      const f = block.lines
        ? this.analyzeLines(block.lines, c * n)
        : this.analyzer.analyze(block.voltage, block.current, c * n, this.f, gain);
      const booked = this.faults.bookedPower(f);
      if (this.registers.integrate(booked, f.q, dt)) {
        this.attribution.integrate(t, dt);
        const count = this.registers.pulses(booked, dt);
        if (count > 0) this.out.pulse({ channel: `${this.id.meterId}/s0`, t, count });
      }
      this.registers.accumulate(f);
      if (block.lines) for (const line of this.lines) this.bookLine(line, dt);
      const step = this.detector.push(t, f);
      if (step) this.attribution.onStep(step, t, this.lastT);
      else if (!this.detector.inTransition) this.attribution.trackDrift(dt, this.lastT);
      if (t + dt >= this.nextMeasurement - 1e-9) this.emitMeasurement(t + dt);
      if (t + dt >= this.nextReport - 1e-9) this.emitReport(t + dt);
    }
  }

  /** Forwards stored records in order. `now` is scenario time (for the outage window). */
  forward(ledger: LedgerForwarder, now: number): Promise<void> {
    return this.billing.forward(ledger, now);
  }

  /**
   * End of the run: paused EV sessions end at their last stop (the run ends the plug-in); pending delayed
   * outputs go out. EV sessions still drawing stay open (no off-event was seen).
   */
  finish(): void {
    this.sessions.finish(this.lastT);
    this.faults.flush(Number.POSITIVE_INFINITY);
  }

  private emitEvent(at: number, e: DecidedEvent): void {
    this.faults.emit(at, () => {
      this.out.event({ meterId: this.id.meterId, tObserved: at, ...e });
      this.log(at, 'info', 'event', `${e.direction} ${e.class} ΔP=${e.deltaP.toFixed(0)} W`);
    });
  }

  /**
   * One cycle of a three-phase supply: each phase analysed on its own (its voltage and current), and the meter's
   * view of the whole as one set of features for detection and the registers: P and Q summed, each phase's current
   * phasors turned back by its supply angle (h · k · 120°) and summed, so a balanced load keeps its harmonic
   * ratios and a load on L2 looks as it would on L1; voltage and current L1's (as an SDM630 gives them).
   */
  private analyzeLines(lines: NonNullable<CycleBlock['lines']>, offset: number): CycleFeatures {
    const f = this.f;
    f.p = 0;
    f.q = 0;
    f.ipeak = 0;
    f.iRe.fill(0);
    f.iIm.fill(0);
    for (let k = 0; k < lines.length; k++) {
      if (!this.lines[k])
        this.lines[k] = {
          // Its own analyser: each keeps its phase's supply spectrum from the last cycle.
          analyzer: new CycleAnalyzer(this.analyzer.samplesPerCycle),
          features: new CycleFeatures(),
          registers: new EnergyRegisters(this.config.startThresholdW),
          thd: { sum: 0, n: 0 },
          vthd: { sum: 0, n: 0 },
        };
      const line = this.lines[k]!;
      const lf = line.analyzer.analyze(
        lines[this.faults.voltageLine(k, lines.length)]!.voltage,
        lines[k]!.current,
        offset,
        line.features,
        this.faults.phaseGain(k),
      );
      f.p += lf.p;
      f.q += lf.q;
      f.lineP[k] = lf.p;
      f.ipeak = Math.max(f.ipeak, lf.ipeak);
      for (let h = 1; h < lf.iRe.length; h++) {
        // The phase's own frame: +h·k·120° (its supply is at −h·k·120° in the FFT's frame).
        const c = PHASE_ROTATION_COS[(h * k) % 3]!;
        const s = PHASE_ROTATION_SIN[(h * k) % 3]!;
        f.iRe[h]! += lf.iRe[h]! * c - lf.iIm[h]! * s;
        f.iIm[h]! += lf.iRe[h]! * s + lf.iIm[h]! * c;
      }
      if (k === 0) {
        f.vrms = lf.vrms;
        f.irms = lf.irms;
        f.v1Phase = lf.v1Phase;
        f.p1 = lf.p1;
      } else f.p1 += lf.p1;
    }
    f.lines = lines.length;
    f.s = f.vrms * f.irms;
    f.pf = f.s > 0 ? f.p / f.s : 0;
    const i1 = Math.hypot(f.iRe[1]!, f.iIm[1]!);
    let harmonic = 0;
    for (let h = 2; h < f.iRe.length; h++) harmonic += f.iRe[h]! ** 2 + f.iIm[h]! ** 2;
    f.thd = i1 > 0 ? Math.sqrt(harmonic) / i1 : 0;
    return f;
  }

  /** A phase's own registers (per-phase energies) and its means for the next measurement. */
  private bookLine(line: ReferenceMeter['lines'][number], dt: number): void {
    line.registers.integrate(this.faults.bookedPower(line.features), line.features.q, dt);
    line.registers.accumulate(line.features);
    // The current's THD, averaged over the cycles that carried current (an idle phase has none to distort).
    if (line.features.irms > 0.05) {
      line.thd.sum += line.features.thd;
      line.thd.n++;
    }
    line.vthd.sum += line.features.vthd;
    line.vthd.n++;
  }

  private emitMeasurement(t: number): void {
    const phases = this.lines.length
      ? this.lines.map((l) => {
          const thdPct = l.thd.n ? (100 * l.thd.sum) / l.thd.n : 0;
          const voltageThdPct = l.vthd.n ? (100 * l.vthd.sum) / l.vthd.n : 0;
          l.thd = { sum: 0, n: 0 };
          l.vthd = { sum: 0, n: 0 };
          return { ...l.registers.measurement(), thdPct, voltageThdPct };
        })
      : undefined;
    this.out.measurement({ meterId: this.id.meterId, t, ...this.registers.measurement(), ...(phases && { phases }) });
    this.nextMeasurement += this.config.measurementIntervalS;
  }

  private emitReport(t: number): void {
    this.nextReport += this.config.reportIntervalS;
    if (this.config.faults.dropPeriodicReports) return;
    this.reportSeq++;
    this.out.report({
      meterId: this.id.meterId,
      t,
      tMeter: this.clock(t),
      seq: this.reportSeq,
      importWh: this.registers.importWh,
      exportWh: this.registers.exportWh,
    });
  }

  private log(t: number, level: 'info' | 'warn' | 'error', code: string, message: string): void {
    this.out.log({ meterId: this.id.meterId, t, level, code, message });
  }
}
