/** A profile played over a window: its segments of linear power, and their energy. */
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

/** A profile's runs over a window, before they are placed at a meter. */
export type PlayedRun = { start: number; end: number; segments: Segment[] };

/** The segments of a profile played from `start`, cut at `end` (cycling states become separate runs). */
export function playProfile(
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

/** Energy of a segment (Wh; negative for export): power is linear over it. */
export function segmentEnergyWh(s: Segment): number {
  return (((s.p0 + s.p1) / 2) * (s.to - s.from)) / 3600;
}
