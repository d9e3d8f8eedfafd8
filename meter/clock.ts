/** The time the meter synchronises its clock to: the bench's clock (or the ledger's) for scenario time t. */
export interface TimeSource {
  name: string;
  /** True time (scenario seconds) at scenario time t. */
  now(t: number): number;
}

/** In a run the samples are stamped with the bench clock, so the bench's time at t is t itself. */
export const BENCH_TIME: TimeSource = { name: 'bench', now: (t) => t };

/** Clock anchors kept: enough to timestamp a step that began a few syncs ago (a transition lasts ≤ 10 s). */
const CLOCK_ANCHORS = 4;

/**
 * The meter clock, piecewise linear: from each anchor (a sync, or power-up) it runs (1 + drift) times the true
 * rate. Synced from its time source every `syncIntervalS` (0: never, it free-runs with its drift).
 */
export class MeterClock {
  /** Newest last. */
  private readonly anchors: Array<{ t: number; offset: number }> = [{ t: 0, offset: 0 }];
  private nextSync: number;
  /** Where periodic syncs take the time from (the bench's clock unless set otherwise, e.g. the ledger's). */
  source: TimeSource = BENCH_TIME;

  constructor(
    private readonly driftPpm: number,
    private readonly syncIntervalS: number,
  ) {
    this.nextSync = syncIntervalS > 0 ? syncIntervalS : Number.POSITIVE_INFINITY;
  }

  /** The clock's reading (scenario seconds) at true time t: drift accumulates from the last sync before t. */
  read(t: number): number {
    return t + this.offsetAt(t);
  }

  /** Clock minus true time at t. */
  offsetAt(t: number): number {
    let a = this.anchors[0]!;
    for (let i = this.anchors.length - 1; i >= 0; i--) {
      if (this.anchors[i]!.t <= t) {
        a = this.anchors[i]!;
        break;
      }
    }
    return a.offset + (t - a.t) * this.driftPpm * 1e-6;
  }

  /** Sets the clock at true time t to `sourceT`; returns the offset removed (reading before minus `sourceT`). */
  set(t: number, sourceT: number): number {
    const corrected = this.read(t) - sourceT;
    this.anchors.push({ t, offset: sourceT - t });
    if (this.anchors.length > CLOCK_ANCHORS) this.anchors.shift();
    return corrected;
  }

  /** True once per sync interval: at the first cycle (starting at t) at or past the next periodic sync. */
  syncDue(t: number): boolean {
    if (t < this.nextSync - 1e-9) return false;
    this.nextSync += this.syncIntervalS;
    return true;
  }
}
