import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { billingDomain } from '../ledger/billing-record.js';
import { defaultTariff } from '../ledger/tariff.js';
import type { Scenario } from '../profiles/scenario-schema.js';
import { synthesizeMeterSync } from '../profiles/synth.js';
import { type MeterConfigInput, parseMeterConfig } from './config.js';
import { type MeterOutputs, meterKey, ReferenceMeter } from './reference-meter.js';
import { type Signature, signaturesFromProfiles } from './signatures.js';
import { BillingStore } from './store.js';

export type MeterEvent = Parameters<MeterOutputs['event']>[0];

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
  const signatures = opts.signatures ?? signaturesFromProfiles();
  for (const house of scenario.houses) {
    const out: MeterOutputs = {
      event: (e) => events.push(e),
      measurement: (m) => {
        importWh[m.meterId] = m.importWh;
      },
      billing: () => {},
      report: () => {},
      log: () => {},
      pulse: () => {},
    };
    const meter = new ReferenceMeter(
      parseMeterConfig(opts.config ?? {}),
      {
        meterId: house.id,
        hostContractId: house.contract,
        epochS: Date.parse(scenario.start) / 1000,
        key: meterKey(seed, house.id),
        domain: billingDomain(1337n, '0x0000000000000000000000000000000000000000'),
        tariff: defaultTariff(),
        tariffVersion: 1,
        seed,
      },
      signatures,
      out,
      new BillingStore(join(mkdtempSync(join(tmpdir(), 'bench-replay-')), 'store.jsonl')),
      128,
      scenario.frequency,
    );
    let blocks = 0;
    for (const b of synthesizeMeterSync(scenario, house.id, { seed })) {
      meter.processBlock(b);
      // Long replays yield now and then so the process stays responsive (progress, signals, test runners).
      if (++blocks % 600 === 0) await new Promise((r) => setImmediate(r));
    }
    meter.finish(scenario.durationS);
  }
  return { events, importWh };
}
