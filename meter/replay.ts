import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { billingDomain } from '../billing/billing-record.js';
import { defaultTariff } from '../billing/tariff.js';
import type { Scenario } from '../profiles/scenario-schema.js';
import { synthesizeMeterSync } from '../profiles/synth.js';
import { type MeterConfigInput, parseMeterConfig } from './config.js';
import { type MeterOutputs, meterKey, ReferenceMeter } from './reference-meter.js';
import { loadSignatures, type Signature, signaturesFromProfiles } from './signatures.js';
import { BillingStore } from './store.js';

export type MeterEvent = Parameters<MeterOutputs['event']>[0];

const ignore = () => {};

/**
 * A reference meter outside any rig: no ledger (billing records are signed for a zero verifying contract and
 * kept in a temporary store), the default tariff, and no-op outputs for whatever the caller does not watch.
 * Signatures: `signatures`, else the config's signaturesFile, else the profile library's.
 */
export function offlineMeter(o: {
  meterId: string;
  seed: number;
  hostContractId?: string;
  epochS?: number;
  config?: MeterConfigInput;
  signatures?: readonly Signature[];
  outputs?: Partial<MeterOutputs>;
  samplesPerCycle?: number;
  frequency?: number;
}): { meter: ReferenceMeter; store: BillingStore } {
  const outputs: MeterOutputs = {
    event: ignore,
    measurement: ignore,
    billing: ignore,
    report: ignore,
    log: ignore,
    pulse: ignore,
    ...o.outputs,
  };
  const store = new BillingStore(join(mkdtempSync(join(tmpdir(), 'bench-meter-')), `${o.meterId}.billing.jsonl`));
  const config = parseMeterConfig(o.config ?? {});
  const meter = new ReferenceMeter(
    config,
    {
      meterId: o.meterId,
      hostContractId: o.hostContractId ?? `C-${o.meterId.toUpperCase()}`,
      epochS: o.epochS ?? 0,
      key: meterKey(o.seed, o.meterId),
      domain: billingDomain(1337n, '0x0000000000000000000000000000000000000000'),
      tariff: defaultTariff(),
      tariffVersion: 1,
      seed: o.seed,
    },
    o.signatures ?? (config.signaturesFile ? loadSignatures(config.signaturesFile) : signaturesFromProfiles()),
    outputs,
    store,
    o.samplesPerCycle ?? 128,
    o.frequency ?? 50,
  );
  return { meter, store };
}

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
    const { meter, store } = offlineMeter({
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
    store.close();
  }
  return { events, importWh };
}
