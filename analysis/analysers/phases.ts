import { ENTRY } from '../../core/record/entries.js';
import { type CaseAnalyser, groupByMeter, sortedMeasurements } from '../case-analysis.js';

/** What a polyphase meter measured on one phase over a case. */
export interface PhaseRow {
  phase: 'L1' | 'L2' | 'L3';
  /** Energy its registers advanced by over the case (Wh). */
  importWh: number;
  exportWh: number;
  /** Mean and peak active power of its measurements (W). */
  meanW: number;
  peakW: number;
  /** Mean line-to-neutral voltage (V). */
  meanV: number;
}

export interface PhasesSection {
  meters: Array<{ meterId: string; phases: PhaseRow[] }>;
}

/**
 * A polyphase meter's phases over the case, from the measurements that carry them (`phases`): per-phase energy
 * and power, for the report's per-phase table. Adds nothing for a single-phase meter.
 */
export const phasesAnalyser: CaseAnalyser = (entries, _params, out) => {
  const meters: PhasesSection['meters'] = [];
  for (const [meterId, series] of groupByMeter(sortedMeasurements(entries, ENTRY.meterMeasurement))) {
    const withPhases = series.filter((m) => m.phases?.length);
    if (withPhases.length === 0) continue;
    const first = withPhases[0]!;
    const last = withPhases.at(-1)!;
    const phases = last.phases!.map((ph, k): PhaseRow => {
      const powers = withPhases.map((m) => m.phases![k]!.p);
      return {
        phase: (['L1', 'L2', 'L3'] as const)[k]!,
        importWh: ph.importWh - first.phases![k]!.importWh,
        exportWh: ph.exportWh - first.phases![k]!.exportWh,
        meanW: powers.reduce((s, p) => s + p, 0) / powers.length,
        peakW: Math.max(...powers),
        meanV: withPhases.reduce((s, m) => s + m.phases![k]!.vrms, 0) / withPhases.length,
      };
    });
    meters.push({ meterId, phases });
  }
  if (meters.length) out.sections.phases = { meters } satisfies PhasesSection;
};
