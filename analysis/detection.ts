import { max, quantileSorted } from 'simple-statistics';
import type { DetectedEvent, Matching, TrueEvent } from './matching.js';

export const UNKNOWN = 'unknown';
export const MISSED = '(missed)';
export const SPURIOUS = '(spurious)';

export interface ClassScore {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface DetectionMetrics {
  truthCount: number;
  detectedCount: number;
  matched: number;
  precision: number;
  recall: number;
  f1: number;
  evRecall: number;
  identificationAccuracy: number;
  evIdentificationAccuracy: number;
  macroF1: number;
  perClass: ClassScore[];
  /** confusion[trueClass][detectedClass] = count, with MISSED and SPURIOUS for unmatched events. */
  confusion: Record<string, Record<string, number>>;
  latency: LatencyStats;
}

export interface LatencyStats {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Every matched latency in seconds, for histograms. */
  values: number[];
}

const ratio = (a: number, b: number) => (b === 0 ? Number.NaN : a / b);
const f1Of = (p: number, r: number) => (p + r === 0 || Number.isNaN(p + r) ? 0 : (2 * p * r) / (p + r));
export const isEvClass = (cls: string) => cls === 'ev' || cls.startsWith('ev-') || cls.startsWith('ev.');

export function latencyStats(values: number[]): LatencyStats {
  if (values.length === 0)
    return { count: 0, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN, values };
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: quantileSorted(sorted, 0.5),
    p95: quantileSorted(sorted, 0.95),
    p99: quantileSorted(sorted, 0.99),
    max: max(sorted),
    values,
  };
}

/** Detection, identification and latency metrics from a matching (DESIGN §6). Pure. */
export function detectionMetrics(
  truth: readonly TrueEvent[],
  detected: readonly DetectedEvent[],
  m: Matching,
): DetectionMetrics {
  const confusion: Record<string, Record<string, number>> = {};
  const bump = (t: string, d: string) => {
    const row = confusion[t] ?? {};
    confusion[t] = row;
    row[d] = (row[d] ?? 0) + 1;
  };
  let correct = 0;
  let evMatched = 0;
  let evCorrect = 0;
  for (const p of m.pairs) {
    const t = truth[p.truth]!;
    const d = detected[p.detected]!;
    bump(t.class, d.class);
    if (t.class === d.class) correct++;
    if (isEvClass(t.class)) {
      evMatched++;
      if (t.class === d.class && (t.profile === undefined || d.profile === undefined || t.profile === d.profile))
        evCorrect++;
    }
  }
  for (const i of m.unmatchedTruth) bump(truth[i]!.class, MISSED);
  for (const i of m.unmatchedDetected) bump(SPURIOUS, detected[i]!.class);

  const classes = [...new Set(truth.map((t) => t.class))].sort();
  const perClass = classes.map((k): ClassScore => {
    const tp = m.pairs.filter((p) => truth[p.truth]!.class === k && detected[p.detected]!.class === k).length;
    const predicted = detected.filter((d) => d.class === k).length;
    const support = truth.filter((t) => t.class === k).length;
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    return { class: k, precision, recall, f1: f1Of(precision, recall), support };
  });
  const precision = ratio(m.pairs.length, detected.length);
  const recall = ratio(m.pairs.length, truth.length);
  const evTruth = truth.filter((t) => isEvClass(t.class)).length;
  return {
    truthCount: truth.length,
    detectedCount: detected.length,
    matched: m.pairs.length,
    precision,
    recall,
    f1: f1Of(precision, recall),
    evRecall: ratio(evMatched, evTruth),
    identificationAccuracy: ratio(correct, m.pairs.length),
    evIdentificationAccuracy: ratio(evCorrect, evMatched),
    macroF1: perClass.length ? perClass.reduce((s, c) => s + c.f1, 0) / perClass.length : Number.NaN,
    perClass,
    confusion,
    latency: latencyStats(
      m.pairs.map((p) => (detected[p.detected]!.tReported ?? detected[p.detected]!.t) - truth[p.truth]!.t),
    ),
  };
}
