/** A scenario expanded into load runs on each meter (fixed and seeded-random loads, EV sessions). */
import { seededRandom } from '../core/random.js';
import { evDemandProfile, playEvSession, smartCapSteps } from './ev-charging.js';
import { type PlayedRun, playProfile, type Segment } from './play.js';
import { profileFor } from './scenario.js';
import type { PhaseConnection, Scenario } from './scenario-schema.js';
import type { Profile } from './schema.js';

/** One continuous on-period of a load at a meter (a cycling load has one run per compressor start). */
export interface LoadRun {
  meterId: string;
  loadId: string;
  profile: Profile;
  start: number;
  end: number;
  segments: Segment[];
  /**
   * The share of the load's power on L1, L2, L3: [1, 0, 0] on a single-phase supply (a three-phase profile's
   * total on the one channel, as a single-phase meter sees it) and for a single-phase load on L1.
   */
  shares: Shares;
  /** Set for EV charging sessions (a paused session has one run per charging stretch). */
  ev?: {
    evId: string;
    owner: string;
    home?: string;
    authorise: boolean;
    /** The back office's answer for the owner's token (scenario `tokenStatus`). */
    tokenStatus: 'Accepted' | 'Blocked' | 'Expired' | 'Invalid';
    plugIn: number;
    unplug: number;
  };
}

export type Shares = readonly [number, number, number];
const ON_L1: Shares = [1, 0, 0];
const PHASE_SHARES: Record<Exclude<PhaseConnection, 'L1L2L3'>, Shares> = {
  L1: ON_L1,
  L2: [0, 1, 0],
  L3: [0, 0, 1],
};

/** Where a load draws on the scenario's supply (see LoadRun.shares). */
export function sharesOf(
  scenario: Pick<Scenario, 'phases'>,
  profile: Profile,
  c: { phase?: PhaseConnection; shares?: readonly [number, number, number] },
): Shares {
  if (scenario.phases === 1) return ON_L1;
  const phase = c.phase ?? (profile.ev?.phases === 3 ? 'L1L2L3' : 'L1');
  if (phase !== 'L1L2L3') return PHASE_SHARES[phase];
  return c.shares ?? [1 / 3, 1 / 3, 1 / 3];
}

/**
 * A segment's shares: the run's, or, for a state a three-phase load draws on one phase (`phases: 1`), all of it on
 * the first phase the load is connected to.
 */
export function segmentShares(shares: Shares, statePhases: 1 | undefined): Shares {
  if (statePhases !== 1) return shares;
  const first = shares.findIndex((x) => x > 0);
  return [first === 0 ? 1 : 0, first === 1 ? 1 : 0, first === 2 ? 1 : 0];
}

/** Power factor of every house's standby load (see synth.ts). */
export const BASE_LOAD_PF = 0.9;

const snap = (t: number, f: number) => Math.round(t * f) / f;

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
  const push = (
    meterId: string,
    loadId: string,
    profile: Profile,
    played: PlayedRun[],
    shares: Shares,
    ev?: LoadRun['ev'],
  ) => {
    for (const r of played) {
      const segs = r.segments
        .map((s) => ({ ...s, from: snap(s.from, f), to: snap(s.to, f) }))
        .filter((s) => s.to > s.from);
      if (segs.length)
        visit({ meterId, loadId, profile, start: segs[0]!.from, end: segs.at(-1)!.to, segments: segs, shares, ev });
    }
  };
  const window = (on: number, off: number) => [snap(on, f), snap(Math.min(off, scenario.durationS), f)] as const;
  const add = (meterId: string, loadId: string, profile: Profile, on: number, off: number, shares: Shares) => {
    const [start, end] = window(on, off);
    push(meterId, loadId, profile, playProfile(profile, start, end), shares);
  };
  for (const h of scenario.houses) {
    for (const l of h.loads) {
      const profile = profileFor(scenario, l.profile);
      add(h.id, l.id, profile, l.on, l.off ?? scenario.durationS, sharesOf(scenario, profile, l));
    }
    h.randomLoads.forEach((r, i) => {
      const profile = profileFor(scenario, r.profile);
      for (let k = 0; k < r.count; k++) {
        const dur = uniform(r.minDurationS, r.maxDurationS);
        const on = uniform(0, Math.max(0, scenario.durationS - dur));
        add(h.id, `${r.profile}-r${i}-${k}`, profile, on, on + dur, sharesOf(scenario, profile, r));
      }
    });
  }
  for (const ev of scenario.evs) {
    const profile = evDemandProfile(profileFor(scenario, ev.profile), ev.smart !== undefined);
    const shares = sharesOf(scenario, profile, ev);
    for (const [i, s] of ev.sessions.entries()) {
      const [start, end] = window(s.plugIn, s.unplug);
      const cap = ev.smart ? smartCapSteps(scenario, ev.smart, start, end) : [];
      const energyWh = s.energyKWh === undefined ? undefined : s.energyKWh * 1000;
      push(s.at, `${ev.id}-s${i}`, profile, playEvSession(profile, start, end, { energyWh, cap }), shares, {
        evId: ev.id,
        owner: ev.owner,
        home: ev.home,
        authorise: s.authorise,
        tokenStatus: ev.tokenStatus ?? 'Accepted',
        plugIn: start,
        unplug: end,
      });
    }
  }
}
