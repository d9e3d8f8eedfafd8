import { seededRandom } from '../core/random.js';
import { BASE_LOAD_PF, expandScenario, type LoadRun, segmentShares } from './expansion.js';
import type { House, Scenario } from './scenario-schema.js';
import type { CycleBlock, MacroSample } from './waveform.js';

export interface SynthOptions {
  seed: number;
  samplesPerCycle?: number;
  /** Cycles per block (default one second's worth). */
  blockCycles?: number;
  /** Scenario seconds to synthesize; default the whole scenario. */
  from?: number;
  to?: number;
  /**
   * Sum every cycle's loads afresh, even when nothing changed since the last cycle: the reference the shortcut
   * for repeating cycles is tested against (the samples are the same either way).
   */
  everyCycle?: boolean;
}

const MAX_H = 15;
/** The standby consumption every house has (routers, chargers, clocks): electronics-like, always on. */
const BASE_HARMONICS = [
  { order: 3, ratio: 0.3, phaseDeg: 180 },
  { order: 5, ratio: 0.15, phaseDeg: 0 },
];

interface Coeffs {
  /** Per harmonic (index = order): sine and cosine coefficients of the current, in amperes peak. */
  a: Float64Array;
  b: Float64Array;
  i1rms: number;
}

/**
 * Current coefficients that draw exactly (p, q) from the distorted supply: the fundamental is solved so that the
 * harmonic products with the supply's own 3rd and 5th harmonics are included in the total (3 fixed-point steps;
 * the correction is ~1 %, so it converges at once).
 */
function solveCurrent(
  p: number,
  q: number,
  harmonics: ReadonlyArray<{ order: number; ratio: number; phaseDeg: number }>,
  vh: Float64Array,
  out: Coeffs,
): void {
  out.a.fill(0);
  out.b.fill(0);
  const v1 = vh[1]!;
  let p1 = p;
  let q1 = q;
  let i1 = Math.hypot(p1, q1) / v1;
  let th = Math.atan2(q1, p1);
  for (let it = 0; it < 3; it++) {
    let ph = 0;
    let qh = 0;
    for (const h of harmonics) {
      const v = vh[h.order] ?? 0;
      if (v === 0) continue;
      const phase = -h.order * th + (h.phaseDeg * Math.PI) / 180;
      ph += v * h.ratio * i1 * Math.cos(phase);
      qh -= v * h.ratio * i1 * Math.sin(phase);
    }
    p1 = p - ph;
    q1 = q - qh;
    i1 = Math.hypot(p1, q1) / v1;
    th = Math.atan2(q1, p1);
  }
  const amp1 = Math.SQRT2 * i1;
  out.a[1] = amp1 * Math.cos(-th);
  out.b[1] = amp1 * Math.sin(-th);
  for (const h of harmonics) {
    const amp = amp1 * h.ratio;
    const phase = -h.order * th + (h.phaseDeg * Math.PI) / 180;
    out.a[h.order] = (out.a[h.order] ?? 0) + amp * Math.cos(phase);
    out.b[h.order] = (out.b[h.order] ?? 0) + amp * Math.sin(phase);
  }
  out.i1rms = i1;
}

const newCoeffs = (): Coeffs => ({ a: new Float64Array(MAX_H + 1), b: new Float64Array(MAX_H + 1), i1rms: 0 });

interface Active {
  run: LoadRun;
  seg: number;
  /** The run's current coefficients on each phase of the supply. */
  coeffs: Coeffs[];
  /** Segment the cached coefficients belong to (steady segments are solved once). */
  cachedSeg: number;
  /** Peak amplitude (A) of the inrush current on each phase, solved at the run's first cycle. */
  inrushA?: number[];
}

/**
 * The amplitude X of an inrush current −X·cos(ωt) (90° behind the supply's sine) that makes the peak |i| of the
 * load's first cycle `multiple` times the peak of its steady current, sampled as the meter samples it: the
 * profile's inrush.peakMultiple is a multiple of the nominal peak. The peak grows with X past the first few
 * percent (it is convex in X), so bisection finds it.
 */
function inrushAmplitude(k: Coeffs, multiple: number, sin: Float64Array, cos: Float64Array, n: number): number {
  const orders: number[] = [];
  for (let h = 1; h <= MAX_H; h++) if (k.a[h] !== 0 || k.b[h] !== 0) orders.push(h);
  const peakWith = (x: number) => {
    let peak = 0;
    for (let s = 0; s < n; s++) {
      let i = -x * cos[n + s]!;
      for (const h of orders) i += k.a[h]! * sin[h * n + s]! + k.b[h]! * cos[h * n + s]!;
      if (Math.abs(i) > peak) peak = Math.abs(i);
    }
    return peak;
  };
  const nominal = peakWith(0);
  const target = multiple * nominal;
  // At the sample where cos = 1 the current is at least x − nominal, so x = target + nominal reaches the target.
  let lo = 0;
  let hi = target + nominal;
  for (let it = 0; it < 60 && hi - lo > 1e-9 * hi; it++) {
    const mid = (lo + hi) / 2;
    if (peakWith(mid) < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Runs (load on-periods) at one meter, plus the house's base load as an always-on run. */
export function meterRuns(scenario: Scenario, meterId: string, seed: number): LoadRun[] {
  return expandScenario(scenario, seed).filter((r) => r.meterId === meterId);
}

function baseRun(house: House): { p: number; q: number } {
  const p = house.baseLoadW;
  return { p, q: p * Math.tan(Math.acos(BASE_LOAD_PF)) };
}

/**
 * Streams a meter's voltage and current, cycle by cycle, as blocks over reused typed arrays: memory stays flat
 * whatever the duration. Deterministic given the seed. A three-phase scenario gives each phase's voltage (L2 and
 * L3 at −120° and +120°) and current, and the neutral current, in `lines` and `neutral`; the block's own
 * voltage and current are L1's. A load draws on the phases its run's shares name, solved against that phase's
 * supply; the house's standby load is on L1.
 */
export function* synthesizeMeterSync(scenario: Scenario, meterId: string, opts: SynthOptions): Generator<CycleBlock> {
  const house = scenario.houses.find((h) => h.id === meterId);
  if (!house) throw new Error(`scenario ${scenario.name} has no house ${meterId}`);
  const f = scenario.frequency;
  const n = opts.samplesPerCycle ?? 128;
  // About a second of cycles per block (a whole number of them: off-nominal test frequencies such as 58.8 Hz).
  const blockCycles = opts.blockCycles ?? Math.round(f);
  const firstCycle = Math.round((opts.from ?? 0) * f);
  const lastCycle = Math.round(Math.min(opts.to ?? scenario.durationS, scenario.durationS) * f);
  const rnd = seededRandom((opts.seed ^ hashString(meterId)) >>> 0);
  const lines = scenario.phases;

  // Supply per phase: nominal with its own 3rd and 5th harmonic distortion, identical every cycle, phase k at
  // −k·120° (its harmonic h at −h·k·120°).
  const phase = Array.from({ length: lines }, (_, ph) => {
    const v = scenario.phaseVoltages?.[ph] ?? scenario.voltage;
    const vh = new Float64Array(MAX_H + 1);
    vh[1] = v.nominal;
    vh[3] = v.nominal * v.h3;
    vh[5] = v.nominal * v.h5;
    const sin = new Float64Array((MAX_H + 1) * n);
    const cos = new Float64Array((MAX_H + 1) * n);
    for (let h = 1; h <= MAX_H; h++) {
      for (let k = 0; k < n; k++) {
        const x = (2 * Math.PI * h * k) / n - (2 * Math.PI * h * ph) / 3;
        sin[h * n + k] = Math.sin(x);
        cos[h * n + k] = Math.cos(x);
      }
    }
    const vCycle = new Float64Array(n);
    for (let k = 0; k < n; k++)
      vCycle[k] = Math.SQRT2 * (vh[1]! * sin[n + k]! + vh[3]! * sin[3 * n + k]! + vh[5]! * sin[5 * n + k]!);
    const voltage = new Float64Array(blockCycles * n);
    for (let c = 0; c < blockCycles; c++) voltage.set(vCycle, c * n);
    return {
      vh,
      sin,
      cos,
      voltage,
      current: new Float64Array(blockCycles * n),
      A: new Float64Array(MAX_H + 1),
      B: new Float64Array(MAX_H + 1),
      /** The noiseless current of the last cycle and the coefficients it was summed from (steady loads reuse it). */
      clean: new Float64Array(n),
      cleanA: new Float64Array(MAX_H + 1).fill(Number.NaN),
      cleanB: new Float64Array(MAX_H + 1),
      noiseVar: 0,
      /** The noise's standard deviation this cycle. */
      sigma: 0,
    };
  });
  const l1 = phase[0]!;

  const runs = meterRuns(scenario, meterId, opts.seed);
  const base = baseRun(house);
  const baseCoeffs = newCoeffs();
  solveCurrent(base.p, base.q, BASE_HARMONICS, l1.vh, baseCoeffs);

  const neutral = lines > 1 ? new Float64Array(blockCycles * n) : undefined;
  // Gaussian noise comes from a seeded table read at a random offset each cycle: drawing 128 normals per cycle
  // was half the synthesis time, and the noise only needs to be white and reproducible, not fresh.
  const NOISE_TABLE = 1 << 16;
  const noise = new Float64Array(NOISE_TABLE + n);
  for (let i = 0; i < noise.length; i++) noise[i] = rnd.normal();
  const active: Active[] = [];
  let next = 0;
  /**
   * Whether the last cycle's sums hold for the next one if nothing changes: no load in it was in its inrush or
   * transient (terms that change with time), and its sums were worked out.
   */
  let repeatable = false;
  /**
   * Whether nothing changes at the cycle starting at t0: no run starts or ends, and each one stays in a steady
   * segment it has solved (a ramp's segment is solved every cycle, so it never counts as solved).
   */
  const nothingChanges = (t0: number, mid: number): boolean => {
    if (next < runs.length && runs[next]!.start <= t0 + 1e-9) return false;
    for (const act of active) {
      const run = act.run;
      if (run.end <= t0 + 1e-9 || act.cachedSeg !== act.seg) return false;
      if (act.seg < run.segments.length - 1 && run.segments[act.seg]!.to <= mid) return false;
    }
    return true;
  };

  for (let c0 = firstCycle; c0 < lastCycle; c0 += blockCycles) {
    const cycles = Math.min(blockCycles, lastCycle - c0);
    for (let c = 0; c < cycles; c++) {
      const t0 = (c0 + c) / f;
      const mid = t0 + 0.5 / f;
      // Most cycles have every load steady and nothing starting, ending or ringing: their harmonic sums and noise
      // levels are the last cycle's, so only the noise is drawn. The sums are not recomputed, and they would come
      // out the same bit for bit, so the samples are those of the full path.
      let ringing: Array<{ line: number; amp: number; hz: number; tau: number; since: number }> | undefined;
      if (!(repeatable && !opts.everyCycle && nothingChanges(t0, mid))) {
        repeatable = true;
        while (next < runs.length && runs[next]!.start <= t0 + 1e-9) {
          active.push({ run: runs[next]!, seg: 0, coeffs: phase.map(newCoeffs), cachedSeg: -1 });
          next++;
        }
        for (const ph of phase) {
          ph.A.fill(0);
          ph.B.fill(0);
          ph.noiseVar = 0;
        }
        l1.A.set(baseCoeffs.a);
        l1.B.set(baseCoeffs.b);
        l1.noiseVar = (0.002 * baseCoeffs.i1rms) ** 2;
        for (let i = active.length - 1; i >= 0; i--) {
          const act = active[i]!;
          const run = act.run;
          if (run.end <= t0 + 1e-9) {
            active.splice(i, 1);
            continue;
          }
          while (act.seg < run.segments.length - 1 && run.segments[act.seg]!.to <= mid) act.seg++;
          const s = run.segments[act.seg]!;
          const steady = s.p0 === s.p1 && s.q0 === s.q1;
          const shares = segmentShares(run.shares, s.state.phases);
          if (!steady || act.cachedSeg !== act.seg) {
            const x = s.to > s.from ? (mid - s.from) / (s.to - s.from) : 0;
            const p = s.p0 + (s.p1 - s.p0) * x;
            const q = s.q0 + (s.q1 - s.q0) * x;
            for (let ph = 0; ph < lines; ph++) {
              if (shares[ph]! > 0)
                solveCurrent(p * shares[ph]!, q * shares[ph]!, s.state.harmonics, phase[ph]!.vh, act.coeffs[ph]!);
              else act.coeffs[ph]!.i1rms = 0;
            }
            act.cachedSeg = steady ? act.seg : -1;
          }
          const since = mid - run.start;
          const inrush = run.profile.inrush;
          const tr = run.profile.transient;
          for (let ph = 0; ph < lines; ph++) {
            if (!(shares[ph]! > 0)) continue;
            const k = act.coeffs[ph]!;
            const { A, B } = phase[ph]!;
            for (let h = 1; h <= MAX_H; h++) {
              A[h]! += k.a[h]!;
              B[h]! += k.b[h]!;
            }
            phase[ph]!.noiseVar += (run.profile.noise * k.i1rms) ** 2;
            if (inrush && since < (inrush.decayMs / 1000) * 6) {
              repeatable = false;
              // Inrush as extra fundamental current 90° behind the voltage: magnetising/locked-rotor current is
              // almost purely reactive, so it shows in Irms and Q but adds no active energy. Sized so the first cycle
              // peaks at the declared multiple of the nominal peak, then decaying from there.
              act.inrushA ??= [];
              act.inrushA[ph] ??= inrushAmplitude(k, inrush.peakMultiple, l1.sin, l1.cos, n);
              B[1]! -= act.inrushA[ph]! * Math.exp(-Math.max(0, since - 0.5 / f) / (inrush.decayMs / 1000));
            }
            if (tr && since < (tr.decayMs / 1000) * 6) {
              repeatable = false;
              ringing ??= [];
              ringing.push({
                line: ph,
                amp: tr.amplitudeMultiple * Math.SQRT2 * k.i1rms,
                hz: tr.ringHz,
                tau: tr.decayMs / 1000,
                since: t0 - run.start,
              });
            }
          }
        }
        for (let ph = 0; ph < lines; ph++) {
          const { A, B, sin, cos, clean, cleanA, cleanB } = phase[ph]!;
          phase[ph]!.sigma = Math.sqrt(phase[ph]!.noiseVar);
          // A cycle whose loads sum to the last one's coefficients (a load's steps between cycles can cancel out)
          // reuses its harmonic sum too.
          let changed = false;
          for (let h = 1; h <= MAX_H; h++) {
            if (A[h] !== cleanA[h] || B[h] !== cleanB[h]) {
              changed = true;
              break;
            }
          }
          if (changed) {
            cleanA.set(A);
            cleanB.set(B);
            clean.fill(0);
            for (let h = 1; h <= MAX_H; h++) {
              const a = A[h]!;
              const b = B[h]!;
              if (a === 0 && b === 0) continue;
              const row = h * n;
              for (let k = 0; k < n; k++) clean[k]! += a * sin[row + k]! + b * cos[row + k]!;
            }
          }
        }
      }
      const off = c * n;
      for (let ph = 0; ph < lines; ph++) {
        const { current, clean, sigma } = phase[ph]!;
        const noiseAt = Math.floor(rnd.next() * NOISE_TABLE);
        for (let k = 0; k < n; k++) current[off + k] = clean[k]! + sigma * noise[noiseAt + k]!;
      }
      if (ringing) {
        for (const r of ringing) {
          const current = phase[r.line]!.current;
          for (let k = 0; k < n; k++) {
            const t = r.since + k / (n * f);
            current[off + k]! += r.amp * Math.exp(-t / r.tau) * Math.sin(2 * Math.PI * r.hz * t);
          }
        }
      }
      if (neutral) {
        for (let k = 0; k < n; k++) {
          let sum = 0;
          for (let ph = 0; ph < lines; ph++) sum += phase[ph]!.current[off + k]!;
          neutral[off + k] = sum;
        }
      }
    }
    const cut = (a: Float64Array) => (cycles === blockCycles ? a : a.subarray(0, cycles * n));
    yield {
      meterId,
      t0: c0 / f,
      frequency: f,
      samplesPerCycle: n,
      cycles,
      voltage: cut(l1.voltage),
      current: cut(l1.current),
      ...(neutral && {
        lines: phase.map((ph) => ({ voltage: cut(ph.voltage), current: cut(ph.current) })),
        neutral: cut(neutral),
      }),
    };
  }
}

export async function* synthesizeMeter(
  scenario: Scenario,
  meterId: string,
  opts: SynthOptions,
): AsyncGenerator<CycleBlock> {
  yield* synthesizeMeterSync(scenario, meterId, opts);
}

/** 1-second P/Q/energy of a meter straight from the runs (no waveforms), for long scenarios and ground truth. */
export function* macroSeries(scenario: Scenario, meterId: string, seed: number): Generator<MacroSample> {
  const house = scenario.houses.find((h) => h.id === meterId);
  if (!house) throw new Error(`scenario ${scenario.name} has no house ${meterId}`);
  const runs = meterRuns(scenario, meterId, seed);
  const base = baseRun(house);
  for (let t = 0; t < scenario.durationS; t++) {
    let p = base.p;
    let q = base.q;
    for (const r of runs) {
      if (r.end <= t || r.start >= t + 1) continue;
      for (const s of r.segments) {
        const a = Math.max(t, s.from);
        const b = Math.min(t + 1, s.to);
        if (b <= a) continue;
        const xm = ((a + b) / 2 - s.from) / (s.to - s.from);
        p += (s.p0 + (s.p1 - s.p0) * xm) * (b - a);
        q += (s.q0 + (s.q1 - s.q0) * xm) * (b - a);
      }
    }
    yield { meterId, t, p, q, energyWh: p / 3600 };
  }
}

/** FNV-1a: mixes the meter id into the seed so houses get independent noise (a hash library would be overkill). */
function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
