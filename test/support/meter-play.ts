import type { ReferenceMeter } from '../../meter/reference-meter.js';
import type { Scenario } from '../../profiles/scenario-schema.js';
import { synthesizeMeterSync } from '../../profiles/synth.js';
import type { EvSignal } from '../../rigs/scenario-setpoints.js';

/**
 * Plays one meter's synthesized blocks into a reference meter with the EV signals (contract tokens, pilot states)
 * delivered before the block they fall in, as the sim rig does; then finishes the meter.
 */
export function playIntoMeter(
  meter: ReferenceMeter,
  scenario: Scenario,
  meterId: string,
  opts: { seed: number; samplesPerCycle: number; signals: readonly EvSignal[] },
): void {
  let next = 0;
  for (const b of synthesizeMeterSync(scenario, meterId, { seed: opts.seed, samplesPerCycle: opts.samplesPerCycle })) {
    const tEnd = b.t0 + b.cycles / b.frequency;
    while (next < opts.signals.length && opts.signals[next]!.t < tEnd) {
      const k = opts.signals[next++]!;
      if (k.kind === 'authorize') meter.authorize(k.contractId, k.t);
      else meter.pilot(k.evId, k.state, k.t);
    }
    meter.processBlock(b);
  }
  meter.finish();
}
