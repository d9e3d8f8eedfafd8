import { isAbsolute, join } from 'node:path';
import { FileValidationError } from '../engine/errors.js';
import { loadYamlFile } from '../engine/files/load-yaml.js';
import { seededRandom } from '../engine/random.js';
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
  /** Set for EV charging sessions. */
  ev?: { evId: string; owner: string; home?: string; authorise: boolean };
}

export interface TruthEvent {
  t: number;
  meterId: string;
  loadId: string;
  profile: string;
  class: string;
  direction: 'on' | 'off';
  deltaP: number;
  deltaQ: number;
}

export interface TruthSession {
  sessionId: string;
  meterId: string;
  evId: string;
  ownerContractId: string;
  hostContractId: string;
  payerContractId: string;
  authorised: boolean;
  roaming: boolean;
  start: number;
  end: number;
  importWh: number;
  exportWh: number;
}

/** The true energy of one load run (or a house's standby base). */
export interface TruthEnergy {
  meterId: string;
  loadId: string;
  class: string;
  profile: string;
  start: number;
  end: number;
  /** Signed energy in Wh (negative for export, e.g. V2G or PV). */
  energyWh: number;
  /** Mean apparent current in A over the run (for metrology test points). */
  currentA: number;
  pf: number;
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
  const problems: Array<{ file: string; field: string; message: string }> = [];
  scenario.houses.forEach((h, i) => {
    for (const [j, l] of h.loads.entries()) check(l.profile, `houses[${i}].loads[${j}].profile`);
    for (const [j, l] of h.randomLoads.entries()) check(l.profile, `houses[${i}].randomLoads[${j}].profile`);
  });
  for (const [i, e] of scenario.evs.entries()) check(e.profile, `evs[${i}].profile`);
  if (problems.length) throw new FileValidationError(file, problems);
  return scenario;

  function check(name: string, field: string) {
    try {
      profileFor(scenario, name);
    } catch {
      problems.push({ file, field, message: `unknown profile ${name}` });
    }
  }
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

/** Expands houses' loads (fixed and seeded-random) and EV sessions into runs on each meter. */
export function expandScenario(scenario: Scenario, seed: number): LoadRun[] {
  const f = scenario.frequency;
  const { uniform } = seededRandom(seed);
  const runs: LoadRun[] = [];
  const add = (meterId: string, loadId: string, profile: Profile, on: number, off: number, ev?: LoadRun['ev']) => {
    const start = snap(on, f);
    const end = snap(Math.min(off, scenario.durationS), f);
    for (const r of playProfile(profile, start, end)) {
      const segs = r.segments
        .map((s) => ({ ...s, from: snap(s.from, f), to: snap(s.to, f) }))
        .filter((s) => s.to > s.from);
      if (segs.length)
        runs.push({ meterId, loadId, profile, start: segs[0]!.from, end: segs.at(-1)!.to, segments: segs, ev });
    }
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
    const profile = profileFor(scenario, ev.profile);
    for (const [i, s] of ev.sessions.entries()) {
      add(s.at, `${ev.id}-s${i}`, profile, s.plugIn, s.unplug, {
        evId: ev.id,
        owner: ev.owner,
        home: ev.home,
        authorise: s.authorise,
      });
    }
  }
  return runs.sort((a, b) => a.start - b.start || a.loadId.localeCompare(b.loadId));
}

function segmentEnergyWh(s: Segment): number {
  return (((s.p0 + s.p1) / 2) * (s.to - s.from)) / 3600;
}

/** Switch events, per-run energies and expected billing sessions. Pure and deterministic given the seed. */
export function groundTruth(scenario: Scenario, seed: number): GroundTruth {
  const runs = expandScenario(scenario, seed);
  const events: TruthEvent[] = [];
  const energies: GroundTruth['energies'] = [];
  const sessions: TruthSession[] = [];
  const contractOf = new Map(scenario.houses.map((h) => [h.id, h.contract]));
  const v = scenario.voltage.nominal;
  for (const r of runs) {
    const cls = r.profile.class;
    const sig = signatureId(r.profile);
    const first = r.segments[0]!;
    const last = r.segments.at(-1)!;
    const base = { meterId: r.meterId, loadId: r.loadId, profile: sig, class: cls };
    events.push({ ...base, t: r.start, direction: 'on', deltaP: first.p0, deltaQ: first.q0 });
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
    let energyWh = 0;
    let importWh = 0;
    let exportWh = 0;
    let sumS = 0;
    let sumP = 0;
    for (const s of r.segments) {
      const e = segmentEnergyWh(s);
      energyWh += e;
      if (e >= 0) importWh += e;
      else exportWh -= e;
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
      const host = contractOf.get(r.meterId)!;
      sessions.push({
        sessionId: r.loadId,
        meterId: r.meterId,
        evId: r.ev.evId,
        ownerContractId: r.ev.owner,
        hostContractId: host,
        payerContractId: r.ev.authorise ? r.ev.owner : host,
        authorised: r.ev.authorise,
        roaming: r.meterId !== r.ev.home,
        start: r.start,
        end: r.end,
        importWh,
        exportWh,
      });
    }
  }
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
  return { epochS: Date.parse(scenario.start) / 1000, durationS: scenario.durationS, events, energies, sessions, runs };
}
