import { sampleStandardDeviation } from 'simple-statistics';
import {
  ENTRY,
  type PulseData,
  type ReferenceStandardData,
  type TransportLatencyData,
  type TruthEnergyData,
} from '../../core/record/entries.js';
import type { CaseAnalyser, CaseAnalysis } from '../case-analysis.js';
import type { CaseEntries, RegisterTrack } from '../case-entries.js';
import { errorPct, registerAt } from '../energy.js';
import { pulseGates, SIM_PULSE_RESOLUTION_S } from '../error-calculator.js';
import type { TestPointResult, UncertaintyComponent } from '../metrology.js';
import { acceptedUnder, conformityStatement, parseDecisionRule } from '../standards/decision-rules.js';
import { COVERAGE_FACTOR, combinedU, rectangularU, typeAU } from '../standards/gum.js';
import {
  findMidMpe,
  type MidClass,
  midCurrentRange,
  midMaxPermissibleErrorPct,
  parseMidClass,
} from '../standards/mid.js';

/** Consecutive gates a test point's window is split into for its repeatability (param `metrologyGates`). */
const DEFAULT_GATES = 5;

/**
 * Energy error at each test point against the MID maximum permissible error, with its uncertainty budget and the
 * suite's decision rule; and the no-load (creep) pulses.
 */
export const metrologyAnalyser: CaseAnalyser = (entries, params, out) => {
  const energies = entries.ofKind<TruthEnergyData>(ENTRY.truthLoadEnergy);
  if (params.metrology === true && energies.length > 0) {
    const measurements = entries.registers(ENTRY.meterMeasurement);
    const reference = entries.registers(ENTRY.referenceMeasurement);
    const standard = entries.ofKind<ReferenceStandardData>(ENTRY.referenceStandard)[0];
    const latency = entries.ofKind<TransportLatencyData>(ENTRY.transportLatency);
    const pulses = entries.ofKind<PulseData>(ENTRY.pulse);
    analyseMetrology(energies, measurements, reference, standard, latency, pulses, params, out);
  }
  if (params.starting === true) analyseStarting(energies, entries, String(params.midClass ?? 'B'), out);
  if (params.creep === true) {
    const pulses = entries.pulses;
    out.metrics['metrology.creep_pulses'] = pulses;
    out.metrology = {
      ...(out.metrology ?? { midClass: String(params.midClass ?? 'B'), points: [] }),
      creepPulses: pulses,
    };
  }
};

function analyseMetrology(
  energies: TruthEnergyData[],
  byMeter: ReadonlyMap<string, RegisterTrack>,
  referenceByMeter: ReadonlyMap<string, RegisterTrack>,
  standard: ReferenceStandardData | undefined,
  latency: TransportLatencyData[],
  pulses: PulseData[],
  params: Record<string, unknown>,
  out: CaseAnalysis,
) {
  const errorFrom = String(params.errorFrom ?? 'auto');
  if (!['auto', 'pulses', 'registers'].includes(errorFrom))
    throw new Error(`errorFrom must be auto, pulses or registers, not ${errorFrom}`);
  const midClass = parseMidClass(params.midClass ?? 'B');
  const itrA = Number(params.itrA ?? 0.5);
  const rule = parseDecisionRule(params.decisionRule ?? 'guarded');
  const gates = Math.max(2, Math.round(Number(params.metrologyGates ?? DEFAULT_GATES)));
  const points: TestPointResult[] = [];
  // With a reference meter on the circuit (a lab bench) the error is against what it measured over the same
  // window, as MID testing does; without one (the simulated rig) against the scenario's exact energy.
  const hasReference = referenceByMeter.size > 0;
  const edgeS = gateEdgeUncertaintyS(latency, hasReference);
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
    const mpe = pointMpePct(midClass, e, itrA);
    // From the pulse output when the DUT's pulses and constant are recorded (param errorFrom: auto, the default, or
    // pulses), else from its registers over the load's run (errorFrom: registers, or too few pulses at low current).
    const dutPulses = pulses.filter((p) => (p.meterId ?? p.channel.split('/')[0]) === e.meterId && p.impPerKWh);
    // auto takes host-received edges only in real time: at --time-scale N a few ms of USB and OS delay become N times
    // as many case seconds (measured on sim-serial at 60: pulse errors to -0.39 % with 0.33 % repeatability, where
    // the registers read within 0.16 %).
    const edgesUsable =
      errorFrom === 'pulses' || dutPulses[0]?.timeSource !== 'host-receive' || caseTimeScale(latency) <= 1;
    const calc =
      errorFrom !== 'registers' && dutPulses.length && edgesUsable
        ? pulseGates(dutPulses, e.start, e.end, dutPulses[0]!.impPerKWh!, gates)
        : undefined;
    const refOver = (from: number, to: number) => over(from, to).referenceWh;
    let meterWh: number;
    let referenceWh: number;
    let gateErrorsPct: number[];
    let windowS: number;
    let edge = edgeS;
    let edgeBasis = "half the polls' median round trip";
    if (calc) {
      meterWh = calc.whole.meterWh;
      referenceWh = refOver(calc.whole.t0, calc.whole.t1);
      gateErrorsPct = calc.gates.map((g) => errorPct(g.meterWh, refOver(g.t0, g.t1)));
      windowS = calc.whole.t1 - calc.whole.t0;
      // The pulse edges' times: exact to the meter's cycle on a simulated rig, host-received through a board
      // otherwise (late by at least the report's wire time, scaled to case time); the reference's polls as before.
      const p = dutPulses[0]!;
      const pulseEdgeS =
        p.timeSource === 'host-receive'
          ? ((p.minDelayMs ?? 0) / 1000) * caseTimeScale(latency)
          : SIM_PULSE_RESOLUTION_S / 2;
      edge = Math.hypot(pulseEdgeS, referenceEdgeS(latency, hasReference));
      edgeBasis =
        p.timeSource === 'host-receive'
          ? "pulse edges host-received, late by at least their report's wire time; the reference's polls"
          : "pulse edges stamped within the meter's mains cycle";
    } else {
      ({ meterWh, referenceWh } = over(e.start, e.end));
      windowS = e.end - e.start;
      const span = windowS / gates;
      gateErrorsPct = Array.from({ length: gates }, (_, i) => {
        const g = over(e.start + i * span, e.start + (i + 1) * span);
        return errorPct(g.meterWh, g.referenceWh);
      });
    }
    const err = errorPct(meterWh, referenceWh);
    const budget = uncertaintyBudget(standard, gateErrorsPct, edge, windowS, edgeBasis);
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
      source: calc ? 'pulses' : 'registers',
      ...(calc && { gate: { t0: calc.whole.t0, t1: calc.whole.t1, pulses: calc.whole.pulses } }),
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
  if (typeof params.referencePoint === 'string') errorShifts(points, params.referencePoint, out);
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
 * The MPE of a point (MI-003 Table 2): a polyphase meter with a single-phase load (a three-phase supply, the point
 * on one phase) has its own row, defined from Itr up; every other point the single-phase (or balanced) row.
 */
function pointMpePct(midClass: MidClass, e: TruthEnergyData, itrA: number): number {
  const singlePhaseLoad = e.phases !== undefined && e.phases !== 'L1L2L3';
  if (!singlePhaseLoad) return midMaxPermissibleErrorPct(midClass, e.currentA, itrA);
  const current = midCurrentRange(e.currentA, itrA);
  const cell = findMidMpe({ midClass, current, load: 'polyphase-single-phase-load' });
  if (!cell)
    throw new Error(
      `MI-003 Table 2 has no MPE for a polyphase meter with a single-phase load below Itr (point ${e.loadId} at ${e.currentA.toFixed(3)} A)`,
    );
  return cell.mpePct;
}

/**
 * How far a disturbance moved the error (MI-003 Table 3's critical change): each point's error against the
 * reference point's, the same current and power factor without the disturbance.
 */
function errorShifts(points: TestPointResult[], referenceId: string, out: CaseAnalysis) {
  const reference = points.find((p) => p.id === referenceId);
  if (!reference) throw new Error(`the reference point ${referenceId} of the disturbance test did not run`);
  const shifts = points
    .filter((p) => p !== reference)
    .map((p) => ({ id: p.id, referenceId, shiftPct: Math.abs(p.errorPct - reference.errorPct) }));
  out.metrology!.shifts = shifts;
  out.metrics['metrology.max_error_shift_pct'] = Math.max(0, ...shifts.map((s) => s.shiftPct));
}

/**
 * The starting test (MI-003 §5.5): at Ist the meter starts and continues to register. The run at Ist is split in
 * two halves, each long enough for more than one pulse; a half in which the meter registered nothing (no pulse
 * from its test output, or no energy in its registers when it has none) is a gap.
 */
function analyseStarting(energies: TruthEnergyData[], entries: CaseEntries, midClass: string, out: CaseAnalysis) {
  const run = energies.find((e) => e.class !== 'base' && e.energyWh > 0);
  if (!run) throw new Error('the starting test has no load run at Ist');
  const series = entries.registers(ENTRY.meterMeasurement).get(run.meterId) ?? [];
  const pulses = entries
    .ofKind<PulseData>(ENTRY.pulse)
    .filter((p) => (p.meterId ?? p.channel.split('/')[0]) === run.meterId);
  const mid = (run.start + run.end) / 2;
  const halves = [
    [run.start, mid],
    [mid, run.end],
  ].map(([from, to]) => {
    const registeredWh = registerAt(series, to!, 'importWh') - registerAt(series, from!, 'importWh');
    const count = pulses.filter((p) => p.t > from! && p.t <= to!).reduce((s, p) => s + p.count, 0);
    return { from: from!, to: to!, registeredWh, pulses: count };
  });
  const fromPulses = pulses.length > 0;
  const gaps = halves.filter((h) => (fromPulses ? h.pulses === 0 : h.registeredWh <= 0)).length;
  out.metrics['metrology.starting_gaps'] = gaps;
  out.metrology = {
    ...(out.metrology ?? { midClass, points: [] }),
    starting: { currentA: run.currentA, source: fromPulses ? 'pulses' : 'registers', halves, gaps },
  };
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
  edgeBasis: string,
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
      basis: `each edge within ±${(edgeS * 1000).toFixed(1)} ms (${edgeBasis}), two edges`,
    });
  return budget;
}

/**
 * Half-width (case seconds) of when a register reading was taken: a poll is stamped at its round trip's midpoint,
 * so the meter sampled within ± half the round trip of it (a wall delay, times the case's time scale); the DUT's and
 * the reference's polls each count. 0 on the simulated rig (a virtual clock stamps exactly).
 */
function gateEdgeUncertaintyS(latency: readonly TransportLatencyData[], hasReference: boolean): number {
  if (!hasReference) return 0;
  return Math.hypot(...pollHalfWidthsS(latency, ['dut', 'reference']));
}

/** The reference's share of a pulse gate's edge timing: its polls, as above (0 without a reference meter). */
function referenceEdgeS(latency: readonly TransportLatencyData[], hasReference: boolean): number {
  return hasReference ? Math.hypot(...pollHalfWidthsS(latency, ['reference'])) : 0;
}

function pollHalfWidthsS(latency: readonly TransportLatencyData[], roles: readonly string[]): number[] {
  return latency
    .filter((l) => l.samples > 0 && roles.includes(l.role ?? ''))
    .map((l) => (l.p50Ms / 2 / 1000) * (l.timeScale ?? 1));
}

/** The case's time scale (scenario seconds per wall second), from its latency entries; 1 when none say. */
function caseTimeScale(latency: readonly TransportLatencyData[]): number {
  return latency.find((l) => l.timeScale !== undefined)?.timeScale ?? 1;
}
