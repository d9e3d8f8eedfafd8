import type { Signature } from './signatures.js';

/** A load the meter tracks as running (switched on and not yet off). */
export interface ActiveLoad {
  sig?: Signature;
  cls: string;
  p: number;
  q: number;
  /** |ΔI_h| / |ΔI_1| of the switch-on step: the load's harmonic character (an EV keeps it when its power changes). */
  r3: number;
  r5: number;
  r7: number;
  /** On a three-phase meter: what it draws on each phase now, and the phases it is connected to (bit k = L(k+1)). */
  phaseP?: number[];
  connection?: number;
  session?: EvSession;
  /** Energy (Wh) the meter has assigned to the load since its last event; reported on the next and reset. */
  wh: number;
}

export interface EvSession {
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
export interface Plug {
  connector: string;
  t: number;
  contractId?: string;
  session?: EvSession;
}

/** An EV session whose power went to 0 within its plug-in: it resumes, or ends at `off` once the plug-in is over. */
export interface PausedEv {
  load: ActiveLoad;
  /** Scenario time of the stop (the session's end if it does not resume). */
  off: number;
  /** Without pilot reports: the session ends (at `off`) if it has not resumed by then. */
  until: number;
}
