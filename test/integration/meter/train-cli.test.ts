import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectionMetrics } from '../../../analysis/detection.js';
import { matchEvents } from '../../../analysis/matching.js';
import { replayScenario } from '../../../engine/meter-replay.js';
import { loadSignatures } from '../../../meter/signatures.js';
import { groundTruth } from '../../../profiles/ground-truth.js';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import type { Scenario } from '../../../profiles/scenario-schema.js';
import { bench } from '../../support/cli.js';

/**
 * An hour of one house: a fridge, library appliances at seeded random times, an EV session, and a dehumidifier
 * the library has no signature for. The seed places (and times) every random load, so another seed is another
 * day of the same house.
 */
const SCENARIO = {
  name: 'train-house',
  start: '2026-03-02T17:00:00Z',
  durationS: 3600,
  profiles: [
    {
      name: 'dehumidifier',
      class: 'dehumidifier',
      description: 'compressor dehumidifier, 300 W',
      source: 'bench test load: a compressor appliance with a plausible pf and 3rd harmonic, absent from the library',
      inrush: { peakMultiple: 3, decayMs: 120 },
      states: [{ name: 'run', p: 300, pf: 0.8, harmonics: [{ order: 3, ratio: 0.2, phaseDeg: 30 }] }],
    },
  ],
  houses: [
    {
      id: 'house-1',
      contract: 'C-HOUSE-1',
      baseLoadW: 120,
      loads: [{ id: 'fridge', profile: 'fridge', on: 30 }],
      randomLoads: [
        'kettle',
        'microwave',
        'led-tv',
        'hair-dryer',
        'vacuum-cleaner',
        'induction-hob',
        'laptop-charger',
        'dehumidifier',
      ].map((profile) => ({ profile, count: 2, minDurationS: 60, maxDurationS: 240 })),
    },
  ],
  evs: [
    {
      id: 'ev-1',
      owner: 'C-HOUSE-1',
      home: 'house-1',
      profile: 'ev-1ph-3.7kw',
      sessions: [{ at: 'house-1', plugIn: 600, unplug: 3000, authorise: true }],
    },
  ],
};

async function score(scenario: Scenario, seed: number, config = {}) {
  const truth = groundTruth(scenario, seed).events;
  const { events } = await replayScenario(scenario, seed, { config });
  const detected = events.map((e) => ({ ...e, t: e.tMeter }));
  const m = matchEvents(truth, detected, 1);
  const dehumidifier = m.pairs
    .filter((p) => truth[p.truth]!.profile === 'dehumidifier')
    .map((p) => detected[p.detected]!);
  return { metrics: detectionMetrics(truth, detected, m), dehumidifier };
}

describe('bench meter train (built CLI)', () => {
  it('learns from one seed of a labelled scenario; the signatures identify another seed at least as well as the library', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-train-'));
    const file = join(dir, 'house.yaml');
    writeFileSync(file, JSON.stringify(SCENARIO, null, 2));
    const out = join(dir, 'signatures.json');
    const r = bench(['meter', 'train', '--scenario', file, '--seed', '1', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = r.json<{ file: string; signatures: number; labelledEvents: number }>();
    // Every switch-on of the seed-1 hour is labelled: 8 kinds × 2, the fridge's two compressor starts, the EV.
    expect(result).toMatchObject({ file: out, labelledEvents: 19 });
    const learned = loadSignatures(out);
    expect(result.signatures).toBe(learned.length);
    const dehumidifier = learned.find((s) => s.id === 'dehumidifier')!;
    expect(dehumidifier.class).toBe('dehumidifier');
    // The measured step: P to a few watts; Q a few % high, the tail of the compressor's reactive inrush is in it.
    expect(dehumidifier.p).toBeCloseTo(300, -1);
    expect(Math.abs(dehumidifier.q - 225) / 225).toBeLessThan(0.05);
    expect(dehumidifier.r3).toBeCloseTo(0.2, 2);

    // A different seed: other start times and durations, other noise. The trained file goes in as a meter config's
    // signaturesFile, as the command's help says.
    const scenario = loadScenarioFile(file);
    const library = await score(scenario, 2);
    const trained = await score(scenario, 2, { signaturesFile: out });
    expect(trained.metrics.f1).toBeGreaterThanOrEqual(0.95);
    expect(trained.metrics.identificationAccuracy).toBeGreaterThanOrEqual(library.metrics.identificationAccuracy);
    // The load the library does not know: unknown to the library, named by the trained meter, on and off.
    expect(library.dehumidifier.length).toBeGreaterThanOrEqual(3);
    expect(library.dehumidifier.every((e) => e.class === 'unknown')).toBe(true);
    expect(trained.dehumidifier.map((e) => e.class)).toEqual(library.dehumidifier.map(() => 'dehumidifier'));
    expect(trained.metrics.identificationAccuracy).toBeGreaterThan(library.metrics.identificationAccuracy);
  });
});
