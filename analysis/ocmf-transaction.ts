import {
  keyFingerprint,
  OcmfFormatError,
  type OcmfRecord,
  ocmfPublicKey,
  ocmfSignatureProblem,
  parseOcmf,
  readingTime,
} from '../protocols/ocmf.js';

/**
 * The signed readings of one charging transaction, checked as a station vendor's certificate needs them. Two
 * verdicts, kept apart: conformance (the OCMF specification, strictly) and compatibility (what a transparency
 * verifier needs to show the customer a verified transaction: records it can read, a valid signature under the
 * station's key, and a begin and an end reading of one meter for one identification).
 */
export interface OcmfTransactionInput {
  /** The token the bench authorised the transaction with. */
  idToken: string;
  /** Signed meter values in the order they came, with the key sent beside each (wire form), if any. */
  signed: ReadonlyArray<{ data: string; publicKey?: string }>;
  /** The station key the rig file names (wire form); without one, the key sent in the messages is used. */
  stationKey?: string;
  /** The meter serial the station's meter should sign with, when the rig file names it. */
  meterSerial?: string;
  /** The bench's reference energy over the transaction (Wh) and the meter's maximum permissible error (%). */
  referenceWh?: number;
  mpePct?: number;
}

export type OcmfIssueKind =
  | 'unreadable'
  | 'no-key'
  | 'signature'
  | 'pagination'
  | 'no-begin'
  | 'no-end'
  | 'order'
  | 'meter-serial'
  | 'identification'
  | 'clock'
  | 'unit'
  | 'energy';

export interface OcmfIssue {
  kind: OcmfIssueKind;
  message: string;
  /** The record's pagination, when the issue is about one record. */
  pg?: string;
}

export interface OcmfTransactionCheck {
  conformance: { ok: boolean; issues: OcmfIssue[] };
  compatibility: { ok: boolean; issues: OcmfIssue[] };
  /** Each distinct record: pagination, SHA-256 of its text and the fingerprint of the key that verified it. */
  records: Array<{ pg: string; sha256: string; keyFingerprint?: string }>;
  beginWh?: number;
  endWh?: number;
  /** End minus begin (Wh), from the signed readings. */
  energyWh?: number;
}

/** Issues that stop a transparency verifier from showing the transaction as verified. */
const COMPATIBILITY: readonly OcmfIssueKind[] = [
  'unreadable',
  'no-key',
  'signature',
  'no-begin',
  'no-end',
  'order',
  'identification',
];

export function checkOcmfTransaction(input: OcmfTransactionInput): OcmfTransactionCheck {
  const issues: OcmfIssue[] = [];
  const records: Array<{ record: OcmfRecord; keyFingerprint?: string }> = [];
  const seen = new Set<string>();
  for (const sv of input.signed) {
    let record: OcmfRecord;
    try {
      record = parseOcmf(sv.data);
    } catch (e) {
      issues.push({ kind: 'unreadable', message: e instanceof OcmfFormatError ? e.message : String(e) });
      continue;
    }
    // A station may send its begin record again with the end record: one record, once.
    if (seen.has(record.sha256)) continue;
    seen.add(record.sha256);
    const pg = record.payload.PG;
    const wire = input.stationKey ?? sv.publicKey;
    if (!wire) {
      issues.push({
        kind: 'no-key',
        pg,
        message: 'no station key: the rig file names none and the message carries none',
      });
      records.push({ record });
      continue;
    }
    const key = ocmfPublicKey(wire);
    const problem = ocmfSignatureProblem(record, key);
    if (problem) issues.push({ kind: 'signature', pg, message: problem });
    records.push({ record, keyFingerprint: problem ? undefined : keyFingerprint(key) });
  }

  // Pagination: transaction records (T), one counter, strictly rising by one.
  const pages = records.map((r) => r.record.payload.PG);
  for (const [i, pg] of pages.entries()) {
    if (!pg.startsWith('T'))
      issues.push({ kind: 'pagination', pg, message: `${pg} is not a transaction record (T<n>)` });
    const prev = pages[i - 1];
    if (prev && Number(pg.slice(1)) !== Number(prev.slice(1)) + 1)
      issues.push({
        kind: 'pagination',
        pg,
        message: `${pg} follows ${prev}: pagination must rise by one with no gap`,
      });
  }

  const readings = records.flatMap((r) =>
    r.record.payload.RD.map((rd) => ({ rd, pg: r.record.payload.PG, payload: r.record.payload })),
  );
  const begins = dedupe(readings.filter((r) => r.rd.TX === 'B'));
  const ends = dedupe(readings.filter((r) => r.rd.TX === 'E'));
  if (begins.length === 0) issues.push({ kind: 'no-begin', message: 'no begin reading (TX B)' });
  if (ends.length === 0) issues.push({ kind: 'no-end', message: 'no end reading (TX E)' });
  if (begins.length > 1) issues.push({ kind: 'order', message: `${begins.length} different begin readings` });
  if (ends.length > 1) issues.push({ kind: 'order', message: `${ends.length} different end readings` });

  for (const r of records) {
    const p = r.record.payload;
    if (!p.MS)
      issues.push({
        kind: 'meter-serial',
        pg: p.PG,
        message: 'no meter serial (MS), which the specification requires',
      });
    else if (input.meterSerial && p.MS !== input.meterSerial)
      issues.push({
        kind: 'meter-serial',
        pg: p.PG,
        message: `meter serial ${p.MS}, the rig names ${input.meterSerial}`,
      });
    if (p.ID !== input.idToken)
      issues.push({
        kind: 'identification',
        pg: p.PG,
        message: `identification ${p.ID ?? '(none)'} is not the authorised token ${input.idToken}`,
      });
  }
  const serials = new Set(records.map((r) => r.record.payload.MS).filter(Boolean));
  if (serials.size > 1)
    issues.push({ kind: 'meter-serial', message: `readings of ${serials.size} meters: ${[...serials].join(', ')}` });

  for (const r of dedupe(readings)) {
    let clock: string;
    try {
      clock = readingTime(r.rd).clock;
    } catch (e) {
      issues.push({ kind: 'unreadable', pg: r.pg, message: (e as Error).message });
      continue;
    }
    if (clock !== 'S')
      issues.push({
        kind: 'clock',
        pg: r.pg,
        message: `reading ${r.rd.TX ?? '?'} at ${r.rd.TM}: the meter clock is not synchronised (${clock})`,
      });
    if (r.rd.RU !== 'kWh' && r.rd.RU !== 'Wh')
      issues.push({ kind: 'unit', pg: r.pg, message: `unit ${r.rd.RU}: energy is Wh or kWh` });
  }

  const wh = (r: (typeof readings)[number]) => r.rd.RV * (r.rd.RU === 'kWh' ? 1000 : 1);
  const begin = begins[0];
  const end = ends[0];
  let energyWh: number | undefined;
  if (begin && end) {
    const tb = safeTime(begin.rd);
    const te = safeTime(end.rd);
    if (tb !== undefined && te !== undefined && te < tb)
      issues.push({ kind: 'order', message: `the end reading (${end.rd.TM}) is before the begin (${begin.rd.TM})` });
    energyWh = wh(end) - wh(begin);
    if (energyWh < 0) issues.push({ kind: 'order', message: `the register went back by ${(-energyWh).toFixed(3)} Wh` });
    if (input.referenceWh !== undefined && input.mpePct !== undefined && input.referenceWh > 0) {
      const errorPct = ((energyWh - input.referenceWh) / input.referenceWh) * 100;
      if (Math.abs(errorPct) > input.mpePct)
        issues.push({
          kind: 'energy',
          message: `signed energy ${energyWh.toFixed(1)} Wh is ${errorPct.toFixed(2)} % off the reference ${input.referenceWh.toFixed(1)} Wh (MPE ${input.mpePct} %)`,
        });
    }
  }

  const compatibility = issues.filter((i) => COMPATIBILITY.includes(i.kind));
  return {
    conformance: { ok: issues.length === 0, issues },
    compatibility: { ok: compatibility.length === 0, issues: compatibility },
    records: records.map((r) => ({
      pg: r.record.payload.PG,
      sha256: r.record.sha256,
      keyFingerprint: r.keyFingerprint,
    })),
    beginWh: begin && wh(begin),
    endWh: end && wh(end),
    energyWh,
  };
}

/** The same reading carried by several records (a begin repeated in the end record) counts once. */
function dedupe<T extends { rd: { TM: string; RV: number; RU: string } }>(readings: readonly T[]): T[] {
  const byKey = new Map<string, T>();
  for (const r of readings)
    byKey.set(`${r.rd.TM}|${r.rd.RV}|${r.rd.RU}`, byKey.get(`${r.rd.TM}|${r.rd.RV}|${r.rd.RU}`) ?? r);
  return [...byKey.values()];
}

function safeTime(rd: { TM: string }): number | undefined {
  try {
    return readingTime(rd).unix;
  } catch {
    return undefined;
  }
}
