import { ENTRY, type MeasurementData, type TruthEnergyData } from '../../core/record/entries.js';
import { type CaseAnalyser, type CaseAnalysis, groupByMeter, ofKind, sortedMeasurements } from '../case-analysis.js';
import { errorPct, registerAt } from '../energy.js';
import type { TestPointResult } from '../metrology.js';
import { midMaxPermissibleErrorPct, parseMidClass } from '../standards/mid.js';

/** Energy error at each test point against the MID maximum permissible error, and the no-load (creep) pulses. */
export const metrologyAnalyser: CaseAnalyser = (entries, params, out) => {
  const energies = ofKind<TruthEnergyData>(entries, ENTRY.truthLoadEnergy);
  if (params.metrology === true && energies.length > 0) {
    const measurements = sortedMeasurements(entries, ENTRY.meterMeasurement);
    const reference = sortedMeasurements(entries, ENTRY.referenceMeasurement);
    analyseMetrology(energies, measurements, reference, params, out);
  }
  if (params.creep === true) {
    const pulses = entries.filter((e) => e.kind === ENTRY.pulse).reduce((s, e) => s + Number(e.data.count ?? 0), 0);
    out.metrics['metrology.creep_pulses'] = pulses;
    out.metrology = {
      ...(out.metrology ?? { midClass: String(params.midClass ?? 'B'), points: [] }),
      creepPulses: pulses,
    };
  }
};

function analyseMetrology(
  energies: TruthEnergyData[],
  measurements: MeasurementData[],
  reference: MeasurementData[],
  params: Record<string, unknown>,
  out: CaseAnalysis,
) {
  const midClass = parseMidClass(params.midClass ?? 'B');
  const itrA = Number(params.itrA ?? 0.5);
  const points: TestPointResult[] = [];
  const byMeter = groupByMeter(measurements);
  // With a reference meter on the circuit (a lab bench) the error is against what it measured over the same
  // window, as MID testing does; without one (the simulated rig) against the scenario's exact energy.
  const referenceByMeter = groupByMeter(reference);
  for (const e of energies) {
    if (e.class === 'base' || e.energyWh === 0) continue;
    const series = byMeter.get(e.meterId) ?? [];
    const key = e.energyWh < 0 ? 'exportWh' : 'importWh';
    const meterWh = registerAt(series, e.end, key) - registerAt(series, e.start, key);
    const refSeries = referenceByMeter.get(e.meterId);
    const referenceWh = refSeries?.length
      ? registerAt(refSeries, e.end, key) - registerAt(refSeries, e.start, key)
      : Math.abs(e.energyWh);
    const err = errorPct(meterWh, referenceWh);
    const mpe = midMaxPermissibleErrorPct(midClass, e.currentA, itrA);
    points.push({
      id: e.loadId,
      currentA: e.currentA,
      pf: e.pf,
      referenceWh,
      meterWh,
      errorPct: err,
      mpePct: mpe,
      ratio: Math.abs(err) / mpe,
    });
  }
  out.metrology = { midClass, points };
  out.metrics['metrology.max_error_pct'] = Math.max(...points.map((p) => Math.abs(p.errorPct)));
  out.metrics['metrology.max_error_ratio'] = Math.max(...points.map((p) => p.ratio));
}
