import { ENTRY, type LedgerRecordData, type MeasurementData, type TruthSessionData } from '../engine/observations.js';
import type { CaseAnalyser, CaseAnalysis, Entry } from './case-analysis.js';
import { registerAt } from './energy.js';
import { midMaxPermissibleErrorPct, parseMidClass } from './metrology.js';

/** One row of the billing table: a record on the ledger (or refused by it) checked against the ground truth. */
export interface BillingRow {
  meterId: string;
  seq: string;
  payer: string;
  start: number;
  end: number;
  importWh: number;
  exportWh: number;
  cost: number;
  status: 'ok' | 'mismatch' | 'rejected' | 'unexpected' | 'duplicate';
  sessionId?: string;
  /** The host meter's import register (kWh) at the record's start and end, for OCMF readings. */
  registerBeginKWh?: number;
  registerEndKWh?: number;
  problems: string[];
}

export interface BillingSection {
  rows: BillingRow[];
  missingSessions: string[];
}

const MICRO = 1e6;
const num = (v: unknown) => Number(v ?? 0);

/**
 * Billing verification record by record (DESIGN §6): each accepted ledger record is paired with the expected
 * session at the same host meter whose start is nearest, then payer, host, times, energy, cost and V2G credit
 * are compared. Tolerances: times ±billingTimeToleranceS (default 5 s); energy within the MID class MPE;
 * cost within the same relative band plus one cent of rounding.
 */
export const billingAnalyser: CaseAnalyser = (
  entries: readonly Entry[],
  params: Record<string, unknown>,
  out: CaseAnalysis,
) => {
  const sessions = entries
    .filter((e) => e.kind === ENTRY.truthSession)
    .map((e) => e.data as unknown as TruthSessionData);
  const ledger = entries.filter((e) => e.kind === ENTRY.ledgerRecord).map((e) => e.data as unknown as LedgerRecordData);
  if (sessions.length === 0 && ledger.length === 0) return;
  const timeTol = num(params.billingTimeToleranceS ?? 5);
  const energyTolPct = midMaxPermissibleErrorPct(parseMidClass(params.midClass ?? 'B'), Number.POSITIVE_INFINITY, 0);

  const rows: BillingRow[] = [];
  const counts = {
    duplicates: 0,
    rejected: 0,
    invalid_signature: 0,
    sequence_errors: 0,
    payer_mismatch: 0,
    host_mismatch: 0,
    time_mismatch: 0,
    energy_mismatch: 0,
    cost_mismatch: 0,
    v2g_uncredited: 0,
    unattested: 0,
    unexpected: 0,
  };
  const seen = new Set<string>();
  const lastSeq = new Map<string, bigint>();
  const used = new Set<string>();
  const registers = new Map<string, MeasurementData[]>();
  for (const e of entries) {
    if (e.kind !== ENTRY.meterMeasurement) continue;
    const m = e.data as unknown as MeasurementData;
    const list = registers.get(m.meterId);
    if (list) list.push(m);
    else registers.set(m.meterId, [m]);
  }
  for (const list of registers.values()) list.sort((a, b) => a.t - b.t);

  for (const l of ledger) {
    const r = l.record;
    const row: BillingRow = {
      meterId: l.meterId,
      seq: String(r.seq),
      payer: String(r.payer),
      start: num(r.start),
      end: num(r.end),
      importWh: num(r.importMilliWh) / 1000,
      exportWh: num(r.exportMilliWh) / 1000,
      cost: num(r.costMicro) / MICRO,
      status: 'ok',
      problems: [],
    };
    rows.push(row);
    if (l.status === 'rejected') {
      row.status = 'rejected';
      row.problems.push(`ledger refused: ${l.reason ?? 'unknown reason'}`);
      counts.rejected++;
      if (/signature/i.test(l.reason ?? '')) counts.invalid_signature++;
      if (/sequence|replay|duplicate/i.test(l.reason ?? '')) counts.sequence_errors++;
      if (/attest|firmware/i.test(l.reason ?? '')) counts.unattested++;
      continue;
    }
    const key = `${l.meterId}|${r.seq}`;
    if (seen.has(key)) {
      row.status = 'duplicate';
      row.problems.push('landed twice');
      counts.duplicates++;
      continue;
    }
    seen.add(key);
    const seq = BigInt(String(r.seq));
    const prev = lastSeq.get(l.meterId);
    if ((prev === undefined && seq !== 1n) || (prev !== undefined && seq !== prev + 1n)) {
      row.problems.push(`sequence ${seq} after ${prev ?? 0n}`);
      counts.sequence_errors++;
    }
    lastSeq.set(l.meterId, seq);
    if (l.signer !== undefined && String(r.meter).toLowerCase() !== l.signer.toLowerCase()) {
      row.problems.push('signature does not recover to the meter');
      counts.invalid_signature++;
    }

    const candidates = sessions.filter((s) => s.meterId === l.meterId && !used.has(s.sessionId));
    const session = candidates.sort((a, b) => Math.abs(a.startUnix - row.start) - Math.abs(b.startUnix - row.start))[0];
    if (
      !session ||
      Math.abs(session.startUnix - row.start) > Math.max(timeTol, (session.endUnix - session.startUnix) / 2)
    ) {
      row.status = 'unexpected';
      row.problems.push('no expected session at this meter and time');
      counts.unexpected++;
      continue;
    }
    used.add(session.sessionId);
    row.sessionId = session.sessionId;
    const series = registers.get(l.meterId);
    if (series) {
      const epoch = session.startUnix - session.start;
      row.registerBeginKWh = registerAt(series, row.start - epoch, 'importWh') / 1000;
      row.registerEndKWh = registerAt(series, row.end - epoch, 'importWh') / 1000;
    }
    if (String(r.payer).toLowerCase() !== session.payerPseudonym.toLowerCase()) {
      row.problems.push(`payer is not ${session.payerContractId}'s pseudonym`);
      counts.payer_mismatch++;
    }
    if (String(r.host).toLowerCase() !== session.hostPseudonym.toLowerCase()) {
      row.problems.push('host is not the meter owner');
      counts.host_mismatch++;
    }
    if (Math.abs(row.start - session.startUnix) > timeTol || Math.abs(row.end - session.endUnix) > timeTol) {
      row.problems.push(`times off by ${row.start - session.startUnix} s / ${row.end - session.endUnix} s`);
      counts.time_mismatch++;
    }
    const energyErr = (a: number, b: number) => (b === 0 ? (a === 0 ? 0 : 100) : (Math.abs(a - b) / b) * 100);
    if (
      energyErr(row.importWh, session.importWh) > energyTolPct ||
      energyErr(row.exportWh, session.exportWh) > energyTolPct
    ) {
      row.problems.push(
        `energy ${row.importWh.toFixed(1)}/${row.exportWh.toFixed(1)} Wh vs ${session.importWh.toFixed(1)}/${session.exportWh.toFixed(1)} Wh`,
      );
      counts.energy_mismatch++;
    }
    if (Math.abs(row.cost - session.cost) > Math.abs(session.cost) * (energyTolPct / 100) + 0.01) {
      row.problems.push(`cost ${row.cost.toFixed(4)} vs ${session.cost.toFixed(4)} recomputed`);
      counts.cost_mismatch++;
    }
    if (session.exportWh > 0 && row.exportWh === 0) {
      row.problems.push('V2G export not credited');
      counts.v2g_uncredited++;
    }
    if (row.problems.length > 0) row.status = 'mismatch';
  }

  const missingSessions = sessions.filter((s) => !used.has(s.sessionId)).map((s) => s.sessionId);
  out.sections.billing = { rows, missingSessions } satisfies BillingSection;
  out.metrics['billing.expected'] = sessions.length;
  out.metrics['billing.missing'] = missingSessions.length;
  for (const [k, v] of Object.entries(counts)) out.metrics[`billing.${k}`] = v;
};
