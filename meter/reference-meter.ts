import { createHash } from 'node:crypto';
import { Signature as EcdsaSignature, keccak256, toUtf8Bytes, Wallet } from 'ethers';
import type { MeasurementData, MeterEventData, MeterLogData } from '../engine/observations.js';
import { seededRandom } from '../engine/random.js';
import {
  type BillingDomain,
  type BillingRecord,
  billingRecordDigest,
  billingRecordToJson,
  loadClassId,
  pseudonym,
  type SignedBillingRecordJson,
} from '../ledger/billing-record.js';
import { computeCostMicro, type Tariff } from '../ledger/tariff.js';
import type { CycleBlock } from '../profiles/waveform.js';
import type { MeterConfig } from './config.js';
import { StepDetector, type StepEvent } from './detector.js';
import { CycleAnalyzer, CycleFeatures } from './dsp.js';
import { distance, nearestSignature, type Signature, UNKNOWN_DISTANCE } from './signatures.js';
import type { BillingStore } from './store.js';

/** What the meter sends out. Never raw samples; payers only as pseudonyms. */
export interface MeterOutputs {
  event(
    e: Omit<MeterEventData, 'caseId' | 'tMeter' | 'transient'> &
      Required<Pick<MeterEventData, 'tMeter' | 'transient'>> & {
        /** |ΔI_h| / |ΔI_1| of the step: the harmonic part of the signature (used to train signatures). */
        harmonics: { r3: number; r5: number; r7: number };
      },
  ): void;
  measurement(m: Omit<MeasurementData, 'caseId'> & { importVarh: number; exportVarh: number }): void;
  billing(b: { meterId: string; tObserved: number; signed: SignedBillingRecordJson }): void;
  report(r: { meterId: string; t: number; tMeter: number; seq: number; importWh: number; exportWh: number }): void;
  log(l: Omit<MeterLogData, 'caseId'>): void;
  pulse(p: { channel: string; t: number; count: number }): void;
}

/** Where signed records go once stored: the ledger relay. Rejects when the ledger cannot be reached. */
export interface LedgerForwarder {
  submit(
    signed: SignedBillingRecordJson,
  ): Promise<{ status: 'landed' | 'already-landed' | 'rejected'; reason?: string }>;
}

export interface MeterIdentity {
  meterId: string;
  /** The household's contract id (host account). */
  hostContractId: string;
  /** Unix seconds of scenario time 0. */
  epochS: number;
  /** The meter's Ethereum signing key. */
  key: Wallet;
  domain: BillingDomain;
  tariff: Tariff;
  tariffVersion: number;
  seed: number;
  /** The last sequence number this key signed (a meter recommissioned keeps counting); 0 for a new key. */
  lastSeq?: bigint;
}

interface ActiveLoad {
  sig?: Signature;
  cls: string;
  p: number;
  q: number;
  r3: number;
  r5: number;
  r7: number;
  session?: EvSession;
}

interface EvSession {
  start: number;
  /** The meter clock at the start, read then: later syncs must not move a start already stamped. */
  startMeter: number;
  payerContract?: string;
  attributed: boolean;
  importWh: number;
  exportWh: number;
}

const PULSES_PER_KWH = 1000;
/** Below this |P| the registers do not move (starting-current threshold, keeps the no-load creep at zero). */
const START_THRESHOLD_W = 2;
/** The same for the kvarh registers (var). */
const START_THRESHOLD_VAR = 2;
/** An authorisation token counts for an EV that starts within this many seconds of it. */
const AUTH_WINDOW_S = 120;
/** Clock anchors kept: enough to timestamp a step that began a few syncs ago (a transition lasts ≤ 10 s). */
const CLOCK_ANCHORS = 4;

/** The time the meter synchronises its clock to: the bench's clock (or the ledger's) for scenario time t. */
export interface TimeSource {
  name: string;
  /** True time (scenario seconds) at scenario time t. */
  now(t: number): number;
}

/** In a run the samples are stamped with the bench clock, so the bench's time at t is t itself. */
export const BENCH_TIME: TimeSource = { name: 'bench', now: (t) => t };

export const FIRMWARE_NAME = 'bench-reference-meter';

/** The firmware image hash the meter reports (and the ledger attests for a healthy meter). */
export function firmwareHash(version: string, tampered = false): string {
  return keccak256(toUtf8Bytes(`${FIRMWARE_NAME}/${version}${tampered ? '+unattested-build' : ''}`));
}

/** A deterministic signing key per (seed, meter): the simulated meter's secure element. */
export function meterKey(seed: number, meterId: string): Wallet {
  const digest = createHash('sha256').update(`bench-meter-key:${seed}:${meterId}`).digest('hex');
  return new Wallet(`0x${digest}`);
}

/**
 * The reference smart meter: the survey's load-identifying, EV-billing meter. Cycle by cycle: DSP (fft.js),
 * energy registers, step detection, identification against a signature library, load tracking, EV sessions,
 * TOU billing with EIP-712 signed records, store-and-forward to the ledger, reports, log, clock, fault knobs.
 */
export class ReferenceMeter {
  private readonly analyzer: CycleAnalyzer;
  private readonly f = new CycleFeatures();
  private readonly detector: StepDetector;
  private readonly rnd;
  private readonly active: ActiveLoad[] = [];
  private readonly tokens: Array<{ contractId: string; t: number }> = [];
  private readonly signatures: Signature[];
  private importWh = 0;
  private exportWh = 0;
  private importVarh = 0;
  private exportVarh = 0;
  private pulseAcc = 0;
  private seq = 0n;
  private reportSeq = 0;
  private nextReport: number;
  private nextMeasurement: number;
  private acc = { p: 0, q: 0, v: 0, i: 0, n: 0 };
  private lastBase = Number.NaN;
  private lastBaseQ = Number.NaN;
  /**
   * The meter clock, piecewise linear: from each anchor (a sync, or power-up) it runs (1 + drift) times the true
   * rate. Newest last.
   */
  private readonly anchors: Array<{ t: number; offset: number }> = [{ t: 0, offset: 0 }];
  private nextSync: number;
  /** Where periodic syncs take the time from (the bench's clock unless set otherwise, e.g. the ledger's). */
  timeSource: TimeSource = BENCH_TIME;
  private faultUntil = -1;
  private faultLogged = false;
  private ledgerDown = false;
  private readonly delayed: Array<{ at: number; emit: () => void }> = [];
  readonly firmwareHash: string;
  private readonly signingKey: Wallet;

  constructor(
    readonly config: MeterConfig,
    readonly id: MeterIdentity,
    signatures: readonly Signature[],
    private readonly out: MeterOutputs,
    private readonly store: BillingStore,
    samplesPerCycle: number,
    frequency: number,
  ) {
    this.analyzer = new CycleAnalyzer(samplesPerCycle);
    this.detector = new StepDetector(config.eventThresholdW, 1 / frequency);
    this.rnd = seededRandom(id.seed ^ 0x5eed);
    this.signatures = [...signatures];
    this.nextReport = config.reportIntervalS;
    this.nextMeasurement = config.measurementIntervalS;
    this.nextSync = config.clockSyncIntervalS > 0 ? config.clockSyncIntervalS : Number.POSITIVE_INFINITY;
    this.firmwareHash = firmwareHash(config.firmwareVersion, config.faults.unattestedFirmware);
    this.signingKey = config.faults.badSignature ? meterKey(id.seed + 1, `${id.meterId}/rogue`) : id.key;
    this.seq = id.lastSeq ?? 0n;
  }

  /** The last sequence number signed. */
  get lastSeq(): bigint {
    return this.seq;
  }

  get address(): string {
    return this.id.key.address;
  }

  /** The meter clock's reading (scenario seconds) at true time t: drift accumulates from the last sync before t. */
  clock(t: number): number {
    return t + this.offsetAt(t);
  }

  /** Meter clock minus true time at t. */
  offsetAt(t: number): number {
    let a = this.anchors[0]!;
    for (let i = this.anchors.length - 1; i >= 0; i--) {
      if (this.anchors[i]!.t <= t) {
        a = this.anchors[i]!;
        break;
      }
    }
    return a.offset + (t - a.t) * this.config.faults.clockDriftPpm * 1e-6;
  }

  /**
   * Sets the clock at true time t to `sourceT` (the time source's reading) and logs the offset removed. Periodic
   * syncs call it with the time source; the stream face's `sync` command calls it on demand.
   */
  syncClock(t: number, sourceT: number, source: string): number {
    const corrected = this.clock(t) - sourceT;
    this.anchors.push({ t, offset: sourceT - t });
    if (this.anchors.length > CLOCK_ANCHORS) this.anchors.shift();
    this.out.log({
      meterId: this.id.meterId,
      t,
      level: 'info',
      code: 'clock-sync',
      message: `clock synchronised from ${source}: corrected ${corrected >= 0 ? '+' : ''}${corrected.toFixed(6)} s`,
      offsetS: corrected,
    });
    return corrected;
  }

  /** A contract token on the authorisation channel (RFID / ISO 15118 contract id). */
  authorize(contractId: string, t: number): void {
    this.tokens.push({ contractId, t });
    const ev = this.active.find(
      (a) => a.session && !a.session.attributed && Math.abs(a.session.start - t) <= AUTH_WINDOW_S,
    );
    if (ev?.session) {
      ev.session.payerContract = contractId;
      ev.session.attributed = true;
      this.tokens.pop();
    }
  }

  processBlock(block: CycleBlock): void {
    const n = block.samplesPerCycle;
    const dt = 1 / block.frequency;
    const gain = 1 + this.config.faults.gainErrorPct / 100;
    const faultAt = this.config.injectMeasurementFaultAtS;
    for (let c = 0; c < block.cycles; c++) {
      const t = block.t0 + c * dt;
      if (t >= this.nextSync - 1e-9) {
        this.syncClock(t, this.timeSource.now(t), this.timeSource.name);
        this.nextSync += this.config.clockSyncIntervalS;
      }
      this.flushDelayed(t);
      const dead = faultAt !== undefined && t >= faultAt && t < faultAt + 5;
      if (dead) {
        // A dead current channel: the meter notices (voltage present, current gone while loads were on) and
        // holds its state rather than inventing off-events.
        if (!this.faultLogged) {
          this.faultLogged = true;
          this.log(t, 'error', 'measurement-fault', 'current channel reads zero with loads on; measurement suspended');
        }
        this.faultUntil = t + dt;
        continue;
      }
      if (this.faultUntil > 0 && t >= this.faultUntil) {
        this.log(t, 'info', 'measurement-restored', 'current channel back; measurement resumed');
        this.faultUntil = -1;
      }
      const f = this.analyzer.analyze(block.voltage, block.current, c * n, this.f, gain);
      this.integrate(t, f.p, f.q, dt);
      this.accumulate(f);
      const step = this.detector.push(t, f);
      if (step) this.onStep(step, t);
      else if (!this.detector.inTransition) this.trackDrift();
      if (t + dt >= this.nextMeasurement - 1e-9) this.emitMeasurement(t + dt);
      if (t + dt >= this.nextReport - 1e-9) this.emitReport(t + dt);
    }
  }

  private integrate(t: number, p: number, q: number, dt: number): void {
    // Reactive energy has its own starting threshold: a pure reactive load (a capacitor bank) draws no P.
    if (Math.abs(q) >= START_THRESHOLD_VAR) {
      const varh = (q * dt) / 3600;
      if (varh >= 0) this.importVarh += varh;
      else this.exportVarh -= varh;
    }
    if (Math.abs(p) < START_THRESHOLD_W) return;
    const wh = (p * dt) / 3600;
    if (wh >= 0) this.importWh += wh;
    else this.exportWh -= wh;
    for (const a of this.active) {
      if (!a.session) continue;
      const e = (a.p * dt) / 3600;
      if (e >= 0) a.session.importWh += e;
      else a.session.exportWh -= e;
    }
    if (wh > 0) {
      this.pulseAcc += (wh / 1000) * PULSES_PER_KWH;
      if (this.pulseAcc >= 1) {
        const count = Math.floor(this.pulseAcc);
        this.pulseAcc -= count;
        this.out.pulse({ channel: `${this.id.meterId}/s0`, t, count });
      }
    }
  }

  private accumulate(f: CycleFeatures): void {
    this.acc.p += f.p;
    this.acc.q += f.q;
    this.acc.v += f.vrms;
    this.acc.i += f.irms;
    this.acc.n++;
  }

  /** Slow changes with no event (EV taper, smart-charging ramps) belong to the charging EV, else to the base. */
  private trackDrift(): void {
    const p = this.detector.baselineP();
    const q = this.detector.baselineQ();
    if (!Number.isNaN(this.lastBase)) {
      const ev = this.active.find((a) => a.session);
      if (ev) {
        ev.p += p - this.lastBase;
        ev.q += q - this.lastBaseQ;
      }
    }
    this.lastBase = p;
    this.lastBaseQ = q;
  }

  private onStep(step: StepEvent, t: number): void {
    this.lastBase = this.detector.baselineP();
    this.lastBaseQ = this.detector.baselineQ();
    if (this.config.faults.missedEventRate > 0 && this.rnd.next() < this.config.faults.missedEventRate) return;
    const features = { dp: step.dp, dq: step.dq, r3: step.r3, r5: step.r5, r7: step.r7 };
    // Candidates: a new load switching on (the step looks like a signature) or an active one switching off
    // (the step looks like the negative of what it draws now).
    const on = nearestSignature(features, this.signatures, 1);
    let offIdx = -1;
    let offD = Number.POSITIVE_INFINITY;
    this.active.forEach((a, i) => {
      const d = distance(features, { p: a.p, q: a.q, r3: a.r3, r5: a.r5, r7: a.r7 }, -1);
      if (d < offD) {
        offD = d;
        offIdx = i;
      }
    });
    const latency = this.config.faults.addedLatencyMs / 1000;
    const tMeter = this.clock(step.t) + latency;
    const transient = { peakA: step.peakA, durationMs: step.durationMs };
    const harmonics = { r3: step.r3, r5: step.r5, r7: step.r7 };
    if (offIdx >= 0 && offD <= UNKNOWN_DISTANCE && offD <= on.d) {
      const [load] = this.active.splice(offIdx, 1);
      this.emitEvent(t + latency, {
        tMeter,
        direction: 'off',
        class: load!.cls,
        profile: load!.sig?.id,
        deltaP: step.dp,
        deltaQ: step.dq,
        transient,
        harmonics,
      });
      if (load!.session) this.bill(load!, step.t, t + latency);
      return;
    }
    if (on.sig) {
      const load: ActiveLoad = {
        sig: on.sig,
        cls: on.sig.class,
        p: step.dp,
        q: step.dq,
        r3: step.r3,
        r5: step.r5,
        r7: step.r7,
      };
      if (on.sig.class === 'ev') load.session = this.openSession(step.t);
      this.active.push(load);
      this.emitEvent(t + latency, {
        tMeter,
        direction: 'on',
        class: on.sig.class,
        profile: on.sig.id,
        deltaP: step.dp,
        deltaQ: step.dq,
        transient,
        harmonics,
      });
      return;
    }
    this.emitEvent(t + latency, {
      tMeter,
      direction: step.dp >= 0 ? 'on' : 'off',
      class: 'unknown',
      deltaP: step.dp,
      deltaQ: step.dq,
      transient,
      harmonics,
    });
  }

  private openSession(start: number): EvSession {
    const i = this.tokens.findIndex((k) => Math.abs(k.t - start) <= AUTH_WINDOW_S);
    const token = i >= 0 ? this.tokens.splice(i, 1)[0] : undefined;
    return {
      start,
      startMeter: this.clock(start),
      payerContract: token?.contractId,
      attributed: token !== undefined,
      importWh: 0,
      exportWh: 0,
    };
  }

  private emitEvent(at: number, e: Omit<Parameters<MeterOutputs['event']>[0], 'meterId' | 'tObserved'>): void {
    const send = () => {
      this.out.event({ meterId: this.id.meterId, tObserved: at, ...e });
      this.log(at, 'info', 'event', `${e.direction} ${e.class} ΔP=${e.deltaP.toFixed(0)} W`);
    };
    if (this.config.faults.addedLatencyMs > 0) this.delayed.push({ at, emit: send });
    else send();
  }

  private flushDelayed(t: number): void {
    while (this.delayed.length && this.delayed[0]!.at <= t) this.delayed.shift()!.emit();
  }

  private bill(load: ActiveLoad, end: number, now: number): void {
    const s = load.session!;
    const policyBillsHost = this.config.unattributedPolicy === 'bill-host';
    if (!s.attributed && !policyBillsHost) {
      this.log(now, 'warn', 'unattributed-not-billed', 'EV session without authorisation; policy no-bill');
      return;
    }
    const payerContract = this.config.faults.wrongPayer || !s.attributed ? this.id.hostContractId : s.payerContract!;
    const start = BigInt(Math.round(this.id.epochS + s.startMeter));
    const endS = BigInt(Math.max(Number(start), Math.round(this.id.epochS + this.clock(end))));
    const importMilliWh = BigInt(Math.max(0, Math.round(s.importWh * 1000)));
    const exportMilliWh = BigInt(Math.max(0, Math.round(s.exportWh * 1000)));
    const tariff = this.config.faults.wrongTariff ? flatPeakTariff(this.id.tariff) : this.id.tariff;
    const copies = this.config.faults.duplicateSubmission ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.seq++;
      const record: BillingRecord = {
        meter: this.address,
        seq: this.seq,
        payer: pseudonym(payerContract, this.config.pseudonymSalt),
        host: pseudonym(this.id.hostContractId, this.config.pseudonymSalt),
        start,
        end: endS,
        importMilliWh,
        exportMilliWh,
        costMicro: computeCostMicro(tariff, { start, end: endS, importMilliWh, exportMilliWh }),
        tariffVersion: BigInt(this.id.tariffVersion),
        loadClass: loadClassId(load.sig?.id ?? 'ev'),
        attributed: s.attributed && !this.config.faults.wrongPayer,
      };
      const signature = EcdsaSignature.from(
        this.signingKey.signingKey.sign(billingRecordDigest(this.id.domain, record)),
      ).serialized;
      const signed = { record: billingRecordToJson(record), signature };
      this.store.append(record.seq.toString(), signed);
      this.out.billing({ meterId: this.id.meterId, tObserved: now, signed });
    }
  }

  /** Forwards stored records in order. `now` is scenario time (for the outage window). */
  async forward(ledger: LedgerForwarder, now: number): Promise<void> {
    const outage = this.config.ledgerOutage;
    const down = outage !== undefined && now >= outage.fromS && now < outage.toS;
    while (this.store.head()) {
      if (down) {
        if (!this.ledgerDown) {
          this.ledgerDown = true;
          this.log(
            now,
            'error',
            'ledger-unreachable',
            `ledger unreachable; ${this.store.backlog} record(s) stored for later`,
          );
        }
        return;
      }
      const head = this.store.head()!;
      try {
        const result = await ledger.submit({
          record: billingRecordToJson(head.signed.record),
          signature: head.signed.signature,
        });
        if (result.status === 'rejected')
          this.log(now, 'error', 'ledger-rejected', `record ${head.seq} refused: ${result.reason ?? '?'}`);
        this.store.ack(head.seq);
      } catch (e) {
        if (!this.ledgerDown)
          this.log(now, 'error', 'ledger-unreachable', `ledger unreachable: ${(e as Error).message}`);
        this.ledgerDown = true;
        return;
      }
    }
    if (this.ledgerDown) {
      this.ledgerDown = false;
      this.log(now, 'info', 'ledger-restored', 'ledger reachable again; backlog flushed');
    }
  }

  get backlog(): number {
    return this.store.backlog;
  }

  /** End of the run: emit pending delayed outputs. Open EV sessions stay open (no off-event was seen). */
  finish(): void {
    this.flushDelayed(Number.POSITIVE_INFINITY);
  }

  private emitMeasurement(t: number): void {
    const n = this.acc.n || 1;
    const p = this.acc.p / n;
    const v = this.acc.v / n;
    const i = this.acc.i / n;
    this.out.measurement({
      meterId: this.id.meterId,
      t,
      p,
      q: this.acc.q / n,
      vrms: v,
      irms: i,
      pf: v * i > 0 ? p / (v * i) : 0,
      importWh: this.importWh,
      exportWh: this.exportWh,
      importVarh: this.importVarh,
      exportVarh: this.exportVarh,
    });
    this.acc = { p: 0, q: 0, v: 0, i: 0, n: 0 };
    this.nextMeasurement += this.config.measurementIntervalS;
  }

  private emitReport(t: number): void {
    this.nextReport += this.config.reportIntervalS;
    if (this.config.faults.dropPeriodicReports) return;
    this.reportSeq++;
    this.out.report({
      meterId: this.id.meterId,
      t,
      tMeter: this.clock(t),
      seq: this.reportSeq,
      importWh: this.importWh,
      exportWh: this.exportWh,
    });
  }

  private log(t: number, level: 'info' | 'warn' | 'error', code: string, message: string): void {
    this.out.log({ meterId: this.id.meterId, t, level, code, message });
  }
}

/** The wrong-tariff fault: every hour at the highest band price and no EV incentive. */
function flatPeakTariff(t: Tariff): Tariff {
  // biome-ignore lint/complexity/useMathMinMax: Math.max does not take bigints
  const peak = t.bandPrices.reduce((a, b) => (b > a ? b : a), 0n);
  return { ...t, bandPrices: t.bandPrices.map(() => peak), evIncentive: 0n };
}
