import { sampleStandardDeviation } from 'simple-statistics';
import {
  ENTRY,
  type MeasurementData,
  type ReferenceStandardData,
  type TransportLatencyData,
  type TruthEnergyData,
} from '../../core/record/entries.js';
import { type CaseAnalyser, type CaseAnalysis, groupByMeter, ofKind, sortedMeasurements } from '../case-analysis.js';
import { errorPct, registerAt } from '../energy.js';
import type { TestPointResult, UncertaintyComponent } from '../metrology.js';
import { acceptedUnder, conformityStatement, parseDecisionRule } from '../standards/decision-rules.js';
import { COVERAGE_FACTOR, combinedU, rectangularU, typeAU } from '../standards/gum.js';
import { midMaxPermissibleErrorPct, parseMidClass } from '../standards/mid.js';

/** Consecutive gates a test point's window is split into for its repeatability (param `metrologyGates`). */
const DEFAULT_GATES = 5;

/**
 * Energy error at each test point against the MID maximum permissible error, with its uncertainty budget and the
 * suite's decision rule; and the no-load (creep) pulses.
 */
export const metrologyAnalyser: CaseAnalyser = (entries, params, out) => {
  const energies = ofKind<TruthEnergyData>(entries, ENTRY.truthLoadEnergy);
  if (params.metrology === true && energies.length > 0) {
    const measurements = sortedMeasurements(entries, ENTRY.meterMeasurement);
    const reference = sortedMeasurements(entries, ENTRY.referenceMeasurement);
    const standard = ofKind<ReferenceStandardData>(entries, ENTRY.referenceStandard)[0];
    const latency = ofKind<TransportLatencyData>(entries, ENTRY.transportLatency);
    analyseMetrology(energies, measurements, reference, standard, latency, params, out);
  }
  if (params.creep === true) {
    const pulses = entries.filter((e) => e.kind === ENTRY.pulse).reduce((s, e) => s + Number(e.data.count ?? 0), 0);
    out.metrics['metrology.creep_pulses'] = pulses;
    out.metrology = {
      ...(out.metrology ?? { midClass: String(params.midClass ?? 'B'), points: [] }),
      creepPulses: pulses,
    };
  }
};

function analyseMetrology(
  energies: TruthEnergyData[],
  measurements: MeasurementData[],
  reference: MeasurementData[],
  standard: ReferenceStandardData | undefined,
  latency: TransportLatencyData[],
  params: Record<string, unknown>,
  out: CaseAnalysis,
) {
  const midClass = parseMidClass(params.midClass ?? 'B');
  const itrA = Number(params.itrA ?? 0.5);
  const rule = parseDecisionRule(params.decisionRule ?? 'guarded');
  const gates = Math.max(2, Math.round(Number(params.metrologyGates ?? DEFAULT_GATES)));
  const points: TestPointResult[] = [];
  const byMeter = groupByMeter(measurements);
  // With a reference meter on the circuit (a lab bench) the error is against what it measured over the same
  // window, as MID testing does; without one (the simulated rig) against the scenario's exact energy.
  const referenceByMeter = groupByMeter(reference);
  const edgeS = gateEdgeUncertaintyS(latency, reference.length > 0);
  for (const e of energies) {
    if (e.class === 'base' || e.energyWh === 0) continue;
    const series = byMeter.get(e.meterId) ?? [];
    const key = e.energyWh < 0 ? 'exportWh' : 'importWh';
    const refSeries = referenceByMeter.get(e.meterId);
    const over = (from: number, to: number) => {
      const meterWh = registerAt(series, to, key) - registerAt(series, from, key);
      const referenceWh = refSeries?.length
        ? registerAt(refSeries, to, key) - registerAt(refSeries, from, key)
        : Math.abs(e.energyWh) * ((to - from) / (e.end - e.start));
      return { meterWh, referenceWh };
    };
    const { meterWh, referenceWh } = over(e.start, e.end);
    const err = errorPct(meterWh, referenceWh);
    const mpe = midMaxPermissibleErrorPct(midClass, e.currentA, itrA);
    const span = (e.end - e.start) / gates;
    const gateErrorsPct = Array.from({ length: gates }, (_, i) => {
      const g = over(e.start + i * span, e.start + (i + 1) * span);
      return errorPct(g.meterWh, g.referenceWh);
    });
    const budget = uncertaintyBudget(standard, gateErrorsPct, edgeS, e.end - e.start);
    const combinedPct = combinedU(budget.map((c) => c.uPct));
    const expandedPct = COVERAGE_FACTOR * combinedPct;
    points.push({
      id: e.loadId,
      currentA: e.currentA,
      pf: e.pf,
      referenceWh,
      meterWh,
      errorPct: err,
      mpePct: mpe,
      ratio: Math.abs(err) / mpe,
      gateErrorsPct,
      budget,
      combinedPct,
      expandedPct,
      coverageFactor: COVERAGE_FACTOR,
      statement: conformityStatement(err, expandedPct, mpe),
      accepted: acceptedUnder(rule, err, expandedPct, mpe),
    });
  }
  out.metrology = {
    midClass,
    points,
    decisionRule: rule,
    ...(standard && {
      reference: {
        instrument: standard.instrument,
        description: standard.description,
        ...(standard.certificate && { certificate: standard.certificate }),
        ...(standard.due && { due: standard.due }),
      },
    }),
  };
  out.metrics['metrology.max_error_pct'] = Math.max(...points.map((p) => Math.abs(p.errorPct)));
  out.metrics['metrology.max_error_ratio'] = Math.max(...points.map((p) => p.ratio));
  out.metrics['metrology.max_expanded_uncertainty_pct'] = Math.max(...points.map((p) => p.expandedPct ?? 0));
  out.metrics['metrology.points_not_accepted'] = points.filter((p) => !p.accepted).length;
  // Why, in ILAC-G8's words: beyond the MPE (a fail or conditional fail, refused by every rule), or a conditional
  // pass that guarded acceptance refuses.
  out.metrics['metrology.points_beyond_mpe'] = points.filter((p) => Math.abs(p.errorPct) > p.mpePct).length;
  out.metrics['metrology.conditional_passes_refused'] = points.filter(
    (p) => p.statement === 'conditional pass' && !p.accepted,
  ).length;
}

/**
 * The standard uncertainties of one point's error (GUM, uncorrelated, unit sensitivity): the reference standard
 * (its certificate's U/k, normal; else its class as a rectangular ±class), the repeatability of the point's gates
 * (type A: s/√n), and the timing of the window's two edges (each reading stamped within half a poll's round trip,
 * rectangular; relative to the window at constant power).
 */
function uncertaintyBudget(
  standard: ReferenceStandardData | undefined,
  gateErrorsPct: readonly number[],
  edgeS: number,
  windowS: number,
): UncertaintyComponent[] {
  const budget: UncertaintyComponent[] = [];
  if (standard?.expandedUncertaintyPct !== undefined) {
    const k = standard.coverageFactor ?? COVERAGE_FACTOR;
    budget.push({
      source: 'reference',
      uPct: standard.expandedUncertaintyPct / k,
      type: 'B',
      basis: `certificate ${standard.certificate ?? '?'}: U = ${standard.expandedUncertaintyPct} % (k = ${k})`,
    });
  } else if (standard?.accuracyClass !== undefined) {
    budget.push({
      source: 'reference',
      uPct: rectangularU(standard.accuracyClass),
      type: 'B',
      basis: `class ${standard.accuracyClass}: rectangular ±${standard.accuracyClass} %`,
    });
  }
  const finite = gateErrorsPct.filter(Number.isFinite);
  if (finite.length >= 2)
    budget.push({
      source: 'repeatability',
      uPct: typeAU(sampleStandardDeviation(finite), finite.length),
      type: 'A',
      basis: `${finite.length} consecutive gates: s/√n`,
    });
  if (edgeS > 0 && windowS > 0)
    budget.push({
      source: 'gate timing',
      uPct: (Math.SQRT2 * rectangularU(edgeS) * 100) / windowS,
      type: 'B',
      basis: `each edge within ±${(edgeS * 1000).toFixed(1)} ms (half the polls' median round trip), two edges`,
    });
  return budget;
}

/**
 * Half-width (case seconds) of when a register reading was taken: a poll is stamped at its round trip's midpoint,
 * so the meter sampled within ± half the round trip of it (a wall delay, times the case's time scale); the DUT's and
 * the reference's polls each count. 0 on the simulated rig (a virtual clock stamps exactly).
 */
function gateEdgeUncertaintyS(latency: readonly TransportLatencyData[], hasReference: boolean): number {
  const meters = latency.filter((l) => l.samples > 0 && (l.role === 'dut' || l.role === 'reference'));
  if (meters.length === 0 || !hasReference) return 0;
  const halves = meters.map((l) => (l.p50Ms / 2 / 1000) * (l.timeScale ?? 1));
  return Math.sqrt(halves.reduce((a, h) => a + h * h, 0));
}
