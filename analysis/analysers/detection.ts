import { ENTRY, type MeterEventData, type TruthEventData } from '../../core/record/entries.js';
import type { CaseAnalyser, CaseAnalysis } from '../case-analysis.js';
import { detectionMetrics } from '../detection.js';
import { type DetectedEvent, matchEvents, type TrueEvent } from '../matching.js';

/** Detection and identification of switch events against the ground truth, with latencies. */
export const detectionAnalyser: CaseAnalyser = (entries, params, out) => {
  const truth = entries.ofKind<TruthEventData>(ENTRY.truthEvent);
  if (truth.length > 0) analyseDetection(truth, entries.ofKind<MeterEventData>(ENTRY.meterEvent), params, out);
};

function analyseDetection(
  truth: TruthEventData[],
  meter: MeterEventData[],
  params: Record<string, unknown>,
  out: CaseAnalysis,
) {
  const toleranceS = Number(params.matchToleranceS ?? 1);
  const clock = meter.length > 0 && meter.every((e) => e.tMeter !== undefined) ? 'meter' : 'bench';
  const t: TrueEvent[] = truth.map((e) => ({
    t: e.t,
    meterId: e.meterId,
    class: e.class,
    profile: e.profile,
    direction: e.direction,
  }));
  const d: DetectedEvent[] = meter.map((e) => ({
    t: clock === 'meter' ? e.tMeter! : e.tObserved,
    meterId: e.meterId,
    class: e.class,
    profile: e.profile,
    direction: e.direction,
    deltaP: e.deltaP,
    tReported: e.tObserved,
  }));
  const det = detectionMetrics(t, d, matchEvents(t, d, toleranceS));
  out.detection = { ...det, toleranceS, clock };
  Object.assign(out.metrics, {
    'detection.precision': det.precision,
    'detection.recall': det.recall,
    'detection.f1': det.f1,
    'detection.macro_f1': det.macroF1,
    'detection.ev_recall': det.evRecall,
    'identification.accuracy': det.identificationAccuracy,
    'identification.ev_accuracy': det.evIdentificationAccuracy,
    'latency.p50_s': det.latency.p50,
    'latency.p95_s': det.latency.p95,
    'latency.p99_s': det.latency.p99,
    'latency.max_s': det.latency.max,
  });
}
