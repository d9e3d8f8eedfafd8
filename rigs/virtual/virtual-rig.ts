import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type BillingDomain, pseudonym, type SignedBillingRecord } from '../../billing/billing-record.js';
import { signedBillingRecordFromJson } from '../../billing/record-json.js';
import type { Tariff } from '../../billing/tariff.js';
import { RigError } from '../../core/errors.js';
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
import { firmwareHash, meterKey } from '../../meter/identity.js';
import type { Scenario } from '../../profiles/scenario-schema.js';
import { Lane, type LaneSetup } from './lane.js';
import { LaneWorkerPool, laneWorkersAvailable } from './lane-workers.js';

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

export interface VirtualRigOptions {
  meterConfig: MeterConfigInput;
  ledger: VirtualLedger;
  samplesPerCycle?: number;
  /**
   * Worker threads the houses' lanes (synthesis, meter, store) run on; 0 runs them on the calling thread. Default:
   * defaultLaneWorkers. Any number gives the same record.
   */
  workers?: number;
}

/**
 * Lane threads for a case of `houses` houses when none are asked for: one per house up to the cores, so a street's
 * meters run side by side. A single house stays on the calling thread: a thread of its own costs about 60 MB (its
 * own heap and copy of the meter's modules) and measured no faster, as the one house's synthesis and meter are
 * the work either way (perf/certify.ts).
 */
export function defaultLaneWorkers(houses: number): number {
  return houses > 1 ? Math.min(houses, availableParallelism()) : 0;
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
  private pool: LaneWorkerPool | undefined;

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
    const samplesPerCycle = config.samplesPerCycle ?? this.opts.samplesPerCycle ?? 128;
    const work = mkdtempSync(join(tmpdir(), 'bench-sim-'));
    const genuine = firmwareHash(config.firmwareVersion);
    const reported = firmwareHash(config.firmwareVersion, config.faults.unattestedFirmware);
    const total = scenario.houses.length * scenario.durationS;
    const label = (id: string) => (scenario.houses.length === 1 ? id : `${scenario.houses.length} meters`);
    const setups: LaneSetup[] = [];
    const sinks: RecordRelay[] = [];
    for (const house of scenario.houses) {
      const key = meterKey(ctx.seed, house.id);
      setups.push({
        scenario,
        houseId: house.id,
        config,
        seed: ctx.seed,
        samplesPerCycle,
        domain: this.opts.ledger.domain,
        tariff: this.opts.ledger.tariff,
        tariffVersion: this.opts.ledger.tariffVersion,
        lastSeq: await this.opts.ledger.lastSeq(key.address),
        workDir: work,
      });
      sinks.push(this.opts.ledger.sink(ctx.observe));
      // The utility registers the meter with the firmware hash it reports and attests only the genuine build.
      await this.opts.ledger.registerMeter(
        key.address,
        pseudonym(house.contract, config.pseudonymSalt),
        reported,
        reported === genuine,
      );
    }
    const forwarder = (i: number): LedgerForwarder => ({
      submit: (signed) => sinks[i]!.submit(signedBillingRecordFromJson(signed)),
    });
    let done = 0;
    const progress = (i: number, seconds: number) => {
      done += seconds;
      if (Math.round(done) % 60 === 0) ctx.progress(done, total, label(setups[i]!.houseId));
    };
    // Yield by wall time, not by block count, so Ctrl-C, progress bars and a test runner's RPC are served every few
    // tens of milliseconds whatever the machine's load (300 blocks took 4.6 s with both cores busy).
    let lastTurn = performance.now();
    const turn = async () => {
      if (performance.now() - lastTurn > TURN_MS) {
        await nextTurn();
        lastTurn = performance.now();
      }
    };
    const workers = this.opts.workers ?? defaultLaneWorkers(setups.length);
    try {
      if (workers > 0 && laneWorkersAvailable()) {
        this.pool ??= new LaneWorkerPool();
        await this.pool.run(setups, workers, { observe: ctx.observe, forwarder, progress, signal: ctx.signal, turn });
        return;
      }
      const lanes = setups.map((setup, i) => new Lane(setup, ctx.observe, forwarder(i)));
      try {
        // The houses run side by side on the virtual clock, one block (a second) each in turn, as meters on one
        // street do: their records reach the ledger interleaved, and every meter is live for the whole case.
        while (lanes.some((l) => !l.finished)) {
          for (const [i, lane] of lanes.entries()) {
            if (lane.finished) continue;
            if (ctx.signal.aborted) throw new RigError('case aborted', { device: 'sim' });
            progress(i, await lane.step());
            await turn();
          }
        }
      } finally {
        for (const lane of lanes) lane.close();
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}
