import type { MeterEventData, TruthEventData } from '../core/record/entries.js';
import type { CaseEntries } from './case-entries.js';
import type { DetectionMetrics } from './detection.js';
import type { MetrologySection } from './metrology.js';
import type { TimelinePoint } from './timeline.js';

export type { Entry } from './case-entries.js';
export type { TimelinePoint } from './timeline.js';

export interface CaseAnalysis {
  metrics: Record<string, number>;
  detection?: DetectionMetrics & { toleranceS: number; clock: 'meter' | 'bench' };
  energy?: {
    perClassTruthWh: Record<string, number>;
    perClassEstimateWh: Record<string, number>;
    totalTruthWh: number;
    totalMeterWh: number;
  };
  metrology?: MetrologySection;
  timeline: { power: TimelinePoint[]; truth: TruthEventData[]; detected: MeterEventData[] };
  /** Sections added by other analyses (billing, aspects), keyed by name. */
  sections: Record<string, unknown>;
}

/**
 * One analysis over a case's entries, adding its metrics and sections to `out`; every one is listed in
 * registry.ts. It adds only what the entries support, so running all of them on every case is right for every suite.
 */
export type CaseAnalyser = (entries: CaseEntries, params: Record<string, unknown>, out: CaseAnalysis) => void;

/** The analysis every case starts from: no metrics yet, the power timeline (downsampled) and the events for charts. */
export function emptyCaseAnalysis(
  truth: TruthEventData[],
  detected: MeterEventData[],
  power: TimelinePoint[],
): CaseAnalysis {
  return { metrics: {}, timeline: { power, truth, detected }, sections: {} };
}

export function groupByMeter<T extends { meterId: string }>(items: readonly T[]): Map<string, T[]> {
  const byMeter = new Map<string, T[]>();
  for (const m of items) {
    const list = byMeter.get(m.meterId);
    if (list) list.push(m);
    else byMeter.set(m.meterId, [m]);
  }
  return byMeter;
}
