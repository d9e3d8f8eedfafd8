import { matchEvents } from '../analysis/matching.js';
import { type Signature, type StepFeatures, signaturesFromProfiles, trainSignatures } from '../meter/signatures.js';
import { groundTruth } from '../profiles/ground-truth.js';
import type { Scenario } from '../profiles/scenario-schema.js';
import { replayScenario } from './meter-replay.js';

/**
 * `bench meter train`: plays a labelled scenario through the meter, pairs each detected on-event with the true
 * switch-on it matches (same meter, ±1 s, nearest first), and learns each load's signature as the mean measured
 * step. The result extends (and overrides) the signature library built from the profiles.
 */
export async function trainFromScenario(
  scenario: Scenario,
  seed: number,
  base: readonly Signature[] = signaturesFromProfiles(),
): Promise<{ signatures: Signature[]; labelled: number }> {
  const truth = groundTruth(scenario, seed);
  const { events } = await replayScenario(scenario, seed, { signatures: base });
  const trueOn = truth.events.filter((e) => e.direction === 'on');
  const detOn = events.filter((e) => e.direction === 'on');
  const m = matchEvents(
    trueOn.map((e) => ({ t: e.t, meterId: e.meterId, class: e.class, direction: 'on' as const })),
    detOn.map((e) => ({ t: e.tMeter, meterId: e.meterId, class: e.class, direction: 'on' as const })),
    1,
  );
  const labelled: Array<{ id: string; class: string; features: StepFeatures }> = m.pairs.map((p) => {
    const t = trueOn[p.truth]!;
    const d = detOn[p.detected]!;
    return {
      id: t.profile,
      class: t.class,
      features: { dp: d.deltaP, dq: d.deltaQ, ...d.harmonics },
      ...(d.phases && { phases: d.phases }),
    };
  });
  return { signatures: trainSignatures(base, labelled), labelled: labelled.length };
}
