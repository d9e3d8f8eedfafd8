export interface TimelinePoint {
  meterId: string;
  t: number;
  p: number;
}

/** Buckets a series keeps; each gives its lowest and highest point, so a chart has at most twice as many. */
const BUCKETS = 750;
/** The first bucket width (s); it doubles whenever the series outgrows BUCKETS buckets. */
const FIRST_WIDTH_S = 1;

interface Bucket {
  lo: { t: number; p: number };
  hi: { t: number; p: number };
}

/**
 * A series downsampled for a chart as it streams, in bounded memory: time is cut into at most BUCKETS buckets of
 * equal width from the first point, each keeping its lowest and highest point (min/max decimation keeps a kettle's
 * spike and an EV's plateau where taking every n-th point would skip them). When a point falls past the last
 * bucket the width doubles and neighbouring buckets merge, so the series never needs to know its length ahead.
 */
export class SeriesDownsampler {
  private t0: number | undefined;
  private width = FIRST_WIDTH_S;
  private readonly buckets: Array<Bucket | undefined> = [];

  add(t: number, p: number): void {
    if (this.t0 === undefined) this.t0 = t;
    let i = Math.floor((t - this.t0) / this.width);
    // A point before the first (a late reading) joins the first bucket.
    if (i < 0) i = 0;
    while (i >= BUCKETS) {
      this.merge();
      i = Math.floor((t - this.t0) / this.width);
    }
    const b = this.buckets[i];
    const point = { t, p };
    if (!b) this.buckets[i] = { lo: point, hi: point };
    else {
      if (p < b.lo.p) b.lo = point;
      if (p > b.hi.p) b.hi = point;
    }
  }

  /** The kept points in time order: each bucket's low and high (one point when they are the same). */
  points(): Array<{ t: number; p: number }> {
    const out: Array<{ t: number; p: number }> = [];
    for (const b of this.buckets) {
      if (!b) continue;
      if (b.lo === b.hi) out.push(b.lo);
      else out.push(...(b.lo.t <= b.hi.t ? [b.lo, b.hi] : [b.hi, b.lo]));
    }
    return out;
  }

  private merge(): void {
    this.width *= 2;
    for (let i = 0; i < BUCKETS; i += 2) {
      const a = this.buckets[i];
      const b = this.buckets[i + 1];
      this.buckets[i / 2] =
        a && b ? { lo: a.lo.p <= b.lo.p ? a.lo : b.lo, hi: a.hi.p >= b.hi.p ? a.hi : b.hi } : (a ?? b);
    }
    this.buckets.fill(undefined, BUCKETS / 2);
  }
}
