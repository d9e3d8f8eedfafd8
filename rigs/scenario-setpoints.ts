import { BASE_LOAD_PF, expandScenario, type LoadRun, type Shares, segmentShares } from '../profiles/expansion.js';
import { STEP_EVENT_W } from '../profiles/ground-truth.js';
import type { Scenario } from '../profiles/scenario-schema.js';
import type { CpState } from './ev-cp.js';

/** What a meter's loads draw in total from `t` (scenario seconds) until the next point. */
export interface TotalSetpoint {
  t: number;
  p: number;
  q: number;
  /** On a three-phase supply, what they draw on L1, L2 and L3 (the standby base on L1). */
  phases?: Array<{ p: number; q: number }>;
}

/**
 * A scenario's loads at one meter as one programmable load's schedule: the sum of every load's segments (steps,
 * ramps, tapers, compressor cycles) plus the standby base, sampled at every segment boundary and inside ramps in
 * steps of at most `rampStepW` (a load takes setpoints, not slopes; steps well under the ground truth's event
 * threshold keep a ramp a ramp to the meter). Noise is left out: the load cannot follow it and the meter must not
 * be judged on it. Points that change the total by less than `minChangeW` are dropped.
 */
export function scenarioSetpoints(
  scenario: Scenario,
  meterId: string,
  seed: number,
  opts: { rampStepW?: number; minChangeW?: number } = {},
): TotalSetpoint[] {
  const rampStepW = opts.rampStepW ?? STEP_EVENT_W / 4;
  const minChangeW = opts.minChangeW ?? 0.5;
  const house = scenario.houses.find((h) => h.id === meterId);
  const baseP = house?.baseLoadW ?? 0;
  const baseQ = baseP * Math.tan(Math.acos(BASE_LOAD_PF));
  const runs = expandScenario(scenario, seed).filter((r) => r.meterId === meterId);
  const times = new Set<number>([0]);
  for (const r of runs) {
    times.add(r.start);
    times.add(r.end);
    for (const s of r.segments) {
      times.add(s.from);
      const n = Math.ceil(Math.max(Math.abs(s.p1 - s.p0), Math.abs(s.q1 - s.q0)) / rampStepW);
      for (let i = 1; i < n; i++) times.add(s.from + ((s.to - s.from) * i) / n);
    }
  }
  const out: TotalSetpoint[] = [];
  const threePhase = scenario.phases === 3;
  for (const t of [...times].filter((x) => x >= 0 && x < scenario.durationS).sort((a, b) => a - b)) {
    let p = baseP;
    let q = baseQ;
    const phases = threePhase
      ? [
          { p: baseP, q: baseQ },
          { p: 0, q: 0 },
          { p: 0, q: 0 },
        ]
      : undefined;
    for (const r of runs) {
      const v = drawAt(r, t);
      p += v.p;
      q += v.q;
      if (phases)
        v.shares.forEach((share, k) => {
          phases[k]!.p += v.p * share;
          phases[k]!.q += v.q * share;
        });
    }
    const last = out.at(-1);
    const moved = (a: { p: number; q: number }, b: { p: number; q: number }) =>
      Math.abs(a.p - b.p) >= minChangeW || Math.abs(a.q - b.q) >= minChangeW;
    if (!last || moved({ p, q }, last) || phases?.some((ph, k) => moved(ph, last.phases![k]!)))
      out.push({ t, p, q, ...(phases && { phases }) });
  }
  return out;
}

function drawAt(r: LoadRun, t: number): { p: number; q: number; shares: Shares } {
  if (t < r.start || t >= r.end) return { p: 0, q: 0, shares: r.shares };
  for (const s of r.segments) {
    if (t < s.from || t >= s.to) continue;
    const f = s.to > s.from ? (t - s.from) / (s.to - s.from) : 0;
    return {
      p: s.p0 + (s.p1 - s.p0) * f,
      q: s.q0 + (s.q1 - s.q0) * f,
      shares: segmentShares(r.shares, s.state.phases),
    };
  }
  return { p: 0, q: 0, shares: r.shares };
}

/** What the charge point does for an EV session: the pilot state the EV presents and the token it shows. */
export type EvSignal =
  | { t: number; kind: 'cp'; evId: string; state: CpState }
  | { t: number; kind: 'authorize'; evId: string; contractId: string };

/** Seconds before plug-in that an authorising driver presents the token (as the simulated rig does). */
export const TOKEN_LEAD_S = 2;

/**
 * A scenario's EV sessions at one meter as charge-point signals: the token at plug-in − TOKEN_LEAD_S (authorised
 * sessions only), pilot B at plug-in, C while the charging run draws, B when it stops, A at unplug.
 */
export function scenarioEvSignals(scenario: Scenario, meterId: string, seed: number): EvSignal[] {
  const runs = expandScenario(scenario, seed).filter((r) => r.meterId === meterId && r.ev);
  const out: EvSignal[] = [];
  for (const ev of scenario.evs) {
    for (const s of ev.sessions) {
      if (s.at !== meterId) continue;
      if (s.authorise) {
        out.push({ t: Math.max(0, s.plugIn - TOKEN_LEAD_S), kind: 'authorize', evId: ev.id, contractId: ev.owner });
      }
      out.push({ t: s.plugIn, kind: 'cp', evId: ev.id, state: 'B' });
      for (const r of runs) {
        if (r.ev?.evId !== ev.id || r.start < s.plugIn || r.start >= s.unplug) continue;
        out.push({ t: r.start, kind: 'cp', evId: ev.id, state: 'C' });
        out.push({ t: Math.min(r.end, s.unplug), kind: 'cp', evId: ev.id, state: 'B' });
      }
      out.push({ t: s.unplug, kind: 'cp', evId: ev.id, state: 'A' });
    }
  }
  // Stable: at equal times the session order above (B before C, B before A) is kept.
  return out
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.t - b.s.t || a.i - b.i)
    .map(({ s }) => s);
}
