import type { TariffBands } from './billing.js';
import type { MeterClock } from './clock.js';
import type { ActiveLoad, EvSession, PausedEv, Plug } from './tracked-load.js';

/** An authorisation token counts for an EV that starts within this many seconds of it. */
const AUTH_WINDOW_S = 120;

/** The control-pilot state a charge point reports: A no vehicle, B connected, C charging (IEC 61851-1). */
export type PilotState = 'A' | 'B' | 'C';

/**
 * The meter's EV sessions: authorisation tokens, plug-ins the charge point reports, sessions paused by smart
 * charging, and the energy each session books per tariff band. A session ends (and is billed through `bill`) at
 * its last stop once its plug-in is over, or without pilot reports after `holdS` of pause (0: at its first stop).
 */
export class EvSessions {
  private readonly tokens: Array<{ contractId: string; t: number }> = [];
  /** Plug-ins in progress (charge points that report their pilot). */
  private readonly plugs: Plug[] = [];
  /** Sessions whose EV stopped drawing within their plug-in (or hold): each resumes or ends. */
  readonly paused: PausedEv[] = [];

  constructor(
    private readonly holdS: number,
    private readonly clock: MeterClock,
    private readonly bands: TariffBands,
    private readonly bill: (load: ActiveLoad, end: number, now: number) => void,
  ) {}

  /** A contract token on the authorisation channel (RFID / ISO 15118 contract id) at t; `active`: the running loads. */
  authorize(contractId: string, t: number, active: readonly ActiveLoad[]): void {
    // A new authorisation is a new plug-in: a session held over a pause without pilot reports is over.
    this.endHeldPauses(t);
    // A plug-in already reported takes the token (its EV may not draw yet: smart charging waits for a cheap hour).
    const plug = this.plugs.findLast((p) => p.contractId === undefined && Math.abs(p.t - t) <= AUTH_WINDOW_S);
    if (plug) {
      plug.contractId = contractId;
      if (plug.session && !plug.session.attributed) attribute(plug.session, contractId);
      return;
    }
    const ev = active.find((a) => a.session && !a.session.attributed && Math.abs(a.session.start - t) <= AUTH_WINDOW_S);
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

  /** A plug-in reported by the charge point still waits for its EV's first draw. */
  get plugWaiting(): boolean {
    return this.plugs.some((p) => !p.session);
  }

  /** A session opens: an EV started drawing at `start` (decided at `now`). */
  open(start: number, now: number): EvSession {
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
      startMeter: this.clock.read(start),
      payerContract: contractId,
      attributed: contractId !== undefined,
      importWh: 0,
      exportWh: 0,
      bandWh: this.bands.zero(),
      plug,
      unplugged: false,
    };
    if (plug) plug.session = session;
    return session;
  }

  /** The paused session at `index` resumes: it leaves the paused list. */
  resume(index: number): ActiveLoad {
    return this.paused.splice(index, 1)[0]!.load;
  }

  /**
   * An EV session's power went to 0. Within a plug-in the charge point reports, the session pauses until the EV
   * resumes or is unplugged; without pilot reports it is held `holdS`; once unplugged it ends now.
   */
  stopped(load: ActiveLoad, off: number, now: number): void {
    const s = load.session!;
    if (s.plug && !s.unplugged) this.paused.push({ load, off, until: Number.POSITIVE_INFINITY });
    else if (!s.plug && this.holdS > 0) this.paused.push({ load, off, until: now + this.holdS });
    else this.bill(load, off, now);
  }

  /** Ends the sessions whose hold ran out by t. */
  expire(t: number): void {
    if (!this.paused.length) return;
    for (const p of this.paused.filter((x) => t >= x.until)) this.endPaused(p, t);
  }

  /** End of the run: paused sessions end at their last stop (the run ends the plug-in). */
  finish(now: number): void {
    for (const p of [...this.paused]) this.endPaused(p, now);
  }

  /**
   * A session's power changed at `from` (the step's start), but the cycles since then, until `to` (the step was
   * recognised), were booked at the old power: book them again at the new one, each piece in the tariff band it
   * was drawn in. Without this, a step at a band boundary (a smart EV pausing at the peak's start) leaves the
   * detection delay's energy in the wrong band.
   */
  rebook(s: EvSession, pOld: number, pNew: number, from: number, to: number): void {
    for (let a = from; a < to; ) {
      const band = this.bands.at(a);
      const hourLeft = this.bands.hourLeft(a);
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

  private endPaused(p: PausedEv, now: number): void {
    const i = this.paused.indexOf(p);
    if (i >= 0) this.paused.splice(i, 1);
    this.bill(p.load, p.off, now);
  }

  /** Ends the sessions held over a pause without pilot reports (no plug-in tells whether the EV is still there). */
  private endHeldPauses(now: number): void {
    for (const p of this.paused.filter((x) => !x.load.session!.plug)) this.endPaused(p, now);
  }
}

function attribute(s: EvSession, contractId: string): void {
  s.payerContract = contractId;
  s.attributed = true;
}
