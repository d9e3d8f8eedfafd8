/**
 * Pure billing verification: compares what landed on the ledger with what the meters emitted and what the ground
 * truth expects. No I/O, so analysis/ can reuse it on data from a run record.
 *
 * Issue kinds:
 * - forged: a signature that does not recover to the record's meter (landed or observed)
 * - duplicate: the same meter and sequence (or the same record) landed more than once, or an expected session
 *   billed by more than one record
 * - out-of-sequence: a meter's landed sequence does not run 1, 2, 3, … (gap, reorder)
 * - missing: an observed or expected record that never landed
 * - rejected: an observed record the ledger refused (a submission result said so)
 * - tampered: landed content differs from what the meter emitted for that sequence
 * - unregistered / revoked / unattested: the meter's registry state
 * - payer / host / time / energy / cost / v2g-uncredited mismatch: against expectations and the recomputed tariff
 * - batch-invalid: a batch whose records cannot be rebuilt or whose proof fails
 * - evidence-mismatch: a station's record (version 3) that cites no OCMF transaction of the run, another key, or
 *   other energy or times than the station signed (a transaction billed twice is a duplicate)
 */

import { checkStationEvidence } from './verify-evidence.js';
import { checkExpectations } from './verify-expected.js';
import { IssueLog } from './verify-issues.js';
import { checkCosts, checkLanded, checkObserved, checkRegistry, checkSequences } from './verify-records.js';
import { DEFAULT_TOLERANCES, type LedgerVerification, type VerifyInput } from './verify-types.js';

export function verifyBilling(input: VerifyInput): LedgerVerification {
  const tol = { ...DEFAULT_TOLERANCES, ...input.tolerances };
  if (tol.energyPpm === undefined && (input.expected?.length ?? 0) > 0) {
    throw new Error('verifyBilling: expectations need tolerances.energyPpm (the accuracy class MPE of the meter)');
  }
  const log = new IssueLog();
  const index = checkLanded(input, log.issue);
  const meterSummary = checkSequences(input, index.byMeter, log.issue);
  checkRegistry(input, index.byMeter, log.issue);
  checkCosts(input, index.byKey, tol, log.issue);
  checkObserved(input, index, log.issue);
  checkStationEvidence(input, index.byKey, log.issue);
  const assignment = checkExpectations(input, index.byKey, index.byMeter, tol, log.issue);

  const counts = log.counts();
  counts.landed = input.landed.length;
  counts.observed = input.observed?.length ?? 0;
  counts.expected = input.expected?.length ?? 0;
  counts.verified = [...index.byKey.keys()].filter((k) => !log.flagged.has(k)).length;
  return { ok: log.issues.length === 0, counts, issues: log.issues, meters: meterSummary, assignment };
}
