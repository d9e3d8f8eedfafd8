import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RigError } from '../../engine/errors.js';
import type { BillingSink } from '../../engine/ledger-session.js';
import { ENTRY } from '../../engine/observations.js';
import {
  CAPABILITIES,
  type Capability,
  type CaseContext,
  type CasePlan,
  type Rig,
  type RigIdentity,
} from '../../engine/rig.js';
import {
  type BillingDomain,
  pseudonym,
  type SignedBillingRecordJson,
  signedBillingRecordFromJson,
} from '../../ledger/billing-record.js';
import type { Tariff } from '../../ledger/tariff.js';
import { type MeterConfig, type MeterConfigInput, parseMeterConfig } from '../../meter/config.js';
import { firmwareHash, type MeterOutputs, meterKey, ReferenceMeter } from '../../meter/reference-meter.js';
import { loadSignatures, signaturesFromProfiles } from '../../meter/signatures.js';
import { BillingStore } from '../../meter/store.js';
import type { Scenario } from '../../profiles/scenario-schema.js';
import { synthesizeMeterSync } from '../../profiles/synth.js';

/** The chain operations the virtual rig needs: register each simulated meter, relay its records. */
export interface VirtualLedger {
  readonly domain: BillingDomain;
  readonly tariff: Tariff;
  readonly tariffVersion: number;
  registerMeter(address: string, hostPseudonym: string, firmwareHash: string, attested: boolean): Promise<void>;
  sink(observe: (kind: string, data: Record<string, unknown>) => void): BillingSink;
}

export interface VirtualRigOptions {
  meterConfig: MeterConfigInput;
  ledger: VirtualLedger;
  samplesPerCycle?: number;
}

/**
 * The built-in `sim` rig: the scenario's waveforms synthesized in-process on a virtual clock (as fast as the CPU
 * allows) and fed to one reference meter per house. It differs from a hardware rig only in its transport: the
 * "load" is the synthesizer and the "meter" is an in-process object instead of a device on a serial port.
 */
export class VirtualRig implements Rig {
  readonly name = 'sim';
  readonly capabilities: ReadonlySet<Capability> = new Set(CAPABILITIES);
  private readonly base: MeterConfig;

  constructor(private readonly opts: VirtualRigOptions) {
    this.base = parseMeterConfig(opts.meterConfig);
  }

  async open(): Promise<RigIdentity> {
    return {
      name: this.name,
      instruments: [
        {
          id: 'synth',
          role: 'load',
          identity: 'bench waveform synthesizer (in-process)',
          transport: 'sim',
          capabilities: ['load.setpoints', 'load.waveform', 'ev.cp', 'relay.switch'],
        },
        {
          id: 'reference-meter',
          role: 'dut',
          identity: `${this.base.model} ${this.base.firmwareVersion}`,
          transport: 'sim',
          capabilities: ['meter.measurements', 'meter.events', 'meter.billing', 'pulse.count'],
        },
      ],
      dut: {
        model: this.base.model,
        firmwareVersion: this.base.firmwareVersion,
        firmwareHash: firmwareHash(this.base.firmwareVersion, this.base.faults.unattestedFirmware),
        faults: Object.fromEntries(Object.entries(this.base.faults).filter(([, v]) => v !== 0 && v !== false)),
      },
    };
  }

  async runCase(plan: CasePlan, ctx: CaseContext): Promise<void> {
    const scenario = plan.scenario as Scenario;
    const config = parseMeterConfig(
      {
        ...this.opts.meterConfig,
        ...(plan.meter ?? {}),
        faults: { ...this.base.faults, ...((plan.meter?.faults as object) ?? {}) },
      },
      `case ${plan.caseId} meter`,
    );
    const signatures = config.signaturesFile ? loadSignatures(config.signaturesFile) : signaturesFromProfiles();
    const work = mkdtempSync(join(tmpdir(), 'bench-sim-'));
    const genuine = firmwareHash(config.firmwareVersion);
    const total = scenario.houses.length * scenario.durationS;
    let done = 0;
    try {
      for (const house of scenario.houses) {
        const key = meterKey(ctx.seed, house.id);
        const outputs: MeterOutputs = {
          event: (e) => ctx.observe(ENTRY.meterEvent, e),
          measurement: (m) => ctx.observe(ENTRY.meterMeasurement, m),
          billing: (b) => ctx.observe(ENTRY.meterBilling, b),
          report: (r) => ctx.observe(ENTRY.meterReport, r),
          log: (l) => ctx.observe(ENTRY.meterLog, l),
          pulse: (p) => ctx.observe(ENTRY.pulse, p),
        };
        const store = new BillingStore(join(work, `${house.id}.billing.jsonl`));
        const meter = new ReferenceMeter(
          config,
          {
            meterId: house.id,
            hostContractId: house.contract,
            epochS: Date.parse(scenario.start) / 1000,
            key,
            domain: this.opts.ledger.domain,
            tariff: this.opts.ledger.tariff,
            tariffVersion: this.opts.ledger.tariffVersion,
            seed: ctx.seed,
          },
          signatures,
          outputs,
          store,
          this.opts.samplesPerCycle ?? 128,
          scenario.frequency,
        );
        // The utility registers the meter with the firmware hash it reports and attests only the genuine build.
        await this.opts.ledger.registerMeter(
          key.address,
          pseudonym(house.contract, config.pseudonymSalt),
          meter.firmwareHash,
          meter.firmwareHash === genuine,
        );
        const sink = this.opts.ledger.sink(ctx.observe);
        const forwarder = {
          submit: (signed: SignedBillingRecordJson) => sink.submit(signedBillingRecordFromJson(signed)),
        };
        const tokens = scenario.evs
          .flatMap((ev) =>
            ev.sessions
              .filter((s) => s.at === house.id && s.authorise)
              .map((s) => ({ t: Math.max(0, s.plugIn - 2), contractId: ev.owner })),
          )
          .sort((a, b) => a.t - b.t);
        let nextToken = 0;
        let blocks = 0;
        try {
          for (const block of synthesizeMeterSync(scenario, house.id, {
            seed: ctx.seed,
            samplesPerCycle: this.opts.samplesPerCycle,
          })) {
            if (ctx.signal.aborted) throw new RigError('case aborted', { device: 'sim' });
            const tEnd = block.t0 + block.cycles / block.frequency;
            while (nextToken < tokens.length && tokens[nextToken]!.t < tEnd) {
              const k = tokens[nextToken++]!;
              meter.authorize(k.contractId, k.t);
            }
            meter.processBlock(block);
            if (meter.backlog > 0) await meter.forward(forwarder, tEnd);
            // Yield now and then so Ctrl-C and progress bars are served during long cases.
            else if (++blocks % 300 === 0) await new Promise((r) => setImmediate(r));
            done += block.cycles / block.frequency;
            if (Math.round(done) % 60 === 0) ctx.progress(done, total, house.id);
          }
          meter.finish();
          // Outage windows past the end of the scenario are over by the time the bench reads the chain back.
          if (!ctx.signal.aborted) await meter.forward(forwarder, Number.POSITIVE_INFINITY);
        } finally {
          store.close();
        }
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {}
}
