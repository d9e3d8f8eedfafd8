import { ENTRY, type MeterEventData, type TruthEnergyData } from '../../core/record/entries.js';
import type { CaseAnalyser, CaseAnalysis } from '../case-analysis.js';
import type { MeterSeries } from '../case-entries.js';
import { energyAssignedAccuracy, errorPct, fractionEnergyAssigned, normalisedDisaggregationError } from '../energy.js';

/** The meter's total energy against the truth, and the energy it assigned to each class of load. */
export const energyAnalyser: CaseAnalyser = (entries, _params, out) => {
  const energies = entries.ofKind<TruthEnergyData>(ENTRY.truthLoadEnergy);
  const meters = entries.meters();
  if (energies.length > 0 && meters.size > 0)
    analyseEnergy(energies, meters, entries.ofKind<MeterEventData>(ENTRY.meterEvent), out);
};

function analyseEnergy(
  energies: TruthEnergyData[],
  meters: ReadonlyMap<string, MeterSeries>,
  meter: MeterEventData[],
  out: CaseAnalysis,
) {
  const perClassTruthWh: Record<string, number> = {};
  for (const e of energies) {
    // The standby base is metered but never switched, so no meter can assign it to a class.
    if (e.class !== 'base') perClassTruthWh[e.class] = (perClassTruthWh[e.class] ?? 0) + Math.abs(e.energyWh);
  }
  const perClassEstimateWh = meterAssignedEnergy(meter);
  let totalMeterWh = 0;
  for (const { first, last } of meters.values()) {
    totalMeterWh += last.importWh - first.importWh - (last.exportWh - first.exportWh);
  }
  const totalTruthWh = energies.reduce((s, e) => s + e.energyWh, 0);
  out.energy = { perClassTruthWh, perClassEstimateWh, totalTruthWh, totalMeterWh };
  out.metrics['energy.total_error_pct'] = errorPct(totalMeterWh, totalTruthWh);
  out.metrics['energy.fraction_assigned'] = fractionEnergyAssigned(perClassTruthWh, perClassEstimateWh);
  out.metrics['energy.assigned_accuracy'] = energyAssignedAccuracy(perClassTruthWh, perClassEstimateWh);
  out.metrics['energy.nde'] = normalisedDisaggregationError(perClassTruthWh, perClassEstimateWh);
}

/**
 * The energy the meter assigned to each class. A meter that reports it on its events (`energyWh`: what it assigned
 * to the load since the load's previous event) is taken at its word: the sum over its events. For one that does
 * not, the bench's estimate from the events alone: each identified on-event's ΔP held until the next off-event of
 * the same class (exact for loads that draw a constant power, not for a tapering or setpoint-following EV).
 */
export function meterAssignedEnergy(events: readonly MeterEventData[]): Record<string, number> {
  const perClass: Record<string, number> = {};
  const add = (cls: string, wh: number) => {
    perClass[cls] = (perClass[cls] ?? 0) + wh;
  };
  const reporting = new Set(events.filter((e) => e.energyWh !== undefined).map((e) => e.meterId));
  const open = new Map<string, MeterEventData[]>();
  const tOf = (e: MeterEventData) => e.tMeter ?? e.tObserved;
  for (const e of [...events].sort((a, b) => tOf(a) - tOf(b))) {
    if (reporting.has(e.meterId)) {
      if (e.energyWh !== undefined) add(e.class, Math.abs(e.energyWh));
      continue;
    }
    const key = `${e.meterId}|${e.class}`;
    if (e.direction === 'on') {
      const list = open.get(key) ?? [];
      list.push(e);
      open.set(key, list);
    } else {
      const on = open.get(key)?.shift();
      if (on) add(e.class, (Math.abs(on.deltaP) * (tOf(e) - tOf(on))) / 3600);
    }
  }
  return perClass;
}
