/** The data of billing verification (billing/verify.ts): its input, issues, counts and result. */
import type { BillingDomain, SignedBillingRecord } from './billing-record.js';
import type { LandedBatch, LandedRecord } from './landed.js';
import type { StationEvidence } from './station-record.js';
import type { Tariff } from './tariff.js';

export type IssueKind =
  | 'forged'
  | 'duplicate'
  | 'out-of-sequence'
  | 'missing'
  | 'rejected'
  | 'tampered'
  | 'unregistered'
  | 'revoked'
  | 'unattested'
  | 'payer-mismatch'
  | 'host-mismatch'
  | 'time-mismatch'
  | 'energy-mismatch'
  | 'cost-mismatch'
  | 'v2g-uncredited'
  | 'batch-invalid'
  | 'evidence-mismatch';

export interface VerificationIssue {
  kind: IssueKind;
  meter: string;
  seq?: string;
  message: string;
  txHash?: string;
}

/** Registry state of a meter as read at verification time. */
export interface MeterState {
  meter: string;
  status: 'Ok' | 'NotRegistered' | 'Revoked' | 'FirmwareNotAttested';
  host?: string;
  /** The meter's last landed sequence before the scanned range (a meter that billed earlier continues from it). */
  seqBefore?: string;
}

/** What the ground truth expects one record to say; any field left out is not checked. */
export interface ExpectedRecord {
  meter: string;
  /**
   * When given, matched by (meter, seq); else assigned one-to-one among the landed records of that meter (payer
   * first, then time overlap: see assignExpectations).
   */
  seq?: bigint;
  payer?: string;
  host?: string;
  start?: bigint;
  end?: bigint;
  importMilliWh?: bigint;
  exportMilliWh?: bigint;
  /** Import energy per tariff band (checked against a version-2 record's bands, each with the energy tolerance). */
  bandMilliWh?: readonly bigint[];
  /** Free text naming the expectation in reports (e.g. the truth session id). */
  label?: string;
}

export interface Tolerances {
  /** |start − expected| and |end − expected| allowed, seconds. */
  timeSeconds: bigint;
  /**
   * Allowed energy error, parts per million of the expected energy (e.g. 10_000 = 1 %)... It is the meter's accuracy
   * class MPE (analysis/standards/mid.ts), which the ledger cannot know: whoever checks energy against expectations
   * gives it; there is no default.
   */
  energyPpm?: bigint;
  /** ...but never less than this absolute error, milli-Wh. */
  energyMinMilliWh: bigint;
  /** Allowed |cost − recomputed|, micro-units. */
  costMicro: bigint;
}

export const DEFAULT_TOLERANCES: Tolerances = {
  timeSeconds: 2n,
  energyMinMilliWh: 10n,
  costMicro: 0n,
};

export interface SubmissionOutcome {
  meter: string;
  seq: bigint;
  status: 'landed' | 'already-landed' | 'rejected';
  reason?: string;
}

export interface VerifyInput {
  domain: BillingDomain;
  landed: readonly LandedRecord[];
  batches?: readonly LandedBatch[];
  /** Records the meters emitted (e.g. the run record's obs.meter.billing entries). */
  observed?: readonly SignedBillingRecord[];
  /** What the relayer was told when it submitted them. */
  submissions?: readonly SubmissionOutcome[];
  expected?: readonly ExpectedRecord[];
  meters?: readonly MeterState[];
  /** Tariff versions by number; a record naming an unknown version is a cost mismatch. */
  tariffs?: ReadonlyMap<number, Tariff>;
  tolerances?: Partial<Tolerances>;
  /**
   * The landed records cover only part of the chain (a scan resumed from a later block): each meter's sequence is
   * checked from the first record seen rather than from 1.
   */
  partialRange?: boolean;
  /**
   * The OCMF evidence of the run's station transactions (billing/station-record.ts stationEvidence): each version-3
   * record must cite one, under the key that signed it, with the energy and times it signed; no transaction billed
   * twice. Left out (no OCMF records at hand), version-3 records are checked like any other.
   */
  stationEvidence?: StationEvidence;
}

export interface VerificationCounts {
  landed: number;
  observed: number;
  expected: number;
  verified: number;
  missing: number;
  duplicates: number;
  rejected: number;
  forged: number;
  sequenceErrors: number;
  tampered: number;
  unregistered: number;
  revoked: number;
  unattested: number;
  payerMismatch: number;
  hostMismatch: number;
  timeMismatch: number;
  energyMismatch: number;
  costMismatch: number;
  v2gUncredited: number;
  batchInvalid: number;
  evidenceMismatch: number;
}

export interface LedgerVerification {
  ok: boolean;
  counts: VerificationCounts;
  issues: VerificationIssue[];
  /** Per meter: the landed sequence range. */
  meters: Array<{ meter: string; records: number; firstSeq?: string; lastSeq?: string }>;
  /** Per expectation, in the order given: the landed record it was matched to (seq absent when missing). */
  assignment: ExpectationMatch[];
}

export interface ExpectationMatch {
  label?: string;
  meter: string;
  seq?: string;
}
