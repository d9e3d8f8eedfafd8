/** EV charging in a scenario: smart-charging caps (setpoints, tariff rules) and energy targets over a plug-in. */
import { hourOfWeek } from '../billing/tariff.js';
import { DEFAULT_TARIFF_BANDS } from '../billing/tariff-file.js';
import { type PlayedRun, playProfile, type Segment, segmentEnergyWh } from './play.js';
import { scenarioLedgerTariff } from './scenario.js';
import type { Scenario } from './scenario-schema.js';
import type { Profile } from './schema.js';

/** A piecewise-constant power cap in W: from `t` on, at most `w` (Infinity = no cap). Sorted by t. */
export type CapSteps = Array<{ t: number; w: number }>;

const capAt = (steps: CapSteps, t: number) => {
  let w = Number.POSITIVE_INFINITY;
  for (const s of steps) {
    if (s.t > t) break;
    w = s.w;
  }
  return w;
};

/**
 * The charging-power cap an EV's smart-charging signal sets over [from, to): the lowest of the setpoint in force
 * and the tariff rule of the local hour (bands looked up with the ledger's own hour-of-week function, so the cap
 * follows exactly the hours the bill is priced by).
 */
export function smartCapSteps(
  scenario: Scenario,
  smart: NonNullable<Scenario['evs'][number]['smart']>,
  from: number,
  to: number,
): CapSteps {
  const points: CapSteps = (smart.setpoints ?? []).map((p) => ({ t: p.t, w: p.kW * 1000 }));
  const rule = smart.tariff;
  const hours: CapSteps = [];
  if (rule) {
    const tariff = scenarioLedgerTariff(scenario);
    const epoch = Date.parse(scenario.start) / 1000;
    const names: readonly string[] = scenario.tariff?.bands.map((b) => b.name) ?? DEFAULT_TARIFF_BANDS;
    const capped = (unix: number) => {
      const band = tariff.schedule[hourOfWeek(BigInt(Math.floor(unix)), tariff.utcOffsetSeconds)]!;
      return rule.bands
        ? rule.bands.includes(names[band]!)
        : Number(tariff.bandPrices[band]!) > rule.abovePrice! * 1_000_000;
    };
    const off = tariff.utcOffsetSeconds;
    for (let t = from; t < to; ) {
      const unix = epoch + t;
      hours.push({ t, w: capped(unix) ? rule.kW * 1000 : Number.POSITIVE_INFINITY });
      t = (Math.floor((unix + off) / 3600) + 1) * 3600 - off - epoch;
    }
  }
  const times = [...new Set([...points.map((p) => p.t), ...hours.map((h) => h.t)])].sort((a, b) => a - b);
  return times.map((t) => ({ t, w: Math.min(capAt(points, t), capAt(hours, t)) }));
}

/**
 * Runs with every segment's power limited to the cap: min(p(t), cap(t)), split where the cap changes and where a
 * ramp or taper crosses it (so the result stays piecewise linear and its energy exact). Export (p < 0) is below
 * any cap. Where the cap is 0 the EV pauses: the run ends there and a new one starts when charging resumes.
 */
export function capRuns(runs: PlayedRun[], steps: CapSteps): PlayedRun[] {
  if (!steps.length) return runs;
  const out: PlayedRun[] = [];
  for (const r of runs) {
    let current: Segment[] = [];
    const flush = () => {
      if (current.length) out.push({ start: current[0]!.from, end: current.at(-1)!.to, segments: current });
      current = [];
    };
    for (const s of r.segments) {
      const d = s.to - s.from;
      if (d <= 0) continue;
      const cuts = [s.from, ...steps.map((c) => c.t).filter((t) => t > s.from && t < s.to), s.to];
      const pAt = (t: number) => s.p0 + ((s.p1 - s.p0) * (t - s.from)) / d;
      const qAt = (t: number) => s.q0 + ((s.q1 - s.q0) * (t - s.from)) / d;
      const ratio = s.p0 + s.p1 !== 0 ? (s.q0 + s.q1) / (s.p0 + s.p1) : 0;
      const piece = (a: number, b: number, capped: number | undefined) => {
        if (b - a < 1e-9) return;
        if (capped === 0) return flush();
        current.push(
          capped === undefined
            ? { from: a, to: b, p0: pAt(a), p1: pAt(b), q0: qAt(a), q1: qAt(b), state: s.state }
            : { from: a, to: b, p0: capped, p1: capped, q0: capped * ratio, q1: capped * ratio, state: s.state },
        );
      };
      for (let i = 0; i + 1 < cuts.length; i++) {
        const a = cuts[i]!;
        const b = cuts[i + 1]!;
        const w = capAt(steps, (a + b) / 2);
        const pa = pAt(a);
        const pb = pAt(b);
        if (w >= Math.max(pa, pb)) piece(a, b, undefined);
        else if (w <= Math.min(pa, pb)) piece(a, b, w);
        else {
          // The ramp or taper crosses the cap inside [a, b].
          const x = a + ((w - pa) / (pb - pa)) * (b - a);
          if (pa > w) {
            piece(a, x, w);
            piece(x, b, undefined);
          } else {
            piece(a, x, undefined);
            piece(x, b, w);
          }
        }
      }
    }
    flush();
  }
  return out;
}

const runEnergyWh = (runs: PlayedRun[]) =>
  runs.reduce((sum, r) => sum + r.segments.reduce((e, s) => e + Math.abs(segmentEnergyWh(s)), 0), 0);

/** Runs cut at the instant the energy moved (|∫P dt|) reaches `targetWh`; later runs are dropped. */
export function cutAtEnergy(runs: PlayedRun[], targetWh: number): PlayedRun[] {
  const out: PlayedRun[] = [];
  let left = targetWh * 3600;
  for (const r of runs) {
    const segs: Segment[] = [];
    for (const s of r.segments) {
      const d = s.to - s.from;
      const e = Math.abs(segmentEnergyWh(s)) * 3600;
      if (e < left) {
        segs.push(s);
        left -= e;
        continue;
      }
      // |p| goes linearly from b to b + 2a·d over the segment: solve a·τ² + b·τ = left for τ in [0, d].
      const b = Math.abs(s.p0);
      const a = (Math.abs(s.p1) - b) / (2 * d);
      const tau = Math.min(d, (2 * left) / (b + Math.sqrt(Math.max(0, b * b + 4 * a * left))));
      if (tau > 0) {
        const x = tau / d;
        segs.push({ ...s, to: s.from + tau, p1: s.p0 + (s.p1 - s.p0) * x, q1: s.q0 + (s.q1 - s.q0) * x });
      }
      if (segs.length) out.push({ start: segs[0]!.from, end: segs.at(-1)!.to, segments: segs });
      return out;
    }
    if (segs.length) out.push({ start: r.start, end: r.end, segments: segs });
  }
  return out;
}

/** The steady bulk stage right before a profile's final taper (CC then CV charging), or -1. */
function bulkStage(p: Profile): number {
  const n = p.states.length;
  if (n < 2 || p.states[n - 1]!.kind !== 'taper') return -1;
  const bulk = p.states[n - 2]!;
  return bulk.kind === 'steady' && bulk.durationS !== undefined ? n - 2 : -1;
}

function withBulkSeconds(p: Profile, stage: number, seconds: number): Profile {
  const states = p.states.flatMap((s, i) => (i !== stage ? [s] : seconds > 0 ? [{ ...s, durationS: seconds }] : []));
  return { ...p, states };
}

/**
 * One EV session's charging, plugged in from `start` to `end`: the profile played under the smart-charging cap,
 * and with an energy target the EV stops when it has taken it. A bulk-then-taper profile stretches (or shortens)
 * its bulk stage so that the taper ends on the target, as a CC-CV charger ends at full charge; other profiles
 * stop at the target. A target the window cannot hold is charged until unplug.
 */
export function playEvSession(
  profile: Profile,
  start: number,
  end: number,
  opts: { energyWh?: number; cap?: CapSteps } = {},
): PlayedRun[] {
  const cap = opts.cap ?? [];
  const play = (p: Profile) => capRuns(playProfile(p, start, end), cap);
  const target = opts.energyWh;
  if (target === undefined) return play(profile);
  const stage = bulkStage(profile);
  if (stage < 0) return cutAtEnergy(play(profile), target);
  const delivered = (bulkS: number) => runEnergyWh(play(withBulkSeconds(profile, stage, bulkS)));
  // Energy delivered grows with the bulk stage's length (the taper only moves later), so bisection finds it.
  let lo = 0;
  let hi = end - start;
  if (delivered(lo) >= target) hi = 0;
  else if (delivered(hi) <= target) lo = hi;
  while (hi - lo > 1e-6) {
    const mid = (lo + hi) / 2;
    if (delivered(mid) < target) lo = mid;
    else hi = mid;
  }
  return cutAtEnergy(play(withBulkSeconds(profile, stage, hi)), target);
}

/** The profile an EV charges with: a smart profile under a signal charges at its first (full-rate) state. */
export function evDemandProfile(profile: Profile, smart: boolean): Profile {
  if (!smart || profile.ev?.control !== 'smart') return profile;
  return { ...profile, states: [{ ...profile.states[0]!, durationS: undefined }] };
}
