import { join } from 'node:path';
import { billingDomain } from '../../ledger/billing-record.js';
import { defaultTariff } from '../../ledger/tariff.js';
import { parseMeterConfig } from '../../meter/config.js';
import { type MeterOutputs, meterKey, ReferenceMeter } from '../../meter/reference-meter.js';
import { signaturesFromProfiles } from '../../meter/signatures.js';
import { BillingStore } from '../../meter/store.js';
import type { CycleBlock } from '../../profiles/waveform.js';
import type { BenchPhysics } from './physics.js';

interface LoadSegment {
  atMs: number;
  p: number;
  q: number;
}

export interface MeterEmulatorOptions {
  meterId: string;
  outputs: MeterOutputs;
  /** Directory for the meter's durable billing store. */
  workDir: string;
  samplesPerCycle?: number;
  frequency?: number;
  /** Cycles per block handed to the meter. */
  blockCycles?: number;
}

/**
 * The reference meter as the DUT of an emulated bench: fed mains cycles synthesised from what the emulated load
 * draws (its P and Q; a programmable load sets power and power factor, so the current is sinusoidal), on the
 * physics' (scaled) clock. Load changes are kept with their wall time so a step lands in the cycle it happened in,
 * whatever the tick period. Its outputs go to the meter's faces (the JSONL stream, registers).
 */
export class ReferenceMeterEmulator {
  readonly meter: ReferenceMeter;
  private readonly segments: LoadSegment[] = [];
  private readonly originMs: number;
  private cyclesDone = 0;
  private readonly spc: number;
  private readonly frequency: number;
  private readonly block: CycleBlock;
  private readonly store: BillingStore;
  private readonly onLoad = (nowMs: number) => this.segments.push(this.segmentAt(nowMs));

  constructor(
    private readonly physics: BenchPhysics,
    opts: MeterEmulatorOptions,
    nowMs = performance.now(),
  ) {
    this.spc = opts.samplesPerCycle ?? 64;
    this.frequency = opts.frequency ?? 50;
    const cycles = opts.blockCycles ?? 10;
    this.block = {
      meterId: opts.meterId,
      t0: 0,
      frequency: this.frequency,
      samplesPerCycle: this.spc,
      cycles,
      voltage: new Float64Array(cycles * this.spc),
      current: new Float64Array(cycles * this.spc),
    };
    this.originMs = nowMs;
    this.segments.push(this.segmentAt(nowMs));
    physics.on('load', this.onLoad);
    this.store = new BillingStore(join(opts.workDir, `${opts.meterId}.billing.jsonl`));
    this.meter = new ReferenceMeter(
      parseMeterConfig({}),
      {
        meterId: opts.meterId,
        hostContractId: 'C-BENCH',
        epochS: Math.floor(Date.now() / 1000),
        key: meterKey(0, opts.meterId),
        // Off-chain: the emulated bench's meter signs for a placeholder ledger; its records stay on the stream.
        domain: billingDomain(1337n, '0x0000000000000000000000000000000000000000'),
        tariff: defaultTariff(),
        tariffVersion: 1,
        seed: 0,
      },
      signaturesFromProfiles(),
      opts.outputs,
      this.store,
      this.spc,
      this.frequency,
    );
  }

  private segmentAt(atMs: number): LoadSegment {
    return { atMs, p: this.physics.powerW, q: this.physics.powerW < 0 ? 0 : this.physics.reactiveVar };
  }

  /** A contract token presented now (the meter attributes the next EV session to it). */
  authorize(contractId: string): void {
    this.meter.authorize(contractId, this.cyclesDone / this.frequency);
  }

  /** Feeds the meter every whole cycle up to `nowMs` (physics time scale applies). */
  tick(nowMs: number): void {
    const emulatedS = ((nowMs - this.originMs) / 1000) * this.physics.timeScale;
    const target = Math.floor(emulatedS * this.frequency);
    const b = this.block;
    const maxCycles = b.voltage.length / this.spc;
    const vPeak = this.physics.voltage * Math.SQRT2;
    while (this.cyclesDone + maxCycles <= target) {
      b.t0 = this.cyclesDone / this.frequency;
      b.cycles = maxCycles;
      for (let c = 0; c < maxCycles; c++) {
        const tS = (this.cyclesDone + c) / this.frequency;
        const { p, q } = this.loadAt(this.originMs + (tS / this.physics.timeScale) * 1000);
        const iPeak = (Math.hypot(p, q) / this.physics.voltage) * Math.SQRT2;
        const phi = Math.atan2(q, p);
        for (let k = 0; k < this.spc; k++) {
          const w = (2 * Math.PI * k) / this.spc;
          b.voltage[c * this.spc + k] = vPeak * Math.sin(w);
          b.current[c * this.spc + k] = iPeak * Math.sin(w - phi);
        }
      }
      this.meter.processBlock(b);
      this.cyclesDone += maxCycles;
      this.prune(this.originMs + (this.cyclesDone / this.frequency / this.physics.timeScale) * 1000);
    }
  }

  private loadAt(wallMs: number): LoadSegment {
    let s = this.segments[0] as LoadSegment;
    for (const seg of this.segments) {
      if (seg.atMs > wallMs) break;
      s = seg;
    }
    return s;
  }

  /** Drops segments wholly in the past (keeps the one in force). */
  private prune(wallMs: number): void {
    while (this.segments.length > 1 && (this.segments[1] as LoadSegment).atMs <= wallMs) this.segments.shift();
  }

  close(): void {
    this.physics.off('load', this.onLoad);
    this.meter.finish();
    this.store.close();
  }
}
