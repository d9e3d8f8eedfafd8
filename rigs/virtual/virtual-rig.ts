import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type BillingDomain, pseudonym, type SignedBillingRecord } from '../../billing/billing-record.js';
import { signedBillingRecordFromJson } from '../../billing/record-json.js';
import type { Tariff } from '../../billing/tariff.js';
import { RigError } from '../../core/errors.js';
import { ENTRY } from '../../core/record/entries.js';
import {
  CAPABILITIES,
  type Capability,
  type CaseContext,
  type CasePlan,
  type Rig,
  type RigIdentity,
} from '../../core/rig.js';
import type { LedgerForwarder } from '../../meter/billing.js';
import { type MeterConfig, type MeterConfigInput, parseMeterConfig } from '../../meter/config.js';
import { createReferenceMeter, signaturesFor } from '../../meter/factory.js';
import { firmwareHash, meterKey } from '../../meter/identity.js';
import type { MeterOutputs } from '../../meter/outputs.js';
import type { ReferenceMeter } from '../../meter/reference-meter.js';
import { PULSES_PER_KWH } from '../../meter/registers.js';
import { BillingStore } from '../../meter/store.js';
import type { Scenario } from '../../profiles/scenario-schema.js';
import { synthesizeMeterSync } from '../../profiles/synth.js';
import type { CycleBlock } from '../../profiles/waveform.js';
import { type EvSignal, scenarioEvSignals } from '../scenario-setpoints.js';

/** Longest stretch of synchronous simulation between two turns of the event loop. */
const TURN_MS = 50;

/**
 * Where the rig relays a meter's signed records (the run's ledger session): resolves with the ledger's answer,
 * rejects when the ledger cannot be reached. Declared here so the rig needs nothing from engine/.
 */
export interface RecordRelay {
  submit(signed: SignedBillingRecord): Promise<{ status: 'landed' | 'already-landed' | 'rejected' }>;
}

/** The chain operations the virtual rig needs: register each simulated meter, relay its records. */
export interface VirtualLedger {
  readonly domain: BillingDomain;
  readonly tariff: Tariff;
  readonly tariffVersion: number;
  registerMeter(address: string, hostPseudonym: string, firmwareHash: string, attested: boolean): Promise<void>;
  /** The last sequence the ledger holds for a key: a meter certified before on the same ledger keeps counting. */
  lastSeq(address: string): Promise<bigint>;
  sink(observe: (kind: string, data: Record<string, unknown>) => void): RecordRelay;
}

/** One house of a case: its meter, its store-and-forward queue to the ledger and its waveform stream. */
interface Lane {
  id: string;
  meter: ReferenceMeter;
  store: BillingStore;
  forwarder: LedgerForwarder;
  /** Records the pulses counted since the last register read. */
  readPulses(): void;
  /** The charge point's tokens and control-pilot states, in time order (the meter sits in the charge point). */
  signals: EvSignal[];
  nextSignal: number;
  blocks: Generator<CycleBlock>;
  finished: boolean;
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
/** What the built-in `sim` rig can play: everything but a charging station (the in-process meter is not one). */
export const SIM_CAPABILITIES: ReadonlySet<Capability> = new Set(CAPABILITIES.filter((c) => c !== 'station.ocpp'));

export class VirtualRig implements Rig {
  readonly name = 'sim';
  readonly capabilities = SIM_CAPABILITIES;
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
          capabilities: [
            'load.setpoints',
            'load.waveform',
            'ev.cp',
            'relay.switch',
            'supply.voltage',
            'supply.frequency',
          ],
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
        // The simulated meter is the bench's own reference implementation; it has no serial number.
        vendor: 'bench (simulated reference meter)',
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
    const signatures = signaturesFor(config);
    const samplesPerCycle = config.samplesPerCycle ?? this.opts.samplesPerCycle ?? 128;
    const work = mkdtempSync(join(tmpdir(), 'bench-sim-'));
    const genuine = firmwareHash(config.firmwareVersion);
    const total = scenario.houses.length * scenario.durationS;
    const label = (id: string) => (scenario.houses.length === 1 ? id : `${scenario.houses.length} meters`);
    const lanes: Lane[] = [];
    let done = 0;
    try {
      for (const house of scenario.houses) {
        const key = meterKey(ctx.seed, house.id);
        // The bench reads the meter's S0 pulse counter when it reads its registers (as a hardware rig does at
        // each poll): one entry per read with the pulses counted since the last, not one entry per pulse.
        const pulses = { channel: `${house.id}/s0`, count: 0, t: 0 };
        const readPulses = () => {
          if (pulses.count === 0) return;
          // t: the latest pulse's own time (the meter's cycle), so the error calculator can gate on pulse edges.
          ctx.observe(ENTRY.pulse, {
            channel: pulses.channel,
            t: pulses.t,
            count: pulses.count,
            impPerKWh: PULSES_PER_KWH,
          });
          pulses.count = 0;
        };
        const outputs: MeterOutputs = {
          event: (e) => ctx.observe(ENTRY.meterEvent, e),
          measurement: (m) => {
            ctx.observe(ENTRY.meterMeasurement, m);
            readPulses();
          },
          billing: (b) => ctx.observe(ENTRY.meterBilling, b),
          report: (r) => ctx.observe(ENTRY.meterReport, r),
          log: (l) => ctx.observe(ENTRY.meterLog, l),
          pulse: (p) => {
            pulses.channel = p.channel;
            pulses.count += p.count;
            pulses.t = p.t;
          },
        };
        const store = new BillingStore(join(work, `${house.id}.billing.jsonl`));
        const meter = createReferenceMeter({
          config,
          identity: {
            meterId: house.id,
            hostContractId: house.contract,
            epochS: Date.parse(scenario.start) / 1000,
            key,
            domain: this.opts.ledger.domain,
            tariff: this.opts.ledger.tariff,
            tariffVersion: this.opts.ledger.tariffVersion,
            seed: ctx.seed,
            lastSeq: await this.opts.ledger.lastSeq(key.address),
          },
          signatures,
          outputs,
          store,
          samplesPerCycle,
          frequency: scenario.frequency,
        });
        const sink = this.opts.ledger.sink(ctx.observe);
        lanes.push({
          id: house.id,
          meter,
          store,
          readPulses,
          forwarder: { submit: (signed) => sink.submit(signedBillingRecordFromJson(signed)) },
          signals: scenarioEvSignals(scenario, house.id, ctx.seed),
          nextSignal: 0,
          blocks: synthesizeMeterSync(scenario, house.id, { seed: ctx.seed, samplesPerCycle }),
          finished: false,
        });
        // The utility registers the meter with the firmware hash it reports and attests only the genuine build.
        await this.opts.ledger.registerMeter(
          key.address,
          pseudonym(house.contract, config.pseudonymSalt),
          meter.firmwareHash,
          meter.firmwareHash === genuine,
        );
      }
      // The houses run side by side on the virtual clock, one block (a second) each in turn, as meters on one
      // street do: their records reach the ledger interleaved, and every meter is live for the whole case.
      let lastTurn = performance.now();
      for (let open = lanes.length; open > 0; ) {
        for (const lane of lanes) {
          if (lane.finished) continue;
          if (ctx.signal.aborted) throw new RigError('case aborted', { device: 'sim' });
          const next = lane.blocks.next();
          if (next.done) {
            lane.finished = true;
            open--;
            lane.meter.finish();
            lane.readPulses();
            // Outage windows past the end of the scenario are over by the time the bench reads the chain back.
            await lane.meter.forward(lane.forwarder, Number.POSITIVE_INFINITY);
            continue;
          }
          const block = next.value;
          const tEnd = block.t0 + block.cycles / block.frequency;
          while (lane.nextSignal < lane.signals.length && lane.signals[lane.nextSignal]!.t < tEnd) {
            const k = lane.signals[lane.nextSignal++]!;
            if (k.kind === 'authorize') lane.meter.authorize(k.contractId, k.t);
            else lane.meter.pilot(k.evId, k.state, k.t);
          }
          lane.meter.processBlock(block);
          if (lane.meter.backlog > 0) await lane.meter.forward(lane.forwarder, tEnd);
          // Yield by wall time, not by block count, so Ctrl-C, progress bars and a test runner's RPC are served every
          // few tens of milliseconds whatever the machine's load (300 blocks took 4.6 s with both cores busy).
          if (performance.now() - lastTurn > TURN_MS) {
            await nextTurn();
            lastTurn = performance.now();
          }
          done += block.cycles / block.frequency;
          if (Math.round(done) % 60 === 0) ctx.progress(done, total, label(lane.id));
        }
      }
    } finally {
      for (const lane of lanes) lane.store.close();
      rmSync(work, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {}
}
