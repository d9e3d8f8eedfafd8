import { isAbsolute, join } from 'node:path';
import { bandAt, computeCostMicro, defaultTariff, hourOfWeek, milliWhPerBand, type Tariff } from '../billing/tariff.js';
import { DEFAULT_CURRENCY, DEFAULT_TARIFF_BANDS, ledgerTariffOf } from '../billing/tariff-file.js';
import { FileValidationError } from '../core/errors.js';
import { formatFieldPath, loadYamlFile } from '../core/files/load-yaml.js';
import { seededRandom } from '../core/random.js';
import type { TruthEnergy, TruthEvent, TruthSession } from '../core/record/truth.js';
import { getBuiltinProfile, signatureId } from './library.js';
import { type Scenario, scenarioSchema } from './scenario-schema.js';
import { type Profile, type ProfileState, stateQ } from './schema.js';

/** A stretch of one load's run in which power moves linearly from (p0, q0) to (p1, q1); steady when equal. */
export interface Segment {
  from: number;
  to: number;
  p0: number;
  p1: number;
  q0: number;
  q1: number;
  state: ProfileState;
}

/** One continuous on-period of a load at a meter (a cycling load has one run per compressor start). */
export interface LoadRun {
  meterId: string;
  loadId: string;
  profile: Profile;
  start: number;
  end: number;
  segments: Segment[];
  /** Set for EV charging sessions (a paused session has one run per charging stretch). */
  ev?: { evId: string; owner: string; home?: string; authorise: boolean; plugIn: number; unplug: number };
}

export interface GroundTruth {
  epochS: number;
  durationS: number;
  events: TruthEvent[];
  energies: TruthEnergy[];
  sessions: TruthSession[];
  runs: LoadRun[];
}

/** Internal state changes of at least this size are switch events a meter should see (e.g. heater → motor). */
export const STEP_EVENT_W = 50;
/** Power factor of every house's standby load (see synth.ts). */
export const BASE_LOAD_PF = 0.9;

export function loadScenarioFile(file: string): Scenario {
  const scenario = loadYamlFile(file, scenarioSchema);
  // Profiles are resolved now so a typo is reported against the scenario file, not at run time.
  const problems = unknownProfiles(scenario).map((p) => ({ file, ...p }));
  if (problems.length) throw new FileValidationError(file, problems);
  return scenario;
}

/** Every profile name the scenario uses that is neither its own nor in the library, by field path. */
export function unknownProfiles(
  scenario: Scenario,
): Array<{ path: Array<string | number>; field: string; message: string }> {
  const problems: Array<{ path: Array<string | number>; field: string; message: string }> = [];
  const check = (name: string, path: Array<string | number>) => {
    try {
      profileFor(scenario, name);
    } catch {
      problems.push({ path, field: formatFieldPath(path), message: `unknown profile ${name}` });
    }
  };
  scenario.houses.forEach((h, i) => {
    for (const [j, l] of h.loads.entries()) check(l.profile, ['houses', i, 'loads', j, 'profile']);
    for (const [j, l] of h.randomLoads.entries()) check(l.profile, ['houses', i, 'randomLoads', j, 'profile']);
  });
  for (const [i, e] of scenario.evs.entries()) check(e.profile, ['evs', i, 'profile']);
  return problems;
}

/** A profile named by a scenario: its own inline profiles first, then the built-in library. */
export function profileFor(scenario: Scenario, name: string): Profile {
  return scenario.profiles.find((p) => p.name === name) ?? getBuiltinProfile(name);
}

/** A scenario reference: a path relative to `baseDir` (e.g. the suite file's folder) or absolute. */
export function resolveScenarioPath(ref: string, baseDir: string): string {
  return isAbsolute(ref) ? ref : join(baseDir, ref);
}

const snap = (t: number, f: number) => Math.round(t * f) / f;

/** The segments of a profile played from `start`, cut at `end` (cycling states become separate runs). */
function playProfile(
  profile: Profile,
  start: number,
  end: number,
): Array<{ start: number; end: number; segments: Segment[] }> {
  const runs: Array<{ start: number; end: number; segments: Segment[] }> = [];
  let t = start;
  let current: Segment[] = [];
  let runStart = start;
  for (let i = 0; i < profile.states.length && t < end; i++) {
    const s = profile.states[i]!;
    const last = i === profile.states.length - 1;
    const stateEnd = Math.min(end, s.durationS !== undefined ? t + s.durationS : last ? end : end);
    const q = stateQ(s);
    if (s.kind === 'cycling') {
      // Compressor-style: on for onS, off for offS, each on-period its own run.
      if (current.length) runs.push({ start: runStart, end: t, segments: current });
      current = [];
      let c = t;
      while (c < stateEnd) {
        const onEnd = Math.min(stateEnd, c + s.onS!);
        runs.push({
          start: c,
          end: onEnd,
          segments: [{ from: c, to: onEnd, p0: s.p, p1: s.p, q0: q, q1: q, state: s }],
        });
        c = onEnd + s.offS!;
      }
      t = stateEnd;
      runStart = t;
      continue;
    }
    if (current.length === 0) runStart = t;
    if (s.kind === 'ramp') {
      const q0 = s.fromP! * (q / (s.p || 1));
      current.push({ from: t, to: stateEnd, p0: s.fromP!, p1: s.p, q0, q1: q, state: s });
    } else if (s.kind === 'taper') {
      const dur = s.durationS!;
      const frac = Math.min(1, (stateEnd - t) / dur);
      const pEnd = s.p + (s.toP! - s.p) * frac;
      const ratio = q / (s.p || 1);
      current.push({ from: t, to: stateEnd, p0: s.p, p1: pEnd, q0: q, q1: pEnd * ratio, state: s });
    } else {
      current.push({ from: t, to: stateEnd, p0: s.p, p1: s.p, q0: q, q1: q, state: s });
    }
    t = stateEnd;
    if (last && s.durationS !== undefined) break;
  }
  if (current.length) runs.push({ start: runStart, end: t, segments: current });
  return runs.filter((r) => r.end > r.start);
}

type PlayedRun = { start: number; end: number; segments: Segment[] };

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

/** The scenario's tariff as the ledger stores it (the default tariff when the scenario names none). */
export function scenarioLedgerTariff(scenario: Scenario): Tariff {
  return scenario.tariff ? ledgerTariffOf(scenario.tariff) : defaultTariff();
}

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
function evDemandProfile(profile: Profile, smart: boolean): Profile {
  if (!smart || profile.ev?.control !== 'smart') return profile;
  return { ...profile, states: [{ ...profile.states[0]!, durationS: undefined }] };
}

/** Expands houses' loads (fixed and seeded-random) and EV sessions into runs on each meter. */
export function expandScenario(scenario: Scenario, seed: number): LoadRun[] {
  const runs: LoadRun[] = [];
  eachRun(scenario, seed, (r) => runs.push(r));
  return runs.sort((a, b) => a.start - b.start || a.loadId.localeCompare(b.loadId));
}

/**
 * The runs of expandScenario one at a time, in draw order (not sorted) and kept by nobody: for a pass that needs
 * each run once, e.g. counting a 200-house month without holding its runs.
 */
export function eachRun(scenario: Scenario, seed: number, visit: (run: LoadRun) => void): void {
  const f = scenario.frequency;
  const { uniform } = seededRandom(seed);
  const push = (meterId: string, loadId: string, profile: Profile, played: PlayedRun[], ev?: LoadRun['ev']) => {
    for (const r of played) {
      const segs = r.segments
        .map((s) => ({ ...s, from: snap(s.from, f), to: snap(s.to, f) }))
        .filter((s) => s.to > s.from);
      if (segs.length)
        visit({ meterId, loadId, profile, start: segs[0]!.from, end: segs.at(-1)!.to, segments: segs, ev });
    }
  };
  const window = (on: number, off: number) => [snap(on, f), snap(Math.min(off, scenario.durationS), f)] as const;
  const add = (meterId: string, loadId: string, profile: Profile, on: number, off: number) => {
    const [start, end] = window(on, off);
    push(meterId, loadId, profile, playProfile(profile, start, end));
  };
  for (const h of scenario.houses) {
    for (const l of h.loads) add(h.id, l.id, profileFor(scenario, l.profile), l.on, l.off ?? scenario.durationS);
    h.randomLoads.forEach((r, i) => {
      const profile = profileFor(scenario, r.profile);
      for (let k = 0; k < r.count; k++) {
        const dur = uniform(r.minDurationS, r.maxDurationS);
        const on = uniform(0, Math.max(0, scenario.durationS - dur));
        add(h.id, `${r.profile}-r${i}-${k}`, profile, on, on + dur);
      }
    });
  }
  for (const ev of scenario.evs) {
    const profile = evDemandProfile(profileFor(scenario, ev.profile), ev.smart !== undefined);
    for (const [i, s] of ev.sessions.entries()) {
      const [start, end] = window(s.plugIn, s.unplug);
      const cap = ev.smart ? smartCapSteps(scenario, ev.smart, start, end) : [];
      const energyWh = s.energyKWh === undefined ? undefined : s.energyKWh * 1000;
      push(s.at, `${ev.id}-s${i}`, profile, playEvSession(profile, start, end, { energyWh, cap }), {
        evId: ev.id,
        owner: ev.owner,
        home: ev.home,
        authorise: s.authorise,
        plugIn: start,
        unplug: end,
      });
    }
  }
}

function segmentEnergyWh(s: Segment): number {
  return (((s.p0 + s.p1) / 2) * (s.to - s.from)) / 3600;
}

/**
 * Adds an import segment's energy to the tariff band of each local hour it spans (power is linear over the
 * segment, so each piece's energy is exact). `into` is indexed by band.
 */
function addBandEnergyWh(s: Segment, epochS: number, tariff: Tariff, into: number[]): void {
  const d = s.to - s.from;
  if (d <= 0) return;
  const pAt = (t: number) => s.p0 + ((s.p1 - s.p0) * (t - s.from)) / d;
  const off = tariff.utcOffsetSeconds;
  for (let a = s.from; a < s.to; ) {
    const hourEnd = (Math.floor((epochS + a + off) / 3600) + 1) * 3600 - off - epochS;
    const b = Math.min(s.to, hourEnd);
    // The band of the piece's midpoint: its ends sit on hour boundaries, where rounding could pick either hour.
    const band = bandAt(tariff, BigInt(Math.floor(epochS + (a + b) / 2)));
    into[band]! += (((pAt(a) + pAt(b)) / 2) * (b - a)) / 3600;
    a = b;
  }
}

/** The switch events of one run: on, each step inside it of at least STEP_EVENT_W, off. */
function runEvents(r: LoadRun, base: Omit<TruthEvent, 't' | 'direction' | 'deltaP' | 'deltaQ'>): TruthEvent[] {
  const first = r.segments[0]!;
  const last = r.segments.at(-1)!;
  const events: TruthEvent[] = [{ ...base, t: r.start, direction: 'on', deltaP: first.p0, deltaQ: first.q0 }];
  for (let i = 1; i < r.segments.length; i++) {
    const a = r.segments[i - 1]!;
    const b = r.segments[i]!;
    const dp = b.p0 - a.p1;
    if (Math.abs(dp) >= STEP_EVENT_W) {
      // A step inside a run (heater → motor): 'on' when the load draws more, 'off' when less.
      events.push({
        ...base,
        t: b.from,
        direction: Math.abs(b.p0) > Math.abs(a.p1) ? 'on' : 'off',
        deltaP: dp,
        deltaQ: b.q0 - a.q1,
      });
    }
  }
  events.push({ ...base, t: r.end, direction: 'off', deltaP: -last.p1, deltaQ: -last.q1 });
  return events;
}

/**
 * How many switch events and expected billing sessions groundTruth would give, one run at a time: the counts
 * `bench scenario generate` prints, without holding the whole truth (1.3 GB for 200 houses over 31 days).
 */
export function truthCounts(scenario: Scenario, seed: number): { events: number; sessions: number } {
  let events = 0;
  const sessions = new Set<string>();
  eachRun(scenario, seed, (r) => {
    events += runEvents(r, { meterId: r.meterId, loadId: r.loadId, profile: '', class: r.profile.class }).length;
    // A session paused by smart charging has several runs: one plug-in, one expected billing record.
    if (r.ev) sessions.add(r.loadId);
  });
  return { events, sessions: sessions.size };
}

/** Switch events, per-run energies and expected billing sessions. Pure and deterministic given the seed. */
export function groundTruth(scenario: Scenario, seed: number): GroundTruth {
  const runs = expandScenario(scenario, seed);
  const events: TruthEvent[] = [];
  const energies: GroundTruth['energies'] = [];
  const sessions = new Map<string, TruthSession>();
  const contractOf = new Map(scenario.houses.map((h) => [h.id, h.contract]));
  const v = scenario.voltage.nominal;
  const epochS = Date.parse(scenario.start) / 1000;
  const tariff = scenarioLedgerTariff(scenario);
  for (const r of runs) {
    const cls = r.profile.class;
    const sig = signatureId(r.profile);
    const base = { meterId: r.meterId, loadId: r.loadId, profile: sig, class: cls };
    for (const e of runEvents(r, base)) events.push(e);
    let energyWh = 0;
    let importWh = 0;
    let exportWh = 0;
    let sumS = 0;
    let sumP = 0;
    const bandWh = tariff.bandPrices.map(() => 0);
    for (const s of r.segments) {
      const e = segmentEnergyWh(s);
      energyWh += e;
      if (e >= 0) {
        importWh += e;
        if (r.ev) addBandEnergyWh(s, epochS, tariff, bandWh);
      } else exportWh -= e;
      const dur = s.to - s.from;
      sumS += Math.hypot((s.p0 + s.p1) / 2, (s.q0 + s.q1) / 2) * dur;
      sumP += Math.abs((s.p0 + s.p1) / 2) * dur;
    }
    const dur = r.end - r.start;
    energies.push({
      ...base,
      start: r.start,
      end: r.end,
      energyWh,
      currentA: sumS / dur / v,
      pf: sumS ? sumP / sumS : 1,
    });
    if (r.ev) {
      // A session paused by smart charging has several runs: one plug-in, one expected billing record.
      const host = contractOf.get(r.meterId)!;
      const open = sessions.get(r.loadId);
      if (open) {
        open.end = r.end;
        open.importWh += importWh;
        open.exportWh += exportWh;
        bandWh.forEach((e, b) => {
          open.bandWh[b]! += e;
        });
      } else {
        sessions.set(r.loadId, {
          sessionId: r.loadId,
          meterId: r.meterId,
          evId: r.ev.evId,
          ownerContractId: r.ev.owner,
          hostContractId: host,
          payerContractId: r.ev.authorise ? r.ev.owner : host,
          authorised: r.ev.authorise,
          roaming: r.meterId !== r.ev.home,
          plugIn: r.ev.plugIn,
          unplug: r.ev.unplug,
          start: r.start,
          end: r.end,
          importWh,
          exportWh,
          bandWh,
          cost: 0,
          currency: scenario.tariff?.currency ?? DEFAULT_CURRENCY,
        });
      }
    }
  }
  for (const s of sessions.values()) s.cost = expectedCost(tariff, epochS, s);
  for (const h of scenario.houses) {
    // The always-on standby load: part of the metered total, never a switch event.
    const pf = BASE_LOAD_PF;
    energies.push({
      meterId: h.id,
      loadId: 'base',
      class: 'base',
      profile: 'base',
      start: 0,
      end: scenario.durationS,
      energyWh: (h.baseLoadW * scenario.durationS) / 3600,
      currentA: h.baseLoadW / pf / v,
      pf,
    });
  }
  events.sort((a, b) => a.t - b.t || a.loadId.localeCompare(b.loadId));
  return { epochS, durationS: scenario.durationS, events, energies, sessions: [...sessions.values()], runs };
}

/**
 * What the meter should bill for a session: its version-2 record (unix start/end, the import energy in each
 * tariff band in milli-Wh, rounded as the meter rounds them) through billing/tariff.ts computeCostMicro, in
 * currency units.
 */
export function expectedCost(
  tariff: Tariff,
  epochS: number,
  s: Pick<TruthSession, 'start' | 'end' | 'bandWh' | 'exportWh'>,
): number {
  const bandMilliWh = milliWhPerBand(s.bandWh);
  const micro = computeCostMicro(tariff, {
    start: BigInt(Math.round(epochS + s.start)),
    end: BigInt(Math.round(epochS + s.end)),
    importMilliWh: bandMilliWh.reduce((a, b) => a + b, 0n),
    exportMilliWh: BigInt(Math.round(s.exportWh * 1000)),
    version: 2,
    bandMilliWh,
  });
  return Number(micro) / 1e6;
}
