import { ENTRY, type MeterEventData, type TruthEventData } from '../core/record/entries.js';
import { runSteps, runStepsYielding, type Steps } from '../core/steps.js';
import { detectionAnalyser } from './analysers/detection.js';
import { energyAnalyser } from './analysers/energy.js';
import { metrologyAnalyser } from './analysers/metrology.js';
import { ocppAnalyser } from './analysers/ocpp.js';
import { phasesAnalyser } from './analysers/phases.js';
import { aspectsAnalyser } from './aspects.js';
import { billingAnalyser } from './billing.js';
import { type CaseAnalyser, type CaseAnalysis, emptyCaseAnalysis } from './case-analysis.js';
import { CaseEntries, type Entry } from './case-entries.js';

/**
 * Every analysis of a case, in the order it runs (and so the order of the metrics in a report). It is the one list:
 * certify measures cases with it and `bench report` / `bench compare` rebuild report models with it, so a
 * re-rendered report is the one certify wrote. A new analyser is added here, never passed by a caller.
 */
export const CASE_ANALYSERS: readonly CaseAnalyser[] = Object.freeze([
  detectionAnalyser,
  energyAnalyser,
  metrologyAnalyser,
  billingAnalyser,
  aspectsAnalyser,
  ocppAnalyser,
  phasesAnalyser,
]);

/**
 * Every metric the entries of one case support, with every registered analyser. Pure: the same entries always give
 * the same analysis, whoever asks (certify while measuring, report and compare from a record). Entries given as an
 * array are streamed into a CaseEntries first; certify and the report builder stream theirs as they come.
 */
export function analyseCase(entries: readonly Entry[] | CaseEntries, params: Record<string, unknown>): CaseAnalysis {
  return runSteps(analysisSteps(entries, params));
}

/** analyseCase with a turn of the event loop between its analysers; the same result. */
export function analyseCaseAsync(
  entries: readonly Entry[] | CaseEntries,
  params: Record<string, unknown>,
): Promise<CaseAnalysis> {
  return runStepsYielding(analysisSteps(entries, params));
}

/** The stages of analyseCase; each `yield` lets a caller run other work (a long case's analysis takes seconds). */
export function* analysisSteps(
  given: readonly Entry[] | CaseEntries,
  params: Record<string, unknown>,
): Steps<CaseAnalysis> {
  const entries = given instanceof CaseEntries ? given : CaseEntries.of(given, params);
  const out = emptyCaseAnalysis(
    entries.ofKind<TruthEventData>(ENTRY.truthEvent),
    entries.ofKind<MeterEventData>(ENTRY.meterEvent),
    entries.timeline(),
  );
  for (const analyse of CASE_ANALYSERS) {
    yield;
    analyse(entries, params, out);
  }
  return out;
}
