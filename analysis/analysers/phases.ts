import { ENTRY } from '../../core/record/entries.js';
import type { CaseAnalyser } from '../case-analysis.js';

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
  for (const [meterId, series] of entries.meters(ENTRY.meterMeasurement)) {
    const phased = series.phased;
    if (!phased) continue;
    const { first, last, count } = phased;
    const phases = last.phases!.map((ph, k): PhaseRow => {
      const sums = phased.phases[k]!;
      return {
        phase: (['L1', 'L2', 'L3'] as const)[k]!,
        importWh: ph.importWh - first.phases![k]!.importWh,
        exportWh: ph.exportWh - first.phases![k]!.exportWh,
        meanW: sums.sumP / count,
        peakW: sums.peakP,
        meanV: sums.sumV / count,
      };
    });
    meters.push({ meterId, phases });
  }
  if (meters.length) out.sections.phases = { meters } satisfies PhasesSection;
};
