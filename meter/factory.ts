import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { billingDomain } from '../billing/billing-record.js';
import { defaultTariff } from '../billing/tariff.js';
import { type MeterConfig, type MeterConfigInput, parseMeterConfig } from './config.js';
import { type MeterIdentity, meterKey } from './identity.js';
import type { MeterOutputs } from './outputs.js';
import { ReferenceMeter } from './reference-meter.js';
import { loadSignatures, type Signature, signaturesFromProfiles } from './signatures.js';
import { BillingStore } from './store.js';

/** Everything a reference meter is built from. */
export interface MeterSetup {
  config: MeterConfig;
  identity: MeterIdentity;
  outputs: MeterOutputs;
  /** The durable billing store (kept by the caller: a recommissioned meter goes on with the same store). */
  store: BillingStore;
  /** Default: the config's signaturesFile, else the profile library's signatures. */
  signatures?: readonly Signature[];
  /** Samples per mains cycle of the meter's ADC (default 128). */
  samplesPerCycle?: number;
  /** Mains frequency in Hz (default 50). */
  frequency?: number;
}

/** The signatures a meter with this config identifies loads by: its signaturesFile's, else the profile library's. */
export function signaturesFor(config: MeterConfig): Signature[] {
  return config.signaturesFile ? loadSignatures(config.signaturesFile) : signaturesFromProfiles();
}

/** The one place a reference meter is built (virtual rig, meter emulator, off-line meter). */
export function createReferenceMeter(s: MeterSetup): ReferenceMeter {
  return new ReferenceMeter(
    s.config,
    s.identity,
    s.signatures ?? signaturesFor(s.config),
    s.outputs,
    s.store,
    s.samplesPerCycle ?? 128,
    s.frequency ?? 50,
  );
}

/** The ledger side of an identity before any ledger commissions the meter: a zero verifying contract, the default tariff. */
export function uncommissioned(): Pick<MeterIdentity, 'domain' | 'tariff' | 'tariffVersion'> {
  return {
    domain: billingDomain(1337n, '0x0000000000000000000000000000000000000000'),
    tariff: defaultTariff(),
    tariffVersion: 1,
  };
}

const ignore = () => {};

/** Outputs that drop everything the caller does not watch. */
export function meterOutputs(watch: Partial<MeterOutputs> = {}): MeterOutputs {
  return { event: ignore, measurement: ignore, billing: ignore, report: ignore, log: ignore, pulse: ignore, ...watch };
}

/**
 * A reference meter outside any rig: no ledger (billing records are signed for a zero verifying contract and
 * kept in a temporary store, removed by `close()`), the default tariff, and no-op outputs for whatever the caller
 * does not watch.
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
}): { meter: ReferenceMeter; store: BillingStore; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-meter-'));
  const store = new BillingStore(join(dir, `${o.meterId}.billing.jsonl`));
  const meter = createReferenceMeter({
    config: parseMeterConfig(o.config ?? {}),
    identity: {
      meterId: o.meterId,
      hostContractId: o.hostContractId ?? `C-${o.meterId.toUpperCase()}`,
      epochS: o.epochS ?? 0,
      key: meterKey(o.seed, o.meterId),
      ...uncommissioned(),
      seed: o.seed,
    },
    signatures: o.signatures,
    outputs: meterOutputs(o.outputs),
    store,
    samplesPerCycle: o.samplesPerCycle,
    frequency: o.frequency,
  });
  // The store outlives no process: a later one makes its own, so close() removes its folder with it.
  const close = () => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { meter, store, close };
}
