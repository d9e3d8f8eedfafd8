import { EventEmitter } from 'node:events';
import type { CpState } from '../ev-cp.js';

/**
 * The shared bench physics that couples the emulators: what the emulated load draws is what the emulated meter
 * measures and what the pulse output counts (1000 imp/kWh by default). Time is supplied by the caller (ms).
 * `timeScale` runs the emulated bench faster than the wall clock (energy accrues timeScale × faster) so a long
 * scenario plays in minutes; the rig driving it must use the same scale.
 */
export class BenchPhysics extends EventEmitter {
  voltage = 230;
  frequency = 50;
  powerW = 0;
  powerFactor = 1;
  importWh = 0;
  exportWh = 0;
  /** Reactive energy (an SDM630's kvarh registers): Q > 0 and Q < 0 integrated. */
  importVarh = 0;
  exportVarh = 0;
  pulses = 0;
  /**
   * A three-phase bench (a three-phase load): each phase's power, power factor and energies; the fields above are
   * then the totals. Undefined on a single-phase bench.
   */
  phases?: Array<{
    powerW: number;
    powerFactor: number;
    importWh: number;
    exportWh: number;
    importVarh: number;
    exportVarh: number;
  }>;
  /** IEC 61851 control-pilot state the EV simulator's relays present (A no EV, B connected, C charging). */
  cp: CpState = 'A';
  private pulseRemainderWh = 0;
  private lastMs: number;

  constructor(
    readonly impPerKWh = 1000,
    nowMs = 0,
    readonly timeScale = 1,
  ) {
    super();
    this.lastMs = nowMs;
  }

  /** Integrates energy up to `nowMs`, emitting 'pulse' for every 1/impPerKWh kWh imported. */
  advance(nowMs: number): void {
    const dtH = (Math.max(0, nowMs - this.lastMs) * this.timeScale) / 3_600_000;
    this.lastMs = nowMs;
    for (const ph of this.phases ?? []) {
      const e = ph.powerW * dtH;
      if (e >= 0) ph.importWh += e;
      else ph.exportWh -= e;
      const r = reactiveOf(ph.powerW, ph.powerFactor) * dtH;
      if (r >= 0) ph.importVarh += r;
      else ph.exportVarh -= r;
    }
    const wh = this.powerW * dtH;
    if (wh >= 0) this.importWh += wh;
    else this.exportWh -= wh;
    const varh = this.reactiveVar * dtH;
    if (varh >= 0) this.importVarh += varh;
    else this.exportVarh -= varh;
    if (wh > 0) {
      this.pulseRemainderWh += wh;
      const whPerPulse = 1000 / this.impPerKWh;
      while (this.pulseRemainderWh >= whPerPulse) {
        this.pulseRemainderWh -= whPerPulse;
        this.pulses++;
        this.emit('pulse', this.pulses);
      }
    }
  }

  /** Sets what the load draws from `nowMs` on; emits 'load' (nowMs) so waveform consumers can place the step. */
  setLoad(nowMs: number, powerW: number, powerFactor = this.powerFactor): void {
    this.advance(nowMs);
    // A single-phase setpoint makes the bench a single-phase one again.
    this.phases = undefined;
    this.powerW = powerW;
    this.powerFactor = powerFactor;
    this.emit('load', nowMs);
  }

  /**
   * Sets what a three-phase load draws on each phase from `nowMs` on (the bench becomes a three-phase one); the
   * totals follow: P summed, the power factor P / S over the phases. Emits 'load' as setLoad does.
   */
  setLoadPhases(nowMs: number, phases: ReadonlyArray<{ powerW: number; powerFactor: number }>): void {
    this.advance(nowMs);
    this.phases ??= phases.map(() => ({
      powerW: 0,
      powerFactor: 1,
      importWh: 0,
      exportWh: 0,
      importVarh: 0,
      exportVarh: 0,
    }));
    phases.forEach((p, i) => {
      this.phases![i]!.powerW = p.powerW;
      this.phases![i]!.powerFactor = p.powerFactor;
    });
    const total = phases.reduce((s, p) => s + p.powerW, 0);
    const apparent = phases.reduce((s, p) => s + apparentOf(p.powerW, p.powerFactor), 0);
    this.powerW = total;
    this.powerFactor = apparent > 0 ? Math.abs(total) / apparent : 1;
    this.emit('load', nowMs);
  }

  setCp(state: CpState): void {
    if (state === this.cp) return;
    this.cp = state;
    this.emit('cp', state);
  }

  get currentA(): number {
    return apparentOf(this.powerW, this.powerFactor) / this.voltage;
  }

  /** A phase's current on a three-phase bench (A). */
  phaseCurrentA(phase: number): number {
    const ph = this.phases?.[phase];
    return ph ? apparentOf(ph.powerW, ph.powerFactor) / this.voltage : 0;
  }
  get reactiveVar(): number {
    if (this.phases) return this.phases.reduce((s, p) => s + reactiveOf(p.powerW, p.powerFactor), 0);
    return reactiveOf(this.powerW, this.powerFactor);
  }
}

/** Apparent power (VA) of a load drawing P at a power factor. */
export function apparentOf(powerW: number, powerFactor: number): number {
  return Math.abs(powerW) / (powerFactor || 1);
}

/** Reactive power (var, inductive) of a load drawing P at a power factor. */
export function reactiveOf(powerW: number, powerFactor: number): number {
  const s = apparentOf(powerW, powerFactor);
  return Math.sqrt(Math.max(0, s * s - powerW * powerW));
}
