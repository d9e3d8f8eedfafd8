import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectionMetrics } from '../../../analysis/detection.js';
import { matchEvents } from '../../../analysis/matching.js';
import { replayScenario } from '../../../engine/meter-replay.js';
import { trainFromScenario } from '../../../engine/meter-train.js';
import { loadSignatures, type Signature, saveSignatures } from '../../../meter/signatures.js';
import { generateScenario } from '../../../profiles/generate.js';
import { groundTruth } from '../../../profiles/ground-truth.js';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import type { Scenario } from '../../../profiles/scenario-schema.js';

async function score(scenario: Scenario, seed: number, signatures?: Signature[]) {
  const truth = groundTruth(scenario, seed);
  const { events } = await replayScenario(scenario, seed, { signatures });
  const t = truth.events.map((e) => ({
    t: e.t,
    meterId: e.meterId,
    class: e.class,
    profile: e.profile,
    direction: e.direction,
  }));
  const d = events.map((e) => ({
    t: e.tMeter,
    meterId: e.meterId,
    class: e.class,
    profile: e.profile,
    direction: e.direction,
  }));
  return { m: detectionMetrics(t, d, matchEvents(t, d, 1)), truth, events };
}

describe('reference meter detection', () => {
  it('a generated 2-house day with a neighbour visit: detection F1 ≥ 0.95 and every EV event found', async () => {
    const scenario = generateScenario({ houses: 2, evVisits: 1, days: 1, seed: 3 });
    const { m, truth } = await score(scenario, 3);
    expect(truth.sessions.some((s) => s.roaming)).toBe(true);
    expect(m.f1).toBeGreaterThanOrEqual(0.95);
    expect(m.evRecall).toBe(1);
  });

  it('bench meter train learns signatures from a labelled run that identify as well as the library', async () => {
    const scenario = loadScenarioFile(join(import.meta.dirname, '../../../suites/scenarios/single-appliances.yaml'));
    const { signatures, labelled } = await trainFromScenario(scenario, 1);
    expect(labelled).toBeGreaterThanOrEqual(9);
    const file = join(mkdtempSync(join(tmpdir(), 'sig-')), 'signatures.json');
    saveSignatures(file, signatures);
    const kettle = loadSignatures(file).find((s) => s.id === 'kettle')!;
    expect(kettle.p).toBeCloseTo(2200, -1);
    const { m } = await score(scenario, 1, loadSignatures(file));
    expect(m.identificationAccuracy).toBeGreaterThanOrEqual(0.9);
  });
});
