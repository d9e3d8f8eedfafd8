/** The reference meter's S0 output constant (imp/kWh), as on its nameplate. */
export const PULSES_PER_KWH = 1000;
/**
 * Below this |P| the registers do not move (starting-current threshold, keeps the no-load creep at zero): 2 W is
 * under the 4.6 W a class B meter with Itr 0.5 A must start at (Ist = 0.04 Itr at 230 V).
 */
export const DEFAULT_START_THRESHOLD_W = 2;
/** The same for the kvarh registers (var). */
const START_THRESHOLD_VAR = 2;

/** The per-cycle values the registers average into a measurement. */
export interface CycleValues {
  p: number;
  q: number;
  vrms: number;
  irms: number;
}

/**
 * The meter's energy registers (import/export Wh and varh), its S0 pulse output and the running mean of the
 * cycles since the last measurement output.
 */
export class EnergyRegisters {
  importWh = 0;
  exportWh = 0;
  importVarh = 0;
  exportVarh = 0;
  private pulseAcc = 0;
  private acc = { p: 0, q: 0, v: 0, i: 0, n: 0 };

  constructor(private readonly startThresholdW = DEFAULT_START_THRESHOLD_W) {}

  /**
   * Books one cycle of P and Q. False when |P| is under the starting threshold: the Wh registers stand still
   * (and so does every load's energy). Reactive energy has its own threshold: a capacitor bank draws no P.
   */
  integrate(p: number, q: number, dt: number): boolean {
    if (Math.abs(q) >= START_THRESHOLD_VAR) {
      const varh = (q * dt) / 3600;
      if (varh >= 0) this.importVarh += varh;
      else this.exportVarh -= varh;
    }
    if (Math.abs(p) < this.startThresholdW) return false;
    const wh = (p * dt) / 3600;
    if (wh >= 0) this.importWh += wh;
    else this.exportWh -= wh;
    return true;
  }

  /** Whole S0 pulses due after a booked cycle at P (import only; the fraction carries over), else 0. */
  pulses(p: number, dt: number): number {
    const wh = (p * dt) / 3600;
    if (!(wh > 0)) return 0;
    this.pulseAcc += (wh / 1000) * PULSES_PER_KWH;
    if (this.pulseAcc < 1) return 0;
    const count = Math.floor(this.pulseAcc);
    this.pulseAcc -= count;
    return count;
  }

  accumulate(f: CycleValues): void {
    this.acc.p += f.p;
    this.acc.q += f.q;
    this.acc.v += f.vrms;
    this.acc.i += f.irms;
    this.acc.n++;
  }

  /** The mean of the cycles since the last measurement, with the registers; the next mean starts afresh. */
  measurement(): CycleValues & {
    pf: number;
    importWh: number;
    exportWh: number;
    importVarh: number;
    exportVarh: number;
  } {
    const n = this.acc.n || 1;
    const p = this.acc.p / n;
    const v = this.acc.v / n;
    const i = this.acc.i / n;
    const m = {
      p,
      q: this.acc.q / n,
      vrms: v,
      irms: i,
      pf: v * i > 0 ? p / (v * i) : 0,
      importWh: this.importWh,
      exportWh: this.exportWh,
      importVarh: this.importVarh,
      exportVarh: this.exportVarh,
    };
    this.acc = { p: 0, q: 0, v: 0, i: 0, n: 0 };
    return m;
  }
}
