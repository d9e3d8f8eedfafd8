import FFT from 'fft.js';

export const MAX_HARMONIC = 15;

/**
 * Per-cycle features of one mains cycle, written into reused typed arrays (no allocation per cycle).
 * Phasors are RMS, referred to the FFT's own frame; only differences and V·I* products are meaningful.
 */
export class CycleFeatures {
  vrms = 0;
  irms = 0;
  /** Active power (W): the mean of v·i over the cycle, every harmonic included. */
  p = 0;
  /** The fundamental's active power (W): Re(V₁·I₁*). */
  p1 = 0;
  /** Reactive power (var): Σ_h Im(V_h I_h*), inductive positive. */
  q = 0;
  s = 0;
  pf = 0;
  thd = 0;
  /** Total harmonic distortion of the voltage (orders 2–15), a fraction of its fundamental. */
  vthd = 0;
  /** Peak |i| in the cycle (A). */
  ipeak = 0;
  /** Current phasors (RMS) per harmonic order, re and im; index = order. */
  readonly iRe = new Float64Array(MAX_HARMONIC + 1);
  readonly iIm = new Float64Array(MAX_HARMONIC + 1);
  /** Phase of V_1 in the FFT frame (radians). */
  v1Phase = 0;
  /** A three-phase meter's whole view: the phases it has (0 on a single-phase meter) and each one's P (W). */
  lines = 0;
  readonly lineP = new Float64Array(3);

  /** |I_h| / |I_1|: computed on demand, the per-cycle hot path does not need it. */
  ratio(h: number): number {
    const i1 = Math.hypot(this.iRe[1]!, this.iIm[1]!);
    return i1 > 0 ? Math.hypot(this.iRe[h]!, this.iIm[h]!) / i1 : 0;
  }

  /**
   * Phase of I_h relative to V_1 in degrees, (−180, 180], on the sine reference the profiles use: a current
   * √2·I_h·sin(h·ωt + φ) under a voltage √2·V·sin(ωt) reads φ. The FFT's bins are cosine-referenced, so each
   * sine sits 90° behind its bin angle: that is the (h − 1)·90° here.
   */
  phaseDeg(h: number): number {
    const deg = ((Math.atan2(this.iIm[h]!, this.iRe[h]!) - h * this.v1Phase) * 180) / Math.PI - (h - 1) * 90;
    const wrapped = deg - 360 * Math.floor(deg / 360);
    return wrapped > 180 ? wrapped - 360 : wrapped;
  }
}

/**
 * The meter's DSP: fft.js real transforms of voltage and current per cycle (radix-4, precomputed tables, output
 * into preallocated arrays). One instance per samples-per-cycle.
 */
export class CycleAnalyzer {
  private readonly fft: FFT;
  private readonly vSpec: number[];
  private readonly iSpec: number[];
  private readonly vBuf: Float64Array;
  private readonly iBuf: Float64Array;
  /** vSpec holds the transform of vBuf: a supply cycle equal to the last one is not transformed again. */
  private vSpecValid = false;
  private vthd = 0;

  constructor(readonly samplesPerCycle: number) {
    if ((samplesPerCycle & (samplesPerCycle - 1)) !== 0 || samplesPerCycle < 32) {
      throw new Error(`samples per cycle must be a power of two ≥ 32 (fft.js radix-4), not ${samplesPerCycle}`);
    }
    this.fft = new FFT(samplesPerCycle);
    this.vSpec = this.fft.createComplexArray() as number[];
    this.iSpec = this.fft.createComplexArray() as number[];
    this.vBuf = new Float64Array(samplesPerCycle);
    this.iBuf = new Float64Array(samplesPerCycle);
  }

  /** Analyses the cycle starting at `offset` in the block's arrays; `gain` scales the current channel. */
  analyze(voltage: Float64Array, current: Float64Array, offset: number, out: CycleFeatures, gain = 1): CycleFeatures {
    const n = this.samplesPerCycle;
    let sv = 0;
    let si = 0;
    let sp = 0;
    let peak = 0;
    let sameVoltage = this.vSpecValid;
    for (let k = 0; k < n; k++) {
      const v = voltage[offset + k]!;
      const i = current[offset + k]! * gain;
      if (this.vBuf[k] !== v) sameVoltage = false;
      this.vBuf[k] = v;
      this.iBuf[k] = i;
      sv += v * v;
      si += i * i;
      sp += v * i;
      const a = i < 0 ? -i : i;
      if (a > peak) peak = a;
    }
    // A steady supply repeats sample for sample (the simulated one does, every cycle): its spectrum is the same.
    if (!sameVoltage) {
      this.fft.realTransform(this.vSpec, this.vBuf as unknown as number[]);
      let v1 = 0;
      let vh = 0;
      for (let h = 1; h <= MAX_HARMONIC; h++) {
        const m = this.vSpec[2 * h]! ** 2 + this.vSpec[2 * h + 1]! ** 2;
        if (h === 1) v1 = m;
        else vh += m;
      }
      this.vthd = v1 > 0 ? Math.sqrt(vh / v1) : 0;
    }
    this.vSpecValid = true;
    out.vthd = this.vthd;
    this.fft.realTransform(this.iSpec, this.iBuf as unknown as number[]);
    // RMS phasor of bin h = X[h]·√2/N; V·I* then scales by 2/N².
    const scale = Math.SQRT2 / n;
    const vs = this.vSpec;
    const is = this.iSpec;
    let q = 0;
    let harmonicPower = 0;
    for (let h = 1; h <= MAX_HARMONIC; h++) {
      const vr = vs[2 * h]! * scale;
      const vi = vs[2 * h + 1]! * scale;
      const ir = is[2 * h]! * scale;
      const ii = is[2 * h + 1]! * scale;
      out.iRe[h] = ir;
      out.iIm[h] = ii;
      // Im(V · conj(I)) = vi·ir − vr·ii
      q += vi * ir - vr * ii;
      if (h === 1) out.p1 = vr * ir + vi * ii;
      if (h >= 2) harmonicPower += ir * ir + ii * ii;
    }
    const i1 = Math.hypot(out.iRe[1]!, out.iIm[1]!);
    out.v1Phase = Math.atan2(vs[3]!, vs[2]!);
    out.vrms = Math.sqrt(sv / n);
    out.irms = Math.sqrt(si / n);
    out.p = sp / n;
    out.q = q;
    out.s = out.vrms * out.irms;
    out.pf = out.s > 0 ? out.p / out.s : 0;
    out.thd = i1 > 0 ? Math.sqrt(harmonicPower) / i1 : 0;
    out.ipeak = peak;
    return out;
  }
}
