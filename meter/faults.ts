import type { Wallet } from 'ethers';
import type { Tariff } from '../billing/tariff.js';
import { seededRandom } from '../core/random.js';
import type { MeterConfig } from './config.js';
import { type MeterIdentity, meterKey } from './identity.js';
import type { MeterLog } from './outputs.js';

/** How long the injected measurement fault keeps the current channel dead (s). */
const MEASUREMENT_FAULT_S = 5;

/**
 * The fault knobs of the config as the meter's parts ask for them (all off by default): a gain error, missed
 * events, added latency, the dead current channel, and billing's duplicate, wrong payer, wrong tariff and rogue
 * key. Clock drift lives in the clock, dropped reports and unattested firmware where the meter reports.
 */
export class MeterFaults {
  private readonly rnd;
  private faultUntil = -1;
  private faultLogged = false;
  private readonly delayed: Array<{ at: number; emit: () => void }> = [];

  constructor(
    private readonly config: MeterConfig,
    seed: number,
    private readonly log: MeterLog,
  ) {
    this.rnd = seededRandom(seed ^ 0x5eed);
  }

  /** The current channel's gain (1 + error). */
  get gain(): number {
    return 1 + this.config.faults.gainErrorPct / 100;
  }

  /** The gain of each phase's current channel: a reversed current transformer reads its phase negated. */
  phaseGain(phase: number): number {
    return this.config.faults.reversedCurrentPhase === phase + 1 ? -this.gain : this.gain;
  }

  /** The voltage input a phase's current is measured against: its own, or on a wrong sequence L2 ↔ L3. */
  voltageLine(phase: number, lines: number): number {
    if (!this.config.faults.swappedVoltagePhases || lines < 3 || phase === 0) return phase;
    return phase === 1 ? 2 : 1;
  }

  /** The narrow-band fault: the active power the meter books of a cycle (all of it, or the fundamental's). */
  bookedPower(f: { p: number; p1: number }): number {
    return this.config.faults.fundamentalOnly ? f.p1 : f.p;
  }

  /** The missed-event fault: this step goes unseen (seeded draws, one per step while the rate is set). */
  missesEvent(): boolean {
    const rate = this.config.faults.missedEventRate;
    return rate > 0 && this.rnd.next() < rate;
  }

  /** Added detection latency (s): events are decided and stamped this much later. */
  get latencyS(): number {
    return this.config.faults.addedLatencyMs / 1000;
  }

  /** Sends now, or under the added-latency fault once the meter reaches `at`. */
  emit(at: number, send: () => void): void {
    if (this.config.faults.addedLatencyMs > 0) this.delayed.push({ at, emit: send });
    else send();
  }

  /** Sends what the latency fault held until t. */
  flush(t: number): void {
    while (this.delayed.length && this.delayed[0]!.at <= t) this.delayed.shift()!.emit();
  }

  /**
   * The injected measurement fault: true while the current channel is dead at t (the cycle is not measured). The
   * meter notices (voltage present, current gone while loads were on), logs it once, holds its state rather than
   * inventing off-events, and logs the channel's return.
   */
  channelDead(t: number, dt: number): boolean {
    const faultAt = this.config.injectMeasurementFaultAtS;
    if (faultAt !== undefined && t >= faultAt && t < faultAt + MEASUREMENT_FAULT_S) {
      if (!this.faultLogged) {
        this.faultLogged = true;
        this.log(t, 'error', 'measurement-fault', 'current channel reads zero with loads on; measurement suspended');
      }
      this.faultUntil = t + dt;
      return true;
    }
    if (this.faultUntil > 0 && t >= this.faultUntil) {
      this.log(t, 'info', 'measurement-restored', 'current channel back; measurement resumed');
      this.faultUntil = -1;
    }
    return false;
  }

  /** Copies of each record the meter signs (the duplicate-submission fault: two, under two sequence numbers). */
  get copies(): number {
    return this.config.faults.duplicateSubmission ? 2 : 1;
  }

  /** The wrong-payer fault: sessions billed to the host instead of the authorised EV owner. */
  get wrongPayer(): boolean {
    return this.config.faults.wrongPayer;
  }

  /** The tariff the meter prices by: under the wrong-tariff fault every hour at the highest band, no incentive. */
  pricedBy(t: Tariff): Tariff {
    return this.config.faults.wrongTariff ? flatPeakTariff(t) : t;
  }

  /** The key records are signed with: the bad-signature fault signs with one that is not the registered one. */
  signingKey(id: MeterIdentity): Wallet {
    return this.config.faults.badSignature ? meterKey(id.seed + 1, `${id.meterId}/rogue`) : id.key;
  }
}

/** The wrong-tariff fault: every hour at the highest band price and no EV incentive. */
export function flatPeakTariff(t: Tariff): Tariff {
  // biome-ignore lint/complexity/useMathMinMax: Math.max does not take bigints
  const peak = t.bandPrices.reduce((a, b) => (b > a ? b : a), 0n);
  return { ...t, bandPrices: t.bandPrices.map(() => peak), evIncentive: 0n };
}
