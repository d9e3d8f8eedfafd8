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
 */
import { getAddress } from 'ethers';
import { maxWeightAssignment } from './assignment.js';
import {
  type BillingBatch,
  type BillingDomain,
  type BillingRecord,
  billingRecordHash,
  recoverBatchSigner,
  type SignedBillingRecord,
  tryRecoverBillingSigner,
} from './billing-record.js';
import type { LandedBatch, LandedRecord } from './landed.js';
import { verifyMerkleProof } from './merkle.js';
import { bandEnergyProblem, computeCostMicro, type Tariff } from './tariff.js';

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
  | 'batch-invalid';

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

const COUNT_OF: Record<IssueKind, keyof VerificationCounts> = {
  forged: 'forged',
  duplicate: 'duplicates',
  'out-of-sequence': 'sequenceErrors',
  missing: 'missing',
  rejected: 'rejected',
  tampered: 'tampered',
  unregistered: 'unregistered',
  revoked: 'revoked',
  unattested: 'unattested',
  'payer-mismatch': 'payerMismatch',
  'host-mismatch': 'hostMismatch',
  'time-mismatch': 'timeMismatch',
  'energy-mismatch': 'energyMismatch',
  'cost-mismatch': 'costMismatch',
  'v2g-uncredited': 'v2gUncredited',
  'batch-invalid': 'batchInvalid',
};

const key = (meter: string, seq: bigint) => `${meter.toLowerCase()}#${seq}`;
const abs = (n: bigint) => (n < 0n ? -n : n);

export function verifyBilling(input: VerifyInput): LedgerVerification {
  const tol = { ...DEFAULT_TOLERANCES, ...input.tolerances };
  const energyPpm = tol.energyPpm;
  if (energyPpm === undefined && (input.expected?.length ?? 0) > 0) {
    throw new Error('verifyBilling: expectations need tolerances.energyPpm (the accuracy class MPE of the meter)');
  }
  const issues: VerificationIssue[] = [];
  const flagged = new Set<string>();
  const issue = (kind: IssueKind, meter: string, seq: bigint | undefined, message: string, txHash?: string) => {
    issues.push({ kind, meter: safeAddress(meter), seq: seq?.toString(), message, txHash });
    if (seq !== undefined) flagged.add(key(meter, seq));
  };

  // Batches that could not be rebuilt.
  for (const b of input.batches ?? []) {
    if (b.problem) issue('batch-invalid', b.meter, b.firstSeq, b.problem, b.txHash);
  }

  // 1. Every landed record: signature, duplicates.
  const hashes = new Map<BillingRecord, string>();
  const hashOf = (r: BillingRecord) => {
    let h = hashes.get(r);
    if (!h) {
      h = billingRecordHash(r);
      hashes.set(r, h);
    }
    return h;
  };
  const landedGenuine = new Map<LandedRecord, boolean>();
  const byKey = new Map<string, LandedRecord>();
  const byHash = new Set<string>();
  const byMeter = new Map<string, LandedRecord[]>();
  const batchSignerOk = new Map<string, boolean>();
  for (const l of input.landed) {
    const r = l.record;
    const k = key(r.meter, r.seq);
    const h = hashOf(r);
    const genuine = signatureValid(input.domain, l, batchSignerOk, h);
    landedGenuine.set(l, genuine);
    if (!genuine) {
      issue('forged', r.meter, r.seq, 'the signature on the ledger does not recover to the meter', l.txHash);
    }
    if (byKey.has(k) || byHash.has(h)) {
      issue('duplicate', r.meter, r.seq, `sequence ${r.seq} landed more than once`, l.txHash);
      continue;
    }
    byKey.set(k, l);
    byHash.add(h);
    const list = byMeter.get(r.meter.toLowerCase()) ?? [];
    list.push(l);
    byMeter.set(r.meter.toLowerCase(), list);
  }

  // 2. Per-meter sequence: 1, 2, 3, … in chain order.
  const meterSummary: LedgerVerification['meters'] = [];
  for (const [m, list] of byMeter) {
    const before = input.meters?.find((s) => s.meter.toLowerCase() === m)?.seqBefore;
    let expected = input.partialRange && list[0] ? list[0].record.seq : before !== undefined ? BigInt(before) + 1n : 1n;
    for (const l of list) {
      if (l.record.seq !== expected) {
        issue(
          'out-of-sequence',
          m,
          l.record.seq,
          l.record.seq > expected
            ? `sequence gap: expected ${expected}, got ${l.record.seq}`
            : `sequence reordered: expected ${expected}, got ${l.record.seq}`,
          l.txHash,
        );
      }
      expected = (l.record.seq > expected ? l.record.seq : expected) + 1n;
    }
    meterSummary.push({
      meter: safeAddress(m),
      records: list.length,
      firstSeq: list[0]?.record.seq.toString(),
      lastSeq: list.at(-1)?.record.seq.toString(),
    });
  }

  // 3. Registry state of every meter seen.
  const meterStates = new Map((input.meters ?? []).map((s) => [s.meter.toLowerCase(), s]));
  const seenMeters = new Set([...byMeter.keys(), ...(input.observed ?? []).map((o) => o.record.meter.toLowerCase())]);
  for (const m of seenMeters) {
    const s = meterStates.get(m);
    if (!s) continue;
    if (s.status === 'NotRegistered') issue('unregistered', m, undefined, 'the meter is not in the registry');
    if (s.status === 'Revoked') issue('revoked', m, undefined, 'the meter is revoked');
    if (s.status === 'FirmwareNotAttested') issue('unattested', m, undefined, "the meter's firmware is not attested");
    if (s.host) {
      for (const l of byMeter.get(m) ?? []) {
        if (l.record.host.toLowerCase() !== s.host.toLowerCase()) {
          issue('host-mismatch', m, l.record.seq, 'host differs from the host registered for the meter', l.txHash);
        }
      }
    }
  }

  // 4. Costs recomputed from the tariff the record names.
  if (input.tariffs) {
    for (const l of byKey.values()) {
      const r = l.record;
      const t = input.tariffs.get(Number(r.tariffVersion));
      if (!t) {
        issue('cost-mismatch', r.meter, r.seq, `tariff version ${r.tariffVersion} is not in the registry`, l.txHash);
        continue;
      }
      // A version-2 cost is priced from the band energies, so they must be whole: one per band, adding up to the
      // import energy the record states.
      const bandProblem = r.version === 2 ? bandEnergyProblem(t, r.bandMilliWh, r.importMilliWh) : undefined;
      if (bandProblem) {
        issue('energy-mismatch', r.meter, r.seq, `band energies: ${bandProblem}`, l.txHash);
        continue;
      }
      let want: bigint;
      try {
        want = computeCostMicro(t, r);
      } catch (e) {
        issue('cost-mismatch', r.meter, r.seq, `cost cannot be recomputed: ${(e as Error).message}`, l.txHash);
        continue;
      }
      if (abs(want - r.costMicro) > tol.costMicro) {
        issue(
          'cost-mismatch',
          r.meter,
          r.seq,
          `cost ${r.costMicro}, tariff v${r.tariffVersion} gives ${want}`,
          l.txHash,
        );
      }
    }
  }

  // 5. Observed (emitted) records: signature, landed, identical.
  const rejectedReason = new Map<string, string>();
  for (const s of input.submissions ?? []) {
    if (s.status === 'rejected') rejectedReason.set(key(s.meter, s.seq), s.reason ?? 'refused');
  }
  const observedKeys = new Set<string>();
  for (const o of input.observed ?? []) {
    const r = o.record;
    const k = key(r.meter, r.seq);
    const landed = byKey.get(k);
    const sameAsLanded =
      landed?.signature !== undefined && landed.signature === o.signature && hashOf(landed.record) === hashOf(r);
    let genuine: boolean;
    if (sameAsLanded) genuine = landedGenuine.get(landed!) ?? false;
    else {
      const signer = tryRecoverBillingSigner(input.domain, r, o.signature);
      genuine = signer !== undefined && signer.toLowerCase() === r.meter.toLowerCase();
    }
    if (observedKeys.has(k)) {
      // The meter emitted the same sequence again (e.g. a resend): a duplicate only if the content differs.
      const first = (input.observed ?? []).find((x) => key(x.record.meter, x.record.seq) === k)!;
      if (hashOf(first.record) !== hashOf(r)) {
        issue('duplicate', r.meter, r.seq, 'the meter emitted two different records with the same sequence');
      }
      continue;
    }
    observedKeys.add(k);
    if (!genuine) issue('forged', r.meter, r.seq, "the emitted record's signature does not recover to the meter");
    if (!landed) {
      const why = rejectedReason.get(k);
      if (why) issue('rejected', r.meter, r.seq, `the ledger refused the record: ${why}`);
      issue('missing', r.meter, r.seq, 'an emitted record is not on the ledger');
      continue;
    }
    if (hashOf(landed.record) !== hashOf(r)) {
      issue(
        'tampered',
        r.meter,
        r.seq,
        'the record on the ledger differs from the one the meter emitted',
        landed.txHash,
      );
    }
  }

  // 6. Expectations (ground truth), each matched to at most one landed record and each record to at most one
  // expectation (assignExpectations): two sessions at once on one meter are two records, not one session billed
  // twice and another missing.
  const assigned = assignExpectations(input.expected ?? [], byKey, byMeter, tol.timeSeconds);
  const assignment: ExpectationMatch[] = [];
  for (const [i, e] of (input.expected ?? []).entries()) {
    const label = e.label ? ` (${e.label})` : '';
    const l = assigned[i];
    assignment.push({ label: e.label, meter: safeAddress(e.meter), seq: l?.record.seq.toString() });
    if (!l) {
      issue('missing', e.meter, e.seq, `an expected record${label} is not on the ledger`);
      continue;
    }
    const r = l.record;
    if (e.payer !== undefined && e.payer.toLowerCase() !== r.payer.toLowerCase()) {
      issue('payer-mismatch', r.meter, r.seq, `billed to the wrong payer${label}`, l.txHash);
    }
    if (e.host !== undefined && e.host.toLowerCase() !== r.host.toLowerCase()) {
      issue('host-mismatch', r.meter, r.seq, `wrong host${label}`, l.txHash);
    }
    const timeBad =
      (e.start !== undefined && abs(r.start - e.start) > tol.timeSeconds) ||
      (e.end !== undefined && abs(r.end - e.end) > tol.timeSeconds);
    if (timeBad) {
      issue(
        'time-mismatch',
        r.meter,
        r.seq,
        `start/end ${r.start}–${r.end}, expected ${e.start}–${e.end}${label}`,
        l.txHash,
      );
    }
    const energyBad = (got: bigint, want: bigint | undefined) => {
      if (want === undefined) return false;
      const allowed = (want * energyPpm!) / 1_000_000n;
      return abs(got - want) > (allowed > tol.energyMinMilliWh ? allowed : tol.energyMinMilliWh);
    };
    if (energyBad(r.importMilliWh, e.importMilliWh) || energyBad(r.exportMilliWh, e.exportMilliWh)) {
      issue(
        'energy-mismatch',
        r.meter,
        r.seq,
        `energy import ${r.importMilliWh} export ${r.exportMilliWh} mWh, expected ${e.importMilliWh ?? '-'} / ${e.exportMilliWh ?? '-'}${label}`,
        l.txHash,
      );
    }
    if (e.bandMilliWh !== undefined && r.version === 2) {
      const total = e.bandMilliWh.reduce((a, b) => a + b, 0n);
      const allowed = (total * energyPpm!) / 1_000_000n;
      const limit = allowed > tol.energyMinMilliWh ? allowed : tol.energyMinMilliWh;
      const n = Math.max(e.bandMilliWh.length, r.bandMilliWh.length);
      const off = [...Array(n).keys()].filter((b) => abs((r.bandMilliWh[b] ?? 0n) - (e.bandMilliWh![b] ?? 0n)) > limit);
      if (off.length > 0) {
        issue(
          'energy-mismatch',
          r.meter,
          r.seq,
          `energy per tariff band ${r.bandMilliWh.join('/')} mWh, expected ${e.bandMilliWh.join('/')}${label}`,
          l.txHash,
        );
      }
    }
    if ((e.exportMilliWh ?? 0n) > 0n && r.exportMilliWh === 0n) {
      issue('v2g-uncredited', r.meter, r.seq, `exported energy not credited${label}`, l.txHash);
    }
  }
  // A session billed by more than one record: a record left over by the assignment that overlaps, at its meter,
  // the time of an expectation already billed by another record (each copy under its own sequence number, so the
  // ledger cannot see it). A record that overlaps no expected session is not a duplicate of one.
  const billedBy = new Map<LandedRecord, number>();
  for (const [i, l] of assigned.entries()) if (l) billedBy.set(l, i);
  for (const l of byKey.values()) {
    if (billedBy.has(l)) continue;
    const r = l.record;
    const twin = (input.expected ?? []).findIndex(
      (e, i) =>
        assigned[i] !== undefined &&
        e.meter.toLowerCase() === r.meter.toLowerCase() &&
        e.start !== undefined &&
        intervalsOverlap(e.start, e.end ?? e.start, r.start, r.end, tol.timeSeconds),
    );
    if (twin < 0) continue;
    const e = input.expected![twin]!;
    issue(
      'duplicate',
      r.meter,
      r.seq,
      `bills session ${e.label ?? `#${twin + 1}`} again (already billed by sequence ${assigned[twin]!.record.seq})`,
      l.txHash,
    );
  }

  const counts = Object.fromEntries(Object.values(COUNT_OF).map((k) => [k, 0])) as unknown as VerificationCounts;
  for (const i of issues) counts[COUNT_OF[i.kind]]++;
  counts.landed = input.landed.length;
  counts.observed = input.observed?.length ?? 0;
  counts.expected = input.expected?.length ?? 0;
  counts.verified = [...byKey.keys()].filter((k) => !flagged.has(k)).length;
  return { ok: issues.length === 0, counts, issues, meters: meterSummary, assignment };
}

/** Whether [aStart, aEnd] and [bStart, bEnd], each widened by `tol` seconds on both sides, share some time. */
function intervalsOverlap(aStart: bigint, aEnd: bigint, bStart: bigint, bEnd: bigint, tol: bigint): boolean {
  return aStart - tol < bEnd + tol && bStart - tol < aEnd + tol;
}

/**
 * How well a record's times fit an expectation's, in (0, 1]: above 1/2 when the two intervals (widened by the time
 * tolerance) overlap, growing with overlap ÷ union (1 for the same times); below 1/2 and falling with the gap when
 * they do not, so a record whose clock is far off still pairs with its session (and is reported as a time mismatch)
 * when nothing fits better. 1/2 when the expectation gives no time.
 */
function timeFit(e: ExpectedRecord, r: BillingRecord, tol: bigint): number {
  if (e.start === undefined) return 0.5;
  const t = Number(tol);
  const aS = Number(e.start) - t;
  const aE = Number(e.end ?? e.start) + t;
  const bS = Number(r.start) - t;
  const bE = Number(r.end) + t;
  const overlap = Math.min(aE, bE) - Math.max(aS, bS);
  if (overlap > 0) return 0.5 + (0.5 * overlap) / (Math.max(aE, bE) - Math.min(aS, bS));
  return 0.5 / (1 - overlap);
}

/**
 * The landed record each expectation is matched to (undefined: missing). An expectation naming its sequence takes
 * that record. The others are assigned one-to-one, meter by meter, by a maximum-weight bipartite matching: only
 * records of the expectation's meter qualify (a hard constraint); among them the payer decides first (its weight
 * exceeds what all time fits together can add, so no assignment trades a right payer for better times) and the
 * time fit second. Matching to the nearest start instead gave two sessions charging at once on one meter the same
 * record, or the neighbour's record, with one of them then reported missing and the other billed twice.
 */
function assignExpectations(
  expected: readonly ExpectedRecord[],
  byKey: ReadonlyMap<string, LandedRecord>,
  byMeter: ReadonlyMap<string, readonly LandedRecord[]>,
  tol: bigint,
): Array<LandedRecord | undefined> {
  const out = new Array<LandedRecord | undefined>(expected.length).fill(undefined);
  const taken = new Set<LandedRecord>();
  for (const [i, e] of expected.entries()) {
    if (e.seq === undefined) continue;
    const l = byKey.get(key(e.meter, e.seq));
    if (l && !taken.has(l)) {
      out[i] = l;
      taken.add(l);
    }
  }
  const groups = new Map<string, number[]>();
  for (const [i, e] of expected.entries()) {
    if (e.seq !== undefined) continue;
    const m = e.meter.toLowerCase();
    groups.set(m, [...(groups.get(m) ?? []), i]);
  }
  for (const [m, rows] of groups) {
    const cols = (byMeter.get(m) ?? []).filter((l) => !taken.has(l));
    const payerWeight = Math.min(rows.length, cols.length) + 1;
    const pick = maxWeightAssignment(rows.length, cols.length, (ri, ci) => {
      const e = expected[rows[ri]!]!;
      const r = cols[ci]!.record;
      const payerOk = e.payer !== undefined && e.payer.toLowerCase() === r.payer.toLowerCase();
      return (payerOk ? payerWeight : 0) + timeFit(e, r, tol);
    });
    for (const [ri, ci] of pick.entries()) if (ci >= 0) out[rows[ri]!] = cols[ci];
  }
  return out;
}

function signatureValid(domain: BillingDomain, l: LandedRecord, cache: Map<string, boolean>, leaf: string): boolean {
  const r = l.record;
  if (l.batch) {
    const b = l.batch;
    const cacheKey = `${b.root}:${b.signature}`;
    let ok = cache.get(cacheKey);
    if (ok === undefined) {
      const batch: BillingBatch = { meter: r.meter, firstSeq: b.firstSeq, count: BigInt(b.count), root: b.root };
      try {
        ok = recoverBatchSigner(domain, batch, b.signature).toLowerCase() === r.meter.toLowerCase();
      } catch {
        ok = false;
      }
      cache.set(cacheKey, ok);
    }
    return ok && verifyMerkleProof(leaf, b.proof, b.root);
  }
  if (!l.signature) return false;
  const signer = tryRecoverBillingSigner(domain, r, l.signature);
  return signer !== undefined && signer.toLowerCase() === r.meter.toLowerCase();
}

function safeAddress(a: string): string {
  try {
    return getAddress(a);
  } catch {
    return a;
  }
}

export type { BillingRecord };
