import { join } from 'node:path';
import type { BillingDomain } from '../../billing/billing-record.js';
import type { Tariff } from '../../billing/tariff.js';
import { ENTRY } from '../../core/record/entries.js';
import type { LedgerForwarder } from '../../meter/billing.js';
import type { MeterConfig } from '../../meter/config.js';
import { createReferenceMeter, signaturesFor } from '../../meter/factory.js';
import { meterKey } from '../../meter/identity.js';
import type { MeterOutputs } from '../../meter/outputs.js';
import type { ReferenceMeter } from '../../meter/reference-meter.js';
import { PULSES_PER_KWH } from '../../meter/registers.js';
import { BillingStore } from '../../meter/store.js';
import type { Scenario } from '../../profiles/scenario-schema.js';
import { synthesizeMeterSync } from '../../profiles/synth.js';
import type { CycleBlock } from '../../profiles/waveform.js';
import { type EvSignal, scenarioEvSignals } from '../scenario-setpoints.js';

export type Observe = (kind: string, data: Record<string, unknown>) => void;

/**
 * Everything one house of a case needs to run anywhere (this thread or a worker): plain data, so it crosses a
 * worker boundary by structured clone.
 */
export interface LaneSetup {
  scenario: Scenario;
  houseId: string;
  /** The case's meter configuration, merged and checked. */
  config: MeterConfig;
  seed: number;
  samplesPerCycle: number;
  domain: BillingDomain;
  tariff: Tariff;
  tariffVersion: number;
  /** The last sequence the ledger holds for this meter's key. */
  lastSeq: bigint;
  /** Folder for the meter's store-and-forward file. */
  workDir: string;
}

/**
 * One house of a case: its waveform stream, its meter (the meter sits in the charge point, so it also takes the
 * EV's tokens and control-pilot states), its store-and-forward queue and its pulse output read at each register
 * read. The rig steps lanes one block (a second) at a time; what the meter outputs goes to `observe`, its signed
 * records to `forwarder`.
 */
export class Lane {
  readonly id: string;
  private readonly meter: ReferenceMeter;
  private readonly store: BillingStore;
  private readonly blocks: Generator<CycleBlock>;
  private readonly signals: EvSignal[];
  private nextSignal = 0;
  private readonly pulses: { channel: string; count: number; t: number };
  finished = false;

  constructor(
    setup: LaneSetup,
    private readonly observe: Observe,
    private readonly forwarder: LedgerForwarder,
  ) {
    const { scenario, houseId } = setup;
    const house = scenario.houses.find((h) => h.id === houseId);
    if (!house) throw new Error(`scenario ${scenario.name} has no house ${houseId}`);
    const { config } = setup;
    this.id = houseId;
    // The bench reads the meter's S0 pulse counter when it reads its registers (as a hardware rig does at each
    // poll): one entry per read with the pulses counted since the last, not one entry per pulse.
    this.pulses = { channel: `${houseId}/s0`, count: 0, t: 0 };
    const outputs: MeterOutputs = {
      event: (e) => observe(ENTRY.meterEvent, e),
      measurement: (m) => {
        observe(ENTRY.meterMeasurement, m);
        this.readPulses();
      },
      billing: (b) => observe(ENTRY.meterBilling, b),
      report: (r) => observe(ENTRY.meterReport, r),
      log: (l) => observe(ENTRY.meterLog, l),
      pulse: (p) => {
        this.pulses.channel = p.channel;
        this.pulses.count += p.count;
        this.pulses.t = p.t;
      },
    };
    this.store = new BillingStore(join(setup.workDir, `${houseId}.billing.jsonl`));
    this.meter = createReferenceMeter({
      config,
      identity: {
        meterId: houseId,
        hostContractId: house.contract,
        epochS: Date.parse(scenario.start) / 1000,
        key: meterKey(setup.seed, houseId),
        domain: setup.domain,
        tariff: setup.tariff,
        tariffVersion: setup.tariffVersion,
        seed: setup.seed,
        lastSeq: setup.lastSeq,
      },
      signatures: signaturesFor(config),
      outputs,
      store: this.store,
      samplesPerCycle: setup.samplesPerCycle,
      frequency: scenario.frequency,
    });
    this.signals = scenarioEvSignals(scenario, houseId, setup.seed);
    this.blocks = synthesizeMeterSync(scenario, houseId, { seed: setup.seed, samplesPerCycle: setup.samplesPerCycle });
  }

  /** Plays the lane's next block; the scenario seconds it covered (0 once the lane is finished). */
  async step(): Promise<number> {
    if (this.finished) return 0;
    const next = this.blocks.next();
    if (next.done) {
      this.finished = true;
      this.meter.finish();
      this.readPulses();
      // Outage windows past the end of the scenario are over by the time the bench reads the chain back.
      await this.meter.forward(this.forwarder, Number.POSITIVE_INFINITY);
      return 0;
    }
    const block = next.value;
    const tEnd = block.t0 + block.cycles / block.frequency;
    while (this.nextSignal < this.signals.length && this.signals[this.nextSignal]!.t < tEnd) {
      const k = this.signals[this.nextSignal++]!;
      if (k.kind === 'authorize') this.meter.authorize(k.contractId, k.t);
      else this.meter.pilot(k.evId, k.state, k.t);
    }
    this.meter.processBlock(block);
    if (this.meter.backlog > 0) await this.meter.forward(this.forwarder, tEnd);
    return block.cycles / block.frequency;
  }

  close(): void {
    this.store.close();
  }

  private readPulses(): void {
    if (this.pulses.count === 0) return;
    // t: the latest pulse's own time (the meter's cycle), so the error calculator can gate on pulse edges.
    this.observe(ENTRY.pulse, {
      channel: this.pulses.channel,
      t: this.pulses.t,
      count: this.pulses.count,
      impPerKWh: PULSES_PER_KWH,
    });
    this.pulses.count = 0;
  }
}
