import {
  ENTRY,
  HIGH_RATE_KINDS,
  type MeasurementData,
  type PulseData,
  type TruthSessionData,
} from '../core/record/entries.js';
import type { RegisterReading } from './energy.js';
import { leaksIn } from './privacy.js';
import { SeriesDownsampler, type TimelinePoint } from './timeline.js';

export interface Entry {
  kind: string;
  data: Record<string, unknown>;
}

/** Readings per chunk of a register track: 64 Ki readings, 2 MiB of columns. */
const CHUNK = 1 << 16;

/**
 * A meter's (or reference standard's) energy registers over the case in columns: time, active power and the two
 * registers, 32 bytes a reading where the measurement it came from takes over a kilobyte. It is what every analysis
 * that asks "what did the register read at time t" needs (billing tables, metrology windows, OCPP transactions).
 * Columns grow by fixed chunks rather than by doubling, so a long case holds what it read and little more.
 */
export class RegisterTrack {
  private readonly chunks: Float64Array[] = [];
  private n = 0;
  private sorted = true;
  private latestT = Number.NEGATIVE_INFINITY;

  get length(): number {
    return this.n;
  }

  push(m: { t: number; p?: number; importWh: number; exportWh: number }): void {
    const at = this.n % CHUNK;
    if (at === 0) this.chunks.push(new Float64Array(CHUNK * 4));
    const c = this.chunks[this.chunks.length - 1]!;
    if (m.t < this.latestT) this.sorted = false;
    this.latestT = Math.max(this.latestT, m.t);
    c[at * 4] = m.t;
    c[at * 4 + 1] = typeof m.p === 'number' ? m.p : Number.NaN;
    c[at * 4 + 2] = m.importWh;
    c[at * 4 + 3] = m.exportWh;
    this.n++;
  }

  /** Reading i in time order. */
  reading(i: number): RegisterReading {
    if (!this.sorted) this.sort();
    const c = this.chunks[Math.floor(i / CHUNK)]!;
    const at = (i % CHUNK) * 4;
    const p = c[at + 1]!;
    return { t: c[at]!, importWh: c[at + 2]!, exportWh: c[at + 3]!, ...(Number.isNaN(p) ? {} : { p }) };
  }

  /** Readings normally arrive in time order; a rig that delivers some late gets them sorted once, stably. */
  private sort(): void {
    const rows = Array.from({ length: this.n }, (_, i) => {
      const c = this.chunks[Math.floor(i / CHUNK)]!;
      const at = (i % CHUNK) * 4;
      return c.slice(at, at + 4);
    }).sort((a, b) => a[0]! - b[0]!);
    rows.forEach((row, i) => {
      this.chunks[Math.floor(i / CHUNK)]!.set(row, (i % CHUNK) * 4);
    });
    this.sorted = true;
  }
}

/** One phase of a polyphase meter reduced over the case. */
interface PhaseSums {
  sumP: number;
  peakP: number;
  sumV: number;
}

/** What the case's measurements of one meter reduce to: its first and last, and its phases' sums. */
export interface MeterSeries {
  first: MeasurementData;
  last: MeasurementData;
  count: number;
  /** Measurements that carried phases, their first and last, and per-phase sums in arrival (time) order. */
  phased?: { count: number; first: MeasurementData; last: MeasurementData; phases: PhaseSums[] };
}

export interface CaseEntriesOptions {
  /**
   * Keep every measurement and pulse whole: the metrology analyses gate on pulse edges and read measurements
   * between any two instants of a test point. Such cases are test points of minutes, not days.
   */
  keepSeries?: boolean;
}

/**
 * One case's entries as the analysers see them, built in one pass as the entries stream by (from the rig while the
 * case runs, or from the record when a report is rendered). Low-rate entries (the truth, events, billing records,
 * ledger and OCPP entries) are kept whole; the high-rate measurements and pulses are reduced as they arrive to
 * bounded state (first and last, sums, the downsampled timeline) plus each meter's register track, so a week-long
 * case takes about as much memory as a day-long one.
 */
export class CaseEntries {
  /** The kept entries in arrival order. */
  readonly kept: Entry[] = [];
  private readonly byKind = new Map<string, unknown[]>();
  private readonly series = new Map<string, Map<string, MeterSeries>>();
  private readonly tracks = new Map<string, Map<string, RegisterTrack>>();
  private readonly timelines = new Map<string, SeriesDownsampler>();
  private readonly contractIds = new Set<string>();
  private streamedLeaks = 0;
  private pulseTotal = 0;
  private added = 0;
  private readonly keepSeries: boolean;

  constructor(opts: CaseEntriesOptions = {}) {
    this.keepSeries = opts.keepSeries === true;
  }

  /** Whether the case's analyses need its measurements and pulses whole (see CaseEntriesOptions). */
  static optionsFor(params: Record<string, unknown>): CaseEntriesOptions {
    return { keepSeries: params.metrology === true || params.starting === true };
  }

  /**
   * The entries of a case given whole (unit tests, short records): the truth first, as a record has it, so the
   * privacy check knows the case's contract ids before the first measurement.
   */
  static of(entries: readonly Entry[], params: Record<string, unknown> = {}): CaseEntries {
    const out = new CaseEntries(CaseEntries.optionsFor(params));
    for (const e of entries) if (e.kind.startsWith('truth.')) out.add(e.kind, e.data);
    for (const e of entries) if (!e.kind.startsWith('truth.')) out.add(e.kind, e.data);
    return out;
  }

  /** Entries taken, kept or reduced. */
  get size(): number {
    return this.added;
  }

  add(kind: string, data: Record<string, unknown>): void {
    this.added++;
    if (kind === ENTRY.truthSession) {
      const s = data as unknown as TruthSessionData;
      this.contractIds.add(s.payerContractId);
      this.contractIds.add(s.hostContractId);
    }
    if (HIGH_RATE_KINDS.has(kind)) this.reduce(kind, data);
    if (!HIGH_RATE_KINDS.has(kind) || this.keepSeries) {
      this.kept.push({ kind, data });
      const list = this.byKind.get(kind);
      if (list) list.push(data);
      else this.byKind.set(kind, [data]);
    }
  }

  /** The data of the kept entries of one kind, in arrival order. Measurements and pulses only when kept whole. */
  ofKind<T>(kind: string): T[] {
    if (HIGH_RATE_KINDS.has(kind) && !this.keepSeries)
      throw new Error(`${kind} entries are reduced as they stream; this case does not keep them whole`);
    return (this.byKind.get(kind) ?? []) as T[];
  }

  /** Each meter's measurements of one kind reduced (first, last, phases), by meter id. */
  meters(kind: string = ENTRY.meterMeasurement): ReadonlyMap<string, MeterSeries> {
    return this.series.get(kind) ?? new Map();
  }

  /** Each meter's register track of one kind (meter or reference measurements), by meter id. */
  registers(kind: string = ENTRY.meterMeasurement): ReadonlyMap<string, RegisterTrack> {
    return this.tracks.get(kind) ?? new Map();
  }

  /** Pulses counted over the case, all channels. */
  get pulses(): number {
    return this.pulseTotal;
  }

  /** Privacy leaks found in the measurements as they streamed (the kept meter outputs are checked by aspects). */
  get measurementLeaks(): number {
    return this.streamedLeaks;
  }

  get contracts(): ReadonlySet<string> {
    return this.contractIds;
  }

  /** The power timeline for charts: each meter (and each phase of a polyphase one) downsampled by min/max. */
  timeline(): TimelinePoint[] {
    const out: TimelinePoint[] = [];
    for (const [meterId, s] of this.timelines) for (const pt of s.points()) out.push({ meterId, ...pt });
    return out;
  }

  private reduce(kind: string, data: Record<string, unknown>): void {
    if (kind === ENTRY.pulse) {
      this.pulseTotal += Number((data as unknown as PulseData).count ?? 0);
      return;
    }
    const m = data as unknown as MeasurementData;
    const bySeries = getOrAdd(this.series, kind, () => new Map<string, MeterSeries>());
    getOrAdd(
      getOrAdd(this.tracks, kind, () => new Map<string, RegisterTrack>()),
      m.meterId,
      () => new RegisterTrack(),
    ).push(m);
    const s = bySeries.get(m.meterId);
    if (!s) bySeries.set(m.meterId, { first: m, last: m, count: 1 });
    else {
      if (m.t < s.first.t) s.first = m;
      if (m.t >= s.last.t) s.last = m;
      s.count++;
    }
    const series = bySeries.get(m.meterId)!;
    if (m.phases?.length) {
      const ph = series.phased;
      if (!ph)
        series.phased = {
          count: 1,
          first: m,
          last: m,
          phases: m.phases.map((x) => ({ sumP: x.p, peakP: x.p, sumV: x.vrms })),
        };
      else {
        ph.count++;
        if (m.t < ph.first.t) ph.first = m;
        if (m.t >= ph.last.t) ph.last = m;
        m.phases.forEach((x, k) => {
          const sums = ph.phases[k];
          if (!sums) return;
          sums.sumP += x.p;
          sums.peakP = Math.max(sums.peakP, x.p);
          sums.sumV += x.vrms;
        });
      }
    }
    if (kind !== ENTRY.meterMeasurement) return;
    this.streamedLeaks += leaksIn(m, this.contractIds);
    this.plot(m.meterId, m.t, m.p);
    // A polyphase meter's phases as series of their own ("house-bob L2"), beside its total.
    m.phases?.forEach((ph, k) => {
      this.plot(`${m.meterId} L${k + 1}`, m.t, ph.p);
    });
  }

  private plot(series: string, t: number, p: number): void {
    getOrAdd(this.timelines, series, () => new SeriesDownsampler()).add(t, p);
  }
}

function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}
