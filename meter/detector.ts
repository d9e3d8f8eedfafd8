import type { CycleFeatures } from './dsp.js';

/** Harmonic orders whose current phasors the detector keeps for event signatures. */
const ORDERS = [1, 3, 5, 7] as const;
const WINDOW = 10;
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
  peakA: number;
  durationMs: number;
}

/** Mean of the last WINDOW cycles' P, Q and current phasors. */
class Window {
  private readonly p = new Float64Array(WINDOW);
  private readonly q = new Float64Array(WINDOW);
  private readonly re = new Float64Array(WINDOW * ORDERS.length);
  private readonly im = new Float64Array(WINDOW * ORDERS.length);
  count = 0;
  private idx = 0;

  push(f: CycleFeatures): void {
    this.p[this.idx] = f.p;
    this.q[this.idx] = f.q;
    ORDERS.forEach((h, j) => {
      this.re[this.idx * ORDERS.length + j] = f.iRe[h]!;
      this.im[this.idx * ORDERS.length + j] = f.iIm[h]!;
    });
    this.idx = (this.idx + 1) % WINDOW;
    if (this.count < WINDOW) this.count++;
  }
  reset(): void {
    this.count = 0;
    this.idx = 0;
  }
  get full(): boolean {
    return this.count === WINDOW;
  }
  mean(out: WindowMean): WindowMean {
    const n = this.count || 1;
    let p = 0;
    let q = 0;
    out.re.fill(0);
    out.im.fill(0);
    for (let i = 0; i < this.count; i++) {
      p += this.p[i]!;
      q += this.q[i]!;
      for (let j = 0; j < ORDERS.length; j++) {
        out.re[j]! += this.re[i * ORDERS.length + j]!;
        out.im[j]! += this.im[i * ORDERS.length + j]!;
      }
    }
    out.p = p / n;
    out.q = q / n;
    for (let j = 0; j < ORDERS.length; j++) {
      out.re[j]! /= n;
      out.im[j]! /= n;
    }
    return out;
  }
  /** Largest spread of P and Q inside the window. */
  spread(): number {
    let pmin = Number.POSITIVE_INFINITY;
    let pmax = Number.NEGATIVE_INFINITY;
    let qmin = Number.POSITIVE_INFINITY;
    let qmax = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < this.count; i++) {
      pmin = Math.min(pmin, this.p[i]!);
      pmax = Math.max(pmax, this.p[i]!);
      qmin = Math.min(qmin, this.q[i]!);
      qmax = Math.max(qmax, this.q[i]!);
    }
    return Math.max(pmax - pmin, qmax - qmin);
  }
}

interface WindowMean {
  p: number;
  q: number;
  re: Float64Array;
  im: Float64Array;
}
const newMean = (): WindowMean => ({
  p: 0,
  q: 0,
  re: new Float64Array(ORDERS.length),
  im: new Float64Array(ORDERS.length),
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
  private readonly current = newMean();
  private start = 0;
  private peak = 0;
  private cycles = 0;

  constructor(
    private readonly thresholdW: number,
    private readonly cycleS: number,
  ) {}

  /** The steady level (mean of the last window) while steady. */
  baseline(): { p: number; q: number } {
    this.steady.mean(this.current);
    return { p: this.current.p, q: this.current.q };
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
      const base = this.steady.mean(this.current);
      if (Math.abs(f.p - base.p) > this.thresholdW || Math.abs(f.q - base.q) > this.thresholdW) {
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
    const dp = this.after.p - this.before.p;
    const dq = this.after.q - this.before.q;
    if (Math.abs(dp) < this.thresholdW && Math.abs(dq) < this.thresholdW) return undefined;
    const dRe1 = this.after.re[0]! - this.before.re[0]!;
    const dIm1 = this.after.im[0]! - this.before.im[0]!;
    const d1 = Math.hypot(dRe1, dIm1) || 1;
    const r = (j: number) =>
      Math.hypot(this.after.re[j]! - this.before.re[j]!, this.after.im[j]! - this.before.im[j]!) / d1;
    return {
      t: this.start,
      dp,
      dq,
      r3: r(1),
      r5: r(2),
      r7: r(3),
      peakA: this.peak,
      durationMs: this.cycles * this.cycleS * 1000,
    };
  }
}
