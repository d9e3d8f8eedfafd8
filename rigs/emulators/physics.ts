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
    this.powerW = powerW;
    this.powerFactor = powerFactor;
    this.emit('load', nowMs);
  }

  setCp(state: CpState): void {
    if (state === this.cp) return;
    this.cp = state;
    this.emit('cp', state);
  }

  get currentA(): number {
    return Math.abs(this.powerW) / (this.voltage * (this.powerFactor || 1));
  }
  get reactiveVar(): number {
    const s = Math.abs(this.powerW) / (this.powerFactor || 1);
    return Math.sqrt(Math.max(0, s * s - this.powerW * this.powerW));
  }
}
