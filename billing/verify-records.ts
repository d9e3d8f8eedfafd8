/**
 * Billing verification, record by record (billing/verify.ts steps 1–5): signatures and duplicates of what landed,
 * each meter's sequence, the registry state, costs recomputed from the tariff, and what the meters emitted.
 */
import type { BillingBatch, BillingDomain, BillingRecord } from './billing-record.js';
import { billingRecordHash, hasBands, recoverBatchSigner, tryRecoverBillingSigner } from './billing-record.js';
import type { LandedRecord } from './landed.js';
import { verifyMerkleProof } from './merkle.js';
import { bandEnergyProblem, computeCostMicro } from './tariff.js';
import { abs, type IssueFn, key, safeAddress } from './verify-issues.js';
import type { LedgerVerification, Tolerances, VerifyInput } from './verify-types.js';

/** The landed records once each: by (meter, sequence) in chain order and per meter, with their signature checks. */
export interface LandedIndex {
  byKey: Map<string, LandedRecord>;
  byMeter: Map<string, LandedRecord[]>;
  landedGenuine: Map<LandedRecord, boolean>;
  /** EIP-712 struct hash of a record, computed once per record object. */
  hashOf: (r: BillingRecord) => string;
}

/** Batches that could not be rebuilt; every landed record's signature; records that landed more than once. */
export function checkLanded(input: VerifyInput, issue: IssueFn): LandedIndex {
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
  return { byKey, byMeter, landedGenuine, hashOf };
}

/** Each meter's landed sequence runs 1, 2, 3, … in chain order; the per-meter summary. */
export function checkSequences(
  input: VerifyInput,
  byMeter: ReadonlyMap<string, readonly LandedRecord[]>,
  issue: IssueFn,
): LedgerVerification['meters'] {
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
  return meterSummary;
}

/** The registry state of every meter seen (landed or emitted). */
export function checkRegistry(
  input: VerifyInput,
  byMeter: ReadonlyMap<string, readonly LandedRecord[]>,
  issue: IssueFn,
): void {
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
}

/** Costs recomputed from the tariff version each record names. */
export function checkCosts(
  input: VerifyInput,
  byKey: ReadonlyMap<string, LandedRecord>,
  tol: Tolerances,
  issue: IssueFn,
): void {
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
      const bandProblem = hasBands(r.version) ? bandEnergyProblem(t, r.bandMilliWh, r.importMilliWh) : undefined;
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
}

/** The records the meters emitted: genuine, landed, and landed as emitted. */
export function checkObserved(input: VerifyInput, index: LandedIndex, issue: IssueFn): void {
  const { byKey, landedGenuine, hashOf } = index;
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
