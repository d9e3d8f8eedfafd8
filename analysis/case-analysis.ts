import type { MeasurementData, MeterEventData, TruthEventData } from '../core/record/entries.js';
import type { DetectionMetrics } from './detection.js';
import type { MetrologySection } from './metrology.js';

export interface Entry {
  kind: string;
  data: Record<string, unknown>;
}

export interface TimelinePoint {
  meterId: string;
  t: number;
  p: number;
}

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
export type CaseAnalyser = (entries: readonly Entry[], params: Record<string, unknown>, out: CaseAnalysis) => void;

const TIMELINE_POINTS = 1500;

// Several analysers read the same kinds of one case's entries: each kind is picked out once per entries array.
const byKindCache = new WeakMap<readonly Entry[], Map<string, unknown[]>>();

/** The data of the entries of one kind, in record order (the same array for every caller of one case). */
export function ofKind<T>(entries: readonly Entry[], kind: string): T[] {
  let kinds = byKindCache.get(entries);
  if (!kinds) {
    kinds = new Map();
    byKindCache.set(entries, kinds);
  }
  let list = kinds.get(kind);
  if (!list) {
    list = [];
    for (const e of entries) if (e.kind === kind) list.push(e.data);
    kinds.set(kind, list);
  }
  return list as T[];
}

/** Measurements of one kind sorted by time (a new array: callers may keep it). */
export function sortedMeasurements(entries: readonly Entry[], kind: string): MeasurementData[] {
  return [...ofKind<MeasurementData>(entries, kind)].sort((a, b) => a.t - b.t);
}

/** The analysis every case starts from: no metrics yet, the power timeline (decimated) and the events for charts. */
export function emptyCaseAnalysis(
  truth: TruthEventData[],
  detected: MeterEventData[],
  measurements: MeasurementData[],
): CaseAnalysis {
  return { metrics: {}, timeline: { power: decimate(measurements), truth, detected }, sections: {} };
}

/** Keeps at most TIMELINE_POINTS per meter so charts stay small whatever the run length. */
function decimate(measurements: MeasurementData[]): TimelinePoint[] {
  const byMeter = groupByMeter(measurements);
  const out: TimelinePoint[] = [];
  for (const [meterId, series] of byMeter) {
    const step = Math.max(1, Math.ceil(series.length / TIMELINE_POINTS));
    for (let i = 0; i < series.length; i += step) {
      const m = series[i]!;
      out.push({ meterId, t: m.t, p: m.p });
      // A polyphase meter's phases as series of their own ("house-bob L2"), beside its total.
      for (const [k, ph] of (m.phases ?? []).entries()) out.push({ meterId: `${meterId} L${k + 1}`, t: m.t, p: ph.p });
    }
  }
  return out;
}

export function groupByMeter(measurements: readonly MeasurementData[]): Map<string, MeasurementData[]> {
  const byMeter = new Map<string, MeasurementData[]>();
  for (const m of measurements) {
    const list = byMeter.get(m.meterId);
    if (list) list.push(m);
    else byMeter.set(m.meterId, [m]);
  }
  return byMeter;
}
