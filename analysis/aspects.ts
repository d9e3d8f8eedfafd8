import { ENTRY, type MeterEventData, type MeterLogData, type TruthSessionData } from '../core/record/entries.js';
import type { CaseAnalyser, Entry } from './case-analysis.js';

/** A periodic report as the meter sends it: its own sequence and clock, the bench's receive time. */
export interface MeterReportData {
  meterId: string;
  /** Bench time the report was received (scenario seconds). */
  t: number;
  /** The meter's clock when it sent the report (scenario seconds by its clock). */
  tMeter: number;
  seq: number;
  importWh: number;
  exportWh: number;
}

/** Arrays longer than this in a meter's output can only be raw samples, which must never leave the meter. */
const MAX_ARRAY_OUTSIDE_METER = 64;

function longestArray(v: unknown, depth = 0): number {
  if (depth > 6 || v === null || typeof v !== 'object') return 0;
  if (Array.isArray(v)) return Math.max(v.length, ...v.map((x) => longestArray(x, depth + 1)));
  return Math.max(0, ...Object.values(v).map((x) => longestArray(x, depth + 1)));
}

/**
 * The survey's other aspects, each observable from the meter's outputs: periodic reports, clock, privacy, event
 * log, failure communication, store-and-forward. Metrics appear only when the case produced the data they need.
 */
export const aspectsAnalyser: CaseAnalyser = (entries: readonly Entry[], params: Record<string, unknown>, out) => {
  const reports: MeterReportData[] = [];
  const logs: MeterLogData[] = [];
  const events: MeterEventData[] = [];
  const contractIds = new Set<string>();
  const meterOutputs: Entry[] = [];
  let billed = 0;
  let landed = 0;
  let measuredUntil = 0;
  const measuringMeters = new Set<string>();
  for (const e of entries) {
    if (e.kind.startsWith('obs.meter.')) meterOutputs.push(e);
    if (e.kind === ENTRY.meterMeasurement) {
      measuringMeters.add(String(e.data.meterId));
      measuredUntil = Math.max(measuredUntil, Number(e.data.t));
    }
    if (e.kind === ENTRY.meterReport) reports.push(e.data as unknown as MeterReportData);
    else if (e.kind === ENTRY.meterLog) logs.push(e.data as unknown as MeterLogData);
    else if (e.kind === ENTRY.meterEvent) events.push(e.data as unknown as MeterEventData);
    else if (e.kind === ENTRY.meterBilling) billed++;
    else if (e.kind === ENTRY.ledgerLanded) landed++;
    else if (e.kind === ENTRY.truthSession) {
      const s = e.data as unknown as TruthSessionData;
      contractIds.add(s.payerContractId);
      contractIds.add(s.hostContractId);
    }
  }

  const interval = Number(params.reportIntervalS ?? 0);
  if (interval > 0 && measuredUntil > 0) {
    // Every meter that measured anything owes a report per interval of the time it measured.
    const duration = measuredUntil;
    const byMeter = new Map<string, Set<number>>();
    for (const r of reports) byMeter.set(r.meterId, (byMeter.get(r.meterId) ?? new Set()).add(r.seq));
    const meters = new Set([...byMeter.keys(), ...measuringMeters]);
    const expectedPerMeter = Math.floor(duration / interval);
    let missing = 0;
    for (const m of meters) missing += Math.max(0, expectedPerMeter - (byMeter.get(m)?.size ?? 0));
    out.metrics['reports.missing'] = missing;
  }
  if (reports.length > 0) out.metrics['clock.max_offset_s'] = Math.max(...reports.map((r) => Math.abs(r.tMeter - r.t)));

  let leaks = 0;
  for (const e of meterOutputs) {
    if (longestArray(e.data) > MAX_ARRAY_OUTSIDE_METER) leaks++;
    const text = JSON.stringify(e.data);
    for (const id of contractIds) if (id && text.includes(id)) leaks++;
  }
  out.metrics['privacy.leaks'] = leaks;

  if (events.length > 0) {
    const logged = logs.filter((l) => l.code === 'event').length;
    out.metrics['log.events_logged'] = Math.min(1, logged / events.length);
  }
  out.metrics['failure.reported'] = logs.filter((l) => l.level === 'error').length;
  if (billed > 0) out.metrics['storage.records_recovered'] = landed / billed;
};
