import { RigError } from '../../core/errors.js';
import { ENTRY, type MeasurementData, type PhaseMeasurement, type PulseData } from '../../core/record/entries.js';
import type { FirmataBoardDriver } from '../drivers/firmata-board.js';
import { readIec62056 } from '../drivers/iec62056.js';
import { PHASE_QUANTITIES } from '../drivers/modbus-maps.js';
import type { ModbusMeterDriver } from '../drivers/modbus-meter.js';
import { LatencyStats } from '../transports/transport.js';
import type { CaseRun } from './case-run.js';

/** A meter's instantaneous values in one measurement. */
type Instantaneous = Pick<MeasurementData, 'p' | 'q' | 'vrms' | 'irms' | 'pf' | 'phases'>;

/** The instruments a case polls: the DUT (Modbus or optical readout), the reference meter, the board's S0 input. */
export interface PolledInstruments {
  meter?: ModbusMeterDriver;
  /** An IEC 62056-21 optical port polled by readout (a path; each readout opens it afresh, as the protocol does). */
  optical?: { path: string; timeoutMs: number };
  meterInstrument: string;
  reference?: ModbusMeterDriver;
  board?: FirmataBoardDriver;
  boardInstrument: string;
  /** Wire time of one edge report from the board (the pulses' minimum delay). */
  boardWireMs: number;
  /** The DUT output's constant (imp/kWh) the board counts, when the rig file names it. */
  boardImpPerKWh?: number;
}

/**
 * Polls the meters every `pollMs` wall milliseconds while a case plays, and once more after its end so the final
 * state is measured: measurements, S0 pulses counted since the last poll, progress, and per-meter round-trip
 * latency. It runs beside the playback so a slow read (an optical readout takes about a second at 300 Bd) never
 * holds back a load step.
 */
export class Polling {
  readonly meterLatency = new LatencyStats();
  readonly referenceLatency = new LatencyStats();
  private pulsesSeen: number;

  constructor(
    private readonly run: CaseRun,
    private readonly instruments: PolledInstruments,
    /** Scenario second the case ends at. */
    private readonly endT: number,
    private readonly pollMs: number,
    /** The scenario's supply phases: on 3 a polyphase meter is read per phase too. */
    private readonly phases = 1,
  ) {
    this.pulsesSeen = instruments.board?.pulses ?? 0;
  }

  async loop(): Promise<void> {
    const { run, endT } = this;
    const { meter, optical, reference, board } = this.instruments;
    const step = (this.pollMs / 1000) * run.timeScale;
    for (let last = false; !last && !run.halted; ) {
      // One more poll after the end so the final state is measured.
      last = run.benchT() >= endT;
      const nextPoll = run.benchT() + step;
      if (meter) await this.pollModbus(meter, ENTRY.meterMeasurement, this.meterLatency);
      else if (optical) await this.readOptical(optical);
      if (reference) await this.pollModbus(reference, ENTRY.referenceMeasurement, this.referenceLatency);
      if (board && board.pulses > this.pulsesSeen) {
        const p: PulseData = {
          caseId: run.caseId,
          channel: `${this.instruments.boardInstrument}/s0`,
          // When the latest of these edges' reports reached the bench: host time, the board sends none.
          t: run.benchT(board.edges.at(-1)?.t),
          count: board.pulses - this.pulsesSeen,
          timeSource: 'host-receive',
          minDelayMs: this.instruments.boardWireMs,
          ...(this.instruments.boardImpPerKWh && { impPerKWh: this.instruments.boardImpPerKWh }),
        };
        run.ctx.observe(ENTRY.pulse, { ...p, meterId: run.meterId });
        this.pulsesSeen = board.pulses;
      }
      run.ctx.progress(Math.min(endT, run.benchT()), endT, 'playing scenario');
      if (!last) await run.sleep((Math.min(nextPoll, endT) - run.benchT()) * (1000 / run.timeScale));
    }
  }

  /**
   * One Modbus meter poll, in blocks (two requests on an SDM630, was seven): the energy registers first, stamped at
   * their read's midpoint (energy is what metrology interpolates in time), then the instantaneous quantities, which
   * tolerate the few ms between.
   */
  private async pollModbus(meter: ModbusMeterDriver, kind: string, latency: LatencyStats): Promise<void> {
    const { run } = this;
    const before = performance.now();
    const requestsBefore = meter.latencySamplesMs.length;
    const perPhase = this.phases === 3 && meter.polyphase;
    try {
      const energy = await meter.readMany(['importKWh', 'exportKWh']);
      const t = run.benchT((before + performance.now()) / 2);
      const m: MeasurementData = {
        caseId: run.caseId,
        meterId: run.meterId,
        t,
        ...(perPhase ? await this.readPhases(meter) : await this.readL1(meter)),
        importWh: energy.importKWh! * 1000,
        exportWh: energy.exportKWh! * 1000,
      };
      latency.add((performance.now() - before) / Math.max(1, meter.latencySamplesMs.length - requestsBefore));
      run.ctx.observe(kind, { ...m });
    } catch (e) {
      run.gap(meter.device, (e as Error).message, rigErrorCode(e));
    }
  }

  private async readL1(meter: ModbusMeterDriver): Promise<Instantaneous> {
    const v = await meter.readMany(['activePower', 'reactivePower', 'voltage', 'current', 'powerFactor']);
    return { p: v.activePower!, q: v.reactivePower!, vrms: v.voltage!, irms: v.current!, pf: v.powerFactor! };
  }

  /**
   * A polyphase meter on a three-phase bench: each phase (V, A, W, var, PF in one block, its energies in another,
   * read just after the system's: the per-phase table's, not metrology's) and the system's totals, which stand for
   * the measurement's P, Q and PF; voltage and current are L1's, as the single-phase read gives them.
   */
  private async readPhases(meter: ModbusMeterDriver): Promise<Instantaneous> {
    const names = [1, 2, 3].flatMap((l) => PHASE_QUANTITIES.map((q) => `l${l}.${q}`));
    const r = await meter.readMany([...names, 'totalPower', 'sys.reactivePower', 'sys.powerFactor']);
    const phases: PhaseMeasurement[] = [1, 2, 3].map((l) => {
      const q = (name: (typeof PHASE_QUANTITIES)[number]) => r[`l${l}.${name}`]!;
      return {
        p: q('activePower'),
        q: q('reactivePower'),
        vrms: q('voltage'),
        irms: q('current'),
        pf: q('powerFactor'),
        importWh: q('importKWh') * 1000,
        exportWh: q('exportKWh') * 1000,
        importVarh: q('importKVarh') * 1000,
        exportVarh: q('exportKVarh') * 1000,
      };
    });
    const l1 = phases[0]!;
    return {
      p: r.totalPower!,
      q: r['sys.reactivePower']!,
      vrms: l1.vrms,
      irms: l1.irms,
      pf: r['sys.powerFactor']!,
      phases,
    };
  }

  /** One optical readout: energy (1.8.0/2.8.0, 1 Wh resolution), power, voltage and current from the OBIS block. */
  private async readOptical(optical: { path: string; timeoutMs: number }): Promise<void> {
    const { run } = this;
    const instrument = this.instruments.meterInstrument;
    const before = performance.now();
    try {
      const r = await readIec62056(instrument, optical.path, { timeoutMs: optical.timeoutMs });
      const num = (code: string) => r.items[code]?.number ?? Number.NaN;
      this.meterLatency.add(performance.now() - before);
      const p = num('1.7.0') * 1000;
      const vrms = num('32.7.0');
      const irms = num('31.7.0');
      const m: MeasurementData = {
        caseId: run.caseId,
        meterId: run.meterId,
        // The data block is formed when the readout is agreed: near its end, not its 300 Bd sign-on.
        t: run.benchT(),
        p,
        q: 0,
        vrms,
        irms,
        pf: vrms * irms > 0 ? Math.min(1, Math.abs(p) / (vrms * irms)) : 1,
        importWh: num('1.8.0') * 1000,
        exportWh: num('2.8.0') * 1000,
      };
      run.ctx.observe(ENTRY.meterMeasurement, { ...m });
    } catch (e) {
      run.gap(instrument, (e as Error).message, rigErrorCode(e));
    }
  }
}

const rigErrorCode = (e: unknown) => (e instanceof RigError ? e.code : undefined);
