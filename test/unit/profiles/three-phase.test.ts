import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileValidationError } from '../../../core/errors.js';
import { CycleAnalyzer, CycleFeatures } from '../../../dsp/cycle.js';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import { type Scenario, scenarioSchema } from '../../../profiles/scenario-schema.js';
import { synthesizeMeterSync } from '../../../profiles/synth.js';
import type { CycleBlock } from '../../../profiles/waveform.js';

const dir = mkdtempSync(join(tmpdir(), 'three-phase-'));
const SPC = 64;

/** A three-phase house with `loads` on from t = 0, no standby and no noise, for two seconds. */
function house(loads: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): Scenario {
  return scenarioSchema.parse({
    name: 'three-phase',
    start: '2026-03-02T12:00:00Z',
    durationS: 2,
    phases: 3,
    profiles: [
      {
        name: 'heater',
        class: 'test-point',
        description: 'a resistive load',
        source: 'test',
        noise: 0,
        states: [{ name: 'on', p: 2300, pf: 1 }],
      },
      {
        name: 'charger',
        class: 'ev',
        description: 'a three-phase charger',
        source: 'test',
        noise: 0,
        ev: { charger: 'obc', phases: 3, maxCurrentA: 16, control: 'uncontrolled' },
        states: [{ name: 'on', p: 11040, pf: 0.99, harmonics: [{ order: 5, ratio: 0.04 }] }],
      },
    ],
    houses: [{ id: 'h', contract: 'C', baseLoadW: 0, loads: loads.map((l, i) => ({ id: `l${i}`, on: 0, ...l })) }],
    ...extra,
  });
}

/** The last cycle of each phase, analysed, and the neutral's RMS. */
function lastCycle(s: Scenario) {
  let last: CycleBlock | undefined;
  const copies: Array<{ v: Float64Array; i: Float64Array }> = [];
  let neutral = new Float64Array(0);
  for (const b of synthesizeMeterSync(s, 'h', { seed: 1, samplesPerCycle: SPC })) {
    last = b;
    copies.length = 0;
    for (const l of b.lines ?? []) copies.push({ v: Float64Array.from(l.voltage), i: Float64Array.from(l.current) });
    neutral = Float64Array.from(b.neutral ?? []);
  }
  const at = (last!.cycles - 1) * SPC;
  const an = new CycleAnalyzer(SPC);
  const phases = copies.map((c) => an.analyze(c.v, c.i, at, new CycleFeatures()));
  const nRms = Math.sqrt(neutral.subarray(at, at + SPC).reduce((s, x) => s + x * x, 0) / SPC);
  return { phases, neutralA: nRms };
}

describe('three-phase synthesis', () => {
  it('a balanced three-phase charger draws a third on each phase, 120° apart, and nothing in the neutral', () => {
    const { phases, neutralA } = lastCycle(house([{ profile: 'charger' }]));
    expect(phases.map((p) => p.p)).toEqual([expect.closeTo(3680, 0), expect.closeTo(3680, 0), expect.closeTo(3680, 0)]);
    expect(phases.map((p) => p.vrms)).toEqual([expect.closeTo(230, 0), expect.closeTo(230, 0), expect.closeTo(230, 0)]);
    // Each phase current is the charger's own (ratio of the 5th kept), its fundamental 120° behind the last.
    expect(phases.map((p) => p.ratio(5))).toEqual([
      expect.closeTo(0.04, 3),
      expect.closeTo(0.04, 3),
      expect.closeTo(0.04, 3),
    ]);
    // The fundamentals cancel in the neutral; the 5th harmonics (negative sequence) do too.
    expect(neutralA).toBeLessThan(0.05);
  });

  it('a single-phase load on L2 draws on L2 only, and its current returns through the neutral', () => {
    const { phases, neutralA } = lastCycle(house([{ profile: 'heater', phase: 'L2' }]));
    expect(phases.map((p) => Math.round(p.p))).toEqual([0, 2300, 0]);
    expect(neutralA).toBeCloseTo(10, 1);
  });

  it('shares put an unbalanced three-phase load where they say', () => {
    const { phases } = lastCycle(house([{ profile: 'charger', phase: 'L1L2L3', shares: [0.5, 0.25, 0.25] }]));
    expect(phases.map((p) => Math.round(p.p))).toEqual([5520, 2760, 2760]);
  });

  it('a single-phase supply has no lines: its blocks are what they always were', () => {
    const one = scenarioSchema.parse({
      ...house([]),
      phases: 1,
      houses: [{ id: 'h', contract: 'C', baseLoadW: 0, loads: [{ id: 'l', profile: 'heater', on: 0 }] }],
    });
    const [b] = [...synthesizeMeterSync(one, 'h', { seed: 1, samplesPerCycle: SPC })];
    expect(b!.lines).toBeUndefined();
    expect(b!.neutral).toBeUndefined();
  });
});

describe('a scenario that places loads on phases', () => {
  const file = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  };
  const problems = (path: string) => {
    try {
      loadScenarioFile(path);
    } catch (e) {
      if (e instanceof FileValidationError) return e.problems;
      throw e;
    }
    throw new Error('expected the scenario to be refused');
  };
  const head = ['name: x', 'start: "2026-03-02T12:00:00Z"', 'durationS: 60'];

  it('refuses a load on a phase a single-phase supply lacks, at its line', () => {
    const path = file(
      'l2-on-single.yaml',
      [
        ...head,
        'houses:',
        '  - id: h',
        '    contract: C',
        '    loads:',
        '      - { id: k, profile: kettle, on: 0, phase: L2 }',
        '',
      ].join('\n'),
    );
    expect(problems(path)).toEqual([
      expect.objectContaining({
        line: 8,
        field: 'houses[0].loads[0].phase',
        message: expect.stringContaining('the supply has one phase (L1)'),
      }),
    ]);
  });

  it('refuses shares that do not sum to 1, and shares on a single-phase load', () => {
    const path = file(
      'bad-shares.yaml',
      [
        ...head,
        'phases: 3',
        'houses:',
        '  - id: h',
        '    contract: C',
        '    loads:',
        '      - { id: a, profile: ev-3ph-11kw, on: 0, phase: L1L2L3, shares: [0.5, 0.3, 0.3] }',
        '      - { id: b, profile: kettle, on: 0, phase: L2, shares: [0, 1, 0] }',
        '',
      ].join('\n'),
    );
    expect(problems(path)).toEqual([
      expect.objectContaining({
        line: 9,
        field: 'houses[0].loads[0].shares',
        message: expect.stringContaining('must sum to 1, not 1.1'),
      }),
      expect.objectContaining({
        line: 10,
        field: 'houses[0].loads[1].shares',
        message: expect.stringContaining('phase: L1L2L3'),
      }),
    ]);
  });
});
