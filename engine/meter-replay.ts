import type { MeterConfigInput } from '../meter/config.js';
import { offlineMeter } from '../meter/factory.js';
import type { MeterEvent } from '../meter/outputs.js';
import type { Signature } from '../meter/signatures.js';
import type { Scenario } from '../profiles/scenario-schema.js';
import { synthesizeMeterSync } from '../profiles/synth.js';

/**
 * Plays every house of a scenario through its own reference meter, off-line (no ledger), and returns the events.
 */
export async function replayScenario(
  scenario: Scenario,
  seed: number,
  opts: { config?: MeterConfigInput; signatures?: readonly Signature[] } = {},
): Promise<{ events: MeterEvent[]; importWh: Record<string, number> }> {
  const events: MeterEvent[] = [];
  const importWh: Record<string, number> = {};
  for (const house of scenario.houses) {
    const { meter, close } = offlineMeter({
      meterId: house.id,
      hostContractId: house.contract,
      epochS: Date.parse(scenario.start) / 1000,
      seed,
      config: opts.config,
      signatures: opts.signatures,
      frequency: scenario.frequency,
      outputs: {
        event: (e) => events.push(e),
        measurement: (m) => {
          importWh[m.meterId] = m.importWh;
        },
      },
    });
    let blocks = 0;
    for (const b of synthesizeMeterSync(scenario, house.id, { seed })) {
      meter.processBlock(b);
      // Long replays yield now and then so the process stays responsive (progress, signals, test runners).
      if (++blocks % 600 === 0) await new Promise((r) => setImmediate(r));
    }
    meter.finish();
    close();
  }
  return { events, importWh };
}
