/**
 * A charging station's transaction as a billing record (version 3): the bench, as the station's central system,
 * bills what the station signed (OCMF begin and end), names the station key and the OCMF digest in the record, and
 * signs it with its own key for that station. Whoever verifies the ledger with the run's OCMF records recomputes the
 * evidence here (stationEvidence) and checks each record against it.
 */
import { type OcmfEvidence, ocmfEvidence } from '../protocols/ocmf.js';
import { type BillingRecord, loadClassId, RECORD_VERSION_STATION } from './billing-record.js';
import { bandAt, bandChanges, computeCostMicro, milliWhPerBand, type Tariff } from './tariff.js';

/** The load class a station's record names: the station metered an EV; no signature identified it. */
export const STATION_LOAD_CLASS = 'ev-at-station';

export interface StationRecordInput {
  /** The bench's signing address for this station (registered on the ledger like a meter). */
  meter: string;
  seq: bigint;
  payer: string;
  host: string;
  tariff: Tariff;
  tariffVersion: number;
  evidence: OcmfEvidence;
  /**
   * The station's register readings during the transaction (unix seconds of its clock, Wh), signed or not: where a
   * tariff band changes inside the transaction, the register there is interpolated from the readings around it.
   * The total is always the signed end minus the signed begin.
   */
  registers: ReadonlyArray<{ unix: number; wh: number }>;
}

export function stationBillingRecord(i: StationRecordInput): BillingRecord {
  const { begin, end } = i.evidence;
  const start = BigInt(Math.round(begin.unix));
  const stop = BigInt(Math.max(Math.round(begin.unix), Math.round(end.unix)));
  const bandWh = new Array<number>(i.tariff.bandPrices.length).fill(0);
  const at = registerAt(begin, end, i.registers);
  let fromT = begin.unix;
  let band = bandAt(i.tariff, start);
  for (const change of bandChanges(i.tariff, start, stop)) {
    const t = Number(change.at);
    bandWh[band]! += at(t) - at(fromT);
    fromT = t;
    band = change.band;
  }
  bandWh[band]! += at(end.unix) - at(fromT);
  const bandMilliWh = milliWhPerBand(bandWh);
  const energy = {
    start,
    end: stop,
    importMilliWh: bandMilliWh.reduce((a, b) => a + b, 0n),
    exportMilliWh: 0n,
    version: RECORD_VERSION_STATION,
    bandMilliWh,
  };
  return {
    meter: i.meter,
    seq: i.seq,
    payer: i.payer,
    host: i.host,
    ...energy,
    costMicro: computeCostMicro(i.tariff, energy),
    tariffVersion: BigInt(i.tariffVersion),
    loadClass: loadClassId(STATION_LOAD_CLASS),
    attributed: true,
    stationKey: i.evidence.keyFingerprint,
    ocmfHash: i.evidence.digest,
  };
}

/**
 * The register at a time inside [begin, end]: linear between the readings around it, held within the signed
 * begin and end and never going back (an unsigned reading off the signed ones cannot move energy out of the total).
 */
function registerAt(
  begin: OcmfEvidence['begin'],
  end: OcmfEvidence['end'],
  readings: StationRecordInput['registers'],
): (t: number) => number {
  const points = [begin, ...readings.filter((r) => r.unix > begin.unix && r.unix < end.unix), end]
    .map((r) => ({ unix: r.unix, wh: r.wh }))
    .sort((a, b) => a.unix - b.unix);
  let high = begin.wh;
  for (const p of points) {
    p.wh = Math.min(end.wh, Math.max(high, p.wh));
    high = p.wh;
  }
  return (t) => {
    if (t <= begin.unix) return begin.wh;
    if (t >= end.unix) return end.wh;
    const k = points.findIndex((p) => p.unix >= t);
    const a = points[k - 1]!;
    const b = points[k]!;
    return b.unix === a.unix ? b.wh : a.wh + ((b.wh - a.wh) * (t - a.unix)) / (b.unix - a.unix);
  };
}

/** A transaction's signed values as the run record keeps them (`obs.ocpp.transaction`). */
export interface StationTransactionLike {
  transactionId: string;
  station: string;
  signed: ReadonlyArray<{ data: string; publicKey?: string }>;
  stationKey?: string;
  /** The meter values as the station sent them (its clock, unix seconds; register in Wh). */
  samples: ReadonlyArray<{ t: number; energyWh?: number }>;
}

export interface TransactionEvidence extends OcmfEvidence {
  transactionId: string;
  station: string;
  registers: StationRecordInput['registers'];
}

/** What a version-3 record is checked against: the evidence of each transaction in the run, by its OCMF digest. */
export type StationEvidence = ReadonlyMap<string, TransactionEvidence>;

/** The OCMF evidence of every transaction whose signed values make one, recomputed from the records as sent. */
export function stationEvidence(transactions: readonly StationTransactionLike[]): StationEvidence {
  const out = new Map<string, TransactionEvidence>();
  for (const tx of transactions) {
    const e = ocmfEvidence(tx.signed, tx.stationKey);
    if ('digest' in e)
      out.set(e.digest.toLowerCase(), {
        ...e,
        transactionId: tx.transactionId,
        station: tx.station,
        registers: stationRegisters(tx.samples),
      });
  }
  return out;
}

/** The register readings of a transaction's meter values, for its band split. */
export function stationRegisters(samples: StationTransactionLike['samples']): StationRecordInput['registers'] {
  return samples.flatMap((s) => (s.energyWh === undefined ? [] : [{ unix: s.t, wh: s.energyWh }]));
}
