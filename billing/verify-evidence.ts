/** Billing verification, step 7: a station's records (version 3) against the OCMF the station signed. */
import { RECORD_VERSION_STATION } from './billing-record.js';
import type { LandedRecord } from './landed.js';
import { stationBillingRecord } from './station-record.js';
import { abs, type IssueFn } from './verify-issues.js';
import type { VerifyInput } from './verify-types.js';

/** Milli-watt-hours the record's energy may differ from the signed readings' (their rounding to whole mWh). */
const ROUNDING_MILLIWH = 1n;

export function checkStationEvidence(
  input: VerifyInput,
  byKey: ReadonlyMap<string, LandedRecord>,
  issue: IssueFn,
): void {
  const evidence = input.stationEvidence;
  if (!evidence) return;
  const billedBy = new Map<string, LandedRecord>();
  for (const l of byKey.values()) {
    const r = l.record;
    if (r.version !== RECORD_VERSION_STATION || !r.ocmfHash) continue;
    const digest = r.ocmfHash.toLowerCase();
    const e = evidence.get(digest);
    if (!e) {
      issue(
        'evidence-mismatch',
        r.meter,
        r.seq,
        `cites OCMF digest ${digest}, which no verified transaction of the run has`,
        l.txHash,
      );
      continue;
    }
    const first = billedBy.get(digest);
    if (first) {
      issue(
        'duplicate',
        r.meter,
        r.seq,
        `bills transaction ${e.transactionId} of ${e.station} again (first as #${first.record.seq})`,
        l.txHash,
      );
      continue;
    }
    billedBy.set(digest, l);
    const problems: string[] = [];
    if (r.stationKey?.toLowerCase() !== e.keyFingerprint.toLowerCase())
      problems.push(`names station key ${r.stationKey}, the records are signed under ${e.keyFingerprint}`);
    const signedMilliWh = BigInt(Math.round((e.end.wh - e.begin.wh) * 1000));
    if (abs(r.importMilliWh - signedMilliWh) > ROUNDING_MILLIWH)
      problems.push(`bills ${r.importMilliWh} mWh, the station signed ${signedMilliWh} mWh`);
    if (r.start !== BigInt(Math.round(e.begin.unix)) || r.end !== BigInt(Math.round(e.end.unix)))
      problems.push(
        `runs ${r.start}–${r.end}, the signed readings ${Math.round(e.begin.unix)}–${Math.round(e.end.unix)}`,
      );
    // The band split: the station's own register readings at the tariff's changes, by the station's clock.
    const tariff = input.tariffs?.get(Number(r.tariffVersion));
    if (tariff) {
      let want: bigint[] | undefined;
      try {
        want = stationBillingRecord({
          ...r,
          tariff,
          tariffVersion: Number(r.tariffVersion),
          evidence: e,
          registers: e.registers,
        }).bandMilliWh;
      } catch {
        want = undefined;
      }
      if (want && want.join('/') !== r.bandMilliWh.join('/'))
        problems.push(
          `splits ${r.bandMilliWh.join('/')} mWh over the bands, the station's readings give ${want.join('/')}`,
        );
    }
    for (const p of problems)
      issue('evidence-mismatch', r.meter, r.seq, `transaction ${e.transactionId} of ${e.station}: ${p}`, l.txHash);
  }
}
