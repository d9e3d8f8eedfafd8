/**
 * Billing verification against the ground truth (billing/verify.ts step 6): each expected session matched to at
 * most one landed record and each record to at most one session, then payer, host, times, energies and V2G credit
 * checked; a record left over that bills an already billed session again is a duplicate.
 */

import { maxWeightAssignment } from './assignment.js';
import { type BillingRecord, hasBands } from './billing-record.js';
import type { LandedRecord } from './landed.js';
import { abs, type IssueFn, key, safeAddress } from './verify-issues.js';
import type { ExpectationMatch, ExpectedRecord, Tolerances, VerifyInput } from './verify-types.js';

/** Per expectation, in the order given: the landed record it was matched to (seq absent when missing). */
export function checkExpectations(
  input: VerifyInput,
  byKey: ReadonlyMap<string, LandedRecord>,
  byMeter: ReadonlyMap<string, readonly LandedRecord[]>,
  tol: Tolerances,
  issue: IssueFn,
): ExpectationMatch[] {
  const energyPpm = tol.energyPpm;
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
    if (e.bandMilliWh !== undefined && hasBands(r.version)) {
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
        // An expectation without times (a station's, on its own clock) is billed again by another record for its payer.
        (e.start === undefined
          ? e.payer !== undefined && e.payer.toLowerCase() === r.payer.toLowerCase()
          : intervalsOverlap(e.start, e.end ?? e.start, r.start, r.end, tol.timeSeconds)),
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
  return assignment;
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
