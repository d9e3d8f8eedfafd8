import type { Direction } from '../core/record/entries.js';

export interface TrueEvent {
  t: number;
  meterId: string;
  class: string;
  profile?: string;
  loadId?: string;
  direction: Direction;
}

export interface DetectedEvent {
  /** Time the analysis uses: the meter's timestamp when it gives one, else when the bench saw it. */
  t: number;
  meterId: string;
  class: string;
  profile?: string;
  direction: Direction;
  deltaP?: number;
  /** When the bench received the event (the meter's decision); latency is measured to this instant. */
  tReported?: number;
}

export interface MatchPair {
  truth: number;
  detected: number;
  /** detected.t − truth.t, seconds. */
  dt: number;
}

export interface Matching {
  pairs: MatchPair[];
  unmatchedTruth: number[];
  unmatchedDetected: number[];
}

/**
 * One-to-one matching, nearest first (DESIGN §6): a detected event matches a true event of the same meter and
 * direction within ±tolerance seconds; candidate pairs are taken in order of |dt| so each event is used once.
 * Sorting all candidates is O(k log k) in the number of candidates, which the tolerance window keeps small.
 */
export function matchEvents(
  truth: readonly TrueEvent[],
  detected: readonly DetectedEvent[],
  toleranceS: number,
): Matching {
  const order = (xs: readonly { t: number }[]) => xs.map((_, i) => i).sort((a, b) => xs[a]!.t - xs[b]!.t);
  const tIdx = order(truth);
  const candidates: MatchPair[] = [];
  // Sweep detected events against truth sorted by time, collecting every pair inside the window.
  let lo = 0;
  for (const d of order(detected)) {
    const de = detected[d]!;
    while (lo < tIdx.length && truth[tIdx[lo]!]!.t < de.t - toleranceS) lo++;
    for (let k = lo; k < tIdx.length; k++) {
      const te = truth[tIdx[k]!]!;
      if (te.t > de.t + toleranceS) break;
      if (te.meterId === de.meterId && te.direction === de.direction) {
        candidates.push({ truth: tIdx[k]!, detected: d, dt: de.t - te.t });
      }
    }
  }
  candidates.sort((a, b) => Math.abs(a.dt) - Math.abs(b.dt) || a.truth - b.truth || a.detected - b.detected);
  const usedT = new Set<number>();
  const usedD = new Set<number>();
  const pairs: MatchPair[] = [];
  for (const c of candidates) {
    if (usedT.has(c.truth) || usedD.has(c.detected)) continue;
    usedT.add(c.truth);
    usedD.add(c.detected);
    pairs.push(c);
  }
  pairs.sort((a, b) => a.truth - b.truth);
  return {
    pairs,
    unmatchedTruth: truth.map((_, i) => i).filter((i) => !usedT.has(i)),
    unmatchedDetected: detected.map((_, i) => i).filter((i) => !usedD.has(i)),
  };
}
