import { aspectsAnalyser } from './aspects.js';
import { billingAnalyser } from './billing.js';
import type { CaseAnalyser } from './case-analysis.js';

/**
 * Every analysis that plugs into `analyseCase`, in the order they run. It is the one list: certify measures cases
 * with it and `bench report` / `bench compare` rebuild report models with it, so a re-rendered report is the one
 * certify wrote. Each analyser adds only what the case's entries support (billing needs the ledger state, the
 * aspects need the meter's reports and logs), so running all of them on every case is correct for every suite.
 * A new analyser is added here, never passed by a caller.
 */
export const CASE_ANALYSERS: readonly CaseAnalyser[] = Object.freeze([billingAnalyser, aspectsAnalyser]);
