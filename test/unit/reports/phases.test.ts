import { describe, expect, it } from 'vitest';
import type { PhasesSection } from '../../../analysis/analysers/phases.js';
import { analyseCase } from '../../../analysis/registry.js';
import { ENTRY } from '../../../core/record/entries.js';
import { phasesHtml } from '../../../reports/phases-html.js';

/** A polyphase meter's measurements: L1 3.7 kW, L2 2.3 kW, L3 off, each second for 10 s. */
const entries = Array.from({ length: 11 }, (_, t) => {
  const phase = (p: number) => ({
    p,
    q: 0,
    vrms: 230,
    irms: p / 230,
    pf: 1,
    importWh: (p * t) / 3600,
    exportWh: 0,
    importVarh: 0,
    exportVarh: 0,
  });
  const phases = [phase(3680), phase(2300), phase(0)];
  return {
    kind: ENTRY.meterMeasurement,
    data: {
      caseId: 'c',
      meterId: 'm',
      t,
      p: 5980,
      q: 0,
      vrms: 230,
      irms: 16,
      pf: 1,
      importWh: (5980 * t) / 3600,
      exportWh: 0,
      phases,
    },
  };
});

describe('a polyphase meter in the report', () => {
  it('per-phase energy and power over the case, and each phase its own power series', () => {
    const a = analyseCase(entries, {});
    const s = a.sections.phases as PhasesSection;
    expect(s.meters[0]!.phases.map((p) => [p.phase, p.importWh.toFixed(3), Math.round(p.meanW)])).toEqual([
      ['L1', ((3680 * 10) / 3600).toFixed(3), 3680],
      ['L2', ((2300 * 10) / 3600).toFixed(3), 2300],
      ['L3', '0.000', 0],
    ]);
    expect(new Set(a.timeline.power.map((p) => p.meterId))).toEqual(new Set(['m', 'm L1', 'm L2', 'm L3']));
    expect(phasesHtml(s)).toContain('<h3>Per phase: m</h3>');
  });

  it('adds nothing for a single-phase meter', () => {
    const single = entries.map((e) => ({ ...e, data: { ...e.data, phases: undefined } }));
    const a = analyseCase(single, {});
    expect(a.sections.phases).toBeUndefined();
    expect(new Set(a.timeline.power.map((p) => p.meterId))).toEqual(new Set(['m']));
  });
});
