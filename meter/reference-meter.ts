import { createHash } from 'node:crypto';
import { Signature as EcdsaSignature, keccak256, toUtf8Bytes, Wallet } from 'ethers';
import {
  type BillingDomain,
  type BillingRecord,
  billingRecordDigest,
  loadClassId,
  pseudonym,
  RECORD_VERSION_BANDS,
} from '../billing/billing-record.js';
import { billingRecordToJson, type SignedBillingRecordJson } from '../billing/record-json.js';
import { bandAt, computeCostMicro, milliWhPerBand, type Tariff } from '../billing/tariff.js';
import { seededRandom } from '../core/random.js';
import type { MeasurementData, MeterEventData, MeterLogData } from '../core/record/entries.js';
import { CycleAnalyzer, CycleFeatures } from '../dsp/cycle.js';
import type { CycleBlock } from '../profiles/waveform.js';
import type { MeterIdentityLine } from '../protocols/stream-commands.js';
import type { MeterConfig } from './config.js';
import { changeBetween, newMean, StepDetector, type StepEvent, type WindowMean } from './detector.js';
import { distance, nearestSignature, type Signature, type StepFeatures, UNKNOWN_DISTANCE } from './signatures.js';
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

/** One event as the meter sends it out. */
export type MeterEvent = Parameters<MeterOutputs['event']>[0];

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
  /** |ΔI_h| / |ΔI_1| of the switch-on step: the load's harmonic character (an EV keeps it when its power changes). */
  r3: number;
  r5: number;
  r7: number;
  session?: EvSession;
  /** Energy (Wh) the meter has assigned to the load since its last event; reported on the next and reset. */
  wh: number;
}

interface EvSession {
  start: number;
  /** The meter clock at the start, read then: later syncs must not move a start already stamped. */
  startMeter: number;
  payerContract?: string;
  attributed: boolean;
  importWh: number;
  exportWh: number;
  /** Import energy drawn in each band of the tariff (index = band), by the meter clock at each cycle. */
  bandWh: number[];
  /** The plug-in it charges in, when the charge point reports its pilot state. */
  plug?: Plug;
  /** The charge point reported the unplug while the EV still drew: its next stop ends the session. */
  unplugged: boolean;
}

/** One plug-in at a connector of the charge point, from pilot B/C to A (IEC 61851-1). */
interface Plug {
  connector: string;
  t: number;
  contractId?: string;
  session?: EvSession;
}

/** An EV session whose power went to 0 within its plug-in: it resumes, or ends at `off` once the plug-in is over. */
interface PausedEv {
  load: ActiveLoad;
  /** Scenario time of the stop (the session's end if it does not resume). */
  off: number;
  /** Without pilot reports: the session ends (at `off`) if it has not resumed by then. */
  until: number;
}

/** The control-pilot state a charge point reports: A no vehicle, B connected, C charging (IEC 61851-1). */
export type PilotState = 'A' | 'B' | 'C';

const PULSES_PER_KWH = 1000;
/** Below this |P| the registers do not move (starting-current threshold, keeps the no-load creep at zero). */
const START_THRESHOLD_W = 2;
/** The same for the kvarh registers (var). */
const START_THRESHOLD_VAR = 2;
/** An authorisation token counts for an EV that starts within this many seconds of it. */
const AUTH_WINDOW_S = 120;
/** Clock anchors kept: enough to timestamp a step that began a few syncs ago (a transition lasts ≤ 10 s). */
const CLOCK_ANCHORS = 4;
/**
 * An EV's on-board charger changing its current keeps its harmonic character: the step's harmonic ratios match
 * the switch-on step's to this absolute scale (a charger's own ratios are a few %, a resistive load's zero).
 */
const EV_CHANGE_HARMONIC_SCALE = 0.02;
/**
 * The step's ΔQ/ΔP matches the EV's Q/P to 4 % of ΔP (15 var at least): a kettle beside a PF 0.995 charger is 2.5
 * such tolerances away, a fridge's motor far more, so neither passes for a power change (nor does an unknown
 * resistive load on a meter that sees no harmonics).
 */
const EV_CHANGE_Q_SCALE = 0.04;
/**
 * While several EVs charge, a drift (a taper) is held until P has moved this far, then given to the EV whose
 * character it carries: the harmonic ratios of a smaller drift are too noisy to tell two chargers apart.
 */
const DRIFT_ATTRIBUTION_W = 200;
/** A step further than this from every charging EV's character is not one of its power changes. */
const EV_CHANGE_DISTANCE = 2;
/** An EV charges between this fraction of its charger's full power (IEC 61851-1: 6 A of 16-32 A) and full power. */
const EV_MIN_LEVEL = 0.05;
const EV_MAX_LEVEL = 1.05;

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

/** Index and distance of the item nearest by `dist` (index -1 and distance ∞ when there is none). */
function nearest<T>(items: readonly T[], dist: (item: T) => number): { index: number; d: number } {
  let best = { index: -1, d: Number.POSITIVE_INFINITY };
  items.forEach((item, index) => {
    const d = dist(item);
    if (d < best.d) best = { index, d };
  });
  return best;
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
  /** Plug-ins in progress (charge points that report their pilot). */
  private readonly plugs: Plug[] = [];
  private readonly paused: PausedEv[] = [];
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
  /** The steady level at the last cycle outside a transition (scratch, refreshed every cycle). */
  private readonly steadyNow = newMean();
  /** A drift beside several loads that can drift, held from `from` until it is large enough to tell whose it is. */
  private drift?: {
    since: WindowMean;
    from: WindowMean;
    /** Energy of the drift since `from`, not yet given to an EV. */
    wh: number;
    /** The load holding the drift so far, and what it was given (power, and energy integrated on account of it). */
    holder?: ActiveLoad;
    given: { dp: number; dq: number; wh: number };
  };
  /** The tariff band of the meter-clock hour last looked up, [from, to) in unix seconds (one lookup per hour). */
  private bandHour = { from: 0, to: 0, band: 0 };
  /**
   * The meter clock, piecewise linear: from each anchor (a sync, or power-up) it runs (1 + drift) times the true
   * rate. Newest last.
   */
  private readonly anchors: Array<{ t: number; offset: number }> = [{ t: 0, offset: 0 }];
  private nextSync: number;
  /** Where periodic syncs take the time from (the bench's clock unless set otherwise, e.g. the ledger's). */
  timeSource: TimeSource = BENCH_TIME;
  /** Scenario time of the last cycle processed. */
  private lastT = 0;
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

  /** Who the meter is, as its stream face answers `identify`: the host only as its pseudonym. */
  identity(): MeterIdentityLine {
    return {
      model: this.config.model,
      firmwareVersion: this.config.firmwareVersion,
      firmwareHash: this.firmwareHash,
      address: this.address,
      host: pseudonym(this.id.hostContractId, this.config.pseudonymSalt),
    };
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
    // A new authorisation is a new plug-in: a session held over a pause without pilot reports is over.
    this.endHeldPauses(t);
    // A plug-in already reported takes the token (its EV may not draw yet: smart charging waits for a cheap hour).
    const plug = this.plugs.findLast((p) => p.contractId === undefined && Math.abs(p.t - t) <= AUTH_WINDOW_S);
    if (plug) {
      plug.contractId = contractId;
      if (plug.session && !plug.session.attributed) attribute(plug.session, contractId);
      return;
    }
    const ev = this.active.find(
      (a) => a.session && !a.session.attributed && Math.abs(a.session.start - t) <= AUTH_WINDOW_S,
    );
    if (ev?.session) attribute(ev.session, contractId);
    else this.tokens.push({ contractId, t });
  }

  /**
   * The charge point's control-pilot state at a connector (the meter sits in the charge point and sees the
   * pilot): B or C from A is a plug-in, A the unplug. An EV session runs from its first draw within a plug-in to
   * its last stop before the unplug, however often smart charging pauses it; it is billed at the unplug.
   */
  pilot(connector: string, state: PilotState, t: number): void {
    const i = this.plugs.findIndex((p) => p.connector === connector);
    if (state !== 'A') {
      if (i >= 0) return;
      const k = this.tokens.findIndex((x) => Math.abs(x.t - t) <= AUTH_WINDOW_S);
      const token = k >= 0 ? this.tokens.splice(k, 1)[0] : undefined;
      this.plugs.push({ connector, t, contractId: token?.contractId });
      return;
    }
    if (i < 0) return;
    const [plug] = this.plugs.splice(i, 1);
    const s = plug!.session;
    if (!s) return;
    const paused = this.paused.find((p) => p.load.session === s);
    if (paused) this.endPaused(paused, t);
    else s.unplugged = true;
  }

  processBlock(block: CycleBlock): void {
    const n = block.samplesPerCycle;
    const dt = 1 / block.frequency;
    const gain = 1 + this.config.faults.gainErrorPct / 100;
    const faultAt = this.config.injectMeasurementFaultAtS;
    for (let c = 0; c < block.cycles; c++) {
      const t = block.t0 + c * dt;
      this.lastT = t + dt;
      if (t >= this.nextSync - 1e-9) {
        this.syncClock(t, this.timeSource.now(t), this.timeSource.name);
        this.nextSync += this.config.clockSyncIntervalS;
      }
      this.flushDelayed(t);
      if (this.paused.length) this.expirePaused(t);
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
      else if (!this.detector.inTransition) this.trackDrift(dt);
      if (t + dt >= this.nextMeasurement - 1e-9) this.emitMeasurement(t + dt);
      if (t + dt >= this.nextReport - 1e-9) this.emitReport(t + dt);
    }
  }

  /** The tariff band in force at true time t by the meter's own clock (what it bills by). */
  private bandAt(t: number): number {
    const unix = this.id.epochS + this.clock(t);
    const h = this.bandHour;
    if (unix < h.from || unix >= h.to) {
      const off = this.id.tariff.utcOffsetSeconds;
      h.from = Math.floor((unix + off) / 3600) * 3600 - off;
      h.to = h.from + 3600;
      h.band = bandAt(this.id.tariff, BigInt(h.from));
    }
    return h.band;
  }

  /**
   * A session's power changed at `from` (the step's start), but the cycles since then, until the step was
   * recognised, were booked at the old power: book them again at the new one, each piece in the tariff band it
   * was drawn in. Without this, a step at a band boundary (a smart EV pausing at the peak's start) leaves the
   * detection delay's energy in the wrong band.
   */
  private rebook(s: EvSession, pOld: number, pNew: number, from: number): void {
    const to = this.lastT;
    for (let a = from; a < to; ) {
      const band = this.bandAt(a);
      const hourLeft = this.bandHour.to - (this.id.epochS + this.clock(a));
      const b = Math.min(to, a + Math.max(hourLeft, 1e-6));
      const book = (p: number, sign: number) => {
        const e = (sign * p * (b - a)) / 3600;
        if (p >= 0) {
          s.importWh += e;
          s.bandWh[band]! += e;
        } else s.exportWh -= e;
      };
      book(pOld, -1);
      book(pNew, 1);
      a = b;
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
    let band: number | undefined;
    for (const a of this.active) {
      const e = (a.p * dt) / 3600;
      a.wh += e;
      if (!a.session) continue;
      if (e >= 0) {
        a.session.importWh += e;
        band ??= this.bandAt(t);
        a.session.bandWh[band]! += e;
      } else a.session.exportWh -= e;
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

  /**
   * Slow changes with no event belong to a load that drifts: a charging EV (taper, smart-charging ramps) or a load
   * still in its soft start (a heat pump's drive ramping up); else to the base. With several such loads, to the one
   * whose character the drift carries (driftAmong).
   */
  private trackDrift(dt: number): void {
    const p = this.detector.baselineP();
    const q = this.detector.baselineQ();
    if (!Number.isNaN(this.lastBase)) {
      const drifting = this.drifting();
      // A drift held among several loads ends when only one is left (a soft start reached its power).
      if (this.drift && drifting.length <= 1) {
        const holder = this.drift.holder;
        this.settleDrift(drifting.length > 0 ? drifting : holder ? [holder] : [], true);
      }
      if (drifting.length === 1) {
        drifting[0]!.p += p - this.lastBase;
        drifting[0]!.q += q - this.lastBaseQ;
      } else if (drifting.length > 1) this.driftAmong(drifting, dt);
    }
    this.lastBase = p;
    this.lastBaseQ = q;
  }

  /** The active loads a drift can belong to: charging EVs and loads short of the power their soft start reaches. */
  private drifting(): ActiveLoad[] {
    return this.active.filter((a) => a.session || softStarting(a));
  }

  /**
   * Several loads can drift (two EVs charging at once, or an EV beside a soft-starting heat pump) and P drifts with
   * no step: one of them tapers or ramps. Giving the drift to the first EV (as with one) billed the other EV's
   * taper to it. The drift since the last step is one load's: each time it has moved P by DRIFT_ATTRIBUTION_W more,
   * the load whose harmonic and Q/P character the whole drift carries takes it, with the energy it made meanwhile
   * (the loads went on integrating their powers from before it). The choice is made again on the grown drift each
   * time and moves what was given so far, energy included, if it changes: a first choice on a small drift can be
   * wrong, a later one on a larger drift much less so.
   */
  private driftAmong(candidates: ActiveLoad[], dt: number): void {
    const now = this.detector.baseline(this.steadyNow);
    if (!this.drift) {
      const from = copyMean(now);
      this.drift = { since: from, from, wh: 0, given: { dp: 0, dq: 0, wh: 0 } };
      return;
    }
    this.drift.wh += ((now.p - this.drift.from.p) * dt) / 3600;
    // What the holder's session integrated on account of the drift given to it (moved with it if it moves).
    this.drift.given.wh += (this.drift.given.dp * dt) / 3600;
    if (Math.abs(now.p - this.drift.from.p) >= DRIFT_ATTRIBUTION_W) this.settleDrift(candidates, false);
  }

  /**
   * Gives the drift held so far (to the last steady level) to the candidates EV the whole drift fits best; `ended`
   * when a step ends the drift (the next one starts afresh).
   */
  private settleDrift(candidates: readonly ActiveLoad[], ended: boolean): void {
    const d = this.drift;
    if (!d) return;
    const now = this.steadyNow;
    const part = changeBetween(d.from, now);
    const whole = changeBetween(d.since, now);
    this.drift = ended ? undefined : { ...d, from: copyMean(now), wh: 0 };
    if (candidates.length === 0) return;
    // Each load's power before this drift, and whether the whole drift fits it.
    const before = (a: ActiveLoad) => a.p - (a === d.holder ? d.given.dp : 0);
    const fit = nearest(candidates, (a) => evChangeDistance(whole, a, before(a) + whole.dp));
    // No load's range takes the drift whole (it should not happen): the one drawing most absorbs it.
    const load = candidates[fit.index >= 0 ? fit.index : nearest(candidates, (a) => -a.p).index]!;
    const given = { dp: d.given.dp + part.dp, dq: d.given.dq + part.dq, wh: d.given.wh + d.wh };
    if (d.holder && d.holder !== load) this.shiftDrift(d.holder, -d.given.dp, -d.given.dq, -d.given.wh);
    this.shiftDrift(
      load,
      d.holder === load ? part.dp : given.dp,
      d.holder === load ? part.dq : given.dq,
      d.holder === load ? d.wh : given.wh,
    );
    if (this.drift) {
      this.drift.holder = load;
      this.drift.given = given;
    }
  }

  private shiftDrift(load: ActiveLoad, dp: number, dq: number, wh: number): void {
    load.p += dp;
    load.q += dq;
    load.wh += wh;
    if (!load.session) return;
    if (load.p >= 0) {
      load.session.importWh += wh;
      // The drift's energy was drawn since the last settle (moments ago): the band in force now.
      load.session.bandWh[this.bandAt(this.lastT)]! += wh;
    } else load.session.exportWh -= wh;
  }

  private onStep(step: StepEvent, t: number): void {
    // A drift held among several loads is settled where the step began (the last steady level), so the loads'
    // powers are current when the step is matched against them. It goes on past a step that leaves the same loads
    // drifting (a fridge switching during a taper), with the step taken out, so the choice keeps all its evidence;
    // a step that changes who can drift ends it.
    if (!this.drift) {
      this.matchStep(step, t);
      return;
    }
    const before = this.drifting();
    this.settleDrift(before, false);
    this.matchStep(step, t);
    const after = this.drifting();
    const d = this.drift;
    if (!d || after.length !== before.length || after.some((a) => !before.includes(a))) {
      this.drift = undefined;
      return;
    }
    const level = this.detector.baseline(newMean());
    const stepChange = (from: WindowMean): WindowMean => ({
      p: from.p + level.p - this.steadyNow.p,
      q: from.q + level.q - this.steadyNow.q,
      re: from.re.map((x, j) => x + level.re[j]! - this.steadyNow.re[j]!),
      im: from.im.map((x, j) => x + level.im[j]! - this.steadyNow.im[j]!),
    });
    this.drift = { ...d, since: stepChange(d.since), from: level };
  }

  private matchStep(step: StepEvent, t: number): void {
    this.lastBase = this.detector.baselineP();
    this.lastBaseQ = this.detector.baselineQ();
    if (this.config.faults.missedEventRate > 0 && this.rnd.next() < this.config.faults.missedEventRate) return;
    const features = { dp: step.dp, dq: step.dq, r3: step.r3, r5: step.r5, r7: step.r7 };
    // Candidates: a new load switching on (the step looks like a signature), an active one switching off (the
    // step looks like the negative of what it draws now), and, while EV sessions are open, a charging EV changing
    // its power (a setpoint step) or a paused one resuming: the step keeps the EV's harmonic and PF character
    // and leaves its power within the charger's range.
    const on = nearestSignature(features, this.signatures, 1);
    const { index: offIdx, d: offD } = nearest(this.active, (a) =>
      distance(features, { p: a.p, q: a.q, r3: a.r3, r5: a.r5, r7: a.r7 }, -1),
    );
    const { index: changeIdx, d: changeD } = nearest(this.active, (a) =>
      a.session ? evChangeDistance(features, a, a.p + step.dp) : Number.POSITIVE_INFINITY,
    );
    const { index: resumeIdx, d: resumeD } = nearest(this.paused, (p) => evChangeDistance(features, p.load, step.dp));
    const latency = this.config.faults.addedLatencyMs / 1000;
    const tMeter = this.clock(step.t) + latency;
    const transient = { peakA: step.peakA, durationMs: step.durationMs };
    const harmonics = { r3: step.r3, r5: step.r5, r7: step.r7 };
    /** The event; for a load already tracked, with the energy assigned to it since its previous event. */
    const emit = (load: ActiveLoad | undefined, direction: 'on' | 'off', tracked = false) => {
      const energyWh = tracked && load ? load.wh : undefined;
      if (load) load.wh = 0;
      this.emitEvent(t + latency, {
        tMeter,
        direction,
        class: load?.cls ?? 'unknown',
        profile: load?.sig?.id,
        deltaP: step.dp,
        deltaQ: step.dq,
        transient,
        harmonics,
        ...(energyWh !== undefined ? { energyWh } : {}),
      });
    };

    const offOk = offIdx >= 0 && offD <= UNKNOWN_DISTANCE && offD <= on.d;
    const plainD = offOk ? offD : on.sig ? on.d : Number.POSITIVE_INFINITY;
    // A paused EV resuming is likelier than a second EV arriving when no new plug-in waits for its first draw.
    const newPlugWaiting = this.plugs.some((p) => !p.session);
    const resumeOk =
      resumeD <= EV_CHANGE_DISTANCE &&
      resumeD <= changeD &&
      (resumeD < plainD || (!offOk && on.sig?.class === 'ev' && !newPlugWaiting));
    if (resumeOk) {
      const [p] = this.paused.splice(resumeIdx, 1);
      const load = p!.load;
      this.rebook(load.session!, 0, step.dp, step.t);
      load.p = step.dp;
      load.q = step.dq;
      this.active.push(load);
      emit(load, 'on', true);
      return;
    }
    if (changeD <= EV_CHANGE_DISTANCE && changeD < plainD) {
      const load = this.active[changeIdx]!;
      this.rebook(load.session!, load.p, load.p + step.dp, step.t);
      load.p += step.dp;
      load.q += step.dq;
      emit(load, step.dp >= 0 ? 'on' : 'off', true);
      return;
    }
    if (offOk) {
      const [load] = this.active.splice(offIdx, 1);
      emit(load, 'off', true);
      if (load!.session) {
        this.rebook(load!.session, load!.p, 0, step.t);
        this.stopped(load!, step.t, t + latency);
      }
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
        wh: 0,
      };
      if (on.sig.class === 'ev') {
        load.session = this.openSession(step.t, t + latency);
        this.rebook(load.session, 0, step.dp, step.t);
      }
      this.active.push(load);
      emit(load, 'on');
      return;
    }
    // A step under the event threshold in P (it crossed the threshold on ΔQ alone) that neither a signature nor a
    // running load explains is no switching: a running load's operating point moved (an inverter drive reaching
    // its set speed changes its PF). It goes to the running load whose harmonic character is nearest, and makes no
    // event (it used to come out as a spurious "unknown" event at the end of every heat pump's soft start).
    if (Math.abs(step.dp) < this.config.eventThresholdW && this.active.length > 0) {
      const { index } = nearest(this.active, (a) => Math.hypot(step.r3 - a.r3, step.r5 - a.r5, step.r7 - a.r7));
      const load = this.active[index]!;
      load.p += step.dp;
      load.q += step.dq;
      return;
    }
    emit(undefined, step.dp >= 0 ? 'on' : 'off');
  }

  /**
   * An EV session's power went to 0. Within a plug-in the charge point reports, the session pauses until the EV
   * resumes or is unplugged; without pilot reports it is held evPauseHoldS; once unplugged it ends now.
   */
  private stopped(load: ActiveLoad, off: number, now: number): void {
    const s = load.session!;
    if (s.plug && !s.unplugged) this.paused.push({ load, off, until: Number.POSITIVE_INFINITY });
    else if (!s.plug && this.config.evPauseHoldS > 0)
      this.paused.push({ load, off, until: now + this.config.evPauseHoldS });
    else this.bill(load, off, now);
  }

  private endPaused(p: PausedEv, now: number): void {
    const i = this.paused.indexOf(p);
    if (i >= 0) this.paused.splice(i, 1);
    this.bill(p.load, p.off, now);
  }

  /** Ends the sessions held over a pause without pilot reports (no plug-in tells whether the EV is still there). */
  private endHeldPauses(now: number): void {
    for (const p of this.paused.filter((x) => !x.load.session!.plug)) this.endPaused(p, now);
  }

  private expirePaused(t: number): void {
    for (const p of this.paused.filter((x) => t >= x.until)) this.endPaused(p, t);
  }

  private openSession(start: number, now: number): EvSession {
    // A session held over a pause without pilot reports is over when another EV starts.
    this.endHeldPauses(now);
    // The EV charges in the latest plug-in that has no session yet (one plugged in earlier may still wait for
    // its smart-charging signal).
    const plug = this.plugs.findLast((p) => !p.session);
    let contractId = plug?.contractId;
    if (contractId === undefined) {
      const i = this.tokens.findIndex((k) => Math.abs(k.t - start) <= AUTH_WINDOW_S);
      contractId = i >= 0 ? this.tokens.splice(i, 1)[0]!.contractId : undefined;
      if (plug) plug.contractId = contractId;
    }
    const session: EvSession = {
      start,
      startMeter: this.clock(start),
      payerContract: contractId,
      attributed: contractId !== undefined,
      importWh: 0,
      exportWh: 0,
      bandWh: this.id.tariff.bandPrices.map(() => 0),
      plug,
      unplugged: false,
    };
    if (plug) plug.session = session;
    return session;
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
    const bandMilliWh = milliWhPerBand(s.bandWh);
    const importMilliWh = bandMilliWh.reduce((a, b) => a + b, 0n);
    const exportMilliWh = BigInt(Math.max(0, Math.round(s.exportWh * 1000)));
    const tariff = this.config.faults.wrongTariff ? flatPeakTariff(this.id.tariff) : this.id.tariff;
    const energy = { start, end: endS, importMilliWh, exportMilliWh, version: RECORD_VERSION_BANDS, bandMilliWh };
    const copies = this.config.faults.duplicateSubmission ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.seq++;
      const record: BillingRecord = {
        meter: this.address,
        seq: this.seq,
        payer: pseudonym(payerContract, this.config.pseudonymSalt),
        host: pseudonym(this.id.hostContractId, this.config.pseudonymSalt),
        ...energy,
        costMicro: computeCostMicro(tariff, energy),
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

  /**
   * End of the run: paused EV sessions end at their last stop (the run ends the plug-in); pending delayed
   * outputs go out. EV sessions still drawing stay open (no off-event was seen).
   */
  finish(): void {
    for (const p of [...this.paused]) this.endPaused(p, this.lastT);
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

/** Margin below its soft start's end power at which a load counts as ramped up (the window lags the ramp). */
const SOFT_START_DONE = 0.01;

/** A load whose signature ramps up after switch-on and that has not reached the ramp's power yet. */
function softStarting(a: ActiveLoad): boolean {
  const to = a.sig?.rampToP;
  return to !== undefined && a.p < to * (1 - SOFT_START_DONE);
}

function copyMean(m: WindowMean): WindowMean {
  return { p: m.p, q: m.q, re: m.re.slice(), im: m.im.slice() };
}

function attribute(s: EvSession, contractId: string): void {
  s.payerContract = contractId;
  s.attributed = true;
}

/**
 * How far a step is from a change of an EV's charging power to `level`: its harmonic ratios against the EV's own
 * (measured at its switch-on), its ΔQ against the EV's Q/P ratio; infinite when `level` leaves the charger's range
 * (a drop to ~0 is a stop, a rise past full power is another load). 1 ≈ one tolerance away.
 */
function evChangeDistance(f: StepFeatures, ev: ActiveLoad, level: number): number {
  const full = Math.max(ev.sig?.rampToP ?? ev.sig?.p ?? 0, ev.p);
  if (!(full > 0) || level < EV_MIN_LEVEL * full || level > EV_MAX_LEVEL * full + 50) return Number.POSITIVE_INFINITY;
  const qPerP = ev.p !== 0 ? ev.q / ev.p : 0;
  const dq = (f.dq - f.dp * qPerP) / Math.max(Math.abs(f.dp) * EV_CHANGE_Q_SCALE, 15);
  const h3 = (f.r3 - ev.r3) / EV_CHANGE_HARMONIC_SCALE;
  const h5 = (f.r5 - ev.r5) / EV_CHANGE_HARMONIC_SCALE;
  const h7 = (f.r7 - ev.r7) / EV_CHANGE_HARMONIC_SCALE;
  return Math.sqrt(dq * dq + h3 * h3 + h5 * h5 + h7 * h7);
}

/** The wrong-tariff fault: every hour at the highest band price and no EV incentive. */
function flatPeakTariff(t: Tariff): Tariff {
  // biome-ignore lint/complexity/useMathMinMax: Math.max does not take bigints
  const peak = t.bandPrices.reduce((a, b) => (b > a ? b : a), 0n);
  return { ...t, bandPrices: t.bandPrices.map(() => peak), evIncentive: 0n };
}
