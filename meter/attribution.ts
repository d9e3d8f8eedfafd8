import type { TariffBands } from './billing.js';
import type { MeterClock } from './clock.js';
import { changeBetween, newMean, type StepDetector, type StepEvent, type WindowMean } from './detector.js';
import type { EvSessions } from './ev-sessions.js';
import type { MeterFaults } from './faults.js';
import type { DecidedEvent } from './outputs.js';
import {
  distance,
  nearestPair,
  nearestSignature,
  phaseCount,
  phaseMask,
  phaseNames,
  type Signature,
  type StepFeatures,
  UNKNOWN_DISTANCE,
} from './signatures.js';
import type { ActiveLoad } from './tracked-load.js';

/**
 * An EV's on-board charger changing its current keeps its harmonic character: the step's harmonic ratios match
 * the switch-on step's to this absolute scale (a charger's own ratios are a few %, a resistive load's zero).
 */
const EV_CHANGE_HARMONIC_SCALE = 0.02;
/**
 * The step's ΔQ/ΔP matches the EV's Q/P to 4 % of ΔP (15 var at least): a kettle beside a PF 0.995 charger is 2.5
 * such tolerances away, a fridge's motor far more, so neither passes for a power change (nor does an unknown
 * resistive load on a meter that sees no harmonics).
 */
const EV_CHANGE_Q_SCALE = 0.04;
/**
 * While several EVs charge, a drift (a taper) is held until P has moved this far, then given to the EV whose
 * character it carries: the harmonic ratios of a smaller drift are too noisy to tell two chargers apart.
 */
const DRIFT_ATTRIBUTION_W = 200;
/** A step further than this from every charging EV's character is not one of its power changes. */
const EV_CHANGE_DISTANCE = 2;
/** An EV charges between this fraction of its charger's full power (IEC 61851-1: 6 A of 16-32 A) and full power. */
const EV_MIN_LEVEL = 0.05;
const EV_MAX_LEVEL = 1.05;
/**
 * A step is taken as two loads switching on together only when the pair fits it this much better than the best
 * single load (distance ratio), and the single match is not already close: a pair of the library's many loads can
 * always come near a step, so the single load keeps the benefit of the doubt.
 */
const PAIR_MARGIN = 0.5;
const PAIR_WHEN_SINGLE_BEYOND = 1;
/** Margin below its soft start's end power at which a load counts as ramped up (the window lags the ramp). */
const SOFT_START_DONE = 0.01;

/** What step attribution works with besides the detector: the meter's other parts. */
export interface AttributionParts {
  signatures: readonly Signature[];
  sessions: EvSessions;
  bands: TariffBands;
  clock: MeterClock;
  faults: MeterFaults;
  /** Steps under this |ΔP| (W) are no switching (the detector's event threshold). */
  eventThresholdW: number;
  /** Sends an event decided now, observed at `at`. */
  emit(at: number, e: DecidedEvent): void;
}

/**
 * Step attribution: which running load each detected step belongs to (a load switching on or off, a charging EV
 * changing its power or resuming), and whose slow drift (a taper, a soft start) moves the base. It keeps the
 * running loads and the energy each draws, and opens and stops EV sessions as their EVs start and stop.
 */
export class StepAttribution {
  /** The loads running now. */
  readonly active: ActiveLoad[] = [];
  private lastBase = Number.NaN;
  private lastBaseQ = Number.NaN;
  /** The steady level at the last cycle outside a transition (scratch, refreshed every cycle). */
  private readonly steadyNow = newMean();
  /** A drift beside several loads that can drift, held from `from` until it is large enough to tell whose it is. */
  private drift?: {
    since: WindowMean;
    from: WindowMean;
    /** Energy of the drift since `from`, not yet given to an EV. */
    wh: number;
    /** The load holding the drift so far, and what it was given (power, and energy integrated on account of it). */
    holder?: ActiveLoad;
    given: { dp: number; dq: number; wh: number };
  };

  constructor(
    private readonly detector: StepDetector,
    private readonly parts: AttributionParts,
  ) {}

  /** Books one cycle at t (dt long) to each running load, and to its EV session by the tariff band in force. */
  integrate(t: number, dt: number): void {
    let band: number | undefined;
    for (const a of this.active) {
      const e = (a.p * dt) / 3600;
      a.wh += e;
      if (!a.session) continue;
      if (e >= 0) {
        a.session.importWh += e;
        band ??= this.parts.bands.at(t);
        a.session.bandWh[band]! += e;
      } else a.session.exportWh -= e;
    }
  }

  /**
   * A cycle with no step outside a transition, ending at `end`. Slow changes with no event belong to a load that
   * drifts: a charging EV (taper, smart-charging ramps) or a load still in its soft start (a heat pump's drive
   * ramping up); else to the base. With several such loads, to the one whose character the drift carries
   * (driftAmong).
   */
  trackDrift(dt: number, end: number): void {
    const p = this.detector.baselineP();
    const q = this.detector.baselineQ();
    if (!Number.isNaN(this.lastBase)) {
      const drifting = this.drifting();
      // A drift held among several loads ends when only one is left (a soft start reached its power).
      if (this.drift && drifting.length <= 1) {
        const holder = this.drift.holder;
        this.settleDrift(drifting.length > 0 ? drifting : holder ? [holder] : [], true, end);
      }
      if (drifting.length === 1) {
        drifting[0]!.p += p - this.lastBase;
        drifting[0]!.q += q - this.lastBaseQ;
      } else if (drifting.length > 1) this.driftAmong(drifting, dt, end);
    }
    this.lastBase = p;
    this.lastBaseQ = q;
  }

  /**
   * A step the detector recognised in the cycle at t (ending at `end`). A drift held among several loads is
   * settled where the step began (the last steady level), so the loads' powers are current when the step is
   * matched against them. It goes on past a step that leaves the same loads drifting (a fridge switching during a
   * taper), with the step taken out, so the choice keeps all its evidence; a step that changes who can drift ends
   * it.
   */
  onStep(step: StepEvent, t: number, end: number): void {
    if (!this.drift) {
      this.matchStep(step, t, end);
      return;
    }
    const before = this.drifting();
    this.settleDrift(before, false, end);
    this.matchStep(step, t, end);
    const after = this.drifting();
    const d = this.drift;
    if (!d || after.length !== before.length || after.some((a) => !before.includes(a))) {
      this.drift = undefined;
      return;
    }
    const level = this.detector.baseline(newMean());
    const stepChange = (from: WindowMean): WindowMean => ({
      p: from.p + level.p - this.steadyNow.p,
      q: from.q + level.q - this.steadyNow.q,
      re: from.re.map((x, j) => x + level.re[j]! - this.steadyNow.re[j]!),
      im: from.im.map((x, j) => x + level.im[j]! - this.steadyNow.im[j]!),
      lines: from.lines,
      lineP: from.lineP.map((x, k) => x + level.lineP[k]! - this.steadyNow.lineP[k]!),
    });
    this.drift = { ...d, since: stepChange(d.since), from: level };
  }

  /** The active loads a drift can belong to: charging EVs and loads short of the power their soft start reaches. */
  private drifting(): ActiveLoad[] {
    return this.active.filter((a) => a.session || softStarting(a));
  }

  /**
   * Several loads can drift (two EVs charging at once, or an EV beside a soft-starting heat pump) and P drifts with
   * no step: one of them tapers or ramps. Giving the drift to the first EV (as with one) billed the other EV's
   * taper to it. The drift since the last step is one load's: each time it has moved P by DRIFT_ATTRIBUTION_W more,
   * the load whose harmonic and Q/P character the whole drift carries takes it, with the energy it made meanwhile
   * (the loads went on integrating their powers from before it). The choice is made again on the grown drift each
   * time and moves what was given so far, energy included, if it changes: a first choice on a small drift can be
   * wrong, a later one on a larger drift much less so.
   */
  private driftAmong(candidates: ActiveLoad[], dt: number, end: number): void {
    const now = this.detector.baseline(this.steadyNow);
    if (!this.drift) {
      const from = copyMean(now);
      this.drift = { since: from, from, wh: 0, given: { dp: 0, dq: 0, wh: 0 } };
      return;
    }
    this.drift.wh += ((now.p - this.drift.from.p) * dt) / 3600;
    // What the holder's session integrated on account of the drift given to it (moved with it if it moves).
    this.drift.given.wh += (this.drift.given.dp * dt) / 3600;
    if (Math.abs(now.p - this.drift.from.p) >= DRIFT_ATTRIBUTION_W) this.settleDrift(candidates, false, end);
  }

  /**
   * Gives the drift held so far (to the last steady level) to the candidates EV the whole drift fits best; `ended`
   * when a step ends the drift (the next one starts afresh).
   */
  private settleDrift(candidates: readonly ActiveLoad[], ended: boolean, end: number): void {
    const d = this.drift;
    if (!d) return;
    const now = this.steadyNow;
    const part = changeBetween(d.from, now);
    const whole = changeBetween(d.since, now);
    this.drift = ended ? undefined : { ...d, from: copyMean(now), wh: 0 };
    if (candidates.length === 0) return;
    // Each load's power before this drift, and whether the whole drift fits it.
    const before = (a: ActiveLoad) => a.p - (a === d.holder ? d.given.dp : 0);
    const fit = nearest(candidates, (a) => evChangeDistance(whole, a, before(a) + whole.dp));
    // No load's range takes the drift whole (it should not happen): the one drawing most absorbs it.
    const load = candidates[fit.index >= 0 ? fit.index : nearest(candidates, (a) => -a.p).index]!;
    const given = { dp: d.given.dp + part.dp, dq: d.given.dq + part.dq, wh: d.given.wh + d.wh };
    if (d.holder && d.holder !== load) this.shiftDrift(d.holder, -d.given.dp, -d.given.dq, -d.given.wh, end);
    this.shiftDrift(
      load,
      d.holder === load ? part.dp : given.dp,
      d.holder === load ? part.dq : given.dq,
      d.holder === load ? d.wh : given.wh,
      end,
    );
    if (this.drift) {
      this.drift.holder = load;
      this.drift.given = given;
    }
  }

  private shiftDrift(load: ActiveLoad, dp: number, dq: number, wh: number, end: number): void {
    load.p += dp;
    load.q += dq;
    load.wh += wh;
    if (!load.session) return;
    if (load.p >= 0) {
      load.session.importWh += wh;
      // The drift's energy was drawn since the last settle (moments ago): the band in force now.
      load.session.bandWh[this.parts.bands.at(end)]! += wh;
    } else load.session.exportWh -= wh;
  }

  private matchStep(step: StepEvent, t: number, end: number): void {
    const { sessions, faults } = this.parts;
    this.lastBase = this.detector.baselineP();
    this.lastBaseQ = this.detector.baselineQ();
    if (faults.missesEvent()) return;
    const features: StepFeatures = {
      dp: step.dp,
      dq: step.dq,
      r3: step.r3,
      r5: step.r5,
      r7: step.r7,
      ...(step.phaseDp && { phaseDp: step.phaseDp }),
    };
    // Candidates: a new load switching on (the step looks like a signature), an active one switching off (the
    // step looks like the negative of what it draws now), and, while EV sessions are open, a charging EV changing
    // its power (a setpoint step) or a paused one resuming: the step keeps the EV's harmonic and PF character
    // and leaves its power within the charger's range.
    const on = nearestSignature(features, this.parts.signatures, 1);
    const { index: offIdx, d: offD } = nearest(this.active, (a) =>
      onPhasesOf(features, a, 'same')
        ? distance({ ...features, phaseDp: undefined }, { p: a.p, q: a.q, r3: a.r3, r5: a.r5, r7: a.r7 }, -1)
        : Number.POSITIVE_INFINITY,
    );
    const { index: changeIdx, d: changeD } = nearest(this.active, (a) =>
      a.session ? evChangeDistance(features, a, a.p + step.dp) : Number.POSITIVE_INFINITY,
    );
    const { index: resumeIdx, d: resumeD } = nearest(sessions.paused, (p) =>
      evChangeDistance(features, p.load, step.dp),
    );
    const latency = faults.latencyS;
    const tMeter = this.parts.clock.read(step.t) + latency;
    const transient = { peakA: step.peakA, durationMs: step.durationMs };
    const harmonics = { r3: step.r3, r5: step.r5, r7: step.r7 };
    /** The event; for a load already tracked, with the energy assigned to it since its previous event. */
    const emit = (load: ActiveLoad | undefined, direction: 'on' | 'off', tracked = false, part?: ActiveLoad) => {
      const energyWh = tracked && load ? load.wh : undefined;
      if (load) load.wh = 0;
      this.parts.emit(t + latency, {
        tMeter,
        direction,
        class: load?.cls ?? 'unknown',
        profile: load?.sig?.id,
        deltaP: part?.p ?? step.dp,
        deltaQ: part?.q ?? step.dq,
        transient,
        harmonics,
        ...(step.phaseDp && { phases: phaseNames(part?.connection ?? phaseMask(step.phaseDp)) }),
        ...(energyWh !== undefined ? { energyWh } : {}),
      });
    };

    const offOk = offIdx >= 0 && offD <= UNKNOWN_DISTANCE && offD <= on.d;
    const plainD = offOk ? offD : on.sig ? on.d : Number.POSITIVE_INFINITY;
    // A paused EV resuming is likelier than a second EV arriving when no new plug-in waits for its first draw.
    const resumeOk =
      resumeD <= EV_CHANGE_DISTANCE &&
      resumeD <= changeD &&
      (resumeD < plainD || (!offOk && on.sig?.class === 'ev' && !sessions.plugWaiting));
    if (resumeOk) {
      const load = sessions.resume(resumeIdx);
      sessions.rebook(load.session!, 0, step.dp, step.t, end);
      load.p = step.dp;
      load.q = step.dq;
      if (step.phaseDp) load.phaseP = step.phaseDp.slice();
      this.active.push(load);
      emit(load, 'on', true);
      return;
    }
    if (changeD <= EV_CHANGE_DISTANCE && changeD < plainD) {
      const load = this.active[changeIdx]!;
      sessions.rebook(load.session!, load.p, load.p + step.dp, step.t, end);
      load.p += step.dp;
      load.q += step.dq;
      addPhases(load, step.phaseDp);
      emit(load, step.dp >= 0 ? 'on' : 'off', true);
      return;
    }
    if (offOk) {
      const [load] = this.active.splice(offIdx, 1);
      emit(load, 'off', true);
      if (load!.session) {
        sessions.rebook(load!.session, load!.p, 0, step.t, end);
        sessions.stopped(load!, step.t, t + latency);
      }
      return;
    }
    // Two loads on at once. Only a step some single signature roughly fits is a candidate: a step nothing in the
    // library fits is an unknown load (`bench meter train` learns it), not two halves of known ones. A plug-in
    // waiting makes an EV-like step an EV's.
    // On a three-phase meter a step on two phases is no single load: two single-phase loads switched together.
    const expectEv = on.sig?.class === 'ev' && sessions.plugWaiting;
    const onTwoPhases = step.phaseDp !== undefined && phaseCount(phaseMask(step.phaseDp)) === 2;
    if ((on.sig || onTwoPhases) && step.dp > 0 && (onTwoPhases || (on.d > PAIR_WHEN_SINGLE_BEYOND && !expectEv))) {
      const single = on.sig ? on.d : Number.POSITIVE_INFINITY;
      const both = nearestPair(features, this.parts.signatures);
      if (both.pair && (onTwoPhases || both.d < single * PAIR_MARGIN)) {
        const [a, b] = both.pair;
        const share = (x: number, y: number) => (x + y === 0 ? 0.5 : x / (x + y));
        const phases = step.phaseDp && pairPhases(step.phaseDp, a.p, b.p);
        for (const [sig, other, onPhases] of [
          [a, b, phases?.[0]],
          [b, a, phases?.[1]],
        ] as const) {
          // Each on a phase of its own: its power is that phase's step (the share of Q as before).
          const alone =
            onPhases && phaseCount(onPhases.connection!) === 1 && phases![0].connection !== phases![1].connection;
          const load: ActiveLoad = {
            sig,
            cls: sig.class,
            p: alone ? onPhases.phaseP!.reduce((x, y) => x + y, 0) : step.dp * share(sig.p, other.p),
            q: step.dq * share(sig.q, other.q),
            r3: sig.r3,
            r5: sig.r5,
            r7: sig.r7,
            wh: 0,
            ...onPhases,
          };
          this.active.push(load);
          emit(load, 'on', false, load);
        }
        return;
      }
    }
    if (on.sig) {
      const load: ActiveLoad = {
        sig: on.sig,
        cls: on.sig.class,
        p: step.dp,
        q: step.dq,
        r3: step.r3,
        r5: step.r5,
        r7: step.r7,
        wh: 0,
        ...(step.phaseDp && {
          phaseP: step.phaseDp.slice(),
          connection: on.sig.phases === 3 ? ALL_PHASES : phaseMask(step.phaseDp),
        }),
      };
      if (on.sig.class === 'ev') {
        load.session = sessions.open(step.t, t + latency);
        sessions.rebook(load.session, 0, step.dp, step.t, end);
      }
      this.active.push(load);
      emit(load, 'on');
      return;
    }
    // A step under the event threshold in P (it crossed the threshold on ΔQ alone) that neither a signature nor a
    // running load explains is no switching: a running load's operating point moved (an inverter drive reaching
    // its set speed changes its PF). It goes to the running load whose harmonic character is nearest, and makes no
    // event (it used to come out as a spurious "unknown" event at the end of every heat pump's soft start).
    if (Math.abs(step.dp) < this.parts.eventThresholdW && this.active.length > 0) {
      const { index } = nearest(this.active, (a) => Math.hypot(step.r3 - a.r3, step.r5 - a.r5, step.r7 - a.r7));
      const load = this.active[index]!;
      load.p += step.dp;
      load.q += step.dq;
      addPhases(load, step.phaseDp);
      return;
    }
    emit(undefined, step.dp >= 0 ? 'on' : 'off');
  }
}

/** Index and distance of the item nearest by `dist` (index -1 and distance ∞ when there is none). */
export function nearest<T>(items: readonly T[], dist: (item: T) => number): { index: number; d: number } {
  let best = { index: -1, d: Number.POSITIVE_INFINITY };
  items.forEach((item, index) => {
    const d = dist(item);
    if (d < best.d) best = { index, d };
  });
  return best;
}

/** A load whose signature ramps up after switch-on and that has not reached the ramp's power yet. */
export function softStarting(a: ActiveLoad): boolean {
  const to = a.sig?.rampToP;
  return to !== undefined && a.p < to * (1 - SOFT_START_DONE);
}

/** The three phases of a three-phase meter (bit k = L(k+1)). */
const ALL_PHASES = 0b111;

/**
 * Whether a step on a three-phase meter is on the load's phases: `same` (it switching off takes what it draws
 * from the phases it draws on) or `within` (a charger changing its power, or switching between one phase and
 * three, stays on the phases it is connected to). Always, where the meter or the load has no phase pattern.
 */
function onPhasesOf(f: StepFeatures, load: ActiveLoad, how: 'same' | 'within'): boolean {
  if (!f.phaseDp) return true;
  const step = phaseMask(f.phaseDp);
  if (how === 'same') return load.phaseP === undefined || step === phaseMask(load.phaseP);
  return load.connection === undefined || (step & ~load.connection) === 0;
}

function addPhases(load: ActiveLoad, phaseDp: readonly number[] | undefined): void {
  if (!phaseDp || !load.phaseP) return;
  phaseDp.forEach((dp, k) => {
    load.phaseP![k] = (load.phaseP![k] ?? 0) + dp;
  });
}

/**
 * Where two single-phase loads switched on in one step draw (pa and pb watts): on two phases, each on one, the
 * way round whose powers fit the phases' steps better; on one phase, both on it, by their shares.
 */
function pairPhases(
  phaseDp: readonly number[],
  pa: number,
  pb: number,
): [Pick<ActiveLoad, 'phaseP' | 'connection'>, Pick<ActiveLoad, 'phaseP' | 'connection'>] {
  const mask = phaseMask(phaseDp);
  const on = phaseDp.flatMap((_, k) => ((mask >> k) & 1 ? [k] : []));
  if (on.length !== 2) {
    const share = pa + pb === 0 ? 0.5 : pa / (pa + pb);
    return [
      { phaseP: phaseDp.map((dp) => dp * share), connection: mask },
      { phaseP: phaseDp.map((dp) => dp * (1 - share)), connection: mask },
    ];
  }
  const [x, y] = on as [number, number];
  const misfit = (k: number, p: number) => Math.abs(phaseDp[k]! - p);
  const aOnX = misfit(x, pa) + misfit(y, pb) <= misfit(x, pb) + misfit(y, pa);
  const only = (k: number) => ({ phaseP: phaseDp.map((dp, j) => (j === k ? dp : 0)), connection: 1 << k });
  return aOnX ? [only(x), only(y)] : [only(y), only(x)];
}

function copyMean(m: WindowMean): WindowMean {
  return { p: m.p, q: m.q, re: m.re.slice(), im: m.im.slice(), lines: m.lines, lineP: m.lineP.slice() };
}

/**
 * How far a step is from a change of an EV's charging power to `level`: its harmonic ratios against the EV's own
 * (measured at its switch-on), its ΔQ against the EV's Q/P ratio; infinite when `level` leaves the charger's range
 * (a drop to ~0 is a stop, a rise past full power is another load). 1 ≈ one tolerance away.
 */
export function evChangeDistance(f: StepFeatures, ev: ActiveLoad, level: number): number {
  if (!onPhasesOf(f, ev, 'within')) return Number.POSITIVE_INFINITY;
  const full = Math.max(ev.sig?.rampToP ?? ev.sig?.p ?? 0, ev.p);
  if (!(full > 0) || level < EV_MIN_LEVEL * full || level > EV_MAX_LEVEL * full + 50) return Number.POSITIVE_INFINITY;
  const qPerP = ev.p !== 0 ? ev.q / ev.p : 0;
  const dq = (f.dq - f.dp * qPerP) / Math.max(Math.abs(f.dp) * EV_CHANGE_Q_SCALE, 15);
  const h3 = (f.r3 - ev.r3) / EV_CHANGE_HARMONIC_SCALE;
  const h5 = (f.r5 - ev.r5) / EV_CHANGE_HARMONIC_SCALE;
  const h7 = (f.r7 - ev.r7) / EV_CHANGE_HARMONIC_SCALE;
  return Math.sqrt(dq * dq + h3 * h3 + h5 * h5 + h7 * h7);
}
