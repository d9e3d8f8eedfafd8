import { join } from 'node:path';
import { billingDomain } from '../../billing/billing-record.js';
import { tariffFromJson } from '../../billing/tariff.js';
import { type MeterConfig, parseMeterConfig } from '../../meter/config.js';
import { createReferenceMeter, signaturesFor, uncommissioned } from '../../meter/factory.js';
import { type MeterIdentity, meterKey } from '../../meter/identity.js';
import type { MeterOutputs } from '../../meter/outputs.js';
import type { ReferenceMeter } from '../../meter/reference-meter.js';
import type { Signature } from '../../meter/signatures.js';
import { BillingStore } from '../../meter/store.js';
import type { CycleBlock } from '../../profiles/waveform.js';
import type { CommissionCommand } from '../../protocols/stream-commands.js';
import type { CpState } from '../ev-cp.js';
import { type BenchPhysics, reactiveOf } from './physics.js';

interface LoadSegment {
  atMs: number;
  p: number;
  q: number;
  /** A three-phase bench's L1, L2, L3. */
  phases?: Array<{ p: number; q: number }>;
}

interface PilotChange {
  atMs: number;
  state: CpState;
}

/** The emulated bench has one charge point; its pilot is the meter's only connector. */
const CONNECTOR = 'cp';

export interface MeterEmulatorOptions {
  meterId: string;
  outputs: MeterOutputs;
  /** Directory for the meter's durable billing store. */
  workDir: string;
  /** The host account the meter is installed for (only its pseudonym ever leaves the meter). */
  hostContractId?: string;
  samplesPerCycle?: number;
  frequency?: number;
  /** Cycles per block handed to the meter. */
  blockCycles?: number;
}

/**
 * The reference meter as the DUT of an emulated bench: fed mains cycles synthesised from what the emulated load
 * draws (its P and Q; a programmable load sets power and power factor, so the current is sinusoidal), on the
 * physics' (scaled) clock. Load changes are kept with their wall time so a step lands in the cycle it happened in,
 * whatever the tick period. Its outputs go to the meter's faces (the JSONL stream, registers). Commissioning (clock,
 * ledger domain, tariff) restarts the meter's timeline with the same key and sequence, as a utility's
 * reconfiguration of an installed meter would.
 */
export class ReferenceMeterEmulator {
  meter: ReferenceMeter;
  private readonly segments: LoadSegment[] = [];
  private readonly originMs: number;
  private cyclesDone = 0;
  /** Cycle count at the last commissioning: the meter's time 0. */
  private meterOrigin = 0;
  private readonly spc: number;
  private readonly frequency: number;
  private readonly block: CycleBlock;
  private readonly store: BillingStore;
  private readonly config: MeterConfig = parseMeterConfig({});
  private readonly signatures: Signature[] = signaturesFor(this.config);
  private identityBase: MeterIdentity;
  private readonly onLoad = (nowMs: number) => this.segments.push(this.segmentAt(nowMs));
  /**
   * Pilot changes wait, with their wall time, for the meter to reach that cycle: the meter lags the physics by up
   * to a block, and an unplug handed over early would end a session whose last stop it has not yet seen.
   */
  private readonly pilots: PilotChange[] = [];
  private readonly onCp = (state: CpState) => this.pilots.push({ atMs: performance.now(), state });

  constructor(
    private readonly physics: BenchPhysics,
    private readonly opts: MeterEmulatorOptions,
    nowMs = performance.now(),
  ) {
    this.spc = opts.samplesPerCycle ?? 64;
    this.waves = [0, 1, 2].map((l) => {
      const sin = new Float64Array(this.spc);
      const cos = new Float64Array(this.spc);
      for (let k = 0; k < this.spc; k++) {
        const w = (2 * Math.PI * k) / this.spc - (2 * Math.PI * l) / 3;
        sin[k] = Math.sin(w);
        cos[k] = Math.cos(w);
      }
      return { sin, cos };
    });
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
    physics.on('cp', this.onCp);
    this.store = new BillingStore(join(opts.workDir, `${opts.meterId}.billing.jsonl`));
    this.identityBase = {
      meterId: opts.meterId,
      hostContractId: opts.hostContractId ?? 'C-BENCH-HOST',
      epochS: Math.floor(Date.now() / 1000),
      key: meterKey(0, opts.meterId),
      // Until commissioned the meter signs for no ledger in particular.
      ...uncommissioned(),
      seed: 0,
    };
    this.meter = this.newMeter(this.identityBase);
  }

  private newMeter(id: MeterIdentity): ReferenceMeter {
    return createReferenceMeter({
      config: this.config,
      identity: id,
      signatures: this.signatures,
      outputs: this.opts.outputs,
      store: this.store,
      samplesPerCycle: this.spc,
      frequency: this.frequency,
    });
  }

  /** Sets the clock to `clockUnix` now, the ledger the meter signs for and the tariff; keeps key and sequence. */
  commission(c: CommissionCommand): void {
    this.meterOrigin = this.cyclesDone;
    this.identityBase = {
      ...this.identityBase,
      epochS: c.clockUnix,
      domain: billingDomain(BigInt(c.chainId), c.verifyingContract),
      tariff: tariffFromJson(c.tariff),
      tariffVersion: c.tariffVersion,
      lastSeq: c.lastSeq !== undefined ? BigInt(c.lastSeq) : this.meter.lastSeq,
    };
    this.meter = this.newMeter(this.identityBase);
  }

  private get meterT(): number {
    return (this.cyclesDone - this.meterOrigin) / this.frequency;
  }

  private segmentAt(atMs: number): LoadSegment {
    const phases = this.physics.phases?.map((ph) => ({
      p: ph.powerW,
      q: ph.powerW < 0 ? 0 : reactiveOf(ph.powerW, ph.powerFactor),
    }));
    return {
      atMs,
      p: this.physics.powerW,
      q: this.physics.powerW < 0 ? 0 : this.physics.reactiveVar,
      ...(phases && { phases }),
    };
  }

  /** A three-phase bench's blocks carry L1–L3 (L1 the block's own arrays) and the neutral, made when first needed. */
  private linesOf(b: CycleBlock): NonNullable<CycleBlock['lines']> {
    if (!b.lines) {
      const n = b.voltage.length;
      b.lines = [
        { voltage: b.voltage, current: b.current },
        { voltage: new Float64Array(n), current: new Float64Array(n) },
        { voltage: new Float64Array(n), current: new Float64Array(n) },
      ];
      b.neutral = new Float64Array(n);
    }
    return b.lines;
  }

  /** A contract token presented now (the meter attributes the next EV session to it). */
  authorize(contractId: string): void {
    this.meter.authorize(contractId, this.meterT);
  }

  /** Feeds the meter every whole cycle up to `nowMs` (physics time scale applies). */
  tick(nowMs: number): void {
    const emulatedS = ((nowMs - this.originMs) / 1000) * this.physics.timeScale;
    const target = Math.floor(emulatedS * this.frequency);
    const b = this.block;
    const maxCycles = b.voltage.length / this.spc;
    const vPeak = this.physics.voltage * Math.SQRT2;
    while (this.cyclesDone + maxCycles <= target) {
      // A bench that went back to one phase (a single-phase case after a three-phase one) feeds single-phase blocks.
      if (!this.physics.phases && this.segments.every((seg) => !seg.phases)) {
        b.lines = undefined;
        b.neutral = undefined;
      }
      b.t0 = this.meterT;
      b.cycles = maxCycles;
      for (let c = 0; c < maxCycles; c++) {
        const tS = (this.cyclesDone + c) / this.frequency;
        const seg = this.loadAt(this.originMs + (tS / this.physics.timeScale) * 1000);
        const at = c * this.spc;
        if (seg.phases) {
          // Three phases at 120°: each its own load, the neutral their sum.
          const lines = this.linesOf(b);
          b.neutral!.fill(0, at, at + this.spc);
          for (const [l, ph] of seg.phases.entries()) this.writeLine(lines[l]!, l, at, vPeak, ph, b.neutral);
          continue;
        }
        this.writeLine(b, 0, at, vPeak, seg);
        // A single-phase stretch inside a three-phase block: nothing on L2 and L3, the neutral L1's current.
        if (b.lines) {
          for (const l of [1, 2]) this.writeLine(b.lines[l]!, l, at, vPeak, { p: 0, q: 0 });
          b.neutral!.set(b.current.subarray(at, at + this.spc), at);
        }
      }
      const blockEndMs =
        this.originMs + ((this.cyclesDone + maxCycles) / this.frequency / this.physics.timeScale) * 1000;
      this.meter.processBlock(b);
      this.cyclesDone += maxCycles;
      while (this.pilots.length && (this.pilots[0] as PilotChange).atMs <= blockEndMs) {
        this.meter.pilot(CONNECTOR, (this.pilots.shift() as PilotChange).state, this.meterT);
      }
      this.prune(this.originMs + (this.cyclesDone / this.frequency / this.physics.timeScale) * 1000);
    }
  }

  /** sin and cos of each sample's angle on each phase (L1 at 0°, L2 at −120°, L3 at −240°), made once. */
  private readonly waves: ReadonlyArray<{ sin: Float64Array; cos: Float64Array }>;

  /**
   * One cycle of phase `l` from sample `at`: its voltage, and the current of a load drawing (p, q) as a sinusoid φ
   * behind it (sin(w − φ) = sin w·cos φ − cos w·sin φ, from the tables, not Math.sin per sample); added into
   * `neutral` when given.
   */
  private writeLine(
    out: { voltage: Float64Array; current: Float64Array },
    l: number,
    at: number,
    vPeak: number,
    load: { p: number; q: number },
    neutral?: Float64Array,
  ): void {
    const { sin, cos } = this.waves[l]!;
    const iPeak = (Math.hypot(load.p, load.q) / this.physics.voltage) * Math.SQRT2;
    const phi = Math.atan2(load.q, load.p);
    const a = iPeak * Math.cos(phi);
    const c = iPeak * Math.sin(phi);
    for (let k = 0; k < this.spc; k++) {
      const i = a * sin[k]! - c * cos[k]!;
      out.voltage[at + k] = vPeak * sin[k]!;
      out.current[at + k] = i;
      if (neutral) neutral[at + k]! += i;
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
    this.physics.off('cp', this.onCp);
    this.meter.finish();
    this.store.close();
  }
}
