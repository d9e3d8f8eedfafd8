import type { CycleFeatures } from '../dsp/cycle.js';

/** Harmonic orders whose current phasors the detector keeps for event signatures. */
const ORDERS = [1, 3, 5, 7] as const;
const WINDOW = 10;
/** Phases a three-phase meter has: the step's pattern over them is kept. */
const LINES = 3;
/** A transition that does not settle within this many cycles is closed anyway (e.g. a load that keeps ramping). */
const MAX_TRANSITION_CYCLES = 500;

export interface StepEvent {
  /** Scenario time (s) at which the step began: the cycle that first left the steady band. */
  t: number;
  dp: number;
  dq: number;
  r3: number;
  r5: number;
  r7: number;
  /** A three-phase meter: ΔP on each phase (which phases stepped, and how much). */
  phaseDp?: number[];
  peakA: number;
  durationMs: number;
}

/** The last WINDOW cycles' P, Q and current phasors, with running sums so the mean costs nothing per cycle. */
class Window {
  private readonly p = new Float64Array(WINDOW);
  private readonly q = new Float64Array(WINDOW);
  private readonly re = new Float64Array(WINDOW * ORDERS.length);
  private readonly im = new Float64Array(WINDOW * ORDERS.length);
  private readonly lineP = new Float64Array(WINDOW * LINES);
  private readonly sumLineP = new Float64Array(LINES);
  private lines = 0;
  private sumP = 0;
  private sumQ = 0;
  private readonly sumRe = new Float64Array(ORDERS.length);
  private readonly sumIm = new Float64Array(ORDERS.length);
  count = 0;
  private idx = 0;

  push(f: CycleFeatures): void {
    const i = this.idx;
    if (this.count === WINDOW) {
      this.sumP -= this.p[i]!;
      this.sumQ -= this.q[i]!;
      for (let j = 0; j < ORDERS.length; j++) {
        this.sumRe[j]! -= this.re[i * ORDERS.length + j]!;
        this.sumIm[j]! -= this.im[i * ORDERS.length + j]!;
      }
      for (let k = 0; k < LINES; k++) this.sumLineP[k]! -= this.lineP[i * LINES + k]!;
    } else {
      this.count++;
    }
    this.p[i] = f.p;
    this.q[i] = f.q;
    this.sumP += f.p;
    this.sumQ += f.q;
    for (let j = 0; j < ORDERS.length; j++) {
      const h = ORDERS[j]!;
      this.re[i * ORDERS.length + j] = f.iRe[h]!;
      this.im[i * ORDERS.length + j] = f.iIm[h]!;
      this.sumRe[j]! += f.iRe[h]!;
      this.sumIm[j]! += f.iIm[h]!;
    }
    this.lines = f.lines;
    for (let k = 0; k < LINES; k++) {
      const p = k < f.lines ? f.lineP[k]! : 0;
      this.lineP[i * LINES + k] = p;
      this.sumLineP[k]! += p;
    }
    this.idx = (i + 1) % WINDOW;
  }
  reset(): void {
    this.count = 0;
    this.idx = 0;
    this.sumP = 0;
    this.sumQ = 0;
    this.sumRe.fill(0);
    this.sumIm.fill(0);
    this.sumLineP.fill(0);
  }
  get full(): boolean {
    return this.count === WINDOW;
  }
  meanP(): number {
    return this.sumP / (this.count || 1);
  }
  meanQ(): number {
    return this.sumQ / (this.count || 1);
  }
  mean(out: WindowMean): WindowMean {
    const n = this.count || 1;
    out.p = this.sumP / n;
    out.q = this.sumQ / n;
    for (let j = 0; j < ORDERS.length; j++) {
      out.re[j] = this.sumRe[j]! / n;
      out.im[j] = this.sumIm[j]! / n;
    }
    out.lines = this.lines;
    for (let k = 0; k < LINES; k++) out.lineP[k] = this.sumLineP[k]! / n;
    return out;
  }
  /** Largest spread of P and Q inside the window. */
  spread(): number {
    let pmin = Number.POSITIVE_INFINITY;
    let pmax = Number.NEGATIVE_INFINITY;
    let qmin = Number.POSITIVE_INFINITY;
    let qmax = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < this.count; i++) {
      const p = this.p[i]!;
      const q = this.q[i]!;
      if (p < pmin) pmin = p;
      if (p > pmax) pmax = p;
      if (q < qmin) qmin = q;
      if (q > qmax) qmax = q;
    }
    return Math.max(pmax - pmin, qmax - qmin);
  }
}

/** Mean P, Q and current phasors (harmonics 1, 3, 5, 7) of a window; on a three-phase meter each phase's P. */
export interface WindowMean {
  p: number;
  q: number;
  re: Float64Array;
  im: Float64Array;
  lines: number;
  lineP: Float64Array;
}
export const newMean = (): WindowMean => ({
  p: 0,
  q: 0,
  re: new Float64Array(ORDERS.length),
  im: new Float64Array(ORDERS.length),
  lines: 0,
  lineP: new Float64Array(LINES),
});

/**
 * Step detection on per-cycle P and Q (DESIGN §4): a cycle leaving the steady band by more than the threshold
 * starts a transition; the event is the difference between the steady means before and after, once the new
 * level has settled (spread within max(15 W, 1 %) over 10 cycles). Slow drifts (EV taper, ramps) stay inside the
 * band and move the baseline instead of making events.
 */
export class StepDetector {
  private readonly steady = new Window();
  private readonly settling = new Window();
  private state: 'warmup' | 'steady' | 'transition' = 'warmup';
  private readonly before = newMean();
  private readonly after = newMean();
  private start = 0;
  private peak = 0;
  private cycles = 0;

  constructor(
    private readonly thresholdW: number,
    private readonly cycleS: number,
  ) {}

  /** The steady level (mean of the last window) while steady. */
  baselineP(): number {
    return this.steady.meanP();
  }

  baselineQ(): number {
    return this.steady.meanQ();
  }

  /** The steady window's mean P, Q and current phasors, copied into `out`. */
  baseline(out: WindowMean): WindowMean {
    return this.steady.mean(out);
  }

  get inTransition(): boolean {
    return this.state === 'transition';
  }

  push(t: number, f: CycleFeatures): StepEvent | undefined {
    if (this.state === 'warmup') {
      this.steady.push(f);
      if (this.steady.full) this.state = 'steady';
      return undefined;
    }
    if (this.state === 'steady') {
      if (
        Math.abs(f.p - this.steady.meanP()) > this.thresholdW ||
        Math.abs(f.q - this.steady.meanQ()) > this.thresholdW
      ) {
        this.steady.mean(this.before);
        this.state = 'transition';
        this.start = t;
        this.peak = f.ipeak;
        this.cycles = 1;
        this.settling.reset();
        this.settling.push(f);
        return undefined;
      }
      this.steady.push(f);
      return undefined;
    }
    this.cycles++;
    this.peak = Math.max(this.peak, f.ipeak);
    this.settling.push(f);
    // Settled when the last window moves less than 2 % of the step itself: a small load switching next to a
    // large one (a fridge beside a charging EV) must wait for its own inrush to die out.
    const step = Math.abs(f.p - this.before.p) + Math.abs(f.q - this.before.q);
    const tol = Math.max(12, 0.02 * step);
    if (!(this.settling.full && (this.settling.spread() <= tol || this.cycles >= MAX_TRANSITION_CYCLES)))
      return undefined;
    this.settling.mean(this.after);
    this.steady.reset();
    this.steady.push(f);
    // The new steady window starts from the settled level.
    for (let i = 1; i < WINDOW; i++) this.steady.push(f);
    this.state = 'steady';
    const change = changeBetween(this.before, this.after);
    if (Math.abs(change.dp) < this.thresholdW && Math.abs(change.dq) < this.thresholdW) return undefined;
    return {
      t: this.start,
      ...change,
      peakA: this.peak,
      durationMs: this.cycles * this.cycleS * 1000,
    };
  }
}

/**
 * The change from one mean to another as a step's features: ΔP, ΔQ and |ΔI_h| / |ΔI_1| for h = 3, 5, 7; on a
 * three-phase meter ΔP on each phase.
 */
export function changeBetween(
  before: WindowMean,
  after: WindowMean,
): { dp: number; dq: number; r3: number; r5: number; r7: number; phaseDp?: number[] } {
  const d1 = Math.hypot(after.re[0]! - before.re[0]!, after.im[0]! - before.im[0]!) || 1;
  const r = (j: number) => Math.hypot(after.re[j]! - before.re[j]!, after.im[j]! - before.im[j]!) / d1;
  const lines = Math.min(before.lines, after.lines);
  return {
    dp: after.p - before.p,
    dq: after.q - before.q,
    r3: r(1),
    r5: r(2),
    r7: r(3),
    ...(lines > 1 && { phaseDp: Array.from({ length: lines }, (_, k) => after.lineP[k]! - before.lineP[k]!) }),
  };
}
