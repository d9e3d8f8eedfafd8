import { CycleAnalyzer, CycleFeatures } from '../dsp/cycle.js';
import { type Scenario, scenarioSchema } from './scenario-schema.js';
import type { Profile } from './schema.js';
import { macroSeries, synthesizeMeterSync } from './synth.js';

/** Vega-Lite specs describing a profile: one steady cycle of v and i, its current spectrum, P and Q over time. */
export function profilePlotSpec(profile: Profile): Record<string, unknown> {
  const states = profile.states.reduce((s, st) => s + (st.durationS ?? 600), 0);
  const duration = Math.min(Math.max(60, states), 4 * 3600);
  const scenario: Scenario = scenarioSchema.parse({
    name: `plot-${profile.name}`,
    start: '2026-03-02T12:00:00Z',
    durationS: duration,
    profiles: [{ ...profile, name: 'plotted' }],
    houses: [{ id: 'h', contract: 'C', baseLoadW: 0, loads: [{ id: 'l', profile: 'plotted', on: 0 }] }],
  });
  // A cycle two seconds in, after any inrush has died out.
  const block = synthesizeMeterSync(scenario, 'h', { seed: 1, from: 2, to: 3 }).next().value!;
  const n = block.samplesPerCycle;
  const wave = Array.from({ length: n }, (_, k) => [
    { ms: (k / n) * (1000 / block.frequency), signal: 'voltage (V)', value: block.voltage[k]! },
    { ms: (k / n) * (1000 / block.frequency), signal: 'current (A) ×20', value: block.current[k]! * 20 },
  ]).flat();
  const f = new CycleAnalyzer(n).analyze(block.voltage, block.current, 0, new CycleFeatures());
  const spectrum = Array.from({ length: 15 }, (_, i) => ({ order: i + 1, ratio: f.ratio(i + 1) }));
  const pq: Array<{ t: number; quantity: string; value: number }> = [];
  const step = Math.max(1, Math.floor(duration / 600));
  for (const m of macroSeries(scenario, 'h', 1)) {
    if (m.t % step !== 0) continue;
    pq.push({ t: m.t, quantity: 'P (W)', value: m.p }, { t: m.t, quantity: 'Q (var)', value: m.q });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${profile.name} — ${profile.description}`,
    vconcat: [
      {
        title: 'One cycle',
        width: 560,
        height: 180,
        data: { values: wave },
        mark: 'line',
        encoding: {
          x: { field: 'ms', type: 'quantitative', title: 'time in cycle (ms)' },
          y: { field: 'value', type: 'quantitative', title: null },
          color: { field: 'signal', type: 'nominal' },
        },
      },
      {
        title: 'Current harmonic spectrum (|I_h| / |I_1|)',
        width: 560,
        height: 140,
        data: { values: spectrum },
        mark: 'bar',
        encoding: { x: { field: 'order', type: 'ordinal' }, y: { field: 'ratio', type: 'quantitative' } },
      },
      {
        title: 'P and Q over time',
        width: 560,
        height: 160,
        data: { values: pq },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'time (s)' },
          y: { field: 'value', type: 'quantitative', title: null },
          color: { field: 'quantity', type: 'nominal' },
        },
      },
    ],
  };
}
