import { ENTRY, type MeterEventData, type MeterLogData } from '../core/record/entries.js';
import type { CaseAnalyser } from './case-analysis.js';
import type { CaseEntries, Entry } from './case-entries.js';
import { leaksIn } from './privacy.js';

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

/**
 * The survey's other aspects, each observable from the meter's outputs: periodic reports, clock, privacy, event
 * log, failure communication, store-and-forward. Metrics appear only when the case produced the data they need.
 */
export const aspectsAnalyser: CaseAnalyser = (entries: CaseEntries, params: Record<string, unknown>, out) => {
  const reports: MeterReportData[] = [];
  const logs: MeterLogData[] = [];
  const events: MeterEventData[] = [];
  const meterOutputs: Entry[] = [];
  let billed = 0;
  let landed = 0;
  const measured = entries.meters(ENTRY.meterMeasurement);
  const measuringMeters = new Set(measured.keys());
  let measuredUntil = 0;
  for (const s of measured.values()) measuredUntil = Math.max(measuredUntil, s.last.t);
  for (const e of entries.kept) {
    // Measurements kept whole (metrology cases) were checked as they streamed, with every other measurement.
    if (e.kind.startsWith('obs.meter.') && e.kind !== ENTRY.meterMeasurement) meterOutputs.push(e);
    if (e.kind === ENTRY.meterReport) reports.push(e.data as unknown as MeterReportData);
    else if (e.kind === ENTRY.meterLog) logs.push(e.data as unknown as MeterLogData);
    else if (e.kind === ENTRY.meterEvent) events.push(e.data as unknown as MeterEventData);
    else if (e.kind === ENTRY.meterBilling) billed++;
    else if (e.kind === ENTRY.ledgerLanded) landed++;
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

  let leaks = entries.measurementLeaks;
  for (const e of meterOutputs) leaks += leaksIn(e.data, entries.contracts);
  out.metrics['privacy.leaks'] = leaks;

  if (events.length > 0) {
    const logged = logs.filter((l) => l.code === 'event').length;
    out.metrics['log.events_logged'] = Math.min(1, logged / events.length);
  }
  out.metrics['failure.reported'] = logs.filter((l) => l.level === 'error').length;
  if (billed > 0) out.metrics['storage.records_recovered'] = landed / billed;
};
