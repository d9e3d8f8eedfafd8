import {
  ENTRY,
  type MeasurementData,
  type MeterEventData,
  type TruthEnergyData,
  type TruthEventData,
} from '../core/record/entries.js';
import { runSteps, runStepsYielding, type Steps } from '../core/steps.js';
import type { Metrics } from '../engine/criteria.js';
import { type DetectionMetrics, detectionMetrics } from './detection.js';
import {
  energyAssignedAccuracy,
  errorPct,
  fractionEnergyAssigned,
  normalisedDisaggregationError,
  registerAt,
} from './energy.js';
import { type DetectedEvent, matchEvents, type TrueEvent } from './matching.js';
import type { TestPointResult } from './metrology.js';
import { CASE_ANALYSERS } from './registry.js';
import { midMaxPermissibleErrorPct, parseMidClass } from './standards/mid.js';

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
  metrology?: { midClass: string; points: TestPointResult[]; creepPulses?: number };
  timeline: { power: TimelinePoint[]; truth: TruthEventData[]; detected: MeterEventData[] };
  /** Sections added by other analyses (billing, aspects), keyed by name. */
  sections: Record<string, unknown>;
}

/** A further analysis over the same entries; billing and survey-aspect checks plug in here (listed in registry.ts). */
export type CaseAnalyser = (entries: readonly Entry[], params: Record<string, unknown>, out: CaseAnalysis) => void;

const TIMELINE_POINTS = 1500;

function ofKind<T>(entries: readonly Entry[], kind: string): T[] {
  const out: T[] = [];
  for (const e of entries) if (e.kind === kind) out.push(e.data as T);
  return out;
}

/**
 * Every metric the entries of one case support, with every registered analyser (registry.ts). Pure: the same
 * entries always give the same analysis, whoever asks (certify while measuring, report and compare from a record).
 */
export function analyseCase(entries: readonly Entry[], params: Record<string, unknown>): CaseAnalysis {
  return runSteps(analysisSteps(entries, params));
}

/** analyseCase with a turn of the event loop between its stages; the same result. */
export function analyseCaseAsync(entries: readonly Entry[], params: Record<string, unknown>): Promise<CaseAnalysis> {
  return runStepsYielding(analysisSteps(entries, params));
}

/** The stages of analyseCase; each `yield` lets a caller run other work (a long case's analysis takes seconds). */
export function* analysisSteps(entries: readonly Entry[], params: Record<string, unknown>): Steps<CaseAnalysis> {
  const truthEvents = ofKind<TruthEventData>(entries, ENTRY.truthEvent);
  const meterEvents = ofKind<MeterEventData>(entries, ENTRY.meterEvent);
  const energies = ofKind<TruthEnergyData>(entries, ENTRY.truthLoadEnergy);
  const measurements = ofKind<MeasurementData>(entries, ENTRY.meterMeasurement).sort((a, b) => a.t - b.t);
  const out: CaseAnalysis = {
    metrics: {},
    timeline: { power: decimate(measurements), truth: truthEvents, detected: meterEvents },
    sections: {},
  };
  yield;
  if (truthEvents.length > 0) analyseDetection(truthEvents, meterEvents, params, out);
  yield;
  if (energies.length > 0 && measurements.length > 0) analyseEnergy(energies, measurements, meterEvents, out);
  yield;
  if (params.metrology === true && energies.length > 0) {
    const reference = ofKind<MeasurementData>(entries, ENTRY.referenceMeasurement).sort((a, b) => a.t - b.t);
    analyseMetrology(energies, measurements, reference, params, out);
  }
  if (params.creep === true) {
    const pulses = entries.filter((e) => e.kind === ENTRY.pulse).reduce((s, e) => s + Number(e.data.count ?? 0), 0);
    out.metrics['metrology.creep_pulses'] = pulses;
    out.metrology = {
      ...(out.metrology ?? { midClass: String(params.midClass ?? 'B'), points: [] }),
      creepPulses: pulses,
    };
  }
  for (const a of CASE_ANALYSERS) {
    yield;
    a(entries, params, out);
  }
  return out;
}

export function metricsOf(analysis: CaseAnalysis): Metrics {
  return analysis.metrics;
}

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

function analyseEnergy(
  energies: TruthEnergyData[],
  measurements: MeasurementData[],
  meter: MeterEventData[],
  out: CaseAnalysis,
) {
  const perClassTruthWh: Record<string, number> = {};
  for (const e of energies) {
    // The standby base is metered but never switched, so no meter can assign it to a class.
    if (e.class !== 'base') perClassTruthWh[e.class] = (perClassTruthWh[e.class] ?? 0) + Math.abs(e.energyWh);
  }
  const perClassEstimateWh = meterAssignedEnergy(meter);
  const byMeter = groupByMeter(measurements);
  let totalMeterWh = 0;
  for (const series of byMeter.values()) {
    totalMeterWh += series.at(-1)!.importWh - series[0]!.importWh - (series.at(-1)!.exportWh - series[0]!.exportWh);
  }
  const totalTruthWh = energies.reduce((s, e) => s + e.energyWh, 0);
  out.energy = { perClassTruthWh, perClassEstimateWh, totalTruthWh, totalMeterWh };
  out.metrics['energy.total_error_pct'] = errorPct(totalMeterWh, totalTruthWh);
  out.metrics['energy.fraction_assigned'] = fractionEnergyAssigned(perClassTruthWh, perClassEstimateWh);
  out.metrics['energy.assigned_accuracy'] = energyAssignedAccuracy(perClassTruthWh, perClassEstimateWh);
  out.metrics['energy.nde'] = normalisedDisaggregationError(perClassTruthWh, perClassEstimateWh);
}

/**
 * The energy the meter assigned to each class. A meter that reports it on its events (`energyWh`: what it assigned
 * to the load since the load's previous event) is taken at its word: the sum over its events. For one that does
 * not, the bench's estimate from the events alone: each identified on-event's ΔP held until the next off-event of
 * the same class (exact for loads that draw a constant power, not for a tapering or setpoint-following EV).
 */
export function meterAssignedEnergy(events: readonly MeterEventData[]): Record<string, number> {
  const perClass: Record<string, number> = {};
  const add = (cls: string, wh: number) => {
    perClass[cls] = (perClass[cls] ?? 0) + wh;
  };
  const reporting = new Set(events.filter((e) => e.energyWh !== undefined).map((e) => e.meterId));
  const open = new Map<string, MeterEventData[]>();
  const tOf = (e: MeterEventData) => e.tMeter ?? e.tObserved;
  for (const e of [...events].sort((a, b) => tOf(a) - tOf(b))) {
    if (reporting.has(e.meterId)) {
      if (e.energyWh !== undefined) add(e.class, Math.abs(e.energyWh));
      continue;
    }
    const key = `${e.meterId}|${e.class}`;
    if (e.direction === 'on') {
      const list = open.get(key) ?? [];
      list.push(e);
      open.set(key, list);
    } else {
      const on = open.get(key)?.shift();
      if (on) add(e.class, (Math.abs(on.deltaP) * (tOf(e) - tOf(on))) / 3600);
    }
  }
  return perClass;
}

function analyseMetrology(
  energies: TruthEnergyData[],
  measurements: MeasurementData[],
  reference: MeasurementData[],
  params: Record<string, unknown>,
  out: CaseAnalysis,
) {
  const midClass = parseMidClass(params.midClass ?? 'B');
  const itrA = Number(params.itrA ?? 0.5);
  const points: TestPointResult[] = [];
  const byMeter = groupByMeter(measurements);
  // With a reference meter on the circuit (a lab bench) the error is against what it measured over the same
  // window, as MID testing does; without one (the simulated rig) against the scenario's exact energy.
  const referenceByMeter = groupByMeter(reference);
  for (const e of energies) {
    if (e.class === 'base' || e.energyWh === 0) continue;
    const series = byMeter.get(e.meterId) ?? [];
    const key = e.energyWh < 0 ? 'exportWh' : 'importWh';
    const meterWh = registerAt(series, e.end, key) - registerAt(series, e.start, key);
    const refSeries = referenceByMeter.get(e.meterId);
    const referenceWh = refSeries?.length
      ? registerAt(refSeries, e.end, key) - registerAt(refSeries, e.start, key)
      : Math.abs(e.energyWh);
    const err = errorPct(meterWh, referenceWh);
    const mpe = midMaxPermissibleErrorPct(midClass, e.currentA, itrA);
    points.push({
      id: e.loadId,
      currentA: e.currentA,
      pf: e.pf,
      referenceWh,
      meterWh,
      errorPct: err,
      mpePct: mpe,
      ratio: Math.abs(err) / mpe,
    });
  }
  out.metrology = { midClass, points };
  out.metrics['metrology.max_error_pct'] = Math.max(...points.map((p) => Math.abs(p.errorPct)));
  out.metrics['metrology.max_error_ratio'] = Math.max(...points.map((p) => p.ratio));
}

/** Keeps at most TIMELINE_POINTS per meter so charts stay small whatever the run length. */
function decimate(measurements: MeasurementData[]): TimelinePoint[] {
  const byMeter = groupByMeter(measurements);
  const out: TimelinePoint[] = [];
  for (const [meterId, series] of byMeter) {
    const step = Math.max(1, Math.ceil(series.length / TIMELINE_POINTS));
    for (let i = 0; i < series.length; i += step) out.push({ meterId, t: series[i]!.t, p: series[i]!.p });
  }
  return out;
}

function groupByMeter(measurements: readonly MeasurementData[]): Map<string, MeasurementData[]> {
  const byMeter = new Map<string, MeasurementData[]>();
  for (const m of measurements) {
    const list = byMeter.get(m.meterId);
    if (list) list.push(m);
    else byMeter.set(m.meterId, [m]);
  }
  return byMeter;
}
